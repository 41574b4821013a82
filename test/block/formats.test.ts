import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { parseSize, sizeToStr, ImageError } from "../../src/block/index.js";
import { formatG3 } from "../../src/block/sizes.js";
import { qdictOrder, qemuJson } from "../../src/block/report/qemu-json.js";
import { formatVmClock, snapshotHeaderLine } from "../../src/block/report/snapshot-list.js";
import { getopt, UsageError } from "../../src/block/cli/getopt.js";
import { getRefEntry, setRefEntry, maxRefcount } from "../../src/block/qcow2/refcounts.js";
import { decodeL2, encodeEntry, l1Offset } from "../../src/block/qcow2/entries.js";
import {
  encodeSnapshotTable, nextSnapshotId, ICOUNT_NONE, type SnapshotEntry,
} from "../../src/block/qcow2/snapshot-table.js";
import { u64big } from "../../src/block/be.js";
import { tmpDir, qemuImgOk } from "./helpers.js";

test("parseSize accepts qemu-img's size syntax", () => {
  assert.equal(parseSize("512"), 512);
  assert.equal(parseSize("512K"), 512 * 1024);
  assert.equal(parseSize("512k"), 512 * 1024);
  assert.equal(parseSize("128M"), 128 * 1024 ** 2);
  assert.equal(parseSize("1G"), 1024 ** 3);
  assert.equal(parseSize("1.5G"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("2T"), 2 * 1024 ** 4);
  assert.equal(parseSize("100b"), 100);
  for (const bad of ["", "12Q", "-1", "1.5", "G", "1e9", "0x10"]) {
    assert.throws(() => parseSize(bad), ImageError, bad);
  }
});

test("sizeToStr follows QEMU's size_to_str rounding", () => {
  assert.equal(sizeToStr(0), "0 B");
  assert.equal(sizeToStr(999), "999 B");
  assert.equal(sizeToStr(1000), "0.977 KiB");
  assert.equal(sizeToStr(1024), "1 KiB");
  assert.equal(sizeToStr(1536), "1.5 KiB");
  assert.equal(sizeToStr(70000), "68.4 KiB");
  assert.equal(sizeToStr(422822), "413 KiB");
  assert.equal(sizeToStr(128 * 1024 ** 2), "128 MiB");
  assert.equal(sizeToStr(1024 ** 3), "1 GiB");
  assert.equal(formatG3(0.000012345), "1.23e-05");
  assert.equal(formatG3(12.5), "12.5");
});

test("sizeToStr matches qemu-img's virtual size column", { skip: missingTool("qemu-img") }, () => {
  const dir = tmpDir();
  const sizes = [1023488, 512, 1024, 1536, 512 * 1999, 1000 * 1024, 1023 * 1024, 1048064, 1048576, 5 * 1024 ** 3 + 512,
    999 * 1024 ** 2, 1000 * 1024 ** 2, 3 * 1024 ** 4];
  for (const size of sizes) {
    const p = path.join(dir, `s${size}.raw`);
    fs.writeFileSync(p, "");
    fs.truncateSync(p, size);
    const out = qemuImgOk("info", p);
    const line = out.split("\n").find((l) => l.startsWith("virtual size: "));
    assert.equal(line, `virtual size: ${sizeToStr(size)} (${size} bytes)`);
  }
});

test("qemuJson reproduces QEMU's QDict key order and layout", () => {
  assert.deepEqual(qdictOrder(["filename", "format", "check-errors", "image-end-offset", "total-clusters",
    "allocated-clusters"]), ["image-end-offset", "total-clusters", "check-errors", "allocated-clusters",
    "filename", "format"]);
  assert.deepEqual(qdictOrder(["id", "name", "vm-state-size", "date-sec", "date-nsec", "vm-clock-sec",
    "vm-clock-nsec", "icount"]),
  ["icount", "vm-clock-nsec", "name", "date-sec", "date-nsec", "vm-clock-sec", "id", "vm-state-size"]);
  assert.deepEqual(qdictOrder(["a", "s"]), ["s", "a"]);
  assert.equal(qemuJson({ "a": [1, { "b": true }], "s": "x\"é\n" }),
    '{\n    "s": "x\\"\\u00E9\\n",\n    "a": [\n        1,\n        {\n            "b": true\n        }\n    ]\n}');
});

test("snapshot list columns", () => {
  assert.equal(snapshotHeaderLine(),
    "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT");
  assert.equal(formatVmClock(0), "00:00:00.000");
  assert.equal(formatVmClock(3_723_456_000_000), "01:02:03.456");
});

test("getopt handles GNU forms and rejects unknown options", () => {
  const p = getopt(["file", "-fqcow2", "--output=json", "-q", "-o", "a=b", "--", "-x"],
    { short: "f:o:q", long: { output: true } });
  assert.deepEqual(p.options, [["f", "qcow2"], ["output", "json"], ["q", undefined], ["o", "a=b"]]);
  assert.deepEqual(p.positional, ["file", "-x"]);
  assert.throws(() => getopt(["-z"], { short: "f:" }), (e: unknown) => e instanceof UsageError &&
    /unknown option '-z'/.test((e as Error).message));
  assert.throws(() => getopt(["--nope"], { short: "" }), /unknown option '--nope'/);
  assert.throws(() => getopt(["-f"], { short: "f:" }), /requires an argument/);
});

test("refcount entries of every width round-trip", () => {
  for (let order = 0; order <= 6; order++) {
    const bits = 1 << order;
    const block = new Uint8Array(512);
    const n = (512 * 8) / bits;
    const max = maxRefcount(order);
    const value = (i: number) => (i * 2654435761) % (Math.min(max, 1e6) + 1);
    for (let i = 0; i < n; i++) setRefEntry(block, i, order, value(i));
    for (let i = 0; i < n; i++) assert.equal(getRefEntry(block, i, order), value(i), `order ${order} entry ${i}`);
  }
  // Sub-byte entries: bit 0 is the least significant bit of the first byte.
  const b = new Uint8Array(1);
  setRefEntry(b, 0, 0, 1);
  assert.equal(b[0], 1);
  setRefEntry(b, 3, 1, 2);
  assert.equal(b[0], 0x81);
});

test("L1/L2 entries decode without BigInt, including compressed descriptors", () => {
  const e = encodeEntry(0x1234_5678_0000, true);
  assert.equal(l1Offset(e, 0), 0x1234_5678_0000);
  const d = decodeL2(e, 0, 16);
  assert.deepEqual([d.kind, d.offset, d.copied], ["normal", 0x1234_5678_0000, true]);
  // compressed, 64 KiB clusters: x = 54; offset 0x12345, 3 additional sectors
  const c = new Uint8Array(8);
  const v = (1n << 62n) | (3n << 54n) | 0x12345n;
  for (let i = 0; i < 8; i++) c[i] = Number((v >> BigInt(56 - 8 * i)) & 0xffn);
  const dc = decodeL2(c, 0, 16);
  assert.equal(dc.kind, "compressed");
  assert.equal(dc.offset, 0x12345);
  assert.equal(dc.compressedBytes, 4 * 512 - (0x12345 % 512));
  const z = new Uint8Array(8);
  z[7] = 1;
  assert.equal(decodeL2(z, 0, 16).kind, "zero-plain");
});

test("snapshot table entries use QEMU 7.2's layout with icount at bytes 56-63", () => {
  const e: SnapshotEntry = {
    l1Offset: 0x50000, l1Size: 3, idBytes: Buffer.from("7"), nameBytes: Buffer.from("rr"),
    dateSec: 100, dateNsec: 200, vmClockNs: 300n, vmStateSize: 0x1_0000_0001n, diskSize: null, icount: 42n,
    extraData: new Uint8Array([...new Uint8Array(24), 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4]),
  };
  const b = encodeSnapshotTable([e, { ...e, icount: null, extraData: new Uint8Array(0) }], 1 << 20);
  assert.equal(u64big(b, 0), 0x50000n);
  assert.equal(b[36 + 3], 32); // extra_data_size: 24 known bytes + 8 unknown kept
  assert.equal(u64big(b, 32 - 0) >> 32n, 0n); // vm_state_size (32-bit) is 0: the state does not fit
  assert.equal(u64big(b, 40), 0x1_0000_0001n); // vm_state_size_large
  assert.equal(u64big(b, 48), 1n << 20n); // disk_size
  assert.equal(u64big(b, 56), 42n); // icount
  assert.deepEqual([...b.subarray(64, 72)], [0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4]);
  assert.equal(Buffer.from(b.subarray(72, 75)).toString(), "7rr");
  const second = 80; // 75 rounded up to 8
  assert.equal(b[second + 39], 24);
  assert.equal(u64big(b, second + 56), ICOUNT_NONE);
  assert.equal(b.length, second + 40 + 24 + 3);
  assert.equal(nextSnapshotId([e, { ...e, idBytes: Buffer.from("12") }]), "13");
});

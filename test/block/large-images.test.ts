// Images past 2 GiB and 4 GiB: 64-bit offsets end to end (no signed 32-bit arithmetic on file offsets).
// Every image here is sparse: a few MiB on disk whatever the virtual size.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { createImage, openImage, NodeFile } from "../../src/block/index.js";
import { tmpDir, qemuImg, qemuImgOk, run, rewindImg, sameBytes } from "./helpers.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const needQemu = { skip: missingTool("qemu-img", "qemu-io") };

/** `count` bytes of `fill` (qemu-io's read -P checks a single byte value). */
const filled = (count: number, fill: number) => new Uint8Array(count).fill(fill);

/** Writes, then reads back through Rewind's block API, reopening in between. */
function writeAndReadBack(file: string, writes: [offset: number, length: number, fill: number][]): void {
  const img = openImage(file, { sync: false });
  for (const [off, len, fill] of writes) img.write(off, filled(len, fill));
  for (const [off, len, fill] of writes) assert.ok(sameBytes(img.read(off, len), filled(len, fill)), `read at ${off}`);
  img.close();
  const again = openImage(file, { readOnly: true });
  for (const [off, len, fill] of writes) {
    assert.ok(sameBytes(again.read(off, len), filled(len, fill)), `read at ${off} after reopening`);
    // The bytes just before the write are untouched (zero).
    if (off > 0) assert.equal(again.read(off - 1, 1)[0], 0);
  }
  again.close();
}

function assertQemuIoReads(file: string, fmt: string, writes: [number, number, number][]): void {
  for (const [off, len, fill] of writes) {
    const r = run("qemu-io", ["-f", fmt, "-c", `read -P 0x${fill.toString(16)} ${off} ${len}`, file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /fail|error/i, `qemu-io read at ${off}`);
    assert.match(r.stdout, new RegExp(`read ${len}/${len} bytes at offset ${off}`));
  }
}

function assertBothChecksClean(file: string): void {
  const q = qemuImg("check", file);
  assert.equal(q.status, 0, `qemu-img check:\n${q.stdout}${q.stderr}`);
  const r = rewindImg("check", file);
  assert.equal(r.status, 0, `rewind-img check:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, q.stdout);
}

function assertInfoMatches(file: string): void {
  assert.equal(rewindImg("info", file).stdout, qemuImgOk("info", file));
  assert.equal(rewindImg("info", "--output=json", file).stdout, qemuImgOk("info", "--output=json", file));
}

function assertSparse(file: string, virtualAtLeast: number): void {
  const st = fs.statSync(file);
  assert.ok(st.size >= virtualAtLeast, `file size ${st.size}`);
  assert.ok(st.blocks * 512 < 64 * MiB, `${file} uses ${st.blocks * 512} bytes on disk`);
}

// preallocation=metadata puts an L2 entry for every cluster, so data (and, for the larger images, L2 tables
// and refcount blocks) lie past 2 GiB / 4 GiB in the file. The 1 TiB one uses 2 MiB clusters so that its
// metadata stays small (4 MiB of L2 tables instead of 128 MiB with 64 KiB clusters) and quick to create.
const cases: { name: string; size: string; bytes: number; opts: string }[] = [
  { name: "2.1 GiB", size: "2100M", bytes: 2100 * MiB, opts: "preallocation=metadata" },
  { name: "5 GiB", size: "5G", bytes: 5 * GiB, opts: "preallocation=metadata" },
  { name: "1 TiB", size: "1T", bytes: TiB, opts: "preallocation=metadata,cluster_size=2M" },
];

for (const c of cases) {
  test(`qemu-img's ${c.name} image with preallocated metadata: read, write, check and info`, needQemu, () => {
    const dir = tmpDir();
    const file = path.join(dir, "big.qcow2");
    qemuImgOk("create", "-q", "-f", "qcow2", "-o", c.opts, file, c.size);
    assertSparse(file, c.bytes);
    // Before any write: both checkers agree (this failed with a negative file position before).
    assertBothChecksClean(file);
    assertInfoMatches(file);
    const writes: [number, number, number][] = [
      [2 * GiB + 12345, 200_000, 0x5a], // past 2 GiB, crossing cluster boundaries
      [c.bytes - 70_000, 70_000, 0xc3], // up to the very end of the disk
    ];
    if (c.bytes > 4 * GiB) writes.push([4 * GiB - 100, 5000, 0x7e], [4 * GiB + 65536 * 3, 65536, 0x11]);
    if (c.bytes >= TiB) writes.push([512 * GiB + 1, 3 * MiB, 0x99]);
    writeAndReadBack(file, writes);
    assertQemuIoReads(file, "qcow2", writes);
    assertBothChecksClean(file);
    assertInfoMatches(file);
    assertSparse(file, c.bytes);
  });
}

test("a 1 TiB image Rewind creates is accepted by qemu-img and holds data near its end", needQemu, () => {
  const dir = tmpDir();
  const file = path.join(dir, "x.qcow2");
  const r = rewindImg("create", "-q", "-f", "qcow2", file, "1T");
  assert.equal(r.status, 0, r.stderr);
  assertBothChecksClean(file);
  assertInfoMatches(file);
  const writes: [number, number, number][] = [
    [TiB - 65536 - 512, 65536 + 512, 0x42],
    [4 * GiB + 7, 1000, 0x24],
    [2 * GiB - 512, 1024, 0x81],
  ];
  writeAndReadBack(file, writes);
  assertQemuIoReads(file, "qcow2", writes);
  assertBothChecksClean(file);
  assertInfoMatches(file);
  // Same bytes as qemu-img create with the same options.
  const q = path.join(dir, "q.qcow2");
  qemuImgOk("create", "-q", "-f", "qcow2", q, "1T");
  const fresh = path.join(dir, "fresh.qcow2");
  createImage(fresh, { format: "qcow2", size: TiB });
  assert.ok(sameBytes(fs.readFileSync(fresh), fs.readFileSync(q)));
});

test("a 5 GiB raw image: offsets past 4 GiB read and write", needQemu, () => {
  const dir = tmpDir();
  const file = path.join(dir, "big.raw");
  createImage(file, { format: "raw", size: 5 * GiB });
  assertSparse(file, 5 * GiB);
  const writes: [number, number, number][] = [[2 * GiB + 1, 4096, 0x31], [5 * GiB - 4096, 4096, 0x13],
    [4 * GiB - 10, 20, 0xee]];
  writeAndReadBack(file, writes);
  assertQemuIoReads(file, "raw", writes);
  assert.equal(rewindImg("info", file).stdout, qemuImgOk("info", file));
});

test("NodeFile reads and writes at offsets past 2^32 and near 2^40", () => {
  const dir = tmpDir();
  const p = path.join(dir, "f.bin");
  const f = NodeFile.create(p);
  try {
    for (const off of [2 ** 31 + 3, 2 ** 32 + 5, 2 ** 40 - 9]) {
      f.write(off, filled(9, 0xab));
      assert.ok(sameBytes(f.read(off, 9), filled(9, 0xab)));
    }
    assert.equal(f.size(), 2 ** 40);
  } finally {
    f.close();
  }
});

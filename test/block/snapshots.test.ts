import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { missingTool } from "../helpers/tools.js";
import { createImage, ImageError, Qcow2Image } from "../../src/block/index.js";
import { SnapshotNotFoundError } from "../../src/block/qcow2/image.js";
import { tmpDir, pattern, sameBytes, qemuImg } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function newImage(dir: string, name: string, opts: { size?: number; clusterSize?: number; refcountBits?: number;
  version?: 2 | 3 } = {}): string {
  const p = path.join(dir, name);
  createImage(p, { format: "qcow2", size: opts.size ?? 4 * MiB, ...opts });
  return p;
}

function assertClean(img: Qcow2Image, what: string): void {
  const r = img.check();
  assert.deepEqual([r.corruptions, r.leaks, r.checkErrors], [0, 0, 0], `${what}: ${r.messages.join("\n")}`);
}

const sha = (p: string) => createHash("sha256").update(fs.readFileSync(p)).digest("hex");

test("snapshots save and restore disk content and VM state", () => {
  const dir = tmpDir();
  const p = newImage(dir, "a.qcow2");
  const img = Qcow2Image.open(p);
  const A = pattern(300 * KiB, 1);
  img.write(10_000, A);
  const vm1 = pattern(123_457, 2);
  const s1 = img.createSnapshot("one", { vmState: vm1, icount: 1000, vmClockNs: 2_500_000_000,
    date: { sec: 1_700_000_000, nsec: 5 } });
  assert.deepEqual(s1, { id: "1", name: "one", vmStateSize: vm1.length, dateSec: 1_700_000_000, dateNsec: 5,
    vmClockNs: 2_500_000_000, icount: 1000, diskSize: 4 * MiB });
  assertClean(img, "after create");

  const B = pattern(64 * KiB, 3);
  img.write(20_000, B);
  img.createSnapshot("two", { vmState: new Uint8Array(0) });
  img.write(0, pattern(4 * MiB, 4));
  assertClean(img, "after COW writes");

  const loaded = img.loadSnapshot("one");
  assert.ok(sameBytes(loaded.vmState, vm1));
  assert.equal(loaded.icount, 1000);
  const disk = img.read(0, 4 * MiB);
  const expected = new Uint8Array(4 * MiB);
  expected.set(A, 10_000);
  assert.ok(sameBytes(disk, expected), "disk reverted to snapshot 'one'");
  assertClean(img, "after load");

  img.write(0, pattern(1000, 5)); // writing after a load must not touch the snapshot
  const two = img.loadSnapshot("two");
  assert.equal(two.vmState.length, 0);
  assert.equal(two.icount, null);
  expected.set(B, 20_000);
  assert.ok(sameBytes(img.read(0, 4 * MiB), expected), "disk reverted to snapshot 'two'");
  assert.ok(sameBytes(img.readVmState("one"), vm1));
  img.close();

  const again = Qcow2Image.open(p);
  assert.deepEqual(again.listSnapshots().map((s) => [s.id, s.name, s.vmStateSize]),
    [["1", "one", vm1.length], ["2", "two", 0]]);
  again.deleteSnapshot("one");
  again.deleteSnapshot("2"); // by ID
  assert.deepEqual(again.listSnapshots(), []);
  assert.ok(sameBytes(again.read(0, 4 * MiB), expected));
  assertClean(again, "after deleting everything");
  again.close();
});

test("createSnapshot replaces a snapshot of the same name (qemu-img -c style adds one)", () => {
  const dir = tmpDir();
  const img = Qcow2Image.open(newImage(dir, "r.qcow2"));
  img.write(0, pattern(70 * KiB, 1));
  img.createSnapshot("rr", { vmState: pattern(1000, 1), icount: 1 });
  img.createSnapshot("other");
  img.write(0, pattern(70 * KiB, 2));
  const s = img.createSnapshot("rr", { vmState: pattern(2000, 2), icount: 2 });
  assert.equal(s.id, "3");
  assert.deepEqual(img.listSnapshots().map((x) => [x.name, x.icount]), [["other", null], ["rr", 2]]);
  assert.ok(sameBytes(img.readVmState("rr"), pattern(2000, 2)));
  img.createSnapshot("other", { replace: false });
  assert.deepEqual(img.listSnapshots().map((x) => x.name), ["other", "rr", "other"]);
  assertClean(img, "after replace");
  img.close();
});

test("VM state spanning several L2 tables, with small clusters and every refcount width", () => {
  const dir = tmpDir();
  for (const [clusterSize, refcountBits] of [[512, 16], [512, 2], [4096, 8], [65536, 32], [2 * MiB, 64],
    [1024, 4]] as const) {
    const p = newImage(dir, `c${clusterSize}-${refcountBits}.qcow2`, { clusterSize, refcountBits, size: 3 * MiB });
    const img = Qcow2Image.open(p);
    const disk = pattern(3 * MiB, clusterSize);
    img.write(0, disk);
    const vm = pattern(100 * KiB + 3, refcountBits);
    img.createSnapshot("s", { vmState: vm, icount: 7 });
    img.write(512, pattern(4096, 99));
    assertClean(img, `${clusterSize}/${refcountBits}`);
    const l = img.loadSnapshot("s");
    assert.ok(sameBytes(l.vmState, vm), `vm state ${clusterSize}/${refcountBits}`);
    assert.ok(sameBytes(img.read(0, 3 * MiB), disk), `disk ${clusterSize}/${refcountBits}`);
    img.close();
  }
});

test("refcount overflow (1-bit refcounts) is refused without modifying the image", () => {
  const dir = tmpDir();
  const p = newImage(dir, "rc1.qcow2", { refcountBits: 1 });
  const img = Qcow2Image.open(p);
  img.write(0, pattern(4096, 1));
  img.flush();
  const before = sha(p);
  assert.throws(() => img.createSnapshot("s"), (e: unknown) => e instanceof ImageError &&
    /refcount overflow/.test((e as Error).message));
  assert.equal(sha(p), before);
  img.write(8192, pattern(100, 2)); // the image is still usable
  img.close();
});

test("snapshot errors are clear ImageErrors", () => {
  const dir = tmpDir();
  const p = newImage(dir, "e.qcow2");
  const img = Qcow2Image.open(p);
  assert.throws(() => img.loadSnapshot("missing"), SnapshotNotFoundError);
  assert.throws(() => img.deleteSnapshot("missing"), /snapshot 'missing' not found/);
  assert.throws(() => img.createSnapshot(""), /must not be empty/);
  assert.throws(() => img.createSnapshot("x".repeat(300)), /too long/);
  assert.throws(() => img.read(4 * MiB - 1, 2), /outside the 4194304-byte disk/);
  assert.throws(() => img.write(-1, new Uint8Array(1)), ImageError);
  img.close();
  const ro = Qcow2Image.open(p, { readOnly: true });
  assert.throws(() => ro.write(0, new Uint8Array(1)), /read-only/);
  assert.throws(() => ro.createSnapshot("s"), /read-only/);
  ro.close();
});

test("a random mix of writes and snapshot operations matches a simple model", () => {
  const dir = tmpDir();
  for (const [clusterSize, version] of [[4096, 3], [512, 2], [65536, 3]] as const) {
    const size = 2 * MiB;
    const p = newImage(dir, `model-${clusterSize}.qcow2`, { clusterSize, version, size });
    let img = Qcow2Image.open(p);
    const model = new Uint8Array(size);
    const snaps = new Map<string, { disk: Uint8Array; vm: Uint8Array; icount: number }>();
    let seed = clusterSize;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 120; step++) {
      const op = rnd(10);
      if (op < 5) {
        const len = 1 + rnd(3 * clusterSize);
        const off = rnd(size - len);
        const data = pattern(len, step + 1);
        img.write(off, data);
        model.set(data, off);
      } else if (op < 7) {
        const name = `s${rnd(4)}`;
        const vm = pattern(rnd(3 * clusterSize), step + 1000);
        img.createSnapshot(name, { vmState: vm, icount: step });
        snaps.set(name, { disk: model.slice(), vm, icount: step });
      } else if (op < 8 && snaps.size) {
        const name = [...snaps.keys()][rnd(snaps.size)]!;
        const l = img.loadSnapshot(name);
        const s = snaps.get(name)!;
        assert.ok(sameBytes(l.vmState, s.vm) && l.icount === s.icount, `load ${name} at step ${step}`);
        model.set(s.disk);
      } else if (op < 9 && snaps.size) {
        const name = [...snaps.keys()][rnd(snaps.size)]!;
        img.deleteSnapshot(name);
        snaps.delete(name);
      } else {
        img.close();
        img = Qcow2Image.open(p);
      }
      assert.ok(sameBytes(img.read(0, size), model), `disk content after step ${step} (op ${op})`);
      if (step % 10 === 0) assertClean(img, `step ${step}`);
    }
    assertClean(img, "end");
    img.close();
    if (!missingTool("qemu-img")) {
      const r = qemuImg("check", p);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
  }
});

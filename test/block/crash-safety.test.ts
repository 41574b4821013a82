import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { createImage, NodeFile, Qcow2Image } from "../../src/block/index.js";
import { tmpDir, qemuImg, pattern, CrashingFile, isSimulatedCrash, sameBytes } from "./helpers.js";

/** With qemu-img every prefix state is checked by QEMU too; without it, by Rewind's own checker only. */
const haveQemuImg = !missingTool("qemu-img");

/**
 * Crash simulation: run an operation on a copy of an image with an I/O layer that stops after N writes, for
 * N = 0, 1, 2, ... until the operation completes. Every prefix state must pass `qemu-img check` (leaks are
 * fine: exit 0 or 3), must have no corruption by Rewind's own check, and must still be usable: `verify`
 * checks the guest-visible state is the old or the new one, and a further write must succeed.
 */
function crashSweep(base: string, op: (img: Qcow2Image) => void,
  verify: (img: Qcow2Image, completed: boolean) => void): number {
  const dir = path.dirname(base);
  const original = fs.readFileSync(base);
  for (let n = 0; ; n++) {
    const p = path.join(dir, `crash-${n}.qcow2`);
    fs.writeFileSync(p, original);
    const file = new CrashingFile(NodeFile.open(p, false), n);
    let completed = true;
    try {
      op(Qcow2Image.fromFile(file));
    } catch (e) {
      if (!isSimulatedCrash(e)) throw e;
      completed = false;
    }
    file.inner.close(); // the process "dies": no orderly close
    if (haveQemuImg) {
      const r = qemuImg("check", p);
      assert.ok(r.status === 0 || r.status === 3,
        `after ${n} writes qemu-img check exit ${r.status}:\n${r.stdout}${r.stderr}`);
    }
    const img = Qcow2Image.open(p);
    const own = img.check();
    assert.equal(own.corruptions, 0, `after ${n} writes Rewind's check: ${own.messages.join("\n")}`);
    verify(img, completed);
    img.write(0, new Uint8Array(512).fill(0x5a)); // still writable
    img.close();
    if (haveQemuImg) assert.ok([0, 3].includes(qemuImg("check", p).status), `after ${n} writes + a new write`);
    fs.rmSync(p);
    if (completed) return n;
  }
}

const MiB = 1024 * 1024;

function makeBase(dir: string, opts: { clusterSize?: number; refcountBits?: number; size?: number } = {}): string {
  const p = path.join(dir, "base.qcow2");
  createImage(p, { format: "qcow2", size: opts.size ?? 64 * MiB, clusterSize: opts.clusterSize,
    refcountBits: opts.refcountBits });
  return p;
}

test("crash during an allocating guest write never corrupts the image", () => {
  const dir = tmpDir();
  const base = makeBase(dir);
  const data = pattern(200 * 1024, 1);
  const n = crashSweep(base, (img) => img.write(3 * MiB + 100, data), (img, completed) => {
    const got = img.read(3 * MiB + 100, data.length);
    if (completed) assert.ok(sameBytes(got, data));
    // Each 64 KiB guest cluster is either still zero or has its new bytes.
    const start = 3 * MiB + 100;
    for (let c = Math.floor(start / 65536) * 65536; c < start + data.length; c += 65536) {
      const a = Math.max(c, start) - start;
      const b = Math.min(c + 65536, start + data.length) - start;
      const g = got.subarray(a, b);
      assert.ok(g.every((x) => x === 0) || sameBytes(g, data.subarray(a, b)), `cluster at ${c}`);
    }
  });
  assert.ok(n > 4, `the write took ${n} writes`);
});

test("crash during snapshot creation leaves the old or the new snapshot table", () => {
  const dir = tmpDir();
  const base = makeBase(dir);
  const disk = pattern(300 * 1024, 2);
  const vm = pattern(150 * 1024 + 7, 3);
  {
    const img = Qcow2Image.open(base);
    img.write(0, disk);
    img.write(40 * MiB, disk.subarray(0, 70000));
    img.createSnapshot("older", { vmState: pattern(1000, 9), icount: 1 });
    img.close();
  }
  crashSweep(base, (img) => img.createSnapshot("rr", { vmState: vm, icount: 123456, vmClockNs: 42 }),
    (img, completed) => {
      const names = img.listSnapshots().map((s) => s.name);
      if (completed) assert.deepEqual(names, ["older", "rr"]);
      assert.ok(names.join() === "older" || names.join() === "older,rr", names.join());
      if (names.includes("rr")) {
        const s = img.listSnapshots().find((x) => x.name === "rr")!;
        assert.equal(s.icount, 123456);
        assert.ok(sameBytes(img.readVmState("rr"), vm));
      }
      assert.ok(sameBytes(img.readVmState("older"), pattern(1000, 9)));
      assert.ok(sameBytes(img.read(0, disk.length), disk));
    });
});

test("crash while replacing a snapshot of the same name", () => {
  const dir = tmpDir();
  const base = makeBase(dir, { clusterSize: 4096 });
  const oldVm = pattern(20000, 4);
  const newVm = pattern(33000, 5);
  {
    const img = Qcow2Image.open(base);
    img.write(0, pattern(100000, 6));
    img.createSnapshot("rr", { vmState: oldVm, icount: 10 });
    img.write(50000, pattern(30000, 7));
    img.close();
  }
  crashSweep(base, (img) => img.createSnapshot("rr", { vmState: newVm, icount: 20 }), (img, completed) => {
    const list = img.listSnapshots();
    assert.equal(list.length, 1);
    const vm = img.readVmState("rr");
    if (list[0]!.icount === 10) assert.ok(!completed && sameBytes(vm, oldVm));
    else {
      assert.equal(list[0]!.icount, 20);
      assert.ok(sameBytes(vm, newVm));
    }
  });
});

test("crash during copy-on-write after a snapshot, delete and apply", () => {
  const dir = tmpDir();
  const base = makeBase(dir);
  const before = pattern(200000, 8);
  const after = pattern(120000, 9);
  {
    const img = Qcow2Image.open(base);
    img.write(0, before);
    img.createSnapshot("s", { vmState: pattern(5000, 1) });
    img.close();
  }
  // COW of shared L2 table and data clusters.
  crashSweep(base, (img) => img.write(1000, after), (img, completed) => {
    const got = img.read(1000, after.length);
    if (completed) assert.ok(sameBytes(got, after));
    img.applySnapshot("s");
    assert.ok(sameBytes(img.read(0, before.length), before), "snapshot content intact");
  });
  {
    const img = Qcow2Image.open(base);
    img.write(1000, after);
    img.close();
  }
  crashSweep(base, (img) => img.applySnapshot("s"), (img, completed) => {
    const got = img.read(1000, after.length);
    const expected = new Uint8Array(before.subarray(1000, 1000 + after.length));
    if (completed) assert.ok(sameBytes(got, expected));
    else assert.ok(sameBytes(got, after) || sameBytes(got, expected));
  });
  crashSweep(base, (img) => img.deleteSnapshot("s"), (img, completed) => {
    assert.equal(img.listSnapshots().length, completed ? 0 : img.listSnapshots().length);
    assert.ok(sameBytes(img.read(1000, after.length), after));
  });
});

test("crash while a write grows the refcount structures", () => {
  const dir = tmpDir();
  // 64-bit refcounts and 512-byte clusters: a refcount block covers 64 clusters and the first refcount table
  // (one cluster, 64 entries) covers 2 MiB of file, so a modest write crosses both limits.
  const base = makeBase(dir, { clusterSize: 512, refcountBits: 64, size: 8 * MiB });
  {
    // Fill the file to just below 2 MiB (no fdatasync needed for setup).
    const img = Qcow2Image.open(base, { sync: false });
    let pos = 0;
    while (fs.statSync(base).size < 2 * MiB - 12 * 1024) {
      img.write(pos, pattern(8192, pos));
      pos += 8192;
    }
    img.close();
  }
  const startSize = fs.statSync(base).size;
  const data = pattern(16 * 1024, 11);
  crashSweep(base, (img) => img.write(4 * MiB, data), (img, completed) => {
    if (completed) assert.ok(sameBytes(img.read(4 * MiB, data.length), data));
  });
  const img = Qcow2Image.open(base);
  img.write(4 * MiB, data);
  img.close();
  assert.ok(fs.statSync(base).size > 2 * MiB && startSize < 2 * MiB, "the sweep crossed the 2 MiB table limit");
});

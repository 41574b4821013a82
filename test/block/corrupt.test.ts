import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createImage, ImageError, openImage, Qcow2Image } from "../../src/block/index.js";
import { tmpDir, pattern, sameBytes } from "./helpers.js";

const KiB = 1024;
const CS = 65536;

/** A valid image with data, an L2 table and a snapshot with VM state; returns its bytes and layout facts. */
function baseImage(dir: string) {
  const p = path.join(dir, "base.qcow2");
  createImage(p, { format: "qcow2", size: 4 * 1024 * KiB });
  const img = Qcow2Image.open(p);
  img.write(0, pattern(100 * KiB, 1));
  img.createSnapshot("snap", { vmState: pattern(5000, 2), icount: 3 });
  img.write(0, pattern(10 * KiB, 3));
  img.close();
  const bytes = new Uint8Array(fs.readFileSync(p));
  const dv = new DataView(bytes.buffer);
  const u64 = (at: number) => Number(dv.getBigUint64(at));
  const l1 = u64(40);
  const reftable = u64(48);
  const snapshots = u64(64);
  return { bytes, l1, reftable, snapshots, refblock0: u64(reftable), l2: u64(l1) & 0x00ff_ffff_ffff_fe00,
    snapL1: u64(snapshots) };
}

type Patch = (b: Uint8Array, dv: DataView, base: ReturnType<typeof baseImage>) => Uint8Array | void;

/**
 * Applies `patch` to a copy of the base image and checks that opening/reading/writing it fails with an
 * ImageError matching `expected` (never another exception) and that the file is not modified.
 */
function expectRejected(dir: string, name: string, patch: Patch, expected: RegExp, opts: { onRead?: boolean } = {}) {
  const base = baseImage(dir);
  const bytes = base.bytes.slice();
  const dv = new DataView(bytes.buffer);
  const out = patch(bytes, dv, base) ?? bytes;
  const p = path.join(dir, `${name}.qcow2`);
  fs.writeFileSync(p, out);
  let err: unknown;
  try {
    const img = Qcow2Image.open(p);
    try {
      img.read(0, img.size);
      img.readVmState("snap");
      if (!opts.onRead) img.write(0, new Uint8Array(4096).fill(1));
    } finally {
      img.close();
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ImageError, `${name}: expected an ImageError, got ${String(err)}`);
  assert.match((err as Error).message, expected, name);
  assert.doesNotMatch((err as Error).message, /\n\s+at /, "no stack trace in the message");
  assert.ok(sameBytes(fs.readFileSync(p), out), `${name}: the file must not be modified`);
}

test("truncated files", () => {
  const dir = tmpDir();
  const cases: Array<[string, (len: number, b: ReturnType<typeof baseImage>) => number, RegExp]> = [
    ["empty", () => 0, /truncated|smaller than a qcow2 header/],
    ["inside header", () => 50, /truncated/],
    ["inside header extensions", () => 200, /truncated inside header extension 0x6803f857/],
    ["before refcount table", (_, b) => b.reftable + 8, /refcount table .* beyond the end of the file/],
    ["inside snapshot table", (_, b) => b.snapshots + 30, /truncated|beyond the end of the file/],
    ["inside L1", (_, b) => b.l1 + 4, /beyond the end of the file/],
    ["last byte", (len) => len - 1, /truncated|beyond the end of the file/],
  ];
  for (const [name, cut, re] of cases) {
    expectRejected(dir, `trunc-${name.replace(/ /g, "-")}`, (b, _dv, base) => b.slice(0, cut(b.length, base)), re);
  }
});

test("wrong magic and bad header fields", () => {
  const dir = tmpDir();
  const cases: Array<[string, Patch, RegExp]> = [
    ["magic", (b) => { b[0] = 0x51; b[3] = 0; }, /not a qcow2 image \(bad magic\)/],
    ["version", (_b, dv) => dv.setUint32(4, 4), /unsupported qcow2 version 4/],
    ["cluster bits small", (_b, dv) => dv.setUint32(20, 8), /unsupported cluster size/],
    ["cluster bits large", (_b, dv) => dv.setUint32(20, 22), /unsupported cluster size/],
    ["encrypted", (_b, dv) => dv.setUint32(32, 1), /encrypted/],
    ["backing file", (_b, dv) => dv.setBigUint64(8, 0x200n), /backing file/],
    ["refcount order", (_b, dv) => dv.setUint32(96, 7), /refcount_order 7/],
    ["header length", (_b, dv) => dv.setUint32(100, 100), /header_length 100/],
    ["unknown incompatible feature", (_b, dv) => dv.setUint32(76, 1 << 10), /Unsupported qcow2 feature\(s\): Unknown incompatible feature: 10/],
    ["extended L2", (_b, dv) => dv.setUint32(76, 1 << 4), /extended L2/],
    ["external data file", (_b, dv) => dv.setUint32(76, 1 << 2), /external data file/],
    ["zstd", (_b, dv) => dv.setUint32(76, 1 << 3), /compression type/],
    ["no refcount table", (_b, dv) => dv.setUint32(56, 0), /does not contain a reference count table/],
    ["huge refcount table", (_b, dv) => dv.setUint32(56, 1 << 20), /refcount table too large/],
    ["L1 too large", (_b, dv) => dv.setUint32(36, 5_000_000), /active L1 table too large/],
    ["L1 too small", (_b, dv) => dv.setBigUint64(24, 1n << 40n), /L1 table is too small/],
    ["too many snapshots", (_b, dv) => dv.setUint32(60, 70000), /too many snapshots/],
    ["header extension overrun", (_b, dv) => dv.setUint32(116, 100000), /header extension .* runs past/],
  ];
  for (const [name, patch, re] of cases) expectRejected(dir, name.replace(/ /g, "-"), patch, re);
});

test("impossible offsets: unaligned or beyond the end of the file", () => {
  const dir = tmpDir();
  const cases: Array<[string, Patch, RegExp, boolean?]> = [
    ["L1 unaligned", (_b, dv, s) => dv.setBigUint64(40, BigInt(s.l1 + 8)), /L1 table offset 0x[0-9a-f]+ is not cluster aligned/],
    ["L1 beyond EOF", (b, dv) => dv.setBigUint64(40, BigInt(b.length + CS * 4)), /L1 table at .* beyond the end of the file/],
    ["refcount table unaligned", (_b, dv, s) => dv.setBigUint64(48, BigInt(s.reftable + 512)), /refcount table offset .* not cluster aligned/],
    ["refcount table at 0", (_b, dv) => dv.setBigUint64(48, 0n), /refcount table overlaps the image header/],
    ["refcount block beyond EOF", (b, dv, s) => dv.setBigUint64(s.reftable, BigInt(b.length + CS * 8)), /refcount block 0 at .* beyond the end of the file/],
    ["refcount block unaligned", (_b, dv, s) => dv.setBigUint64(s.reftable, BigInt(s.refblock0 + 4096)), /refcount table entry 0 .* not a cluster-aligned offset/],
    ["L2 unaligned", (_b, dv, s) => dv.setBigUint64(s.l1, BigInt(s.l2 + 512) | (1n << 63n)), /unaligned L2 table offset/],
    ["L2 beyond EOF", (b, dv, s) => dv.setBigUint64(s.l1, BigInt(b.length + CS * 16) | (1n << 63n)), /L2 table at .* beyond the end of the file/],
    ["L1 reserved bits", (_b, dv, s) => dv.setBigUint64(s.l1, BigInt(s.l2) | (1n << 62n)), /reserved bits/],
    ["data beyond EOF", (b, dv, s) => dv.setBigUint64(s.l2 + 8, BigInt(b.length + CS * 30) | (1n << 63n)), /beyond the end of the file/, true],
    ["data unaligned", (_b, dv, s) => dv.setBigUint64(s.l2 + 8, BigInt(CS * 5 + 1024) | (1n << 63n)), /unaligned offset/, true],
    ["snapshot table unaligned", (_b, dv, s) => dv.setBigUint64(64, BigInt(s.snapshots + 8)), /snapshot table offset .* not cluster aligned/],
    ["snapshot table beyond EOF", (b, dv) => dv.setBigUint64(64, BigInt(b.length + CS * 64)), /snapshot table offset .* beyond the end of the file/],
    ["snapshot L1 unaligned", (_b, dv, s) => dv.setBigUint64(s.snapshots, BigInt(s.snapL1 + 16)), /snapshot 1 \('snap'\): L1 table offset .* invalid/],
    ["snapshot L1 too large", (_b, dv, s) => dv.setUint32(s.snapshots + 8, 5_000_000), /snapshot 1 \('snap'\): L1 table too large/],
    ["snapshot extra data", (_b, dv, s) => dv.setUint32(s.snapshots + 36, 5000), /too much extra data/],
  ];
  for (const [name, patch, re, onRead] of cases) {
    expectRejected(dir, name.replace(/ /g, "-"), patch, re, { onRead: onRead ?? false });
  }
});

test("overlapping and looping structures", () => {
  const dir = tmpDir();
  const cases: Array<[string, Patch, RegExp, boolean?]> = [
    ["refblock on the L1 table", (_b, dv, s) => dv.setBigUint64(s.reftable, BigInt(s.l1)), /overlaps|overlap/],
    ["refblock twice", (_b, dv, s) => dv.setBigUint64(s.reftable + 8, BigInt(s.refblock0)), /refcount block 1 at 0x[0-9a-f]+ overlaps refcount block 0/],
    ["refblock is the refcount table", (_b, dv, s) => dv.setBigUint64(s.reftable, BigInt(s.reftable)), /refcount block 0 .* overlaps the refcount table/],
    ["snapshot table on the L1", (_b, dv, s) => dv.setBigUint64(64, BigInt(s.l1)), /overlaps|snapshot/],
    ["snapshot L1 is the active L1", (_b, dv, s) => dv.setBigUint64(s.snapshots, BigInt(s.l1)), /L1 table of snapshot 'snap' .* overlaps the active L1 table/],
    ["L2 is the refcount table", (_b, dv, s) => dv.setBigUint64(s.l1, BigInt(s.reftable) | (1n << 63n)), /L2 table .* overlaps the refcount table/],
    ["L2 is the snapshot table", (_b, dv, s) => dv.setBigUint64(s.l1, BigInt(s.snapshots) | (1n << 63n)), /L2 table .* overlaps the snapshot table/],
    ["data in a refcount block", (_b, dv, s) => dv.setBigUint64(s.l2 + 8, BigInt(s.refblock0) | (1n << 63n)), /points into refcount block 0/, true],
  ];
  for (const [name, patch, re, onRead] of cases) {
    expectRejected(dir, name.replace(/ /g, "-"), patch, re, { onRead: onRead ?? false });
  }
});

test("images with wrong refcounts or marked dirty/corrupt are read but never written", () => {
  const dir = tmpDir();
  const cases: Array<[string, Patch, RegExp]> = [
    // Refcount 0 for the first data cluster: reading works, writing would destroy data.
    ["refcount zero", (_b, dv, s) => {
      const entry = Number(dv.getBigUint64(s.l2) & 0x00ff_ffff_ffff_fe00n) / CS;
      dv.setUint16(s.refblock0 + entry * 2, 0);
    }, /image is corrupt \(\d+ errors found\); refusing to write/],
    ["corrupt bit", (_b, dv) => dv.setUint32(76, 2), /marked corrupt/],
    ["dirty bit", (_b, dv) => dv.setUint32(76, 1), /dirty bit/],
  ];
  for (const [name, patch, re] of cases) {
    expectRejected(dir, name.replace(/ /g, "-"), patch, re);
    const img = Qcow2Image.open(path.join(dir, `${name.replace(/ /g, "-")}.qcow2`), { readOnly: true });
    assert.equal(img.read(0, 10 * KiB).length, 10 * KiB, `${name}: still readable`);
    assert.ok(sameBytes(img.read(0, 10 * KiB), pattern(10 * KiB, 3)));
    img.close();
  }
});

test("a wrong-magic file opens as raw through probing, like QEMU", () => {
  const dir = tmpDir();
  const p = path.join(dir, "notqcow.img");
  fs.writeFileSync(p, pattern(4096, 1));
  const img = openImage(p);
  assert.equal(img.format, "raw");
  img.close();
  assert.throws(() => openImage(p, { format: "qcow2" }), /not in qcow2 format/);
  assert.throws(() => Qcow2Image.open(p), /bad magic/);
});

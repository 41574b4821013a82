// LD1-LD4 / ST1-ST4 (single structure) and LD1R-LD4R, from the Arm ARM pseudocode: a lane load writes one
// element of each register and keeps the rest (both halves, whatever Q); LDnR replicates the element over the
// 64 or 128 bits (the top half zero when Q = 0); structures are consecutive in memory, registers wrap modulo 32;
// post-index adds the transfer size (selem * esize) or X[m]. Encodings from aarch64-linux-gnu-as.

import { test } from "node:test";
import assert from "node:assert/strict";
import { DATA, RAM_BASE, TestMachine } from "./harness.js";
import { assertDataAbort, fillRam, ramHex } from "./ldst-asm.js";

const JUNK = 0xdead_beef_dead_beef_dead_beef_dead_beefn;
const RAM_END = RAM_BASE + (1 << 20);
const MASK128 = (1n << 128n) - 1n;

/** JUNK with the `bytes`-byte element at byte offset `at` replaced by v. */
const withLane = (at: number, bytes: number, v: bigint) => (JUNK & ~(((1n << BigInt(8 * bytes)) - 1n) << BigInt(8 * at)) & MASK128) | (v << BigInt(8 * at));
const rep = (v: bigint, bits: number, total: number) => {
  let r = 0n;
  for (let i = 0; i < total / bits; i++) r |= v << BigInt(i * bits);
  return r;
};

function run(words: number[], setup: (m: TestMachine) => void): TestMachine {
  const m = new TestMachine().code(...words);
  fillRam(m, DATA, 256, 0x40);
  for (let r = 0; r < 32; r++) m.setV(r, JUNK);
  m.setX(1, DATA).setX(2, 0x20).setX(3, DATA + 0x80);
  setup(m);
  m.run(words.length);
  return m;
}

test("LD1 (single structure) B/H/S/D lanes keep the rest of the register; post-index by size or register", () => {
  const m = run([0x0d401420 /* ld1 {v0.b}[5], [x1] */, 0x4ddf5821 /* ld1 {v1.h}[7], [x1], #2 */, 0x4dc29022 /* ld1 {v2.s}[3], [x1], x2 */, 0x4d408423 /* ld1 {v3.d}[1], [x1] */], () => {});
  assert.equal(m.v(0), withLane(5, 1, 0x40n));
  assert.equal(m.v(1), withLane(14, 2, 0x4140n));
  assert.equal(m.v(2), withLane(12, 4, 0x45444342n)); // x1 = DATA + 2
  assert.equal(m.v(3), withLane(8, 8, 0x6968676665646362n)); // x1 = DATA + 0x22
  assert.equal(m.x(1), BigInt(DATA + 0x22));
});

test("LD1R replicates over 128 bits, or 64 bits zeroing the top; LD4R four registers; LD2 and LD3 lanes, wrapping v31 -> v0", () => {
  const m = run(
    [
      0x4d40c024, // ld1r {v4.16b}, [x1]
      0x0ddfc425, // ld1r {v5.4h}, [x1], #2
      0x4d40cc26, // ld1r {v6.2d}, [x1]
      0x0d609027, // ld2 {v7.s, v8.s}[1], [x1]
      0x0dffe029, // ld4r {v9.8b-v12.8b}, [x1], #4
      0x4d403c3f, // ld3 {v31.b, v0.b, v1.b}[15], [x1]
    ],
    () => {},
  );
  assert.equal(m.v(4), rep(0x40n, 8, 128));
  assert.equal(m.v(5), rep(0x4140n, 16, 64));
  assert.equal(m.v(6), rep(0x4948474645444342n, 64, 128)); // x1 = DATA + 2
  assert.equal(m.v(7), withLane(4, 4, 0x45444342n));
  assert.equal(m.v(8), withLane(4, 4, 0x49484746n));
  for (let k = 0; k < 4; k++) assert.equal(m.v(9 + k), rep(BigInt(0x42 + k), 8, 64), `v${9 + k}`);
  assert.equal(m.x(1), BigInt(DATA + 6));
  assert.equal(m.v(31), withLane(15, 1, 0x46n));
  assert.equal(m.v(0), withLane(15, 1, 0x47n));
  assert.equal(m.v(1), withLane(15, 1, 0x48n));
});

test("ST1/ST3 (single structure) store just their elements", () => {
  const m = run([0x0d001460 /* st1 {v0.b}[5], [x3] */, 0x4d9f5861 /* st1 {v1.h}[7], [x3], #2 */, 0x4d9fa062 /* st3 {v2.s-v4.s}[2], [x3], #12 */, 0x4d008463 /* st1 {v3.d}[1], [x3] */], (m) => {
    m.ram.bytes.fill(0xee, DATA + 0x80 - RAM_BASE, DATA + 0xa0 - RAM_BASE);
    m.setV(0, 0x0f0e0d0c0b0a09080706050403020100n);
    m.setV(1, 0x1f1e1d1c1b1a19181716151413121110n);
    m.setV(2, 0x2f2e2d2c2b2a29282726252423222120n);
    m.setV(3, 0x3f3e3d3c3b3a39383736353433323130n);
    m.setV(4, 0x4f4e4d4c4b4a49484746454443424140n);
  });
  // st1 b[5] at +0 (overwritten by h[7] at +0), st3 at +2, d[1] at +14.
  assert.equal(ramHex(m, DATA + 0x80, 24), "1e1f" + "28292a2b" + "38393a3b" + "48494a4b" + "38393a3b3c3d3e3f" + "eeee");
  assert.equal(m.x(3), BigInt(DATA + 0x80 + 14));
});

test("a faulting LD2 (single structure) leaves the registers and the base; unallocated layouts are undefined", () => {
  const m = run([0x0dff9027 /* ld2 {v7.s, v8.s}[1], [x1], #8 */], (m) => m.setX(1, RAM_END - 4));
  assertDataAbort(m, { far: BigInt(RAM_END), write: false, dfsc: 0x10 });
  assert.equal(m.v(7), JUNK);
  assert.equal(m.v(8), JUNK);
  assert.equal(m.x(1), BigInt(RAM_END - 4));
  // ld1 .h with size<0> set, .s with size<1> set, .d with S set, ld1r with S set, st1r (L = 0).
  for (const w of [0x0d404c20, 0x0d408820, 0x0d409420, 0x0d40d020, 0x0d00c020]) {
    const u = new TestMachine().code(w);
    u.run(1);
    assert.equal(u.lastEc, 0, w.toString(16));
  }
});

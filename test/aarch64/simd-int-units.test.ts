// Advanced SIMD integer instructions whose results are easy to get wrong, with expected values worked out by
// hand from the Arm ARM pseudocode (the oracle tests in test/oracle/simd-*.test.ts cover the classes broadly):
// TBL/TBX out-of-range indices, SQDMULH/SQRDMULH rounding and saturation, saturating narrowing, FPSR.QC.
// Encodings from aarch64-linux-gnu-as.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine } from "./harness.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";

const QC = 1 << 27;
const JUNK = 0xdead_beef_dead_beef_dead_beef_dead_beefn;

/** A register from its lanes, lane 0 first. */
function lanes(bits: number, values: number[]): bigint {
  return values.reduce((acc, v, i) => acc | (BigInt(v) << BigInt(i * bits)), 0n);
}

function run(insn: number, regs: Record<number, bigint>): TestMachine {
  const m = new TestMachine().code(insn);
  for (let r = 0; r < 8; r++) m.setV(r, regs[r] ?? JUNK);
  m.cpu.fpsr = 0;
  m.run(1);
  return m;
}

test("TBL/TBX: indices past the table give 0 (TBL) or keep Vd (TBX); the 64-bit forms zero the top", () => {
  const table1 = lanes(8, Array.from({ length: 16 }, (_, i) => 0x10 + i));
  const table2 = lanes(8, Array.from({ length: 16 }, (_, i) => 0x20 + i));
  const idx = lanes(8, [0, 15, 16, 31, 32, 255, 5, 17, 64, 1, 2, 3, 30, 33, 128, 20]);
  const tbl = run(0x4e032020 /* tbl v0.16b, {v1.16b, v2.16b}, v3.16b */, { 1: table1, 2: table2, 3: idx });
  assert.equal(tbl.v(0), lanes(8, [0x10, 0x1f, 0x20, 0x2f, 0, 0, 0x15, 0x21, 0, 0x11, 0x12, 0x13, 0x2e, 0, 0, 0x24]));
  const tbx = run(0x0e031020 /* tbx v0.8b, {v1.16b}, v3.8b */, { 0: lanes(8, Array(16).fill(0xee)), 1: table1, 3: idx });
  assert.equal(tbx.v(0), lanes(8, [0x10, 0x1f, 0xee, 0xee, 0xee, 0xee, 0x15, 0xee]));
});

test("SQRDMULH/SQDMULH .8H: rounding, -1 x -1 saturation sets QC", () => {
  const a = lanes(16, [0x4000, 0x8000, 1, 1, 0xffff, 0xffff, 0x7fff, 0x8000]);
  const b = lanes(16, [0x4000, 0x8000, 1, 0x4000, 0x4000, 0x4001, 0x7fff, 0x7fff]);
  // (2ab + 0x8000) >> 16 and 2ab >> 16, saturated.
  const r = run(0x6e62b420 /* sqrdmulh v0.8h, v1.8h, v2.8h */, { 1: a, 2: b });
  assert.equal(r.v(0), lanes(16, [0x2000, 0x7fff, 0, 1, 0, 0xffff, 0x7ffe, 0x8001]));
  assert.equal(r.cpu.fpsr & QC, QC);
  const d = run(0x4e62b420 /* sqdmulh v0.8h, v1.8h, v2.8h */, { 1: a, 2: b });
  assert.equal(d.v(0), lanes(16, [0x2000, 0x7fff, 0, 0, 0xffff, 0xffff, 0x7ffe, 0x8001]));
  // Without the saturating pair QC stays clear.
  const n = run(0x6e62b420, { 1: lanes(16, [0x4000]), 2: lanes(16, [0x4000]) });
  assert.equal(n.v(0), lanes(16, [0x2000]));
  assert.equal(n.cpu.fpsr & QC, 0);
});

test("SQRDMULH (scalar, by element) S: 64-bit products rounded at bit 31; only -2^31 * -2^31 saturates", () => {
  // 0x40000001 * 0x7fffffff = 0x20000000_3fffffff; doubled 0x40000000_7ffffffe, + 2^31 -> high word 0x40000000.
  const r = run(0x5fa2d020 /* sqrdmulh s0, s1, v2.s[1] */, { 1: 0x40000001n, 2: lanes(32, [0, 0x7fffffff, 0, 0]) });
  assert.equal(r.v(0), 0x40000000n);
  assert.equal(r.cpu.fpsr & QC, 0);
  // 2 * 0x10000 * 0x8000 = 2^32 exactly -> 1; 2 * 0x10000 * 0x7fff = 0xfffe0000, + 2^31 carries -> 1.
  assert.equal(run(0x5fa2d020, { 1: 0x00010000n, 2: lanes(32, [0, 0x00008000, 0, 0]) }).v(0), 1n);
  assert.equal(run(0x5fa2d020, { 1: 0x00010000n, 2: lanes(32, [0, 0x00007fff, 0, 0]) }).v(0), 1n);
  // -1 * 0x40000000: doubled -2^31, + 2^31 = 0 -> 0 (SQDMULH would give -1).
  assert.equal(run(0x5fa2d020, { 1: 0xffffffffn, 2: lanes(32, [0, 0x40000000, 0, 0]) }).v(0), 0n);
  const s = run(0x5fa2d020, { 1: 0x80000000n, 2: lanes(32, [0, 0x80000000, 0, 0]) });
  assert.equal(s.v(0), 0x7fffffffn);
  assert.equal(s.cpu.fpsr & QC, QC);
});

test("saturating narrowing: SQXTN, SQXTUN2 (high half, low half kept), UQXTN (scalar)", () => {
  const src = lanes(16, [0x007f, 0x0080, 0xff80, 0xff7f, 0x7fff, 0x8000, 0x0000, 0xffff]);
  const s = run(0x0e214820 /* sqxtn v0.8b, v1.8h */, { 1: src });
  assert.equal(s.v(0), lanes(8, [0x7f, 0x7f, 0x80, 0x80, 0x7f, 0x80, 0, 0xff]));
  assert.equal(s.cpu.fpsr & QC, QC);
  const u = run(0x6e212820 /* sqxtun2 v0.16b, v1.8h */, { 0: 0x1122334455667788n, 1: src });
  assert.equal(u.v(0), 0x1122334455667788n | (lanes(8, [0x7f, 0x80, 0, 0, 0xff, 0, 0, 0]) << 64n));
  const q = run(0x7ea14820 /* uqxtn s0, d1 */, { 1: 0x1_0000_0000n });
  assert.equal(q.v(0), 0xffffffffn);
  assert.equal(q.cpu.fpsr & QC, QC);
  const k = run(0x7ea14820, { 1: 0xffff_ffffn });
  assert.equal(k.v(0), 0xffffffffn);
  assert.equal(k.cpu.fpsr & QC, 0);
});

test("the glibc string idioms: CMEQ #0, SHRN #4, UMAXP, ADDP D, UMINV", () => {
  const data = lanes(8, [0x61, 0x62, 0, 0x63, 0, 0, 0x64, 0x65, 1, 2, 3, 4, 5, 6, 7, 0]);
  const c = run(0x4e209820 /* cmeq v0.16b, v1.16b, #0 */, { 1: data });
  const mask = lanes(8, [0, 0, 0xff, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]);
  assert.equal(c.v(0), mask);
  // SHRN #4 of halfwords: 0xff00 -> 0xf0, 0x00ff -> 0x0f, 0xffff -> 0xff.
  const s = run(0x0f0c8420 /* shrn v0.8b, v1.8h, #4 */, { 0: JUNK, 1: mask });
  assert.equal(s.v(0), lanes(8, [0x00, 0x0f, 0xff, 0x00, 0, 0, 0, 0xf0]));
  const p = run(0x6e22a420 /* umaxp v0.16b, v1.16b, v2.16b */, { 1: data, 2: mask });
  assert.equal(p.v(0), lanes(8, [0x62, 0x63, 0, 0x65, 2, 4, 6, 7, 0, 0xff, 0xff, 0, 0, 0, 0, 0xff]));
  const a = run(0x5ef1b820 /* addp d0, v1.2d */, { 1: (0xffffffffffffffffn << 64n) | 2n });
  assert.equal(a.v(0), 1n);
  const m = run(0x6e31a820 /* uminv b0, v1.16b */, { 1: data | (0xffn << 120n) });
  assert.equal(m.v(0), 0n);
});

test("unallocated encodings are undefined: .1D three-same, SQDMULH .8B, ADDV .2S, SHL #imm .1D, UZP .1D", () => {
  const decoder = a64Decoder();
  for (const w of [0x0ee08400 /* add .1d */, 0x0e20b400 /* sqdmulh .8b */, 0x0eb1b800 /* addv .2s */, 0x0f405400 /* shl .1d */, 0x0ec01800 /* uzp1 .1d */]) {
    assert.equal(decoder.decode(w), undefined, w.toString(16));
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
  }
});

test("with FP/SIMD disabled (CPACR_EL1.FPEN = 0) every class traps with EC 0x07 before touching a register", () => {
  const words = [
    0x6e228c20, // cmeq v0.16b, v1.16b, v2.16b (fast path)
    0x4ea2b420, // sqdmulh v0.4s
    0x4e20b820, // abs v0.16b
    0x4eb1b820, // addv s0, v1.4s
    0x5ef1b820, // addp d0, v1.2d
    0x4f0c0420, // sshr v0.16b, v1.16b, #4
    0x0e22c020, // smull v0.8h, v1.8b, v2.8b
    0x4f428020, // mul v0.8h, v1.8h, v2.h[0]
    0x4e023820, // zip1 v0.16b, v1.16b, v2.16b
    0x6e020020, // ext v0.16b, v1.16b, v2.16b, #0
    0x4e032020, // tbl v0.16b, {v1.16b, v2.16b}, v3.16b
    0x4d40c020, // ld1r {v0.16b}, [x1]
  ];
  for (const w of words) {
    const m = new TestMachine().code(w);
    m.setV(0, JUNK).setV(1, 1n).setV(2, 2n).setX(1, 0x40010000n);
    m.cpu.sys.cpacr = 0;
    m.run(1);
    assert.equal(m.lastEc, 0x07, w.toString(16));
    assert.equal(m.v(0), JUNK, w.toString(16));
  }
});

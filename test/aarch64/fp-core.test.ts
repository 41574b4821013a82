// The soft-float core and the scalar FP rows on values worked out by hand from the Arm ARM pseudocode (FPRound,
// FPCompare, FPProcessNaNs, FPMulAdd, FPToFixed, FixedToFP, FPConvert), so they are checked without qemu too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine } from "./harness.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";

const IOC = 1, DZC = 2, OFC = 4, UFC = 8, IXC = 16, IDC = 128;
const RN = 0, RP = 1 << 22, RM = 2 << 22, RZ = 3 << 22, FZ = 1 << 24, DN = 1 << 25, AHP = 1 << 26;

function run(insn: number, fpcr: number, v: bigint[], x: bigint[] = []): { v0: bigint; x0: bigint; fpsr: number; nzcv: number } {
  const m = new TestMachine();
  m.code(insn);
  v.forEach((b, i) => m.setV(i, b));
  x.forEach((b, i) => m.setX(i, b));
  m.cpu.fpcr = fpcr;
  m.cpu.fpsr = 0;
  m.cpu.nzcv = 0;
  m.run(1);
  return { v0: m.v(0), x0: m.x(0), fpsr: m.cpu.fpsr, nzcv: m.cpu.nzcv };
}

const FADD_S = 0x1e222820; // fadd s0, s1, s2
const FMUL_S = 0x1e220820; // fmul s0, s1, s2
const FDIV_S = 0x1e221820; // fdiv s0, s1, s2

test("FPRound: ties to even, directed modes, on 1 + 2^-24 and 1 + 3*2^-24", () => {
  const one = 0x3f800000n;
  for (const [fpcr, r] of [[RN, 0x3f800000n], [RP, 0x3f800001n], [RM, 0x3f800000n], [RZ, 0x3f800000n]] as const)
    assert.deepEqual([run(FADD_S, fpcr, [0n, one, 0x33800000n]).v0, run(FADD_S, fpcr, [0n, one, 0x33800000n]).fpsr], [r, IXC]);
  // 1 + 2^-23 + 2^-24: a tie between odd 0x3f800001 and even 0x3f800002
  assert.equal(run(FADD_S, RN, [0n, 0x3f800001n, 0x33800000n]).v0, 0x3f800002n);
  // negative operand, towards minus infinity rounds the magnitude up
  assert.equal(run(FADD_S, RM, [0n, 0xbf800000n, 0xb3800000n]).v0, 0xbf800001n);
  // exact: no flags
  assert.deepEqual([run(FADD_S, RN, [0n, one, one]).v0, run(FADD_S, RN, [0n, one, one]).fpsr], [0x40000000n, 0]);
  // x + (-x) is +0, but -0 when rounding towards minus infinity
  assert.equal(run(FADD_S, RN, [0n, one, 0xbf800000n]).v0, 0n);
  assert.equal(run(FADD_S, RM, [0n, one, 0xbf800000n]).v0, 0x80000000n);
});

test("FPRound: overflow gives infinity or the largest normal by rounding mode, with OFC and IXC", () => {
  const max = 0x7f7fffffn;
  const halfUlp = 0x73800000n; // 2^104
  for (const [fpcr, r] of [[RN, 0x7f800000n], [RP, 0x7f800000n], [RM, max], [RZ, max]] as const) {
    const o = run(FADD_S, fpcr, [0n, max, halfUlp]);
    assert.deepEqual([o.v0, o.fpsr], [r, OFC | IXC]);
  }
  // 1.0 / 0.0: infinity with DZC only
  const z = run(FDIV_S, RN, [0n, 0xbf800000n, 0n]);
  assert.deepEqual([z.v0, z.fpsr], [0xff800000n, DZC]);
});

test("FPRound: tininess before rounding (UFC), exact denormals, flush to zero (UFC without IXC), IDC", () => {
  // (1 - 2^-24) * 2^-126 = 2^-126 - 2^-150 rounds up to the smallest normal, but was tiny: UFC | IXC
  const t = run(FMUL_S, RN, [0n, 0x3f7fffffn, 0x00800000n]);
  assert.deepEqual([t.v0, t.fpsr], [0x00800000n, UFC | IXC]);
  // 2^-126 * 0.5 = 2^-127 is an exact denormal: no flags
  const e = run(FMUL_S, RN, [0n, 0x00800000n, 0x3f000000n]);
  assert.deepEqual([e.v0, e.fpsr], [0x00400000n, 0]);
  // under FZ the tiny result flushes to +0 with UFC only
  const f = run(FMUL_S, FZ, [0n, 0x00800000n, 0x3f000000n]);
  assert.deepEqual([f.v0, f.fpsr], [0n, UFC]);
  // under FZ a denormal input is zero (IDC): denormal + 1.0 = 1.0 exactly
  const i = run(FADD_S, FZ, [0n, 0x00000001n, 0x3f800000n]);
  assert.deepEqual([i.v0, i.fpsr], [0x3f800000n, IDC]);
});

test("FPProcessNaNs: signalling before quiet, quieting, default NaN; FMADD's inf*0 + qNaN", () => {
  const q1 = 0x7fc00001n;
  const s2 = 0x7f800002n;
  assert.deepEqual([run(FADD_S, RN, [0n, q1, s2]).v0, run(FADD_S, RN, [0n, q1, s2]).fpsr], [0x7fc00002n, IOC]);
  assert.deepEqual([run(FADD_S, DN, [0n, q1, s2]).v0, run(FADD_S, DN, [0n, q1, s2]).fpsr], [0x7fc00000n, IOC]);
  assert.deepEqual([run(FADD_S, RN, [0n, q1, 0x3f800000n]).v0, run(FADD_S, RN, [0n, q1, 0x3f800000n]).fpsr], [q1, 0]);
  // inf - inf: default NaN, IOC
  assert.deepEqual([run(0x1e223820, RN, [0n, 0x7f800000n, 0x7f800000n]).v0, run(0x1e223820, RN, [0n, 0x7f800000n, 0x7f800000n]).fpsr], [0x7fc00000n, IOC]);
  // fmadd s0, s1, s2, s3 = s3 + s1*s2 with inf * 0 + qNaN: default NaN (not the qNaN), IOC
  const fm = run(0x1f020c20, RN, [0n, 0x7f800000n, 0n, 0xffc00123n]);
  assert.deepEqual([fm.v0, fm.fpsr], [0x7fc00000n, IOC]);
  // fmsub negates the NaN operand before processing it: -(qNaN)
  const fs = run(0x1f028c20, RN, [0n, 0x7fc00005n, 0x3f800000n, 0x3f800000n]);
  assert.equal(fs.v0, 0xffc00005n);
});

test("FMADD is one rounding: a double-rounding trap that a naive a*b+c (or fma without round-to-odd) gets wrong", () => {
  // d1 = 2^-53 (1 + 2^-30), d2 = 1 - 2^-30, d3 = 1 + 2^-52: d3 + d1*d2 = 1 + 3*2^-53 - 2^-113, just below the
  // midpoint between 1 + 2^-52 and 1 + 2^-51, so the result is 1 + 2^-52 (inexact)
  const r = run(0x1f420c20, RN, [0n, 0x3ca0000000400000n, 0x3fefffffff800000n, 0x3ff0000000000001n]);
  assert.deepEqual([r.v0, r.fpsr], [0x3ff0000000000001n, IXC]);
});

test("FPCompare: the NZCV table, +0 == -0, NaNs unordered; IOC for signalling NaNs, for any NaN with FCMPE", () => {
  const FCMP = 0x1e222020; // fcmp s1, s2
  const FCMPE = 0x1e222030;
  const one = 0x3f800000n, two = 0x40000000n;
  assert.equal(run(FCMP, RN, [0n, one, two]).nzcv, 0b1000);
  assert.equal(run(FCMP, RN, [0n, two, one]).nzcv, 0b0010);
  assert.equal(run(FCMP, RN, [0n, one, one]).nzcv, 0b0110);
  assert.equal(run(FCMP, RN, [0n, 0n, 0x80000000n]).nzcv, 0b0110);
  const q = run(FCMP, RN, [0n, one, 0x7fc00000n]);
  assert.deepEqual([q.nzcv, q.fpsr], [0b0011, 0]);
  const qe = run(FCMPE, RN, [0n, one, 0x7fc00000n]);
  assert.deepEqual([qe.nzcv, qe.fpsr], [0b0011, IOC]);
  const s = run(FCMP, RN, [0n, 0x7f800001n, one]);
  assert.deepEqual([s.nzcv, s.fpsr], [0b0011, IOC]);
});

test("FPToFixed: saturation with IOC (not IXC), rounding modes, -0.5 to unsigned is 0 with IXC only", () => {
  const FCVTZS = 0x1e380020, FCVTNS = 0x1e200020, FCVTAS = 0x1e240020, FCVTZU = 0x1e390020, FCVTMS = 0x1e300020;
  const sat = run(FCVTZS, RN, [0n, 0x4f000000n]); // 2^31
  assert.deepEqual([sat.x0, sat.fpsr], [0x7fffffffn, IOC]);
  const m25 = 0xc0200000n; // -2.5
  assert.deepEqual([run(FCVTNS, RN, [0n, m25]).x0, run(FCVTNS, RN, [0n, m25]).fpsr], [0xfffffffen, IXC]);
  assert.equal(run(FCVTAS, RN, [0n, m25]).x0, 0xfffffffdn);
  assert.equal(run(FCVTMS, RN, [0n, m25]).x0, 0xfffffffdn);
  assert.equal(run(FCVTZS, RN, [0n, m25]).x0, 0xfffffffen);
  assert.deepEqual([run(FCVTZU, RN, [0n, 0xbf800000n]).x0, run(FCVTZU, RN, [0n, 0xbf800000n]).fpsr], [0n, IOC]);
  assert.deepEqual([run(FCVTZU, RN, [0n, 0xbf000000n]).x0, run(FCVTZU, RN, [0n, 0xbf000000n]).fpsr], [0n, IXC]);
  assert.deepEqual([run(FCVTZS, RN, [0n, 0x7fc00000n]).x0, run(FCVTZS, RN, [0n, 0x7fc00000n]).fpsr], [0n, IOC]);
});

test("FixedToFP and FPConvert: 2^53 + 1 rounds to even; FCVT to half overflows or, with AHP, does not", () => {
  const SCVTF_D_X = 0x9e620020; // scvtf d0, x1
  const r = run(SCVTF_D_X, RN, [], [0n, (1n << 53n) + 1n]);
  assert.deepEqual([r.v0, r.fpsr], [0x4340000000000000n, IXC]);
  assert.equal(run(SCVTF_D_X, RP, [], [0n, (1n << 53n) + 1n]).v0, 0x4340000000000001n);
  const FCVT_H_S = 0x1e23c020; // fcvt h0, s1
  const h = run(FCVT_H_S, RN, [0n, 0x477ff000n]); // 65520: halfway between 65504 and 65536
  assert.deepEqual([h.v0, h.fpsr], [0x7c00n, OFC | IXC]);
  const a = run(FCVT_H_S, AHP, [0n, 0x477ff000n]);
  assert.deepEqual([a.v0, a.fpsr], [0x7c00n, IXC]);
  const n = run(FCVT_H_S, AHP, [0n, 0x7fc00000n]); // NaN to alternative half precision: zero, IOC
  assert.deepEqual([n.v0, n.fpsr], [0n, IOC]);
});

test("disassembly of the scalar FP rows", () => {
  const d = a64Decoder();
  const cases: [number, string][] = [
    [FADD_S, "fadd\ts0, s1, s2"],
    [0x1e622820, "fadd\td0, d1, d2"],
    [0x1f020c20, "fmadd\ts0, s1, s2, s3"],
    [0x1e222030, "fcmpe\ts1, s2"],
    [0x1e202028, "fcmp\ts1, #0.0"],
    [0x1e23c020, "fcvt\th0, s1"],
    [0x1e380020, "fcvtzs\tw0, s1"],
    [0x9e620020, "scvtf\td0, x1"],
    [0x1e21c020, "fsqrt\ts0, s1"],
    [0x1e264020, "frinta\ts0, s1"],
    [0x1e220c20, "fcsel\ts0, s1, s2, eq"],
    [0x1e221425, "fccmp\ts1, s2, #0x5, ne"],
    [0x9e18f820, "fcvtzs\tx0, s1, #2"],
  ];
  for (const [w, text] of cases) assert.equal(d.disassemble(w), text);
});

test("ARMv8.0 without FP16: half-precision arithmetic and ftype 10 are unallocated, FCVT to and from H is not", () => {
  const d = a64Decoder();
  for (const w of [0x1ee22820 /* fadd h0, h1, h2 */, 0x1ea22820 /* ftype 10 */, 0x1ee0c020 /* fabs h0, h1 */, 0x0e401400 /* fadd v0.4h (FP16) */, 0x1f420000 | (3 << 22) /* fmadd h */])
    assert.equal(d.decode(w >>> 0), undefined, w.toString(16));
  assert.equal(d.disassemble(0x1ee22020), ".inst 0x1ee22020 (undefined)");
  assert.equal(d.disassemble(0x1ee24020), "fcvt\ts0, h1");
  assert.equal(d.disassemble(0x1e63c020), "fcvt\th0, d1");
});

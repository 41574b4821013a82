// Data processing (register): logical/add/subtract shifted and extended register, ADC/SBC, CCMP/CCMN, CSEL
// family, 1-, 2- and 3-source. Hand-derived cases from the Arm ARM pseudocode, random operands against the
// BigInt model (dp-ref.ts), and the unallocated encodings of each group.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE } from "./harness.js";
import * as A from "./dp-asm.js";
import {
  MASK64,
  addWithCarry,
  advanced,
  bitReverse,
  byteSwapChunks,
  cls,
  clz,
  conditionHolds,
  crc32Ref,
  execute,
  expectSame,
  expectUndefined,
  extendReg,
  mask,
  randomState,
  rd,
  rng,
  shiftReg,
  sint,
  wr,
  type State,
} from "./dp-ref.js";

const W = 0;
const X = 1;
const ITER = 3000;

function st(regs: Record<number, bigint> = {}, nzcv = 0): State {
  const x = new Array<bigint>(32).fill(0n);
  for (const [k, v] of Object.entries(regs)) x[Number(k)] = v & MASK64;
  return { x, nzcv, pc: BigInt(CODE) };
}
const run = (word: number, s: State) => execute(word, s);
const nzcvOf = (result: bigint, n: number) => (Number((result >> BigInt(n - 1)) & 1n) << 3) | (result === 0n ? 4 : 0);

// ---- logical (shifted register) ------------------------------------------------------------------------

test("logical shifted register: hand-derived cases", () => {
  const a = 0xf0f0_0000_ffff_0001n;
  const b = 0x8000_0000_0000_0003n;
  assert.equal(run(A.logReg(X, 0, 0, 0, 1, 2), st({ 1: a, 2: b })).x[0], 0x8000_0000_0000_0001n, "and");
  assert.equal(run(A.logReg(X, 0, 1, 0, 1, 2), st({ 1: a, 2: b })).x[0], 0x70f0_0000_ffff_0000n, "bic");
  assert.equal(run(A.logReg(X, 1, 0, 0, 1, 2, A.SHIFT.LSR, 63), st({ 1: 0n, 2: b })).x[0], 1n, "orr lsr #63");
  assert.equal(run(A.logReg(X, 1, 0, 0, 1, 2, A.SHIFT.ASR, 63), st({ 1: 0n, 2: b })).x[0], MASK64, "orr asr #63");
  assert.equal(run(A.logReg(X, 1, 0, 0, 1, 2, A.SHIFT.ROR, 1), st({ 1: 0n, 2: b })).x[0], 0xc000_0000_0000_0001n, "orr ror #1");
  assert.equal(run(A.logReg(X, 1, 0, 0, 1, 2, A.SHIFT.LSL, 33), st({ 1: 0n, 2: b })).x[0], 0x6_0000_0000n, "orr lsl #33");
  assert.equal(run(A.logReg(X, 1, 1, 0, 31, 2), st({ 2: b })).x[0], 0x7fff_ffff_ffff_fffcn, "mvn");
  assert.equal(run(A.logReg(X, 2, 1, 0, 1, 2), st({ 1: a, 2: b })).x[0], ~(a ^ b) & MASK64, "eon");
  assert.equal(run(A.logReg(W, 1, 0, 0, 31, 2), st({ 0: MASK64, 2: b })).x[0], 3n, "mov w0, w2 zero-extends");
  assert.equal(run(A.logReg(X, 1, 0, 0, 31, 31), st({ 0: 5n, 31: 0x1234n })).x[0], 0n, "mov x0, xzr reads zero, not SP");
  assert.equal(run(A.logReg(W, 1, 0, 0, 1, 2, A.SHIFT.ROR, 4), st({ 1: 0n, 2: 0x1234_5678n })).x[0], 0x8123_4567n, "orr w ror");
  // ANDS/BICS: N and Z from the result, C and V cleared
  let r = run(A.logReg(X, 3, 0, 0, 1, 2), st({ 1: a, 2: b }, 0b0011));
  assert.equal(r.nzcv, 0b1000);
  r = run(A.logReg(W, 3, 1, 31, 1, 1), st({ 1: 0xffff_ffffn, 31: 7n }, 0b1011));
  assert.equal(r.nzcv, 0b0100, "bics wzr, w1, w1 is zero");
  assert.equal(r.x[31], 7n, "TST/BICS to XZR does not write SP");
  // and xzr, ... writes nothing (and sets no flags)
  r = run(A.logReg(X, 0, 0, 31, 1, 2), st({ 1: a, 2: b, 31: 9n }, 0b0101));
  assert.equal(r.x[31], 9n);
  assert.equal(r.nzcv, 0b0101);
});

function refLogicalReg(f: { sf: number; opc: number; inv: number; d: number; n: number; m: number; sh: number; amt: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  let op2 = shiftReg(rd(s, f.m, n), f.sh, f.amt, n);
  if (f.inv) op2 = ~op2 & mask(n);
  const a = rd(s, f.n, n);
  const result = [a & op2, a | op2, a ^ op2, a & op2][f.opc];
  const t = advanced(s);
  if (f.opc === 3) t.nzcv = nzcvOf(result, n);
  wr(t, f.d, result, n);
  return t;
}

test("AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS: random against ShiftReg", () => {
  const r = rng(1001);
  for (let i = 0; i < ITER * 2; i++) {
    const sf = r.int(2);
    const f = { sf, opc: r.int(4), inv: r.int(2), d: r.int(32), n: r.int(32), m: r.int(32), sh: r.int(4), amt: r.int(sf ? 64 : 32) };
    if (r.int(4) === 0) f.amt = [0, 1, 31, sf ? 63 : 31, sf ? 32 : 0][r.int(5)];
    const s = randomState(r);
    expectSame(A.logReg(f.sf, f.opc, f.inv, f.d, f.n, f.m, f.sh, f.amt), s, refLogicalReg(f, s), JSON.stringify(f));
  }
});

test("logical shifted register: 32-bit shift amounts >= 32 are undefined", () => {
  for (let opc = 0; opc < 4; opc++) expectUndefined(A.logReg(W, opc, opc & 1, 0, 1, 2, A.SHIFT.LSL, 32));
  expectUndefined(A.logReg(W, 1, 0, 0, 1, 2, A.SHIFT.ROR, 63));
});

// ---- add / subtract (shifted register) -----------------------------------------------------------------

test("add/subtract shifted register: hand-derived flags", () => {
  // cmp x1, x2 with equal operands: Z and C
  let r = run(A.addSubShifted(X, 1, 1, 31, 1, 2), st({ 1: 5n, 2: 5n }));
  assert.equal(r.nzcv, 0b0110);
  // subs x0, x1, x2: 0 - 1 = -1: N, borrow (C clear)
  r = run(A.addSubShifted(X, 1, 1, 0, 1, 2), st({ 1: 0n, 2: 1n }));
  assert.equal(r.x[0], MASK64);
  assert.equal(r.nzcv, 0b1000);
  // adds x0, x1, x2: INT64_MIN + INT64_MIN = 0 with C and V
  r = run(A.addSubShifted(X, 0, 1, 0, 1, 2), st({ 1: 1n << 63n, 2: 1n << 63n }));
  assert.equal(r.x[0], 0n);
  assert.equal(r.nzcv, 0b0111);
  // adds x0, x1, x2: 0xffffffff + 1 carries into the high half without setting C
  r = run(A.addSubShifted(X, 0, 1, 0, 1, 2), st({ 1: 0xffffffffn, 2: 1n }));
  assert.equal(r.x[0], 0x1_0000_0000n);
  assert.equal(r.nzcv, 0);
  // adds w0, w1, w2: 0xffffffff + 1 = 0 with C in 32 bits
  r = run(A.addSubShifted(W, 0, 1, 0, 1, 2), st({ 0: MASK64, 1: 0xffffffffn, 2: 1n }));
  assert.equal(r.x[0], 0n);
  assert.equal(r.nzcv, 0b0110);
  // neg x0, x2, lsl #1 / negs
  assert.equal(run(A.addSubShifted(X, 1, 0, 0, 31, 2, A.SHIFT.LSL, 1), st({ 2: 3n, 31: 100n })).x[0], MASK64 - 5n);
  r = run(A.addSubShifted(X, 1, 1, 0, 31, 2), st({ 2: 1n << 63n }));
  assert.equal(r.x[0], 1n << 63n);
  assert.equal(r.nzcv, 0b1001, "negs of INT64_MIN overflows");
  // sub w0, w1, w2, asr #31
  assert.equal(run(A.addSubShifted(W, 1, 0, 0, 1, 2, A.SHIFT.ASR, 31), st({ 1: 10n, 2: 0x8000_0000n })).x[0], 11n);
});

function refAddSubShifted(f: { sf: number; op: number; s: number; d: number; n: number; m: number; sh: number; amt: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  let op2 = shiftReg(rd(s, f.m, n), f.sh, f.amt, n);
  let cin = 0;
  if (f.op) {
    op2 = ~op2 & mask(n);
    cin = 1;
  }
  const { result, nzcv } = addWithCarry(rd(s, f.n, n), op2, cin, n);
  const t = advanced(s);
  if (f.s) t.nzcv = nzcv;
  wr(t, f.d, result, n);
  return t;
}

test("ADD/ADDS/SUB/SUBS shifted register: random against AddWithCarry", () => {
  const r = rng(1002);
  for (let i = 0; i < ITER * 2; i++) {
    const sf = r.int(2);
    const f = { sf, op: r.int(2), s: r.int(2), d: r.int(32), n: r.int(32), m: r.int(32), sh: r.int(3), amt: r.int(sf ? 64 : 32) };
    if (r.int(3) === 0) f.amt = 0;
    const s = randomState(r);
    expectSame(A.addSubShifted(f.sf, f.op, f.s, f.d, f.n, f.m, f.sh, f.amt), s, refAddSubShifted(f, s), JSON.stringify(f));
  }
});

test("add/subtract shifted register: ROR and 32-bit amounts >= 32 are undefined", () => {
  for (let k = 0; k < 4; k++) expectUndefined(A.addSubShifted(X, k >> 1, k & 1, 0, 1, 2, A.SHIFT.ROR, 1));
  expectUndefined(A.addSubShifted(W, 0, 0, 0, 1, 2, A.SHIFT.LSL, 32));
});

// ---- add / subtract (extended register) ----------------------------------------------------------------

test("add/subtract extended register: hand-derived cases and SP", () => {
  // add x0, sp, w1, uxtw #2
  assert.equal(run(A.addSubExt(X, 0, 0, 0, 31, 1, A.EXT.UXTW, 2), st({ 1: 0xffff_ffff_8000_0000n, 31: 0x1000n })).x[0], 0x2_0000_1000n);
  // add x0, x2, w1, sxtw
  assert.equal(run(A.addSubExt(X, 0, 0, 0, 2, 1, A.EXT.SXTW), st({ 1: 0x8000_0000n, 2: 0n })).x[0], 0xffff_ffff_8000_0000n);
  // sub sp, sp, x1, uxtx #4 (LSL #4)
  assert.equal(run(A.addSubExt(X, 1, 0, 31, 31, 1, A.EXT.UXTX, 4), st({ 1: 1n, 31: 0x1_0000_0000n })).x[31], 0xffff_fff0n);
  // add w0, w1, w2, sxtb #1
  assert.equal(run(A.addSubExt(W, 0, 0, 0, 1, 2, A.EXT.SXTB, 1), st({ 0: MASK64, 1: 0n, 2: 0x80n })).x[0], 0xffff_ff00n);
  // add x0, x1, w2, uxth #4
  assert.equal(run(A.addSubExt(X, 0, 0, 0, 1, 2, A.EXT.UXTH, 4), st({ 1: 1n, 2: 0xdead_ffffn })).x[0], 0xffff1n);
  // cmp sp, x1 (SUBS XZR, SP, X1): flags only
  const r = run(A.addSubExt(X, 1, 1, 31, 31, 1, A.EXT.UXTX), st({ 1: 0x10n, 31: 0x10n }));
  assert.equal(r.nzcv, 0b0110);
  assert.equal(r.x[31], 0x10n);
  // Rm = 31 is XZR in the extended form
  assert.equal(run(A.addSubExt(X, 0, 0, 0, 1, 31, A.EXT.UXTX), st({ 1: 7n, 31: 100n })).x[0], 7n);
});

function refAddSubExt(f: { sf: number; op: number; s: number; d: number; n: number; m: number; opt: number; amt: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  let op2 = extendReg(rd(s, f.m, 64), f.opt, f.amt, n);
  let cin = 0;
  if (f.op) {
    op2 = ~op2 & mask(n);
    cin = 1;
  }
  const { result, nzcv } = addWithCarry(rd(s, f.n, n, true), op2, cin, n);
  const t = advanced(s);
  if (f.s) t.nzcv = nzcv;
  wr(t, f.d, result, n, !f.s);
  return t;
}

test("ADD/ADDS/SUB/SUBS extended register: random against ExtendReg", () => {
  const r = rng(1003);
  for (let i = 0; i < ITER * 2; i++) {
    const f = { sf: r.int(2), op: r.int(2), s: r.int(2), d: r.int(32), n: r.int(32), m: r.int(32), opt: r.int(8), amt: r.int(5) };
    const s = randomState(r);
    expectSame(A.addSubExt(f.sf, f.op, f.s, f.d, f.n, f.m, f.opt, f.amt), s, refAddSubExt(f, s), JSON.stringify(f));
  }
});

test("add/subtract extended register: shift > 4 and opt != 00 are undefined", () => {
  for (let amt = 5; amt < 8; amt++) expectUndefined(A.addSubExt(X, 0, 0, 0, 1, 2, A.EXT.UXTX, amt));
  expectUndefined((A.addSubExt(X, 0, 0, 0, 1, 2, A.EXT.UXTW) | (1 << 22)) >>> 0);
  expectUndefined((A.addSubExt(X, 0, 0, 0, 1, 2, A.EXT.UXTW) | (2 << 22)) >>> 0);
});

// ---- ADC / SBC -----------------------------------------------------------------------------------------

test("ADC/ADCS/SBC/SBCS: carry in, carry out across the halves", () => {
  // adcs x0, x1, x2 with C set: 0xffffffffffffffff + 0 + 1 = 0, C
  let r = run(A.addSubCarry(X, 0, 1, 0, 1, 2), st({ 1: MASK64, 2: 0n }, 0b0010));
  assert.equal(r.x[0], 0n);
  assert.equal(r.nzcv, 0b0110);
  // adc x0, x1, x2 with C set: carry propagates through the low half
  r = run(A.addSubCarry(X, 0, 0, 0, 1, 2), st({ 1: 0xffff_ffffn, 2: 0n }, 0b0010));
  assert.equal(r.x[0], 0x1_0000_0000n);
  assert.equal(r.nzcv, 0b0010, "ADC leaves flags alone");
  // sbcs x0, x1, x2 with C clear: 5 - 5 - 1 = -1, N, borrow
  r = run(A.addSubCarry(X, 1, 1, 0, 1, 2), st({ 1: 5n, 2: 5n }, 0));
  assert.equal(r.x[0], MASK64);
  assert.equal(r.nzcv, 0b1000);
  // ngc w0, w2 with C set = -w2
  r = run(A.addSubCarry(W, 1, 0, 0, 31, 2), st({ 0: MASK64, 2: 1n, 31: 55n }, 0b0010));
  assert.equal(r.x[0], 0xffff_ffffn);
});

test("ADC/ADCS/SBC/SBCS: random against AddWithCarry", () => {
  const r = rng(1004);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const n = sf ? 64 : 32;
    const f = { sf, op: r.int(2), s: r.int(2), d: r.int(32), n: r.int(32), m: r.int(32) };
    const s = randomState(r);
    let op2 = rd(s, f.m, n);
    if (f.op) op2 = ~op2 & mask(n);
    const { result, nzcv } = addWithCarry(rd(s, f.n, n), op2, (s.nzcv >> 1) & 1, n);
    const t = advanced(s);
    if (f.s) t.nzcv = nzcv;
    wr(t, f.d, result, n);
    expectSame(A.addSubCarry(f.sf, f.op, f.s, f.d, f.n, f.m), s, t, JSON.stringify(f));
  }
});

// ---- conditional compare -------------------------------------------------------------------------------

test("CCMP/CCMN: compare when the condition holds, else take #nzcv", () => {
  // ccmp x1, x2, #0b0010, eq with Z set: compares (equal: Z C)
  let r = run(A.condCmpReg(X, 1, 1, 2, 0b0010, A.COND.EQ), st({ 1: 3n, 2: 3n }, 0b0100));
  assert.equal(r.nzcv, 0b0110);
  // same with Z clear: flags = #nzcv
  r = run(A.condCmpReg(X, 1, 1, 2, 0b1001, A.COND.EQ), st({ 1: 3n, 2: 3n }, 0b0000));
  assert.equal(r.nzcv, 0b1001);
  // ccmn w1, #1, #0, al: w1 = -1, -1 + 1 = 0 with C
  r = run(A.condCmpImm(W, 0, 1, 1, 0, A.COND.AL), st({ 1: 0xffff_ffffn }, 0b1000));
  assert.equal(r.nzcv, 0b0110);
  // ccmp x1, #31, #0, nv (NV holds like AL)
  r = run(A.condCmpImm(X, 1, 1, 31, 0b1111, A.COND.NV), st({ 1: 31n }));
  assert.equal(r.nzcv, 0b0110);
});

test("CCMP/CCMN register and immediate: random against ConditionHolds and AddWithCarry", () => {
  const r = rng(1005);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const n = sf ? 64 : 32;
    const f = { sf, op: r.int(2), imm: r.int(2), rn: r.int(32), rm: r.int(32), nzcv: r.int(16), cond: r.int(16) };
    const s = randomState(r);
    const t = advanced(s);
    if (conditionHolds(f.cond, s.nzcv)) {
      let op2 = f.imm ? BigInt(f.rm) : rd(s, f.rm, n);
      if (f.op) op2 = ~op2 & mask(n);
      t.nzcv = addWithCarry(rd(s, f.rn, n), op2, f.op, n).nzcv;
    } else t.nzcv = f.nzcv;
    const word = f.imm ? A.condCmpImm(f.sf, f.op, f.rn, f.rm, f.nzcv, f.cond) : A.condCmpReg(f.sf, f.op, f.rn, f.rm, f.nzcv, f.cond);
    expectSame(word, s, t, JSON.stringify(f));
  }
});

test("conditional compare: S=0, o2=1 and o3=1 are undefined", () => {
  const w = A.condCmpReg(X, 1, 1, 2, 0, 0);
  expectUndefined((w & ~(1 << 29)) >>> 0);
  expectUndefined((w | (1 << 10)) >>> 0);
  expectUndefined((w | (1 << 4)) >>> 0);
  expectUndefined((A.condCmpImm(X, 1, 1, 2, 0, 0) | (1 << 4)) >>> 0);
});

// ---- conditional select --------------------------------------------------------------------------------

test("CSEL/CSINC/CSINV/CSNEG and their aliases", () => {
  const s = st({ 1: 10n, 2: 0xffff_ffffn }, 0b0100); // Z set
  assert.equal(run(A.condSel(X, 0, 0, 0, 1, 2, A.COND.EQ), s).x[0], 10n, "csel taken");
  assert.equal(run(A.condSel(X, 0, 0, 0, 1, 2, A.COND.NE), s).x[0], 0xffff_ffffn, "csel not taken");
  assert.equal(run(A.condSel(X, 0, 1, 0, 1, 2, A.COND.NE), s).x[0], 0x1_0000_0000n, "csinc carries into the high half");
  assert.equal(run(A.condSel(W, 0, 1, 0, 1, 2, A.COND.NE), s).x[0], 0n, "csinc w wraps");
  assert.equal(run(A.condSel(X, 1, 0, 0, 1, 2, A.COND.NE), s).x[0], 0xffff_ffff_0000_0000n, "csinv");
  assert.equal(run(A.condSel(X, 1, 1, 0, 1, 2, A.COND.NE), s).x[0], 0xffff_ffff_0000_0001n, "csneg");
  assert.equal(run(A.condSel(X, 0, 1, 0, 31, 31, A.COND.EQ), s).x[0], 0n, "cset x0, ne (Z set)");
  assert.equal(run(A.condSel(X, 0, 1, 0, 31, 31, A.COND.NE), s).x[0], 1n, "cset x0, eq (Z set)");
  assert.equal(run(A.condSel(W, 1, 0, 0, 31, 31, A.COND.NE), s).x[0], 0xffff_ffffn, "csetm w0, eq");
  assert.equal(run(A.condSel(X, 1, 1, 0, 31, 31, A.COND.NE), s).x[0], 0n, "cneg of zero");
  assert.equal(run(A.condSel(X, 1, 1, 0, 2, 2, A.COND.AL), s).x[0], 0xffff_ffffn, "csneg al selects Rn");
});

test("conditional select: random against ConditionHolds", () => {
  const r = rng(1006);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const n = sf ? 64 : 32;
    const f = { sf, op: r.int(2), o2: r.int(2), d: r.int(32), n: r.int(32), m: r.int(32), cond: r.int(16) };
    const s = randomState(r);
    const t = advanced(s);
    let v: bigint;
    if (conditionHolds(f.cond, s.nzcv)) v = rd(s, f.n, n);
    else {
      v = rd(s, f.m, n);
      if (f.op) v = ~v & mask(n);
      if (f.o2) v = (v + 1n) & mask(n);
    }
    wr(t, f.d, v, n);
    expectSame(A.condSel(f.sf, f.op, f.o2, f.d, f.n, f.m, f.cond), s, t, JSON.stringify(f));
  }
});

test("conditional select: S=1 and op2<1>=1 are undefined", () => {
  const w = A.condSel(X, 0, 0, 0, 1, 2, 0);
  expectUndefined((w | (1 << 29)) >>> 0);
  expectUndefined((w | (1 << 11)) >>> 0);
});

// ---- data processing (2 source) ------------------------------------------------------------------------

test("UDIV/SDIV: division by zero, INT_MIN / -1, rounding toward zero", () => {
  const div = (sf: number, signed: boolean, a: bigint, b: bigint) =>
    run(A.dp2(sf, signed ? A.DP2.SDIV : A.DP2.UDIV, 0, 1, 2), st({ 0: 0x5555n, 1: a, 2: b })).x[0];
  assert.equal(div(X, false, 100n, 0n), 0n);
  assert.equal(div(X, true, 100n, 0n), 0n);
  assert.equal(div(W, true, 100n, 0n), 0n);
  assert.equal(div(X, true, 1n << 63n, MASK64), 1n << 63n, "INT64_MIN / -1 = INT64_MIN");
  assert.equal(div(W, true, 0x8000_0000n, 0xffff_ffffn), 0x8000_0000n, "INT32_MIN / -1 = INT32_MIN");
  assert.equal(div(X, true, MASK64 - 6n, 2n), MASK64 - 2n, "-7 / 2 = -3");
  assert.equal(div(X, true, 7n, MASK64 - 1n), MASK64 - 2n, "7 / -2 = -3");
  assert.equal(div(W, true, 0xffff_fff9n, 2n), 0xffff_fffdn, "-7 / 2 = -3 (W)");
  assert.equal(div(X, false, MASK64, 1n), MASK64);
  assert.equal(div(X, false, MASK64, 3n), 0x5555_5555_5555_5555n);
  assert.equal(div(X, false, MASK64, 0x8000_0000_0000_0001n), 1n);
  assert.equal(div(X, false, 0x1_0000_0000n, 0xffff_ffffn), 1n);
  assert.equal(div(X, false, 0xfedc_ba98_7654_3210n, 0x1234_5678n), 0xfedc_ba98_7654_3210n / 0x1234_5678n);
  assert.equal(div(W, false, 0xffff_ffff_ffff_fffen, 0xffff_ffff_0000_0002n), 0x7fff_ffffn, "W reads only the low halves");
});

function refDp2(f: { sf: number; opc: number; d: number; n: number; m: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  const a = rd(s, f.n, n);
  const b = rd(s, f.m, n);
  let v: bigint;
  switch (f.opc) {
    case A.DP2.UDIV:
      v = b === 0n ? 0n : a / b;
      break;
    case A.DP2.SDIV:
      v = b === 0n ? 0n : sint(a, n) / sint(b, n); // BigInt division truncates toward zero
      break;
    case A.DP2.LSLV:
      v = shiftReg(a, 0, Number(b % BigInt(n)), n);
      break;
    case A.DP2.LSRV:
      v = shiftReg(a, 1, Number(b % BigInt(n)), n);
      break;
    case A.DP2.ASRV:
      v = shiftReg(a, 2, Number(b % BigInt(n)), n);
      break;
    case A.DP2.RORV:
      v = shiftReg(a, 3, Number(b % BigInt(n)), n);
      break;
    default: {
      const size = 8 << (f.opc & 3);
      v = crc32Ref(rd(s, f.n, 32), rd(s, f.m, 64), size, (f.opc & 4) !== 0);
      const t = advanced(s);
      wr(t, f.d, v, 32);
      return t;
    }
  }
  const t = advanced(s);
  wr(t, f.d, v & mask(n), n);
  return t;
}

test("UDIV/SDIV/LSLV/LSRV/ASRV/RORV/CRC32*: random against the pseudocode", () => {
  const r = rng(1007);
  const ops = Object.values(A.DP2);
  for (let i = 0; i < ITER * 2; i++) {
    const opc = ops[r.int(ops.length)];
    const crc = opc >= 0b010000;
    const sf = crc ? ((opc & 3) === 3 ? 1 : 0) : r.int(2);
    const f = { sf, opc, d: r.int(32), n: r.int(32), m: r.int(32) };
    const s = randomState(r);
    if (r.int(4) === 0) s.x[f.m] = [0n, 1n, MASK64, 1n << 63n, 0xffff_ffffn, 0x8000_0000n][r.int(6)];
    if (r.int(8) === 0) s.x[f.m] = r.u64() >> BigInt(r.int(64)); // divisors of every size
    expectSame(A.dp2(f.sf, f.opc, f.d, f.n, f.m), s, refDp2(f, s), JSON.stringify(f));
  }
});

test("CRC32/CRC32C: the standard check values", () => {
  // CRC-32 and CRC-32C of "123456789" with the usual initial value ~0 and final inversion (the instructions
  // themselves do neither).
  const text = Buffer.from("123456789");
  for (const [opc, want] of [
    [A.DP2.CRC32B, 0xcbf43926n],
    [A.DP2.CRC32CB, 0xe3069283n],
  ] as const) {
    let acc = 0xffff_ffffn;
    for (const byte of text) acc = run(A.dp2(W, opc, 0, 1, 2), st({ 1: acc, 2: BigInt(byte) | 0xffff_ff00n })).x[0];
    assert.equal(acc ^ 0xffff_ffffn, want);
  }
  // CRC32X over 8 bytes equals CRC32B byte by byte
  const v = 0x0123_4567_89ab_cdefn;
  let acc = 0x1234_5678n;
  for (let i = 0; i < 8; i++) acc = run(A.dp2(W, A.DP2.CRC32B, 0, 1, 2), st({ 1: acc, 2: v >> BigInt(8 * i) })).x[0];
  assert.equal(run(A.dp2(X, A.DP2.CRC32X, 0, 1, 2), st({ 1: 0x1234_5678n, 2: v })).x[0], acc);
});

test("2-source: unallocated opcodes, S=1 and CRC size/sf mismatches are undefined", () => {
  for (const opc of [0b000000, 0b000001, 0b000100, 0b000111, 0b001100, 0b001111, 0b011000, 0b100000, 0b111111])
    expectUndefined(A.dp2(X, opc, 0, 1, 2));
  expectUndefined(A.dp2(X, A.DP2.CRC32B, 0, 1, 2));
  expectUndefined(A.dp2(W, A.DP2.CRC32X, 0, 1, 2));
  expectUndefined(A.dp2(X, A.DP2.CRC32CW, 0, 1, 2));
  expectUndefined((A.dp2(X, A.DP2.UDIV, 0, 1, 2) | (1 << 29)) >>> 0);
});

// ---- data processing (1 source) ------------------------------------------------------------------------

test("RBIT/REV16/REV32/REV/CLZ/CLS: hand-derived cases", () => {
  const v = 0x0123_4567_89ab_cdefn;
  const one = (sf: number, opc: number, x: bigint) => run(A.dp1(sf, opc, 0, 1), st({ 0: MASK64, 1: x })).x[0];
  assert.equal(one(X, A.DP1.RBIT, 1n), 1n << 63n);
  assert.equal(one(W, A.DP1.RBIT, 1n), 0x8000_0000n);
  assert.equal(one(X, A.DP1.REV16, v), 0x2301_6745_ab89_efcdn);
  assert.equal(one(X, A.DP1.REV32, v), 0x6745_2301_efcd_ab89n);
  assert.equal(one(X, A.DP1.REV, v), 0xefcd_ab89_6745_2301n);
  assert.equal(one(W, 2, v), 0xefcd_ab89n, "REV Wd");
  assert.equal(one(W, A.DP1.REV16, v), 0xab89_efcdn);
  assert.equal(one(X, A.DP1.CLZ, 0n), 64n);
  assert.equal(one(X, A.DP1.CLZ, 1n), 63n);
  assert.equal(one(X, A.DP1.CLZ, 0x1_0000_0000n), 31n);
  assert.equal(one(W, A.DP1.CLZ, 0x1_0000_0000n), 32n);
  assert.equal(one(X, A.DP1.CLS, 0n), 63n);
  assert.equal(one(X, A.DP1.CLS, MASK64), 63n);
  assert.equal(one(X, A.DP1.CLS, 1n << 63n), 0n);
  assert.equal(one(X, A.DP1.CLS, 0xffff_ffff_7fff_ffffn), 31n);
  assert.equal(one(X, A.DP1.CLS, 0xffff_ffff_ffff_ffffn >> 1n), 0n);
  assert.equal(one(W, A.DP1.CLS, 0xffff_ffffn), 31n);
  assert.equal(one(W, A.DP1.CLS, 0x0000_ffffn), 15n);
});

test("1-source: random against the pseudocode", () => {
  const r = rng(1008);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const n = sf ? 64 : 32;
    const choices = sf ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 4, 5]; // W: opcode 2 is REV, 3 is unallocated
    const op = choices[r.int(choices.length)];
    const d = r.int(32);
    const nreg = r.int(32);
    const s = randomState(r);
    const x = rd(s, nreg, n);
    let v: bigint;
    switch (op) {
      case 0:
        v = bitReverse(x, n);
        break;
      case 1:
        v = byteSwapChunks(x, 16, n);
        break;
      case 2:
        v = byteSwapChunks(x, 32, n);
        break;
      case 3:
        v = byteSwapChunks(x, 64, n);
        break;
      case 4:
        v = BigInt(clz(x, n));
        break;
      default:
        v = BigInt(cls(x, n));
    }
    const t = advanced(s);
    wr(t, d, v, n);
    expectSame(A.dp1(sf, op, d, nreg), s, t, `sf=${sf} op=${op} d=${d} n=${nreg}`);
  }
});

test("1-source: REV with sf=0 opcode 3, PAC (opcode2=1), opcodes >= 6 and S=1 are undefined", () => {
  expectUndefined(A.dp1(W, 3, 0, 1));
  for (const opc of [6, 7, 8, 16, 63]) expectUndefined(A.dp1(X, opc, 0, 1));
  expectUndefined((A.dp1(X, 0, 0, 1) | (1 << 16)) >>> 0); // PACIA
  expectUndefined((A.dp1(X, 0, 0, 1) | (1 << 29)) >>> 0);
});

// ---- data processing (3 source) ------------------------------------------------------------------------

test("MADD/MSUB/SMADDL/UMADDL/SMULH/UMULH: hand-derived cases", () => {
  const mul = (sf: number, op: readonly [number, number], a: bigint, b: bigint, c: bigint) =>
    run(A.dp3(sf, op, 0, 1, 2, 3), st({ 0: 0x5555n, 1: a, 2: b, 3: c })).x[0];
  assert.equal(mul(X, A.DP3.MADD, 0xffff_ffffn, 0xffff_ffffn, 1n), 0xffff_fffe_0000_0002n);
  assert.equal(mul(X, A.DP3.MADD, MASK64, MASK64, 0n), 1n);
  assert.equal(mul(X, A.DP3.MSUB, 3n, 4n, 10n), MASK64 - 1n);
  assert.equal(mul(W, A.DP3.MADD, 0x1_0001_0000n, 0x1_0000n, 5n), 5n, "W: (2^16)^2 wraps to 0");
  assert.equal(mul(X, A.DP3.SMADDL, 0xffff_ffffn, 0xffff_ffffn, 0n), 1n, "-1 * -1");
  assert.equal(mul(X, A.DP3.UMADDL, 0xffff_ffffn, 0xffff_ffffn, 0n), 0xffff_fffe_0000_0001n);
  assert.equal(mul(X, A.DP3.SMSUBL, 0x8000_0000n, 0x8000_0000n, 0n), (-(1n << 62n)) & MASK64);
  assert.equal(mul(X, A.DP3.UMSUBL, 2n, 3n, 0n), MASK64 - 5n);
  assert.equal(mul(X, A.DP3.UMULH, MASK64, MASK64, 0n), MASK64 - 1n);
  assert.equal(mul(X, A.DP3.SMULH, MASK64, MASK64, 0n), 0n);
  assert.equal(mul(X, A.DP3.SMULH, 1n << 63n, 1n << 63n, 0n), 1n << 62n);
  assert.equal(mul(X, A.DP3.SMULH, 1n << 63n, 1n, 0n), MASK64);
  // mul x0, x1, xzr and Ra = XZR
  assert.equal(run(A.dp3(X, A.DP3.MADD, 0, 1, 31, 31), st({ 1: 5n, 31: 9n })).x[0], 0n);
});

function refDp3(f: { sf: number; op: readonly [number, number]; d: number; n: number; m: number; a: number }, s: State): State {
  const t = advanced(s);
  const [op31, o0] = f.op;
  if (op31 === 0) {
    const n = f.sf ? 64 : 32;
    const p = rd(s, f.n, n) * rd(s, f.m, n);
    const v = o0 ? rd(s, f.a, n) - p : rd(s, f.a, n) + p;
    wr(t, f.d, v & mask(n), n);
  } else if (op31 === 0b010 || op31 === 0b110) {
    const signed = op31 === 0b010;
    const a = signed ? sint(rd(s, f.n, 64), 64) : rd(s, f.n, 64);
    const b = signed ? sint(rd(s, f.m, 64), 64) : rd(s, f.m, 64);
    wr(t, f.d, ((a * b) >> 64n) & MASK64, 64);
  } else {
    const signed = op31 === 0b001;
    const a = signed ? sint(rd(s, f.n, 32), 32) : rd(s, f.n, 32);
    const b = signed ? sint(rd(s, f.m, 32), 32) : rd(s, f.m, 32);
    const v = o0 ? rd(s, f.a, 64) - a * b : rd(s, f.a, 64) + a * b;
    wr(t, f.d, v & MASK64, 64);
  }
  return t;
}

test("3-source: random against the pseudocode", () => {
  const r = rng(1009);
  const ops = Object.values(A.DP3);
  for (let i = 0; i < ITER * 2; i++) {
    const op = ops[r.int(ops.length)];
    const sf = op[0] === 0 ? r.int(2) : 1;
    const f = { sf, op, d: r.int(32), n: r.int(32), m: r.int(32), a: r.int(32) };
    const s = randomState(r);
    expectSame(A.dp3(f.sf, f.op, f.d, f.n, f.m, f.a), s, refDp3(f, s), JSON.stringify(f));
  }
});

test("3-source: 32-bit long/high forms, op54 != 0, unallocated op31 and SMULH/UMULH with o0=1 are undefined", () => {
  for (const op of [A.DP3.SMADDL, A.DP3.UMSUBL, A.DP3.SMULH, A.DP3.UMULH]) expectUndefined(A.dp3(W, op, 0, 1, 2, 3));
  for (const op31 of [0b011, 0b100, 0b111]) expectUndefined(A.dp3(X, [op31, 0], 0, 1, 2, 3));
  expectUndefined(A.dp3(X, [0b010, 1], 0, 1, 2, 31));
  expectUndefined(A.dp3(X, [0b110, 1], 0, 1, 2, 31));
  expectUndefined((A.dp3(X, A.DP3.MADD, 0, 1, 2, 3) | (1 << 29)) >>> 0);
  expectUndefined((A.dp3(X, A.DP3.MADD, 0, 1, 2, 3) | (1 << 30)) >>> 0);
});

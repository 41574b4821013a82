// Data processing (immediate): ADR/ADRP, ADD/SUB(S) immediate, logical immediate, move wide, bitfield, EXTR.
// Hand-derived cases from the Arm ARM pseudocode, then thousands of random operands against the BigInt model.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE } from "./harness.js";
import * as A from "./dp-asm.js";
import {
  MASK64,
  addWithCarry,
  advanced,
  cloneState,
  decodeBitMasks,
  execute,
  executeAt,
  expectSame,
  expectUndefined,
  mask,
  randomState,
  rd,
  rng,
  ror,
  wr,
  type State,
} from "./dp-ref.js";

const W = 0;
const X = 1;
const ITER = 3000;

/** A zeroed state with some registers set. */
function st(regs: Record<number, bigint> = {}, nzcv = 0): State {
  const x = new Array<bigint>(32).fill(0n);
  for (const [k, v] of Object.entries(regs)) x[Number(k)] = v & MASK64;
  return { x, nzcv, pc: BigInt(CODE) };
}
function run(word: number, s: State): State {
  return execute(word, s);
}

// ---- ADR / ADRP ----------------------------------------------------------------------------------------

test("ADR adds a signed 21-bit byte offset to the instruction's address", () => {
  assert.equal(run(A.adr(0, 0x20), st()).x[0], BigInt(CODE + 0x20));
  assert.equal(run(A.adr(5, -1), st()).x[5], BigInt(CODE - 1));
  assert.equal(run(A.adr(1, 0xfffff), st()).x[1], BigInt(CODE + 0xfffff)); // the largest forward offset
  assert.equal(run(A.adr(1, -0x100000), st()).x[1], BigInt(CODE - 0x100000));
  // ADR Rd=31 is XZR: SP is untouched.
  const s = st({ 31: 0x1234n });
  assert.equal(run(A.adr(31, 8), s).x[31], 0x1234n);
});

test("ADRP adds a page offset to the instruction's page; carries and borrows cross the 32-bit halves", () => {
  assert.equal(run(A.adrp(0, 0), st()).x[0], BigInt(CODE & ~0xfff));
  assert.equal(run(A.adrp(0, 0x3000), st()).x[0], BigInt((CODE & ~0xfff) + 0x3000));
  assert.equal(run(A.adrp(0, -0x40000000), st()).x[0], 0x1000n);
  const cases: [bigint, number, bigint][] = [
    [0xfffff123n, 0x1000, 0x100000000n],
    [0x1_00000abcn, -0x1000, 0xfffff000n],
    [0x80000000n, 0x7ffff000, 0xfffff000n],
    [0xffffffff_fffff000n, 0x1000, 0n], // wraps at 2^64
    [0x12_3456789an, -0x100000000, 0x11_34567000n], // -4 GiB, the smallest offset
    [0x12_3456789an, 0xfffff000, 0x13_34566000n], // the largest offset
  ];
  for (const [pc, off, want] of cases) assert.equal(executeAt(A.adrp(3, off), pc, st()).x[3], want, `adrp at 0x${pc.toString(16)} +${off}`);
  assert.equal(executeAt(A.adr(3, -4), 0x1_00000000n, st()).x[3], 0xfffffffcn);
  assert.equal(executeAt(A.adr(3, 0x10), 0xfffffff8n, st()).x[3], 0x1_00000008n);
});

// ---- ADD/SUB immediate ---------------------------------------------------------------------------------

test("ADD/SUB immediate: hand-derived values and flags", () => {
  // adds x0, x1, #1 with x1 = 0xffffffff: carry into the high half, no flags but none set.
  let r = run(A.addsImm(X, 0, 1, 1), st({ 1: 0xffffffffn }));
  assert.equal(r.x[0], 0x1_00000000n);
  assert.equal(r.nzcv, 0b0000);
  // adds x0, x1, #1 with x1 = 2^64 - 1: result 0, Z and C.
  r = run(A.addsImm(X, 0, 1, 1), st({ 1: MASK64 }));
  assert.equal(r.x[0], 0n);
  assert.equal(r.nzcv, 0b0110);
  // adds x0, x1, #1 with x1 = INT64_MAX: N and V.
  r = run(A.addsImm(X, 0, 1, 1), st({ 1: 0x7fffffffffffffffn }));
  assert.equal(r.x[0], 0x8000000000000000n);
  assert.equal(r.nzcv, 0b1001);
  // subs x0, x1, #1 with x1 = INT64_MIN: V and C (no borrow).
  r = run(A.subsImm(X, 0, 1, 1), st({ 1: 0x8000000000000000n }));
  assert.equal(r.x[0], 0x7fffffffffffffffn);
  assert.equal(r.nzcv, 0b0011);
  // cmp x1, #0 with x1 = 0: Z and C (subtracting 0 never borrows).
  r = run(A.subsImm(X, 31, 1, 0), st({ 1: 0n, 31: 0x5000n }));
  assert.equal(r.nzcv, 0b0110);
  assert.equal(r.x[31], 0x5000n, "CMP does not write SP");
  // subs w0, w1, #1 with w1 = 0: N, borrow (C clear); upper half of x0 zero.
  r = run(A.subsImm(W, 0, 1, 1), st({ 0: MASK64, 1: 0xabcdef00_00000000n }));
  assert.equal(r.x[0], 0xffffffffn);
  assert.equal(r.nzcv, 0b1000);
  // adds w0, w1, #1 with w1 = INT32_MAX: N and V in 32 bits only.
  r = run(A.addsImm(W, 0, 1, 1), st({ 1: 0x7fffffffn }));
  assert.equal(r.x[0], 0x80000000n);
  assert.equal(r.nzcv, 0b1001);
  // add x0, x1, #0xfff, lsl #12
  r = run(A.addImm(X, 0, 1, 0xfff, 1), st({ 1: 0xffffffff_fff00000n }));
  assert.equal(r.x[0], 0xeff000n, "carry out of the high half is dropped");
  // sub x0, x1, #1 borrows across the halves.
  assert.equal(run(A.subImm(X, 0, 1, 1), st({ 1: 0x1_00000000n })).x[0], 0xffffffffn);
  // W forms zero-extend.
  assert.equal(run(A.addImm(W, 0, 1, 1), st({ 1: 0xffffffff_ffffffffn })).x[0], 0n);
});

test("ADD/SUB immediate: register 31 is SP for Rn and Rd, XZR for the flag-setting Rd", () => {
  // mov sp, x1 / mov x1, sp
  assert.equal(run(A.addImm(X, 31, 1, 0), st({ 1: 0x1234_5678_9abc_def0n })).x[31], 0x1234_5678_9abc_def0n);
  assert.equal(run(A.addImm(X, 1, 31, 0), st({ 31: 0xfedcn })).x[1], 0xfedcn);
  // sub sp, sp, #0x10 and add wsp, wsp, #1 (zero-extends SP)
  assert.equal(run(A.subImm(X, 31, 31, 0x10), st({ 31: 0x40010000n })).x[31], 0x4000fff0n);
  assert.equal(run(A.addImm(W, 31, 31, 1), st({ 31: 0x1_ffffffffn })).x[31], 0n);
  // adds x0, sp, #8 reads SP
  assert.equal(run(A.addsImm(X, 0, 31, 8), st({ 31: 0x100n })).x[0], 0x108n);
  // cmn sp, #1 with SP = -1: Z and C; SP unchanged
  const r = run(A.addsImm(X, 31, 31, 1), st({ 31: MASK64 }));
  assert.equal(r.nzcv, 0b0110);
  assert.equal(r.x[31], MASK64);
});

function refAddSubImm(f: { sf: number; op: number; s: number; rd: number; rn: number; imm: number; sh: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  const t = advanced(s);
  const a = rd(s, f.rn, n, true);
  let b = BigInt(f.imm) << BigInt(f.sh * 12);
  let cin = 0;
  if (f.op) {
    b = ~b & mask(n);
    cin = 1;
  }
  const { result, nzcv } = addWithCarry(a, b, cin, n);
  if (f.s) t.nzcv = nzcv;
  wr(t, f.rd, result, n, !f.s);
  return t;
}

test("ADD/ADDS/SUB/SUBS immediate: random operands against AddWithCarry", () => {
  const r = rng(101);
  for (let i = 0; i < ITER; i++) {
    const f = { sf: r.int(2), op: r.int(2), s: r.int(2), rd: r.int(32), rn: r.int(32), imm: r.int(4096), sh: r.int(2) };
    if (r.int(4) === 0) f.imm = [0, 1, 0xfff, 0x800][r.int(4)];
    const s = randomState(r);
    expectSame(A.addSubImm(f.sf, f.op, f.s, f.rd, f.rn, f.imm, f.sh), s, refAddSubImm(f, s), JSON.stringify(f));
  }
});

// ---- logical immediate ---------------------------------------------------------------------------------

test("logical immediate: bitmask values and ANDS flags", () => {
  let r = run(A.logImm(X, 0, 0, 1, 0xffn), st({ 1: 0x1234_5678_9abc_def0n }));
  assert.equal(r.x[0], 0xf0n);
  r = run(A.logImm(X, 1, 0, 1, 0x5555555555555555n), st({ 1: 0xa0n }));
  assert.equal(r.x[0], 0x55555555555555f5n);
  r = run(A.logImm(X, 2, 0, 1, 0x8000000000000000n), st({ 1: MASK64 }));
  assert.equal(r.x[0], 0x7fffffffffffffffn);
  r = run(A.logImm(W, 2, 0, 1, 0xffff0000n), st({ 1: 0xdead_beef_0000_1234n }));
  assert.equal(r.x[0], 0xffff1234n, "W result is zero-extended");
  // ands x0, x1, #0x8000000000000000: N set, C and V cleared
  r = run(A.logImm(X, 3, 0, 1, 0x8000000000000000n), st({ 1: MASK64 }, 0b0011));
  assert.equal(r.nzcv, 0b1000);
  // tst w1, #1 with w1 even: Z
  r = run(A.logImm(W, 3, 31, 1, 1n), st({ 1: 0xfffffffe_fffffffen, 31: 77n }, 0b1011));
  assert.equal(r.nzcv, 0b0100);
  assert.equal(r.x[31], 77n, "TST does not write SP");
  // mov sp, #0x40000000 is ORR SP, XZR, #imm (Rd = SP, Rn = XZR)
  r = run(A.logImm(X, 1, 31, 31, 0x40000000n), st({ 31: 0x1111n }));
  assert.equal(r.x[31], 0x40000000n);
  // and x0, xzr, #imm = 0 (Rn reads as zero even though SP is nonzero)
  assert.equal(run(A.logImm(X, 0, 0, 31, 0xffn), st({ 0: 5n, 31: 0xffn })).x[0], 0n);
});

test("logical immediate: reserved bitmask encodings and sf=0 with N=1 are undefined", () => {
  expectUndefined(A.logImmRaw(X, 0, 0, 1, 1, 0, 0x3f)); // N=1, S=all ones
  expectUndefined(A.logImmRaw(X, 1, 0, 1, 0, 0, 0x3f)); // len < 1
  expectUndefined(A.logImmRaw(X, 1, 0, 1, 0, 0, 0x3e)); // len < 1 as well (immN:NOT(imms) = 1)
  expectUndefined(A.logImmRaw(X, 2, 0, 1, 0, 0, 0x3d)); // esize 2, S = levels
  expectUndefined(A.logImmRaw(X, 3, 0, 1, 0, 5, 0x1f)); // esize 32, S = 31
  expectUndefined(A.logImmRaw(W, 0, 0, 1, 1, 0, 0)); // 32-bit with N=1
});

function refLogicalImm(f: { sf: number; opc: number; rd: number; rn: number; n: number; immr: number; imms: number }, s: State): State | undefined {
  const n = f.sf ? 64 : 32;
  if (f.sf === 0 && f.n === 1) return undefined;
  const m = decodeBitMasks(f.n, f.imms, f.immr, true, n);
  if (!m) return undefined;
  const t = advanced(s);
  const a = rd(s, f.rn, n);
  const imm = m.wmask;
  const result = [a & imm, a | imm, a ^ imm, a & imm][f.opc];
  if (f.opc === 3) t.nzcv = (Number(result >> BigInt(n - 1)) << 3) | (result === 0n ? 4 : 0);
  wr(t, f.rd, result, n, f.opc !== 3);
  return t;
}

test("logical immediate: every N:immr:imms (random registers) against DecodeBitMasks", () => {
  const r = rng(202);
  for (const sf of [W, X])
    for (let n = 0; n < 2; n++)
      for (let imms = 0; imms < 64; imms++)
        for (let immr = 0; immr < 64; immr += 1 + r.int(7)) {
          const f = { sf, opc: r.int(4), rd: r.int(32), rn: r.int(32), n, immr, imms };
          const word = A.logImmRaw(f.sf, f.opc, f.rd, f.rn, f.n, f.immr, f.imms);
          const s = randomState(r);
          const want = refLogicalImm(f, s);
          if (!want) expectUndefined(word);
          else expectSame(word, s, want, JSON.stringify(f));
        }
});

// ---- move wide -----------------------------------------------------------------------------------------

test("MOVZ/MOVN/MOVK: values, W zero-extension, XZR destination", () => {
  assert.equal(run(A.movz(X, 0, 0x1234, 3), st({ 0: MASK64 })).x[0], 0x1234_0000_0000_0000n);
  assert.equal(run(A.movn(X, 0, 0, 0), st()).x[0], MASK64);
  assert.equal(run(A.movn(X, 0, 0x1234, 2), st()).x[0], 0xffffedcb_ffffffffn);
  assert.equal(run(A.movn(W, 0, 0x1234, 1), st({ 0: MASK64 })).x[0], 0xedcbffffn);
  assert.equal(run(A.movk(X, 0, 0xbeef, 2), st({ 0: 0x1111_2222_3333_4444n })).x[0], 0x1111_beef_3333_4444n);
  assert.equal(run(A.movk(X, 0, 0xbeef, 0), st({ 0: 0x1111_2222_3333_4444n })).x[0], 0x1111_2222_3333_beefn);
  assert.equal(run(A.movk(W, 0, 0xbeef, 1), st({ 0: 0x1111_2222_3333_4444n })).x[0], 0xbeef_4444n, "MOVK W clears the top half");
  assert.equal(run(A.movz(X, 31, 0x1234), st({ 31: 0x8000n })).x[31], 0x8000n, "Rd=31 is XZR, not SP");
});

test("move wide: opc=01 and 32-bit hw>=2 are undefined", () => {
  expectUndefined(A.moveWide(X, 1, 0, 0x1234, 0));
  expectUndefined(A.movz(W, 0, 1, 2));
  expectUndefined(A.movn(W, 0, 1, 3));
  expectUndefined(A.movk(W, 0, 1, 2));
});

test("MOVZ/MOVN/MOVK: random against the pseudocode", () => {
  const r = rng(303);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const opc = [0, 2, 3][r.int(3)];
    const hw = sf ? r.int(4) : r.int(2);
    const imm16 = r.int(3) === 0 ? [0, 0xffff, 0x8000][r.int(3)] : r.int(0x10000);
    const d = r.int(32);
    const s = randomState(r);
    const n = sf ? 64 : 32;
    const t = advanced(s);
    const pos = BigInt(hw * 16);
    let v: bigint;
    if (opc === 3) v = (rd(s, d, n) & ~(0xffffn << pos)) | (BigInt(imm16) << pos);
    else v = BigInt(imm16) << pos;
    if (opc === 0) v = ~v;
    wr(t, d, v, n);
    expectSame(A.moveWide(sf, opc, d, imm16, hw), s, t, `opc=${opc} sf=${sf} hw=${hw} imm=${imm16} rd=${d}`);
  }
});

// ---- bitfield ------------------------------------------------------------------------------------------

test("bitfield aliases: hand-derived results", () => {
  const v = 0x8123_4567_89ab_cdefn;
  const cases: [string, number, bigint][] = [
    ["lsl x0, x1, #4", A.ubfm(X, 0, 1, 60, 59), 0x1234_5678_9abc_def0n],
    ["lsl x0, x1, #63", A.ubfm(X, 0, 1, 1, 0), 0x8000_0000_0000_0000n],
    ["lsr x0, x1, #63", A.ubfm(X, 0, 1, 63, 63), 1n],
    ["lsr x0, x1, #32", A.ubfm(X, 0, 1, 32, 63), 0x8123_4567n],
    ["asr x0, x1, #36", A.sbfm(X, 0, 1, 36, 63), 0xffff_ffff_f812_3456n],
    ["asr x0, x1, #0", A.sbfm(X, 0, 1, 0, 63), v],
    ["asr w0, w1, #4", A.sbfm(W, 0, 1, 4, 31), 0xf89a_bcden],
    ["lsl w0, w1, #8", A.ubfm(W, 0, 1, 24, 23), 0xabcd_ef00n],
    ["lsr w0, w1, #31", A.ubfm(W, 0, 1, 31, 31), 1n],
    ["sxtb x0, w1", A.sbfm(X, 0, 1, 0, 7), 0xffff_ffff_ffff_ffefn],
    ["sxth x0, w1", A.sbfm(X, 0, 1, 0, 15), 0xffff_ffff_ffff_cdefn],
    ["sxtw x0, w1", A.sbfm(X, 0, 1, 0, 31), 0xffff_ffff_89ab_cdefn],
    ["sxtb w0, w1", A.sbfm(W, 0, 1, 0, 7), 0xffff_ffefn],
    ["uxtb w0, w1", A.ubfm(W, 0, 1, 0, 7), 0xefn],
    ["uxth w0, w1", A.ubfm(W, 0, 1, 0, 15), 0xcdefn],
    ["ubfx x0, x1, #60, #4", A.ubfm(X, 0, 1, 60, 63), 8n],
    ["ubfx x0, x1, #28, #8", A.ubfm(X, 0, 1, 28, 35), 0x78n],
    ["sbfx x0, x1, #28, #8", A.sbfm(X, 0, 1, 28, 35), 0x78n],
    ["sbfx x0, x1, #4, #8", A.sbfm(X, 0, 1, 4, 11), 0xffff_ffff_ffff_ffden],
    ["ubfiz x0, x1, #32, #8", A.ubfm(X, 0, 1, 32, 7), 0xef_0000_0000n],
    ["sbfiz x0, x1, #56, #8", A.sbfm(X, 0, 1, 8, 7), 0xef00_0000_0000_0000n],
    ["sbfiz w0, w1, #4, #4", A.sbfm(W, 0, 1, 28, 3), 0xffff_fff0n],
  ];
  for (const [name, word, want] of cases) assert.equal(run(word, st({ 0: 0x5555n, 1: v })).x[0], want, name);
  // BFI/BFXIL keep the other destination bits.
  const d = 0xffff_ffff_ffff_ffffn;
  assert.equal(run(A.bfm(X, 0, 1, 60, 7), st({ 0: d, 1: v })).x[0], 0xffff_ffff_ffff_feffn, "bfi x0, x1, #4, #8");
  assert.equal(run(A.bfm(X, 0, 1, 32, 47), st({ 0: 0n, 1: v })).x[0], 0x4567n, "bfxil x0, x1, #32, #16");
  assert.equal(run(A.bfm(X, 0, 31, 60, 7), st({ 0: d, 1: v })).x[0], 0xffff_ffff_ffff_f00fn, "bfc x0, #4, #8");
  assert.equal(run(A.bfm(W, 0, 1, 0, 7), st({ 0: d, 1: v })).x[0], 0xffff_ffefn, "bfxil w0, w1 zero-extends");
});

test("bitfield: N != sf and 32-bit immr/imms >= 32 are undefined; opc=11 is undefined", () => {
  expectUndefined(A.bitfield(X, 2, 0, 1, 0, 0, 0));
  expectUndefined(A.bitfield(W, 2, 0, 1, 0, 0, 1));
  expectUndefined(A.ubfm(W, 0, 1, 32, 0));
  expectUndefined(A.ubfm(W, 0, 1, 0, 32));
  expectUndefined(A.bitfield(X, 3, 0, 1, 0, 0));
});

function refBitfield(f: { sf: number; opc: number; rd: number; rn: number; immr: number; imms: number }, s: State): State {
  const n = f.sf ? 64 : 32;
  const m = decodeBitMasks(f.sf, f.imms, f.immr, false, n)!;
  const inzero = f.opc !== 1;
  const extend = f.opc === 0;
  const dst = inzero ? 0n : rd(s, f.rd, n);
  const src = rd(s, f.rn, n);
  const full = mask(n);
  const bot = (dst & ~m.wmask & full) | (ror(src, f.immr, n) & m.wmask);
  const top = extend ? ((src >> BigInt(f.imms)) & 1n ? full : 0n) : dst;
  const t = advanced(s);
  wr(t, f.rd, (top & ~m.tmask & full) | (bot & m.tmask), n);
  return t;
}

test("SBFM/BFM/UBFM: all immr/imms pairs against the pseudocode", () => {
  const r = rng(404);
  for (const sf of [W, X]) {
    const size = sf ? 64 : 32;
    for (let immr = 0; immr < size; immr++)
      for (let imms = 0; imms < size; imms++) {
        if (r.int(3) !== 0 && imms !== size - 1 && immr !== 0) continue; // a third of the pairs, all edges
        const f = { sf, opc: r.int(3), rd: r.int(32), rn: r.int(32), immr, imms };
        const s = randomState(r);
        expectSame(A.bitfield(f.sf, f.opc, f.rd, f.rn, f.immr, f.imms), s, refBitfield(f, s), JSON.stringify(f));
      }
  }
});

// ---- EXTR ----------------------------------------------------------------------------------------------

test("EXTR and ROR (immediate)", () => {
  assert.equal(run(A.extr(X, 0, 1, 2, 16), st({ 1: 0x1111_2222_3333_4444n, 2: 0xaaaa_bbbb_cccc_ddddn })).x[0], 0x4444_aaaa_bbbb_ccccn);
  assert.equal(run(A.extr(X, 0, 1, 1, 4), st({ 1: 0x0123_4567_89ab_cdefn })).x[0], 0xf012_3456_789a_bcden, "ror #4");
  assert.equal(run(A.extr(X, 0, 1, 2, 0), st({ 1: 5n, 2: 7n })).x[0], 7n, "lsb 0 is Xm");
  assert.equal(run(A.extr(X, 0, 1, 2, 32), st({ 1: 0x1111_2222_3333_4444n, 2: 0xaaaa_bbbb_cccc_ddddn })).x[0], 0x3333_4444_aaaa_bbbbn);
  assert.equal(run(A.extr(X, 0, 1, 2, 48), st({ 1: 0x1111_2222_3333_4444n, 2: 0xaaaa_bbbb_cccc_ddddn })).x[0], 0x2222_3333_4444_aaaan);
  assert.equal(run(A.extr(W, 0, 1, 2, 8), st({ 1: 0xffff_ffff_1122_3344n, 2: 0xffff_ffff_aabb_ccddn })).x[0], 0x44aa_bbccn);
  expectUndefined(A.extr(X, 0, 1, 2, 3, 0)); // N != sf
  expectUndefined(A.extr(W, 0, 1, 2, 32)); // imms >= 32 in 32-bit
  expectUndefined((A.extr(X, 0, 1, 2, 3) | (1 << 21)) >>> 0); // o0 = 1
  expectUndefined((A.extr(X, 0, 1, 2, 3) | (1 << 29)) >>> 0); // op21 != 00
});

test("EXTR: random against the pseudocode", () => {
  const r = rng(505);
  for (let i = 0; i < ITER; i++) {
    const sf = r.int(2);
    const n = sf ? 64 : 32;
    const f = { d: r.int(32), rn: r.int(32), rm: r.int(32), lsb: r.int(n) };
    if (r.int(4) === 0) f.rm = f.rn;
    const s = randomState(r);
    const concat = (rd(s, f.rn, n) << BigInt(n)) | rd(s, f.rm, n);
    const t = advanced(s);
    wr(t, f.d, (concat >> BigInt(f.lsb)) & mask(n), n);
    expectSame(A.extr(sf, f.d, f.rn, f.rm, f.lsb), s, t, `sf=${sf} ${JSON.stringify(f)}`);
  }
});

test("ADR/ADRP: random offsets and addresses against the pseudocode", () => {
  const r = rng(606);
  for (let i = 0; i < 500; i++) {
    const s = randomState(r);
    const pc = r.u64() & ~3n;
    const page = r.bool();
    const off = page ? (r.int(1 << 21) - (1 << 20)) * 4096 : r.int(1 << 21) - (1 << 20);
    const word = page ? A.adrp(r.int(32), off) : A.adr(r.int(32), off);
    const d = word & 31;
    const t = cloneState(s);
    t.pc = (pc + 4n) & MASK64;
    const base = page ? pc & ~0xfffn : pc;
    wr(t, d, (base + BigInt(off)) & MASK64, 64);
    const got = executeAt(word, pc, s);
    assert.deepEqual(got, t, `${page ? "adrp" : "adr"} x${d}, ${off} at 0x${pc.toString(16)}`);
  }
});

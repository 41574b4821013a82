// Scalar FP instructions against qemu-aarch64: random operands from ./fp-gen.ts (NaNs with payloads, denormals,
// boundary values, related operand pairs) under random FPCR rounding mode, FZ and DN; results, FPSR cumulative
// flags and NZCV must agree.

import { test } from "node:test";
import assert from "node:assert/strict";
import { a64OracleUnavailable, assertSameAsOracle, type A64Case } from "../helpers/a64-oracle.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";
import { D, Gen, H, S, fpCase, type Format } from "./fp-gen.js";

const skip = a64OracleUnavailable();
const decoder = a64Decoder();
const describe = (c: A64Case) => decoder.disassemble(c.insn);

/** Every case must be an instruction Rewind decodes (so that agreeing on UNDEFINED cannot pass a test), then
 * agree with qemu-aarch64. */
function check(cases: A64Case[]): void {
  const bad = cases.find((c) => decoder.decode(c.insn) === undefined);
  assert.equal(bad && bad.insn.toString(16), undefined, "an instruction word Rewind does not decode");
  assertSameAsOracle(cases, { describe });
}
const fmtOf = (ftype: number): Format => (ftype === 0 ? S : ftype === 1 ? D : H);
const reg = (g: Gen) => g.int(8);
const COUNT = Number(process.env.FP_ORACLE_CASES ?? 2000);

test("oracle: FADD FSUB FMUL FDIV FNMUL FMAX FMIN FMAXNM FMINNM (S, D)", { skip }, () => {
  const g = new Gen(101);
  const cases: A64Case[] = [];
  for (let op = 0; op <= 8; op++)
    for (const ftype of [0, 1])
      for (let i = 0; i < COUNT; i++) {
        const rd = reg(g), rn = reg(g), rm = reg(g);
        const insn = 0x1e200800 | (ftype << 22) | (rm << 16) | (op << 12) | (rn << 5) | rd;
        cases.push(fpCase(g, insn, fmtOf(ftype), { rel: [rn, rm] }));
      }
  check(cases);
});

test("oracle: FMADD FMSUB FNMADD FNMSUB (S, D)", { skip }, () => {
  const g = new Gen(102);
  const cases: A64Case[] = [];
  for (let op = 0; op < 4; op++)
    for (const ftype of [0, 1])
      for (let i = 0; i < COUNT; i++) {
        const rd = reg(g), rn = reg(g), rm = reg(g), ra = reg(g);
        const insn = 0x1f000000 | (ftype << 22) | ((op >> 1) << 21) | (rm << 16) | ((op & 1) << 15) | (ra << 10) | (rn << 5) | rd;
        cases.push(fpCase(g, insn, fmtOf(ftype), { rel: g.int(2) ? [rn, ra] : [rn, rm] }));
      }
  check(cases);
});

test("oracle: FABS FNEG FSQRT FRINT{N,P,M,Z,A,X,I} FCVT (S, D, H)", { skip }, () => {
  const g = new Gen(103);
  const cases: A64Case[] = [];
  const ops: [number, number][] = [];
  for (const ftype of [0, 1]) for (const op of [1, 2, 3, 8, 9, 10, 11, 12, 14, 15]) ops.push([ftype, op]);
  ops.push([0, 5], [0, 7], [1, 4], [1, 7], [3, 4], [3, 5]);
  for (const [ftype, op] of ops)
    for (let i = 0; i < COUNT; i++) {
      const insn = 0x1e204000 | (ftype << 22) | (op << 15) | (reg(g) << 5) | reg(g);
      cases.push(fpCase(g, insn, fmtOf(ftype), { ahp: op >= 4 && op <= 7 }));
    }
  check(cases);
});

test("oracle: FCMP FCMPE (incl. #0.0) FCCMP FCCMPE FCSEL (S, D)", { skip }, () => {
  const g = new Gen(104);
  const cases: A64Case[] = [];
  for (const ftype of [0, 1])
    for (let i = 0; i < 4 * COUNT; i++) {
      const rn = reg(g), rm = reg(g);
      const k = g.int(3);
      let insn: number;
      if (k === 0) {
        const opc = g.int(4);
        insn = 0x1e202000 | (ftype << 22) | ((opc & 1 ? 0 : rm) << 16) | (rn << 5) | (opc << 3);
      } else if (k === 1) insn = 0x1e200400 | (ftype << 22) | (rm << 16) | (g.int(16) << 12) | (rn << 5) | (g.int(2) << 4) | g.int(16);
      else insn = 0x1e200c00 | (ftype << 22) | (rm << 16) | (g.int(16) << 12) | (rn << 5) | reg(g);
      cases.push(fpCase(g, insn, fmtOf(ftype), { rel: [rn, rm], nzcv: true }));
    }
  check(cases);
});

/** 64-bit integers with the edges of conversions: small, powers of two and around them, random widths. */
function intValue(g: Gen): bigint {
  switch (g.int(5)) {
    case 0:
      return BigInt(g.int(64)) - 32n;
    case 1: {
      const p = 1n << BigInt(g.int(64));
      return p + BigInt(g.int(9) - 4);
    }
    case 2:
      return g.bits(1 + g.int(64)) << BigInt(g.int(8));
    case 3:
      return -(g.bits(1 + g.int(64)));
    default:
      return g.bits(64);
  }
}

test("oracle: FCVT{N,P,M,Z,A}{S,U} and SCVTF/UCVTF, W and X, integer and fixed point", { skip }, () => {
  const g = new Gen(105);
  const cases: A64Case[] = [];
  const MASK = (1n << 64n) - 1n;
  for (const ftype of [0, 1])
    for (const sf of [0, 1]) {
      const kinds: [number, number, boolean][] = []; // rmode, opcode, fixed
      for (let rmode = 0; rmode < 4; rmode++) kinds.push([rmode, 0, false], [rmode, 1, false]);
      kinds.push([0, 4, false], [0, 5, false], [0, 2, false], [0, 3, false], [3, 0, true], [3, 1, true], [0, 2, true], [0, 3, true]);
      for (const [rmode, opcode, fixed] of kinds)
        for (let i = 0; i < COUNT / 2; i++) {
          const rn = reg(g), rd = reg(g);
          const scale = fixed ? (sf ? 1 + g.int(64) : 32 + g.int(32)) : 0;
          const insn = ((sf << 31) | (fixed ? 0x1e000000 : 0x1e200000) | (ftype << 22) | (rmode << 19) | (opcode << 16) | (scale << 10) | (rn << 5) | rd) >>> 0;
          const c = fpCase(g, insn, fmtOf(ftype));
          c.x = Array.from({ length: 8 }, () => intValue(g) & MASK);
          cases.push(c);
        }
    }
  check(cases);
});

test("oracle: FMADD/FMSUB (S, D) fast paths: round to nearest, addend near -(product) (cancellation) or near halfway", { skip }, () => {
  const g = new Gen(106);
  const cases: A64Case[] = [];
  const f64 = new Float64Array(1);
  const u64 = new BigUint64Array(f64.buffer);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const ftype of [0, 1])
    for (let i = 0; i < 4 * COUNT; i++) {
      const o0 = g.int(2);
      const insn = 0x1f000000 | (ftype << 22) | (2 << 16) | (o0 << 15) | (3 << 10) | (1 << 5); // fmadd/fmsub x0, x1, x2, x3
      const c = fpCase(g, insn, fmtOf(ftype));
      c.fpcr = g.int(4) ? 0 : g.fpcr();
      const mask = ftype ? (1n << 64n) - 1n : 0xffffffffn;
      const lo = (x: bigint) => x & mask;
      const val = (x: bigint) => (ftype ? ((u64[0] = x), f64[0]) : ((u32[0] = Number(x)), f32[0]));
      const bits = (x: number) => (ftype ? ((f64[0] = x), u64[0]) : ((f32[0] = x), BigInt(u32[0])));
      const p = val(lo(c.v![1])) * val(lo(c.v![2])) * (o0 ? -1 : 1);
      if (Number.isFinite(p) && p !== 0) {
        // addend: -(product) a few ulps away, or the product scaled by 2^-k (halfway patterns)
        const k = g.int(3);
        let z = k === 0 ? bits(-p) + BigInt(g.int(9) - 4) : bits(p * 2 ** -(g.int(60) + 1) * (g.int(2) ? 1 : -1)) ^ BigInt(g.int(4));
        if (k === 2) z = bits(-p) ^ (1n << BigInt(g.int(ftype ? 52 : 23)));
        c.v![3] = (c.v![3] & ~mask) | (z & mask);
      }
      if (ftype === 1 && g.int(4) === 0) {
        // double-rounding traps: a*b = 2^s (1 - 2^-2j) just below a power of two, c near 2^(s+53) with an odd
        // last bit, so c + RN(a*b) is a midpoint and only the product's error decides (round to odd matters)
        const s = g.int(200) - 100, j = 27 + g.int(14);
        c.v![1] = bits(2 ** s * (1 + 2 ** -j) * (g.int(2) ? 1 : -1));
        c.v![2] = bits(1 - 2 ** -j);
        c.v![3] = bits(2 ** (s + 53) * (1 + (2 * g.int(1 << 20) + 1) * 2 ** -52) * (g.int(2) ? 1 : -1));
      }
      cases.push(c);
    }
  check(cases);
});

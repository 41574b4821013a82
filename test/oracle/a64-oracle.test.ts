// The instruction oracle itself (test/helpers/a64-oracle.ts): instructions Rewind already implements, on random
// operands, give qemu-aarch64's results; and the oracle sees a wrong result, an undefined instruction and FPSR.

import { test } from "node:test";
import assert from "node:assert/strict";
import { a64OracleUnavailable, assertSameAsOracle, resultDifference, runOnOracle, runOnRewind, type A64Case } from "../helpers/a64-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";

const skip = a64OracleUnavailable();
const decoder = a64Decoder();
const describe = (c: A64Case) => decoder.disassemble(c.insn);

/** Random 64-bit values with the edge cases mixed in (0, all ones, sign bits, small numbers). */
function values(seed: number): () => bigint {
  const r = xorshift32(seed);
  const edges = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0x80000000n, 0xffffffffn, 0x7fffffffn];
  return () => {
    const k = r() % 8;
    if (k === 0) return edges[r() % edges.length];
    if (k === 1) return BigInt(r() % 64);
    return (BigInt(r()) << 32n) | BigInt(r());
  };
}

/** Instruction words from a template whose register fields (at `shifts`) take random values 0-7. */
function words(seed: number, template: number, shifts: number[], count: number, extra: (r: () => number) => number = () => 0): number[] {
  const r = xorshift32(seed);
  return Array.from({ length: count }, () => (shifts.reduce((w, s) => w | ((r() & 7) << s), template) | extra(r)) >>> 0);
}

function cases(insns: number[], seed: number): A64Case[] {
  const v = values(seed);
  const r = xorshift32(seed ^ 0x5555);
  return insns.map((insn) => ({
    insn,
    nzcv: r() & 15,
    x: Array.from({ length: 8 }, v),
    v: Array.from({ length: 8 }, () => (v() << 64n) | v()),
  }));
}

test("oracle: integer data processing on random operands agrees with qemu-aarch64", { skip }, () => {
  const insns = [
    ...words(1, 0x8b000000, [0, 5, 16], 300), // ADD Xd, Xn, Xm
    ...words(2, 0xeb000000, [0, 5, 16], 300, (r) => (r() % 64) << 10), // SUBS Xd, Xn, Xm, LSL #s
    ...words(3, 0x1b000000, [0, 5, 10, 16], 300), // MADD Wd, Wn, Wm, Wa
    ...words(4, 0x9ac00800, [0, 5, 16], 300), // UDIV Xd, Xn, Xm
    ...words(5, 0x9a800000, [0, 5, 16], 300, (r) => (r() & 15) << 12), // CSEL Xd, Xn, Xm, cond
    ...words(6, 0xba400000, [5, 16], 300, (r) => ((r() & 15) << 12) | (r() & 15)), // CCMN Xn, Xm, #nzcv, cond
    ...words(7, 0xd3400000, [0, 5], 300, (r) => ((r() & 63) << 16) | ((r() & 63) << 10)), // UBFM
  ];
  assertSameAsOracle(cases(insns, 11), { describe });
});

test("oracle: the SIMD moves Rewind has (DUP, INS, UMOV, MOVI, bitwise) agree with qemu-aarch64", { skip }, () => {
  const insns = [
    ...words(8, 0x4e010c00, [0, 5], 200, (r) => (1 << (16 + (r() % 4))) | ((r() & 7) << 17)), // DUP Vd.T, Wn
    ...words(9, 0x6e010400, [0, 5], 200, (r) => ((r() & 15) << 16) | ((r() & 15) << 11)), // INS Vd.B[i], Vn.B[j]
    ...words(10, 0x0e013c00, [0, 5], 200, (r) => (r() & 15) << 17), // UMOV Wd, Vn.B[i]
    ...words(11, 0x4f000400, [0], 200, (r) => ((r() & 7) << 16) | ((r() & 31) << 5) | ((r() & 15) << 12) | ((r() & 1) << 29)), // MOVI family
    ...words(12, 0x6e601c00, [0, 5, 16], 200), // BSL Vd.16B
    ...words(13, 0x4e201c00, [0, 5, 16], 200, (r) => (r() & 3) << 22), // AND/BIC/ORR/ORN .16B
  ];
  assertSameAsOracle(cases(insns, 12), { describe });
});

test("oracle: it reports undefined instructions, FPSR flags and a result that differs", { skip }, () => {
  const [undef, overflow] = runOnOracle([
    { insn: 0xffffffff },
    // FADD S0, S1, S2 with 3e38 + 3e38: overflow and inexact (OFC | IXC).
    { insn: 0x1e222820, v: [0n, 0x7f61b1e6n, 0x7f61b1e6n] },
  ]);
  assert.equal(undef.status, "undefined");
  assert.equal(overflow.status, "ok");
  assert.equal(overflow.fpsr & 0x1f, 0x14);
  assert.equal(overflow.v[0], 0x7f800000n);
  // ADD X0, X1, X2 with x1 = 1, x2 = 2: Rewind's 3 agrees; a 4 would be named.
  const add: A64Case = { insn: 0x8b020020, x: [0n, 1n, 2n] };
  const [expected] = runOnOracle([add]);
  const [actual] = runOnRewind([add]);
  assert.equal(expected.x[0], 3n);
  assert.equal(resultDifference(expected, actual), "");
  assert.equal(resultDifference(expected, { ...actual, x: [4n, ...actual.x.slice(1)] }), "x0: oracle 0x0000000000000003, rewind 0x0000000000000004");
  assert.equal(resultDifference(expected, { ...actual, status: "undefined" }), "status: oracle ok, rewind undefined");
});

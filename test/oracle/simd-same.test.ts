// Advanced SIMD integer three-same class (vector and scalar) against qemu-aarch64 (Cortex-A53): every
// U/opcode/size/Q combination, unallocated ones included, on random operands; the word-at-a-time fast paths
// and 64-bit shifts by register on chosen operands.

import { test } from "node:test";
import { a64OracleUnavailable, assertSameAsOracle } from "../helpers/a64-oracle.js";
import { bits, describe, exhaustive, field, withOperands } from "./simd-cases.js";
import { xorshift32 } from "../helpers/random.js";

const skip = a64OracleUnavailable();
const REGS = [0, 5, 16];

// FP slots of the shared classes (the FP rows' business).
const fpSame = (w: number) => bits(w, 11, 5) >= 0b11000;

test("oracle: AdvSIMD three-same (vector): every U/opcode/size/Q", { skip }, (t) => {
  // 0 Q U 01110 size 1 Rm opcode 1 Rn Rd
  const insns = exhaustive(1, 0x0e200400, [field(30, 1), field(29, 1), field(22, 2), field(11, 5)], REGS, fpSame);
  const insns2 = exhaustive(2, 0x0e200400, [field(30, 1), field(29, 1), field(22, 2), field(11, 5)], REGS, fpSame);
  t.diagnostic(`${assertSameAsOracle(withOperands([...insns, ...insns2], 70, 3), { describe })} cases`);
});

test("oracle: AdvSIMD scalar three-same: every U/opcode/size", { skip }, (t) => {
  // 01 U 11110 size 1 Rm opcode 1 Rn Rd
  const insns = exhaustive(4, 0x5e200400, [field(29, 1), field(22, 2), field(11, 5)], REGS, fpSame);
  t.diagnostic(`${assertSameAsOracle(withOperands([...insns, ...insns], 120, 5), { describe })} cases`);
});

test("oracle: the word-at-a-time fast paths (CMEQ, CMTST, ADD, SUB, CMEQ #0, UMAXP/UMINP, UMAXV/UMINV, SHRN)", { skip }, (t) => {
  const words = [
    0x6e228c20, 0x2e228c20, 0x6e628c20, 0x2e628c20, // cmeq .16b .8b .8h .4h
    0x4e228c20, 0x0e228c20, // cmtst .16b .8b
    0x4e228420, 0x0e228420, 0x4e628420, 0x4ea28420, 0x0ea28420, // add .16b .8b .8h .4s .2s
    0x6e228420, 0x2e228420, 0x6e628420, 0x6ea28420, 0x2e628420, // sub .16b .8b .8h .4s .4h
    0x4e209820, 0x0e209820, // cmeq #0 .16b .8b
    0x6e22a420, 0x2e22a420, 0x6e22ac20, 0x2e22ac20, // umaxp, uminp .16b .8b
    0x6e30a820, 0x2e30a820, 0x6e31a820, 0x2e31a820, // umaxv, uminv b
    0x0f0c8420, 0x4f0c8420, 0x0f098420, // shrn #4, shrn2 #4, shrn #7
    0x6e218c21, 0x4e228c42, // cmeq/cmtst with Vd = Vn = Vm
  ];
  t.diagnostic(`${assertSameAsOracle(withOperands(words, 1500, 21), { describe })} cases`);
});

test("oracle: shifts by register on 64-bit lanes with shift counts around 0..±64 (SSHL..UQRSHL D and 2D)", { skip }, (t) => {
  // 01 U 11110 11 1 Rm 010oo 1 Rn Rd (scalar D) and 0 1 U 01110 11 1 Rm 010oo 1 Rn Rd (.2D)
  const words: number[] = [];
  for (const base of [0x5ee04400, 0x4ee04400]) for (let u = 0; u < 2; u++) for (let o = 0; o < 4; o++) for (const [d, n, m] of [[0, 1, 2], [3, 3, 4], [5, 6, 5]]) words.push((base | (u << 29) | (o << 11) | (m << 16) | (n << 5) | d) >>> 0);
  const r = xorshift32(99);
  const small = () => BigInt(((r() % 140) - 70) & 0xff);
  const cases = withOperands(words, 600, 23).map((c) => ({ ...c, v: c.v!.map((x, i) => (i % 3 === 2 || i === 4 ? (x & ~(0xffn | (0xffn << 64n))) | small() | (small() << 64n) : x)) }));
  t.diagnostic(`${assertSameAsOracle(cases, { describe })} cases`);
});

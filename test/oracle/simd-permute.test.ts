// Advanced SIMD permutes (UZP/TRN/ZIP), EXT and TBL/TBX against qemu-aarch64 (Cortex-A53): every
// Q/size/opcode (imm4, table length) combination, unallocated ones included, on random operands.

import { test } from "node:test";
import { a64OracleUnavailable, assertSameAsOracle, type A64Case } from "../helpers/a64-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { bits, describe, exhaustive, field, withOperands } from "./simd-cases.js";

const skip = a64OracleUnavailable();

test("oracle: AdvSIMD permute (UZP1/2, TRN1/2, ZIP1/2) and EXT: every Q/size/opcode/imm4", { skip }, (t) => {
  // 0 Q 001110 size 0 Rm 0 opcode 10 Rn Rd; 0 Q 101110 00 0 Rm 0 imm4 0 Rn Rd
  const perm = [0, 1, 2, 3].flatMap((k) => exhaustive(1 + k, 0x0e000800, [field(30, 1), field(22, 2), field(12, 3)], [0, 5, 16]));
  const ext = [0, 1, 2, 3].flatMap((k) => exhaustive(5 + k, 0x2e000000, [field(30, 1), field(11, 4)], [0, 5, 16]));
  t.diagnostic(`${assertSameAsOracle(withOperands([...perm, ...ext], 150, 9), { describe })} cases`);
});

test("oracle: TBL/TBX with 1-4 table registers, indices in and out of range", { skip }, (t) => {
  // 0 Q 001110 00 0 Rm 0 len op 00 Rn Rd; the table registers Rn..Rn+len stay within v0-v7.
  const insns = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => exhaustive(10 + k, 0x0e000000, [field(30, 1), field(13, 2), field(12, 1)], [0, 5, 16], (w) => bits(w, 5, 5) + bits(w, 13, 2) > 7));
  const r = xorshift32(77);
  const cases: A64Case[] = withOperands(insns, 500, 11).map((c) => ({
    ...c,
    // Index bytes mostly below 72 (within or just past a 4-register table), some anywhere.
    v: c.v!.map((x, i) => (i % 2 === 0 ? x : Array.from({ length: 16 }, () => BigInt(r() % 4 === 0 ? r() & 0xff : r() % 72)).reduce((a, b, k) => a | (b << BigInt(8 * k)), 0n))),
  }));
  t.diagnostic(`${assertSameAsOracle(cases, { describe })} cases`);
});

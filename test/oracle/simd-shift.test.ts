// Advanced SIMD integer shift by immediate (vector and scalar) against qemu-aarch64 (Cortex-A53): every
// Q/U/immh/immb/opcode combination (the unallocated ones included), on random operands.

import { test } from "node:test";
import { a64OracleUnavailable, assertSameAsOracle } from "../helpers/a64-oracle.js";
import { bits, describe, exhaustive, field, withOperands } from "./simd-cases.js";

const skip = a64OracleUnavailable();
// immh = 0 is the modified-immediate class; opcodes 11100 and 11111 are the FP fixed-point conversions.
const notMine = (w: number) => bits(w, 19, 4) === 0 || [0b11100, 0b11111].includes(bits(w, 11, 5));
const SHIFT = [field(19, 4), field(16, 3), field(11, 5)];

test("oracle: AdvSIMD shift by immediate (vector): every Q/U/immh:immb/opcode", { skip }, (t) => {
  // 0 Q U 011110 immh immb opcode 1 Rn Rd
  const insns = exhaustive(1, 0x0f000400, [field(30, 1), field(29, 1), ...SHIFT], [0, 5], notMine);
  t.diagnostic(`${assertSameAsOracle(withOperands(insns, 7, 2), { describe })} cases`);
});

test("oracle: AdvSIMD shift by immediate (scalar): every U/immh:immb/opcode", { skip }, (t) => {
  // 01 U 111110 immh immb opcode 1 Rn Rd
  const insns = exhaustive(3, 0x5f000400, [field(29, 1), ...SHIFT], [0, 5], notMine);
  t.diagnostic(`${assertSameAsOracle(withOperands(insns, 8, 4), { describe })} cases`);
});

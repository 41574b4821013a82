// Advanced SIMD integer two-register-misc (vector and scalar), across-lanes and scalar pairwise classes against
// qemu-aarch64 (Cortex-A53): every opcode/size/Q combination, unallocated ones included, on random operands.

import { test } from "node:test";
import { a64OracleUnavailable, assertSameAsOracle } from "../helpers/a64-oracle.js";
import { bits, describe, exhaustive, field, withOperands } from "./simd-cases.js";

const skip = a64OracleUnavailable();
const REGS2 = [0, 5];

// FP slots of the shared classes (the FP rows' business); URECPE/URSQRTE (.2S/.4S) are integer.
const fpMisc = (w: number) => {
  const op = bits(w, 12, 5);
  return op >= 0b01100 && op !== 0b10010 && op !== 0b10011 && op !== 0b10100 && !(op === 0b11100 && bits(w, 22, 2) === 2 && bits(w, 30, 2) !== 1);
};
const fpAcross = (w: number) => [0b01100, 0b01111].includes(bits(w, 12, 5));

test("oracle: AdvSIMD two-register misc (vector and scalar): every U/opcode/size/Q", { skip }, (t) => {
  // 0 Q U 01110 size 10000 opcode 10 Rn Rd; 01 U 11110 size 10000 opcode 10 Rn Rd
  const vec = exhaustive(6, 0x0e200800, [field(30, 1), field(29, 1), field(22, 2), field(12, 5)], REGS2, fpMisc);
  const sca = exhaustive(7, 0x5e200800, [field(29, 1), field(22, 2), field(12, 5)], REGS2, fpMisc);
  t.diagnostic(`${assertSameAsOracle(withOperands([...vec, ...vec, ...sca, ...sca], 80, 8), { describe })} cases`);
});

test("oracle: AdvSIMD across lanes and scalar pairwise: every U/opcode/size/Q", { skip }, (t) => {
  // 0 Q U 01110 size 11000 opcode 10 Rn Rd; 01 U 11110 size 11000 opcode 10 Rn Rd
  const vec = exhaustive(9, 0x0e300800, [field(30, 1), field(29, 1), field(22, 2), field(12, 5)], REGS2, fpAcross);
  const sca = exhaustive(10, 0x5e300800, [field(29, 1), field(22, 2), field(12, 5)], REGS2, (w) => bits(w, 12, 5) !== 0b11011 || bits(w, 29, 1) === 1);
  t.diagnostic(`${assertSameAsOracle(withOperands([...vec, ...vec, ...sca], 60, 11), { describe })} cases`);
});

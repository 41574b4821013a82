// Advanced SIMD integer three-different and by-element classes (vector and scalar) against qemu-aarch64
// (Cortex-A53): every Q/U/size/opcode (and index) combination, unallocated ones included, on random operands.

import { test } from "node:test";
import { a64OracleUnavailable, assertSameAsOracle } from "../helpers/a64-oracle.js";
import { bits, describe, exhaustive, field, withOperands } from "./simd-cases.js";

const skip = a64OracleUnavailable();

test("oracle: AdvSIMD three-different (vector and scalar): every Q/U/size/opcode", { skip }, (t) => {
  // 0 Q U 01110 size 1 Rm opcode 00 Rn Rd; 01 U 11110 size 1 Rm opcode 00 Rn Rd
  const f = [field(29, 1), field(22, 2), field(12, 4)];
  const vec = [0, 1, 2, 3].flatMap((k) => exhaustive(10 + k, 0x0e200000, [field(30, 1), ...f], [0, 5, 16]));
  const sca = [0, 1].flatMap((k) => exhaustive(20 + k, 0x5e200000, f, [0, 5, 16]));
  t.diagnostic(`${assertSameAsOracle(withOperands([...vec, ...sca], 100, 5), { describe })} cases`);
});

// By element: Rm must stay in v0-v7 (bit 19 clear; M clear for 32-bit elements, where it is Rm's top bit);
// FMLA/FMLS/FMUL/FMULX (opcodes 0001, 0101, 1001 with sz) are the FP rows'.
const notMine = (w: number) => (bits(w, 22, 2) >= 2 && (bits(w, 20, 1) === 1 || [0b0001, 0b0101, 0b1001].includes(bits(w, 12, 4))));

test("oracle: AdvSIMD by element (vector and scalar): every Q/U/size/L/M/H/opcode", { skip }, (t) => {
  // 0 Q U 01111 size L M Rm opcode H 0 Rn Rd; 01 U 11111 size L M Rm opcode H 0 Rn Rd
  const f = [field(29, 1), field(22, 2), field(21, 1), field(20, 1), field(12, 4), field(11, 1)];
  const vec = [0, 1].flatMap((k) => exhaustive(30 + k, 0x0f000000, [field(30, 1), ...f], [0, 5, 16], notMine));
  const sca = [0, 1].flatMap((k) => exhaustive(40 + k, 0x5f000000, f, [0, 5, 16], notMine));
  t.diagnostic(`${assertSameAsOracle(withOperands([...vec, ...sca], 20, 6), { describe })} cases`);
});

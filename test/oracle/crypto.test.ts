// The cryptographic extension (AES, SHA1, SHA256 as QEMU's cortex-a53 has them) against qemu-aarch64 on random
// states, and a few known answers from FIPS-197 so the S-boxes are checked without qemu too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { a64OracleUnavailable, assertSameAsOracle, type A64Case } from "../helpers/a64-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";
import { TestMachine } from "../aarch64/harness.js";

const skip = a64OracleUnavailable();
const decoder = a64Decoder();

function cases(seed: number, words: number[]): A64Case[] {
  const r = xorshift32(seed);
  const v128 = () => (BigInt(r()) << 96n) | (BigInt(r()) << 64n) | (BigInt(r()) << 32n) | BigInt(r());
  return words.map((insn) => ({ insn, v: Array.from({ length: 8 }, v128), x: [] }));
}

/** Every register combination (0-7) of an encoding template with rd at 0, rn at 5 and (optionally) rm at 16. */
function forms(template: number, withRm: boolean): number[] {
  const out: number[] = [];
  for (let d = 0; d < 8; d++) for (let n = 0; n < 8; n++) for (let m = 0; m < (withRm ? 8 : 1); m++) out.push((template | d | (n << 5) | (m << 16)) >>> 0);
  return out;
}

test("crypto: AESE, AESD, AESMC, AESIMC agree with qemu-aarch64", { skip }, () => {
  const words = [0x4e284800, 0x4e285800, 0x4e286800, 0x4e287800].flatMap((t) => forms(t, false));
  const all = Array.from({ length: 40 }, (_, k) => cases(100 + k, words)).flat();
  assert.ok(words.every((w) => /^aes/.test(decoder.disassemble(w))));
  assertSameAsOracle(all, { describe: (c) => decoder.disassemble(c.insn) });
});

test("crypto: SHA1C/P/M/SU0/H/SU1 and SHA256H/H2/SU0/SU1 agree with qemu-aarch64", { skip }, () => {
  const three = [0, 1, 2, 3, 4, 5, 6].flatMap((op) => forms(0x5e000000 | (op << 12), true));
  const two = [0, 1, 2].flatMap((op) => forms(0x5e280800 | (op << 12), false));
  const words = [...three, ...two];
  assert.ok(words.every((w) => /^sha/.test(decoder.disassemble(w))));
  const all = Array.from({ length: 12 }, (_, k) => cases(200 + k, words)).flat();
  assertSameAsOracle(all, { describe: (c) => decoder.disassemble(c.insn) });
});

test("crypto: AESE with a zero key is SubBytes(ShiftRows(x)) as FIPS-197 computes it", () => {
  const m = new TestMachine();
  // State 00 11 22 .. ff (byte i = 0x11 * i), key 0: the first round of FIPS-197 Appendix C.1 after AddRoundKey.
  let state = 0n;
  for (let i = 15; i >= 0; i--) state = (state << 8n) | BigInt((0x11 * i) & 0xff);
  m.setV(0, state).setV(1, 0n).code(0x4e284820).run(); // AESE v0.16b, v1.16b
  // SubBytes(ShiftRows): byte (row r, column c) = S[state byte (r, c + r)]. S[0x00] = 0x63, S[0x55] = 0xfc, ...
  const sbox = [0x63, 0x82, 0x93, 0xc3, 0x1b, 0xfc, 0x33, 0xf5, 0xc4, 0xee, 0xac, 0xea, 0x4b, 0xc1, 0x28, 0x16]; // FIPS-197 Figure 7
  let expected = 0n;
  for (let i = 15; i >= 0; i--) {
    const row = i % 4;
    const col = Math.floor(i / 4);
    const from = row + 4 * ((col + row) % 4);
    expected = (expected << 8n) | BigInt(sbox[from]);
  }
  assert.equal(m.v(0).toString(16), expected.toString(16));
});

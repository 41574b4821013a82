// AdvSIMD FP (vector and scalar forms of three-same, pairwise, two-reg-misc, FCVTL/FCVTN/FCVTXN) against
// qemu-aarch64: lanes of random values from ./fp-gen.ts under random FPCR rounding mode, FZ and DN.

import { test } from "node:test";
import assert from "node:assert/strict";
import { a64OracleUnavailable, assertSameAsOracle, type A64Case } from "../helpers/a64-oracle.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";
import { D, Gen, H, S, vecCase } from "./fp-gen.js";

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
const COUNT = Number(process.env.FP_ORACLE_CASES ?? 1500);
const reg = (g: Gen) => g.int(8);

// three-same keys u:a:op3 (opcode<4:3> = 11)
const SAME = [0o007, 0o017, 0o000, 0o001, 0o002, 0o003, 0o004, 0o006, 0o010, 0o011, 0o012, 0o016, 0o100, 0o102, 0o103, 0o104, 0o105, 0o106, 0o107, 0o110, 0o112, 0o114, 0o115, 0o116];
const SCALAR_SAME = [0o007, 0o017, 0o003, 0o004, 0o104, 0o105, 0o112, 0o114, 0o115];

test("oracle: AdvSIMD FP three-same, vector (4S, 2S, 2D) and scalar", { skip }, () => {
  const g = new Gen(201);
  const cases: A64Case[] = [];
  for (const key of SAME)
    for (const [q, sz] of [[1, 0], [0, 0], [1, 1]])
      for (let i = 0; i < COUNT / 2; i++) {
        const rd = reg(g), rn = reg(g), rm = reg(g);
        const u = key >> 6, a = (key >> 3) & 1, op3 = key & 7;
        const insn = (q << 30) | (u << 29) | 0x0e20c400 | (a << 23) | (sz << 22) | (rm << 16) | (op3 << 11) | (rn << 5) | rd;
        cases.push(vecCase(g, insn, sz ? D : S, { rel: [rn, rm] }));
      }
  for (const key of SCALAR_SAME)
    for (const sz of [0, 1])
      for (let i = 0; i < COUNT / 2; i++) {
        const rd = reg(g), rn = reg(g), rm = reg(g);
        const u = key >> 6, a = (key >> 3) & 1, op3 = key & 7;
        const insn = 0x5e20c400 | (u << 29) | (a << 23) | (sz << 22) | (rm << 16) | (op3 << 11) | (rn << 5) | rd;
        cases.push(vecCase(g, insn, sz ? D : S, { rel: [rn, rm] }));
      }
  // scalar pairwise: FMAXNMP FADDP FMAXP FMINNMP FMINP
  for (const [a, op3] of [[0, 4], [0, 5], [0, 7], [1, 4], [1, 7]])
    for (const sz of [0, 1])
      for (let i = 0; i < COUNT / 2; i++) {
        const insn = 0x7e30c800 | (a << 23) | (sz << 22) | ((op3 & 3) << 12) | (reg(g) << 5) | reg(g);
        cases.push(vecCase(g, insn, sz ? D : S));
      }
  check(cases);
});

const MISC = [0o030, 0o031, 0o032, 0o033, 0o034, 0o035, 0o054, 0o055, 0o056, 0o057, 0o070, 0o071, 0o072, 0o073, 0o130, 0o131, 0o132, 0o133, 0o134, 0o135, 0o154, 0o155, 0o157, 0o171, 0o172, 0o173, 0o177, 0o075, 0o175];
const SCALAR_MISC = [0o075, 0o175, 0o077, 0o032, 0o033, 0o034, 0o035, 0o054, 0o055, 0o056, 0o072, 0o073, 0o132, 0o133, 0o134, 0o135, 0o154, 0o155, 0o172, 0o173];
const INT_SOURCE = new Set([0o035, 0o135]);

test("oracle: AdvSIMD FP two-reg-misc, vector and scalar; FCVTL, FCVTN, FCVTXN", { skip }, () => {
  const g = new Gen(202);
  const cases: A64Case[] = [];
  const misc = (scalar: boolean, key: number, q: number, sz: number) => {
    const u = key >> 6, a = (key >> 5) & 1, op5 = key & 31;
    const base = scalar ? 0x5e200800 : 0x0e200800 | (q << 30);
    const insn = base | (u << 29) | (a << 23) | (sz << 22) | (1 << 21) | (op5 << 12) | (reg(g) << 5) | reg(g);
    const c = vecCase(g, insn, sz ? D : S);
    if (INT_SOURCE.has(key) && g.int(2)) c.v = c.v!.map(() => g.bits(128) >> BigInt(g.int(128)));
    return c;
  };
  for (const key of MISC) for (const [q, sz] of [[1, 0], [0, 0], [1, 1]]) for (let i = 0; i < COUNT / 3; i++) cases.push(misc(false, key, q, sz));
  for (const key of SCALAR_MISC) for (const sz of [0, 1]) for (let i = 0; i < COUNT / 3; i++) cases.push(misc(true, key, 0, sz));
  for (const q of [0, 1])
    for (let i = 0; i < COUNT; i++) {
      const rn = reg(g), rd = reg(g);
      cases.push(vecCase(g, 0x0e217800 | (q << 30) | (rn << 5) | rd, H, { ahp: true })); // FCVTL h->s
      cases.push(vecCase(g, 0x0e617800 | (q << 30) | (rn << 5) | rd, S)); // FCVTL s->d
      cases.push(vecCase(g, 0x0e216800 | (q << 30) | (rn << 5) | rd, S, { ahp: true })); // FCVTN s->h
      cases.push(vecCase(g, 0x0e616800 | (q << 30) | (rn << 5) | rd, D)); // FCVTN d->s
      cases.push(vecCase(g, 0x2e616800 | (q << 30) | (rn << 5) | rd, D)); // FCVTXN
    }
  for (let i = 0; i < COUNT; i++) cases.push(vecCase(g, 0x7e616800 | (reg(g) << 5) | reg(g), D)); // FCVTXN scalar
  // FMAXNMV FMINNMV FMAXV FMINV (4S)
  for (const [a, op5] of [[0, 0b01100], [1, 0b01100], [0, 0b01111], [1, 0b01111]])
    for (let i = 0; i < COUNT / 2; i++) cases.push(vecCase(g, 0x6e300800 | (a << 23) | (op5 << 12) | (reg(g) << 5) | reg(g), S));
  check(cases);
});

test("oracle: FMLA FMLS FMUL FMULX by element (vector and scalar); SCVTF UCVTF FCVTZS FCVTZU #fbits (vector and scalar)", { skip }, () => {
  const g = new Gen(203);
  const cases: A64Case[] = [];
  for (const [u, opc] of [[0, 1], [0, 5], [0, 9], [1, 9]])
    for (const [q, sz] of [[1, 0], [0, 0], [1, 1]])
      for (const scalar of [false, true])
        for (let i = 0; i < COUNT / 3; i++) {
          const rm = reg(g), rn = reg(g), rd = reg(g);
          const h = g.int(2), l = sz ? 0 : g.int(2);
          const base = scalar ? 0x5f800000 : 0x0f800000 | (q << 30);
          const insn = base | (u << 29) | (sz << 22) | (l << 21) | (rm << 16) | (opc << 12) | (h << 11) | (rn << 5) | rd;
          cases.push(vecCase(g, insn, sz ? D : S, { rel: [rn, rm] }));
        }
  for (const opcode of [0b11100, 0b11111])
    for (const u of [0, 1])
      for (const [q, dbl] of [[1, 0], [0, 0], [1, 1]])
        for (const scalar of [false, true])
          for (let i = 0; i < COUNT / 3; i++) {
            const immhb = dbl ? 64 + g.int(64) : 32 + g.int(32);
            const base = scalar ? 0x5f000400 : 0x0f000400 | (q << 30);
            const insn = base | (u << 29) | (immhb << 16) | (opcode << 11) | (reg(g) << 5) | reg(g);
            const c = vecCase(g, insn, dbl ? D : S);
            if (opcode === 0b11100 && g.int(2)) c.v = c.v!.map(() => g.bits(128) >> BigInt(g.int(128)));
            cases.push(c);
          }
  check(cases);
});

// The effective-address helpers against 64-bit BigInt arithmetic (the pseudocode's bits(64) additions), on
// random and edge-case operands: X[n] + imm, X[n] + ExtendReg(m, UXTW/SXTW/LSL, shift), PC + imm.

import { test } from "node:test";
import assert from "node:assert/strict";
import { addSigned, baseImm, baseRegFor, ea, Extend, pcImm } from "../../src/arch/aarch64/address.js";
import { TestMachine } from "./harness.js";

const M64 = (1n << 64n) - 1n;
const EDGES = [0n, 1n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 0xffff_ffff_ffff_fff8n, 0x8000_0000_0000_0000n, M64];

function* operands(count: number): Generator<bigint> {
  yield* EDGES;
  let s = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < count; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & M64;
    yield s;
  }
}

const got = () => ((BigInt(ea.hi >>> 0) << 32n) | BigInt(ea.lo)) & M64;

test("X[n] + imm and PC + imm wrap modulo 2^64, for every immediate range the encodings produce", () => {
  const m = new TestMachine();
  const imms = [0, 1, -1, 255, -256, 4095 * 16, -64 * 16, 63 * 16, (1 << 20) - 4, -(1 << 20)];
  for (const base of operands(300)) {
    m.setX(5, base);
    m.setPc(base);
    for (const imm of imms) {
      const want = (base + BigInt(imm)) & M64;
      baseImm(m.cpu, 5, imm);
      assert.equal(got(), want, `${base.toString(16)} + ${imm}`);
      assert.ok(ea.lo >= 0 && ea.lo <= 0xffffffff);
      pcImm(m.cpu, imm);
      assert.equal(got(), want);
      addSigned(m.cpu.xlo[5], m.cpu.xhi[5], imm);
      assert.equal(got(), want);
    }
  }
});

test("X[n] + ExtendReg(m) for UXTW, SXTW, LSL and SXTX with shifts 0..4", () => {
  const m = new TestMachine();
  const bases = [...operands(60)];
  const offsets = [...operands(60)];
  for (const option of [Extend.Uxtw, Extend.Sxtw, Extend.Lsl, Extend.Sxtx]) {
    const add = baseRegFor(option)!;
    for (const b of bases)
      for (const o of offsets)
        for (let shift = 0; shift <= 4; shift++) {
          m.setX(3, b).setX(7, o);
          let off: bigint;
          if (option === Extend.Uxtw) off = o & 0xffff_ffffn;
          else if (option === Extend.Sxtw) off = BigInt.asUintN(64, BigInt.asIntN(32, o & 0xffff_ffffn));
          else off = o;
          const want = (b + (off << BigInt(shift))) & M64;
          add(m.cpu, 3, 7, shift);
          assert.equal(got(), want, `option ${option} ${b.toString(16)} + ${o.toString(16)} << ${shift}`);
        }
  }
  assert.equal(baseRegFor(0), undefined);
  assert.equal(baseRegFor(4), undefined);
});

// The lo/hi 64-bit helpers against BigInt: every function, random operands plus the edges (carries between
// the halves, shift amounts 0/31/32/63, divisions in each of udiv64's paths).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as alu from "../../src/arch/aarch64/alu.js";
import {
  MASK64,
  addWithCarry,
  bitReverse,
  byteSwapChunks,
  cls,
  clz,
  crc32Ref,
  decodeBitMasks,
  extendReg,
  mask,
  rng,
  shiftReg,
  sint,
} from "./dp-ref.js";

const lo = (v: bigint) => Number(v & 0xffffffffn) | 0;
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn) | 0;
/** The 64-bit result of an alu call: returned low half + resultHi. */
const r64 = (low: number) => ((BigInt(alu.resultHi >>> 0) << 32n) | BigInt(low >>> 0));
const u32 = (v: number) => BigInt(v >>> 0);

const N = 20000;

test("addWithCarry64/32 match AddWithCarry including NZCV", () => {
  const r = rng(1);
  const f = { nf: 0, zf: 0, cf: 0, vf: 0 };
  const nzcv = () => (f.nf << 3) | (f.zf << 2) | (f.cf << 1) | f.vf;
  for (let i = 0; i < N; i++) {
    const a = r.u64();
    const b = r.u64();
    const c = r.int(2);
    const want = addWithCarry(a, b, c, 64);
    assert.equal(r64(alu.addWithCarry64(f, lo(a), hi(a), lo(b), hi(b), c)), want.result);
    assert.equal(nzcv(), want.nzcv, `${a} + ${b} + ${c}`);
    const want32 = addWithCarry(a, b, c, 32);
    assert.equal(u32(alu.addWithCarry32(f, lo(a), lo(b), c)), want32.result);
    assert.equal(nzcv(), want32.nzcv);
  }
});

test("add64/sub64/neg64", () => {
  const r = rng(2);
  for (let i = 0; i < N; i++) {
    const a = r.u64();
    const b = r.u64();
    assert.equal(r64(alu.add64(lo(a), hi(a), lo(b), hi(b))), (a + b) & MASK64);
    assert.equal(r64(alu.sub64(lo(a), hi(a), lo(b), hi(b))), (a - b) & MASK64);
    assert.equal(r64(alu.neg64(lo(a), hi(a))), -a & MASK64);
  }
});

test("64-bit shifts and rotates for every amount 0..63; 32-bit shift32", () => {
  const r = rng(3);
  const fns = [alu.lsl64, alu.lsr64, alu.asr64, alu.ror64];
  for (let i = 0; i < 300; i++) {
    const v = r.u64();
    for (let s = 0; s < 64; s++)
      for (let type = 0; type < 4; type++) {
        const want = shiftReg(v, type, s, 64);
        assert.equal(r64(fns[type](lo(v), hi(v), s)), want, `type ${type} by ${s}`);
        assert.equal(r64(alu.shift64(lo(v), hi(v), type as alu.ShiftType, s)), want);
        if (s < 32) assert.equal(u32(alu.shift32(lo(v), type as alu.ShiftType, s)), shiftReg(v, type, s, 32));
      }
  }
});

test("extend64/extend32 match ExtendReg for every type and shift 0..4", () => {
  const r = rng(4);
  for (let i = 0; i < 2000; i++) {
    const v = r.u64();
    for (let type = 0; type < 8; type++)
      for (let s = 0; s <= 4; s++) {
        assert.equal(r64(alu.extend64(lo(v), hi(v), type as alu.ExtendType, s)), extendReg(v, type, s, 64));
        assert.equal(u32(alu.extend32(lo(v), type as alu.ExtendType, s)), extendReg(v, type, s, 32));
      }
  }
});

test("multiplication: mul64, umulh64, smulh64, umulhi32, smulhi32", () => {
  const r = rng(5);
  for (let i = 0; i < N; i++) {
    const a = r.u64();
    const b = r.u64();
    assert.equal(r64(alu.mul64(lo(a), hi(a), lo(b), hi(b))), (a * b) & MASK64);
    assert.equal(r64(alu.umulh64(lo(a), hi(a), lo(b), hi(b))), (a * b) >> 64n, `umulh ${a} ${b}`);
    assert.equal(r64(alu.smulh64(lo(a), hi(a), lo(b), hi(b))), ((sint(a, 64) * sint(b, 64)) >> 64n) & MASK64, `smulh ${a} ${b}`);
    const a32 = a & 0xffffffffn;
    const b32 = b & 0xffffffffn;
    assert.equal(u32(alu.umulhi32(lo(a), lo(b))), (a32 * b32) >> 32n);
    assert.equal(u32(alu.smulhi32(lo(a), lo(b))), ((sint(a32, 32) * sint(b32, 32)) >> 32n) & 0xffffffffn);
  }
});

test("division: udiv64/sdiv64 in every path (32-bit, below 2^52, long), udiv32/sdiv32", () => {
  const r = rng(6);
  const magnitudes = () => r.u64() >> BigInt(r.int(64));
  for (let i = 0; i < N; i++) {
    const a = r.bool() ? magnitudes() : r.u64();
    let b = r.bool() ? magnitudes() : r.u64();
    if (r.int(20) === 0) b = 0n;
    if (r.int(20) === 0) b = (1n << 52n) - BigInt(r.int(3)); // around the Number path's limit
    const want = b === 0n ? 0n : a / b;
    assert.equal(r64(alu.udiv64(lo(a), hi(a), lo(b), hi(b))), want, `${a} / ${b}`);
    const sa = sint(a, 64);
    const sb = sint(b, 64);
    assert.equal(r64(alu.sdiv64(lo(a), hi(a), lo(b), hi(b))), b === 0n ? 0n : (sa / sb) & MASK64, `${sa} / ${sb}`);
    const a32 = a & 0xffffffffn;
    const b32 = b & 0xffffffffn;
    assert.equal(u32(alu.udiv32(lo(a), lo(b))), b32 === 0n ? 0n : a32 / b32);
    assert.equal(u32(alu.sdiv32(lo(a), lo(b))), b32 === 0n ? 0n : (sint(a32, 32) / sint(b32, 32)) & 0xffffffffn);
  }
  // Exact multiples and their neighbours in each path: q * b - 1, q * b, q * b + b - 1.
  for (let i = 0; i < 5000; i++) {
    const b = r.bool() ? (r.u64() >> BigInt(r.int(64))) | 1n : BigInt(r.next()) + 1n;
    const qmax = MASK64 / b;
    const q = qmax >> BigInt(r.int(64));
    for (const a of [q * b - 1n, q * b, q * b + b - 1n]) {
      if (a < 0n || a > MASK64) continue;
      assert.equal(r64(alu.udiv64(lo(a), hi(a), lo(b), hi(b))), a / b, `${a} / ${b}`);
    }
  }
  for (const [a, b] of [
    [MASK64, 0x1_0000_0000n],
    [MASK64, 0xffff_ffffn],
    [MASK64, 0x1_0000_0001n],
    [MASK64 - 1n, MASK64],
    [1n << 63n, 3n],
    [(1n << 52n) - 1n, 1n],
    [1n << 52n, (1n << 52n) - 1n],
  ])
    assert.equal(r64(alu.udiv64(lo(a), hi(a), lo(b), hi(b))), a / b, `${a} / ${b}`);
  assert.equal(r64(alu.sdiv64(0, -0x80000000, -1, -1)), 1n << 63n, "INT64_MIN / -1");
  assert.equal(u32(alu.sdiv32(-0x80000000, -1)), 0x80000000n, "INT32_MIN / -1");
  assert.equal(r64(alu.udiv64(-1, -1, 1, 0)), MASK64);
  assert.equal(r64(alu.udiv64(-1, -1, -1, -1)), 1n);
});

test("bit counting and reversal: clz64, cls32, cls64, rbit32, bswap32, rev16x32", () => {
  const r = rng(7);
  for (let i = 0; i < N; i++) {
    const v = r.bool() ? r.u64() : r.u64() >> BigInt(r.int(64));
    const w = v & 0xffffffffn;
    assert.equal(alu.clz64(lo(v), hi(v)), clz(v, 64));
    assert.equal(alu.cls64(lo(v), hi(v)), cls(v, 64));
    assert.equal(alu.cls32(lo(v)), cls(w, 32));
    assert.equal(u32(alu.rbit32(lo(v))), bitReverse(w, 32));
    assert.equal(u32(alu.bswap32(lo(v))), byteSwapChunks(w, 32, 32));
    assert.equal(u32(alu.rev16x32(lo(v))), byteSwapChunks(w, 16, 32));
  }
});

test("decodeBitMasks: every N:imms:immr for both sizes, immediate and bitfield forms", () => {
  let defined = 0;
  for (const size of [32, 64] as const)
    for (const immediate of [true, false])
      for (let n = 0; n < 2; n++)
        for (let imms = 0; imms < 64; imms++)
          for (let immr = 0; immr < 64; immr++) {
            const want = decodeBitMasks(n, imms, immr, immediate, size);
            const got = alu.decodeBitMasks(n, imms, immr, immediate, size);
            const where = `N=${n} imms=${imms} immr=${immr} size=${size} immediate=${immediate}`;
            if (!want) {
              assert.equal(got, undefined, where);
              continue;
            }
            defined++;
            assert.ok(got, where);
            const m = mask(size);
            assert.equal((BigInt(got.whi >>> 0) << 32n | BigInt(got.wlo >>> 0)) & m, want.wmask, `wmask ${where}`);
            assert.equal((BigInt(got.thi >>> 0) << 32n | BigInt(got.tlo >>> 0)) & m, want.tmask, `tmask ${where}`);
          }
  // 5334 valid 64-bit logical immediates and 1302 32-bit ones, each reachable by 64 immr values per element.
  assert.ok(defined > 10000);
});

test("crc32Update matches the Arm ARM's Poly32Mod2 formulation", () => {
  const r = rng(8);
  for (let i = 0; i < 3000; i++) {
    const acc = r.u64() & 0xffffffffn;
    const v = r.u64();
    const bytes = [1, 2, 4][r.int(3)];
    for (const c of [false, true]) {
      const table = c ? alu.CRC32C_TABLE : alu.CRC32_TABLE;
      assert.equal(u32(alu.crc32Update(table, lo(acc), lo(v), bytes)), crc32Ref(acc, v, bytes * 8, c));
    }
  }
});

// Branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET. Targets are checked at addresses around the
// 32-bit and 64-bit boundaries (the executor is called directly there, away from the test RAM), and a
// small loop runs end to end through the interpreter.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE } from "./harness.js";
import * as A from "./dp-asm.js";
import { MASK64, conditionHolds, execute, executeAt, expectUndefined, machine, randomState, rng, type State } from "./dp-ref.js";

const W = 0;
const X = 1;

function st(regs: Record<number, bigint> = {}, nzcv = 0): State {
  const x = new Array<bigint>(32).fill(0n);
  for (const [k, v] of Object.entries(regs)) x[Number(k)] = v & MASK64;
  return { x, nzcv, pc: BigInt(CODE) };
}
const next = (pc: bigint, off: number | bigint) => (pc + BigInt(off)) & MASK64;

test("B and BL: offsets up to +-128 MiB, across the 32-bit halves and around 2^64", () => {
  const pcs = [BigInt(CODE), 0xffff_fff0n, 0x1_0000_0004n, 0xffff_ffff_ffff_fff8n, 0n, 0x7fff_ffff_8000_0000n];
  const offs = [0, 4, -4, 0x7ff_fffc, -0x800_0000, 0x100_0000];
  for (const pc of pcs)
    for (const off of offs) {
      assert.equal(executeAt(A.b(off), pc, st()).pc, next(pc, off), `b ${off} at 0x${pc.toString(16)}`);
      const r = executeAt(A.bl(off), pc, st({ 30: 0x1234n }));
      assert.equal(r.pc, next(pc, off), `bl ${off} at 0x${pc.toString(16)}`);
      assert.equal(r.x[30], next(pc, 4), "BL writes X30 = PC + 4");
    }
});

test("B.cond: taken exactly when ConditionHolds, for every condition and NZCV", () => {
  for (let cond = 0; cond < 16; cond++)
    for (let nzcv = 0; nzcv < 16; nzcv++) {
      const r = execute(A.bcond(cond, -8), st({}, nzcv));
      const want = conditionHolds(cond, nzcv) ? BigInt(CODE - 8) : BigInt(CODE + 4);
      assert.equal(r.pc, want, `cond ${cond} nzcv ${nzcv}`);
      assert.equal(r.nzcv, nzcv);
    }
  // the 19-bit range
  assert.equal(executeAt(A.bcond(A.COND.AL, 0xffffc), 0xffff_fffcn, st()).pc, 0x1_000f_fff8n);
  assert.equal(executeAt(A.bcond(A.COND.EQ, -0x100000), 0x1_0000_0000n, st({}, 0b0100)).pc, 0xfff0_0000n);
});

test("CBZ/CBNZ: the W form tests only the low half; XZR is always zero", () => {
  const v = 0x1_0000_0000n;
  assert.equal(execute(A.cbz(W, 3, 16), st({ 3: v })).pc, BigInt(CODE + 16), "cbz w3 with w3 = 0");
  assert.equal(execute(A.cbz(X, 3, 16), st({ 3: v })).pc, BigInt(CODE + 4), "cbz x3 with x3 != 0");
  assert.equal(execute(A.cbnz(W, 3, 16), st({ 3: v })).pc, BigInt(CODE + 4));
  assert.equal(execute(A.cbnz(X, 3, 16), st({ 3: v })).pc, BigInt(CODE + 16));
  assert.equal(execute(A.cbnz(X, 3, -16), st({ 3: 1n })).pc, BigInt(CODE - 16));
  assert.equal(execute(A.cbz(X, 31, 16), st({ 31: 5n })).pc, BigInt(CODE + 16), "cbz xzr is always taken");
  assert.equal(execute(A.cbnz(X, 31, 16), st({ 31: 5n })).pc, BigInt(CODE + 4), "cbnz xzr never is");
});

test("TBZ/TBNZ: bits 0, 31, 32, 63 and register 31", () => {
  for (const bit of [0, 1, 31, 32, 33, 62, 63]) {
    const set = st({ 4: 1n << BigInt(bit) });
    const clear = st({ 4: ~(1n << BigInt(bit)) });
    assert.equal(execute(A.tbnz(4, bit, 8), set).pc, BigInt(CODE + 8), `tbnz bit ${bit} set`);
    assert.equal(execute(A.tbnz(4, bit, 8), clear).pc, BigInt(CODE + 4), `tbnz bit ${bit} clear`);
    assert.equal(execute(A.tbz(4, bit, -8), clear).pc, BigInt(CODE - 8), `tbz bit ${bit} clear`);
    assert.equal(execute(A.tbz(4, bit, -8), set).pc, BigInt(CODE + 4), `tbz bit ${bit} set`);
  }
  assert.equal(execute(A.tbz(31, 5, 8), st({ 31: MASK64 })).pc, BigInt(CODE + 8), "tbz xzr is always taken");
  assert.equal(execute(A.tbnz(31, 5, 8), st({ 31: MASK64 })).pc, BigInt(CODE + 4));
  assert.equal(executeAt(A.tbz(0, 0, -0x8000), 0x1_0000_0000n, st()).pc, 0xffff_8000n, "the 14-bit range");
});

test("BR/BLR/RET: full 64-bit targets; BLR X30 reads the target before linking", () => {
  const target = 0x1234_5678_9abc_def0n;
  assert.equal(execute(A.br(7), st({ 7: target })).pc, target);
  let r = execute(A.blr(7), st({ 7: target }));
  assert.equal(r.pc, target);
  assert.equal(r.x[30], BigInt(CODE + 4));
  r = execute(A.blr(30), st({ 30: target }));
  assert.equal(r.pc, target);
  assert.equal(r.x[30], BigInt(CODE + 4));
  assert.equal(execute(A.ret(), st({ 30: target })).pc, target);
  assert.equal(execute(A.ret(3), st({ 3: 0x4000_2000n, 30: target })).pc, 0x4000_2000n);
  assert.equal(execute(A.br(31), st({ 31: target })).pc, 0n, "BR XZR goes to 0, not to SP");
});

test("branches: BC.cond, o1=1, the PAC register forms and stray bits are undefined", () => {
  expectUndefined((A.bcond(A.COND.EQ, 8) | 0x10) >>> 0); // BC.EQ (ARMv8.8)
  expectUndefined((A.bcond(A.COND.EQ, 8) | (1 << 24)) >>> 0);
  expectUndefined(0xd61f081f); // BRAAZ
  expectUndefined(0xd63f081f); // BLRAAZ
  expectUndefined(0xd65f0bff); // RETAA
  expectUndefined(0xd71f0820); // BRAA
  expectUndefined((A.br(1) | 1) >>> 0); // op4 != 0
  expectUndefined((A.ret() | (1 << 10)) >>> 0); // op3 != 0
  expectUndefined((A.br(1) & ~(1 << 16)) >>> 0); // op2 != 11111
  expectUndefined((A.br(1) | (3 << 21)) >>> 0); // opc = 0011
});

test("B.cond/CBZ/TBZ: random offsets, registers and addresses", () => {
  const r = rng(2001);
  for (let i = 0; i < 2000; i++) {
    const s = randomState(r);
    const pc = r.u64() & ~3n;
    const kind = r.int(3);
    let word: number;
    let off: number;
    let taken: boolean;
    if (kind === 0) {
      const cond = r.int(16);
      off = (r.int(1 << 19) - (1 << 18)) * 4;
      word = A.bcond(cond, off);
      taken = conditionHolds(cond, s.nzcv);
    } else if (kind === 1) {
      const sf = r.int(2);
      const t = r.int(32);
      if (r.bool()) s.x[t] = r.bool() ? 0n : 1n << BigInt(r.int(64));
      off = (r.int(1 << 19) - (1 << 18)) * 4;
      const nz = r.bool();
      word = (nz ? A.cbnz : A.cbz)(sf, t, off);
      const v = t === 31 ? 0n : s.x[t] & (sf ? MASK64 : 0xffff_ffffn);
      taken = nz ? v !== 0n : v === 0n;
    } else {
      const t = r.int(32);
      const bit = r.int(64);
      off = (r.int(1 << 14) - (1 << 13)) * 4;
      const nz = r.bool();
      word = (nz ? A.tbnz : A.tbz)(t, bit, off);
      const set = t !== 31 && ((s.x[t] >> BigInt(bit)) & 1n) === 1n;
      taken = nz ? set : !set;
    }
    const got = executeAt(word, pc, s);
    const want: State = { x: [...s.x], nzcv: s.nzcv, pc: taken ? next(pc, off) : next(pc, 4) };
    assert.deepEqual(got, want, `0x${word.toString(16)} at 0x${pc.toString(16)}`);
  }
});

test("a countdown loop runs through the interpreter with an exact step count", () => {
  const m = machine();
  // x0 = 1000; loop: add x1, x1, x0; subs x0, x0, #1; b.ne loop; bl +8; (skipped); ret lands after bl
  m.code(
    A.movz(X, 0, 1000),
    A.movz(X, 1, 0),
    A.addSubShifted(X, 0, 0, 1, 1, 0),
    A.subsImm(X, 0, 0, 1),
    A.bcond(A.COND.NE, -8),
    A.bl(8),
    A.NOP,
    A.movz(X, 2, 7),
  );
  const before = m.clock.icount;
  m.run(2 + 3 * 1000 + 1 + 1);
  assert.equal(m.x(1), 500500n);
  assert.equal(m.x(0), 0n);
  assert.equal(m.x(30), BigInt(CODE + 24));
  assert.equal(m.x(2), 7n);
  assert.equal(m.pc, BigInt(CODE + 32));
  assert.equal(m.clock.icount - before, 3004);
});

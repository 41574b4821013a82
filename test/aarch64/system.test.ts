// System instructions and the exception model, with expected values from the Arm ARM (D1.10 exception entry,
// C5.2 special-purpose registers, C6.2 MRS/MSR/ERET/SVC).

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine, CODE, RAM_BASE } from "./harness.js";
import { sysregKey } from "../../src/arch/aarch64/sysregs.js";

const mrs = (rt: number, key: number) => (0xd5300000 | ((key & 0x7fff) << 5) | rt) >>> 0;
const msr = (key: number, rt: number) => (0xd5100000 | ((key & 0x7fff) << 5) | rt) >>> 0;
const svc = (imm: number) => (0xd4000001 | (imm << 5)) >>> 0;
const ERET = 0xd69f03e0;
const NOP = 0xd503201f;
const WFI = 0xd503207f;
const daifclr = (imm: number) => (0xd50340ff | (imm << 8)) >>> 0;
const daifset = (imm: number) => (0xd50340df | (imm << 8)) >>> 0;

test("SVC enters the EL1 synchronous vector with ESR, ELR = next instruction and SPSR = old PSTATE", () => {
  const m = new TestMachine().code(svc(0x12), NOP);
  m.setNzcv(0b1010);
  m.bus.write32(RAM_BASE + 0x200, ERET);
  m.run(1);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x200));
  assert.equal(m.cpu.sys.esrEl1, (0x15 << 26) | (1 << 25) | 0x12);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 4);
  assert.equal(m.cpu.sys.spsrEl1, 0xa00003c5); // NZCV=1010, DAIF masked, EL1h
  m.setNzcv(0);
  m.run(1); // ERET
  assert.equal(m.pc, BigInt(CODE + 4));
  assert.equal(m.nzcv, 0b1010);
  assert.equal(m.clock.icount, 2);
});

test("exceptions from EL0 use the lower-EL vector and ERET restores EL0 with SP_EL0 banked", () => {
  const m = new TestMachine();
  m.setSp(0x40080000n);
  m.cpu.sys.spsrEl1 = 0; // EL0t
  m.cpu.sys.elrEl1Lo = CODE + 8;
  m.cpu.writeSpEl(0, 0x40070000, 0);
  m.code(ERET, NOP, svc(1));
  m.run(1);
  assert.equal(m.cpu.el, 0);
  assert.equal(m.pc, BigInt(CODE + 8));
  assert.equal(m.sp, 0x40070000n);
  m.run(1); // SVC from EL0
  assert.equal(m.cpu.el, 1);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x400));
  assert.equal(m.sp, 0x40080000n);
  assert.deepEqual(m.cpu.readSpEl(0), [0x40070000, 0]);
});

test("MRS reads CurrentEL, MIDR_EL1 (Cortex-A53) and NZCV; MSR writes NZCV", () => {
  const m = new TestMachine().code(
    mrs(0, sysregKey(3, 0, 4, 2, 2)),
    mrs(1, sysregKey(3, 0, 0, 0, 0)),
    msr(sysregKey(3, 3, 4, 2, 0), 2),
    mrs(3, sysregKey(3, 3, 4, 2, 0)),
  );
  m.setX(2, 0x60000000n);
  m.run(4);
  assert.equal(m.x(0), 4n);
  assert.equal(m.x(1), 0x410fd034n);
  assert.equal(m.nzcv, 0b0110);
  assert.equal(m.x(3), 0x60000000n);
});

test("an unknown system register is UNDEFINED and reported once", () => {
  const m = new TestMachine().code(mrs(0, sysregKey(3, 0, 15, 15, 7)));
  m.run(1);
  assert.equal(m.lastEc, 0);
  assert.equal(m.undefinedReports.length, 1);
});

test("EL1 registers are UNDEFINED from EL0", () => {
  const m = new TestMachine();
  m.cpu.setMode(0, 0);
  m.code(mrs(0, sysregKey(3, 0, 1, 0, 0)));
  m.run(1);
  assert.equal(m.cpu.el, 1);
  assert.equal(m.lastEc, 0);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x400));
});

test("an unmasked IRQ is taken at the step boundary as one step; a masked one waits", () => {
  const m = new TestMachine().code(NOP, daifclr(2), NOP);
  m.cpu.irqLine = true;
  m.run(2); // IRQ masked: both instructions run
  assert.equal(m.pc, BigInt(CODE + 8));
  assert.equal(m.cpu.daif, 0xd);
  m.run(1);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x280));
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 8);
  assert.equal(m.cpu.daif, 0xf);
  assert.equal(m.clock.icount, 3);
});

test("exception entry keeps NZCV (Arm ARM AArch64.TakeException) and saves them in SPSR", () => {
  const m = new TestMachine().code(daifclr(2), NOP);
  m.setNzcv(0b0110);
  m.cpu.irqLine = true;
  m.run(2); // MSR DAIFClr, then the IRQ
  assert.equal(m.pc, BigInt(RAM_BASE + 0x280));
  assert.equal(m.nzcv, 0b0110); // unchanged: TakeException writes EL, SP, SS, DAIF, IL but not NZCV
  assert.equal(m.cpu.sys.spsrEl1, 0x60000345); // NZCV=0110, I unmasked, EL1h
});

test("taking an interrupt is one step but no virtual time passes (QEMU's icount counts instructions only)", () => {
  const cntvct = sysregKey(3, 3, 14, 0, 2);
  const m = new TestMachine().code(mrs(0, cntvct), daifclr(2), NOP);
  m.bus.write32(RAM_BASE + 0x280, mrs(1, cntvct)); // the IRQ vector reads the counter again
  m.run(2);
  m.cpu.irqLine = true;
  const ticks = m.clock.ticks;
  m.run(1); // the IRQ
  assert.equal(m.pc, BigInt(RAM_BASE + 0x280));
  assert.equal(m.clock.icount, 3);
  assert.equal(m.clock.ticks, ticks);
  m.run(1);
  assert.equal(m.x(1) - m.x(0), 16n); // two instructions after the first read, 8 each at shift 7
  // The burst loop (the run loop's fast path) counts the same way.
  const b = new TestMachine().code(mrs(0, cntvct), daifclr(2), NOP);
  b.bus.write32(RAM_BASE + 0x280, mrs(1, cntvct));
  b.interp.runBurst(2);
  b.cpu.irqLine = true;
  assert.equal(b.interp.runBurst(2), 2);
  assert.equal(b.clock.icount, 4);
  assert.equal(b.x(1) - b.x(0), 16n);
});

test("WFI halts until an interrupt is pending, even a masked one", () => {
  const m = new TestMachine().code(daifset(2), WFI, NOP);
  m.run(2);
  assert.equal(m.cpu.halted, true);
  assert.equal(m.interp.runBurst(1), 0);
  assert.equal(m.clock.icount, 2);
  m.cpu.irqLine = true;
  assert.equal(m.interp.runBurst(1), 1);
  assert.equal(m.pc, BigInt(CODE + 12));
});

test("the virtual counter advances 8 per instruction at shift 7 (62.5 MHz)", () => {
  const cntvct = sysregKey(3, 3, 14, 0, 2);
  const m = new TestMachine().code(mrs(0, cntvct), NOP, NOP, mrs(1, cntvct));
  m.run(4);
  assert.equal(m.x(1) - m.x(0), 24n);
});

test("the virtual timer raises its PPI when CVAL is reached and the CPU wakes from WFI", () => {
  const m = new TestMachine();
  const ctl = sysregKey(3, 3, 14, 3, 1);
  const tval = sysregKey(3, 3, 14, 3, 0);
  m.setX(0, 80n).setX(1, 1n);
  m.code(msr(tval, 0), msr(ctl, 1), WFI);
  m.run(3);
  assert.equal(m.cpu.halted, true);
  assert.equal(m.irqLevels.get(27), undefined);
  assert.ok(m.clock.skipToNextDeadline());
  m.clock.runDue();
  assert.equal(m.irqLevels.get(27), true);
});

test("FP/SIMD register access traps with EC 0x07 while CPACR_EL1.FPEN disables it", () => {
  const m = new TestMachine();
  m.cpu.sys.cpacr = 0;
  m.code(mrs(0, sysregKey(3, 3, 4, 4, 0))); // mrs x0, fpcr
  m.run(1);
  assert.equal(m.lastEc, 0x07);
});

test("a misaligned PC raises a PC alignment fault", () => {
  const m = new TestMachine();
  m.setPc(BigInt(CODE + 2));
  m.run(1);
  assert.equal(m.lastEc, 0x22);
  assert.equal(m.cpu.sys.farEl1Lo, CODE + 2);
});

test("fetching from an unmapped address raises an instruction abort", () => {
  const m = new TestMachine();
  m.setPc(0x1000n);
  m.run(1);
  assert.equal(m.lastEc, 0x21);
  assert.equal(m.cpu.sys.esrEl1 & 0x3f, 0x10);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x200));
});

test("CPU state round-trips through the serialization mechanism", () => {
  const m = new TestMachine().code(svc(3));
  m.setX(5, 0x123456789abcdefn).setV(2, 0x11112222333344445555666677778888n).setNzcv(0b1001);
  m.run(1);
  const saved = m.cpu.saveState();
  const m2 = new TestMachine();
  m2.cpu.loadState(saved, m2.cpu.stateVersion);
  assert.deepEqual(m2.cpu.saveState(), saved);
  assert.equal(m2.x(5), 0x123456789abcdefn);
  assert.equal(m2.pc, m.pc);
});

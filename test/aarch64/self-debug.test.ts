// Self-hosted debug (src/arch/aarch64/self-debug.ts), with expected values from the Arm ARM pseudocode:
// AArch64.BreakpointMatch / AArch64.WatchpointMatch (BAS, MASK, LSC, PMC/PAC, SSC, linked context breakpoints),
// AArch64.GenerateDebugExceptionsFrom (OS lock, KDE, PSTATE.D), the software step state machine (SSAdvance,
// CheckSoftwareStep, DebugExceptionReturnSS) and the syndromes (D2.10 breakpoint, D2.11 watchpoint, D2.12 step).

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine, CODE, DATA, RAM_BASE } from "./harness.js";
import { sysregKey } from "../../src/arch/aarch64/sysregs.js";
import { WATCH_STOP } from "../../src/arch/aarch64/cpu.js";
import {
  breakpointMatches, watchedRange, watchpointMatches, isLoadExclusive, debugRegIndex,
  MDSCR_KDE, MDSCR_MDE, MDSCR_SS, type DebugRegisterFile,
} from "../../src/arch/aarch64/self-debug.js";

const msr = (key: number, rt: number) => (0xd5100000 | ((key & 0x7fff) << 5) | rt) >>> 0;
const K_MDSCR = sysregKey(2, 0, 0, 2, 2);
const K_OSLAR = sysregKey(2, 0, 1, 0, 4);
const K_BVR0 = sysregKey(2, 0, 0, 0, 4);
const K_BCR0 = sysregKey(2, 0, 0, 0, 5);
const NOP = 0xd503201f;
const ERET = 0xd69f03e0;
const STR_X1_X2 = 0xf9000041;
const LDR_X1_X2 = 0xf9400041;
const STRB_W1_X2 = 0x39000041;
const ADD_X0_1 = 0x91000400;
const LDXR_X1_X2 = 0xc85f7c41;
const svc = (imm: number) => (0xd4000001 | (imm << 5)) >>> 0;
const brk = (imm: number) => (0xd4200000 | (imm << 5)) >>> 0;

const E = 1;
const EL1 = 1 << 1;
const EL0 = 2 << 1;
const BAS_A64 = 0xf << 5;
const LOAD = 1 << 3;
const STORE = 2 << 3;
const wbas = (b: number) => b << 5;
const wmask = (m: number) => m << 24;

/** A register file for the pure matchers. */
function regs(set: { bp?: [number, number, number, number][]; wp?: [number, number, number, number][]; contextidr?: number }): DebugRegisterFile {
  const debugRegs = new Uint32Array(6 * 8);
  for (const [n, lo, hi, ctrl] of set.bp ?? []) {
    debugRegs[debugRegIndex(n, 0)] = lo;
    debugRegs[debugRegIndex(n, 0) + 1] = hi;
    debugRegs[debugRegIndex(n, 1)] = ctrl;
  }
  for (const [n, lo, hi, ctrl] of set.wp ?? []) {
    debugRegs[debugRegIndex(n, 2)] = lo;
    debugRegs[debugRegIndex(n, 2) + 1] = hi;
    debugRegs[debugRegIndex(n, 3)] = ctrl;
  }
  return { debugRegs, contextidr: set.contextidr ?? 0 };
}

test("BreakpointMatch: address, BAS as an A64 instruction sees it, PMC by EL, SSC, BT", () => {
  const at = (ctrl: number, el = 1, pc = 0x40001000, pcHi = 0) => breakpointMatches(regs({ bp: [[0, 0x40001000, 0, ctrl]] }), 0, pc, pcHi, el);
  assert.equal(at(E | EL1 | BAS_A64), true);
  assert.equal(at(E | EL1 | BAS_A64, 1, 0x40001004), false);
  assert.equal(at(E | EL1 | BAS_A64, 1, 0x40001000, 1), false, "the high half of the address counts");
  assert.equal(at(EL1 | BAS_A64), false, "E clear");
  // BAS reads as 0b0011 or 0b1100 too (bits 6 and 8 copy 5 and 7): the first halfword selects the instruction.
  assert.equal(at(E | EL1 | (0b0011 << 5)), true);
  assert.equal(at(E | EL1 | (0b1100 << 5)), false);
  assert.equal(at(E | EL1), false, "BAS 0");
  // PMC: bit 0 EL1, bit 1 EL0.
  assert.equal(at(E | EL0 | BAS_A64, 1), false);
  assert.equal(at(E | EL0 | BAS_A64, 0), true);
  assert.equal(at(E | EL1 | BAS_A64, 0), false);
  assert.equal(at(E | EL0 | EL1 | BAS_A64, 0), true);
  // SSC = 0b10 is Secure only; this CPU is Non-secure. SSC = 0b01 is Non-secure.
  assert.equal(at(E | EL1 | BAS_A64 | (2 << 14)), false);
  assert.equal(at(E | EL1 | BAS_A64 | (1 << 14)), true);
  // BT: context-ID and reserved types never match an address.
  assert.equal(at(E | EL1 | BAS_A64 | (2 << 20)), false);
  assert.equal(at(E | EL1 | BAS_A64 | (4 << 20)), false);
});

test("BreakpointMatch: a linked address breakpoint needs its context breakpoint (4 or 5) to match CONTEXTIDR_EL1", () => {
  const linked = E | EL1 | BAS_A64 | (1 << 20);
  const ctx = E | EL1 | BAS_A64 | (3 << 20);
  const r = (lbn: number, ctxValue: number, ctxCtrl = ctx) =>
    regs({ bp: [[0, 0x40001000, 0, linked | (lbn << 16)], [lbn, ctxValue, 0, ctxCtrl]], contextidr: 0x1234 });
  assert.equal(breakpointMatches(r(4, 0x1234), 0, 0x40001000, 0, 1), true);
  assert.equal(breakpointMatches(r(5, 0x1234), 0, 0x40001000, 0, 1), true);
  assert.equal(breakpointMatches(r(4, 0x1235), 0, 0x40001000, 0, 1), false);
  assert.equal(breakpointMatches(r(4, 0x1234, ctx & ~E), 0, 0x40001000, 0, 1), false, "context breakpoint disabled");
  assert.equal(breakpointMatches(r(2, 0x1234), 0, 0x40001000, 0, 1), false, "breakpoint 2 is not context-aware");
  // The context breakpoint itself matches no address.
  assert.equal(breakpointMatches(r(4, 0x1234), 4, 0x1234, 0, 1), false);
});

test("WatchpointMatch ranges: BAS byte select, word-aligned WVR, MASK, disabled encodings", () => {
  const range = (lo: number, wcr: number) => watchedRange(regs({ wp: [[0, lo, 0, wcr]] }), 0);
  assert.deepEqual(range(0x40010000, E | STORE | wbas(0xff)), [0x40010000, 0, 8]);
  assert.deepEqual(range(0x40010000, E | STORE | wbas(0x0c)), [0x40010002, 0, 2]);
  assert.deepEqual(range(0x40010000, E | STORE | wbas(0xf0)), [0x40010004, 0, 4]);
  // WVR[2] set: a word; BAS[7:4] ignored.
  assert.deepEqual(range(0x40010004, E | STORE | wbas(0xf3)), [0x40010004, 0, 2]);
  assert.equal(range(0x40010004, E | STORE | wbas(0xf0)), undefined);
  // Non-contiguous BAS (CONSTRAINED UNPREDICTABLE): the first run of ones, as QEMU.
  assert.deepEqual(range(0x40010000, E | STORE | wbas(0b10110)), [0x40010001, 0, 2]);
  // MASK: 2^MASK bytes from the address with its low MASK bits cleared (BAS ignored).
  assert.deepEqual(range(0x40010018, E | STORE | wbas(0xff) | wmask(5)), [0x40010000, 0, 32]);
  assert.deepEqual(range(0x40010018, E | STORE | wbas(0xff) | wmask(3)), [0x40010018, 0, 8]);
  assert.deepEqual(range(0xc0001234, E | STORE | wbas(0xff) | wmask(31)), [0x80000000, 0, 0x80000000]);
  assert.equal(range(0x40010000, E | STORE | wbas(0xff) | wmask(1)), undefined, "MASK 1 reserved: disabled");
  assert.equal(range(0x40010000, E | STORE | wbas(0xff) | wmask(2)), undefined, "MASK 2 reserved: disabled");
  assert.equal(range(0x40010000, E | wbas(0xff)), undefined, "LSC 0");
  assert.equal(range(0x40010000, STORE | wbas(0xff)), undefined, "E clear");
  assert.equal(range(0x40010000, E | STORE), undefined, "BAS 0");
  // A carry into the high half.
  assert.deepEqual(watchedRange(regs({ wp: [[0, 0xfffffff8, 7, E | STORE | wbas(0x80)]] }), 0), [0xffffffff, 7, 1]);
});

test("WatchpointMatch accesses: any byte in range, LSC, PAC, FAR = the higher of access and first watched byte", () => {
  const r = regs({ wp: [[0, 0x40010000, 0, E | EL1 | STORE | wbas(0x30)]] }); // bytes 4-5
  const m = (lo: number, size: number, isWrite = true, el = 1) => watchpointMatches(r, 0, lo, 0, size, isWrite, el);
  assert.deepEqual(m(0x40010004, 1), [0x40010004, 0]);
  assert.deepEqual(m(0x40010005, 1), [0x40010005, 0]);
  assert.equal(m(0x40010006, 1), undefined);
  assert.equal(m(0x40010003, 1), undefined);
  assert.deepEqual(m(0x40010000, 8), [0x40010004, 0], "an 8-byte store over the range");
  assert.deepEqual(m(0x40010002, 4), [0x40010004, 0]);
  assert.equal(m(0x40010000, 4), undefined);
  assert.equal(m(0x40010004, 1, false), undefined, "a load, LSC = store");
  assert.equal(m(0x40010004, 1, true, 0), undefined, "EL0, PAC = EL1");
  const both = regs({ wp: [[1, 0x40010000, 0, E | EL0 | LOAD | STORE | wbas(0xff)]] });
  assert.deepEqual(watchpointMatches(both, 1, 0x40010007, 0, 1, false, 0), [0x40010007, 0]);
  assert.equal(watchpointMatches(both, 1, 0x40010007, 1, 1, false, 0), undefined, "another high half");
  assert.equal(watchpointMatches(both, 1, 0x40010008, 0, 8, false, 0), undefined);
  assert.deepEqual(watchpointMatches(both, 1, 0x4000fff8, 0, 16, true, 0), [0x40010000, 0], "a 16-byte access");
});

test("ESR.EX names load-exclusives only", () => {
  assert.equal(isLoadExclusive(LDXR_X1_X2), true);
  assert.equal(isLoadExclusive(0x885ffc41), true); // ldaxr w1
  assert.equal(isLoadExclusive(0xc87f1041), true); // ldxp
  assert.equal(isLoadExclusive(0x085ffc41), true); // ldaxrb
  assert.equal(isLoadExclusive(0xc8037c41), false); // stxr
  assert.equal(isLoadExclusive(0xc8dffc41), false); // ldar
  assert.equal(isLoadExclusive(LDR_X1_X2), false);
});

/** A machine at EL1 with the OS lock cleared and MDSCR_EL1 set through MSR (the hooks re-arm on the writes). */
function debugMachine(mdscr: number, ...code: number[]): TestMachine {
  const m = new TestMachine();
  m.setX(20, 0).setX(21, mdscr);
  m.code(msr(K_OSLAR, 20), msr(K_MDSCR, 21), ...code);
  m.run(2);
  assert.equal(m.cpu.sys.oslsr, 0x8);
  return m;
}

const ESR_IL = 1 << 25;

test("breakpoint at EL1: taken before the instruction with EC 0x31, ELR = it, FAR 0; gated by MDE, KDE, PSTATE.D", () => {
  for (const [mdscr, dMasked, hits] of [
    [MDSCR_MDE | MDSCR_KDE, false, true],
    [MDSCR_MDE, false, false],
    [MDSCR_KDE, false, false],
    [MDSCR_MDE | MDSCR_KDE, true, false],
  ] as const) {
    // msr dbgbvr0_el1, x1; msr dbgbcr0_el1, x2 (through the hooks); then the ADD the breakpoint is on.
    const m = debugMachine(mdscr, msr(K_BVR0, 1), msr(K_BCR0, 2), ADD_X0_1);
    m.cpu.daif = dMasked ? 0xf : 0x7;
    m.cpu.sys.farEl1Lo = 0x1111;
    m.setX(1, CODE + 16).setX(2, E | EL1 | BAS_A64);
    m.run(2);
    const icount = m.clock.icount;
    m.run(1);
    if (!hits) {
      assert.equal(m.x(0), 1n, `mdscr ${mdscr.toString(16)} D ${dMasked}: the ADD ran`);
      continue;
    }
    assert.equal(m.x(0), 0n, "the ADD did not run");
    assert.equal(m.pc, BigInt(RAM_BASE + 0x200));
    assert.equal(m.cpu.sys.esrEl1, ((0x31 << 26) | ESR_IL | 0x22) >>> 0);
    assert.equal(m.cpu.sys.elrEl1Lo, CODE + 16);
    assert.equal(m.cpu.sys.farEl1Lo, 0);
    assert.equal(m.clock.icount, icount + 1, "a step");
    assert.equal(m.clock.ticks, icount, "that adds no time");
  }
});

test("the OS lock (set at reset, as QEMU's Cortex-A53) disables breakpoints, watchpoints and step", () => {
  const m = new TestMachine().code(STR_X1_X2, NOP);
  assert.equal(m.cpu.sys.oslsr, 0xa);
  m.cpu.sys.mdscr = MDSCR_MDE | MDSCR_KDE | MDSCR_SS;
  m.cpu.sys.debugRegs[debugRegIndex(0, 0)] = CODE;
  m.cpu.sys.debugRegs[debugRegIndex(0, 1)] = E | EL1 | BAS_A64;
  m.cpu.sys.debugRegs[debugRegIndex(0, 2)] = DATA;
  m.cpu.sys.debugRegs[debugRegIndex(0, 3)] = E | EL1 | STORE | wbas(0xff);
  m.cpu.selfDebug.update();
  assert.equal(m.cpu.selfDebugArmed, false, "locked: nothing armed, so compiled code may run");
  m.cpu.daif = 0;
  m.setX(2, DATA).setX(1, 7);
  m.run(2);
  assert.equal(m.pc, BigInt(CODE + 8));
  assert.equal(m.bus.read32(DATA), 7);
  // Unlocked: the step is active-pending (PSTATE.SS is 0 at EL1), and has priority over the breakpoint.
  m.cpu.sys.oslsr = 0x8;
  m.cpu.selfDebug.update();
  assert.equal(m.cpu.selfDebugArmed, true);
  m.setPc(BigInt(CODE));
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x33);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE);
  // Without step, the breakpoint.
  m.cpu.sys.mdscr &= ~MDSCR_SS;
  m.cpu.daif = 0;
  m.setPc(BigInt(CODE));
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x31);
});

test("watchpoint: taken before the store commits, EC 0x35/0x34, WnR, FAR, ELR = the instruction", () => {
  const m = debugMachine(MDSCR_MDE | MDSCR_KDE, STRB_W1_X2, LDR_X1_X2);
  m.cpu.daif = 0x7;
  m.cpu.sys.debugRegs[debugRegIndex(0, 2)] = DATA;
  m.cpu.sys.debugRegs[debugRegIndex(0, 3)] = E | EL1 | EL0 | LOAD | STORE | wbas(0x0c);
  m.cpu.selfDebug.update();
  m.setX(1, 0x5a).setX(2, DATA + 3);
  const ticks = m.clock.ticks;
  m.run(1);
  assert.equal(m.clock.ticks, ticks, "a step that adds no time, as under QEMU's icount");
  assert.equal(m.bus.read8(DATA + 3), 0, "the store did not happen");
  assert.equal(m.cpu.sys.esrEl1, ((0x35 << 26) | ESR_IL | (1 << 6) | 0x22) >>> 0);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 8);
  assert.equal(m.cpu.sys.farEl1Lo, DATA + 3);
  // A load over the range from EL0: EC 0x34, WnR 0, FAR the first watched byte.
  m.cpu.setMode(0, 0);
  m.cpu.daif = 0;
  m.setPc(BigInt(CODE + 12)).setX(2, DATA);
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1, ((0x34 << 26) | ESR_IL | 0x22) >>> 0);
  assert.equal(m.cpu.sys.farEl1Lo, DATA + 2);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 12);
  assert.equal(m.x(1), 0x5an, "the load did not write its register");
});

/** Enters EL0 at CODE + 16 with ERET from SPSR (NOPs there), MDSCR.SS set. */
function stepMachine(spsr: number, ...el0: number[]): TestMachine {
  const m = debugMachine(MDSCR_SS, ERET);
  m.cpu.sys.spsrEl1 = spsr;
  m.cpu.sys.elrEl1Lo = CODE + 16;
  el0.forEach((w, i) => m.bus.write32(CODE + 16 + 4 * i, w));
  m.run(1); // ERET
  assert.equal(m.cpu.el, 0);
  return m;
}

test("software step: ERET with SPSR.SS = 1 steps one instruction, then EC 0x32 with ISV = 1 and ELR the next", () => {
  const m = stepMachine(1 << 21, ADD_X0_1, ADD_X0_1);
  assert.equal(m.cpu.ss, 1, "active-not-pending");
  const before = m.clock.icount;
  m.run(1);
  assert.equal(m.x(0), 1n, "exactly one instruction");
  assert.equal(m.cpu.el, 1);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x400));
  assert.equal(m.cpu.sys.esrEl1, ((0x32 << 26) | ESR_IL | (1 << 24) | 0x22) >>> 0);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 20);
  assert.equal(m.cpu.sys.spsrEl1 & (1 << 21), 0, "SPSR.SS = 0: the step completed");
  assert.equal(m.clock.icount, before + 1, "the step exception belongs to the stepped instruction's step");
});

test("software step: a stepped load-exclusive sets ESR.EX", () => {
  const m = stepMachine(1 << 21, LDXR_X1_X2);
  m.setX(2, DATA);
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1, ((0x32 << 26) | ESR_IL | (1 << 24) | (1 << 6) | 0x22) >>> 0);
});

test("software step: ERET with SPSR.SS = 0 is active-pending: the exception comes first, ISV = 0, ELR = the instruction", () => {
  const m = stepMachine(0, ADD_X0_1);
  assert.equal(m.cpu.ss, 0);
  m.run(1);
  assert.equal(m.x(0), 0n);
  assert.equal(m.cpu.sys.esrEl1, ((0x32 << 26) | ESR_IL | 0x22) >>> 0);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 16);
});

test("software step: a stepped SVC saves SPSR.SS = 0; BRK and a watchpoint on it save SPSR.SS = 1", () => {
  let m = stepMachine(1 << 21, svc(3));
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x15);
  assert.equal(m.cpu.sys.spsrEl1 & (1 << 21), 0);
  m = stepMachine(1 << 21, brk(3));
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x3c);
  assert.equal(m.cpu.sys.spsrEl1 & (1 << 21), 1 << 21, "BRK did not complete: it is stepped again after the return");
  m = stepMachine(1 << 21, STR_X1_X2);
  m.cpu.sys.mdscr |= MDSCR_MDE;
  m.cpu.sys.debugRegs[debugRegIndex(0, 2)] = DATA;
  m.cpu.sys.debugRegs[debugRegIndex(0, 3)] = E | EL0 | STORE | wbas(0xff);
  m.cpu.selfDebug.update();
  m.setX(2, DATA);
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x34);
  assert.equal(m.cpu.sys.spsrEl1 & (1 << 21), 1 << 21);
});

test("software step: an interrupt before the stepped instruction saves SPSR.SS = 1; returning steps it", () => {
  const m = stepMachine(1 << 21, ADD_X0_1, ADD_X0_1);
  m.cpu.irqLine = true;
  m.run(1);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x480));
  assert.equal(m.cpu.sys.spsrEl1 & (1 << 21), 1 << 21);
  m.cpu.irqLine = false;
  m.bus.write32(RAM_BASE + 0x480, ERET);
  m.run(1); // ERET with SS = 1 back to EL0
  assert.equal(m.cpu.ss, 1);
  m.run(1);
  assert.equal(m.x(0), 1n);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x32);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 20);
});

test("DebugExceptionReturnSS: SPSR.SS only when step is disabled at the ERET and enabled where it returns", () => {
  const m = debugMachine(MDSCR_SS | MDSCR_KDE);
  const sd = m.cpu.selfDebug;
  m.cpu.daif = 0xf; // in a handler: D masked, so disabled at the source
  assert.equal(sd.returnSs(1 << 21, 0), 1, "to EL0");
  assert.equal(sd.returnSs((1 << 21) | 0x3c5 /* D set */, 1), 0, "to EL1 with D masked: disabled there");
  assert.equal(sd.returnSs((1 << 21) | 0x5, 1), 1, "to EL1h with D clear and KDE");
  assert.equal(sd.returnSs(0, 0), 0);
  m.cpu.daif = 0x7; // enabled at the source: the ERET itself is being stepped
  assert.equal(sd.returnSs(1 << 21, 0), 0);
  m.cpu.sys.mdscr = MDSCR_KDE;
  m.cpu.daif = 0xf;
  assert.equal(sd.returnSs(1 << 21, 0), 0, "MDSCR.SS clear");
});

test("software step at EL1 needs KDE and PSTATE.D clear; clearing D while pending takes it at once (ISV = 0)", () => {
  const daifclrD = 0xd50348ff; // msr daifclr, #8
  const m = debugMachine(MDSCR_SS | MDSCR_KDE, ADD_X0_1, daifclrD, ADD_X0_1);
  assert.equal(m.cpu.daif, 0xf);
  m.run(2); // D masked: the ADD runs unstepped; then D cleared
  assert.equal(m.x(0), 1n);
  m.run(1);
  assert.equal(m.x(0), 1n, "the step exception was taken instead");
  assert.equal(m.cpu.sys.esrEl1, ((0x33 << 26) | ESR_IL | 0x22) >>> 0);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE + 16);
});

test("PSTATE.SS is saved (cpu state version 3); a version-2 state loads it as 0", () => {
  const m = stepMachine(1 << 21, ADD_X0_1);
  assert.equal(m.cpu.ss, 1);
  const saved = m.cpu.saveState();
  const m2 = new TestMachine();
  m2.cpu.loadState(saved, m2.cpu.stateVersion);
  assert.equal(m2.cpu.ss, 1);
  assert.equal(m2.cpu.selfDebugArmed, true, "re-armed from the loaded registers");
  const old = { ...saved };
  delete (old as Record<string, unknown>).ss;
  m2.cpu.loadState(old, 2);
  assert.equal(m2.cpu.ss, 0);
  m2.run(1);
  assert.equal(m2.cpu.sys.esrEl1 >>> 26, 0x32, "a pending step");
});

test("debug registers read back as QEMU keeps them: BAS copies in DBGBCR, DBGWVR[1:0] RES0, 64-bit values", () => {
  const m = new TestMachine();
  const sys = m.cpu.sys;
  const write = (name: string, v: bigint) => {
    const d = [...Array(1 << 16).keys()].map((k) => sys.lookup(k)).find((x) => x?.name === name)!;
    d.write!(sys, Number(v & 0xffffffffn), Number(v >> 32n));
  };
  write("DBGBCR0_EL1", 0xa0n);
  assert.equal(sys.readByName("DBGBCR0_EL1"), 0x1e0n);
  write("DBGBCR0_EL1", 0x20n);
  assert.equal(sys.readByName("DBGBCR0_EL1"), 0x60n);
  write("DBGWVR1_EL1", 0xffff800040001237n);
  assert.equal(sys.readByName("DBGWVR1_EL1"), 0xffff800040001234n);
  write("DBGBVR5_EL1", 0x1234567n);
  assert.equal(sys.readByName("DBGBVR5_EL1"), 0x1234567n);
  write("MDSCR_EL1", BigInt(MDSCR_MDE));
  write("DBGWCR1_EL1", BigInt(E | EL1 | STORE | wbas(0xff)));
  assert.equal(m.cpu.selfDebugArmed, false, "the OS lock is still set");
  write("OSLAR_EL1", 0n);
  assert.equal(m.cpu.selfDebugArmed, true);
  assert.equal(m.cpu.guestWatch, true);
});

test("the debugger's breakpoints and watchpoints come first and are not the guest's", () => {
  const m = debugMachine(MDSCR_MDE | MDSCR_KDE, ADD_X0_1, STR_X1_X2, NOP);
  m.cpu.daif = 0;
  const sys = m.cpu.sys;
  sys.debugRegs[debugRegIndex(0, 0)] = CODE + 8;
  sys.debugRegs[debugRegIndex(0, 1)] = E | EL1 | BAS_A64;
  sys.debugRegs[debugRegIndex(0, 2)] = DATA;
  sys.debugRegs[debugRegIndex(0, 3)] = E | EL1 | STORE | wbas(0xff);
  m.cpu.selfDebug.update();
  // A GDB breakpoint on the same instruction: the emulator stops before it; the guest sees nothing yet.
  m.interp.breakpoints = new Set([CODE + 8]);
  m.interp.runBurst(1);
  assert.equal(m.interp.takeDebugStop(), true);
  assert.equal(m.pc, BigInt(CODE + 8));
  assert.equal(m.cpu.el, 1);
  assert.equal(m.cpu.sys.esrEl1, 0);
  // Resumed without it: the guest's breakpoint exception.
  m.interp.breakpoints = null;
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x31);
  // A GDB watchpoint on the store the guest watches too: the stop comes first, the store taken back.
  sys.debugRegs[debugRegIndex(0, 1)] = 0;
  m.cpu.selfDebug.update();
  m.cpu.daif = 0; // (the exception entry masked D)
  m.setPc(BigInt(CODE + 12)).setX(1, 9).setX(2, DATA);
  const seen: bigint[] = [];
  m.cpu.watchHook = (lo, hi) => {
    seen.push((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    throw WATCH_STOP;
  };
  const esr = m.cpu.sys.esrEl1;
  m.interp.runBurst(1);
  assert.equal(m.interp.takeDebugStop(), true);
  assert.deepEqual(seen, [BigInt(DATA)]);
  assert.equal(m.pc, BigInt(CODE + 12));
  assert.equal(m.cpu.sys.esrEl1, esr);
  m.cpu.watchHook = null;
  m.run(1);
  assert.equal(m.cpu.sys.esrEl1 >>> 26, 0x35);
  assert.equal(m.bus.read32(DATA), 0);
  // With the guest's watchpoint gone, GDB's hook alone sees the access, as before.
  sys.debugRegs[debugRegIndex(0, 3)] = 0;
  m.cpu.selfDebug.update();
  assert.equal(m.cpu.guestWatch, false);
  m.cpu.daif = 0;
  m.setPc(BigInt(CODE + 12));
  m.run(1);
  assert.equal(m.bus.read32(DATA), 9);
});

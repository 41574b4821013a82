// AArch64 self-hosted debug (Arm ARM D2): the guest's own hardware breakpoints (DBGBVR/BCR0-5), watchpoints
// (DBGWVR/WCR0-3) and software step (MDSCR_EL1.SS with PSTATE.SS), all taken to EL1 (this CPU has no EL2/EL3).
//
// This is not the debugger's breakpoints and watchpoints (debug.ts): those stop the emulator; these raise
// exceptions in the guest. The CPU keeps one flag, `selfDebugArmed`, recomputed whenever a register that arms
// them is written (MDSCR_EL1, the OS lock, a control register) or the state is loaded: while it is clear the
// interpreter and the compiled tiers pay nothing; while it is set the block engine leaves every step to the
// interpreter, which asks this module before each instruction and after a stepped one.
//
// Where the architecture leaves a choice (CONSTRAINED UNPREDICTABLE, UNKNOWN), QEMU 7.2's choice is made, so the
// guest-visible results are the same: FAR is 0 after a breakpoint exception; a watchpoint exception's FAR is the
// higher of the access's address and the first watched byte; non-contiguous BAS bits watch their first run of
// ones; BAS and MASK together watch the whole masked range; reserved MASK values (1, 2) and LSC 0 disable it.

import type { Cpu } from "./cpu.js";
import { EC, VectorKind } from "./cpu.js";

export const MDSCR_SS = 1 << 0;
export const MDSCR_KDE = 1 << 13;
export const MDSCR_MDE = 1 << 15;
/** OSLSR_EL1.OSLK: the OS lock is set (its reset value, as on QEMU's Cortex-A53: debug exceptions are off). */
export const OSLSR_OSLK = 1 << 1;
/** PSTATE.SS as SPSR holds it. */
export const SPSR_SS = 1 << 21;
const SPSR_D = 1 << 9;

export const BREAKPOINTS = 6;
export const WATCHPOINTS = 4;
/** Breakpoints 4 and 5 are the context-aware ones (ID_AA64DFR0_EL1.CTX_CMPs = 1). */
const FIRST_CONTEXT_BREAKPOINT = 4;

/** ESR ISS low bits of every debug exception but BRK: the fault status "debug event". */
const DEBUG_EVENT_FSC = 0x22;
const IL = 1 << 25;

/** Index into SystemRegisters.debugRegs: slot n holds BVR, BCR, WVR, WCR as lo/hi word pairs. */
export const debugRegIndex = (n: number, kind: 0 | 1 | 2 | 3): number => (n * 4 + kind) * 2;

/** The part of a breakpoint's or watchpoint's control register that filters by exception level. */
function elMatches(ctrl: number, el: number): boolean {
  if (((ctrl >>> 14) & 3) === 2) return false; // SSC = 0b10: Secure state only, and this CPU is Non-secure
  return ((ctrl >>> 1) & (el === 0 ? 2 : 1)) !== 0; // PMC/PAC bit 0: EL1, bit 1: EL0
}

/** Whether (a - b) mod 2^64 < limit (limit <= 2^32), on lo/hi halves: a lies in [b, b + limit). */
function within(aLo: number, aHi: number, bLo: number, bHi: number, limit: number): boolean {
  const dLo = (aLo >>> 0) - (bLo >>> 0);
  const dHi = ((aHi - bHi - (dLo < 0 ? 1 : 0)) | 0) >>> 0;
  return dHi === 0 && dLo + (dLo < 0 ? 4294967296 : 0) < limit;
}

/** The registers the matching reads: SystemRegisters.debugRegs and CONTEXTIDR_EL1. */
export interface DebugRegisterFile {
  readonly debugRegs: Uint32Array;
  readonly contextidr: number;
}

/** A linked breakpoint (LBN) that is context-aware, enabled and of a context-match type that matches now. */
function linkedMatches(r: DebugRegisterFile, lbn: number): boolean {
  if (lbn < FIRST_CONTEXT_BREAKPOINT || lbn >= BREAKPOINTS) return false;
  const at = debugRegIndex(lbn, 0);
  const bcr = r.debugRegs[at + 2];
  if ((bcr & 1) === 0) return false;
  const bt = (bcr >>> 20) & 0xf;
  // Linked CONTEXTIDR matches (3, and 7 as QEMU reads it); VMID types need EL2.
  return (bt === 3 || bt === 7) && r.debugRegs[at] === r.contextidr >>> 0;
}

/**
 * AArch64.BreakpointMatch for breakpoint n and an A64 instruction at pc, at exception level `el`: an enabled
 * address-match breakpoint (BT 0b0000, or 0b0001 linked to a context breakpoint that matches) whose address is
 * the PC's. BAS reads as 0b0000, 0b0011, 0b1100 or 0b1111 (bits 6 and 8 copy 5 and 7); only the two that select
 * the word's first halfword match an A64 instruction.
 */
export function breakpointMatches(r: DebugRegisterFile, n: number, pcLo: number, pcHi: number, el: number): boolean {
  const at = debugRegIndex(n, 0);
  const bcr = r.debugRegs[at + 2];
  if ((bcr & 1) === 0 || ((bcr >>> 5) & 1) === 0) return false;
  const bt = (bcr >>> 20) & 0xf;
  if (bt !== 0 && bt !== 1) return false;
  if (((r.debugRegs[at] & ~3) >>> 0) !== pcLo >>> 0 || r.debugRegs[at + 1] !== pcHi >>> 0) return false;
  if (!elMatches(bcr, el)) return false;
  return bt === 0 || linkedMatches(r, (bcr >>> 16) & 0xf);
}

/**
 * The bytes watchpoint n watches as [first address lo, hi, length], or undefined when it watches none (E clear,
 * LSC 0, MASK 1 or 2, BAS 0).
 */
export function watchedRange(r: DebugRegisterFile, n: number): [number, number, number] | undefined {
  const at = debugRegIndex(n, 2);
  const wcr = r.debugRegs[at + 2];
  if ((wcr & 1) === 0 || ((wcr >>> 3) & 3) === 0) return undefined;
  const lo = r.debugRegs[at] >>> 0;
  const hi = r.debugRegs[at + 1] >>> 0;
  const mask = (wcr >>> 24) & 0x1f;
  if (mask === 1 || mask === 2) return undefined;
  if (mask !== 0) {
    const len = 2 ** mask;
    return [(lo - (lo % len)) >>> 0, hi, len];
  }
  let bas = (wcr >>> 5) & 0xff;
  if ((lo & 4) !== 0) bas &= 0xf; // a word-aligned address: BAS[7:4] are ignored
  if (bas === 0) return undefined;
  const start = 31 - Math.clz32(bas & -bas);
  let len = 0;
  while (((bas >>> (start + len)) & 1) !== 0) len++;
  const sum = lo + start; // WVR[1:0] are RES0 (cleared when written)
  return [sum >>> 0, sum > 0xffffffff ? (hi + 1) >>> 0 : hi, len];
}

/**
 * AArch64.WatchpointMatch for watchpoint n and an access of `size` bytes at addr: the access touches a watched
 * byte, its kind is selected by LSC (bit 0 loads, bit 1 stores) and its exception level by PAC (an LDTR/STTR at
 * EL1 is an EL0 access). Returns the FAR to report, [lo, hi], or undefined.
 */
export function watchpointMatches(
  r: DebugRegisterFile, n: number, lo: number, hi: number, size: number, isWrite: boolean, el: number,
): [number, number] | undefined {
  const range = watchedRange(r, n);
  if (range === undefined) return undefined;
  const wcr = r.debugRegs[debugRegIndex(n, 2) + 2];
  if (((wcr >>> 3) & (isWrite ? 2 : 1)) === 0 || !elMatches(wcr, el)) return undefined;
  const [sLo, sHi, len] = range;
  let far: [number, number];
  if (within(lo, hi, sLo, sHi, len)) far = [lo >>> 0, hi >>> 0];
  else if (within(sLo, sHi, lo, hi, size)) far = [sLo, sHi];
  else return undefined;
  if (((wcr >>> 20) & 1) !== 0 && !linkedMatches(r, (wcr >>> 16) & 0xf)) return undefined;
  return far;
}

/** A64 load-exclusive (LDXR, LDAXR, LDXP, LDAXP in every size): the step exception's ESR.EX. */
export function isLoadExclusive(insn: number): boolean {
  return (insn & 0x3fc00000) === 0x08400000;
}

export class SelfDebug {
  /** An enabled breakpoint or watchpoint exists, with MDSCR_EL1.MDE set and the OS lock clear. */
  private breakpointsArmed = false;

  constructor(private readonly cpu: Cpu) {}

  /** Recomputes what is armed (after a write to MDSCR_EL1, the OS lock or a control register; reset; load). */
  update(): void {
    const c = this.cpu;
    const s = c.sys;
    const unlocked = (s.oslsr & OSLSR_OSLK) === 0;
    const mde = unlocked && (s.mdscr & MDSCR_MDE) !== 0;
    let bp = false;
    let wp = false;
    if (mde) {
      for (let n = 0; n < BREAKPOINTS; n++) if ((s.debugRegs[debugRegIndex(n, 1)] & 1) !== 0) bp = true;
      for (let n = 0; n < WATCHPOINTS; n++) if ((s.debugRegs[debugRegIndex(n, 3)] & 1) !== 0) wp = true;
    }
    this.breakpointsArmed = bp;
    c.guestWatch = wp;
    c.selfDebugArmed = bp || wp || (unlocked && (s.mdscr & MDSCR_SS) !== 0);
  }

  /** AArch64.GenerateDebugExceptionsFrom(el, Non-secure, mask): the OS lock, then KDE and PSTATE.D at EL1. */
  enabledFrom(el: number, dMasked: boolean): boolean {
    const s = this.cpu.sys;
    if ((s.oslsr & OSLSR_OSLK) !== 0) return false;
    return el === 0 || ((s.mdscr & MDSCR_KDE) !== 0 && !dMasked);
  }

  private enabledNow(): boolean {
    return this.enabledFrom(this.cpu.el, (this.cpu.daif & 8) !== 0);
  }

  /** Software step is active: MDSCR_EL1.SS and debug exceptions enabled at the current state. */
  stepActive(): boolean {
    return (this.cpu.sys.mdscr & MDSCR_SS) !== 0 && this.enabledNow();
  }

  /** The instruction about to execute is being stepped (active-not-pending): SSAdvance after it. */
  stepping(): boolean {
    return this.cpu.ss === 1 && this.stepActive();
  }

  /**
   * Before the instruction at PC (after any interrupt was taken): a software step exception when step is
   * active-pending (it has priority over breakpoints: ESR.ISV = 0, nothing was stepped), else a breakpoint
   * exception when one matches. Returns true when an exception was entered (the next PC is its vector); the
   * caller then counts the step: a step exception as an instruction, a breakpoint as a step that adds no time,
   * since no instruction executed (QEMU raises it before translating; its icount does not move).
   */
  beforeInstruction(): "step" | "breakpoint" | undefined {
    const c = this.cpu;
    if ((c.sys.mdscr & MDSCR_SS) !== 0 && c.ss === 0 && this.stepActive()) {
      this.stepException(c.pcLo, c.pcHi, false, false);
      return "step";
    }
    if (!this.breakpointsArmed || !this.enabledNow() || (c.pcLo & 3) !== 0) return undefined;
    const s = c.sys;
    for (let n = 0; n < BREAKPOINTS; n++) {
      if (!breakpointMatches(s, n, c.pcLo, c.pcHi, c.el)) continue;
      const ec = c.el === 0 ? EC.BreakpointLower : EC.BreakpointSame;
      c.enterException(VectorKind.Sync, c.pcLo, c.pcHi, ((ec << 26) | IL | DEBUG_EVENT_FSC) >>> 0, [0, 0]);
      return "breakpoint";
    }
    return undefined;
  }

  /**
   * After a stepped instruction completed without an exception: PSTATE.SS goes to 0 (active-pending), and the
   * step exception is taken at once, before any interrupt (QEMU's choice), with ELR the next instruction and
   * ESR.ISV = 1, EX = whether it was a load-exclusive. If the instruction disabled debug exceptions the step
   * stays pending until they are enabled again.
   */
  completeStep(insn: number): void {
    const c = this.cpu;
    c.ss = 0;
    if (this.stepActive()) this.stepException(c.nextLo, c.nextHi, true, isLoadExclusive(insn));
  }

  /** SSAdvance for an SVC, which counts as stepped: the exception it takes saves SPSR.SS = 0. */
  completeSvcStep(): void {
    if ((this.cpu.sys.mdscr & MDSCR_SS) !== 0) this.cpu.ss = 0;
  }

  private stepException(retLo: number, retHi: number, isv: boolean, ex: boolean): void {
    const c = this.cpu;
    const ec = c.el === 0 ? EC.SoftStepLower : EC.SoftStepSame;
    const esr = (ec << 26) | IL | (isv ? 1 << 24 : 0) | (ex ? 1 << 6 : 0) | DEBUG_EVENT_FSC;
    c.enterException(VectorKind.Sync, retLo, retHi, esr >>> 0);
  }

  /**
   * A data access of `size` bytes at a virtual address, before it is made (the CPU calls this only while a
   * watchpoint is armed, and only the interpreter runs then): a matching watchpoint takes a Watchpoint
   * exception, WnR from the access, CM 0; as for a breakpoint, the step executed nothing and adds no time.
   */
  checkWatch(lo: number, hi: number, size: number, isWrite: boolean): void {
    const c = this.cpu;
    if (!this.enabledNow()) return;
    const el = c.unprivileged ? 0 : c.el;
    for (let n = 0; n < WATCHPOINTS; n++) {
      const far = watchpointMatches(c.sys, n, lo, hi, size, isWrite, el);
      if (far === undefined) continue;
      const ec = c.el === 0 ? EC.WatchpointLower : EC.WatchpointSame;
      // The step adds no time: QEMU gives the instruction back to its icount before taking the exception.
      c.clock.stepAddsNoTime();
      c.syncException(ec, (isWrite ? 1 << 6 : 0) | DEBUG_EVENT_FSC, false, far);
    }
  }

  /**
   * PSTATE.SS after an exception return to `spsr` (DebugExceptionReturnSS): SPSR.SS only when software step is
   * enabled, debug exceptions are disabled where the ERET executes and enabled where it returns to; else 0.
   * Call before the return changes the mode.
   */
  returnSs(spsr: number, destEl: number): number {
    const c = this.cpu;
    if ((c.sys.mdscr & MDSCR_SS) === 0) return 0;
    const atSource = this.enabledNow();
    const atDest = this.enabledFrom(destEl, (spsr & SPSR_D) !== 0);
    return !atSource && atDest ? (spsr >>> 21) & 1 : 0;
  }
}

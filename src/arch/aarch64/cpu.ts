// AArch64 CPU state and the glue the instruction handlers use.
//
// 64-bit values are lo/hi int32 pairs (DESIGN.md §8: BigInt on the hot path costs 3x). General register n lives
// in xlo[n]/xhi[n]; slot 31 holds the *current* stack pointer (SP_EL0 or SP_EL1 depending on PSTATE.SPSel and
// the EL), the banked copy of the other one is kept in spEl0/spEl1 and swapped on mode changes. Reading
// register 31 as XZR is the handler's business (it knows from the encoding which of SP/XZR it means).
//
// Control flow: the run loop sets nextLo/nextHi to pc + 4 before calling an instruction's executor; a branch
// overwrites them. A synchronous exception is entered immediately by `takeException` and then signalled by
// throwing EXCEPTION_TAKEN so the executor stops where it is; the loop commits nothing else of that step.

import type { AddressSpace } from "../../core/memory.js";
import { BusError } from "../../core/memory.js";
import type { VirtualClock } from "../../core/clock.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { STOP_BEFORE_ACCESS } from "../../core/debug.js";
import { field, loadDescribed, saveDescribed, type FieldSpec, type StateDescription } from "../../core/vmstate.js";
import { SystemRegisters, SYSREG_STATE } from "./sysregs.js";
import { Mmu, type TlbStorage } from "./mmu.js";
import type { Exec } from "./decoder.js";
import { IntervalFlags } from "../../core/exec-summary.js";
import { SelfDebug } from "./self-debug.js";

/** Thrown (a single preallocated object, so throwing is cheap) after an exception has been entered. */
export const EXCEPTION_TAKEN = { exceptionTaken: true } as const;
/** Thrown by a watchpoint hook to stop before the current instruction (see Cpu.watchHook). */
export const WATCH_STOP = STOP_BEFORE_ACCESS;

export const enum AccessKind {
  Read = 0,
  Write = 1,
  Fetch = 2,
}

/** Exception classes (ESR_ELx.EC) used by the CPU. */
export const enum EC {
  Unknown = 0x00,
  WfxTrap = 0x01,
  FpAccess = 0x07,
  IllegalState = 0x0e,
  Svc64 = 0x15,
  Hvc64 = 0x16,
  Smc64 = 0x17,
  SysReg = 0x18,
  InsnAbortLower = 0x20,
  InsnAbortSame = 0x21,
  PcAlign = 0x22,
  DataAbortLower = 0x24,
  DataAbortSame = 0x25,
  SpAlign = 0x26,
  Serror = 0x2f,
  BreakpointLower = 0x30,
  BreakpointSame = 0x31,
  SoftStepLower = 0x32,
  SoftStepSame = 0x33,
  WatchpointLower = 0x34,
  WatchpointSame = 0x35,
  Brk = 0x3c,
}

export const enum VectorKind {
  Sync = 0,
  Irq = 1,
  Fiq = 2,
  SError = 3,
}

/** The general registers' halves (32 entries each) and the TLB's arrays, zeroed. */
export interface CpuStorage {
  xlo: Int32Array;
  xhi: Int32Array;
  /** N, Z, C, V (4 words). */
  flags: Int32Array;
  tlb: TlbStorage;
}

/** Hooks the board installs: PSCI over HVC, diagnostics. */
export interface CpuHooks {
  /** HVC #imm at EL1. Return true when handled (PSCI); false makes HVC undefined, as with no EL2. */
  hvc(cpu: Cpu, imm16: number): boolean;
  /** Called once per distinct unimplemented encoding, with its address. */
  reportUndefined(pcLo: number, pcHi: number, insn: number): void;
  /** The CPU can make no progress at all (an exception vector itself cannot be fetched). */
  guestStuck?(reason: string): void;
}

/** A 64-bit register kept as two properties, saved as a pair of 32-bit words. */
const pair = (name: string, lo: "spEl0Lo" | "spEl1Lo" | "pcLo", hi: "spEl0Hi" | "spEl1Hi" | "pcHi"): FieldSpec<Cpu> => ({
  name,
  type: "i32[]",
  length: 2,
  get: (c) => Int32Array.of(c[lo], c[hi]),
  set: (c, v: Int32Array) => {
    c[lo] = v[0];
    c[hi] = v[1];
  },
});

/**
 * Version 2: the generic timer saves its own section ("timer"), no longer a field of cpu0.sys. Version-1
 * states (which lack that section) are refused by loadSections with a message naming it.
 * Version 3: PSTATE.SS ("ss", software step); version-2 states load it as 0 (what they behaved as).
 */
const CPU_STATE: StateDescription<Cpu> = {
  version: 3,
  fields: [
    field.i32s("xlo", 32),
    field.i32s("xhi", 32),
    field.i32s("vregs", 128),
    field.u32("fpcr"),
    field.u32("fpsr"),
    field.u32("nzcv", { max: 0xf }),
    field.u32("daif", { max: 0xf }),
    field.u32("el", { max: 1 }),
    field.u32("spsel", { max: 1 }),
    field.u32("ss", { max: 1, since: 3, fallback: 0 }),
    pair("spEl0", "spEl0Lo", "spEl0Hi"),
    pair("spEl1", "spEl1Lo", "spEl1Hi"),
    { ...pair("pc", "pcLo", "pcHi"), set: (c, v: Int32Array) => ((c.pcLo = v[0] >>> 0), (c.pcHi = v[1] >>> 0)) },
    field.int("exclusiveAddr"),
    field.int("exclusiveSize"),
    { name: "halted", type: "u32", max: 1, get: (c) => (c.halted ? 1 : 0), set: (c, v: number) => (c.halted = v !== 0) },
    field.section<Cpu, SystemRegisters>("sys", (c) => c.sys, SYSREG_STATE),
  ],
  preSave: (c) => c.storeCurrentSp(),
  postLoad: (c) => c.dropCaches(),
};

export class Cpu implements Stateful {
  readonly stateName = "cpu0";
  readonly stateVersion = CPU_STATE.version;

  /** General registers X0..X30 (lo/hi halves); slot 31 = current SP. */
  readonly xlo: Int32Array;
  readonly xhi: Int32Array;
  /** FP/SIMD registers V0..V31: 4 words each, word 0 the least significant. */
  readonly vregs = new Int32Array(128);
  fpcr = 0;
  fpsr = 0;

  // PSTATE
  /** N, Z, C, V as 0/1 words (in the arena with the WebAssembly tier, which exchanges them there). */
  readonly flags: Int32Array;
  get nf(): number {
    return this.flags[0];
  }
  set nf(v: number) {
    this.flags[0] = v;
  }
  get zf(): number {
    return this.flags[1];
  }
  set zf(v: number) {
    this.flags[1] = v;
  }
  get cf(): number {
    return this.flags[2];
  }
  set cf(v: number) {
    this.flags[2] = v;
  }
  get vf(): number {
    return this.flags[3];
  }
  set vf(v: number) {
    this.flags[3] = v;
  }
  /** D, A, I, F mask bits as PSTATE bits [9:6] >> 6: D=8, A=4, I=2, F=1. */
  daif = 0xf;
  el = 1;
  spsel = 1;
  /** PSTATE.SS, the software step state (self-debug.ts): 1 = active-not-pending while step is active. */
  ss = 0;
  /** Banked stack pointers (the current one lives in slot 31). */
  spEl0Lo = 0;
  spEl0Hi = 0;
  spEl1Lo = 0;
  spEl1Hi = 0;

  pcLo = 0;
  pcHi = 0;
  nextLo = 0;
  nextHi = 0;

  /** Exclusive monitor: physical address and size of the last load-exclusive, -1 when open. */
  exclusiveAddr = -1;
  exclusiveSize = 0;

  /** WFI: waiting for an interrupt. */
  halted = false;
  /** Interrupt inputs, driven by the interrupt controller. */
  irqLine = false;
  fiqLine = false;

  readonly sys: SystemRegisters;
  /** The guest's own breakpoints, watchpoints and software step (self-debug.ts). */
  readonly selfDebug: SelfDebug;
  /** Some self-hosted debug event can happen: the interpreter asks selfDebug at each step, and the block engine
   * runs nothing compiled. Recomputed by selfDebug.update() when the registers that arm them change. */
  selfDebugArmed = false;
  /** A guest watchpoint is armed: data accesses call selfDebug.checkWatch. */
  guestWatch = false;
  /** Stage 1 translation and the TLB (used while SCTLR_EL1.M = 1). */
  readonly mmu: Mmu;
  /** Translation changes for the interval summaries (translation-summary.ts TranslationFlag); not guest state. */
  readonly intervalFlags = new IntervalFlags();
  /** True during an LDTR/STTR access (the instruction sets and clears it): EL1 then gets EL0 permissions. */
  unprivileged = false;
  hooks: CpuHooks;
  /** Scratch high half returned by read64. */
  hi = 0;

  /** Bumped whenever a cached fetch translation or decoded page may be stale (code write, state load, MMU
   * change): the interpreter's one-entry fetch cache compares it. */
  fetchGeneration = 0;
  /** Set by anything inside a step that must end the current burst (PSCI power-off, breakpoint hooks). */
  endBurst = false;
  /** Set when a breakpoint or watchpoint stopped the burst; the board reports "debug" and clears it. */
  debugStop = false;
  /**
   * Watchpoint hook, called before every guest data access while set (null on the fast path). It may throw
   * WATCH_STOP to stop *before* the instruction: the interpreter then puts back everything the instruction did
   * (see beginWatchedStep/undoWatchedStep) and leaves PC and icount on it, which is where GDB expects a forward
   * watchpoint stop on AArch64.
   */
  watchHook: ((lo: number, hi: number, size: number, isWrite: boolean) => void) | null = null;
  /** With the hook: the only virtual pages (first address as [lo, hi] pairs) whose accesses it must see, and
   * that need undo bookkeeping; null: every access (debug.ts watchPages says why the rest cannot hit). */
  watchPages: Int32Array | null = null;
  /** Stores of the current instruction while watchpoints are active: [physical address, old bytes]. */
  readonly undoLog: [number, Uint8Array][] = [];
  /** The registers as they were before the current instruction's first access (taken at that access). */
  private undoRegs: Int32Array | undefined;
  private undoScalars: number[] = [];
  /** The current instruction already reached a device (its side effects cannot be taken back). */
  private deviceTouched = false;
  /** The last watchpoint stop came after its instruction (an earlier device access could not be undone). */
  watchStopLate = false;

  /** Decoded-instruction cache: one array of 1024 executors per RAM page. */
  readonly codeCache: (Exec[] | undefined)[];

  constructor(
    readonly bus: AddressSpace,
    readonly clock: VirtualClock,
    hooks: CpuHooks,
    /** Where the general registers and the TLB live, when not in arrays of their own (jit/wasm/arena.ts). */
    storage?: CpuStorage,
  ) {
    this.hooks = hooks;
    this.xlo = storage?.xlo ?? new Int32Array(32);
    this.xhi = storage?.xhi ?? new Int32Array(32);
    this.flags = storage?.flags ?? new Int32Array(4);
    this.selfDebug = new SelfDebug(this);
    this.sys = new SystemRegisters(this);
    this.mmu = new Mmu(this, storage?.tlb);
    this.codeCache = new Array(bus.pageCount);
    bus.onCodeWrite = (page) => {
      this.codeCache[page] = undefined;
      this.fetchGeneration++;
    };
    this.reset();
  }

  reset(): void {
    this.xlo.fill(0);
    this.xhi.fill(0);
    this.vregs.fill(0);
    this.fpcr = 0;
    this.fpsr = 0;
    this.nf = this.zf = this.cf = this.vf = 0;
    this.daif = 0xf;
    this.el = 1;
    this.spsel = 1;
    this.spEl0Lo = this.spEl0Hi = this.spEl1Lo = this.spEl1Hi = 0;
    this.pcLo = this.pcHi = 0;
    this.exclusiveAddr = -1;
    this.halted = false;
    this.unprivileged = false;
    this.ss = 0;
    this.sys.reset();
    this.selfDebug.update();
    this.mmu.flushAll();
  }

  // ---- PSTATE helpers -----------------------------------------------------------------------------------

  /** NZCV as the 4-bit value of PSTATE[31:28]. */
  get nzcv(): number {
    return (this.nf << 3) | (this.zf << 2) | (this.cf << 1) | this.vf;
  }
  set nzcv(v: number) {
    this.nf = (v >> 3) & 1;
    this.zf = (v >> 2) & 1;
    this.cf = (v >> 1) & 1;
    this.vf = v & 1;
  }

  /** The PSTATE as SPSR would hold it (AArch64 format). */
  get pstate(): number {
    return ((this.nzcv << 28) | (this.ss << 21) | (this.daif << 6) | (this.el << 2) | this.spsel) >>> 0;
  }

  /** Saves slot 31 into the bank of the SP currently selected. */
  storeCurrentSp(): void {
    if (this.el === 0 || this.spsel === 0) {
      this.spEl0Lo = this.xlo[31];
      this.spEl0Hi = this.xhi[31];
    } else {
      this.spEl1Lo = this.xlo[31];
      this.spEl1Hi = this.xhi[31];
    }
  }
  private loadCurrentSp(): void {
    if (this.el === 0 || this.spsel === 0) {
      this.xlo[31] = this.spEl0Lo;
      this.xhi[31] = this.spEl0Hi;
    } else {
      this.xlo[31] = this.spEl1Lo;
      this.xhi[31] = this.spEl1Hi;
    }
  }
  /** Changes EL and/or SPSel, banking the stack pointer. */
  setMode(el: number, spsel: number): void {
    // Fetch permissions differ between EL0 and EL1: a cached fetch translation must be re-checked.
    if (el !== this.el) this.fetchGeneration++;
    this.storeCurrentSp();
    this.el = el;
    this.spsel = spsel;
    this.loadCurrentSp();
  }
  /** SP_EL0 / SP_EL1 as the MSR/MRS views see them (whichever is banked or current). */
  readSpEl(which: 0 | 1): [number, number] {
    this.storeCurrentSp();
    return which === 0 ? [this.spEl0Lo >>> 0, this.spEl0Hi >>> 0] : [this.spEl1Lo >>> 0, this.spEl1Hi >>> 0];
  }
  writeSpEl(which: 0 | 1, lo: number, hi: number): void {
    this.storeCurrentSp();
    if (which === 0) {
      this.spEl0Lo = lo | 0;
      this.spEl0Hi = hi | 0;
    } else {
      this.spEl1Lo = lo | 0;
      this.spEl1Hi = hi | 0;
    }
    this.loadCurrentSp();
  }

  /** Evaluates an A64 condition code (ConditionHolds in the Arm ARM). */
  condition(cond: number): boolean {
    let r: boolean;
    switch (cond >> 1) {
      case 0:
        r = this.zf === 1;
        break;
      case 1:
        r = this.cf === 1;
        break;
      case 2:
        r = this.nf === 1;
        break;
      case 3:
        r = this.vf === 1;
        break;
      case 4:
        r = this.cf === 1 && this.zf === 0;
        break;
      case 5:
        r = this.nf === this.vf;
        break;
      case 6:
        r = this.nf === this.vf && this.zf === 0;
        break;
      default:
        r = true;
    }
    if ((cond & 1) === 1 && cond !== 0xf) r = !r;
    return r;
  }

  // ---- exceptions ---------------------------------------------------------------------------------------

  /**
   * Enters an exception at EL1 (the only exception level Rewind's virt CPU implements) and sets the next PC to
   * the vector. `retLo/retHi` is the preferred return address.
   */
  enterException(kind: VectorKind, retLo: number, retHi: number, esr?: number, far?: [number, number]): void {
    const fromEl = this.el;
    let offset: number;
    if (fromEl === 0) offset = 0x400;
    else offset = this.spsel ? 0x200 : 0x000;
    offset += kind * 0x80;
    const sys = this.sys;
    sys.spsrEl1 = this.pstate;
    sys.elrEl1Lo = retLo >>> 0;
    sys.elrEl1Hi = retHi >>> 0;
    if (esr !== undefined) sys.esrEl1 = esr >>> 0;
    if (far) {
      sys.farEl1Lo = far[0] >>> 0;
      sys.farEl1Hi = far[1] >>> 0;
    }
    this.setMode(1, 1);
    this.daif = 0xf;
    this.ss = 0;
    this.exclusiveAddr = -1;
    this.halted = false;
    const lo = (sys.vbarEl1Lo & ~0x7ff) >>> 0;
    const sum = lo + offset;
    this.nextLo = sum >>> 0;
    this.nextHi = (sys.vbarEl1Hi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
  }

  /** A synchronous exception taken by the current instruction (ELR = this instruction unless `retNext`). */
  syncException(ec: number, iss: number, retNext = false, far?: [number, number], il = 1): never {
    const esr = ((ec << 26) | (il << 25) | (iss & 0x1ffffff)) >>> 0;
    // A stepped SVC has been stepped (SSAdvance before the call): its SPSR.SS is 0. Other exceptions leave it.
    if (ec === EC.Svc64 && this.ss === 1 && this.selfDebugArmed) this.selfDebug.completeSvcStep();
    const retLo = retNext ? this.nextLo : this.pcLo;
    const retHi = retNext ? this.nextHi : this.pcHi;
    this.enterException(VectorKind.Sync, retLo, retHi, esr, far);
    throw EXCEPTION_TAKEN;
  }

  /** FP/SIMD instructions trap (EC 0x07) unless CPACR_EL1.FPEN allows them at this EL. Call before touching V regs. */
  checkFpEnabled(): void {
    const fpen = (this.sys.cpacr >>> 20) & 3;
    if (fpen === 3 || (fpen === 1 && this.el === 1)) return;
    this.syncException(EC.FpAccess, 0x1e00000);
  }

  /** Undefined Instruction (EC 0). */
  undefinedInstruction(): never {
    return this.syncException(EC.Unknown, 0);
  }

  // ---- memory ---------------------------------------------------------------------------------------------

  /**
   * Translates a virtual address to a physical one for an access. MMU on: stage 1 through the TLB (mmu.ts). MMU
   * off: flat, 40-bit physical range as the Cortex-A53's ID_AA64MMFR0.PARange (higher VAs are an Address size
   * fault unless TBI ignores the top byte). Faults enter the abort exception and throw EXCEPTION_TAKEN.
   */
  translate(lo: number, hi: number, access: AccessKind): number {
    if (this.sys.mmuEnabled) return this.mmu.translate(lo, hi, access, this.el === 0 || this.unprivileged);
    hi >>>= 0;
    if (hi > 0xff) return this.mmu.untranslatedHigh(lo, hi, access);
    return hi * 4294967296 + (lo >>> 0);
  }

  /** Enters an instruction or data abort with the given fault status code. */
  abort(lo: number, hi: number, access: AccessKind, fsc: number): never {
    const lower = this.el === 0;
    if (access === AccessKind.Fetch) {
      this.checkVectorFetch(lo, hi);
      return this.syncException(lower ? EC.InsnAbortLower : EC.InsnAbortSame, fsc, false, [lo, hi]);
    }
    const wnr = access === AccessKind.Write ? 1 << 6 : 0;
    return this.syncException(lower ? EC.DataAbortLower : EC.DataAbortSame, fsc | wnr, false, [lo, hi]);
  }

  /** Called by the interpreter before each instruction while a watch hook is set. */
  beginWatchedStep(): void {
    if (this.undoLog.length !== 0) this.undoLog.length = 0; // (setting length is slow even when it is 0)
    this.undoRegs = undefined;
    this.deviceTouched = false;
  }

  /**
   * Watchpoint check before an access. The first check of an instruction saves the registers (nothing of the
   * instruction is visible before its first access: the exclusive monitor, base writeback and loaded registers
   * all change after it); stores remember the bytes they overwrite, so the instruction can be taken back whole.
   */
  private watched(lo: number, hi: number, pa: number, size: number, isWrite: boolean): void {
    if (this.watchHook !== null) this.debuggerWatched(lo, hi, pa, size, isWrite);
    // The debugger's watchpoints first (a stop there comes before the guest sees anything), then the guest's.
    if (this.guestWatch) this.selfDebug.checkWatch(lo, hi, size, isWrite);
  }

  private debuggerWatched(lo: number, hi: number, pa: number, size: number, isWrite: boolean): void {
    const pages = this.watchPages;
    if (pages !== null) {
      const page = lo & ~0xfff;
      let i = 0;
      while (i < pages.length && (pages[i] !== page || (pages[i + 1] ^ hi) !== 0)) i += 2; // hi: signed or not
      if (i === pages.length) return;
    }
    this.checkWatch(lo, hi, size, isWrite);
    this.noteAccess(pa, size, isWrite);
  }

  /** Remembers what an access to [pa, pa + size) does that may need taking back (or cannot be). */
  private noteAccess(pa: number, size: number, isWrite: boolean): void {
    if (!this.bus.plainMemory(pa, size, isWrite)) this.deviceTouched = true;
    else if (isWrite) this.undoLog.push([pa, this.bus.readBytes(pa, size)]);
  }

  private checkWatch(lo: number, hi: number, size: number, isWrite: boolean): void {
    if (this.undoRegs === undefined) this.saveUndoRegs();
    try {
      this.watchHook!(lo, hi, size, isWrite);
    } catch (e) {
      // A device access earlier in this instruction cannot be taken back: finish it and stop after it instead.
      if (e !== WATCH_STOP || !this.deviceTouched) throw e;
      this.watchStopLate = true;
      this.debugStop = true;
      this.endBurst = true;
    }
  }

  private saveUndoRegs(): void {
    const r = new Int32Array(32 + 32 + 128);
    r.set(this.xlo, 0);
    r.set(this.xhi, 32);
    r.set(this.vregs, 64);
    this.undoRegs = r;
    this.undoScalars = [this.nzcv, this.fpsr, this.exclusiveAddr, this.exclusiveSize, this.spEl0Lo, this.spEl0Hi, this.spEl1Lo, this.spEl1Hi];
  }

  /** Takes back the instruction stopped by WATCH_STOP: its stores (newest first) and its register changes. */
  undoWatchedStep(): void {
    for (let i = this.undoLog.length - 1; i >= 0; i--) {
      const [pa, old] = this.undoLog[i];
      this.bus.writeBytes(pa, old);
    }
    this.undoLog.length = 0;
    const r = this.undoRegs;
    if (r !== undefined) {
      this.xlo.set(r.subarray(0, 32));
      this.xhi.set(r.subarray(32, 64));
      this.vregs.set(r.subarray(64));
      const s = this.undoScalars;
      this.nzcv = s[0];
      this.fpsr = s[1];
      this.exclusiveAddr = s[2];
      this.exclusiveSize = s[3];
      this.spEl0Lo = s[4];
      this.spEl0Hi = s[5];
      this.spEl1Lo = s[6];
      this.spEl1Hi = s[7];
      this.undoRegs = undefined;
    }
  }

  /** A prefetch abort on an exception vector re-enters the same vector forever: tell the board. */
  private checkVectorFetch(lo: number, hi: number): void {
    const off = (lo >>> 0) - (this.sys.vbarEl1Lo >>> 0);
    if ((hi >>> 0) !== (this.sys.vbarEl1Hi >>> 0) || off < 0 || off >= 0x800) return;
    const vbar = ((BigInt(this.sys.vbarEl1Hi >>> 0) << 32n) | BigInt(this.sys.vbarEl1Lo >>> 0)).toString(16);
    this.hooks.guestStuck?.(
      `cannot fetch the exception vector at 0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)} ` +
        `(VBAR_EL1 = 0x${vbar}; nothing executable is mapped there): every exception re-enters it`,
    );
  }

  /** Synchronous external abort for an access to an unmapped physical address (as QEMU's virt does). */
  private busAbort(lo: number, hi: number, access: AccessKind): never {
    return this.abort(lo, hi, access, 0x10);
  }

  read8(lo: number, hi: number): number {
    const pa = this.translate(lo, hi, AccessKind.Read);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 1, false);
    try {
      return this.bus.read8(pa);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Read);
      throw e;
    }
  }
  read16(lo: number, hi: number): number {
    const pa = this.translate(lo, hi, AccessKind.Read);
    if ((lo & 0xfff) > 0xffe && this.sys.mmuEnabled) return this.readAcrossPages(lo, hi, 2, pa);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 2, false);
    try {
      return this.bus.read16(pa);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Read);
      throw e;
    }
  }
  read32(lo: number, hi: number): number {
    const pa = this.translate(lo, hi, AccessKind.Read);
    if ((lo & 0xfff) > 0xffc && this.sys.mmuEnabled) return this.readAcrossPages(lo, hi, 4, pa);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 4, false);
    try {
      return this.bus.read32(pa);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Read);
      throw e;
    }
  }
  /** Returns the low half; the high half is in `this.hi`. */
  read64(lo: number, hi: number): number {
    const pa = this.translate(lo, hi, AccessKind.Read);
    if ((lo & 0xfff) > 0xff8 && this.sys.mmuEnabled) return this.readAcrossPages(lo, hi, 8, pa);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 8, false);
    try {
      const r = this.bus.read64(pa);
      this.hi = this.bus.hi;
      return r;
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Read);
      throw e;
    }
  }
  write8(lo: number, hi: number, v: number): void {
    const pa = this.translate(lo, hi, AccessKind.Write);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 1, true);
    this.checkExclusiveClear(pa);
    try {
      this.bus.write8(pa, v);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Write);
      throw e;
    }
  }
  write16(lo: number, hi: number, v: number): void {
    const pa = this.translate(lo, hi, AccessKind.Write);
    if ((lo & 0xfff) > 0xffe && this.sys.mmuEnabled) return this.writeAcrossPages(lo, hi, 2, pa, v, 0);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 2, true);
    this.checkExclusiveClear(pa);
    try {
      this.bus.write16(pa, v);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Write);
      throw e;
    }
  }
  write32(lo: number, hi: number, v: number): void {
    const pa = this.translate(lo, hi, AccessKind.Write);
    if ((lo & 0xfff) > 0xffc && this.sys.mmuEnabled) return this.writeAcrossPages(lo, hi, 4, pa, v, 0);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 4, true);
    this.checkExclusiveClear(pa);
    try {
      this.bus.write32(pa, v);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Write);
      throw e;
    }
  }
  write64(lo: number, hi: number, vlo: number, vhi: number): void {
    const pa = this.translate(lo, hi, AccessKind.Write);
    if ((lo & 0xfff) > 0xff8 && this.sys.mmuEnabled) return this.writeAcrossPages(lo, hi, 8, pa, vlo, vhi);
    if (this.watchHook !== null || this.guestWatch) this.watched(lo, hi, pa, 8, true);
    this.checkExclusiveClear(pa);
    try {
      this.bus.write64(pa, vlo >>> 0, vhi >>> 0);
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Write);
      throw e;
    }
  }

  /**
   * An access that crosses a 4 KiB page boundary with the MMU on: the second page may map anywhere, so both
   * halves are translated (a fault on either aborts before anything is accessed) and the bytes go one by one.
   */
  private readAcrossPages(lo: number, hi: number, size: number, pa: number): number {
    const first = 0x1000 - (lo & 0xfff);
    const sum = (lo >>> 0) + first;
    const pa2 = this.translate(sum >>> 0, sum > 0xffffffff ? hi + 1 : hi, AccessKind.Read);
    if (this.watchHook !== null) {
      this.checkWatch(lo, hi, size, false);
      this.noteAccess(pa, first, false);
      this.noteAccess(pa2, size - first, false);
    }
    if (this.guestWatch) this.selfDebug.checkWatch(lo, hi, size, false);
    let vlo = 0;
    let vhi = 0;
    try {
      for (let i = 0; i < size; i++) {
        const b = this.bus.read8(i < first ? pa + i : pa2 + i - first);
        if (i < 4) vlo |= b << (8 * i);
        else vhi |= b << (8 * (i - 4));
      }
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Read);
      throw e;
    }
    this.hi = vhi >>> 0;
    return vlo >>> 0;
  }

  private writeAcrossPages(lo: number, hi: number, size: number, pa: number, vlo: number, vhi: number): void {
    const first = 0x1000 - (lo & 0xfff);
    const sum = (lo >>> 0) + first;
    const pa2 = this.translate(sum >>> 0, sum > 0xffffffff ? hi + 1 : hi, AccessKind.Write);
    if (this.watchHook !== null) {
      this.checkWatch(lo, hi, size, true);
      this.noteAccess(pa, first, true);
      this.noteAccess(pa2, size - first, true);
    }
    if (this.guestWatch) this.selfDebug.checkWatch(lo, hi, size, true);
    try {
      for (let i = 0; i < size; i++) {
        const b = (i < 4 ? vlo >>> (8 * i) : vhi >>> (8 * (i - 4))) & 0xff;
        this.bus.write8(i < first ? pa + i : pa2 + i - first, b);
      }
    } catch (e) {
      if (e instanceof BusError) this.busAbort(lo, hi, AccessKind.Write);
      throw e;
    }
  }

  /** With one CPU the only way to lose a reservation is an exception, CLREX or a new load-exclusive; stores
   * by this CPU to the reserved granule do not clear it architecturally, so nothing happens here. Kept as the
   * hook where a second CPU or DMA would clear it. */
  private checkExclusiveClear(_pa: number): void {}

  // ---- state ----------------------------------------------------------------------------------------------

  saveState(): StateFields {
    return saveDescribed(CPU_STATE, this);
  }

  loadState(f: StateFields, version: number): void {
    loadDescribed(CPU_STATE, this, f, version, this.stateName);
  }

  /**
   * After a load: no translation or LDTR mode from before may survive. Decoded code may: it depends only on the
   * bytes of its physical page, and whatever replaces RAM drops the pages it changes (Ram.loadState all of them,
   * a checkpoint restore those it rewrites), so a restore keeps the compiled code of every page it leaves alone.
   */
  dropCaches(): void {
    this.unprivileged = false;
    this.selfDebug.update();
    this.mmu.flushAll();
    this.fetchGeneration++;
  }
}

// ---- helpers shared by instruction handlers ------------------------------------------------------------

/** Adds a signed 32-bit-safe offset (|off| < 2^31) to a lo/hi pair; returns lo, writes hi to out[0]. */
export function addOffset(lo: number, hi: number, off: number, out: Int32Array): number {
  const sum = (lo >>> 0) + off;
  const carry = Math.floor(sum / 4294967296);
  out[0] = (hi + carry) | 0;
  return sum >>> 0;
}

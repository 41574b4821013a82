// The debugger's view of a CPU, as the session and the protocol front ends need it. Each architecture implements
// CpuDebug; nothing above `arch/` knows registers, encodings or how a watchpoint is detected.

import type { StateSection } from "./state.js";

/** One register as a debugger sees it (GDB target description terms). */
export interface RegisterInfo {
  name: string;
  bitsize: number;
  /** GDB register number (QEMU's numbering: aarch64 pc = 32). */
  regnum: number;
  type: string;
  group?: string;
  /** Target-description feature this register belongs to, e.g. "org.gnu.gdb.aarch64.core". */
  feature: string;
}

export type Arch = "aarch64" | "x86_64";

/** Where CPU writes to a virtual range can land while its translation stays as a saved state has it. */
export interface WriteTargets {
  /** The physical pages (first addresses) the range maps to; none when every access to it faults. */
  pages: number[];
  /** The physical pages the translation reads (page tables): a write to one may move the range. */
  tables: number[];
  /** The IntervalFlags bits (core/exec-summary.ts) whose events may move the range. */
  flags: number;
}

/** A page of physical memory as a saved state holds it (undefined: not RAM or ROM). */
export type SavedPageReader = (pa: number) => Uint8Array | undefined;

/**
 * Thrown by a watch hook to stop *before* the accessing instruction: the engine then puts the whole machine back
 * as it was before that instruction (registers, exclusive monitor, earlier stores of the same instruction) and
 * leaves the position on it.
 */
export const STOP_BEFORE_ACCESS = { stopBeforeAccess: true } as const;

export type WatchHook = (addr: bigint, size: number, isWrite: boolean) => void;

export interface CpuDebug {
  readonly arch: Arch;
  /**
   * Where the architecture's debugger expects a forward watchpoint stop: "before" the access (AArch64: GDB
   * reports the stop with PC on the accessing instruction) or "after" it (x86: the access has retired).
   */
  readonly watchReport: "before" | "after";
  registers(): readonly RegisterInfo[];
  /** Register files the debugger can be served besides the default (x86: "x86_64" and "i386", as QEMU's two
   * system emulators serve them); absent when the architecture has one. */
  readonly gdbLayouts?: readonly string[];
  /** Serves another of gdbLayouts from now on (GDB takes it on its next connection); false for an unknown name. */
  selectGdbLayout?(name: string): boolean;
  /** The target description's `<architecture>` for the register file served (default: the arch's). */
  gdbArchitecture?(): string;
  readRegister(regnum: number): Uint8Array | undefined;
  writeRegister(regnum: number, value: Uint8Array): boolean;
  /** Guest virtual address -> physical address without side effects, or undefined when unmapped. */
  translate(addr: bigint): number | undefined;
  /** Enables breakpoint checks before each instruction (null disables them: the fast path). */
  setBreakpoints(addrs: readonly bigint[] | null): void;
  /** The PC (unsigned). */
  pc(): bigint;
  /**
   * Called before every data access while set — or, given the watched ranges, before the accesses that may
   * touch one (an implementation may skip the others, and all the bookkeeping for them). The hook may throw
   * STOP_BEFORE_ACCESS, or call stopAfterStep().
   */
  setWatchHook(hook: WatchHook | null, watched?: readonly { addr: bigint; length: number }[]): void;
  /** Ends the current step burst and makes the run loop return "debug". */
  stopAfterStep(): void;
  /**
   * The last watchpoint stop came after its instruction although "before" was asked: an earlier access of the
   * same instruction had reached a device, whose side effects cannot be taken back.
   */
  lastWatchStopAfterAccess(): boolean;
  /**
   * Where writes to virtual [addr, addr + length) can land in an interval that starts in `state` (saved sections
   * of the whole machine, RAM read through `page`), as long as none of the interval's flags in `flags` is noted
   * and none of `tables` is written; undefined when the architecture cannot tell.
   */
  writeTargets(addr: bigint, length: number, state: readonly StateSection[], page: SavedPageReader): WriteTargets | undefined;
}

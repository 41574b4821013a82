// The debugger's view of a CPU, as the session and the protocol front ends need it. Each architecture implements
// CpuDebug; nothing above `arch/` knows registers, encodings or how a watchpoint is detected.

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
}

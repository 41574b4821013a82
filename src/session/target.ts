// What the session needs from a board beyond the core Machine interface: its input channels, its RAM (for
// checkpoints), reset, and the debugger's view of the CPU (registers, breakpoints, watchpoints, memory).

import type { Machine } from "../core/machine.js";
import type { Ram } from "../core/memory.js";
import type { Stateful } from "../core/state.js";
import type { InputChannel } from "../replay/input.js";
import type { RegisterInfo } from "./api.js";

export interface CpuDebug {
  readonly arch: "aarch64" | "x86_64";
  registers(): readonly RegisterInfo[];
  readRegister(regnum: number): Uint8Array | undefined;
  writeRegister(regnum: number, value: Uint8Array): boolean;
  /** Guest virtual address -> physical address without side effects, or undefined when unmapped. */
  translate(addr: bigint): number | undefined;
  /** Enables breakpoint checks before each instruction (null disables them: the fast path). */
  setBreakpoints(addrs: readonly bigint[] | null): void;
  /** The PC (unsigned). */
  pc(): bigint;
  /** Called after every data access while set; the hook may call `stopAfterStep()`. */
  setWatchHook(hook: ((addr: bigint, size: number, isWrite: boolean) => void) | null): void;
  /** Ends the current step burst and makes the run loop return "debug". */
  stopAfterStep(): void;
}

export interface SessionMachine extends Machine {
  readonly ram: Ram;
  readonly debug: CpuDebug;
  /** Input channels in a fixed order (serial receive, ...). */
  inputChannels(): InputChannel[];
  /** Why the guest is stuck, after run() returned "stuck". */
  readonly stuckReason: string;
  /** Host-requested reset (QMP system_reset). */
  systemReset(): void;
  /** Every state part except RAM (checkpoints store RAM by page). */
  readonly nonRamParts: readonly Stateful[];
  /** Physical memory read for the debugger. */
  readPhysical(pa: number, length: number): Uint8Array;
  writePhysical(pa: number, data: Uint8Array): void;
}

// What the session needs from a board beyond the core Machine interface: its input channels, its RAM regions (for
// checkpoints), reset, and the debugger's view of the CPU (registers, breakpoints, watchpoints, memory).

import type { Machine } from "../core/machine.js";
import type { Ram } from "../core/memory.js";
import type { Stateful } from "../core/state.js";
import type { InputChannel } from "../replay/input.js";
import type { CpuDebug } from "../core/debug.js";
import type { ExecutedPages, IntervalFlags } from "../core/exec-summary.js";

export type { CpuDebug } from "../core/debug.js";

export interface SessionMachine extends Machine {
  /** Every RAM and ROM region (each also one of stateParts), in a fixed order: checkpoints page them all. */
  readonly ram: readonly Ram[];
  readonly debug: CpuDebug;
  /** Input channels in a fixed order (serial receive, ...). */
  inputChannels(): InputChannel[];
  /** Why the guest is stuck, after run() returned "stuck". */
  readonly stuckReason: string;
  /** The exit status the guest asked for when it powered off (isa-debug-exit), if it did. */
  readonly exitStatus?: number;
  /** Host-requested reset (QMP system_reset). */
  systemReset(): void;
  /** Every state part except RAM (checkpoints store RAM by page). */
  readonly nonRamParts: readonly Stateful[];
  /** Physical memory read for the debugger. */
  readPhysical(pa: number, length: number): Uint8Array;
  writePhysical(pa: number, data: Uint8Array): void;
  /** Whether [pa, pa + length) is RAM or ROM (debugger writes go to memory only). */
  isRam(pa: number, length: number): boolean;
  /** Where the execution engine notes the virtual code pages it executes (reverse-continue summaries). */
  readonly executedPages: ExecutedPages;
  /** What the CPU notes for the interval summaries (checkpoints take them; CpuDebug.writeTargets reads them). */
  readonly intervalFlags: IntervalFlags;
}

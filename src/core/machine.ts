// What every board offers the layers above it (session, replay, front ends): a clock, its state parts, and a
// run loop that stops at an exact icount. Nothing here knows an architecture.

import type { VirtualClock } from "./clock.js";
import type { Stateful } from "./state.js";
import { decodeState, digestBytes, encodeState, loadSections, saveSections, sectionDigests } from "./state.js";

export type StopReason =
  /** Reached the icount limit given to run(). */
  | "limit"
  /** The guest powered the machine off (PSCI SYSTEM_OFF, ACPI, ...). */
  | "poweroff"
  /** The guest asked for a reset and the machine was asked not to reboot (-no-reboot). */
  | "reset"
  /** The CPU waits for an interrupt and no timer is armed: only outside input can wake it. */
  | "idle"
  /** A breakpoint or watchpoint hit (see the machine's debug state for which). */
  | "debug"
  /** requestStop() was called. */
  | "stopped"
  /** The guest can never make progress again (e.g. its exception vectors are unmapped). */
  | "stuck";

export interface Machine {
  readonly clock: VirtualClock;
  /** Every guest-visible part, in a fixed order (the order of saved sections). */
  readonly stateParts: readonly Stateful[];
  /**
   * Runs until the first step boundary where clock.icount >= icountLimit and clock.ticks >= ticksLimit (due
   * timers at that boundary have fired), or until something stops it first.
   */
  run(icountLimit: number, ticksLimit?: number): StopReason;
  /** Asks a running run() to return at the next step boundary. */
  requestStop(): void;
  /** The guest program counter, for front ends (as an unsigned 64-bit value). */
  pc(): bigint;
}

/** The whole machine state as bytes (snapshots, checkpoints). */
export function saveMachine(m: Machine): Uint8Array {
  return encodeState(saveSections(m.stateParts));
}

export function loadMachine(m: Machine, bytes: Uint8Array): void {
  loadSections(m.stateParts, decodeState(bytes));
}

/** A digest of the whole guest-visible state: equal digests mean bit-identical machines. */
export function machineDigest(m: Machine): string {
  return digestBytes(saveMachine(m));
}

/** Digests per part, so a mismatch can be reported as "gicv2 differs". */
export function machinePartDigests(m: Machine): Map<string, string> {
  return sectionDigests(saveSections(m.stateParts));
}

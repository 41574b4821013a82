// Positions in a machine's execution.
//
// One icount can name more than one step boundary: a halting WFI's wait belongs to its step (the run loop jumps
// time to the next deadline first), but when the deadline's interrupt cannot wake the CPU (masked at the GIC)
// the CPU waits on for the next deadline at the same icount, and input can be delivered at each of those
// boundaries. So a position is the pair. Boundaries of a forward run are ordered by (icount, ticks): neither
// ever decreases from one boundary to the next.
//
// As a target, a position means "the first boundary at or after it". `atIcount(n)` (ticks 0) is therefore the
// first boundary whose icount is n — what QMP's replay-seek, replay-break and GDB's reverse step mean by "icount n".

import type { VirtualClock } from "./clock.js";

export interface Position {
  readonly icount: number;
  /** Virtual time in ticks (icount units, idle time included): see VirtualClock.ticks. */
  readonly ticks: number;
}

export const START: Position = { icount: 0, ticks: 0 };

/** The first boundary whose icount is `n`. */
export function atIcount(n: number): Position {
  return { icount: n, ticks: 0 };
}

export function positionOf(clock: VirtualClock): Position {
  return { icount: clock.icount, ticks: clock.ticks };
}

/** Negative, zero or positive as `a` comes before, at or after `b`. */
export function comparePositions(a: Position, b: Position): number {
  return a.icount !== b.icount ? a.icount - b.icount : a.ticks - b.ticks;
}

export function samePosition(a: Position, b: Position): boolean {
  return a.icount === b.icount && a.ticks === b.ticks;
}

/** The clock stands at or past `p`. */
export function clockReached(clock: VirtualClock, p: Position): boolean {
  const icount = clock.icount;
  return icount > p.icount || (icount === p.icount && clock.ticks >= p.ticks);
}

export function formatPosition(p: Position): string {
  return `icount ${p.icount} (time ${p.ticks})`;
}

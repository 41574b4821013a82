// The virtual clock: guest time is a pure function of the instruction count.
//
//   virtual ns = (icount + idleTicks) << shift
//
// `icount` counts steps (see docs/icount.md). `idleTicks` is time that passed while the CPU waited in WFI:
// instead of spinning, the CPU jumps the clock to the next timer deadline. Steps that take an interrupt
// subtract one from it, because no instruction executes in them and QEMU's icount clock does not advance.
// Both are part of the saved state, so time is reproduced exactly by replay and checkpoint restore.

import type { StateFields, Stateful } from "./state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "./vmstate.js";

export type TimerCallback = () => void;

/** A deadline on the virtual clock, owned by a device. Timers are identified by name in saved state. */
export class Timer {
  /** Deadline in ticks (icount units), or -1 when not armed. */
  deadline = -1;
  constructor(
    readonly name: string,
    private readonly clock: VirtualClock,
    readonly callback: TimerCallback,
  ) {}

  /** Arms the timer to fire when virtual time reaches `ns` (rounded up to the next tick). */
  setNs(ns: number): void {
    const ticks = Math.ceil(ns / this.clock.nsPerTick);
    this.setTicks(Math.max(ticks, this.clock.ticks));
  }
  setTicks(ticks: number): void {
    this.deadline = ticks;
    this.clock.reschedule();
  }
  cancel(): void {
    if (this.deadline < 0) return;
    this.deadline = -1;
    this.clock.reschedule();
  }
  get armed(): boolean {
    return this.deadline >= 0;
  }
}

export class VirtualClock implements Stateful {
  readonly stateName = "clock";
  readonly stateVersion = 1;

  /** Number of steps executed since reset. */
  icount = 0;
  /** Virtual time skipped while idle (WFI), minus one per step that took an interrupt, in ticks. */
  idleTicks = 0;
  /** The earliest armed deadline in ticks, or Infinity. Checked by the run loop after every step. */
  nextDeadline = Infinity;
  private readonly timers: Timer[] = [];
  /** Called when a deadline is armed or moved earlier than the earliest one before (the run loop ends its burst). */
  onEarlierDeadline: () => void = () => {};

  constructor(readonly shift: number) {
    if (!Number.isInteger(shift) || shift < 0 || shift > 10) throw new RangeError(`icount shift ${shift} out of range 0..10`);
  }

  get nsPerTick(): number {
    return 2 ** this.shift;
  }
  /** Virtual time in ticks (icount units). */
  get ticks(): number {
    return this.icount + this.idleTicks;
  }
  get ns(): number {
    return this.ticks * this.nsPerTick;
  }

  createTimer(name: string, callback: TimerCallback): Timer {
    if (this.timers.some((t) => t.name === name)) throw new Error(`duplicate timer name ${name}`);
    const t = new Timer(name, this, callback);
    this.timers.push(t);
    return t;
  }

  reschedule(): void {
    let next = Infinity;
    for (const t of this.timers) if (t.deadline >= 0 && t.deadline < next) next = t.deadline;
    const earlier = next < this.nextDeadline;
    this.nextDeadline = next;
    if (earlier) this.onEarlierDeadline();
  }

  /** Counts a step that took an interrupt: a step, but no instruction ran, so virtual time stands still. */
  countInterruptStep(): void {
    this.icount++;
    this.stepAddsNoTime();
  }

  /**
   * The step already counted adds no virtual time after all (an instruction QEMU's icount gives back: a fault
   * raised while it runs, a watchpoint exception before its access): icount keeps it, the time does not.
   */
  stepAddsNoTime(): void {
    this.idleTicks--;
  }

  /** Fires every timer whose deadline has passed, in deadline order then creation order (deterministic). */
  runDue(): void {
    const now = this.ticks;
    while (this.nextDeadline <= now) {
      let due: Timer | undefined;
      for (const t of this.timers) if (t.deadline >= 0 && t.deadline <= now && (!due || t.deadline < due.deadline)) due = t;
      if (!due) break;
      due.deadline = -1;
      this.reschedule();
      due.callback();
    }
  }

  /** Idle until the next deadline (WFI with nothing pending). Returns false when no timer is armed. */
  skipToNextDeadline(): boolean {
    if (this.nextDeadline === Infinity) return false;
    const gap = this.nextDeadline - this.ticks;
    if (gap > 0) this.idleTicks += gap;
    return true;
  }

  /** The clock's description names its timers, which devices create after the clock: built when used. */
  private describe(): StateDescription<VirtualClock> {
    const timers: StateDescription<Timer[]> = {
      version: 1,
      fields: this.timers.map((t, i) => ({
        name: t.name,
        type: "int" as const,
        get: (ts: Timer[]) => ts[i].deadline,
        set: (ts: Timer[], v: number) => (ts[i].deadline = v),
        check: (v: number) => (v < -1 ? "a deadline is a tick count, or -1 when not armed" : undefined),
      })),
    };
    return {
      version: 1,
      fields: [
        field.int("icount", { check: (v: number) => (v < 0 ? "an instruction count cannot be negative" : undefined) }),
        field.int("idleTicks"),
        field.u32("shift", {
          check: (v: number) => (v !== this.shift ? `state was saved with icount shift ${v}, machine uses ${this.shift}` : undefined),
          set: () => {}, // fixed for the machine: the check made sure it matches
        }),
        field.section<VirtualClock, Timer[]>("timers", (c) => c.timers, timers),
      ],
      postLoad: (c) => c.reschedule(),
    };
  }

  saveState(): StateFields {
    return saveDescribed(this.describe(), this);
  }

  loadState(f: StateFields, version: number): void {
    loadDescribed(this.describe(), this, f, version, this.stateName);
  }
}


// The one run loop every board uses (docs/icount.md has the rules it implements).
//
// At each step boundary, in this order: a CPU halted in WFI with nothing pending jumps virtual time to the
// next deadline (the wait belongs to the WFI's step, so no boundary shows the CPU halted with a deadline
// armed and not yet reached); the timers due by now fire; the loop stops if it reached its target or was asked
// to stop; otherwise the engine runs a burst of steps no longer than the distance to the target and to the
// earliest deadline. A deadline armed or moved earlier during a burst ends that burst after the arming step
// (VirtualClock.onEarlierDeadline), so every deadline fires at exactly its tick whatever the burst sizes were.
//
// The state after N steps therefore depends only on the initial state and the inputs delivered at the
// boundaries where run() returned — never on how the host split the run into calls.

import type { VirtualClock } from "./clock.js";
import type { ExecutionEngine } from "./engine.js";
import type { StopReason } from "./machine.js";
import { clockReached, type Position } from "./position.js";

export interface RunLoopHooks {
  /** The guest asked for a reset: reset the machine and return true to go on, or false to stop ("reset"). */
  guestReset(): boolean;
}

export class RunLoop {
  /** Why the loop must stop at the next boundary (poweroff, stop requests, a stuck guest...). */
  private pendingStop: StopReason | undefined;
  private inBurst = false;

  constructor(
    readonly clock: VirtualClock,
    readonly engine: ExecutionEngine,
    private readonly hooks: RunLoopHooks,
  ) {
    clock.onEarlierDeadline = () => {
      if (this.inBurst) engine.endBurst();
    };
  }

  /** Makes run() return `reason` at the next step boundary (the first reason asked for wins). */
  stopAtBoundary(reason: StopReason): void {
    this.pendingStop ??= reason;
    if (this.inBurst) this.engine.endBurst();
  }

  /** A stop is pending (e.g. the guest powered off and a reason is waiting to be returned). */
  get stopPending(): boolean {
    return this.pendingStop !== undefined;
  }

  /**
   * Runs until the first step boundary at or after `until` (timers due there have fired), or until something
   * stops it first. "idle": halted with no deadline armed, so only outside input can wake the CPU.
   */
  run(until: Position): StopReason {
    const clock = this.clock;
    const engine = this.engine;
    for (;;) {
      if (engine.waitingForInterrupt()) clock.skipToNextDeadline();
      if (clock.nextDeadline <= clock.ticks) clock.runDue();
      if (this.pendingStop !== undefined) {
        const reason = this.pendingStop;
        this.pendingStop = undefined;
        if (reason === "reset" && this.hooks.guestReset()) continue;
        return reason;
      }
      if (clockReached(clock, until)) return "limit";
      let budget = until.icount - clock.icount;
      if (budget <= 0) budget = 1; // at the target's icount, waiting for its time (a WFI jump ahead)
      const toDeadline = clock.nextDeadline - clock.ticks;
      if (toDeadline < budget) budget = toDeadline;
      this.inBurst = true;
      let ran: number;
      try {
        ran = engine.runBurst(budget);
      } finally {
        this.inBurst = false;
      }
      if (engine.takeDebugStop()) return "debug";
      // Nothing ran: halted with no deadline to jump to (a deadline would have been taken at the loop top).
      if (ran === 0 && this.pendingStop === undefined && engine.waitingForInterrupt() && clock.nextDeadline === Infinity) return "idle";
    }
  }
}

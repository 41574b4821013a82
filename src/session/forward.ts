// The forward engine: executes the machine forward from the current boundary, with the work every boundary
// needs (inputs, the mode's policy: digest marks, checkpoints), breakpoints, watchpoints and the replay break.
// Record and replay differ only in their ModePolicy; the reverse commands (timeline.ts) are built on forward().

import { machineDetailDigests, machineDigest, type StopReason } from "../core/machine.js";
import { atIcount, clockReached, comparePositions, positionOf, type Position } from "../core/position.js";
import { ReplayDivergence, type InputRouter } from "../replay/input.js";
import type { StopEvent } from "./api.js";
import type { DebugPoints } from "./debug-points.js";
import type { SessionMachine } from "./target.js";

/** A debug stop found while scanning (reverse continue): where it was, and how it would be reported. */
export interface Hit {
  at: Position;
  event: StopEvent;
}

export type ForwardResult = StopEvent | "target" | "slice" | "idle";

export interface ForwardRequest {
  /** Stop at the first boundary at or after this position ("target"). */
  target?: Position;
  /** Steps to run before returning "slice" (a chance to yield to the host). */
  budget?: number;
  /** "all" stops at breakpoints, watchpoints and the replay break; "watch-only" at watchpoints; "none": nothing. */
  debug: "all" | "watch-only" | "none";
  /** Reverse-continue scans: note hits here and keep going (watchpoints then report after the access). */
  collect?: Hit[];
  /** Returns true when the host asked to stop: the run ends with "slice" at the next boundary. */
  interrupted?: () => boolean;
}

/** What a mode adds to forward execution. */
export interface ModePolicy {
  /** Work at a boundary after inputs were delivered; a returned event (divergence) stops the run. */
  atBoundary(): StopEvent | undefined;
  /** The earliest position, at most `limit`, where atBoundary must see a boundary again. */
  nextStop(limit: Position): Position;
  /** The recording ends here (replay): forward execution can go no further. */
  atEnd(): boolean;
  /** The run loop returned "idle" (halted, no deadline): go on (input is due now), wait for host input, or stop. */
  onIdle(): "continue" | "wait" | StopEvent;
  /** The guest powered off. */
  onPoweroff(): StopEvent | "continue";
}

/** Live: nothing to do at boundaries. */
export class LivePolicy implements ModePolicy {
  atBoundary(): undefined {
    return undefined;
  }
  nextStop(limit: Position): Position {
    return limit;
  }
  atEnd(): boolean {
    return false;
  }
  onIdle(): "wait" {
    return "wait";
  }
  onPoweroff(): StopEvent {
    return { kind: "poweroff" };
  }
}

export interface DigestMark {
  icount: number;
  ticks: number;
  digest: string;
  parts: Record<string, string>;
}

/** Record: a digest mark every `interval` steps, so replay can tell where it first diverges and what differs. */
export class RecordPolicy extends LivePolicy {
  private lastIcount = -Infinity;
  constructor(
    private readonly machine: SessionMachine,
    private readonly interval: number,
    private readonly addDigest: (mark: DigestMark) => void,
  ) {
    super();
  }

  override atBoundary(): undefined {
    if (this.machine.clock.icount - this.lastIcount >= this.interval) this.emit();
    return undefined;
  }
  override nextStop(limit: Position): Position {
    const due = atIcount(this.lastIcount + this.interval);
    return comparePositions(due, limit) < 0 ? due : limit;
  }

  emit(): void {
    const m = this.machine;
    const parts: Record<string, string> = {};
    for (const [k, v] of machineDetailDigests(m)) parts[k] = v;
    this.addDigest({ icount: m.clock.icount, ticks: m.clock.ticks, digest: machineDigest(m), parts });
    this.lastIcount = m.clock.icount;
  }
}

/** Steps per run-loop call when nothing else bounds it (keeps every call short). */
const DEFAULT_CHUNK = 1_000_000;

export class ForwardEngine {
  /** QMP replay-break: stop (as SIGINT) at the first boundary at this icount. */
  replayBreak: number | undefined;

  constructor(
    private readonly machine: SessionMachine,
    private readonly inputs: InputRouter,
    private readonly points: DebugPoints,
    readonly policy: ModePolicy,
  ) {}

  /** Executes forward from the current boundary; see ForwardRequest for where it stops. */
  run(req: ForwardRequest): ForwardResult {
    const m = this.machine;
    const clock = m.clock;
    const points = this.points;
    const budgetEnd = req.budget !== undefined ? clock.icount + req.budget : Infinity;
    const useBreakpoints = req.debug === "all";
    const useWatch = req.debug !== "none";
    points.timing = req.collect ? "after" : m.debug.watchReport;
    points.arm(useBreakpoints, useWatch);
    /** A collected breakpoint hit is stepped over: the next run goes one step without breakpoints. */
    let stepOver = false;
    try {
      for (;;) {
        // The policy sees the boundary before its inputs are delivered: a digest mark is taken (record) and
        // checked (replay) before them, and a host write injected later at the same position comes after it too.
        const event = this.policy.atBoundary();
        if (event) return event;
        this.inputs.pump();
        const icount = clock.icount;
        if (req.target !== undefined && clockReached(clock, req.target)) return "target";
        if (this.policy.atEnd()) return { kind: "replay-end" };
        const useReplayBreak = req.debug === "all" && !req.collect && this.replayBreak !== undefined;
        if (useReplayBreak && icount >= this.replayBreak!) {
          const at = this.replayBreak!;
          this.replayBreak = undefined;
          return { kind: "replay-break", icount: at };
        }
        if (icount >= budgetEnd) return "slice";
        if (req.interrupted?.()) return "slice";

        // Where to stop next: the target, the budget, the replay break, and whatever the policy must see.
        let limit = req.target ?? atIcount(Math.min(budgetEnd, icount + DEFAULT_CHUNK));
        if (budgetEnd < limit.icount) limit = atIcount(budgetEnd);
        if (useReplayBreak && this.replayBreak! < limit.icount) limit = atIcount(this.replayBreak!);
        if (stepOver && icount + 1 < limit.icount) limit = atIcount(icount + 1);
        limit = this.policy.nextStop(limit);
        if (stepOver) points.arm(false, useWatch);
        const reason: StopReason = m.run(limit);
        if (stepOver) {
          stepOver = false;
          points.arm(useBreakpoints, useWatch);
        }
        switch (reason) {
          case "limit":
            continue;
          case "debug": {
            const hit = points.takeEvent();
            if (req.collect) {
              req.collect.push({ at: positionOf(clock), event: hit });
              if (hit.kind === "breakpoint") stepOver = true;
              continue;
            }
            return hit;
          }
          case "poweroff":
          case "reset": {
            // A reset with -no-reboot ends the machine like a power-off.
            const r = this.policy.onPoweroff();
            if (r === "continue") continue;
            return r;
          }
          case "stuck":
            return { kind: "stuck", message: m.stuckReason || "the guest cannot make progress" };
          case "idle": {
            const r = this.policy.onIdle();
            if (r === "continue") continue;
            if (r === "wait") return "idle";
            return r;
          }
          case "stopped":
            return { kind: "interrupted" };
        }
      }
    } catch (e) {
      if (e instanceof ReplayDivergence) return { kind: "diverged", message: e.message };
      throw e;
    } finally {
      points.disarm();
    }
  }
}

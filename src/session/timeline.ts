// The replay timeline: the recording's inputs and digest marks as a ModePolicy for the forward engine, the
// automatic checkpoints, and the commands that move through time (seek, reverse step, reverse continue).
// Every way of reaching a position goes through seekTo(), which restores a checkpoint at or before it and
// executes forward — so every path ends in a state the forward replay passed through.

import { differingDetails, machineDetailDigests, machineDigest } from "../core/machine.js";
import { atIcount, comparePositions, formatPosition, positionOf, samePosition, START, type Position } from "../core/position.js";
import { CheckpointStore, type Checkpoint } from "../replay/checkpoints.js";
import { decodeState } from "../core/state.js";
import { PAGE_SIZE } from "../core/memory.js";
import { ExecSegments } from "../core/exec-summary.js";
import type { InputRouter } from "../replay/input.js";
import { SessionError, type BreakpointType, type StopEvent, type WatchpointType } from "./api.js";
import type { DebugPoints } from "./debug-points.js";
import type { DigestMark, ForwardEngine, ForwardRequest, ForwardResult, Hit, ModePolicy } from "./forward.js";
import { ScanPool, type ReplicaSpec, type ScanJob, type ScanOutcome, type ScanTask } from "./scan-pool.js";
import type { SessionMachine } from "./target.js";

/** What a replay session reads. */
export interface ReplaySource {
  filename: string;
  events: readonly { icount: number; ticks: number; kind: number; payload: Uint8Array }[];
  digests: readonly DigestMark[];
  /** Where the recording ends (trailer, or the last whole chunk of a truncated file). */
  end: Position;
  /** Why the recording ended ("poweroff", "quit", "truncated"...). */
  endReason: string;
  finalDigest?: string;
}

export interface TimelineOptions {
  /** Steps between automatic checkpoints near the current position. */
  checkpointInterval: number;
  /** Memory budget for checkpoints, in bytes. */
  checkpointBudget: number;
  /** Steps per slice of a long seek or scan before yielding to the host. */
  slice: number;
  /** Reverse continue replays candidate intervals on this many worker threads too (0: none), each building a
   * machine from `replica`. */
  scanWorkers?: { replica: ReplicaSpec; count: number };
}

/** Checkpoint spacing just behind a seek target, so that further reverse steps from there stay cheap. */
const FINE_CHECKPOINT_INTERVAL = 20_000;
const FINE_WINDOW = 10 * FINE_CHECKPOINT_INTERVAL;
/** Execution summaries are cut at least this often (instructions), so reverse continue can skip the tail of an
 * interval whose head may hit. */
const SUMMARY_GRAIN = 16_384;
/** A zero page, for checkpoint pages that hold no copy. */
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** How a long operation ended: at its goal, or stopped early by the host or by a problem. */
export type Outcome = "reached" | StopEvent;

export class Timeline implements ModePolicy {
  readonly checkpoints: CheckpointStore;
  /** Set by the session once the forward engine exists (the engine needs this policy first). */
  forward!: ForwardEngine;
  private nextMark = 0;
  /** [from, to): where checkpoints are taken at the fine interval (just behind the last seek target). */
  private denseFrom = 0;
  private denseTo = 0;
  /** What a long operation is doing now, for progress displays ("seeking to icount N", ...). */
  activity: string | undefined;
  /** Where the last reverse continue stopped on a watchpoint (its hit is not reported again from there). */
  private reverseWatchStop: Position | undefined;
  /** Summaries of what ran, for reverse continue to skip intervals that cannot hit a breakpoint. */
  readonly segments = new ExecSegments();
  private segmentFrom = 0;
  /** Intervals reverse continue skipped, and replayed (for tests and the notes). */
  readonly reverseStats = { skipped: 0, replayed: 0, onWorkers: 0 };
  /** Where the running reverse continue started (for the progress line). */
  private reverseFrom = 0;
  /** Worker threads that replay candidate intervals beside this thread (scan-pool.ts). */
  readonly pool: ScanPool | undefined;

  constructor(
    private readonly machine: SessionMachine,
    private readonly inputs: InputRouter,
    private readonly points: DebugPoints,
    readonly source: ReplaySource,
    private readonly opts: TimelineOptions,
  ) {
    inputs.setReplayEvents(source.events);
    this.checkpoints = new CheckpointStore(machine.ram, machine.nonRamParts, opts.checkpointBudget, machine.intervalFlags);
    this.checkpoints.capture(machine.clock.icount, machine.clock.ticks, inputs.replayPosition);
    machine.executedPages.take();
    this.segmentFrom = machine.clock.icount;
    const workers = opts.scanWorkers;
    if (workers && workers.count > 0) this.pool = new ScanPool(workers.replica, source, workers.count, this.checkpoints);
  }

  // ---- what ran where: segments of contiguous execution and the code pages they executed -------------------

  /** Ends the current segment here (its pages are the engine's notes since it began) and starts the next. */
  private cutSegment(): void {
    const icount = this.machine.clock.icount;
    this.segments.add({ from: this.segmentFrom, to: icount, pages: this.machine.executedPages.take() });
    this.segmentFrom = icount;
  }

  get end(): Position {
    return this.source.end;
  }

  // ---- ModePolicy: what replay adds at every boundary ---------------------------------------------------

  atBoundary(): StopEvent | undefined {
    const clock = this.machine.clock;
    const now = positionOf(clock);
    const marks = this.source.digests;
    while (this.nextMark < marks.length) {
      const mark = marks[this.nextMark];
      const order = comparePositions(mark, now);
      if (order > 0) break;
      this.nextMark++;
      const problem = order < 0 ? this.passedMark(mark, now) : this.compareMark(mark);
      if (problem) return { kind: "diverged", message: problem };
    }
    if (clock.icount - this.segmentFrom >= SUMMARY_GRAIN) this.cutSegment();
    if (clock.icount >= this.nextCheckpointIcount()) {
      this.cutSegment();
      this.checkpoints.capture(clock.icount, clock.ticks, this.inputs.replayPosition);
    }
    this.checkpoints.thin(clock.icount, this.opts.checkpointInterval);
    return undefined;
  }

  nextStop(limit: Position): Position {
    let next = limit;
    const consider = (p: Position | undefined) => {
      if (p && comparePositions(p, next) < 0) next = p;
    };
    consider(this.end);
    consider(this.inputs.peekReplay());
    consider(this.source.digests[this.nextMark]);
    const cp = this.nextCheckpointIcount();
    if (cp !== Infinity) consider(atIcount(cp));
    consider(atIcount(this.segmentFrom + SUMMARY_GRAIN));
    return next;
  }

  atEnd(): boolean {
    return comparePositions(positionOf(this.machine.clock), this.end) >= 0;
  }

  onIdle(): "continue" | StopEvent {
    const clock = this.machine.clock;
    const now = positionOf(clock);
    const ev = this.inputs.peekReplay();
    if (ev && comparePositions(ev, now) === 0) return "continue"; // delivered at the next boundary check
    const what = ev ? `its next input is at ${formatPosition(ev)}, which the guest cannot reach` : "it has no more input";
    return { kind: "diverged", message: `replay diverged: the guest waits for an interrupt at ${formatPosition(now)} with no timer armed, but the recording ${what}` };
  }

  onPoweroff(): StopEvent | "continue" {
    const now = positionOf(this.machine.clock);
    if (comparePositions(now, this.end) < 0)
      return { kind: "diverged", message: `replay diverged: the guest powered off at ${formatPosition(now)}, before the recording's end (${formatPosition(this.end)})` };
    return "continue";
  }

  private compareMark(mark: DigestMark): string | undefined {
    if (machineDigest(this.machine) === mark.digest) return undefined;
    const differing = differingDetails(mark.parts, machineDetailDigests(this.machine));
    const what = differing.length ? differing.join(", ") : "the machine state";
    return `replay diverged from the recording at ${formatPosition(mark)}: ${what} differ${differing.length === 1 ? "s" : ""}`;
  }

  private passedMark(mark: DigestMark, now: Position): string {
    const how = mark.icount === now.icount ? "clock (virtual time) differs" : "the replay never stopped there";
    return `replay diverged from the recording at ${formatPosition(mark)}: it is now at ${formatPosition(now)} (${how})`;
  }

  // ---- checkpoints ----------------------------------------------------------------------------------------

  private nextCheckpointIcount(): number {
    const icount = this.machine.clock.icount;
    const prev = this.checkpoints.atOrBefore(icount);
    const dense = icount >= this.denseFrom && icount < this.denseTo;
    const interval = dense ? Math.min(FINE_CHECKPOINT_INTERVAL, this.opts.checkpointInterval) : this.opts.checkpointInterval;
    let due = (prev ? prev.icount : 0) + interval;
    // Entering the dense window: the first fine checkpoint is due where the window starts.
    if (!dense && icount < this.denseFrom && this.denseFrom < due) due = this.denseFrom;
    const next = this.checkpoints.after(icount);
    // No need for a new checkpoint if an existing one comes before the next due point.
    return next && next.icount <= due ? Infinity : due;
  }

  private restore(cp: Checkpoint): void {
    this.cutSegment(); // execution up to here was contiguous; from cp a new segment begins
    this.checkpoints.restore(cp);
    this.machine.executedPages.take();
    this.segmentFrom = cp.icount;
    this.inputs.seekReplayIndex(cp.extra);
    this.seekMarks(cp);
  }

  /** The next digest mark to compare is the first after p. */
  private seekMarks(p: Position): void {
    const marks = this.source.digests;
    this.nextMark = 0;
    while (this.nextMark < marks.length && comparePositions(marks[this.nextMark], p) <= 0) this.nextMark++;
  }

  // ---- moving through time --------------------------------------------------------------------------------

  /**
   * Goes to the first boundary at or after `p` (which must lie within the recording): restores the nearest
   * checkpoint at or before it, unless going on from here is shorter, then executes forward in slices.
   */
  async seekTo(p: Position, interrupted?: () => boolean): Promise<Outcome> {
    const clock = this.machine.clock;
    const here = positionOf(clock);
    const cp = this.checkpoints.atOrBefore(p.icount, p.ticks);
    if (!cp) throw new SessionError("no checkpoint to seek from");
    const fromHere = comparePositions(here, p) <= 0 && comparePositions(cp, here) <= 0;
    if (!fromHere) this.restore(cp);
    // Reverse steps tend to follow a seek: keep checkpoints fine-grained just behind the target.
    this.denseFrom = Math.max(0, p.icount - FINE_WINDOW);
    this.denseTo = p.icount;
    const outer = this.activity;
    this.activity ??= `seeking to icount ${p.icount.toLocaleString("en-US")}`;
    const r = await this.runSliced({ target: p, debug: "none", interrupted }).finally(() => (this.activity = outer));
    if (r === "target") return "reached";
    if (typeof r === "object") return r;
    throw new SessionError(`could not reach ${formatPosition(p)}: ${r}`);
  }

  /** Reverse step: to the first boundary of the previous icount (docs/icount.md, positions). */
  async reverseStep(interrupted?: () => boolean): Promise<StopEvent> {
    const now = this.machine.clock.icount;
    if (now === 0) return { kind: "replay-begin" };
    const r = await this.seekTo(atIcount(now - 1), interrupted);
    return r === "reached" ? { kind: "step" } : r;
  }

  /**
   * Reverse continue: scans checkpoint intervals backwards, replaying each once with breakpoints and
   * watchpoints collected, and goes to the last hit before now — the exact position the forward run stopped at.
   * With breakpoints only, intervals that the execution summaries show never ran code on a breakpoint's page are
   * skipped without replaying them (a page that ran is only a candidate: the interval is replayed to find out).
   * With a scan pool, the next older candidates replay on worker threads while this thread replays the newest;
   * results are taken newest first, so the answer is the serial scan's.
   */
  async reverseContinue(interrupted: () => boolean): Promise<StopEvent> {
    const now = positionOf(this.machine.clock);
    // A write just before now (GDB has stepped over the store a forward watchpoint stopped before) is the
    // first hit going back — unless a reverse continue already stopped here on it.
    const fromReverseStop = this.reverseWatchStop !== undefined && samePosition(this.reverseWatchStop, now);
    this.reverseWatchStop = undefined;
    const counts = (h: Hit) => {
      const order = comparePositions(h.at, now);
      return order < 0 || (order === 0 && !fromReverseStop && h.event.kind === "watchpoint" && h.event.type === "write");
    };
    if (!this.points.any) return this.toStart(interrupted);
    this.cutSegment();
    this.reverseFrom = now.icount;
    const found = await this.scanBack(this.candidates(now), counts, interrupted);
    if (found === undefined) return this.toStart(interrupted);
    if (!Array.isArray(found)) return found;
    const last = found[found.length - 1];
    // Going backwards, a watchpoint stops where the access is about to happen: the values there are the old ones,
    // which is what a debugger compares to show the change. Where the architecture reports forward stops after
    // the access (x86), that is the step before the hit; where it reports them before (AArch64), the hit itself.
    const after = last.event.kind === "watchpoint" && this.machine.debug.watchReport === "after" && last.at.icount > 0;
    const target = after ? atIcount(last.at.icount - 1) : last.at;
    const got = await this.seekTo(target, interrupted);
    if (got !== "reached") return got;
    if (last.event.kind === "watchpoint") this.reverseWatchStop = positionOf(this.machine.clock);
    return last.event;
  }

  /**
   * The checkpoint intervals before `now` that may hold a hit, newest first, each as the part [cp, scanTo) to
   * replay. Intervals that cannot hit are skipped: for breakpoints, those whose segments never executed from a
   * breakpoint's page (and the tail after the last segment that did need not be replayed); for write
   * watchpoints, those that wrote none of the physical pages the watched ranges map to (or their page tables)
   * and changed no translation register that could move them. Read and access watchpoints cannot be told from
   * the summaries: with one of them every interval is replayed. Drawn lazily: each is taken from the checkpoints
   * as they are when it is needed.
   */
  private *candidates(now: Position): Generator<{ cp: Checkpoint; scanTo: Position }> {
    const pages = this.points.breakpoints.map((b) => Number(b.addr >> 12n));
    const watches = this.points.watchpoints;
    const summarized = watches.every((w) => w.type === "write");
    let hi = now;
    for (let current = true; ; current = false) {
      const cp = this.checkpoints.atOrBefore(hi.icount, hi.ticks - 1);
      if (!cp) return;
      let scanTo: Position = hi;
      if (summarized && cp.icount < hi.icount) {
        let y = pages.length > 0 ? this.segments.scanEnd(cp.icount, hi.icount, pages) : cp.icount;
        if (y < hi.icount && watches.length > 0 && this.mayWrite(cp, hi, current)) y = hi.icount;
        if (y === cp.icount) {
          this.reverseStats.skipped++;
          hi = { icount: cp.icount, ticks: cp.ticks };
          continue;
        }
        if (y < hi.icount) scanTo = atIcount(y);
      }
      this.reverseStats.replayed++;
      yield { cp, scanTo };
      hi = { icount: cp.icount, ticks: cp.ticks };
    }
  }

  /**
   * Whether the CPU may have written a watched range between checkpoint cp and `to` (the current position when
   * `current`): the architecture says where the ranges map in cp's state and which translation changes could
   * move them, the checkpoints what was written since.
   */
  private mayWrite(cp: Checkpoint, to: Position, current: boolean): boolean {
    const store = this.checkpoints;
    const written = store.writtenBetween(cp, to, current);
    const state = decodeState(cp.state);
    const page = (pa: number) => {
      const p = store.pageOf(pa);
      return p === undefined ? undefined : (store.contentAt(cp, p) ?? ZERO_PAGE);
    };
    for (const w of this.points.watchpoints) {
      const targets = this.machine.debug.writeTargets(w.addr, w.length, state, page);
      if (targets === undefined || (targets.flags & written.flags) !== 0) return true;
      for (const pa of targets.pages) {
        const p = store.pageOf(pa);
        // Not memory (a device register): writes to it leave no written page behind.
        if (p === undefined || written.pages.has(p)) return true;
      }
      for (const pa of targets.tables) {
        const p = store.pageOf(pa);
        if (p !== undefined && written.pages.has(p)) return true;
      }
    }
    return false;
  }

  /**
   * Replays candidates until one holds hits that count: returns them (in order), a stop event when a replay
   * ended otherwise (interrupted, diverged), or undefined when none holds one. This thread takes the next
   * candidate whenever it is free, idle workers the ones after it.
   */
  private async scanBack(
    candidates: Generator<{ cp: Checkpoint; scanTo: Position }>,
    counts: (h: Hit) => boolean,
    interrupted: () => boolean,
  ): Promise<Hit[] | StopEvent | undefined> {
    const inFlight: (ScanTask & { candidate: { cp: Checkpoint; scanTo: Position } })[] = [];
    let hereBusy = false;
    let hereCancelled = false;
    let exhausted = false;
    const points = {
      breakpoints: this.points.breakpoints.map((b) => ({ ...b })),
      watchpoints: this.points.watchpoints.map((w) => ({ ...w })),
    };
    const startNext = (): boolean => {
      if (exhausted) return false;
      const here = !hereBusy; // this thread takes the next candidate when free, else an idle worker does
      if (!here && !this.pool?.canStart()) return false;
      const next = candidates.next();
      if (next.done) {
        exhausted = true;
        return false;
      }
      const candidate = next.value;
      const { cp, scanTo } = candidate;
      if (here) {
        hereBusy = true;
        hereCancelled = false;
        // Started after this synchronous fill (the replay itself runs synchronously for a whole slice), so the
        // workers get their candidates first.
        const outcome = Promise.resolve()
          .then(() => this.scanHere(cp, scanTo, () => hereCancelled || interrupted()))
          .finally(() => (hereBusy = false));
        inFlight.push({ outcome, cancel: () => (hereCancelled = true), candidate });
      } else {
        inFlight.push({ ...this.pool!.start(cp, scanTo, points), candidate });
        this.reverseStats.onWorkers++;
      }
      return true;
    };
    try {
      for (;;) {
        while (startNext());
        const head = inFlight.shift();
        if (head === undefined) return undefined;
        const { result, hits, failed } = await head.outcome;
        if (interrupted()) return { kind: "interrupted" };
        if (failed !== undefined) {
          // A worker failed (the pool is off now): replay from that candidate on, here (with the ones drawn
          // after it, in order).
          const again = [head.candidate, ...inFlight.map((t) => t.candidate)];
          await stopAll(inFlight.splice(0));
          return this.scanBack(restartWith(again, candidates), counts, interrupted);
        }
        if (result !== "target" && result.kind !== "replay-end") return result;
        const before = hits.filter(counts);
        if (before.length > 0) return before;
      }
    } finally {
      // Older candidates still running are not needed: stop them (their machines stay consistent).
      await stopAll(inFlight);
    }
  }

  /** Replays [cp, scanTo) here, collecting hits. */
  private async scanHere(cp: Checkpoint, scanTo: Position, interrupted: () => boolean): Promise<ScanOutcome> {
    this.restore(cp);
    const now = this.reverseFrom;
    this.activity = `reverse continue: searching icount ${cp.icount.toLocaleString("en-US")}..${scanTo.icount.toLocaleString("en-US")} (from ${now.toLocaleString("en-US")})`;
    const hits: Hit[] = [];
    // Breakpoints are checked at every boundary of [cp, scanTo); the check happens before an instruction runs,
    // so the boundary at cp itself is included.
    const r = await this.runSliced({ target: scanTo, debug: "all", collect: hits, interrupted }).finally(() => (this.activity = undefined));
    return { result: scanResult(r), hits };
  }

  /**
   * A scan worker's job (scan-worker.ts): loads the checkpoint it was handed, arms its breakpoints and
   * watchpoints, and replays the interval as scanHere does on the main thread.
   */
  async scanInterval(job: ScanJob, interrupted: () => boolean): Promise<ScanOutcome & { written: number[] }> {
    this.checkpoints.load(job.state, job.pages, job.complete);
    this.machine.executedPages.take();
    this.segments.clear(); // nobody reverse-continues here: keep no summaries
    this.segmentFrom = job.icount;
    this.inputs.seekReplayIndex(job.extra);
    this.seekMarks(job);
    this.points.clear();
    for (const b of job.breakpoints) this.points.addBreakpoint(b.type as BreakpointType, b.addr, b.kind);
    for (const w of job.watchpoints) this.points.addWatchpoint(w.type as WatchpointType, w.addr, w.length);
    const hits: Hit[] = [];
    const r = await this.runSliced({ target: job.scanTo, debug: "all", collect: hits, interrupted });
    return { result: scanResult(r), hits, written: this.checkpoints.writtenPages() };
  }

  private async toStart(interrupted?: () => boolean): Promise<StopEvent> {
    const r = await this.seekTo(START, interrupted);
    return r === "reached" ? { kind: "replay-begin" } : r;
  }

  /** forward() in slices that yield to the host between them, so ^C, QMP and progress output stay live. */
  async runSliced(req: ForwardRequest): Promise<ForwardResult> {
    for (;;) {
      const r = this.forward.run({ ...req, budget: this.opts.slice });
      if (r !== "slice") return r;
      if (req.interrupted?.()) return { kind: "interrupted" };
      await yieldToHost();
    }
  }
}

/** Cancels scans and waits until each has stopped (this thread's machine is free again after it). */
async function stopAll(tasks: readonly ScanTask[]): Promise<void> {
  for (const t of tasks) t.cancel();
  await Promise.all(tasks.map((t) => t.outcome));
}

/** Candidates again: `first` (in order), then the rest of `rest`. */
function* restartWith<T>(first: readonly T[], rest: Generator<T>): Generator<T> {
  yield* first;
  yield* rest;
}

/** A scan's forward result as a scan outcome: reaching the target (or the recording's end) is the normal end. */
function scanResult(r: ForwardResult): "target" | StopEvent {
  if (r === "target") return r;
  if (typeof r === "object") return r;
  throw new SessionError(`reverse continue stopped unexpectedly: ${r}`);
}

export function yieldToHost(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Reverse continue on several cores: worker threads that replay checkpoint intervals beside the session.
//
// Each interval of a scan is a pure function of its checkpoint (the machine state there plus the recording's
// inputs after it), so a second machine of the same configuration, given that checkpoint, finds exactly the hits
// the session would find replaying it itself. A worker (scan-worker.ts) holds such a machine in a replay session
// of the same recording. A job hands it a checkpoint: the state of every part but RAM, and the RAM pages that
// differ from what the worker holds — the whole RAM the first time, afterwards the pages stored by checkpoints
// between the worker's last checkpoint and this one plus the pages the worker wrote since (it reports them).
// The timeline (timeline.ts) decides what to scan and in which order; results are used newest first, so the
// answer is the serial scan's.

import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { Position } from "../core/position.js";
import type { Checkpoint, CheckpointStore } from "../replay/checkpoints.js";
import type { StopEvent } from "./api.js";
import type { Hit } from "./forward.js";
import type { ReplaySource } from "./timeline.js";

/** How to build another machine exactly like the session's: a board name and its configuration without the
 * host callbacks (serial output, log lines), as structured-clone data. */
export interface ReplicaSpec {
  board: string;
  config: Record<string, unknown>;
}

/** One interval to replay, as a worker receives it. */
export interface ScanJob {
  id: number;
  /** The checkpoint it starts from. */
  icount: number;
  ticks: number;
  state: Uint8Array;
  extra: number;
  /** RAM pages (checkpoint-store numbering) to write first: content, or null for a zero page. */
  pages: (readonly [number, Uint8Array | null])[];
  /** `pages` holds every page that is not zero (the worker's RAM is zeroed first). */
  complete: boolean;
  scanTo: Position;
  breakpoints: { type: string; addr: bigint; kind: number }[];
  watchpoints: { type: string; addr: bigint; length: number }[];
}

/** How the replay of an interval ended, and the hits it collected. */
export interface ScanOutcome {
  result: "target" | StopEvent;
  hits: Hit[];
  /** The worker failed (the pool then stops): the interval must be replayed elsewhere. */
  failed?: string;
}

export interface ScanReply extends ScanOutcome {
  id: number;
  /** Pages the worker wrote while replaying. */
  written: number[];
}

export type WorkerMessage =
  | { type: "init"; spec: ReplicaSpec; source: ReplaySource }
  | { type: "job"; job: ScanJob }
  | { type: "cancel"; id: number };
export type WorkerReply = { type: "result"; reply: ScanReply } | { type: "error"; message: string };

/**
 * Workers beside the main thread: one per core, at most 3, none on one core (REWIND_SCAN_WORKERS=N overrides; 0:
 * none). One per core, not per spare core: a worker replays slower than the main thread (it gets each checkpoint
 * handed over), and on 2 cores 2 workers beat 1 (bench/reverse-parallel.ts: 1.72x against 1.43x).
 */
export function defaultScanWorkers(): number {
  const env = process.env.REWIND_SCAN_WORKERS;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  const cores = availableParallelism();
  return cores <= 1 ? 0 : Math.min(3, cores);
}

interface ScanWorker {
  thread: Worker;
  /** The checkpoint its RAM descends from, and the pages it wrote since. */
  base: Checkpoint | undefined;
  written: number[];
  busy: boolean;
  pending: Map<number, (r: ScanReply) => void>;
  exited: boolean;
  failed: boolean;
}

/** A running job: its outcome (once the worker answers) and a way to stop it early. */
export interface ScanTask {
  outcome: Promise<ScanOutcome>;
  cancel(): void;
}

export class ScanPool {
  private readonly workers: ScanWorker[] = [];
  private nextId = 1;
  private closing = false;
  /** Why the pool stopped working (a worker failed): reverse continue then scans on the main thread only. */
  failure: string | undefined;

  constructor(
    private readonly spec: ReplicaSpec,
    private readonly source: ReplaySource,
    readonly size: number,
    private readonly checkpoints: CheckpointStore,
  ) {}

  get usable(): boolean {
    return this.size > 0 && this.failure === undefined;
  }

  /** An idle worker (started on first use), or undefined when all are busy. */
  private idle(): ScanWorker | undefined {
    const free = this.workers.find((w) => !w.busy);
    if (free || this.workers.length >= this.size) return free;
    const thread = new Worker(new URL("./scan-worker.js", import.meta.url));
    const w: ScanWorker = { thread, base: undefined, written: [], busy: false, pending: new Map(), exited: false, failed: false };
    thread.on("message", (m: WorkerReply) => {
      if (m.type === "error") return this.fail(w, m.message);
      const done = w.pending.get(m.reply.id);
      w.pending.delete(m.reply.id);
      w.written = m.reply.written;
      w.busy = false;
      thread.unref();
      done?.(m.reply);
    });
    thread.on("error", (e) => this.fail(w, e.message));
    thread.on("exit", (code) => {
      w.exited = true;
      if (!this.closing) this.fail(w, `scan worker exited (status ${code})`);
    });
    thread.unref(); // an idle worker never keeps the process alive (after the listeners: adding one refs it)
    thread.postMessage({ type: "init", spec: this.spec, source: this.source } satisfies WorkerMessage);
    this.workers.push(w);
    return w;
  }

  private fail(w: ScanWorker, message: string): void {
    this.failure ??= message;
    w.failed = true;
    w.thread.unref();
    for (const done of w.pending.values()) done({ id: 0, written: [], hits: [], result: "target", failed: message });
    w.pending.clear();
  }

  /** Whether start() has a worker to run on. */
  canStart(): boolean {
    return this.usable && (this.workers.length < this.size || this.workers.some((w) => !w.busy));
  }

  /** Starts replaying [cp, scanTo) on an idle worker (canStart() must be true). */
  start(cp: Checkpoint, scanTo: Position, points: Pick<ScanJob, "breakpoints" | "watchpoints">): ScanTask {
    const w = this.idle();
    if (!w) throw new Error("no idle scan worker");
    const id = this.nextId++;
    const { pages, complete } = this.pagesFor(w, cp);
    const job: ScanJob = { id, icount: cp.icount, ticks: cp.ticks, state: cp.state, extra: cp.extra, pages, complete, scanTo, ...points };
    w.busy = true;
    w.base = cp;
    w.thread.ref(); // the answer is awaited
    const outcome = new Promise<ScanOutcome>((resolve) => w.pending.set(id, resolve));
    w.thread.postMessage({ type: "job", job } satisfies WorkerMessage);
    return { outcome, cancel: () => w.thread.postMessage({ type: "cancel", id } satisfies WorkerMessage) };
  }

  /** The pages that bring the worker's RAM to cp's. */
  private pagesFor(w: ScanWorker, cp: Checkpoint): { pages: (readonly [number, Uint8Array | null])[]; complete: boolean } {
    const store = this.checkpoints;
    const changed = w.base === undefined ? undefined : store.pagesBetween(w.base, cp);
    const complete = changed === undefined;
    const contents = store.contentsAt(cp, complete ? store.pagesAt(cp) : new Set([...changed, ...w.written]));
    // A complete set needs no zero pages: the worker zeroes everything not given.
    return { pages: complete ? contents.filter(([, content]) => content !== null) : contents, complete };
  }

  async close(): Promise<void> {
    this.closing = true;
    const live = this.workers.splice(0).filter((w) => !w.exited);
    // A failed worker is stopped without waiting: its terminate() may never settle (seen on Node 20 after the
    // worker reported an error), and nothing of it is needed any more.
    for (const w of live.filter((w) => w.failed)) void w.thread.terminate();
    const healthy = live.filter((w) => !w.failed);
    for (const w of healthy) w.thread.ref(); // terminate() resolves once the thread has exited: wait for that
    await Promise.all(healthy.map((w) => w.thread.terminate()));
  }
}

// The session: one object over a running machine, in live, record or replay mode, implementing the DebugSession
// API that every front end uses (GDB, QMP, CLI, tests). It is the facade over three parts, split as rr splits
// its own: the forward engine (forward.ts) with the mode's policy, the replay timeline (timeline.ts: checkpoints,
// seek and the reverse commands), and the breakpoints and watchpoints (debug-points.ts).

import { EventEmitter } from "node:events";
import { machineDigest } from "../core/machine.js";
import { atIcount, positionOf } from "../core/position.js";
import { InputRouter, type InputMode, type LoggedInput } from "../replay/input.js";
import { EventKind } from "../replay/format-types.js";
import { ByteReader, ByteWriter } from "../replay/varint.js";
import {
  ReplayReadOnlyError,
  SessionBusyError,
  SessionError,
  type BreakpointType,
  type DebugSession,
  type RegisterInfo,
  type ReplayInfo,
  type RunState,
  type SessionEvents,
  type StopEvent,
  type WatchpointType,
} from "./api.js";
import { DebugPoints } from "./debug-points.js";
import { ForwardEngine, LivePolicy, RecordPolicy, type DigestMark, type ForwardResult, type ModePolicy } from "./forward.js";
import { Timeline, yieldToHost, type ReplaySource } from "./timeline.js";
import type { SessionMachine } from "./target.js";
import { defaultScanWorkers, type ReplicaSpec, type ScanJob, type ScanOutcome } from "./scan-pool.js";

export type { ReplaySource } from "./timeline.js";

/** What a recording session writes (implemented over the recording format writer). */
export interface RecordSink {
  /** The recording's file name, as the user gave it (QMP query-replay shows it). */
  readonly filename?: string;
  addEvent(e: LoggedInput): void;
  addDigest(mark: DigestMark): void;
  /** Called at slice boundaries: a chance to flush to disk. */
  flush(): void;
  finish(trailer: { finalIcount: number; finalTicks: number; finalDigest: string; endReason: string }): void;
}

export interface SessionOptions {
  machine: SessionMachine;
  mode: InputMode;
  record?: RecordSink;
  replay?: ReplaySource;
  /** Record mode: instructions between state digests in the recording. */
  digestInterval?: number;
  /** Replay mode: instructions between automatic checkpoints near the current position. */
  checkpointInterval?: number;
  /** Replay mode: memory budget for checkpoints, in bytes. */
  checkpointBudget?: number;
  /** Instructions per slice before yielding to the host event loop (every long operation runs in slices). */
  slice?: number;
  /** Replay mode: how to build another machine like this one, so reverse continue can replay candidate
   * intervals on worker threads too (scan-pool.ts); without it, it replays them on this thread only. */
  replica?: ReplicaSpec;
  /** Worker threads for reverse continue (default: one per spare core, at most 3; REWIND_SCAN_WORKERS). */
  scanWorkers?: number;
}

const DEFAULT_SLICE = 200_000;

export class MachineSession implements DebugSession {
  readonly machine: SessionMachine;
  readonly inputs: InputRouter;
  readonly mode: InputMode;
  private readonly record?: RecordSink;
  private readonly timeline?: Timeline;
  private readonly forward: ForwardEngine;
  private readonly points: DebugPoints;
  private readonly emitter = new EventEmitter();
  private readonly slice: number;

  private state: RunState = "paused";
  private busy = false;
  private pauseRequested = false;
  /** The icount of the last forward watchpoint stop before an access: resuming from there executes it first. */
  private watchStopIcount = -1;
  private inputWaiter: (() => void) | undefined;
  private finished = false;
  /** The guest powered off (live/record). */
  private poweredOff = false;
  private readonly interrupted = () => this.pauseRequested;

  constructor(opts: SessionOptions) {
    this.machine = opts.machine;
    this.mode = opts.mode;
    this.record = opts.record;
    this.slice = opts.slice ?? DEFAULT_SLICE;
    this.inputs = new InputRouter(this.machine.clock, opts.mode);
    for (const ch of this.machine.inputChannels()) this.inputs.addChannel(ch);
    this.addHostWriteChannels();
    this.points = new DebugPoints(this.machine.debug);
    let policy: ModePolicy;
    if (opts.mode === "record") {
      const sink = this.record;
      if (!sink) throw new SessionError("record mode needs a recording sink");
      this.inputs.onLogged = (e) => sink.addEvent(e);
      const rp = new RecordPolicy(this.machine, opts.digestInterval ?? 50_000_000, (m) => sink.addDigest(m));
      rp.emit();
      policy = rp;
    } else if (opts.mode === "replay") {
      if (!opts.replay) throw new SessionError("replay mode needs a recording");
      this.timeline = new Timeline(this.machine, this.inputs, this.points, opts.replay, {
        checkpointInterval: opts.checkpointInterval ?? 200_000,
        checkpointBudget: opts.checkpointBudget ?? 512 << 20,
        slice: this.slice,
        scanWorkers: opts.replica ? { replica: opts.replica, count: opts.scanWorkers ?? defaultScanWorkers() } : undefined,
      });
      policy = this.timeline;
    } else {
      policy = new LivePolicy();
    }
    this.forward = new ForwardEngine(this.machine, this.inputs, this.points, policy);
    if (this.timeline) this.timeline.forward = this.forward;
  }

  /** Debugger writes to memory and registers are inputs like any other: logged while recording, replayed. */
  private addHostWriteChannels(): void {
    const m = this.machine;
    this.inputs.addChannel({
      kind: EventKind.MemoryWrite,
      name: "debugger memory write",
      ready: () => true,
      deliver: (payload) => {
        const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
        const pa = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
        m.writePhysical(pa, payload.subarray(8));
      },
    });
    this.inputs.addChannel({
      kind: EventKind.RegisterWrite,
      name: "debugger register write",
      ready: () => true,
      deliver: (payload) => {
        const r = new ByteReader(payload);
        const regnum = r.varint("a register number");
        if (!m.debug.writeRegister(regnum, payload.subarray(r.offset))) throw new SessionError(`register ${regnum} cannot be written`);
      },
    });
  }

  // ---- DebugSession: state -------------------------------------------------------------------------------

  get arch(): "aarch64" | "x86_64" {
    return this.machine.debug.arch;
  }
  runState(): RunState {
    return this.state;
  }
  replayInfo(): ReplayInfo {
    const mode = this.mode === "live" ? "none" : this.mode === "record" ? "record" : "play";
    const info: ReplayInfo = { mode, icount: this.machine.clock.icount };
    if (this.timeline) info.filename = this.timeline.source.filename;
    else if (this.record?.filename !== undefined) info.filename = this.record.filename;
    return info;
  }
  icount(): number {
    return this.machine.clock.icount;
  }
  /** Where the machine is: the icount and the virtual time (two boundaries can share an icount). */
  position() {
    return positionOf(this.machine.clock);
  }
  digest(): string {
    return machineDigest(this.machine);
  }
  /** What a long replay operation is doing now (a seek, a reverse continue's search), for progress lines. */
  activity(): string | undefined {
    return this.timeline?.activity;
  }
  /** Replay: where the recording ends. */
  get replayEnd(): number | undefined {
    return this.timeline?.end.icount;
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.emitter.on(event, listener);
  }
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.emitter.off(event, listener);
  }

  // ---- DebugSession: execution ---------------------------------------------------------------------------

  async step(): Promise<StopEvent> {
    return this.exclusive(async () => {
      if (this.timeline?.atEnd()) return { kind: "replay-end" };
      const r = this.forward.run({ target: atIcount(this.icount() + 1), debug: this.resumingFromWatch() ? "none" : "watch-only" });
      return this.noteStop(isProgress(r) ? { kind: "step" } : r);
    });
  }

  async cont(): Promise<StopEvent> {
    return this.exclusive(async () => {
      this.setRunning();
      try {
        // Start on the next turn of the event loop, so whoever asked (QMP's cont) can answer before a short run
        // already stops.
        await yieldToHost();
        // Resuming from a breakpoint: execute its instruction first, then stop at breakpoints again.
        const fromWatch = this.resumingFromWatch();
        if (this.points.breakpointAtPc() || fromWatch) {
          const first = this.forward.run({ target: atIcount(this.icount() + 1), debug: fromWatch ? "none" : "watch-only" });
          if (!isProgress(first)) return this.noteStop(first);
        }
        for (;;) {
          if (this.pauseRequested) return { kind: "interrupted" } as StopEvent;
          const r = this.forward.run({ debug: "all", budget: this.slice, interrupted: this.interrupted });
          if (r === "slice") {
            this.record?.flush();
            await yieldToHost();
            continue;
          }
          if (r === "idle") {
            this.record?.flush();
            await this.waitForInput();
            continue;
          }
          if (r === "target") continue;
          return this.noteStop(r);
        }
      } finally {
        this.setPaused();
      }
    });
  }

  /**
   * Runs forward to `icount` ignoring breakpoints (scripted recordings, tests). Resolves with undefined when it
   * got there, or with why it stopped earlier; "idle" means the guest waits for input that has not arrived.
   */
  async runTo(icount: number): Promise<StopEvent | "idle" | undefined> {
    let result: StopEvent | "idle" | undefined;
    await this.exclusive(async () => {
      for (;;) {
        const r = this.forward.run({ target: atIcount(icount), debug: "none", budget: this.slice, interrupted: this.interrupted });
        if (r === "slice") {
          if (this.pauseRequested) {
            result = { kind: "interrupted" };
            return result;
          }
          this.record?.flush();
          await yieldToHost();
          continue;
        }
        result = r === "target" ? undefined : r;
        return typeof r === "object" ? this.noteStop(r) : { kind: "step" };
      }
    });
    return result;
  }

  async reverseStep(): Promise<StopEvent> {
    return this.exclusive(async () => this.requireTimeline("reverse step").reverseStep(this.interrupted));
  }

  async reverseCont(): Promise<StopEvent> {
    return this.exclusive(async () => {
      const timeline = this.requireTimeline("reverse continue");
      this.setRunning();
      try {
        return await timeline.reverseContinue(this.interrupted);
      } finally {
        this.setPaused();
      }
    });
  }

  async seek(icount: number): Promise<void> {
    await this.exclusive(async () => {
      const timeline = this.requireTimeline("seek");
      if (!Number.isSafeInteger(icount) || icount < 0) throw new SessionError(`cannot seek to icount ${icount}`);
      const end = timeline.end.icount;
      if (icount > end) throw new SessionError(`icount ${icount} is beyond the end of the recording (${end})`);
      const r = await timeline.seekTo(atIcount(icount), this.interrupted);
      if (r !== "reached") {
        if (r.kind === "interrupted") throw new SessionError(`seek to icount ${icount} interrupted at icount ${this.icount()}`);
        throw new SessionError(r.kind === "diverged" || r.kind === "stuck" ? r.message : `seek to icount ${icount} stopped: ${r.kind}`);
      }
      return { kind: "step" };
    });
  }

  pause(): void {
    if (this.busy) this.pauseRequested = true;
    this.inputWaiter?.();
  }

  setReplayBreak(icount: number): void {
    if (this.mode !== "replay") throw new SessionError("setting the breakpoint is allowed only in play mode");
    // As QEMU's qmp_replay_break: the current icount is allowed (the next cont stops at once).
    if (icount < this.icount()) throw new SessionError("cannot set breakpoint at the instruction in the past");
    this.forward.replayBreak = icount;
  }
  clearReplayBreak(): void {
    this.forward.replayBreak = undefined;
  }

  // ---- breakpoints and watchpoints ---------------------------------------------------------------------

  addBreakpoint(type: BreakpointType, addr: bigint, kind: number): void {
    this.points.addBreakpoint(type, addr, kind);
  }
  removeBreakpoint(type: BreakpointType, addr: bigint, _kind: number): boolean {
    return this.points.removeBreakpoint(type, addr);
  }
  addWatchpoint(type: WatchpointType, addr: bigint, length: number): void {
    if (length <= 0) throw new SessionError("watchpoint length must be positive");
    this.points.addWatchpoint(type, addr, length);
  }
  removeWatchpoint(type: WatchpointType, addr: bigint, length: number): boolean {
    return this.points.removeWatchpoint(type, addr, length);
  }
  removeAllBreakpoints(): void {
    this.points.clear();
  }

  // ---- registers and memory ----------------------------------------------------------------------------

  registers(): readonly RegisterInfo[] {
    return this.machine.debug.registers();
  }
  gdbArchitecture(): string | undefined {
    return this.machine.debug.gdbArchitecture?.();
  }
  gdbLayouts(): readonly string[] {
    return this.machine.debug.gdbLayouts ?? [];
  }
  selectGdbLayout(name: string): boolean {
    return this.machine.debug.selectGdbLayout?.(name) ?? false;
  }
  readRegister(regnum: number): Uint8Array | undefined {
    return this.machine.debug.readRegister(regnum);
  }
  writeRegister(regnum: number, value: Uint8Array): void {
    this.requireWritable("write registers");
    if (!this.registers().some((r) => r.regnum === regnum)) throw new SessionError(`register ${regnum} cannot be written`);
    const w = new ByteWriter();
    w.varint(regnum);
    w.bytes(value);
    this.inputs.inject(EventKind.RegisterWrite, w.view().slice());
  }
  readMemory(addr: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.forEachPage(addr, length, (pa, done, n) => out.set(this.machine.readPhysical(pa, n), done));
    return out;
  }
  writeMemory(addr: bigint, data: Uint8Array): void {
    this.requireWritable("write memory");
    // Translate every page first, so a write that is partly unmapped changes nothing.
    const pieces: [number, Uint8Array][] = [];
    this.forEachPage(addr, data.length, (pa, done, n) => {
      if (!this.machine.isRam(pa, n)) throw new Error("not RAM");
      pieces.push([pa, data.subarray(done, done + n)]);
    });
    for (const [pa, bytes] of pieces) {
      const payload = new Uint8Array(8 + bytes.length);
      const view = new DataView(payload.buffer);
      view.setUint32(0, pa >>> 0, true);
      view.setUint32(4, Math.floor(pa / 4294967296), true);
      payload.set(bytes, 8);
      this.inputs.inject(EventKind.MemoryWrite, payload);
    }
  }

  private forEachPage(addr: bigint, length: number, fn: (pa: number, done: number, n: number) => void): void {
    let done = 0;
    while (done < length) {
      const a = addr + BigInt(done);
      const pa = this.machine.debug.translate(a);
      if (pa === undefined) throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      const inPage = Math.min(length - done, 4096 - Number(a & 0xfffn));
      try {
        fn(pa, done, inPage);
      } catch {
        throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      }
      done += inPage;
    }
  }

  // ---- machine control ---------------------------------------------------------------------------------

  systemReset(): void {
    if (this.mode === "replay") throw new ReplayReadOnlyError("system_reset is not possible while replaying a recording");
    this.inputs.inject(EventKind.SystemReset, new Uint8Array(0));
    // A cont waiting for input goes on with the rebooted guest; a paused machine tells its front ends.
    this.inputWaiter?.();
    if (!this.busy) this.emitter.emit("stop", { kind: "interrupted" });
  }

  async quit(): Promise<void> {
    this.pause();
    this.finishRecording("quit");
    this.state = "shutdown";
    this.emitter.emit("shutdown", "host-qmp-quit");
  }

  /** Host input arrived (live/record): wakes a cont that waits for it. */
  submitInput(kind: number, units: Uint8Array[]): void {
    this.inputs.submit(kind, units);
    this.inputWaiter?.();
  }

  /** Ends a recording (poweroff, quit, signal); idempotent. */
  finishRecording(reason: string): void {
    if (this.finished || !this.record) return;
    this.finished = true;
    const clock = this.machine.clock;
    this.record.finish({ finalIcount: clock.icount, finalTicks: clock.ticks, finalDigest: this.digest(), endReason: reason });
  }

  /** Reverse continue's intervals so far: skipped by the execution summaries, and replayed (here or on workers). */
  reverseStats(): { skipped: number; replayed: number; onWorkers: number; workerFailure?: string } {
    const t = this.timeline;
    return { ...(t?.reverseStats ?? { skipped: 0, replayed: 0, onWorkers: 0 }), workerFailure: t?.pool?.failure };
  }

  /** A scan worker's job (scan-worker.ts): replays one interval from a checkpoint handed over. Replay only. */
  scanInterval(job: ScanJob, interrupted: () => boolean): Promise<ScanOutcome & { written: number[] }> {
    if (!this.timeline) throw new SessionError("scanInterval needs a replay session");
    return this.timeline.scanInterval(job, interrupted);
  }

  /** Stops the session's worker threads (they never keep the process alive, but hold a machine each). */
  async close(): Promise<void> {
    await this.timeline?.pool?.close();
  }

  /** Checkpoint statistics (bench and tests). */
  checkpointStats() {
    return this.timeline?.checkpoints.stats();
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  /** Remembers a forward watchpoint stop made before its access: resuming executes that access first. */
  private noteStop(e: StopEvent): StopEvent {
    if (e.kind === "watchpoint") this.watchStopIcount = this.machine.debug.lastWatchStopAfterAccess() ? -1 : this.icount();
    if (e.kind === "poweroff" && this.mode !== "replay") {
      this.poweredOff = true;
      this.finishRecording("poweroff");
    }
    return e;
  }

  /** True when the machine sits on an access it was stopped before by a watchpoint (resume executes it). */
  private resumingFromWatch(): boolean {
    return this.watchStopIcount === this.icount() && this.points.watchpoints.length > 0 && this.machine.debug.watchReport === "before";
  }

  private requireTimeline(what: string): Timeline {
    if (!this.timeline) throw new SessionError(`${what} is only possible while replaying a recording`);
    return this.timeline;
  }

  private requireWritable(what: string): void {
    if (this.mode === "replay") throw new ReplayReadOnlyError(`cannot ${what} while replaying: it would break determinism`);
  }

  private async exclusive(fn: () => Promise<StopEvent>): Promise<StopEvent> {
    if (this.busy) throw new SessionBusyError("the machine is busy with another request");
    if (this.state === "shutdown") throw new SessionError("the machine has shut down");
    this.busy = true;
    this.pauseRequested = false;
    try {
      const event = await fn();
      this.emitter.emit("stop", event);
      if (event.kind === "poweroff" && this.poweredOff) {
        this.state = "shutdown";
        this.emitter.emit("shutdown", "guest-shutdown");
      }
      return event;
    } finally {
      this.busy = false;
      this.pauseRequested = false;
    }
  }

  private setRunning(): void {
    if (this.state !== "running") {
      this.state = "running";
      this.emitter.emit("resume");
    }
  }
  private setPaused(): void {
    if (this.state === "running") this.state = "paused";
  }

  private waitForInput(): Promise<void> {
    if (this.inputs.pendingLive || this.pauseRequested) return Promise.resolve();
    return new Promise((resolve) => {
      this.inputWaiter = () => {
        this.inputWaiter = undefined;
        resolve();
      };
    });
  }
}

function isProgress(r: ForwardResult): r is "target" | "slice" | "idle" {
  return r === "target" || r === "slice" || r === "idle";
}

// The session: one object over a running machine, in live, record or replay mode. Front ends (GDB, QMP, CLI,
// tests) use only the DebugSession API; this file owns the forward engine (inputs, digests, checkpoints,
// breakpoints) and the reverse engine (seek, reverse step, reverse continue), following DESIGN.md §3.

import { EventEmitter } from "node:events";
import { differingDetails, machineDetailDigests, machineDigest, type StopReason } from "../core/machine.js";
import { CheckpointStore, type Checkpoint } from "../replay/checkpoints.js";
import { InputRouter, ReplayDivergence, type InputMode, type LoggedInput } from "../replay/input.js";
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
import type { SessionMachine } from "./target.js";
import { WATCH_STOP } from "../arch/aarch64/cpu.js";

/** What a recording session writes (implemented over the recording format writer). */
export interface RecordSink {
  addEvent(e: LoggedInput): void;
  addDigest(mark: { icount: number; ticks: number; digest: string; parts: Record<string, string> }): void;
  /** Called at slice boundaries: a chance to flush to disk. */
  flush(): void;
  finish(trailer: { finalIcount: number; finalTicks: number; finalDigest: string; endReason: string }): void;
}

/** What a replay session reads. */
export interface ReplaySource {
  filename: string;
  events: readonly LoggedInput[];
  digests: readonly { icount: number; ticks: number; digest: string; parts: Record<string, string> }[];
  /** Where the recording ends (trailer, or the last whole chunk of a truncated file). */
  end: { icount: number; ticks: number };
  /** Why the recording ended ("poweroff", "quit", "truncated"...). */
  endReason: string;
  finalDigest?: string;
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
  /** Live/record: instructions per slice before yielding to the host event loop. */
  slice?: number;
}

interface Breakpoint {
  type: BreakpointType;
  addr: bigint;
  kind: number;
}
interface Watchpoint {
  type: WatchpointType;
  addr: bigint;
  length: number;
}

/** A debug stop found while running: the position (after a watch access, before a breakpoint's insn). */
interface Hit {
  icount: number;
  event: StopEvent;
}

type ForwardResult = StopEvent | "target" | "slice" | "idle";

const DEFAULT_SLICE = 200_000;
/** Checkpoint spacing just behind a seek target, so that further reverse steps from there stay cheap. */
const FINE_CHECKPOINT_INTERVAL = 20_000;
const FINE_WINDOW = 10 * FINE_CHECKPOINT_INTERVAL;

export class MachineSession implements DebugSession {
  readonly machine: SessionMachine;
  readonly inputs: InputRouter;
  readonly mode: InputMode;
  private readonly record?: RecordSink;
  private readonly replay?: ReplaySource;
  private readonly checkpoints?: CheckpointStore;
  private readonly emitter = new EventEmitter();
  private readonly digestInterval: number;
  private readonly checkpointInterval: number;
  private readonly slice: number;

  private state: RunState = "paused";
  private busy = false;
  private pauseRequested = false;
  private lastDigestIcount = 0;
  private nextMarkIndex = 0;
  private readonly breakpoints: Breakpoint[] = [];
  private readonly watchpoints: Watchpoint[] = [];
  private replayBreak: number | undefined;
  /** [from, to): where checkpoints are taken at the fine interval (just behind the last seek target). */
  private denseFrom = 0;
  private denseTo = 0;
  private pendingWatchHit: StopEvent | undefined;
  /** How a watchpoint hit is reported: before the access (forward, as GDB on AArch64 expects) or after it
   * (reverse continue: the state just after the access). */
  private watchTiming: "before" | "after" = "before";
  /** The icount of the last forward watchpoint stop: resuming from there executes that access first. */
  private watchStopIcount = -1;
  private inputWaiter: (() => void) | undefined;
  private finished = false;
  /** The guest powered off (live/record). */
  private poweredOff = false;

  constructor(opts: SessionOptions) {
    this.machine = opts.machine;
    this.mode = opts.mode;
    this.record = opts.record;
    this.replay = opts.replay;
    this.digestInterval = opts.digestInterval ?? 50_000_000;
    this.checkpointInterval = opts.checkpointInterval ?? 200_000;
    this.slice = opts.slice ?? DEFAULT_SLICE;
    this.inputs = new InputRouter(this.machine.clock, opts.mode);
    for (const ch of this.machine.inputChannels()) this.inputs.addChannel(ch);
    if (opts.mode === "record") {
      if (!this.record) throw new SessionError("record mode needs a recording sink");
      this.inputs.onLogged = (e) => this.record!.addEvent(e);
      this.emitDigest();
    }
    if (opts.mode === "replay") {
      if (!this.replay) throw new SessionError("replay mode needs a recording");
      this.inputs.setReplayEvents(this.replay.events);
      this.checkpoints = new CheckpointStore(this.machine.ram, this.machine.nonRamParts, opts.checkpointBudget ?? 512 << 20);
      this.checkpoints.capture(this.machine.clock.icount, this.machine.clock.ticks, this.inputs.replayPosition);
    }
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
    if (this.replay) info.filename = this.replay.filename;
    return info;
  }
  icount(): number {
    return this.machine.clock.icount;
  }
  digest(): string {
    return machineDigest(this.machine);
  }
  /** Replay: where the recording ends. */
  get replayEnd(): number | undefined {
    return this.replay?.end.icount;
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
      if (this.mode === "replay" && this.atReplayEnd()) return { kind: "replay-end" };
      const r = this.forward({ target: this.icount() + 1, debug: this.resumingFromWatch() ? "none" : "watch-only" });
      return r === "target" || r === "slice" || r === "idle" ? { kind: "step" } : r;
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
        if (this.breakpointAtPc() || fromWatch) {
          const first = this.forward({ target: this.icount() + 1, debug: fromWatch ? "none" : "watch-only" });
          if (first !== "target" && first !== "slice" && first !== "idle") return first;
        }
        for (;;) {
          if (this.pauseRequested) return { kind: "interrupted" } as StopEvent;
          const r = this.forward({ debug: "all", budget: this.slice });
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
          return r;
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
        const r = this.forward({ target: icount, debug: "none", budget: this.slice });
        if (r === "slice") {
          this.record?.flush();
          await yieldToHost();
          continue;
        }
        result = r === "target" ? undefined : r;
        return typeof r === "object" ? r : { kind: "step" };
      }
    });
    return result;
  }

  async reverseStep(): Promise<StopEvent> {
    return this.exclusive(async () => {
      this.requireReplay("reverse step");
      const now = this.icount();
      if (now === 0) return { kind: "replay-begin" };
      this.seekTo(now - 1);
      return { kind: "step" };
    });
  }

  async reverseCont(): Promise<StopEvent> {
    return this.exclusive(async () => {
      this.requireReplay("reverse continue");
      this.setRunning();
      try {
        return await this.reverseContinue();
      } finally {
        this.setPaused();
      }
    });
  }

  async seek(icount: number): Promise<void> {
    await this.exclusive(async () => {
      this.requireReplay("seek");
      if (!Number.isSafeInteger(icount) || icount < 0) throw new SessionError(`cannot seek to icount ${icount}`);
      const end = this.replay!.end.icount;
      if (icount > end) throw new SessionError(`icount ${icount} is beyond the end of the recording (${end})`);
      this.seekTo(icount);
      return { kind: "step" };
    });
  }

  pause(): void {
    if (this.busy) this.pauseRequested = true;
    this.inputWaiter?.();
  }

  setReplayBreak(icount: number): void {
    if (this.mode !== "replay") throw new SessionError("setting the breakpoint is allowed only in play mode");
    if (icount <= this.icount()) throw new SessionError("cannot set breakpoint at the instruction in the past");
    this.replayBreak = icount;
  }
  clearReplayBreak(): void {
    this.replayBreak = undefined;
  }

  // ---- breakpoints and watchpoints ---------------------------------------------------------------------

  addBreakpoint(type: BreakpointType, addr: bigint, kind: number): void {
    if (!this.breakpoints.some((b) => b.type === type && b.addr === addr)) this.breakpoints.push({ type, addr, kind });
  }
  removeBreakpoint(type: BreakpointType, addr: bigint, _kind: number): boolean {
    const i = this.breakpoints.findIndex((b) => b.type === type && b.addr === addr);
    if (i < 0) return false;
    this.breakpoints.splice(i, 1);
    return true;
  }
  addWatchpoint(type: WatchpointType, addr: bigint, length: number): void {
    if (length <= 0) throw new SessionError("watchpoint length must be positive");
    if (!this.watchpoints.some((w) => w.type === type && w.addr === addr && w.length === length))
      this.watchpoints.push({ type, addr, length });
  }
  removeWatchpoint(type: WatchpointType, addr: bigint, length: number): boolean {
    const i = this.watchpoints.findIndex((w) => w.type === type && w.addr === addr && w.length === length);
    if (i < 0) return false;
    this.watchpoints.splice(i, 1);
    return true;
  }
  removeAllBreakpoints(): void {
    this.breakpoints.length = 0;
    this.watchpoints.length = 0;
  }

  // ---- registers and memory ----------------------------------------------------------------------------

  registers(): readonly RegisterInfo[] {
    return this.machine.debug.registers();
  }
  readRegister(regnum: number): Uint8Array | undefined {
    return this.machine.debug.readRegister(regnum);
  }
  writeRegister(regnum: number, value: Uint8Array): void {
    this.requireWritable("write registers");
    if (!this.machine.debug.writeRegister(regnum, value)) throw new SessionError(`register ${regnum} cannot be written`);
  }
  readMemory(addr: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + BigInt(done);
      const pa = this.machine.debug.translate(a);
      if (pa === undefined) throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      const inPage = Math.min(length - done, 4096 - Number(a & 0xfffn));
      try {
        out.set(this.machine.readPhysical(pa, inPage), done);
      } catch {
        throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      }
      done += inPage;
    }
    return out;
  }
  writeMemory(addr: bigint, data: Uint8Array): void {
    this.requireWritable("write memory");
    let done = 0;
    while (done < data.length) {
      const a = addr + BigInt(done);
      const pa = this.machine.debug.translate(a);
      if (pa === undefined) throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      const inPage = Math.min(data.length - done, 4096 - Number(a & 0xfffn));
      try {
        this.machine.writePhysical(pa, data.subarray(done, done + inPage));
      } catch {
        throw new SessionError(`cannot access memory at 0x${a.toString(16)}`);
      }
      done += inPage;
    }
  }

  // ---- machine control ---------------------------------------------------------------------------------

  systemReset(): void {
    if (this.mode === "replay") throw new ReplayReadOnlyError("system_reset is not possible while replaying a recording");
    this.machine.systemReset();
    this.emitter.emit("stop", { kind: "interrupted" });
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

  /** Checkpoint statistics (bench and tests). */
  checkpointStats() {
    return this.checkpoints?.stats();
  }

  // ---- forward engine ----------------------------------------------------------------------------------

  /**
   * Executes forward from the current boundary. Stops at `target` (returns "target"), after `budget`
   * instructions ("slice"), when waiting for host input ("idle"), or with a StopEvent. `debug`: "all" stops
   * at breakpoints, watchpoints and the replay break; "watch-only" at watchpoints; "none" at nothing (seek).
   */
  private forward(opts: { target?: number; budget?: number; debug: "all" | "watch-only" | "none"; collect?: Hit[] }): ForwardResult {
    const m = this.machine;
    const clock = m.clock;
    const budgetEnd = opts.budget !== undefined ? clock.icount + opts.budget : Infinity;
    const useBreakpoints = opts.debug === "all" && this.breakpoints.length > 0;
    const useWatch = opts.debug !== "none" && this.watchpoints.length > 0;
    m.debug.setBreakpoints(useBreakpoints ? this.breakpoints.map((b) => b.addr) : null);
    m.debug.setWatchHook(useWatch ? (a, s, w) => this.onAccess(a, s, w) : null);
    this.watchTiming = opts.collect ? "after" : "before";
    try {
      for (;;) {
        const event = this.atBoundary();
        if (event) return event;
        const icount = clock.icount;
        if (opts.target !== undefined && icount >= opts.target) return "target";
        if (this.replay && icount >= this.replay.end.icount) return { kind: "replay-end" };
        if (opts.debug === "all" && this.replayBreak !== undefined && icount >= this.replayBreak) {
          const at = this.replayBreak;
          this.replayBreak = undefined;
          return { kind: "replay-break", icount: at };
        }
        if (icount >= budgetEnd) return "slice";
        if (this.pauseRequested && opts.debug === "all") return "slice";

        // Where to stop next: the target, the budget, and (replay) the next event, digest mark, checkpoint.
        let limit = Math.min(opts.target ?? Infinity, budgetEnd);
        let ticksLimit = 0;
        if (this.mode === "record") limit = Math.min(limit, this.lastDigestIcount + this.digestInterval);
        if (this.replay) {
          limit = Math.min(limit, this.replay.end.icount);
          if (opts.debug === "all" && this.replayBreak !== undefined) limit = Math.min(limit, this.replayBreak);
          const ev = this.inputs.peekReplay();
          if (ev && ev.icount <= limit) {
            limit = ev.icount;
            ticksLimit = ev.ticks;
          }
          const mark = this.replay.digests[this.nextMarkIndex];
          if (mark && (mark.icount < limit || (mark.icount === limit && mark.ticks < ticksLimit))) {
            limit = mark.icount;
            ticksLimit = mark.ticks;
          }
          const cpNext = this.nextCheckpointIcount();
          if (cpNext < limit) {
            limit = cpNext;
            ticksLimit = 0;
          }
        }
        if (limit === Infinity) limit = icount + this.slice;
        const reason: StopReason = m.run(limit, ticksLimit);
        switch (reason) {
          case "limit":
            continue;
          case "debug": {
            const hit = this.debugEvent();
            if (opts.collect) {
              // Reverse-continue scan: note the hit and keep going (stepping over a breakpoint).
              opts.collect.push({ icount: clock.icount, event: hit });
              if (hit.kind === "breakpoint") {
                m.debug.setBreakpoints(null);
                const r = m.run(clock.icount + 1);
                m.debug.setBreakpoints(useBreakpoints ? this.breakpoints.map((b) => b.addr) : null);
                if (r === "debug") opts.collect.push({ icount: clock.icount, event: this.debugEvent() });
              }
              continue;
            }
            if (hit.kind === "watchpoint") this.watchStopIcount = clock.icount;
            return hit;
          }
          case "poweroff":
            // In replay the recording ends here too; the loop top reports the target or the end.
            if (this.mode === "replay") {
              if (clock.icount < this.replay!.end.icount)
                return { kind: "diverged", message: `the guest powered off at icount ${clock.icount}, before the recording's end (${this.replay!.end.icount})` };
              continue;
            }
            this.poweredOff = true;
            this.finishRecording("poweroff");
            return { kind: "poweroff" };
          case "reset":
            return { kind: "poweroff" };
          case "stuck":
            return { kind: "stuck", message: m.stuckReason || "the guest cannot make progress" };
          case "idle":
            if (this.mode === "replay") {
              const ev = this.inputs.peekReplay();
              if (ev && ev.icount === clock.icount && ev.ticks >= clock.ticks) {
                // The recording delivered input while the guest waited; time advances only through input here.
                continue;
              }
              return { kind: "diverged", message: `the guest waits for input at icount ${clock.icount} but the recording has none there` };
            }
            return "idle";
          case "stopped":
            return { kind: "interrupted" };
        }
      }
    } catch (e) {
      if (e instanceof ReplayDivergence) return { kind: "diverged", message: e.message };
      throw e;
    } finally {
      m.debug.setBreakpoints(null);
      m.debug.setWatchHook(null);
    }
  }

  /** Work at a step boundary: deliver inputs, write or check digests, take checkpoints. */
  private atBoundary(): StopEvent | undefined {
    const clock = this.machine.clock;
    this.inputs.pump();
    if (this.mode === "record") {
      if (clock.icount - this.lastDigestIcount >= this.digestInterval) this.emitDigest();
      return undefined;
    }
    if (this.replay) {
      const marks = this.replay.digests;
      while (this.nextMarkIndex < marks.length) {
        const mark = marks[this.nextMarkIndex];
        if (mark.icount > clock.icount || (mark.icount === clock.icount && mark.ticks > clock.ticks)) break;
        this.nextMarkIndex++;
        if (mark.icount !== clock.icount || mark.ticks !== clock.ticks) continue;
        const problem = this.compareMark(mark);
        if (problem) return { kind: "diverged", message: problem };
      }
      if (this.checkpoints && clock.icount >= this.nextCheckpointIcount())
        this.checkpoints.capture(clock.icount, clock.ticks, this.inputs.replayPosition);
      this.checkpoints?.thin(clock.icount, this.checkpointInterval);
    }
    return undefined;
  }

  private nextCheckpointIcount(): number {
    if (!this.checkpoints) return Infinity;
    const icount = this.machine.clock.icount;
    const prev = this.checkpoints.atOrBefore(icount);
    const dense = icount >= this.denseFrom && icount < this.denseTo;
    const interval = dense ? Math.min(FINE_CHECKPOINT_INTERVAL, this.checkpointInterval) : this.checkpointInterval;
    let due = (prev ? prev.icount : 0) + interval;
    // Entering the dense window: the first fine checkpoint is due where the window starts.
    if (!dense && icount < this.denseFrom && this.denseFrom < due) due = this.denseFrom;
    const next = this.checkpoints.after(icount);
    // No need for a new checkpoint if an existing one comes before the next due point.
    return next && next.icount <= due ? Infinity : due;
  }

  private emitDigest(): void {
    const clock = this.machine.clock;
    const parts: Record<string, string> = {};
    for (const [k, v] of machineDetailDigests(this.machine)) parts[k] = v;
    this.record!.addDigest({ icount: clock.icount, ticks: clock.ticks, digest: this.digest(), parts });
    this.lastDigestIcount = clock.icount;
  }

  private compareMark(mark: { icount: number; digest: string; parts: Record<string, string> }): string | undefined {
    if (this.digest() === mark.digest) return undefined;
    const differing = differingDetails(mark.parts, machineDetailDigests(this.machine));
    const what = differing.length ? differing.join(", ") : "the machine state";
    return `replay diverged from the recording at icount ${mark.icount}: ${what} differ${differing.length === 1 ? "s" : ""}`;
  }

  private onAccess(addr: bigint, size: number, isWrite: boolean): void {
    for (const w of this.watchpoints) {
      if (addr + BigInt(size) <= w.addr || w.addr + BigInt(w.length) <= addr) continue;
      if (w.type === "write" && !isWrite) continue;
      if (w.type === "read" && isWrite) continue;
      this.pendingWatchHit ??= { kind: "watchpoint", type: w.type, addr: w.addr };
      if (this.watchTiming === "before") throw WATCH_STOP;
      this.machine.debug.stopAfterStep();
      return;
    }
  }

  private debugEvent(): StopEvent {
    if (this.pendingWatchHit) {
      const e = this.pendingWatchHit;
      this.pendingWatchHit = undefined;
      return e;
    }
    const pc = this.machine.debug.pc();
    const bp = this.breakpoints.find((b) => b.addr === pc);
    return { kind: "breakpoint", type: bp?.type ?? "sw", addr: pc };
  }

  /** True when the machine sits on an access it was stopped before by a watchpoint (resume executes it). */
  private resumingFromWatch(): boolean {
    return this.watchStopIcount === this.icount() && this.watchpoints.length > 0;
  }

  private breakpointAtPc(): boolean {
    if (this.breakpoints.length === 0) return false;
    const pc = this.machine.debug.pc();
    return this.breakpoints.some((b) => b.addr === pc);
  }

  // ---- reverse engine ----------------------------------------------------------------------------------

  /** Goes to icount `n` exactly: restore the nearest checkpoint before it, then execute forward. */
  private seekTo(n: number): void {
    const store = this.checkpoints!;
    const clock = this.machine.clock;
    // Forward from here when that is the shortest way (no checkpoint between here and n).
    const cp = store.atOrBefore(n === 0 ? 0 : n - 1);
    if (!cp) throw new SessionError("no checkpoint to seek from");
    const fromHere = clock.icount <= n && cp.icount <= clock.icount;
    if (!fromHere) this.restore(cp);
    // Reverse steps tend to follow a seek: keep checkpoints fine-grained just behind the target.
    this.denseFrom = Math.max(0, n - FINE_WINDOW);
    this.denseTo = n;
    if (clock.icount < n) {
      const r = this.forward({ target: n, debug: "none" });
      if (r !== "target") {
        if (typeof r === "object" && r.kind === "diverged") throw new SessionError(r.message);
        throw new SessionError(`could not reach icount ${n}: ${typeof r === "string" ? r : r.kind}`);
      }
    }
  }

  private restore(cp: Checkpoint): void {
    this.checkpoints!.restore(cp);
    this.inputs.seekReplayIndex(cp.extra);
    const marks = this.replay!.digests;
    this.nextMarkIndex = 0;
    while (this.nextMarkIndex < marks.length && (marks[this.nextMarkIndex].icount < cp.icount || (marks[this.nextMarkIndex].icount === cp.icount && marks[this.nextMarkIndex].ticks <= cp.ticks)))
      this.nextMarkIndex++;
  }

  private async reverseContinue(): Promise<StopEvent> {
    const now = this.icount();
    if (this.breakpoints.length === 0 && this.watchpoints.length === 0) {
      this.seekTo(0);
      return { kind: "replay-begin" };
    }
    let hi = now;
    while (hi > 0) {
      if (this.pauseRequested) return { kind: "interrupted" };
      const cp = this.checkpoints!.atOrBefore(hi - 1)!;
      this.restore(cp);
      const hits: Hit[] = [];
      // Breakpoints are checked at every boundary of [cp, hi); the check happens before an instruction runs,
      // so the boundary at cp.icount itself is included.
      const r = this.forward({ target: hi, debug: "all", collect: hits });
      if (r !== "target" && !(typeof r === "object" && r.kind === "replay-end")) {
        if (typeof r === "object") return r;
        throw new SessionError(`reverse continue stopped unexpectedly: ${r}`);
      }
      const before = hits.filter((h) => h.icount < now);
      if (before.length > 0) {
        const last = before[before.length - 1];
        this.seekTo(last.icount);
        return last.event;
      }
      hi = cp.icount;
      await yieldToHost();
    }
    this.seekTo(0);
    return { kind: "replay-begin" };
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private atReplayEnd(): boolean {
    return this.replay !== undefined && this.icount() >= this.replay.end.icount;
  }

  private requireReplay(what: string): void {
    if (this.mode !== "replay") throw new SessionError(`${what} is only possible while replaying a recording`);
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

function yieldToHost(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

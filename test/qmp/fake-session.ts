// A scripted DebugSession for the QMP tests: a machine whose icount advances on timer ticks while it runs,
// with a recording of `end` instructions in play mode. It emits resume/stop/shutdown the way the real session
// does (resume when a run starts; stop once it ends; system_reset sends a stop too; quit sends shutdown).

import {
  ReplayReadOnlyError,
  SessionBusyError,
  SessionError,
  type DebugSession,
  type RegisterInfo,
  type ReplayMode,
  type RunState,
  type SessionEvents,
  type StopEvent,
} from "../../src/session/api.js";

export interface FakeSessionOptions {
  arch?: "aarch64" | "x86_64";
  mode?: ReplayMode;
  filename?: string;
  icount?: number;
  /** Play mode: the last icount of the recording. */
  end?: number;
  runState?: RunState;
  /** Instructions per tick while running. */
  perTick?: number;
  /** How long a seek takes. */
  seekDelayMs?: number;
  /** What seek emits: nothing, or a stop (the real session emits { kind: "step" }). */
  seekEmits?: "nothing" | "stop";
  /** Seeking past the end: refuse (as the real session) or stop at the end. */
  seekPastEnd?: "throw" | "stop-at-end";
}

type Listeners = { [E in keyof SessionEvents]: Set<SessionEvents[E]> };

export class FakeSession implements DebugSession {
  readonly arch: "aarch64" | "x86_64";
  gdbArchitecture(): string | undefined {
    return undefined;
  }
  gdbLayouts(): readonly string[] {
    return [];
  }
  selectGdbLayout(): boolean {
    return false;
  }
  state: RunState;
  mode: ReplayMode;
  filename?: string;
  ic: number;
  end: number;
  perTick: number;
  seekDelayMs: number;
  seekEmits: "nothing" | "stop";
  seekPastEnd: "throw" | "stop-at-end";
  replayBreak?: number;
  resets = 0;
  seeks: number[] = [];
  /** Every call to an execution or control method, in order. */
  calls: string[] = [];
  private busy = false;
  private pauseRequested = false;
  private poweredOff = false;
  private readonly listeners: Listeners = { stop: new Set(), resume: new Set(), shutdown: new Set() };

  constructor(o: FakeSessionOptions = {}) {
    this.arch = o.arch ?? "aarch64";
    this.mode = o.mode ?? "none";
    this.filename = o.filename ?? (this.mode === "none" ? undefined : "replay.bin");
    this.ic = o.icount ?? 0;
    this.end = o.end ?? 1000;
    this.state = o.runState ?? "paused";
    this.perTick = o.perTick ?? 10;
    this.seekDelayMs = o.seekDelayMs ?? 5;
    this.seekEmits = o.seekEmits ?? "stop";
    this.seekPastEnd = o.seekPastEnd ?? "throw";
  }

  runState(): RunState {
    return this.state;
  }
  replayInfo() {
    return { mode: this.mode, filename: this.filename, icount: this.ic };
  }
  icount(): number {
    return this.ic;
  }
  digest(): string {
    return `digest-${this.ic}`;
  }

  listenerCount(): number {
    return this.listeners.stop.size + this.listeners.resume.size + this.listeners.shutdown.size;
  }

  private emit<E extends keyof SessionEvents>(event: E, ...args: Parameters<SessionEvents[E]>): void {
    for (const l of [...this.listeners[event]]) (l as (...a: unknown[]) => void)(...args);
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    (this.listeners[event] as Set<SessionEvents[E]>).add(listener);
  }
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    (this.listeners[event] as Set<SessionEvents[E]>).delete(listener);
  }

  // ---- execution -----------------------------------------------------------------------------------------

  async step(): Promise<StopEvent> {
    this.calls.push("step");
    this.enter();
    this.ic++;
    return this.leave({ kind: "step" });
  }

  cont(): Promise<StopEvent> {
    this.calls.push("cont");
    try {
      this.enter();
    } catch (e) {
      return Promise.reject(e);
    }
    this.state = "running";
    this.emit("resume");
    return new Promise<StopEvent>((resolve) => {
      const tick = () => {
        if (this.poweredOff) return resolve(this.leave({ kind: "poweroff" }));
        if (this.pauseRequested) return resolve(this.leave({ kind: "interrupted" }));
        this.ic += this.perTick;
        if (this.replayBreak !== undefined && this.ic >= this.replayBreak) {
          this.ic = this.replayBreak;
          this.replayBreak = undefined;
          return resolve(this.leave({ kind: "replay-break", icount: this.ic }));
        }
        if (this.mode === "play" && this.ic >= this.end) {
          this.ic = this.end;
          return resolve(this.leave({ kind: "replay-end" }));
        }
        setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
    });
  }

  async reverseStep(): Promise<StopEvent> {
    this.calls.push("reverseStep");
    this.requirePlay("reverse step");
    this.enter();
    if (this.ic > 0) this.ic--;
    return this.leave({ kind: "step" });
  }

  async reverseCont(): Promise<StopEvent> {
    this.calls.push("reverseCont");
    this.requirePlay("reverse continue");
    this.enter();
    this.ic = 0;
    return this.leave({ kind: "replay-begin" });
  }

  async seek(icount: number): Promise<void> {
    this.calls.push(`seek ${icount}`);
    this.requirePlay("seek");
    if (icount > this.end && this.seekPastEnd === "throw") {
      throw new SessionError(`icount ${icount} is beyond the end of the recording (${this.end})`);
    }
    this.enter();
    await new Promise((r) => setTimeout(r, this.seekDelayMs));
    this.ic = Math.min(icount, this.end);
    this.seeks.push(this.ic);
    this.busy = false;
    if (this.state === "running") this.state = "paused";
    if (this.seekEmits === "stop") this.emit("stop", { kind: "step" });
  }

  pause(): void {
    this.calls.push("pause");
    if (this.busy) this.pauseRequested = true;
  }

  setReplayBreak(icount: number): void {
    this.calls.push(`setReplayBreak ${icount}`);
    if (this.mode !== "play") throw new SessionError("setting the breakpoint is allowed only in play mode");
    this.replayBreak = icount;
  }
  clearReplayBreak(): void {
    this.calls.push("clearReplayBreak");
    this.replayBreak = undefined;
  }

  // ---- the rest of the API (not used by QMP) ---------------------------------------------------------------

  addBreakpoint(): void {}
  removeBreakpoint(): boolean {
    return false;
  }
  addWatchpoint(): void {}
  removeWatchpoint(): boolean {
    return false;
  }
  removeAllBreakpoints(): void {}
  registers(): readonly RegisterInfo[] {
    return [];
  }
  readRegister(): Uint8Array | undefined {
    return undefined;
  }
  writeRegister(): void {
    if (this.mode === "play") throw new ReplayReadOnlyError("cannot write registers while replaying");
  }
  readMemory(_addr: bigint, length: number): Uint8Array {
    return new Uint8Array(length);
  }
  writeMemory(): void {
    if (this.mode === "play") throw new ReplayReadOnlyError("cannot write memory while replaying");
  }

  // ---- machine control -------------------------------------------------------------------------------------

  systemReset(): void {
    this.calls.push("systemReset");
    if (this.mode === "play") throw new ReplayReadOnlyError("system_reset is not possible while replaying a recording");
    this.resets++;
    this.emit("stop", { kind: "interrupted" });
  }

  async quit(): Promise<void> {
    this.calls.push("quit");
    this.pause();
    this.state = "shutdown";
    this.emit("shutdown", "host-qmp-quit");
  }

  /** The guest powers off (as the real session: a poweroff stop, then shutdown). */
  powerOff(): void {
    if (this.busy) this.poweredOff = true; // the run ends with a poweroff stop on its next tick
    else this.emit("stop", { kind: "poweroff" });
    this.state = "shutdown";
    this.emit("shutdown", "guest-shutdown");
  }

  /** A debugger stop (GDB step) from elsewhere. */
  debuggerStep(): void {
    this.ic++;
    this.state = "paused";
    this.emit("stop", { kind: "step" });
  }

  /** A stop notification that changes nothing (to see whether it is forwarded). */
  notifyStop(): void {
    this.emit("stop", { kind: "interrupted" });
  }

  // ---- helpers ---------------------------------------------------------------------------------------------

  private enter(): void {
    if (this.busy) throw new SessionBusyError("the machine is busy with another request");
    if (this.state === "shutdown") throw new SessionError("the machine has shut down");
    this.busy = true;
    this.pauseRequested = false;
  }

  private leave(event: StopEvent, notify = true): StopEvent {
    this.busy = false;
    this.pauseRequested = false;
    this.poweredOff = false;
    if (this.state === "running") this.state = "paused";
    if (notify) this.emit("stop", event);
    return event;
  }

  private requirePlay(what: string): void {
    if (this.mode !== "play") throw new SessionError(`${what} is only possible while replaying a recording`);
  }
}

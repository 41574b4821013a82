// The one API over a running machine. The GDB server, the QMP server, the friendly CLI, tests and the future
// timeline view all drive the machine through this interface and nothing else.
//
// Execution methods are asynchronous: they resolve when the machine has stopped again (a forward `cont` may
// run for a long time and is interrupted by `pause()`). At most one execution request runs at a time; a
// second one while the machine runs is rejected with SessionBusyError.

export type ReplayMode = "none" | "record" | "play";

export type BreakpointType = "sw" | "hw";
export type WatchpointType = "write" | "read" | "access";

/** Why the machine stopped (what GDB and QMP report). */
export type StopEvent =
  /** A single step (forward or reverse) completed. */
  | { kind: "step" }
  | { kind: "breakpoint"; type: BreakpointType; addr: bigint }
  /** `addr` is the watched address that was hit (GDB's watch:/rwatch:/awatch:). */
  | { kind: "watchpoint"; type: WatchpointType; addr: bigint }
  /** Reverse execution reached the start of the recording (GDB: "No more reverse-execution history"). */
  | { kind: "replay-begin" }
  /** Forward execution reached the end of the recording. */
  | { kind: "replay-end" }
  /** The QMP replay-break icount was reached (GDB sees SIGINT, T02, as with QEMU). */
  | { kind: "replay-break"; icount: number }
  /** pause() (GDB ^C, QMP stop). */
  | { kind: "interrupted" }
  /** The guest powered off. */
  | { kind: "poweroff" }
  /** The guest can make no progress (see Machine "stuck"); `message` says why. */
  | { kind: "stuck"; message: string }
  /** Replay found the machine diverging from the recording. */
  | { kind: "diverged"; message: string };

export type RunState = "running" | "paused" | "shutdown" | "prelaunch";

export interface ReplayInfo {
  mode: ReplayMode;
  filename?: string;
  icount: number;
}

export type { RegisterInfo } from "../core/debug.js";
import type { RegisterInfo } from "../core/debug.js";

export class SessionError extends Error {
  override name = "SessionError";
}
/** An execution request arrived while another is running. */
export class SessionBusyError extends SessionError {
  override name = "SessionBusyError";
}
/** The request would change guest state during replay (it would break determinism). */
export class ReplayReadOnlyError extends SessionError {
  override name = "ReplayReadOnlyError";
}

export interface SessionEvents {
  /** The machine stopped (after cont/step/reverse..., pause, replay-break, shutdown). */
  stop: (event: StopEvent) => void;
  /** The machine started running. */
  resume: () => void;
  /** The guest shut down (power off) or the user quit. */
  shutdown: (reason: "guest-shutdown" | "host-qmp-quit" | "host-signal" | "guest-reset") => void;
}

export interface DebugSession {
  /** "aarch64" or "x86_64": selects the GDB target description. */
  readonly arch: "aarch64" | "x86_64";
  /** The target description's `<architecture>` for the register file served (x86: "i386:x86-64" or "i386"). */
  gdbArchitecture(): string | undefined;
  /** Register files the debugger can be served besides the default (x86: "x86_64", "i386"); empty when one. */
  gdbLayouts(): readonly string[];
  /** Serves another register file from now on (front ends take it on their next connection). */
  selectGdbLayout(name: string): boolean;

  // ---- state of the run -------------------------------------------------------------------------------
  runState(): RunState;
  replayInfo(): ReplayInfo;
  icount(): number;
  /** Digest of the whole machine state (equal digests = bit-identical machines). */
  digest(): string;

  // ---- execution (each resolves when the machine has stopped) -------------------------------------------
  step(): Promise<StopEvent>;
  cont(): Promise<StopEvent>;
  /** Replay only: to icount - 1 (or replay-begin at the start). */
  reverseStep(): Promise<StopEvent>;
  /** Replay only: back to the last breakpoint/watchpoint hit before now, or replay-begin. */
  reverseCont(): Promise<StopEvent>;
  /** Replay only: go to any icount of the recording (completes before resolving). */
  seek(icount: number): Promise<void>;
  /** Interrupts a running cont/reverseCont: it resolves with { kind: "interrupted" }. No-op when paused. */
  pause(): void;
  /** QMP replay-break: play mode, future icount, one at a time (a new one replaces the old). */
  setReplayBreak(icount: number): void;
  clearReplayBreak(): void;

  // ---- breakpoints and watchpoints (addresses are guest virtual addresses) ------------------------------
  addBreakpoint(type: BreakpointType, addr: bigint, kind: number): void;
  removeBreakpoint(type: BreakpointType, addr: bigint, kind: number): boolean;
  addWatchpoint(type: WatchpointType, addr: bigint, length: number): void;
  removeWatchpoint(type: WatchpointType, addr: bigint, length: number): boolean;
  removeAllBreakpoints(): void;

  // ---- registers and memory -------------------------------------------------------------------------------
  registers(): readonly RegisterInfo[];
  /** Little-endian bytes of a register (bitsize / 8 of them), or undefined for an unknown regnum. */
  readRegister(regnum: number): Uint8Array | undefined;
  /** Throws ReplayReadOnlyError during replay. */
  writeRegister(regnum: number, value: Uint8Array): void;
  /** Reads guest virtual memory; throws SessionError when (part of) the range is unmapped. */
  readMemory(addr: bigint, length: number): Uint8Array;
  /** Throws ReplayReadOnlyError during replay. */
  writeMemory(addr: bigint, data: Uint8Array): void;

  // ---- machine control (QMP) -------------------------------------------------------------------------------
  systemReset(): void;
  /** Ends the session: stops the machine, finishes a recording, emits shutdown("host-qmp-quit"). */
  quit(): Promise<void>;

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void;
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void;
}

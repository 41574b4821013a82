/**
 * The QMP server: QEMU's machine protocol on a character device, driving the machine through DebugSession.
 *
 * One `attachQmp(backend, session, options)` per monitor (`-qmp ...`, `-mon chardev=x,mode=control`). Each
 * connection (chardev "opened") gets QEMU's greeting and must negotiate with `qmp_capabilities`; then commands
 * run one after another in arrival order (an asynchronous one, such as replay-seek, finishes before the next is
 * answered), every reply echoes the request's `id`, and events reach every negotiated client of every monitor
 * of the session. Bad input of any kind gets an error reply and the connection stays; nothing a client sends or
 * does (disconnecting in the middle of a command included) can throw out of here.
 */

import type { CharBackend, CharEvent } from "../chardev/backend.js";
import type { DebugSession, RunState, StopEvent } from "../session/api.js";
import { makeCommands, REWIND_PACKAGE, toQmpError, visitArguments, QEMU_VERSION, type CommandContext, type EventHub, type MonitorInfo, type QmpClientState, type QmpCommand } from "./commands.js";
import { qmpErrors } from "./errors.js";
import { JsonStreamParser, qemuKeyOrder, toQmpJson, type JsonObject, type JsonValue, type OutValue, type StreamItem } from "./json-stream.js";

export interface QmpOptions {
  /** -name: what query-name reports. */
  name?: string;
  /** -qmp-pretty: QEMU's indented JSON. */
  pretty?: boolean;
  /** The `package` string of the version (default " (Rewind 0.1.0)"). */
  packageString?: string;
  /** Host wall-clock time in microseconds since the epoch, for event timestamps (tests pin it). */
  clock?: () => number;
  /** query-cpus-fast's thread-id (default: the process id). */
  threadId?: number;
  /** Diagnostics that are not protocol output (default: a line on stderr). */
  log?: (line: string) => void;
  /** Called after `quit` has been answered and the connections closed: the caller ends the process. */
  onQuit?: () => void;
}

export interface QmpMonitor {
  /** Stops serving this chardev: detaches from it and from the session (the chardev itself stays open). */
  detach(): void;
}

/** Requests a client may have waiting before the server stops reading from it (QEMU: 8). */
const MAX_QUEUED_REQUESTS = 8;
const encoder = new TextEncoder();

/** Attaches a QMP monitor to a chardev backend. Call once per `-qmp`/`-mon mode=control`. */
export function attachQmp(backend: CharBackend, session: DebugSession, options: QmpOptions = {}): QmpMonitor {
  const hub = SessionHub.of(session);
  const monitor = new Monitor(backend, session, hub, options);
  hub.add(monitor);
  monitor.start();
  return { detach: () => monitor.detach() };
}

function defaultClock(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function defaultLog(line: string): void {
  process.stderr.write(`rewind: qmp: ${line}\n`);
}

// ---- one session, any number of monitors ---------------------------------------------------------------

/** Guest-side stops that QEMU reports as RunState "debug" (the debugger stopped the machine). */
const DEBUG_STOPS = new Set<StopEvent["kind"]>(["step", "breakpoint", "watchpoint", "replay-begin"]);

/** Listens to one session once and fans its events out to every monitor attached to it. */
class SessionHub implements EventHub {
  private static readonly hubs = new WeakMap<DebugSession, SessionHub>();
  private readonly monitors = new Set<Monitor>();
  private readonly waiters = new Set<() => void>();
  resumes = 0;
  stops = 0;
  shutdowns = 0;
  private lastStop: StopEvent["kind"] | "monitor" | undefined;
  private muteStops = 0;
  private quitting = false;

  static of(session: DebugSession): SessionHub {
    let hub = SessionHub.hubs.get(session);
    if (!hub) {
      hub = new SessionHub(session);
      SessionHub.hubs.set(session, hub);
    }
    return hub;
  }

  /** The last of RESUME/STOP sent (before any: what QEMU would have sent for the state the machine is in). */
  private lastRunEvent: "RESUME" | "STOP";

  private constructor(private readonly session: DebugSession) {
    this.lastRunEvent = session.runState() === "running" ? "RESUME" : "STOP";
  }

  add(monitor: Monitor): void {
    if (this.monitors.size === 0) {
      this.session.on("stop", this.onStop);
      this.session.on("resume", this.onResume);
      this.session.on("shutdown", this.onShutdown);
    }
    this.monitors.add(monitor);
  }

  remove(monitor: Monitor): void {
    if (!this.monitors.delete(monitor) || this.monitors.size > 0) return;
    this.session.off("stop", this.onStop);
    this.session.off("resume", this.onResume);
    this.session.off("shutdown", this.onShutdown);
  }

  private readonly onStop = (event: StopEvent): void => {
    this.stops++;
    this.lastStop = event.kind;
    // QEMU sends no STOP when the machine goes away (quit, or a guest power-off without -no-shutdown).
    if (!this.quitting && this.muteStops === 0 && event.kind !== "poweroff") this.emit("STOP");
    this.changed();
  };

  private readonly onResume = (): void => {
    this.resumes++;
    this.lastStop = undefined;
    if (!this.quitting) this.emit("RESUME");
    this.changed();
  };

  private readonly onShutdown = (reason: "guest-shutdown" | "host-qmp-quit" | "host-signal" | "guest-reset"): void => {
    this.shutdowns++;
    this.emit("SHUTDOWN", { guest: reason.startsWith("guest-"), reason });
    this.changed();
  };

  emit(name: string, data?: OutValue): void {
    // In QEMU every STOP follows a RESUME (a GDB step, a seek: the machine runs, then stops). A session that
    // reports only the stop of such an operation gets its RESUME here, so clients can track the state.
    if (name === "STOP" && this.lastRunEvent === "STOP") this.emit("RESUME");
    if (name === "STOP" || name === "RESUME") this.lastRunEvent = name;
    for (const m of this.monitors) m.sendEvent(name, data);
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  waitUntil(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean) => {
        this.waiters.delete(check);
        clearInterval(poll);
        clearTimeout(timeout);
        resolve(result);
      };
      const check = () => {
        if (done()) finish(true);
      };
      this.waiters.add(check);
      const poll = setInterval(check, 5);
      const timeout = setTimeout(() => finish(done()), ms);
    });
  }

  withoutStopEvents<T>(fn: () => T): T {
    this.muteStops++;
    try {
      return fn();
    } finally {
      this.muteStops--;
    }
  }

  qemuStatus(): string {
    const state: RunState = this.session.runState();
    if (state !== "paused") return state;
    if (this.lastStop !== undefined && DEBUG_STOPS.has(this.lastStop as StopEvent["kind"])) return "debug";
    if (this.lastStop === "diverged") return "internal-error";
    return "paused";
  }

  markPausedByMonitor(): void {
    this.lastStop = "monitor";
  }

  beginQuit(): void {
    this.quitting = true;
  }

  /** After quit: every connection of every monitor of this session ends, as when QEMU exits. */
  closeAll(): void {
    for (const m of [...this.monitors]) m.closeAfterQuit();
  }
}

// ---- one monitor (one chardev) ---------------------------------------------------------------------------

class Monitor {
  private connection: Connection | undefined;
  private readonly commands: ReadonlyMap<string, QmpCommand>;
  private readonly info: MonitorInfo;
  readonly clock: () => number;
  readonly log: (line: string) => void;
  private attached = true;

  constructor(
    readonly backend: CharBackend,
    readonly session: DebugSession,
    readonly hub: SessionHub,
    readonly options: QmpOptions,
  ) {
    this.commands = makeCommands(() => this.quitDone());
    this.info = { name: options.name, packageString: options.packageString ?? REWIND_PACKAGE, threadId: options.threadId ?? process.pid };
    this.clock = options.clock ?? defaultClock;
    this.log = options.log ?? defaultLog;
  }

  start(): void {
    this.backend.setReceiver(
      (data) => this.received(data),
      (event) => this.event(event),
    );
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.connection?.close();
    this.connection = undefined;
    this.backend.setReceiver(null);
    this.hub.remove(this);
  }

  private event(event: CharEvent): void {
    if (event === "opened") {
      this.connection?.close();
      this.connection = new Connection(this);
      this.connection.greet();
    } else if (event === "closed") {
      this.connection?.close();
      this.connection = undefined;
    }
  }

  private received(data: Uint8Array): void {
    // Bytes without an "opened" first (a backend that is simply there): serve them, without a greeting.
    if (!this.connection) this.connection = new Connection(this);
    this.connection.feed(data);
  }

  write(value: OutValue): void {
    if (!this.attached) return;
    const text = toQmpJson(value, this.options.pretty ?? false) + "\n";
    // QEMU's monitor turns every newline into CR LF.
    this.backend.write(encoder.encode(text.replace(/\n/g, "\r\n")));
  }

  sendEvent(name: string, data?: OutValue): void {
    const c = this.connection;
    if (!c || !c.client.negotiated) return; // QEMU sends events only after capability negotiation
    const us = this.clock();
    const timestamp = { seconds: Math.floor(us / 1e6), microseconds: Math.floor(us % 1e6) };
    this.write({ timestamp, event: name, data });
  }

  lookup(name: string, negotiated: boolean): QmpCommand | undefined {
    if (!negotiated) return name === "qmp_capabilities" ? this.commands.get(name) : undefined;
    return this.commands.get(name);
  }

  context(client: QmpClientState, afterReply: (fn: () => void) => void): CommandContext {
    return { session: this.session, client, hub: this.hub, info: this.info, afterReply, log: this.log };
  }

  pauseInput(): void {
    this.backend.pauseInput();
  }

  resumeInput(): void {
    this.backend.resumeInput();
  }

  /** quit answered: end every connection of the session, then tell the caller. */
  private quitDone(): void {
    this.hub.closeAll();
    this.options.onQuit?.();
  }

  closeAfterQuit(): void {
    const backend = this.backend;
    this.detach();
    // Let the last replies reach the socket before it closes (close() drops unsent output).
    setImmediate(() => setImmediate(() => void backend.close().catch(() => {})));
  }
}

// ---- one client connection -------------------------------------------------------------------------------

type Response = { return: OutValue; id?: JsonValue } | { error: { class: string; desc: string }; id?: JsonValue };

class Connection {
  readonly client: QmpClientState = { negotiated: false, oob: false };
  private readonly parser: JsonStreamParser;
  private readonly queue: StreamItem[] = [];
  private busy = false;
  private closed = false;
  private inputPaused = false;

  constructor(private readonly monitor: Monitor) {
    this.parser = new JsonStreamParser((item) => this.parsed(item));
  }

  greet(): void {
    const { major, minor, micro } = QEMU_VERSION;
    const version = { qemu: { major, minor, micro }, package: this.monitor.options.packageString ?? REWIND_PACKAGE };
    this.send({ QMP: { version, capabilities: ["oob"] } });
  }

  feed(data: Uint8Array): void {
    if (this.closed) return;
    try {
      this.parser.feed(data);
    } catch (e) {
      // The parser reports problems as items; this is a bug, not bad input. Start afresh rather than crash.
      this.monitor.log(`internal error reading QMP input: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.parser.reset();
    }
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    if (this.inputPaused) {
      this.inputPaused = false;
      this.monitor.resumeInput();
    }
  }

  private send(value: OutValue): void {
    if (!this.closed) this.monitor.write(value);
  }

  private parsed(item: StreamItem): void {
    if (this.closed) return;
    // exec-oob requests skip the queue, as in QEMU (and, since no Rewind command allows OOB, fail at once).
    if (item.kind === "value" && item.value instanceof Map && item.value.has("exec-oob") && !item.value.has("execute")) {
      void this.handle(item).then((r) => this.send(r));
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= MAX_QUEUED_REQUESTS && !this.inputPaused) {
      this.inputPaused = true;
      this.monitor.pauseInput();
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const item = this.queue.shift()!;
        const after: (() => void)[] = [];
        const response = await this.handle(item, (fn) => after.push(fn));
        this.send(response);
        for (const fn of after) fn();
        if (this.inputPaused && this.queue.length < MAX_QUEUED_REQUESTS / 2) {
          this.inputPaused = false;
          this.monitor.resumeInput();
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** One request to its response; never throws. */
  private async handle(item: StreamItem, afterReply: (fn: () => void) => void = () => {}): Promise<Response> {
    if (item.kind === "error") return errorResponse("GenericError", item.message);
    const request = item.value;
    if (!(request instanceof Map)) return errorResponse("GenericError", qmpErrors.notAnObject().desc);
    const id = request.get("id");
    const withId = (r: Response): Response => (request.has("id") ? { ...r, id } : r);
    try {
      const { command, args } = this.checkRequest(request);
      const ctx = this.monitor.context(this.client, afterReply);
      const value = await command.run(ctx, visitArguments(command.args, args));
      return withId({ return: value });
    } catch (e) {
      const error = toQmpError(e, this.monitor.log);
      // Before negotiation QEMU has one command; it words "not found" as a hint (monitor/qmp.c).
      const hint = !this.client.negotiated && error.errorClass === "CommandNotFound";
      return withId(errorResponse(error.errorClass, hint ? qmpErrors.expectingNegotiation : error.desc));
    }
  }

  /** QEMU's envelope checks (qmp_dispatch_check_obj), in the order QEMU visits the members. */
  private checkRequest(request: JsonObject): { command: QmpCommand; args: JsonObject | undefined } {
    let execKey: string | undefined;
    for (const key of qemuKeyOrder([...request.keys()])) {
      const value = request.get(key);
      if (key === "execute" || (key === "exec-oob" && this.client.oob)) {
        if (typeof value !== "string") throw qmpErrors.memberMustBeString(key);
        if (execKey !== undefined) throw qmpErrors.memberClash(key, execKey);
        execKey = key;
      } else if (key === "arguments") {
        if (!(value instanceof Map)) throw qmpErrors.argumentsMustBeObject();
      } else if (key !== "id") {
        throw qmpErrors.memberUnexpected(key);
      }
    }
    if (execKey === undefined) throw qmpErrors.lacksExecute();
    const name = request.get(execKey) as string;
    const command = this.monitor.lookup(name, this.client.negotiated);
    if (!command) throw qmpErrors.commandNotFound(name);
    if (execKey === "exec-oob") throw qmpErrors.noOob(name);
    return { command, args: request.get("arguments") as JsonObject | undefined };
  }
}

function errorResponse(errorClass: string, desc: string): Response {
  return { error: { class: errorClass, desc } };
}

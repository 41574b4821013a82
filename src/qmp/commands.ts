/**
 * The QMP commands Rewind implements, with QEMU 7.2's schemas (qapi/*.json), argument checking as QEMU's
 * qobject input visitor does it, and QEMU's error texts. Every command drives the machine through DebugSession.
 */

import { SessionError, type DebugSession } from "../session/api.js";
import { genericError, QmpError, qmpErrors } from "./errors.js";
import { runHmp } from "./hmp.js";
import type { JsonObject, JsonValue, OutValue } from "./json-stream.js";

/** The QEMU version Rewind presents (scripts check it), and Rewind's own in the `package` string. */
export const QEMU_VERSION = { major: 7, minor: 2, micro: 0 } as const;
export const REWIND_PACKAGE = " (Rewind 0.1.0)";

/** Per-client protocol state. */
export interface QmpClientState {
  negotiated: boolean;
  oob: boolean;
}

/** Session-wide event plumbing shared by every monitor of one session. */
export interface EventHub {
  /** Sends an event to every negotiated client of every monitor of the session. */
  emit(name: string, data?: OutValue): void;
  /** How many resume / stop / shutdown notifications the session has sent so far. */
  readonly resumes: number;
  readonly stops: number;
  readonly shutdowns: number;
  /** Resolves true once `done()` holds (checked on session events and every few ms), false after `ms`. */
  waitUntil(done: () => boolean, ms: number): Promise<boolean>;
  /** Runs `fn` without forwarding STOP notifications it causes (QEMU's system_reset sends none). */
  withoutStopEvents<T>(fn: () => T): T;
  /** QEMU's RunState name for the machine now (the session's "paused" is "debug" after a debugger stop). */
  qemuStatus(): string;
  /** The last stop was the monitor's doing (stop, replay-seek): QEMU calls that state "paused". */
  markPausedByMonitor(): void;
  /** The session is going away: no more STOP/RESUME events. */
  beginQuit(): void;
}

export interface MonitorInfo {
  /** -name, if given. */
  name?: string;
  packageString: string;
  /** What query-cpus-fast reports as the vCPU's host thread (there is one thread: the process). */
  threadId: number;
}

export interface CommandContext {
  readonly session: DebugSession;
  readonly client: QmpClientState;
  readonly hub: EventHub;
  readonly info: MonitorInfo;
  /** Runs once this command's reply has been written (quit closes the connections then). */
  afterReply(fn: () => void): void;
  log(line: string): void;
}

type ArgType = "int" | "str" | { enumList: readonly string[] };

interface ArgSpec {
  name: string;
  type: ArgType;
  optional?: boolean;
}

type Args = Record<string, bigint | string | string[] | undefined>;

export interface QmpCommand {
  readonly name: string;
  readonly args: readonly ArgSpec[];
  run(ctx: CommandContext, args: Args): OutValue | Promise<OutValue>;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Checks `arguments` against a command's schema as QEMU's qobject input visitor does: members in schema order
 * (missing or mistyped → error), then anything left over is unexpected.
 */
export function visitArguments(specs: readonly ArgSpec[], args: JsonObject | undefined): Args {
  const out: Args = {};
  const given = args ?? new Map<string, JsonValue>();
  for (const spec of specs) {
    if (!given.has(spec.name)) {
      if (spec.optional) continue;
      throw qmpErrors.paramMissing(spec.name);
    }
    const v = given.get(spec.name)!;
    if (spec.type === "int") {
      if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) throw qmpErrors.paramType(spec.name, "integer");
      out[spec.name] = v;
    } else if (spec.type === "str") {
      if (typeof v !== "string") throw qmpErrors.paramType(spec.name, "string");
      out[spec.name] = v;
    } else {
      const allowed = spec.type.enumList;
      if (!Array.isArray(v)) throw qmpErrors.paramType(spec.name, "array");
      const values: string[] = [];
      v.forEach((item, i) => {
        if (typeof item !== "string") throw qmpErrors.paramType(`${spec.name}[${i}]`, "string");
        if (!allowed.includes(item)) throw qmpErrors.paramEnumValue(undefined, item);
        values.push(item);
      });
      out[spec.name] = values;
    }
  }
  const known = new Set(specs.map((s) => s.name));
  for (const key of given.keys()) if (!known.has(key)) throw qmpErrors.paramUnexpected(key);
  return out;
}

/** A QmpError for anything a command can throw; session errors keep their (user-facing) message. */
export function toQmpError(e: unknown, log?: (line: string) => void): QmpError {
  if (e instanceof QmpError) return e;
  if (e instanceof SessionError) return genericError(e.message);
  const message = e instanceof Error ? e.message : String(e);
  log?.(`QMP command failed unexpectedly: ${e instanceof Error ? (e.stack ?? message) : message}`);
  return genericError(message || "internal error");
}

/** A session icount from a QMP int (which is int64; icounts beyond 2^53 cannot exist). */
function toIcount(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

const STOP_WAIT_MS = 10_000;

// ---- the commands ------------------------------------------------------------------------------------------

export function queryStatus(ctx: CommandContext): OutValue {
  // Members in QAPI schema order (StatusInfo): QEMU's output order depends on it.
  const status = ctx.hub.qemuStatus();
  return { running: status === "running", singlestep: false, status };
}

export function queryReplay(ctx: CommandContext): OutValue {
  const r = ctx.session.replayInfo();
  return { mode: r.mode, filename: r.filename, icount: r.icount };
}

export function replayBreak(ctx: CommandContext, icount: bigint): void {
  const s = ctx.session;
  if (s.replayInfo().mode !== "play") throw qmpErrors.breakOnlyInPlay();
  // QEMU casts a negative icount to a huge unsigned one (a break that never fires); it is the past here.
  if (icount < BigInt(s.icount())) throw qmpErrors.breakInPast();
  s.setReplayBreak(toIcount(icount));
}

export function replayDeleteBreak(ctx: CommandContext): void {
  if (ctx.session.replayInfo().mode !== "play") throw qmpErrors.deleteBreakOnlyInPlay();
  ctx.session.clearReplayBreak();
}

/**
 * QEMU starts the seek and replies at once (a client then waits for STOP). Rewind replies when the machine is
 * at the target (DESIGN §3), having sent RESUME/STOP as QEMU would, so both kinds of client work.
 */
export async function replaySeek(ctx: CommandContext, icount: bigint): Promise<void> {
  const { session, hub } = ctx;
  if (session.replayInfo().mode !== "play") throw qmpErrors.seekNeedsReplay();
  if (icount < 0n) throw qmpErrors.seekImpossible();
  if (session.runState() === "running") await stopMachine(ctx);
  const target = toIcount(icount);
  const stops = hub.stops;
  try {
    await session.seek(target);
  } finally {
    hub.markPausedByMonitor();
  }
  // QEMU: RESUME, then STOP at the target (the hub adds the RESUME when the session reports only the stop).
  if (hub.stops === stops) hub.emit("STOP");
  const now = session.icount();
  if (now !== target) {
    throw genericError(`cannot seek to the specified instruction count: the recording ends at instruction count ${now}`);
  }
}

/** Pauses a running machine and waits until it has stopped (QEMU sends STOP before the reply). */
async function stopMachine(ctx: CommandContext): Promise<void> {
  const { session, hub } = ctx;
  const stops = hub.stops;
  session.pause();
  await hub.waitUntil(() => hub.stops > stops || session.runState() !== "running", STOP_WAIT_MS);
  // The state changes a moment before the session's stop notification: give it that moment.
  if (hub.stops === stops) await hub.waitUntil(() => hub.stops > stops, 100);
  if (hub.stops === stops) {
    if (session.runState() === "running") throw genericError("the machine did not stop");
    hub.emit("STOP");
  }
  hub.markPausedByMonitor();
}

export async function stop(ctx: CommandContext): Promise<void> {
  // QEMU: stopping a machine that is not running changes nothing (prelaunch stays prelaunch) and sends no STOP.
  if (ctx.session.runState() !== "running") return;
  await stopMachine(ctx);
}

export async function cont(ctx: CommandContext): Promise<void> {
  const { session, hub } = ctx;
  const state = session.runState();
  if (state === "shutdown") throw qmpErrors.resetRequired();
  if (state === "running") return;
  const resumes = hub.resumes;
  let refusal: { error: unknown } | undefined;
  let settled = false;
  session.cont().then(
    () => (settled = true),
    (error) => {
      settled = true;
      // Refused before it started (busy, shut down): the command fails. Later failures end the run instead.
      if (hub.resumes === resumes) refusal = { error };
      else ctx.log(`the machine stopped with an error: ${toQmpError(error).desc}`);
    },
  );
  // The reply goes out once the machine runs (QEMU: RESUME, then the reply); the run itself goes on.
  await hub.waitUntil(() => hub.resumes > resumes || settled, 1000);
  if (refusal) throw toQmpError(refusal.error, ctx.log);
  if (hub.resumes === resumes && session.runState() === "running") hub.emit("RESUME");
}

export function systemReset(ctx: CommandContext): void {
  ctx.hub.withoutStopEvents(() => ctx.session.systemReset());
  ctx.hub.emit("RESET", { guest: false, reason: "host-qmp-system-reset" });
}

/** QEMU 7.2 sends SHUTDOWN, then the reply, then closes the connection (and exits). */
export async function quit(ctx: CommandContext, closeConnections: () => void): Promise<void> {
  const { session, hub } = ctx;
  hub.beginQuit();
  const shutdowns = hub.shutdowns;
  try {
    await session.quit();
  } catch (e) {
    ctx.log(`quit: ${toQmpError(e).desc}`);
  }
  if (hub.shutdowns === shutdowns) hub.emit("SHUTDOWN", { guest: false, reason: "host-qmp-quit" });
  ctx.afterReply(closeConnections);
}

export function queryVersion(ctx: CommandContext): OutValue {
  const { major, minor, micro } = QEMU_VERSION;
  return { qemu: { major, minor, micro }, package: ctx.info.packageString };
}

function cpuProps(arch: DebugSession["arch"]): OutValue {
  // CpuInstanceProperties, schema order; which members exist depends on the board (virt vs pc).
  return arch === "aarch64"
    ? { "socket-id": 0, "cluster-id": 0, "core-id": 0, "thread-id": 0 }
    : { "socket-id": 0, "die-id": 0, "core-id": 0, "thread-id": 0 };
}

/**
 * The command table. `closeConnections` is how quit ends every connection of the session after its reply.
 * qmp_capabilities is the only command of the negotiation phase; after it, it answers "already complete".
 */
export function makeCommands(closeConnections: () => void): ReadonlyMap<string, QmpCommand> {
  const list: QmpCommand[] = [
    {
      name: "qmp_capabilities",
      args: [{ name: "enable", type: { enumList: ["oob"] }, optional: true }],
      run(ctx, args) {
        if (ctx.client.negotiated) throw qmpErrors.alreadyNegotiated();
        const enable = (args.enable as string[] | undefined) ?? [];
        ctx.client.oob = enable.includes("oob");
        ctx.client.negotiated = true;
        return {};
      },
    },
    { name: "query-version", args: [], run: queryVersion },
    {
      name: "query-commands",
      args: [],
      run: () => [...table.keys()].map((name) => ({ name })),
    },
    { name: "query-status", args: [], run: queryStatus },
    { name: "query-replay", args: [], run: queryReplay },
    {
      name: "replay-break",
      args: [{ name: "icount", type: "int" }],
      run(ctx, args) {
        replayBreak(ctx, args.icount as bigint);
        return {};
      },
    },
    {
      name: "replay-delete-break",
      args: [],
      run(ctx) {
        replayDeleteBreak(ctx);
        return {};
      },
    },
    {
      name: "replay-seek",
      args: [{ name: "icount", type: "int" }],
      async run(ctx, args) {
        await replaySeek(ctx, args.icount as bigint);
        return {};
      },
    },
    {
      name: "stop",
      args: [],
      async run(ctx) {
        await stop(ctx);
        return {};
      },
    },
    {
      name: "cont",
      args: [],
      async run(ctx) {
        await cont(ctx);
        return {};
      },
    },
    {
      name: "system_reset",
      args: [],
      run(ctx) {
        systemReset(ctx);
        return {};
      },
    },
    {
      name: "quit",
      args: [],
      async run(ctx) {
        await quit(ctx, closeConnections);
        return {};
      },
    },
    { name: "query-name", args: [], run: (ctx) => ({ name: ctx.info.name }) },
    { name: "query-target", args: [], run: (ctx) => ({ arch: ctx.session.arch }) },
    { name: "query-kvm", args: [], run: () => ({ enabled: false, present: false }) },
    {
      name: "query-cpus-fast",
      args: [],
      run: (ctx) => [
        {
          "cpu-index": 0,
          "qom-path": "/machine/unattached/device[0]",
          "thread-id": ctx.info.threadId,
          props: cpuProps(ctx.session.arch),
          target: ctx.session.arch,
        },
      ],
    },
    {
      name: "human-monitor-command",
      args: [
        { name: "command-line", type: "str" },
        { name: "cpu-index", type: "int", optional: true },
      ],
      async run(ctx, args) {
        const cpu = args["cpu-index"] as bigint | undefined;
        if (cpu !== undefined && cpu !== 0n) throw qmpErrors.paramExpects("cpu-index", "a CPU number");
        return runHmp(ctx, args["command-line"] as string, closeConnections);
      },
    },
  ];
  const table = new Map(list.map((c) => [c.name, c]));
  return table;
}

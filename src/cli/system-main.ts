// `rewind-system-<arch>`: QEMU's command line in front of a Rewind session.

import { readFileSync, writeFileSync } from "node:fs";
import { ChardevSet, ChardevError, type CharBackend } from "../chardev/index.js";
import { startMonitorStub } from "../chardev/monitor-stub.js";
import { BootError } from "../boards/elf.js";
import { BoardError, requireBoard } from "../boards/registry.js";
import { FdtError } from "../core/fdt.js";
import { RecordingError } from "../replay/format-types.js";
import { EventKind } from "../replay/format-types.js";
import { SessionError, type StopEvent } from "../session/api.js";
import { OptionError, parseQemuArgs, targetFor } from "./qemu-options.js";
import type { MachineOptions, TargetArch } from "./machine-options.js";
import { prepareMachine, SetupError, type PreparedMachine } from "./machine-setup.js";
import { serveGdbOnChardev } from "../gdb/listen.js";
import { attachQmp } from "../qmp/server.js";

export class UsageError extends Error {
  override name = "UsageError";
}

/** Features whose options parse but whose implementation lands in a later milestone. */
function refuseUnimplemented(o: MachineOptions): void {
  const later = (what: string) => {
    throw new UsageError(`${what} is not supported yet by this version of Rewind`);
  };
  const board = requireBoard(o.machine.type);
  for (const kind of ["kernel", "initrd", "dtb", "bios"] as const)
    if (o[kind] !== undefined && board.bootFiles[kind] === undefined) later(`-${kind} on the ${board.name} board`);
}

/** Errors a user caused (bad options, files, recordings): one line, no stack trace. */
function userError(e: unknown): string | undefined {
  if (e instanceof OptionError) return e.message;
  if (e instanceof UsageError || e instanceof SetupError || e instanceof BoardError || e instanceof BootError || e instanceof FdtError || e instanceof RecordingError || e instanceof ChardevError || e instanceof SessionError)
    return e.message;
  return undefined;
}

export async function systemMain(argv: readonly string[], arch: TargetArch = "aarch64"): Promise<number> {
  const target = targetFor(arch);
  const program = target.program;
  const fail = (msg: string) => {
    process.stderr.write(msg.startsWith(program) ? `${msg}\n` : `${program}: ${msg}\n`);
    return 1;
  };
  let options: MachineOptions;
  try {
    const outcome = parseQemuArgs(argv, target);
    if (outcome.kind === "info") {
      process.stdout.write(outcome.text.endsWith("\n") ? outcome.text : outcome.text + "\n");
      return 0;
    }
    options = outcome.options;
    for (const w of options.warnings) process.stderr.write(`${program}: ${w}\n`);
    refuseUnimplemented(options);
  } catch (e) {
    const msg = userError(e);
    if (msg !== undefined) return fail(msg);
    throw e;
  }

  if (options.machine.type === "virt" && options.machine.dumpdtb) {
    const board = requireBoard(options.machine.type);
    if (!board.deviceTree) return fail(`the ${board.name} board has no device tree to dump`);
    let tree: Uint8Array;
    try {
      const file = (path: string | undefined) => (path === undefined ? undefined : { name: path, bytes: readFileSync(path) });
      tree = board.deviceTree({ ramSize: options.ramBytes, append: options.append, kernel: file(options.kernel), initrd: file(options.initrd), dtb: file(options.dtb) });
    } catch (e) {
      const msg = userError(e);
      if (msg !== undefined) return fail(msg);
      const err = e as NodeJS.ErrnoException;
      if (err.code && err.path) return fail(`cannot read '${err.path}': ${err.code === "ENOENT" ? "no such file" : err.message}`);
      throw e;
    }
    try {
      writeFileSync(options.machine.dumpdtb, tree);
      return 0;
    } catch (e) {
      return fail(`cannot write device tree: ${(e as Error).message}`);
    }
  }

  const log = (line: string) => process.stderr.write(`${program}: ${line}\n`);
  // Guest output (serial port, debug consoles) is buffered per slice and written when the event loop runs.
  const serial = new BufferedOutput();
  const debugcons = options.devices.filter((d) => d.driver === "isa-debugcon").map(() => new BufferedOutput());
  const flushSerial = () => {
    serial.flush();
    for (const d of debugcons) d.flush();
  };

  let prepared: PreparedMachine;
  try {
    prepared = prepareMachine(options, { serialOut: (b) => serial.push(b), debugconOut: (i, b) => debugcons[i]?.push(b), log }, argv);
  } catch (e) {
    const msg = userError(e);
    if (msg !== undefined) return fail(msg);
    throw e;
  }
  const { session, machine } = prepared;
  // The debugger's register file is the host's choice, not part of the machine (a recording replays under either).
  if (options.machine.type === "pc") session.selectGdbLayout(options.machine.gdbArch);
  if (prepared.replay) {
    for (const n of prepared.replay.notices) log(n);
    for (const w of prepared.replay.warnings) log(`warning: ${w}`);
  }

  let quitting: string | undefined;
  let wakeMain: (() => void) | undefined;
  const requestQuit = (why: string) => {
    quitting ??= why;
    session.pause();
    wakeMain?.();
  };
  // From here on a signal stops the machine in order (a recording is finished); opening the character devices
  // can wait (a socket server waiting for its client), so this starts before it.
  const signals = handleQuitSignals(prepared, log, () => requestQuit("signal"));
  let chardevs: ChardevSet;
  try {
    chardevs = await ChardevSet.open(options.chardevs, { onQuit: () => requestQuit("quit") });
  } catch (e) {
    signals.remove();
    prepared.writer?.abort();
    prepared.close();
    const msg = userError(e);
    if (msg !== undefined) return fail(msg);
    throw e;
  }
  // Monitors attach before serial ports so that, on a mux, the serial port ends up with the keyboard.
  const closers: (() => void)[] = [];
  for (const mon of options.monitors) {
    const port = chardevs.frontend(mon.chardev, mon.mode === "control" ? "qmp" : "monitor");
    if (mon.mode === "control") {
      const qmp = attachQmp(port, session, { pretty: mon.pretty, name: options.name, onQuit: () => requestQuit("quit") });
      closers.push(() => qmp.detach());
    } else startMonitorStub(port, { onQuit: () => requestQuit("quit") });
  }
  const serialPort = options.serials[0] !== undefined ? chardevs.frontend(options.serials[0], "serial0") : undefined;
  serial.backend = serialPort;
  options.devices.filter((d) => d.driver === "isa-debugcon").forEach((d, i) => (debugcons[i]!.backend = chardevs.frontend(d.chardev, d.id ?? `debugcon${i}`)));
  serialPort?.setReceiver((data) => session.submitInput(EventKind.SerialRx, [...data].map((b) => Uint8Array.of(b))));
  // Front ends (GDB, QMP) drive the session themselves once they take over.
  if (options.gdb) closers.push(serveGdbOnChardev(session, chardevs.frontend(options.gdb.chardev, "gdb"), { log }).close);
  const frontEnds = closers.length > 0;
  session.on("shutdown", () => {
    quitting ??= "shutdown";
    wakeMain?.();
  });

  const progress = startProgress(options, prepared);

  let status = 0;
  try {
    if (options.startPaused && !frontEnds) log("started paused (-S) with no debugger or monitor to resume it; waiting until terminated");
    if (!options.startPaused) {
      // Run until the guest ends, the user quits, or a front end interrupts and takes over.
      for (;;) {
        if (quitting !== undefined) break; // e.g. a signal while the character devices opened
        const ev: StopEvent = await session.cont();
        flushSerial();
        if (ev.kind === "interrupted") {
          if (quitting !== undefined || frontEnds) break;
          continue;
        }
        if (frontEnds && ev.kind !== "poweroff") {
          // Stay for the debugger or monitor; say why the machine stopped when it is not obvious.
          if (ev.kind === "stuck" || ev.kind === "diverged") log(ev.kind === "stuck" ? `guest stopped making progress at icount ${session.icount()}: ${ev.message}` : ev.message);
          break;
        }
        status = reportEnd(ev, prepared, log);
        // A guest that got stuck (or any other end) still leaves a whole recording, replayable up to there.
        session.finishRecording(ev.kind);
        quitting ??= "end";
        break;
      }
    }
    // A front end is in control (or -S without one): wait until someone quits or the guest shuts down.
    while (quitting === undefined) await new Promise<void>((r) => ((wakeMain = r), setTimeout(r, 200)));
    if (quitting !== "end" && quitting !== "shutdown") session.finishRecording(quitting);
    if (quitting === "shutdown") session.finishRecording("poweroff");
    // Whatever happened in the run, a damaged recording is a failure (reportEnd said where it stopped).
    if (prepared.replay?.damaged && status === 0) {
      if (quitting !== "end") log(`'${prepared.replay.file}' is damaged at byte offset ${prepared.replay.damaged.offset}: exiting with status 1`);
      status = 1;
    }
  } catch (e) {
    flushSerial();
    const msg = userError(e);
    if (msg !== undefined) log(msg);
    else log(`internal error at icount ${machine.clock.icount}, pc 0x${machine.pc().toString(16)}: ${(e as Error).stack ?? e}`);
    status = msg !== undefined ? 1 : 2;
    prepared.writer?.abort();
  } finally {
    progress.stop();
    for (const close of closers) close();
    signals.remove();
    flushSerial();
    prepared.close();
    await chardevs.closeAll();
  }
  return status;
}

/** How a run ended, in one line where it is worth saying; returns the exit status. */
function reportEnd(ev: StopEvent, p: PreparedMachine, log: (l: string) => void): number {
  switch (ev.kind) {
    case "poweroff":
      // isa-debug-exit: the status the guest wrote ((value << 1) | 1), as QEMU exits with it.
      return p.machine.exitStatus ?? 0;
    case "replay-end": {
      const r = p.replay!;
      if (r.damaged) {
        log(`replay stopped at icount ${p.session.icount()}: '${r.file}' is damaged at byte offset ${r.damaged.offset}, ` +
          "and nothing after the damage can be replayed");
        return 1;
      }
      if (r.truncated) log(`replayed up to icount ${p.session.icount()}: the recording ends there (its writer was interrupted)`);
      if (r.finalDigest && p.session.digest() !== r.finalDigest) {
        log(`replay finished at icount ${p.session.icount()} but the final machine state differs from the recording's`);
        return 1;
      }
      // The recorded run ended with an isa-debug-exit status: the replay of it ends with the same one.
      return p.machine.exitStatus ?? 0;
    }
    case "stuck":
      log(`guest stopped making progress at icount ${p.session.icount()}: ${ev.message}`);
      return 1;
    case "diverged":
      log(ev.message);
      return 1;
    default:
      log(`machine stopped: ${ev.kind}`);
      return 1;
  }
}

/** Bytes for a character device, written in one piece when the event loop next runs (not per byte). */
class BufferedOutput {
  backend: CharBackend | undefined;
  private bytes: number[] = [];
  private scheduled = false;

  push(b: number): void {
    this.bytes.push(b);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.bytes.length === 0) return;
    this.backend?.write(Uint8Array.from(this.bytes));
    this.bytes = [];
  }
}

/** The signals that stop the machine in order, as QEMU's termsig handler does, with their numbers. */
const QUIT_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * SIGINT (Ctrl-C on a console that keeps signals), SIGTERM and SIGHUP stop the machine in order, as QEMU does:
 * a recording gets its trailer and is moved into place under its name, then the process exits with status 0.
 * Without this, SIGINT would kill the process and leave only the recording's temporary file. A second signal
 * while the first is being handled exits at once (someone who presses Ctrl-C twice wants out); a recording then
 * stays in its temporary file, which replaying its name finds.
 */
function handleQuitSignals(p: PreparedMachine, log: (l: string) => void, quit: () => void): { remove(): void } {
  let received = false;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const [name, num] of Object.entries(QUIT_SIGNALS) as [NodeJS.Signals, number][]) {
    const handler = () => {
      if (!received) {
        received = true;
        log(`terminating on signal ${num}`);
        quit();
        return;
      }
      const left = p.writer?.isOpen ? `; the recording so far stays in '${p.writer.tempPath}'` : "";
      log(`terminating at once on a second signal (${num})${left}`);
      try {
        p.close();
      } catch {
        // exiting anyway
      }
      process.exit(128 + num);
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    remove() {
      for (const [name, handler] of handlers) process.off(name, handler);
      handlers.clear();
    },
  };
}

/**
 * A one-line progress display on stderr for long record/replay runs, when stderr is a terminal that the guest's
 * console does not share.
 */
function startProgress(o: MachineOptions, p: PreparedMachine): { stop(): void } {
  const serialOnStdio = o.serials.some((id) => o.chardevs.find((c) => c.id === id)?.backend === "stdio");
  if (!process.stderr.isTTY || serialOnStdio || o.replay.mode === "none") return { stop() {} };
  const t0 = Date.now();
  const show = () => {
    const n = p.session.icount();
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? ` (${(n / secs / 1e6).toFixed(1)} MIPS)` : "";
    const activity = p.session.activity();
    const what = activity
      ? `${activity}: at icount ${n.toLocaleString("en-US")}`
      : p.replay
      ? `replaying: ${n.toLocaleString("en-US")} of ${p.replay.endIcount.toLocaleString("en-US")} instructions, ${((100 * n) / Math.max(1, p.replay.endIcount)).toFixed(1)}%`
      : `recording: ${n.toLocaleString("en-US")} instructions`;
    process.stderr.write(`\r\x1b[K${what}${rate}`);
  };
  const timer = setInterval(show, 500);
  return {
    stop() {
      clearInterval(timer);
      if (Date.now() - t0 >= 500) process.stderr.write("\r\x1b[K");
    },
  };
}

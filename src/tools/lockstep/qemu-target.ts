/**
 * The lockstep reference: qemu-system-aarch64 single-stepped through its gdbstub.
 *
 * Two ways to run it:
 * - "replay" (default): first a normal run is recorded (`-icount shift=N,sleep=off,rr=record`, no debugger),
 *   then that recording is replayed under the gdbstub and single-stepped. Stepping is then exactly the normal
 *   run: interrupts and timer expiries come at the same instruction counts. (In replay mode QEMU only supports
 *   the single-step flag ENABLE, so interrupts are never masked while stepping.) `sleep=off` is added unless
 *   given: an idle guest (WFI) then jumps to the next timer deadline instead of sleeping in host time, so two
 *   recordings of the same guest agree exactly, counter reads included, and replays do not wait.
 * - "live": `-icount shift=N -S -gdb ...` stepped directly. QEMU's default single-step masks interrupts and
 *   timers (`qqemu.sstep` 0x7 = ENABLE|NOIRQ|NOTIMER); we set `Qqemu.sstep=0x1` (ENABLE only) by default so
 *   interrupts are delivered. Caveat measured on QEMU 7.2: with timers running, the virtual clock jumps by host
 *   time while the VM sits stopped between steps, so timer-driven behaviour is not reproducible (and with
 *   `sleep=off` stepping hangs once a timer interrupt is pending). Guests that use no timers are exact.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RspClient, RspConnectionClosedError, RspTimeoutError } from "../../gdb/rsp-client.js";
import {
  CORE_REGISTER_NAMES,
  FPU_REGISTER_NAMES,
  snapshotFromMap,
  type LockstepTarget,
  type RegisterSnapshot,
  type StepStatus,
} from "./target.js";

/** QEMU could not be started, or stopped in a way the oracle cannot use. */
export class QemuError extends Error {
  override name = "QemuError";
}

export interface QemuTargetOptions {
  kernel: string;
  /** `-icount` value without rr options, e.g. "shift=7". Default "shift=7". */
  icount?: string;
  /** "replay" (record a normal run, then step its replay) or "live". Default "replay". */
  mode?: "replay" | "live";
  /** Live mode: value for `Qqemu.sstep=` (1 = ENABLE only: interrupts and timers on). Default 0x1. */
  sstep?: number;
  /** "core" (x0..x30, sp, pc, cpsr: one `g` packet) or "full" (plus v0..v31, fpsr, fpcr). Default "full". */
  registers?: "core" | "full";
  /** System registers to read each step, by QEMU's gdbstub names (e.g. "VBAR", "ESR_EL1"). */
  sysRegisters?: string[];
  qemu?: string;
  machine?: string;
  cpu?: string;
  /** More QEMU options (appended before -icount). */
  extraArgs?: string[];
  /** Time limit for one step or register read, ms. Default 10000. */
  timeoutMs?: number;
  /** Replay mode: how long the recorded run may take before it is stopped (SIGTERM), ms. Default 30000. */
  recordTimeoutMs?: number;
  /**
   * Replay mode: end the recorded run (QMP `quit`) once it has executed this many instructions, instead of
   * waiting for the guest to power off. Steps in the replay beyond that point end with an exit.
   */
  recordInstructions?: number;
}

/**
 * Writes QEMU's own device tree for this machine (without its random seeds) to `file`, so that both sides of a
 * comparison load the same bytes: guests that read the device tree otherwise diverge where they read it.
 */
export function dumpQemuDtb(file: string, options: Pick<QemuTargetOptions, "qemu" | "machine" | "cpu"> = {}): string {
  const binary = options.qemu ?? "qemu-system-aarch64";
  const machine = `${options.machine ?? "virt"},dumpdtb=${file},dtb-randomness=off`;
  const r = spawnSync(binary, ["-M", machine, "-cpu", options.cpu ?? "cortex-a53", "-display", "none"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new QemuError(`${binary} could not dump its device tree: ${r.error?.message ?? (r.stderr.trim() || `exit status ${r.status}`)}`);
  }
  return file;
}

const PSCI_SYSTEM_OFF = 0x84000008n;
/** Re-read the FP/SIMD registers at least this often even when no instruction could have changed them. */
const FULL_READ_EVERY = 1024;

/**
 * Can this A64 instruction change v0..v31, FPSR or FPCR? SIMD&FP data processing (op0 x111), SIMD&FP loads
 * (load/store class with V set) and MSR FPCR/FPSR. Cortex-A53 has no SVE/SME. Conservative: stores count too.
 */
export function touchesFpState(insn: number): boolean {
  if ((insn & 0x0e000000) === 0x0e000000) return true; // data processing, SIMD & FP
  if ((insn & 0x0a000000) === 0x08000000 && (insn & 0x04000000) !== 0) return true; // loads/stores with V=1
  const msr = (insn & 0xffffffe0) >>> 0;
  return msr === 0xd51b4400 || msr === 0xd51b4420; // MSR FPCR / FPSR
}

/** HVC or SMC (PSCI calls). */
function isHvcOrSmc(insn: number): boolean {
  const masked = (insn & 0xffe0001f) >>> 0;
  return masked === 0xd4000002 || masked === 0xd4000003;
}

interface QemuProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startQemu(binary: string, args: string[]): QemuProcess {
  let out = "";
  let err = "";
  const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.setEncoding("latin1").on("data", (d: string) => (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => resolve(code));
    proc.once("error", (e) => {
      err += `\n${e.message}`;
      resolve(null);
    });
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Whether the process exits within `ms` (the timer is cleared either way, so it never holds the process). */
async function exitedWithin(q: QemuProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([q.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopQemu(q: QemuProcess, graceMs = 1000): Promise<void> {
  if (q.proc.exitCode !== null || q.proc.signalCode !== null) return;
  q.proc.kill("SIGTERM");
  const done = await exitedWithin(q, graceMs);
  if (!done) {
    q.proc.kill("SIGKILL");
    await q.exited;
  }
}

function lastLines(text: string, n = 5): string {
  return text.trim().split("\n").slice(-n).join("\n");
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

let versionCache: string | undefined;
function qemuVersion(binary: string): string {
  if (versionCache === undefined) {
    const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
    versionCache = /version (\S+)/.exec(r.stdout ?? "")?.[1] ?? "?";
  }
  return versionCache;
}

export class QemuTarget implements LockstepTarget {
  private snapshot: RegisterSnapshot;
  private closed = false;
  /** Instruction words seen at each PC (decides whether a step needs the FP/SIMD registers re-read). */
  private readonly insnCache = new Map<bigint, number>();
  private stepsSinceFullRead = 0;
  private executed: number | undefined;
  private readonly coreNames: string[];
  /** Serial output of the recorded run (replay mode). */
  recordedSerial = "";
  /** The `-icount` value QEMU runs with (rr options left out). */
  icountUsed = "";

  private constructor(
    readonly client: RspClient,
    private readonly qemu: QemuProcess,
    private readonly opts: Required<Pick<QemuTargetOptions, "mode" | "icount" | "machine" | "cpu" | "timeoutMs" | "registers">> & QemuTargetOptions,
    /** The single-step flags QEMU reports (`qqemu.sstep`) after setup. */
    readonly sstepFlags: string,
    /** What QEMU's default single-step flags were (`qqemu.sstep` before we changed them). */
    readonly defaultSstepFlags: string,
    private readonly registerNames: string[],
    private readonly tempDir: string | undefined,
    first: RegisterSnapshot,
    readonly version: string,
  ) {
    this.snapshot = first;
    this.coreNames = registerNames.filter((n) => !(FPU_REGISTER_NAMES as string[]).includes(n));
  }

  /** Starts QEMU (recording first in replay mode), connects to its gdbstub and reads the initial registers. */
  static async start(options: QemuTargetOptions): Promise<QemuTarget> {
    const opts = {
      ...options,
      mode: options.mode ?? "replay",
      icount: options.icount ?? "shift=7",
      machine: options.machine ?? "virt",
      cpu: options.cpu ?? "cortex-a53",
      timeoutMs: options.timeoutMs ?? 10000,
      registers: options.registers ?? "full",
    };
    if (/(^|,)rr=/.test(opts.icount)) {
      throw new QemuError("give -icount without rr=...: the lockstep oracle adds record/replay options itself");
    }
    const binary = opts.qemu ?? "qemu-system-aarch64";
    const base = ["-M", opts.machine, "-cpu", opts.cpu, "-nographic", "-net", "none", "-kernel", opts.kernel, ...(opts.extraArgs ?? [])];
    let tempDir: string | undefined;
    let icount = opts.icount;
    let recordedSerial = "";
    try {
      if (opts.mode === "replay") {
        tempDir = mkdtempSync(join(tmpdir(), "rewind-lockstep-"));
        const rrfile = join(tempDir, "run.rr");
        const timing = /(^|,)sleep=/.test(opts.icount) ? opts.icount : `${opts.icount},sleep=off`;
        recordedSerial = await record(binary, [...base, "-icount", `${timing},rr=record,rrfile=${rrfile}`], options.recordTimeoutMs ?? 30000, tempDir, options.recordInstructions);
        icount = `${timing},rr=replay,rrfile=${rrfile}`;
      }
      const names = [...CORE_REGISTER_NAMES, ...(opts.registers === "full" ? FPU_REGISTER_NAMES : []), ...(opts.sysRegisters ?? [])];
      for (let attempt = 0; ; attempt++) {
        const port = await freePort();
        const qemu = startQemu(binary, [...base, "-icount", icount, "-S", "-gdb", `tcp:127.0.0.1:${port}`]);
        let client: RspClient;
        try {
          client = await connectWhileAlive(qemu, port, opts.timeoutMs);
        } catch (err) {
          await stopQemu(qemu);
          // Someone took the port between our check and QEMU's bind: try another one.
          if (attempt < 3 && /Failed to bind|Address already in use/i.test(qemu.stderr())) continue;
          throw err;
        }
        try {
          await client.qSupported();
          await client.readTargetXml();
          const defaultSstep = await client.cmd("qqemu.sstep");
          if (opts.mode === "live") {
            const flags = opts.sstep ?? 0x1;
            const reply = await client.cmd(`Qqemu.sstep=0x${flags.toString(16)}`);
            if (reply !== "OK") throw new QemuError(`QEMU refused single-step flags 0x${flags.toString(16)} (${reply || "not supported"})`);
          }
          const sstep = await client.cmd("qqemu.sstep");
          const first = snapshotFromMap(await client.readRegisters(names), opts.sysRegisters);
          const target = new QemuTarget(client, qemu, opts, sstep, defaultSstep, names, tempDir, first, qemuVersion(binary));
          target.recordedSerial = recordedSerial;
          target.icountUsed = icount.replace(/,rr=.*$/, "");
          return target;
        } catch (err) {
          client.close();
          await stopQemu(qemu);
          throw err;
        }
      }
    } catch (err) {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  describe(): string {
    const how = this.opts.mode === "replay" ? "replay of a recorded run" : `live, sstep=${this.sstepFlags}`;
    return `QEMU ${this.version} (${this.opts.machine}, ${this.opts.cpu}, -icount ${this.icountUsed}, ${how})`;
  }

  async step(): Promise<StepStatus> {
    if (this.closed) return "exited";
    const before = this.snapshot;
    this.executed = undefined;
    try {
      const reply = await this.client.step({ timeoutMs: this.opts.timeoutMs });
      if (reply.kind === "exited" || reply.kind === "terminated") return "exited";
      if (reply.kind !== "signal" || reply.signal !== 5) {
        throw new QemuError(`QEMU stopped unexpectedly after a single step: ${reply.raw}`);
      }
      const executed = await this.readAfterStep(before);
      this.executed = executed;
      // PSCI SYSTEM_OFF: QEMU answers the step with T05 or W00 depending on a race with its shutdown; wait
      // for the shutdown so that both cases count as "this step powered off".
      if (before.x[0] === PSCI_SYSTEM_OFF && executed !== undefined && isHvcOrSmc(executed) && (await this.waitForClose(2000))) {
        return "exited";
      }
      return "running";
    } catch (err) {
      if (err instanceof RspConnectionClosedError) {
        // Killed from outside (^C reaches QEMU too): not the guest powering off.
        await exitedWithin(this.qemu, 200);
        const killed = /terminating on signal (\d+)/.exec(this.qemu.stderr()) ?? (this.qemu.proc.signalCode ? [, this.qemu.proc.signalCode] : null);
        if (killed) throw new QemuError(`QEMU was terminated by signal ${killed[1]}`);
      }
      if (err instanceof RspConnectionClosedError && (err.lastStop?.kind === "exited" || this.qemu.proc.exitCode !== null)) {
        return "exited";
      }
      if (err instanceof RspConnectionClosedError) {
        throw new QemuError(`QEMU closed the debug connection: ${lastLines(this.qemu.stderr()) || err.message}`);
      }
      if (err instanceof RspTimeoutError) {
        throw new QemuError(
          `QEMU did not finish a single step at pc 0x${before.pc.toString(16)} within ${this.opts.timeoutMs} ms ` +
            `(a WFI waiting for an interrupt that the single-step flags mask? live mode with -icount sleep=off also hangs once a timer interrupt is pending)`,
        );
      }
      throw err;
    }
  }

  /**
   * Reads the registers after a step, in one batch with the instruction word the step executed. QEMU's `g`
   * holds only x0..x30, sp, pc, cpsr; v0..v31, fpsr and fpcr cost one `p` each, so they are read only after
   * an instruction that can change them (known from earlier visits to the same PC), after an instruction
   * seen for the first time that turns out to be one, and every FULL_READ_EVERY steps as a safety net.
   * Returns the executed instruction's encoding.
   */
  private async readAfterStep(before: RegisterSnapshot): Promise<number | undefined> {
    const full = this.opts.registers === "full";
    const known = this.insnCache.get(before.pc);
    let withFpu = full && ((known !== undefined && touchesFpState(known)) || ++this.stepsSinceFullRead >= FULL_READ_EVERY);
    const plan = this.client.planRegisterRead(withFpu ? this.registerNames : this.coreNames);
    const memPacket = `m${before.pc.toString(16)},4`;
    const replies = await this.client.pipeline([...plan.packets, memPacket]);
    const values = plan.decode(replies);
    const memReply = replies[replies.length - 1];
    const executed = /^[0-9a-fA-F]{8}$/.test(memReply) ? Buffer.from(memReply, "hex").readUInt32LE(0) : undefined;
    if (executed !== undefined) {
      if (this.insnCache.size > 1 << 16) this.insnCache.clear();
      this.insnCache.set(before.pc, executed);
    }
    if (full && !withFpu && (executed === undefined || touchesFpState(executed))) {
      const fpu = this.client.planRegisterRead(FPU_REGISTER_NAMES as string[]);
      for (const [k, v] of fpu.decode(await this.client.pipeline(fpu.packets))) values.set(k, v);
      withFpu = true;
    }
    if (withFpu) this.stepsSinceFullRead = 0;
    else if (before.v) {
      // Not re-read: cannot have changed.
      before.v.forEach((v, i) => values.set(`v${i}`, v));
      if (before.fpsr !== undefined) values.set("fpsr", BigInt(before.fpsr));
      if (before.fpcr !== undefined) values.set("fpcr", BigInt(before.fpcr));
    }
    this.snapshot = snapshotFromMap(values, this.opts.sysRegisters);
    return executed;
  }

  registers(): RegisterSnapshot {
    return this.snapshot;
  }

  lastInstruction(): number | undefined {
    return this.executed;
  }

  /** Writes the register through the gdbstub (QEMU's counter itself cannot be shifted from here). */
  async adoptCounterRead(register: string, value: bigint): Promise<void> {
    await this.client.writeRegister(register, value);
    const m = /^x(\d+)$/.exec(register);
    if (m) {
      const x = [...this.snapshot.x];
      x[Number(m[1])] = value;
      this.snapshot = { ...this.snapshot, x };
    }
  }

  async readMemory(addr: bigint, length: number): Promise<Uint8Array> {
    return this.client.readMemory(addr, length);
  }

  serialOutput(): string {
    return this.qemu.stdout();
  }

  /** QEMU's stderr so far (warnings). */
  diagnostics(): string {
    return this.qemu.stderr();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    await stopQemu(this.qemu);
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
  }

  private waitForClose(ms: number): Promise<boolean> {
    if (this.client.isClosed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.client.off("close", onClose);
        resolve(false);
      }, ms);
      const onClose = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.client.once("close", onClose);
    });
  }
}

/**
 * Runs the guest normally under record; returns its serial output. The run ends when the guest powers off,
 * after `timeoutMs`, or (with `untilIcount`) once QMP `query-replay` reports that many instructions.
 */
async function record(binary: string, args: string[], timeoutMs: number, tempDir: string, untilIcount?: number): Promise<string> {
  const qmpPath = join(tempDir, "record-qmp.sock");
  const q = startQemu(binary, untilIcount === undefined ? args : [...args, "-qmp", `unix:${qmpPath},server=on,wait=off`]);
  let stoppedByUs = false;
  // Ended by a signal, not QMP `quit`: a recorded quit makes QEMU 7.2's replay shut down at its first step.
  const watcher = untilIcount === undefined
    ? undefined
    : waitForIcount(qmpPath, untilIcount, q).then(async (reached) => {
        if (!reached) return;
        stoppedByUs = true;
        await stopQemu(q, 5000);
      });
  const finished = await exitedWithin(q, timeoutMs);
  // A guest that does not power off is stopped: the replay then ends where the recording does.
  if (!finished) {
    stoppedByUs = true;
    await stopQemu(q, 5000);
  }
  await watcher;
  const code = await q.exited;
  if (code !== 0 && !stoppedByUs) {
    throw new QemuError(`recording the reference run failed (exit ${code}): ${lastLines(q.stderr()) || "no message"}`);
  }
  return q.stdout();
}

/** Polls QMP `query-replay` until the recorded run has executed `icount` instructions (true), or gives up. */
async function waitForIcount(path: string, icount: number, q: QemuProcess): Promise<boolean> {
  let socket: net.Socket | undefined;
  for (let i = 0; i < 200 && !socket && q.proc.exitCode === null; i++) {
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect({ path });
      s.once("connect", () => resolve(s));
      s.once("error", () => resolve(undefined));
    });
    if (!socket) await new Promise((r) => setTimeout(r, 10));
  }
  if (!socket) return false; // QEMU already gone: nothing to stop
  const sock = socket;
  let buffered = "";
  const replies: Array<(msg: { return?: { icount?: number } }) => void> = [];
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      try {
        const msg = JSON.parse(line);
        if ("return" in msg || "error" in msg) replies.shift()?.(msg);
      } catch {
        /* not JSON: ignore */
      }
    }
  });
  sock.on("error", () => undefined);
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  const ask = (command: string) =>
    Promise.race([
      new Promise<{ return?: { icount?: number } }>((resolve) => {
        replies.push(resolve);
        sock.write(JSON.stringify({ execute: command }) + "\n");
      }),
      closed.then(() => undefined),
    ]);
  try {
    if ((await ask("qmp_capabilities")) === undefined) return false;
    while (q.proc.exitCode === null) {
      const reply = await ask("query-replay");
      if (reply === undefined) return false;
      const done = reply.return?.icount;
      if (typeof done !== "number") return false; // no record/replay support: wait for power-off instead
      if (done >= icount) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  } finally {
    sock.end();
  }
}

async function connectWhileAlive(q: QemuProcess, port: number, timeoutMs: number): Promise<RspClient> {
  const connecting = RspClient.connect("127.0.0.1", port, { timeoutMs, connectRetryMs: timeoutMs, pipelineInAckMode: true });
  const winner = await Promise.race([connecting.then((c) => ({ c })), q.exited.then((code) => ({ code }))]);
  if ("c" in winner) return winner.c;
  connecting.then((c) => c.close(), () => undefined);
  throw new QemuError(`QEMU exited (${winner.code}) before its gdbstub accepted a connection: ${lastLines(q.stderr()) || "no message"}`);
}

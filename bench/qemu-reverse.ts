// QEMU's side of the reverse-debugging benchmark: qemu-system-aarch64 7.2 records the guest with its own
// record/replay (`-icount shift=7,rr=record`), then replays it under its gdbstub and QMP; each depth is reached
// with QMP `replay-break` + `c`, and `bs` / `bc` are timed there exactly as Rewind's are. Also the small QEMU
// process helpers the other benchmarks share (start-up, clean-up, a minimal QMP client). Prints nothing itself.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RspClient } from "../src/gdb/rsp-client.js";

export const QEMU = "qemu-system-aarch64";
export const QEMU_IMG = "qemu-img";

/** The first of QEMU's tools that cannot be run here, or undefined when both can. */
export function missingQemuTool(): string | undefined {
  for (const tool of [QEMU, QEMU_IMG]) {
    const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
    if (r.error || r.status !== 0) return tool;
  }
  return undefined;
}

export function qemuVersion(): string {
  const r = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  return /version (\S+)/.exec(r.stdout ?? "")?.[1] ?? "?";
}

/** The machine both emulators run: virt, Cortex-A53, 128 MiB, no display, no network. */
export function qemuBaseArgs(kernel: string): string[] {
  return ["-M", "virt", "-cpu", "cortex-a53", "-m", "128M", "-display", "none", "-net", "none", "-no-reboot", "-kernel", kernel];
}

// ---- child processes: every QEMU started here is killed if the benchmark dies -------------------------------

const children = new Set<ChildProcess>();
const killChildren = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.once("exit", killChildren);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
}

export interface QemuProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the process has exited (exit code, or null when killed or not started). */
  exited: Promise<number | null>;
  /** When it was spawned (hrtime). */
  started: bigint;
  /** When it exited (hrtime), once it has. */
  ended?: bigint;
}

export function startQemu(args: string[], opts: { stdin?: boolean } = {}): QemuProcess {
  let out = "";
  let err = "";
  const started = process.hrtime.bigint();
  const proc = spawn(QEMU, args, { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
  children.add(proc);
  proc.stdin?.on("error", () => {}); // QEMU may exit before reading all input
  proc.stdout!.setEncoding("latin1").on("data", (d: string) => (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const q: QemuProcess = { proc, stdout: () => out, stderr: () => err, exited: Promise.resolve(null), started };
  q.exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => {
      q.ended = process.hrtime.bigint();
      children.delete(proc);
      resolve(code);
    });
    proc.once("error", (e) => {
      err += `\n${e.message}`;
      children.delete(proc);
      resolve(null);
    });
  });
  return q;
}

/** Whether the process exits within `ms`. */
export async function exitsWithin(q: QemuProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([q.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL if it lingers. Its pipes are closed too, so nothing it left behind keeps us alive. */
export async function stopQemu(q: QemuProcess): Promise<void> {
  if (q.proc.exitCode === null && q.proc.signalCode === null) {
    q.proc.kill("SIGTERM");
    if (!(await exitsWithin(q, 2000))) {
      q.proc.kill("SIGKILL");
      await q.exited;
    }
  }
  q.proc.stdin?.destroy();
  q.proc.stdout?.destroy();
  q.proc.stderr?.destroy();
}

export function lastLines(text: string, n = 4): string {
  return text.trim().split("\n").slice(-n).join("\n");
}

/** Runs QEMU to its exit; returns the wall time from spawn to exit. Throws if it fails or takes too long. */
export async function runQemuToExit(args: string[], timeoutMs: number): Promise<{ seconds: number; stdout: string }> {
  const q = startQemu(args);
  try {
    if (!(await exitsWithin(q, timeoutMs))) throw new Error(`QEMU did not finish within ${timeoutMs / 1000} s`);
    const code = await q.exited;
    if (code !== 0) throw new Error(`QEMU exited with ${code ?? q.proc.signalCode}: ${lastLines(q.stderr()) || "no message"}`);
    return { seconds: Number(q.ended! - q.started) / 1e9, stdout: q.stdout() };
  } finally {
    await stopQemu(q);
  }
}

/** An empty qcow2 image: QEMU's record/replay keeps its start snapshot (`rrsnapshot=init`) in it. */
export function createDisk(path: string): void {
  const r = spawnSync(QEMU_IMG, ["create", "-f", "qcow2", path, "128M"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`qemu-img create failed: ${(r.stderr ?? "").trim() || r.error?.message}`);
}

/** The `-icount` and `-drive` options for QEMU record/replay with a start snapshot. */
export function rrArgs(mode: "record" | "replay", rrfile: string, disk: string): string[] {
  return ["-icount", `shift=7,rr=${mode},rrfile=${rrfile},rrsnapshot=init`, "-drive", `file=${disk},if=none,id=rr`];
}

export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

// ---- a minimal QMP client (unix socket) ------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type QmpMessage = any;

export class QmpClient {
  private buffer = "";
  private readonly waiting: Array<(m: QmpMessage) => void> = [];
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        let msg: QmpMessage;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.event === undefined) this.waiting.shift()?.(msg); // greeting, return or error; events ignored
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(undefined);
    });
  }

  /** Connects (retrying while QEMU starts), reads the greeting and leaves capabilities negotiation. */
  static async connect(path: string, q: QemuProcess, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sock = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect({ path });
        s.once("connect", () => resolve(s));
        s.once("error", () => resolve(undefined));
      });
      if (sock) {
        const c = new QmpClient(sock);
        const greeting = await c.next(timeoutMs);
        if (!greeting?.QMP) throw new Error("QEMU's QMP socket sent no greeting");
        await c.cmd("qmp_capabilities");
        return c;
      }
      if (q.proc.exitCode !== null || Date.now() > deadline) throw new Error(`cannot connect to QEMU's QMP socket: ${lastLines(q.stderr()) || "no message"}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private next(timeoutMs: number): Promise<QmpMessage> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("QEMU's QMP did not answer in time")), timeoutMs);
      this.waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  /** Sends a command; resolves with its `return` value, throws its `error`. */
  async cmd(execute: string, args?: object, timeoutMs = 10_000): Promise<QmpMessage> {
    if (this.closed) throw new Error(`QMP ${execute}: the connection is closed`);
    const reply = this.next(timeoutMs);
    this.sock.write(JSON.stringify(args === undefined ? { execute } : { execute, arguments: args }) + "\n");
    const m = await reply;
    if (m === undefined) throw new Error(`QMP ${execute}: QEMU closed the connection`);
    if (m.error) throw new Error(`QMP ${execute}: ${m.error.desc ?? JSON.stringify(m.error)}`);
    return m.return;
  }

  close(): void {
    this.sock.destroy();
  }
}

// ---- the benchmark ---------------------------------------------------------------------------------------

export interface QemuReverseRow {
  depth: number;
  /** Time for `replay-break` + `c` from where the previous depth's `bc` left off (near the start). */
  reachMs: number;
  bsMedianMs: number;
  bcMs: number;
  /** Anything that did not go as expected (wrong icount after bs, bc not at the breakpoint...). */
  notes: string[];
}

export interface QemuReverseResult {
  version: string;
  recordSeconds: number;
  rows: QemuReverseRow[];
  /** Set when a depth could not be measured: why (the rows before it are still valid). */
  failed?: string;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Records `kernel` to its power-off with QEMU, then replays it under the gdbstub and at each depth times 10 × `bs`
 * (median) and one `bc` back to a hardware breakpoint at `breakAddr` (the guest's first instruction).
 * Returns undefined when QEMU is not installed. `timeoutMs` bounds each single operation.
 */
export async function benchQemuReverse(kernel: string, depths: number[], breakAddr: bigint, timeoutMs = 300_000): Promise<QemuReverseResult | undefined> {
  if (missingQemuTool()) return undefined;
  return withTempDir("rewind-bench-qemu-", async (dir) => {
    const rrfile = join(dir, "replay.bin");
    const disk = join(dir, "disk.qcow2");
    createDisk(disk);
    const base = [...qemuBaseArgs(kernel), "-serial", "null"];
    const rec = await runQemuToExit([...base, ...rrArgs("record", rrfile, disk)], timeoutMs);
    const result: QemuReverseResult = { version: qemuVersion(), recordSeconds: rec.seconds, rows: [] };

    const qmpPath = join(dir, "qmp.sock");
    const { q, gdb } = await startReplay([...base, ...rrArgs("replay", rrfile, disk), "-qmp", `unix:${qmpPath},server=on,wait=off`], timeoutMs);
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(qmpPath, q, timeoutMs);
      await gdb.qSupported();
      await gdb.readTargetXml();
      const icount = async () => ((await qmp!.cmd("query-replay")) as { icount: number }).icount;
      for (const depth of depths) {
        const notes: string[] = [];
        let t0 = process.hrtime.bigint();
        await qmp.cmd("replay-break", { icount: depth });
        const stop = await gdb.cont({ timeoutMs });
        const reachMs = ms(t0);
        if (stop.kind !== "signal") throw new Error(`replay to ${depth} ended with ${stop.raw} (the recording may be shorter)`);
        const at = await icount();
        if (at !== depth) notes.push(`replay-break stopped at icount ${at}`);

        const bs: number[] = [];
        for (let i = 0; i < 10; i++) {
          t0 = process.hrtime.bigint();
          const r = await gdb.reverseStep({ timeoutMs });
          bs.push(ms(t0));
          if (r.kind !== "signal" || r.signal !== 5) throw new Error(`bs at ${depth} answered ${r.raw}`);
        }
        const afterBs = await icount();
        if (afterBs !== depth - 10) notes.push(`icount after 10 bs: ${afterBs}, expected ${depth - 10}`);

        await gdb.setBreakpoint(1, breakAddr, 4);
        t0 = process.hrtime.bigint();
        const bc = await gdb.reverseCont({ timeoutMs });
        const bcMs = ms(t0);
        await gdb.removeBreakpoint(1, breakAddr, 4);
        if (bc.kind !== "signal" || bc.signal !== 5) throw new Error(`bc at ${depth} answered ${bc.raw}`);
        const pc = await gdb.readRegister("pc");
        if (pc !== breakAddr) notes.push(`bc stopped at pc 0x${pc.toString(16)}, not at the breakpoint`);
        result.rows.push({ depth, reachMs, bsMedianMs: median(bs), bcMs, notes });
      }
    } catch (err) {
      const gone = await exitsWithin(q, 500);
      const how = q.proc.signalCode ? `killed by ${q.proc.signalCode}` : `exit ${q.proc.exitCode}`;
      result.failed = (err as Error).message + (gone ? ` (QEMU ended: ${how}; ${lastLines(q.stderr(), 2) || "no message"})` : "");
    } finally {
      qmp?.close();
      gdb.close();
      await stopQemu(q);
    }
    return result;
  });
}

/** Starts the replay stopped (-S) under the gdbstub on a loopback port and connects to it. */
async function startReplay(args: string[], timeoutMs: number): Promise<{ q: QemuProcess; gdb: RspClient }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const q = startQemu([...args, "-gdb", `tcp:127.0.0.1:${port}`, "-S"]);
    try {
      const connecting = RspClient.connect("127.0.0.1", port, { timeoutMs, connectRetryMs: 30_000 });
      const winner = await Promise.race([connecting.then((gdb) => ({ gdb })), q.exited.then((code) => ({ code }))]);
      if ("gdb" in winner) return { q, gdb: winner.gdb };
      connecting.then((c) => c.close(), () => undefined);
      throw new Error(`QEMU exited (${winner.code}) before its gdbstub accepted a connection: ${lastLines(q.stderr()) || "no message"}`);
    } catch (err) {
      await stopQemu(q);
      // Someone took the port between our check and QEMU's bind: try another one.
      if (attempt < 3 && /Failed to bind|Address already in use/i.test(q.stderr())) continue;
      throw err;
    }
  }
}

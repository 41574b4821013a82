// Record overhead: the same guest run plain and recorded, for Rewind (in-process: machine.run, a live
// session, and a record session writing a real recording) and for qemu-system-aarch64 (-icount shift=7 vs
// -icount shift=7,rr=record). Prints MIPS, overhead and recording size per million instructions; with echo.elf,
// the recording bytes per serial character. Prints numbers; asserts nothing.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMachine } from "../src/boards/registry.js";
import type { SessionMachine } from "../src/session/target.js";
import { MachineSession } from "../src/session/session.js";
import { RecordingWriter } from "../src/replay/format-writer.js";
import { RecordingReader } from "../src/replay/format-reader.js";
import { RecordingSink } from "../src/replay/recording.js";
import { EventKind } from "../src/replay/format-types.js";
import { QmpClient, createDisk, exitsWithin, lastLines, missingQemuTool, qemuBaseArgs, qemuVersion, rrArgs, runQemuToExit, startQemu, stopQemu, withTempDir } from "./qemu-reverse.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const guestPath = (name: string) => join(ROOT, "guests/aarch64", name);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function machine(kernel: string, serialOut: (b: number) => void = () => {}): SessionMachine {
  return createMachine("virt", {
    ramSize: 128 << 20, icountShift: 7, kernel: { name: kernel, bytes: readFileSync(kernel) },
    rtcBootSeconds: 0, serial: [serialOut], log: () => {},
  });
}

function recordingSession(m: SessionMachine, file: string, guest: string): MachineSession {
  const writer = RecordingWriter.create(file, {
    config: { board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 0, extra: { guest } },
  });
  return new MachineSession({ machine: m, mode: "record", record: new RecordingSink(writer, () => ({ icount: m.clock.icount, ticks: m.clock.ticks })) });
}

// ---- Rewind ----------------------------------------------------------------------------------------------

interface RewindRuns {
  instructions: number;
  plain: number;
  live: number;
  record: number;
  recordingBytes: number;
  /** What the recording holds: digest marks (state hashes every 50 M instructions by default) and input events. */
  digestMarks: number;
  inputEvents: number;
}

async function rewindRuns(kernel: string, dir: string, repeats: number): Promise<RewindRuns> {
  const plain: number[] = [];
  const live: number[] = [];
  const record: number[] = [];
  let instructions = 0;
  let recordingBytes = 0;
  let contents = { digestMarks: 0, inputEvents: 0 };
  // Interleaved, so that drift (thermal, other load) hits all three alike.
  for (let i = 0; i < repeats; i++) {
    let m = machine(kernel);
    let t0 = process.hrtime.bigint();
    const reason = m.run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 });
    plain.push(seconds(t0));
    if (reason !== "poweroff") throw new Error(`rewind: the guest stopped with ${reason}`);
    instructions = m.clock.icount;

    m = machine(kernel);
    const session = new MachineSession({ machine: m, mode: "live" });
    t0 = process.hrtime.bigint();
    let ev = await session.cont();
    live.push(seconds(t0));
    if (ev.kind !== "poweroff") throw new Error(`rewind (live session): the guest stopped with ${ev.kind}`);

    m = machine(kernel);
    const file = join(dir, `rec-${i}.bin`);
    const rec = recordingSession(m, file, kernel);
    t0 = process.hrtime.bigint();
    ev = await rec.cont(); // finishes the recording at power-off
    record.push(seconds(t0));
    if (ev.kind !== "poweroff") throw new Error(`rewind (record): the guest stopped with ${ev.kind}`);
    if (m.clock.icount !== instructions) throw new Error(`rewind: recorded ${m.clock.icount} instructions, plain ran ${instructions}`);
    recordingBytes = statSync(file).size;
    const reading = RecordingReader.open(file);
    contents = { digestMarks: reading.digests.length, inputEvents: reading.events.length };
  }
  return { instructions, plain: median(plain), live: median(live), record: median(record), recordingBytes, ...contents };
}

/** Records echo.elf typing `lines` one by one, each when the guest prompts for it; returns the recording's size. */
async function rewindEchoRecording(file: string, lines: string[]): Promise<number> {
  let out = "";
  const m = machine(guestPath("echo.elf"), (b) => (out += String.fromCharCode(b)));
  const session = recordingSession(m, file, "echo.elf");
  const prompts = () => out.split("> ").length - 1;
  for (let n = 0; n < lines.length; n++) {
    for (let i = 0; prompts() <= n; i++) {
      if (i > 10_000) throw new Error("rewind: echo.elf stopped prompting");
      const r = await session.runTo(m.clock.icount + 100_000);
      if (r !== undefined && r !== "idle") throw new Error(`rewind: echo.elf stopped with ${r.kind}`);
    }
    session.submitInput(EventKind.SerialRx, [...Buffer.from(lines[n], "latin1")].map((b) => Uint8Array.of(b)));
  }
  const ev = await session.cont();
  if (ev.kind !== "poweroff") throw new Error(`rewind: echo.elf stopped with ${ev.kind}`);
  return statSync(file).size;
}

// ---- QEMU ------------------------------------------------------------------------------------------------

interface QemuRuns {
  plain: number;
  record: number;
  /** The same runs of hello.elf (≈ 5,600 instructions): what starting and stopping QEMU costs. */
  startPlain: number;
  startRecord: number;
  replayBytes: number;
  /** How much the qcow2 grew: the `init` snapshot that a recording also needs. */
  snapshotBytes: number;
}

async function qemuRuns(kernel: string, dir: string, repeats: number): Promise<QemuRuns> {
  const plainArgs = (k: string) => [...qemuBaseArgs(k), "-serial", "null", "-icount", "shift=7"];
  const recordOnce = async (k: string, i: number) => {
    const rrfile = join(dir, `q-${i}.rr`);
    const disk = join(dir, `q-${i}.qcow2`);
    createDisk(disk);
    const before = statSync(disk).size;
    const r = await runQemuToExit([...qemuBaseArgs(k), "-serial", "null", ...rrArgs("record", rrfile, disk)], 300_000);
    return { seconds: r.seconds, replayBytes: statSync(rrfile).size, snapshotBytes: statSync(disk).size - before };
  };
  const hello = guestPath("hello.elf");
  const plain: number[] = [];
  const record: number[] = [];
  const startPlain: number[] = [];
  const startRecord: number[] = [];
  let replayBytes = 0;
  let snapshotBytes = 0;
  for (let i = 0; i < repeats; i++) {
    plain.push((await runQemuToExit(plainArgs(kernel), 300_000)).seconds);
    const r = await recordOnce(kernel, i);
    record.push(r.seconds);
    replayBytes = r.replayBytes;
    snapshotBytes = r.snapshotBytes;
    startPlain.push((await runQemuToExit(plainArgs(hello), 60_000)).seconds);
    startRecord.push((await recordOnce(hello, 1000 + i)).seconds);
  }
  return { plain: median(plain), record: median(record), startPlain: median(startPlain), startRecord: median(startRecord), replayBytes, snapshotBytes };
}

/**
 * Records echo.elf under QEMU typing `lines` one by one at its prompts; returns replay.bin's size and how many
 * wake-ups it took. QEMU 7.2's rr=record leaves input to a guest asleep in WFI with no timer armed queued until
 * the vCPU is kicked, so each line is followed by QMP `stop` + `cont` (repeated until the guest answers).
 */
async function qemuEchoRecording(dir: string, name: string, lines: string[]): Promise<{ bytes: number; kicks: number }> {
  const rrfile = join(dir, `${name}.rr`);
  const disk = join(dir, `${name}.qcow2`);
  const qmpPath = join(dir, `${name}.sock`);
  createDisk(disk);
  const q = startQemu([...qemuBaseArgs(guestPath("echo.elf")), "-serial", "stdio", "-qmp", `unix:${qmpPath},server=on,wait=off`, ...rrArgs("record", rrfile, disk)], { stdin: true });
  let qmp: QmpClient | undefined;
  const alive = () => q.proc.exitCode === null && q.proc.signalCode === null;
  const prompts = () => q.stdout().split("> ").length - 1;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let kicks = 0;
  try {
    qmp = await QmpClient.connect(qmpPath, q, 10_000);
    for (let n = 0; n < lines.length; n++) {
      for (let t = Date.now(); prompts() <= n; await sleep(5)) {
        if (!alive() || Date.now() - t > 10_000) throw new Error(`the guest never prompted for line ${n + 1}`);
      }
      q.proc.stdin!.write(lines[n]);
      const last = n + 1 === lines.length; // "quit": the guest powers off instead of prompting again
      await sleep(20); // all of the line read by QEMU before the kick
      for (let t = Date.now(); last ? alive() : prompts() <= n + 1; await sleep(50)) {
        if (!alive()) break; // crashed: reported below
        if (Date.now() - t > 10_000) throw new Error(`the guest never answered line ${n + 1}`);
        kicks++;
        await qmp.cmd("stop").then(() => qmp!.cmd("cont")).catch(() => undefined);
      }
    }
    if (!(await exitsWithin(q, 10_000))) throw new Error("the guest did not power off after \"quit\"");
    if (q.proc.exitCode !== 0) throw new Error(`QEMU ${q.proc.signalCode ? `crashed (${q.proc.signalCode})` : `exited with ${q.proc.exitCode}`}: ${lastLines(q.stderr(), 2) || "no message"}`);
    return { bytes: statSync(rrfile).size, kicks };
  } catch (err) {
    if (!alive() && q.proc.signalCode) throw new Error(`QEMU crashed (${q.proc.signalCode}) while recording serial input: ${lastLines(q.stderr(), 2) || "no message"}`);
    throw err;
  } finally {
    qmp?.close();
    await stopQemu(q);
  }
}

// ---- the benchmark ---------------------------------------------------------------------------------------

export async function benchRecord(guest = "compute.elf", repeats = 3): Promise<void> {
  const kernel = guestPath(guest);
  await withTempDir("rewind-bench-record-", async (dir) => {
    machine(guestPath("compute-small.elf")).run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 }); // warm up the JIT
    const rw = await rewindRuns(kernel, dir, repeats);
    const n = rw.instructions;
    const mips = (s: number) => n / s / 1e6;
    const pct = (rec: number, plain: number) => `${rec >= plain ? "+" : ""}${(((rec - plain) / plain) * 100).toFixed(1)} %`;
    const perM = (bytes: number) => (bytes / (n / 1e6)).toFixed(1);
    const col = (s: number) => `${mips(s).toFixed(1).padStart(7)} MIPS (${s.toFixed(2).padStart(6)} s)`;

    console.log(`record overhead (${guest}, ${n.toLocaleString("en-US")} instructions, median of ${repeats})`);
    console.log("                                   plain                   recorded              overhead   recording");
    console.log(`  rewind, machine.run           ${col(rw.plain)}   ${col(rw.record)}   ${pct(rw.record, rw.plain).padStart(8)}   ${rw.recordingBytes.toLocaleString("en-US")} B = ${perM(rw.recordingBytes)} B per M instructions (${rw.digestMarks} digest marks, ${rw.inputEvents} input events)`);
    console.log(`  rewind, live session          ${col(rw.live)}   ${col(rw.record)}   ${pct(rw.record, rw.live).padStart(8)}   (same recording: session cost taken out)`);

    const missing = missingQemuTool();
    if (missing) {
      console.log(`  qemu (${missing}): not installed: no comparison`);
      return;
    }
    let q: QemuRuns;
    try {
      q = await qemuRuns(kernel, dir, Math.max(repeats, 5));
    } catch (err) {
      console.log(`  qemu: not measured: ${(err as Error).message}`);
      return;
    }
    const netPlain = q.plain - q.startPlain;
    const netRecord = q.record - q.startRecord;
    console.log(
      `  qemu ${qemuVersion()} -icount shift=7   ${col(q.plain)}   ${col(q.record)}   ${pct(q.record, q.plain).padStart(8)}   ` +
        `replay.bin ${q.replayBytes.toLocaleString("en-US")} B = ${perM(q.replayBytes)} B per M instructions (the qcow2 holding the init snapshot grew by ${(q.snapshotBytes / 1024).toFixed(0)} KiB)`,
    );
    if (netPlain >= 0.1 && netRecord >= 0.1)
      console.log(`    start-up excluded¹          ${col(netPlain)}   ${col(netRecord)}   ${pct(netRecord, netPlain).padStart(8)}`);
    else console.log("    start-up excluded¹          the run is too short next to QEMU's start-up to tell");
    console.log(`  rewind/qemu MIPS, plain: ${(mips(rw.plain) / mips(q.plain)).toFixed(3)}   recorded: ${(mips(rw.record) / mips(q.record)).toFixed(3)}`);
    console.log(
      `  ¹ minus QEMU's start-up and exit, measured as the same command on hello.elf: ${(q.startPlain * 1000).toFixed(0)} ms plain, ` +
        `${(q.startRecord * 1000).toFixed(0)} ms recording (includes saving the init snapshot). Rewind's times exclude start-up.`,
    );
  });

  await benchEchoRecording();
}

/**
 * Recording bytes per serial character: echo.elf with ten short lines and with ten longer ones, each typed at its
 * prompt; the size difference over the character difference (the per-line costs cancel). Lines stay within
 * 16 bytes: QEMU 7.2 crashes recording longer bursts (more than the PL011 FIFO holds).
 */
async function benchEchoRecording(): Promise<void> {
  const short = [...Array.from({ length: 10 }, () => "x\n"), "quit\n"];
  const long = [...Array.from({ length: 10 }, (_, i) => `line ${i} abcdefgh\n`), "quit\n"];
  const chars = (ls: string[]) => ls.join("").length;
  const extra = chars(long) - chars(short);
  await withTempDir("rewind-bench-echo-", async (dir) => {
    const rs = await rewindEchoRecording(join(dir, "short.bin"), short);
    const rl = await rewindEchoRecording(join(dir, "long.bin"), long);
    console.log(`serial input in a recording (echo.elf: 10 lines of 2 vs 16 characters, typed at each prompt, then "quit")`);
    console.log(`  rewind   ${((rl - rs) / extra).toFixed(1).padStart(5)} B per character   (recording ${rs.toLocaleString("en-US")} B → ${rl.toLocaleString("en-US")} B)`);
    if (missingQemuTool()) {
      console.log("  qemu     not installed: no comparison");
      return;
    }
    try {
      const qs = await qemuEchoRecording(dir, "short", short);
      const ql = await qemuEchoRecording(dir, "long", long);
      console.log(
        `  qemu     ${((ql.bytes - qs.bytes) / extra).toFixed(1).padStart(5)} B per character   (replay.bin ${qs.bytes.toLocaleString("en-US")} B → ${ql.bytes.toLocaleString("en-US")} B; ` +
          `QMP stop/cont wake-ups ${qs.kicks} and ${ql.kicks})`,
      );
    } catch (err) {
      console.log(`  qemu     not measured: ${(err as Error).message}`);
    }
  });
}

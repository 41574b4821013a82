// Reverse-debugging latency vs position in the recording: `bs` (reverse step) and `bc` (reverse continue to a
// breakpoint near the start) at several depths, and the memory the checkpoints use. Prints numbers only.

import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { readFileSync } from "node:fs";
import { createMachine } from "../src/boards/registry.js";
import type { SessionMachine } from "../src/session/target.js";
import { MachineSession } from "../src/session/session.js";
import { RecordingWriter } from "../src/replay/format-writer.js";
import { RecordingReader } from "../src/replay/format-reader.js";
import { RecordingSink, replaySource } from "../src/replay/recording.js";
import { readElfSymbols, Symbolizer } from "../src/boards/elf-symbols.js";
import { fileURLToPath } from "node:url";
import { benchQemuReverse, missingQemuTool, type QemuReverseResult } from "./qemu-reverse.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function machine(kernel: string): SessionMachine {
  return createMachine("virt", {
    ramSize: 128 << 20, icountShift: 7, kernel: { name: kernel, bytes: readFileSync(kernel) },
    rtcBootSeconds: 0,
  });
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchReverse(guest = "compute.elf", depths = [1e4, 1e6, 1e8]): Promise<void> {
  const kernel = join(ROOT, "guests/aarch64", guest);
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-"));
  const file = join(dir, "rec.bin");
  const rewindRows: { depth: number; bsMedianMs: number; bcMs: number }[] = [];
  let mainAddr: bigint;
  let measured: number[];
  try {
    const m = machine(kernel);
    const writer = RecordingWriter.create(file, { config: { board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 0 } });
    const rec = new MachineSession({ machine: m, mode: "record", record: new RecordingSink(writer, () => ({ icount: m.clock.icount, ticks: m.clock.ticks })) });
    let t0 = process.hrtime.bigint();
    await rec.cont();
    const total = m.clock.icount;
    console.log(`reverse debugging on ${guest}: recorded ${total.toLocaleString("en-US")} instructions in ${(ms(t0) / 1000).toFixed(1)} s`);

    const rm = machine(kernel);
    const session = new MachineSession({ machine: rm, mode: "replay", replay: replaySource(RecordingReader.open(file), file) });
    mainAddr = new Symbolizer(readElfSymbols(readFileSync(kernel))).lookup("_start")!.value;
    console.log("  depth (instructions)   seek there   bs median (10)   bc to _start    checkpoints");
    measured = depths.filter((d) => d < total);
    for (const depth of measured) {
      t0 = process.hrtime.bigint();
      await session.seek(depth);
      const seekMs = ms(t0);
      const bs: number[] = [];
      for (let i = 0; i < 10; i++) {
        t0 = process.hrtime.bigint();
        await session.reverseStep();
        bs.push(ms(t0));
      }
      session.addBreakpoint("hw", mainAddr, 4);
      t0 = process.hrtime.bigint();
      const ev = await session.reverseCont();
      const bcMs = ms(t0);
      session.removeBreakpoint("hw", mainAddr, 4);
      if (ev.kind !== "breakpoint") throw new Error(`bc ended with ${ev.kind}`);
      rewindRows.push({ depth, bsMedianMs: median(bs), bcMs });
      const st = session.checkpointStats()!;
      console.log(
        `  ${depth.toExponential(0).padStart(20)}   ${seekMs.toFixed(0).padStart(7)} ms   ${median(bs).toFixed(1).padStart(11)} ms   ${bcMs.toFixed(0).padStart(8)} ms   ${st.count} (${(st.bytes / 1048576).toFixed(1)} MiB)`,
      );
      await session.seek(depth); // back where we were, for the next depth
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // QEMU afterwards, not alongside: the machine has two cores and both emulators are single-threaded here.
  const missing = missingQemuTool();
  if (missing) {
    console.log(`  ${missing}: not installed: no comparison`);
    return;
  }
  try {
    const qemu = await benchQemuReverse(kernel, measured, mainAddr);
    if (qemu) printBeside(guest, rewindRows, qemu);
  } catch (err) {
    console.log(`  qemu: not measured: ${(err as Error).message}`);
  }
}

/** Rewind's and QEMU's bs/bc latencies at the same depths, with QEMU/Rewind ratios (> 1: Rewind is faster). */
function printBeside(guest: string, rewind: { depth: number; bsMedianMs: number; bcMs: number }[], qemu: QemuReverseResult): void {
  console.log(`reverse debugging on ${guest}, beside qemu-system-aarch64 ${qemu.version} (rr=replay, gdbstub; recorded in ${qemu.recordSeconds.toFixed(2)} s)`);
  console.log("  depth (instructions)   rewind bs    qemu bs   qemu/rewind   rewind bc    qemu bc   qemu/rewind   qemu reach (replay-break + c)");
  const f = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)).padStart(7) + " ms";
  const ratio = (q: number, r: number) => `${(q / r).toFixed(q / r < 10 ? 2 : 1)}×`.padStart(11);
  for (const r of rewind) {
    const q = qemu.rows.find((x) => x.depth === r.depth);
    const left = `  ${r.depth.toExponential(0).padStart(20)}   ${f(r.bsMedianMs)}`;
    if (!q) {
      console.log(`${left}   not measured                ${f(r.bcMs)}`);
      continue;
    }
    console.log(`${left} ${f(q.bsMedianMs)}   ${ratio(q.bsMedianMs, r.bsMedianMs)}  ${f(r.bcMs)} ${f(q.bcMs)}   ${ratio(q.bcMs, r.bcMs)}   ${f(q.reachMs)}`);
    for (const n of q.notes) console.log(`      qemu at ${r.depth.toExponential(0)}: ${n}`);
  }
  if (qemu.failed) console.log(`  qemu: stopped early: ${qemu.failed}`);
  console.log("  (bs: median of 10 reverse steps; bc: reverse continue to a hardware breakpoint at _start, icount 0)");
}

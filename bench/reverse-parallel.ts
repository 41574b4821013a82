// Reverse continue on several cores: the time to reverse-continue from the end of a recording to its start with
// a read watchpoint that never hits (the summaries cannot rule reads out, so every checkpoint interval is
// replayed), on the main thread alone and with 1..N scan workers beside it; then the same with a write
// watchpoint, which the written-page summaries answer without replaying. Prints numbers only.

import { join } from "node:path";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { createMachine } from "../src/boards/registry.js";
import { MachineSession } from "../src/session/session.js";
import { RecordingWriter } from "../src/replay/format-writer.js";
import { RecordingReader } from "../src/replay/format-reader.js";
import { RecordingSink, replaySource } from "../src/replay/recording.js";
import { readElfSymbols, Symbolizer } from "../src/boards/elf-symbols.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ParallelRow {
  watch: "read" | "write";
  workers: number;
  ms: number;
  intervals: number;
  onWorkers: number;
}

export async function benchReverseParallel(guest = "compute-small.elf"): Promise<ParallelRow[]> {
  const kernel = join(ROOT, "guests/aarch64", guest);
  const config = { ramSize: 128 << 20, icountShift: 7, kernel: { name: kernel, bytes: readFileSync(kernel) }, rtcBootSeconds: 0 };
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-"));
  const file = join(dir, "rec.bin");
  const rows: ParallelRow[] = [];
  try {
    const m = createMachine("virt", config);
    const writer = RecordingWriter.create(file, { config: { board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 0 } });
    const rec = new MachineSession({ machine: m, mode: "record", record: new RecordingSink(writer, () => ({ icount: m.clock.icount, ticks: m.clock.ticks })) });
    await rec.cont();
    const total = m.clock.icount;
    // A word the guest never writes: the watchpoint never hits, and reverse continue replays everything.
    const image = new Symbolizer(readElfSymbols(readFileSync(kernel)));
    const watched = image.lookup("_start")!.value;
    console.log(`reverse continue on ${availableParallelism()} cores, ${guest} (${total.toLocaleString("en-US")} instructions), watchpoint on _start that never hits, from the end:`);
    const max = Math.min(3, availableParallelism()); // one more than the spare cores, to show where it stops helping
    const runs: [ParallelRow["watch"], number][] = [];
    for (let workers = 0; workers <= max; workers++) runs.push(["read", workers]);
    runs.push(["write", 0]);
    for (const [watch, workers] of runs) {
      const session = new MachineSession({
        machine: createMachine("virt", config),
        mode: "replay",
        replay: replaySource(RecordingReader.open(file), file),
        replica: { board: "virt", config },
        scanWorkers: workers,
      });
      await session.cont();
      session.addWatchpoint(watch, watched, 4);
      // Once to start the workers and hand them their first (whole) RAM, then measured.
      await session.reverseCont();
      await session.seek(total);
      const before = session.reverseStats();
      const t0 = process.hrtime.bigint();
      const ev = await session.reverseCont();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ev.kind !== "replay-begin") throw new Error(`reverse continue stopped: ${JSON.stringify(ev, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
      const after = session.reverseStats();
      rows.push({ watch, workers, ms, intervals: after.replayed - before.replayed, onWorkers: after.onWorkers - before.onWorkers });
      await session.close();
    }
    const serial = rows[0].ms;
    console.log("  watch   workers   time        speedup   intervals replayed (on workers)");
    for (const r of rows)
      console.log(`  ${r.watch.padEnd(5)}   ${String(r.workers).padStart(7)}   ${(r.ms / 1000).toFixed(2).padStart(6)} s   ${(serial / r.ms).toFixed(2).padStart(6)}x   ${r.intervals} (${r.onWorkers})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReverseParallel(process.argv[2]);

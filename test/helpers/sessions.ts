// Building machines and sessions for guests in tests (record, replay) without the CLI.

import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { MachineSession } from "../../src/session/session.js";
import { RecordingWriter } from "../../src/replay/format-writer.js";
import { RecordingReader } from "../../src/replay/format-reader.js";
import { RecordingSink, replaySource } from "../../src/replay/recording.js";
import type { RecordingConfig } from "../../src/replay/format-types.js";
import type { EngineKind } from "../../src/boards/board.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const guestPath = (name: string) => join(ROOT, "guests/aarch64", name);
export const tempDir = (prefix = "rewind-test-") => mkdtempSync(join(tmpdir(), prefix));

export interface GuestMachine {
  machine: VirtMachine;
  output: () => string;
}

/**
 * A machine for a bundled guest. The fast engine compiles blocks after 8 jumps to them here (not the default
 * 20,000), so tests run most of a short guest as compiled code.
 */
export function newMachine(guest: string, shift = 7, engine?: EngineKind): GuestMachine {
  const bytes: number[] = [];
  const path = guestPath(guest);
  const machine = new VirtMachine({
    ramSize: 128 << 20,
    icountShift: shift,
    kernel: { name: path, bytes: readFileSync(path) },
    rtcBootSeconds: 1_700_000_000,
    serialOut: (b) => bytes.push(b),
    log: () => {},
    engine,
    jitThreshold: 8,
  });
  return { machine, output: () => Buffer.from(bytes).toString("latin1") };
}

function config(guest: string): RecordingConfig {
  return { board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 1_700_000_000, extra: { guest } };
}

export interface Recorded extends GuestMachine {
  session: MachineSession;
  writer: RecordingWriter;
}

export function recordSession(guest: string, file: string, opts: { digestInterval?: number; slice?: number; engine?: EngineKind } = {}): Recorded {
  const g = newMachine(guest, 7, opts.engine);
  const writer = RecordingWriter.create(file, { config: config(guest) });
  const session = new MachineSession({
    machine: g.machine,
    mode: "record",
    record: new RecordingSink(writer, () => ({ icount: g.machine.clock.icount, ticks: g.machine.clock.ticks })),
    digestInterval: opts.digestInterval,
    slice: opts.slice,
  });
  return { ...g, session, writer };
}

export function replaySession(
  guest: string,
  file: string,
  opts: { checkpointInterval?: number; slice?: number; engine?: EngineKind; scanWorkers?: number } = {},
): GuestMachine & { session: MachineSession } {
  const g = newMachine(guest, 7, opts.engine);
  const rec = RecordingReader.open(file);
  const path = guestPath(guest);
  const session = new MachineSession({
    machine: g.machine,
    mode: "replay",
    replay: replaySource(rec, file),
    checkpointInterval: opts.checkpointInterval,
    slice: opts.slice,
    // Reverse continue on worker threads only where a test asks for it (the CLI's sessions use them by default).
    replica: { board: "virt", config: { ramSize: 128 << 20, icountShift: 7, kernel: { name: path, bytes: readFileSync(path) }, rtcBootSeconds: 1_700_000_000, engine: opts.engine } },
    scanWorkers: opts.scanWorkers ?? 0,
  });
  return { ...g, session };
}

/** A small deterministic PRNG for reproducible "random" test inputs. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

// The determinism issue's own reproduction, on a real kernel: Debian's arm64 Linux boots (timer interrupts
// arriving while it computes) and is recorded; its replay must reach the same state at an icount however the
// way there is split — straight, with stops on the way (QMP replay-break does this), or by a seek back from
// further on through the checkpoints. Before the run loop moved to core, these three ended on different paths.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { MachineSession } from "../../src/session/session.js";
import { RecordingReader } from "../../src/replay/format-reader.js";
import { RecordingWriter } from "../../src/replay/format-writer.js";
import type { RecordingConfig } from "../../src/replay/format-types.js";
import { RecordingSink, replaySource } from "../../src/replay/recording.js";
import { ROOT, tempDir } from "../helpers/sessions.js";

const LINUX = process.env.REWIND_LINUX_KERNEL ?? join(ROOT, ".cache/kernels/vmlinuz-arm64");
const skip = existsSync(LINUX) ? false : "needs the Debian arm64 kernel: run scripts/fetch-debian-kernel.sh";
const RAM = 512 << 20;
const APPEND = "console=ttyAMA0 panic=-1";
const RECORDED = 260_000_000;
const TARGET = 240_000_123;
const STOPS = [20_000_017, 90_000_301, 150_004_999];

function machine(kernel: Uint8Array, console: number[]): VirtMachine {
  const m = new VirtMachine({
    ramSize: RAM,
    icountShift: 7,
    kernel: { name: LINUX, bytes: kernel },
    append: APPEND,
    rtcBootSeconds: 1_700_000_000,
    serialOut: (b) => console.push(b),
    log: () => {},
  });
  m.noReboot = true;
  return m;
}

test("Linux boot: straight, stopped on the way, and seeked back all reach the same state", { skip, timeout: 900_000 }, async () => {
  const kernel = readFileSync(LINUX);
  const file = join(tempDir(), "linux.rwr");
  const config: RecordingConfig = { board: "virt", cpu: "cortex-a53", ramSize: RAM, icountShift: 7, append: APPEND, drives: [], rtcBootSeconds: 1_700_000_000 };
  const recorded: number[] = [];
  const rm = machine(kernel, recorded);
  const writer = RecordingWriter.create(file, { config });
  const rec = new MachineSession({
    machine: rm,
    mode: "record",
    record: new RecordingSink(writer, () => ({ icount: rm.clock.icount, ticks: rm.clock.ticks })),
    digestInterval: 20_000_000,
  });
  assert.equal(await rec.runTo(RECORDED), undefined);
  rec.finishRecording("quit");
  assert.match(Buffer.from(recorded).toString("latin1"), /Booting Linux/);

  const replay = () => {
    const out: number[] = [];
    const m = machine(kernel, out);
    const recording = RecordingReader.open(file);
    return { m, out, s: new MachineSession({ machine: m, mode: "replay", replay: replaySource(recording, file) }) };
  };

  const straight = replay();
  assert.equal(await straight.s.runTo(TARGET), undefined);
  const expected = { icount: straight.s.icount(), pc: straight.m.pc(), digest: straight.s.digest() };
  assert.equal(expected.icount, TARGET);

  const stopped = replay();
  for (const at of STOPS) assert.equal(await stopped.s.runTo(at), undefined);
  assert.equal(await stopped.s.runTo(TARGET), undefined);
  assert.deepEqual({ icount: stopped.s.icount(), pc: stopped.m.pc(), digest: stopped.s.digest() }, expected);

  // On to the end of the recording (every digest mark checked on the way), then back by seek.
  await stopped.s.seek(RECORDED);
  await stopped.s.seek(TARGET);
  assert.deepEqual({ icount: stopped.s.icount(), pc: stopped.m.pc(), digest: stopped.s.digest() }, expected);
  await stopped.s.seek(RECORDED);
  assert.equal(stopped.s.digest(), rec.digest());
});

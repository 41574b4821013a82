// Determinism: recording and replaying a guest gives identical console output and identical machine states,
// every time; a tampered recording is reported as diverged at the right point.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { RecordingReader } from "../../src/replay/format-reader.js";
import { RecordingWriter } from "../../src/replay/format-writer.js";
import { EventKind } from "../../src/replay/format-types.js";
import { prng, recordSession, replaySession, tempDir } from "../helpers/sessions.js";

for (const guest of ["hello.elf", "ticks.elf", "buggy.elf", "compute-small.elf"]) {
  test(`${guest}: record then replay (twice) gives the same console bytes and final digest`, async () => {
    const file = join(tempDir(), "rec.bin");
    const rec = recordSession(guest, file, { digestInterval: 100_000 });
    const end = await rec.session.cont();
    assert.equal(end.kind, "poweroff");
    const recDigest = rec.session.digest();
    const recIcount = rec.session.icount();
    const recOutput = rec.output();
    assert.ok(recOutput.length > 0);

    const reading = RecordingReader.open(file);
    assert.equal(reading.truncated, false);
    assert.equal(reading.trailer?.finalIcount, recIcount);
    assert.equal(reading.trailer?.finalDigest, recDigest);
    assert.ok(reading.digests.length >= 1);

    for (let run = 0; run < 2; run++) {
      const rep = replaySession(guest, file);
      const ev = await rep.session.cont();
      assert.equal(ev.kind, "replay-end");
      assert.equal(rep.session.icount(), recIcount);
      assert.equal(rep.output(), recOutput);
      assert.equal(rep.session.digest(), recDigest);
    }
  });
}

/** Records echo.elf with lines typed at pseudo-random instruction counts. */
async function recordEcho(file: string, seed: number) {
  const rec = recordSession("echo.elf", file, { digestInterval: 2_000 });
  const rnd = prng(seed);
  const lines = ["first", "a somewhat longer line of input", "x", "quit"];
  for (const line of lines) {
    const target = rec.session.icount() + 500 + Math.floor(rnd() * 20_000);
    const r = await rec.session.runTo(target);
    assert.ok(r === undefined || r === "idle", `unexpected stop ${JSON.stringify(r)}`);
    rec.session.submitInput(EventKind.SerialRx, [...Buffer.from(line + "\n")].map((b) => Uint8Array.of(b)));
  }
  const end = await rec.session.cont();
  assert.equal(end.kind, "poweroff");
  return rec;
}

test("echo.elf: serial input typed at random moments replays byte-identically", async () => {
  const file = join(tempDir(), "echo.bin");
  const rec = await recordEcho(file, 42);
  assert.match(rec.output(), /3: X/);
  const events = RecordingReader.open(file).events;
  assert.equal(events.length, "first\na somewhat longer line of input\nx\nquit\n".length);

  const rep = replaySession("echo.elf", file);
  rep.session.submitInput(EventKind.SerialRx, [Uint8Array.of(65)]); // live input is ignored while replaying
  assert.equal((await rep.session.cont()).kind, "replay-end");
  assert.equal(rep.output(), rec.output());
  assert.equal(rep.session.digest(), rec.session.digest());
});

test("a recording with an altered input is reported as diverged at the first digest after it", async () => {
  const dir = tempDir();
  const file = join(dir, "echo.bin");
  await recordEcho(file, 7);
  const original = RecordingReader.open(file);
  const victim = 3;
  const events = original.events.map((e, i) => (i === victim ? { ...e, payload: Uint8Array.of(0x5a) } : e));
  const tampered = join(dir, "tampered.bin");
  const w = RecordingWriter.create(tampered, { config: original.header.config });
  // Same timeline as the original: events and digest marks merged in order.
  const items = [...events.map((e) => ({ at: e, ev: true })), ...original.digests.map((d) => ({ at: d, ev: false }))].sort(
    (a, b) => a.at.icount - b.at.icount || a.at.ticks - b.at.ticks || Number(a.ev) - Number(b.ev),
  );
  for (const it of items) it.ev ? w.addEvent(it.at as (typeof events)[number]) : w.addDigest(it.at as (typeof original.digests)[number]);
  w.finish(original.trailer!);

  const rep = replaySession("echo.elf", tampered);
  const ev = await rep.session.cont();
  assert.equal(ev.kind, "diverged");
  const firstMarkAfter = original.digests.find((d) => d.icount > events[victim].icount)!;
  assert.match((ev as { message: string }).message, new RegExp(`at icount ${firstMarkAfter.icount} \\(time ${firstMarkAfter.ticks}\\): `));
  // The report names the fields and the RAM regions that differ.
  assert.match((ev as { message: string }).message, /(pl011@9000000\.[a-zA-Z]+|ram@0x4[0-9a-f]{7}|cpu0\.[a-zA-Z]+)(, |$| differ)/);
});

test("a killed recorder leaves a temporary file that replays up to its last whole chunk", async () => {
  const dir = tempDir();
  const file = join(dir, "killed.bin");
  const rec = recordSession("ticks.elf", file, { digestInterval: 1_000 });
  await rec.session.runTo(3_000);
  rec.writer.flush({ icount: rec.session.icount(), ticks: rec.machine.clock.ticks });
  // No finish(): as if the process had been killed here.
  const reading = RecordingReader.open(rec.writer.tempPath);
  assert.equal(reading.truncated, true);
  assert.equal(reading.validUpTo.icount, 3_000);
  const rep = replaySession("ticks.elf", rec.writer.tempPath);
  assert.equal((await rep.session.cont()).kind, "replay-end");
  assert.equal(rep.session.icount(), 3_000);
  assert.equal(rep.session.digest(), rec.session.digest());
  rec.writer.abort();
});

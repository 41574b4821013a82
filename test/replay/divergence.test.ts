// Divergence is never missed and never hangs (DESIGN.md §2, §4): a digest mark reached with another virtual
// time, a mark passed without stopping on it, and an idle guest whose next recorded input lies where it can
// never get — each is a report naming the position, and the replay stays usable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { RecordingReader, type Recording } from "../../src/replay/format-reader.js";
import { RecordingWriter } from "../../src/replay/format-writer.js";
import { EventKind } from "../../src/replay/format-types.js";
import type { LoggedInput } from "../../src/replay/input.js";
import { recordSession, replaySession, tempDir } from "../helpers/sessions.js";

type Mark = Recording["digests"][number];

/** Writes a copy of a recording with its events and marks changed by the callbacks. */
function rewrite(
  original: Recording,
  file: string,
  edit: { event?: (e: LoggedInput, i: number) => LoggedInput; mark?: (m: Mark, i: number) => Mark; finalTicks?: number },
): void {
  const events = original.events.map((e, i) => edit.event?.(e, i) ?? e);
  const marks = original.digests.map((m, i) => edit.mark?.(m, i) ?? m);
  const w = RecordingWriter.create(file, { config: original.header.config });
  const items = [...events.map((at) => ({ at, ev: true })), ...marks.map((at) => ({ at, ev: false }))].sort(
    (a, b) => a.at.icount - b.at.icount || a.at.ticks - b.at.ticks || Number(a.ev) - Number(b.ev),
  );
  for (const it of items) it.ev ? w.addEvent(it.at as LoggedInput) : w.addDigest(it.at as Mark);
  w.finish({ ...original.trailer!, finalTicks: edit.finalTicks ?? original.trailer!.finalTicks });
}

async function recordEcho(file: string): Promise<void> {
  const rec = recordSession("echo.elf", file, { digestInterval: 3_000 });
  for (const line of ["one", "two", "quit"]) {
    const r = await rec.session.runTo(rec.session.icount() + 20_000);
    assert.ok(r === undefined || r === "idle");
    rec.session.submitInput(EventKind.SerialRx, [...Buffer.from(line + "\n")].map((b) => Uint8Array.of(b)));
  }
  assert.equal((await rec.session.cont()).kind, "poweroff");
}

async function recordBusy(file: string): Promise<void> {
  const rec = recordSession("busy.elf", file, { digestInterval: 40_000 });
  assert.equal((await rec.session.cont()).kind, "poweroff");
}

test("an input recorded at a time the idle guest cannot reach is a divergence, not a hang", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, "echo.bin");
  await recordEcho(file);
  const original = RecordingReader.open(file);
  const bad = join(dir, "bad.bin");
  // From the first byte on, everything claims to happen 1000 ticks later: the first byte at the same icount as
  // recorded, where the guest sleeps with no timer armed.
  const e0 = original.events[0];
  const later = <T extends { icount: number; ticks: number }>(x: T): T => (x.icount >= e0.icount ? { ...x, ticks: x.ticks + 1000 } : x);
  rewrite(original, bad, { event: later, mark: later, finalTicks: original.trailer!.finalTicks + 1000 });
  const rep = replaySession("echo.elf", bad);
  const ev = await rep.session.cont();
  assert.equal(ev.kind, "diverged");
  assert.match((ev as { message: string }).message, new RegExp(`waits for an interrupt at icount ${e0.icount} .*next input is at icount ${e0.icount} \\(time ${e0.ticks + 1000}\\)`));
  // Still responsive: a seek back works.
  await rep.session.seek(0);
  assert.equal(rep.session.icount(), 0);
});

for (const delta of [1, -1]) {
  test(`a digest mark whose virtual time differs by ${delta} is reported, naming the position`, async () => {
    const dir = tempDir();
    const file = join(dir, "busy.bin");
    await recordBusy(file);
    const original = RecordingReader.open(file);
    assert.ok(original.digests.length >= 3);
    const bad = join(dir, "bad.bin");
    rewrite(original, bad, { mark: (m, i) => (i === 2 ? { ...m, ticks: m.ticks + delta } : m) });
    const rep = replaySession("busy.elf", bad);
    const ev = await rep.session.cont();
    assert.equal(ev.kind, "diverged");
    const m = original.digests[2];
    assert.match((ev as { message: string }).message, new RegExp(`at icount ${m.icount} \\(time ${m.ticks + delta}\\): it is now at icount ${m.icount + (delta > 0 ? 1 : 0)} `));
    assert.match((ev as { message: string }).message, delta > 0 ? /never stopped there/ : /clock \(virtual time\) differs/);
  });
}

test("a digest mark that does not match the state names what differs", async () => {
  const dir = tempDir();
  const file = join(dir, "busy.bin");
  await recordBusy(file);
  const original = RecordingReader.open(file);
  const bad = join(dir, "bad.bin");
  rewrite(original, bad, { mark: (m, i) => (i === 1 ? { ...m, digest: "0".repeat(64), parts: { ...m.parts, "cpu0.xlo": "0000000000000000" } } : m) });
  const rep = replaySession("busy.elf", bad);
  const ev = await rep.session.cont();
  assert.equal(ev.kind, "diverged");
  assert.match((ev as { message: string }).message, new RegExp(`at icount ${original.digests[1].icount} \\(time \\d+\\): cpu0\\.xlo differs`));
});

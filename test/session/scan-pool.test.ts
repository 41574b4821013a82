// Reverse continue on worker threads (session/scan-pool.ts) gives the serial scan's answers: the same stop, at
// the same position, in the same state, for breakpoints and watchpoints that hit often, rarely and never, on a
// guest whose timer interrupts arrive while it computes, and over many checkpoint intervals (so workers are
// handed checkpoints in every order: whole RAM, then page differences both ways in time).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Symbolizer, readElfSymbols } from "../../src/boards/elf-symbols.js";
import type { MachineSession } from "../../src/session/session.js";
import { guestPath, prng, recordSession, replaySession, tempDir } from "../helpers/sessions.js";

const GUEST = "busy.elf";

const symbols = new Symbolizer(readElfSymbols(readFileSync(guestPath(GUEST))));

function symbol(name: string): bigint {
  const s = symbols.lookup(name);
  assert.ok(s, `${GUEST} has no ${name}`);
  return s.value;
}

type Points = (s: MachineSession) => void;

/** One recording of the guest to the end, shared by the tests. */
let recording: Promise<{ file: string; end: number }> | undefined;
function recorded(): Promise<{ file: string; end: number }> {
  return (recording ??= (async () => {
    const file = join(tempDir(), "busy.rec");
    const rec = recordSession(GUEST, file);
    assert.equal((await rec.session.cont()).kind, "poweroff");
    return { file, end: rec.session.icount() };
  })());
}

async function stops(s: MachineSession, from: number, points: Points, count: number): Promise<string[]> {
  await s.seek(from);
  s.removeAllBreakpoints();
  points(s);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const ev = await s.reverseCont();
    out.push(`${JSON.stringify(ev, (_, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))} at ${s.icount()} ${s.digest()}`);
    if (ev.kind === "replay-begin") break;
  }
  return out;
}

test("reverse continue on worker threads stops where the serial scan stops (busy guest, breakpoints and watchpoints)", async (t) => {
  const { file, end } = await recorded();
  const serial = replaySession(GUEST, file, { checkpointInterval: 10_000 });
  const parallel = replaySession(GUEST, file, { checkpointInterval: 10_000, scanWorkers: 2 });
  t.after(() => parallel.session.close());
  for (const r of [serial, parallel]) assert.equal((await r.session.cont()).kind, "replay-end");

  const timerIrq = symbol("timer_irq");
  const iterations = symbol("iterations");
  const rxCount = symbol("rx_count");
  const handlers = symbol("handlers");
  const cases: [string, Points][] = [
    // Hit at every tick: each reverse continue goes back one tick.
    ["breakpoint on timer_irq", (s) => s.addBreakpoint("hw", timerIrq, 4)],
    // Written all the time: the last write is in the newest interval.
    ["write watchpoint on iterations", (s) => s.addWatchpoint("write", iterations, 4)],
    // Never written (no serial input): every interval back to the start is replayed.
    ["write watchpoint on rx_count", (s) => s.addWatchpoint("write", rxCount, 4)],
    // Read by the interrupt handler only.
    ["read watchpoint on handlers and a breakpoint on main", (s) => {
      s.addWatchpoint("read", handlers, 8);
      s.addBreakpoint("hw", symbol("main"), 4);
    }],
  ];
  const next = prng(0x5ca1);
  for (const [what, points] of cases) {
    for (const from of [end, 40_000 + Math.floor(next() * (end - 40_000))]) {
      const want = await stops(serial.session, from, points, 4);
      const got = await stops(parallel.session, from, points, 4);
      assert.deepEqual(got, want, `${what}, from icount ${from}`);
    }
  }
  const stats = parallel.session.reverseStats();
  assert.equal(stats.workerFailure, undefined);
  assert.ok(stats.onWorkers > 20, `only ${stats.onWorkers} intervals replayed on workers: ${JSON.stringify(stats)}`);
  assert.equal(serial.session.reverseStats().onWorkers, 0);
});

test("a scan worker that fails leaves reverse continue to the main thread, with the same answer", async (t) => {
  const { file, end } = await recorded();
  const serial = replaySession(GUEST, file, { checkpointInterval: 20_000 });
  const broken = replaySession(GUEST, file, { checkpointInterval: 20_000, scanWorkers: 1 });
  t.after(() => broken.session.close());
  // The worker cannot build this machine: it fails at its first job.
  (broken.session as unknown as { timeline: { pool: { spec: { board: string } } } }).timeline.pool.spec.board = "no-such-board";
  for (const r of [serial, broken]) assert.equal((await r.session.cont()).kind, "replay-end");
  const points: Points = (s) => s.addWatchpoint("write", symbol("rx_count"), 4);
  assert.deepEqual(await stops(broken.session, end, points, 1), await stops(serial.session, end, points, 1));
  assert.match(broken.session.reverseStats().workerFailure ?? "", /no-such-board|board/);
});

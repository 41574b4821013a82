// Long operations run in slices that yield to the host (DESIGN.md §2): a seek, a reverse continue and a
// forward run across a recording can be interrupted from the event loop (GDB ^C, QMP stop) and stop at a
// consistent position — a state the forward replay passed through. No assertion depends on wall-clock time:
// the interruption comes after a counted number of event-loop turns.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SessionError } from "../../src/session/api.js";
import { recordSession, replaySession, tempDir } from "../helpers/sessions.js";

const SLICE = 20_000;
let file = "";
let finalIcount = 0;

async function recording(): Promise<string> {
  if (file) return file;
  file = join(tempDir(), "compute-small.bin");
  const rec = recordSession("compute-small.elf", file, { digestInterval: 1_000_000 });
  assert.equal((await rec.session.cont()).kind, "poweroff");
  finalIcount = rec.session.icount();
  return file;
}

/** Calls `fn` after `turns` turns of the event loop. */
function afterTurns(turns: number, fn: () => void): void {
  if (turns === 0) return fn();
  setImmediate(() => afterTurns(turns - 1, fn));
}

/** The state at `icount` as a fresh replay reaches it going forward. */
async function forwardDigest(icount: number): Promise<string> {
  const ref = replaySession("compute-small.elf", await recording());
  await ref.session.runTo(icount);
  assert.equal(ref.session.icount(), icount);
  return ref.session.digest();
}

test("a long seek yields to the event loop and stops on pause() at a consistent position", async () => {
  const rep = replaySession("compute-small.elf", await recording(), { slice: SLICE });
  let during: string | undefined;
  afterTurns(5, () => {
    during = rep.session.activity(); // what a progress line shows meanwhile
    rep.session.pause();
  });
  await assert.rejects(rep.session.seek(finalIcount), (e: unknown) => e instanceof SessionError && /interrupted at icount \d+/.test(e.message));
  assert.equal(during, `seeking to icount ${finalIcount.toLocaleString("en-US")}`);
  assert.equal(rep.session.activity(), undefined);
  const at = rep.session.icount();
  assert.ok(at > 0 && at < finalIcount, `stopped at ${at}`);
  assert.equal(rep.session.digest(), await forwardDigest(at));
  // And the session goes on from there.
  await rep.session.seek(finalIcount);
  assert.equal(rep.session.icount(), finalIcount);
});

test("reverse continue over the whole recording stops on pause() and stays usable", async () => {
  const rep = replaySession("compute-small.elf", await recording(), { slice: SLICE });
  await rep.session.seek(finalIcount);
  // A watchpoint that is never hit: the scan covers the whole recording (a breakpoint on code that never runs
  // would be answered from the execution summaries without replaying anything).
  rep.session.addWatchpoint("write", 0x1000n, 4);
  let during: string | undefined;
  afterTurns(5, () => {
    during = rep.session.activity();
    rep.session.pause();
  });
  const ev = await rep.session.reverseCont();
  assert.equal(ev.kind, "interrupted");
  assert.match(during ?? "", /^reverse continue: searching icount [\d,]+\.\.[\d,]+ \(from [\d,]+\)$/);
  assert.equal(rep.session.runState(), "paused");
  const at = rep.session.icount();
  assert.equal(rep.session.digest(), await forwardDigest(at));
  rep.session.removeAllBreakpoints();
  assert.equal((await rep.session.reverseStep()).kind, at === 0 ? "replay-begin" : "step");
});

test("a forward cont across the recording stops on pause()", async () => {
  const rep = replaySession("compute-small.elf", await recording(), { slice: SLICE });
  afterTurns(3, () => rep.session.pause());
  const ev = await rep.session.cont();
  assert.equal(ev.kind, "interrupted");
  const at = rep.session.icount();
  assert.ok(at < finalIcount);
  assert.equal(rep.session.digest(), await forwardDigest(at));
});

// Reverse continue with execution summaries: intervals whose segments never ran code on a breakpoint's page are
// skipped, and the answer is still the forward run's last hit before the starting point. The oracle is a
// forward replay that continues from breakpoint to breakpoint and lists every stop.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { atIcount } from "../../src/core/position.js";
import { newMachine, prng, recordSession, replaySession, tempDir } from "../helpers/sessions.js";

/** Breakpoints at the PCs of the interpreter's run at these icounts. */
function pcsAt(guest: string, icounts: number[]): bigint[] {
  const m = newMachine(guest, 7, "interp").machine;
  return icounts.map((at) => {
    assert.equal(m.run(atIcount(at)), "limit");
    return m.debug.pc();
  });
}

async function check(guest: string, pcsFor: (end: number) => bigint[], expectSkips: boolean): Promise<void> {
  const file = join(tempDir(), "rec.bin");
  const rec = recordSession(guest, file);
  assert.equal((await rec.session.cont()).kind, "poweroff");
  const end = rec.session.icount();
  const pcs = pcsFor(end);

  // The oracle: every breakpoint stop of a forward replay.
  const fwd = replaySession(guest, file);
  for (const pc of pcs) fwd.session.addBreakpoint("hw", pc, 4);
  const hits: number[] = [];
  if (fwd.session.icount() === 0 && pcs.includes(fwd.machine.debug.pc())) hits.push(0);
  for (;;) {
    const ev = await fwd.session.cont();
    if (ev.kind !== "breakpoint") break;
    hits.push(fwd.session.icount());
  }
  assert.ok(hits.length > 0);

  const rep = replaySession(guest, file, { checkpointInterval: 50_000 });
  assert.equal((await rep.session.cont()).kind, "replay-end");
  for (const pc of pcs) rep.session.addBreakpoint("hw", pc, 4);
  const rand = prng(pcs.length);
  // From the end, then from random places: back to the previous hit (or the beginning).
  for (let i = 0; i < 6; i++) {
    const from = i === 0 ? rep.session.icount() : Math.floor(rand() * end);
    if (i > 0) await rep.session.seek(from);
    const ev = await rep.session.reverseCont();
    const before = hits.filter((h) => h < from);
    if (before.length === 0) assert.equal(ev.kind, "replay-begin", `from ${from}`);
    else {
      assert.equal(ev.kind, "breakpoint", `from ${from}`);
      assert.equal(rep.session.icount(), before[before.length - 1], `from ${from}`);
    }
  }
  const stats = rep.session.reverseStats();
  if (expectSkips) assert.ok(stats.skipped > 10 * stats.replayed, `breakpoint on cold code: ${JSON.stringify(stats)}`);
  else assert.ok(stats.replayed > 0);
}

test("reverse continue to a breakpoint on cold code skips the intervals that never ran its page", async () => {
  // compute-small takes no interrupts: the page of _start (and the vectors) runs only at the beginning.
  await check("compute-small.elf", () => pcsAt("compute-small.elf", [0, 40]), true);
});

test("reverse continue with breakpoints on hot and cold code lands on the forward run's last hit", async () => {
  await check("busy-gic.elf", (end) => pcsAt("busy-gic.elf", [0, 300, 2_000, Math.floor(end * 0.8)]), false);
});

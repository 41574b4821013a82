// Reverse continue with a write watchpoint skips the checkpoint intervals that wrote none of the physical pages
// the watched range maps to, and the answer is still the forward run's hit. remap.elf runs with the MMU on and
// moves the watched virtual page between physical frames (a level 3 descriptor rewritten, then TLBI), switches
// TTBR0 between two table sets, writes the frames through their 1:1 addresses and, now and then, the watched
// page's other word from its interrupt handler: a summary that followed physical pages without the translation,
// or missed a table write or a TTBR switch, would skip an interval holding a hit. The oracle is a forward replay
// that continues from watchpoint stop to watchpoint stop; reverse continue walks back through every hit. (A
// forward watchpoint stops before the store, a reverse one just after it, as on QEMU: docs/fast-tier.md.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { prng, recordSession, replaySession, tempDir } from "../helpers/sessions.js";
import type { MachineSession } from "../../src/session/session.js";

const GUEST = "remap.elf";
/** remap.c's ALIAS_VA: its first word is written in about a quarter of the episodes. */
const ALIAS_VA = 0x8000_0000n;

async function forwardHits(session: MachineSession, watch: (s: MachineSession) => void): Promise<number[]> {
  watch(session);
  const hits: number[] = [];
  for (;;) {
    const ev = await session.cont();
    if (ev.kind !== "watchpoint") break;
    hits.push(session.icount());
  }
  return hits;
}

for (const [what, watch] of [
  ["the watched word", (s: MachineSession) => s.addWatchpoint("write", ALIAS_VA, 8)],
  // The whole page (the handler's word too) and into the next, which is not mapped.
  ["a range over the page and into the next", (s: MachineSession) => s.addWatchpoint("write", ALIAS_VA, 0x1008)],
] as const) {
  test(`reverse continue with a write watchpoint on ${what} behind an MMU that moves it lands on every forward hit, skipping intervals`, async () => {
    const file = join(tempDir(), "rec.bin");
    const rec = recordSession(GUEST, file);
    assert.equal((await rec.session.cont()).kind, "poweroff");
    const end = rec.session.icount();

    const hits = await forwardHits(replaySession(GUEST, file).session, watch);
    assert.ok(hits.length >= 15, `only ${hits.length} forward hits`);

    const rep = replaySession(GUEST, file, { checkpointInterval: 20_000 });
    assert.equal((await rep.session.cont()).kind, "replay-end");
    watch(rep.session);
    // From the end back through every hit, one reverse continue each, to the beginning.
    for (let i = hits.length - 1; i >= -1; i--) {
      const ev = await rep.session.reverseCont();
      if (i < 0) assert.equal(ev.kind, "replay-begin");
      else {
        assert.equal(ev.kind, "watchpoint", `hit ${i}`);
        assert.equal(rep.session.icount(), hits[i] + 1, `hit ${i}`);
      }
    }
    // From random places (not on a hit): back to the last hit before.
    const rand = prng(hits.length);
    for (let k = 0; k < 8; k++) {
      const from = 1 + Math.floor(rand() * (end - 1));
      if (hits.includes(from - 1)) continue;
      await rep.session.seek(from);
      const ev = await rep.session.reverseCont();
      const before = hits.filter((h) => h + 1 < from);
      if (before.length === 0) assert.equal(ev.kind, "replay-begin", `from ${from}`);
      else {
        assert.equal(ev.kind, "watchpoint", `from ${from}`);
        assert.equal(rep.session.icount(), before[before.length - 1] + 1, `from ${from}`);
      }
    }
    const stats = rep.session.reverseStats();
    assert.ok(stats.skipped > stats.replayed / 4, `too few intervals skipped: ${JSON.stringify(stats)}`);
  });
}

test("a read watchpoint is never answered from the write summaries: every interval is replayed", async () => {
  const file = join(tempDir(), "rec.bin");
  const rec = recordSession(GUEST, file);
  assert.equal((await rec.session.cont()).kind, "poweroff");
  const rep = replaySession(GUEST, file, { checkpointInterval: 20_000 });
  assert.equal((await rep.session.cont()).kind, "replay-end");
  rep.session.addWatchpoint("read", ALIAS_VA, 8); // remap.c never reads it
  assert.equal((await rep.session.reverseCont()).kind, "replay-begin");
  assert.equal(rep.session.reverseStats().skipped, 0);
});

// The block engine against the interpreter on the bundled guests: the same guest run by both tiers must pass
// through the same whole-machine states (digest of CPU, devices and RAM) at the same positions, print the
// same output and stop for the same reason, whatever the chunking of the compiled run; a recording made with
// one tier replays with the other to the same final digest. The workloads include guests whose interrupts
// arrive while they compute (busy, busy-gic), so a compiled block that ran past a deadline or a newly
// pending interrupt would show; remap.elf runs with the MMU on and rewrites its page tables.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { atIcount } from "../../src/core/position.js";
import { machineDigest } from "../../src/core/machine.js";
import type { EngineKind } from "../../src/boards/board.js";
import type { BlockEngine } from "../../src/arch/aarch64/jit/block-engine.js";
import { newMachine, prng, recordSession, replaySession, tempDir } from "../helpers/sessions.js";

const GUESTS = ["hello.elf", "compute-small.elf", "busy.elf", "busy-gic.elf", "remap.elf", "ticks.elf", "buggy.elf"];
const LIMIT = 20_000_000;

for (const guest of GUESTS) {
  test(`${guest}: compiled blocks pass through the interpreter's states`, () => {
    // The interpreter's run, stopped at a few random positions to take digests.
    const ref = newMachine(guest, 7, "interp");
    const rand = prng(guest.length * 7919);
    const probe = ref.machine;
    let reason = probe.run(atIcount(LIMIT));
    const end = probe.clock.icount;
    assert.notEqual(reason, "limit", `${guest} did not finish within ${LIMIT} instructions`);
    const positions = [...new Set(Array.from({ length: 4 }, () => 1 + Math.floor(rand() * (end - 1))))].sort((a, b) => a - b);
    const digests = new Map<number, string>();
    const again = newMachine(guest, 7, "interp");
    for (const p of positions) {
      assert.equal(again.machine.run(atIcount(p)), "limit");
      digests.set(p, machineDigest(again.machine));
    }
    reason = again.machine.run(atIcount(LIMIT));
    const finalDigest = machineDigest(again.machine);

    // The compiled run, in random chunks, stopping at the same positions.
    const fast = newMachine(guest, 7, "fast");
    const m = fast.machine;
    let fastReason: string = "limit";
    for (const p of [...positions, LIMIT]) {
      while (m.clock.icount < p) {
        const to = Math.min(p, m.clock.icount + 1 + Math.floor(rand() * 50_000));
        fastReason = m.run(atIcount(to));
        if (fastReason !== "limit") break;
      }
      if (fastReason !== "limit") break;
      assert.equal(machineDigest(m), digests.get(p), `${guest}: state at icount ${p}`);
    }
    assert.equal(fastReason, reason);
    assert.equal(m.clock.icount, end);
    assert.equal(fast.output(), again.output());
    assert.equal(machineDigest(m), finalDigest);
    const stats = (m.engine as BlockEngine).stats;
    // Short guests run much of their code once (interpreted until hot); longer ones run mostly compiled.
    if (end > 100_000) assert.ok(stats.compiledSteps > stats.interpretedSteps, `${guest}: most steps should run compiled (${JSON.stringify(stats)})`);
    else assert.ok(stats.compiledSteps > 0, `${guest}: nothing ran compiled`);
  });
}

for (const [recordWith, replayWith] of [
  ["fast", "interp"],
  ["interp", "fast"],
] as [EngineKind, EngineKind][]) {
  test(`busy-gic.elf recorded with the ${recordWith} engine replays with the ${replayWith} engine to the same state`, async () => {
    const file = join(tempDir(), "rec.bin");
    const rec = recordSession("busy-gic.elf", file, { engine: recordWith, digestInterval: 50_000 });
    assert.equal((await rec.session.cont()).kind, "poweroff");
    const digest = rec.session.digest();
    rec.session.finishRecording("poweroff");
    const rep = replaySession("busy-gic.elf", file, { engine: replayWith });
    assert.equal((await rep.session.cont()).kind, "replay-end");
    assert.equal(rep.session.digest(), digest);
    assert.equal(rep.output(), rec.output());
  });
}

test("breakpoints inside hot compiled blocks stop both tiers at the same positions", () => {
  // Breakpoints where the guest spends its time: PCs sampled from the interpreter's run (mostly in the middle of
  // blocks that the fast tier has compiled by then).
  const sampler = newMachine("compute-small.elf", 7, "interp").machine;
  const rand = prng(4242);
  const pcs: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    assert.equal(sampler.run(atIcount(sampler.clock.icount + 200_000 + Math.floor(rand() * 400_000))), "limit");
    pcs.push(sampler.debug.pc());
  }
  const stops = (engine: EngineKind) => {
    const m = newMachine("compute-small.elf", 7, engine).machine;
    // Warm up without breakpoints, so the blocks around them are compiled.
    assert.equal(m.run(atIcount(500_000)), "limit");
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      m.debug.setBreakpoints(pcs);
      const reason = m.run(atIcount(LIMIT));
      if (reason !== "debug") {
        seen.push(reason);
        break;
      }
      seen.push(`${m.clock.icount}@${m.debug.pc().toString(16)}`);
      m.debug.setBreakpoints(null); // step over it
      assert.equal(m.run(atIcount(m.clock.icount + 1)), "limit");
    }
    return { seen, digest: machineDigest(m), stats: (m.engine as Partial<BlockEngine>).stats };
  };
  const a = stops("interp");
  const f = stops("fast");
  assert.ok(a.seen.length >= 20, `only ${a.seen.length} stops`);
  assert.deepEqual(f.seen, a.seen);
  assert.equal(f.digest, a.digest);
  assert.ok(f.stats!.compiledSteps > f.stats!.interpretedSteps);
});

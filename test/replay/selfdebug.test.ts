// Determinism of the guest's own debug exceptions (guests/aarch64/selfdebug.elf: hardware breakpoints,
// watchpoints and software step from EL1 and EL0): every run chunking, with the interpreter and with the fast
// tier (which must hand every step to the interpreter while they are armed), passes through the single-stepped
// run's states; a recording made with one engine replays with the other to the same digest; seeks restore
// checkpoints taken between an ERET with SPSR.SS = 1 and the stepped instruction (PSTATE.SS is saved state).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { atIcount } from "../../src/core/position.js";
import { loadMachine, machineDigest, saveMachine } from "../../src/core/machine.js";
import type { EngineKind } from "../../src/boards/board.js";
import type { VirtMachine } from "../../src/boards/virt/virt.js";
import type { BlockEngine } from "../../src/arch/aarch64/jit/block-engine.js";
import { newMachine, recordSession, replaySession, tempDir } from "../helpers/sessions.js";
import { PROPERTY_SCALE, runInChunks, SEED_OFFSET } from "../helpers/properties.js";

const GUEST = "selfdebug.elf";

/** Time, PC, registers, PSTATE (with SS) and the exception registers the debug events write. */
function fingerprint(m: VirtMachine): string {
  const c = m.cpu;
  const regs = new Uint8Array(c.xlo.buffer, c.xlo.byteOffset, 128).toString() + new Uint8Array(c.xhi.buffer, c.xhi.byteOffset, 128).toString();
  const s = c.sys;
  return `${m.clock.ticks}:${c.pcHi >>> 0}:${c.pcLo >>> 0}:${crc32(regs)}:${c.pstate}:${s.esrEl1}:${s.elrEl1Lo}:${s.farEl1Lo}:${s.spsrEl1}:${s.mdscr}`;
}

interface Reference {
  fingerprints: string[];
  /** Boundaries where PSTATE.SS = 1: right after an ERET that starts a step. */
  ssPositions: number[];
  end: number;
  digest: string;
  output: string;
}

let reference: Reference | undefined;

function singleStepped(): Reference {
  if (reference) return reference;
  const g = newMachine(GUEST, 7, "interp");
  const m = g.machine;
  const fingerprints: string[] = [];
  const ssPositions: number[] = [];
  for (;;) {
    fingerprints.push(fingerprint(m));
    if (m.cpu.ss === 1) ssPositions.push(m.clock.icount);
    const reason = m.run(atIcount(m.clock.icount + 1));
    if (reason === "poweroff") break;
    assert.equal(reason, "limit");
  }
  reference = { fingerprints, ssPositions, end: m.clock.icount, digest: machineDigest(m), output: g.output() };
  return reference;
}

test(`${GUEST}: the guest takes its debug exceptions (steps with PSTATE.SS = 1 seen)`, () => {
  const ref = singleStepped();
  assert.match(ref.output, /ec 0x31 iss 0x0000022/);
  assert.match(ref.output, /ec 0x34 iss 0x0000062/);
  assert.match(ref.output, /ec 0x32 iss 0x1000062/);
  assert.match(ref.output, /\ndone\r?\n$/);
  assert.ok(ref.ssPositions.length >= 20, `${ref.ssPositions.length} stepped instructions`);
});

for (const engine of ["interp", "fast"] as EngineKind[]) {
  test(`${GUEST}: random run chunkings with the ${engine} engine reach the single-stepped states`, () => {
    const ref = singleStepped();
    let runs = 0;
    let compiled = 0;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 10 }), (chunks) => {
        runs++;
        const g = newMachine(GUEST, 7, engine);
        const m = g.machine;
        runInChunks(m, chunks, (i) => assert.equal(fingerprint(m), ref.fingerprints[m.clock.icount], `after run ${i} at icount ${m.clock.icount}`));
        assert.equal(m.clock.icount, ref.end);
        assert.equal(g.output(), ref.output);
        assert.equal(machineDigest(m), ref.digest);
        if (engine === "fast") compiled += (m.engine as BlockEngine).stats.compiledSteps;
      }),
      { numRuns: 6 * PROPERTY_SCALE, seed: 0x5d5d + SEED_OFFSET },
    );
    assert.equal(runs, 6 * PROPERTY_SCALE);
    if (engine === "fast") assert.ok(compiled > 0, "the fast tier ran compiled code between the tests");
  });
}

test(`${GUEST}: a saved state between an ERET with SPSR.SS = 1 and the stepped instruction resumes identically`, () => {
  const ref = singleStepped();
  for (const engine of ["interp", "fast"] as EngineKind[]) {
    for (const at of [ref.ssPositions[0], ref.ssPositions[ref.ssPositions.length - 1]]) {
      const a = newMachine(GUEST, 7, engine);
      assert.equal(a.machine.run(atIcount(at)), "limit");
      assert.equal(a.machine.cpu.ss, 1);
      const saved = saveMachine(a.machine);
      const b = newMachine(GUEST, 7, engine);
      loadMachine(b.machine, saved);
      assert.equal(b.machine.cpu.ss, 1);
      assert.equal(b.machine.run(atIcount(at + 1)), "limit");
      assert.equal(fingerprint(b.machine), ref.fingerprints[at + 1], `${engine}: the step after ${at}`);
      assert.equal(b.machine.run(atIcount(ref.end + 10)), "poweroff");
      assert.equal(machineDigest(b.machine), ref.digest);
    }
  }
});

for (const [recordWith, replayWith] of [
  ["fast", "interp"],
  ["interp", "fast"],
] as [EngineKind, EngineKind][]) {
  test(`${GUEST} recorded with the ${recordWith} engine replays with the ${replayWith} engine; seeks land on stepped states`, async () => {
    const ref = singleStepped();
    const file = join(tempDir(), "rec.bin");
    const rec = recordSession(GUEST, file, { engine: recordWith, digestInterval: 20_000 });
    assert.equal((await rec.session.cont()).kind, "poweroff");
    const digest = rec.session.digest();
    rec.session.finishRecording("poweroff");
    assert.equal(rec.output(), ref.output);

    const rep = replaySession(GUEST, file, { engine: replayWith, checkpointInterval: 3_000 });
    try {
      assert.equal((await rep.session.cont()).kind, "replay-end");
      assert.equal(rep.session.digest(), digest);
      assert.equal(rep.output(), rec.output());
      // Back to boundaries with PSTATE.SS = 1 (restored from a checkpoint and run forward) and on from there.
      const picks = [ref.ssPositions[ref.ssPositions.length - 1], ref.ssPositions[0], ref.ssPositions[ref.ssPositions.length >> 1]];
      for (const at of picks) {
        await rep.session.seek(at);
        assert.equal(rep.machine.cpu.ss, 1, `PSTATE.SS at icount ${at}`);
        assert.equal(fingerprint(rep.machine), ref.fingerprints[at], `seek ${at}`);
        await rep.session.step();
        assert.equal(fingerprint(rep.machine), ref.fingerprints[at + 1], `step after ${at}`);
        await rep.session.reverseStep();
        assert.equal(fingerprint(rep.machine), ref.fingerprints[at], `reverse step to ${at}`);
      }
      await rep.session.seek(ref.end);
      assert.equal(rep.session.digest(), digest);
    } finally {
      await rep.session.close();
    }
  });
}

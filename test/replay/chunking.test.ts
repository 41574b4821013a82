// Chunking independence (DESIGN.md §2): the state after N steps is a pure function of the initial state and the
// inputs, whatever way the host splits the run — run sizes, slices, digest and checkpoint spacing, seeks, reverse
// steps and reverse continues. The workloads are guests whose interrupts arrive while they compute (busy.elf:
// a timer re-armed with TVAL in its handler; busy-gic.elf: interrupts made pending by MMIO and MSR writes),
// where a burst that ignores a deadline armed inside it takes the interrupt at another instruction. The oracle
// for every path is the run that single-steps.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { atIcount } from "../../src/core/position.js";
import { machineDigest } from "../../src/core/machine.js";
import { EventKind } from "../../src/replay/format-types.js";
import type { VirtMachine } from "../../src/boards/virt/virt.js";
import { newMachine, recordSession, replaySession, tempDir } from "../helpers/sessions.js";
import { PROPERTY_SCALE, runInChunks, SEED_OFFSET } from "../helpers/properties.js";

/** A cheap fingerprint of the CPU at a boundary: time, PC and every general register. */
function fingerprint(m: VirtMachine): string {
  const regs = new Uint8Array(m.cpu.xlo.buffer, m.cpu.xlo.byteOffset, 128).toString() + new Uint8Array(m.cpu.xhi.buffer, m.cpu.xhi.byteOffset, 128).toString();
  return `${m.clock.ticks}:${m.cpu.pcHi >>> 0}:${m.cpu.pcLo >>> 0}:${crc32(regs)}:${m.cpu.daif}:${m.cpu.nzcv}`;
}

interface Reference {
  /** fingerprints[i]: the first boundary at icount i. */
  fingerprints: string[];
  /** pcs[i] and whether step i + 1 executed an instruction (not an interrupt entry). */
  pcs: number[];
  executes: boolean[];
  end: number;
  digest: string;
  output: string;
}

const references = new Map<string, Reference>();

const SCALE = PROPERTY_SCALE;

/** The oracle: the guest single-stepped to its end by the interpreter, one run() call per step (the runs under
 * test use the default engine, compiled blocks). */
function singleStepped(guest: string): Reference {
  const cached = references.get(guest);
  if (cached) return cached;
  const g = newMachine(guest, 7, "interp");
  const m = g.machine;
  const fingerprints: string[] = [];
  const pcs: number[] = [];
  const executes: boolean[] = [];
  for (;;) {
    fingerprints.push(fingerprint(m));
    pcs.push(m.cpu.pcLo >>> 0);
    const before = m.clock.ticks;
    const reason = m.run(atIcount(m.clock.icount + 1));
    executes.push(m.clock.ticks !== before || m.cpu.halted);
    if (reason === "poweroff") break;
    assert.equal(reason, "limit");
  }
  const ref = { fingerprints, pcs, executes, end: m.clock.icount, digest: machineDigest(m), output: g.output() };
  references.set(guest, ref);
  return ref;
}

for (const guest of ["busy.elf", "busy-gic.elf"]) {
  test(`${guest}: random run chunkings reach the single-stepped states`, () => {
    const ref = singleStepped(guest);
    assert.ok(ref.end > 1000);
    let runs = 0;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 12 }), (chunks) => {
        runs++;
        const g = newMachine(guest);
        const m = g.machine;
        runInChunks(m, chunks, (i) => assert.equal(fingerprint(m), ref.fingerprints[m.clock.icount], `after run ${i} at icount ${m.clock.icount}`));
        assert.equal(m.clock.icount, ref.end);
        assert.equal(g.output(), ref.output);
        assert.equal(machineDigest(m), ref.digest);
      }),
      { numRuns: 15 * SCALE, seed: 0x5eed + SEED_OFFSET },
    );
    assert.equal(runs, 15 * SCALE);
  });
}

test("busy.elf: record with serial input mid-computation, replay with random spacings and random moves", async () => {
  const dir = tempDir();
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        inputAt: fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 4 }),
        // Each digest mark hashes all 128 MiB of RAM (~0.1 s), so marks stay a few per run.
        digestInterval: fc.integer({ min: 20_000, max: 150_000 }),
        recordSlice: fc.integer({ min: 100, max: 50_000 }),
        checkpointInterval: fc.integer({ min: 300, max: 80_000 }),
        replaySlice: fc.integer({ min: 50, max: 50_000 }),
        // Reverse continue on the main thread alone or with scan workers beside it (session/scan-pool.ts).
        scanWorkers: fc.constantFrom(0, 1, 2),
        moves: fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("seek" as const), to: fc.integer({ min: 0, max: 240_000 }) }),
            fc.record({ op: fc.constant("step" as const), n: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ op: fc.constant("reverse-step" as const), n: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ op: fc.constant("reverse-continue" as const), at: fc.integer({ min: 0, max: 240_000 }) }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
      }),
      async (p) => {
        runs++;
        const file = join(dir, `rec-${runs}.bin`);
        // Record: input typed at chosen instruction counts, slices of a chosen size.
        const rec = recordSession("busy.elf", file, { digestInterval: p.digestInterval, slice: p.recordSlice });
        const forward = new Map<number, string>();
        for (const at of [...p.inputAt].sort((a, b) => a - b)) {
          if (at <= rec.session.icount()) continue;
          const r = await rec.session.runTo(at);
          if (r !== undefined) break;
          rec.session.submitInput(EventKind.SerialRx, [Uint8Array.of(0x61 + (at % 26))]);
        }
        assert.equal((await rec.session.cont()).kind, "poweroff");
        const end = rec.session.icount();

        // The replay's forward states, single-stepped: the reference for every move below.
        const ref = replaySession("busy.elf", file, { checkpointInterval: 1 << 30 });
        const refFingerprints: string[] = [fingerprint(ref.machine)];
        const refPcs: number[] = [ref.machine.cpu.pcLo >>> 0];
        while (ref.session.icount() < end) {
          const ev = await ref.session.step();
          assert.equal(ev.kind, "step");
          refFingerprints[ref.session.icount()] = fingerprint(ref.machine);
          refPcs[ref.session.icount()] = ref.machine.cpu.pcLo >>> 0;
        }
        assert.equal(ref.output(), rec.output());
        assert.equal(ref.session.digest(), rec.session.digest());

        const rep = replaySession("busy.elf", file, { checkpointInterval: p.checkpointInterval, slice: p.replaySlice, scanWorkers: p.scanWorkers });
        try {
          const check = (what: string) => {
            const n = rep.session.icount();
            assert.equal(fingerprint(rep.machine), refFingerprints[n], `${what}: state at icount ${n}`);
          };
          for (const mv of p.moves) {
            if (mv.op === "seek") {
              const to = Math.min(mv.to, end);
              await rep.session.seek(to);
              assert.equal(rep.session.icount(), to);
              check(`seek ${to}`);
            } else if (mv.op === "step") {
              for (let i = 0; i < mv.n && rep.session.icount() < end; i++) {
                await rep.session.step();
                check("step");
              }
            } else if (mv.op === "reverse-step") {
              for (let i = 0; i < mv.n; i++) {
                const before = rep.session.icount();
                const ev = await rep.session.reverseStep();
                assert.equal(rep.session.icount(), Math.max(0, before - 1), ev.kind);
                check("reverse step");
              }
            } else {
              // A breakpoint on an instruction of the compute loop, taken from the reference run.
              const pc = refPcs[Math.min(mv.at, end - 1)];
              const now = rep.session.icount();
              rep.session.addBreakpoint("hw", BigInt(pc), 4);
              const ev = await rep.session.reverseCont();
              rep.session.removeAllBreakpoints();
              let expected = -1;
              for (let i = now - 1; i >= 0; i--) {
                if (refPcs[i] === pc && refFingerprints[i + 1] !== undefined && executesAt(refFingerprints, i)) {
                  expected = i;
                  break;
                }
              }
              if (expected < 0) assert.equal(ev.kind, "replay-begin");
              else assert.equal(ev.kind, "breakpoint");
              assert.equal(rep.session.icount(), Math.max(expected, 0), `reverse-continue from ${now} to 0x${pc.toString(16)}`);
              check("reverse continue");
            }
          }
          // And forward to the end: the recorded final state.
          await rep.session.seek(end);
          assert.equal(rep.session.digest(), rec.session.digest());
        } finally {
          await rep.session.close();
        }
      },
    ),
    { numRuns: 5 * SCALE, seed: 0x7e57 + SEED_OFFSET },
  );
  assert.equal(runs, 5 * SCALE);
});

/** Step i + 1 executed an instruction (a breakpoint at boundary i would stop): an interrupt entry adds no time. */
function executesAt(fps: string[], i: number): boolean {
  const t0 = fps[i].split(":")[0];
  const t1 = fps[i + 1].split(":")[0];
  return t0 !== t1;
}

// Chunking independence and replay on x86 (DESIGN.md §2), on a guest whose timer interrupts arrive while it
// computes: guests/x86/busy.bin takes ~1,100 IRQ 0s from the 8254 through the 8259 and the local APIC's LINT0 and
// folds every interrupted EIP into a hash, so an interrupt taken one instruction early or late changes its output.
// Oracles: qemu-system-x86_64 -icount shift=7 prints the same bytes (the same interrupt positions); every other
// path — random run chunkings, and replays with random checkpoint spacings and slices driven by seeks, steps,
// reverse steps and reverse continues onto breakpoints and onto a write watchpoint — must reach the states of the
// run that single-steps. REWIND_PROPERTY_SCALE=N runs N times as many cases.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { Seg } from "../../src/arch/x86/cpu-state.js";
import { atIcount } from "../../src/core/position.js";
import { machineDigest } from "../../src/core/machine.js";
import { MachineSession } from "../../src/session/session.js";
import { RecordingWriter } from "../../src/replay/format-writer.js";
import { RecordingReader } from "../../src/replay/format-reader.js";
import { RecordingSink, replaySource } from "../../src/replay/recording.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";
import { PROPERTY_SCALE, SEED_OFFSET } from "../helpers/properties.js";

const BUSY = join(ROOT, "guests/x86/busy.bin");
const TICKS = 0x500;
const SCALE = PROPERTY_SCALE;

function machine(out?: (b: number) => void): PcMachine {
  return new PcMachine({ ramSize: 16 << 20, icountShift: 7, bios: readFileSync(BUSY), debugcon: out ?? (() => {}), debugExit: { iobase: 0xf4, iosize: 4 }, rtcBootSeconds: 1_700_000_000 });
}

/** Time, linear PC, flags and every general register at a boundary. */
function fingerprint(m: PcMachine): string {
  const c = m.cpu;
  const regs = new Uint8Array(c.lo.buffer, c.lo.byteOffset, 64).toString() + new Uint8Array(c.hi.buffer, c.hi.byteOffset, 64).toString();
  return `${m.clock.ticks}:${(c.segBaseLo[Seg.CS] + c.ripLo) >>> 0}:${c.rflags >>> 0}:${crc32(regs)}`;
}

const ticksWord = (m: PcMachine) => m.bus.read32(TICKS) >>> 0;

interface Reference {
  fingerprints: string[];
  /** Linear PC at each boundary, and the IRQ 0 count there (its changes are the watchpoint's writes). */
  pcs: number[];
  ticks: number[];
  end: number;
  digest: string;
  output: string;
}

let reference: Reference | undefined;

function singleStepped(): Reference {
  if (reference) return reference;
  let output = "";
  const m = machine((b) => (output += String.fromCharCode(b)));
  const fingerprints: string[] = [];
  const pcs: number[] = [];
  const ticks: number[] = [];
  for (;;) {
    fingerprints.push(fingerprint(m));
    pcs.push(Number(m.pc()));
    ticks.push(ticksWord(m));
    const reason = m.run(atIcount(m.clock.icount + 1));
    if (reason === "poweroff") break;
    assert.equal(reason, "limit", m.stuckReason);
  }
  fingerprints.push(fingerprint(m));
  pcs.push(Number(m.pc()));
  ticks.push(ticksWord(m));
  reference = { fingerprints, pcs, ticks, end: m.clock.icount, digest: machineDigest(m), output };
  return reference;
}

test("busy.bin under qemu-system-x86_64 -icount shift=7 prints what the single-stepped pc board prints", { skip: missingTool("qemu-system-x86_64") }, () => {
  const ref = singleStepped();
  assert.match(ref.output, /^busy: ticks=0x0000045c iphash=0x[0-9a-f]{8} hash=0x651532ac\nBye\.\n$/);
  const q = spawnSync("qemu-system-x86_64", ["-M", "pc", "-bios", BUSY, "-display", "none", "-nodefaults", "-debugcon", "stdio", "-icount", "shift=7",
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], { encoding: "latin1", timeout: 60_000 });
  assert.equal(q.status, 1);
  assert.equal(q.stdout, ref.output);
});

test("busy.bin: random run chunkings reach the single-stepped states", () => {
  const ref = singleStepped();
  let runs = 0;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 12 }), (chunks) => {
      runs++;
      let output = "";
      const m = machine((b) => (output += String.fromCharCode(b)));
      for (let i = 0; ; i++) {
        const reason = m.run(atIcount(m.clock.icount + chunks[i % chunks.length]));
        assert.equal(fingerprint(m), ref.fingerprints[m.clock.icount], `after run ${i} at icount ${m.clock.icount}`);
        if (reason === "poweroff") break;
        assert.equal(reason, "limit");
      }
      assert.equal(m.clock.icount, ref.end);
      assert.equal(output, ref.output);
      assert.equal(machineDigest(m), ref.digest);
    }),
    { numRuns: 10 * SCALE, seed: 0xb05e + SEED_OFFSET },
  );
  assert.equal(runs, 10 * SCALE);
});

test("busy.bin: recorded, then replayed with random checkpoint spacings and slices through seeks, steps, reverse steps and reverse continues", async () => {
  const ref = singleStepped();
  const dir = tempDir("rewind-x86-busy-");
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        recordSlice: fc.integer({ min: 100, max: 50_000 }),
        checkpointInterval: fc.integer({ min: 300, max: 80_000 }),
        replaySlice: fc.integer({ min: 50, max: 50_000 }),
        moves: fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("seek" as const), to: fc.integer({ min: 0, max: ref.end }) }),
            fc.record({ op: fc.constant("step" as const), n: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ op: fc.constant("reverse-step" as const), n: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ op: fc.constant("reverse-continue" as const), at: fc.integer({ min: 0, max: ref.end - 1 }) }),
            fc.record({ op: fc.constant("reverse-watch" as const) }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
      }),
      async (p) => {
        runs++;
        const file = join(dir, `rec-${runs}.bin`);
        const rm = machine();
        const writer = RecordingWriter.create(file, { config: { board: "pc", cpu: "qemu64", ramSize: 16 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 1_700_000_000, extra: { guest: "busy.bin" } } });
        const rec = new MachineSession({ machine: rm, mode: "record", slice: p.recordSlice, record: new RecordingSink(writer, () => ({ icount: rm.clock.icount, ticks: rm.clock.ticks })) });
        assert.equal((await rec.cont()).kind, "poweroff");
        assert.equal(rec.icount(), ref.end);
        assert.equal(rec.digest(), ref.digest);

        const m = machine();
        const s = new MachineSession({ machine: m, mode: "replay", replay: replaySource(RecordingReader.open(file), file), checkpointInterval: p.checkpointInterval, slice: p.replaySlice, scanWorkers: 0 });
        const check = (what: string) => assert.equal(fingerprint(m), ref.fingerprints[s.icount()], `${what}: state at icount ${s.icount()}`);
        let fromWatchStop = false;
        try {
          for (const mv of p.moves) {
            if (mv.op === "seek") {
              await s.seek(mv.to);
              check(`seek ${mv.to}`);
            } else if (mv.op === "step") {
              for (let i = 0; i < mv.n && s.icount() < ref.end; i++) {
                await s.step();
                check("step");
              }
            } else if (mv.op === "reverse-step") {
              for (let i = 0; i < mv.n; i++) {
                const before = s.icount();
                await s.reverseStep();
                assert.equal(s.icount(), Math.max(0, before - 1));
                check("reverse step");
              }
            } else if (mv.op === "reverse-continue") {
              // A breakpoint on an instruction the reference ran: the last boundary before now where it is next.
              const pc = ref.pcs[mv.at];
              const now = s.icount();
              s.addBreakpoint("hw", BigInt(pc), 1);
              const ev = await s.reverseCont();
              s.removeAllBreakpoints();
              let expected = -1;
              for (let i = now - 1; i >= 0; i--) {
                // An interrupt step adds no time: a breakpoint stops only before an instruction.
                if (ref.pcs[i] === pc && ref.fingerprints[i].split(":")[0] !== ref.fingerprints[i + 1].split(":")[0]) {
                  expected = i;
                  break;
                }
              }
              assert.equal(ev.kind, expected < 0 ? "replay-begin" : "breakpoint");
              assert.equal(s.icount(), Math.max(expected, 0), `reverse continue from ${now} to 0x${pc.toString(16)}`);
              check("reverse continue");
            } else {
              // A write watchpoint on the IRQ 0 count: backwards, x86 stops on the writing instruction (the step
              // before the write), the old value still there. From such a stop, that write is not found again.
              const now = s.icount();
              s.addWatchpoint("write", BigInt(TICKS), 4);
              const ev = await s.reverseCont();
              s.removeAllBreakpoints();
              let expected = -1;
              for (let i = (fromWatchStop ? now : now + 1) - 1; i >= 1; i--) {
                if (ref.ticks[i] !== ref.ticks[i - 1]) {
                  expected = i - 1;
                  break;
                }
              }
              assert.equal(ev.kind, expected < 0 ? "replay-begin" : "watchpoint", `reverse watch from ${now}`);
              assert.equal(s.icount(), Math.max(expected, 0), `reverse watch from ${now}`);
              check("reverse watch");
              fromWatchStop = expected >= 0;
              continue;
            }
            fromWatchStop = false;
          }
          await s.seek(ref.end);
          assert.equal(s.digest(), ref.digest);
        } finally {
          await s.close();
        }
      },
    ),
    { numRuns: 4 * SCALE, seed: 0x7e58 + SEED_OFFSET },
  );
  assert.equal(runs, 4 * SCALE);
});

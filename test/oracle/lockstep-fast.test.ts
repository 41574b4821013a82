// The CPU oracle with the fast tier: QEMU single-steps as usual, and Rewind runs each stretch of plain steps (no
// exception entry, WFI or counter read, as QEMU's steps show) at once, so its compiled code executes them; the
// registers are compared after every stretch and after every step taken alone. Blocks are compiled after two
// jumps, so the guests' loops run as compiled code within the first few hundred steps.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runLockstep, formatLockstepResult } from "../../src/tools/lockstep.js";
import { RewindTarget } from "../../src/tools/lockstep/rewind-target.js";
import { dumpQemuDtb } from "../../src/tools/lockstep/qemu-target.js";
import { missingTool } from "../helpers/tools.js";
import { guestPath, tempDir } from "../helpers/sessions.js";
import type { LockstepTarget, RegisterSnapshot } from "../../src/tools/lockstep/target.js";

const skip = missingTool("qemu-system-aarch64");
const STRIDE = 64;

function qemuDtb(): string {
  return dumpQemuDtb(join(tempDir("rewind-lockstep-"), "virt.dtb"));
}

const CASES: { guest: string; engine: "wasm" | "js"; maxSteps?: number }[] = [
  { guest: "hello.elf", engine: "wasm" },
  // Timer interrupts and WFI: every entry and WFI is a step of its own between compiled stretches.
  { guest: "ticks.elf", engine: "wasm" },
  { guest: "buggy.elf", engine: "wasm" },
  { guest: "compute-small.elf", engine: "wasm", maxSteps: 30_000 },
  // The MMU on: translations through the compiled code's TLB while the guest rewrites its tables.
  { guest: "remap.elf", engine: "wasm", maxSteps: 40_000 },
  { guest: "ticks.elf", engine: "js" },
  { guest: "compute-small.elf", engine: "js", maxSteps: 30_000 },
];

for (const c of CASES) {
  test(`lockstep against QEMU, ${c.engine} regions: ${c.guest}${c.maxSteps ? ` (${c.maxSteps} steps)` : " (whole run)"}`, { skip, timeout: 300_000 }, async () => {
    const dtb = qemuDtb();
    let target: RewindTarget | undefined;
    const result = await runLockstep({
      kernel: guestPath(c.guest),
      icount: "shift=7",
      maxSteps: c.maxSteps,
      stride: STRIDE,
      qemu: { extraArgs: ["-dtb", dtb] },
      createTarget: (o) => (target = new RewindTarget({ ...o, dtb, engine: c.engine })),
    });
    assert.equal(result.end, c.maxSteps ? "max-steps" : "powered-off", formatLockstepResult(result));
    // Most of the run was compiled code, not the interpreter the single steps use.
    const compiled = target!.compiledSteps();
    assert.ok(compiled > result.steps / 2, `only ${compiled} of ${result.steps} steps ran as compiled code`);
  });
}

// --- the stride logic itself, on scripted machines -------------------------------------------------------------

const snap = (pc: bigint, cpsr = 0x600003c5, x0 = 0n): RegisterSnapshot => ({ x: [x0, ...Array(30).fill(0n)], sp: 0x40080000n, pc, cpsr });

/** A reference that replays `states` (state i after step i), reporting `insns[i - 1]` as step i's instruction. */
function reference(states: RegisterSnapshot[], insns: number[]): LockstepTarget {
  let i = 0;
  return {
    describe: () => "scripted reference",
    step: () => (++i < states.length ? "running" : "exited"),
    registers: () => states[Math.min(i, states.length - 1)],
    lastInstruction: () => insns[i - 1],
    close: () => undefined,
  };
}

/** A target that follows `states` too, and logs how it was asked to move: "s" a single step, "rN" N at once. */
function target(states: RegisterSnapshot[]): LockstepTarget & { log: string[] } {
  let i = 0;
  const log: string[] = [];
  return {
    log,
    describe: () => "scripted target",
    step: () => (log.push("s"), ++i < states.length ? "running" : "exited"),
    runSteps: (n: number) => (log.push(`r${n}`), (i += n) < states.length ? "running" : "exited"),
    registers: () => states[Math.min(i, states.length - 1)],
    close: () => undefined,
  };
}

const NOP = 0xd503201f;
const WFI = 0xd503207f;
const MRS_CNTVCT_X1 = 0xd53be041;

test("a stride runs plain steps at once and takes exception entries, WFI and counter reads alone", async () => {
  const states = [snap(0x40001000n)];
  const insns: number[] = [];
  const add = (pc: bigint, insn: number, cpsr?: number) => {
    states.push(snap(pc, cpsr));
    insns.push(insn);
  };
  for (let k = 1; k <= 5; k++) add(0x40001000n + 4n * BigInt(k), NOP); // steps 1-5: plain
  add(0x40000280n, NOP, 0x000003c5); // step 6: an IRQ entry as QEMU shows it (vector, DAIF masked, NZCV clear)
  add(0x40000284n, NOP, 0x000003c5); // 7-8: plain
  add(0x40000288n, NOP, 0x000003c5);
  add(0x4000028cn, MRS_CNTVCT_X1, 0x000003c5); // 9: counter read
  add(0x40000290n, WFI, 0x000003c5); // 10: WFI
  add(0x40000300n, NOP, 0x800003c5); // 11: lands on a 128-byte boundary with N set: plain
  for (let k = 1; k <= 10; k++) add(0x40000300n + 4n * BigInt(k), NOP); // 12-21: plain, in strides of 4
  const t = target(states);
  const r = await runLockstep({ kernel: "none", reference: reference(states, insns), target: t, stride: 4 });
  assert.equal(r.end, "powered-off", formatLockstepResult(r));
  assert.deepEqual(t.log, ["r4", "r1", "s", "r2", "s", "s", "r4", "r4", "r3", "s"]);
});

test("a stride that diverges names its steps; --stride 1 names the step", async () => {
  const good = [snap(0x40001000n)];
  for (let k = 1; k <= 12; k++) good.push(snap(0x40001000n + 4n * BigInt(k)));
  const bad = good.map((s, i) => (i >= 7 ? { ...s, x: [1n, ...s.x.slice(1)] } : s));
  const insns = Array(12).fill(NOP);

  const coarse = await runLockstep({ kernel: "none", reference: reference(good, insns), target: target(bad), stride: 5 });
  assert.equal(coarse.end, "divergence");
  assert.equal(coarse.divergence?.step, 10);
  assert.match(coarse.divergence?.message ?? "", /ran steps 6-10 at once \(stride 5\).*--stride 1 finds it/);
  assert.deepEqual(coarse.divergence?.differences.map((d) => d.name), ["x0"]);
  assert.equal(coarse.divergence?.pc, 0x40001024n, "the PC before the stride's last step");

  const fine = await runLockstep({ kernel: "none", reference: reference(good, insns), target: target(bad), stride: 1 });
  assert.equal(fine.divergence?.step, 7);
});

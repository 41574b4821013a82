// The CPU oracle: Rewind and qemu-system-aarch64 single-stepped side by side on the bundled guests, every
// register compared after every step. Both load the same device tree (QEMU's own, dumped without the random
// seeds) so guests that read it see the same bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runLockstep, formatLockstepResult } from "../../src/tools/lockstep.js";
import { createRewindTarget } from "../../src/tools/lockstep/rewind-target.js";
import { dumpQemuDtb } from "../../src/tools/lockstep/qemu-target.js";
import { missingTool } from "../helpers/tools.js";
import { guestPath, tempDir } from "../helpers/sessions.js";
import type { LockstepTarget, RegisterSnapshot } from "../../src/tools/lockstep/target.js";

const skip = missingTool("qemu-system-aarch64");

function qemuDtb(): string {
  return dumpQemuDtb(join(tempDir("rewind-lockstep-"), "virt.dtb"));
}

const CASES: { guest: string; maxSteps?: number }[] = [
  { guest: "hello.elf" },
  // ticks.elf: timer interrupts and WFI. QEMU clears NZCV on exception entry; the oracle lets Rewind (which keeps
  // them, as the Arm ARM says) take QEMU's flags there (adoptExceptionEntryFlags).
  { guest: "ticks.elf" },
  { guest: "buggy.elf" },
  { guest: "compute-small.elf", maxSteps: 30_000 },
];

for (const c of CASES) {
  test(`lockstep against QEMU: ${c.guest}${c.maxSteps ? ` (${c.maxSteps} steps)` : " (whole run)"}`, { skip, timeout: 300_000 }, async () => {
    const dtb = qemuDtb();
    const result = await runLockstep({
      kernel: guestPath(c.guest),
      icount: "shift=7",
      maxSteps: c.maxSteps,
      qemu: { extraArgs: ["-dtb", dtb] },
      createTarget: (o) => createRewindTarget({ ...o, dtb }),
    });
    assert.equal(result.end, c.maxSteps ? "max-steps" : "powered-off", formatLockstepResult(result));
    assert.ok(result.steps > 1000);
  });
}

// Scripted machines: the snapshots after each step, and whether the target confirms an exception entry.
function scripted(states: RegisterSnapshot[], confirmsEntry?: boolean): LockstepTarget & { adopted: number[] } {
  let i = 0;
  const t = {
    adopted: [] as number[],
    describe: () => "scripted",
    step: () => (++i < states.length ? ("running" as const) : ("exited" as const)),
    registers: () => states[Math.min(i, states.length - 1)],
    close: () => undefined,
    adoptExceptionEntryFlags:
      confirmsEntry === undefined
        ? undefined
        : (nzcv: number) => {
            if (!confirmsEntry) return false;
            t.adopted.push(nzcv);
            states[i] = { ...states[i], cpsr: ((states[i].cpsr & 0x0fffffff) | (nzcv << 28)) >>> 0 };
            for (let j = i + 1; j < states.length; j++) states[j] = { ...states[j], cpsr: states[i].cpsr };
            return true;
          },
  };
  return t;
}

const snap = (pc: bigint, cpsr: number): RegisterSnapshot => ({ x: Array(31).fill(0n), sp: 0x40080000n, pc, cpsr });
// An IRQ taken at 0x40001004 with NZCV=0110: QEMU's vector state has NZCV=0000, Rewind's keeps 0110.
const before = [snap(0x40001000n, 0x60000345), snap(0x40001004n, 0x60000345)];
const qemuSide = () => [...before, snap(0x40000280n, 0x000003c5), snap(0x40000284n, 0x000003c5)];
const rewindSide = () => [...before, snap(0x40000280n, 0x600003c5), snap(0x40000284n, 0x600003c5)];

test("lockstep takes QEMU's NZCV at an exception entry the target confirms, and only then", async () => {
  const target = scripted(rewindSide(), true);
  const ok = await runLockstep({ kernel: "none", reference: scripted(qemuSide()), target });
  assert.equal(ok.end, "powered-off", formatLockstepResult(ok));
  assert.equal(ok.adoptedExceptionEntryFlags, 1);
  assert.deepEqual(target.adopted, [0]);

  const declined = await runLockstep({ kernel: "none", reference: scripted(qemuSide()), target: scripted(rewindSide(), false) });
  assert.equal(declined.end, "divergence");
  assert.equal(declined.divergence?.step, 2);
  assert.deepEqual(declined.divergence?.differences.map((d) => d.name), ["cpsr"]);

  const strict = await runLockstep({ kernel: "none", reference: scripted(qemuSide()), target: scripted(rewindSide(), true), adoptExceptionEntryFlags: false });
  assert.equal(strict.end, "divergence");

  // Anything besides NZCV differing (here DAIF) is never adopted.
  const other = rewindSide();
  other[2] = snap(0x40000280n, 0x60000345);
  const real = await runLockstep({ kernel: "none", reference: scripted(qemuSide()), target: scripted(other, true) });
  assert.equal(real.end, "divergence");
});

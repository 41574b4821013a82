// The CPU oracle: Rewind and qemu-system-aarch64 single-stepped side by side on the bundled guests, every
// register compared after every step. Both load the same device tree (QEMU's own, dumped without the random
// seeds) so guests that read it see the same bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runLockstep, formatLockstepResult } from "../../src/tools/lockstep.js";
import { createRewindTarget } from "../../src/tools/lockstep/rewind-target.js";
import { missingTool } from "../helpers/tools.js";
import { guestPath, tempDir } from "../helpers/sessions.js";

const skip = missingTool("qemu-system-aarch64");

function qemuDtb(): string {
  const file = join(tempDir("rewind-lockstep-"), "virt.dtb");
  const r = spawnSync("qemu-system-aarch64", ["-M", `virt,dumpdtb=${file},dtb-randomness=off`, "-cpu", "cortex-a53", "-display", "none"], { stdio: "ignore" });
  assert.equal(r.status, 0, "qemu could not dump its device tree");
  return file;
}

const CASES: { guest: string; maxSteps?: number }[] = [
  { guest: "hello.elf" },
  // ticks.elf: up to its first WFI. Around WFI wake-up QEMU's gdbstub step and Rewind's icount step differ (see the
  // lockstep notes on issue 2), so the whole run is compared by console output instead.
  { guest: "ticks.elf", maxSteps: 1790 },
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

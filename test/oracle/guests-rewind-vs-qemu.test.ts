// Oracle: every bundled guest prints byte-for-byte the same console output under Rewind as under
// qemu-system-aarch64, both with -icount shift=7 (so timer-driven output is comparable).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingTool } from "../helpers/tools.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const REWIND = join(ROOT, "bin/rewind-system-aarch64.js");

const CASES: { kernel: string; input?: string }[] = [
  { kernel: "hello.elf" },
  { kernel: "hello.bin" },
  { kernel: "ticks.elf" },
  { kernel: "buggy.elf" },
  { kernel: "compute-small.elf" },
  { kernel: "echo.elf", input: "first line\nSecond Line\n\x7f\x7fxy\nquit\n" },
];

function console(cmd: string, pre: string[], kernel: string, input = "") {
  const args = [...pre, "-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "stdio", "-icount", "shift=7",
    "-kernel", join(ROOT, "guests/aarch64", kernel)];
  const r = spawnSync(cmd, args, { input, encoding: "latin1", timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

for (const c of CASES) {
  test(`${c.kernel}: same console output as QEMU`, { skip: missingTool("qemu-system-aarch64") }, () => {
    const q = console("qemu-system-aarch64", [], c.kernel, c.input);
    const r = console(process.execPath, [REWIND], c.kernel, c.input);
    assert.equal(q.status, 0, q.err);
    assert.equal(r.status, 0, r.err);
    assert.ok(q.out.length > 0);
    assert.equal(r.out, q.out);
  });
}

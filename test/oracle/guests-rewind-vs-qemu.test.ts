// Oracle: every bundled guest prints byte-for-byte the same console output under Rewind as under
// qemu-system-aarch64, both with -icount shift=7 (so timer-driven output is comparable).
//
// busy.elf computes while timer interrupts arrive and prints, per tick, the iteration count, the counter and the
// interrupted PC: it matches only if every interrupt is taken at the same instruction as on QEMU. busy-gic.elf
// prints how many instructions after its trigger (GIC store, msr daifclr, timer register write) each interrupt
// is taken. Both run with sleep=off: under QEMU's default sleep=on virtual time partly follows the host clock
// (busy's first tick already comes at a different counter value on every run); Rewind always behaves as
// sleep=off. Every run gets -net none: without it QEMU's default NIC needs efi-virtio.rom (Debian's ipxe-qemu,
// only a recommended package of qemu-system-arm) and QEMU stops at once where it is missing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingTool } from "../helpers/tools.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const REWIND = join(ROOT, "bin/rewind-system-aarch64.js");

const CASES: { kernel: string; input?: string; icount?: string }[] = [
  { kernel: "hello.elf" },
  { kernel: "hello.bin" },
  { kernel: "ticks.elf" },
  { kernel: "buggy.elf" },
  { kernel: "compute-small.elf" },
  { kernel: "echo.elf", input: "first line\nSecond Line\n\x7f\x7fxy\nquit\n" },
  { kernel: "busy.elf", icount: "shift=7,sleep=off" },
  { kernel: "busy-gic.elf", icount: "shift=7,sleep=off" },
  // The MMU on, page tables rewritten and TTBR0 switched while timer interrupts arrive.
  { kernel: "remap.elf", icount: "shift=7,sleep=off" },
  // The guest's own hardware breakpoints, watchpoints and software step, from EL1 and EL0 (their ESR/FAR/ELR).
  { kernel: "selfdebug.elf" },
];

function console(cmd: string, pre: string[], kernel: string, input = "", icount = "shift=7") {
  const args = [...pre, "-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "stdio", "-net", "none",
    "-icount", icount, "-kernel", join(ROOT, "guests/aarch64", kernel)];
  const r = spawnSync(cmd, args, { input, encoding: "latin1", timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** "line N differs: ..." for the first line where Rewind's output departs from QEMU's (long outputs, like busy's). */
function firstDifference(rewind: string, qemu: string): string {
  const r = rewind.split(/\r?\n/);
  const q = qemu.split(/\r?\n/);
  let i = 0;
  while (i < r.length && i < q.length && r[i] === q[i]) i++;
  const show = (l: string[]) => JSON.stringify(l[i] ?? "(end of output)");
  return `line ${i + 1} differs:\n  rewind: ${show(r)}\n  qemu:   ${show(q)}`;
}

for (const c of CASES) {
  test(`${c.kernel}: same console output as QEMU`, { skip: missingTool("qemu-system-aarch64") }, () => {
    const q = console("qemu-system-aarch64", [], c.kernel, c.input, c.icount);
    const r = console(process.execPath, [REWIND], c.kernel, c.input, c.icount);
    assert.equal(q.status, 0, q.err);
    assert.equal(r.status, 0, r.err);
    assert.ok(q.out.length > 0);
    assert.equal(r.out, q.out, firstDifference(r.out, q.out));
  });
}

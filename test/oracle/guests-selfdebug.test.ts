// guests/aarch64/selfdebug.elf, the guest's own debug hardware (breakpoints, watchpoints, software step from
// EL1 and EL0), against qemu-system-aarch64 -cpu cortex-a53: the same console output byte for byte with each of
// Rewind's engines (the interpreter, and the fast tier that must hand armed stretches to it); the pieces of
// QEMU's output the Arm ARM fixes; and the committed binary is what guests/aarch64/build.sh makes from the
// sources.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { missingTool } from "../helpers/tools.js";
import { ROOT, newMachine, tempDir } from "../helpers/sessions.js";
import { atIcount } from "../../src/core/position.js";
import type { BlockEngine } from "../../src/arch/aarch64/jit/block-engine.js";

const GUESTS = join(ROOT, "guests/aarch64");
const KERNEL = join(GUESTS, "selfdebug.elf");
const REWIND = join(ROOT, "bin/rewind-system-aarch64.js");

function run(cmd: string, pre: string[]) {
  const args = [...pre, "-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "stdio", "-net", "none",
    "-icount", "shift=7", "-kernel", KERNEL];
  const r = spawnSync(cmd, args, { encoding: "latin1", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

let qemuOut: string | undefined;
const qemu = () => (qemuOut ??= run("qemu-system-aarch64", []));

test("qemu: selfdebug.elf takes the debug exceptions the Arm ARM describes", { skip: missingTool("qemu-system-aarch64") }, () => {
  const out = qemu().replace(/\r\n/g, "\n");
  const section = (title: string) => {
    const at = out.indexOf(`${title}\n`);
    assert.ok(at >= 0, title);
    const rest = out.slice(at + title.length + 1);
    // The events, without the counter ticks the test took (they are compared with Rewind's below).
    return rest.slice(0, rest.search(/\n[^ ]/) + 1).replace(/^  \[ticks \d+\]\n/, "");
  };
  assert.match(out, /OSLSR_EL1 at reset: 0xa\n/);
  // Tests that take no exception run the same 25 instructions (8 ticks each at shift=7).
  assert.match(out, /bp: MDE clear\n  \[ticks 200\]\n/);
  assert.match(out, /bp: PMC=EL0 only, executed at EL1\n  \[ticks 200\]\n/);
  assert.equal(section("bp: EL1, PMC=EL1, MDE+KDE, D clear (ELR = the instruction, FAR 0)"), "  ec 0x31 iss 0x0000022 il 1  elr +0x04  far 0x0  spsr.ss 0 el 1\n");
  assert.equal(section("bp: KDE clear (no debug exceptions at EL1)"), "  no exception\n");
  assert.equal(section("wp: BAS bytes 2-3; byte stores at +3 and +4").split("far ")[1], "wdata+3  spsr.ss 0 el 1\n");
  const step = section("ss: EL0 from ERET with SPSR.SS = 1 (svc and brk on the way)").split("\n");
  assert.equal(step[0], "  ec 0x32 iss 0x1000022 il 1  elr +0x04  far 0x0  spsr.ss 0 el 0");
  assert.ok(step.includes("  ec 0x32 iss 0x1000062 il 1  elr +0x1c  far 0x0  spsr.ss 0 el 0"), "ESR.EX after LDXR");
  assert.ok(step.includes("  ec 0x32 iss 0x0000022 il 1  elr +0x24  far 0x0  spsr.ss 0 el 0"), "ISV = 0 after a stepped SVC");
  assert.ok(step.includes("  ec 0x3c iss 0x0000007 il 1  elr +0x24  far 0x0  spsr.ss 1 el 0"), "BRK is not stepped");
  assert.match(out, /\ndone\n$/);
});

for (const engine of ["interp", "fast"]) {
  test(`selfdebug.elf: Rewind (${engine} engine) prints what QEMU prints`, { skip: missingTool("qemu-system-aarch64") }, () => {
    const r = run(process.execPath, [REWIND, "-accel", `tcg,engine=${engine}`]);
    assert.equal(r, qemu());
  });
}

test("selfdebug.elf: the fast tier compiling after 8 jumps (its code around the tests compiled) prints what QEMU prints", { skip: missingTool("qemu-system-aarch64") }, () => {
  const g = newMachine("selfdebug.elf", 7, "fast");
  assert.equal(g.machine.run(atIcount(10_000_000)), "poweroff");
  assert.equal(g.output(), qemu());
  assert.ok((g.machine.engine as BlockEngine).stats.compiledSteps > 50_000);
});

test("guests/aarch64/build.sh rebuilds selfdebug.elf byte for byte", { skip: missingTool("aarch64-linux-gnu-gcc") }, () => {
  const dir = tempDir("rewind-a64-guest-");
  for (const f of ["build.sh", "start.S", "lib.c", "lib.h", "gic.c", "gic.h", "guest.ld", "selfdebug.c"]) copyFileSync(join(GUESTS, f), join(dir, f));
  const r = spawnSync("sh", [join(dir, "build.sh"), "selfdebug"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "selfdebug.elf")), readFileSync(KERNEL));
});

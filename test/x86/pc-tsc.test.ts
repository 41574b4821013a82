// RDTSC on the pc board's virtual clock against qemu-system-x86_64 -icount shift=7,sleep=off (guests/x86/tsc.bin):
// the TSC is virtual nanoseconds, 128 per instruction, a REP STOSB of 100 iterations takes 101 steps, as QEMU's
// icount translation counts it, and a DIV raising #DE does not advance time (QEMU gives its count back) while UD2
// does — in any slicing of the run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";
import { xorshift32 } from "../helpers/random.js";

const GUESTS = join(ROOT, "guests/x86");
const GUEST = join(GUESTS, "tsc.bin");
const EXPECTED = readFileSync(join(GUESTS, "README.md"), "utf8").split("`tsc.bin` prints (QEMU 7.2")[1].split("```")[1].trim();

function run(slices?: () => number): { out: string; exit: number | undefined; icount: number } {
  let out = "";
  const m = new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios: readFileSync(GUEST), debugcon: (b) => (out += String.fromCharCode(b)), debugExit: { iobase: 0xf4, iosize: 4 } });
  while (m.run(atIcount(slices ? m.clock.icount + slices() : 1e9)) === "limit");
  return { out, exit: m.exitCode, icount: m.clock.icount };
}

test("pc: RDTSC reads virtual nanoseconds as QEMU's icount gives them (README values), in any slicing", () => {
  const r = run();
  assert.equal(r.exit, 1);
  assert.equal(r.out.trim(), EXPECTED);
  const rnd = xorshift32(3);
  assert.deepEqual(run(() => 1 + (rnd() % 20)), r);
});

test("pc: tsc.bin under qemu-system-x86_64 -icount shift=7,sleep=off prints the same", { skip: missingTool("qemu-system-x86_64") }, () => {
  const q = spawnSync("qemu-system-x86_64", ["-M", "pc", "-bios", GUEST, "-display", "none", "-nodefaults", "-debugcon", "stdio", "-icount", "shift=7,sleep=off",
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], { encoding: "latin1", timeout: 30_000 });
  assert.equal(q.status, 1);
  assert.equal(q.stdout.trim(), EXPECTED);
  assert.equal(run().out.trim(), q.stdout.trim());
});

test("guests/x86/build.sh rebuilds tsc.bin byte for byte", { skip: missingTool("as", "ld") }, () => {
  const dir = tempDir("rewind-x86-guest-");
  copyFileSync(join(GUESTS, "tsc.S"), join(dir, "tsc.S"));
  copyFileSync(join(GUESTS, "build.sh"), join(dir, "build.sh"));
  const r = spawnSync("bash", [join(dir, "build.sh"), "tsc"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "tsc.bin")), readFileSync(GUEST));
});

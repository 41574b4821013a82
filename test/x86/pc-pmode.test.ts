// guests/x86/pmode.bin on Rewind's pc board against qemu-system-x86_64: real-mode interrupts and exceptions, the
// late 16/32-bit integer instructions, protected mode (GDT, IDT gates with error codes, far transfers between 32-
// and 16-bit code segments), MSRs, self-modifying code in RAM and big real mode. The same debug-console bytes,
// exit status and instruction count (QEMU's one-instruction trace under -icount) in one run and in random slicings; the image is
// rebuilt from its source byte for byte; the code cache decodes each instruction once unless its page is written.

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
const GUEST = join(GUESTS, "pmode.bin");
const EXPECTED = readFileSync(join(GUESTS, "README.md"), "utf8").split("`pmode.bin` prints (QEMU 7.2")[1].split("```")[1].trim();
const QEMU_ARGS = ["-M", "pc", "-bios", GUEST, "-display", "none", "-nodefaults", "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"];

const norm = (s: string) => s.trim().split("\n").map((l) => l.trimEnd()).join("\n");

function run(slices?: () => number): { out: string; exit: number | undefined; icount: number; reason: string; decodes: number } {
  let out = "";
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(GUEST), debugcon: (b) => (out += String.fromCharCode(b)), debugExit: { iobase: 0xf4, iosize: 4 } });
  let reason: string;
  for (;;) {
    reason = m.run(atIcount(slices ? m.clock.icount + slices() : 1e9));
    if (reason !== "limit") break;
  }
  assert.equal(m.stuckReason, "");
  return { out, exit: m.exitCode, icount: m.clock.icount, reason, decodes: m.interp.decodes };
}

test("pc: pmode.bin prints what QEMU printed (README) and exits with status 33, in any slicing", () => {
  const r = run();
  assert.equal(r.reason, "poweroff");
  assert.equal(r.exit, 33);
  assert.equal(norm(r.out), norm(EXPECTED));
  for (const seed of [1, 7, 4242]) {
    const rnd = xorshift32(seed);
    assert.deepEqual(run(() => 1 + (rnd() % 300)), r);
  }
  // The code cache: 24,897 instructions from about 1,450 decodes (rewritten RAM code and each code size apart).
  assert.ok(r.decodes < 1500, `${r.decodes} decodes`);
});

test("pc: pmode.bin under qemu-system-x86_64: the same output and status, and the same instruction count", { skip: missingTool("qemu-system-x86_64") }, () => {
  const q = spawnSync("qemu-system-x86_64", [...QEMU_ARGS, "-debugcon", "stdio"], { encoding: "latin1", timeout: 30_000 });
  assert.equal(q.status, 33);
  assert.equal(norm(q.stdout), norm(EXPECTED));
  const log = join(tempDir("rewind-x86-pmode-"), "exec.log");
  // Under -icount (as Rewind counts): a REP loop that runs out takes one more step, which finds the count 0.
  const t = spawnSync("qemu-system-x86_64", [...QEMU_ARGS, "-debugcon", "file:/dev/null", "-icount", "shift=7,sleep=off", "-singlestep", "-d", "exec,nochain", "-D", log], { timeout: 60_000 });
  assert.equal(t.status, 33);
  const traced = readFileSync(log, "latin1").split("\n").filter((l) => l.startsWith("Trace")).length;
  assert.equal(run().icount, traced);
});

test("guests/x86/build.sh rebuilds pmode.bin byte for byte", { skip: missingTool("as", "ld") }, () => {
  const dir = tempDir("rewind-x86-guest-");
  copyFileSync(join(GUESTS, "pmode.S"), join(dir, "pmode.S"));
  copyFileSync(join(GUESTS, "build.sh"), join(dir, "build.sh"));
  const r = spawnSync("bash", [join(dir, "build.sh"), "pmode"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "pmode.bin")), readFileSync(GUEST));
});

test("pc: pmode.bin saved at random points and loaded into a fresh machine ends as the uninterrupted run", () => {
  const whole = run();
  const rnd = xorshift32(77);
  for (let k = 0; k < 5; k++) {
    const at = 1 + (rnd() % (whole.icount - 1));
    let before = "";
    let after = "";
    const bios = readFileSync(GUEST);
    const a = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios, debugcon: (c) => (before += String.fromCharCode(c)), debugExit: { iobase: 0xf4, iosize: 4 } });
    assert.equal(a.run(atIcount(at)), "limit");
    const saved = a.stateParts.map((p) => [p.stateName, p.saveState()] as const);
    const b = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios, debugcon: (c) => (after += String.fromCharCode(c)), debugExit: { iobase: 0xf4, iosize: 4 } });
    // Run the other machine nearly to the end first: its code cache holds the rewritten RAM code, which the loaded
    // state (perhaps from before the rewrite) must not reuse.
    b.run(atIcount(whole.icount - 200));
    after = "";
    for (const [i, p] of b.stateParts.entries()) {
      assert.equal(p.stateName, saved[i][0]);
      p.loadState(saved[i][1], p.stateVersion);
    }
    while (b.run(atIcount(1e9)) === "limit");
    assert.equal(b.exitCode, 33);
    assert.equal(b.clock.icount, whole.icount, `resumed at ${at}`);
    assert.equal(before + after, whole.out, `resumed at ${at}`);
  }
});

// Rewind's pc board (first slice) runs the bundled real-mode guest as QEMU does: the same debug-console bytes,
// the same isa-debug-exit status, and the same number of instructions as QEMU's one-instruction-per-block trace
// counts — however the run is split into slices.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";
import { xorshift32 } from "../helpers/random.js";

const GUEST = join(ROOT, "guests/x86/hello.bin");
const EXPECTED = readFileSync(join(ROOT, "guests/x86/README.md"), "utf8").split("prints (QEMU 7.2")[1].split("```")[1].trim();

function run(slices?: () => number): { out: string; exit: number | undefined; icount: number; reason: string } {
  let out = "";
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(GUEST), debugcon: (b) => (out += String.fromCharCode(b)), debugExit: { iobase: 0xf4, iosize: 4 } });
  let reason: string;
  for (;;) {
    reason = m.run(atIcount(slices ? m.clock.icount + slices() : 1e9));
    if (reason !== "limit") break;
  }
  return { out, exit: m.exitCode, icount: m.clock.icount, reason };
}

test("pc: hello.bin prints what it prints under QEMU and exits through isa-debug-exit with status 1", () => {
  const r = run();
  assert.equal(r.reason, "poweroff");
  assert.equal(r.exit, 1);
  assert.equal(r.out.trim().split("\n").map((l) => l.trimEnd()).join("\n"), EXPECTED);
  // Split into random slices, the run ends at the same instruction with the same output.
  const rnd = xorshift32(99);
  const sliced = run(() => 1 + (rnd() % 200));
  assert.deepEqual(sliced, r);
});

test("pc: hello.bin takes as many instructions as QEMU executes (one-instruction trace)", { skip: missingTool("qemu-system-x86_64") }, () => {
  const log = join(tempDir("rewind-x86-trace-"), "exec.log");
  const q = spawnSync("qemu-system-x86_64", ["-M", "pc", "-bios", GUEST, "-display", "none", "-nodefaults", "-debugcon", "file:/dev/null",
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-singlestep", "-d", "exec,nochain", "-D", log], { timeout: 30_000 });
  assert.equal(q.status, 1);
  const traced = readFileSync(log, "latin1").split("\n").filter((l) => l.startsWith("Trace")).length;
  assert.equal(run().icount, traced);
});

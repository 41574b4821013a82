// The bundled x86 guests under qemu-system-x86_64: they run as guests/x86/README.md says, so they can serve as
// the reference for Rewind's pc board. The image is rebuilt from its source too and must equal the committed one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const GUESTS = join(ROOT, "guests/x86");

function runQemu(image: string, extra: string[] = []): { status: number | null; out: string } {
  const r = spawnSync("qemu-system-x86_64", ["-M", "pc", "-bios", image, "-display", "none", "-nodefaults", "-debugcon", "stdio",
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", ...extra], { encoding: "latin1", timeout: 30_000 });
  return { status: r.status, out: r.stdout };
}

test("hello.bin under QEMU's pc: real mode from the reset vector, CPUID of qemu64, the exit device", { skip: missingTool("qemu-system-x86_64") }, () => {
  const { status, out } = runQemu(join(GUESTS, "hello.bin"));
  assert.equal(status, 1, out);
  const expected = readFileSync(join(GUESTS, "README.md"), "utf8").split("prints (QEMU 7.2")[1].split("```")[1].trim();
  assert.equal(out.trim().split("\n").map((l) => l.trimEnd()).join("\n"), expected);
  // The same with -icount shift=7: deterministic, the same bytes.
  assert.equal(runQemu(join(GUESTS, "hello.bin"), ["-icount", "shift=7"]).out, out);
});

test("guests/x86/build.sh rebuilds hello.bin byte for byte", { skip: missingTool("as", "ld") }, () => {
  const dir = tempDir("rewind-x86-guest-");
  copyFileSync(join(GUESTS, "hello.S"), join(dir, "hello.S"));
  copyFileSync(join(GUESTS, "build.sh"), join(dir, "build.sh"));
  const r = spawnSync("bash", [join(dir, "build.sh"), "hello"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "hello.bin")), readFileSync(join(GUESTS, "hello.bin")));
});

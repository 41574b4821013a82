// guests/x86/paging.bin on Rewind's pc board against qemu-system-x86_64: 32-bit paging with an alias page, the
// accessed/dirty bits the CPU sets, #PF on a not-present and on a read-only page (CR2, error code, the instruction
// restarts), a stale TLB entry until INVLPG and MOV CR3, a 4 MiB page, then PAE with NXE (a 2 MiB page, a fetch #PF
// from an XD page, a reserved-bit #PF), then long mode (4-level tables, a 64-bit code segment and IDT, RIP-relative
// data, a #PF returned from with IRETQ; SYSRET/SYSCALL, SWAPGS, a #PF at CPL 3 on the TSS's RSP0 stack). The same debug-console bytes and exit status in one run and in random
// slicings; the instruction count is QEMU's one-instruction trace plus one step per fetch #PF (QEMU raises those
// while translating, so its trace has no line for them; Rewind delivers them in a step of their own that adds no
// time, as it takes interrupts); states saved in the middle of paging and loaded into a fresh machine end as the
// uninterrupted run; the image is rebuilt from its source byte for byte.

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
const GUEST = join(GUESTS, "paging.bin");
const EXPECTED = readFileSync(join(GUESTS, "README.md"), "utf8").split("`paging.bin` prints (QEMU 7.2")[1].split("```")[1].trim();
const QEMU_ARGS = ["-M", "pc", "-bios", GUEST, "-display", "none", "-nodefaults", "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"];
/** Fetch page faults the guest takes (one: the call into the XD page). */
const FETCH_FAULTS = 1;

const norm = (s: string) => s.trim().split("\n").map((l) => l.trimEnd()).join("\n");

function machine(onOut: (c: number) => void): PcMachine {
  return new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(GUEST), debugcon: onOut, debugExit: { iobase: 0xf4, iosize: 4 } });
}

function run(slices?: () => number): { out: string; exit: number | undefined; icount: number; ns: number; reason: string } {
  let out = "";
  const m = machine((b) => (out += String.fromCharCode(b)));
  let reason: string;
  for (;;) {
    reason = m.run(atIcount(slices ? m.clock.icount + slices() : 1e9));
    if (reason !== "limit") break;
  }
  assert.equal(m.stuckReason, "");
  return { out, exit: m.exitCode, icount: m.clock.icount, ns: m.clock.ns, reason };
}

test("pc: paging.bin prints what QEMU printed (README) and exits with status 35, in any slicing", () => {
  const r = run();
  assert.equal(r.reason, "poweroff");
  assert.equal(r.exit, 35);
  assert.equal(norm(r.out), norm(EXPECTED));
  for (const seed of [3, 99]) {
    const rnd = xorshift32(seed);
    assert.deepEqual(run(() => 1 + (rnd() % 500)), r);
  }
});

test("pc: paging.bin under qemu-system-x86_64: the same output and status, and the same instruction count", { skip: missingTool("qemu-system-x86_64") }, () => {
  const q = spawnSync("qemu-system-x86_64", [...QEMU_ARGS, "-debugcon", "stdio", "-icount", "shift=7"], { encoding: "latin1", timeout: 30_000 });
  assert.equal(q.status, 35);
  assert.equal(norm(q.stdout), norm(EXPECTED));
  const log = join(tempDir("rewind-x86-paging-"), "exec.log");
  const t = spawnSync("qemu-system-x86_64", [...QEMU_ARGS, "-debugcon", "file:/dev/null", "-icount", "shift=7,sleep=off", "-singlestep", "-d", "exec,nochain", "-D", log], { timeout: 60_000 });
  assert.equal(t.status, 35);
  const traced = readFileSync(log, "latin1").split("\n").filter((l) => l.startsWith("Trace")).length;
  const r = run();
  assert.equal(r.icount - FETCH_FAULTS, traced);
  // No time for the fetch #PF's step, nor for the five data #PFs (QEMU gives a run-time fault's count back).
  assert.equal(r.ns, (traced - 5) * 128);
});

test("guests/x86/build.sh rebuilds paging.bin byte for byte", { skip: missingTool("as", "ld") }, () => {
  const dir = tempDir("rewind-x86-guest-");
  copyFileSync(join(GUESTS, "paging.S"), join(dir, "paging.S"));
  copyFileSync(join(GUESTS, "build.sh"), join(dir, "build.sh"));
  const r = spawnSync("bash", [join(dir, "build.sh"), "paging"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "paging.bin")), readFileSync(GUEST));
});

test("pc: paging.bin saved at random points (the TLB with it) and loaded into a fresh machine ends as the uninterrupted run", () => {
  const whole = run();
  const rnd = xorshift32(2024);
  // First where the TLB holds a stale entry: the alias's PTE already points at 0x21000, the old translation is
  // still cached, and the loaded machine must read through it as the uninterrupted run does.
  const probe = machine(() => {});
  while (probe.bus.read32(0x12000) !== 0x21003) assert.equal(probe.run(atIcount(probe.clock.icount + 1)), "limit");
  const points = [probe.clock.icount, ...Array.from({ length: 5 }, () => 1 + (rnd() % (whole.icount - 1)))];
  for (const at of points) {
    let before = "";
    let after = "";
    const a = machine((c) => (before += String.fromCharCode(c)));
    assert.equal(a.run(atIcount(at)), "limit");
    const saved = a.stateParts.map((p) => [p.stateName, p.saveState()] as const);
    const b = machine((c) => (after += String.fromCharCode(c)));
    b.run(atIcount(whole.icount - 100));
    after = "";
    for (const [i, p] of b.stateParts.entries()) {
      assert.equal(p.stateName, saved[i][0]);
      p.loadState(saved[i][1], p.stateVersion);
    }
    while (b.run(atIcount(1e9)) === "limit");
    assert.equal(b.exitCode, 35);
    assert.equal(b.clock.icount, whole.icount, `resumed at ${at}`);
    assert.equal(before + after, whole.out, `resumed at ${at}`);
  }
});

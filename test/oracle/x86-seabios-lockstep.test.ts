// Lockstep against qemu-system-x86_64's gdbstub: SeaBIOS from the reset vector, every register QEMU's x86_64
// stub serves (rax..r15, rip, eflags, the six selectors, fs/gs/k_gs base, cr0/2/3/4/8, efer) compared after every
// instruction with Rewind's pc board — through real mode, the switch to 32-bit flat mode, the PAM shadowing and
// fw_cfg. The first divergence is reported with the instruction's address and every differing register.
// (test/x86/pc-seabios-trace.test.ts compares the addresses of the first 477,000 instructions; this compares the
// whole register file, at gdbstub speed.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { RspClient } from "../../src/gdb/rsp-client.js";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { X86_GDB_REGISTERS } from "../../src/arch/x86/gdb-registers.js";
import { freePort, missingTool } from "../helpers/tools.js";

const SEABIOS = "/usr/share/seabios/bios-256k.bin";
const KVMVAPIC = "/usr/share/qemu/kvmvapic.bin";
/** How far to compare (REWIND_X86_LOCKSTEP_STEPS=500000 goes to SeaBIOS's first interrupt window, ~2.5 min). */
const STEPS = Number(process.env.REWIND_X86_LOCKSTEP_STEPS ?? 60_000);
const skip = missingTool("qemu-system-x86_64") || (!existsSync(SEABIOS) || !existsSync(KVMVAPIC) ? "needs Debian's seabios and qemu-system-data" : false);

/** The registers compared: QEMU's stub numbers 0..32 (general, rip, eflags, selectors, bases, control, efer). */
const COMPARED = X86_GDB_REGISTERS.filter((r) => r.regnum <= 32);

/** The RTC's start, the same on both (the host clock is an input: QEMU would read today's date). */
const RTC_BASE = "2026-12-02T10:20:30";
const RTC_SECONDS = Date.UTC(2026, 11, 2, 10, 20, 30) / 1000;

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

test(`lockstep with qemu-system-x86_64: SeaBIOS's first ${STEPS.toLocaleString("en-US")} instructions, every register after each`, { skip, timeout: 600_000 }, async () => {
  const port = await freePort();
  // smm=off as the board models it, -icount shift=7 as Rewind's clock; the stub's default single-step masks interrupts and timers, which the BIOS
  // has not enabled this early anyway (IF = 0 until its interrupt setup).
  const q = spawn("qemu-system-x86_64", ["-M", "pc,smm=off", "-display", "none", "-vga", "none", "-nodefaults", "-debugcon", "file:/dev/null",
    "-global", "isa-debugcon.iobase=0x402", "-icount", "shift=7", "-rtc", `base=${RTC_BASE},clock=vm`, "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: "ignore" });
  try {
    let g: RspClient | undefined;
    for (let i = 0; i < 50 && !g; i++) {
      try {
        g = await RspClient.connect("127.0.0.1", port, { timeoutMs: 10_000 });
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(g, "QEMU's gdbstub did not answer");
    await g.cmd("qSupported:xmlRegisters=i386");
    const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(SEABIOS), rtcBootSeconds: RTC_SECONDS, debugcon: () => {}, optionRoms: [{ name: "kvmvapic.bin", data: readFileSync(KVMVAPIC) }] });
    const layout = COMPARED.map((r) => ({ r, offset: 0, size: r.bitsize / 8 }));
    let off = 0;
    for (const l of layout) {
      l.offset = off;
      off += l.size;
    }
    const c = m.cpu;
    let compared = 0;
    for (let i = 0; i <= STEPS; i++) {
      compared = i;
      const reply = await g.cmd("g");
      const diffs: string[] = [];
      for (const { r, offset, size } of layout) {
        const theirs = reply.slice(offset * 2, (offset + size) * 2);
        const ours = hex(m.debug.readRegister(r.regnum)!);
        if (theirs !== ours) diffs.push(`${r.name}: QEMU ${theirs}, Rewind ${ours}`);
      }
      if (diffs.length) assert.fail(`after ${i} instructions (pc 0x${m.pc().toString(16)}): ${diffs.join("; ")}`);
      if (i === STEPS) break;
      // QEMU's gdbstub steps with interrupts masked (its default sstep flags), and its PAUSE ends a step early
      // (the next instruction runs in the same step), so the lockstep ends where interrupts could first be taken:
      // SeaBIOS's first window (STI; NOP; PAUSE; CLI), after about 416,000 instructions.
      if ((c.rflags & 0x200) !== 0) break;
      assert.match(await g.cmd("s"), /^T05/);
      assert.equal(m.run(atIcount(m.clock.icount + 1)), "limit", m.stuckReason);
    }
    g.close();
    assert.ok(compared >= Math.min(STEPS, 400_000), `only ${compared} instructions compared`);
  } finally {
    q.kill("SIGKILL");
  }
});

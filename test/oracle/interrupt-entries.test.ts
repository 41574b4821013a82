// Oracle for interrupt timing in long runs: QEMU and Rewind run a guest whose interrupts arrive while it computes
// (busy.elf: a timer re-armed with TVAL in its handler; busy-gic.elf: interrupts made pending by GIC and timer
// register writes) at full speed, each stopping only at a hardware breakpoint on the IRQ vector. At every
// interrupt entry the general registers, SP, PC and PSTATE must be the same — the interrupt was taken after the
// same instruction — however each side split its run internally. Single-step lockstep cannot see burst-splitting
// bugs; this does. QEMU runs the replay of its own `-icount shift=7,sleep=off` recording (its gdbstub does not
// stop at breakpoints reliably in a live icount run).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { QemuTarget } from "../../src/tools/lockstep/qemu-target.js";
import { MachineSession } from "../../src/session/session.js";
import { guestPath, newMachine } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const skip = missingTool("qemu-system-aarch64", "aarch64-linux-gnu-nm");
const NAMES = [...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp", "pc", "cpsr"];

function symbol(elf: string, name: string): bigint {
  const r = spawnSync("aarch64-linux-gnu-nm", [elf], { encoding: "utf8" });
  const line = (r.stdout ?? "").split("\n").find((l) => l.trim().endsWith(` ${name}`));
  assert.ok(line, `${name} not in ${elf}`);
  return BigInt("0x" + line.trim().split(" ")[0]);
}

/**
 * One deliberate difference: QEMU 7.2 clears NZCV on exception entry; the Arm ARM (AArch64.TakeException) keeps
 * PSTATE.NZCV, and so does Rewind (the single-step lockstep oracle makes the same allowance at exception
 * entries). Here PSTATE is compared without the flags; the interrupted code's flags are still in SPSR_EL1.
 */
const PSTATE_WITHOUT_NZCV = 0x0fffffffn;

function value(name: string, v: bigint): string {
  return `${name}=${(name === "cpsr" ? v & PSTATE_WITHOUT_NZCV : v).toString(16)}`;
}

function hex(v: bigint | Uint8Array): string {
  if (typeof v === "bigint") return v.toString(16);
  let n = 0n;
  for (let i = v.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(v[i]);
  return n.toString(16);
}

async function qemuEntries(elf: string, vector: bigint): Promise<string[]> {
  const qemu = await QemuTarget.start({ kernel: elf, mode: "replay", icount: "shift=7,sleep=off", registers: "core", timeoutMs: 60_000 });
  const out: string[] = [];
  try {
    const client = qemu.client;
    await client.setBreakpoint(1, vector, 4);
    for (;;) {
      const stop = await client.cont({ timeoutMs: 60_000 });
      if (stop.kind !== "signal" || stop.reason === "replaylog") break;
      const regs = await client.readRegisters(NAMES);
      out.push(NAMES.map((n) => value(n, regs.get(n)!)).join(" "));
      assert.ok(out.length < 10_000, "too many interrupts");
      // Off the breakpoint (QEMU would report it again at once): run to the vector's second instruction;
      // interrupts are masked on entry, so nothing comes in between.
      await client.removeBreakpoint(1, vector, 4);
      await client.setBreakpoint(1, vector + 4n, 4);
      const next = await client.cont({ timeoutMs: 60_000 });
      assert.equal(next.kind, "signal");
      await client.removeBreakpoint(1, vector + 4n, 4);
      await client.setBreakpoint(1, vector, 4);
    }
  } finally {
    await qemu.close();
  }
  return out;
}

async function rewindEntries(guest: string, vector: bigint): Promise<string[]> {
  const g = newMachine(guest);
  const session = new MachineSession({ machine: g.machine, mode: "live" });
  const regnum = new Map(session.registers().map((r) => [r.name, r.regnum]));
  session.addBreakpoint("hw", vector, 4);
  const out: string[] = [];
  for (;;) {
    const ev = await session.cont();
    if (ev.kind !== "breakpoint") {
      assert.equal(ev.kind, "poweroff");
      return out;
    }
    out.push(NAMES.map((n) => value(n, BigInt("0x" + hex(session.readRegister(regnum.get(n)!)!)))).join(" "));
  }
}

// remap.elf: the same with the MMU on while the page tables are rewritten and TTBR0 switched (2,500 entries).
for (const [guest, atLeast] of [["busy.elf", 100], ["busy-gic.elf", 40], ["remap.elf", 2000]] as const) {
  test(`${guest}: every interrupt entry matches QEMU -icount shift=7,sleep=off`, { skip, timeout: 300_000 }, async () => {
    const elf = guestPath(guest);
    const irqVector = symbol(elf, "vectors") + 0x280n; // IRQ from the current EL with SP_ELx
    const fromQemu = await qemuEntries(elf, irqVector);
    const fromRewind = await rewindEntries(guest, irqVector);
    assert.ok(fromQemu.length >= atLeast, `QEMU took ${fromQemu.length} interrupts`);
    for (let i = 0; i < Math.max(fromQemu.length, fromRewind.length); i++)
      assert.equal(fromRewind[i], fromQemu[i], `interrupt ${i + 1} of ${fromQemu.length}`);
  });
}

// Breakpoints and watchpoints on the pc board through X86Debug and the session's (architecture-neutral)
// DebugPoints, on the bundled real-mode guest hello.bin. Oracles: the single-step trace of the same guest (where
// the PC and SP first take the values a stop must show), qemu-system-x86_64's gdbstub (Z1 at the linear PC and
// Z2/Z3 on the stack: the same registers at the stop as Rewind's), and a run without debug points (the same
// final state digest, icount and output however many stops the run made).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { X86Debug } from "../../src/arch/x86/debug.js";
import { X86_GDB_REGISTERS } from "../../src/arch/x86/gdb-registers.js";
import { ExecutedPages } from "../../src/core/exec-summary.js";
import { atIcount } from "../../src/core/position.js";
import { digestBytes, encodeState, saveSections } from "../../src/core/state.js";
import { DebugPoints } from "../../src/session/debug-points.js";
import { RspClient, type BreakpointType } from "../../src/gdb/rsp-client.js";
import { ROOT } from "../helpers/sessions.js";
import { freePort, missingTool } from "../helpers/tools.js";

const GUEST = join(ROOT, "guests/x86/hello.bin");
/** hello.bin's stack starts at 0000:7000: the first CALL pushes its return address at 0x6ffe. */
const STACK_SLOT = 0x6ffen;

function boot(guest = GUEST) {
  const out: number[] = [];
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(guest), debugcon: (b) => out.push(b), debugExit: { iobase: 0xf4, iosize: 4 } });
  const debug = new X86Debug(m.cpu, m.interp);
  const points = new DebugPoints(debug);
  points.timing = debug.watchReport;
  return { m, debug, points, out };
}

const digest = (m: PcMachine) => digestBytes(encodeState(saveSections(m.stateParts)));
const sp = (m: PcMachine) => m.cpu.lo[4] & 0xffff;

/** The linear PC and SP at every icount of the first `n` steps. */
function trace(n: number): { pc: bigint; sp: number }[] {
  const { m, debug } = boot();
  const t: { pc: bigint; sp: number }[] = [];
  for (let i = 0; i <= n; i++) {
    t.push({ pc: debug.pc(), sp: sp(m) });
    m.run(atIcount(i + 1));
  }
  return t;
}

const TRACE = trace(3000);

test("x86 breakpoint: stops before the instruction at its linear PC (CS base + IP), with 0 steps when run again", () => {
  const { m, debug } = boot();
  debug.setBreakpoints([0xfffffff0n]); // the reset vector: CS base FFFF0000 + IP FFF0
  assert.equal(m.run(atIcount(1e9)), "debug");
  assert.equal(m.clock.icount, 0);
  // An instruction some way in: the first time the trace reaches it.
  const target = TRACE[1500].pc;
  const first = TRACE.findIndex((s) => s.pc === target);
  debug.setBreakpoints([target]);
  assert.equal(m.run(atIcount(1e9)), "debug");
  assert.equal(m.clock.icount, first);
  assert.equal(debug.pc(), target);
  assert.ok(m.cpu.segBaseLo[1] !== 0 && BigInt(m.cpu.ripLo) !== target, "the linear PC is not RIP in real mode");
  // Still on it: the next run stops again without executing anything.
  assert.equal(m.interp.runBurst(100), 0);
  assert.equal(m.interp.takeDebugStop(), true);
  assert.equal(m.clock.icount, first);
  assert.deepEqual(new DebugPoints(debug).takeEvent(), { kind: "breakpoint", type: "sw", addr: target });
});

test("x86 write watchpoint: stops after the storing instruction (the CALL that pushed onto the slot)", () => {
  const { m, debug, points } = boot();
  points.addWatchpoint("write", STACK_SLOT, 2);
  points.arm(false, true);
  assert.equal(m.run(atIcount(1e9)), "debug");
  assert.deepEqual(points.takeEvent(), { kind: "watchpoint", type: "write", addr: STACK_SLOT });
  assert.equal(m.clock.icount, TRACE.findIndex((s) => s.sp === 0x6ffe));
  assert.equal(sp(m), 0x6ffe);
  assert.notEqual(m.bus.read16(0x6ffe), 0); // the return address is there: the CALL completed
  assert.equal(debug.lastWatchStopAfterAccess(), false);
});

test("x86 read watchpoint: stops after the loading instruction (the RET that popped the slot)", () => {
  const { m, points } = boot();
  points.addWatchpoint("read", STACK_SLOT, 2);
  points.arm(false, true);
  assert.equal(m.run(atIcount(1e9)), "debug");
  assert.deepEqual(points.takeEvent(), { kind: "watchpoint", type: "read", addr: STACK_SLOT });
  const ret = TRACE.findIndex((s, i) => i > 0 && TRACE[i - 1].sp === 0x6ffe && s.sp === 0x7000);
  assert.equal(m.clock.icount, ret);
  assert.equal(sp(m), 0x7000);
});

test("x86 debug points change nothing: the same digest, icount and output as a run without them", () => {
  const plain = boot();
  assert.equal(plain.m.run(atIcount(1e9)), "poweroff");
  const { m, debug, points, out } = boot();
  const executed = new ExecutedPages();
  m.interp.executed = executed;
  const breakpoint = TRACE[700].pc;
  points.addBreakpoint("hw", breakpoint, 1);
  points.addWatchpoint("access", STACK_SLOT, 2);
  let stops = 0;
  for (;;) {
    points.arm(true, true);
    const reason = m.run(atIcount(1e9));
    if (reason !== "debug") {
      assert.equal(reason, "poweroff");
      break;
    }
    stops++;
    const e = points.takeEvent();
    if (e.kind === "breakpoint") {
      // Step off the breakpoint as the session does: one step without breakpoints.
      points.arm(false, true);
      m.run(atIcount(m.clock.icount + 1));
      debug.pc(); // (a watch hit in that step is taken by the next takeEvent)
    }
  }
  assert.ok(stops > 10, `${stops} stops`);
  assert.equal(m.clock.icount, plain.m.clock.icount);
  assert.equal(digest(m), digest(plain.m));
  assert.deepEqual(out, plain.out);
  // Every page the guest ran from was noted: the reset vector's and the BIOS's pages at F0000.
  const pages = executed.take();
  assert.ok(pages.has(0xfffff) && pages.has(0xf0), [...pages].map((p) => p.toString(16)).join(" "));
});

/** Runs hello.bin in qemu-system-x86_64 to the first hit of one Z packet; its registers there, by name. */
async function qemuStop(type: BreakpointType, addr: bigint, kind: number, guest = GUEST): Promise<Map<string, bigint>> {
  const port = await freePort();
  const q = spawn("qemu-system-x86_64", ["-M", "pc", "-S", "-gdb", `tcp:127.0.0.1:${port}`, "-display", "none", "-nodefaults", "-bios", guest], { stdio: "ignore" });
  const client = await RspClient.connect("127.0.0.1", port, { connectRetryMs: 10_000, timeoutMs: 10_000 });
  try {
    await client.readTargetXml();
    await client.setBreakpoint(type, addr, kind);
    const stop = await client.cont({ timeoutMs: 10_000 });
    assert.equal(stop.kind, "signal");
    return await client.readRegisterBlock();
  } finally {
    client.close();
    q.kill();
  }
}

function registersOf(debug: X86Debug): Map<string, bigint> {
  const le = (b: Uint8Array) => b.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n);
  return new Map(X86_GDB_REGISTERS.map((r) => [r.name, le(debug.readRegister(r.regnum)!)]));
}

test("x86 stops as qemu-system-x86_64's gdbstub makes them: Z1 at rip + cs * 16, Z2 and Z3 on the stack", { skip: missingTool("qemu-system-x86_64"), timeout: 60_000 }, async () => {
  // The breakpoint: QEMU compares Z1 with the linear PC; the registers at the stop are the same.
  const target = TRACE[1500].pc;
  const bp = boot();
  bp.debug.setBreakpoints([target]);
  assert.equal(bp.m.run(atIcount(1e9)), "debug");
  assert.deepEqual(await qemuStop(1, target, 1), registersOf(bp.debug));
  for (const [type, kind] of [[2, "write"], [3, "read"]] as const) {
    const w = boot();
    w.points.addWatchpoint(kind, STACK_SLOT, 2);
    w.points.arm(false, true);
    assert.equal(w.m.run(atIcount(1e9)), "debug");
    assert.deepEqual(await qemuStop(type, STACK_SLOT, 2), registersOf(w.debug), kind);
  }
});

test("x86 read watchpoint on an IVT entry: INT n's vector read stops after the INT, in its handler", () => {
  // QEMU 7.2 cannot be asked: a watchpoint hit inside its interrupt helper fails an assertion
  // (qemu_mutex_lock_iothread_impl) and the emulator aborts. The SDM's INT n (real mode) is the oracle: FLAGS, CS
  // and IP pushed, CS:IP loaded from IVT[n].
  // pmode.bin points vector 0x80 at its handler, then executes INT 0x80 in real mode: the CPU reads IVT[0x80].
  const w = boot(join(ROOT, "guests/x86/pmode.bin"));
  w.points.addWatchpoint("read", 0x200n, 4);
  w.points.arm(false, true);
  assert.equal(w.m.run(atIcount(1e9)), "debug");
  assert.deepEqual(w.points.takeEvent(), { kind: "watchpoint", type: "read", addr: 0x200n });
  const c = w.m.cpu;
  assert.equal(c.segSel[1], w.m.bus.read16(0x202));
  assert.equal(c.ripLo & 0xffff, w.m.bus.read16(0x200));
  const frame = (c.segBaseLo[2] >>> 0) + (c.lo[4] & 0xffff);
  assert.equal(w.m.bus.read16(frame + 2), 0xf000); // the interrupted CS
  assert.equal(w.m.bus.read8(w.m.bus.read16(frame) + 0xf0000 - 2), 0xcd); // the return IP follows INT (CD 80)
});

// The GDB server over the real MachineSession, replaying a recording of busy.elf (timer interrupts arriving
// while the guest computes): the packets GDB uses (?, g, p, m, s, bs, c, bc, Z0-Z3, ^C, monitor) answer from the
// real machine, and a contract test runs one sequence of DebugSession calls against the fake of
// test/gdb/fake-session.ts and the real session to show that they answer alike where the fake models behaviour.
//
// Nothing here depends on wall-clock timing: ^C is sent once the session reports the run under way (and has made
// progress), the replay runs in small slices so that a continue spans many event-loop turns, and the timeouts
// only bound how long a broken server may keep a test waiting.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RspClient } from "../../src/gdb/rsp-client.js";
import { startGdbServer } from "../../src/gdb/listen.js";
import { decodeLittleEndian } from "../../src/gdb/rsp-packet.js";
import { readElfSymbols } from "../../src/boards/elf-symbols.js";
import {
  ReplayReadOnlyError,
  SessionBusyError,
  SessionError,
  type DebugSession,
  type StopEvent,
} from "../../src/session/api.js";
import type { MachineSession } from "../../src/session/session.js";
import { guestPath, recordSession, replaySession, tempDir } from "../helpers/sessions.js";
import { missingTool, runGdb } from "../helpers/tools.js";
import { DATA_ADDR, FakeSession, LOOP_START } from "./fake-session.js";

const T05 = "T05thread:01;";
const T02 = "T02thread:01;";
const PC = 32;
/** The `g` block of AArch64: x0-x30, sp, pc (8 bytes each), cpsr (4), v0-v31 (16), fpsr, fpcr (4). */
const G_HEX_LENGTH = (31 * 8 + 8 + 8 + 4 + 32 * 16 + 4 + 4) * 2;

const GUEST = "busy.elf";
const elf = readFileSync(guestPath(GUEST));
const symbols = readElfSymbols(elf);
function sym(name: string): bigint {
  const s = symbols.find((x) => x.name === name);
  assert.ok(s, `${GUEST} has no symbol ${name}`);
  return s.value;
}
const ENTRY = sym("_start");
const TIMER_IRQ = sym("timer_irq"); // the timer interrupt handler: 100 calls
const HANDLE_IRQ = sym("handle_irq"); // the GIC dispatcher, called for every interrupt
const UART_IRQ = sym("uart_irq"); // never called: the recording has no serial input
const TICKS = sym("ticks"); // written once per timer interrupt, read by main()'s loop
const hex = (v: bigint | number) => v.toString(16);

/** Bytes of the ELF file's loadable segments at a virtual address (what the loader put in RAM). */
function elfBytes(vaddr: bigint, length: number): Buffer {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (dv.getUint32(at, true) !== 1) continue; // PT_LOAD
    const offset = dv.getBigUint64(at + 8, true);
    const start = dv.getBigUint64(at + 16, true);
    const filesz = dv.getBigUint64(at + 32, true);
    if (vaddr >= start && vaddr + BigInt(length) <= start + filesz) {
      const from = Number(offset + vaddr - start);
      return elf.subarray(from, from + length);
    }
  }
  throw new Error(`0x${hex(vaddr)} is not in a loadable segment of ${GUEST}`);
}

// ---- one recording for the whole file ------------------------------------------------------------------------

let dir: string;
let recording: string;
let recorded: { output: string; digest: string; end: number };

before(async () => {
  dir = tempDir("rewind-gdb-real-");
  recording = join(dir, "busy.rwr");
  const rec = recordSession(GUEST, recording, { digestInterval: 50_000 });
  const ev = await rec.session.cont();
  assert.equal(ev.kind, "poweroff");
  recorded = { output: rec.output(), digest: rec.session.digest(), end: rec.session.icount() };
  assert.match(recorded.output, /^busy: 100 timer ticks/);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** A replay of the recording under a GDB server on a kernel-chosen loopback port. */
async function serve() {
  // Small slices: a continue over the whole recording spans many event-loop turns (room for ^C, QMP...).
  const rep = replaySession(GUEST, recording, { slice: 5_000, checkpointInterval: 50_000 });
  const logs: string[] = [];
  const handle = await startGdbServer(rep.session, "tcp::0", { log: (m) => logs.push(m) });
  const { port } = handle.address as { port: number };
  const clients: RspClient[] = [];
  const connect = async () => {
    const c = await RspClient.connect("127.0.0.1", port, { timeoutMs: 20_000 });
    clients.push(c);
    return c;
  };
  const g = await connect();
  return {
    ...rep,
    port,
    g,
    connect,
    async close() {
      for (const c of clients) c.close();
      await handle.close();
      assert.deepEqual(logs.filter((l) => l.includes("internal error")), [], "the server hit an internal error");
    },
  };
}

async function reg(c: RspClient, n: number): Promise<bigint> {
  const r = await c.cmd(`p${hex(n)}`);
  const v = decodeLittleEndian(r);
  assert.notEqual(v, undefined, `p${hex(n)} → ${r}`);
  return v!;
}
const pcOf = (c: RspClient) => reg(c, PC);
/** Runs to the first timer interrupt (with a breakpoint that is removed again). */
async function toFirstTick(c: RspClient): Promise<void> {
  assert.equal(await c.cmd(`Z1,${hex(TIMER_IRQ)},4`), "OK");
  assert.match(await c.cmd("c"), /^T05(hwbreak:;)?thread:01;$/);
  assert.equal(await pcOf(c), TIMER_IRQ);
  assert.equal(await c.cmd(`z1,${hex(TIMER_IRQ)},4`), "OK");
}
async function u32At(c: RspClient, addr: bigint): Promise<number> {
  return Buffer.from(await c.cmd(`m${hex(addr)},4`), "hex").readUInt32LE(0);
}
/** Sends ^C once the session has started the run and made progress (or the run has ended). */
function interruptWhenRunning(c: RspClient, session: MachineSession): Promise<number> {
  return new Promise((resolve) => {
    const started = session.icount();
    const poll = () => {
      if (session.runState() === "running" && session.icount() !== started) {
        c.interrupt();
        return resolve(session.icount());
      }
      if (session.runState() === "shutdown") return resolve(-1);
      setImmediate(poll);
    };
    setImmediate(poll);
  });
}

// ---- registers and memory ------------------------------------------------------------------------------------

test("?, g, p 32 and m answer from the replayed machine", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    const features = await g.qSupported();
    assert.equal(features.get("ReverseStep"), true);
    assert.equal(await g.cmd("?"), T05);
    const tdesc = await g.readTargetXml();
    assert.equal(tdesc.architecture, "aarch64");
    assert.equal(tdesc.registers.length, t.session.registers().length);

    // At the start of the recording: the PC is the ELF entry, in `p 32` and in the `g` block.
    assert.equal(await pcOf(g), ENTRY);
    assert.equal(await pcOf(g), t.machine.pc());
    const block = await g.cmd("g");
    assert.equal(block.length, G_HEX_LENGTH);
    const regs = await g.readRegisters();
    assert.equal(regs.get("pc"), ENTRY);
    for (const r of t.session.registers()) {
      const p = await g.cmd(`p${hex(r.regnum)}`);
      assert.equal(p, Buffer.from(t.session.readRegister(r.regnum)!).toString("hex"), `p${hex(r.regnum)} (${r.name})`);
    }
    assert.equal(await g.cmd(`p${hex(t.session.registers().length)}`), "E14"); // no such register

    // m reads what the loader put in RAM; an unmapped address is E14.
    assert.equal(await g.cmd(`m${hex(ENTRY)},40`), elfBytes(ENTRY, 0x40).toString("hex"));
    assert.equal(await g.cmd(`m${hex(TIMER_IRQ)},10`), elfBytes(TIMER_IRQ, 0x10).toString("hex"));
    assert.equal(await g.cmd("m0,4"), "E14");

    // Later in the recording the same packets read the state there: some of the 100 ticks have been taken.
    assert.match(await g.monitor("replay_seek 40000"), /At instruction count 40000\./);
    const ticks = await u32At(g, TICKS);
    assert.equal(ticks, Buffer.from(t.session.readMemory(TICKS, 4)).readUInt32LE(0));
    assert.ok(ticks > 10 && ticks < 100, `ticks at icount 40000: ${ticks}`);
    assert.equal(await pcOf(g), t.machine.pc());
    assert.notEqual(await g.cmd("g"), block);
  } finally {
    await t.close();
  }
});

test("s then bs gives back the same registers (g replies), across an interrupt entry too", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    // Plain code at a few positions: s changes the registers, bs restores them bit for bit.
    for (const at of [0, 1, 777, 50_000, 123_456]) {
      await g.monitor(`replay_seek ${at}`);
      const before = await g.cmd("g");
      const digest = t.session.digest();
      assert.equal(await g.cmd("s"), T05);
      assert.equal(t.session.icount(), at + 1);
      assert.notEqual(await g.cmd("g"), before, `s at ${at} changed nothing`);
      assert.equal(await g.cmd("bs"), T05);
      assert.equal(t.session.icount(), at);
      assert.equal(await g.cmd("g"), before, `registers after s + bs at ${at}`);
      assert.equal(t.session.digest(), digest, `machine state after s + bs at ${at}`);
    }
    // Stop in the timer handler, go back 40 instructions (across the exception entry: the vector, the register
    // saving, handle_irq) and forward again: every forward step shows the registers the reverse steps saw.
    await g.monitor("replay_seek 0");
    await toFirstTick(g);
    const trail: string[] = [await g.cmd("g")];
    const pcs: bigint[] = [await pcOf(g)];
    for (let i = 0; i < 40; i++) {
      assert.equal(await g.cmd("bs"), T05);
      trail.push(await g.cmd("g"));
      pcs.push(await pcOf(g));
    }
    const vectors = sym("vectors");
    assert.ok(
      pcs.some((pc) => pc >= vectors && pc < vectors + 0x800n),
      `the 40 reverse steps crossed the exception entry (pcs: ${pcs.map(hex).join(" ")})`,
    );
    for (let i = trail.length - 2; i >= 0; i--) {
      assert.equal(await g.cmd("s"), T05);
      assert.equal(await g.cmd("g"), trail[i], `registers ${i} steps before the handler`);
    }
  } finally {
    await t.close();
  }
});

// ---- breakpoints and watchpoints ----------------------------------------------------------------------------

test("c to Z0 and Z1 breakpoints, bc back to the earlier hits", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+");
    assert.equal(await g.cmd(`Z0,${hex(TIMER_IRQ)},4`), "OK");
    assert.equal(await g.cmd("c"), "T05swbreak:;thread:01;");
    assert.equal(await pcOf(g), TIMER_IRQ);
    const first = t.session.icount();
    // Continuing from a breakpoint executes its instruction first: the next stop is the next interrupt.
    assert.equal(await g.cmd("c"), "T05swbreak:;thread:01;");
    const second = t.session.icount();
    assert.ok(second > first);
    assert.equal(await u32At(g, TICKS), 1, "one tick taken between the two handler entries");
    assert.equal(await g.cmd(`z0,${hex(TIMER_IRQ)},4`), "OK");

    // A hardware breakpoint on the dispatcher, hit just before each timer_irq; backwards from the 2nd handler.
    assert.equal(await g.cmd(`Z1,${hex(HANDLE_IRQ)},4`), "OK");
    assert.equal(await g.cmd("bc"), "T05hwbreak:;thread:01;");
    assert.equal(await pcOf(g), HANDLE_IRQ);
    const dispatch2 = t.session.icount();
    assert.ok(dispatch2 > first && dispatch2 < second, `${first} < ${dispatch2} < ${second}`);
    assert.equal(await g.cmd("bc"), "T05hwbreak:;thread:01;");
    const dispatch1 = t.session.icount();
    assert.ok(dispatch1 < first);
    // No earlier hit: the beginning of the recording.
    assert.equal(await g.cmd("bc"), "T05replaylog:begin;");
    assert.equal(t.session.icount(), 0);
    // Forward again: the same hits at the same icounts.
    assert.equal(await g.cmd("c"), "T05hwbreak:;thread:01;");
    assert.equal(t.session.icount(), dispatch1);
    assert.equal(await g.cmd("c"), "T05hwbreak:;thread:01;");
    assert.equal(t.session.icount(), dispatch2);
    assert.equal(await g.cmd(`z1,${hex(HANDLE_IRQ)},4`), "OK");
    assert.equal(await g.cmd(`z1,${hex(HANDLE_IRQ)},4`), "E22", "nothing left to remove");
    // Without the swbreak+/hwbreak+ features the reasons are left out (a new client negotiates again).
    t.g.close();
    const g2 = await t.connect();
    await g2.cmd("qSupported");
    assert.equal(await g2.cmd(`Z0,${hex(TIMER_IRQ)},4`), "OK");
    assert.equal(await g2.cmd("c"), T05);
    assert.equal(t.session.icount(), second);
  } finally {
    await t.close();
  }
});

test("Z2 write watchpoint forwards (before the store) and backwards (just after it); Z3 read watchpoint", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    await toFirstTick(g); // past start.S clearing .bss (ticks included)
    const watch = `Z2,${hex(TICKS)},4`;
    assert.equal(await g.cmd(watch), "OK");
    // Forwards the machine stops before the accessing instruction (as GDB expects of AArch64).
    assert.equal(await g.cmd("c"), `T05watch:${hex(TICKS)};thread:01;`);
    const store1 = t.session.icount();
    const storePc = await pcOf(g);
    assert.ok(storePc > TIMER_IRQ && storePc < sym("main"), `the store is in timer_irq: 0x${hex(storePc)}`);
    assert.equal(await u32At(g, TICKS), 0);
    // GDB removes the watchpoint and steps over the store itself.
    assert.equal(await g.cmd(`z2,${hex(TICKS)},4`), "OK");
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await u32At(g, TICKS), 1);
    assert.equal(await g.cmd(watch), "OK");
    assert.equal(await g.cmd("c"), `T05watch:${hex(TICKS)};thread:01;`);
    const store2 = t.session.icount();
    assert.ok(store2 > store1);
    assert.equal(await pcOf(g), storePc);
    assert.equal(await u32At(g, TICKS), 1);
    assert.equal(await g.cmd(`z2,${hex(TICKS)},4`), "OK");
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await u32At(g, TICKS), 2);

    // Backwards the machine stops just after the store (the state a forward run shows after it); GDB then
    // reverse-steps across it and sees the old value.
    assert.equal(await g.cmd(watch), "OK");
    assert.equal(await g.cmd("bc"), `T05watch:${hex(TICKS)};thread:01;`);
    assert.equal(t.session.icount(), store2 + 1);
    assert.equal(await pcOf(g), storePc + 4n);
    assert.equal(await u32At(g, TICKS), 2);
    assert.equal(await g.cmd(`z2,${hex(TICKS)},4`), "OK");
    assert.equal(await g.cmd("bs"), T05);
    assert.equal(await pcOf(g), storePc);
    assert.equal(await u32At(g, TICKS), 1);
    // Two instructions further back, the previous store is found the same way.
    assert.equal(await g.cmd("bs"), T05);
    assert.equal(await g.cmd(watch), "OK");
    assert.equal(await g.cmd("bc"), `T05watch:${hex(TICKS)};thread:01;`);
    assert.equal(t.session.icount(), store1 + 1);
    assert.equal(await u32At(g, TICKS), 1);
    assert.equal(await g.cmd(`z2,${hex(TICKS)},4`), "OK");

    // main() reads `ticks` in its loop: a read watchpoint stops there, before the load.
    assert.equal(await g.cmd(`Z3,${hex(TICKS)},4`), "OK");
    assert.equal(await g.cmd("c"), `T05rwatch:${hex(TICKS)};thread:01;`);
    const loadPc = await pcOf(g);
    assert.ok(loadPc > sym("main"), `the load is in main: 0x${hex(loadPc)}`);
    assert.equal(await g.cmd(`z3,${hex(TICKS)},4`), "OK");
  } finally {
    await t.close();
  }
});

test(
  "bc right after GDB stepped over a watched store reports that store",
  {
    timeout: 30_000,
  },
  async () => {
    const t = await serve();
    try {
      const g = t.g;
      await g.qSupported();
      await toFirstTick(g);
      const watch = `Z2,${hex(TICKS)},4`;
      assert.equal(await g.cmd(watch), "OK");
      assert.equal(await g.cmd("c"), `T05watch:${hex(TICKS)};thread:01;`);
      assert.equal(await g.cmd(watch.replace("Z", "z")), "OK");
      assert.equal(await g.cmd("s"), T05); // GDB's step over the store: ticks 0 -> 1
      const after = t.session.icount();
      assert.equal(await u32At(g, TICKS), 1);
      // reverse-continue now: the first instruction to un-execute is that store.
      assert.equal(await g.cmd(watch), "OK");
      assert.equal(await g.cmd("bc"), `T05watch:${hex(TICKS)};thread:01;`);
      assert.equal(t.session.icount(), after, "stopped just after the store that was just stepped over");
    } finally {
      await t.close();
    }
  },
);

// ---- the ends of the recording ------------------------------------------------------------------------------

test("replay-end and replay-begin: c, s, bc, bs at the ends; the replay matches the recording", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    assert.equal(await g.cmd("c"), "T05replaylog:end;");
    assert.equal(t.session.icount(), recorded.end);
    assert.equal(t.output(), recorded.output, "the console output of the replay");
    assert.equal(t.session.digest(), recorded.digest, "the final machine state");
    assert.equal(await g.cmd("s"), "T05replaylog:end;");
    assert.equal(await g.cmd("c"), "T05replaylog:end;");
    assert.equal(t.session.icount(), recorded.end);
    assert.equal(await g.cmd("bs"), T05);
    assert.equal(t.session.icount(), recorded.end - 1);
    assert.equal(await g.cmd("s"), T05);
    assert.equal(t.session.digest(), recorded.digest);
    // Without breakpoints reverse continue goes to the beginning.
    assert.equal(await g.cmd("bc"), "T05replaylog:begin;");
    assert.equal(t.session.icount(), 0);
    assert.equal(await pcOf(g), ENTRY);
    assert.equal(await g.cmd("bs"), "T05replaylog:begin;");
    assert.equal(await g.cmd("bc"), "T05replaylog:begin;");
    assert.equal(t.session.icount(), 0);
    assert.equal(await g.cmd("s"), T05);
    assert.equal(t.session.icount(), 1);
    assert.equal(await g.monitor("info replay"), `Replaying execution '${recording}': instruction count = 1\n`);
  } finally {
    await t.close();
  }
});

test("monitor replay_break: c stops with T02 at exactly that icount", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    assert.equal(await g.monitor("replay_break 123457"), "");
    assert.equal(await g.cmd("c"), T02);
    assert.equal(t.session.icount(), 123_457);
    assert.match(await g.monitor("replay_break 5"), /Error: cannot set breakpoint at the instruction in the past/);
    // The same state as a seek there gives.
    const other = replaySession(GUEST, recording);
    await other.session.seek(123_457);
    assert.equal(t.session.digest(), other.session.digest());
    // Removed, it no longer stops the machine.
    await g.monitor("replay_break 200000");
    await g.monitor("replay_delete_break");
    assert.equal(await g.cmd("c"), "T05replaylog:end;");
  } finally {
    await t.close();
  }
});

// ---- ^C ------------------------------------------------------------------------------------------------------

test("^C during a long c stops with T02; the session goes on working", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    assert.equal(await g.cmd(`Z0,${hex(UART_IRQ)},4`), "OK"); // never reached: c would run to the end
    const reply = g.cmd("c", { timeoutMs: 20_000 });
    const sentAt = await interruptWhenRunning(g, t.session);
    assert.equal(await reply, T02);
    const stoppedAt = t.session.icount();
    assert.ok(sentAt > 0 && stoppedAt >= sentAt && stoppedAt < recorded.end, `^C at ${sentAt}, stopped at ${stoppedAt}`);
    assert.equal(t.session.runState(), "paused");
    assert.equal(await g.cmd("?"), T05);
    // Usable: registers, step and reverse step, and a continue to the end.
    const regs = await g.cmd("g");
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await g.cmd("bs"), T05);
    assert.equal(await g.cmd("g"), regs);
    assert.equal(t.session.icount(), stoppedAt);

    // ^C during a reverse continue that would scan back to the beginning from near the end.
    await g.monitor(`replay_seek ${recorded.end - 1000}`);
    const back = g.cmd("bc", { timeoutMs: 20_000 });
    await interruptWhenRunning(g, t.session);
    assert.equal(await back, T02);
    assert.equal(t.session.runState(), "paused");
    assert.equal(await g.cmd("s"), T05);

    assert.equal(await g.cmd(`z0,${hex(UART_IRQ)},4`), "OK");
    assert.equal(await g.cmd("c", { timeoutMs: 20_000 }), "T05replaylog:end;");
    assert.equal(t.session.digest(), recorded.digest);
  } finally {
    await t.close();
  }
});

// ---- writes ---------------------------------------------------------------------------------------------------

test("P, G, M, X and c ADDR are refused during replay with E30 and change nothing", { timeout: 30_000 }, async () => {
  const t = await serve();
  try {
    const g = t.g;
    await g.qSupported();
    await g.monitor("replay_seek 1000");
    const digest = t.session.digest();
    const block = await g.cmd("g");
    assert.equal(await g.cmd("P0=0100000000000000"), "E30");
    assert.equal(await g.cmd(`P${hex(PC)}=${Buffer.from(new BigUint64Array([ENTRY]).buffer).toString("hex")}`), "E30");
    assert.equal(await g.cmd("G" + block), "E30");
    assert.equal(await g.cmd(`M${hex(TICKS)},4:01000000`), "E30");
    assert.equal(await g.cmd(`X${hex(TICKS)},1:a`), "E30");
    assert.equal(await g.cmd(`c${hex(ENTRY)}`), "E30");
    assert.equal(await g.cmd(`s${hex(ENTRY)}`), "E30");
    assert.equal(t.session.digest(), digest);
    assert.equal(t.session.icount(), 1000);
    assert.equal(await g.cmd("g"), block);
    assert.equal(await g.cmd("c"), "T05replaylog:end;");
    assert.equal(t.session.digest(), recorded.digest, "the replay is undamaged");
  } finally {
    await t.close();
  }
});

// ---- real GDB ----------------------------------------------------------------------------------------------


test(
  "gdb-multiarch: watch, continue, reverse-continue shows the write just passed (Old 3, New 2)",
  {
    skip: missingTool("gdb-multiarch"),
    timeout: 90_000,
  },
  async () => {
    const t = await serve();
    try {
      t.g.close();
      const cmds = ["set pagination off", "set confirm off", `target remote 127.0.0.1:${t.port}`, "watch ticks", "continue", "continue", "continue", "echo @@back\\n", "reverse-continue", "print ticks", "kill"];
      const { out } = await runGdb(["-q", "-nx", "-batch", ...cmds.flatMap((c) => ["-ex", c]), guestPath(GUEST)]);
      assert.match(out, /Old value = 2\s+New value = 3/, out);
      const back = out.slice(out.indexOf("@@back"));
      assert.match(back, /Old value = 3\s+New value = 2/, out);
      assert.match(back, /\$1 = 2/, out);
    } finally {
      await t.close();
    }
  },
);

// ---- contract: the fake and the real session answer alike ---------------------------------------------------

interface Subject {
  session: DebugSession;
  /** Reached several times (a loop head, an interrupt handler). */
  breakpoint: bigint;
  /** Written several times. */
  watch: bigint;
  pc(): bigint;
  end: number;
}

function errorName(e: unknown): string {
  if (e instanceof ReplayReadOnlyError) return "ReplayReadOnlyError";
  if (e instanceof SessionBusyError) return "SessionBusyError";
  if (e instanceof SessionError) return "SessionError";
  return `unexpected ${String(e)}`;
}

/**
 * How a call answers: "ok" or its error class. `later` marks a call of an asynchronous method, which must report
 * errors by rejecting its promise (a caller's `.catch` sees nothing that is thrown synchronously).
 */
async function outcome(call: () => unknown): Promise<string> {
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    return `${errorName(e)}${asyncCalls.has(call) ? " (thrown synchronously)" : ""}`;
  }
  try {
    await result;
    return "ok";
  } catch (e) {
    return errorName(e);
  }
}
const asyncCalls = new WeakSet<() => unknown>();
const later = (f: () => unknown) => (asyncCalls.add(f), f);

/** One sequence of DebugSession calls; what each answered, in terms that do not depend on the machine. */
async function transcript(x: Subject): Promise<string[]> {
  const s = x.session;
  const out: string[] = [];
  const stopEvents: string[] = [];
  const onStop = (e: StopEvent) => stopEvents.push(e.kind);
  s.on("stop", onStop);
  const describe = (e: StopEvent): string => {
    switch (e.kind) {
      case "breakpoint":
        return `breakpoint ${e.type} ${e.addr === x.breakpoint ? "at the breakpoint" : `at 0x${hex(e.addr)}`}`;
      case "watchpoint":
        return `watchpoint ${e.type} ${e.addr === x.watch ? "on the watched address" : `on 0x${hex(e.addr)}`}`;
      case "replay-break":
        return `replay-break (${e.icount - base} after it was set)`;
      default:
        return e.kind;
    }
  };
  let base = 0;
  const note = (what: string, answer: string) => out.push(`${what}: ${answer}`);
  const value = () => Buffer.from(s.readMemory(x.watch, 4)).toString("hex");

  note("mode", s.replayInfo().mode);
  note("state", s.runState());
  note("reverse step at 0", describe(await s.reverseStep()));
  note("reverse continue without breakpoints", `${describe(await s.reverseCont())} at ${s.icount()}`);
  note("step", `${describe(await s.step())}, icount ${s.icount()}`);
  note("reverse step", `${describe(await s.reverseStep())}, icount ${s.icount()}`);

  s.addBreakpoint("hw", x.breakpoint, 4);
  note("continue to a breakpoint", `${describe(await s.cont())}, pc there: ${x.pc() === x.breakpoint}`);
  const hit1 = s.icount();
  note("continue from it", `${describe(await s.cont())}, later: ${s.icount() > hit1}`);
  note("reverse continue", `${describe(await s.reverseCont())}, at the first hit: ${s.icount() === hit1}`);
  note("reverse continue again", `${describe(await s.reverseCont())} at ${s.icount()}`);
  note("remove it", String(s.removeBreakpoint("hw", x.breakpoint, 4)));
  note("remove it again", String(s.removeBreakpoint("hw", x.breakpoint, 4)));

  await s.seek(hit1);
  s.addWatchpoint("write", x.watch, 4);
  const old = value();
  note("continue to a write watchpoint", `${describe(await s.cont())}, before the store: ${value() === old}`);
  const store = s.icount();
  note("step over the store", `${describe(await s.step())}, stored: ${value() !== old}`);
  const stored = value();
  note("step on", describe(await s.step()));
  note("reverse continue to it", `${describe(await s.reverseCont())}, just after the store: ${s.icount() === store + 1 && value() === stored}`);
  note("reverse step across it", `${describe(await s.reverseStep())}, old value: ${value() === old}`);
  note("remove the watchpoint", String(s.removeWatchpoint("write", x.watch, 4)));
  note("a watchpoint of length 0", await outcome(() => s.addWatchpoint("write", x.watch, 0)));

  note("write memory", await outcome(() => s.writeMemory(x.watch, Uint8Array.of(1))));
  note("write a register", await outcome(() => s.writeRegister(0, new Uint8Array(8))));
  note("system reset", await outcome(() => s.systemReset()));
  note("replay break in the past", await outcome(() => s.setReplayBreak(s.icount() - 1)));
  note("seek past the end", await outcome(later(() => s.seek(x.end + 1))));
  note("seek to -1", await outcome(later(() => s.seek(-1))));
  note("the machine stayed", String(s.icount() === store));

  base = s.icount();
  s.setReplayBreak(base + 5);
  note("continue to a replay break", describe(await s.cont()));
  note("at", String(s.icount() - base));
  s.setReplayBreak(s.icount() + 3);
  s.clearReplayBreak();

  stopEvents.length = 0;
  const run = s.cont();
  note("state while continuing", s.runState());
  note("step while continuing", await outcome(later(() => s.step())));
  note("continue while continuing", await outcome(later(() => s.cont())));
  note("reverse continue while continuing", await outcome(later(() => s.reverseCont())));
  s.pause();
  note("paused continue", `${describe(await run)}, ${s.runState()}`);
  note("stop events", stopEvents.join(" "));
  note("continue to the end", `${describe(await s.cont())}, at the end: ${s.icount() === x.end}`);
  note("step at the end", describe(await s.step()));
  note("continue at the end", describe(await s.cont()));
  note("reverse step from the end", `${describe(await s.reverseStep())}, ${x.end - s.icount()} back`);
  stopEvents.length = 0;
  await s.step();
  await s.reverseStep();
  note("stop events of step and reverse step", stopEvents.join(" "));
  note("seek to 0", `${await outcome(later(() => s.seek(0)))}, icount ${s.icount()}`);
  s.off("stop", onStop);
  return out;
}

test("contract: the fake GDB session and the real session answer the same calls alike", { timeout: 30_000 }, async () => {
  const fake = new FakeSession({ mode: "play", length: 400 });
  const fakeAnswers = await transcript({ session: fake, breakpoint: LOOP_START, watch: DATA_ADDR, pc: () => fake.pc, end: fake.length });
  const real = replaySession(GUEST, recording, { slice: 5_000 });
  const realAnswers = await transcript({ session: real.session, breakpoint: TIMER_IRQ, watch: TICKS, pc: () => real.machine.pc(), end: recorded.end });
  assert.deepEqual(realAnswers, fakeAnswers);
  // The answers themselves, so that a change to both is seen too.
  assert.deepEqual(realAnswers, [
    "mode: play",
    "state: paused",
    "reverse step at 0: replay-begin",
    "reverse continue without breakpoints: replay-begin at 0",
    "step: step, icount 1",
    "reverse step: step, icount 0",
    "continue to a breakpoint: breakpoint hw at the breakpoint, pc there: true",
    "continue from it: breakpoint hw at the breakpoint, later: true",
    "reverse continue: breakpoint hw at the breakpoint, at the first hit: true",
    "reverse continue again: replay-begin at 0",
    "remove it: true",
    "remove it again: false",
    "continue to a write watchpoint: watchpoint write on the watched address, before the store: true",
    "step over the store: step, stored: true",
    "step on: step",
    "reverse continue to it: watchpoint write on the watched address, just after the store: true",
    "reverse step across it: step, old value: true",
    "remove the watchpoint: true",
    "a watchpoint of length 0: SessionError",
    "write memory: ReplayReadOnlyError",
    "write a register: ReplayReadOnlyError",
    "system reset: ReplayReadOnlyError",
    "replay break in the past: SessionError",
    "seek past the end: SessionError",
    "seek to -1: SessionError",
    "the machine stayed: true",
    "continue to a replay break: replay-break (5 after it was set)",
    "at: 5",
    "state while continuing: running",
    "step while continuing: SessionBusyError",
    "continue while continuing: SessionBusyError",
    "reverse continue while continuing: SessionBusyError",
    "paused continue: interrupted, paused",
    "stop events: interrupted",
    "continue to the end: replay-end, at the end: true",
    "step at the end: replay-end",
    "continue at the end: replay-end",
    "reverse step from the end: step, 1 back",
    "stop events of step and reverse step: step step",
    "seek to 0: ok, icount 0",
  ]);
});

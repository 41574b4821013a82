import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { xorshift32 } from "../helpers/random.js";
import { RspClient, RspCommandError } from "../../src/gdb/rsp-client.js";
import { decodeLittleEndian, encodePacket, hexToText, textToHex } from "../../src/gdb/rsp-packet.js";
import { GdbListenError, parseGdbListenSpec, serveGdbOnChardev, startGdbServer } from "../../src/gdb/listen.js";
import type { CharBackend, CharEventListener, CharReceiver } from "../../src/chardev/backend.js";
import type { StopEvent } from "../../src/session/api.js";
import { missingTool, runGdb } from "../helpers/tools.js";
import {
  BASE,
  DATA_ADDR,
  FakeSession,
  LOAD_PC,
  LOOP_START,
  MEM_SIZE,
  STACK_TOP,
  STORE_PC,
  pcAt,
  type FakeSessionOptions,
} from "./fake-session.js";

const T05 = "T05thread:01;";
const T02 = "T02thread:01;";

async function serve(opts: FakeSessionOptions = {}) {
  const session = new FakeSession(opts);
  const logs: string[] = [];
  const handle = await startGdbServer(session, "tcp::0", { log: (m) => logs.push(m) });
  const { port } = handle.address as { host: string; port: number };
  const clients: RspClient[] = [];
  const connect = async (timeoutMs = 5000) => {
    const c = await RspClient.connect("127.0.0.1", port, { timeoutMs });
    clients.push(c);
    return c;
  };
  const close = async () => {
    for (const c of clients) c.close();
    await handle.close();
    assert.deepEqual(
      logs.filter((l) => l.includes("internal error")),
      [],
      "the server hit an internal error",
    );
  };
  return { session, handle, port, connect, logs, close };
}

/** The seed test's register read: `p<n>` decoded as little-endian. */
async function reg(c: RspClient, n: number): Promise<bigint> {
  const r = await c.cmd(`p${n.toString(16)}`);
  const v = decodeLittleEndian(r);
  assert.notEqual(v, undefined, `p${n.toString(16)} → ${r}`);
  return v!;
}
const pcOf = (c: RspClient) => reg(c, 32);
const hex = (v: bigint | number) => v.toString(16);

/** A socket that records every byte the server sends. */
class RawClient {
  data = "";
  private waiters: (() => void)[] = [];
  private constructor(readonly sock: net.Socket) {
    sock.on("data", (d) => {
      this.data += d.toString("latin1");
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("error", () => undefined);
  }
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }
  write(s: string | Buffer): void {
    this.sock.write(typeof s === "string" ? Buffer.from(s, "latin1") : s);
  }
  async waitFor(pred: (data: string) => boolean, timeoutMs = 5000, what = "data"): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.data)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.data.slice(-200))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.data;
  }
  close(): void {
    this.sock.destroy();
  }
}

const frame = (p: string) => encodePacket(p).toString("latin1");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The seed test's flow (tests/acceptance/reverse_debugging.py), packet for packet

test("seed flow: qSupported, target.xml, 10 steps, 10 reverse steps, replay-break, Z1 + reverse continue", { timeout: 30000 }, async () => {
  const t = await serve({ mode: "play", length: 400 });
  try {
    const g = await t.connect();
    const r = await g.cmd("qSupported");
    assert.match(r, /qXfer:features:read\+/);
    assert.match(r, /ReverseStep\+/);
    assert.match(r, /ReverseContinue\+/);
    assert.match(r, /^PacketSize=[0-9a-f]+;/);
    const xml = await g.cmd("qXfer:features:read:target.xml:0,ffb");
    assert.equal(xml[0], "l");
    assert.match(xml, /<architecture>aarch64<\/architecture>/);

    const steps: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      steps.push(await pcOf(g));
      assert.equal(await g.cmd("s"), T05);
    }
    assert.deepEqual(steps, Array.from({ length: 10 }, (_, i) => pcAt(i)));
    for (const addr of [...steps].reverse()) {
      assert.equal(await g.cmd("bs"), T05);
      assert.equal(await pcOf(g), addr);
    }
    assert.equal(t.session.icount(), 0);

    // QMP replay-break at the end, then `c` returns after the pause with SIGINT.
    const last = t.session.length;
    t.session.setReplayBreak(last - 1);
    assert.equal(await g.cmd("c", { timeoutMs: 10000 }), T02);
    assert.equal(t.session.icount(), last - 1);

    for (const addr of steps) assert.equal(await g.cmd(`Z1,${hex(addr)},1`), "OK");
    assert.equal(await g.cmd("bc", { timeoutMs: 10000 }), T05);
    assert.equal(await pcOf(g), steps[9]);
    assert.equal(t.session.icount(), 9);
  } finally {
    await t.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Target description and registers

test("target description: aarch64 core + fpu in QEMU's numbering, readable by the client", async () => {
  const t = await serve();
  try {
    const g = await t.connect();
    await g.qSupported();
    const td = await g.readTargetXml();
    assert.equal(td.architecture, "aarch64");
    assert.deepEqual(td.features, ["org.gnu.gdb.aarch64.core", "org.gnu.gdb.aarch64.fpu"]);
    assert.equal(td.registers.length, 68);
    const r = (n: string) => td.byName.get(n)!;
    assert.deepEqual([r("x0").regnum, r("x30").regnum, r("sp").regnum, r("pc").regnum, r("cpsr").regnum], [0, 30, 31, 32, 33]);
    assert.deepEqual([r("sp").type, r("pc").type, r("cpsr").bitsize, r("pc").bitsize], ["data_ptr", "code_ptr", 32, 64]);
    assert.deepEqual([r("v0").regnum, r("v31").regnum, r("v0").bitsize, r("v0").type], [34, 65, 128, "aarch64v"]);
    assert.deepEqual([r("fpsr").regnum, r("fpcr").regnum, r("fpsr").bitsize], [66, 67, 32]);
    const fpu = td.documents.get("aarch64-fpu.xml")!;
    assert.match(fpu, /<union id="aarch64v">/);
    assert.match(fpu, /<vector id="v2d" type="ieee_double" count="2"\/>/);
    assert.match(td.documents.get("aarch64-core.xml")!, /<flags id="cpsr_flags" size="4">/);
    // Reading in small pieces gives the same document ('m' chunks then 'l').
    let offset = 0;
    let whole = "";
    for (;;) {
      const piece = await g.cmd(`qXfer:features:read:target.xml:${offset.toString(16)},40`);
      assert.ok(piece[0] === "m" || piece[0] === "l", piece);
      whole += piece.slice(1);
      offset += piece.length - 1;
      if (piece[0] === "l") break;
    }
    assert.equal(whole, td.documents.get("target.xml"));
    assert.equal(await g.cmd("qXfer:features:read:target.xml:ffff,10"), "l");
    assert.equal(await g.cmd("qXfer:features:read:nonesuch.xml:0,10"), "E00");
    assert.equal(await g.cmd("qXfer:features:read:target.xml:zz,10"), "E22");
    assert.equal(await g.cmd("qXfer:threads:read::0,100"), "");
  } finally {
    await t.close();
  }
});

test("g/p read every register; writes are refused in replay with E30", async () => {
  const t = await serve({ mode: "play" });
  try {
    const g = await t.connect();
    await g.qSupported();
    await g.readTargetXml();
    const regs = await g.readRegisters();
    assert.equal(regs.get("x1"), DATA_ADDR);
    assert.equal(regs.get("sp"), STACK_TOP);
    assert.equal(regs.get("pc"), BASE);
    assert.equal(regs.get("cpsr"), 0x3c5n);
    assert.equal(regs.get("v1"), (2n << 64n) | 0x0101010101010101n);
    assert.equal(regs.get("fpcr"), 0x03000000n);
    assert.equal((await g.cmd("g")).length, (31 * 8 + 8 + 8 + 4 + 32 * 16 + 4 + 4) * 2);
    assert.equal(await g.cmd("p21"), "c5030000");
    assert.equal(await g.cmd("p43"), "00000003");
    assert.equal(await g.cmd("p44"), "E14"); // no register 68
    assert.equal(await g.cmd("pzz"), "E22");
    assert.equal(await g.cmd("p"), "E22");
    assert.equal(await g.cmd("P0=0100000000000000"), "E30");
    assert.equal(await g.cmd("P0=01"), "E22"); // wrong size
    assert.equal(await g.cmd("P44=01000000"), "E14");
    assert.equal(await g.cmd("P0"), "E22");
    assert.equal(await g.cmd("G" + (await g.cmd("g"))), "E30");
    assert.equal(await g.cmd("G0"), "E22");
    assert.equal(await g.cmd("M40001000,1:00"), "E30");
    assert.equal(await g.cmd("X40001000,1:a"), "E30");
    assert.equal(await g.cmd("X40001000,0:"), "OK"); // GDB's probe for X
    assert.equal(await g.cmd("c40000010"), "E30"); // resuming elsewhere writes the PC
    assert.equal(t.session.icount(), 0);
  } finally {
    await t.close();
  }
});

test("register and memory writes outside replay (P, G, M, X with escaped binary)", async () => {
  const t = await serve({ mode: "none" });
  try {
    const g = await t.connect();
    await g.qSupported();
    await g.readTargetXml();
    await g.writeRegister("x5", 0x1122334455667788n);
    assert.equal(await reg(g, 5), 0x1122334455667788n);
    const block = await g.cmd("g");
    const x7 = "efbeadde00000000";
    assert.equal(await g.cmd("G" + block.slice(0, 7 * 16) + x7 + block.slice(8 * 16)), "OK");
    assert.equal(await reg(g, 7), 0xdeadbeefn);
    assert.equal(await g.cmd("G" + block.slice(0, 16)), "OK"); // a prefix of the layout
    assert.equal(await g.cmd("G" + block.slice(0, 10)), "E22"); // ends inside a register

    await g.writeMemory(DATA_ADDR, Buffer.from([1, 2, 3, 4]));
    assert.deepEqual([...(await g.readMemory(DATA_ADDR, 4))], [1, 2, 3, 4]);
    assert.equal(await g.cmd(`M${hex(DATA_ADDR)},2:abc`), "E22");
    // Every byte value, including the ones that must be escaped ($ # } *), through X.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const x = `X${hex(DATA_ADDR)},100:` + all.toString("latin1");
    assert.equal(await g.cmd(x), "OK");
    assert.deepEqual(await g.readMemory(DATA_ADDR, 256), all);
    assert.equal(await g.cmd(`X${hex(DATA_ADDR)},5:ab`), "E22"); // length mismatch
    assert.equal(await g.cmd("X0,1:a"), "E14"); // unmapped
    assert.equal(await g.cmd("Xzz"), "E22");
    // `s addr` resumes at addr.
    assert.equal(await g.cmd(`s${hex(BASE + 0x10n)}`), T05);
    assert.equal(await pcOf(g), BASE + 0x14n);
  } finally {
    await t.close();
  }
});

test("m: reads, short reads at the end of memory, unmapped, malformed, clamped to the packet size", async () => {
  const t = await serve();
  try {
    const g = await t.connect();
    const r = await g.qSupported();
    assert.equal(await g.cmd(`m${hex(BASE)},8`), "0004009100040091");
    assert.equal(await g.cmd(`m${hex(STORE_PC)},4`), "200000f9");
    const end = BASE + BigInt(MEM_SIZE);
    assert.equal(await g.cmd(`m${hex(end - 4n)},10`), "00000000"); // only the mapped part
    assert.equal(await g.cmd("m0,4"), "E14");
    assert.equal(await g.cmd(`m${hex(end)},1`), "E14");
    assert.equal(await g.cmd("m40000000"), "E22");
    assert.equal(await g.cmd("mzz,4"), "E22");
    assert.equal(await g.cmd("m11111111111111111,4"), "E22"); // more than 64 bits
    assert.equal(await g.cmd("mffffffffffffffff,10"), "E14"); // wraps: not mapped
    assert.equal(await g.cmd(`m${hex(BASE)},0`), "");
    const size = parseInt(String(r.get("PacketSize")), 16);
    assert.equal((await g.cmd(`m${hex(BASE)},100000`)).length, size);
  } finally {
    await t.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Execution and stop replies

test("stop replies: breakpoints (swbreak/hwbreak only when negotiated), watchpoints, replay ends", { timeout: 30000 }, async () => {
  const t = await serve({ mode: "play", length: 200 });
  try {
    const g = await t.connect();
    await g.cmd("qSupported");
    assert.equal(await g.cmd("?"), T05);
    const bp = LOOP_START + 16n;
    assert.equal(await g.cmd(`Z0,${hex(bp)},4`), "OK");
    assert.equal(await g.cmd("c"), T05);
    assert.equal(await pcOf(g), bp);
    // Once GDB says it understands the reasons, they are given.
    await g.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+");
    assert.equal(await g.cmd("c"), "T05swbreak:;thread:01;");
    assert.equal(await g.cmd(`z0,${hex(bp)},4`), "OK");
    assert.equal(await g.cmd(`z0,${hex(bp)},4`), "E22"); // nothing left to remove
    assert.equal(await g.cmd(`Z1,${hex(bp)},4`), "OK");
    assert.equal(await g.cmd("c"), "T05hwbreak:;thread:01;");
    assert.equal(await g.cmd(`z1,${hex(bp)},4`), "OK");

    // Watchpoints stop before the accessing instruction (what GDB expects on AArch64: it then steps over it).
    assert.equal(await g.cmd(`Z2,${hex(DATA_ADDR)},8`), "OK");
    assert.equal(await g.cmd("c"), `T05watch:${hex(DATA_ADDR)};thread:01;`);
    assert.equal(await pcOf(g), STORE_PC);
    assert.equal(await g.cmd(`z2,${hex(DATA_ADDR)},8`), "OK");
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await g.cmd(`Z3,${hex(DATA_ADDR + 4n)},4`), "OK");
    assert.equal(await g.cmd("c"), `T05rwatch:${hex(DATA_ADDR + 4n)};thread:01;`);
    assert.equal(await pcOf(g), LOAD_PC);
    assert.equal(await g.cmd(`z3,${hex(DATA_ADDR + 4n)},4`), "OK");
    assert.equal(await g.cmd("s"), T05);
    assert.equal(await g.cmd(`Z4,${hex(DATA_ADDR)},1`), "OK");
    assert.equal(await g.cmd("c"), `T05awatch:${hex(DATA_ADDR)};thread:01;`);
    assert.equal(await pcOf(g), STORE_PC);
    assert.equal(await g.cmd("s"), T05);
    // Reverse continue reports a watchpoint exactly as forward execution does; backwards it stops just after
    // the access (here the store just stepped over), and GDB reverse-steps across it.
    assert.equal(await g.cmd("bc"), `T05awatch:${hex(DATA_ADDR)};thread:01;`);
    assert.equal(await pcOf(g), LOAD_PC);
    assert.equal(await g.cmd("bs"), T05);
    assert.equal(await g.cmd("bc"), `T05awatch:${hex(DATA_ADDR)};thread:01;`);
    assert.equal(await pcOf(g), LOAD_PC + 4n); // after the load of the previous iteration
    assert.equal(await g.cmd(`z4,${hex(DATA_ADDR)},1`), "OK");
    assert.equal(await g.cmd(`Z2,${hex(DATA_ADDR)},0`), "E22");
    assert.equal(await g.cmd(`Z2,${hex(DATA_ADDR)},40`), "E22"); // the session refuses it
    assert.equal(await g.cmd("Z0,zz,4"), "E22");
    assert.equal(await g.cmd("Z0,1"), "E22");
    assert.equal(await g.cmd("Z9,1,1"), "");
    assert.equal(t.session.activeWatchpoints, 0);
    assert.deepEqual(t.session.activeBreakpoints, []);

    // The end of the recording, forwards and backwards.
    assert.equal(await g.cmd("c"), "T05replaylog:end;");
    assert.equal(t.session.icount(), t.session.length);
    assert.equal(await g.cmd("s"), "T05replaylog:end;");
    assert.equal(await g.cmd("bc"), "T05replaylog:begin;");
    assert.equal(t.session.icount(), 0);
    assert.equal(await g.cmd("bs"), "T05replaylog:begin;");
    assert.equal(await g.cmd("bx"), "");
  } finally {
    await t.close();
  }
});

test("reverse continue lands on the most recent breakpoint hit", async () => {
  const t = await serve({ mode: "play", length: 300 });
  try {
    const g = await t.connect();
    await t.session.seek(100);
    assert.equal(await g.cmd(`Z1,${hex(LOOP_START)},4`), "OK");
    assert.equal(await g.cmd("bc"), T05);
    // The loop (8 instructions) started at icount 16 + 8k; the last start before 100 is 96.
    assert.equal(t.session.icount(), 96);
    assert.equal(await g.cmd("bc"), T05);
    assert.equal(t.session.icount(), 88);
  } finally {
    await t.close();
  }
});

test("vCont: query, step and continue in the forms GDB sends", async () => {
  const t = await serve({ mode: "play", length: 200 });
  try {
    const g = await t.connect();
    assert.equal(await g.cmd("vCont?"), "vCont;c;C;s;S");
    assert.equal(await g.cmd("vCont;s:1"), T05);
    assert.equal(await g.cmd("vCont;s:p1.1;c"), T05);
    assert.equal(await g.cmd("vCont;s:2;s"), T05); // thread 2 does not exist: the default applies
    assert.equal(await g.cmd("vCont;S05:1"), T05);
    assert.equal(t.session.icount(), 4);
    assert.equal(await g.cmd(`Z0,${hex(LOOP_START)},4`), "OK");
    assert.equal(await g.cmd("vCont;c"), T05);
    assert.equal(await pcOf(g), LOOP_START);
    assert.equal(await g.cmd("vCont;C02:p-1.-1"), T05);
    assert.equal(await g.cmd("vCont;t:1"), "E22");
    assert.equal(await g.cmd("vCont;s:zz"), "E22");
    assert.equal(await g.cmd("vCont;"), "E22");
    assert.equal(await g.cmd("C05"), T05);
    assert.equal(await g.cmd("S05"), T05);
    assert.equal(await g.cmd("Cxx"), "E22");
  } finally {
    await t.close();
  }
});

test("^C while continuing: pause() and T02", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none" });
  try {
    const g = await t.connect();
    const stop = g.cont();
    await until(() => t.session.runState() === "running", "the machine to run");
    await sleep(20);
    g.interrupt();
    const reply = await stop;
    assert.equal(reply.raw, T02);
    assert.equal(t.session.runState(), "paused");
    assert.ok(t.session.icount() > 0);
    // vCont;c is interrupted the same way.
    const stop2 = g.cmd("vCont;c:1", { timeoutMs: 10000 });
    await until(() => t.session.runState() === "running", "the machine to run");
    g.interrupt();
    assert.equal(await stop2, T02);
  } finally {
    await t.close();
  }
});

test("^C sent right behind `c` (before it started) still interrupts it", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none" });
  try {
    const raw = await RawClient.connect(t.port);
    raw.write(frame("QStartNoAckMode"));
    await raw.waitFor((d) => d.includes("$OK#9a"));
    // A slow packet first (a monitor command), then c and ^C in one write.
    raw.write(frame(`qRcmd,${textToHex("info status")}`) + frame("c") + "\x03");
    await raw.waitFor((d) => d.includes(frame(T02)), 10000, "T02");
    assert.equal(t.session.runState(), "paused");
    raw.close();
  } finally {
    await t.close();
  }
});

test("c while another front end runs the machine: the next stop is reported", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none" });
  try {
    const g = await t.connect();
    await g.cmd("?");
    const qmpRun = t.session.cont(); // as QMP `cont` would
    const stop = g.cmd("c", { timeoutMs: 10000 });
    await sleep(50);
    t.session.pause(); // QMP `stop`
    assert.equal(await stop, T02);
    assert.equal((await qmpRun).kind, "interrupted");
  } finally {
    await t.close();
  }
});

test("reverse execution outside replay: a message on GDB's console and E22", async () => {
  const t = await serve({ mode: "none" });
  try {
    const g = await t.connect();
    const out: string[] = [];
    g.on("output", (s: string) => out.push(s));
    assert.equal(await g.cmd("bs"), "E22");
    assert.equal(await g.cmd("bc"), "E22");
    assert.match(out.join(""), /reverse execution needs a replay/);
    assert.equal(t.session.runState(), "paused");
  } finally {
    await t.close();
  }
});

test("guest power-off during c gives W00; afterwards ? and s say W00 too", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none", poweroffAt: 300 });
  try {
    const g = await t.connect();
    assert.equal(await g.cmd("c", { timeoutMs: 10000 }), "W00");
    assert.equal(await g.cmd("?"), "W00");
    assert.equal(await g.cmd("s"), "W00");
  } finally {
    await t.close();
  }
});

test("the session ending (QMP quit) while GDB waits on c gives W00 once", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none" });
  try {
    const raw = await RawClient.connect(t.port);
    raw.write(frame("c"));
    await until(() => t.session.runState() === "running", "the machine to run");
    await t.session.quit();
    await raw.waitFor((d) => d.includes(frame("W00")));
    await sleep(100);
    assert.equal(raw.data.split(frame("W00")).length - 1, 1);
    raw.close();
  } finally {
    await t.close();
  }
});

test("a run the session never ends after quit does not block later packets", { timeout: 20000 }, async () => {
  class HangingSession extends FakeSession {
    override cont(): Promise<StopEvent> {
      void super.cont();
      return new Promise(() => undefined);
    }
  }
  const session = new HangingSession({ mode: "none" });
  const h = await startGdbServer(session, "tcp::0");
  try {
    const raw = await RawClient.connect((h.address as { port: number }).port);
    raw.write(frame("c"));
    await until(() => session.runState() === "running", "the machine to run");
    await session.quit();
    await raw.waitFor((d) => d.endsWith(frame("W00")));
    raw.write("+" + frame("?"));
    await raw.waitFor((d) => d.endsWith(frame("W00") + "+" + frame("W00")));
    raw.close();
  } finally {
    await h.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Queries, threads, detach, kill, monitor

test("queries and thread packets", async () => {
  const t = await serve();
  try {
    const g = await t.connect();
    const expect: [string, string][] = [
      ["qC", "QC1"],
      ["qAttached", "1"],
      ["qAttached:1", "1"],
      ["qfThreadInfo", "m1"],
      ["qsThreadInfo", "l"],
      ["qOffsets", ""],
      ["qTStatus", ""],
      ["qSymbol::", "OK"],
      ["vMustReplyEmpty", ""],
      ["Hg0", "OK"],
      ["Hg1", "OK"],
      ["Hc-1", "OK"],
      ["Hgp1.1", "OK"],
      ["Hg2", "E22"],
      ["Hgzz", "E22"],
      ["Hx1", ""],
      ["T1", "OK"],
      ["Tp1.1", "OK"],
      ["T2", "E22"],
      ["Tzz", "E22"],
      ["qThreadExtraInfo,2", "E22"],
      ["Jnothing", ""],
      ["qNothing", ""],
      ["Qnothing", ""],
      ["vNothing", ""],
      ["!", ""],
      ["?x", ""],
      ["gx", ""],
    ];
    for (const [packet, reply] of expect) assert.equal(await g.cmd(packet), reply, packet);
    assert.equal(hexToText(await g.cmd("qThreadExtraInfo,1")), "CPU#0 [paused]");
  } finally {
    await t.close();
  }
});

test("D removes this client's breakpoints, replies OK and resumes the machine (as QEMU)", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "play", length: 300 });
  try {
    const g = await t.connect();
    assert.equal(await g.cmd(`Z0,${hex(LOOP_START)},4`), "OK");
    assert.equal(await g.cmd(`Z2,${hex(DATA_ADDR)},8`), "OK");
    assert.equal(await g.cmd("D"), "OK");
    assert.deepEqual(t.session.activeBreakpoints, []);
    assert.equal(t.session.activeWatchpoints, 0);
    assert.ok(t.session.calls.includes("cont"));
    await until(() => t.session.icount() === t.session.length, "the replay to run to its end");
    g.close();
    const g2 = await t.connect();
    assert.equal(await g2.cmd("D;1"), "OK");
    assert.equal(await g2.cmd("Dx"), "E22");
  } finally {
    await t.close();
  }
});

test("k and vKill end the session through quit()", { timeout: 20000 }, async () => {
  for (const packet of ["k", "vKill;1"]) {
    const t = await serve({ mode: "none" });
    try {
      const raw = await RawClient.connect(t.port);
      raw.write(frame("QStartNoAckMode"));
      await raw.waitFor((d) => d.includes("$OK#9a"));
      raw.write(frame(packet));
      await until(() => t.session.calls.includes("quit"), "quit()");
      await until(() => raw.sock.destroyed || raw.sock.readableEnded, "the server to close the connection");
      if (packet === "vKill;1") assert.ok(raw.data.endsWith("$OK#9a$OK#9a"), raw.data);
      assert.equal(t.session.runState(), "shutdown");
      raw.close();
    } finally {
      await t.close();
    }
  }
});

test("monitor commands: help, info replay/status, replay_seek, replay_break", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "play", length: 500 });
  try {
    const g = await t.connect();
    assert.match(await g.monitor("help"), /replay_seek ICOUNT/);
    assert.equal(await g.monitor("info replay"), "Replaying execution 'replay.bin': instruction count = 0\n");
    assert.equal(await g.monitor("info status"), "VM status: paused\n");
    assert.match(await g.monitor("replay_seek 123"), /At instruction count 123/);
    assert.equal(t.session.icount(), 123);
    assert.equal(await pcOf(g), pcAt(123));
    await g.monitor("replay_seek 0x10");
    assert.equal(t.session.icount(), 16);
    assert.match(await g.monitor("replay_seek 99999"), /^Error: .*outside the recording/);
    assert.match(await g.monitor("replay_seek"), /needs one instruction count/);
    assert.equal(await g.monitor("replay_break 400"), "");
    assert.equal(t.session.replayBreakAt, 400);
    assert.match(await g.monitor("replay_break 3"), /Error: cannot set breakpoint at the instruction in the past/);
    await g.monitor("replay_delete_break");
    assert.equal(t.session.replayBreakAt, undefined);
    assert.match(await g.monitor("frobnicate"), /unknown command: 'frobnicate'/);
    assert.match(await g.monitor("info nothing"), /unknown item/);
    assert.equal(await g.monitor(""), "");
    assert.equal(await g.cmd("qRcmd,zz"), "E22");
    assert.equal(await g.cmd("qRcmd,6"), "E22");
  } finally {
    await t.close();
  }
  const t2 = await serve({ mode: "none" });
  try {
    const g = await t2.connect();
    assert.equal(await g.monitor("info replay"), "Record/replay is not active\n");
    assert.match(await g.monitor("replay_seek 5"), /^Error: reverse execution needs a replay/);
  } finally {
    await t2.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Framing on the wire

test("ack mode on the wire: +, - for a bad checksum, retransmission after -", async () => {
  const t = await serve();
  try {
    const raw = await RawClient.connect(t.port);
    raw.write("+$qC#00");
    await raw.waitFor((d) => d === "-");
    raw.write("$qC#b4");
    await raw.waitFor((d) => d === "-+$QC1#c5");
    raw.write("-");
    await raw.waitFor((d) => d === "-+$QC1#c5$QC1#c5");
    raw.write("+");
    raw.close();
  } finally {
    await t.close();
  }
});

test("no-ack mode: OK is acked, then no acks; a corrupt packet gets E01", async () => {
  const t = await serve();
  try {
    const raw = await RawClient.connect(t.port);
    raw.write("+" + frame("qSupported:swbreak+"));
    await raw.waitFor((d) => d.includes("QStartNoAckMode+"));
    raw.data = "";
    raw.write("+" + frame("QStartNoAckMode"));
    await raw.waitFor((d) => d === "+$OK#9a");
    raw.write("+" + frame("qC"));
    await raw.waitFor((d) => d === "+$OK#9a$QC1#c5");
    raw.write("$qC#00");
    await raw.waitFor((d) => d.endsWith("$E01#a6"));
    raw.write("-"); // ignored: nothing is resent
    raw.write(frame("?"));
    await raw.waitFor((d) => d.endsWith(frame(T05)));
    assert.ok(!raw.data.includes("$E01#a6$E01#a6"));
    raw.close();
    // The client library's no-ack switch works against the server too.
    const g = await t.connect();
    assert.equal(await g.startNoAckMode(), true);
    assert.equal(await g.cmd("qC"), "QC1");
  } finally {
    await t.close();
  }
});

test("a packet longer than PacketSize gets E22 and the connection goes on", async () => {
  const t = await serve();
  try {
    const raw = await RawClient.connect(t.port);
    const big = "M40001000,2001:" + "00".repeat(0x2001);
    raw.write(frame(big));
    await raw.waitFor((d) => d.includes("$E22#a9"));
    raw.write(frame("qC"));
    await raw.waitFor((d) => d.includes("$QC1#c5"));
    raw.close();
  } finally {
    await t.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Robustness

function prng(seed: number) {
  const next = xorshift32(seed);
  return () => next() / 0x100000000;
}

test("fuzz: random bytes on the wire never crash the server nor stop it serving", { timeout: 60000 }, async () => {
  const t = await serve({ mode: "play", length: 300 });
  try {
    const rand = prng(0xc0ffee);
    for (let round = 0; round < 4; round++) {
      const raw = await RawClient.connect(t.port);
      for (let i = 0; i < 300; i++) {
        const len = 1 + Math.floor(rand() * 80);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) {
          const r = rand();
          b[j] = r < 0.08 ? 0x24 : r < 0.16 ? 0x23 : r < 0.2 ? 0x2d : r < 0.22 ? 0x03 : r < 0.3 ? 0x2b : Math.floor(rand() * 256);
        }
        raw.write(b);
      }
      await sleep(50);
      // Resynchronise ('#00' ends any half-read frame) and ask: the server still answers.
      for (let k = 0; k < 3 && !raw.data.includes("$QC1#c5"); k++) {
        raw.write("#00" + frame("qC"));
        try {
          await raw.waitFor((d) => d.includes("$QC1#c5"), 2000);
        } catch {
          // try again
        }
      }
      assert.ok(raw.data.includes("$QC1#c5"), "the server stopped answering");
      raw.close();
      await until(() => !t.handle.server.hasClient, "the server to notice the disconnect");
      t.session.pause();
      await until(() => t.session.runState() !== "running", "the machine to stop");
    }
  } finally {
    await t.close();
  }
});

test("fuzz: random well-framed packets always get an answer", { timeout: 120000 }, async () => {
  const t = await serve({ mode: "play", length: 300 });
  try {
    const rand = prng(42);
    const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
    const prefixes = [
      "g", "G", "p", "P", "m", "M", "X", "s", "c", "S", "C", "bs", "bc", "Z0,", "Z1,", "Z2,", "Z3,", "Z4,", "z0,",
      "z1,", "z2,", "z4,", "vCont;", "vCont?", "vCont;s:", "vCont;c:", "Hg", "Hc", "T", "?", "qC", "qAttached",
      "qfThreadInfo", "qsThreadInfo", "qSupported:", "qXfer:features:read:", "qXfer:features:read:target.xml:",
      "qXfer:", "qRcmd,", "qThreadExtraInfo,", "D", "D;", "vMustReplyEmpty", "qSymbol:", "Q", "v", "q", "x", "",
    ];
    const monitor = ["help", "info replay", "info status", "replay_seek 5", "replay_seek 250", "replay_break 280", "replay_delete_break", "replay_seek -1"];
    const argChars = "0123456789abcdefABCDEF,:;.-=xXp";
    const g = await t.connect(10000);
    for (let i = 0; i < 1500; i++) {
      let p = pick(prefixes);
      if (p === "qRcmd," && rand() < 0.6) p += textToHex(pick(monitor));
      else {
        const n = Math.floor(rand() * (rand() < 0.1 ? 300 : 24));
        for (let k = 0; k < n; k++) {
          p += rand() < 0.85 ? argChars[Math.floor(rand() * argChars.length)] : String.fromCharCode(Math.floor(rand() * 256));
        }
      }
      if (p.startsWith("k") || p.startsWith("vKill") || p.startsWith("QStartNoAckMode")) continue;
      // The client escapes binary data only for X; escape the framing characters everywhere else.
      if (!p.startsWith("X")) p = p.replace(/[$#}*]/g, "0");
      const reply = await g.cmd(p, { timeoutMs: 10000 });
      assert.equal(typeof reply, "string");
      // A `D` resumes the machine; stop it so the next execution packets have something to do.
      if (t.session.runState() === "running" && rand() < 0.5) t.session.pause();
    }
    assert.equal(await g.cmd("qC"), "QC1");
  } finally {
    await t.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Connections

test("several connect/disconnect cycles on one server", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "play" });
  try {
    for (let i = 0; i < 5; i++) {
      const g = await t.connect();
      await g.qSupported();
      if (i % 2 === 1) assert.equal(await g.startNoAckMode(), true);
      assert.equal(await g.cmd("?"), T05);
      assert.equal(await g.cmd("s"), T05);
      assert.equal(await pcOf(g), pcAt(i + 1));
      g.close();
      await until(() => !t.handle.server.hasClient, "the server to notice the disconnect");
    }
    assert.equal(t.session.icount(), 5);
    assert.equal(t.session.listenerCount("stop"), 0, "no listener left behind");
    assert.equal(t.session.listenerCount("shutdown"), 1);
  } finally {
    await t.close();
  }
});

test("a client leaving during c: the machine keeps running, its breakpoints go; the next client stops it", { timeout: 20000 }, async () => {
  const t = await serve({ mode: "none" });
  try {
    const raw = await RawClient.connect(t.port);
    raw.write(frame("QStartNoAckMode"));
    await raw.waitFor((d) => d.includes("$OK#9a"));
    raw.write(frame("Z0,10,4"));
    await raw.waitFor((d) => d.includes("$OK#9a$OK#9a"));
    assert.deepEqual(t.session.activeBreakpoints, ["sw:10"]);
    raw.write(frame("c"));
    await until(() => t.session.runState() === "running", "the machine to run");
    raw.close();
    await until(() => !t.handle.server.hasClient, "the server to notice the disconnect");
    assert.equal(t.session.runState(), "running");
    assert.deepEqual(t.session.activeBreakpoints, []);
    await sleep(30);
    const g = await t.connect();
    // QEMU stops the machine when a debugger connects.
    assert.equal(await g.cmd("?"), T05);
    assert.equal(t.session.runState(), "paused");
    const at = t.session.icount();
    assert.equal(await g.cmd("s"), T05);
    assert.equal(t.session.icount(), at + 1);
  } finally {
    await t.close();
  }
});

test("one client at a time: a second connection waits and is served when the first leaves", { timeout: 20000 }, async () => {
  const t = await serve();
  try {
    const first = await t.connect();
    assert.equal(await first.cmd("qC"), "QC1");
    const second = await RawClient.connect(t.port);
    second.write(frame("qC"));
    await sleep(200);
    assert.equal(second.data, "", "the waiting client must not be served yet");
    assert.equal(await first.cmd("s"), T05);
    first.close();
    await second.waitFor((d) => d === "+$QC1#c5");
    second.close();
  } finally {
    await t.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Listeners

test("listen specs: tcp::PORT is loopback, other forms, errors name the problem", () => {
  assert.deepEqual(parseGdbListenSpec("tcp::1234"), { type: "inet", host: "127.0.0.1", port: 1234 });
  assert.deepEqual(parseGdbListenSpec("1234"), { type: "inet", host: "127.0.0.1", port: 1234 });
  assert.deepEqual(parseGdbListenSpec("tcp:0.0.0.0:1"), { type: "inet", host: "0.0.0.0", port: 1 });
  assert.deepEqual(parseGdbListenSpec("tcp:[::1]:99,server=on,wait=off"), { type: "inet", host: "::1", port: 99 });
  assert.deepEqual(parseGdbListenSpec("unix:/tmp/g.sock,server=on"), { type: "unix", path: "/tmp/g.sock" });
  for (const bad of ["tcp::99999", "tcp:1234", "udp::1", "unix:", "tcp::1,reconnect=1", "tcp::1,wait=on", "unix:/x,server=off", ""]) {
    assert.throws(() => parseGdbListenSpec(bad), GdbListenError, bad);
  }
});

test("tcp::0 listens on 127.0.0.1 only", async () => {
  const session = new FakeSession();
  const h = await startGdbServer(session, "tcp::0");
  try {
    const a = h.address as { host: string; port: number };
    assert.equal(a.host, "127.0.0.1");
    assert.match(h.describe(), /^tcp:127\.0\.0\.1:\d+$/);
    // A second listener on the same port is refused with a clear error.
    await assert.rejects(startGdbServer(session, `tcp::${a.port}`), /Address already in use/);
  } finally {
    await h.close();
  }
});

test("unix socket: serves, never replaces a regular file or a live socket, replaces a stale socket, cleans up", { timeout: 20000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-gdb-"));
  try {
    const session = new FakeSession();
    const file = path.join(dir, "precious");
    fs.writeFileSync(file, "keep me");
    await assert.rejects(startGdbServer(session, `unix:${file}`), (e: unknown) => {
      assert.ok(e instanceof GdbListenError);
      assert.match((e as Error).message, /not a socket/);
      return true;
    });
    assert.equal(fs.readFileSync(file, "utf8"), "keep me");
    await assert.rejects(startGdbServer(session, `unix:${dir}`), GdbListenError); // a directory

    const sockPath = path.join(dir, "gdb.sock");
    const h = await startGdbServer(session, `unix:${sockPath}`);
    assert.equal(h.describe(), `unix:${sockPath}`);
    assert.ok(fs.lstatSync(sockPath).isSocket());
    await assert.rejects(startGdbServer(session, `unix:${sockPath}`), /Address already in use/);
    const g = await RspClient.connectPath(sockPath, { timeoutMs: 5000 });
    assert.equal(await g.cmd("qC"), "QC1");
    assert.equal(await g.cmd("s"), T05);
    g.close();
    await h.close();
    assert.equal(fs.existsSync(sockPath), false);

    // A stale socket file (nobody listening) is replaced.
    const stale = path.join(dir, "stale.sock");
    const tmp = path.join(dir, "tmp.sock");
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(tmp, () => r()));
    fs.linkSync(tmp, stale);
    await new Promise<void>((r) => srv.close(() => r()));
    assert.ok(fs.lstatSync(stale).isSocket());
    const h2 = await startGdbServer(session, `unix:${stale}`);
    const g2 = await RspClient.connectPath(stale, { timeoutMs: 5000 });
    assert.equal(await g2.cmd("qC"), "QC1");
    g2.close();
    await h2.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("serving over a chardev: opened/closed events are connections", async () => {
  const written: string[] = [];
  let receiver: CharReceiver | null = null;
  let onEvent: CharEventListener | undefined;
  const backend: CharBackend = {
    id: "gdb",
    write: (d) => written.push(Buffer.from(d).toString("latin1")),
    setReceiver: (r, e) => {
      receiver = r;
      onEvent = e;
    },
    pauseInput: () => undefined,
    resumeInput: () => undefined,
    connected: true,
    describe: () => "test",
    close: async () => undefined,
  };
  const session = new FakeSession();
  const served = serveGdbOnChardev(session, backend);
  onEvent!("opened");
  receiver!(Buffer.from(frame("qC"), "latin1"));
  assert.equal(written.join(""), "+$QC1#c5");
  receiver!(Buffer.from(frame("s"), "latin1"));
  await until(() => written.join("").includes(T05), "the step reply");
  onEvent!("closed");
  assert.equal(served.server.hasClient, false);
  onEvent!("opened");
  assert.equal(served.server.hasClient, true);
  served.close();
  assert.equal(receiver, null);
});

// ---------------------------------------------------------------------------------------------------------------
// Real GDB


test("real gdb-multiarch: target remote, registers, stepi, reverse-stepi, breakpoints, watchpoints", { skip: missingTool("gdb-multiarch"), timeout: 90000 }, async () => {
  const t = await serve({ mode: "play", length: 400 });
  try {
    const cmds = [
      "set pagination off",
      "set confirm off",
      `target remote 127.0.0.1:${t.port}`,
      "echo @@start\\n",
      "info registers pc",
      "stepi",
      "info registers pc",
      "stepi",
      "echo @@reverse\\n",
      "reverse-stepi",
      "info registers pc",
      "reverse-stepi",
      "info registers pc",
      "reverse-stepi",
      "echo @@regs\\n",
      "p/x $x1",
      "p $v1.d.u",
      "p $cpsr",
      "p/x $fpcr",
      "x/2i 0x40000048",
      "echo @@hbreak\\n",
      "hbreak *0x40000050",
      "continue",
      "continue",
      "info registers pc",
      "reverse-continue",
      "echo @@icount\\n",
      "monitor info replay",
      "delete",
      "echo @@watch\\n",
      "watch *(long *)0x40001000",
      "continue",
      "info registers pc",
      "echo @@rwatch\\n",
      "reverse-continue",
      "info registers pc",
      "delete",
      "echo @@swbreak\\n",
      "break *0x40000058",
      "continue",
      "reverse-continue",
      "delete",
      "echo @@seek\\n",
      "monitor replay_seek 5",
      "maintenance flush register-cache",
      "info registers pc",
      "echo @@end\\n",
    ];
    const args = ["-nx", "-batch", ...cmds.flatMap((c) => ["-ex", c])];
    const { out } = await runGdb(args);
    const section = (name: string) => {
      const start = out.indexOf(`@@${name}`);
      assert.ok(start >= 0, `no section ${name} in:\n${out}`);
      const next = out.indexOf("@@", start + 2);
      return out.slice(start, next < 0 ? undefined : next);
    };
    const start = section("start");
    assert.match(start, /pc\s+0x40000000\s+0x40000000/, out);
    assert.match(start, /0x0000000040000004 in \?\? \(\)/, out);
    assert.match(start, /pc\s+0x40000004\s+0x40000004/, out);
    const rev = section("reverse");
    assert.match(rev, /pc\s+0x40000004\s+0x40000004/, out);
    assert.match(rev, /pc\s+0x40000000\s+0x40000000/, out);
    assert.match(rev, /No more reverse-execution history\./, out);
    const regs = section("regs");
    assert.match(regs, /= 0x40001000/, out);
    assert.match(regs, /\{72340172838076673, 2\}/, out);
    assert.match(regs, /EL=1/, out);
    assert.match(regs, /= 0x3000000/, out);
    assert.match(regs, /str\s+x0, \[x1\]/, out);
    assert.match(regs, /ldr\s+x2, \[x1\]/, out);
    const hb = section("hbreak");
    assert.match(hb, /Hardware assisted breakpoint 1 at 0x40000050/, out);
    assert.equal((hb.match(/Breakpoint 1, 0x0000000040000050 in \?\? \(\)/g) ?? []).length, 3, out);
    // GDB prints monitor output through its target stream, which a pipe may deliver after later "echo"s.
    assert.ok(out.includes("@@icount"), out);
    assert.match(out, /Replaying execution 'replay\.bin': instruction count = 20\b/, out);
    const watch = section("watch");
    assert.match(watch, /Hardware watchpoint 2: \*\(long \*\)0x40001000/, out);
    // GDB stepped over the store itself: it shows the values around it, stopped after it.
    assert.match(watch, /Old value = 18\s+New value = 23\s+0x000000004000004c in \?\? \(\)/, out);
    assert.match(watch, /pc\s+0x4000004c\s/, out);
    // Backwards GDB stops on the store, with the values swapped.
    const rwatch = section("rwatch");
    assert.match(rwatch, /Hardware watchpoint 2: \*\(long \*\)0x40001000\s+Old value = 23\s+New value = 18/, out);
    assert.match(rwatch, /pc\s+0x40000048\s/, out);
    const sw = section("swbreak");
    assert.equal((sw.match(/Breakpoint 3, 0x0000000040000058 in \?\? \(\)/g) ?? []).length, 2, out);
    assert.ok(t.session.calls.includes("addBreakpoint sw 40000058 4"), "GDB's `break` is a Z0 software breakpoint");
    const seek = section("seek");
    assert.match(seek, /At instruction count 5\./, out);
    assert.match(seek, /pc\s+0x40000014\s/, out);
    assert.doesNotMatch(out, /Remote replied unexpectedly|Protocol error|Bogus trace status|Remote failure reply/i, out);
    // Batch mode detaches at the end: GDB's breakpoints are gone.
    await until(() => !t.handle.server.hasClient, "GDB to leave");
    assert.deepEqual(t.session.activeBreakpoints, []);
    assert.equal(t.session.activeWatchpoints, 0);
  } finally {
    await t.close();
  }
});

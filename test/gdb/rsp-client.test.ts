import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  RspClient,
  RspCommandError,
  RspConnectionClosedError,
  RspProtocolError,
  RspTimeoutError,
  decodeRegisterBlock,
  parseStopReply,
  parseTargetDescription,
  type StopReply,
} from "../../src/gdb/rsp-client.js";
import { RspStreamParser, encodeLittleEndian, encodePacket, escapeBinary, textToHex } from "../../src/gdb/rsp-packet.js";
import { missingTool } from "../helpers/tools.js";

// ---------------------------------------------------------------------------------------------------------
// A scripted fake gdbstub

type Reply = string | undefined | ((stub: FakeStub) => void);

class FakeStub {
  readonly server: net.Server;
  socket: net.Socket | undefined;
  /** Everything the client sent, as latin1. */
  raw = "";
  /** Packets received with a good checksum, in order. */
  packets: string[] = [];
  ackMode = true;
  private readonly parser = new RspStreamParser({ expandRunLength: false });
  private connected: Promise<net.Socket>;

  constructor(public handler: (packet: string, stub: FakeStub) => Reply) {
    let onConnect!: (s: net.Socket) => void;
    this.connected = new Promise((r) => (onConnect = r));
    this.server = net.createServer((socket) => {
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on("data", (chunk) => this.onData(chunk));
      socket.on("error", () => undefined);
      onConnect(socket);
    });
  }

  static async start(handler: (packet: string, stub: FakeStub) => Reply): Promise<FakeStub> {
    const stub = new FakeStub(handler);
    await new Promise<void>((r) => stub.server.listen(0, "127.0.0.1", () => r()));
    return stub;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async client(options = {}): Promise<RspClient> {
    const c = await RspClient.connect("127.0.0.1", this.port, { timeoutMs: 2000, ...options });
    await this.connected;
    return c;
  }

  send(payload: string): void {
    this.socket!.write(encodePacket(payload));
  }

  sendRaw(text: string): void {
    this.socket!.write(Buffer.from(text, "latin1"));
  }

  private onData(chunk: Buffer): void {
    this.raw += chunk.toString("latin1");
    for (const ev of this.parser.push(chunk)) {
      if (ev.type === "interrupt") this.reply(this.handler("\x03", this));
      if (ev.type !== "packet") continue;
      if (!ev.checksumOk) {
        this.sendRaw("-");
        continue;
      }
      const packet = ev.payload.toString("latin1");
      this.packets.push(packet);
      if (this.ackMode) this.sendRaw("+");
      this.reply(this.handler(packet, this));
    }
  }

  private reply(r: Reply): void {
    if (typeof r === "string") this.send(r);
    else if (typeof r === "function") r(this);
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const AARCH64_CORE = `<?xml version="1.0"?>
<!DOCTYPE feature SYSTEM "gdb-target.dtd">
<feature name="org.gnu.gdb.aarch64.core">
${Array.from({ length: 31 }, (_, i) => `  <reg name="x${i}" bitsize="64"/>`).join("\n")}
  <reg name="sp" bitsize="64" type="data_ptr"/>
  <reg name="pc" bitsize="64" type="code_ptr"/>
  <reg name="cpsr" bitsize="32"/>
</feature>`;

// Comments with characters that must be escaped in qXfer replies: # $ * }
const AARCH64_FPU = `<?xml version="1.0"?>
<!-- fpu: # $ * } must survive escaping -->
<feature name="org.gnu.gdb.aarch64.fpu">
${Array.from({ length: 32 }, (_, i) => `  <reg name="v${i}" bitsize="128" type="aarch64v"${i === 0 ? ' regnum="34"' : ""}/>`).join("\n")}
  <reg name="fpsr" bitsize="32"/>
  <reg name="fpcr" bitsize="32"/>
</feature>`;

const TARGET_XML = `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>aarch64</architecture><xi:include href="aarch64-core.xml"/><xi:include href="aarch64-fpu.xml"/></target>`;

const DOCS = new Map([
  ["target.xml", TARGET_XML],
  ["aarch64-core.xml", AARCH64_CORE],
  ["aarch64-fpu.xml", AARCH64_FPU],
]);

/** Serves qXfer:features:read honouring offset and length, like QEMU. */
function serveXfer(packet: string): string | undefined {
  const m = /^qXfer:features:read:([^:]+):([0-9a-f]+),([0-9a-f]+)$/.exec(packet);
  if (!m) return undefined;
  const doc = DOCS.get(m[1]);
  if (!doc) return "E00";
  const off = parseInt(m[2], 16);
  const len = parseInt(m[3], 16);
  const part = doc.slice(off, off + len);
  const more = off + len < doc.length;
  return (more ? "m" : "l") + escapeBinary(Buffer.from(part, "latin1")).toString("latin1");
}

/** g reply for x_i = i * 0x0101, sp, pc = 0x40080000, cpsr = 0x3c5. */
function gReply(): string {
  let hex = "";
  for (let i = 0; i < 31; i++) hex += encodeLittleEndian(BigInt(i) * 0x0101n, 8);
  hex += encodeLittleEndian(0x4000fff0n, 8) + encodeLittleEndian(0x40080000n, 8) + encodeLittleEndian(0x3c5, 4);
  return hex;
}

// ---------------------------------------------------------------------------------------------------------

test("commands are acked both ways in ack mode", async () => {
  const stub = await FakeStub.start((p) => (p === "qC" ? "QC01" : ""));
  const c = await stub.client();
  try {
    assert.equal(await c.cmd("qC"), "QC01");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stub.raw, `${encodePacket("qC").toString("latin1")}+`);
  } finally {
    c.close();
    await stub.close();
  }
});

test("a packet the server rejects with '-' is sent again", async () => {
  let first = true;
  const stub = await FakeStub.start(() => "OK");
  stub.ackMode = false; // the handler below acks by hand
  stub.handler = (p, s) => {
    if (first) {
      first = false;
      s.sendRaw("-");
      return undefined;
    }
    s.sendRaw("+");
    return p === "g" ? "00" : "";
  };
  const c = await stub.client();
  try {
    assert.equal(await c.cmd("g"), "00");
    assert.deepEqual(stub.packets, ["g", "g"]);
  } finally {
    c.close();
    await stub.close();
  }
});

test("a reply with a bad checksum is nacked and taken when resent", async () => {
  const stub = await FakeStub.start((p) => (p === "?" ? (s: FakeStub) => s.sendRaw("$S05#00") : undefined));
  const c = await stub.client();
  const resent = new Promise<void>((resolve) => {
    const watch = setInterval(() => {
      if (stub.raw.endsWith("-")) {
        clearInterval(watch);
        stub.send("S05");
        resolve();
      }
    }, 5);
  });
  try {
    const reply = c.cmd("?");
    await resent;
    assert.equal(await reply, "S05");
  } finally {
    c.close();
    await stub.close();
  }
});

test("QStartNoAckMode stops acks; pipeline then sends several packets at once", async () => {
  const stub = await FakeStub.start((p, s) => {
    if (p === "QStartNoAckMode") {
      s.send("OK");
      s.ackMode = false;
      return undefined;
    }
    // Answer only once three memory reads have arrived: works only if they were sent without waiting.
    if (p.startsWith("m") && s.packets.filter((x) => x.startsWith("m")).length === 3) {
      return (st: FakeStub) => ["aa", "bb", "cc"].forEach((r) => st.send(r));
    }
    return undefined;
  });
  const c = await stub.client();
  try {
    assert.equal(await c.startNoAckMode(), true);
    assert.equal(c.noAck, true);
    await new Promise((r) => setTimeout(r, 20)); // the OK of QStartNoAckMode itself is still acked
    assert.ok(stub.raw.endsWith("+"));
    const before = stub.raw.length;
    assert.deepEqual(await c.pipeline(["m0,1", "m1,1", "m2,1"]), ["aa", "bb", "cc"]);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!stub.raw.slice(before).includes("+"), "no acks in no-ack mode");
  } finally {
    c.close();
    await stub.close();
  }
});

test("pipelineInAckMode sends at once while still acking", async () => {
  const stub = await FakeStub.start((p, s) => {
    if (p.startsWith("m") && s.packets.length === 2) return (st: FakeStub) => ["01", "02"].forEach((r) => st.send(r));
    return undefined;
  });
  const c = await stub.client({ pipelineInAckMode: true });
  try {
    assert.deepEqual(await c.pipeline(["m0,1", "m1,1"]), ["01", "02"]);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(stub.raw.endsWith("++"), "both replies acked");
  } finally {
    c.close();
    await stub.close();
  }
});

test("pipeline refuses packets that resume the target", async () => {
  const stub = await FakeStub.start(() => "");
  const c = await stub.client();
  try {
    assert.throws(() => c.pipeline(["g", "s"]), /resumes the target/);
  } finally {
    c.close();
    await stub.close();
  }
});

test("an unsolicited stop reply is emitted as a stop event", async () => {
  const stub = await FakeStub.start(() => "");
  const c = await stub.client();
  try {
    const stop = new Promise<StopReply>((r) => c.once("stop", r));
    stub.send("T05thread:01;");
    const s = await stop;
    assert.equal(s.kind, "signal");
    assert.equal(s.kind === "signal" && s.signal, 5);
  } finally {
    c.close();
    await stub.close();
  }
});

test("an exit while a command waits fails it with the exit reply, as QEMU's power-off does", async () => {
  const stub = await FakeStub.start((p) => (p === "g" ? (s: FakeStub) => { s.send("W00"); s.socket!.end(); } : undefined));
  const c = await stub.client();
  try {
    const stops: StopReply[] = [];
    c.on("stop", (s) => stops.push(s));
    await assert.rejects(c.cmd("g"), (e: unknown) => e instanceof RspConnectionClosedError && e.lastStop?.kind === "exited" && /W00/.test(e.message));
    assert.equal(stops[0]?.kind, "exited");
    assert.equal(c.isClosed, true);
    await assert.rejects(c.cmd("g"), RspConnectionClosedError);
  } finally {
    c.close();
    await stub.close();
  }
});

test("a step answered by W00 reports the exit", async () => {
  const stub = await FakeStub.start((p) => (p === "s" ? "W00" : undefined));
  const c = await stub.client();
  try {
    assert.deepEqual(await c.step(), { kind: "exited", code: 0, raw: "W00" });
  } finally {
    c.close();
    await stub.close();
  }
});

test("interrupt() stops a running cont()", async () => {
  const stub = await FakeStub.start((p) => (p === "\x03" ? "T02thread:01;" : undefined));
  const c = await stub.client();
  try {
    const running = c.cont();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(c.isRunning, true);
    assert.equal(stub.packets.at(-1), "c");
    c.interrupt();
    const stop = await running;
    assert.equal(stop.kind === "signal" && stop.signal, 2);
    assert.equal(c.isRunning, false);
  } finally {
    c.close();
    await stub.close();
  }
});

test("console output packets become output events; monitor() returns them", async () => {
  const stub = await FakeStub.start((p) => {
    if (p.startsWith("qRcmd,")) return (s: FakeStub) => { s.send("O" + textToHex("hello ")); s.send("O" + textToHex("world\n")); s.send("OK"); };
    if (p === "c") return (s: FakeStub) => { s.send("O" + textToHex("booting\n")); s.send("T05thread:01;swbreak:;"); };
    return undefined;
  });
  const c = await stub.client();
  try {
    assert.equal(await c.monitor("info registers"), "hello world\n");
    assert.equal(stub.packets[0], `qRcmd,${textToHex("info registers")}`);
    let out = "";
    c.on("output", (t: string) => (out += t));
    const stop = await c.cont();
    assert.equal(out, "booting\n");
    assert.equal(stop.kind === "signal" && stop.reason, "swbreak");
  } finally {
    c.close();
    await stub.close();
  }
});

test("readTargetXml follows continuations and includes; registers decode by the description", async () => {
  const stub = await FakeStub.start((p) => {
    if (p.startsWith("qSupported")) return "PacketSize=40;qXfer:features:read+;vContSupported+";
    const x = serveXfer(p);
    if (x !== undefined) return x;
    if (p === "g") return gReply();
    if (p === "p22") return "00112233445566778899aabbccddeeff"; // v0
    if (/^p(2[3-9a-f]|3[0-9a-f]|4[0-1])$/.test(p)) return "00".repeat(16);
    if (p === "p42") return "10000000"; // fpsr
    if (p === "p43") return "E14"; // fpcr: unreadable
    if (p === "p20") return encodeLittleEndian(0x40080000n, 8);
    return "";
  });
  const c = await stub.client();
  try {
    const features = await c.qSupported();
    assert.equal(features.get("PacketSize"), "40");
    assert.equal(features.get("qXfer:features:read"), true);
    assert.equal(c.packetSize, 0x40);
    const td = await c.readTargetXml();
    assert.equal(td.architecture, "aarch64");
    assert.deepEqual([...td.documents.keys()], ["target.xml", "aarch64-core.xml", "aarch64-fpu.xml"]);
    assert.equal(td.documents.get("aarch64-fpu.xml"), AARCH64_FPU, "escaped characters survive");
    assert.ok(stub.packets.filter((p) => p.startsWith("qXfer:features:read:aarch64-core.xml:")).length > 10, "continuations used");
    assert.deepEqual(td.features, ["org.gnu.gdb.aarch64.core", "org.gnu.gdb.aarch64.fpu"]);
    assert.equal(td.byName.get("pc")!.regnum, 32);
    assert.equal(td.byName.get("cpsr")!.bitsize, 32);
    assert.equal(td.byName.get("v31")!.regnum, 65);
    assert.equal(td.byName.get("fpcr")!.regnum, 67);

    const regs = await c.readRegisters();
    assert.equal(regs.get("x1"), 0x0101n);
    assert.equal(regs.get("x30"), 30n * 0x0101n);
    assert.equal(regs.get("sp"), 0x4000fff0n);
    assert.equal(regs.get("pc"), 0x40080000n);
    assert.equal(regs.get("cpsr"), 0x3c5n);
    assert.equal(regs.get("v0"), 0xffeeddccbbaa99887766554433221100n);
    assert.equal(regs.get("fpsr"), 0x10n);
    assert.equal(regs.has("fpcr"), false, "unreadable registers are left out");

    const some = await c.readRegisters(["pc", "v0"]);
    assert.deepEqual([...some.keys()].sort(), ["pc", "v0"]);
    assert.equal(await c.readRegister("pc"), 0x40080000n);
    assert.equal(await c.readRegister(32), 0x40080000n);
    await assert.rejects(c.readRegister("fpcr"), RspCommandError);
    await assert.rejects(c.readRegister("nosuch"), /unknown register/);
  } finally {
    c.close();
    await stub.close();
  }
});

test("readMemory splits reads to fit PacketSize and reports errors", async () => {
  const mem = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  const stub = await FakeStub.start((p) => {
    if (p.startsWith("qSupported")) return "PacketSize=30";
    const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (!m) return "";
    const addr = parseInt(m[1], 16) - 0x1000;
    const len = parseInt(m[2], 16);
    if (addr < 0 || addr + len > mem.length) return "E14";
    return mem.subarray(addr, addr + len).toString("hex");
  });
  const c = await stub.client();
  try {
    await c.qSupported();
    const data = await c.readMemory(0x1000n, 100);
    assert.deepEqual(data, mem.subarray(0, 100));
    assert.ok(stub.packets.filter((p) => p.startsWith("m")).length > 3, "split into several packets");
    await assert.rejects(c.readMemory(0x2000, 4), (e: unknown) => e instanceof RspCommandError && e.reply === "E14");
  } finally {
    c.close();
    await stub.close();
  }
});

test("breakpoints: OK, unsupported and errors", async () => {
  const stub = await FakeStub.start((p) => (p.startsWith("Z0,") || p.startsWith("z0,") ? "OK" : p.startsWith("Z2,") ? "E22" : ""));
  const c = await stub.client();
  try {
    await c.setBreakpoint(0, 0x40080010n, 4);
    await c.removeBreakpoint(0, 0x40080010n, 4);
    assert.deepEqual(stub.packets, ["Z0,40080010,4", "z0,40080010,4"]);
    await assert.rejects(c.setBreakpoint(1, 0x10, 4), /not supported/);
    await assert.rejects(c.setBreakpoint(2, 0x10, 8), (e: unknown) => e instanceof RspCommandError && e.reply === "E22");
  } finally {
    c.close();
    await stub.close();
  }
});

test("a reply that comes after its timeout does not answer the next command", async () => {
  const stub = await FakeStub.start((p, s) => {
    if (p === "qSlow") {
      setTimeout(() => s.send("late"), 150);
      return undefined;
    }
    if (p === "qC") return (st: FakeStub) => setTimeout(() => st.send("QC01"), 200);
    return "";
  });
  const c = await stub.client({ timeoutMs: 50 });
  try {
    await assert.rejects(c.cmd("qSlow"), RspTimeoutError);
    assert.equal(await c.cmd("qC", { timeoutMs: 1000 }), "QC01");
  } finally {
    c.close();
    await stub.close();
  }
});

test("connect fails clearly when nothing listens, and can wait for a server to appear", async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await assert.rejects(RspClient.connect("127.0.0.1", port), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED");

  const late = net.createServer((s) => s.on("error", () => undefined));
  setTimeout(() => late.listen(port, "127.0.0.1"), 100);
  const c = await RspClient.connect("127.0.0.1", port, { connectRetryMs: 3000 });
  c.close();
  await new Promise<void>((r) => late.close(() => r()));
});

test("parseStopReply understands S, T, W and X replies", () => {
  const t = parseStopReply("T05thread:p01.01;20:0000084000000000;watch:40001000;");
  assert.equal(t.kind, "signal");
  if (t.kind === "signal") {
    assert.equal(t.signal, 5);
    assert.equal(t.thread, "p01.01");
    assert.equal(t.registers.get(0x20), "0000084000000000");
    assert.equal(t.reason, "watch");
    assert.equal(t.reasonValue, "40001000");
  }
  const r = parseStopReply("T05replaylog:begin;");
  assert.equal(r.kind === "signal" && `${r.reason}:${r.reasonValue}`, "replaylog:begin");
  assert.deepEqual(parseStopReply("W00"), { kind: "exited", code: 0, raw: "W00" });
  assert.deepEqual(parseStopReply("W01;process:1"), { kind: "exited", code: 1, raw: "W01;process:1" });
  assert.deepEqual(parseStopReply("X09"), { kind: "terminated", signal: 9, raw: "X09" });
  assert.equal(parseStopReply("S02").kind, "signal");
  assert.equal(parseStopReply("OK").kind, "other");
  assert.throws(() => parseStopReply("Tzz"), /bad signal/);
  assert.throws(() => parseStopReply("Wzz"), /bad exit/);
});

test("target descriptions number registers like GDB", () => {
  const docs = new Map([
    ["t.xml", `<target><architecture>i386:x86-64</architecture><xi:include href='a.xml'/><feature name="b"><reg name="q" bitsize="8" regnum="0x10"/><reg name="r" bitsize="16"/></feature></target>`],
    ["a.xml", `<feature name="a"><!-- <reg name="commented" bitsize="8"/> --><reg name="a0" bitsize="32"/><reg name="a1" bitsize="32" group="general"/><reg name="amp&amp;" bitsize="8" regnum="5"/><reg name="a6" bitsize="64"/></feature>`],
  ]);
  const td = parseTargetDescription("t.xml", docs);
  assert.equal(td.architecture, "i386:x86-64");
  assert.deepEqual(td.registers.map((r) => `${r.regnum}:${r.name}:${r.feature}`), ["0:a0:a", "1:a1:a", "5:amp&:a", "6:a6:a", "16:q:b", "17:r:b"]);
  assert.equal(td.byName.get("a1")!.group, "general");
  // Only registers contiguous from 0 are in a `g` block: a0, a1.
  const block = decodeRegisterBlock(td, "01000000" + "xxxxxxxx");
  assert.deepEqual([...block], [["a0", 1n]]);
  assert.throws(() => decodeRegisterBlock(td, "0100"), /ends inside register a0/);
  assert.throws(() => decodeRegisterBlock(td, "zz"), /not hex/);
  assert.throws(() => parseTargetDescription("t.xml", new Map([["t.xml", `<xi:include href="missing.xml"/>`]])), /was not read/);
  assert.throws(() => parseTargetDescription("t.xml", new Map([["t.xml", `<feature name="f"><reg name="x" bitsize="big"/></feature>`]])), /bad bitsize/);
  assert.throws(() => parseTargetDescription("t.xml", new Map([["t.xml", `<xi:include href="t.xml"/>`]])), /includes itself/);
});

test("a server answering garbage never crashes the client: every call resolves or fails with a clear error", async () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ["$", "#", "+", "-", "*", "}", "%", "\x03", "T05", "W00", "O41", "E01", "OK", "l", "m", "00", "zz", "#00", "xx"];
  const stub = await FakeStub.start(() => (s: FakeStub) => {
    const n = rand(4);
    for (let i = 0; i < n; i++) {
      let junk = "";
      for (let k = rand(12); k > 0; k--) junk += pieces[rand(pieces.length)];
      if (rand(2)) s.send(junk.replace(/[$#]/g, ""));
      else s.sendRaw(junk);
    }
  });
  const c = await stub.client({ timeoutMs: 40, maxRetransmits: 2 });
  const known = [RspTimeoutError, RspCommandError, RspConnectionClosedError, RspProtocolError];
  c.on("stop", () => undefined);
  c.on("unexpected", () => undefined);
  try {
    const calls: Array<() => Promise<unknown>> = [
      () => c.cmd("g"),
      () => c.qSupported(),
      () => c.step(),
      () => c.readMemory(0x1000n, 16),
      () => c.readRegister(1),
      () => c.setBreakpoint(0, 0x10, 4),
      () => c.readXfer("features", "target.xml"),
      () => c.haltReason(),
      () => c.monitor("info"),
      () => c.pipeline(["m0,1", "m1,1"]),
    ];
    for (let i = 0; i < 60; i++) {
      try {
        await calls[i % calls.length]();
      } catch (e) {
        assert.ok(known.some((k) => e instanceof k), String(e));
        assert.ok((e as Error).message.length > 0);
      }
    }
  } finally {
    c.close();
    await stub.close();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Against the real QEMU gdbstub

test("talks to QEMU's gdbstub: features, aarch64 description, registers, step, breakpoint", { skip: missingTool("qemu-system-aarch64", "aarch64-linux-gnu-gcc") }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "rsp-client-test-"));
  const src = join(dir, "g.S");
  const elf = join(dir, "g.elf");
  writeFileSync(src, `.global _start\n.text\n_start:\n mov x1, #1\n mov x2, #2\n add x3, x1, x2\n1: b 1b\n`);
  const cc = spawnSync("aarch64-linux-gnu-gcc", ["-nostdlib", "-static", "-Wl,-Ttext=0x40080000", "-Wl,--build-id=none", "-o", elf, src], { encoding: "utf8" });
  assert.equal(cc.status, 0, cc.stderr);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const qemu = spawn("qemu-system-aarch64", ["-M", "virt", "-cpu", "cortex-a53", "-nographic", "-net", "none", "-S", "-gdb", `tcp:127.0.0.1:${port}`, "-kernel", elf], { stdio: ["ignore", "ignore", "pipe"] });
  let c: RspClient | undefined;
  try {
    c = await RspClient.connect("127.0.0.1", port, { connectRetryMs: 10000, timeoutMs: 5000 });
    const features = await c.qSupported();
    assert.equal(features.get("qXfer:features:read"), true);
    assert.match(String(features.get("PacketSize")), /^[0-9a-f]+$/);
    const td = await c.readTargetXml();
    assert.equal(td.architecture, "aarch64");
    assert.ok(td.documents.has("aarch64-core.xml") && td.documents.has("aarch64-fpu.xml"));
    assert.equal(td.byName.get("pc")!.regnum, 32);
    assert.equal(td.byName.get("cpsr")!.bitsize, 32);
    assert.equal(td.byName.get("v0")!.regnum, 34);
    assert.equal(td.byName.get("v0")!.bitsize, 128);
    assert.equal(td.byName.get("fpsr")!.regnum, 66);
    assert.equal(await c.cmd("qqemu.sstepbits"), "ENABLE=1,NOIRQ=2,NOTIMER=4");
    assert.equal(await c.cmd("qqemu.sstep"), "0x7");

    let regs = await c.readRegisters(["pc", "x3", "v0", "fpcr"]);
    assert.equal(regs.get("pc"), 0x40080000n);
    assert.equal(regs.get("v0"), 0n);
    const stop = await c.step();
    assert.equal(stop.kind === "signal" && stop.signal, 5);
    assert.equal(await c.readRegister("pc"), 0x40080004n);
    await c.setBreakpoint(0, 0x4008000cn, 4);
    const hit = await c.cont({ timeoutMs: 5000 });
    assert.equal(hit.kind === "signal" && hit.signal, 5);
    regs = await c.readRegisters(["pc", "x3"]);
    assert.equal(regs.get("pc"), 0x4008000cn);
    assert.equal(regs.get("x3"), 3n);
    assert.deepEqual(await c.readMemory(0x40080000n, 4), Buffer.from([0x21, 0x00, 0x80, 0xd2])); // mov x1, #1
  } finally {
    c?.close();
    qemu.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

// The x86 GDB register file (src/arch/x86/gdb-registers.ts) against its oracles: QEMU 7.2's gdbstub (the numbers,
// sizes and `g` layout of its target description, and every register's value at reset, read from a running
// qemu-system-x86_64 -M pc -S), the Intel SDM's reset state (Vol. 3 §9.1.1), and real gdb-multiarch, which must
// accept Rewind's description and number the registers as it numbers QEMU's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { X86Debug } from "../../src/arch/x86/debug.js";
import { X86_GDB_REGISTERS } from "../../src/arch/x86/gdb-registers.js";
import { buildTargetDescription } from "../../src/gdb/target-xml.js";
import { RspClient } from "../../src/gdb/rsp-client.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { freePort, missingTool, runGdb } from "../helpers/tools.js";

const GUEST = join(ROOT, "guests/x86/hello.bin");

function machine(): { m: PcMachine; debug: X86Debug } {
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(GUEST) });
  return { m, debug: new X86Debug(m.cpu, m.interp) };
}

const le = (bytes: Uint8Array): bigint => bytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);
const bytesOf = (v: bigint, size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
const reg = (name: string) => X86_GDB_REGISTERS.find((r) => r.name === name)!;

test("x86 registers: QEMU 7.2's numbers, sizes and g layout (608 bytes)", () => {
  const expected: [string, number, number][] = [
    ["rax", 0, 64], ["rbx", 1, 64], ["rsp", 7, 64], ["r15", 15, 64], ["rip", 16, 64], ["eflags", 17, 32],
    ["cs", 18, 32], ["ss", 19, 32], ["ds", 20, 32], ["es", 21, 32], ["fs", 22, 32], ["gs", 23, 32],
    ["fs_base", 24, 64], ["gs_base", 25, 64], ["k_gs_base", 26, 64], ["cr0", 27, 64], ["cr2", 28, 64], ["cr3", 29, 64],
    ["cr4", 30, 64], ["cr8", 31, 64], ["efer", 32, 64], ["st0", 33, 80], ["st7", 40, 80], ["fctrl", 41, 32], ["fop", 48, 32],
    ["xmm0", 49, 128], ["xmm15", 64, 128], ["mxcsr", 65, 32],
  ];
  for (const [name, regnum, bitsize] of expected) assert.deepEqual([reg(name).regnum, reg(name).bitsize], [regnum, bitsize], name);
  assert.equal(X86_GDB_REGISTERS.length, 66);
  X86_GDB_REGISTERS.forEach((r, i) => assert.equal(r.regnum, i));
  assert.equal(X86_GDB_REGISTERS.reduce((n, r) => n + r.bitsize / 8, 0), 608);
});

test("x86 registers: the reset state the SDM and QEMU's pc give", () => {
  const { debug } = machine();
  const value = (name: string) => le(debug.readRegister(reg(name).regnum)!);
  assert.equal(value("rip"), 0xfff0n);
  assert.equal(value("cs"), 0xf000n);
  assert.equal(value("eflags"), 2n);
  assert.equal(value("rdx"), 0x60fb1n); // the processor signature (qemu64)
  assert.equal(value("cr0"), 0x60000010n);
  assert.equal(value("fctrl"), 0x37fn);
  assert.equal(value("mxcsr"), 0x1f80n);
  assert.equal(debug.pc(), 0xffff0000n + 0xfff0n); // CS base FFFF0000 at reset + IP
  for (const r of X86_GDB_REGISTERS) assert.equal(debug.readRegister(r.regnum)!.length, r.bitsize / 8, r.name);
  assert.equal(debug.readRegister(66), undefined);
});

test("x86 registers: write/read round trips, with QEMU's rules outside 64-bit code", () => {
  const { m, debug } = machine();
  const write = (name: string, v: bigint) => assert.ok(debug.writeRegister(reg(name).regnum, bytesOf(v, reg(name).bitsize / 8)), name);
  const read = (name: string) => le(debug.readRegister(reg(name).regnum)!);
  // Real mode: 64-bit registers keep their low 32 bits; r8..r15 read 0 and ignore writes.
  write("rax", 0x1122334455667788n);
  assert.equal(read("rax"), 0x55667788n);
  assert.equal(m.cpu.lo[0] >>> 0, 0x55667788);
  write("rbx", 0xdeadbeefn);
  assert.equal(m.cpu.lo[3] >>> 0, 0xdeadbeef); // GDB's rbx is the CPU's register 3
  write("r9", 5n);
  assert.equal(read("r9"), 0n);
  write("rip", 0x1234n);
  assert.equal(read("rip"), 0x1234n);
  write("eflags", 0x246n);
  assert.equal(m.cpu.rflags, 0x246);
  // A real-mode selector write loads base = selector * 16, as QEMU's gdbstub does.
  write("ds", 0x1234n);
  assert.equal(read("ds"), 0x1234n);
  assert.equal(m.cpu.segBaseLo[3], 0x12340);
  write("cs", 0x2000n);
  assert.equal(debug.pc(), 0x20000n + 0x1234n);
  write("cr3", 0x5000n);
  assert.equal(m.cpu.cr3, 0x5000);
  write("cr0", 0x60000011n);
  assert.equal(read("cr0"), 0x60000011n);
  write("fs_base", 0xabcdef00n);
  assert.equal(read("fs_base"), 0xabcdef00n);
  write("k_gs_base", 0x42n);
  assert.equal(read("k_gs_base"), 0x42n);
  // Not modelled: accepted, still QEMU's reset values.
  write("mxcsr", 0n);
  assert.equal(read("mxcsr"), 0x1f80n);
  write("xmm3", 1n);
  assert.equal(read("xmm3"), 0n);
  // 64-bit code: everything is 64 bits wide.
  m.cpu.codeBits = 64;
  write("r9", 0x8000000000000001n);
  assert.equal(read("r9"), 0x8000000000000001n);
  write("rip", 0xffffffff81000000n);
  assert.equal(read("rip"), 0xffffffff81000000n);
  assert.equal(debug.pc(), 0xffffffff81000000n);
  // Wrong sizes and unknown numbers are refused.
  assert.equal(debug.writeRegister(reg("eflags").regnum, new Uint8Array(8)), false);
  assert.equal(debug.writeRegister(99, new Uint8Array(8)), false);
});

/** Starts qemu-system-x86_64 -M pc -S with its gdbstub and connects to it. */
async function qemuAtReset(): Promise<{ client: RspClient; stop: () => void }> {
  const port = await freePort();
  const q = spawn("qemu-system-x86_64", ["-M", "pc", "-S", "-gdb", `tcp:127.0.0.1:${port}`, "-display", "none", "-nodefaults", "-bios", GUEST], { stdio: "ignore" });
  const client = await RspClient.connect("127.0.0.1", port, { connectRetryMs: 10_000, timeoutMs: 10_000 });
  return { client, stop: () => (client.close(), q.kill()) };
}

test("x86 registers: the same description and values as qemu-system-x86_64's gdbstub at reset", { skip: missingTool("qemu-system-x86_64"), timeout: 30_000 }, async () => {
  const { client, stop } = await qemuAtReset();
  try {
    const tdesc = await client.readTargetXml();
    assert.equal(tdesc.architecture, "i386:x86-64");
    const names = X86_GDB_REGISTERS.map((r) => `${r.regnum}:${r.name}:${r.bitsize}`);
    assert.deepEqual(tdesc.registers.map((r) => `${r.regnum}:${r.name}:${r.bitsize}`), names);
    const qemu = await client.readRegisterBlock();
    const { debug } = machine();
    for (const r of X86_GDB_REGISTERS) assert.equal(le(debug.readRegister(r.regnum)!), qemu.get(r.name), r.name);
  } finally {
    stop();
  }
});

/** The descriptions' register table as gdb-multiarch builds it: name, remote number, g offset, size. */
async function gdbRemoteRegisters(dir: string, docs: Map<string, string>): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of docs) writeFileSync(join(dir, name), text);
  const r = await runGdb(["-nx", "-batch", "-ex", `set tdesc filename ${join(dir, "target.xml")}`, "-ex", "maint print remote-registers"]);
  assert.doesNotMatch(r.out, /warning|error/i, r.out);
  // " Name Nr Rel Offset Size Type Rmt-Nr g/G-Offset": the registers that are in the g packet.
  return r.out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 8 && /^\d+$/.test(f[6]) && f[0] !== "''")
    .map((f) => `${f[0]} ${f[4]} ${f[6]} ${f[7]}`);
}

test("x86 target description: gdb-multiarch accepts it, with QEMU's remote numbers and g offsets", { skip: missingTool("gdb-multiarch"), timeout: 60_000 }, async () => {
  const dir = tempDir("rewind-x86-tdesc-");
  const docs = buildTargetDescription("x86_64", X86_GDB_REGISTERS);
  assert.match(docs.get("64bit-core.xml")!, /<flags id="i386_eflags" size="4">/);
  assert.match(docs.get("64bit-sse.xml")!, /<union id="vec128">/);
  const ours = await gdbRemoteRegisters(join(dir, "rewind"), docs);
  assert.equal(ours.length, 66);
  assert.ok(ours.includes("rip 8 16 128") && ours.includes("cs 4 18 140") && ours.includes("mxcsr 4 65 604"), ours.join("\n"));
  if (missingTool("qemu-system-x86_64")) return;
  // QEMU's own description, as its gdbstub serves it, gives GDB the same table.
  const { client, stop } = await qemuAtReset();
  let theirs: string[];
  try {
    theirs = await gdbRemoteRegisters(join(dir, "qemu"), (await client.readTargetXml()).documents);
  } finally {
    stop();
  }
  assert.deepEqual([...ours].sort(), [...theirs].sort());
});

/**
 * A minimal gdbstub over one X86Debug: the target description, `g`/`p`, memory reads through translate, and the
 * stop reply; nothing else (GDB copes with empty replies).
 */
async function serveStub(debug: X86Debug, m: PcMachine): Promise<{ port: number; close: () => void }> {
  const { createServer } = await import("node:net");
  const { RspStreamParser, encodePacket, bytesToHex } = await import("../../src/gdb/rsp-packet.js");
  const docs = buildTargetDescription("x86_64", X86_GDB_REGISTERS);
  const reply = (p: string): string => {
    if (p.startsWith("qSupported")) return "PacketSize=4000;qXfer:features:read+";
    const xfer = /^qXfer:features:read:([^:]+):([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (xfer) {
      const doc = docs.get(xfer[1]);
      if (!doc) return "E00";
      const off = parseInt(xfer[2], 16);
      const part = doc.slice(off, off + parseInt(xfer[3], 16));
      return (off + part.length >= doc.length ? "l" : "m") + part;
    }
    if (p === "?") return "T05thread:01;";
    if (p === "g") return X86_GDB_REGISTERS.map((r) => bytesToHex(debug.readRegister(r.regnum)!)).join("");
    if (p.startsWith("p")) return bytesToHex(debug.readRegister(parseInt(p.slice(1), 16)) ?? new Uint8Array());
    const mem = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (mem) {
      const pa = debug.translate(BigInt("0x" + mem[1]));
      return pa === undefined ? "E14" : bytesToHex(m.bus.readBytes(pa, parseInt(mem[2], 16)));
    }
    if (p.startsWith("Hg") || p.startsWith("Hc")) return "OK";
    if (p === "qAttached") return "1";
    if (p === "qC") return "QC01";
    if (p === "qfThreadInfo") return "m01";
    if (p === "qsThreadInfo") return "l";
    return "";
  };
  const server = createServer((sock) => {
    const parser = new RspStreamParser();
    sock.on("data", (d) => {
      for (const e of parser.push(d)) {
        if (e.type !== "packet") continue;
        sock.write("+");
        sock.write(encodePacket(reply(e.payload.toString("latin1"))));
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

test("x86 registers in gdb-multiarch over the remote protocol: shown as for its native amd64 target", { skip: missingTool("gdb-multiarch"), timeout: 60_000 }, async () => {
  const { m, debug } = machine();
  m.cpu.rflags = 0x246;
  const stub = await serveStub(debug, m);
  try {
    const r = await runGdb(["-nx", "-batch", "-ex", "set architecture i386:x86-64", "-ex", `target remote 127.0.0.1:${stub.port}`,
      "-ex", "info registers rip eflags cs rdx cr0", "-ex", "p $mxcsr", "-ex", "p $xmm0.v4_int32", "-ex", "p/x $fctrl", "-ex", "p $fs_base", "-ex", "info registers efer"]);
    assert.match(r.out, /rip\s+0xfff0\s/);
    assert.match(r.out, /eflags\s+0x246\s+\[ PF ZF IF \]/);
    assert.match(r.out, /cs\s+0xf000\s/);
    assert.match(r.out, /rdx\s+0x60fb1\s/);
    assert.match(r.out, /cr0\s+0x60000010\s+\[ CD NW ET \]/);
    assert.match(r.out, /\[ IM DM ZM OM UM PM \]/); // mxcsr 0x1f80
    assert.match(r.out, /\{0, 0, 0, 0\}/);
    assert.match(r.out, /0x37f/);
    assert.match(r.out, /efer\s+0x0\s/);
    assert.doesNotMatch(r.out, /error|invalid|truncated|remote register badly formatted/i, r.out);
  } finally {
    stub.close();
  }
});

// Reverse debugging through SeaBIOS on the x86_64 pc board with real gdb-multiarch. One recording of the BIOS to
// "No bootable device." (its debug log compared with QEMU 7.2's, byte for byte), then a replay under -gdb ... -S
// driven by gdb-multiarch in batch mode:
// - stepi from the reset vector over the first instructions (real mode: GDB's $pc is IP, the linear PC is
//   CS * 16 + IP, as QEMU's gdbstub reports them) and reverse-stepi back to the start, where GDB says "No more
//   reverse-execution history";
// - a write watchpoint on the BIOS data area's base-memory size (0x413): the forward stop comes after the store,
//   with Old/New values, exactly where qemu-system-x86_64 stops on the same command; reverse-continue from the end
//   lands on the store itself (the old value), stepi redoes it;
// - a hardware breakpoint on that store (32-bit flat code, linear = EIP) hit forward, then reverse-continue from the
//   end back onto it.
// Oracles not written here: QEMU 7.2's debug log and its gdbstub's watchpoint stop, gdb-multiarch's reports.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { freePort, missingTool, runGdb } from "../helpers/tools.js";
import { QmpTestClient } from "../qmp/qmp-client.js";
import { defaultBios } from "../../src/boards/pc/board.js";

const BIN = join(ROOT, "bin/rewind-system-x86_64.js");
const END = "No bootable device.";
const MACHINE = ["-M", "pc", "-display", "none", "-vga", "none", "-nodefaults", "-global", "isa-debugcon.iobase=0x402", "-net", "none"];
const skip = missingTool("gdb-multiarch", "qemu-img") || (defaultBios() === undefined ? "needs a SeaBIOS image" : false);

async function waitFor(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logHas = (path: string, text: string) => existsSync(path) && readFileSync(path, "latin1").includes(text);

/** Records SeaBIOS until its debug log ends with END, then quits over QMP (a finished recording). */
async function record(dir: string): Promise<string> {
  const log = join(dir, "record.log");
  const qmpPath = join(dir, "qmp.sock");
  const child = spawn(process.execPath, [BIN, ...MACHINE, "-debugcon", `file:${log}`, "-qmp", `unix:${qmpPath},server=on,wait=off`,
    "-icount", `shift=7,rr=record,rrfile=${join(dir, "bios.rr")},rrsnapshot=init`, "-drive", `file=${join(dir, "disk.qcow2")},if=none`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((r) => child.once("exit", r));
  await waitFor(() => logHas(log, END), `'${END}' (${stderr})`);
  await waitFor(() => existsSync(qmpPath), "the QMP socket");
  const qmp = await QmpTestClient.ready({ path: qmpPath });
  await qmp.cmd("quit").catch(() => undefined);
  qmp.close();
  await exited;
  assert.equal(child.exitCode, 0, stderr);
  return readFileSync(log, "latin1");
}

/** Runs a gdb-multiarch script against `target`'s stub on `port`; lines the script printf'd with a tag. */
async function gdbScript(port: number, dir: string, name: string, body: string[]): Promise<{ out: string; lines: string[] }> {
  const script = join(dir, `${name}.gdb`);
  writeFileSync(script, ["set pagination off", "set confirm off", `target remote 127.0.0.1:${port}`, ...body, "kill"].join("\n") + "\n");
  const { out } = await runGdb(["-batch", "-nx", "-x", script], 180_000);
  return { out, lines: out.split("\n").filter((l) => /^[A-Z0-9]+ /.test(l) && /^(PC|STOP|END|REV|FWD|BRK) /.test(l)) };
}

/** QEMU 7.2's forward stop on the same watchpoint: the oracle for where x86 GDB expects it (after the store). */
async function qemuWatchStop(dir: string): Promise<string | undefined> {
  if (missingTool("qemu-system-x86_64")) return undefined;
  const port = await freePort();
  const q = spawn("qemu-system-x86_64", [...MACHINE, "-icount", "shift=7", "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: "ignore" });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const { lines } = await gdbScript(port, dir, "qemu", ["watch *(unsigned short*)0x413", "continue", 'printf "STOP %x %d\\n", $pc, *(unsigned short*)0x413']);
    return lines.find((l) => l.startsWith("STOP "));
  } finally {
    q.kill("SIGKILL");
  }
}

test("gdb-multiarch through SeaBIOS on a recorded pc: stepi/reverse-stepi from the reset vector, a watchpoint both ways, a breakpoint reverse-continued onto", { skip, timeout: 600_000 }, async () => {
  const dir = tempDir("rewind-x86-gdb-");
  assert.equal(spawnSync("qemu-img", ["create", "-f", "qcow2", join(dir, "disk.qcow2"), "128M"]).status, 0);
  const log = await record(dir);
  if (!missingTool("qemu-system-x86_64")) {
    // The recorded log is QEMU's (the BIOS's 70 lines, ending in END).
    const qlog = join(dir, "qemu.log");
    const q = spawn("qemu-system-x86_64", [...MACHINE, "-debugcon", `file:${qlog}`, "-icount", "shift=7"], { stdio: "ignore" });
    try {
      await waitFor(() => logHas(qlog, END), "QEMU's log");
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      q.kill("SIGKILL");
    }
    assert.equal(log, readFileSync(qlog, "latin1"));
  }
  const qemuStop = await qemuWatchStop(dir);

  const port = await freePort();
  const replay = spawn(process.execPath, [BIN, ...MACHINE, "-debugcon", `file:${join(dir, "replay.log")}`, "-icount", `shift=7,rr=replay,rrfile=${join(dir, "bios.rr")},rrsnapshot=init`,
    "-drive", `file=${join(dir, "disk.qcow2")},if=none`, "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  replay.stderr.on("data", (d) => (stderr += d));
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const pc = 'printf "PC %x %x\\n", $cs, $pc';
    const { out, lines } = await gdbScript(port, dir, "rewind", [
      pc, ...Array.from({ length: 9 }, () => ["stepi", pc]).flat(),
      ...Array.from({ length: 9 }, () => ["reverse-stepi", pc]).flat(),
      "reverse-stepi",
      "watch *(unsigned short*)0x413",
      "continue", 'printf "STOP %x %d\\n", $pc, *(unsigned short*)0x413',
      "continue", 'printf "END %x %d\\n", $pc, *(unsigned short*)0x413',
      "reverse-continue", 'printf "REV %x %d\\n", $pc, *(unsigned short*)0x413',
      "stepi", 'printf "FWD %x %d\\n", $pc, *(unsigned short*)0x413',
      "delete",
      "reverse-stepi",
      "set $store = $pc",
      "reverse-stepi",
      "hbreak *$store",
      "continue", 'printf "BRK %x\\n", $pc',
      "continue", 'printf "END %x\\n", $pc',
      "reverse-continue", 'printf "BRK %x\\n", $pc',
    ]);
    const pcs = lines.filter((l) => l.startsWith("PC ")).map((l) => l.split(" ").slice(1).map((h) => parseInt(h, 16)));
    // The reference's first linear PCs (qemu-pc-seabios-facts.md), as CS * 16 + IP.
    const FIRST = [0xffff0, 0xfe05b, 0xfe062, 0xfe066, 0xfe068, 0xfe06a, 0xfe070, 0xfe076, 0xfec0b, 0xfec0c];
    assert.deepEqual(pcs.slice(0, 10).map(([cs, ip]) => cs * 16 + ip), FIRST, out);
    assert.deepEqual(pcs.slice(10).map(([cs, ip]) => cs * 16 + ip), [...FIRST].reverse().slice(1), out);
    assert.match(out, /No more reverse-execution history\./);

    const stop = lines.find((l) => l.startsWith("STOP "))!;
    assert.match(stop, / 639$/, out); // 639 KiB below the EBDA
    if (qemuStop) assert.equal(stop, qemuStop, "the forward watchpoint stop is QEMU's");
    assert.match(out, /Old value = 0\s+New value = 639/);
    const stopPc = parseInt(stop.split(" ")[1], 16);
    const rev = lines.find((l) => l.startsWith("REV "))!.split(" ");
    // Backwards: on the store itself (before the stop PC), the old value there; GDB shows the change backwards.
    assert.ok(parseInt(rev[1], 16) < stopPc && stopPc - parseInt(rev[1], 16) <= 15, out);
    assert.equal(rev[2], "0");
    assert.match(out, /Old value = 639\s+New value = 0/);
    assert.equal(lines.find((l) => l.startsWith("FWD ")), `FWD ${stop.split(" ")[1]} 639`);
    const brk = lines.filter((l) => l.startsWith("BRK "));
    assert.deepEqual(brk, [`BRK ${rev[1]}`, `BRK ${rev[1]}`], out);
  } finally {
    replay.kill("SIGKILL");
  }
  assert.doesNotMatch(stderr, /internal error/);
});

/** The remote register layout gdb-multiarch derives from a stub's description, without the addresses. */
async function remoteLayout(port: number, dir: string, name: string): Promise<string> {
  const { out } = await gdbScript(port, dir, name, ["maint print remote-registers"]);
  // Name, size, remote number and g offset (GDB's own numbering and cache offsets depend on feature order).
  const rows = out.split("\n").map((l) => /^ (\w+) +\d+ +\d+ +\d+ +(\d+) +\S+ +(\d+) +(\d+)$/.exec(l)).filter((m) => m !== null);
  return rows.map((m) => ({ name: m![1], size: m![2], rmt: Number(m![3]), offset: m![4] })).sort((x, y) => x.rmt - y.rmt)
    .map((r) => `${r.rmt} ${r.name} ${r.size} @${r.offset}`).join("\n");
}

test("gdb-multiarch with set architecture i8086 and i386 on -M pc,gdb-arch=i386: qemu-system-i386's register layout, steps and reverse steps through the BIOS", { skip, timeout: 600_000 }, async () => {
  const dir = tempDir("rewind-x86-gdb-i386-");
  assert.equal(spawnSync("qemu-img", ["create", "-f", "qcow2", join(dir, "disk.qcow2"), "128M"]).status, 0);
  await record(dir);
  const port = await freePort();
  const replay = spawn(process.execPath, [BIN, ...MACHINE.map((a) => (a === "pc" ? "pc,gdb-arch=i386" : a)), "-debugcon", `file:${join(dir, "replay.log")}`,
    "-icount", `shift=7,rr=replay,rrfile=${join(dir, "bios.rr")},rrsnapshot=init`, "-drive", `file=${join(dir, "disk.qcow2")},if=none`, "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: ["ignore", "ignore", "pipe"] });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const pc = 'printf "PC %x %x\\n", $cs, $eip';
    const script = join(dir, "i8086.gdb");
    writeFileSync(script, ["set pagination off", "set confirm off", "set architecture i8086", `target remote 127.0.0.1:${port}`, "show architecture", pc,
      "stepi", pc, "stepi", pc, "stepi", pc, "reverse-stepi", pc, "reverse-stepi", pc, "reverse-stepi", pc,
      "set architecture i386", "watch *(unsigned short*)0x413", "continue", 'printf "STOP %x %d\\n", $eip, *(unsigned short*)0x413', "kill"].join("\n") + "\n");
    const { out } = await runGdb(["-batch", "-nx", "-x", script], 180_000);
    assert.match(out, /The target architecture is set to "i8086"/);
    assert.doesNotMatch(out, /not recognized|internal-error|too long/, out);
    const pcs = out.split("\n").filter((l) => l.startsWith("PC ")).map((l) => l.split(" ").slice(1).map((h) => parseInt(h, 16)));
    assert.deepEqual(pcs.map(([cs, ip]) => cs * 16 + ip), [0xffff0, 0xfe05b, 0xfe062, 0xfe066, 0xfe062, 0xfe05b, 0xffff0], out);
    assert.match(out, /STOP 6ff3594 639/, out);
  } finally {
    replay.kill("SIGKILL");
  }
  if (missingTool("qemu-system-i386")) return;
  // The layout is qemu-system-i386's, register for register.
  const qport = await freePort();
  const q = spawn("qemu-system-i386", ["-M", "pc", "-display", "none", "-nodefaults", "-gdb", `tcp:127.0.0.1:${qport}`, "-S"], { stdio: "ignore" });
  const rport = await freePort();
  const r = spawn(process.execPath, [BIN, "-M", "pc,gdb-arch=i386", "-display", "none", "-nodefaults", "-gdb", `tcp:127.0.0.1:${rport}`, "-S"], { stdio: "ignore" });
  try {
    await new Promise((res) => setTimeout(res, 1000));
    const ours = await remoteLayout(rport, dir, "rewind-layout");
    assert.ok(ours.split("\n").length >= 50, ours); // eax..gs, bases, control registers, x87, xmm0-7, mxcsr
    assert.equal(ours, await remoteLayout(qport, dir, "qemu-layout"));
  } finally {
    q.kill("SIGKILL");
    r.kill("SIGKILL");
  }
});

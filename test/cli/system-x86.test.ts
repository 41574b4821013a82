// rewind-system-x86_64 as a user runs it: QEMU's x86 command line (-debugcon, -global isa-debugcon.iobase,
// -device isa-debug-exit), checked beside the same command line under the real qemu-system-x86_64.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseQemuArgs, X86_64_TARGET, type MachineOptions } from "../../src/cli/qemu-options.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const BIN = join(ROOT, "bin/rewind-system-x86_64.js");
const guest = (name: string) => join(ROOT, "guests/x86", name);

function parse(args: string): MachineOptions {
  const r = parseQemuArgs(args.split(" ").filter(Boolean), X86_64_TARGET);
  assert.equal(r.kind, "run");
  return (r as { options: MachineOptions }).options;
}

function rejects(args: string, message: string | RegExp): void {
  assert.throws(() => parseQemuArgs(args.split(" ").filter(Boolean), X86_64_TARGET), (e: Error) => {
    if (typeof message === "string") assert.equal(e.message, `rewind-system-x86_64: ${message}`);
    else assert.match(e.message, message);
    return true;
  });
}

test("the issue's SeaBIOS command line: pc, qemu64, -debugcon on a file at the port -global gives", () => {
  const o = parse("-M pc -display none -vga none -nodefaults -debugcon file:bios.log -global isa-debugcon.iobase=0x402");
  assert.equal(o.machine.type, "pc");
  assert.equal(o.cpu, "qemu64");
  assert.equal(o.ramBytes, 128 << 20);
  assert.deepEqual(o.devices, [{ driver: "isa-debugcon", iobase: 0x402, readback: 0xe9, chardev: "debugcon" }]);
  assert.deepEqual(o.chardevs.find((c) => c.id === "debugcon"), { ...o.chardevs.find((c) => c.id === "debugcon"), backend: "file", path: "bios.log" });
  assert.deepEqual(o.serials, []);
  // QEMU's default port without -global, and the versioned machine name.
  assert.equal((parse("-M pc-i440fx-7.2 -debugcon null").devices[0] as { iobase: number }).iobase, 0xe9);
});

test("isa-debug-exit and isa-debugcon as -device, with -global defaults under the command line's", () => {
  assert.deepEqual(parse("-device isa-debug-exit,iobase=0xf4,iosize=0x4").devices, [{ driver: "isa-debug-exit", iobase: 0xf4, iosize: 4 }]);
  assert.deepEqual(parse("-global isa-debug-exit.iobase=0xf4 -device isa-debug-exit").devices, [{ driver: "isa-debug-exit", iobase: 0xf4, iosize: 2 }]);
  assert.deepEqual(parse("-global isa-debug-exit.iobase=0xf4 -device isa-debug-exit,iobase=0x501,id=x").devices, [{ driver: "isa-debug-exit", iobase: 0x501, iosize: 2, id: "x" }]);
  assert.deepEqual(parse("-chardev file,id=c,path=out -device isa-debugcon,chardev=c,iobase=0x402").devices, [{ driver: "isa-debugcon", iobase: 0x402, readback: 0xe9, chardev: "c" }]);
  assert.equal(parse("-M pc,smm=off,acpi=on,hpet=off").machine.type, "pc");
  assert.deepEqual(parse("-global apic.vapic=on -global apic.vapic=off").boardGlobals, [{ driver: "apic", prop: "vapic", value: "off" }]);
});

test("x86 command lines Rewind cannot honour get one clear line", () => {
  rejects("-device e1000", /-device: 'e1000' is not a device Rewind emulates \(supported: isa-debug-exit, isa-debugcon;/);
  rejects("-device isa-debug-exit,iosize=3", "-device: isa-debug-exit.iosize must be 1, 2 or 4, not 3");
  rejects("-device isa-debugcon", "-device: isa-debugcon: Property 'chardev' is required (-device isa-debugcon,chardev=ID or -debugcon DEV)");
  rejects("-device isa-debugcon,chardev=nope", "-device: chardev 'nope' not found");
  rejects("-global isa-debugcon.colour=red", /-global: isa-debugcon\.colour is not supported by Rewind \(it takes: virtio-mmio.force-legacy, apic.vapic, isa-debug-exit.iobase/);
  rejects("-global isa-debug-exit.iobase=0x10000 -device isa-debug-exit", /isa-debug-exit.iobase: '0x10000' is not an integer from 0 to 0xffff/);
  rejects("-M q35", /unsupported machine type 'q35' \(supported: pc/);
  rejects("-cpu max", /CPU model 'max' is not supported \(supported: qemu64\)/);
  rejects("disk.img", "disk.img: if=ide is not supported on this machine (supported: none)");
  rejects("-M pc,smm=maybe", "-M: smm: invalid value 'maybe' (on, off, auto)");
  assert.throws(() => parseQemuArgs(["-debugcon", "stdio"]), /rewind-system-aarch64: -debugcon: not supported on rewind-system-aarch64/);
});

function runBoth(args: string[]): { rewind: { status: number | null; out: string; stderr: string }; qemu?: { status: number | null; out: string } } {
  const dir = tempDir("rewind-x86-cli-");
  const r = spawnSync(process.execPath, [BIN, ...args, "-debugcon", `file:${join(dir, "rewind.log")}`], { encoding: "latin1", timeout: 60_000 });
  const rewind = { status: r.status, out: readFileSync(join(dir, "rewind.log"), "latin1"), stderr: r.stderr };
  if (missingTool("qemu-system-x86_64")) return { rewind };
  const q = spawnSync("qemu-system-x86_64", [...args, "-debugcon", `file:${join(dir, "qemu.log")}`], { encoding: "latin1", timeout: 60_000 });
  return { rewind, qemu: { status: q.status, out: readFileSync(join(dir, "qemu.log"), "latin1") } };
}

test("rewind-system-x86_64 runs a bundled guest as qemu-system-x86_64 does: debug console bytes and exit status", () => {
  const args = ["-M", "pc", "-bios", guest("pmode.bin"), "-display", "none", "-vga", "none", "-nodefaults",
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", "-icount", "shift=7"];
  const { rewind, qemu } = runBoth(args);
  assert.equal(rewind.stderr, "");
  assert.equal(rewind.status, 33); // (0x10 << 1) | 1
  assert.match(rewind.out, /Bye\.\n$/);
  if (qemu) {
    assert.equal(qemu.status, rewind.status);
    assert.equal(rewind.out, qemu.out);
  }
});

test("records and replays a bundled guest through the CLI, the rrsnapshot in a qcow2 -drive if=none", { skip: missingTool("qemu-img") }, () => {
  const dir = tempDir("rewind-x86-rr-");
  const disk = join(dir, "disk.qcow2");
  assert.equal(spawnSync("qemu-img", ["create", "-f", "qcow2", disk, "128M"]).status, 0);
  const base = ["-M", "pc", "-bios", guest("pmode.bin"), "-display", "none", "-nodefaults", "-net", "none", "-drive", `file=${disk},if=none`,
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4"];
  const rr = (mode: string, log: string) =>
    spawnSync(process.execPath, [BIN, ...base, "-icount", `shift=7,rr=${mode},rrfile=${join(dir, "rec.bin")},rrsnapshot=init`, "-debugcon", `file:${join(dir, log)}`], { encoding: "latin1", timeout: 60_000 });
  const rec = rr("record", "record.log");
  assert.equal(rec.status, 33, rec.stderr);
  const rep = rr("replay", "replay.log");
  assert.equal(rep.status, 33, rep.stderr);
  assert.equal(rep.stderr, "");
  assert.equal(readFileSync(join(dir, "replay.log"), "latin1"), readFileSync(join(dir, "record.log"), "latin1"));
  assert.equal(spawnSync("qemu-img", ["check", disk]).status, 0);
});

test("a BIOS image of the wrong size is refused in one line", () => {
  const dir = tempDir("rewind-x86-bios-");
  const bad = join(dir, "bad.bin");
  writeFileSync(bad, new Uint8Array(1000));
  const r = spawnSync(process.execPath, [BIN, "-bios", bad, "-nodefaults"], { encoding: "latin1", timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `rewind-system-x86_64: '${bad}' cannot be a pc BIOS: its size (1000 bytes) is not a multiple of 64 KiB up to 16 MiB\n`);
});

test("rewind demo x86: SeaBIOS recorded to its last line, then reverse continue onto the BDA memory-size store", () => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/rewind.js"), "demo", "x86"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| SeaBIOS \(version 1\.16\.2/);
  assert.match(r.stdout, /\| No bootable device\. +@[0-9,]+\n/);
  assert.match(r.stdout, /base memory size|639 KiB of base memory/);
  // 639 over 0 (the BDA was cleared first), in SeaBIOS's relocated 32-bit POST code: the same store QEMU's gdbstub
  // reports for this watchpoint (test/acceptance/x86-bios-gdb.test.ts).
  assert.match(r.stdout, /stores 639 over 0, at 0008:[0-9a-f]{8} \(linear 0x[0-9a-f]+, 32-bit protected mode\)/);
  assert.equal(r.stderr, "");
});

test("a guest that triple-faults resets the machine; with -no-reboot the run ends with a one-line report, as QEMU's", () => {
  // lidt [0x500] (limit 0 from zeroed RAM); int3: #GP, #DF, then the shutdown cycle.
  const bios = new Uint8Array(0x10000);
  bios.set([0x0f, 0x01, 0x1e, 0x00, 0x05, 0xcc, 0xf4], 0);
  bios.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0);
  const file = join(tempDir("rewind-x86-tf-"), "triple.bin");
  writeFileSync(file, bios);
  const r = spawnSync(process.execPath, [BIN, "-bios", file, "-nodefaults", "-no-reboot"], { encoding: "latin1", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^rewind-system-x86_64: triple fault at f000:5 \(linear 0xf0005\): the machine resets \(-no-reboot: the run ends\)\n$/);
  if (!missingTool("qemu-system-x86_64")) {
    const q = spawnSync("qemu-system-x86_64", ["-M", "pc", "-bios", file, "-display", "none", "-nodefaults", "-no-reboot"], { encoding: "latin1", timeout: 30_000 });
    assert.equal(q.status, r.status, "QEMU ends the same way");
  }
});

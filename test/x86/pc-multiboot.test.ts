// Multiboot -kernel on the pc board: the bundled guest (guests/x86/multiboot.c, as an ELF and as a flat a.out-kludge
// image) prints on COM1 what the loader handed over and some 16550 register values, then exits through
// isa-debug-exit. Rewind's PcMachine must print the same bytes and exit with the same status as
// qemu-system-x86_64 -M pc -kernel (SeaBIOS + QEMU's multiboot option ROM). Broken kernels give one-line errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PcMachine, type PcConfig } from "../../src/boards/pc/pc.js";
import { MultibootError, planMultibootBoot, seabiosMemoryMap } from "../../src/boards/pc/multiboot.js";
import { BootError } from "../../src/boards/elf.js";
import { atIcount } from "../../src/core/position.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";
import { xorshift32 } from "../helpers/random.js";

const GUESTS = join(ROOT, "guests/x86");
const KERNELS = ["multiboot.elf", "multiboot-aout.bin"].map((f) => join(GUESTS, f));
const APPEND = "console=ttyS0 answer=42";
const RAM = 128 << 20;
const EXIT_STATUS = 43; // (0x15 << 1) | 1

function machine(kernel: string, out: number[], extra: Partial<PcConfig> = {}): PcMachine {
  return new PcMachine({
    ramSize: RAM,
    icountShift: 7,
    bios: new Uint8Array(0x10000), // never runs: the kernel starts directly
    serial: [(b) => out.push(b)],
    debugExit: { iobase: 0xf4, iosize: 4 },
    kernel: { name: kernel, bytes: readFileSync(kernel) },
    append: APPEND,
    ...extra,
  });
}

function runRewind(kernel: string, slices?: () => number, extra: Partial<PcConfig> = {}): { out: string; exit: number | undefined; icount: number } {
  const bytes: number[] = [];
  const m = machine(kernel, bytes, extra);
  for (;;) {
    const reason = m.run(atIcount(slices ? m.clock.icount + slices() : 1e9));
    if (reason !== "limit") {
      assert.equal(reason, "poweroff", m.stuckReason);
      break;
    }
  }
  return { out: Buffer.from(bytes).toString("latin1"), exit: m.exitCode, icount: m.clock.icount };
}

for (const kernel of KERNELS) {
  const file = kernel.split("/").pop();

  test(`pc multiboot: ${file} boots on Rewind's pc: magic, info structure, command line, memory map, COM1`, () => {
    const r = runRewind(kernel);
    assert.equal(r.exit, EXIT_STATUS, r.out);
    const lines = r.out.split("\n");
    assert.equal(lines[0], "Hello from Rewind's multiboot guest (COM1)");
    assert.match(r.out, /magic=2badb002 mbi=00009500 flags=0000024f/);
    assert.match(r.out, /mem_lower=639 KiB mem_upper=129920 KiB boot_device=8000ffff/);
    assert.ok(lines.includes(`cmdline='${kernel} ${APPEND}'`), r.out);
    assert.ok(lines.includes("boot_loader_name='qemu'"));
    assert.match(r.out, /mmap_addr=00009000 mmap_length=000000a8/);
    assert.match(r.out, /entry: pe=1 pg=0 if=0 cs=00000008 ds=00000010 ss=00000010/);
    assert.match(r.out, /uart iir=000000c1 thri=000000c2,000000c1 scr=000000a5 loop msr=000000d0 lsr=00000061 echo=LB lsr=00000060 msr=000000b0/);
    // IRQ4 through the 8259: THRE twice, received data at the trigger level, the character timeout.
    assert.match(r.out, /irq4 count=4 before-trigger=2 iir=000000c2 000000c2 000000c4 000000cc rx='TWXYZQ' other=0/);
    assert.ok(r.out.endsWith("Bye.\n"));
    // However the run is sliced, the same output at the same instruction.
    const rnd = xorshift32(7);
    assert.deepEqual(runRewind(kernel, () => 1 + (rnd() % 300)), r);
  });

  test(`pc multiboot: ${file} prints the same bytes and exits with the same status under qemu-system-x86_64`, { skip: missingTool("qemu-system-x86_64") }, () => {
    const q = qemuSerial(kernel);
    assert.equal(q.status, EXIT_STATUS, q.out);
    const r = runRewind(kernel);
    assert.equal(r.out, q.out);
    assert.equal(r.exit, q.status);
  });
}

function qemuSerial(kernel: string, extra: string[] = []): { status: number | null; out: string } {
  const serial = join(tempDir("rewind-multiboot-"), "serial.txt");
  const q = spawnSync("qemu-system-x86_64", ["-M", "pc", "-display", "none", "-nodefaults", "-serial", `file:${serial}`,
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", "-kernel", kernel, "-append", APPEND, ...extra], { timeout: 30_000 });
  return { status: q.status, out: readFileSync(serial, "latin1") };
}

test("pc multiboot: modules (-initrd) with their command lines, page-aligned after the boot information, as QEMU", () => {
  const dir = tempDir("rewind-multiboot-mods-");
  const files = [join(dir, "m1.txt"), join(dir, "m2.bin")];
  writeFileSync(files[0], "first module\n");
  writeFileSync(files[1], "second");
  const names = [`${files[0]} arg1 arg2`, files[1]];
  const modules = names.map((name, i) => ({ name, bytes: readFileSync(files[i]) }));
  const r = runRewind(KERNELS[0], undefined, { modules });
  assert.equal(r.exit, EXIT_STATUS);
  assert.match(r.out, /mods_count=00000002 mods_addr=00103000 cmdline_addr=00103[0-9a-f]{3} /);
  assert.ok(r.out.includes(`module 0: 00104000-0010400d '${names[0]}' starts 'first module'\n`), r.out);
  assert.ok(r.out.includes(`module 1: 00105000-00105006 '${names[1]}' starts 'second'\n`), r.out);
  if (missingTool("qemu-system-x86_64")) return;
  const q = qemuSerial(KERNELS[0], ["-initrd", names.join(",")]);
  assert.equal(q.status, EXIT_STATUS);
  assert.equal(r.out, q.out);
});

test("pc multiboot: the state saved every 1,500 instructions restores into a fresh machine that carries on identically", () => {
  const kernel = KERNELS[0];
  const full = runRewind(kernel);
  const out: number[] = [];
  let m = machine(kernel, out);
  let armedSeen = false;
  for (let n = 1500; ; n += 1500) {
    const reason = m.run(atIcount(n));
    if (reason === "poweroff") break;
    assert.equal(reason, "limit");
    const saved = m.stateParts.map((p) => p.saveState());
    armedSeen ||= m.clock.nextDeadline !== Infinity;
    m = machine(kernel, out);
    m.stateParts.forEach((p, i) => p.loadState(saved[i], p.stateVersion));
  }
  assert.equal(Buffer.from(out).toString("latin1"), full.out);
  assert.equal(m.clock.icount, full.icount);
  assert.equal(m.exitCode, EXIT_STATUS);
  assert.ok(armedSeen, "some state was saved with the UART's FIFO timeout armed");
});

/** The committed images were built with Debian 12's gcc 12.2; another compiler makes other (valid) code. */
function rebuildSkip(): string | false {
  const missing = missingTool("gcc", "objcopy");
  if (missing) return missing;
  const v = spawnSync("gcc", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return v.includes(" 12.2.") ? false : "the committed multiboot images were built with gcc 12.2";
}

test("guests/x86/build.sh multiboot rebuilds both images byte for byte", { skip: rebuildSkip() }, () => {
  const dir = tempDir("rewind-multiboot-build-");
  for (const f of ["build.sh", "multiboot.c", "multiboot-entry.S", "multiboot.ld"]) copyFileSync(join(GUESTS, f), join(dir, f));
  const r = spawnSync("bash", [join(dir, "build.sh"), "multiboot"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  for (const f of ["multiboot.elf", "multiboot-aout.bin"]) assert.deepEqual(readFileSync(join(dir, f)), readFileSync(join(GUESTS, f)), f);
});

/** A minimal ELF32 i386 executable: a Multiboot header at file offset 0x100, then the given PT_LOAD segments. */
function elf32(entry: number, segments: { vaddr: number; paddr: number; data: Uint8Array; memsz: number; flags: number }[]): Uint8Array {
  const phoff = 52;
  let off = 0x1000;
  const files = segments.map((sg) => {
    const at = off;
    off += Math.ceil(sg.data.length / 0x1000) * 0x1000 || 0x1000;
    return at;
  });
  const b = new Uint8Array(off);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  const v = new DataView(b.buffer);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(24, entry, true);
  v.setUint32(28, phoff, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segments.length, true);
  segments.forEach((sg, i) => {
    const ph = phoff + 32 * i;
    [1, files[i], sg.vaddr, sg.paddr, sg.data.length, sg.memsz, sg.flags].forEach((w, k) => v.setUint32(ph + 4 * k, w, true));
    b.set(sg.data, files[i]);
  });
  [0x1badb002, 0, -0x1badb002].forEach((w, k) => v.setUint32(0x100 + 4 * k, w >>> 0, true));
  return b;
}

test("pc multiboot: ELF segments become one zero-filled span from the lowest address; the entry moves to the physical alias", () => {
  const text = new Uint8Array([0xf4, 0xeb, 0xfd]);
  const data = new Uint8Array([1, 2, 3, 4]);
  const k = elf32(0xc0100001, [
    { vaddr: 0xc0100000, paddr: 0x100000, data: text, memsz: 3, flags: 5 },
    { vaddr: 0xc0103000, paddr: 0x103000, data, memsz: 0x10, flags: 6 },
  ]);
  const boot = plan(k);
  assert.equal(boot.entry, 0x100001, "e_entry inside the executable segment, moved by paddr - vaddr");
  assert.equal(boot.kernelStart, 0x100000);
  assert.equal(boot.kernelEnd, 0x103010);
  const image = boot.writes.find((w) => w.addr === 0x100000)!.bytes;
  assert.deepEqual([...image.subarray(0, 4)], [0xf4, 0xeb, 0xfd, 0]);
  assert.ok(image.subarray(3, 0x3000).every((x) => x === 0), "the gap between segments is zero");
  assert.deepEqual([...image.subarray(0x3000, 0x3010)], [1, 2, 3, 4, ...new Array(12).fill(0)], "bss zero");
  // After the page-aligned kernel: the (empty) module list, the command line "k " and "qemu".
  assert.equal(image.length, 0x5000);
  assert.deepEqual(Buffer.from(image.subarray(0x4000, 0x4008)).toString("latin1"), "k \0qemu\0");
  const mbi = new DataView(boot.writes.find((w) => w.addr === 0x9500)!.bytes.buffer);
  assert.equal(mbi.getUint32(16, true), 0x104000, "cmdline");
  assert.equal(mbi.getUint32(24, true), 0x104000, "mods_addr, also with no module");
  assert.equal(mbi.getUint32(64, true), 0x104003, "boot_loader_name");
});

// ---- broken kernels -------------------------------------------------------------------------------------------

const ram = [
  { base: 0, size: 0xa0000 },
  { base: 0x100000, size: RAM - 0x100000 },
];
const plan = (bytes: Uint8Array) => planMultibootBoot({ kernel: { name: "k", bytes }, ram, memoryMap: seabiosMemoryMap(RAM) });

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => plan(bytes),
    (e: unknown) => {
      assert.ok(e instanceof MultibootError && e instanceof BootError, String(e));
      assert.ok(!e.message.includes("\n"), "one line");
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const elf = () => new Uint8Array(readFileSync(KERNELS[0]));
const u32at = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const setU32 = (b: Uint8Array, off: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(off, v >>> 0, true);
function headerOffset(b: Uint8Array): number {
  for (let i = 0; i < 8192; i += 4) if (u32at(b, i) === 0x1badb002) return i;
  throw new Error("no magic");
}

test("pc multiboot: no header, or a header with a bad checksum, is a one-line MultibootError", () => {
  expectError(new Uint8Array(4096), /^multiboot kernel 'k' has no Multiboot header \(magic 0x1badb002\) in its first 8 KiB/);
  const b = elf();
  const at = headerOffset(b);
  setU32(b, at + 8, u32at(b, at + 8) + 1);
  expectError(b, new RegExp(`header at offset 0x${at.toString(16)} with a bad checksum`));
});

test("pc multiboot: an x86-64 or ELF64 kernel, or a file that is neither ELF nor a.out kludge, is refused", () => {
  const b = elf();
  b[18] = 62; // EM_X86_64
  expectError(b, /is an x86-64 ELF/);
  const c = elf();
  c[4] = 2; // ELFCLASS64 with EM_386
  expectError(c, /ELF of class 2/);
  const d = elf();
  d.set([0, 0, 0, 0], 0);
  expectError(d, /has no a.out kludge \(header flag 16\) and is not an ELF file/);
});

test("pc multiboot: segments outside RAM, or a.out addresses that contradict each other, are refused", () => {
  const b = elf();
  const phoff = u32at(b, 28);
  setU32(b, phoff + 12, 0x20000000); // p_paddr past 128 MiB
  expectError(b, /puts its kernel image and boot information at 0x20000000-0x2000[0-9a-f]{4}, outside RAM \(0x0-0xa0000, 0x100000-0x8000000\)/);
  const c = elf();
  setU32(c, phoff + 12, 0x9f000); // runs past the ISA hole at 640 KiB
  expectError(c, /outside RAM/);
  const a = new Uint8Array(readFileSync(KERNELS[1]));
  const at = headerOffset(a);
  setU32(a, at + 16, u32at(a, at + 12) + 0x10); // load_addr above header_addr
  expectError(a, /header_addr 0x100000 below load_addr 0x100010/);
  const e = new Uint8Array(readFileSync(KERNELS[1]));
  setU32(e, at + 24, 0x100004); // bss_end_addr inside the loaded image
  expectError(e, /bss_end_addr 0x100004 below the end of the loaded image/);
});

test("pc multiboot: PcMachine reports the broken kernel as the error, not a stack of internals", () => {
  const b = elf();
  b[18] = 62;
  assert.throws(() => new PcMachine({ ramSize: RAM, icountShift: 7, bios: new Uint8Array(0x10000), kernel: { name: "k64", bytes: b } }), MultibootError);
});

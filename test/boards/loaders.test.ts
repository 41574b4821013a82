import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FdtNode, FdtTree } from "../../src/core/fdt.js";
import { buildVirtDtb } from "../../src/boards/virt/dtb.js";
import { parseElf64 } from "../../src/boards/elf.js";
import {
  aarch64BootStub, BootError, gunzipKernel, loadKernel, planBoot, readBootFile, type BootOptions, type BootPlan,
} from "../../src/boards/loaders.js";
import { missingTool } from "../helpers/tools.js";

const MiB = 1024 * 1024;
const RAM_BASE = 0x4000_0000;
const ram = (mib: number) => ({ base: RAM_BASE, size: mib * MiB });

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "rewind-loaders-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A synthetic arm64 Image: a branch, the header fields, the magic, then recognisable filler. */
function makeImage(textOffset: number, imageSize: number, total = 0x1000): Uint8Array {
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x1400_0010, true); // b +0x40
  dv.setBigUint64(8, BigInt(textOffset), true);
  dv.setBigUint64(16, BigInt(imageSize), true);
  dv.setBigUint64(24, 0xan, true); // LE, 4K pages, anywhere
  b.set([0x41, 0x52, 0x4d, 0x64], 56);
  for (let i = 64; i < total; i++) b[i] = i & 0xff;
  return b;
}

const fakeDtb = (size = 0x1000) => (): Uint8Array => new Uint8Array(size).fill(0xdd);

function plan(kernel: Uint8Array, more: Partial<BootOptions> = {}): BootPlan {
  return planBoot({ kernel, kernelName: "k", ram: ram(128), makeDtb: fakeDtb(), ...more });
}

const blob = (p: BootPlan, what: string) => p.blobs.find((b) => b.what === what);

function expectBootError(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BootError, `expected BootError, got ${String(e)}`);
    assert.match((e as Error).message, msg);
    return true;
  });
}

// --- hand-built ELF files ---

interface SegSpec {
  paddr: number | bigint;
  vaddr?: number | bigint;
  data: Uint8Array;
  memsz?: number;
  flags?: number;
  type?: number;
}

function buildElf(o: { segments: SegSpec[]; entry: number | bigint; machine?: number; cls?: number; le?: boolean; type?: number }): Uint8Array {
  const le = o.le ?? true;
  const phoff = 64;
  let dataOff = phoff + o.segments.length * 56;
  const total = dataOff + o.segments.reduce((n, s) => n + s.data.length, 0);
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, o.cls ?? 2, le ? 1 : 2, 1]);
  dv.setUint16(16, o.type ?? 2, le);
  dv.setUint16(18, o.machine ?? 183, le);
  dv.setUint32(20, 1, le);
  dv.setBigUint64(24, BigInt(o.entry), le);
  dv.setBigUint64(32, BigInt(phoff), le);
  dv.setUint16(52, 64, le);
  dv.setUint16(54, 56, le);
  dv.setUint16(56, o.segments.length, le);
  o.segments.forEach((s, i) => {
    const ph = phoff + i * 56;
    dv.setUint32(ph, s.type ?? 1, le);
    dv.setUint32(ph + 4, s.flags ?? 5, le);
    dv.setBigUint64(ph + 8, BigInt(dataOff), le);
    dv.setBigUint64(ph + 16, BigInt(s.vaddr ?? s.paddr), le);
    dv.setBigUint64(ph + 24, BigInt(s.paddr), le);
    dv.setBigUint64(ph + 32, BigInt(s.data.length), le);
    dv.setBigUint64(ph + 40, BigInt(s.memsz ?? s.data.length), le);
    b.set(s.data, dataOff);
    dataOff += s.data.length;
  });
  return b;
}

const code = new Uint8Array([0x25, 0x00, 0x80, 0xd2, 0x00, 0x00, 0x00, 0x14]); // mov x5, #1; b .

// --- unit tests ---

test("boot stub is QEMU's bootloader_aarch64 with the DTB and entry literals", () => {
  const stub = aarch64BootStub(0x4420_0000, 0x1_4008_0000);
  const dv = new DataView(stub.buffer);
  const words = Array.from({ length: 10 }, (_, i) => dv.getUint32(i * 4, true));
  assert.deepEqual(words, [0x580000c0, 0xaa1f03e1, 0xaa1f03e2, 0xaa1f03e3, 0x58000084, 0xd61f0080,
    0x4420_0000, 0, 0x4008_0000, 1]);
});

test("Image: loaded at RAM base + text_offset, +2 MiB when text_offset is below the stub's 4 KiB", () => {
  const cases: [number, number, number][] = [
    [0x80000, 0x10000, 0x4008_0000],
    [0, 0x10000, 0x4020_0000],
    [0xfff, 0x10000, 0x4020_0fff],
    [0x1000, 0x10000, 0x4000_1000],
    [0x80000, 0, 0x4008_0000], // image_size 0: old kernel, text_offset ignored
    [0x12345, 0, 0x4008_0000],
  ];
  for (const [textOffset, imageSize, entry] of cases) {
    const k = loadKernel(makeImage(textOffset, imageSize), "k", ram(128));
    assert.equal(k.format, "image");
    assert.equal(k.isLinux, true);
    assert.equal(k.entry, entry, `text_offset ${textOffset.toString(16)} image_size ${imageSize}`);
    assert.equal(k.high, entry + (imageSize || 0x1000), "kernel size is image_size, else the file size");
  }
});

test("raw images go to RAM base + 0x80000; gzip is undone first", () => {
  const raw = new Uint8Array(100).fill(0x11);
  const k = loadKernel(raw, "raw", ram(64));
  assert.deepEqual([k.format, k.entry, k.compressed], ["raw", 0x4008_0000, false]);
  const img = makeImage(0, 0x20000, 0x3000);
  const gz = loadKernel(gzipSync(img), "Image.gz", ram(64));
  assert.deepEqual([gz.format, gz.entry, gz.compressed], ["image", 0x4020_0000, true]);
  assert.deepEqual(gz.blobs[0]!.bytes, img);
  // gzip with a file name field and trailing junk, as `gzip` writes and some packagers pad: QEMU ignores the rest.
  const named = Buffer.from(readGzipWithName(img));
  const k2 = loadKernel(new Uint8Array(Buffer.concat([named, Buffer.from("trailing junk")])), "vmlinuz", ram(64));
  assert.deepEqual(k2.blobs[0]!.bytes, img);
});

function readGzipWithName(data: Uint8Array): Uint8Array {
  const r = spawnSync("gzip", ["-c", "-N"], { input: data });
  if (r.status === 0 && r.stdout.length > 10) return new Uint8Array(r.stdout);
  // No gzip binary: set FNAME by hand.
  const g = Buffer.from(gzipSync(data));
  return new Uint8Array(Buffer.concat([g.subarray(0, 3), Buffer.from([g[3]! | 8]), g.subarray(4, 10), Buffer.from("Image\0"), g.subarray(10)]));
}

test("gzip errors are clear: corrupt, truncated, too large", () => {
  const gz = gzipSync(makeImage(0, 0x10000, 0x8000));
  const corrupt = Uint8Array.from(gz);
  for (let i = 12; i < 40; i++) corrupt[i] ^= 0x5a;
  expectBootError(() => loadKernel(corrupt, "bad.gz", ram(64)), /kernel 'bad.gz': corrupt gzip data/);
  expectBootError(() => loadKernel(gz.subarray(0, gz.length / 2), "half.gz", ram(64)), /gzip data is truncated/);
  expectBootError(() => loadKernel(gz.subarray(0, 5), "tiny.gz", ram(64)), /truncated gzip header/);
  expectBootError(() => gunzipKernel(gzipSync(new Uint8Array(1 << 20)), "big", 1 << 16), /decompresses to more than/);
  const badMethod = Uint8Array.from(gz);
  badMethod[2] = 7;
  expectBootError(() => loadKernel(badMethod, "m", ram(64)), /bad gzip header/);
});

function makeZboot(inner: Uint8Array, compression = "gzip"): Uint8Array {
  const payload = gzipSync(inner);
  const b = new Uint8Array(0x200 + payload.length);
  const dv = new DataView(b.buffer);
  b.set([0x4d, 0x5a], 0);
  b.set(Buffer.from("zimg"), 4);
  dv.setUint32(8, 0x200, true);
  dv.setUint32(12, payload.length, true);
  b.set(Buffer.from(compression), 24);
  b.set([0xcd, 0x23, 0x82, 0x81], 56);
  dv.setUint32(60, 0x40, true);
  b.set(payload, 0x200);
  return b;
}

test("EFI zboot: raw like QEMU 7.2 by default (with a warning), unpacked on request like QEMU 8", () => {
  const inner = makeImage(0, 0x40000);
  const z = makeZboot(inner);
  const raw = loadKernel(z, "vmlinuz", ram(128));
  assert.deepEqual([raw.format, raw.entry], ["raw", 0x4008_0000]);
  assert.match(raw.warnings.join("\n"), /EFI zboot image: QEMU 7.2 cannot boot it directly/);
  const unpacked = loadKernel(z, "vmlinuz", ram(128), { efiZboot: "unpack" });
  assert.deepEqual([unpacked.format, unpacked.entry, unpacked.compressed], ["efi-zboot", 0x4020_0000, true]);
  assert.deepEqual(unpacked.blobs[0]!.bytes, inner);
  expectBootError(() => loadKernel(makeZboot(inner, "zstd"), "z", ram(128), { efiZboot: "unpack" }), /"zstd" compression/);
  const cut = Uint8Array.from(z);
  new DataView(cut.buffer).setUint32(12, 0x100000, true);
  expectBootError(() => loadKernel(cut, "z", ram(128), { efiZboot: "unpack" }), /payload past end of file/);
});

test("Linux placement: initrd at min(RAM/2, 128 MiB) or after the kernel, DTB 2 MiB aligned after it", () => {
  let seen: unknown;
  const initrd = new Uint8Array(10 * 1024).fill(0x77);
  const p = plan(makeImage(0, 0x10000), { initrd, makeDtb: (info) => ((seen = info), fakeDtb()()) });
  assert.deepEqual(p.initrd, { start: 0x4400_0000, size: 10 * 1024 });
  assert.deepEqual(seen, { initrd: { start: 0x4400_0000, end: 0x4400_2800 } });
  assert.deepEqual(p.dtb, { addr: 0x4420_0000, size: 0x1000 });
  assert.deepEqual(p.regs, { pc: RAM_BASE, x0: 0, x1: 0, x2: 0, x3: 0 });
  const stub = new DataView(blob(p, "boot stub")!.bytes.buffer);
  assert.equal(stub.getUint32(24, true), 0x4420_0000);
  assert.equal(stub.getUint32(32, true), 0x4020_0000);
  assert.equal(blob(p, "boot stub")!.addr, RAM_BASE);
  assert.ok(p.description.some((l) => /boot stub at 0x40000000/.test(l)));

  assert.equal(plan(makeImage(0x80000, 0)).dtb!.addr, 0x4400_0000, "no initrd: DTB at the initrd position");
  assert.equal(planBoot({ kernel: makeImage(0x80000, 0), kernelName: "k", ram: ram(1024), makeDtb: fakeDtb() }).dtb!.addr,
    0x4800_0000, "1 GiB RAM: 128 MiB in");
  // image_size reaching past the default initrd spot pushes initrd and DTB up.
  const big = plan(makeImage(0x80000, 0x500_0000), { initrd });
  assert.deepEqual([big.initrd!.start, big.dtb!.addr], [0x4508_0000, 0x4520_0000]);
  // An empty initrd is no initrd (QEMU sets no /chosen range for a zero size).
  const empty = plan(makeImage(0x80000, 0), { initrd: new Uint8Array(0), makeDtb: (i) => ((seen = i), fakeDtb()()) });
  assert.deepEqual(seen, {});
  assert.equal(empty.initrd, undefined);
});

test("Linux placement errors", () => {
  expectBootError(() => plan(makeImage(0x80000, 200 * MiB)), /kernel 'k' is too large to fit in RAM/);
  expectBootError(() => plan(makeImage(0x80000, 0), { initrd: new Uint8Array(65 * MiB), initrdName: "big.img" }),
    /could not load initrd 'big.img': too big to fit into RAM after the kernel/);
  expectBootError(() => plan(makeImage(0x80000, 0), { makeDtb: fakeDtb(65 * MiB) }), /not enough RAM for the .*device tree/);
  expectBootError(() => plan(makeImage(0x7f0_0000, 0x10_0000)), /does not fit in RAM|Not enough space|initrd/);
  expectBootError(() => plan(new Uint8Array(0)), /kernel 'k' is empty/);
  expectBootError(() => plan(new Uint8Array([0x27, 0x05, 0x19, 0x56, 0, 0, 0, 0])), /U-Boot uImage/);
});

test("ELF: segments at p_paddr, bss zero-filled, entry; not Linux: pc = entry, x0 = 0, no stub", () => {
  const elf = buildElf({
    entry: 0x4020_0000,
    segments: [
      { paddr: 0x4020_0000, data: code },
      { paddr: 0x4021_0000, data: new Uint8Array([1, 2, 3, 4]), memsz: 0x100, flags: 6 },
      { paddr: 0x4030_0000, data: new Uint8Array(0), memsz: 0 }, // empty: skipped, as QEMU does
    ],
  });
  const p = plan(elf, { initrd: new Uint8Array(16) });
  assert.equal(p.kernel.format, "elf");
  assert.deepEqual(p.regs, { pc: 0x4020_0000, x0: 0, x1: 0, x2: 0, x3: 0 });
  const segs = p.blobs.filter((b) => b.what.startsWith("kernel segment"));
  assert.deepEqual(segs.map((s) => [s.addr, s.bytes.length]), [[0x4020_0000, 8], [0x4021_0000, 0x100]]);
  assert.deepEqual([...segs[1]!.bytes.subarray(0, 6)], [1, 2, 3, 4, 0, 0]);
  assert.equal(blob(p, "boot stub"), undefined);
  assert.equal(p.initrd, undefined);
  assert.match(p.warnings.join(), /initrd 'initrd' ignored/);
  assert.deepEqual(p.dtb, { addr: RAM_BASE, size: 0x1000 }, "room below the image: DTB at the start of RAM");
});

test("ELF DTB placement follows QEMU: below the image if it fits, at 0 if the image covers RAM base", () => {
  const at = (paddr: number, dtbSize: number, extra?: { base: number; size: number }[]) => plan(
    buildElf({ entry: paddr, segments: [{ paddr, data: code }] }),
    { makeDtb: fakeDtb(dtbSize), extraRegions: extra },
  );
  assert.equal(at(0x4008_0000, 0x8_0000).dtb!.addr, RAM_BASE, "exactly fits");
  const none = at(0x4008_0000, 0x10_0000);
  assert.equal(none.dtb, undefined, "1 MiB DTB does not fit below 0x40080000: QEMU loads none");
  assert.match(none.description.join(), /dtb: not loaded/);
  const covered = at(RAM_BASE, 0x1000);
  assert.deepEqual([covered.dtb!.addr, blob(covered, "dtb")!.inRam], [0, false]);
  const flashElf = at(0x1000, 0x10_0000, [{ base: 0, size: 0x800_0000 }]);
  assert.deepEqual([flashElf.dtb!.addr, blob(flashElf, "dtb")!.inRam], [RAM_BASE, true], "image below RAM: no limit");
  assert.equal(blob(flashElf, "kernel segment 0")!.inRam, false);
});

test("ELF entry moves to the physical alias when p_vaddr differs from p_paddr", () => {
  const elf = buildElf({ entry: 0x1000_0004, segments: [{ paddr: 0x4020_0000, vaddr: 0x1000_0000, data: code }] });
  assert.equal(parseElf64(elf, "e").entry, 0x4020_0004);
  const noExec = buildElf({ entry: 0x1000_0004, segments: [{ paddr: 0x4020_0000, vaddr: 0x1000_0000, data: code, flags: 4 }] });
  assert.equal(parseElf64(noExec, "e").entry, 0x1000_0004, "only executable segments translate the entry");
  const outside = buildElf({ entry: 0x1000_0008, segments: [{ paddr: 0x4020_0000, vaddr: 0x1000_0000, data: code }] });
  assert.equal(parseElf64(outside, "e").entry, 0x1000_0008, "entry past p_filesz is left alone");
});

test("ELF errors name the problem", () => {
  const seg = [{ paddr: 0x4020_0000, data: code }];
  const ok = buildElf({ entry: 0x4020_0000, segments: seg });
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, machine: 62 })), /kernel 'k': x86-64 ELF, expected AArch64/);
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, machine: 40, cls: 1 })), /32-bit ARM ELF, expected AArch64/);
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, machine: 243 })), /RISC-V ELF, expected AArch64/);
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, cls: 1 })), /32-bit ELF \(ELFCLASS32\)/);
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, le: false })), /big-endian AArch64 ELF/);
  expectBootError(() => plan(buildElf({ entry: 0, segments: seg, type: 1 })), /relocatable object, expected an executable \(link it first\)/);
  expectBootError(() => plan(ok.subarray(0, 40)), /truncated ELF header/);
  expectBootError(() => plan(ok.subarray(0, 100)), /truncated ELF: program headers/);
  expectBootError(() => plan(ok.subarray(0, ok.length - 4)), /truncated ELF: segment 0 .* past the end of the file/);
  expectBootError(() => plan(buildElf({ entry: 0x1000, segments: [{ paddr: 0x1000, data: code }] })),
    /segment 0 \(0x8 bytes at 0x1000\) is outside RAM \(0x40000000\.\.0x47ffffff\)/);
  expectBootError(() => plan(buildElf({ entry: 0x4800_0000 - 4, segments: [{ paddr: 0x4800_0000 - 4, data: code }] })), /outside RAM/);
  expectBootError(() => plan(buildElf({ entry: 0xffff_8000_0801_0000n, segments: [{ paddr: 0xffff_8000_0800_0000n, data: code }] })),
    /vmlinux\? boot arch\/arm64\/boot\/Image instead/);
  expectBootError(() => plan(buildElf({ entry: 0x4020_0000, segments: [seg[0]!, { paddr: 0x4020_0004, data: code }] })), /overlap/);
  expectBootError(() => plan(buildElf({ entry: 0x4020_0000, segments: [{ paddr: 0x4020_0000, data: code, type: 4 }] })),
    /no loadable \(PT_LOAD\) segments/);
  const fileBigger = Uint8Array.from(ok);
  new DataView(fileBigger.buffer).setBigUint64(64 + 40, 4n, true);
  expectBootError(() => plan(fileBigger), /file size 8 is larger than its memory size 4/);
});

test("readBootFile gives QEMU-style messages", () => {
  expectBootError(() => readBootFile("/nonexistent/dir/Image", "kernel"),
    /^cannot open kernel '\/nonexistent\/dir\/Image': No such file or directory$/);
  expectBootError(() => readBootFile(tmpdir(), "initrd"), /cannot open initrd '.*': Is a directory/);
  withTmp((dir) => {
    writeFileSync(join(dir, "k"), new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readBootFile(join(dir, "k"), "kernel")], [1, 2, 3]);
  });
});

test("ELF built by aarch64-linux-gnu-gcc loads at its link address", { skip: missingTool("aarch64-linux-gnu-gcc") }, () => {
  withTmp((dir) => {
    const elfPath = buildGccElf(dir, 0x4020_0000);
    const bytes = new Uint8Array(readFileSync(elfPath));
    const p = plan(bytes);
    assert.equal(p.regs.pc, 0x4020_0000);
    const text = p.blobs.find((b) => b.addr <= 0x4020_0000 && b.addr + b.bytes.length > 0x4020_0000)!;
    const off = 0x4020_0000 - text.addr;
    assert.deepEqual([...text.bytes.subarray(off, off + 4)], [0x25, 0x00, 0x80, 0xd2], "mov x5, #1");
    const data = p.blobs.find((b) => b.what !== "dtb" && b.addr > 0x4020_0000)!;
    assert.ok(data.bytes.length >= 0x108, "data + bss");
    assert.deepEqual([...data.bytes.subarray(0, 8)], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    assert.equal(p.dtb!.addr, RAM_BASE);
  });
});

/** `segment`: link so the first segment (ELF headers included) starts at the address, rather than .text. */
function buildGccElf(dir: string, textAddr: number, segment = false): string {
  const src = join(dir, "t.S");
  writeFileSync(src, ".globl _start\n_start: mov x5, #1\n1: b 1b\n.data\n.quad 0x1122334455667788\n.bss\n.space 0x100\n");
  const out = join(dir, `t-${textAddr.toString(16)}.elf`);
  const link = `-Wl,-${segment ? "Ttext-segment" : "Ttext"}=0x${textAddr.toString(16)}`;
  const r = spawnSync("aarch64-linux-gnu-gcc", ["-nostdlib", "-static", "-no-pie", link,
    "-Wl,--build-id=none", "-o", out, src], { encoding: "utf8" });
  if (r.status !== 0) assert.fail(`gcc failed: ${r.stderr}`);
  return out;
}

// --- QEMU as the oracle ---

interface Probe {
  pc: number;
  x0: number;
  words: Map<number, number[]>;
}

/** Starts QEMU paused (-S) and reads registers and memory through the monitor. */
function qemuProbe(args: string[], reads: [number, number][]): Probe {
  const cmds = [...reads.map(([addr, n]) => `xp /${n}wx 0x${addr.toString(16)}`), "info registers", "quit", ""].join("\n");
  const r = spawnSync("qemu-system-aarch64", ["-M", "virt,dtb-randomness=off", "-cpu", "cortex-a53", "-S", "-nographic",
    "-serial", "none", "-monitor", "stdio", ...args], { input: cmds, encoding: "utf8", timeout: 30_000 });
  const out = r.stdout ?? "";
  const pc = /PC=([0-9a-f]+)/.exec(out);
  const x0 = /X00=([0-9a-f]+)/.exec(out);
  if (!pc || !x0) assert.fail(`no registers from QEMU: ${out}\n${r.stderr}`);
  const words = new Map<number, number[]>();
  for (const m of out.matchAll(/^([0-9a-f]{16}): ((?:0x[0-9a-f]{8}\s*)+)$/gm)) {
    const addr = parseInt(m[1]!, 16);
    m[2]!.trim().split(/\s+/).forEach((w, i) => words.set(addr + 4 * i, [parseInt(w, 16)]));
  }
  return { pc: parseInt(pc[1]!, 16), x0: parseInt(x0[1]!, 16), words };
}

const word = (p: Probe, addr: number): number | undefined => p.words.get(addr)?.[0];
const DTB_MAGIC_LE = 0xedfe0dd0; // d0 0d fe ed read as a little-endian word

test("QEMU agrees: stub, registers, kernel/initrd/DTB placement", { skip: missingTool("qemu-system-aarch64") }, () => {
  withTmp((dir) => {
    const initrdPath = join(dir, "initrd");
    const initrd = new Uint8Array(10 * 1024).map((_, i) => (i * 7) & 0xff);
    writeFileSync(initrdPath, initrd);
    const kernels: [string, Uint8Array, boolean][] = [
      ["Image-text0", makeImage(0, 0x10000), true],
      ["Image-80000", makeImage(0x80000, 0x10000), false],
      ["Image-nosize", makeImage(0x12345, 0), true],
      ["Image-big.gz", gzipSync(makeImage(0x80000, 0x500_0000)), true],
      ["raw.bin", new Uint8Array(0x800).fill(0x3c), false],
    ];
    for (const [name, bytes, withInitrd] of kernels) {
      const kpath = join(dir, name);
      writeFileSync(kpath, bytes);
      const p = plan(bytes, { kernelName: name, initrd: withInitrd ? initrd : undefined, makeDtb: fakeDtb() });
      const entry = p.kernel.entry;
      const reads: [number, number][] = [[RAM_BASE, 10], [entry, 4], [p.dtb!.addr, 2]];
      if (p.initrd) reads.push([p.initrd.start, 2]);
      const q = qemuProbe(["-m", "128M", "-kernel", kpath, ...(withInitrd ? ["-initrd", initrdPath] : [])], reads);
      assert.equal(q.pc, p.regs.pc, `${name}: pc`);
      assert.equal(q.x0, p.regs.x0, `${name}: x0`);
      const stub = new DataView(blob(p, "boot stub")!.bytes.buffer);
      for (let i = 0; i < 10; i++) assert.equal(word(q, RAM_BASE + 4 * i), stub.getUint32(4 * i, true), `${name}: stub word ${i}`);
      const kdv = new DataView(p.kernel.blobs[0]!.bytes.buffer, p.kernel.blobs[0]!.bytes.byteOffset);
      for (let i = 0; i < 4; i++) assert.equal(word(q, entry + 4 * i), kdv.getUint32(4 * i, true), `${name}: kernel at ${entry.toString(16)}`);
      assert.equal(word(q, p.dtb!.addr), DTB_MAGIC_LE, `${name}: QEMU's DTB at ${p.dtb!.addr.toString(16)}`);
      if (p.initrd) assert.equal(word(q, p.initrd.start), new DataView(initrd.buffer).getUint32(0, true), `${name}: initrd`);
    }
  });
});

test("QEMU agrees on ELF kernels: pc = entry, x0 = 0, DTB at RAM base only when it fits", {
  skip: missingTool("qemu-system-aarch64", "aarch64-linux-gnu-gcc"),
}, () => {
  withTmp((dir) => {
    const cases: [number, boolean, number | undefined][] = [
      [0x4000_0000, true, 0], // the image starts at RAM base: QEMU puts the DTB at 0 (flash)
      [0x4008_0000, false, undefined], // 0x70000 bytes below the image: too small for the 1 MiB DTB
      [0x4020_0000, false, RAM_BASE],
    ];
    for (const [textAddr, segment, dtbAt] of cases) {
      const path = buildGccElf(dir, textAddr, segment);
      const bytes = new Uint8Array(readFileSync(path));
      // QEMU's generated DTB is 1 MiB, and so is ours; the size decides whether it fits below the image.
      const p = plan(bytes, { makeDtb: () => buildVirtDtb({ ramSize: 128 * MiB }) });
      const q = qemuProbe(["-m", "128M", "-kernel", path], [[RAM_BASE, 2], [0, 2]]);
      assert.equal(q.pc, p.regs.pc, `ELF at ${textAddr.toString(16)}: pc`);
      assert.equal(q.x0, 0);
      const qemuDtbAt = word(q, RAM_BASE) === DTB_MAGIC_LE ? RAM_BASE : word(q, 0) === DTB_MAGIC_LE ? 0 : undefined;
      assert.equal(qemuDtbAt, dtbAt, `ELF at ${textAddr.toString(16)}: QEMU's DTB address`);
      assert.equal(p.dtb?.addr, dtbAt, `ELF at ${textAddr.toString(16)}: our DTB address`);
    }
  });
});

test("end to end: the DTB planBoot builds matches QEMU's for -kernel Image -initrd -append", {
  skip: missingTool("qemu-system-aarch64"),
}, () => {
  withTmp((dir) => {
    const kpath = join(dir, "Image");
    const ipath = join(dir, "initrd");
    const out = join(dir, "q.dtb");
    const kernel = makeImage(0x80000, 0x600_0000);
    const initrd = new Uint8Array(300_000).fill(1);
    writeFileSync(kpath, kernel);
    writeFileSync(ipath, initrd);
    const bootargs = "console=ttyAMA0 root=/dev/ram";
    const p = planBoot({
      kernel, kernelName: kpath, initrd, ram: ram(128),
      makeDtb: ({ initrd: range }) => buildVirtDtb({ ramSize: 128 * MiB, bootargs, initrd: range, devices: [{ kind: "pl031" }] }),
    });
    const r = spawnSync("qemu-system-aarch64", ["-M", "virt,dtb-randomness=off", "-cpu", "cortex-a53", "-m", "128M",
      "-kernel", kpath, "-initrd", ipath, "-append", bootargs, "-machine", `dumpdtb=${out}`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const qemu = FdtTree.fromDtb(new Uint8Array(readFileSync(out)));
    const ours = FdtTree.fromDtb(blob(p, "dtb")!.bytes);
    const props = (n: FdtNode) => n.props.map((x) => [x.name, Buffer.from(x.value).toString("hex")]);
    for (const path of ["/chosen", "/memory@40000000", "/psci"]) {
      assert.deepEqual(props(ours.find(path)!), props(qemu.find(path)!), path);
    }
    assert.equal(ours.find("/chosen")!.getU32("linux,initrd-start"), 0x4608_0000, "pushed up by image_size");
    const q = qemuProbe(["-m", "128M", "-kernel", kpath, "-initrd", ipath], [[RAM_BASE + 0x18, 1]]);
    assert.equal(word(q, RAM_BASE + 0x18), p.dtb!.addr);
  });
});

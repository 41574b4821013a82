// Multiboot 1 `-kernel` for the pc board, laid out in RAM as QEMU 7.2 does it (hw/i386/multiboot.c and its option
// ROM pc-bios/optionrom/multiboot.S), and the machine state the Multiboot spec defines at the kernel's entry.
//
// QEMU: the header is the first 4-byte-aligned 0x1BADB002 in the first 8 KiB (up to offset 8144) whose checksum
// makes magic + flags + checksum zero. Without flag 16 the kernel is an ELF32 i386 executable: PT_LOAD segments at
// p_paddr, the span from the lowest to the highest address one block (gaps and bss zero), the entry moved to the
// physical alias when the executable segment's p_vaddr != p_paddr. With flag 16 (the a.out kludge) the header's
// load_addr/load_end_addr/bss_end_addr/entry_addr say what to load from the file offset of header_addr. After the
// kernel, page-aligned: the module list, command lines (each module's, then "<kernel file> <append>"), the boot
// loader name "qemu", page-aligned; the modules follow, each page-aligned. The info structure (88 bytes) is at
// 0x9500 and the memory map at 0x9000. QEMU's flags: mem, boot_device (0x8000ffff), cmdline, mods (count and
// address even with none), mmap, boot_loader_name.
//
// The difference: QEMU runs SeaBIOS, which runs the multiboot option ROM, which fills the memory map through INT 15h
// E820 and mem_lower through INT 12h, copies everything through fw_cfg and far-jumps to 32-bit protected mode.
// Rewind writes the same bytes directly and sets the CPU state the ROM leaves (no BIOS code runs): the memory map
// is the one SeaBIOS 1.16 reports on QEMU 7.2's pc (`seabiosMemoryMap`), and the GDT — the ROM's five entries,
// which QEMU keeps in the option ROM at 0xc02b8 — is at 0x9560 here, right after the info structure. Undefined by
// the spec but kept as QEMU leaves them: ESP 0x6f08, EFLAGS 0x6, CR0 0x11, ECX the entry, IDTR the real-mode IVT.
// The BIOS data area, the PIC and PIT programming and the other things SeaBIOS does are absent.

import { BootError } from "../elf.js";
import { Seg } from "../../arch/x86/cpu-state.js";
import type { X86Cpu } from "../../arch/x86/cpu.js";

/** A kernel or module the loader cannot boot; the message is one line for the user. */
export class MultibootError extends BootError {
  override name = "MultibootError";
}

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header flag of the a.out kludge: the load addresses are in the header. */
export const MULTIBOOT_AOUT_KLUDGE = 1 << 16;
const SEARCH_LIMIT = 8192 - 48;

/** Where QEMU puts the boot information (hw/i386/multiboot.c ADDR_E820_MAP, ADDR_MBI). */
export const MULTIBOOT_MMAP_ADDR = 0x9000;
export const MULTIBOOT_INFO_ADDR = 0x9500;
const MBI_SIZE = 88;
const MB_MOD_SIZE = 16;
const PAGE = 4096;
const BOOT_LOADER_NAME = "qemu";
const MBI_FLAGS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);
/** Multiboot info field offsets. */
const MBI = { flags: 0, memLower: 4, memUpper: 8, bootDevice: 12, cmdline: 16, modsCount: 20, modsAddr: 24, mmapLength: 44, mmapAddr: 48, bootLoaderName: 64 } as const;

/** QEMU's multiboot ROM GDT: null, 32-bit code 0x08, 32-bit data 0x10, 16-bit code 0x18, 16-bit data 0x20. */
const GDT_WORDS = [0, 0, 0x0000ffff, 0x00cf9a00, 0x0000ffff, 0x00cf9300, 0x0000ffff, 0x00009e00, 0x0000ffff, 0x00009200];
export const MULTIBOOT_GDT_ADDR = 0x9560;
/** CPU state QEMU 7.2's option ROM leaves beyond what the spec fixes (read through its gdbstub at the entry). */
const ENTRY_ESP = 0x6f08;
const ENTRY_EFLAGS = 0x6;
const ENTRY_CR0 = 0x11;

const EM_386 = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PF_X = 1;

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
}

export interface MemoryMapEntry {
  base: number;
  length: number;
  /** 1 RAM, 2 reserved (E820 types). */
  type: number;
}

export interface MultibootFile {
  /** As given to -kernel / -initrd: it goes into the command line the guest sees. */
  name: string;
  bytes: Uint8Array;
}

export interface MultibootConfig {
  kernel: MultibootFile;
  /** -append ("" when absent, as QEMU). */
  append?: string;
  /** -initrd's comma-separated modules; `name` is the module's string, its file name and any arguments. */
  modules?: MultibootFile[];
  /** The guest's RAM ranges: everything the loader writes must land in one of them. */
  ram: readonly { base: number; size: number }[];
  memoryMap: readonly MemoryMapEntry[];
}

/** The bytes to place and the entry. `writes` are in the order the option ROM performs them (later ones win). */
export interface MultibootBoot {
  writes: { addr: number; bytes: Uint8Array }[];
  entry: number;
  infoAddr: number;
  /** Physical range of the kernel image (bss included). */
  kernelStart: number;
  kernelEnd: number;
}

const u32 = (b: Uint8Array, off: number): number => (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
const hex = (v: number): string => `0x${v.toString(16)}`;
const pageAlign = (v: number): number => Math.ceil(v / PAGE) * PAGE;

/** QEMU's scan for the header; a magic with a wrong checksum is skipped, as QEMU skips it. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  for (let i = 0; i < SEARCH_LIMIT && i + 12 <= image.length; i += 4) {
    if (u32(image, i) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, i + 4);
    if (((MULTIBOOT_HEADER_MAGIC + flags + u32(image, i + 8)) >>> 0) === 0) return { offset: i, flags };
  }
  return undefined;
}

interface KernelImage {
  loadAddr: number;
  /** The kernel from loadAddr: file bytes, then zeros (bss, gaps between segments). */
  bytes: Uint8Array;
  entry: number;
}

function loadElf32(image: Uint8Array, bad: (msg: string) => never): KernelImage {
  if (image.length >= 20 && (image[18] | (image[19] << 8)) === EM_X86_64) bad("is an x86-64 ELF: Multiboot loads 32-bit kernels (QEMU: give a 32bit one)");
  if (image.length < 52 || u32(image, 0) !== 0x464c457f) bad("has no a.out kludge (header flag 16) and is not an ELF file");
  if (image[4] !== 1) bad(`is an ELF of class ${image[4]} (ELF64?), expected a 32-bit i386 ELF`);
  if (image[5] !== 1) bad("is a big-endian ELF, expected a little-endian i386 ELF");
  const machine = image[18] | (image[19] << 8);
  if (machine !== EM_386) bad(`is an ELF for machine ${machine}, expected i386 (3)`);
  const phoff = u32(image, 28);
  const phentsize = image[42] | (image[43] << 8);
  const phnum = image[44] | (image[45] << 8);
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) bad("has program headers outside the file");
  let entry = u32(image, 24);
  const segments: { paddr: number; data: Uint8Array; memsz: number }[] = [];
  let low = Infinity;
  let high = 0;
  for (let k = 0; k < phnum; k++) {
    const ph = phoff + k * phentsize;
    if (u32(image, ph) !== PT_LOAD) continue;
    const [offset, vaddr, paddr, filesz, memsz, flags] = [4, 8, 12, 16, 20, 24].map((o) => u32(image, ph + o));
    if (offset + filesz > image.length) bad(`has a segment at file offset ${hex(offset)} + ${hex(filesz)} past the end of the file`);
    if (filesz > memsz) bad(`has a segment with p_filesz ${hex(filesz)} > p_memsz ${hex(memsz)}`);
    if (paddr + memsz > 2 ** 32) bad(`has a segment at ${hex(paddr)} + ${hex(memsz)} past 4 GiB`);
    // The entry is a virtual address; move it with the executable segment holding it (QEMU load_elf).
    if (vaddr !== paddr && flags & PF_X && entry >= vaddr && entry < vaddr + filesz) entry = (entry - vaddr + paddr) >>> 0;
    segments.push({ paddr, data: image.subarray(offset, offset + filesz), memsz });
    low = Math.min(low, paddr);
    high = Math.max(high, paddr + memsz);
  }
  if (segments.length === 0) bad("has no PT_LOAD segment");
  const bytes = new Uint8Array(high - low);
  for (const s of segments) bytes.set(s.data, s.paddr - low);
  return { loadAddr: low, bytes, entry };
}

function loadAout(image: Uint8Array, header: MultibootHeader, bad: (msg: string) => never): KernelImage {
  const i = header.offset;
  if (i + 32 > image.length) bad("has a truncated Multiboot header (the a.out kludge needs 32 bytes)");
  const [headerAddr, loadAddr, loadEndAddr, bssEndAddr, entry] = [12, 16, 20, 24, 28].map((o) => u32(image, i + o));
  if (headerAddr < loadAddr) bad(`has header_addr ${hex(headerAddr)} below load_addr ${hex(loadAddr)}`);
  if (headerAddr - loadAddr > i) bad(`has header_addr ${hex(headerAddr)} - load_addr ${hex(loadAddr)} beyond the header's file offset ${hex(i)}`);
  const textOffset = i - (headerAddr - loadAddr);
  let loadSize: number;
  if (loadEndAddr) {
    if (loadEndAddr < loadAddr) bad(`has load_end_addr ${hex(loadEndAddr)} below load_addr ${hex(loadAddr)}`);
    loadSize = loadEndAddr - loadAddr;
  } else {
    if (textOffset > image.length) bad(`has its header_addr ${hex(headerAddr)} before the start of the file`);
    loadSize = image.length - textOffset;
  }
  if (textOffset + loadSize > image.length) bad(`asks for ${hex(loadSize)} bytes from file offset ${hex(textOffset)}, past the end of the file`);
  let size = loadSize;
  if (bssEndAddr) {
    if (bssEndAddr < loadAddr + loadSize) bad(`has bss_end_addr ${hex(bssEndAddr)} below the end of the loaded image ${hex(loadAddr + loadSize)}`);
    size = bssEndAddr - loadAddr;
  }
  if (loadAddr + size > 2 ** 32) bad("does not fit in the 32-bit address space");
  const bytes = new Uint8Array(size);
  bytes.set(image.subarray(textOffset, textOffset + loadSize));
  return { loadAddr, bytes, entry };
}

function cString(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Lays out kernel, modules and boot information as QEMU does; every problem is a MultibootError. */
export function planMultibootBoot(c: MultibootConfig): MultibootBoot {
  const name = c.kernel.name;
  const bad = (msg: string): never => {
    throw new MultibootError(`multiboot kernel '${name}' ${msg}`);
  };
  const image = c.kernel.bytes;
  const header = findMultibootHeader(image);
  if (!header) {
    let magicAt = -1;
    for (let i = 0; i < SEARCH_LIMIT && i + 4 <= image.length && magicAt < 0; i += 4) if (u32(image, i) === MULTIBOOT_HEADER_MAGIC) magicAt = i;
    if (magicAt >= 0) bad(`has a Multiboot header at offset ${hex(magicAt)} with a bad checksum (magic + flags + checksum must be 0)`);
    bad("has no Multiboot header (magic 0x1badb002) in its first 8 KiB; the pc board boots only Multiboot kernels");
  }
  const k = header!.flags & MULTIBOOT_AOUT_KLUDGE ? loadAout(image, header!, bad) : loadElf32(image, bad);

  const modules = c.modules ?? [];
  const kernelCmdline = `${name} ${c.append ?? ""}`;
  const modCmdlinesLen = modules.reduce((n, m) => n + cString(m.name).length, 0);
  const cmdlineLen = modCmdlinesLen + cString(kernelCmdline).length;
  const offsetMbinfo = pageAlign(k.bytes.length);
  const offsetCmdlines = offsetMbinfo + modules.length * MB_MOD_SIZE;
  const offsetBootloader = offsetCmdlines + cmdlineLen;
  let bufSize = pageAlign(offsetBootloader + cString(BOOT_LOADER_NAME).length);
  const modOffsets: number[] = [];
  for (const m of modules) {
    modOffsets.push(bufSize);
    bufSize = pageAlign(bufSize + m.bytes.length);
  }
  const base = k.loadAddr;
  if (base + bufSize > 2 ** 32) bad(`with its boot information (${hex(base)} + ${hex(bufSize)}) does not fit below 4 GiB`);
  const buf = new Uint8Array(bufSize);
  const view = new DataView(buf.buffer);
  buf.set(k.bytes);
  let cmdAt = offsetCmdlines;
  const addCmdline = (s: string): number => {
    const b = cString(s);
    buf.set(b, cmdAt);
    cmdAt += b.length;
    return base + cmdAt - b.length;
  };
  modules.forEach((m, n) => {
    const cmd = addCmdline(m.name);
    buf.set(m.bytes, modOffsets[n]);
    const e = offsetMbinfo + n * MB_MOD_SIZE;
    view.setUint32(e, base + modOffsets[n], true);
    view.setUint32(e + 4, base + modOffsets[n] + m.bytes.length, true);
    view.setUint32(e + 8, cmd, true);
  });
  const cmdlineAddr = addCmdline(kernelCmdline);
  buf.set(cString(BOOT_LOADER_NAME), offsetBootloader);

  // The info structure as QEMU builds it, then what the option ROM adds: mem_lower, the memory map, mem_upper.
  const mbi = new Uint8Array(MBI_SIZE);
  const mv = new DataView(mbi.buffer);
  const map = c.memoryMap;
  const lowRam = map.find((e) => e.type === 1 && e.base === 0);
  const upperRam = map.find((e) => e.type === 1 && e.base === 0x100000);
  mv.setUint32(MBI.flags, MBI_FLAGS, true);
  mv.setUint32(MBI.memLower, lowRam ? Math.floor(lowRam.length / 1024) : 0, true);
  mv.setUint32(MBI.memUpper, upperRam ? Math.floor(upperRam.length / 1024) : 0, true);
  mv.setUint32(MBI.bootDevice, 0x8000ffff, true);
  mv.setUint32(MBI.cmdline, cmdlineAddr, true);
  mv.setUint32(MBI.modsCount, modules.length, true);
  mv.setUint32(MBI.modsAddr, base + offsetMbinfo, true);
  mv.setUint32(MBI.mmapLength, map.length * 24, true);
  mv.setUint32(MBI.mmapAddr, MULTIBOOT_MMAP_ADDR, true);
  mv.setUint32(MBI.bootLoaderName, base + offsetBootloader, true);
  const mmap = new Uint8Array(map.length * 24);
  const mm = new DataView(mmap.buffer);
  map.forEach((e, n) => {
    mm.setUint32(n * 24, 20, true);
    mm.setBigUint64(n * 24 + 4, BigInt(e.base), true);
    mm.setBigUint64(n * 24 + 12, BigInt(e.length), true);
    mm.setUint32(n * 24 + 20, e.type, true);
  });
  const gdt = new Uint8Array(GDT_WORDS.length * 4);
  GDT_WORDS.forEach((w, n) => new DataView(gdt.buffer).setUint32(n * 4, w, true));

  const writes = [
    { addr: MULTIBOOT_INFO_ADDR, bytes: mbi },
    { addr: MULTIBOOT_MMAP_ADDR, bytes: mmap },
    { addr: MULTIBOOT_GDT_ADDR, bytes: gdt },
    { addr: base, bytes: buf },
  ];
  for (const w of writes) {
    const end = w.addr + w.bytes.length;
    if (!c.ram.some((r) => w.addr >= r.base && end <= r.base + r.size)) {
      const what = w.bytes === buf ? "kernel image and boot information" : "boot information";
      const ranges = c.ram.map((r) => `${hex(r.base)}-${hex(r.base + r.size)}`).join(", ");
      bad(`puts its ${what} at ${hex(w.addr)}-${hex(end)}, outside RAM (${ranges})`);
    }
  }
  return { writes, entry: k.entry, infoAddr: MULTIBOOT_INFO_ADDR, kernelStart: base, kernelEnd: base + k.bytes.length };
}

/**
 * The memory map SeaBIOS 1.16 reports through INT 15h E820 on QEMU 7.2's pc (what the multiboot option ROM copies):
 * low RAM up to its 1 KiB EBDA, the BIOS at 0xf0000, RAM from 1 MiB to its 128 KiB high-memory zone below the end
 * of low memory, the 256 KiB it reserves below 4 GiB, RAM above 4 GiB, and the AMD HyperTransport hole QEMU
 * reserves for the qemu64 (AMD) CPU model.
 */
export function seabiosMemoryMap(belowFourGiB: number, aboveFourGiB = 0): MemoryMapEntry[] {
  const highZone = 0x20000;
  const map: MemoryMapEntry[] = [
    { base: 0, length: 0x9fc00, type: 1 },
    { base: 0x9fc00, length: 0x400, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: 0x100000, length: belowFourGiB - highZone - 0x100000, type: 1 },
    { base: belowFourGiB - highZone, length: highZone, type: 2 },
    { base: 0xfffc0000, length: 0x40000, type: 2 },
  ];
  if (aboveFourGiB > 0) map.push({ base: 2 ** 32, length: aboveFourGiB, type: 1 });
  map.push({ base: 0xfd00000000, length: 0x300000000, type: 2 });
  return map;
}

/** The CPU as the option ROM hands it to the kernel: flat 32-bit protected mode, paging off, IF = 0. */
export function enterMultiboot(cpu: X86Cpu, boot: MultibootBoot): void {
  cpu.reset();
  cpu.lo.fill(0);
  cpu.hi.fill(0);
  cpu.lo[0] = MULTIBOOT_BOOTLOADER_MAGIC | 0; // EAX
  cpu.lo[3] = boot.infoAddr; // EBX
  cpu.lo[1] = boot.entry | 0; // ECX: the ROM jumps through it
  cpu.lo[4] = ENTRY_ESP;
  cpu.cr0 = ENTRY_CR0;
  cpu.rflags = ENTRY_EFLAGS;
  cpu.gdtBase = MULTIBOOT_GDT_ADDR;
  cpu.gdtLimit = GDT_WORDS.length * 4 - 1;
  cpu.idtBase = 0;
  cpu.idtLimit = 0x3ff;
  // Descriptor caches as loading the selectors would fill them (the accessed bit set).
  cpu.setCache(Seg.CS, 0x08, GDT_WORDS[2], GDT_WORDS[3] | 0x100);
  for (const s of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) cpu.setCache(s, 0x10, GDT_WORDS[4], GDT_WORDS[5]);
  cpu.ripLo = boot.entry | 0;
  cpu.ripHi = 0;
}

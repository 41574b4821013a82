/**
 * Just enough ELF64 to load an executable the way QEMU's load_elf() does for `-kernel`: PT_LOAD segments go to
 * their physical address (p_paddr) with the bytes past p_filesz zero-filled up to p_memsz.
 */

/** A file given as a kernel/initrd/DTB is unusable; the message is meant for the user as it stands. */
export class BootError extends Error {
  override name = "BootError";
}

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PF_X = 1;
const ET_NAMES: Record<number, string> = { 1: "relocatable object", 2: "executable", 3: "shared object", 4: "core dump" };

/** e_machine values a user is likely to hand us by mistake, for the error message. */
const MACHINE_NAMES: Record<number, string> = {
  2: "SPARC", 3: "x86 (i386)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390", 40: "32-bit ARM",
  43: "SPARC64", 50: "IA-64", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 258: "LoongArch",
};

export function machineName(m: number): string {
  return MACHINE_NAMES[m] ?? `machine ${m}`;
}

export interface ElfSegment {
  /** Physical address the segment is loaded at. */
  paddr: number;
  vaddr: number;
  /** The file bytes (p_filesz of them); the rest up to memSize is zero. */
  data: Uint8Array;
  memSize: number;
  flags: number;
}

export interface Elf64Image {
  /** Entry point, moved to the physical alias when the executable segment's p_vaddr != p_paddr (as QEMU). */
  entry: number;
  segments: ElfSegment[];
  /** Lowest and one-past-highest physical address of the PT_LOAD segments. */
  low: number;
  high: number;
  /** Sum of p_memsz, what QEMU calls the kernel size. */
  totalMemSize: number;
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses an ELF64 little-endian AArch64 executable. `name` only goes into error messages.
 * Every problem is a BootError naming what is wrong.
 */
export function parseElf64(bytes: Uint8Array, name: string): Elf64Image {
  const bad = (msg: string): never => {
    throw new BootError(`kernel '${name}': ${msg}`);
  };
  if (!isElf(bytes)) bad("not an ELF file");
  if (bytes.length < 16) bad("truncated ELF file (no complete identification header)");
  const cls = bytes[4];
  const data = bytes[5];
  if (data !== 1 && data !== 2) bad(`invalid ELF data encoding ${data}`);
  if (cls !== 1 && cls !== 2) bad(`invalid ELF class ${cls}`);
  const le = data === 1;
  // e_machine sits at the same offset in both classes, so we can name the architecture before rejecting.
  if (bytes.length < 20) bad("truncated ELF header");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = dv.getUint16(18, le);
  if (machine !== EM_AARCH64) bad(`${machineName(machine)} ELF, expected AArch64`);
  if (cls !== 2) bad("32-bit ELF (ELFCLASS32), expected a 64-bit AArch64 ELF");
  if (!le) bad("big-endian AArch64 ELF; only little-endian kernels are supported");
  if (bytes.length < 64) bad("truncated ELF header");

  // A Linux vmlinux is linked at kernel virtual addresses; point the user at the Image instead.
  const vmlinuxHint = dv.getUint32(28, true) >= 0xffff_0000 ? " (a Linux vmlinux? boot arch/arm64/boot/Image instead)" : "";
  const u64 = (off: number, what: string): number => {
    const lo = dv.getUint32(off, true);
    const hi = dv.getUint32(off + 4, true);
    // Above 2^53 nothing can be in RAM; say so rather than lose precision.
    if (hi >= 0x20_0000) {
      bad(`${what} 0x${((BigInt(hi) << 32n) | BigInt(lo)).toString(16)} is beyond any physical address${vmlinuxHint}`);
    }
    return hi * 0x1_0000_0000 + lo;
  };

  const type = dv.getUint16(16, true);
  if (type !== 2 && type !== 3) {
    bad(`ELF ${ET_NAMES[type] ?? `type ${type}`}, expected an executable${type === 1 ? " (link it first)" : ""}`);
  }
  const rawEntryHi = dv.getUint32(28, true);
  const entryVirt = rawEntryHi >= 0x20_0000 ? -1 : u64(24, "entry point");
  const phoff = u64(32, "program header offset");
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) bad("ELF has no program headers (nothing to load)");
  if (phentsize < 56) bad(`ELF program header entries are ${phentsize} bytes, expected 56`);
  if (phoff > bytes.length || phnum * phentsize > bytes.length - phoff) {
    bad(`truncated ELF: program headers (${phnum} at offset ${phoff}) extend past the end of the ${bytes.length}-byte file`);
  }

  const segments: ElfSegment[] = [];
  let entry = entryVirt;
  let low = Infinity;
  let high = 0;
  let total = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (dv.getUint32(ph, true) !== PT_LOAD) continue;
    const flags = dv.getUint32(ph + 4, true);
    const offset = u64(ph + 8, `segment ${i} file offset`);
    const vaddrHi = dv.getUint32(ph + 20, true);
    const paddr = u64(ph + 24, `segment ${i} physical address`);
    const filesz = u64(ph + 32, `segment ${i} file size`);
    const memsz = u64(ph + 40, `segment ${i} memory size`);
    if (filesz > memsz) bad(`segment ${i}: file size ${filesz} is larger than its memory size ${memsz}`);
    if (offset > bytes.length || filesz > bytes.length - offset) {
      bad(`truncated ELF: segment ${i} (${filesz} bytes at file offset ${offset}) extends past the end of the file`);
    }
    // vaddr may be a kernel virtual address (above 2^53); it only matters for the entry fix-up below.
    const vaddr = vaddrHi >= 0x20_0000 ? -1 : u64(ph + 16, "vaddr");
    if (entryVirt >= 0 && vaddr >= 0 && vaddr !== paddr && (flags & PF_X) && entryVirt >= vaddr && entryVirt < vaddr + filesz) {
      entry = entryVirt - vaddr + paddr;
    }
    total += memsz;
    low = Math.min(low, paddr);
    high = Math.max(high, paddr + memsz);
    // Zero-sized segments exist in real files; QEMU skips them (they would trip its overlap check).
    if (memsz === 0) continue;
    segments.push({ paddr, vaddr, data: bytes.subarray(offset, offset + filesz), memSize: memsz, flags });
  }
  if (segments.length === 0) bad("ELF has no loadable (PT_LOAD) segments");
  if (entry < 0) {
    bad(`entry point 0x${((BigInt(rawEntryHi) << 32n) | BigInt(dv.getUint32(24, true))).toString(16)} is a virtual ` +
      `address with no physical alias${vmlinuxHint}`);
  }
  const sorted = [...segments].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (sorted[i]!.paddr < prev.paddr + prev.memSize) {
      bad(`segments at 0x${prev.paddr.toString(16)} and 0x${sorted[i]!.paddr.toString(16)} overlap`);
    }
  }
  return { entry, segments, low, high, totalMemSize: total };
}

/**
 * Direct kernel boot for AArch64 boards, replicating QEMU 7.2's hw/arm/boot.c (arm_setup_direct_kernel_boot,
 * load_aarch64_image, arm_load_dtb's placement):
 *
 * - ELF (EM_AARCH64): PT_LOAD segments at p_paddr; not treated as Linux: pc = entry, x0 = 0, no boot stub, no
 *   initrd. The DTB goes to the start of RAM when the image leaves room there (and is skipped when it does not
 *   fit below the image); when the image covers the start of RAM, QEMU puts it at address 0 (flash on virt).
 * - Anything else is a Linux kernel: gunzip if gzip magic; an arm64 `Image` (magic "ARM\x64" at 56) with a
 *   non-zero image_size loads at RAM base + text_offset (+2 MiB if text_offset < 4 KiB, where the stub lives);
 *   otherwise at RAM base + 0x80000. initrd at RAM base + min(RAM/2, 128 MiB) (or after the kernel), 4 KiB
 *   aligned; DTB after the initrd, 2 MiB aligned. A 40-byte stub at RAM base loads x0 = DTB, zeroes x1-x3 and
 *   branches to the kernel; the CPU starts at RAM base.
 *
 * Everything here is pure: bytes in, a BootPlan out. The board writes the blobs and sets the registers.
 */
import { readFileSync, statSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { BootError, isElf, parseElf64 } from "./elf.js";

export { BootError } from "./elf.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Default AArch64 kernel load offset from RAM base (KERNEL64_LOAD_ADDR). */
export const KERNEL64_LOAD_OFFSET = 0x80000;
/** Room QEMU reserves at RAM base for the boot stub (BOOTLOADER_MAX_SIZE). */
const BOOTLOADER_MAX_SIZE = 4 * KiB;
/** QEMU refuses to decompress kernels larger than this (LOAD_IMAGE_MAX_GUNZIP_BYTES). */
export const MAX_DECOMPRESSED_KERNEL = 256 * MiB;
const ARM64_MAGIC_OFFSET = 56;
const PAGE = 4 * KiB;

export interface RamRegion {
  base: number;
  size: number;
}

export interface MemBlob {
  addr: number;
  bytes: Uint8Array;
  /** "kernel", "kernel segment 1", "initrd", "dtb", "boot stub". */
  what: string;
  /** False for a DTB QEMU places outside RAM (address 0 on virt is flash); the board may drop it. */
  inRam: boolean;
}

export interface BootRegs {
  pc: number;
  x0: number;
  x1: number;
  x2: number;
  x3: number;
}

export type KernelFormat = "elf" | "image" | "raw" | "efi-zboot";

export interface LoadedKernel {
  format: KernelFormat;
  /** Whether the payload came out of a gzip stream (plain gzip or inside an EFI zboot image). */
  compressed: boolean;
  /** QEMU's is_linux: boot through the stub with a DTB in x0. */
  isLinux: boolean;
  entry: number;
  blobs: MemBlob[];
  /** Extent QEMU uses to place the initrd/DTB (image_low_addr / image_high_addr). */
  low: number;
  high: number;
  /** What QEMU calls kernel_size (Image: header image_size or file size; ELF: sum of p_memsz). */
  size: number;
  notes: string[];
  warnings: string[];
}

export interface KernelLoadOptions {
  /** QEMU 7.2 loads an EFI zboot image as raw bytes (it then cannot run); "unpack" is QEMU 8.0+'s behaviour. */
  efiZboot?: "raw" | "unpack";
  /** Other writable/ROM regions a bare-metal ELF may load into (e.g. flash at 0). */
  extraRegions?: readonly RamRegion[];
}

export interface BootOptions extends KernelLoadOptions {
  kernel: Uint8Array;
  kernelName: string;
  initrd?: Uint8Array;
  initrdName?: string;
  ram: RamRegion;
  /** Builds the DTB once the initrd's place is known (its range goes into /chosen). */
  makeDtb: (info: { initrd?: { start: number; end: number } }) => Uint8Array;
}

export interface BootPlan {
  kernel: LoadedKernel;
  /** Everything to write into guest memory, in order. */
  blobs: MemBlob[];
  /** Initial register values; everything else comes from CPU reset. */
  regs: BootRegs;
  dtb?: { addr: number; size: number };
  initrd?: { start: number; size: number };
  /** One line per decision, for `-d` style diagnostics. */
  description: string[];
  warnings: string[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

// ---------------------------------------------------------------------------------------------------------------
// Files

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  EMFILE: "Too many open files",
  ENAMETOOLONG: "File name too long",
  EIO: "Input/output error",
};

/**
 * Reads a kernel/initrd/DTB file (`what` names it); failures become "cannot open kernel 'x': No such file or
 * directory". Only regular files are read (a device such as /dev/zero never ends), and none larger than
 * `maxBytes` (the RAM it would load into).
 */
export function readBootFile(path: string, what: string, maxBytes = Infinity): Uint8Array {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new BootError(`cannot open ${what} '${path}': Is a directory`);
    if (!st.isFile()) throw new BootError(`cannot load ${what} '${path}': not a regular file`);
    if (st.size > maxBytes)
      throw new BootError(`cannot load ${what} '${path}': it is ${st.size} bytes, more than the guest's ${Math.floor(maxBytes / 2 ** 20)} MiB of RAM`);
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof BootError) throw e;
    const err = e as NodeJS.ErrnoException;
    const reason = (err.code && ERRNO_TEXT[err.code]) ?? (err.code === "ERR_FS_FILE_TOO_LARGE" ? "File too large" : err.message);
    throw new BootError(`cannot open ${what} '${path}': ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Compression

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses the first member of a gzip stream as QEMU's gunzip() does (header parsed by hand, trailing bytes
 * ignored, no CRC check), with an output limit.
 */
export function gunzipKernel(bytes: Uint8Array, name: string, limit = MAX_DECOMPRESSED_KERNEL): Uint8Array {
  const bad = (msg: string): never => {
    throw new BootError(`kernel '${name}': ${msg}`);
  };
  if (!isGzip(bytes)) bad("not gzip data");
  if (bytes.length < 10) bad("truncated gzip header");
  const flags = bytes[3]!;
  if (bytes[2] !== 8 || (flags & 0xe0) !== 0) bad("bad gzip header (unknown compression method or flags)");
  let i = 10;
  if (flags & 0x04) {
    if (bytes.length < 12) bad("truncated gzip header");
    i = 12 + bytes[10]! + (bytes[11]! << 8);
  }
  const skipString = (): void => {
    while (i < bytes.length && bytes[i] !== 0) i++;
    i++;
  };
  if (flags & 0x08) skipString(); // original file name
  if (flags & 0x10) skipString(); // comment
  if (flags & 0x02) i += 2; // header CRC
  if (i >= bytes.length) bad("truncated gzip header");
  try {
    const out = inflateRawSync(bytes.subarray(i), { maxOutputLength: limit });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      bad(`decompresses to more than ${limit / MiB} MiB`);
    }
    if (err.code === "Z_BUF_ERROR") bad("gzip data is truncated");
    return bad(`corrupt gzip data (${err.message})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// arm64 Image and EFI zboot

export interface Arm64ImageHeader {
  textOffset: number;
  /** 0 in kernels before 3.17, in which case text_offset is not valid either. */
  imageSize: number;
  flags: number;
}

/** The arm64 Image header, or undefined when the magic is absent (QEMU needs size > 60 to look). */
export function parseArm64ImageHeader(bytes: Uint8Array): Arm64ImageHeader | undefined {
  if (bytes.length <= ARM64_MAGIC_OFFSET + 4) return undefined;
  if (bytes[56] !== 0x41 || bytes[57] !== 0x52 || bytes[58] !== 0x4d || bytes[59] !== 0x64) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (off: number): number => {
    const hi = dv.getUint32(off + 4, true);
    // Values that large cannot be an offset into any RAM; treat as unusable.
    return hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + dv.getUint32(off, true);
  };
  return { textOffset: u64(8), imageSize: u64(16), flags: u64(24) };
}

export function isEfiZboot(bytes: Uint8Array): boolean {
  const at = (off: number, s: number[]): boolean => s.every((b, i) => bytes[off + i] === b);
  return bytes.length >= 64 && at(0, [0x4d, 0x5a]) && at(4, [0x7a, 0x69, 0x6d, 0x67]) && at(56, [0xcd, 0x23, 0x82, 0x81]);
}

/** The Image inside a Linux EFI zboot image (what QEMU 8.0+ does; 7.2 does not). */
export function unpackEfiZboot(bytes: Uint8Array, name: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeEnd = bytes.subarray(24, 56).indexOf(0);
  const compression = new TextDecoder().decode(bytes.subarray(24, typeEnd < 0 ? 56 : 24 + typeEnd));
  if (compression !== "gzip") {
    throw new BootError(`kernel '${name}': EFI zboot image with "${compression}" compression is not supported (only gzip)`);
  }
  const off = dv.getUint32(8, true);
  const size = dv.getUint32(12, true);
  if (off + size > bytes.length) throw new BootError(`kernel '${name}': corrupt EFI zboot image (payload past end of file)`);
  return gunzipKernel(bytes.subarray(off, off + size), name);
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel loading

function describeRam(ram: RamRegion): string {
  return `${hex(ram.base)}..${hex(ram.base + ram.size - 1)}`;
}

const inside = (r: RamRegion, addr: number, size: number): boolean => addr >= r.base && addr + size <= r.base + r.size;

function loadElfKernel(bytes: Uint8Array, name: string, ram: RamRegion, opts: KernelLoadOptions): LoadedKernel {
  const elf = parseElf64(bytes, name);
  const regions = [ram, ...(opts.extraRegions ?? [])];
  const blobs: MemBlob[] = elf.segments.map((s, i) => {
    if (!regions.some((r) => inside(r, s.paddr, s.memSize))) {
      throw new BootError(`kernel '${name}': segment ${i} (${hex(s.memSize)} bytes at ${hex(s.paddr)}) is outside RAM ` +
        `(${describeRam(ram)}); link it for the board's RAM`);
    }
    // Zero-fill up to p_memsz: RAM may hold older contents after a reset.
    const data = new Uint8Array(s.memSize);
    data.set(s.data);
    return { addr: s.paddr, bytes: data, what: `kernel segment ${i}`, inRam: inside(ram, s.paddr, s.memSize) };
  });
  return {
    format: "elf", compressed: false, isLinux: false, entry: elf.entry, blobs, low: elf.low, high: elf.high,
    size: elf.totalMemSize, warnings: [],
    notes: [`kernel: AArch64 ELF, ${blobs.length} segment(s) ${blobs.map((b) => `${hex(b.addr)}+${hex(b.bytes.length)}`).join(", ")}, ` +
      `entry ${hex(elf.entry)}`],
  };
}

/** Identifies and loads a kernel file the way QEMU's -kernel does, without placing initrd or DTB yet. */
export function loadKernel(bytes: Uint8Array, name: string, ram: RamRegion, opts: KernelLoadOptions = {}): LoadedKernel {
  if (bytes.length === 0) throw new BootError(`kernel '${name}' is empty`);
  if (isElf(bytes)) return loadElfKernel(bytes, name, ram, opts);
  if (bytes.length >= 4 && bytes[0] === 0x27 && bytes[1] === 0x05 && bytes[2] === 0x19 && bytes[3] === 0x56) {
    throw new BootError(`kernel '${name}' is a U-Boot uImage, which is not supported; boot the kernel Image inside it`);
  }
  const warnings: string[] = [];
  let format: KernelFormat = "raw";
  let compressed = false;
  let payload = bytes;
  if (isGzip(bytes)) {
    payload = gunzipKernel(bytes, name);
    compressed = true;
  } else if (isEfiZboot(bytes)) {
    if (opts.efiZboot === "unpack") {
      payload = unpackEfiZboot(bytes, name);
      format = "efi-zboot";
      compressed = true;
    } else {
      warnings.push(`kernel '${name}' is an EFI zboot image: QEMU 7.2 cannot boot it directly and loads it as a raw ` +
        "image, as done here; it will not run (boot it through UEFI firmware, or use a plain or gzipped Image)");
    }
  }

  const header = parseArm64ImageHeader(payload);
  let offset = KERNEL64_LOAD_OFFSET;
  let size = 0;
  if (header) {
    if (format === "raw") format = "image";
    size = header.imageSize;
    if (size !== 0) {
      if (!Number.isFinite(header.textOffset) || !Number.isFinite(size)) {
        throw new BootError(`kernel '${name}': invalid arm64 Image header (text_offset or image_size out of range)`);
      }
      offset = header.textOffset;
      // The stub occupies the bottom of RAM; Image only asks for an offset from a 2 MiB boundary, so move up one.
      if (offset < BOOTLOADER_MAX_SIZE) offset += 2 * MiB;
    }
    if (header.flags & 1) warnings.push(`kernel '${name}' is a big-endian arm64 Image; the CPU starts little-endian`);
  }
  // Old kernels (image_size 0) and raw images: the file size is the best guess.
  if (size === 0) size = payload.length;
  const entry = ram.base + offset;
  if (size > ram.size) {
    throw new BootError(`kernel '${name}' is too large to fit in RAM (kernel size ${size}, RAM size ${ram.size})`);
  }
  if (!inside(ram, entry, payload.length)) {
    throw new BootError(`kernel '${name}' (${payload.length} bytes at ${hex(entry)}) does not fit in RAM (${describeRam(ram)})`);
  }
  const kind = format === "image" ? "arm64 Image" : format === "efi-zboot" ? "arm64 Image from EFI zboot" : "raw image";
  const headerNote = header ? `, text_offset ${hex(header.textOffset)}, image_size ${hex(header.imageSize)}` : "";
  return {
    format, compressed, isLinux: true, entry, low: entry, high: entry + size, size, warnings,
    blobs: [{ addr: entry, bytes: payload, what: "kernel", inRam: true }],
    notes: [`kernel: ${kind}${compressed ? " (gzip)" : ""}${headerNote}, ${hex(payload.length)} bytes at ${hex(entry)}`],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Boot stub and the whole plan

/**
 * QEMU's AArch64 boot stub (bootloader_aarch64): ldr x0, dtb; mov x1..x3, xzr; ldr x4, entry; br x4; followed
 * by the two 64-bit literals. 40 bytes, little-endian.
 */
export function aarch64BootStub(dtbAddr: number, entry: number): Uint8Array {
  const words = [
    0x580000c0, // ldr x0, #0x18  (DTB address)
    0xaa1f03e1, // mov x1, xzr
    0xaa1f03e2, // mov x2, xzr
    0xaa1f03e3, // mov x3, xzr
    0x58000084, // ldr x4, #0x10  (kernel entry)
    0xd61f0080, // br x4
    dtbAddr >>> 0, Math.floor(dtbAddr / 0x1_0000_0000),
    entry >>> 0, Math.floor(entry / 0x1_0000_0000),
  ];
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}

function checkNoOverlap(blobs: readonly MemBlob[]): void {
  const sorted = [...blobs].filter((b) => b.bytes.length > 0).sort((a, b) => a.addr - b.addr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.addr < a.addr + a.bytes.length) {
      throw new BootError(`${a.what} (${hex(a.addr)}+${hex(a.bytes.length)}) and ${b.what} (${hex(b.addr)}) overlap in memory`);
    }
  }
}

/** Decides where everything goes, exactly as QEMU 7.2 would, and returns the blobs and initial registers. */
export function planBoot(opts: BootOptions): BootPlan {
  const { ram } = opts;
  if (!Number.isSafeInteger(ram.base) || !Number.isSafeInteger(ram.size) || ram.size <= 0) {
    throw new BootError(`invalid RAM region ${ram.base}+${ram.size}`);
  }
  const ramEnd = ram.base + ram.size;
  const kernel = loadKernel(opts.kernel, opts.kernelName, ram, opts);
  const description = [...kernel.notes];
  const warnings = [...kernel.warnings];
  const blobs = [...kernel.blobs];
  const initrdName = opts.initrdName ?? "initrd";
  let initrdBytes = opts.initrd;
  if (initrdBytes && initrdBytes.length === 0) {
    warnings.push(`initrd '${initrdName}' is empty; booting without one`);
    initrdBytes = undefined;
  }

  if (!kernel.isLinux) {
    // QEMU: bare-metal ELF; pc = entry, registers from reset, DTB at RAM base only if it fits below the image.
    if (initrdBytes) warnings.push(`initrd '${initrdName}' ignored: QEMU passes no initrd to ELF kernels`);
    let dtbAddr = 0;
    let limit = 0;
    if (kernel.low > ram.base || kernel.high < ram.base) {
      dtbAddr = ram.base;
      limit = kernel.low < ram.base ? 0 : kernel.low;
    }
    const dtb = opts.makeDtb({});
    let placed: BootPlan["dtb"];
    if (limit > dtbAddr && dtb.length > limit - dtbAddr) {
      description.push(`dtb: not loaded (${hex(dtb.length)} bytes do not fit below the image at ${hex(limit)})`);
    } else {
      const inRam = inside(ram, dtbAddr, dtb.length);
      if (!inRam && dtbAddr >= ram.base) throw new BootError(`not enough RAM for the device tree at ${hex(dtbAddr)}`);
      blobs.push({ addr: dtbAddr, bytes: dtb, what: "dtb", inRam });
      placed = { addr: dtbAddr, size: dtb.length };
      description.push(`dtb: ${hex(dtb.length)} bytes at ${hex(dtbAddr)}${inRam ? "" : " (outside RAM: the image covers the start of RAM)"}`);
    }
    description.push(`cpu: pc = ${hex(kernel.entry)} (ELF entry), x0 = 0`);
    checkNoOverlap(blobs);
    return { kernel, blobs, regs: { pc: kernel.entry, x0: 0, x1: 0, x2: 0, x3: 0 }, dtb: placed, description, warnings };
  }

  // Far enough up that a decompressing kernel won't clobber it, low enough to stay reachable: half of small RAMs,
  // 128 MiB into large ones, and never over the kernel image.
  const initrdStart = alignUp(Math.max(ram.base + Math.min(Math.floor(ram.size / 2), 128 * MiB), kernel.high), PAGE);
  let initrd: BootPlan["initrd"];
  if (initrdBytes) {
    if (initrdStart >= ramEnd) throw new BootError("not enough space after kernel to load initrd");
    if (initrdStart + initrdBytes.length > ramEnd) {
      throw new BootError(`could not load initrd '${initrdName}': too big to fit into RAM after the kernel`);
    }
    initrd = { start: initrdStart, size: initrdBytes.length };
    blobs.push({ addr: initrdStart, bytes: initrdBytes, what: "initrd", inRam: true });
    description.push(`initrd: ${hex(initrdBytes.length)} bytes at ${hex(initrdStart)}`);
  }
  // Early arm64 kernels map the DTB's whole 2 MiB block, so QEMU aligns it to 2 MiB.
  const dtbAddr = alignUp(initrdStart + (initrd?.size ?? 0), 2 * MiB);
  if (dtbAddr >= ramEnd) throw new BootError("Not enough space for DTB after kernel/initrd");
  const dtb = opts.makeDtb(initrd ? { initrd: { start: initrd.start, end: initrd.start + initrd.size } } : {});
  if (dtbAddr + dtb.length > ramEnd) {
    throw new BootError(`not enough RAM for the ${hex(dtb.length)}-byte device tree at ${hex(dtbAddr)}`);
  }
  blobs.push({ addr: dtbAddr, bytes: dtb, what: "dtb", inRam: true });
  description.push(`dtb: ${hex(dtb.length)} bytes at ${hex(dtbAddr)}`);
  blobs.push({ addr: ram.base, bytes: aarch64BootStub(dtbAddr, kernel.entry), what: "boot stub", inRam: true });
  description.push(`boot stub at ${hex(ram.base)}: x0 = ${hex(dtbAddr)}, x1..x3 = 0, branch to ${hex(kernel.entry)}`);
  checkNoOverlap(blobs);
  return {
    kernel, blobs, regs: { pc: ram.base, x0: 0, x1: 0, x2: 0, x3: 0 },
    dtb: { addr: dtbAddr, size: dtb.length }, initrd, description, warnings,
  };
}

// The x86-64 registers as GDB sees them, in QEMU 7.2's numbering and `g` layout (its gdb-xml/i386-64bit.xml and
// target/i386/gdbstub.c, checked against a running qemu-system-x86_64): rax rbx rcx rdx rsi rdi rbp rsp r8..r15
// = 0..15, rip 16, eflags 17 (32-bit), cs ss ds es fs gs 18..23 (32-bit selectors), fs_base gs_base k_gs_base
// 24..26, cr0 cr2 cr3 cr4 cr8 efer 27..32, st0..st7 33..40 (80-bit), fctrl fstat ftag fiseg fioff foseg fooff fop
// 41..48, xmm0..xmm15 49..64, mxcsr 65: 608 bytes in `g`.
//
// Outside 64-bit code QEMU shows what a 32-bit CPU has: rax..rdi and rip read as their low 32 bits (still 8
// bytes), r8..r15 read as 0 and ignore writes, and writes to the 64-bit registers keep only the low 32 bits.
// Features: GDB's own (org.gnu.gdb.i386.core / .sse / .segments, so GDB recognises every register as for a native
// amd64 target); the control registers and k_gs_base sit in the core feature, as QEMU has them.
//
// The i386 layout is qemu-system-i386's (gdb-xml/i386-32bit.xml, checked against a running qemu-system-i386):
// eax ecx edx ebx esp ebp esi edi 0..7, eip 8, eflags 9, cs..gs 10..15, fs_base gs_base k_gs_base 16..18, cr0
// cr2 cr3 cr4 cr8 efer 19..24 (all 32-bit), st0..st7 25..32, fctrl..fop 33..40, xmm0..xmm7 41..48, mxcsr 49. GDB
// takes it with `set architecture i8086` or `i386` (it refuses those against the x86-64 description, as against
// qemu-system-x86_64's), which is how real-mode and 32-bit firmware is debugged; the stub serves it on request
// (X86Debug.gdbLayout, the `monitor gdb-arch` command).
//
// x87 and SSE are not modelled yet: they read as QEMU's reset values (FCW 0x37f, MXCSR 0x1f80, the rest 0) and
// writes to them are accepted and dropped (a `G` packet writes every register back). CR8 (the APIC's TPR; no APIC
// yet) reads 0 the same way.

import type { RegisterInfo } from "../../core/debug.js";
import { Seg } from "./cpu-state.js";
import type { X86Cpu } from "./cpu.js";
import { walk, X86IntervalFlag } from "./translation.js";

export const X86_CORE_FEATURE = "org.gnu.gdb.i386.core";
export const X86_SSE_FEATURE = "org.gnu.gdb.i386.sse";
export const X86_SEGMENTS_FEATURE = "org.gnu.gdb.i386.segments";

export const X86_RIP_REGNUM = 16;
export const X86_EFLAGS_REGNUM = 17;
export const X86_CS_REGNUM = 18;
export const X86_REGISTER_COUNT = 66;

/** MSR numbers behind registers. */
const MSR_KERNEL_GS_BASE = 0xc0000102;

/** QEMU's reset values of the x87/SSE control words (the CPU has no FPU state yet). */
export const FCW_RESET = 0x37f;
export const MXCSR_RESET = 0x1f80;

/** How a register is held: where its value comes from and goes to. */
type Access =
  | { kind: "gpr"; index: number }
  | { kind: "rip" }
  | { kind: "eflags" }
  | { kind: "selector"; seg: Seg }
  | { kind: "base"; seg: Seg }
  | { kind: "msr"; index: number }
  | { kind: "cr"; n: 0 | 2 | 3 | 4 }
  | { kind: "efer" }
  | { kind: "fixed"; value: number };

interface X86Register extends RegisterInfo {
  access: Access;
}

// GDB's order of the general registers, as CPU register numbers (rax rbx rcx rdx rsi rdi rbp rsp r8..r15).
const GPR_ORDER = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15];
const GPR_NAMES = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
const SEGMENTS: [string, Seg][] = [["cs", Seg.CS], ["ss", Seg.SS], ["ds", Seg.DS], ["es", Seg.ES], ["fs", Seg.FS], ["gs", Seg.GS]];
const X87_CONTROL = ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"];

/** The layouts the stub can serve: QEMU's qemu-system-x86_64 one, or its qemu-system-i386 one. */
export type X86GdbLayout = "x86_64" | "i386";

// The i386 layout's general registers: GDB's i386 order is the CPU's (eax ecx edx ebx esp ebp esi edi).
const GPR32_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];

function buildRegisterList(layout: X86GdbLayout): X86Register[] {
  const core = X86_CORE_FEATURE;
  const regs: X86Register[] = [];
  const add = (name: string, bitsize: number, type: string, feature: string, access: Access, group?: string): void => {
    regs.push({ name, bitsize, regnum: regs.length, type, feature, access, ...(group ? { group } : {}) });
  };
  if (layout === "i386") {
    addI386Registers(add);
    return regs;
  }
  GPR_NAMES.forEach((name, i) => add(name, 64, name === "rbp" || name === "rsp" ? "data_ptr" : "int64", core, { kind: "gpr", index: GPR_ORDER[i] }));
  add("rip", 64, "code_ptr", core, { kind: "rip" });
  add("eflags", 32, "i386_eflags", core, { kind: "eflags" });
  for (const [name, seg] of SEGMENTS) add(name, 32, "int32", core, { kind: "selector", seg });
  add("fs_base", 64, "int", X86_SEGMENTS_FEATURE, { kind: "base", seg: Seg.FS });
  add("gs_base", 64, "int", X86_SEGMENTS_FEATURE, { kind: "base", seg: Seg.GS });
  add("k_gs_base", 64, "int64", core, { kind: "msr", index: MSR_KERNEL_GS_BASE });
  add("cr0", 64, "x64_cr0", core, { kind: "cr", n: 0 });
  add("cr2", 64, "int64", core, { kind: "cr", n: 2 });
  add("cr3", 64, "x64_cr3", core, { kind: "cr", n: 3 });
  add("cr4", 64, "x64_cr4", core, { kind: "cr", n: 4 });
  add("cr8", 64, "int64", core, { kind: "fixed", value: 0 });
  add("efer", 64, "x64_efer", core, { kind: "efer" });
  for (let i = 0; i < 8; i++) add(`st${i}`, 80, "i387_ext", core, { kind: "fixed", value: 0 });
  X87_CONTROL.forEach((name) => add(name, 32, "int", core, { kind: "fixed", value: name === "fctrl" ? FCW_RESET : 0 }, "float"));
  for (let i = 0; i < 16; i++) add(`xmm${i}`, 128, "vec128", X86_SSE_FEATURE, { kind: "fixed", value: 0 });
  add("mxcsr", 32, "i386_mxcsr", X86_SSE_FEATURE, { kind: "fixed", value: MXCSR_RESET }, "vector");
  return regs;
}

type AddRegister = (name: string, bitsize: number, type: string, feature: string, access: Access, group?: string) => void;

/** qemu-system-i386's register file: the same registers, 32 bits wide, without r8..r15 and xmm8..xmm15. */
function addI386Registers(collect: AddRegister): void {
  const core = X86_CORE_FEATURE;
  GPR32_NAMES.forEach((name, i) => collect(name, 32, name === "ebp" || name === "esp" ? "data_ptr" : "int32", core, { kind: "gpr", index: i }));
  collect("eip", 32, "code_ptr", core, { kind: "rip" });
  collect("eflags", 32, "i386_eflags", core, { kind: "eflags" });
  for (const [name, seg] of SEGMENTS) collect(name, 32, "int32", core, { kind: "selector", seg });
  // In the core feature, as QEMU's i386 description has them: GDB's i386 code, given the segments feature,
  // numbers fs_base/gs_base where this layout's number space has no room (gdb 13 aborts on it).
  collect("fs_base", 32, "int32", core, { kind: "base", seg: Seg.FS });
  collect("gs_base", 32, "int32", core, { kind: "base", seg: Seg.GS });
  collect("k_gs_base", 32, "int32", core, { kind: "msr", index: MSR_KERNEL_GS_BASE });
  collect("cr0", 32, "int32", core, { kind: "cr", n: 0 });
  collect("cr2", 32, "int32", core, { kind: "cr", n: 2 });
  collect("cr3", 32, "int32", core, { kind: "cr", n: 3 });
  collect("cr4", 32, "int32", core, { kind: "cr", n: 4 });
  collect("cr8", 32, "int32", core, { kind: "fixed", value: 0 });
  collect("efer", 32, "int32", core, { kind: "efer" });
  for (let i = 0; i < 8; i++) collect(`st${i}`, 80, "i387_ext", core, { kind: "fixed", value: 0 });
  X87_CONTROL.forEach((name) => collect(name, 32, "int", core, { kind: "fixed", value: name === "fctrl" ? FCW_RESET : 0 }, "float"));
  for (let i = 0; i < 8; i++) collect(`xmm${i}`, 128, "vec128", X86_SSE_FEATURE, { kind: "fixed", value: 0 });
  collect("mxcsr", 32, "i386_mxcsr", X86_SSE_FEATURE, { kind: "fixed", value: MXCSR_RESET }, "vector");
}

const LISTS: Readonly<Record<X86GdbLayout, readonly X86Register[]>> = {
  x86_64: Object.freeze(buildRegisterList("x86_64")),
  i386: Object.freeze(buildRegisterList("i386")),
};
const REGISTERS = LISTS.x86_64;

const publicList = (list: readonly X86Register[]): readonly RegisterInfo[] => Object.freeze(list.map(({ access: _a, ...info }) => Object.freeze(info)));

/** Every register GDB is told about, by ascending regnum (contiguous from 0: the `g` packet layout). */
export const X86_GDB_REGISTERS: readonly RegisterInfo[] = publicList(REGISTERS);
/** The same for the i386 layout (qemu-system-i386's). */
export const X86_I386_GDB_REGISTERS: readonly RegisterInfo[] = publicList(LISTS.i386);

function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

function get32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

const TWO32 = 4294967296n;

/** Little-endian bytes of register `regnum`, or undefined for an unknown number. */
export function readX86Register(cpu: X86Cpu, regnum: number, layout: X86GdbLayout = "x86_64"): Uint8Array | undefined {
  const r = Number.isInteger(regnum) ? LISTS[layout][regnum] : undefined;
  if (r === undefined) return undefined;
  const out = new Uint8Array(r.bitsize / 8);
  const long = cpu.codeBits === 64;
  const a = r.access;
  let lo = 0;
  let hi = 0;
  switch (a.kind) {
    case "gpr":
      if (long || a.index < 8) lo = cpu.lo[a.index];
      if (long) hi = cpu.hi[a.index];
      break;
    case "rip":
      lo = cpu.ripLo;
      if (long) hi = cpu.ripHi;
      break;
    case "eflags":
      lo = cpu.rflags;
      break;
    case "selector":
      lo = cpu.segSel[a.seg];
      break;
    case "base":
      lo = cpu.segBaseLo[a.seg];
      hi = cpu.segBaseHi[a.seg];
      break;
    case "msr": {
      const v = cpu.msrs.get(a.index) ?? 0n;
      lo = Number(v & 0xffffffffn);
      hi = Number(v / TWO32);
      break;
    }
    case "cr":
      lo = a.n === 0 ? cpu.cr0 : a.n === 2 ? cpu.cr2 : a.n === 3 ? cpu.cr3 : cpu.cr4;
      break;
    case "efer":
      lo = cpu.efer;
      break;
    case "fixed":
      lo = a.value;
      break;
  }
  put32(out, 0, lo);
  if (out.length >= 8) put32(out, 4, hi);
  return out;
}

/**
 * Writes register `regnum` from little-endian bytes as QEMU's gdbstub does; false for an unknown number or a value
 * of the wrong size. Segment selectors load the segment as QEMU does for the debugger: real mode sets base =
 * selector * 16 and a 64 KiB data segment; protected mode reads the descriptor without side effects (no accessed
 * bit, no fault: an unusable selector leaves the register as it was).
 */
export function writeX86Register(cpu: X86Cpu, regnum: number, value: Uint8Array, layout: X86GdbLayout = "x86_64"): boolean {
  const r = Number.isInteger(regnum) ? LISTS[layout][regnum] : undefined;
  if (r === undefined || value.length !== r.bitsize / 8) return false;
  const long = cpu.codeBits === 64;
  const lo = get32(value, 0);
  // Outside 64-bit code QEMU keeps the low 32 bits of 64-bit values.
  const hi = value.length >= 8 && long ? get32(value, 4) : 0;
  const a = r.access;
  switch (a.kind) {
    case "gpr":
      if (!long && a.index >= 8) return true;
      cpu.lo[a.index] = lo | 0;
      cpu.hi[a.index] = hi | 0;
      return true;
    case "rip":
      cpu.ripLo = lo | 0;
      cpu.ripHi = hi | 0;
      return true;
    case "eflags":
      cpu.rflags = lo >>> 0;
      return true;
    case "selector":
      loadSelectorForDebugger(cpu, a.seg, lo & 0xffff);
      return true;
    case "base":
      cpu.segBaseLo[a.seg] = lo | 0;
      cpu.segBaseHi[a.seg] = hi | 0;
      return true;
    case "msr":
      cpu.msrs.set(a.index, BigInt(hi >>> 0) * TWO32 + BigInt(lo >>> 0));
      return true;
    case "cr":
      if (a.n === 0) cpu.cr0 = (lo | 0x10) >>> 0; // ET is hardwired to 1 (QEMU's cpu_x86_update_cr0)
      else if (a.n === 2) cpu.cr2 = lo;
      else if (a.n === 3) cpu.cr3 = lo;
      else cpu.cr4 = lo;
      return true;
    case "efer":
      cpu.efer = lo & 0xd01; // SCE, LME, LMA, NXE: what WRMSR keeps (exec/system.ts)
      return true;
    case "fixed":
      return true; // not modelled: accepted and dropped (see the header)
  }
}

function loadSelectorForDebugger(cpu: X86Cpu, seg: Seg, selector: number): void {
  if (selector === cpu.segSel[seg]) return;
  if (!cpu.protectedMode || cpu.rflags & 0x20000) {
    const attr = cpu.segAttr[seg];
    cpu.intervalFlags.note(X86IntervalFlag.Segments);
    cpu.loadRealSegment(seg, selector);
    if (seg === Seg.CS) cpu.segAttr[seg] = attr; // CS keeps its code rights
    return;
  }
  const ldt = (selector & 4) !== 0;
  const base = ldt ? cpu.ldtBase : cpu.gdtBase;
  const limit = ldt ? cpu.ldtLimit : cpu.gdtLimit;
  if ((selector & 0xfffc) === 0 || (selector & ~7) + 7 > limit) return;
  const at = (base + (selector & ~7)) >>> 0;
  // The GDT/LDT base is linear: translated without side effects (no A bits, no CR2) when paging is on; an
  // unmapped table leaves the register as it is.
  const read32 = (pa: number): number | undefined => (cpu.bus.ramAt(pa, 4) === undefined ? undefined : cpu.bus.read32(pa) >>> 0);
  const lo = walk(cpu, at, 0, read32);
  const hi = walk(cpu, (at + 4) >>> 0, 0, read32);
  if (lo === undefined || hi === undefined) return;
  const dlo = cpu.bus.read32(lo) >>> 0;
  const dhi = cpu.bus.read32(hi) >>> 0;
  cpu.setCache(seg, selector, dlo, dhi);
}

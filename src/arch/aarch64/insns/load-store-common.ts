// Shared pieces of the A64 load/store rows: the single-register accessors (one small function per size,
// signedness and register file), the (size, V, opc) operation table of the "Load/store register" classes, and
// register/immediate text for the disassembler.
//
// Accessors do the memory access first and write registers last, so a faulting access (the Cpu's read/write
// enter the data abort and throw) leaves every register untouched. They receive the address as an unsigned lo
// and an int32 hi.

import type { Cpu } from "../cpu.js";

export type Access = (c: Cpu, t: number, lo: number, hi: number) => void;

// ---- general-register accessors -------------------------------------------------------------------------

const ldrX: Access = (c, t, lo, hi) => {
  const v = c.read64(lo, hi);
  c.xlo[t] = v;
  c.xhi[t] = c.hi;
};
const ldrW: Access = (c, t, lo, hi) => {
  c.xlo[t] = c.read32(lo, hi);
  c.xhi[t] = 0;
};
const ldrH: Access = (c, t, lo, hi) => {
  c.xlo[t] = c.read16(lo, hi);
  c.xhi[t] = 0;
};
const ldrB: Access = (c, t, lo, hi) => {
  c.xlo[t] = c.read8(lo, hi);
  c.xhi[t] = 0;
};
const ldrsbX: Access = (c, t, lo, hi) => {
  const v = (c.read8(lo, hi) << 24) >> 24;
  c.xlo[t] = v;
  c.xhi[t] = v >> 31;
};
const ldrsbW: Access = (c, t, lo, hi) => {
  c.xlo[t] = (c.read8(lo, hi) << 24) >> 24;
  c.xhi[t] = 0;
};
const ldrshX: Access = (c, t, lo, hi) => {
  const v = (c.read16(lo, hi) << 16) >> 16;
  c.xlo[t] = v;
  c.xhi[t] = v >> 31;
};
const ldrshW: Access = (c, t, lo, hi) => {
  c.xlo[t] = (c.read16(lo, hi) << 16) >> 16;
  c.xhi[t] = 0;
};
const ldrswX: Access = (c, t, lo, hi) => {
  const v = c.read32(lo, hi) | 0;
  c.xlo[t] = v;
  c.xhi[t] = v >> 31;
};
// Loads into XZR/WZR still access memory (the access can fault or touch a device) and discard the value.
const ld64Zr: Access = (c, _t, lo, hi) => {
  c.read64(lo, hi);
};
const ld32Zr: Access = (c, _t, lo, hi) => {
  c.read32(lo, hi);
};
const ld16Zr: Access = (c, _t, lo, hi) => {
  c.read16(lo, hi);
};
const ld8Zr: Access = (c, _t, lo, hi) => {
  c.read8(lo, hi);
};

const strX: Access = (c, t, lo, hi) => c.write64(lo, hi, c.xlo[t], c.xhi[t]);
const strW: Access = (c, t, lo, hi) => c.write32(lo, hi, c.xlo[t] >>> 0);
const strH: Access = (c, t, lo, hi) => c.write16(lo, hi, c.xlo[t] & 0xffff);
const strB: Access = (c, t, lo, hi) => c.write8(lo, hi, c.xlo[t] & 0xff);
// Slot 31 holds SP, so stores of XZR/WZR need their own accessors.
const st64Zr: Access = (c, _t, lo, hi) => c.write64(lo, hi, 0, 0);
const st32Zr: Access = (c, _t, lo, hi) => c.write32(lo, hi, 0);
const st16Zr: Access = (c, _t, lo, hi) => c.write16(lo, hi, 0);
const st8Zr: Access = (c, _t, lo, hi) => c.write8(lo, hi, 0);

// ---- FP/SIMD accessors: check CPACR first, then access, then write the whole 128-bit register ---------------

/** Writes the low 64 bits of V[t] and zeroes the rest, as every scalar FP/SIMD load does. */
export function setVLow(c: Parameters<Access>[0], t: number, lo: number, hi: number): void {
  const r = c.vregs;
  const i = t << 2;
  r[i] = lo;
  r[i + 1] = hi;
  r[i + 2] = 0;
  r[i + 3] = 0;
}

const ldrVB: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  setVLow(c, t, c.read8(lo, hi), 0);
};
const ldrVH: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  setVLow(c, t, c.read16(lo, hi), 0);
};
const ldrVS: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  setVLow(c, t, c.read32(lo, hi), 0);
};
const ldrVD: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  const v = c.read64(lo, hi);
  setVLow(c, t, v, c.hi);
};
const ldrVQ: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  const a = c.read64(lo, hi);
  const ah = c.hi;
  const s = lo + 8;
  const b = c.read64(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
  const r = c.vregs;
  const i = t << 2;
  r[i] = a;
  r[i + 1] = ah;
  r[i + 2] = b;
  r[i + 3] = c.hi;
};
const strVB: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  c.write8(lo, hi, c.vregs[t << 2] & 0xff);
};
const strVH: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  c.write16(lo, hi, c.vregs[t << 2] & 0xffff);
};
const strVS: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  c.write32(lo, hi, c.vregs[t << 2] >>> 0);
};
const strVD: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  const i = t << 2;
  c.write64(lo, hi, c.vregs[i], c.vregs[i + 1]);
};
const strVQ: Access = (c, t, lo, hi) => {
  c.checkFpEnabled();
  const r = c.vregs;
  const i = t << 2;
  c.write64(lo, hi, r[i], r[i + 1]);
  const s = lo + 8;
  c.write64(s >>> 0, s > 0xffffffff ? hi + 1 : hi, r[i + 2], r[i + 3]);
};

// ---- the operation table --------------------------------------------------------------------------------

/** Register file and width of the transfer register, as the disassembler names it. */
export type RegKind = "w" | "x" | "b" | "h" | "s" | "d" | "q";

export interface RegOp {
  /** "ld" or "st". */
  dir: "ld" | "st";
  /** Mnemonic suffix after ldr/ldur/ldtr: "", "b", "h", "sb", "sh", "sw". */
  suffix: string;
  reg: RegKind;
  /** log2 of the access size in bytes (the immediate scale). */
  scale: number;
  /** FP/SIMD register (V = 1). */
  fp: boolean;
  acc: Access;
  /** Accessor when Rt = 31 (XZR/WZR); the same as acc for FP registers. */
  accZr: Access;
}

function gpr(dir: "ld" | "st", suffix: string, reg: RegKind, scale: number, acc: Access, accZr: Access): RegOp {
  return { dir, suffix, reg, scale, fp: false, acc, accZr };
}
function fpr(dir: "ld" | "st", reg: RegKind, scale: number, acc: Access): RegOp {
  return { dir, suffix: "", reg, scale, fp: true, acc, accZr: acc };
}

/**
 * The "Load/store register" operation for size (bits 31:30), V (26) and opc (23:22), as in the Arm ARM's
 * encoding tables; undefined for the unallocated combinations (and for PRFM, size=11 V=0 opc=10, which has its
 * own rows).
 */
export function regOp(size: number, v: number, opc: number): RegOp | undefined {
  return REG_OPS[(v << 4) | (size << 2) | opc];
}

const REG_OPS: (RegOp | undefined)[] = (() => {
  const t: (RegOp | undefined)[] = new Array(32).fill(undefined);
  const set = (size: number, v: number, opc: number, op: RegOp) => (t[(v << 4) | (size << 2) | opc] = op);
  set(0, 0, 0, gpr("st", "b", "w", 0, strB, st8Zr));
  set(0, 0, 1, gpr("ld", "b", "w", 0, ldrB, ld8Zr));
  set(0, 0, 2, gpr("ld", "sb", "x", 0, ldrsbX, ld8Zr));
  set(0, 0, 3, gpr("ld", "sb", "w", 0, ldrsbW, ld8Zr));
  set(1, 0, 0, gpr("st", "h", "w", 1, strH, st16Zr));
  set(1, 0, 1, gpr("ld", "h", "w", 1, ldrH, ld16Zr));
  set(1, 0, 2, gpr("ld", "sh", "x", 1, ldrshX, ld16Zr));
  set(1, 0, 3, gpr("ld", "sh", "w", 1, ldrshW, ld16Zr));
  set(2, 0, 0, gpr("st", "", "w", 2, strW, st32Zr));
  set(2, 0, 1, gpr("ld", "", "w", 2, ldrW, ld32Zr));
  set(2, 0, 2, gpr("ld", "sw", "x", 2, ldrswX, ld32Zr));
  set(3, 0, 0, gpr("st", "", "x", 3, strX, st64Zr));
  set(3, 0, 1, gpr("ld", "", "x", 3, ldrX, ld64Zr));
  set(0, 1, 0, fpr("st", "b", 0, strVB));
  set(0, 1, 1, fpr("ld", "b", 0, ldrVB));
  set(0, 1, 2, fpr("st", "q", 4, strVQ));
  set(0, 1, 3, fpr("ld", "q", 4, ldrVQ));
  set(1, 1, 0, fpr("st", "h", 1, strVH));
  set(1, 1, 1, fpr("ld", "h", 1, ldrVH));
  set(2, 1, 0, fpr("st", "s", 2, strVS));
  set(2, 1, 1, fpr("ld", "s", 2, ldrVS));
  set(3, 1, 0, fpr("st", "d", 3, strVD));
  set(3, 1, 1, fpr("ld", "d", 3, ldrVD));
  return t;
})();

// ---- disassembly text -----------------------------------------------------------------------------------

/** General register as data (31 = zero register). */
export function gprName(kind: "w" | "x", r: number): string {
  return r === 31 ? `${kind}zr` : `${kind}${r}`;
}
/** General register as a base address (31 = SP). */
export function baseName(r: number): string {
  return r === 31 ? "sp" : `x${r}`;
}
/** Transfer register of a load/store. */
export function regName(kind: RegKind, r: number): string {
  return kind === "w" || kind === "x" ? gprName(kind, r) : `${kind}${r}`;
}
/** `[xn]` or `[xn, #imm]` (objdump omits a zero offset). */
export function memImm(n: number, imm: number): string {
  return imm === 0 ? `[${baseName(n)}]` : `[${baseName(n)}, #${imm}]`;
}
/** PC-relative target as GNU as writes it (disassembly has no PC to print an absolute address). */
export function pcRelText(off: number): string {
  return off < 0 ? `.${off}` : `.+${off}`;
}

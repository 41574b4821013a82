// Effective-address arithmetic for A64 loads and stores, on lo/hi int32 halves (DESIGN.md §8: no BigInt).
//
// Each helper leaves its 64-bit result in the module scratch `ea` (lo as an unsigned 32-bit Number, hi as an
// int32), so computing an address allocates nothing. Callers read `ea.lo`/`ea.hi` right away, before calling
// anything that could compute another address. Addresses wrap modulo 2^64 like the architecture's: a kernel
// address 0xffff_ffff_ffff_fff8 + 16 is 8.

import type { Cpu } from "./cpu.js";

/** The last computed effective address. */
export const ea = { lo: 0, hi: 0 };

/** ea = (lo,hi) + off, where off is an integer with |off| < 2^32. */
export function addSigned(lo: number, hi: number, off: number): void {
  const s = (lo >>> 0) + off;
  ea.lo = s >>> 0;
  ea.hi = (hi + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
}

/** ea = X[n] (n = 31 is SP) + off, |off| < 2^32. */
export function baseImm(c: Cpu, n: number, off: number): void {
  const s = (c.xlo[n] >>> 0) + off;
  ea.lo = s >>> 0;
  ea.hi = (c.xhi[n] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
}

/** ea = PC + off (literal loads). The PC is read at run time: one decoded page may be mapped at several VAs. */
export function pcImm(c: Cpu, off: number): void {
  const s = c.pcLo + off;
  ea.lo = s >>> 0;
  ea.hi = (c.pcHi + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
}

/** ea = X[n] + (X[m] << shift) — LSL and SXTX offsets (m is never 31 here: XZR offsets become immediates). */
export function baseRegX(c: Cpu, n: number, m: number, shift: number): void {
  let mlo = c.xlo[m];
  let mhi = c.xhi[m];
  if (shift !== 0) {
    mhi = (mhi << shift) | (mlo >>> (32 - shift));
    mlo <<= shift;
  }
  const s = (c.xlo[n] >>> 0) + (mlo >>> 0);
  ea.lo = s >>> 0;
  ea.hi = (c.xhi[n] + mhi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/** ea = X[n] + (ZeroExtend(W[m]) << shift) — UXTW offsets. */
export function baseRegUxtw(c: Cpu, n: number, m: number, shift: number): void {
  const w = c.xlo[m];
  const mhi = shift === 0 ? 0 : w >>> (32 - shift);
  const s = (c.xlo[n] >>> 0) + ((w << shift) >>> 0);
  ea.lo = s >>> 0;
  ea.hi = (c.xhi[n] + mhi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/** ea = X[n] + (SignExtend(W[m]) << shift) — SXTW offsets. */
export function baseRegSxtw(c: Cpu, n: number, m: number, shift: number): void {
  const w = c.xlo[m];
  const mhi = shift === 0 ? w >> 31 : ((w >> 31) << shift) | (w >>> (32 - shift));
  const s = (c.xlo[n] >>> 0) + ((w << shift) >>> 0);
  ea.lo = s >>> 0;
  ea.hi = (c.xhi[n] + mhi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/** Register-offset extend options (instruction bits [15:13]) that are allocated: UXTW, LSL, SXTW, SXTX. */
export const enum Extend {
  Uxtw = 2,
  Lsl = 3,
  Sxtw = 6,
  Sxtx = 7,
}

/** The base+register helper for an option; undefined for the unallocated options (option<1> == 0). */
export function baseRegFor(option: number): ((c: Cpu, n: number, m: number, shift: number) => void) | undefined {
  switch (option) {
    case Extend.Uxtw:
      return baseRegUxtw;
    case Extend.Sxtw:
      return baseRegSxtw;
    case Extend.Lsl:
    case Extend.Sxtx:
      return baseRegX;
    default:
      return undefined;
  }
}

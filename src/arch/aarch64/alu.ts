// 64-bit integer arithmetic on lo/hi int32 halves, shared by the A64 handlers (no BigInt: DESIGN.md §8).
//
// A function that produces a 64-bit value returns its low half and leaves the high half in `resultHi`
// (a module variable, so nothing is allocated per call); read it right after the call. Inputs are int32 or
// uint32 halves (either works: everything goes through `>>> 0` or `| 0`), outputs are int32 halves, the
// representation of Cpu.xlo/xhi. Names follow the Arm ARM pseudocode (AddWithCarry, DecodeBitMasks...).

export const TWO32 = 4294967296;

/** High half of the last 64-bit result. */
export let resultHi = 0;

/** The NZCV flags as the Cpu holds them (0/1 each). */
export interface Flags {
  nf: number;
  zf: number;
  cf: number;
  vf: number;
}

/**
 * Read mask for a source register where 31 means XZR: handlers read `xlo[n] & mask`, so XZR reads as zero
 * without a branch (slot 31 holds the SP, which such an encoding never sees).
 */
export function zrMask(n: number): number {
  return n === 31 ? 0 : -1;
}

// ---- add / subtract ------------------------------------------------------------------------------------

/** AddWithCarry(a, b, carry) for 64 bits: sets NZCV, returns the low half (high half in resultHi).
 * Subtraction a - b is addWithCarry64(a, ~b, 1). */
export function addWithCarry64(f: Flags, al: number, ah: number, bl: number, bh: number, carryIn: number): number {
  const lo = (al >>> 0) + (bl >>> 0) + carryIn;
  const hi = (ah >>> 0) + (bh >>> 0) + (lo > 0xffffffff ? 1 : 0);
  const rl = lo | 0;
  const rh = hi | 0;
  f.nf = rh >>> 31;
  f.zf = (rl | rh) === 0 ? 1 : 0;
  f.cf = hi > 0xffffffff ? 1 : 0;
  // Signed overflow: the operands have the same sign and the result's sign differs.
  f.vf = (~(ah ^ bh) & (ah ^ rh)) >>> 31;
  resultHi = rh;
  return rl;
}

/** AddWithCarry for 32 bits: sets NZCV, returns the int32 result. */
export function addWithCarry32(f: Flags, a: number, b: number, carryIn: number): number {
  const sum = (a >>> 0) + (b >>> 0) + carryIn;
  const r = sum | 0;
  f.nf = r >>> 31;
  f.zf = r === 0 ? 1 : 0;
  f.cf = sum > 0xffffffff ? 1 : 0;
  f.vf = (~(a ^ b) & (a ^ r)) >>> 31;
  return r;
}

/** 64-bit a + b without flags. */
export function add64(al: number, ah: number, bl: number, bh: number): number {
  const lo = (al >>> 0) + (bl >>> 0);
  resultHi = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
  return lo | 0;
}

/** 64-bit a - b without flags. */
export function sub64(al: number, ah: number, bl: number, bh: number): number {
  const lo = (al >>> 0) - (bl >>> 0);
  resultHi = (ah - bh - (lo < 0 ? 1 : 0)) | 0;
  return lo | 0;
}

/** 64-bit two's complement negation. */
export function neg64(lo: number, hi: number): number {
  resultHi = lo === 0 ? -hi | 0 : ~hi;
  return -lo | 0;
}

// ---- shifts (amount 0..63 for 64 bits; JS shifts count mod 32, hence the explicit cases) ----------------

export function lsl64(lo: number, hi: number, s: number): number {
  if (s === 0) {
    resultHi = hi | 0;
    return lo | 0;
  }
  if (s < 32) {
    resultHi = (hi << s) | (lo >>> (32 - s));
    return lo << s;
  }
  resultHi = lo << (s - 32);
  return 0;
}

export function lsr64(lo: number, hi: number, s: number): number {
  if (s === 0) {
    resultHi = hi | 0;
    return lo | 0;
  }
  if (s < 32) {
    resultHi = hi >>> s;
    return (lo >>> s) | (hi << (32 - s));
  }
  resultHi = 0;
  return (hi >>> (s - 32)) | 0;
}

export function asr64(lo: number, hi: number, s: number): number {
  if (s === 0) {
    resultHi = hi | 0;
    return lo | 0;
  }
  if (s < 32) {
    resultHi = hi >> s;
    return (lo >>> s) | (hi << (32 - s));
  }
  resultHi = hi >> 31;
  return hi >> (s - 32);
}

export function ror64(lo: number, hi: number, s: number): number {
  if (s === 0) {
    resultHi = hi | 0;
    return lo | 0;
  }
  if (s < 32) {
    resultHi = (hi >>> s) | (lo << (32 - s));
    return (lo >>> s) | (hi << (32 - s));
  }
  if (s === 32) {
    resultHi = lo | 0;
    return hi | 0;
  }
  const t = s - 32;
  resultHi = (lo >>> t) | (hi << (32 - t));
  return (hi >>> t) | (lo << (32 - t));
}

/** ROR for 32 bits (`x << 32` is `x << 0` in JS, which makes s = 0 come out right). */
export function ror32(x: number, s: number): number {
  return (x >>> s) | (x << (32 - s));
}

export const enum ShiftType {
  LSL = 0,
  LSR = 1,
  ASR = 2,
  ROR = 3,
}

/** ShiftReg for 64 bits. */
export function shift64(lo: number, hi: number, type: ShiftType, s: number): number {
  switch (type) {
    case ShiftType.LSL:
      return lsl64(lo, hi, s);
    case ShiftType.LSR:
      return lsr64(lo, hi, s);
    case ShiftType.ASR:
      return asr64(lo, hi, s);
    default:
      return ror64(lo, hi, s);
  }
}

/** ShiftReg for 32 bits (s in 0..31). */
export function shift32(x: number, type: ShiftType, s: number): number {
  switch (type) {
    case ShiftType.LSL:
      return x << s;
    case ShiftType.LSR:
      return (x >>> s) | 0;
    case ShiftType.ASR:
      return x >> s;
    default:
      return ror32(x, s);
  }
}

// ---- extend ---------------------------------------------------------------------------------------------

export const enum ExtendType {
  UXTB = 0,
  UXTH = 1,
  UXTW = 2,
  UXTX = 3,
  SXTB = 4,
  SXTH = 5,
  SXTW = 6,
  SXTX = 7,
}

/** ExtendReg for 64 bits: extend the low bits of the register by `type`, then shift left by 0..4. */
export function extend64(lo: number, hi: number, type: ExtendType, shift: number): number {
  let l: number;
  let h: number;
  switch (type) {
    case ExtendType.UXTB:
      l = lo & 0xff;
      h = 0;
      break;
    case ExtendType.UXTH:
      l = lo & 0xffff;
      h = 0;
      break;
    case ExtendType.UXTW:
      l = lo;
      h = 0;
      break;
    case ExtendType.SXTB:
      l = (lo << 24) >> 24;
      h = l >> 31;
      break;
    case ExtendType.SXTH:
      l = (lo << 16) >> 16;
      h = l >> 31;
      break;
    case ExtendType.SXTW:
      l = lo;
      h = lo >> 31;
      break;
    default: // UXTX, SXTX
      l = lo;
      h = hi;
  }
  return lsl64(l, h, shift);
}

/** ExtendReg for 32 bits. */
export function extend32(x: number, type: ExtendType, shift: number): number {
  switch (type) {
    case ExtendType.UXTB:
      return (x & 0xff) << shift;
    case ExtendType.UXTH:
      return (x & 0xffff) << shift;
    case ExtendType.SXTB:
      return ((x << 24) >> 24) << shift;
    case ExtendType.SXTH:
      return ((x << 16) >> 16) << shift;
    default:
      return x << shift;
  }
}

// ---- multiply -------------------------------------------------------------------------------------------

/** High 32 bits of the unsigned product of two 32-bit values, from four 16 x 16 partial products (integer
 * operations only; measured faster than splitting one operand and using doubles). */
export function umulhi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = Math.imul(a0, b0) >>> 0;
  const p01 = Math.imul(a0, b1) >>> 0;
  const p10 = Math.imul(a1, b0) >>> 0;
  const p11 = Math.imul(a1, b1) >>> 0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff); // bits 16..49 of the product, < 3 * 2^16
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** High 32 bits of the signed product of two 32-bit values. */
export function smulhi32(a: number, b: number): number {
  return (umulhi32(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/** Low 64 bits of a 64 x 64 product (the same for signed and unsigned). */
export function mul64(al: number, ah: number, bl: number, bh: number): number {
  resultHi = (umulhi32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  return Math.imul(al, bl);
}

/** High 64 bits of the unsigned 128-bit product (UMULH). */
export function umulh64(al: number, ah: number, bl: number, bh: number): number {
  const llHi = umulhi32(al, bl) >>> 0;
  const lhLo = Math.imul(al, bh) >>> 0;
  const lhHi = umulhi32(al, bh) >>> 0;
  const hlLo = Math.imul(ah, bl) >>> 0;
  const hlHi = umulhi32(ah, bl) >>> 0;
  const hhLo = Math.imul(ah, bh) >>> 0;
  const hhHi = umulhi32(ah, bh) >>> 0;
  const col1 = llHi + lhLo + hlLo; // bits 32..63 of the product, < 3 * 2^32
  const col2 = lhHi + hlHi + hhLo + Math.floor(col1 / TWO32); // bits 64..95
  resultHi = (hhHi + Math.floor(col2 / TWO32)) | 0;
  return col2 | 0;
}

/** High 64 bits of the signed 128-bit product (SMULH): the unsigned one corrected for negative operands. */
export function smulh64(al: number, ah: number, bl: number, bh: number): number {
  let lo = umulh64(al, ah, bl, bh);
  let hi = resultHi;
  if (ah < 0) {
    lo = sub64(lo, hi, bl, bh);
    hi = resultHi;
  }
  if (bh < 0) {
    lo = sub64(lo, hi, al, ah);
    hi = resultHi;
  }
  resultHi = hi;
  return lo;
}

// ---- divide ---------------------------------------------------------------------------------------------

const TWO52 = 4503599627370496;

/**
 * Unsigned 64-bit division (UDIV); division by zero gives 0 as the Arm ARM specifies. Exact with doubles:
 * every division below works on integers under 2^52, where floor(a / b) cannot round up to the next integer
 * (that would need (q + 1) * b >= 2^53, and (q + 1) * b <= a + b).
 */
export function udiv64(al: number, ah: number, bl: number, bh: number): number {
  al >>>= 0;
  ah >>>= 0;
  bl >>>= 0;
  bh >>>= 0;
  if (bh === 0) {
    if (bl === 0) {
      resultHi = 0;
      return 0;
    }
    if (ah === 0) {
      resultHi = 0;
      return Math.floor(al / bl) | 0;
    }
  }
  const a = ah * TWO32 + al;
  const b = bh * TWO32 + bl;
  if (a < TWO52 && b < TWO52) {
    const q = Math.floor(a / b);
    resultHi = Math.floor(q / TWO32) | 0;
    return q | 0;
  }
  if (bh === 0) {
    // A 32-bit divisor: schoolbook division in 16-bit digits keeps each partial dividend below 2^48.
    const qh = Math.floor(ah / bl);
    let r = ah - qh * bl;
    let t = r * 65536 + (al >>> 16);
    const q1 = Math.floor(t / bl);
    r = t - q1 * bl;
    t = r * 65536 + (al & 0xffff);
    const q0 = Math.floor(t / bl);
    resultHi = qh | 0;
    return (q1 * 65536 + q0) | 0;
  }
  // A divisor of 2^32 or more: the quotient fits 32 bits, and the double estimate from the rounded operands is
  // within 1 of it. Start one below (so q * b cannot exceed a) and correct with the exact remainder.
  let q = Math.floor(a / b) - 1;
  if (q < 0) q = 0;
  const pl = mul64(q | 0, 0, bl, bh);
  let rl = sub64(al, ah, pl, resultHi) >>> 0;
  let rh = resultHi >>> 0;
  while (rh > bh || (rh === bh && rl >= bl)) {
    rl = sub64(rl, rh, bl, bh) >>> 0;
    rh = resultHi >>> 0;
    q++;
  }
  resultHi = 0;
  return q | 0;
}

/** Signed 64-bit division (SDIV), rounding toward zero; x / 0 = 0 and INT64_MIN / -1 = INT64_MIN. */
export function sdiv64(al: number, ah: number, bl: number, bh: number): number {
  const negA = ah < 0;
  const negB = bh < 0;
  if (negA) {
    al = neg64(al, ah);
    ah = resultHi;
  }
  if (negB) {
    bl = neg64(bl, bh);
    bh = resultHi;
  }
  // |INT64_MIN| = 2^63 is still right when read as unsigned.
  let lo = udiv64(al, ah, bl, bh);
  if (negA !== negB) {
    lo = neg64(lo, resultHi);
  }
  return lo;
}

/** Unsigned 32-bit division; x / 0 = 0. */
export function udiv32(a: number, b: number): number {
  b >>>= 0;
  return b === 0 ? 0 : Math.floor((a >>> 0) / b) | 0;
}

/** Signed 32-bit division toward zero; x / 0 = 0, INT32_MIN / -1 = INT32_MIN. */
export function sdiv32(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc((a | 0) / (b | 0)) | 0;
}

// ---- bit counting and reversal --------------------------------------------------------------------------

export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/** CountLeadingSignBits for 32 bits: CLZ(x XOR (x >> 1)) - 1. */
export function cls32(x: number): number {
  return Math.clz32(x ^ (x >> 1)) - 1;
}

/** CountLeadingSignBits for 64 bits. */
export function cls64(lo: number, hi: number): number {
  const yl = lo ^ ((lo >>> 1) | (hi << 31));
  const yh = hi ^ (hi >> 1);
  return clz64(yl, yh) - 1;
}

export function rbit32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}

/** Byte swap of 32 bits (REV Wd). */
export function bswap32(x: number): number {
  return (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** Swaps the bytes within each 16-bit halfword (REV16). */
export function rev16x32(x: number): number {
  return ((x & 0x00ff00ff) << 8) | ((x >>> 8) & 0x00ff00ff);
}

// ---- bitmask immediates ---------------------------------------------------------------------------------

/** wmask/tmask of DecodeBitMasks as lo/hi halves (for 32-bit forms only the low halves matter). */
export interface BitMasks {
  wlo: number;
  whi: number;
  tlo: number;
  thi: number;
}

/** Ones(n) for n in 0..32 as an int32. */
function ones32(n: number): number {
  return n >= 32 ? -1 : (1 << n) - 1;
}

/** Replicates an element of `esize` bits (2..32) across 32 bits. */
function replicate32(elem: number, esize: number): number {
  let v = elem;
  for (let w = esize; w < 32; w *= 2) v |= v << w;
  return v | 0;
}

/**
 * DecodeBitMasks(immN, imms, immr, immediate, M) from the Arm ARM. Returns undefined for the reserved
 * encodings (which are UNDEFINED). Used at decode time only.
 */
export function decodeBitMasks(
  immN: number,
  imms: number,
  immr: number,
  immediate: boolean,
  datasize: 32 | 64,
): BitMasks | undefined {
  const combined = (immN << 6) | (~imms & 0x3f);
  if (combined === 0) return undefined;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return undefined;
  const esize = 1 << len;
  if (esize > datasize) return undefined;
  const levels = esize - 1;
  if (immediate && (imms & levels) === levels) return undefined;
  const s = imms & levels;
  const r = immr & levels;
  const d = (s - r) & levels;
  if (esize === 64) {
    // welem = Ones(S+1) rotated right by R within 64 bits; telem = Ones(d+1).
    const wl = s + 1 >= 32 ? -1 : ones32(s + 1);
    const wh = s + 1 > 32 ? ones32(s + 1 - 32) : 0;
    const wlo = ror64(wl, wh, r);
    const whi = resultHi;
    const tlo = d + 1 >= 32 ? -1 : ones32(d + 1);
    const thi = d + 1 > 32 ? ones32(d + 1 - 32) : 0;
    return { wlo, whi, tlo, thi };
  }
  const emask = ones32(esize);
  const welem = ones32(s + 1);
  const rot = r === 0 ? welem : ((welem >>> r) | (welem << (esize - r))) & emask;
  const w = replicate32(rot, esize);
  const t = replicate32(ones32(d + 1), esize);
  return { wlo: w, whi: w, tlo: t, thi: t };
}

// ---- CRC32 ----------------------------------------------------------------------------------------------

function crcTable(poly: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  return t;
}

/** Bit-reflected tables: CRC32 (polynomial 0x04C11DB7) and CRC32C (0x1EDC6F41). */
export const CRC32_TABLE = crcTable(0xedb88320);
export const CRC32C_TABLE = crcTable(0x82f63b78);

/** Feeds the low `bytes` bytes of `value` (least significant first) into `acc`, as CRC32* instructions do:
 * no initial or final inversion. */
export function crc32Update(table: Int32Array, acc: number, value: number, bytes: number): number {
  for (let i = 0; i < bytes; i++) {
    acc = table[(acc ^ value) & 0xff] ^ (acc >>> 8);
    value >>>= 8;
  }
  return acc | 0;
}

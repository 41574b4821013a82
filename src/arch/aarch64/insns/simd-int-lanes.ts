// Lane helpers shared by the Advanced SIMD integer rows (simd-int-*.ts).
//
// Lanes of 8, 16 and 32 bits are read and written through typed-array views over cpu.vregs (a little-endian
// host is required, see load-store-simd.ts): register r's element i of size s is view[r * (16 >> s) + i],
// read unsigned. Element operations on such lanes take and return plain numbers (exact doubles: a result is
// truncated to the lane width by the typed-array store). 64-bit lanes are (lo, hi) pairs of 32-bit words;
// their operations return through R (no BigInt anywhere). Saturating operations set SAT.qc, which the executor turns into FPSR.QC.

export const QC = 1 << 27;

/** Set by saturating element operations; executors clear it before and OR FPSR.QC after. */
export const SAT = { qc: false };

/** The result of a 64-bit lane operation: low and high words (any 32-bit representation). */
export const R = { l: 0, h: 0 };

export type Op32 = (a: number, b: number, d: number) => number;
export type Op64 = (al: number, ah: number, bl: number, bh: number, dl: number, dh: number) => void;

let cached: Int32Array | undefined;
let v8: Uint8Array = new Uint8Array(0);
let v16: Uint16Array = new Uint16Array(0);
let v32: Uint32Array = new Uint32Array(0);

function refresh(v: Int32Array): void {
  cached = v;
  v8 = new Uint8Array(v.buffer, v.byteOffset, v.length * 4);
  v16 = new Uint16Array(v.buffer, v.byteOffset, v.length * 2);
  v32 = new Uint32Array(v.buffer, v.byteOffset, v.length);
}

export function bytesOf(v: Int32Array): Uint8Array {
  if (v !== cached) refresh(v);
  return v8;
}
export function wordsOf(v: Int32Array): Uint32Array {
  if (v !== cached) refresh(v);
  return v32;
}
/** The unsigned view of the vector registers for element size 0 (B), 1 (H) or 2 (S). */
export function lanesOf(v: Int32Array, size: number): Uint8Array | Uint16Array | Uint32Array {
  if (v !== cached) refresh(v);
  return size === 0 ? v8 : size === 1 ? v16 : v32;
}

/** Zeroes register rd above its low `bytes` bytes (1, 2, 4, 8 or 16). */
export function clearAbove(v: Int32Array, rd: number, bytes: number): void {
  if (bytes >= 16) return;
  const w = rd << 2;
  if (bytes < 4) v[w] &= bytes === 1 ? 0xff : 0xffff;
  for (let k = bytes < 4 ? 1 : bytes >> 2; k < 4; k++) v[w + k] = 0;
}

/** Signed value of the low `bits` bits of x (bits <= 32). */
export function sx(x: number, bits: number): number {
  const s = 32 - bits;
  return (x << s) >> s;
}

/** Splits an exact integer |x| < 2^53 into R (two's complement 64 bits). */
export function fromDouble(x: number): void {
  const h = Math.floor(x / 4294967296);
  R.l = (x - h * 4294967296) >>> 0;
  R.h = h | 0;
}

/** R = (al, ah) + (bl, bh) modulo 2^64. */
export function add64(al: number, ah: number, bl: number, bh: number): void {
  const l = (al >>> 0) + (bl >>> 0);
  R.l = l >>> 0;
  R.h = (ah + bh + (l > 0xffffffff ? 1 : 0)) | 0;
}

/** R = (al, ah) - (bl, bh) modulo 2^64. */
export function sub64(al: number, ah: number, bl: number, bh: number): void {
  const l = (al >>> 0) - (bl >>> 0);
  R.l = l >>> 0;
  R.h = (ah - bh - (l < 0 ? 1 : 0)) | 0;
}

/** R = the exact 64-bit product of two 32-bit values (signed or unsigned). */
export function mul32(a: number, b: number, signed: boolean): void {
  const ua = a >>> 0;
  const ub = b >>> 0;
  const al = ua & 0xffff;
  const ah = ua >>> 16;
  const bl = ub & 0xffff;
  const bh = ub >>> 16;
  const ll = al * bl;
  const mid = ah * bl + al * bh + Math.floor(ll / 65536);
  let hi = ah * bh + Math.floor(mid / 65536);
  if (signed) hi -= ((a | 0) < 0 ? ub : 0) + ((b | 0) < 0 ? ua : 0);
  R.l = Math.imul(ua, ub) >>> 0;
  R.h = hi | 0;
}

/** Signed saturating 64-bit addition into R (sets SAT.qc on overflow). */
export function sqadd64(al: number, ah: number, bl: number, bh: number): void {
  const l = (al >>> 0) + (bl >>> 0);
  const h = (ah | 0) + (bh | 0) + (l > 0xffffffff ? 1 : 0);
  if (h > 0x7fffffff) {
    SAT.qc = true;
    R.l = 0xffffffff;
    R.h = 0x7fffffff;
  } else if (h < -0x80000000) {
    SAT.qc = true;
    R.l = 0;
    R.h = 0x80000000 | 0;
  } else {
    R.l = l >>> 0;
    R.h = h | 0;
  }
}

/** R = (l, h) >> s for 0 <= s <= 64, logical or arithmetic. */
export function shr64(l: number, h: number, s: number, signed: boolean): void {
  if (s === 0) {
    R.l = l;
    R.h = h;
  } else if (s >= 32) {
    R.l = signed ? (h | 0) >> Math.min(s - 32, 31) : s === 64 ? 0 : h >>> (s - 32);
    R.h = signed ? (h | 0) >> 31 : 0;
  } else {
    R.l = (l >>> s) | (h << (32 - s));
    R.h = signed ? (h | 0) >> s : h >>> s;
  }
}

/** R = (l, h) << s for s >= 0 (0 from 64 on). */
export function shl64(l: number, h: number, s: number): void {
  if (s === 0) {
    R.l = l;
    R.h = h;
  } else if (s >= 64) {
    R.l = 0;
    R.h = 0;
  } else if (s >= 32) {
    R.h = l << (s - 32);
    R.l = 0;
  } else {
    R.h = (h << s) | (l >>> (32 - s));
    R.l = l << s;
  }
}

/** R = round-half-up (x >> k) for k >= 1: (x >> k) + bit k-1 of x, modulo 2^64 (0 for k > 64). */
export function rshr64(l: number, h: number, k: number, signed: boolean): void {
  if (k > 64) {
    R.l = 0;
    R.h = 0;
    return;
  }
  const bit = k <= 32 ? (l >>> (k - 1)) & 1 : (h >>> (k - 33)) & 1;
  shr64(l, h, k, signed);
  if (bit) add64(R.l, R.h, 1, 0);
}

/** Signed saturating 64-bit subtraction into R (sets SAT.qc on overflow). */
export function sqsub64(al: number, ah: number, bl: number, bh: number): void {
  sub64(al, ah, bl, bh);
  if (((ah ^ bh) & (ah ^ R.h)) < 0) {
    SAT.qc = true;
    R.l = (ah | 0) < 0 ? 0 : 0xffffffff;
    R.h = (ah | 0) < 0 ? 0x80000000 | 0 : 0x7fffffff;
  }
}

/** Unsigned saturating 64-bit addition and subtraction into R. */
export function uqadd64(al: number, ah: number, bl: number, bh: number): void {
  const l = (al >>> 0) + (bl >>> 0);
  const h = (ah >>> 0) + (bh >>> 0) + (l > 0xffffffff ? 1 : 0);
  if (h > 0xffffffff) {
    SAT.qc = true;
    R.l = -1;
    R.h = -1;
  } else {
    R.l = l >>> 0;
    R.h = h | 0;
  }
}
export function uqsub64(al: number, ah: number, bl: number, bh: number): void {
  if (ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0)) {
    SAT.qc = true;
    R.l = 0;
    R.h = 0;
  } else sub64(al, ah, bl, bh);
}

/** R = the saturated (l, h) << s (s >= 0): signedIn reads the value as signed, signedOut saturates to the
 * signed range (SQSHL), else to the unsigned one (UQSHL; SQSHLU with signedIn). Sets SAT.qc. */
export function satShl64(l: number, h: number, s: number, signedIn: boolean, signedOut: boolean): void {
  const neg = signedIn && (h | 0) < 0;
  if (neg && !signedOut) {
    SAT.qc = true;
    R.l = 0;
    R.h = 0;
    return;
  }
  if ((l | h) === 0 || s === 0) {
    R.l = l;
    R.h = h;
    return;
  }
  let over = s >= 64;
  if (!over) {
    shl64(l, h, s);
    const rl = R.l;
    const rh = R.h;
    shr64(rl, rh, s, signedOut);
    over = R.l >>> 0 !== l >>> 0 || R.h >>> 0 !== h >>> 0;
    R.l = rl;
    R.h = rh;
  }
  if (over) {
    SAT.qc = true;
    if (!signedOut) {
      R.l = -1;
      R.h = -1;
    } else {
      R.l = neg ? 0 : -1;
      R.h = neg ? 0x80000000 | 0 : 0x7fffffff;
    }
  }
}

/** The low word of (l, h) saturated to 32 bits: srcSigned reads (l, h) as signed, toSigned the range. */
export function satNarrow64(l: number, h: number, srcSigned: boolean, toSigned: boolean): number {
  const hs = h | 0;
  if (srcSigned && hs < 0) {
    if (!toSigned || hs !== -1 || (l | 0) >= 0) {
      SAT.qc = true;
      return toSigned ? 0x80000000 : 0;
    }
    return l >>> 0;
  }
  if (hs !== 0 || (toSigned && (l | 0) < 0)) {
    SAT.qc = true;
    return toSigned ? 0x7fffffff : 0xffffffff;
  }
  return l >>> 0;
}

/** A saturating clamp for `bits`-bit lanes (bits <= 32) as a closure over its bounds. */
export function saturator(bits: number, signed: boolean): (x: number) => number {
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  return (x) => {
    if (x > max) {
      SAT.qc = true;
      return max;
    }
    if (x < min) {
      SAT.qc = true;
      return min;
    }
    return x;
  };
}

export const ARR = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];
export const ELEM = ["b", "h", "s", "d"];
export const arr = (size: number, q: number): string => ARR[(size << 1) | q];
export const vreg = (r: number, size: number, q: number): string => `v${r}.${arr(size, q)}`;
export const sreg = (r: number, size: number): string => `${ELEM[size]}${r}`;

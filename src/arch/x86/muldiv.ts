// x86 multiplication and division (MUL, IMUL in its three forms, DIV, IDIV) for 8-, 16-, 32- and 64-bit
// operands, as the Intel SDM Vol. 2 defines them: the double-width product, CF = OF = "the high half is
// significant", and the #DE cases of division (divisor 0, quotient too large). Values are (lo, hi) pairs of 32-bit
// integers. Products use 16-bit limbs (integer arithmetic only); the 128-by-64-bit division uses BigInt, as
// division is rare next to the rest.

import { CF, OF, resultFlags, type Width } from "./alu.js";

export interface WideResult {
  /** The low half of the product, or the quotient. */
  lo: number;
  hi: number;
  /** The high half of the product, or the remainder. */
  lo2: number;
  hi2: number;
  /** CF and OF for multiplication (the other status flags are undefined). */
  flags: number;
}

const MASK: Record<8 | 16 | 32, number> = { 8: 0xff, 16: 0xffff, 32: 0xffffffff };
const limbsA = new Float64Array(4);
const limbsB = new Float64Array(4);
const product = new Float64Array(8);

/** The unsigned 128-bit product of two 64-bit values, as four 32-bit words into `words` (least significant first). */
function umul128(aLo: number, aHi: number, bLo: number, bHi: number, words: number[]): void {
  limbsA[0] = aLo & 0xffff;
  limbsA[1] = aLo >>> 16;
  limbsA[2] = aHi & 0xffff;
  limbsA[3] = aHi >>> 16;
  limbsB[0] = bLo & 0xffff;
  limbsB[1] = bLo >>> 16;
  limbsB[2] = bHi & 0xffff;
  limbsB[3] = bHi >>> 16;
  product.fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) product[i + j] += limbsA[i] * limbsB[j];
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    const v = product[k] + carry;
    product[k] = v % 65536;
    carry = Math.floor(v / 65536);
  }
  for (let k = 0; k < 4; k++) words[k] = (product[2 * k] + product[2 * k + 1] * 65536) >>> 0;
}

const words = [0, 0, 0, 0];

/** Sign-extends a w-bit operand to (lo, hi) as 64 bits. */
function extend(w: Width, lo: number, hi: number, signed: boolean): [number, number] {
  if (w === 64) return [lo >>> 0, hi >>> 0];
  const s = 32 - w;
  const v = signed ? (lo << s) >> s : (lo & MASK[w]) >>> 0;
  return [v >>> 0, signed && v < 0 ? 0xffffffff : 0];
}

/**
 * The flags the SDM leaves undefined (SF, ZF, PF; AF cleared) are QEMU's: from the low half of the product, as
 * its CC_OP_MUL* computes them, so that a guest reading them behaves as under QEMU.
 *
 * The 2w-bit product of two w-bit operands, unsigned (MUL) or signed (IMUL): its low half in `lo, hi` and its high
 * half in `lo2, hi2` (w bits each; `hi`/`hi2` only for 64-bit operands). CF = OF = 1 when the high half is
 * significant: not zero (MUL), not the sign extension of the low half (IMUL).
 */
export function multiply(signed: boolean, w: Width, aLo: number, aHi: number, bLo: number, bHi: number, out: WideResult): void {
  if (w !== 64) return multiplyNarrow(signed, w, aLo, bLo, out);
  // 64-bit operands: the 128-bit product from 16-bit limbs.
  const [al, ah] = extend(w, aLo, aHi, signed);
  const [bl, bh] = extend(w, bLo, bHi, signed);
  umul128(al, ah, bl, bh, words);
  const [w0, w1] = words;
  let [, , w2, w3] = words;
  if (signed) {
    // The signed product's high half: the unsigned one minus each operand where the other is negative.
    if (ah >>> 31) ({ lo: w2, hi: w3 } = sub64(w2, w3, bl, bh));
    if (bh >>> 31) ({ lo: w2, hi: w3 } = sub64(w2, w3, al, ah));
  }
  out.lo = w0;
  out.hi = w1;
  out.lo2 = w2;
  out.hi2 = w3;
  const lowSign = w1 >>> 31;
  const significant = signed && lowSign ? !(w2 === 0xffffffff && w3 === 0xffffffff) : (w2 | w3) !== 0;
  out.flags = (significant ? CF | OF : 0) | resultFlags(64, w0, w1);
}

/**
 * 8-, 16- and 32-bit operands in plain integer arithmetic (the hot case: no limb arrays). The high half of a
 * 32 x 32-bit product comes from 16-bit partial products, all exact in doubles; the signed one is the unsigned one
 * minus each operand where the other is negative (mod 2^32).
 */
function multiplyNarrow(signed: boolean, w: 8 | 16 | 32, aLo: number, bLo: number, out: WideResult): void {
  let low: number;
  let high: number;
  if (w === 32) {
    const a = aLo >>> 0;
    const b = bLo >>> 0;
    const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
    const lh = aL * bH;
    const hl = aH * bL;
    const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
    high = aH * bH + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536);
    if (signed) high = high - (a >>> 31 ? b : 0) - (b >>> 31 ? a : 0);
    high >>>= 0;
    low = Math.imul(a, b) >>> 0;
  } else {
    const s = 32 - w;
    const a = signed ? (aLo << s) >> s : aLo & MASK[w];
    const b = signed ? (bLo << s) >> s : bLo & MASK[w];
    const p = a * b; // |p| < 2^32: exact
    low = (p & MASK[w]) >>> 0;
    high = Math.floor(p / (1 << w)) & MASK[w];
  }
  out.lo = low;
  out.hi = 0;
  out.lo2 = high;
  out.hi2 = 0;
  const lowSign = (low >>> (w - 1)) & 1;
  const significant = signed ? high !== (lowSign ? MASK[w] : 0) : high !== 0;
  out.flags = (significant ? CF | OF : 0) | resultFlags(w, low, 0);
}

function sub64(lo: number, hi: number, bLo: number, bHi: number): { lo: number; hi: number } {
  const d = lo - bLo;
  return { lo: d >>> 0, hi: (hi - bHi - (d < 0 ? 1 : 0)) >>> 0 };
}

const TWO64 = 1n << 64n;
const TWO128 = 1n << 128n;

/**
 * DIV/IDIV: the 2w-bit dividend (high half `nHi*`, low half `nLo*`) by the w-bit divisor. Returns false for #DE
 * (divisor 0, or a quotient that does not fit w bits, signed for IDIV); else quotient in lo, hi and remainder in
 * lo2, hi2.
 */
export function divide(signed: boolean, w: Width, nHiLo: number, nHiHi: number, nLoLo: number, nLoHi: number, dLo: number, dHi: number, out: WideResult): boolean {
  const bits = BigInt(w);
  const m = (1n << bits) - 1n;
  const val = (lo: number, hi: number) => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) & m;
  let n = (val(nHiLo, nHiHi) << bits) | val(nLoLo, nLoHi);
  let d = val(dLo, dHi);
  if (d === 0n) return false;
  if (signed) {
    const top = 1n << (2n * bits);
    if (n >> (2n * bits - 1n)) n -= top;
    if (d >> (bits - 1n)) d -= 1n << bits;
  }
  // BigInt division truncates toward zero, as IDIV does; the remainder takes the dividend's sign.
  const q = n / d;
  const r = n % d;
  const limit = signed ? 1n << (bits - 1n) : 1n << bits;
  if (signed ? q >= limit || q < -limit : q >= limit) return false;
  const uq = (q < 0n ? q + TWO128 : q) & (TWO64 - 1n) & m;
  const ur = (r < 0n ? r + TWO128 : r) & (TWO64 - 1n) & m;
  out.lo = Number(uq & 0xffffffffn);
  out.hi = Number(uq >> 32n);
  out.lo2 = Number(ur & 0xffffffffn);
  out.hi2 = Number(ur >> 32n);
  out.flags = 0;
  return true;
}

// FP operations on register bit patterns, with fast paths in JS doubles (see the design note in ./softfloat.ts).
//
// Single precision values are int32 bit patterns; double precision values are (lo, hi) int32 pairs, and a
// double result returns its low word with the high word in fpst.hi. Flags accumulate in fpst.flags.
//
// Fast paths (round to nearest even only, operands normal or zero, results normal or exact zero):
//  - double +,-: s = a + b is the correctly rounded sum; TwoSum gives the rounding error (inexact iff != 0).
//  - double *, /, sqrt: the JS result is correctly rounded; exactness is checked on the significands scaled
//    to [1, 4) (so nothing under- or overflows) with TwoProduct (Veltkamp split): a*b exact iff its error is 0,
//    q = a/b exact iff q*b == a exactly, r = sqrt(a) exact iff r*r == a exactly.
//  - single +,-,*,/,sqrt: computed in doubles then Math.fround (double rounding is innocuous: 53 >= 2*24+2);
//    exactness from TwoSum in double, or from r*b / r*r, which are exact in double.
//  - single FMA: a*b is exact in double, TwoSum gives s + err exactly; when err != 0 and s is a single-precision
//    midpoint, s is nudged one double ulp towards err before Math.fround.
//  - conversions and FRINT* and FCVT*: JS doubles hold every single and double value exactly, so these are
//    exact double operations in all rounding modes.
// A result that is tiny (<= the smallest normal, where tininess and FZ matter), overflows, or a directed
// rounding mode goes to the exact BigInt path.

import {
  FD,
  FH,
  FS,
  FPCR_DN,
  FPCR_FZ,
  IDC,
  IOC,
  IXC,
  Rounding,
  fpst,
  rmode,
  sAdd,
  sConvert,
  sDiv,
  sFixedToFP,
  sMaxMin,
  sMul,
  sMulAdd,
  sSqrt,
  sRecipStep,
  sRecipEstimate,
  sRSqrtEstimate,
  sRecpX,
  type Fmt,
} from "./softfloat.js";

const F64 = new Float64Array(1);
const W64 = new Int32Array(F64.buffer);
const F32 = new Float32Array(1);
const W32 = new Int32Array(F32.buffer);
const MIN32 = 1.1754943508222875e-38; // 2^-126
const MIN64 = 2.2250738585072014e-308; // 2^-1022
const RM = 3 << 22;

function d64(lo: number, hi: number): number {
  W64[0] = lo;
  W64[1] = hi;
  return F64[0];
}
function o64(x: number): number {
  F64[0] = x;
  fpst.hi = W64[1];
  return W64[0];
}
function d32(x: number): number {
  W32[0] = x;
  return F32[0];
}
function o32(x: number): number {
  F32[0] = x;
  return W32[0];
}
/** The significand of a normal double as a double in [1, 2). */
const sig = (lo: number, hi: number) => d64(lo, (hi & 0x000fffff) | 0x3ff00000);

const b32 = (x: number) => BigInt(x >>> 0);
const b64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
function r64(v: bigint): number {
  fpst.hi = Number(v >> 32n) | 0;
  return Number(v & 0xffffffffn) | 0;
}
const r32 = (v: bigint) => Number(v) | 0;

/** Normal or zero. */
function nz32(x: number): boolean {
  const e = (x >>> 23) & 0xff;
  return (e !== 0 && e !== 0xff) || (x & 0x7fffffff) === 0;
}
function nz64(lo: number, hi: number): boolean {
  const e = (hi >>> 20) & 0x7ff;
  return (e !== 0 && e !== 0x7ff) || ((hi & 0x7fffffff) | lo) === 0;
}

function twoSumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}
/** a*b - fl(a*b) for |a|, |b| in [1, 4). */
function twoProdErr(a: number, b: number, p: number): number {
  let t = 134217729 * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = 134217729 * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Math.fround of the exact value s + err (|err| <= half an ulp of s in double), result in single's normal range. */
function froundExact(s: number, err: number): number {
  if (err !== 0) {
    F64[0] = s;
    const lo = W64[0];
    if ((lo & 0x1fffffff) === 0x10000000) {
      W64[0] = err > 0 === s > 0 ? lo + 1 : lo - 1;
      s = F64[0];
    }
  }
  return Math.fround(s);
}

// ---- arithmetic -----------------------------------------------------------------------------------------

export function add32(x: number, y: number, fpcr: number, negate: number): number {
  if ((fpcr & RM) === 0 && nz32(x) && nz32(y)) {
    const a = d32(x);
    const b = negate ? -d32(y) : d32(y);
    const s = a + b;
    const r = Math.fround(s);
    const ar = Math.abs(r);
    if ((ar > MIN32 && ar < Infinity) || s === 0) {
      if (r !== s || twoSumErr(a, b, s) !== 0) fpst.flags |= IXC;
      return o32(r);
    }
  }
  return r32(sAdd(FS, b32(x), b32(y), fpcr, negate));
}

export function add64(xl: number, xh: number, yl: number, yh: number, fpcr: number, negate: number): number {
  if ((fpcr & RM) === 0 && nz64(xl, xh) && nz64(yl, yh)) {
    const a = d64(xl, xh);
    const b = negate ? -d64(yl, yh) : d64(yl, yh);
    const s = a + b;
    const as = Math.abs(s);
    if ((as > MIN64 && as < Infinity) || s === 0) {
      if (twoSumErr(a, b, s) !== 0) fpst.flags |= IXC;
      return o64(s);
    }
  }
  return r64(sAdd(FD, b64(xl, xh), b64(yl, yh), fpcr, negate));
}

export function mul32(x: number, y: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz32(x) && nz32(y)) {
    const p = d32(x) * d32(y);
    const r = Math.fround(p);
    const ar = Math.abs(r);
    if ((ar > MIN32 && ar < Infinity) || p === 0) {
      if (r !== p) fpst.flags |= IXC;
      return o32(r);
    }
  }
  return r32(sMul(FS, b32(x), b32(y), fpcr));
}

export function mul64(xl: number, xh: number, yl: number, yh: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz64(xl, xh) && nz64(yl, yh)) {
    const a = d64(xl, xh);
    const b = d64(yl, yh);
    const p = a * b;
    if (a === 0 || b === 0) return o64(p);
    const ap = Math.abs(p);
    if (ap > MIN64 && ap < Infinity) {
      const sa = sig(xl, xh);
      const sb = sig(yl, yh);
      if (twoProdErr(sa, sb, sa * sb) !== 0) fpst.flags |= IXC;
      return o64(p);
    }
  }
  return r64(sMul(FD, b64(xl, xh), b64(yl, yh), fpcr));
}

export function div32(x: number, y: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz32(x) && nz32(y) && (y & 0x7fffffff) !== 0) {
    const a = d32(x);
    const b = d32(y);
    const r = Math.fround(a / b);
    const ar = Math.abs(r);
    if ((ar > MIN32 && ar < Infinity) || a === 0) {
      if (r * b !== a) fpst.flags |= IXC;
      return o32(r);
    }
  }
  return r32(sDiv(FS, b32(x), b32(y), fpcr));
}

export function div64(xl: number, xh: number, yl: number, yh: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz64(xl, xh) && nz64(yl, yh) && ((yh & 0x7fffffff) | yl) !== 0) {
    const a = d64(xl, xh);
    const b = d64(yl, yh);
    const q = a / b;
    if (a === 0) return o64(q);
    const aq = Math.abs(q);
    if (aq > MIN64 && aq < Infinity) {
      const sa = sig(xl, xh);
      const sb = sig(yl, yh);
      const sq = sa / sb;
      const p = sq * sb;
      if (p !== sa || twoProdErr(sq, sb, p) !== 0) fpst.flags |= IXC;
      return o64(q);
    }
  }
  return r64(sDiv(FD, b64(xl, xh), b64(yl, yh), fpcr));
}

export function sqrt32(x: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz32(x) && (x >= 0 || x === (0x80000000 | 0))) {
    const a = d32(x);
    const r = Math.fround(Math.sqrt(a));
    if (r * r !== a) fpst.flags |= IXC;
    return o32(r);
  }
  return r32(sSqrt(FS, b32(x), fpcr));
}

export function sqrt64(xl: number, xh: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz64(xl, xh) && (xh >= 0 || (xh === (0x80000000 | 0) && xl === 0))) {
    const a = d64(xl, xh);
    const r = Math.sqrt(a);
    if (a !== 0) {
      // a' = the significand times 2^(exponent mod 2), in [1, 4)
      const odd = (((xh >>> 20) & 0x7ff) - 1023) & 1;
      const sa = d64(xl, (xh & 0x000fffff) | ((1023 + odd) << 20));
      const sr = Math.sqrt(sa);
      const p = sr * sr;
      if (p !== sa || twoProdErr(sr, sr, p) !== 0) fpst.flags |= IXC;
    }
    return o64(r);
  }
  return r64(sSqrt(FD, b64(xl, xh), fpcr));
}

/** FPMulAdd(z, x, y) = z + x*y, one rounding. */
export function fma32(z: number, x: number, y: number, fpcr: number): number {
  if ((fpcr & RM) === 0 && nz32(x) && nz32(y) && nz32(z)) {
    const p = d32(x) * d32(y);
    const c = d32(z);
    const s = p + c;
    const err = twoSumErr(p, c, s);
    const r = froundExact(s, err);
    const ar = Math.abs(r);
    if ((ar > MIN32 && ar < Infinity) || (s === 0 && err === 0)) {
      if (err !== 0 || r !== s) fpst.flags |= IXC;
      return o32(r);
    }
  }
  return r32(sMulAdd(FS, b32(z), b32(x), b32(y), fpcr));
}

/**
 * Double FMA fast path (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
 * rounding to odd", 2008): (uh, ul) = TwoProduct(a, b), (th, tl) = TwoSum(c, uh), v = RO(tl + ul) (round to
 * odd, from TwoSum's error), result = RN(th + v). Valid without underflow or overflow in any step, so operands
 * and the product are kept within [2^-960, 2^995]. Inexact: when tl + ul was rounded, x = th + tl + ul is not
 * a double (it lies strictly inside an ulp-scale gap next to th); otherwise x = th + v and TwoSum says.
 */
export function fma64(zl: number, zh: number, xl: number, xh: number, yl: number, yh: number, fpcr: number): number {
  if ((fpcr & RM) === 0) {
    const a = d64(xl, xh);
    const b = d64(yl, yh);
    const c = d64(zl, zh);
    const aa = Math.abs(a);
    const ab = Math.abs(b);
    const ac = Math.abs(c);
    const uh = a * b;
    const au = Math.abs(uh);
    if (aa > 2 ** -960 && aa < 2 ** 995 && ab > 2 ** -960 && ab < 2 ** 995 && au > 2 ** -960 && au < 2 ** 995 && ac > 2 ** -960 && ac < 2 ** 995) {
      const ul = twoProdErr(a, b, uh);
      const th = c + uh;
      const tl = twoSumErr(c, uh, th);
      let v = tl + ul;
      const e = twoSumErr(tl, ul, v);
      if (e !== 0) {
        F64[0] = v;
        let lo = W64[0];
        if ((lo & 1) === 0) {
          let hi = W64[1];
          if (e > 0 === v > 0) lo += 1;
          else if (lo === 0) {
            lo = -1;
            hi -= 1;
          } else lo -= 1;
          W64[0] = lo;
          W64[1] = hi;
          v = F64[0];
        }
      }
      const r = th + v;
      const ar = Math.abs(r);
      const exact = e === 0 && twoSumErr(th, v, r) === 0;
      if ((ar > MIN64 && ar < Infinity) || (r === 0 && exact)) {
        if (!exact) fpst.flags |= IXC;
        return o64(r);
      }
    }
  }
  return r64(sMulAdd(FD, b64(zl, zh), b64(xl, xh), b64(yl, yh), fpcr));
}

// ---- max / min ------------------------------------------------------------------------------------------

/** op: 0 FMAX, 1 FMIN, 2 FMAXNM, 3 FMINNM. */
export function maxmin32(x: number, y: number, fpcr: number, op: number): number {
  if ((x & 0x7fffffff) > 0x7f800000 || (y & 0x7fffffff) > 0x7f800000) return r32(sMaxMin(FS, b32(x), b32(y), fpcr, op));
  if (fpcr & FPCR_FZ) {
    if ((x & 0x7f800000) === 0 && (x & 0x7fffff) !== 0) {
      x &= 0x80000000;
      fpst.flags |= IDC;
    }
    if ((y & 0x7f800000) === 0 && (y & 0x7fffff) !== 0) {
      y &= 0x80000000;
      fpst.flags |= IDC;
    }
  }
  const a = d32(x);
  const b = d32(y);
  if (a === 0 && b === 0) return op & 1 ? x | y : x & y;
  if (op & 1) return a < b ? x : y;
  return a > b ? x : y;
}

export function maxmin64(xl: number, xh: number, yl: number, yh: number, fpcr: number, op: number): number {
  if (isNaN64(xl, xh) || isNaN64(yl, yh)) return r64(sMaxMin(FD, b64(xl, xh), b64(yl, yh), fpcr, op));
  if (fpcr & FPCR_FZ) {
    if ((xh & 0x7ff00000) === 0 && ((xh & 0xfffff) | xl) !== 0) {
      xh &= 0x80000000;
      xl = 0;
      fpst.flags |= IDC;
    }
    if ((yh & 0x7ff00000) === 0 && ((yh & 0xfffff) | yl) !== 0) {
      yh &= 0x80000000;
      yl = 0;
      fpst.flags |= IDC;
    }
  }
  const a = d64(xl, xh);
  const b = d64(yl, yh);
  let first: boolean;
  if (a === 0 && b === 0) {
    fpst.hi = op & 1 ? xh | yh : xh & yh;
    return 0;
  }
  if (op & 1) first = a < b;
  else first = a > b;
  fpst.hi = first ? xh : yh;
  return first ? xl : yl;
}

const isNaN32 = (x: number) => (x & 0x7fffffff) > 0x7f800000;
function isNaN64(lo: number, hi: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

// ---- compare --------------------------------------------------------------------------------------------

/** FPCompare: NZCV. `signal`: FCMPE (quiet NaNs raise IOC too). */
export function cmp32(x: number, y: number, fpcr: number, signal: boolean): number {
  const a = val32(x, fpcr);
  const b = val32(y, fpcr);
  const xn = isNaN32(x);
  const yn = isNaN32(y);
  if (xn || yn) {
    if (signal || (xn && (x & 0x400000) === 0) || (yn && (y & 0x400000) === 0)) fpst.flags |= IOC;
    return 0b0011;
  }
  return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
}

export function cmp64(xl: number, xh: number, yl: number, yh: number, fpcr: number, signal: boolean): number {
  const a = val64(xl, xh, fpcr);
  const b = val64(yl, yh, fpcr);
  const xn = isNaN64(xl, xh);
  const yn = isNaN64(yl, yh);
  if (xn || yn) {
    if (signal || (xn && (xh & 0x80000) === 0) || (yn && (yh & 0x80000) === 0)) fpst.flags |= IOC;
    return 0b0011;
  }
  return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
}

/** The value of a single as a double (NaN for NaNs); denormals flush to zero under FZ (IDC). */
export function val32(x: number, fpcr: number): number {
  if (fpcr & FPCR_FZ && (x & 0x7f800000) === 0 && (x & 0x7fffff) !== 0) {
    fpst.flags |= IDC;
    return 0;
  }
  return d32(x);
}
export function val64(lo: number, hi: number, fpcr: number): number {
  if (fpcr & FPCR_FZ && (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0) {
    fpst.flags |= IDC;
    return 0;
  }
  if (isNaN64(lo, hi)) return NaN;
  return d64(lo, hi);
}

// ---- rounding to integral -------------------------------------------------------------------------------

/** Rounds a finite double (or an infinity, unchanged) to an integral double; negative inputs give -0 for 0. */
export function rint(v: number, rounding: Rounding): number {
  const a = Math.abs(v);
  const f = Math.floor(a);
  const d = a - f;
  let up: boolean;
  switch (rounding) {
    case Rounding.TieEven:
      up = d > 0.5 || (d === 0.5 && f % 2 === 1);
      break;
    case Rounding.TieAway:
      up = d >= 0.5;
      break;
    case Rounding.PosInf:
      up = d > 0 && v > 0;
      break;
    case Rounding.NegInf:
      up = d > 0 && v < 0;
      break;
    default:
      up = false;
  }
  const r = up ? f + 1 : f;
  return v < 0 ? -r : r;
}

function nan32(x: number, fpcr: number): number {
  if ((x & 0x400000) === 0) {
    fpst.flags |= IOC;
    x |= 0x400000;
  }
  return fpcr & FPCR_DN ? 0x7fc00000 : x;
}
function nan64(lo: number, hi: number, fpcr: number): number {
  if ((hi & 0x80000) === 0) {
    fpst.flags |= IOC;
    hi |= 0x80000;
  }
  if (fpcr & FPCR_DN) {
    fpst.hi = 0x7ff80000;
    return 0;
  }
  fpst.hi = hi;
  return lo;
}

/** FPRoundInt (FRINT*): `exact` = FRINTX (IXC when inexact). */
export function rint32(x: number, fpcr: number, rounding: Rounding, exact: boolean): number {
  const e = (x >>> 23) & 0xff;
  if (e === 0xff) return x & 0x7fffff ? nan32(x, fpcr) : x;
  if (e >= 150) return x;
  const v = val32(x, fpcr);
  if (v === 0) return x & 0x80000000;
  const r = rint(v, rounding);
  if (exact && r !== v) fpst.flags |= IXC;
  return o32(r);
}

export function rint64(xl: number, xh: number, fpcr: number, rounding: Rounding, exact: boolean): number {
  const e = (xh >>> 20) & 0x7ff;
  if (e === 0x7ff) {
    if (((xh & 0xfffff) | xl) !== 0) return nan64(xl, xh, fpcr);
    fpst.hi = xh;
    return xl;
  }
  if (e >= 1075) {
    fpst.hi = xh;
    return xl;
  }
  const v = val64(xl, xh, fpcr);
  if (v === 0) {
    fpst.hi = xh & 0x80000000;
    return 0;
  }
  const r = rint(v, rounding);
  if (exact && r !== v) fpst.flags |= IXC;
  return o64(r);
}

// ---- conversions ----------------------------------------------------------------------------------------

/** FPToFixed of the value v (a double from val32/val64; NaN for NaNs): the low word, high word in fpst.hi. */
export function toFixed(v: number, fbits: number, unsigned: boolean, is64: boolean, rounding: Rounding): number {
  fpst.hi = 0;
  if (v !== v) {
    fpst.flags |= IOC;
    return 0;
  }
  const s = fbits ? v * 2 ** fbits : v;
  const r = rint(s, rounding);
  if (!is64) {
    const lo = unsigned ? 0 : -2147483648;
    const hi = unsigned ? 4294967295 : 2147483647;
    if (r > hi || r < lo) {
      fpst.flags |= IOC;
      return r > hi ? hi | 0 : lo | 0;
    }
    if (r !== s) fpst.flags |= IXC;
    return r | 0;
  }
  if (unsigned) {
    if (r >= 18446744073709551616 || r < 0) {
      fpst.flags |= IOC;
      fpst.hi = r < 0 ? 0 : -1;
      return r < 0 ? 0 : -1;
    }
  } else if (r >= 9223372036854775808 || r < -9223372036854775808) {
    fpst.flags |= IOC;
    fpst.hi = r < 0 ? 0x80000000 | 0 : 0x7fffffff;
    return r < 0 ? 0 : -1;
  }
  if (r !== s) fpst.flags |= IXC;
  const hi = Math.floor(r / 4294967296);
  fpst.hi = hi | 0;
  return (r - hi * 4294967296) | 0;
}

function fixedBig(lo: number, hi: number, is64: boolean, unsigned: boolean): bigint {
  if (!is64) return unsigned ? BigInt(lo >>> 0) : BigInt(lo | 0);
  return unsigned ? b64(lo, hi) : BigInt.asIntN(64, b64(lo, hi));
}

/** The integer as a double s with the rounding error err (only 64-bit integers can be inexact). */
let intErr = 0;
function intValue(lo: number, hi: number, is64: boolean, unsigned: boolean): number {
  intErr = 0;
  if (!is64) return unsigned ? lo >>> 0 : lo | 0;
  const big = (unsigned ? hi >>> 0 : hi | 0) * 4294967296;
  const l = lo >>> 0;
  const s = big + l;
  intErr = twoSumErr(big, l, s);
  return s;
}

/** FixedToFP to single precision (SCVTF/UCVTF). */
export function fixedToF32(lo: number, hi: number, is64: boolean, unsigned: boolean, fbits: number, fpcr: number): number {
  if ((fpcr & RM) === 0) {
    const sc = 2 ** -fbits;
    const s = intValue(lo, hi, is64, unsigned) * sc;
    const r = froundExact(s, intErr * sc);
    if (intErr !== 0 || r !== s) fpst.flags |= IXC;
    return o32(r);
  }
  return r32(sFixedToFP(FS, fixedBig(lo, hi, is64, unsigned), fbits, fpcr, rmode(fpcr)));
}

export function fixedToF64(lo: number, hi: number, is64: boolean, unsigned: boolean, fbits: number, fpcr: number): number {
  if ((fpcr & RM) === 0) {
    const s = intValue(lo, hi, is64, unsigned) * 2 ** -fbits;
    if (intErr !== 0) fpst.flags |= IXC;
    return o64(s);
  }
  return r64(sFixedToFP(FD, fixedBig(lo, hi, is64, unsigned), fbits, fpcr, rmode(fpcr)));
}

/** FCVT between precisions: size 0 = single, 1 = double, 3 = half. Input (lo, hi); result lo (hi in fpst.hi). */
export function convert(from: number, to: number, lo: number, hi: number, fpcr: number, rounding: Rounding = rmode(fpcr)): number {
  if (rounding === Rounding.TieEven) {
    if (from === 0 && to === 1) {
      const e = (lo >>> 23) & 0xff;
      if ((e !== 0 && e !== 0xff) || (lo & 0x7fffffff) === 0 || (e === 0 && (fpcr & FPCR_FZ) === 0)) return o64(d32(lo));
    } else if (from === 1 && to === 0 && nz64(lo, hi)) {
      const v = d64(lo, hi);
      const r = Math.fround(v);
      const ar = Math.abs(r);
      if ((ar > MIN32 && ar < Infinity) || v === 0) {
        if (r !== v) fpst.flags |= IXC;
        fpst.hi = 0;
        return o32(r);
      }
    }
  }
  const f: Fmt = from === 0 ? FS : from === 1 ? FD : FH;
  const t: Fmt = to === 0 ? FS : to === 1 ? FD : FH;
  const r = sConvert(f, t, from === 1 ? b64(lo, hi) : b32(lo), fpcr, rounding);
  if (to === 1) return r64(r);
  fpst.hi = 0;
  return r32(r);
}

export { FPCR_DN };

// ---- reciprocal steps and estimates (exact path only) ------------------------------------------------------

/** FRECPS (rsqrt = false) / FRSQRTS. */
export function recipStep32(x: number, y: number, fpcr: number, rsqrt: boolean): number {
  return r32(sRecipStep(FS, b32(x), b32(y), fpcr, rsqrt));
}
export function recipStep64(xl: number, xh: number, yl: number, yh: number, fpcr: number, rsqrt: boolean): number {
  return r64(sRecipStep(FD, b64(xl, xh), b64(yl, yh), fpcr, rsqrt));
}
/** kind: 0 FRECPE, 1 FRSQRTE, 2 FRECPX. */
export function estimate32(x: number, fpcr: number, kind: number): number {
  const f = kind === 0 ? sRecipEstimate : kind === 1 ? sRSqrtEstimate : sRecpX;
  return r32(f(FS, b32(x), fpcr));
}
export function estimate64(xl: number, xh: number, fpcr: number, kind: number): number {
  const f = kind === 0 ? sRecipEstimate : kind === 1 ? sRSqrtEstimate : sRecpX;
  return r64(f(FD, b64(xl, xh), fpcr));
}

// The exact soft-float core: the Arm ARM's FP pseudocode (FPUnpack, FPProcessNaN(s), FPRound, FPAdd, FPMul,
// FPDiv, FPSqrt, FPMulAdd, FPConvert, FixedToFP) over half, single and double precision, on BigInt bit patterns.
//
// Design: this module is the *slow path* and the reference. Values are unpacked to (sign, integer significand m,
// exponent e) with value = m * 2^e, operations are done exactly on BigInt integers (add, multiply, fused
// multiply-add), or to enough bits plus a sticky bit (divide, square root), and the exact value is rounded once
// by fpRound, which follows the pseudocode line by line: flush-to-zero of tiny results before rounding (UFC only),
// tininess detected before rounding (UFC when tiny and inexact), the four FPCR rounding modes (plus ties-away and
// round-to-odd), overflow to infinity or the largest normal by rounding mode (OFC + IXC), AHP's alternative half
// precision. The fast paths in ./ops.ts compute in JS doubles when the result is certainly the same (round to
// nearest even, normal operands and results, inexactness found with error-free transformations) and call here
// otherwise; BigInt is only used on this path.
//
// Exception flags accumulate in fpst.flags (FPSR bit positions); executors clear it, call, and OR it into FPSR.

export const IOC = 1;
export const DZC = 2;
export const OFC = 4;
export const UFC = 8;
export const IXC = 16;
export const IDC = 128;

export const FPCR_AHP = 1 << 26;
export const FPCR_DN = 1 << 25;
export const FPCR_FZ = 1 << 24;

/** FPRounding: values 0-3 are FPCR.RMode's encoding. */
export const enum Rounding {
  TieEven = 0,
  PosInf = 1,
  NegInf = 2,
  Zero = 3,
  TieAway = 4,
  Odd = 5,
}

/** Flags raised by the last operations, and the high word of a double result. */
export const fpst = { flags: 0, hi: 0 };

export interface Fmt {
  readonly N: number;
  readonly E: number;
  readonly F: number;
  readonly minExp: number;
  readonly bias: number;
  /** 2^E - 1 */
  readonly expMax: number;
  readonly fb: bigint;
  readonly signBit: bigint;
  readonly fracMask: bigint;
  readonly qbit: bigint;
}

function fmt(N: number, E: number, F: number): Fmt {
  const bias = (1 << (E - 1)) - 1;
  return {
    N,
    E,
    F,
    bias,
    minExp: 1 - bias,
    expMax: (1 << E) - 1,
    fb: BigInt(F),
    signBit: 1n << BigInt(N - 1),
    fracMask: (1n << BigInt(F)) - 1n,
    qbit: 1n << BigInt(F - 1),
  };
}

export const FH = fmt(16, 5, 10);
export const FS = fmt(32, 8, 23);
export const FD = fmt(64, 11, 52);

export const enum T {
  Nonzero,
  Zero,
  Inf,
  QNaN,
  SNaN,
}

export interface Unp {
  t: T;
  s: number;
  /** Significand (0 for zeros, infinities and NaNs). */
  m: bigint;
  e: number;
}

/** FPUnpack: denormals flush to zero under FPCR.FZ (IDC), except half precision (no FZ16 in ARMv8.0). With
 * `ahp` a half-precision input is the alternative format (no infinities or NaNs). */
export function unpack(f: Fmt, x: bigint, fpcr: number, ahp = false): Unp {
  const s = Number(x >> BigInt(f.N - 1)) & 1;
  const exp = Number((x >> f.fb) & BigInt(f.expMax));
  const frac = x & f.fracMask;
  if (exp === 0) {
    if (frac === 0n) return { t: T.Zero, s, m: 0n, e: 0 };
    if (f.N !== 16 && fpcr & FPCR_FZ) {
      fpst.flags |= IDC;
      return { t: T.Zero, s, m: 0n, e: 0 };
    }
    return { t: T.Nonzero, s, m: frac, e: f.minExp - f.F };
  }
  if (exp === f.expMax && !ahp) {
    if (frac === 0n) return { t: T.Inf, s, m: 0n, e: 0 };
    return { t: frac & f.qbit ? T.QNaN : T.SNaN, s, m: 0n, e: 0 };
  }
  return { t: T.Nonzero, s, m: frac | (1n << f.fb), e: exp - f.bias - f.F };
}

const isNaN_ = (t: T) => t === T.QNaN || t === T.SNaN;

export function defaultNaN(f: Fmt): bigint {
  return (BigInt(f.expMax) << f.fb) | f.qbit;
}
export function fpZero(f: Fmt, s: number): bigint {
  return s ? f.signBit : 0n;
}
export function fpInf(f: Fmt, s: number): bigint {
  return (s ? f.signBit : 0n) | (BigInt(f.expMax) << f.fb);
}
export function fpMaxNormal(f: Fmt, s: number): bigint {
  return (s ? f.signBit : 0n) | (BigInt(f.expMax - 1) << f.fb) | f.fracMask;
}

/** FPProcessNaN: a signalling NaN becomes quiet (IOC); FPCR.DN gives the default NaN. */
export function processNaN(f: Fmt, t: T, x: bigint, fpcr: number): bigint {
  let r = x;
  if (t === T.SNaN) {
    r |= f.qbit;
    fpst.flags |= IOC;
  }
  return fpcr & FPCR_DN ? defaultNaN(f) : r;
}

/** FPProcessNaNs: signalling NaNs first (operand order), then quiet ones; undefined when neither is a NaN. */
export function processNaNs(f: Fmt, a: Unp, b: Unp, x: bigint, y: bigint, fpcr: number): bigint | undefined {
  if (a.t === T.SNaN) return processNaN(f, a.t, x, fpcr);
  if (b.t === T.SNaN) return processNaN(f, b.t, y, fpcr);
  if (a.t === T.QNaN) return processNaN(f, a.t, x, fpcr);
  if (b.t === T.QNaN) return processNaN(f, b.t, y, fpcr);
  return undefined;
}

export function processNaNs3(f: Fmt, a: Unp, b: Unp, c: Unp, x: bigint, y: bigint, z: bigint, fpcr: number): bigint | undefined {
  if (a.t === T.SNaN) return processNaN(f, a.t, x, fpcr);
  if (b.t === T.SNaN) return processNaN(f, b.t, y, fpcr);
  if (c.t === T.SNaN) return processNaN(f, c.t, z, fpcr);
  if (a.t === T.QNaN) return processNaN(f, a.t, x, fpcr);
  if (b.t === T.QNaN) return processNaN(f, b.t, y, fpcr);
  if (c.t === T.QNaN) return processNaN(f, c.t, z, fpcr);
  return undefined;
}

export function bitLength(m: bigint): number {
  // m > 0
  let n = 0;
  let x = m;
  while (x >= 0x100000000n) {
    x >>= 32n;
    n += 32;
  }
  return n + (32 - Math.clz32(Number(x)));
}

/** FPRound of the nonzero value (-1)^s * m * 2^e (m > 0) to format f with the given rounding. */
export function fpRound(f: Fmt, s: number, m: bigint, e: number, fpcr: number, rounding: Rounding): bigint {
  const exponent = e + bitLength(m) - 1;
  const sign = s ? f.signBit : 0n;
  if (f.N !== 16 && fpcr & FPCR_FZ && exponent < f.minExp) {
    fpst.flags |= UFC;
    return sign;
  }
  let biased = Math.max(exponent - f.minExp + 1, 0);
  const sh = (biased === 0 ? f.minExp : exponent) - f.F - e; // bits below the result's last place
  let intMant: bigint;
  // error: 0 none, 1 below half, 2 exactly half, 3 above half
  let error = 0;
  if (sh <= 0) intMant = m << BigInt(-sh);
  else {
    const b = BigInt(sh);
    intMant = m >> b;
    const rem = m & ((1n << b) - 1n);
    const half = 1n << (b - 1n);
    error = rem === 0n ? 0 : rem < half ? 1 : rem === half ? 2 : 3;
  }
  if (biased === 0 && error !== 0) fpst.flags |= UFC;
  let up = false;
  let overflowToInf = false;
  switch (rounding) {
    case Rounding.TieEven:
      up = error === 3 || (error === 2 && (intMant & 1n) === 1n);
      overflowToInf = true;
      break;
    case Rounding.PosInf:
      up = error !== 0 && s === 0;
      overflowToInf = s === 0;
      break;
    case Rounding.NegInf:
      up = error !== 0 && s === 1;
      overflowToInf = s === 1;
      break;
    case Rounding.TieAway:
      up = error >= 2;
      overflowToInf = true;
      break;
    default:
      break;
  }
  if (up) {
    intMant += 1n;
    if (intMant === 1n << f.fb) biased = 1;
    if (intMant === 1n << (f.fb + 1n)) {
      biased += 1;
      intMant >>= 1n;
    }
  }
  if (error !== 0 && rounding === Rounding.Odd) intMant |= 1n;
  let inexact = error !== 0;
  let result: bigint;
  if (f.N !== 16 || !(fpcr & FPCR_AHP)) {
    if (biased >= f.expMax) {
      result = overflowToInf ? fpInf(f, s) : fpMaxNormal(f, s);
      fpst.flags |= OFC;
      inexact = true;
    } else result = sign | (BigInt(biased) << f.fb) | (intMant & f.fracMask);
  } else if (biased >= f.expMax + 1) {
    result = sign | (f.signBit - 1n);
    fpst.flags |= IOC;
    inexact = false;
  } else result = sign | (BigInt(biased) << f.fb) | (intMant & f.fracMask);
  if (inexact) fpst.flags |= IXC;
  return result;
}

/** Rounds an exact signed value m * 2^e; an exact zero is +0 (-0 when rounding towards minus infinity). */
function roundExact(f: Fmt, m: bigint, e: number, fpcr: number, rounding: Rounding): bigint {
  if (m === 0n) return fpZero(f, rounding === Rounding.NegInf ? 1 : 0);
  return m < 0n ? fpRound(f, 1, -m, e, fpcr, rounding) : fpRound(f, 0, m, e, fpcr, rounding);
}

export const rmode = (fpcr: number): Rounding => (fpcr >>> 22) & 3;

/** FPAdd / FPSub (negate = 1). */
export function sAdd(f: Fmt, x: bigint, y: bigint, fpcr: number, negate: number): bigint {
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const n = processNaNs(f, a, b, x, y, fpcr);
  if (n !== undefined) return n;
  const bs = b.s ^ negate;
  if (a.t === T.Inf && b.t === T.Inf && a.s !== bs) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if ((a.t === T.Inf && a.s === 0) || (b.t === T.Inf && bs === 0)) return fpInf(f, 0);
  if ((a.t === T.Inf && a.s === 1) || (b.t === T.Inf && bs === 1)) return fpInf(f, 1);
  if (a.t === T.Zero && b.t === T.Zero && a.s === bs) return fpZero(f, a.s);
  return addExact(f, a.s, a.m, a.e, bs, b.m, b.e, fpcr);
}

function addExact(f: Fmt, s1: number, m1: bigint, e1: number, s2: number, m2: bigint, e2: number, fpcr: number, scale = 0): bigint {
  if (m1 === 0n) e1 = e2;
  if (m2 === 0n) e2 = e1;
  const e = Math.min(e1, e2);
  const v1 = m1 << BigInt(e1 - e);
  const v2 = m2 << BigInt(e2 - e);
  return roundExact(f, (s1 ? -v1 : v1) + (s2 ? -v2 : v2), e + scale, fpcr, rmode(fpcr));
}

export function sMul(f: Fmt, x: bigint, y: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const n = processNaNs(f, a, b, x, y, fpcr);
  if (n !== undefined) return n;
  const s = a.s ^ b.s;
  if ((a.t === T.Inf && b.t === T.Zero) || (a.t === T.Zero && b.t === T.Inf)) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if (a.t === T.Inf || b.t === T.Inf) return fpInf(f, s);
  if (a.t === T.Zero || b.t === T.Zero) return fpZero(f, s);
  return fpRound(f, s, a.m * b.m, a.e + b.e, fpcr, rmode(fpcr));
}

export function sDiv(f: Fmt, x: bigint, y: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const n = processNaNs(f, a, b, x, y, fpcr);
  if (n !== undefined) return n;
  const s = a.s ^ b.s;
  if ((a.t === T.Inf && b.t === T.Inf) || (a.t === T.Zero && b.t === T.Zero)) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if (a.t === T.Inf || b.t === T.Zero) {
    if (a.t !== T.Inf) fpst.flags |= DZC;
    return fpInf(f, s);
  }
  if (a.t === T.Zero || b.t === T.Inf) return fpZero(f, s);
  const k = f.F + 4 + bitLength(b.m) - bitLength(a.m) + 1;
  const num = a.m << BigInt(k);
  const q = num / b.m;
  const sticky = num % b.m === 0n ? 0n : 1n;
  return fpRound(f, s, (q << 1n) | sticky, a.e - b.e - k - 1, fpcr, rmode(fpcr));
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sSqrt(f: Fmt, x: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  if (isNaN_(a.t)) return processNaN(f, a.t, x, fpcr);
  if (a.t === T.Zero) return fpZero(f, a.s);
  if (a.t === T.Inf && a.s === 0) return fpInf(f, 0);
  if (a.s === 1) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  let m = a.m;
  let e = a.e;
  if (e & 1) {
    m <<= 1n;
    e -= 1;
  }
  const k = f.F + 4;
  const big = m << BigInt(2 * k);
  const r = isqrt(big);
  const sticky = r * r === big ? 0n : 1n;
  return fpRound(f, 0, (r << 1n) | sticky, e / 2 - k - 1, fpcr, rmode(fpcr));
}

/** FPMulAdd(addend, op1, op2): addend + op1 * op2 with one rounding (negations are the caller's, on the bits). */
export function sMulAdd(f: Fmt, z: bigint, x: bigint, y: bigint, fpcr: number): bigint {
  const c = unpack(f, z, fpcr);
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const infZero = (a.t === T.Inf && b.t === T.Zero) || (a.t === T.Zero && b.t === T.Inf);
  const n = processNaNs3(f, c, a, b, z, x, y, fpcr);
  if (c.t === T.QNaN && infZero) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if (n !== undefined) return n;
  const sP = a.s ^ b.s;
  const infP = a.t === T.Inf || b.t === T.Inf;
  const zeroP = a.t === T.Zero || b.t === T.Zero;
  if (infZero || (c.t === T.Inf && infP && c.s !== sP)) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if ((c.t === T.Inf && c.s === 0) || (infP && sP === 0)) return fpInf(f, 0);
  if ((c.t === T.Inf && c.s === 1) || (infP && sP === 1)) return fpInf(f, 1);
  if (c.t === T.Zero && zeroP && c.s === sP) return fpZero(f, c.s);
  return addExact(f, c.s, c.m, c.e, sP, zeroP ? 0n : a.m * b.m, a.e + b.e, fpcr);
}

/** FPConvertNaN: keeps the sign and the top of the payload, sets the quiet bit. */
function convertNaN(from: Fmt, to: Fmt, x: bigint): bigint {
  const s = (x >> BigInt(from.N - 1)) & 1n;
  const payload = x & (from.qbit - 1n); // frac<F-2:0>
  const shift = (to.F - 1) - (from.F - 1);
  const p = shift >= 0 ? payload << BigInt(shift) : payload >> BigInt(-shift);
  return (s << BigInt(to.N - 1)) | (BigInt(to.expMax) << to.fb) | to.qbit | p;
}

/** FPConvert (FCVT between precisions). AHP applies to half-precision inputs and outputs. */
export function sConvert(from: Fmt, to: Fmt, x: bigint, fpcr: number, rounding: Rounding): bigint {
  const ahpIn = from.N === 16 && (fpcr & FPCR_AHP) !== 0;
  const a = unpack(from, x, fpcr, ahpIn);
  const altHp = to.N === 16 && (fpcr & FPCR_AHP) !== 0;
  if (isNaN_(a.t)) {
    let r: bigint;
    if (altHp) r = fpZero(to, a.s);
    else if (fpcr & FPCR_DN) r = defaultNaN(to);
    else r = convertNaN(from, to, x);
    if (a.t === T.SNaN || altHp) fpst.flags |= IOC;
    return r;
  }
  if (a.t === T.Inf) {
    if (altHp) {
      fpst.flags |= IOC;
      return (a.s ? to.signBit : 0n) | (to.signBit - 1n);
    }
    return fpInf(to, a.s);
  }
  if (a.t === T.Zero) return fpZero(to, a.s);
  return fpRound(to, a.s, a.m, a.e, fpcr, rounding);
}

/** FixedToFP: the integer v (already signed or unsigned as a BigInt) / 2^fbits. */
export function sFixedToFP(f: Fmt, v: bigint, fbits: number, fpcr: number, rounding: Rounding): bigint {
  if (v === 0n) return 0n;
  return v < 0n ? fpRound(f, 1, -v, -fbits, fpcr, rounding) : fpRound(f, 0, v, -fbits, fpcr, rounding);
}

/** The value of a non-NaN unpacked operand as a JS double (exact for every format here). */
function valueOf(u: Unp): number {
  if (u.t === T.Inf) return u.s ? -Infinity : Infinity;
  if (u.t === T.Zero) return 0;
  const v = Number(u.m) * 2 ** u.e;
  return u.s ? -v : v;
}

/** FPMax / FPMin / FPMaxNum / FPMinNum (op 0-3). */
export function sMaxMin(f: Fmt, x: bigint, y: bigint, fpcr: number, op: number): bigint {
  if (op >= 2) {
    const a = unpack(f, x, fpcr);
    const b = unpack(f, y, fpcr);
    const inf = fpInf(f, op === 2 ? 1 : 0);
    if (a.t === T.QNaN && b.t !== T.QNaN) x = inf;
    else if (a.t !== T.QNaN && b.t === T.QNaN) y = inf;
  }
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const n = processNaNs(f, a, b, x, y, fpcr);
  if (n !== undefined) return n;
  const va = valueOf(a);
  const vb = valueOf(b);
  const first = op & 1 ? va < vb : va > vb;
  const r = first ? a : b;
  if (r.t === T.Inf) return fpInf(f, r.s);
  if (r.t === T.Zero) return fpZero(f, op & 1 ? a.s | b.s : a.s & b.s);
  return first ? x : y;
}

/** FPRecipStepFused (FRECPS: 2 - x*y) and FPRSqrtStepFused (FRSQRTS: (3 - x*y) / 2), one rounding. */
export function sRecipStep(f: Fmt, x: bigint, y: bigint, fpcr: number, rsqrt: boolean): bigint {
  x ^= f.signBit; // FPNeg(op1)
  const a = unpack(f, x, fpcr);
  const b = unpack(f, y, fpcr);
  const n = processNaNs(f, a, b, x, y, fpcr);
  if (n !== undefined) return n;
  if ((a.t === T.Inf && b.t === T.Zero) || (a.t === T.Zero && b.t === T.Inf)) return rsqrt ? (BigInt(f.bias) << f.fb) | f.qbit : BigInt(f.bias + 1) << f.fb; // 1.5 or 2.0
  if (a.t === T.Inf || b.t === T.Inf) return fpInf(f, a.s ^ b.s);
  const zeroP = a.t === T.Zero || b.t === T.Zero;
  return addExact(f, 0, rsqrt ? 3n : 2n, 0, a.s ^ b.s, zeroP ? 0n : a.m * b.m, a.e + b.e, fpcr, rsqrt ? -1 : 0);
}

function recipEstimate(a: number): number {
  a = a * 2 + 1;
  const b = Math.floor(2 ** 19 / a);
  return (b + 1) >> 1;
}

function recipSqrtEstimate(a: number): number {
  if (a < 256) a = a * 2 + 1;
  else {
    a = (a >> 1) << 1;
    a = (a + 1) * 2;
  }
  let b = 512;
  while (a * (b + 1) * (b + 1) < 2 ** 28) b++;
  return (b + 1) >> 1;
}

/** The operand's fraction as 52 bits and its biased exponent field. */
function frac52(f: Fmt, x: bigint): [bigint, number] {
  return [(x & f.fracMask) << BigInt(52 - f.F), Number((x >> f.fb) & BigInt(f.expMax))];
}
const M52 = (1n << 52n) - 1n;
const B51 = 1n << 51n;

/** FPRecipEstimate (FRECPE), ARMv8.0 precision. */
export function sRecipEstimate(f: Fmt, x: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  if (isNaN_(a.t)) return processNaN(f, a.t, x, fpcr);
  if (a.t === T.Inf) return fpZero(f, a.s);
  if (a.t === T.Zero) {
    fpst.flags |= DZC;
    return fpInf(f, a.s);
  }
  const top = a.e + bitLength(a.m) - 1; // |value| in [2^top, 2^(top+1))
  if (top < -(f.bias + 1)) {
    const rm = rmode(fpcr);
    const toInf = rm === Rounding.TieEven || (rm === Rounding.PosInf && a.s === 0) || (rm === Rounding.NegInf && a.s === 1);
    fpst.flags |= OFC | IXC;
    return toInf ? fpInf(f, a.s) : fpMaxNormal(f, a.s);
  }
  if (fpcr & FPCR_FZ && f.N !== 16 && top >= f.bias - 1) {
    fpst.flags |= UFC;
    return fpZero(f, a.s);
  }
  let [fraction, exp] = frac52(f, x);
  if (exp === 0) {
    if ((fraction & B51) === 0n) {
      exp = -1;
      fraction = (fraction << 2n) & M52;
    } else fraction = (fraction << 1n) & M52;
  }
  const scaled = 256 + Number(fraction >> 44n);
  let resultExp = 2 * f.bias - 1 - exp;
  const est = recipEstimate(scaled);
  fraction = BigInt(est & 0xff) << 44n;
  if (resultExp === 0) fraction = B51 | (fraction >> 1n);
  else if (resultExp === -1) {
    fraction = (1n << 50n) | (fraction >> 2n);
    resultExp = 0;
  }
  return (a.s ? f.signBit : 0n) | (BigInt(resultExp) << f.fb) | (fraction >> BigInt(52 - f.F));
}

/** FPRSqrtEstimate (FRSQRTE), ARMv8.0 precision. */
export function sRSqrtEstimate(f: Fmt, x: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  if (isNaN_(a.t)) return processNaN(f, a.t, x, fpcr);
  if (a.t === T.Zero) {
    fpst.flags |= DZC;
    return fpInf(f, a.s);
  }
  if (a.s === 1) {
    fpst.flags |= IOC;
    return defaultNaN(f);
  }
  if (a.t === T.Inf) return 0n;
  let [fraction, exp] = frac52(f, x);
  if (exp === 0) {
    while ((fraction & B51) === 0n) {
      fraction = (fraction << 1n) & M52;
      exp--;
    }
    fraction = (fraction << 1n) & M52;
  }
  const scaled = (exp & 1) === 0 ? 256 + Number(fraction >> 44n) : 128 + Number(fraction >> 45n);
  const resultExp = Math.floor((3 * f.bias - 1 - exp) / 2);
  const est = recipSqrtEstimate(scaled);
  return (BigInt(resultExp) << f.fb) | (BigInt(est & 0xff) << BigInt(f.F - 8));
}

/** FPRecpX (FRECPX): the sign, the inverted exponent (max normal exponent for zeros and denormals), zero fraction. */
export function sRecpX(f: Fmt, x: bigint, fpcr: number): bigint {
  const a = unpack(f, x, fpcr);
  if (isNaN_(a.t)) return processNaN(f, a.t, x, fpcr);
  const exp = Number((x >> f.fb) & BigInt(f.expMax));
  const sign = a.s ? f.signBit : 0n;
  if (exp === 0) return sign | (BigInt(f.expMax - 1) << f.fb);
  return sign | (BigInt(~exp & f.expMax) << f.fb);
}

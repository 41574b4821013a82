// AdvSIMD floating point, single and double precision lanes: the three-same class (FADD FSUB FMUL FDIV FMULX
// FMLA FMLS FABD FMAX FMIN FMAXNM FMINNM, the pairwise FADDP FMAXP FMINP FMAXNMP FMINNMP, FCMEQ FCMGE FCMGT
// FACGE FACGT) in vector and scalar forms, the scalar pairwise class, and the two-register miscellaneous class
// (FABS FNEG FSQRT FRINT*, FCMxx with zero, FCVT[NPMZA][SU], SCVTF, UCVTF, FCVTL, FCVTN, FCVTXN), vector and
// scalar forms. Lane arithmetic is the scalar core (../fp/ops.ts); FPSR flags are the OR over lanes.
//
// Results go to a temporary first (Vd may be a source) and 64-bit vectors and scalars zero the rest of Vd
// (FCVTN2/FCVTXN2/ write the upper half and keep the lower).

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { Rounding, fpst } from "../fp/softfloat.js";
import {
  add32,
  add64,
  cmp32,
  cmp64,
  convert,
  estimate32,
  estimate64,
  recipStep32,
  recipStep64,
  fixedToF32,
  fixedToF64,
  fma32,
  fma64,
  maxmin32,
  mul32,
  mul64,
  rint32,
  rint64,
  sqrt32,
  sqrt64,
  toFixed,
  val32,
  val64,
} from "../fp/ops.js";
import { op2Double, op2Single } from "./fp-common.js";

const SIGN = 0x80000000 | 0;

type B32 = (a: number, b: number, acc: number, fpcr: number) => number;
type B64 = (al: number, ah: number, bl: number, bh: number, cl: number, ch: number, fpcr: number) => number;

const EQ = (z: number) => z === 0b0110;
const GE = (z: number) => z === 0b0110 || z === 0b0010;
const GT = (z: number) => z === 0b0010;
const LT = (z: number) => z === 0b1000;
const LE = (z: number) => z === 0b0110 || z === 0b1000;

function isInfZero32(a: number, b: number, fpcr: number): boolean {
  if ((a & 0x7fffffff) > 0x7f800000 || (b & 0x7fffffff) > 0x7f800000) return false;
  const x = val32(a, fpcr);
  const y = val32(b, fpcr);
  return (Math.abs(x) === Infinity && y === 0) || (x === 0 && Math.abs(y) === Infinity);
}
function isInfZero64(al: number, ah: number, bl: number, bh: number, fpcr: number): boolean {
  const x = val64(al, ah, fpcr);
  const y = val64(bl, bh, fpcr);
  return (Math.abs(x) === Infinity && y === 0) || (x === 0 && Math.abs(y) === Infinity);
}

function cmpOp32(test: (z: number) => boolean, signal: boolean, abs: boolean): B32 {
  const m = abs ? 0x7fffffff : -1;
  return (a, b, _c, fpcr) => (test(cmp32(a & m, b & m, fpcr, signal)) ? -1 : 0);
}
function cmpOp64(test: (z: number) => boolean, signal: boolean, abs: boolean): B64 {
  const m = abs ? 0x7fffffff : -1;
  return (al, ah, bl, bh, _cl, _ch, fpcr) => {
    const r = test(cmp64(al, ah & m, bl, bh & m, fpcr, signal)) ? -1 : 0;
    fpst.hi = r;
    return r;
  };
}

/** Three-same key: u:a:opcode<2:0> (opcode<4:3> = 11). */
const SAME_NAMES: Record<number, string> = {
  0o000: "fmaxnm",
  0o001: "fmla",
  0o002: "fadd",
  0o003: "fmulx",
  0o004: "fcmeq",
  0o006: "fmax",
  0o007: "frecps",
  0o017: "frsqrts",
  0o010: "fminnm",
  0o011: "fmls",
  0o012: "fsub",
  0o016: "fmin",
  0o100: "fmaxnmp",
  0o102: "faddp",
  0o103: "fmul",
  0o104: "fcmge",
  0o105: "facge",
  0o106: "fmaxp",
  0o107: "fdiv",
  0o110: "fminnmp",
  0o112: "fabd",
  0o114: "fcmgt",
  0o115: "facgt",
  0o116: "fminp",
};
const PAIRWISE = new Set([0o100, 0o102, 0o106, 0o110, 0o116]);
const SCALAR_SAME = new Set([0o007, 0o017, 0o003, 0o004, 0o104, 0o105, 0o112, 0o114, 0o115]);

/** The scalar dp2 opcode of a three-same key that is plain arithmetic (FMUL 0, FDIV 1, FADD 2, FSUB 3, FMAX 4...). */
const DP2: Record<number, number> = { 0o000: 6, 0o002: 2, 0o006: 4, 0o010: 7, 0o012: 3, 0o016: 5, 0o100: 6, 0o102: 2, 0o103: 0, 0o106: 4, 0o107: 1, 0o110: 7, 0o116: 5 };

function same32(key: number): B32 {
  if (DP2[key] !== undefined) {
    const op = op2Single(DP2[key]);
    return (a, b, _c, fpcr) => op(a, b, fpcr);
  }
  switch (key) {
    case 0o007:
    case 0o017:
      return (a, b, _c, fpcr) => recipStep32(a, b, fpcr, key === 0o017);
    case 0o001:
      return (a, b, c, fpcr) => fma32(c, a, b, fpcr);
    case 0o011:
      return (a, b, c, fpcr) => fma32(c, a ^ SIGN, b, fpcr);
    case 0o003:
      return (a, b, _c, fpcr) => (isInfZero32(a, b, fpcr) ? ((a ^ b) & SIGN) | 0x40000000 : mul32(a, b, fpcr));
    case 0o112:
      return (a, b, _c, fpcr) => add32(a, b, fpcr, 1) & 0x7fffffff;
    case 0o004:
      return cmpOp32(EQ, false, false);
    case 0o104:
      return cmpOp32(GE, true, false);
    case 0o105:
      return cmpOp32(GE, true, true);
    case 0o114:
      return cmpOp32(GT, true, false);
    default:
      return cmpOp32(GT, true, true); // 0o115 FACGT
  }
}

function same64(key: number): B64 {
  if (DP2[key] !== undefined) {
    const op = op2Double(DP2[key]);
    return (al, ah, bl, bh, _cl, _ch, fpcr) => op(al, ah, bl, bh, fpcr);
  }
  switch (key) {
    case 0o007:
    case 0o017:
      return (al, ah, bl, bh, _cl, _ch, fpcr) => recipStep64(al, ah, bl, bh, fpcr, key === 0o017);
    case 0o001:
      return (al, ah, bl, bh, cl, ch, fpcr) => fma64(cl, ch, al, ah, bl, bh, fpcr);
    case 0o011:
      return (al, ah, bl, bh, cl, ch, fpcr) => fma64(cl, ch, al, ah ^ SIGN, bl, bh, fpcr);
    case 0o003:
      return (al, ah, bl, bh, _cl, _ch, fpcr) => {
        if (isInfZero64(al, ah, bl, bh, fpcr)) {
          fpst.hi = ((ah ^ bh) & SIGN) | 0x40000000;
          return 0;
        }
        return mul64(al, ah, bl, bh, fpcr);
      };
    case 0o112:
      return (al, ah, bl, bh, _cl, _ch, fpcr) => {
        const lo = add64(al, ah, bl, bh, fpcr, 1);
        fpst.hi &= 0x7fffffff;
        return lo;
      };
    case 0o004:
      return cmpOp64(EQ, false, false);
    case 0o104:
      return cmpOp64(GE, true, false);
    case 0o105:
      return cmpOp64(GE, true, true);
    case 0o114:
      return cmpOp64(GT, true, false);
    default:
      return cmpOp64(GT, true, true);
  }
}

function writeResult(v: Int32Array, d: number, t: Int32Array, words: number): void {
  for (let i = 0; i < 4; i++) v[d + i] = i < words ? t[i] : 0;
}

/** Three-same (vector when scalar = false), and the scalar pairwise class (pair = true: Vn's two lanes). */
function buildSame(key: number, f: Fields, scalar: boolean, scalarPair = false): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const m = f.rm << 2;
  const dbl = f.sz === 1;
  const lanes = scalar ? 1 : dbl ? 2 : f.q ? 4 : 2;
  const words = dbl ? 2 * lanes : lanes;
  const pair = PAIRWISE.has(key) && !scalar;
  const t = new Int32Array(4);
  const src = new Int32Array(8);
  if (!dbl) {
    const op = same32(key);
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      const fpcr = c.fpcr;
      fpst.flags = 0;
      if (scalarPair) t[0] = op(v[n], v[n + 1], 0, fpcr);
      else if (pair) {
        for (let i = 0; i < words; i++) {
          src[i] = v[n + i];
          src[words + i] = v[m + i];
        }
        for (let i = 0; i < lanes; i++) t[i] = op(src[2 * i], src[2 * i + 1], 0, fpcr);
      } else for (let i = 0; i < lanes; i++) t[i] = op(v[n + i], v[m + i], v[d + i], fpcr);
      c.fpsr |= fpst.flags;
      writeResult(v, d, t, words);
    };
  }
  const op = same64(key);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    if (scalarPair) {
      t[0] = op(v[n], v[n + 1], v[n + 2], v[n + 3], 0, 0, fpcr);
      t[1] = fpst.hi;
    } else if (pair) {
      for (let i = 0; i < 4; i++) {
        src[i] = v[n + i];
        src[4 + i] = v[m + i];
      }
      for (let i = 0; i < 2; i++) {
        t[2 * i] = op(src[4 * i], src[4 * i + 1], src[4 * i + 2], src[4 * i + 3], 0, 0, fpcr);
        t[2 * i + 1] = fpst.hi;
      }
    } else
      for (let i = 0; i < lanes; i++) {
        const k = 2 * i;
        t[k] = op(v[n + k], v[n + k + 1], v[m + k], v[m + k + 1], v[d + k], v[d + k + 1], fpcr);
        t[k + 1] = fpst.hi;
      }
    c.fpsr |= fpst.flags;
    writeResult(v, d, t, words);
  };
}

const sameKey = (f: Fields) => (f.u << 6) | (f.a << 3) | f.op3;
const arr = (f: Fields) => (f.sz ? "2d" : f.q ? "4s" : "2s");
const sreg = (f: Fields, r: number) => `${f.sz ? "d" : "s"}${r}`;

// ---- two-register miscellaneous ---------------------------------------------------------------------------

type U32 = (a: number, fpcr: number) => number;
type U64 = (al: number, ah: number, fpcr: number) => number;

/** Two-reg-misc key: u:a:opcode (6 bits + 1). */
const MISC_NAMES: Record<number, string> = {
  0o030: "frintn",
  0o031: "frintm",
  0o032: "fcvtns",
  0o033: "fcvtms",
  0o034: "fcvtas",
  0o035: "scvtf",
  0o054: "fcmgt",
  0o055: "fcmeq",
  0o056: "fcmlt",
  0o057: "fabs",
  0o070: "frintp",
  0o071: "frintz",
  0o072: "fcvtps",
  0o073: "fcvtzs",
  0o130: "frinta",
  0o131: "frintx",
  0o132: "fcvtnu",
  0o133: "fcvtmu",
  0o134: "fcvtau",
  0o135: "ucvtf",
  0o154: "fcmge",
  0o155: "fcmle",
  0o157: "fneg",
  0o171: "frinti",
  0o172: "fcvtpu",
  0o173: "fcvtzu",
  0o177: "fsqrt",
  0o075: "frecpe",
  0o175: "frsqrte",
  0o077: "frecpx",
};
const ESTIMATE: Record<number, number> = { 0o075: 0, 0o175: 1, 0o077: 2 };
const SCALAR_MISC = new Set([0o075, 0o175, 0o077, 0o032, 0o033, 0o034, 0o035, 0o054, 0o055, 0o056, 0o072, 0o073, 0o132, 0o133, 0o134, 0o135, 0o154, 0o155, 0o172, 0o173]);
const RINT: Record<number, Rounding | -1> = { 0o030: Rounding.TieEven, 0o031: Rounding.NegInf, 0o070: Rounding.PosInf, 0o071: Rounding.Zero, 0o130: Rounding.TieAway, 0o131: -1, 0o171: -1 };
const CVT: Record<number, Rounding> = { 0o032: Rounding.TieEven, 0o033: Rounding.NegInf, 0o034: Rounding.TieAway, 0o072: Rounding.PosInf, 0o073: Rounding.Zero };
const ZCMP: Record<number, [(z: number) => boolean, boolean]> = { 0o054: [GT, true], 0o055: [EQ, false], 0o056: [LT, true], 0o154: [GE, true], 0o155: [LE, true] };

function misc32(key: number): U32 {
  const r = RINT[key];
  if (r !== undefined) {
    const exact = key === 0o131;
    return (a, fpcr) => rint32(a, fpcr, r === -1 ? (fpcr >>> 22) & 3 : r, exact);
  }
  const cv = CVT[key & 0o77];
  if (cv !== undefined) {
    const unsigned = key >= 0o100;
    return (a, fpcr) => toFixed(val32(a, fpcr), 0, unsigned, false, cv);
  }
  const est = ESTIMATE[key];
  if (est !== undefined) return (a, fpcr) => estimate32(a, fpcr, est);
  const z = ZCMP[key];
  if (z) return (a, fpcr) => (z[0](cmp32(a, 0, fpcr, z[1])) ? -1 : 0);
  switch (key) {
    case 0o035:
      return (a, fpcr) => fixedToF32(a, 0, false, false, 0, fpcr);
    case 0o135:
      return (a, fpcr) => fixedToF32(a, 0, false, true, 0, fpcr);
    case 0o057:
      return (a) => a & 0x7fffffff;
    case 0o157:
      return (a) => a ^ SIGN;
    default:
      return sqrt32;
  }
}

function misc64(key: number): U64 {
  const r = RINT[key];
  if (r !== undefined) {
    const exact = key === 0o131;
    return (al, ah, fpcr) => rint64(al, ah, fpcr, r === -1 ? (fpcr >>> 22) & 3 : r, exact);
  }
  const cv = CVT[key & 0o77];
  if (cv !== undefined) {
    const unsigned = key >= 0o100;
    return (al, ah, fpcr) => toFixed(val64(al, ah, fpcr), 0, unsigned, true, cv);
  }
  const est = ESTIMATE[key];
  if (est !== undefined) return (al, ah, fpcr) => estimate64(al, ah, fpcr, est);
  const z = ZCMP[key];
  if (z)
    return (al, ah, fpcr) => {
      const m = z[0](cmp64(al, ah, 0, 0, fpcr, z[1])) ? -1 : 0;
      fpst.hi = m;
      return m;
    };
  switch (key) {
    case 0o035:
      return (al, ah, fpcr) => fixedToF64(al, ah, true, false, 0, fpcr);
    case 0o135:
      return (al, ah, fpcr) => fixedToF64(al, ah, true, true, 0, fpcr);
    case 0o057:
      return (al, ah) => {
        fpst.hi = ah & 0x7fffffff;
        return al;
      };
    case 0o157:
      return (al, ah) => {
        fpst.hi = ah ^ SIGN;
        return al;
      };
    default:
      return sqrt64;
  }
}

function buildMisc(key: number, f: Fields, scalar: boolean): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const dbl = f.sz === 1;
  const lanes = scalar ? 1 : dbl ? 2 : f.q ? 4 : 2;
  const words = dbl ? 2 * lanes : lanes;
  const t = new Int32Array(4);
  if (!dbl) {
    const op = misc32(key);
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      const fpcr = c.fpcr;
      fpst.flags = 0;
      for (let i = 0; i < lanes; i++) t[i] = op(v[n + i], fpcr);
      c.fpsr |= fpst.flags;
      writeResult(v, d, t, words);
    };
  }
  const op = misc64(key);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    for (let i = 0; i < 2 * lanes; i += 2) {
      t[i] = op(v[n + i], v[n + i + 1], fpcr);
      t[i + 1] = fpst.hi;
    }
    c.fpsr |= fpst.flags;
    writeResult(v, d, t, words);
  };
}

const miscKey = (f: Fields) => (f.u << 6) | (f.a << 5) | f.op5;
const isZeroCmp = (key: number) => ZCMP[key] !== undefined;

function miscText(f: Fields, scalar: boolean): string {
  const key = miscKey(f);
  const ops = scalar ? `${sreg(f, f.rd)}, ${sreg(f, f.rn)}` : `v${f.rd}.${arr(f)}, v${f.rn}.${arr(f)}`;
  return `${MISC_NAMES[key]}\t${ops}${isZeroCmp(key) ? ", #0.0" : ""}`;
}

// ---- FCVTL, FCVTN, FCVTXN ---------------------------------------------------------------------------------

/** FCVTL(2): the lower (upper for Q = 1) half's lanes widened (H -> S for sz = 0, S -> D for sz = 1). */
function buildFcvtl(f: Fields): Exec {
  const d = f.rd << 2;
  const n = (f.rn << 2) + (f.q ? 2 : 0);
  const dbl = f.sz === 1;
  const t = new Int32Array(4);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    if (dbl)
      for (let i = 0; i < 2; i++) {
        t[2 * i] = convert(0, 1, v[n + i], 0, fpcr);
        t[2 * i + 1] = fpst.hi;
      }
    else for (let i = 0; i < 4; i++) t[i] = convert(3, 0, (v[n + (i >> 1)] >>> (16 * (i & 1))) & 0xffff, 0, fpcr);
    c.fpsr |= fpst.flags;
    writeResult(v, d, t, 4);
  };
}

/** FCVTN(2) / FCVTXN(2) (odd = round to odd), vector or scalar (FCVTXN Sd, Dn). */
function buildFcvtn(f: Fields, odd: boolean, scalar: boolean): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const dbl = f.sz === 1;
  const upper = !scalar && f.q === 1;
  const t = new Int32Array(2);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    const rounding = odd ? Rounding.Odd : (fpcr >>> 22) & 3;
    fpst.flags = 0;
    if (scalar) t[0] = convert(1, 0, v[n], v[n + 1], fpcr, rounding);
    else if (dbl) for (let i = 0; i < 2; i++) t[i] = convert(1, 0, v[n + 2 * i], v[n + 2 * i + 1], fpcr, rounding);
    else
      for (let i = 0; i < 2; i++) {
        const lo = convert(0, 3, v[n + 2 * i], 0, fpcr, rounding) & 0xffff;
        const hi = convert(0, 3, v[n + 2 * i + 1], 0, fpcr, rounding) & 0xffff;
        t[i] = lo | (hi << 16);
      }
    c.fpsr |= fpst.flags;
    if (scalar) writeResult(v, d, t, 1);
    else if (upper) {
      v[d + 2] = t[0];
      v[d + 3] = t[1];
    } else writeResult(v, d, t, 2);
  };
}

// ---- by element ---------------------------------------------------------------------------------------------

/** FMLA / FMLS / FMUL / FMULX (by element), vector and scalar: Vm (0-31 for S, M:Rm) lane index H:L (S) or H (D). */
function buildElem(f: Fields, scalar: boolean): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const dbl = f.sz === 1;
  const rm = (f.m << 4) | f.rm;
  const idx = dbl ? f.h : (f.h << 1) | f.l;
  const e = (rm << 2) + (dbl ? 2 * idx : idx);
  const key = f.opc === 1 ? 0o001 : f.opc === 5 ? 0o011 : f.u ? 0o003 : 0o103;
  const lanes = scalar ? 1 : dbl ? 2 : f.q ? 4 : 2;
  const words = dbl ? 2 * lanes : lanes;
  const t = new Int32Array(4);
  if (!dbl) {
    const op = same32(key);
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      const fpcr = c.fpcr;
      const b = v[e];
      fpst.flags = 0;
      for (let i = 0; i < lanes; i++) t[i] = op(v[n + i], b, v[d + i], fpcr);
      c.fpsr |= fpst.flags;
      writeResult(v, d, t, words);
    };
  }
  const op = same64(key);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    const bl = v[e];
    const bh = v[e + 1];
    fpst.flags = 0;
    for (let i = 0; i < 2 * lanes; i += 2) {
      t[i] = op(v[n + i], v[n + i + 1], bl, bh, v[d + i], v[d + i + 1], fpcr);
      t[i + 1] = fpst.hi;
    }
    c.fpsr |= fpst.flags;
    writeResult(v, d, t, words);
  };
}

const ELEM_NAMES: Record<number, string> = { 1: "fmla", 5: "fmls", 9: "fmul" };
function elemText(f: Fields, scalar: boolean): string {
  const name = f.u ? "fmulx" : ELEM_NAMES[f.opc];
  const idx = f.sz ? f.h : (f.h << 1) | f.l;
  const el = `v${(f.m << 4) | f.rm}.${f.sz ? "d" : "s"}[${idx}]`;
  if (scalar) return `${name}	${sreg(f, f.rd)}, ${sreg(f, f.rn)}, ${el}`;
  return `${name}	v${f.rd}.${arr(f)}, v${f.rn}.${arr(f)}, ${el}`;
}
const elemGuard = (f: Fields, scalar: boolean) =>
  (f.u === 0 ? f.opc === 1 || f.opc === 5 || f.opc === 9 : f.opc === 9) && !(f.sz === 1 && (f.l === 1 || (!scalar && f.q === 0)));

// ---- fixed-point conversions (shift by immediate) -------------------------------------------------------------

/** SCVTF / UCVTF / FCVTZS / FCVTZU (vector and scalar, #fbits): immh 01xx = S lanes, 1xxx = D lanes. */
function buildFixed(f: Fields, scalar: boolean): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const dbl = f.immh >= 8;
  const fbits = (dbl ? 128 : 64) - ((f.immh << 3) | f.immb);
  const unsigned = f.u === 1;
  const toFp = f.opcode === 0b11100;
  const lanes = scalar ? 1 : dbl ? 2 : f.q ? 4 : 2;
  const words = dbl ? 2 * lanes : lanes;
  const t = new Int32Array(4);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    if (!dbl)
      for (let i = 0; i < lanes; i++)
        t[i] = toFp ? fixedToF32(v[n + i], 0, false, unsigned, fbits, fpcr) : toFixed(val32(v[n + i], fpcr), fbits, unsigned, false, Rounding.Zero);
    else
      for (let i = 0; i < 2 * lanes; i += 2) {
        t[i] = toFp
          ? fixedToF64(v[n + i], v[n + i + 1], true, unsigned, fbits, fpcr)
          : toFixed(val64(v[n + i], v[n + i + 1], fpcr), fbits, unsigned, true, Rounding.Zero);
        t[i + 1] = fpst.hi;
      }
    c.fpsr |= fpst.flags;
    writeResult(v, d, t, words);
  };
}

function fixedText(f: Fields, scalar: boolean): string {
  const dbl = f.immh >= 8;
  const fbits = (dbl ? 128 : 64) - ((f.immh << 3) | f.immb);
  const name = f.opcode === 0b11100 ? (f.u ? "ucvtf" : "scvtf") : f.u ? "fcvtzu" : "fcvtzs";
  const r = (x: number) => (scalar ? `${dbl ? "d" : "s"}${x}` : `v${x}.${dbl ? "2d" : f.q ? "4s" : "2s"}`);
  return `${name}	${r(f.rd)}, ${r(f.rn)}, #${fbits}`;
}
const fixedGuard = (f: Fields, scalar: boolean) => (f.opcode === 0b11100 || f.opcode === 0b11111) && f.immh >= 4 && !(f.immh >= 8 && !scalar && f.q === 0);

// ---- across lanes -----------------------------------------------------------------------------------------

/** FMAXNMV FMINNMV FMAXV FMINV (4S only): Reduce() pairs the lanes as op(op(e0, e1), op(e2, e3)). */
function buildAcross(f: Fields): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const op = (f.op5 === 0b01100 ? 2 : 0) + f.a; // maxmin32's op: 0 FMAX, 1 FMIN, 2 FMAXNM, 3 FMINNM
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    const lo = maxmin32(v[n], v[n + 1], fpcr, op);
    const hi = maxmin32(v[n + 2], v[n + 3], fpcr, op);
    const r = maxmin32(lo, hi, fpcr, op);
    c.fpsr |= fpst.flags;
    v[d] = r;
    v[d + 1] = 0;
    v[d + 2] = 0;
    v[d + 3] = 0;
  };
}

export const FP_SIMD: readonly InsnSpec[] = [
  {
    name: "SIMD_fp_across",
    pattern: "0 1 1 01110 a:1 0 11000 op5:5 10 rn:5 rd:5",
    guard: (f) => f.op5 === 0b01100 || f.op5 === 0b01111,
    build: buildAcross,
    disasm: (f) => `${["fmaxv", "fminv", "fmaxnmv", "fminnmv"][(f.op5 === 0b01100 ? 2 : 0) + f.a]}\ts${f.rd}, v${f.rn}.4s`,
  },
  {
    name: "SIMD_fp_elem",
    pattern: "0 q:1 u:1 01111 1 sz:1 l:1 m:1 rm:4 opc:4 h:1 0 rn:5 rd:5",
    guard: (f) => elemGuard(f, false),
    build: (f) => buildElem(f, false),
    disasm: (f) => elemText(f, false),
  },
  {
    name: "SIMD_fp_elem_scalar",
    pattern: "01 u:1 11111 1 sz:1 l:1 m:1 rm:4 opc:4 h:1 0 rn:5 rd:5",
    guard: (f) => elemGuard(f, true),
    build: (f) => buildElem(f, true),
    disasm: (f) => elemText(f, true),
  },
  {
    name: "SIMD_fp_fixed",
    pattern: "0 q:1 u:1 011110 immh:4 immb:3 opcode:5 1 rn:5 rd:5",
    guard: (f) => fixedGuard(f, false),
    build: (f) => buildFixed(f, false),
    disasm: (f) => fixedText(f, false),
  },
  {
    name: "SIMD_fp_fixed_scalar",
    pattern: "01 u:1 111110 immh:4 immb:3 opcode:5 1 rn:5 rd:5",
    guard: (f) => fixedGuard(f, true),
    build: (f) => buildFixed(f, true),
    disasm: (f) => fixedText(f, true),
  },
  {
    name: "SIMD_fp_same",
    pattern: "0 q:1 u:1 01110 a:1 sz:1 1 rm:5 11 op3:3 1 rn:5 rd:5",
    guard: (f) => SAME_NAMES[sameKey(f)] !== undefined && !(f.sz === 1 && f.q === 0),
    build: (f) => buildSame(sameKey(f), f, false),
    disasm: (f) => `${SAME_NAMES[sameKey(f)]}\tv${f.rd}.${arr(f)}, v${f.rn}.${arr(f)}, v${f.rm}.${arr(f)}`,
  },
  {
    name: "SIMD_fp_same_scalar",
    pattern: "01 u:1 11110 a:1 sz:1 1 rm:5 11 op3:3 1 rn:5 rd:5",
    guard: (f) => SCALAR_SAME.has(sameKey(f)),
    build: (f) => buildSame(sameKey(f), f, true),
    disasm: (f) => `${SAME_NAMES[sameKey(f)]}\t${sreg(f, f.rd)}, ${sreg(f, f.rn)}, ${sreg(f, f.rm)}`,
  },
  {
    name: "SIMD_fp_pairwise_scalar",
    pattern: "01 1 11110 a:1 sz:1 11000 01 op3:3 10 rn:5 rd:5",
    // FMAXNMP (a0 100), FADDP (a0 101), FMAXP (a0 111), FMINNMP (a1 100), FMINP (a1 111)
    guard: (f) => f.op3 === 4 || f.op3 === 7 || (f.op3 === 5 && f.a === 0),
    build: (f) => buildSame(PAIR_KEY[(f.a << 3) | f.op3], f, true, true),
    disasm: (f) => `${SAME_NAMES[PAIR_KEY[(f.a << 3) | f.op3]]}\t${sreg(f, f.rd)}, v${f.rn}.2${f.sz ? "d" : "s"}`,
  },
  {
    name: "SIMD_fp_misc",
    pattern: "0 q:1 u:1 01110 a:1 sz:1 10000 op5:5 10 rn:5 rd:5",
    guard: (f) => MISC_NAMES[miscKey(f)] !== undefined && miscKey(f) !== 0o077 && !(f.sz === 1 && f.q === 0),
    build: (f) => buildMisc(miscKey(f), f, false),
    disasm: (f) => miscText(f, false),
  },
  {
    name: "SIMD_fp_misc_scalar",
    pattern: "01 u:1 11110 a:1 sz:1 10000 op5:5 10 rn:5 rd:5",
    guard: (f) => SCALAR_MISC.has(miscKey(f)),
    build: (f) => buildMisc(miscKey(f), f, true),
    disasm: (f) => miscText(f, true),
  },
  {
    name: "SIMD_fcvtl",
    pattern: "0 q:1 0 01110 0 sz:1 10000 10111 10 rn:5 rd:5",
    build: buildFcvtl,
    disasm: (f) => `fcvtl${f.q ? "2" : ""}\tv${f.rd}.${f.sz ? "2d" : "4s"}, v${f.rn}.${f.sz ? (f.q ? "4s" : "2s") : f.q ? "8h" : "4h"}`,
  },
  {
    name: "SIMD_fcvtn",
    pattern: "0 q:1 u:1 01110 0 sz:1 10000 10110 10 rn:5 rd:5",
    guard: (f) => f.u === 0 || f.sz === 1,
    build: (f) => buildFcvtn(f, f.u === 1, false),
    disasm: (f) =>
      `${f.u ? "fcvtxn" : "fcvtn"}${f.q ? "2" : ""}\tv${f.rd}.${f.sz ? (f.q ? "4s" : "2s") : f.q ? "8h" : "4h"}, v${f.rn}.${f.sz ? "2d" : "4s"}`,
  },
  {
    name: "SIMD_fcvtxn_scalar",
    pattern: "01 1 11110 0 1 10000 10110 10 rn:5 rd:5",
    build: (f) => buildFcvtn(f, true, true),
    disasm: (f) => `fcvtxn\ts${f.rd}, d${f.rn}`,
  },
];

/** Scalar pairwise a:op3 -> three-same key of the same operation. */
const PAIR_KEY: Record<number, number> = { 0o04: 0o100, 0o05: 0o102, 0o07: 0o106, 0o14: 0o110, 0o17: 0o116 };

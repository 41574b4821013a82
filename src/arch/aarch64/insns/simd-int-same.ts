// Advanced SIMD integer: three registers of the same type (vector and scalar), two-register miscellaneous
// (vector and scalar), across lanes (ADDV, SADDLV, UMAXV...) and scalar pairwise (ADDP Dd, Vn.2D).
//
// Each class is one decode row over its opcode field, with a table of element operations per opcode; the
// row's guard rejects the opcodes and sizes the class leaves unallocated (and the FP opcodes, which are the
// FP rows' business). build picks the element function once for the lane size.

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import {
  QC,
  R,
  SAT,
  add64,
  rshr64,
  satShl64,
  shl64,
  shr64,
  sqadd64,
  sqsub64,
  uqadd64,
  uqsub64,
  clearAbove,
  lanesOf,
  saturator,
  sub64,
  sx,
  vreg,
  sreg,
  wordsOf,
  arr,
  type Op32,
  type Op64,
} from "./simd-int-lanes.js";
import { fastAcross, fastMisc, fastThreeSame } from "./simd-int-fast.js";

// ---- element operations ---------------------------------------------------------------------------------

/** Shift by a signed register byte (SSHL, USHL, SRSHL, URSHL, SQSHL, UQSHL, SQRSHL, UQRSHL). */
export function shiftByReg(bits: number, signed: boolean, round: boolean, sat: boolean): Op32 {
  const sh = 32 - bits;
  const clamp = saturator(bits, signed);
  return (a, b) => {
    const x = signed ? (a << sh) >> sh : a;
    const s = (b << 24) >> 24;
    if (s >= 0) {
      if (!sat) return s >= bits ? 0 : x << s;
      if (x === 0) return 0;
      return clamp(x * 2 ** s);
    }
    const k = -s;
    if (round) return Math.floor((x + 2 ** (k - 1)) / 2 ** k);
    return Math.floor(x / 2 ** k);
  };
}

function shiftByReg64(signed: boolean, round: boolean, sat: boolean): Op64 {
  if (!sat)
    return (al, ah, bl) => {
      const s = (bl << 24) >> 24;
      if (s >= 0) shl64(al, ah, s);
      else if (round) rshr64(al, ah, -s, signed);
      else shr64(al, ah, Math.min(-s, 64), signed);
    };
  return (al, ah, bl) => {
    const s = (bl << 24) >> 24;
    if (s >= 0) satShl64(al, ah, s, signed, signed);
    else if (round) rshr64(al, ah, -s, signed);
    else shr64(al, ah, Math.min(-s, 64), signed);
  };
}

function satAddSub64(signed: boolean, sub: boolean): Op64 {
  if (signed) return sub ? (al, ah, bl, bh) => sqsub64(al, ah, bl, bh) : (al, ah, bl, bh) => sqadd64(al, ah, bl, bh);
  return sub ? (al, ah, bl, bh) => uqsub64(al, ah, bl, bh) : (al, ah, bl, bh) => uqadd64(al, ah, bl, bh);
}

const ONES = -1;

const add64op: Op64 = (al, ah, bl, bh) => add64(al, ah, bl, bh);
const sub64op: Op64 = (al, ah, bl, bh) => sub64(al, ah, bl, bh);
function cmp64(test: (al: number, ah: number, bl: number, bh: number) => boolean): Op64 {
  return (al, ah, bl, bh) => {
    const r = test(al, ah, bl, bh) ? ONES : 0;
    R.l = r;
    R.h = r;
  };
}
// Words from the Uint32Array view are unsigned; `| 0` makes the high word signed.
const gt64s = (al: number, ah: number, bl: number, bh: number) => (ah | 0) > (bh | 0) || (ah === bh && al > bl);
const gt64u = (al: number, ah: number, bl: number, bh: number) => ah > bh || (ah === bh && al > bl);

/** Polynomial (carry-less) multiply of two bytes, low 8 bits. */
function pmul8(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if ((b >> i) & 1) r ^= a << i;
  return r;
}

/** High half of 2*a*b for signed 16/32-bit lanes, optionally rounded (SQDMULH, SQRDMULH). */
export function doublingMulHigh(bits: number, round: boolean): Op32 {
  const clamp = saturator(bits, true);
  if (bits === 16)
    return (a, b) => {
      const p = 2 * sx(a, 16) * sx(b, 16) + (round ? 0x8000 : 0);
      return clamp(Math.floor(p / 65536));
    };
  return (a, b) => {
    const x = a | 0;
    const y = b | 0;
    // Exact 64-bit product P = hi * 2^32 + lo; result = floor((2P + round) / 2^32) = floor((P + round/2) / 2^31).
    const ua = a >>> 0;
    const ub = b >>> 0;
    const ll = (ua & 0xffff) * (ub & 0xffff);
    const mid = (ua >>> 16) * (ub & 0xffff) + (ua & 0xffff) * (ub >>> 16) + Math.floor(ll / 65536);
    let hi = (ua >>> 16) * (ub >>> 16) + Math.floor(mid / 65536);
    hi = (hi - (x < 0 ? ub : 0) - (y < 0 ? ua : 0)) | 0;
    const lo = Math.imul(ua, ub) >>> 0;
    return clamp(hi * 2 + Math.floor((lo + (round ? 0x40000000 : 0)) / 0x80000000));
  };
}

interface SameOp {
  name: string;
  /** Allowed element sizes of the vector form (bit s); size 3 needs Q = 1 anyway. */
  vec: number;
  /** Allowed element sizes of the scalar form (0: none). */
  scalar: number;
  /** The element operation for `bits`-bit lanes (8, 16, 32). */
  op: (bits: number) => Op32;
  op64?: Op64;
  pairwise?: boolean;
}

const B = 1;
const BHS = 7;
const ALL = 15;
const D = 8;
const HS = 6;

function sameOps(signed: boolean): Record<number, SameOp> {
  const s = signed;
  const val = (bits: number) => (s ? (x: number) => sx(x, bits) : (x: number) => x);
  const ops: Record<number, SameOp> = {
    0b00000: { name: s ? "shadd" : "uhadd", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => Math.floor((v(a) + v(b)) / 2); } },
    0b00001: {
      name: s ? "sqadd" : "uqadd",
      vec: ALL,
      scalar: ALL,
      op: (bits) => { const v = val(bits); const c = saturator(bits, s); return (a, b) => c(v(a) + v(b)); },
      op64: satAddSub64(s, false),
    },
    0b00010: { name: s ? "srhadd" : "urhadd", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => Math.floor((v(a) + v(b) + 1) / 2); } },
    0b00100: { name: s ? "shsub" : "uhsub", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => Math.floor((v(a) - v(b)) / 2); } },
    0b00101: {
      name: s ? "sqsub" : "uqsub",
      vec: ALL,
      scalar: ALL,
      op: (bits) => { const v = val(bits); const c = saturator(bits, s); return (a, b) => c(v(a) - v(b)); },
      op64: satAddSub64(s, true),
    },
    0b00110: {
      name: s ? "cmgt" : "cmhi",
      vec: ALL,
      scalar: D,
      op: (bits) => { const v = val(bits); return (a, b) => (v(a) > v(b) ? ONES : 0); },
      op64: cmp64(s ? gt64s : gt64u),
    },
    0b00111: {
      name: s ? "cmge" : "cmhs",
      vec: ALL,
      scalar: D,
      op: (bits) => { const v = val(bits); return (a, b) => (v(a) >= v(b) ? ONES : 0); },
      op64: cmp64(s ? (al, ah, bl, bh) => !gt64s(bl, bh, al, ah) : (al, ah, bl, bh) => !gt64u(bl, bh, al, ah)),
    },
    0b01000: { name: s ? "sshl" : "ushl", vec: ALL, scalar: D, op: (bits) => shiftByReg(bits, s, false, false), op64: shiftByReg64(s, false, false) },
    0b01001: { name: s ? "sqshl" : "uqshl", vec: ALL, scalar: ALL, op: (bits) => shiftByReg(bits, s, false, true), op64: shiftByReg64(s, false, true) },
    0b01010: { name: s ? "srshl" : "urshl", vec: ALL, scalar: D, op: (bits) => shiftByReg(bits, s, true, false), op64: shiftByReg64(s, true, false) },
    0b01011: { name: s ? "sqrshl" : "uqrshl", vec: ALL, scalar: ALL, op: (bits) => shiftByReg(bits, s, true, true), op64: shiftByReg64(s, true, true) },
    0b01100: { name: s ? "smax" : "umax", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => (v(a) >= v(b) ? a : b); } },
    0b01101: { name: s ? "smin" : "umin", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => (v(a) <= v(b) ? a : b); } },
    0b01110: { name: s ? "sabd" : "uabd", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b) => Math.abs(v(a) - v(b)); } },
    0b01111: { name: s ? "saba" : "uaba", vec: BHS, scalar: 0, op: (bits) => { const v = val(bits); return (a, b, d) => d + Math.abs(v(a) - v(b)); } },
    0b10100: { name: s ? "smaxp" : "umaxp", vec: BHS, scalar: 0, pairwise: true, op: (bits) => { const v = val(bits); return (a, b) => (v(a) >= v(b) ? a : b); } },
    0b10101: { name: s ? "sminp" : "uminp", vec: BHS, scalar: 0, pairwise: true, op: (bits) => { const v = val(bits); return (a, b) => (v(a) <= v(b) ? a : b); } },
  };
  if (s) {
    ops[0b10000] = { name: "add", vec: ALL, scalar: D, op: () => (a, b) => a + b, op64: add64op };
    ops[0b10001] = {
      name: "cmtst",
      vec: ALL,
      scalar: D,
      op: () => (a, b) => ((a & b) !== 0 ? ONES : 0),
      op64: cmp64((al, ah, bl, bh) => ((al & bl) | (ah & bh)) !== 0),
    };
    ops[0b10010] = { name: "mla", vec: BHS, scalar: 0, op: () => (a, b, d) => d + Math.imul(a, b) };
    ops[0b10011] = { name: "mul", vec: BHS, scalar: 0, op: () => (a, b) => Math.imul(a, b) };
    ops[0b10110] = { name: "sqdmulh", vec: HS, scalar: HS, op: (bits) => doublingMulHigh(bits, false) };
    ops[0b10111] = { name: "addp", vec: ALL, scalar: 0, pairwise: true, op: () => (a, b) => a + b, op64: add64op };
  } else {
    ops[0b10000] = { name: "sub", vec: ALL, scalar: D, op: () => (a, b) => a - b, op64: sub64op };
    ops[0b10001] = { name: "cmeq", vec: ALL, scalar: D, op: () => (a, b) => (a === b ? ONES : 0), op64: cmp64((al, ah, bl, bh) => al === bl && ah === bh) };
    ops[0b10010] = { name: "mls", vec: BHS, scalar: 0, op: () => (a, b, d) => d - Math.imul(a, b) };
    ops[0b10011] = { name: "pmul", vec: B, scalar: 0, op: () => pmul8 };
    ops[0b10110] = { name: "sqrdmulh", vec: HS, scalar: HS, op: (bits) => doublingMulHigh(bits, true) };
  }
  return ops;
}

const SAME: Record<number, SameOp>[] = [sameOps(true), sameOps(false)];

// ---- executors ------------------------------------------------------------------------------------------

/**
 * Lane-by-lane Vd[i] = op(Vn[i], Vm[i] (or Vm[mIndex] for every lane when mIndex >= 0), Vd[i]) over `lanes`
 * lanes of `size`, then zero Vd above the written bytes; FPSR.QC if an operation saturated.
 */
export function elementwise(size: number, lanes: number, rd: number, rn: number, rm: number, mIndex: number, op: Op32 | undefined, op64: Op64 | undefined): Exec {
  const bytes = lanes << size;
  if (size === 3) {
    const f = op64!;
    const d0 = rd << 2;
    const n0 = rn << 2;
    const m0 = (rm << 2) + (mIndex >= 0 ? mIndex * 2 : 0);
    const step = mIndex >= 0 ? 0 : 2;
    return (c) => {
      c.checkFpEnabled();
      const W = wordsOf(c.vregs);
      SAT.qc = false;
      for (let i = 0, m = m0; i < lanes; i++, m += step) {
        const k = 2 * i;
        f(W[n0 + k], W[n0 + k + 1], W[m], W[m + 1], W[d0 + k], W[d0 + k + 1]);
        W[d0 + k] = R.l;
        W[d0 + k + 1] = R.h;
      }
      clearAbove(c.vregs, rd, bytes);
      if (SAT.qc) c.fpsr |= QC;
    };
  }
  const f = op!;
  const per = 16 >> size;
  const d0 = rd * per;
  const n0 = rn * per;
  const m0 = rm * per;
  if (mIndex >= 0)
    return (c) => {
      c.checkFpEnabled();
      const A = lanesOf(c.vregs, size);
      SAT.qc = false;
      const b = A[m0 + mIndex];
      for (let i = 0; i < lanes; i++) A[d0 + i] = f(A[n0 + i], b, A[d0 + i]);
      clearAbove(c.vregs, rd, bytes);
      if (SAT.qc) c.fpsr |= QC;
    };
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    SAT.qc = false;
    for (let i = 0; i < lanes; i++) A[d0 + i] = f(A[n0 + i], A[m0 + i], A[d0 + i]);
    clearAbove(c.vregs, rd, bytes);
    if (SAT.qc) c.fpsr |= QC;
  };
}

const scratch = new Float64Array(32);

/** Pairwise: the concatenation Vm:Vn taken two adjacent lanes at a time (ADDP, UMAXP...). */
function pairwise(size: number, q: number, rd: number, rn: number, rm: number, op: Op32 | undefined, op64: Op64 | undefined): Exec {
  const lanes = (q ? 16 : 8) >> size;
  const half = lanes >> 1;
  if (size === 3) {
    const f = op64!;
    const n0 = rn << 2;
    const m0 = rm << 2;
    const d0 = rd << 2;
    return (c) => {
      c.checkFpEnabled();
      const W = wordsOf(c.vregs);
      f(W[n0], W[n0 + 1], W[n0 + 2], W[n0 + 3], 0, 0);
      const l0 = R.l;
      const h0 = R.h;
      f(W[m0], W[m0 + 1], W[m0 + 2], W[m0 + 3], 0, 0);
      W[d0] = l0;
      W[d0 + 1] = h0;
      W[d0 + 2] = R.l;
      W[d0 + 3] = R.h;
    };
  }
  const f = op!;
  const per = 16 >> size;
  const d0 = rd * per;
  const n0 = rn * per;
  const m0 = rm * per;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    for (let i = 0; i < half; i++) {
      scratch[i] = f(A[n0 + 2 * i], A[n0 + 2 * i + 1], 0);
      scratch[half + i] = f(A[m0 + 2 * i], A[m0 + 2 * i + 1], 0);
    }
    for (let i = 0; i < lanes; i++) A[d0 + i] = scratch[i];
    clearAbove(c.vregs, rd, lanes << size);
  };
}

// ---- two-register miscellaneous -------------------------------------------------------------------------

interface MiscOp {
  name: string;
  vec: number;
  scalar: number;
  kind: "elem" | "rev" | "pairlong" | "narrow" | "shll";
  op?: (bits: number) => Op32;
  op64?: Op64;
  /** rev: the container size in bits; pairlong: accumulate; narrow: source signed / result signed. */
  container?: number;
  acc?: boolean;
  signed?: boolean;
  toSigned?: boolean;
  sat?: boolean;
}

function cls(x: number, bits: number): number {
  const v = sx(x, bits);
  const y = v < 0 ? ~v : v;
  return (y === 0 ? 32 : Math.clz32(y)) - (32 - bits) - 1;
}
function clz(x: number, bits: number): number {
  return x === 0 ? bits : Math.clz32(x) - (32 - bits);
}
function popcount8(x: number): number {
  x = x - ((x >> 1) & 0x55);
  x = (x & 0x33) + ((x >> 2) & 0x33);
  return (x + (x >> 4)) & 0x0f;
}
function rbit8(x: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) r |= ((x >> i) & 1) << (7 - i);
  return r;
}

/** RecipEstimate (ARMv8.0): a 9-bit input 256..511 to a 9-bit estimate. */
function recipEstimate(a: number): number {
  a = a * 2 + 1;
  const b = Math.floor(2 ** 19 / a);
  return (b + 1) >> 1;
}
/** RecipSqrtEstimate (ARMv8.0): a 9-bit input 128..511 to a 9-bit estimate. */
function recipSqrtEstimate(a: number): number {
  a = a < 256 ? a * 2 + 1 : (((a >> 1) << 1) + 1) * 2;
  let b = 512;
  while (a * (b + 1) * (b + 1) < 2 ** 28) b++;
  return (b + 1) >> 1;
}
// URECPE and URSQRTE depend only on the top 9 bits: tables of 512.
const URECPE_TABLE = Int32Array.from({ length: 512 }, (_, k) => (k < 256 ? -1 : recipEstimate(k) << 23));
const URSQRTE_TABLE = Int32Array.from({ length: 512 }, (_, k) => (k < 128 ? -1 : recipSqrtEstimate(k) << 23));

function cmpZero64(test: (h: number, l: number) => boolean): Op64 {
  return (al, ah) => {
    const r = test(ah | 0, al) ? ONES : 0;
    R.l = r;
    R.h = r;
  };
}

function miscOps(u: number): Record<number, MiscOp> {
  if (u === 0)
    return {
      0b00000: { name: "rev64", vec: BHS, scalar: 0, kind: "rev", container: 64 },
      0b00001: { name: "rev16", vec: B, scalar: 0, kind: "rev", container: 16 },
      0b00010: { name: "saddlp", vec: BHS, scalar: 0, kind: "pairlong", signed: true },
      0b00011: {
        name: "suqadd",
        vec: ALL,
        scalar: ALL,
        kind: "elem",
        op: (bits) => { const c = saturator(bits, true); return (a, _b, d) => c(sx(d, bits) + a); },
        op64: (al, ah, _bl, _bh, dl, dh) => {
          // Signed Vd + unsigned Vn: only the top can overflow.
          const l = (dl >>> 0) + (al >>> 0);
          const h = (dh | 0) + (ah >>> 0) + (l > 0xffffffff ? 1 : 0);
          if (h > 0x7fffffff) {
            SAT.qc = true;
            R.l = -1;
            R.h = 0x7fffffff;
          } else {
            R.l = l >>> 0;
            R.h = h | 0;
          }
        },
      },
      0b00100: { name: "cls", vec: BHS, scalar: 0, kind: "elem", op: (bits) => (a) => cls(a, bits) },
      0b00101: { name: "cnt", vec: B, scalar: 0, kind: "elem", op: () => popcount8 },
      0b00110: { name: "sadalp", vec: BHS, scalar: 0, kind: "pairlong", signed: true, acc: true },
      0b00111: {
        name: "sqabs",
        vec: ALL,
        scalar: ALL,
        kind: "elem",
        op: (bits) => { const c = saturator(bits, true); return (a) => c(Math.abs(sx(a, bits))); },
        op64: (al, ah) => {
          if ((ah | 0) >= 0) {
            R.l = al;
            R.h = ah;
          } else sqsub64(0, 0, al, ah);
        },
      },
      0b01000: { name: "cmgt", vec: ALL, scalar: D, kind: "elem", op: (bits) => (a) => (sx(a, bits) > 0 ? ONES : 0), op64: cmpZero64((h, l) => h > 0 || (h === 0 && l !== 0)) },
      0b01001: { name: "cmeq", vec: ALL, scalar: D, kind: "elem", op: () => (a) => (a === 0 ? ONES : 0), op64: cmpZero64((h, l) => h === 0 && l === 0) },
      0b01010: { name: "cmlt", vec: ALL, scalar: D, kind: "elem", op: (bits) => (a) => (sx(a, bits) < 0 ? ONES : 0), op64: cmpZero64((h) => h < 0) },
      0b01011: {
        name: "abs",
        vec: ALL,
        scalar: D,
        kind: "elem",
        op: (bits) => (a) => Math.abs(sx(a, bits)),
        op64: (al, ah) => {
          if ((ah | 0) < 0) sub64(0, 0, al, ah);
          else {
            R.l = al;
            R.h = ah;
          }
        },
      },
      0b11100: { name: "urecpe", vec: 4, scalar: 0, kind: "elem", op: () => (a) => URECPE_TABLE[a >>> 23] },
      0b10010: { name: "xtn", vec: BHS, scalar: 0, kind: "narrow", signed: false, toSigned: false, sat: false },
      0b10100: { name: "sqxtn", vec: BHS, scalar: BHS, kind: "narrow", signed: true, toSigned: true, sat: true },
    };
  return {
    0b00000: { name: "rev32", vec: 3, scalar: 0, kind: "rev", container: 32 },
    0b00010: { name: "uaddlp", vec: BHS, scalar: 0, kind: "pairlong", signed: false },
    0b00011: {
      name: "usqadd",
      vec: ALL,
      scalar: ALL,
      kind: "elem",
      op: (bits) => { const c = saturator(bits, false); return (a, _b, d) => c(d + sx(a, bits)); },
      op64: (al, ah, _bl, _bh, dl, dh) => {
        // Unsigned Vd + signed Vn.
        const l = (dl >>> 0) + (al >>> 0);
        const h = (dh >>> 0) + (ah | 0) + (l > 0xffffffff ? 1 : 0);
        if (h > 0xffffffff || h < 0) {
          SAT.qc = true;
          R.l = h < 0 ? 0 : -1;
          R.h = h < 0 ? 0 : -1;
        } else {
          R.l = l >>> 0;
          R.h = h | 0;
        }
      },
    },
    0b00100: { name: "clz", vec: BHS, scalar: 0, kind: "elem", op: (bits) => (a) => clz(a, bits) },
    0b00101: { name: "not", vec: 3, scalar: 0, kind: "elem", op: () => (a) => ~a },
    0b00110: { name: "uadalp", vec: BHS, scalar: 0, kind: "pairlong", signed: false, acc: true },
    0b00111: {
      name: "sqneg",
      vec: ALL,
      scalar: ALL,
      kind: "elem",
      op: (bits) => { const c = saturator(bits, true); return (a) => c(-sx(a, bits)); },
      op64: (al, ah) => sqsub64(0, 0, al, ah),
    },
    0b01000: { name: "cmge", vec: ALL, scalar: D, kind: "elem", op: (bits) => (a) => (sx(a, bits) >= 0 ? ONES : 0), op64: cmpZero64((h) => h >= 0) },
    0b01001: { name: "cmle", vec: ALL, scalar: D, kind: "elem", op: (bits) => (a) => (sx(a, bits) <= 0 ? ONES : 0), op64: cmpZero64((h, l) => h < 0 || (h === 0 && l === 0)) },
    0b01011: { name: "neg", vec: ALL, scalar: D, kind: "elem", op: () => (a) => -a, op64: (al, ah) => sub64(0, 0, al, ah) },
    0b11100: { name: "ursqrte", vec: 4, scalar: 0, kind: "elem", op: () => (a) => URSQRTE_TABLE[a >>> 23] },
    0b10010: { name: "sqxtun", vec: BHS, scalar: BHS, kind: "narrow", signed: true, toSigned: false, sat: true },
    0b10011: { name: "shll", vec: BHS, scalar: 0, kind: "shll" },
    0b10100: { name: "uqxtn", vec: BHS, scalar: BHS, kind: "narrow", signed: false, toSigned: false, sat: true },
  };
}

const MISC = [miscOps(0), miscOps(1)];

function miscName(f: Fields): string {
  const op = MISC[f.u][f.opcode];
  if (op.name === "not") return f.size === 1 ? "rbit" : "mvn"; // objdump prints NOT as its alias MVN
  return op.name;
}

/** REV16/REV32/REV64: reverse the elements within each container. */
function buildRev(size: number, q: number, rd: number, rn: number, container: number): Exec {
  const lanes = (q ? 16 : 8) >> size;
  const flip = container / (8 << size) - 1;
  const per = 16 >> size;
  const d0 = rd * per;
  const n0 = rn * per;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    for (let i = 0; i < lanes; i++) scratch[i] = A[n0 + (i ^ flip)];
    for (let i = 0; i < lanes; i++) A[d0 + i] = scratch[i];
    clearAbove(c.vregs, rd, q ? 16 : 8);
  };
}

/** SADDLP/UADDLP/SADALP/UADALP: adjacent pairs added into lanes of twice the size. */
function buildPairLong(size: number, q: number, rd: number, rn: number, signed: boolean, acc: boolean): Exec {
  const lanes = (q ? 16 : 8) >> (size + 1);
  const bits = 8 << size;
  const per = 16 >> size;
  const n0 = rn * per;
  if (size === 2) {
    const d0 = rd << 2;
    return (c) => {
      c.checkFpEnabled();
      const S = wordsOf(c.vregs);
      for (let i = 0; i < lanes; i++) {
        const a = S[n0 + 2 * i];
        const b = S[n0 + 2 * i + 1];
        const sum = signed ? (a | 0) + (b | 0) : a + b;
        scratch[i] = sum;
      }
      for (let i = 0; i < lanes; i++) {
        const h = Math.floor(scratch[i] / 4294967296);
        const l = (scratch[i] - h * 4294967296) >>> 0;
        if (acc) add64(S[d0 + 2 * i], S[d0 + 2 * i + 1], l, h);
        else {
          R.l = l;
          R.h = h;
        }
        S[d0 + 2 * i] = R.l;
        S[d0 + 2 * i + 1] = R.h;
      }
      clearAbove(c.vregs, rd, q ? 16 : 8);
    };
  }
  const wper = 16 >> (size + 1);
  const d0 = rd * wper;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    const W = lanesOf(c.vregs, size + 1);
    for (let i = 0; i < lanes; i++) {
      const a = A[n0 + 2 * i];
      const b = A[n0 + 2 * i + 1];
      scratch[i] = signed ? sx(a, bits) + sx(b, bits) : a + b;
    }
    for (let i = 0; i < lanes; i++) W[d0 + i] = acc ? W[d0 + i] + scratch[i] : scratch[i];
    clearAbove(c.vregs, rd, q ? 16 : 8);
  };
}

/**
 * Narrowing (XTN, SQXTN, UQXTN, SQXTUN): lanes of 2*esize from Vn into esize lanes; the vector form writes the
 * low half (zeroing the top) or, for the "2" forms (Q = 1), the high half; the scalar form one lane.
 */
export function buildNarrow(size: number, q: number, rd: number, rn: number, scalar: boolean, narrowOp: (x: number) => number, narrowOp64?: (l: number, h: number) => number): Exec {
  const lanes = scalar ? 1 : 8 >> size;
  const per = 16 >> size;
  const d0 = rd * per + (q && !scalar ? lanes : 0);
  const wper = 16 >> (size + 1);
  const n0 = rn * wper;
  const bytesKept = scalar ? 1 << size : q ? 16 : 8;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    SAT.qc = false;
    if (size === 2) {
      const S = wordsOf(c.vregs);
      for (let i = 0; i < lanes; i++) scratch[i] = narrowOp64!(S[(rn << 2) + 2 * i], S[(rn << 2) + 2 * i + 1]);
    } else {
      const W = lanesOf(c.vregs, size + 1);
      for (let i = 0; i < lanes; i++) scratch[i] = narrowOp(W[n0 + i]);
    }
    for (let i = 0; i < lanes; i++) A[d0 + i] = scratch[i];
    clearAbove(c.vregs, rd, bytesKept);
    if (SAT.qc) c.fpsr |= QC;
  };
}

/** The saturating narrowing of a 2*bits lane (given unsigned) to `bits` bits. */
export function narrowSat(bits: number, signed: boolean, toSigned: boolean, sat: boolean): (x: number) => number {
  if (!sat) return (x) => x;
  const clamp = saturator(bits, toSigned);
  return signed ? (x) => clamp(sx(x, 2 * bits)) : clamp;
}
export function narrowSat64(signed: boolean, toSigned: boolean, sat: boolean): (l: number, h: number) => number {
  if (!sat) return (l) => l;
  const clamp = saturator(32, toSigned);
  return (l, h) => {
    // Exact enough: any value outside the 32-bit range saturates, and values inside are exact.
    const hi = signed ? h | 0 : h >>> 0;
    if (hi === 0 || (signed && hi === -1)) return clamp(hi * 4294967296 + (l >>> 0));
    return clamp(hi > 0 ? Infinity : -Infinity);
  };
}

/** SHLL/SHLL2: widen the low (high for Q = 1) half and shift left by the element size. */
function buildShll(size: number, q: number, rd: number, rn: number): Exec {
  const lanes = 8 >> size;
  const per = 16 >> size;
  const n0 = rn * per + (q ? lanes : 0);
  const bits = 8 << size;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    for (let i = 0; i < lanes; i++) scratch[i] = A[n0 + i];
    if (size === 2) {
      const S = wordsOf(c.vregs);
      for (let i = 0; i < lanes; i++) {
        S[(rd << 2) + 2 * i] = 0;
        S[(rd << 2) + 2 * i + 1] = scratch[i];
      }
    } else {
      const W = lanesOf(c.vregs, size + 1);
      const d0 = rd * (16 >> (size + 1));
      for (let i = 0; i < lanes; i++) W[d0 + i] = scratch[i] * 2 ** bits;
    }
  };
}

function buildMisc(f: Fields, scalar: boolean): Exec {
  const op = MISC[f.u][f.opcode];
  const { size, q, rd, rn } = f;
  switch (op.kind) {
    case "elem": {
      if (op.name === "not") {
        // NOT (size 0) and RBIT (size 1) both work on bytes.
        const fn: Op32 = size === 1 ? rbit8 : (a) => ~a;
        return elementwise(0, q ? 16 : 8, rd, rn, rn, -1, fn, undefined);
      }
      const lanes = scalar ? 1 : (q ? 16 : 8) >> size;
      return elementwise(size, lanes, rd, rn, rn, -1, size < 3 ? op.op!(8 << size) : undefined, op.op64);
    }
    case "rev":
      return buildRev(size, q, rd, rn, op.container!);
    case "pairlong":
      return buildPairLong(size, q, rd, rn, op.signed!, op.acc === true);
    case "narrow":
      return buildNarrow(size, q, rd, rn, scalar, narrowSat(8 << size, op.signed!, op.toSigned!, op.sat!), narrowSat64(op.signed!, op.toSigned!, op.sat!));
    default:
      return buildShll(size, q, rd, rn);
  }
}

function miscText(f: Fields, scalar: boolean): string {
  const op = MISC[f.u][f.opcode];
  const name = miscName(f);
  const { size, q, rd, rn } = f;
  const zero = /^cm/.test(name) ? ", #0" : "";
  if (scalar) {
    if (op.kind === "narrow") return `${name}\t${sreg(rd, size)}, ${sreg(rn, size + 1)}`;
    return `${name}\t${sreg(rd, size)}, ${sreg(rn, size)}${zero}`;
  }
  const two = q ? "2" : "";
  switch (op.kind) {
    case "narrow":
      return `${name}${two}\t${vreg(rd, size, q)}, v${rn}.${arr(size + 1, 1)}`;
    case "shll":
      return `shll${two}\tv${rd}.${arr(size + 1, 1)}, ${vreg(rn, size, q)}, #${8 << size}`;
    case "pairlong":
      return `${name}\tv${rd}.${arr(size + 1, q)}, ${vreg(rn, size, q)}`;
    default:
      const es = name === "mvn" || name === "rbit" ? 0 : size;
      return `${name}\t${vreg(rd, es, q)}, ${vreg(rn, es, q)}${zero}`;
  }
}

// ---- across lanes ---------------------------------------------------------------------------------------

interface AcrossOp {
  name: string;
  signed: boolean;
  kind: "add" | "addl" | "max" | "min";
}
const ACROSS: Record<number, AcrossOp> = {
  [0b000011]: { name: "saddlv", signed: true, kind: "addl" },
  [0b001010]: { name: "smaxv", signed: true, kind: "max" },
  [0b011010]: { name: "sminv", signed: true, kind: "min" },
  [0b011011]: { name: "addv", signed: false, kind: "add" },
  [0b100011]: { name: "uaddlv", signed: false, kind: "addl" },
  [0b101010]: { name: "umaxv", signed: false, kind: "max" },
  [0b111010]: { name: "uminv", signed: false, kind: "min" },
};

function buildAcross(f: Fields): Exec {
  const op = ACROSS[(f.u << 5) | f.opcode];
  const { size, q, rd, rn } = f;
  const lanes = (q ? 16 : 8) >> size;
  const bits = 8 << size;
  const per = 16 >> size;
  const n0 = rn * per;
  const signed = op.signed;
  const kind = op.kind;
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    let acc = signed ? sx(A[n0], bits) : A[n0];
    for (let i = 1; i < lanes; i++) {
      const x = signed ? sx(A[n0 + i], bits) : A[n0 + i];
      if (kind === "max") acc = x > acc ? x : acc;
      else if (kind === "min") acc = x < acc ? x : acc;
      else acc += x;
    }
    const v = c.vregs;
    const w = rd << 2;
    if (kind === "addl" && size === 2) {
      const h = Math.floor(acc / 4294967296);
      v[w] = acc - h * 4294967296;
      v[w + 1] = h;
    } else {
      const rbits = kind === "addl" ? 2 * bits : bits;
      v[w] = rbits === 32 ? acc : acc & ((1 << rbits) - 1);
      v[w + 1] = 0;
    }
    v[w + 2] = 0;
    v[w + 3] = 0;
  };
}

// ---- rows -----------------------------------------------------------------------------------------------

const sizeOk = (allowed: number, size: number) => ((allowed >> size) & 1) === 1;

export const SIMD_INT_SAME: InsnSpec[] = [
  {
    name: "SIMD_three_same",
    pattern: "0 q:1 u:1 01110 size:2 1 rm:5 opcode:5 1 rn:5 rd:5",
    guard: (f) => {
      const op = SAME[f.u][f.opcode];
      return op !== undefined && sizeOk(op.vec, f.size) && !(f.size === 3 && f.q === 0);
    },
    build: (f) => {
      const op = SAME[f.u][f.opcode];
      const { size, q } = f;
      const fast = fastThreeSame(f.u, f.opcode, size, q, f.rd, f.rn, f.rm);
      if (fast) return fast;
      const op32 = size < 3 ? op.op(8 << size) : undefined;
      if (op.pairwise) return pairwise(size, q, f.rd, f.rn, f.rm, op32, op.op64);
      return elementwise(size, (q ? 16 : 8) >> size, f.rd, f.rn, f.rm, -1, op32, op.op64);
    },
    disasm: (f) => {
      const op = SAME[f.u][f.opcode];
      const a = arr(f.size, f.q);
      return `${op.name}\tv${f.rd}.${a}, v${f.rn}.${a}, v${f.rm}.${a}`;
    },
  },
  {
    name: "SIMD_scalar_three_same",
    pattern: "01 u:1 11110 size:2 1 rm:5 opcode:5 1 rn:5 rd:5",
    guard: (f) => {
      const op = SAME[f.u][f.opcode];
      return op !== undefined && sizeOk(op.scalar, f.size);
    },
    build: (f) => {
      const op = SAME[f.u][f.opcode];
      return elementwise(f.size, 1, f.rd, f.rn, f.rm, -1, f.size < 3 ? op.op(8 << f.size) : undefined, op.op64);
    },
    disasm: (f) => `${SAME[f.u][f.opcode].name}\t${sreg(f.rd, f.size)}, ${sreg(f.rn, f.size)}, ${sreg(f.rm, f.size)}`,
  },
  {
    name: "SIMD_two_reg_misc",
    pattern: "0 q:1 u:1 01110 size:2 10000 opcode:5 10 rn:5 rd:5",
    guard: (f) => {
      const op = MISC[f.u][f.opcode];
      return op !== undefined && sizeOk(op.vec, f.size) && !(f.size === 3 && f.q === 0);
    },
    build: (f) => fastMisc(f.u, f.opcode, f.size, f.q, f.rd, f.rn) ?? buildMisc(f, false),
    disasm: (f) => miscText(f, false),
  },
  {
    name: "SIMD_scalar_two_reg_misc",
    pattern: "01 u:1 11110 size:2 10000 opcode:5 10 rn:5 rd:5",
    guard: (f) => {
      const op = MISC[f.u][f.opcode];
      return op !== undefined && sizeOk(op.scalar, f.size);
    },
    build: (f) => buildMisc({ ...f, q: 0 }, true),
    disasm: (f) => miscText(f, true),
  },
  {
    name: "SIMD_across_lanes",
    pattern: "0 q:1 u:1 01110 size:2 11000 opcode:5 10 rn:5 rd:5",
    guard: (f) => ACROSS[(f.u << 5) | f.opcode] !== undefined && f.size < 3 && !(f.size === 2 && f.q === 0),
    build: (f) => fastAcross(f.u, f.opcode, f.size, f.q, f.rd, f.rn) ?? buildAcross(f),
    disasm: (f) => {
      const op = ACROSS[(f.u << 5) | f.opcode];
      return `${op.name}\t${sreg(f.rd, op.kind === "addl" ? f.size + 1 : f.size)}, ${vreg(f.rn, f.size, f.q)}`;
    },
  },
  {
    name: "ADDP_scalar",
    pattern: "01 0 11110 11 11000 11011 10 rn:5 rd:5",
    build: (f) => {
      const n = f.rn << 2;
      const d = f.rd << 2;
      return (c) => {
        c.checkFpEnabled();
        const v = c.vregs;
        add64(v[n], v[n + 1], v[n + 2], v[n + 3]);
        v[d] = R.l;
        v[d + 1] = R.h;
        v[d + 2] = 0;
        v[d + 3] = 0;
      };
    },
    disasm: (f) => `addp\td${f.rd}, v${f.rn}.2d`,
  },
];


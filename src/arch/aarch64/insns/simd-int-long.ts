// Advanced SIMD integer three-different (vector and scalar) and vector x indexed element (vector and scalar):
// the widening SADDL/UADDL, SADDW/UADDW, SSUBL/USUBL, SSUBW/USUBW, SABAL/UABAL, SABDL/UABDL, SMLAL/UMLAL,
// SMLSL/UMLSL, SMULL/UMULL, SQDMLAL, SQDMLSL, SQDMULL, PMULL (8B and, with the crypto extension, 1D), the
// narrowing ADDHN/RADDHN/SUBHN/RSUBHN, and by element MUL/MLA/MLS, SQDMULH/SQRDMULH and the long forms.
// The "2" forms (Q = 1) take the high half of the narrow sources (or write the high half of a narrow result).

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { QC, R, SAT, add64, clearAbove, fromDouble, lanesOf, mul32, sqadd64, sub64, saturator, sx, wordsOf, arr, vreg, sreg, ELEM } from "./simd-int-lanes.js";
import { doublingMulHigh, elementwise } from "./simd-int-same.js";

type LongKind = "addl" | "addw" | "subl" | "subw" | "abal" | "abdl" | "mlal" | "mlsl" | "mull" | "sqdmlal" | "sqdmlsl" | "sqdmull" | "pmull";

interface DiffOp {
  name: string;
  kind: LongKind | "addhn" | "subhn";
  round?: boolean;
  /** Allowed sizes (bit s). */
  sizes: number;
}

function diffOps(u: number): Record<number, DiffOp> {
  const p = u ? "u" : "s";
  const ops: Record<number, DiffOp> = {
    0b0000: { name: `${p}addl`, kind: "addl", sizes: 7 },
    0b0001: { name: `${p}addw`, kind: "addw", sizes: 7 },
    0b0010: { name: `${p}subl`, kind: "subl", sizes: 7 },
    0b0011: { name: `${p}subw`, kind: "subw", sizes: 7 },
    0b0100: { name: u ? "raddhn" : "addhn", kind: "addhn", round: u === 1, sizes: 7 },
    0b0101: { name: `${p}abal`, kind: "abal", sizes: 7 },
    0b0110: { name: u ? "rsubhn" : "subhn", kind: "subhn", round: u === 1, sizes: 7 },
    0b0111: { name: `${p}abdl`, kind: "abdl", sizes: 7 },
    0b1000: { name: `${p}mlal`, kind: "mlal", sizes: 7 },
    0b1010: { name: `${p}mlsl`, kind: "mlsl", sizes: 7 },
    0b1100: { name: `${p}mull`, kind: "mull", sizes: 7 },
  };
  if (u === 0) {
    ops[0b1001] = { name: "sqdmlal", kind: "sqdmlal", sizes: 6 };
    ops[0b1011] = { name: "sqdmlsl", kind: "sqdmlsl", sizes: 6 };
    ops[0b1101] = { name: "sqdmull", kind: "sqdmull", sizes: 6 };
    ops[0b1110] = { name: "pmull", kind: "pmull", sizes: 9 };
  }
  return ops;
}
const DIFF = [diffOps(0), diffOps(1)];
const SCALAR_DIFF = new Set([0b1001, 0b1011, 0b1101]);

/** Carry-less product of two bytes (16 bits). */
function clmul8(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if ((b >> i) & 1) r ^= a << i;
  return r;
}

/** R = carry-less product of two 32-bit words (64 bits). */
function clmul32(a: number, b: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 32; i++)
    if ((b >>> i) & 1) {
      lo ^= a << i;
      if (i) hi ^= a >>> (32 - i);
    }
  R.l = lo >>> 0;
  R.h = hi >>> 0;
}

/** Element operation on extended narrow values (a wide for the W forms) and the destination lane d. */
function longOp32(kind: LongKind, bits: number): (a: number, b: number, d: number) => number {
  const wbits = 2 * bits;
  const sat = saturator(wbits, true);
  switch (kind) {
    case "addl":
    case "addw":
      return (a, b) => a + b;
    case "subl":
    case "subw":
      return (a, b) => a - b;
    case "abal":
      return (a, b, d) => d + Math.abs(a - b);
    case "abdl":
      return (a, b) => Math.abs(a - b);
    case "mlal":
      return (a, b, d) => d + a * b;
    case "mlsl":
      return (a, b, d) => d - a * b;
    case "mull":
      return (a, b) => a * b;
    case "sqdmull":
      return (a, b) => sat(2 * a * b);
    case "sqdmlal":
      return (a, b, d) => sat(sx(d, wbits) + sat(2 * a * b));
    case "sqdmlsl":
      return (a, b, d) => sat(sx(d, wbits) - sat(2 * a * b));
    default:
      return clmul8;
  }
}

/** R = the saturated 2*a*b of two signed 32-bit values. */
function sqdmull64(a: number, b: number): void {
  if (a === -0x80000000 && b === -0x80000000) {
    SAT.qc = true;
    R.l = 0xffffffff;
    R.h = 0x7fffffff;
    return;
  }
  mul32(a, b, true);
  const l = R.l;
  R.h = (R.h << 1) | (l >>> 31);
  R.l = l << 1;
}

/** The 64-bit lane version: a, b extended 32-bit values (a wide (al, ah) for the W forms). */
function longOp64(kind: LongKind, signed: boolean): (al: number, ah: number, b: number, dl: number, dh: number) => void {
  switch (kind) {
    case "addl":
      return (a, _ah, b) => fromDouble(a + b);
    case "subl":
      return (a, _ah, b) => fromDouble(a - b);
    case "abdl":
      return (a, _ah, b) => fromDouble(Math.abs(a - b));
    case "addw":
      return (al, ah, b) => {
        fromDouble(b);
        add64(al, ah, R.l, R.h);
      };
    case "subw":
      return (al, ah, b) => {
        fromDouble(b);
        sub64(al, ah, R.l, R.h);
      };
    case "abal":
      return (a, _ah, b, dl, dh) => {
        fromDouble(Math.abs(a - b));
        add64(dl, dh, R.l, R.h);
      };
    case "mull":
      return (a, _ah, b) => mul32(a, b, signed);
    case "mlal":
      return (a, _ah, b, dl, dh) => {
        mul32(a, b, signed);
        add64(dl, dh, R.l, R.h);
      };
    case "mlsl":
      return (a, _ah, b, dl, dh) => {
        mul32(a, b, signed);
        sub64(dl, dh, R.l, R.h);
      };
    case "sqdmull":
      return (a, _ah, b) => sqdmull64(a, b);
    case "sqdmlal":
      return (a, _ah, b, dl, dh) => {
        sqdmull64(a, b);
        sqadd64(dl, dh, R.l, R.h);
      };
    case "sqdmlsl":
      return (a, _ah, b, dl, dh) => {
        sqdmull64(a, b);
        sub64(0, 0, R.l, R.h);
        sqadd64(dl, dh, R.l, R.h);
      };
    default:
      return (a, _ah, b) => clmul32(a, b);
  }
}

const scratchL = new Float64Array(16);
const scratchH = new Float64Array(16);

/**
 * Widening: lanes of 2*esize from esize sources (part = 1: their high halves); mIndex >= 0 uses element
 * mIndex of Vm for every lane (the by-element forms); scalar: one lane.
 */
function buildLong(kind: LongKind, signed: boolean, size: number, part: number, rd: number, rn: number, rm: number, mIndex: number, scalar: boolean): Exec {
  const lanes = scalar ? 1 : 8 >> size;
  const bits = 8 << size;
  const wide = kind === "addw" || kind === "subw";
  const per = 16 >> size;
  const n0 = rn * per + (wide ? 0 : part * lanes);
  const m0 = rm * per + (mIndex >= 0 ? mIndex : part * lanes);
  const mStep = mIndex >= 0 ? 0 : 1;
  const bytes = scalar ? 2 << size : 16;
  const wideN0 = rn * (per >> 1) + part * 0;
  if (size === 2) {
    const f = longOp64(kind, signed);
    const d0 = rd << 2;
    const nw = (rn << 2) + 0;
    const ext = signed ? (x: number) => x | 0 : (x: number) => x;
    return (c) => {
      c.checkFpEnabled();
      const S = wordsOf(c.vregs);
      SAT.qc = false;
      for (let i = 0; i < lanes; i++) {
        const b = ext(S[m0 + i * mStep]);
        if (wide) f(S[nw + 2 * i], S[nw + 2 * i + 1], b, 0, 0);
        else f(ext(S[n0 + i]), 0, b, S[d0 + 2 * i], S[d0 + 2 * i + 1]);
        scratchL[i] = R.l >>> 0;
        scratchH[i] = R.h >>> 0;
      }
      for (let i = 0; i < lanes; i++) {
        S[d0 + 2 * i] = scratchL[i];
        S[d0 + 2 * i + 1] = scratchH[i];
      }
      clearAbove(c.vregs, rd, bytes);
      if (SAT.qc) c.fpsr |= QC;
    };
  }
  const f = longOp32(kind, bits);
  const wbits = 2 * bits;
  const ext = signed && kind !== "pmull" ? (x: number) => sx(x, bits) : (x: number) => x;
  const extW = signed ? (x: number) => sx(x, wbits) : (x: number) => x;
  const d0 = rd * (per >> 1);
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    const W = lanesOf(c.vregs, size + 1);
    SAT.qc = false;
    for (let i = 0; i < lanes; i++) {
      const a = wide ? extW(W[wideN0 + i]) : ext(A[n0 + i]);
      scratchL[i] = f(a, ext(A[m0 + i * mStep]), W[d0 + i]);
    }
    for (let i = 0; i < lanes; i++) W[d0 + i] = scratchL[i];
    clearAbove(c.vregs, rd, bytes);
    if (SAT.qc) c.fpsr |= QC;
  };
}

/** ADDHN/RADDHN/SUBHN/RSUBHN: the high halves of 2*esize sums or differences. */
function buildHighNarrow(sub: boolean, round: boolean, size: number, part: number, rd: number, rn: number, rm: number): Exec {
  const lanes = 8 >> size;
  const bits = 8 << size;
  const per = 16 >> size;
  const d0 = rd * per + part * lanes;
  const bytes = part ? 16 : 8;
  if (size === 2) {
    const n0 = rn << 2;
    const m0 = rm << 2;
    return (c) => {
      c.checkFpEnabled();
      const S = wordsOf(c.vregs);
      for (let i = 0; i < lanes; i++) {
        if (sub) sub64(S[n0 + 2 * i], S[n0 + 2 * i + 1], S[m0 + 2 * i], S[m0 + 2 * i + 1]);
        else add64(S[n0 + 2 * i], S[n0 + 2 * i + 1], S[m0 + 2 * i], S[m0 + 2 * i + 1]);
        if (round) add64(R.l, R.h, 0x80000000, 0);
        scratchL[i] = R.h >>> 0;
      }
      for (let i = 0; i < lanes; i++) S[d0 + i] = scratchL[i];
      clearAbove(c.vregs, rd, bytes);
    };
  }
  const w0n = rn * (per >> 1);
  const w0m = rm * (per >> 1);
  const div = 2 ** bits;
  const half = round ? 2 ** (bits - 1) : 0;
  const mod = 2 ** (2 * bits);
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    const W = lanesOf(c.vregs, size + 1);
    for (let i = 0; i < lanes; i++) {
      let x = sub ? W[w0n + i] - W[w0m + i] : W[w0n + i] + W[w0m + i];
      if (x < 0) x += mod;
      scratchL[i] = Math.floor((x + half) / div);
    }
    for (let i = 0; i < lanes; i++) A[d0 + i] = scratchL[i];
    clearAbove(c.vregs, rd, bytes);
  };
}

/** PMULL/PMULL2 Vd.1Q, Vn.1D, Vm.1D: the 128-bit carry-less product. */
function buildPmull64(part: number, rd: number, rn: number, rm: number): Exec {
  const n0 = (rn << 2) + part * 2;
  const m0 = (rm << 2) + part * 2;
  const d0 = rd << 2;
  return (c) => {
    c.checkFpEnabled();
    const S = wordsOf(c.vregs);
    const a0 = S[n0];
    const a1 = S[n0 + 1];
    const b0 = S[m0];
    const b1 = S[m0 + 1];
    clmul32(a0, b0);
    const w0 = R.l;
    let w1 = R.h;
    clmul32(a0, b1);
    w1 ^= R.l;
    let w2 = R.h;
    clmul32(a1, b0);
    w1 ^= R.l;
    w2 ^= R.h;
    clmul32(a1, b1);
    w2 ^= R.l;
    const w3 = R.h;
    S[d0] = w0;
    S[d0 + 1] = w1;
    S[d0 + 2] = w2;
    S[d0 + 3] = w3;
  };
}

function buildDiff(f: Fields, scalar: boolean): Exec {
  const op = DIFF[f.u][f.opcode];
  const part = scalar ? 0 : f.q;
  if (op.kind === "addhn" || op.kind === "subhn") return buildHighNarrow(op.kind === "subhn", op.round === true, f.size, part, f.rd, f.rn, f.rm);
  if (op.kind === "pmull" && f.size === 3) return buildPmull64(part, f.rd, f.rn, f.rm);
  return buildLong(op.kind, f.u === 0, f.size, part, f.rd, f.rn, f.rm, -1, scalar);
}

function diffText(f: Fields, scalar: boolean): string {
  const op = DIFF[f.u][f.opcode];
  const { size, q, rd, rn, rm } = f;
  if (scalar) return `${op.name}\t${sreg(rd, size + 1)}, ${sreg(rn, size)}, ${sreg(rm, size)}`;
  const two = q ? "2" : "";
  const wideArr = size === 3 ? "1q" : arr(size + 1, 1);
  const narrow = size === 3 ? (q ? "2d" : "1d") : arr(size, q);
  if (op.kind === "addhn" || op.kind === "subhn") return `${op.name}${two}\t${vreg(rd, size, q)}, v${rn}.${arr(size + 1, 1)}, v${rm}.${arr(size + 1, 1)}`;
  if (op.kind === "addw" || op.kind === "subw") return `${op.name}${two}\tv${rd}.${wideArr}, v${rn}.${wideArr}, v${rm}.${narrow}`;
  return `${op.name}${two}\tv${rd}.${wideArr}, v${rn}.${narrow}, v${rm}.${narrow}`;
}

// ---- by element -----------------------------------------------------------------------------------------

interface ElemOp {
  name: string;
  kind: LongKind | "mul" | "mla" | "mls" | "sqdmulh" | "sqrdmulh";
  scalar: boolean;
}
const ELEM_OPS: Record<number, ElemOp>[] = [
  {
    0b0010: { name: "smlal", kind: "mlal", scalar: false },
    0b0011: { name: "sqdmlal", kind: "sqdmlal", scalar: true },
    0b0110: { name: "smlsl", kind: "mlsl", scalar: false },
    0b0111: { name: "sqdmlsl", kind: "sqdmlsl", scalar: true },
    0b1000: { name: "mul", kind: "mul", scalar: false },
    0b1010: { name: "smull", kind: "mull", scalar: false },
    0b1011: { name: "sqdmull", kind: "sqdmull", scalar: true },
    0b1100: { name: "sqdmulh", kind: "sqdmulh", scalar: true },
    0b1101: { name: "sqrdmulh", kind: "sqrdmulh", scalar: true },
  },
  {
    0b0000: { name: "mla", kind: "mla", scalar: false },
    0b0010: { name: "umlal", kind: "mlal", scalar: false },
    0b0100: { name: "mls", kind: "mls", scalar: false },
    0b0110: { name: "umlsl", kind: "mlsl", scalar: false },
    0b1010: { name: "umull", kind: "mull", scalar: false },
  },
];
const isLongElem = (k: ElemOp["kind"]) => !["mul", "mla", "mls", "sqdmulh", "sqrdmulh"].includes(k);

function elemIndex(f: Fields): { index: number; rm: number } {
  if (f.size === 1) return { index: (f.h << 2) | (f.l << 1) | f.m, rm: f.rm };
  return { index: (f.h << 1) | f.l, rm: (f.m << 4) | f.rm };
}

function buildByElement(f: Fields, scalar: boolean): Exec {
  const op = ELEM_OPS[f.u][f.opcode];
  const { index, rm } = elemIndex(f);
  const size = f.size;
  const bits = 8 << size;
  if (isLongElem(op.kind)) return buildLong(op.kind as LongKind, f.u === 0, size, scalar ? 0 : f.q, f.rd, f.rn, rm, index, scalar);
  const lanes = scalar ? 1 : (f.q ? 16 : 8) >> size;
  let fn: (a: number, b: number, d: number) => number;
  switch (op.kind) {
    case "mul":
      fn = (a, b) => Math.imul(a, b);
      break;
    case "mla":
      fn = (a, b, d) => d + Math.imul(a, b);
      break;
    case "mls":
      fn = (a, b, d) => d - Math.imul(a, b);
      break;
    default:
      fn = doublingMulHigh(bits, op.kind === "sqrdmulh");
  }
  return elementwise(size, lanes, f.rd, f.rn, rm, index, fn, undefined);
}

function elemText(f: Fields, scalar: boolean): string {
  const op = ELEM_OPS[f.u][f.opcode];
  const { index, rm } = elemIndex(f);
  const { size, q, rd, rn } = f;
  const el = `v${rm}.${ELEM[size]}[${index}]`;
  const long = isLongElem(op.kind);
  if (scalar) return `${op.name}\t${sreg(rd, long ? size + 1 : size)}, ${sreg(rn, size)}, ${el}`;
  if (long) return `${op.name}${q ? "2" : ""}\tv${rd}.${arr(size + 1, 1)}, ${vreg(rn, size, q)}, ${el}`;
  return `${op.name}\t${vreg(rd, size, q)}, ${vreg(rn, size, q)}, ${el}`;
}

export const SIMD_INT_LONG: InsnSpec[] = [
  {
    name: "SIMD_three_different",
    pattern: "0 q:1 u:1 01110 size:2 1 rm:5 opcode:4 00 rn:5 rd:5",
    guard: (f) => {
      const op = DIFF[f.u][f.opcode];
      return op !== undefined && ((op.sizes >> f.size) & 1) === 1;
    },
    build: (f) => buildDiff(f, false),
    disasm: (f) => diffText(f, false),
  },
  {
    name: "SIMD_scalar_three_different",
    pattern: "01 0 11110 size:2 1 rm:5 opcode:4 00 rn:5 rd:5",
    guard: (f) => SCALAR_DIFF.has(f.opcode) && (f.size === 1 || f.size === 2),
    build: (f) => buildDiff({ ...f, u: 0, q: 0 }, true),
    disasm: (f) => diffText({ ...f, u: 0 }, true),
  },
  {
    name: "SIMD_by_element",
    pattern: "0 q:1 u:1 01111 size:2 l:1 m:1 rm:4 opcode:4 h:1 0 rn:5 rd:5",
    guard: (f) => ELEM_OPS[f.u][f.opcode] !== undefined && (f.size === 1 || f.size === 2),
    build: (f) => buildByElement(f, false),
    disasm: (f) => elemText(f, false),
  },
  {
    name: "SIMD_scalar_by_element",
    pattern: "01 u:1 11111 size:2 l:1 m:1 rm:4 opcode:4 h:1 0 rn:5 rd:5",
    guard: (f) => ELEM_OPS[f.u][f.opcode]?.scalar === true && (f.size === 1 || f.size === 2),
    build: (f) => buildByElement({ ...f, q: 0 }, true),
    disasm: (f) => elemText(f, true),
  },
];

// Advanced SIMD integer shift by immediate, vector and scalar: SSHR/USHR, SSRA/USRA, SRSHR/URSHR, SRSRA/URSRA,
// SRI, SHL, SLI, SQSHLU, SQSHL/UQSHL (immediate), the narrowing SHRN/RSHRN, SQSHRN/UQSHRN, SQRSHRN/UQRSHRN,
// SQSHRUN/SQRSHRUN, and SSHLL/USHLL (UXTL/SXTL). immh:immb encodes the element size (highest set bit of
// immh) and the shift: 2*esize - immh:immb to the right, immh:immb - esize to the left.

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { R, add64, rshr64, satNarrow64, satShl64, shl64, shr64, clearAbove, fromDouble, lanesOf, saturator, sx, vreg, sreg, arr, wordsOf, type Op32, type Op64, SAT, QC } from "./simd-int-lanes.js";
import { elementwise } from "./simd-int-same.js";
import { fastShrnHalves } from "./simd-int-fast.js";

type Kind = "shr" | "sra" | "sri" | "shl" | "sli" | "qshlu" | "qshl" | "narrow" | "long";

interface ShiftOp {
  name: string;
  kind: Kind;
  round?: boolean;
  /** Narrowing: the source is signed; the result is signed; it saturates. */
  signed?: boolean;
  toSigned?: boolean;
  sat?: boolean;
  /** Which forms exist. */
  vector: boolean;
  scalar: boolean;
}

function shiftOps(u: number): Record<number, ShiftOp> {
  const s = u === 0;
  const p = s ? "s" : "u";
  const ops: Record<number, ShiftOp> = {
    0b00000: { name: `${p}shr`, kind: "shr", vector: true, scalar: true },
    0b00010: { name: `${p}sra`, kind: "sra", vector: true, scalar: true },
    0b00100: { name: `${p}rshr`, kind: "shr", round: true, vector: true, scalar: true },
    0b00110: { name: `${p}rsra`, kind: "sra", round: true, vector: true, scalar: true },
    0b01010: { name: s ? "shl" : "sli", kind: s ? "shl" : "sli", vector: true, scalar: true },
    0b01110: { name: `${p}qshl`, kind: "qshl", vector: true, scalar: true },
    0b10010: { name: `${p}qshrn`, kind: "narrow", signed: s, toSigned: s, sat: true, vector: true, scalar: true },
    0b10011: { name: `${p}qrshrn`, kind: "narrow", round: true, signed: s, toSigned: s, sat: true, vector: true, scalar: true },
    0b10100: { name: `${p}shll`, kind: "long", vector: true, scalar: false },
  };
  if (s) {
    ops[0b10000] = { name: "shrn", kind: "narrow", signed: false, toSigned: false, sat: false, vector: true, scalar: false };
    ops[0b10001] = { name: "rshrn", kind: "narrow", round: true, signed: false, toSigned: false, sat: false, vector: true, scalar: false };
  } else {
    ops[0b01000] = { name: "sri", kind: "sri", vector: true, scalar: true };
    ops[0b01100] = { name: "sqshlu", kind: "qshlu", vector: true, scalar: true };
    ops[0b10000] = { name: "sqshrun", kind: "narrow", signed: true, toSigned: false, sat: true, vector: true, scalar: true };
    ops[0b10001] = { name: "sqrshrun", kind: "narrow", round: true, signed: true, toSigned: false, sat: true, vector: true, scalar: true };
  }
  return ops;
}
const OPS = [shiftOps(0), shiftOps(1)];

/** Element size (0-3) from immh (non-zero). */
const sizeOf = (immh: number) => 31 - Math.clz32(immh);
const isNarrowing = (k: Kind) => k === "narrow" || k === "long";

function valid(f: Fields, scalar: boolean): boolean {
  if (f.immh === 0) return false;
  const op = OPS[f.u][f.opcode];
  if (!op || !(scalar ? op.scalar : op.vector)) return false;
  const size = sizeOf(f.immh);
  if (isNarrowing(op.kind)) return size < 3;
  if (scalar) return op.kind === "qshl" || op.kind === "qshlu" || size === 3;
  return size < 3 || f.q === 1;
}

/** The element operation for `bits`-bit lanes (<= 32) and a shift amount. */
function op32(op: ShiftOp, bits: number, shift: number, signed: boolean): Op32 {
  const sh = 32 - bits;
  const val = signed ? (x: number) => (x << sh) >> sh : (x: number) => x;
  const div = 2 ** shift;
  const half = op.round ? 2 ** (shift - 1) : 0;
  switch (op.kind) {
    case "shr":
      return (a) => Math.floor((val(a) + half) / div);
    case "sra":
      return (a, _b, d) => d + Math.floor((val(a) + half) / div);
    case "sri": {
      const mask = shift >= bits ? 0 : (bits === 32 ? 0xffffffff : (1 << bits) - 1) >>> shift;
      return (a, _b, d) => (d & ~mask) | (shift >= bits ? 0 : a >>> shift);
    }
    case "shl":
      return (a) => a << shift;
    case "sli": {
      const mask = ((bits === 32 ? 0xffffffff : (1 << bits) - 1) << shift) >>> 0;
      return (a, _b, d) => (d & ~mask) | (a << shift);
    }
    case "qshlu": {
      const c = saturator(bits, false);
      return (a) => c(sx(a, bits) * div);
    }
    default: {
      const c = saturator(bits, signed);
      return (a) => c(val(a) * div);
    }
  }
}

function op64(op: ShiftOp, shift: number, signed: boolean): Op64 {
  switch (op.kind) {
    case "shr":
      if (!op.round) return (al, ah) => shr64(al, ah, shift, signed);
      return (al, ah) => rshr64(al, ah, shift, signed);
    case "sra":
      if (!op.round)
        return (al, ah, _bl, _bh, dl, dh) => {
          shr64(al, ah, shift, signed);
          add64(dl, dh, R.l, R.h);
        };
      return (al, ah, _bl, _bh, dl, dh) => {
        rshr64(al, ah, shift, signed);
        add64(dl, dh, R.l, R.h);
      };
    case "sri": {
      // Keep the top `shift` bits of Vd, insert Vn >> shift below them.
      shl64(-1, -1, 64 - shift);
      const keepL = R.l;
      const keepH = R.h;
      return (al, ah, _bl, _bh, dl, dh) => {
        shr64(al, ah, shift, false);
        R.l = (dl & keepL) | R.l;
        R.h = (dh & keepH) | R.h;
      };
    }
    case "shl":
      return (al, ah) => {
        if (shift === 0) {
          R.l = al;
          R.h = ah;
        } else if (shift >= 32) {
          R.h = al << (shift - 32);
          R.l = 0;
        } else {
          R.h = (ah << shift) | (al >>> (32 - shift));
          R.l = al << shift;
        }
      };
    case "sli": {
      // Keep the low `shift` bits of Vd, insert Vn << shift above them.
      shr64(-1, -1, 64 - shift, false);
      const keepL = R.l;
      const keepH = R.h;
      return (al, ah, _bl, _bh, dl, dh) => {
        shl64(al, ah, shift);
        R.l = (dl & keepL) | R.l;
        R.h = (dh & keepH) | R.h;
      };
    }
    case "qshlu":
      return (al, ah) => satShl64(al, ah, shift, true, false);
    default:
      return (al, ah) => satShl64(al, ah, shift, signed, signed);
  }
}

const scratch = new Float64Array(16);

/** Narrowing shifts: 2*esize source lanes shifted right, truncated or saturated to esize. */
function buildNarrowShift(op: ShiftOp, size: number, shift: number, q: number, rd: number, rn: number, scalar: boolean): Exec {
  const lanes = scalar ? 1 : 8 >> size;
  const per = 16 >> size;
  const d0 = rd * per + (q && !scalar ? lanes : 0);
  const bits = 8 << size;
  const bytesKept = scalar ? 1 << size : q ? 16 : 8;
  const signed = op.signed!;
  const clamp = op.sat ? saturator(bits, op.toSigned!) : (x: number) => x;
  const div = 2 ** shift;
  const half = op.round ? 2 ** (shift - 1) : 0;
  if (size === 2) {
    // 64-bit sources.
    const n0 = rn << 2;
    const round = op.round === true;
    const sat = op.sat === true;
    const toSigned = op.toSigned === true;
    return (c) => {
      c.checkFpEnabled();
      const S = wordsOf(c.vregs);
      SAT.qc = false;
      for (let i = 0; i < lanes; i++) {
        const l = S[n0 + 2 * i];
        const h = S[n0 + 2 * i + 1];
        if (round) rshr64(l, h, shift, signed);
        else shr64(l, h, shift, signed);
        scratch[i] = sat ? satNarrow64(R.l, R.h, signed, toSigned) : R.l >>> 0;
      }
      for (let i = 0; i < lanes; i++) S[d0 + i] = scratch[i];
      clearAbove(c.vregs, rd, bytesKept);
      if (SAT.qc) c.fpsr |= QC;
    };
  }
  const wbits = 2 * bits;
  const n0 = rn * (16 >> (size + 1));
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    const W = lanesOf(c.vregs, size + 1);
    SAT.qc = false;
    for (let i = 0; i < lanes; i++) {
      const x = signed ? sx(W[n0 + i], wbits) : W[n0 + i];
      scratch[i] = clamp(Math.floor((x + half) / div));
    }
    for (let i = 0; i < lanes; i++) A[d0 + i] = scratch[i];
    clearAbove(c.vregs, rd, bytesKept);
    if (SAT.qc) c.fpsr |= QC;
  };
}

/** SSHLL/USHLL: the low (Q = 0) or high half widened and shifted left. */
function buildLongShift(size: number, shift: number, q: number, rd: number, rn: number, signed: boolean): Exec {
  const lanes = 8 >> size;
  const bits = 8 << size;
  const n0 = rn * (16 >> size) + (q ? lanes : 0);
  const mul = 2 ** shift;
  if (size === 2)
    return (c) => {
      c.checkFpEnabled();
      const S = wordsOf(c.vregs);
      for (let i = 0; i < lanes; i++) scratch[i] = (signed ? S[n0 + i] | 0 : S[n0 + i]) * mul;
      for (let i = 0; i < lanes; i++) {
        fromDouble(scratch[i]);
        S[(rd << 2) + 2 * i] = R.l;
        S[(rd << 2) + 2 * i + 1] = R.h;
      }
    };
  const d0 = rd * (16 >> (size + 1));
  return (c) => {
    c.checkFpEnabled();
    const A = lanesOf(c.vregs, size);
    const W = lanesOf(c.vregs, size + 1);
    for (let i = 0; i < lanes; i++) scratch[i] = (signed ? sx(A[n0 + i], bits) : A[n0 + i]) * mul;
    for (let i = 0; i < lanes; i++) W[d0 + i] = scratch[i];
  };
}

function build(f: Fields, scalar: boolean): Exec {
  const op = OPS[f.u][f.opcode];
  const size = sizeOf(f.immh);
  const esize = 8 << size;
  const immhb = (f.immh << 3) | f.immb;
  const left = op.kind === "shl" || op.kind === "sli" || op.kind === "qshl" || op.kind === "qshlu" || op.kind === "long";
  const shift = left ? immhb - esize : 2 * esize - immhb;
  const signed = f.u === 0;
  if (op.kind === "narrow" && op.name === "shrn" && size === 0 && !scalar) return fastShrnHalves(shift, f.q, f.rd, f.rn);
  if (op.kind === "narrow") return buildNarrowShift(op, size, shift, scalar ? 0 : f.q, f.rd, f.rn, scalar);
  if (op.kind === "long") return buildLongShift(size, shift, f.q, f.rd, f.rn, signed);
  const lanes = scalar ? 1 : (f.q ? 16 : 8) >> size;
  return elementwise(size, lanes, f.rd, f.rn, f.rn, -1, size < 3 ? op32(op, esize, shift, signed) : undefined, size === 3 ? op64(op, shift, signed) : undefined);
}

function text(f: Fields, scalar: boolean): string {
  const op = OPS[f.u][f.opcode];
  const size = sizeOf(f.immh);
  const esize = 8 << size;
  const immhb = (f.immh << 3) | f.immb;
  const left = ["shl", "sli", "qshl", "qshlu", "long"].includes(op.kind);
  const shift = left ? immhb - esize : 2 * esize - immhb;
  if (scalar) {
    if (op.kind === "narrow") return `${op.name}\t${sreg(f.rd, size)}, ${sreg(f.rn, size + 1)}, #${shift}`;
    return `${op.name}\t${sreg(f.rd, size)}, ${sreg(f.rn, size)}, #${shift}`;
  }
  const two = f.q ? "2" : "";
  if (op.kind === "narrow") return `${op.name}${two}\t${vreg(f.rd, size, f.q)}, v${f.rn}.${arr(size + 1, 1)}, #${shift}`;
  if (op.kind === "long") {
    if (shift === 0) return `${f.u ? "uxtl" : "sxtl"}${two}\tv${f.rd}.${arr(size + 1, 1)}, ${vreg(f.rn, size, f.q)}`;
    return `${op.name}${two}\tv${f.rd}.${arr(size + 1, 1)}, ${vreg(f.rn, size, f.q)}, #${shift}`;
  }
  return `${op.name}\t${vreg(f.rd, size, f.q)}, ${vreg(f.rn, size, f.q)}, #${shift}`;
}

export const SIMD_INT_SHIFT: InsnSpec[] = [
  {
    name: "SIMD_shift_imm",
    pattern: "0 q:1 u:1 011110 immh:4 immb:3 opcode:5 1 rn:5 rd:5",
    guard: (f) => valid(f, false),
    build: (f) => build(f, false),
    disasm: (f) => text(f, false),
  },
  {
    name: "SIMD_scalar_shift_imm",
    pattern: "01 u:1 111110 immh:4 immb:3 opcode:5 1 rn:5 rd:5",
    guard: (f) => valid(f, true),
    build: (f) => build({ ...f, q: 0 }, true),
    disasm: (f) => text(f, true),
  },
];

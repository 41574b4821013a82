// Scalar floating point (ARMv8.0, single and double precision; half precision only as FCVT's source or
// destination): data processing with one, two and three sources, compares, conditional compare and select,
// conversions between FP precisions and to and from general registers (incl. fixed point). The arithmetic is
// the soft-float core in ../fp/ (exact Arm ARM semantics, FPCR rounding/FZ/DN/AHP, FPSR cumulative flags).
//
// Every executor calls checkFpEnabled() first, clears fpst.flags, reads all its operands before writing, ORs
// the flags into FPSR, and writes scalars zeroing the rest of the 128-bit register.

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { COND_NAMES, reg } from "../disasm-util.js";
import { Rounding, fpst } from "../fp/softfloat.js";
import {
  cmp32,
  cmp64,
  convert,
  fixedToF32,
  fixedToF64,
  fma32,
  fma64,
  rint32,
  rint64,
  sqrt32,
  sqrt64,
  toFixed,
  val32,
  val64,
} from "../fp/ops.js";
import { FP_SIMD } from "./fp-simd.js";
import { op2Double, op2Single } from "./fp-common.js";

const SIGN = 0x80000000 | 0;

/** Register name for FP type field ftype (0 S, 1 D, 3 H). */
export const fpReg = (ftype: number, r: number) => `${ftype === 0 ? "s" : ftype === 1 ? "d" : "h"}${r}`;

function wS(v: Int32Array, d: number, x: number): void {
  v[d] = x;
  v[d + 1] = 0;
  v[d + 2] = 0;
  v[d + 3] = 0;
}
function wD(v: Int32Array, d: number, lo: number, hi: number): void {
  v[d] = lo;
  v[d + 1] = hi;
  v[d + 2] = 0;
  v[d + 3] = 0;
}

// ---- two sources ----------------------------------------------------------------------------------------

const OP2_NAMES = ["fmul", "fdiv", "fadd", "fsub", "fmax", "fmin", "fmaxnm", "fminnm", "fnmul"];

function build2(f: Fields): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const m = f.rm << 2;
  if (f.ftype === 0) {
    const op = op2Single(f.opcode);
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      fpst.flags = 0;
      const r = op(v[n], v[m], c.fpcr);
      c.fpsr |= fpst.flags;
      wS(v, d, r);
    };
  }
  const op = op2Double(f.opcode);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    fpst.flags = 0;
    const lo = op(v[n], v[n + 1], v[m], v[m + 1], c.fpcr);
    c.fpsr |= fpst.flags;
    wD(v, d, lo, fpst.hi);
  };
}

// ---- one source -----------------------------------------------------------------------------------------

const RINT_NAMES: Record<number, string> = { 8: "frintn", 9: "frintp", 10: "frintm", 11: "frintz", 12: "frinta", 14: "frintx", 15: "frinti" };
const RINT_MODE: Record<number, Rounding> = { 8: Rounding.TieEven, 9: Rounding.PosInf, 10: Rounding.NegInf, 11: Rounding.Zero, 12: Rounding.TieAway };

function guard1(f: Fields): boolean {
  const t = f.ftype;
  const o = f.opcode;
  if (t === 3) return o === 4 || o === 5;
  if (t === 2) return false;
  if (o >= 1 && o <= 3) return true;
  if (o >= 4 && o <= 7) return o !== 6 && (o & 3) !== t;
  return o >= 8 && o <= 15 && o !== 13;
}

function name1(f: Fields): string {
  const o = f.opcode;
  if (o >= 4 && o <= 7) return "fcvt";
  return o >= 8 ? RINT_NAMES[o] : ["fmov", "fabs", "fneg", "fsqrt"][o];
}

function build1(f: Fields): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const o = f.opcode;
  const dbl = f.ftype === 1;
  if (o === 1 || o === 2) {
    const and = o === 1 ? 0x7fffffff : -1;
    const xor = o === 2 ? SIGN : 0;
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      if (dbl) wD(v, d, v[n], (v[n + 1] & and) ^ xor);
      else wS(v, d, (v[n] & and) ^ xor);
    };
  }
  if (o >= 4 && o <= 7) {
    const from = f.ftype;
    const to = o & 3;
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      fpst.flags = 0;
      const lo = convert(from, to, from === 3 ? v[n] & 0xffff : v[n], v[n + 1], c.fpcr);
      c.fpsr |= fpst.flags;
      if (to === 1) wD(v, d, lo, fpst.hi);
      else wS(v, d, lo);
    };
  }
  // FSQRT and FRINT*
  const fixed = RINT_MODE[o];
  const exact = o === 14;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const fpcr = c.fpcr;
    fpst.flags = 0;
    if (o === 3) {
      if (dbl) wD(v, d, sqrt64(v[n], v[n + 1], fpcr), fpst.hi);
      else wS(v, d, sqrt32(v[n], fpcr));
    } else {
      const rounding = fixed ?? (fpcr >>> 22) & 3;
      if (dbl) wD(v, d, rint64(v[n], v[n + 1], fpcr, rounding, exact), fpst.hi);
      else wS(v, d, rint32(v[n], fpcr, rounding, exact));
    }
    c.fpsr |= fpst.flags;
  };
}

function disasm1(f: Fields): string {
  const o = f.opcode;
  const dst = o >= 4 && o <= 7 ? fpReg(o & 3, f.rd) : fpReg(f.ftype, f.rd);
  return `${name1(f)}\t${dst}, ${fpReg(f.ftype, f.rn)}`;
}

// ---- three sources --------------------------------------------------------------------------------------

const OP3_NAMES = ["fmadd", "fmsub", "fnmadd", "fnmsub"];

function build3(f: Fields): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const m = f.rm << 2;
  const a = f.ra << 2;
  const op = (f.o1 << 1) | f.o0;
  // FMSUB: -n; FNMADD: -a, -n; FNMSUB: -a (FPNeg of the operands, before NaN processing).
  const negN = op === 1 || op === 2 ? SIGN : 0;
  const negA = op >= 2 ? SIGN : 0;
  if (f.ftype === 0)
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      fpst.flags = 0;
      const r = fma32(v[a] ^ negA, v[n] ^ negN, v[m], c.fpcr);
      c.fpsr |= fpst.flags;
      wS(v, d, r);
    };
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    fpst.flags = 0;
    const lo = fma64(v[a], v[a + 1] ^ negA, v[n], v[n + 1] ^ negN, v[m], v[m + 1], c.fpcr);
    c.fpsr |= fpst.flags;
    wD(v, d, lo, fpst.hi);
  };
}

// ---- compare, conditional compare, conditional select ---------------------------------------------------

function buildCmp(f: Fields): Exec {
  const n = f.rn << 2;
  const m = f.rm << 2;
  const zero = (f.opc & 1) === 1;
  const signal = (f.opc & 2) !== 0;
  const dbl = f.ftype === 1;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    fpst.flags = 0;
    const y0 = zero ? 0 : v[m];
    c.nzcv = dbl ? cmp64(v[n], v[n + 1], y0, zero ? 0 : v[m + 1], c.fpcr, signal) : cmp32(v[n], y0, c.fpcr, signal);
    c.fpsr |= fpst.flags;
  };
}

function buildCcmp(f: Fields): Exec {
  const n = f.rn << 2;
  const m = f.rm << 2;
  const signal = f.op === 1;
  const dbl = f.ftype === 1;
  const cond = f.cond;
  const imm = f.nzcv;
  return (c) => {
    c.checkFpEnabled();
    if (!c.condition(cond)) {
      c.nzcv = imm;
      return;
    }
    const v = c.vregs;
    fpst.flags = 0;
    c.nzcv = dbl ? cmp64(v[n], v[n + 1], v[m], v[m + 1], c.fpcr, signal) : cmp32(v[n], v[m], c.fpcr, signal);
    c.fpsr |= fpst.flags;
  };
}

function buildCsel(f: Fields): Exec {
  const d = f.rd << 2;
  const n = f.rn << 2;
  const m = f.rm << 2;
  const dbl = f.ftype === 1;
  const cond = f.cond;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const s = c.condition(cond) ? n : m;
    if (dbl) wD(v, d, v[s], v[s + 1]);
    else wS(v, d, v[s]);
  };
}

// ---- conversions to and from general registers ----------------------------------------------------------

/** FP -> integer rows: name and rounding for rmode:opcode (opcode 0/1; 4/5 = ties away). */
function cvtName(rmode: number, opcode: number): string {
  if (opcode === 2 || opcode === 3) return opcode === 2 ? "scvtf" : "ucvtf";
  const u = opcode & 1 ? "u" : "s";
  if (opcode >= 4) return `fcvta${u}`;
  return `fcvt${"npmz"[rmode]}${u}`;
}

function buildCvt(f: Fields, fbits: number): Exec {
  const d = f.rd;
  const n = f.rn;
  const is64 = f.sf === 1;
  const dbl = f.ftype === 1;
  const unsigned = (f.opcode & 1) === 1;
  if (f.opcode === 2 || f.opcode === 3) {
    const dst = d << 2;
    return (c) => {
      c.checkFpEnabled();
      const lo = n === 31 ? 0 : c.xlo[n];
      const hi = n === 31 ? 0 : c.xhi[n];
      const v = c.vregs;
      fpst.flags = 0;
      if (dbl) wD(v, dst, fixedToF64(lo, hi, is64, unsigned, fbits, c.fpcr), fpst.hi);
      else wS(v, dst, fixedToF32(lo, hi, is64, unsigned, fbits, c.fpcr));
      c.fpsr |= fpst.flags;
    };
  }
  const rounding: Rounding = f.opcode >= 4 ? Rounding.TieAway : f.rmode;
  const src = n << 2;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    fpst.flags = 0;
    const x = dbl ? val64(v[src], v[src + 1], c.fpcr) : val32(v[src], c.fpcr);
    const lo = toFixed(x, fbits, unsigned, is64, rounding);
    c.fpsr |= fpst.flags;
    if (d === 31) return;
    c.xlo[d] = lo;
    c.xhi[d] = is64 ? fpst.hi : 0;
  };
}

function disasmCvt(f: Fields, fbits?: number): string {
  const name = cvtName(f.rmode, f.opcode);
  const g = reg(f.opcode === 2 || f.opcode === 3 ? f.rn : f.rd, f.sf);
  const fr = fpReg(f.ftype, f.opcode === 2 || f.opcode === 3 ? f.rd : f.rn);
  const ops = f.opcode === 2 || f.opcode === 3 ? `${fr}, ${g}` : `${g}, ${fr}`;
  return `${name}\t${ops}${fbits === undefined ? "" : `, #${fbits}`}`;
}

const SCALAR: InsnSpec[] = [
  {
    name: "FP_dp2",
    pattern: "0 0 0 11110 ftype:2 1 rm:5 opcode:4 10 rn:5 rd:5",
    guard: (f) => f.ftype < 2 && f.opcode <= 8,
    build: build2,
    disasm: (f) => `${OP2_NAMES[f.opcode]}\t${fpReg(f.ftype, f.rd)}, ${fpReg(f.ftype, f.rn)}, ${fpReg(f.ftype, f.rm)}`,
  },
  {
    name: "FP_dp1",
    pattern: "0 0 0 11110 ftype:2 1 opcode:6 10000 rn:5 rd:5",
    guard: guard1,
    build: build1,
    disasm: disasm1,
  },
  {
    name: "FP_dp3",
    pattern: "0 0 0 11111 ftype:2 o1:1 rm:5 o0:1 ra:5 rn:5 rd:5",
    guard: (f) => f.ftype < 2,
    build: build3,
    disasm: (f) =>
      `${OP3_NAMES[(f.o1 << 1) | f.o0]}\t${fpReg(f.ftype, f.rd)}, ${fpReg(f.ftype, f.rn)}, ${fpReg(f.ftype, f.rm)}, ${fpReg(f.ftype, f.ra)}`,
  },
  {
    name: "FP_cmp",
    pattern: "0 0 0 11110 ftype:2 1 rm:5 00 1000 rn:5 opc:2 000",
    guard: (f) => f.ftype < 2,
    build: buildCmp,
    disasm: (f) => `${f.opc & 2 ? "fcmpe" : "fcmp"}\t${fpReg(f.ftype, f.rn)}, ${f.opc & 1 ? "#0.0" : fpReg(f.ftype, f.rm)}`,
  },
  {
    name: "FP_ccmp",
    pattern: "0 0 0 11110 ftype:2 1 rm:5 cond:4 01 rn:5 op:1 nzcv:4",
    guard: (f) => f.ftype < 2,
    build: buildCcmp,
    disasm: (f) => `${f.op ? "fccmpe" : "fccmp"}\t${fpReg(f.ftype, f.rn)}, ${fpReg(f.ftype, f.rm)}, #0x${f.nzcv.toString(16)}, ${COND_NAMES[f.cond]}`,
  },
  {
    name: "FP_csel",
    pattern: "0 0 0 11110 ftype:2 1 rm:5 cond:4 11 rn:5 rd:5",
    guard: (f) => f.ftype < 2,
    build: buildCsel,
    disasm: (f) => `fcsel\t${fpReg(f.ftype, f.rd)}, ${fpReg(f.ftype, f.rn)}, ${fpReg(f.ftype, f.rm)}, ${COND_NAMES[f.cond]}`,
  },
  {
    name: "FP_cvt_int",
    pattern: "sf:1 0 0 11110 ftype:2 1 rmode:2 opcode:3 000000 rn:5 rd:5",
    guard: (f) => f.ftype < 2 && (f.opcode < 2 || (f.rmode === 0 && f.opcode < 6)),
    build: (f) => buildCvt(f, 0),
    disasm: (f) => disasmCvt(f),
  },
  {
    name: "FP_cvt_fixed",
    pattern: "sf:1 0 0 11110 ftype:2 0 rmode:2 opcode:3 scale:6 rn:5 rd:5",
    guard: (f) =>
      f.ftype < 2 && ((f.rmode === 0 && (f.opcode === 2 || f.opcode === 3)) || (f.rmode === 3 && f.opcode < 2)) && (f.sf === 1 || f.scale >= 32),
    build: (f) => buildCvt(f, 64 - f.scale),
    disasm: (f) => disasmCvt(f, 64 - f.scale),
  },
];

export const FP: readonly InsnSpec[] = [...SCALAR, ...FP_SIMD];

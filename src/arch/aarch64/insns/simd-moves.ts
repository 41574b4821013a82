// FP/SIMD register moves that compilers emit in integer code: the Advanced SIMD modified-immediate class
// (MOVI, MVNI, ORR/BIC immediate, FMOV vector immediate), the copy class (DUP, INS, UMOV, SMOV and the scalar
// DUP alias MOV Bd, Vn.B[i]), FMOV between general and FP registers, FMOV register and immediate (scalar), and
// the vector bitwise ops (AND, BIC, ORR/MOV, ORN, EOR, BSL, BIT, BIF).
//
// Vectors are cpu.vregs words: register d is words 4d..4d+3, word 0 least significant. Every executor calls
// checkFpEnabled() before touching a V register. Writes of 64-bit (Q = 0) vectors and of scalars zero the rest
// of the 128-bit register; INS and FMOV Vd.D[1] change only their element.

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { gprName } from "./load-store-common.js";

// ---- immediates -----------------------------------------------------------------------------------------

/** VFPExpandImm for single precision: the 32-bit pattern. */
export function vfpExpandImm32(imm8: number): number {
  const sign = (imm8 >> 7) & 1;
  const b6 = (imm8 >> 6) & 1;
  const exp = ((b6 ^ 1) << 7) | (b6 ? 0x7c : 0) | ((imm8 >> 4) & 3);
  return ((sign << 31) | (exp << 23) | ((imm8 & 0xf) << 19)) >>> 0;
}

/** VFPExpandImm for double precision: the high word (the low word is zero). */
export function vfpExpandImm64Hi(imm8: number): number {
  const sign = (imm8 >> 7) & 1;
  const b6 = (imm8 >> 6) & 1;
  const exp = ((b6 ^ 1) << 10) | (b6 ? 0x3fc : 0) | ((imm8 >> 4) & 3);
  return ((sign << 31) | (exp << 20) | ((imm8 & 0xf) << 16)) >>> 0;
}

/** AdvSIMDExpandImm(op, cmode, imm8) as [lo, hi] 32-bit words (unsigned). */
export function advSimdExpandImm(op: number, cmode: number, imm8: number): [number, number] {
  let w: number;
  switch (cmode >> 1) {
    case 0:
      w = imm8;
      break;
    case 1:
      w = imm8 << 8;
      break;
    case 2:
      w = imm8 << 16;
      break;
    case 3:
      w = imm8 << 24;
      break;
    case 4:
      w = imm8 | (imm8 << 16);
      break;
    case 5:
      w = (imm8 << 8) | (imm8 << 24);
      break;
    case 6:
      w = cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff;
      break;
    default:
      if ((cmode & 1) === 0 && op === 0) w = imm8 * 0x01010101;
      else if ((cmode & 1) === 0) {
        // 64-bit byte mask: bit i of imm8 sets byte i.
        let lo = 0;
        let hi = 0;
        for (let i = 0; i < 4; i++) {
          if ((imm8 >> i) & 1) lo |= 0xff << (8 * i);
          if ((imm8 >> (i + 4)) & 1) hi |= 0xff << (8 * i);
        }
        return [lo >>> 0, hi >>> 0];
      } else if (op === 0) w = vfpExpandImm32(imm8);
      else return [0, vfpExpandImm64Hi(imm8)];
  }
  return [w >>> 0, w >>> 0];
}

// ---- modified immediate ---------------------------------------------------------------------------------

const enum ImmOp {
  Movi,
  Mvni,
  Orr,
  Bic,
}

/** The operation of the modified-immediate class for cmode:op (the Arm ARM's decode table). */
function immOperation(cmode: number, op: number): ImmOp {
  if (cmode < 12 && (cmode & 1) === 1) return op ? ImmOp.Bic : ImmOp.Orr; // 0xx1, 10x1
  if (cmode >= 14) return ImmOp.Movi; // 1110 and 1111: MOVI (incl. 64-bit) and FMOV
  return op ? ImmOp.Mvni : ImmOp.Movi; // 0xx0, 10x0, 110x
}

function buildModImm(f: Fields): Exec {
  const imm8 = (f.abc << 5) | f.defgh;
  const operation = immOperation(f.cmode, f.op);
  let [lo, hi] = advSimdExpandImm(f.op, f.cmode, imm8);
  if (operation === ImmOp.Mvni) {
    lo = ~lo;
    hi = ~hi;
  }
  const d = f.rd << 2;
  const q = f.q;
  if (operation === ImmOp.Movi || operation === ImmOp.Mvni)
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      v[d] = lo;
      v[d + 1] = hi;
      v[d + 2] = q ? lo : 0;
      v[d + 3] = q ? hi : 0;
    };
  const mlo = operation === ImmOp.Bic ? ~lo : lo;
  const mhi = operation === ImmOp.Bic ? ~hi : hi;
  const orr = operation === ImmOp.Orr;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    if (orr) {
      v[d] |= mlo;
      v[d + 1] |= mhi;
      v[d + 2] = q ? v[d + 2] | mlo : 0;
      v[d + 3] = q ? v[d + 3] | mhi : 0;
    } else {
      v[d] &= mlo;
      v[d + 1] &= mhi;
      v[d + 2] = q ? v[d + 2] & mlo : 0;
      v[d + 3] = q ? v[d + 3] & mhi : 0;
    }
  };
}

/** C's "%.18e" (objdump prints FP immediates that way). */
export function formatFpImm(x: number): string {
  const [mant, exp] = x.toExponential(18).split("e");
  const e = Number(exp);
  return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function f32Value(bits: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, bits);
  return b.getFloat32(0);
}
function f64ValueHi(hiBits: number): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint32(0, hiBits);
  return b.getFloat64(0);
}

function modImmText(f: Fields): string {
  const imm8 = (f.abc << 5) | f.defgh;
  const { cmode, op, q } = f;
  const operation = immOperation(cmode, op);
  const name = ["movi", "mvni", "orr", "bic"][operation];
  const hex = (x: number) => `#0x${x.toString(16)}`;
  const vd = (arr: string) => `v${f.rd}.${arr}`;
  if (cmode < 8) {
    const sh = (cmode >> 1) * 8;
    return `${name}\t${vd(q ? "4s" : "2s")}, ${hex(imm8)}${sh ? `, lsl #${sh}` : ""}`;
  }
  if (cmode < 12) {
    const sh = ((cmode >> 1) & 1) * 8;
    return `${name}\t${vd(q ? "8h" : "4h")}, ${hex(imm8)}${sh ? `, lsl #${sh}` : ""}`;
  }
  if (cmode < 14) return `${name}\t${vd(q ? "4s" : "2s")}, ${hex(imm8)}, msl #${cmode & 1 ? 16 : 8}`;
  if (cmode === 14) {
    if (op === 0) return `movi\t${vd(q ? "16b" : "8b")}, ${hex(imm8)}`;
    const [lo, hi] = advSimdExpandImm(1, 14, imm8);
    const text = ((BigInt(hi) << 32n) | BigInt(lo)).toString(16);
    return `movi\t${q ? vd("2d") : `d${f.rd}`}, #0x${text}`;
  }
  if (op === 0) return `fmov\t${vd(q ? "4s" : "2s")}, #${formatFpImm(f32Value(vfpExpandImm32(imm8)))}`;
  return `fmov\t${vd("2d")}, #${formatFpImm(f64ValueHi(vfpExpandImm64Hi(imm8)))}`;
}

// ---- element helpers ------------------------------------------------------------------------------------

/** Element size (0 = B .. 3 = D) encoded by the lowest set bit of imm5; -1 when reserved. */
export function imm5Size(imm5: number): number {
  for (let s = 0; s < 4; s++) if ((imm5 >> s) & 1) return s;
  return -1;
}

/** Word offset, bit shift and mask of element `index` of `size` (< 3) within a register's 4 words. */
function lane(size: number, index: number): { word: number; shift: number; mask: number } {
  const perWord = 4 >> size;
  return {
    word: Math.floor(index / perWord),
    shift: (index % perWord) << (3 + size),
    mask: size === 0 ? 0xff : size === 1 ? 0xffff : -1,
  };
}

/** The 32-bit word that replicates an element of size < 3 with value x. */
function replicateWord(size: number, x: number): number {
  if (size === 0) return (x & 0xff) * 0x01010101;
  if (size === 1) return (x & 0xffff) * 0x00010001;
  return x;
}

/** Writes a replicated 64-bit pattern (lo, hi) to Vd, zeroing the top half when q = 0. */
function fill(v: Int32Array, d: number, q: number, lo: number, hi: number): void {
  v[d] = lo;
  v[d + 1] = hi;
  v[d + 2] = q ? lo : 0;
  v[d + 3] = q ? hi : 0;
}

const ARR = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];
const ELEM = ["b", "h", "s", "d"];

// ---- copy class -----------------------------------------------------------------------------------------

function buildDupGeneral(f: Fields): Exec {
  const size = imm5Size(f.imm5);
  const d = f.rd << 2;
  const n = f.rn;
  const q = f.q;
  if (size === 3)
    return (c) => {
      c.checkFpEnabled();
      fill(c.vregs, d, q, n === 31 ? 0 : c.xlo[n], n === 31 ? 0 : c.xhi[n]);
    };
  return (c) => {
    c.checkFpEnabled();
    const w = replicateWord(size, n === 31 ? 0 : c.xlo[n]);
    fill(c.vregs, d, q, w, w);
  };
}

function buildDupElement(f: Fields, scalar: boolean): Exec {
  const size = imm5Size(f.imm5);
  const index = f.imm5 >> (size + 1);
  const d = f.rd << 2;
  const q = f.q;
  if (size === 3) {
    const src = (f.rn << 2) + index * 2;
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      const lo = v[src];
      const hi = v[src + 1];
      if (scalar) fill(v, d, 0, lo, hi);
      else fill(v, d, q, lo, hi);
    };
  }
  const { word, shift, mask } = lane(size, index);
  const src = (f.rn << 2) + word;
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const x = (v[src] >>> shift) & mask;
    if (scalar) fill(v, d, 0, x, 0);
    else {
      const w = replicateWord(size, x);
      fill(v, d, q, w, w);
    }
  };
}

function buildInsGeneral(f: Fields): Exec {
  const size = imm5Size(f.imm5);
  const index = f.imm5 >> (size + 1);
  const n = f.rn;
  if (size === 3) {
    const dst = (f.rd << 2) + index * 2;
    return (c) => {
      c.checkFpEnabled();
      c.vregs[dst] = n === 31 ? 0 : c.xlo[n];
      c.vregs[dst + 1] = n === 31 ? 0 : c.xhi[n];
    };
  }
  const { word, shift, mask } = lane(size, index);
  const dst = (f.rd << 2) + word;
  const keep = ~(mask << shift);
  return (c) => {
    c.checkFpEnabled();
    const x = n === 31 ? 0 : c.xlo[n];
    c.vregs[dst] = (c.vregs[dst] & keep) | ((x & mask) << shift);
  };
}

function buildInsElement(f: Fields): Exec {
  const size = imm5Size(f.imm5);
  const dIndex = f.imm5 >> (size + 1);
  const sIndex = f.imm4 >> size;
  if (size === 3) {
    const dst = (f.rd << 2) + dIndex * 2;
    const src = (f.rn << 2) + sIndex * 2;
    return (c) => {
      c.checkFpEnabled();
      const v = c.vregs;
      const lo = v[src];
      const hi = v[src + 1];
      v[dst] = lo;
      v[dst + 1] = hi;
    };
  }
  const dl = lane(size, dIndex);
  const sl = lane(size, sIndex);
  const dst = (f.rd << 2) + dl.word;
  const src = (f.rn << 2) + sl.word;
  const keep = ~(dl.mask << dl.shift);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const x = (v[src] >>> sl.shift) & sl.mask;
    v[dst] = (v[dst] & keep) | (x << dl.shift);
  };
}

function buildMoveToGeneral(f: Fields, signed: boolean): Exec {
  const size = imm5Size(f.imm5);
  const index = f.imm5 >> (size + 1);
  const t = f.rd;
  const to64 = f.q === 1;
  if (size === 3) {
    const src = (f.rn << 2) + index * 2;
    return (c) => {
      c.checkFpEnabled();
      if (t === 31) return;
      c.xlo[t] = c.vregs[src];
      c.xhi[t] = c.vregs[src + 1];
    };
  }
  const { word, shift, mask } = lane(size, index);
  const src = (f.rn << 2) + word;
  const bits = 8 << size;
  return (c) => {
    c.checkFpEnabled();
    if (t === 31) return;
    let x = (c.vregs[src] >>> shift) & mask;
    if (signed) x = (x << (32 - bits)) >> (32 - bits);
    c.xlo[t] = x;
    c.xhi[t] = signed && to64 ? x >> 31 : 0;
  };
}

function elemText(r: number, size: number, index: number): string {
  return `v${r}.${ELEM[size]}[${index}]`;
}

// ---- FMOV -----------------------------------------------------------------------------------------------

const enum FmovGen {
  WfromS,
  SfromW,
  XfromD,
  DfromX,
  XfromV1,
  V1fromX,
}

function buildFmovGeneral(kind: FmovGen, d: number, n: number): Exec {
  switch (kind) {
    case FmovGen.WfromS:
    case FmovGen.XfromD:
    case FmovGen.XfromV1: {
      const src = (n << 2) + (kind === FmovGen.XfromV1 ? 2 : 0);
      const wide = kind !== FmovGen.WfromS;
      return (c) => {
        c.checkFpEnabled();
        if (d === 31) return;
        c.xlo[d] = c.vregs[src];
        c.xhi[d] = wide ? c.vregs[src + 1] : 0;
      };
    }
    case FmovGen.SfromW:
    case FmovGen.DfromX: {
      const wide = kind === FmovGen.DfromX;
      const dst = d << 2;
      return (c) => {
        c.checkFpEnabled();
        const lo = n === 31 ? 0 : c.xlo[n];
        const hi = n === 31 || !wide ? 0 : c.xhi[n];
        fill(c.vregs, dst, 0, lo, hi);
      };
    }
    default: {
      const dst = (d << 2) + 2;
      return (c) => {
        c.checkFpEnabled();
        c.vregs[dst] = n === 31 ? 0 : c.xlo[n];
        c.vregs[dst + 1] = n === 31 ? 0 : c.xhi[n];
      };
    }
  }
}

function fmovGenRow(name: string, bits: string, kind: FmovGen, text: (f: Fields) => string): InsnSpec {
  return { name, pattern: `${bits} 000000 rn:5 rd:5`, build: (f) => buildFmovGeneral(kind, f.rd, f.rn), disasm: (f) => `fmov\t${text(f)}` };
}

// ---- vector bitwise -------------------------------------------------------------------------------------

const LOGIC_NAMES = ["and", "bic", "orr", "orn", "eor", "bsl", "bit", "bif"];

function buildLogic(f: Fields): Exec {
  const op = (f.u << 2) | f.size;
  const d = f.rd << 2;
  const n = f.rn << 2;
  const m = f.rm << 2;
  const words = f.q ? 4 : 2;
  let word: (dv: number, nv: number, mv: number) => number;
  switch (op) {
    case 0:
      word = (_d, a, b) => a & b;
      break;
    case 1:
      word = (_d, a, b) => a & ~b;
      break;
    case 2:
      word = (_d, a, b) => a | b;
      break;
    case 3:
      word = (_d, a, b) => a | ~b;
      break;
    case 4:
      word = (_d, a, b) => a ^ b;
      break;
    case 5:
      word = (dv, a, b) => b ^ ((b ^ a) & dv); // BSL: Vd selects Vn (1) or Vm (0)
      break;
    case 6:
      word = (dv, a, b) => dv ^ ((dv ^ a) & b); // BIT: insert Vn where Vm is 1
      break;
    default:
      word = (dv, a, b) => dv ^ ((dv ^ a) & ~b); // BIF: insert Vn where Vm is 0
  }
  if (op === 2 && n === m)
    return (c) => {
      // MOV Vd, Vn
      c.checkFpEnabled();
      const v = c.vregs;
      v[d] = v[n];
      v[d + 1] = v[n + 1];
      v[d + 2] = words === 4 ? v[n + 2] : 0;
      v[d + 3] = words === 4 ? v[n + 3] : 0;
    };
  if (op === 4 && n === m)
    return (c) => {
      // EOR Vd, Vn, Vn: the zeroing idiom
      c.checkFpEnabled();
      c.vregs.fill(0, d, d + 4);
    };
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const r0 = word(v[d], v[n], v[m]);
    const r1 = word(v[d + 1], v[n + 1], v[m + 1]);
    const r2 = words === 4 ? word(v[d + 2], v[n + 2], v[m + 2]) : 0;
    const r3 = words === 4 ? word(v[d + 3], v[n + 3], v[m + 3]) : 0;
    v[d] = r0;
    v[d + 1] = r1;
    v[d + 2] = r2;
    v[d + 3] = r3;
  };
}

// ---- the table ------------------------------------------------------------------------------------------

const copyValid = (f: Fields) => imm5Size(f.imm5) >= 0;

export const SIMD_MOVES: InsnSpec[] = [
  {
    // MOVI, MVNI, ORR/BIC (vector, immediate), FMOV (vector, immediate). op=1 cmode=1111 needs Q=1.
    name: "SIMD_modimm",
    pattern: "0 q:1 op:1 0111100000 abc:3 cmode:4 0 1 defgh:5 rd:5",
    guard: (f) => !(f.op === 1 && f.cmode === 15 && f.q === 0),
    build: buildModImm,
    disasm: modImmText,
  },
  {
    name: "DUP_general",
    pattern: "0 q:1 0 01110000 imm5:5 0 0001 1 rn:5 rd:5",
    guard: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && (s < 3 || f.q === 1);
    },
    build: buildDupGeneral,
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `dup\tv${f.rd}.${ARR[(s << 1) | f.q]}, ${gprName(s === 3 ? "x" : "w", f.rn)}`;
    },
  },
  {
    name: "DUP_element",
    pattern: "0 q:1 0 01110000 imm5:5 0 0000 1 rn:5 rd:5",
    guard: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && (s < 3 || f.q === 1);
    },
    build: (f) => buildDupElement(f, false),
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `dup\tv${f.rd}.${ARR[(s << 1) | f.q]}, ${elemText(f.rn, s, f.imm5 >> (s + 1))}`;
    },
  },
  {
    // DUP (element, scalar), whose preferred disassembly is MOV.
    name: "DUP_scalar",
    pattern: "01 0 11110000 imm5:5 0 0000 1 rn:5 rd:5",
    guard: copyValid,
    build: (f) => buildDupElement(f, true),
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `mov\t${ELEM[s]}${f.rd}, ${elemText(f.rn, s, f.imm5 >> (s + 1))}`;
    },
  },
  {
    name: "INS_general",
    pattern: "0 1 0 01110000 imm5:5 0 0011 1 rn:5 rd:5",
    guard: copyValid,
    build: buildInsGeneral,
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `mov\t${elemText(f.rd, s, f.imm5 >> (s + 1))}, ${gprName(s === 3 ? "x" : "w", f.rn)}`;
    },
  },
  {
    name: "INS_element",
    pattern: "0 1 1 01110000 imm5:5 0 imm4:4 1 rn:5 rd:5",
    guard: copyValid,
    build: buildInsElement,
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `mov\t${elemText(f.rd, s, f.imm5 >> (s + 1))}, ${elemText(f.rn, s, f.imm4 >> s)}`;
    },
  },
  {
    name: "UMOV",
    pattern: "0 q:1 0 01110000 imm5:5 0 0111 1 rn:5 rd:5",
    guard: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && (f.q === 1 ? s === 3 : s < 3);
    },
    build: (f) => buildMoveToGeneral(f, false),
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      const src = elemText(f.rn, s, f.imm5 >> (s + 1));
      // MOV is the preferred alias for 32- and 64-bit elements.
      return `${s >= 2 ? "mov" : "umov"}\t${gprName(s === 3 ? "x" : "w", f.rd)}, ${src}`;
    },
  },
  {
    name: "SMOV",
    pattern: "0 q:1 0 01110000 imm5:5 0 0101 1 rn:5 rd:5",
    guard: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && (f.q === 1 ? s < 3 : s < 2);
    },
    build: (f) => buildMoveToGeneral(f, true),
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `smov\t${gprName(f.q ? "x" : "w", f.rd)}, ${elemText(f.rn, s, f.imm5 >> (s + 1))}`;
    },
  },
  fmovGenRow("FMOV_w_s", "0 00 11110 00 1 00 110", FmovGen.WfromS, (f) => `${gprName("w", f.rd)}, s${f.rn}`),
  fmovGenRow("FMOV_s_w", "0 00 11110 00 1 00 111", FmovGen.SfromW, (f) => `s${f.rd}, ${gprName("w", f.rn)}`),
  fmovGenRow("FMOV_x_d", "1 00 11110 01 1 00 110", FmovGen.XfromD, (f) => `${gprName("x", f.rd)}, d${f.rn}`),
  fmovGenRow("FMOV_d_x", "1 00 11110 01 1 00 111", FmovGen.DfromX, (f) => `d${f.rd}, ${gprName("x", f.rn)}`),
  fmovGenRow("FMOV_x_v1", "1 00 11110 10 1 01 110", FmovGen.XfromV1, (f) => `${gprName("x", f.rd)}, v${f.rn}.d[1]`),
  fmovGenRow("FMOV_v1_x", "1 00 11110 10 1 01 111", FmovGen.V1fromX, (f) => `v${f.rd}.d[1], ${gprName("x", f.rn)}`),
  {
    // FMOV (register): a bit copy (no NaN quieting, no FP exceptions).
    name: "FMOV_reg",
    pattern: "0 00 11110 0 dbl:1 1 000000 10000 rn:5 rd:5",
    build: (f) => {
      const d = f.rd << 2;
      const n = f.rn << 2;
      const dbl = f.dbl;
      return (c) => {
        c.checkFpEnabled();
        const v = c.vregs;
        fill(v, d, 0, v[n], dbl ? v[n + 1] : 0);
      };
    },
    disasm: (f) => (f.dbl ? `fmov\td${f.rd}, d${f.rn}` : `fmov\ts${f.rd}, s${f.rn}`),
  },
  {
    name: "FMOV_imm",
    pattern: "0 00 11110 0 dbl:1 1 imm8:8 100 00000 rd:5",
    build: (f) => {
      const d = f.rd << 2;
      const lo = f.dbl ? 0 : vfpExpandImm32(f.imm8);
      const hi = f.dbl ? vfpExpandImm64Hi(f.imm8) : 0;
      return (c) => {
        c.checkFpEnabled();
        fill(c.vregs, d, 0, lo, hi);
      };
    },
    disasm: (f) =>
      f.dbl
        ? `fmov\td${f.rd}, #${formatFpImm(f64ValueHi(vfpExpandImm64Hi(f.imm8)))}`
        : `fmov\ts${f.rd}, #${formatFpImm(f32Value(vfpExpandImm32(f.imm8)))}`,
  },
  {
    name: "SIMD_logic",
    pattern: "0 q:1 u:1 01110 size:2 1 rm:5 00011 1 rn:5 rd:5",
    build: buildLogic,
    disasm: (f) => {
      const arr = f.q ? "16b" : "8b";
      if (f.u === 0 && f.size === 2 && f.rn === f.rm) return `mov\tv${f.rd}.${arr}, v${f.rn}.${arr}`;
      return `${LOGIC_NAMES[(f.u << 2) | f.size]}\tv${f.rd}.${arr}, v${f.rn}.${arr}, v${f.rm}.${arr}`;
    },
  },
];


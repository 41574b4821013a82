// x86 integer arithmetic with the status flags, as the Intel SDM Vol. 2 defines each instruction's result and
// its effect on CF, PF, AF, ZF, SF and OF, for 8-, 16-, 32- and 64-bit operands. 64-bit values are (lo, hi) pairs
// of 32-bit integers (no BigInt on this path); narrower ones use lo only. Results go to a caller-owned
// AluResult, so nothing is allocated per instruction.
//
// Flags an instruction leaves undefined are computed as a real processor computes them where that is simple and
// known; `definedFlags` says which ones the architecture defines, and only those are compared in tests.

export const CF = 0x001;
export const PF = 0x004;
export const AF = 0x010;
export const ZF = 0x040;
export const SF = 0x080;
export const OF = 0x800;
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;

export type Width = 8 | 16 | 32 | 64;

export interface AluResult {
  lo: number;
  hi: number;
  /** The status flags after the operation (other RFLAGS bits are not touched by these operations). */
  flags: number;
}

export const enum AluOp {
  Add = 0,
  Or = 1,
  Adc = 2,
  Sbb = 3,
  And = 4,
  Sub = 5,
  Xor = 6,
  Cmp = 7,
}

/** Even parity of the low byte: PF. */
const PARITY = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let b = i;
    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    t[i] = b & 1 ? 0 : PF;
  }
  return t;
})();

const MASK = { 8: 0xff, 16: 0xffff, 32: 0xffffffff } as const;

/** ZF, SF, PF of a result. */
export function resultFlags(w: Width, lo: number, hi: number): number {
  const sign = w === 64 ? hi >>> 31 : (lo >>> (w - 1)) & 1;
  const zero = w === 64 ? (lo | hi) === 0 : lo === 0;
  return (zero ? ZF : 0) | (sign ? SF : 0) | PARITY[lo & 0xff];
}

function signBit(w: Width, lo: number, hi: number): number {
  return w === 64 ? hi >>> 31 : (lo >>> (w - 1)) & 1;
}

/** ADD, OR, ADC, SBB, AND, SUB, XOR, CMP (group 1's order): the result (CMP: of the subtraction) and flags. */
export function alu(op: AluOp, w: Width, aLo: number, aHi: number, bLo: number, bHi: number, flagsIn: number, out: AluResult): void {
  if (w === 64) {
    aLo >>>= 0;
    bLo >>>= 0;
    aHi >>>= 0;
    bHi >>>= 0;
  } else {
    aLo = (aLo & MASK[w]) >>> 0;
    bLo = (bLo & MASK[w]) >>> 0;
    aHi = 0;
    bHi = 0;
  }
  switch (op) {
    case AluOp.Add:
    case AluOp.Adc:
      add(w, aLo, aHi, bLo, bHi, op === AluOp.Adc ? flagsIn & CF : 0, out);
      return;
    case AluOp.Sub:
    case AluOp.Sbb:
    case AluOp.Cmp:
      sub(w, aLo, aHi, bLo, bHi, op === AluOp.Sbb ? flagsIn & CF : 0, out);
      return;
    default: {
      // Logical: CF = OF = 0; AF is undefined (processors clear it).
      let lo = op === AluOp.Or ? aLo | bLo : op === AluOp.And ? aLo & bLo : aLo ^ bLo;
      let hi = w === 64 ? (op === AluOp.Or ? aHi | bHi : op === AluOp.And ? aHi & bHi : aHi ^ bHi) >>> 0 : 0;
      lo = w === 64 ? lo >>> 0 : (lo & MASK[w]) >>> 0;
      out.lo = lo;
      out.hi = hi;
      out.flags = resultFlags(w, lo, hi);
    }
  }
}

function add(w: Width, aLo: number, aHi: number, bLo: number, bHi: number, cin: number, out: AluResult): void {
  let lo: number;
  let hi = 0;
  let carry: number;
  if (w === 64) {
    const s = aLo + bLo + cin;
    lo = s >>> 0;
    const h = aHi + bHi + (s > 0xffffffff ? 1 : 0);
    hi = h >>> 0;
    carry = h > 0xffffffff ? 1 : 0;
  } else {
    const s = aLo + bLo + cin;
    lo = (s & MASK[w]) >>> 0;
    carry = s > MASK[w] ? 1 : 0;
  }
  const sa = signBit(w, aLo, aHi);
  const sb = signBit(w, bLo, bHi);
  const sr = signBit(w, lo, hi);
  out.lo = lo;
  out.hi = hi;
  out.flags = resultFlags(w, lo, hi) | (carry ? CF : 0) | ((aLo ^ bLo ^ lo) & AF) | (sa === sb && sr !== sa ? OF : 0);
}

function sub(w: Width, aLo: number, aHi: number, bLo: number, bHi: number, bin: number, out: AluResult): void {
  let lo: number;
  let hi = 0;
  let borrow: number;
  if (w === 64) {
    const d = aLo - bLo - bin;
    lo = d >>> 0;
    const h = aHi - bHi - (d < 0 ? 1 : 0);
    hi = h >>> 0;
    borrow = h < 0 ? 1 : 0;
  } else {
    const d = aLo - bLo - bin;
    lo = (d & MASK[w]) >>> 0;
    borrow = d < 0 ? 1 : 0;
  }
  const sa = signBit(w, aLo, aHi);
  const sb = signBit(w, bLo, bHi);
  const sr = signBit(w, lo, hi);
  out.lo = lo;
  out.hi = hi;
  out.flags = resultFlags(w, lo, hi) | (borrow ? CF : 0) | ((aLo ^ bLo ^ lo) & AF) | (sa !== sb && sr !== sa ? OF : 0);
}

/** INC and DEC: as ADD/SUB of 1, with CF unchanged. */
export function incDec(dec: boolean, w: Width, aLo: number, aHi: number, flagsIn: number, out: AluResult): void {
  const lo = w === 64 ? aLo >>> 0 : (aLo & MASK[w]) >>> 0;
  const hi = w === 64 ? aHi >>> 0 : 0;
  if (dec) sub(w, lo, hi, 1, 0, 0, out);
  else add(w, lo, hi, 1, 0, 0, out);
  out.flags = (out.flags & ~CF) | (flagsIn & CF);
}

/** NEG: 0 - a; CF = (a != 0). */
export function neg(w: Width, aLo: number, aHi: number, out: AluResult): void {
  sub(w, 0, 0, w === 64 ? aLo >>> 0 : (aLo & MASK[w]) >>> 0, w === 64 ? aHi >>> 0 : 0, 0, out);
}

export const enum ShiftOp {
  Rol = 0,
  Ror = 1,
  Rcl = 2,
  Rcr = 3,
  Shl = 4,
  Shr = 5,
  Sal = 6,
  Sar = 7,
}

/** The value's bit i (0 = least significant). */
function bit(w: Width, lo: number, hi: number, i: number): number {
  return i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
}

/** (lo, hi) shifted left by n < 64 (bits beyond the width are the caller's to mask). */
function shl64(lo: number, hi: number, n: number, out: AluResult): void {
  if (n === 0) {
    out.lo = lo >>> 0;
    out.hi = hi >>> 0;
  } else if (n < 32) {
    out.hi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    out.lo = (lo << n) >>> 0;
  } else {
    out.hi = (lo << (n - 32)) >>> 0;
    out.lo = 0;
  }
}

/** (lo, hi) shifted right by n < 64, logically, or arithmetically from bit 63. */
function shr64(lo: number, hi: number, n: number, arithmetic: boolean, out: AluResult): void {
  if (n === 0) {
    out.lo = lo >>> 0;
    out.hi = hi >>> 0;
  } else if (n < 32) {
    out.lo = ((lo >>> n) | (hi << (32 - n))) >>> 0;
    out.hi = (arithmetic ? hi >> n : hi >>> n) >>> 0;
  } else {
    out.lo = (arithmetic ? hi >> (n - 32) : hi >>> (n - 32)) >>> 0;
    out.hi = arithmetic ? (hi >> 31) >>> 0 : 0;
  }
}

/** Sign-extends a narrow value to (lo, hi) as 64 bits, for the arithmetic shift. */
function widen(w: Width, lo: number, hi: number, signed: boolean, out: AluResult): void {
  if (w === 64) {
    out.lo = lo >>> 0;
    out.hi = hi >>> 0;
    return;
  }
  const s = 32 - w;
  out.lo = signed ? ((lo << s) >> s) >>> 0 : (lo & MASK[w]) >>> 0;
  out.hi = signed ? (out.lo >> 31) >>> 0 : 0;
}

const tmp: AluResult = { lo: 0, hi: 0, flags: 0 };

/**
 * Group 2 (ROL, ROR, RCL, RCR, SHL, SHR, SAL, SAR) by `count` (masked to 5 bits, 6 for 64-bit operands, as the
 * processor does). A masked count of 0 changes nothing, flags included.
 */
export function shift(op: ShiftOp, w: Width, aLo: number, aHi: number, count: number, flagsIn: number, out: AluResult): void {
  aLo >>>= 0;
  aHi = w === 64 ? aHi >>> 0 : 0;
  if (w !== 64) aLo = (aLo & MASK[w]) >>> 0;
  const n = count & (w === 64 ? 63 : 31);
  out.lo = aLo;
  out.hi = aHi;
  out.flags = flagsIn & STATUS_FLAGS;
  if (n === 0) return;
  const cfIn = flagsIn & CF;
  let lo: number;
  let hi: number;
  let cf: number;
  let of: number;
  let flags = out.flags;
  switch (op) {
    case ShiftOp.Shl:
    case ShiftOp.Sal: {
      if (n > w) {
        lo = 0;
        hi = 0;
        cf = 0;
      } else {
        cf = bit(w, aLo, aHi, w - n);
        shl64(aLo, aHi, n === w ? 0 : n, tmp);
        lo = n === w ? 0 : tmp.lo;
        hi = n === w ? 0 : tmp.hi;
      }
      if (w !== 64) {
        lo = (lo & MASK[w]) >>> 0;
        hi = 0;
      }
      of = (signBit(w, lo, hi) ^ cf) & 1;
      flags = resultFlags(w, lo, hi) | (cf ? CF : 0) | (of ? OF : 0);
      break;
    }
    case ShiftOp.Shr:
    case ShiftOp.Sar: {
      const arithmetic = op === ShiftOp.Sar;
      widen(w, aLo, aHi, arithmetic, tmp);
      const wlo = tmp.lo;
      const whi = tmp.hi;
      const k = Math.min(n, 63);
      cf = n > w && !arithmetic ? 0 : bit(64, wlo, whi, Math.min(n - 1, 63));
      shr64(wlo, whi, k, arithmetic, tmp);
      lo = tmp.lo;
      hi = tmp.hi;
      if (w !== 64) {
        lo = (lo & MASK[w]) >>> 0;
        hi = 0;
      }
      // OF is the SDM's for a count of 1 (the operand's sign for SHR, 0 for SAR); for larger counts, where the SDM
      // leaves it undefined, QEMU's: the sign of the value shifted by one less, XOR the result's — 0 for both.
      of = arithmetic || n > 1 ? 0 : signBit(w, aLo, aHi);
      flags = resultFlags(w, lo, hi) | (cf ? CF : 0) | (of ? OF : 0);
      break;
    }
    case ShiftOp.Rol:
    case ShiftOp.Ror: {
      const r = n % w;
      const left = op === ShiftOp.Rol ? r : (w - r) % w;
      rotateLeft(w, aLo, aHi, left, tmp);
      lo = tmp.lo;
      hi = tmp.hi;
      if (op === ShiftOp.Rol) {
        cf = lo & 1;
        of = (signBit(w, lo, hi) ^ cf) & 1;
      } else {
        cf = signBit(w, lo, hi);
        of = (cf ^ bit(w, lo, hi, w - 2)) & 1;
      }
      flags = (flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      break;
    }
    default: {
      // RCL/RCR rotate through CF: a (w + 1)-bit rotation.
      const r = n % (w + 1);
      lo = aLo;
      hi = aHi;
      cf = cfIn;
      for (let i = 0; i < r; i++) {
        if (op === ShiftOp.Rcl) {
          const out1 = signBit(w, lo, hi);
          shl64(lo, hi, 1, tmp);
          lo = (tmp.lo | cf) >>> 0;
          hi = tmp.hi;
          if (w !== 64) lo = (lo & MASK[w]) >>> 0;
          cf = out1;
        } else {
          const out0 = lo & 1;
          shr64(lo, hi, 1, false, tmp);
          lo = tmp.lo;
          hi = tmp.hi;
          if (cf) {
            if (w === 64) hi = (hi | 0x80000000) >>> 0;
            else lo = (lo | (1 << (w - 1))) >>> 0;
          }
          cf = out0;
        }
      }
      // The SDM's OF for a count of 1, which QEMU (helper_rcl/rcr) extends to every count: the operand's sign
      // XOR the result's.
      of = (signBit(w, aLo, aHi) ^ signBit(w, lo, hi)) & 1;
      flags = (flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
    }
  }
  out.lo = lo;
  out.hi = hi;
  out.flags = flags;
}

function rotateLeft(w: Width, lo: number, hi: number, n: number, out: AluResult): void {
  if (n === 0) {
    out.lo = lo;
    out.hi = hi;
    return;
  }
  if (w === 64) {
    const a = { lo: 0, hi: 0, flags: 0 };
    shl64(lo, hi, n, a);
    shr64(lo, hi, 64 - n, false, out);
    out.lo = (out.lo | a.lo) >>> 0;
    out.hi = (out.hi | a.hi) >>> 0;
    return;
  }
  out.lo = (((lo << n) | (lo >>> (w - n))) & MASK[w]) >>> 0;
  out.hi = 0;
}

/** The flags an instruction defines (the others are undefined by the architecture: not compared). */
export function definedFlags(op: "alu" | "logic" | "incdec" | "neg" | ShiftOp, count = 1): number {
  if (op === "alu" || op === "incdec" || op === "neg") return STATUS_FLAGS;
  if (op === "logic") return STATUS_FLAGS & ~AF;
  if (count === 0) return STATUS_FLAGS;
  switch (op) {
    case ShiftOp.Rol:
    case ShiftOp.Ror:
    case ShiftOp.Rcl:
    case ShiftOp.Rcr:
      return count === 1 ? CF | OF : CF;
    default:
      // SHL/SHR/SAR: AF undefined; OF only for 1-bit shifts; CF undefined when the count reaches the width
      // (the caller passes the count masked and compared with the width).
      return (count === 1 ? OF : 0) | CF | ZF | SF | PF;
  }
}

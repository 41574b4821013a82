// A64 data processing (immediate): PC-relative addressing, add/subtract, logical, move wide, bitfield, extract.
//
// Every build() resolves at decode time what can be resolved: the width (W results are written with a zero
// high half), register 31 (SP for the encodings that say so, XZR otherwise: an XZR source is read through a
// mask of 0, an XZR destination without flags makes the whole instruction a no-op) and the immediate.
// XZR-capable sources are read as `xl[n] & mn` with mn = 0 for XZR, -1 otherwise: no branch, and slot 31
// (the SP) is never seen through it.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { sext } from "../decoder.js";
import {
  TWO32,
  addWithCarry32,
  addWithCarry64,
  asr64,
  decodeBitMasks,
  lsl64,
  lsr64,
  resultHi,
  ror32,
  ror64,
  zrMask,
} from "../alu.js";
import { imm, insn, reg, target, u64 } from "../disasm-util.js";

const nop: Exec = () => {};

// ---- PC-relative addressing ----------------------------------------------------------------------------

function buildAdr(f: Fields): Exec {
  const d = f.rd;
  if (d === 31) return nop;
  const off = sext((f.immhi << 2) | f.immlo, 21);
  return (c: Cpu) => {
    const s = (c.pcLo >>> 0) + off;
    c.xlo[d] = s;
    c.xhi[d] = s > 0xffffffff ? c.pcHi + 1 : s < 0 ? c.pcHi - 1 : c.pcHi;
  };
}

function buildAdrp(f: Fields): Exec {
  const d = f.rd;
  if (d === 31) return nop;
  const off = sext((f.immhi << 2) | f.immlo, 21) * 4096; // up to +-4 GiB: a Number, not an int32
  return (c: Cpu) => {
    const s = ((c.pcLo & 0xfffff000) >>> 0) + off;
    c.xlo[d] = s;
    c.xhi[d] = c.pcHi + Math.floor(s / TWO32);
  };
}

const adrOffset = (f: Fields): number => sext((f.immhi << 2) | f.immlo, 21);

// ---- add / subtract (immediate) ------------------------------------------------------------------------

function buildAddSubImm(sub: boolean, setFlags: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n } = f;
    const im = f.imm12 << (f.sh * 12);
    if (!setFlags) {
      // Rd and Rn are both SP-capable: plain slot accesses.
      if (f.sf === 0) {
        const k = sub ? -im : im;
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n] + k;
          c.xhi[d] = 0;
        };
      }
      if (im === 0)
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n];
          c.xhi[d] = c.xhi[n];
        };
      if (sub)
        return (c: Cpu) => {
          const s = (c.xlo[n] >>> 0) - im;
          const h = c.xhi[n];
          c.xlo[d] = s;
          c.xhi[d] = s < 0 ? h - 1 : h;
        };
      return (c: Cpu) => {
        const s = (c.xlo[n] >>> 0) + im;
        const h = c.xhi[n];
        c.xlo[d] = s;
        c.xhi[d] = s > 0xffffffff ? h + 1 : h;
      };
    }
    // ADDS/SUBS: Rn is SP-capable, Rd is XZR-capable (CMP/CMN when 31). Subtraction is a + ~b + 1.
    const bl = sub ? ~im : im;
    const bh = sub ? -1 : 0;
    const cin = sub ? 1 : 0;
    if (f.sf === 0) {
      if (d === 31)
        return (c: Cpu) => {
          addWithCarry32(c, c.xlo[n], bl, cin);
        };
      return (c: Cpu) => {
        c.xlo[d] = addWithCarry32(c, c.xlo[n], bl, cin);
        c.xhi[d] = 0;
      };
    }
    if (d === 31)
      return (c: Cpu) => {
        addWithCarry64(c, c.xlo[n], c.xhi[n], bl, bh, cin);
      };
    return (c: Cpu) => {
      c.xlo[d] = addWithCarry64(c, c.xlo[n], c.xhi[n], bl, bh, cin);
      c.xhi[d] = resultHi;
    };
  };
}

function disasmAddSubImm(sub: boolean, setFlags: boolean) {
  return (f: Fields): string => {
    const sf = f.sf;
    const ops = [imm(f.imm12)];
    if (f.sh) ops.push("lsl #12");
    if (setFlags && f.rd === 31) return insn(sub ? "cmp" : "cmn", reg(f.rn, sf, true), ...ops);
    if (!setFlags && !sub && f.sh === 0 && f.imm12 === 0 && (f.rd === 31 || f.rn === 31))
      return insn("mov", reg(f.rd, sf, true), reg(f.rn, sf, true));
    const name = (sub ? "sub" : "add") + (setFlags ? "s" : "");
    return insn(name, reg(f.rd, sf, !setFlags), reg(f.rn, sf, true), ...ops);
  };
}

// ---- logical (immediate) -------------------------------------------------------------------------------

const enum LogicOp {
  AND = 0,
  ORR = 1,
  EOR = 2,
  ANDS = 3,
}

function bitMasksOf(f: Fields) {
  return decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32);
}

function logicalImmGuard(f: Fields): boolean {
  return (f.sf === 1 || f.N === 0) && bitMasksOf(f) !== undefined;
}

function buildLogicalImm(op: LogicOp) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n } = f;
    const m = bitMasksOf(f)!;
    const sf = f.sf;
    const il = m.wlo;
    const ih = sf ? m.whi : 0;
    if (op === LogicOp.ANDS) {
      const mn = zrMask(n);
      if (sf === 0)
        return (c: Cpu) => {
          const r = c.xlo[n] & mn & il;
          c.nf = r >>> 31;
          c.zf = r === 0 ? 1 : 0;
          c.cf = 0;
          c.vf = 0;
          if (d !== 31) {
            c.xlo[d] = r;
            c.xhi[d] = 0;
          }
        };
      return (c: Cpu) => {
        const rl = c.xlo[n] & mn & il;
        const rh = c.xhi[n] & mn & ih;
        c.nf = rh >>> 31;
        c.zf = (rl | rh) === 0 ? 1 : 0;
        c.cf = 0;
        c.vf = 0;
        if (d !== 31) {
          c.xlo[d] = rl;
          c.xhi[d] = rh;
        }
      };
    }
    // AND/ORR/EOR write an SP-capable Rd; an XZR Rn makes the result a constant (MOV of a bitmask).
    if (n === 31) {
      const cl = op === LogicOp.AND ? 0 : il;
      const ch = op === LogicOp.AND ? 0 : ih;
      return (c: Cpu) => {
        c.xlo[d] = cl;
        c.xhi[d] = ch;
      };
    }
    switch (op) {
      case LogicOp.AND:
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n] & il;
          c.xhi[d] = c.xhi[n] & ih;
        };
      case LogicOp.ORR:
        if (sf === 0)
          return (c: Cpu) => {
            c.xlo[d] = c.xlo[n] | il;
            c.xhi[d] = 0;
          };
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n] | il;
          c.xhi[d] = c.xhi[n] | ih;
        };
      default:
        if (sf === 0)
          return (c: Cpu) => {
            c.xlo[d] = c.xlo[n] ^ il;
            c.xhi[d] = 0;
          };
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n] ^ il;
          c.xhi[d] = c.xhi[n] ^ ih;
        };
    }
  };
}

/** Would MOVZ or MOVN produce this value (at most one halfword differing from all zeros / all ones)? This is
 * the test objdump applies to print ORR Rd, ZR, #imm as MOV; the Arm ARM's MoveWidePreferred is stricter about
 * where the run may sit, e.g. for 0xffc1ffff. */
function isMoveWideValue(v: bigint, width: number): boolean {
  const mask = (1n << BigInt(width)) - 1n;
  const oneHalfword = (x: bigint) => {
    let nonZero = 0;
    for (let i = 0n; i < BigInt(width); i += 16n) if (((x >> i) & 0xffffn) !== 0n) nonZero++;
    return nonZero <= 1;
  };
  return oneHalfword(v & mask) || oneHalfword(~v & mask);
}

function disasmLogicalImm(op: LogicOp) {
  return (f: Fields): string => {
    const sf = f.sf;
    const m = bitMasksOf(f)!;
    const v = sf ? u64(m.wlo, m.whi) : BigInt(m.wlo >>> 0);
    const value = imm(v);
    if (op === LogicOp.ANDS && f.rd === 31) return insn("tst", reg(f.rn, sf), value);
    if (op === LogicOp.ORR && f.rn === 31 && !isMoveWideValue(v, sf ? 64 : 32))
      return insn("mov", reg(f.rd, sf, true), value);
    const name = ["and", "orr", "eor", "ands"][op];
    return insn(name, reg(f.rd, sf, op !== LogicOp.ANDS), reg(f.rn, sf), value);
  };
}

// ---- move wide ---------------------------------------------------------------------------------------

const enum MoveOp {
  MOVN = 0,
  MOVZ = 2,
  MOVK = 3,
}

function moveWideGuard(f: Fields): boolean {
  return f.sf === 1 || f.hw < 2;
}

function buildMoveWide(op: MoveOp) {
  return (f: Fields): Exec => {
    const d = f.rd;
    if (d === 31) return nop;
    const shift = f.hw * 16;
    // The immediate placed in its halfword, as lo/hi halves.
    const pl = shift < 32 ? f.imm16 << shift : 0;
    const ph = shift >= 32 ? f.imm16 << (shift - 32) : 0;
    if (op === MoveOp.MOVK) {
      const keepLo = shift < 32 ? ~(0xffff << shift) : -1;
      const keepHi = shift >= 32 ? ~(0xffff << (shift - 32)) : -1;
      if (f.sf === 0)
        return (c: Cpu) => {
          c.xlo[d] = (c.xlo[d] & keepLo) | pl;
          c.xhi[d] = 0;
        };
      if (shift < 32)
        return (c: Cpu) => {
          c.xlo[d] = (c.xlo[d] & keepLo) | pl;
        };
      return (c: Cpu) => {
        c.xhi[d] = (c.xhi[d] & keepHi) | ph;
      };
    }
    let vl = pl;
    let vh = ph;
    if (op === MoveOp.MOVN) {
      vl = ~pl;
      vh = f.sf ? ~ph : 0;
    }
    return (c: Cpu) => {
      c.xlo[d] = vl;
      c.xhi[d] = vh;
    };
  };
}

function disasmMoveWide(op: MoveOp) {
  return (f: Fields): string => {
    const sf = f.sf;
    const shift = f.hw * 16;
    const rd = reg(f.rd, sf);
    const plain = () => {
      const name = ["movn", "", "movz", "movk"][op];
      return shift ? insn(name, rd, imm(f.imm16), `lsl #${shift}`) : insn(name, rd, imm(f.imm16));
    };
    if (op === MoveOp.MOVK || (f.imm16 === 0 && f.hw !== 0)) return plain();
    const v = BigInt(f.imm16) << BigInt(shift);
    if (op === MoveOp.MOVZ) return insn("mov", rd, imm(v));
    if (sf === 0 && f.imm16 === 0xffff) return plain();
    const mask = sf ? (1n << 64n) - 1n : 0xffffffffn;
    return insn("mov", rd, imm(~v & mask));
  };
}

// ---- bitfield ------------------------------------------------------------------------------------------

const enum BitfieldOp {
  SBFM = 0,
  BFM = 1,
  UBFM = 2,
}

function bitfieldGuard(f: Fields): boolean {
  return f.N === f.sf && (f.sf === 1 || (f.immr < 32 && f.imms < 32));
}

function buildBitfield(op: BitfieldOp) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, immr: r, imms: s } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const size = f.sf ? 64 : 32;
    const m = decodeBitMasks(f.N, s, r, false, size)!;
    if (size === 32) return bitfield32(op, d, n, mn, r, s, m.wlo, m.tlo);
    // The common aliases as straight shifts.
    if (op === BitfieldOp.UBFM && s === 63)
      return (c: Cpu) => {
        c.xlo[d] = lsr64(c.xlo[n] & mn, c.xhi[n] & mn, r);
        c.xhi[d] = resultHi;
      };
    if (op === BitfieldOp.UBFM && s + 1 === r)
      return (c: Cpu) => {
        c.xlo[d] = lsl64(c.xlo[n] & mn, c.xhi[n] & mn, 64 - r);
        c.xhi[d] = resultHi;
      };
    if (op === BitfieldOp.SBFM && s === 63)
      return (c: Cpu) => {
        c.xlo[d] = asr64(c.xlo[n] & mn, c.xhi[n] & mn, r);
        c.xhi[d] = resultHi;
      };
    const wl = m.wlo;
    const wh = m.whi;
    const tl = m.tlo;
    const th = m.thi;
    if (op === BitfieldOp.UBFM) {
      const ml = wl & tl;
      const mh = wh & th;
      return (c: Cpu) => {
        const lo = ror64(c.xlo[n] & mn, c.xhi[n] & mn, r);
        c.xlo[d] = lo & ml;
        c.xhi[d] = resultHi & mh;
      };
    }
    if (op === BitfieldOp.SBFM) {
      const ml = wl & tl;
      const mh = wh & th;
      const topFromHi = s >= 32;
      const up = 31 - (s & 31); // shifts bit S into the sign position
      return (c: Cpu) => {
        const sl = c.xlo[n] & mn;
        const sh = c.xhi[n] & mn;
        const top = ((topFromHi ? sh : sl) << up) >> 31; // Replicate(src<S>)
        const lo = ror64(sl, sh, r);
        c.xlo[d] = (top & ~tl) | (lo & ml);
        c.xhi[d] = (top & ~th) | (resultHi & mh);
      };
    }
    return (c: Cpu) => {
      const lo = ror64(c.xlo[n] & mn, c.xhi[n] & mn, r);
      const hi = resultHi;
      const dl = c.xlo[d];
      const dh = c.xhi[d];
      const bl = (dl & ~wl) | (lo & wl);
      const bh = (dh & ~wh) | (hi & wh);
      c.xlo[d] = (dl & ~tl) | (bl & tl);
      c.xhi[d] = (dh & ~th) | (bh & th);
    };
  };
}

function bitfield32(op: BitfieldOp, d: number, n: number, mn: number, r: number, s: number, w: number, t: number): Exec {
  if (op === BitfieldOp.UBFM) {
    if (s === 31)
      return (c: Cpu) => {
        c.xlo[d] = (c.xlo[n] & mn) >>> r;
        c.xhi[d] = 0;
      };
    const mask = w & t;
    return (c: Cpu) => {
      c.xlo[d] = ror32(c.xlo[n] & mn, r) & mask;
      c.xhi[d] = 0;
    };
  }
  if (op === BitfieldOp.SBFM) {
    if (s === 31)
      return (c: Cpu) => {
        c.xlo[d] = (c.xlo[n] & mn) >> r;
        c.xhi[d] = 0;
      };
    const mask = w & t;
    const up = 31 - s;
    return (c: Cpu) => {
      const src = c.xlo[n] & mn;
      c.xlo[d] = (((src << up) >> 31) & ~t) | (ror32(src, r) & mask);
      c.xhi[d] = 0;
    };
  }
  return (c: Cpu) => {
    const rot = ror32(c.xlo[n] & mn, r);
    const dst = c.xlo[d];
    const bot = (dst & ~w) | (rot & w);
    c.xlo[d] = (dst & ~t) | (bot & t);
    c.xhi[d] = 0;
  };
}

/** BFXPreferred from the Arm ARM: is UBFX/SBFX the alias to print? */
function bfxPreferred(sf: number, unsigned: boolean, imms: number, immr: number): boolean {
  if (imms < immr) return false;
  if (imms === (sf ? 63 : 31)) return false;
  if (immr === 0) {
    if (sf === 0 && (imms === 7 || imms === 15)) return false;
    if (sf === 1 && !unsigned && (imms === 7 || imms === 15 || imms === 31)) return false;
  }
  return true;
}

function disasmBitfield(op: BitfieldOp) {
  return (f: Fields): string => {
    const { sf, immr, imms } = f;
    const size = sf ? 64 : 32;
    const rd = reg(f.rd, sf);
    const rn = reg(f.rn, sf);
    const ins = (name: string) => insn(name, rd, rn, `#${-immr & (size - 1)}`, `#${imms + 1}`);
    const ext = (name: string) => insn(name, rd, rn, `#${immr}`, `#${imms - immr + 1}`);
    if (op === BitfieldOp.BFM) {
      if (f.rn === 31 && imms < immr) return insn("bfc", rd, `#${-immr & (size - 1)}`, `#${imms + 1}`);
      return imms < immr ? ins("bfi") : ext("bfxil");
    }
    const unsigned = op === BitfieldOp.UBFM;
    if (imms === size - 1) return insn(unsigned ? "lsr" : "asr", rd, rn, `#${immr}`);
    if (unsigned && imms + 1 === immr) return insn("lsl", rd, rn, `#${size - 1 - imms}`);
    if (imms < immr) return ins(unsigned ? "ubfiz" : "sbfiz");
    if (bfxPreferred(sf, unsigned, imms, immr)) return ext(unsigned ? "ubfx" : "sbfx");
    const suffix = imms === 7 ? "b" : imms === 15 ? "h" : "w";
    return insn((unsigned ? "uxt" : "sxt") + suffix, rd, reg(f.rn, 0));
  };
}

// ---- extract -------------------------------------------------------------------------------------------

function extractGuard(f: Fields): boolean {
  return f.N === f.sf && (f.sf === 1 || f.imms < 32);
}

function buildExtract(f: Fields): Exec {
  const { rd: d, rn: n, rm: m, imms: lsb } = f;
  if (d === 31) return nop;
  const mn = zrMask(n);
  const mm = zrMask(m);
  if (f.sf === 0) {
    if (lsb === 0)
      return (c: Cpu) => {
        c.xlo[d] = c.xlo[m] & mm;
        c.xhi[d] = 0;
      };
    return (c: Cpu) => {
      c.xlo[d] = ((c.xlo[m] & mm) >>> lsb) | ((c.xlo[n] & mn) << (32 - lsb));
      c.xhi[d] = 0;
    };
  }
  // (Xn:Xm) >> lsb: the four 32-bit words hi(n) lo(n) hi(m) lo(m); take the 64 bits starting at lsb.
  if (lsb === 0)
    return (c: Cpu) => {
      c.xlo[d] = c.xlo[m] & mm;
      c.xhi[d] = c.xhi[m] & mm;
    };
  if (lsb === 32)
    return (c: Cpu) => {
      const lo = c.xhi[m] & mm;
      c.xhi[d] = c.xlo[n] & mn;
      c.xlo[d] = lo;
    };
  if (lsb < 32) {
    const up = 32 - lsb;
    return (c: Cpu) => {
      const ml = c.xlo[m] & mm;
      const mh = c.xhi[m] & mm;
      const nl = c.xlo[n] & mn;
      c.xlo[d] = (ml >>> lsb) | (mh << up);
      c.xhi[d] = (mh >>> lsb) | (nl << up);
    };
  }
  const t = lsb - 32;
  const up = 32 - t;
  return (c: Cpu) => {
    const mh = c.xhi[m] & mm;
    const nl = c.xlo[n] & mn;
    const nh = c.xhi[n] & mn;
    c.xlo[d] = (mh >>> t) | (nl << up);
    c.xhi[d] = (nl >>> t) | (nh << up);
  };
}

function disasmExtract(f: Fields): string {
  const sf = f.sf;
  if (f.rn === f.rm) return insn("ror", reg(f.rd, sf), reg(f.rn, sf), `#${f.imms}`);
  return insn("extr", reg(f.rd, sf), reg(f.rn, sf), reg(f.rm, sf), `#${f.imms}`);
}

// ---- the table -----------------------------------------------------------------------------------------

const ADD_SUB_IMM = "sf:1 {op} 100010 sh:1 imm12:12 rn:5 rd:5";
const LOGICAL_IMM = "sf:1 {op} 100100 N:1 immr:6 imms:6 rn:5 rd:5";
const MOVE_WIDE = "sf:1 {op} 100101 hw:2 imm16:16 rd:5";
const BITFIELD = "sf:1 {op} 100110 N:1 immr:6 imms:6 rn:5 rd:5";

const at = (pattern: string, op: string) => pattern.replace("{op}", op);

export const DP_IMM: InsnSpec[] = [
  {
    name: "ADR",
    pattern: "0 immlo:2 10000 immhi:19 rd:5",
    build: buildAdr,
    disasm: (f: Fields, _i: number, pc?: bigint) => insn("adr", reg(f.rd, 1), target(pc, adrOffset(f))),
  },
  {
    name: "ADRP",
    pattern: "1 immlo:2 10000 immhi:19 rd:5",
    build: buildAdrp,
    disasm: (f: Fields, _i: number, pc?: bigint) =>
      insn("adrp", reg(f.rd, 1), target(pc === undefined ? undefined : pc & ~0xfffn, adrOffset(f) * 4096)),
  },
  ...(
    [
      ["ADD_imm", "00", false, false],
      ["ADDS_imm", "01", false, true],
      ["SUB_imm", "10", true, false],
      ["SUBS_imm", "11", true, true],
    ] as const
  ).map(([name, op, sub, s]) => ({
    name,
    pattern: at(ADD_SUB_IMM, op),
    build: buildAddSubImm(sub, s),
    disasm: disasmAddSubImm(sub, s),
  })),
  ...(
    [
      ["AND_imm", "00", LogicOp.AND],
      ["ORR_imm", "01", LogicOp.ORR],
      ["EOR_imm", "10", LogicOp.EOR],
      ["ANDS_imm", "11", LogicOp.ANDS],
    ] as const
  ).map(([name, op, kind]) => ({
    name,
    pattern: at(LOGICAL_IMM, op),
    guard: logicalImmGuard,
    build: buildLogicalImm(kind),
    disasm: disasmLogicalImm(kind),
  })),
  ...(
    [
      ["MOVN", "00", MoveOp.MOVN],
      ["MOVZ", "10", MoveOp.MOVZ],
      ["MOVK", "11", MoveOp.MOVK],
    ] as const
  ).map(([name, op, kind]) => ({
    name,
    pattern: at(MOVE_WIDE, op),
    guard: moveWideGuard,
    build: buildMoveWide(kind),
    disasm: disasmMoveWide(kind),
  })),
  ...(
    [
      ["SBFM", "00", BitfieldOp.SBFM],
      ["BFM", "01", BitfieldOp.BFM],
      ["UBFM", "10", BitfieldOp.UBFM],
    ] as const
  ).map(([name, op, kind]) => ({
    name,
    pattern: at(BITFIELD, op),
    guard: bitfieldGuard,
    build: buildBitfield(kind),
    disasm: disasmBitfield(kind),
  })),
  {
    name: "EXTR",
    pattern: "sf:1 00 100111 N:1 0 rm:5 imms:6 rn:5 rd:5",
    guard: extractGuard,
    build: buildExtract,
    disasm: disasmExtract,
  },
];

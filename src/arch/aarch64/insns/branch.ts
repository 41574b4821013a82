// A64 branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ and the register forms BR, BLR, RET.
//
// The run loop has already set nextLo/nextHi to PC + 4; a taken branch overwrites them. PC-relative targets
// are computed from the executing instruction's address at run time (the closure is cached per physical
// word, which may be mapped at several virtual addresses). The PAC forms (BRAA, RETAA...) are ARMv8.3 and
// have no row, so they are Undefined Instruction.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { sext } from "../decoder.js";
import { TWO32 } from "../alu.js";
import { COND_NAMES, insn, reg, target } from "../disasm-util.js";

const nop: Exec = () => {};

/** Sets the next PC to this instruction's address + off (|off| < 2^31). */
function jump(c: Cpu, off: number): void {
  const s = (c.pcLo >>> 0) + off;
  if (s > 0xffffffff) {
    c.nextLo = s - TWO32;
    c.nextHi = (c.pcHi + 1) >>> 0;
  } else if (s < 0) {
    c.nextLo = s + TWO32;
    c.nextHi = (c.pcHi - 1) >>> 0;
  } else {
    c.nextLo = s;
    c.nextHi = c.pcHi >>> 0;
  }
}

// ---- immediate branches --------------------------------------------------------------------------------

const imm26Offset = (f: Fields): number => sext(f.imm26, 26) * 4;
const imm19Offset = (f: Fields): number => sext(f.imm19, 19) * 4;
const imm14Offset = (f: Fields): number => sext(f.imm14, 14) * 4;

function buildB(f: Fields): Exec {
  const off = imm26Offset(f);
  return (c: Cpu) => jump(c, off);
}

function buildBL(f: Fields): Exec {
  const off = imm26Offset(f);
  return (c: Cpu) => {
    c.xlo[30] = c.nextLo; // the return address, PC + 4
    c.xhi[30] = c.nextHi;
    jump(c, off);
  };
}

/** B.cond with ConditionHolds specialised per condition at build time. */
function buildBCond(f: Fields): Exec {
  const off = imm19Offset(f);
  switch (f.cond) {
    case 0x0: // EQ
      return (c: Cpu) => {
        if (c.zf === 1) jump(c, off);
      };
    case 0x1: // NE
      return (c: Cpu) => {
        if (c.zf === 0) jump(c, off);
      };
    case 0x2: // CS
      return (c: Cpu) => {
        if (c.cf === 1) jump(c, off);
      };
    case 0x3: // CC
      return (c: Cpu) => {
        if (c.cf === 0) jump(c, off);
      };
    case 0x4: // MI
      return (c: Cpu) => {
        if (c.nf === 1) jump(c, off);
      };
    case 0x5: // PL
      return (c: Cpu) => {
        if (c.nf === 0) jump(c, off);
      };
    case 0x6: // VS
      return (c: Cpu) => {
        if (c.vf === 1) jump(c, off);
      };
    case 0x7: // VC
      return (c: Cpu) => {
        if (c.vf === 0) jump(c, off);
      };
    case 0x8: // HI
      return (c: Cpu) => {
        if (c.cf === 1 && c.zf === 0) jump(c, off);
      };
    case 0x9: // LS
      return (c: Cpu) => {
        if (!(c.cf === 1 && c.zf === 0)) jump(c, off);
      };
    case 0xa: // GE
      return (c: Cpu) => {
        if (c.nf === c.vf) jump(c, off);
      };
    case 0xb: // LT
      return (c: Cpu) => {
        if (c.nf !== c.vf) jump(c, off);
      };
    case 0xc: // GT
      return (c: Cpu) => {
        if (c.zf === 0 && c.nf === c.vf) jump(c, off);
      };
    case 0xd: // LE
      return (c: Cpu) => {
        if (!(c.zf === 0 && c.nf === c.vf)) jump(c, off);
      };
    default: // AL, NV: both always
      return (c: Cpu) => jump(c, off);
  }
}

function buildCompareBranch(nonZero: boolean) {
  return (f: Fields): Exec => {
    const t = f.rt;
    const off = imm19Offset(f);
    if (t === 31) return nonZero ? nop : (c: Cpu) => jump(c, off); // XZR is always zero
    if (f.sf === 0)
      return nonZero
        ? (c: Cpu) => {
            if (c.xlo[t] !== 0) jump(c, off);
          }
        : (c: Cpu) => {
            if (c.xlo[t] === 0) jump(c, off);
          };
    return nonZero
      ? (c: Cpu) => {
          if ((c.xlo[t] | c.xhi[t]) !== 0) jump(c, off);
        }
      : (c: Cpu) => {
          if ((c.xlo[t] | c.xhi[t]) === 0) jump(c, off);
        };
  };
}

function buildTestBranch(nonZero: boolean) {
  return (f: Fields): Exec => {
    const t = f.rt;
    const off = imm14Offset(f);
    const bit = (f.b5 << 5) | f.b40;
    if (t === 31) return nonZero ? nop : (c: Cpu) => jump(c, off);
    const mask = 1 << (bit & 31);
    if (bit < 32)
      return nonZero
        ? (c: Cpu) => {
            if ((c.xlo[t] & mask) !== 0) jump(c, off);
          }
        : (c: Cpu) => {
            if ((c.xlo[t] & mask) === 0) jump(c, off);
          };
    return nonZero
      ? (c: Cpu) => {
          if ((c.xhi[t] & mask) !== 0) jump(c, off);
        }
      : (c: Cpu) => {
          if ((c.xhi[t] & mask) === 0) jump(c, off);
        };
  };
}

// ---- register branches ---------------------------------------------------------------------------------

function buildBranchReg(link: boolean) {
  return (f: Fields): Exec => {
    const n = f.rn;
    if (n === 31) {
      // Rn = 31 is XZR: a branch to address 0.
      return (c: Cpu) => {
        if (link) {
          c.xlo[30] = c.nextLo;
          c.xhi[30] = c.nextHi;
        }
        c.nextLo = 0;
        c.nextHi = 0;
      };
    }
    if (link)
      return (c: Cpu) => {
        const lo = c.xlo[n] >>> 0; // read the target before writing X30 (BLR X30)
        const hi = c.xhi[n] >>> 0;
        c.xlo[30] = c.nextLo;
        c.xhi[30] = c.nextHi;
        c.nextLo = lo;
        c.nextHi = hi;
      };
    return (c: Cpu) => {
      c.nextLo = c.xlo[n] >>> 0;
      c.nextHi = c.xhi[n] >>> 0;
    };
  };
}

// ---- the table -----------------------------------------------------------------------------------------

type PcDisasm = (f: Fields, insn: number, pc?: bigint) => string;

const compareBranchText =
  (name: string): PcDisasm =>
  (f, _i, pc) =>
    insn(name, reg(f.rt, f.sf), target(pc, imm19Offset(f)));

const testBranchText =
  (name: string): PcDisasm =>
  (f, _i, pc) =>
    insn(name, reg(f.rt, f.b5), `#${(f.b5 << 5) | f.b40}`, target(pc, imm14Offset(f)));

export const BRANCH: InsnSpec[] = [
  {
    name: "B",
    pattern: "0 00101 imm26:26",
    build: buildB,
    disasm: ((f, _i, pc) => insn("b", target(pc, imm26Offset(f)))) as PcDisasm,
  },
  {
    name: "BL",
    pattern: "1 00101 imm26:26",
    build: buildBL,
    disasm: ((f, _i, pc) => insn("bl", target(pc, imm26Offset(f)))) as PcDisasm,
  },
  {
    name: "B_cond",
    pattern: "0101010 0 imm19:19 0 cond:4",
    build: buildBCond,
    disasm: ((f, _i, pc) => insn(`b.${COND_NAMES[f.cond]}`, target(pc, imm19Offset(f)))) as PcDisasm,
  },
  { name: "CBZ", pattern: "sf:1 011010 0 imm19:19 rt:5", build: buildCompareBranch(false), disasm: compareBranchText("cbz") },
  { name: "CBNZ", pattern: "sf:1 011010 1 imm19:19 rt:5", build: buildCompareBranch(true), disasm: compareBranchText("cbnz") },
  {
    name: "TBZ",
    pattern: "b5:1 011011 0 b40:5 imm14:14 rt:5",
    build: buildTestBranch(false),
    disasm: testBranchText("tbz"),
  },
  {
    name: "TBNZ",
    pattern: "b5:1 011011 1 b40:5 imm14:14 rt:5",
    build: buildTestBranch(true),
    disasm: testBranchText("tbnz"),
  },
  {
    name: "BR",
    pattern: "1101011 0000 11111 000000 rn:5 00000",
    build: buildBranchReg(false),
    disasm: (f) => insn("br", reg(f.rn, 1)),
  },
  {
    name: "BLR",
    pattern: "1101011 0001 11111 000000 rn:5 00000",
    build: buildBranchReg(true),
    disasm: (f) => insn("blr", reg(f.rn, 1)),
  },
  {
    name: "RET",
    pattern: "1101011 0010 11111 000000 rn:5 00000",
    build: buildBranchReg(false),
    disasm: (f) => (f.rn === 30 ? "ret" : insn("ret", reg(f.rn, 1))),
  },
];

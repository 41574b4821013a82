// A64 loads and stores of one register (general or FP/SIMD) in every addressing mode, and the prefetches.
//
// Rows follow the Arm ARM's "Load/store register" encoding classes: one row per addressing mode, with the
// operation chosen by (size, V, opc) from the table in load-store-common.ts. Each build returns a closure
// specialised for that instruction word: the immediate is scaled once, XZR offsets fold to immediates, and the
// commonest forms (64/32-bit LDR/STR with an immediate or LSL register offset) get closures of their own.
//
// Writeback (pre/post-index) happens after the access, so a faulting access changes no register. With Rn == Rt
// (CONSTRAINED UNPREDICTABLE) Rewind does what QEMU does: a load leaves the written-back address in the
// register (the writeback comes last) and a store stores the register's value before the writeback.
//
// The pair, exclusive/ordered and multiple-structure rows live in sibling files and are re-exported here.

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { sext } from "../decoder.js";
import { addSigned, baseImm, baseRegFor, ea, Extend, pcImm } from "../address.js";
import { type Access, baseName, gprName, memImm, pcRelText, type RegOp, regName, regOp } from "./load-store-common.js";
import { LOAD_STORE_PAIR } from "./load-store-pair.js";
import { LOAD_STORE_EXCLUSIVE } from "./load-store-exclusive.js";
import { LOAD_STORE_MULTIPLE } from "./load-store-simd.js";

// ---- closures per addressing mode -----------------------------------------------------------------------

function accessorFor(op: RegOp, t: number): Access {
  return t === 31 ? op.accZr : op.acc;
}

/** [Xn|SP, #off] with no writeback (unsigned scaled, unscaled and unprivileged forms). */
function offsetExec(op: RegOp, t: number, n: number, off: number): Exec {
  if (t !== 31 && !op.fp && off >= 0) {
    // Fast paths: the forms compilers emit most, without the indirect accessor call.
    if (op.dir === "ld" && op.suffix === "" && op.reg === "x")
      return (c) => {
        const s = (c.xlo[n] >>> 0) + off;
        const v = c.read64(s >>> 0, s > 0xffffffff ? c.xhi[n] + 1 : c.xhi[n]);
        c.xlo[t] = v;
        c.xhi[t] = c.hi;
      };
    if (op.dir === "st" && op.suffix === "" && op.reg === "x")
      return (c) => {
        const s = (c.xlo[n] >>> 0) + off;
        c.write64(s >>> 0, s > 0xffffffff ? c.xhi[n] + 1 : c.xhi[n], c.xlo[t], c.xhi[t]);
      };
    if (op.dir === "ld" && op.suffix === "" && op.reg === "w")
      return (c) => {
        const s = (c.xlo[n] >>> 0) + off;
        c.xlo[t] = c.read32(s >>> 0, s > 0xffffffff ? c.xhi[n] + 1 : c.xhi[n]);
        c.xhi[t] = 0;
      };
    if (op.dir === "st" && op.suffix === "" && op.reg === "w")
      return (c) => {
        const s = (c.xlo[n] >>> 0) + off;
        c.write32(s >>> 0, s > 0xffffffff ? c.xhi[n] + 1 : c.xhi[n], c.xlo[t] >>> 0);
      };
  }
  const acc = accessorFor(op, t);
  return (c) => {
    baseImm(c, n, off);
    acc(c, t, ea.lo, ea.hi);
  };
}

function preIndexExec(op: RegOp, t: number, n: number, off: number): Exec {
  const acc = accessorFor(op, t);
  return (c) => {
    baseImm(c, n, off);
    const lo = ea.lo;
    const hi = ea.hi;
    acc(c, t, lo, hi);
    c.xlo[n] = lo;
    c.xhi[n] = hi;
  };
}

function postIndexExec(op: RegOp, t: number, n: number, off: number): Exec {
  const acc = accessorFor(op, t);
  return (c) => {
    const lo = c.xlo[n];
    const hi = c.xhi[n];
    acc(c, t, lo >>> 0, hi);
    addSigned(lo, hi, off);
    c.xlo[n] = ea.lo;
    c.xhi[n] = ea.hi;
  };
}

function registerOffsetExec(op: RegOp, t: number, n: number, m: number, option: number, shift: number): Exec {
  // XZR as the offset register: every extend of zero is zero.
  if (m === 31) return offsetExec(op, t, n, 0);
  const add = baseRegFor(option)!;
  if (t !== 31 && !op.fp && op.suffix === "" && (option === Extend.Lsl || option === Extend.Sxtx)) {
    if (op.dir === "ld" && op.reg === "x")
      return (c) => {
        let mlo = c.xlo[m];
        let mhi = c.xhi[m];
        if (shift !== 0) {
          mhi = (mhi << shift) | (mlo >>> (32 - shift));
          mlo <<= shift;
        }
        const s = (c.xlo[n] >>> 0) + (mlo >>> 0);
        const v = c.read64(s >>> 0, c.xhi[n] + mhi + (s > 0xffffffff ? 1 : 0));
        c.xlo[t] = v;
        c.xhi[t] = c.hi;
      };
    if (op.dir === "st" && op.reg === "x")
      return (c) => {
        let mlo = c.xlo[m];
        let mhi = c.xhi[m];
        if (shift !== 0) {
          mhi = (mhi << shift) | (mlo >>> (32 - shift));
          mlo <<= shift;
        }
        const s = (c.xlo[n] >>> 0) + (mlo >>> 0);
        c.write64(s >>> 0, c.xhi[n] + mhi + (s > 0xffffffff ? 1 : 0), c.xlo[t], c.xhi[t]);
      };
  }
  const acc = accessorFor(op, t);
  return (c) => {
    add(c, n, m, shift);
    acc(c, t, ea.lo, ea.hi);
  };
}

function literalExec(op: RegOp, t: number, off: number): Exec {
  const acc = accessorFor(op, t);
  return (c) => {
    pcImm(c, off);
    acc(c, t, ea.lo, ea.hi);
  };
}

// ---- text -----------------------------------------------------------------------------------------------

/** "ldr"/"ldur"/"ldtr" + suffix: mode is "r", "ur" or "tr". */
function mnemonic(op: RegOp, mode: string): string {
  return `${op.dir}${mode}${op.suffix}`;
}

function transferReg(f: Fields): string {
  const op = regOp(f.size, f.v, f.opc)!;
  return regName(op.reg, f.rt);
}

const EXTEND_NAMES = ["", "", "uxtw", "lsl", "", "", "sxtw", "sxtx"];

function registerOffsetText(f: Fields, scale: number): string {
  const option = f.option;
  const m = option === Extend.Uxtw || option === Extend.Sxtw ? gprName("w", f.rm) : gprName("x", f.rm);
  let ext = "";
  if (option === Extend.Lsl) ext = f.s ? `, lsl #${scale}` : "";
  else ext = `, ${EXTEND_NAMES[option]}${f.s ? ` #${scale}` : ""}`;
  return `[${baseName(f.rn)}, ${m}${ext}]`;
}

const PRF_TYPES = ["pld", "pli", "pst"];
const PRF_TARGETS = ["l1", "l2", "l3"];

/** PRFM operation name (`pldl1keep`), or `#0x..` for the unallocated encodings. */
export function prfopName(rt: number): string {
  const type = rt >> 3;
  const target = (rt >> 1) & 3;
  if (type === 3 || target === 3) return `#0x${rt.toString(16).padStart(2, "0")}`;
  return `${PRF_TYPES[type]}${PRF_TARGETS[target]}${rt & 1 ? "strm" : "keep"}`;
}

// Prefetches are hints; Rewind has no cache to warm, so every form (including the unallocated prfops, which
// the architecture also makes hints) executes as a no-op that neither accesses memory nor faults.
const prefetch: Exec = () => {};

const valid = (f: Fields) => regOp(f.size, f.v, f.opc) !== undefined;
const validGpr = (f: Fields) => f.v === 0 && valid(f);

export const LOAD_STORE_SINGLE: InsnSpec[] = [
  {
    name: "LDST_uimm",
    pattern: "size:2 111 v:1 01 opc:2 imm12:12 rn:5 rt:5",
    guard: valid,
    build: (f) => {
      const op = regOp(f.size, f.v, f.opc)!;
      return offsetExec(op, f.rt, f.rn, f.imm12 << op.scale);
    },
    disasm: (f) => {
      const op = regOp(f.size, f.v, f.opc)!;
      return `${mnemonic(op, "r")}\t${transferReg(f)}, ${memImm(f.rn, f.imm12 << op.scale)}`;
    },
  },
  {
    name: "LDST_unscaled",
    pattern: "size:2 111 v:1 00 opc:2 0 imm9:9 00 rn:5 rt:5",
    guard: valid,
    build: (f) => offsetExec(regOp(f.size, f.v, f.opc)!, f.rt, f.rn, sext(f.imm9, 9)),
    disasm: (f) => `${mnemonic(regOp(f.size, f.v, f.opc)!, "ur")}\t${transferReg(f)}, ${memImm(f.rn, sext(f.imm9, 9))}`,
  },
  {
    name: "LDST_post",
    pattern: "size:2 111 v:1 00 opc:2 0 imm9:9 01 rn:5 rt:5",
    guard: valid,
    build: (f) => postIndexExec(regOp(f.size, f.v, f.opc)!, f.rt, f.rn, sext(f.imm9, 9)),
    disasm: (f) =>
      `${mnemonic(regOp(f.size, f.v, f.opc)!, "r")}\t${transferReg(f)}, [${baseName(f.rn)}], #${sext(f.imm9, 9)}`,
  },
  {
    name: "LDST_pre",
    pattern: "size:2 111 v:1 00 opc:2 0 imm9:9 11 rn:5 rt:5",
    guard: valid,
    build: (f) => preIndexExec(regOp(f.size, f.v, f.opc)!, f.rt, f.rn, sext(f.imm9, 9)),
    disasm: (f) =>
      `${mnemonic(regOp(f.size, f.v, f.opc)!, "r")}\t${transferReg(f)}, [${baseName(f.rn)}, #${sext(f.imm9, 9)}]!`,
  },
  {
    // LDTR/STTR: at EL1 the access is checked with EL0's permissions (the MMU reads cpu.unprivileged).
    name: "LDST_unpriv",
    pattern: "size:2 111 v:1 00 opc:2 0 imm9:9 10 rn:5 rt:5",
    guard: validGpr,
    build: (f) => {
      const exec = offsetExec(regOp(f.size, f.v, f.opc)!, f.rt, f.rn, sext(f.imm9, 9));
      return (c) => {
        c.unprivileged = true;
        try {
          exec(c);
        } finally {
          c.unprivileged = false;
        }
      };
    },
    disasm: (f) => `${mnemonic(regOp(f.size, f.v, f.opc)!, "tr")}\t${transferReg(f)}, ${memImm(f.rn, sext(f.imm9, 9))}`,
  },
  {
    name: "LDST_reg",
    pattern: "size:2 111 v:1 00 opc:2 1 rm:5 option:3 s:1 10 rn:5 rt:5",
    guard: (f) => (f.option & 2) !== 0 && valid(f),
    build: (f) => {
      const op = regOp(f.size, f.v, f.opc)!;
      return registerOffsetExec(op, f.rt, f.rn, f.rm, f.option, f.s ? op.scale : 0);
    },
    disasm: (f) => {
      const op = regOp(f.size, f.v, f.opc)!;
      return `${mnemonic(op, "r")}\t${transferReg(f)}, ${registerOffsetText(f, op.scale)}`;
    },
  },
  {
    name: "LDR_lit",
    pattern: "opc:2 011 v:1 00 imm19:19 rt:5",
    guard: (f) => f.opc !== 3,
    build: (f) => literalExec(literalOp(f), f.rt, sext(f.imm19, 19) * 4),
    disasm: (f) => {
      const op = literalOp(f);
      return `${mnemonic(op, "r")}\t${regName(op.reg, f.rt)}, ${pcRelText(sext(f.imm19, 19) * 4)}`;
    },
  },
  {
    name: "PRFM_uimm",
    pattern: "11 111 0 01 10 imm12:12 rn:5 rt:5",
    build: () => prefetch,
    disasm: (f) => `prfm\t${prfopName(f.rt)}, ${memImm(f.rn, f.imm12 << 3)}`,
  },
  {
    name: "PRFUM",
    pattern: "11 111 0 00 10 0 imm9:9 00 rn:5 rt:5",
    build: () => prefetch,
    disasm: (f) => `prfum\t${prfopName(f.rt)}, ${memImm(f.rn, sext(f.imm9, 9))}`,
  },
  {
    name: "PRFM_reg",
    pattern: "11 111 0 00 10 1 rm:5 option:3 s:1 10 rn:5 rt:5",
    guard: (f) => (f.option & 2) !== 0,
    build: () => prefetch,
    disasm: (f) => `prfm\t${prfopName(f.rt)}, ${registerOffsetText(f, 3)}`,
  },
  {
    name: "PRFM_lit",
    pattern: "11 011 0 00 imm19:19 rt:5",
    build: () => prefetch,
    disasm: (f) => `prfm\t${prfopName(f.rt)}, ${pcRelText(sext(f.imm19, 19) * 4)}`,
  },
];

/** LDR (literal): opc 00 = W/S, 01 = X/D, 10 = LDRSW/Q. */
function literalOp(f: Fields): RegOp {
  if (f.v === 0) return f.opc === 0 ? regOp(2, 0, 1)! : f.opc === 1 ? regOp(3, 0, 1)! : regOp(2, 0, 2)!;
  return f.opc === 0 ? regOp(2, 1, 1)! : f.opc === 1 ? regOp(3, 1, 1)! : regOp(0, 1, 3)!;
}

export const LOAD_STORE: InsnSpec[] = [
  ...LOAD_STORE_SINGLE,
  ...LOAD_STORE_PAIR,
  ...LOAD_STORE_EXCLUSIVE,
  ...LOAD_STORE_MULTIPLE,
];


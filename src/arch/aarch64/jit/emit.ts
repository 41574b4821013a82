// Inline JavaScript for the instructions that dominate real code, one emitter per decode-table row (by row
// name). An emitter returns the statement(s) that do what the row's executor does, or undefined for the forms it
// does not cover (the block then calls the executor, which is always correct). The emitted code runs inside a
// compiled region (codegen.ts) where `xl`/`xh` are the register halves, `c` the CPU, `pl`/`ph` the first address of
// the code page, and where the PC, next PC and step count have been stored as the executor expects (inline loads
// and stores store them themselves, on their slow path: EmitContext.slow).
//
// Every emitter mirrors its executor in insns/*.ts statement for statement; test/jit/differential.test.ts runs
// random instructions of every row through both tiers and compares whole states.

import type { Fields } from "../decoder.js";
import { decodeBitMasks } from "../alu.js";
import { branchOffset } from "./block.js";
import { loadStoreIndexed, loadStorePair, loadStoreReg, loadStoreUimm } from "./emit-memory.js";

export interface EmitContext {
  /** Byte offset of the instruction in its code page (from pl). */
  offset: number;
  /** Inline loads and stores: the statements that store the PC, next PC and step count, run before the CPU's
   * accessor is called (once per instruction; codegen.ts checks after the instruction when one was). */
  slow: string;
}

type Emitter = (f: Fields, ctx: EmitContext) => string | undefined;

// ---- operands ---------------------------------------------------------------------------------------------

/** A source register where 31 is XZR. */
const lo = (n: number) => (n === 31 ? "0" : `xl[${n}]`);
const hi = (n: number) => (n === 31 ? "0" : `xh[${n}]`);
/** A destination where 31 is XZR (written nowhere). */
const set = (d: number, l: string, h: string) => (d === 31 ? "" : `xl[${d}] = ${l}; xh[${d}] = ${h};`);

/** Statements leaving a constant-amount 64-bit shift of (al, ah) in `bl`/`bh` (undefined: not inlined). */
function shift64(type: number, amt: number, al: string, ah: string): string | undefined {
  if (amt === 0) return `const bl = ${al} | 0, bh = ${ah} | 0;`;
  switch (type) {
    case 0: // LSL
      return amt < 32
        ? `const bl = ${al} << ${amt}, bh = (${ah} << ${amt}) | (${al} >>> ${32 - amt});`
        : `const bl = 0, bh = ${al} << ${amt - 32};`;
    case 1: // LSR
      return amt < 32
        ? `const bl = (${al} >>> ${amt}) | (${ah} << ${32 - amt}), bh = ${ah} >>> ${amt};`
        : `const bl = (${ah} >>> ${amt - 32}) | 0, bh = 0;`;
    case 2: // ASR
      return amt < 32
        ? `const bl = (${al} >>> ${amt}) | (${ah} << ${32 - amt}), bh = ${ah} >> ${amt};`
        : `const bl = ${ah} >> ${amt - 32}, bh = ${ah} >> 31;`;
    default:
      return undefined;
  }
}

/** A constant-amount 32-bit shift of `x` as an int32 expression. */
function shift32(type: number, amt: number, x: string): string | undefined {
  switch (type) {
    case 0:
      return `(${x} << ${amt})`;
    case 1:
      return `((${x} >>> ${amt}) | 0)`;
    case 2:
      return `(${x} >> ${amt})`;
    default:
      return undefined;
  }
}

/** NZCV of a 64-bit a + b + cin into c (AddWithCarry), result halves in rl/rh. */
function addFlags64(al: string, ah: string, bl: string, bh: string, cin: number): string {
  return (
    `const sl = (${al} >>> 0) + (${bl} >>> 0) + ${cin}; const sh = (${ah} >>> 0) + (${bh} >>> 0) + (sl > 0xffffffff ? 1 : 0);` +
    ` const rl = sl | 0, rh = sh | 0; c.nf = rh >>> 31; c.zf = (rl | rh) === 0 ? 1 : 0; c.cf = sh > 0xffffffff ? 1 : 0;` +
    ` c.vf = (~((${ah}) ^ (${bh})) & ((${ah}) ^ rh)) >>> 31;`
  );
}
function addFlags32(a: string, b: string, cin: number): string {
  return (
    `const s = (${a} >>> 0) + (${b} >>> 0) + ${cin}; const r = s | 0; c.nf = r >>> 31; c.zf = r === 0 ? 1 : 0;` +
    ` c.cf = s > 0xffffffff ? 1 : 0; c.vf = (~((${a}) ^ (${b})) & ((${a}) ^ r)) >>> 31;`
  );
}

/** Sets the next PC to this instruction's address + off (branch.ts `jump`). */
export function jump(ctx: { offset: number }, off: number): string {
  const k = ctx.offset + off;
  if (k >= 0 && k < 4096) return `{ c.nextLo = pl + ${k}; c.nextHi = ph; }`; // within the page: no carry
  return `{ const t = pl + ${k}; if (t > 0xffffffff) { c.nextLo = t - 4294967296; c.nextHi = (ph + 1) >>> 0; } else if (t < 0) { c.nextLo = t + 4294967296; c.nextHi = (ph - 1) >>> 0; } else { c.nextLo = t; c.nextHi = ph; } }`;
}

// ---- data processing (immediate) --------------------------------------------------------------------------

function addSubImm(sub: boolean, flags: boolean): Emitter {
  return (f) => {
    const { rd: d, rn: n } = f;
    const im = f.imm12 << (f.sh * 12);
    if (!flags) {
      // Rd and Rn are SP-capable.
      if (f.sf === 0) return `xl[${d}] = xl[${n}] + ${sub ? -im : im}; xh[${d}] = 0;`;
      if (im === 0) return `xl[${d}] = xl[${n}]; xh[${d}] = xh[${n}];`;
      return sub
        ? `{ const s = (xl[${n}] >>> 0) - ${im}; const h = xh[${n}]; xl[${d}] = s; xh[${d}] = s < 0 ? h - 1 : h; }`
        : `{ const s = (xl[${n}] >>> 0) + ${im}; const h = xh[${n}]; xl[${d}] = s; xh[${d}] = s > 0xffffffff ? h + 1 : h; }`;
    }
    const bl = sub ? ~im : im;
    const bh = sub ? -1 : 0;
    const cin = sub ? 1 : 0;
    if (f.sf === 0) return `{ ${addFlags32(`xl[${n}]`, String(bl), cin)} ${set(d, "r", "0")} }`;
    return `{ ${addFlags64(`xl[${n}]`, `xh[${n}]`, String(bl), String(bh), cin)} ${set(d, "rl", "rh")} }`;
  };
}

function logicalImm(op: "&" | "|" | "^" | "s"): Emitter {
  return (f) => {
    const { rd: d, rn: n } = f;
    const m = decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32);
    if (m === undefined) return undefined;
    const il = m.wlo | 0;
    const ih = f.sf ? m.whi | 0 : 0;
    if (op === "s") {
      const body =
        `const rl = ${lo(n)} & ${il}, rh = ${f.sf ? `${hi(n)} & ${ih}` : "0"};` +
        ` c.nf = ${f.sf ? "rh" : "rl"} >>> 31; c.zf = (rl | rh) === 0 ? 1 : 0; c.cf = 0; c.vf = 0; ${set(d, "rl", "rh")}`;
      return `{ ${body} }`;
    }
    // Rd is SP-capable here; an XZR Rn makes the result a constant.
    if (n === 31) return op === "&" ? `xl[${d}] = 0; xh[${d}] = 0;` : `xl[${d}] = ${il}; xh[${d}] = ${ih};`;
    if (op === "&") return `xl[${d}] = xl[${n}] & ${il}; xh[${d}] = xh[${n}] & ${ih};`;
    if (f.sf === 0) return `xl[${d}] = xl[${n}] ${op} ${il}; xh[${d}] = 0;`;
    return `xl[${d}] = xl[${n}] ${op} ${il}; xh[${d}] = xh[${n}] ${op} ${ih};`;
  };
}

function moveWide(op: "n" | "z" | "k"): Emitter {
  return (f) => {
    const d = f.rd;
    if (d === 31) return "";
    const shift = f.hw * 16;
    const pl = shift < 32 ? f.imm16 << shift : 0;
    const phv = shift >= 32 ? f.imm16 << (shift - 32) : 0;
    if (op === "k") {
      if (f.sf === 0) return `xl[${d}] = (xl[${d}] & ${~(0xffff << shift)}) | ${pl}; xh[${d}] = 0;`;
      if (shift < 32) return `xl[${d}] = (xl[${d}] & ${~(0xffff << shift)}) | ${pl};`;
      return `xh[${d}] = (xh[${d}] & ${~(0xffff << (shift - 32))}) | ${phv};`;
    }
    if (op === "n") return `xl[${d}] = ${~pl}; xh[${d}] = ${f.sf ? ~phv : 0};`;
    return `xl[${d}] = ${pl}; xh[${d}] = ${phv};`;
  };
}

/** UBFM's shift and zero-extend aliases (LSL, LSR, UXTB, UXTH); other bitfield forms call the executor. */
const ubfm: Emitter = (f) => {
  const { rd: d, rn: n, immr: r, imms: s } = f;
  if (d === 31) return "";
  if (f.sf === 0) {
    if (s === 31) return `xl[${d}] = ${lo(n)} >>> ${r} | 0; xh[${d}] = 0;`; // LSR
    if (s + 1 === r) return `xl[${d}] = ${lo(n)} << ${32 - r}; xh[${d}] = 0;`; // LSL
    if (r === 0 && (s === 7 || s === 15)) return `xl[${d}] = ${lo(n)} & ${s === 7 ? 0xff : 0xffff}; xh[${d}] = 0;`;
    return undefined;
  }
  if (s === 63) return `{ ${shift64(1, r, lo(n), hi(n))} xl[${d}] = bl; xh[${d}] = bh; }`; // LSR
  if (s + 1 === r) return `{ ${shift64(0, 64 - r, lo(n), hi(n))} xl[${d}] = bl; xh[${d}] = bh; }`; // LSL
  if (r === 0 && s === 31) return `xl[${d}] = ${lo(n)}; xh[${d}] = 0;`; // UXTW (as UBFX #0, #32)
  return undefined;
};

/** SBFM's ASR and SXTW aliases. */
const sbfm: Emitter = (f) => {
  const { rd: d, rn: n, immr: r, imms: s } = f;
  if (d === 31) return "";
  if (f.sf === 0) return s === 31 ? `xl[${d}] = ${lo(n)} >> ${r}; xh[${d}] = 0;` : undefined;
  if (s === 63) return `{ ${shift64(2, r, lo(n), hi(n))} xl[${d}] = bl; xh[${d}] = bh; }`; // ASR
  if (r === 0 && s === 31) return `{ const v = ${lo(n)}; xl[${d}] = v; xh[${d}] = v >> 31; }`; // SXTW
  return undefined;
};

// ---- data processing (register) ---------------------------------------------------------------------------

function logicalReg(op: "&" | "|" | "^" | "s", invert: boolean): Emitter {
  return (f) => {
    const { rd: d, rn: n, rm: m, shift: type, imm6: amt } = f;
    if (d === 31 && op !== "s") return "";
    const inv = invert ? " ^ -1" : "";
    const o = op === "s" ? "&" : op;
    if (f.sf === 0) {
      const b = shift32(type, amt, lo(m));
      if (b === undefined) return undefined;
      const r = `(${lo(n)} ${o} (${b}${inv}))`;
      if (op !== "s") return `xl[${d}] = ${r}; xh[${d}] = 0;`;
      return `{ const r = ${r}; c.nf = r >>> 31; c.zf = r === 0 ? 1 : 0; c.cf = 0; c.vf = 0; ${set(d, "r", "0")} }`;
    }
    if (op === "|" && n === 31 && amt === 0 && !invert) return `xl[${d}] = ${lo(m)}; xh[${d}] = ${hi(m)};`; // MOV
    const sh = shift64(type, amt, lo(m), hi(m));
    if (sh === undefined) return undefined;
    const body = `${sh} const rl = ${lo(n)} ${o} (bl${inv}), rh = ${hi(n)} ${o} (bh${inv});`;
    if (op !== "s") return `{ ${body} xl[${d}] = rl; xh[${d}] = rh; }`;
    return `{ ${body} c.nf = rh >>> 31; c.zf = (rl | rh) === 0 ? 1 : 0; c.cf = 0; c.vf = 0; ${set(d, "rl", "rh")} }`;
  };
}

function addSubShifted(sub: boolean, flags: boolean): Emitter {
  return (f) => {
    const { rd: d, rn: n, rm: m, shift: type, imm6: amt } = f;
    if (d === 31 && !flags) return "";
    if (f.sf === 0) {
      const b = shift32(type, amt, lo(m));
      if (b === undefined) return undefined;
      if (!flags) return `xl[${d}] = ${lo(n)} ${sub ? "-" : "+"} ${b}; xh[${d}] = 0;`;
      return `{ const b = ${b}${sub ? " ^ -1" : ""}; ${addFlags32(lo(n), "b", sub ? 1 : 0)} ${set(d, "r", "0")} }`;
    }
    const sh = shift64(type, amt, lo(m), hi(m));
    if (sh === undefined) return undefined;
    if (flags) {
      const inv = sub ? " ^ -1" : "";
      return `{ ${sh} const nl = bl${inv}, nh = bh${inv}; ${addFlags64(lo(n), hi(n), "nl", "nh", sub ? 1 : 0)} ${set(d, "rl", "rh")} }`;
    }
    return sub
      ? `{ ${sh} const s = (${lo(n)} >>> 0) - (bl >>> 0); const h = ${hi(n)} - bh; xl[${d}] = s; xh[${d}] = s < 0 ? h - 1 : h; }`
      : `{ ${sh} const s = (${lo(n)} >>> 0) + (bl >>> 0); const h = ${hi(n)} + bh; xl[${d}] = s; xh[${d}] = s > 0xffffffff ? h + 1 : h; }`;
  };
}

/** ADD/SUB (extended register), 64-bit without flags, for the word and doubleword extends. */
function addSubExtended(sub: boolean): Emitter {
  return (f) => {
    const { rd: d, rn: n, rm: m, imm3: sh, option } = f;
    if (f.sf !== 1 || sh > 4) return undefined;
    let ext: string;
    if (option === 2) ext = `let bl = ${lo(m)}, bh = 0;`; // UXTW
    else if (option === 6) ext = `let bl = ${lo(m)}, bh = bl >> 31;`; // SXTW
    else if (option === 3 || option === 7) ext = `let bl = ${lo(m)}, bh = ${hi(m)};`; // UXTX, SXTX
    else return undefined;
    if (sh !== 0) ext += ` bh = (bh << ${sh}) | (bl >>> ${32 - sh}); bl <<= ${sh};`;
    // Rd and Rn are SP-capable.
    return sub
      ? `{ ${ext} const s = (xl[${n}] >>> 0) - (bl >>> 0); const h = xh[${n}] - bh; xl[${d}] = s; xh[${d}] = s < 0 ? h - 1 : h; }`
      : `{ ${ext} const s = (xl[${n}] >>> 0) + (bl >>> 0); const h = xh[${n}] + bh; xl[${d}] = s; xh[${d}] = s > 0xffffffff ? h + 1 : h; }`;
  };
}

/** ConditionHolds(cond) over c's flags, as a JS boolean expression. */
export function conditionSource(cond: number): string {
  const base = [
    "c.zf === 1",
    "c.cf === 1",
    "c.nf === 1",
    "c.vf === 1",
    "(c.cf === 1 && c.zf === 0)",
    "c.nf === c.vf",
    "(c.nf === c.vf && c.zf === 0)",
    "true",
  ][cond >> 1];
  return (cond & 1) === 1 && cond !== 0xf ? `!(${base})` : base;
}

function condSelect(op: "sel" | "inc" | "inv" | "neg"): Emitter {
  return (f) => {
    const { rd: d, rn: n, rm: m } = f;
    if (d === 31 || op === "neg") return d === 31 ? "" : undefined;
    const w = f.sf === 0;
    const ml = op === "sel" ? lo(m) : op === "inv" ? `~${lo(m)}` : undefined;
    const mh = op === "sel" ? hi(m) : op === "inv" ? `~${hi(m)}` : undefined;
    let elseBody: string;
    if (op === "inc") {
      elseBody = w
        ? `xl[${d}] = ${lo(m)} + 1; xh[${d}] = 0;`
        : `{ const s = (${lo(m)} >>> 0) + 1; xl[${d}] = s; xh[${d}] = s > 0xffffffff ? ${hi(m)} + 1 : ${hi(m)}; }`;
    } else elseBody = `xl[${d}] = ${ml}; xh[${d}] = ${w ? "0" : mh};`;
    return `if (${conditionSource(f.cond)}) { xl[${d}] = ${lo(n)}; xh[${d}] = ${w ? "0" : hi(n)}; } else { ${elseBody} }`;
  };
}

// ---- branches ---------------------------------------------------------------------------------------------

const branch: Emitter = (f, ctx) => jump(ctx, branchOffset("B", f));
const branchLink: Emitter = (f, ctx) => `xl[30] = c.nextLo; xh[30] = c.nextHi; ${jump(ctx, branchOffset("BL", f))}`;
/** B.cond, CBZ/CBNZ, TBZ/TBNZ ending a block: when taken, the next PC is the target (side exits: codegen.ts). */
const conditionalBranch =
  (row: string): Emitter =>
  (f, ctx) =>
    `if (${conditionalTest(row, f)}) ${jump(ctx, branchOffset(row, f))}`;

function branchReg(link: boolean): Emitter {
  return (f) => {
    const n = f.rn;
    const lk = link ? "xl[30] = c.nextLo; xh[30] = c.nextHi; " : "";
    if (n === 31) return `${lk}c.nextLo = 0; c.nextHi = 0;`;
    return `{ const tl = xl[${n}] >>> 0, th = xh[${n}] >>> 0; ${lk}c.nextLo = tl; c.nextHi = th; }`;
  };
}

/** The taken condition of a conditional branch row (B.cond, CBZ/CBNZ, TBZ/TBNZ), as a JS expression. */
export function conditionalTest(row: string, f: Fields): string {
  switch (row) {
    case "B_cond":
      return conditionSource(f.cond);
    case "CBZ":
    case "CBNZ": {
      const nz = row === "CBNZ";
      if (f.rt === 31) return nz ? "false" : "true";
      const v = f.sf === 0 ? `xl[${f.rt}]` : `(xl[${f.rt}] | xh[${f.rt}])`;
      return `${v} ${nz ? "!==" : "==="} 0`;
    }
    default: {
      const nz = row === "TBNZ";
      if (f.rt === 31) return nz ? "false" : "true";
      const bit = (f.b5 << 5) | f.b40;
      return `((${bit < 32 ? "xl" : "xh"}[${f.rt}] & ${1 << (bit & 31)}) ${nz ? "!==" : "==="} 0)`;
    }
  }
}

/** Row name -> emitter. Rows without one run their executor from the compiled block. */
export const EMITTERS: Readonly<Record<string, Emitter>> = {
  ADD_imm: addSubImm(false, false),
  ADDS_imm: addSubImm(false, true),
  SUB_imm: addSubImm(true, false),
  SUBS_imm: addSubImm(true, true),
  AND_imm: logicalImm("&"),
  ORR_imm: logicalImm("|"),
  EOR_imm: logicalImm("^"),
  ANDS_imm: logicalImm("s"),
  MOVN: moveWide("n"),
  MOVZ: moveWide("z"),
  MOVK: moveWide("k"),
  UBFM: ubfm,
  SBFM: sbfm,
  AND_reg: logicalReg("&", false),
  BIC_reg: logicalReg("&", true),
  ORR_reg: logicalReg("|", false),
  ORN_reg: logicalReg("|", true),
  EOR_reg: logicalReg("^", false),
  EON_reg: logicalReg("^", true),
  ANDS_reg: logicalReg("s", false),
  BICS_reg: logicalReg("s", true),
  ADD_shifted: addSubShifted(false, false),
  ADDS_shifted: addSubShifted(false, true),
  SUB_shifted: addSubShifted(true, false),
  SUBS_shifted: addSubShifted(true, true),
  ADD_extended: addSubExtended(false),
  SUB_extended: addSubExtended(true),
  LDST_uimm: loadStoreUimm,
  LDST_reg: loadStoreReg,
  LDST_pre: loadStoreIndexed(true),
  LDST_post: loadStoreIndexed(false),
  LDSTP_off: loadStorePair("off"),
  LDSTP_pre: loadStorePair("pre"),
  LDSTP_post: loadStorePair("post"),
  CSEL: condSelect("sel"),
  CSINC: condSelect("inc"),
  CSINV: condSelect("inv"),
  CSNEG: condSelect("neg"),
  B: branch,
  BL: branchLink,
  B_cond: conditionalBranch("B_cond"),
  CBZ: conditionalBranch("CBZ"),
  CBNZ: conditionalBranch("CBNZ"),
  TBZ: conditionalBranch("TBZ"),
  TBNZ: conditionalBranch("TBNZ"),
  HINT: (f) => (f.crm === 0 && f.op2 === 3 ? undefined : ""), // every hint but WFI is a no-op here
  DSB_DMB_ISB: () => "",
  CLREX: () => "c.exclusiveAddr = -1;",
  BR: branchReg(false),
  BLR: branchReg(true),
  RET: branchReg(false),
};

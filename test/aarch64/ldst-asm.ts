// A tiny A64 assembler for the load/store and SIMD-move tests: GNU as syntax, one instruction per call, only
// the instructions those tests use. Literal targets are written `.+16` / `.-8` (relative to the instruction),
// as GNU as accepts them. Encodings are cross-checked against aarch64-linux-gnu-as in ldst-encoding.test.ts.
// Also holds the small machine/abort helpers the ldst-* and simd-* tests share.

import assert from "node:assert/strict";
import { CODE, RAM_BASE, TestMachine } from "./harness.js";

export class AsmError extends Error {
  override name = "AsmError";
}

type Operand =
  | { k: "reg"; kind: "w" | "x" | "b" | "h" | "s" | "d" | "q"; n: number; sp?: boolean }
  | { k: "vec"; n: number; arr: string }
  | { k: "elem"; n: number; size: number; index: number }
  | { k: "imm"; text: string }
  | { k: "shift"; op: string; amount: number | undefined }
  | { k: "mem"; parts: Operand[]; writeback: boolean }
  | { k: "list"; regs: number[]; arr: string }
  | { k: "label"; off: number }
  | { k: "name"; text: string };

const ELEM_SIZES: Record<string, number> = { b: 0, h: 1, s: 2, d: 3 };
const ARRANGEMENTS: Record<string, [number, number]> = {
  "8b": [0, 0],
  "16b": [0, 1],
  "4h": [1, 0],
  "8h": [1, 1],
  "2s": [2, 0],
  "4s": [2, 1],
  "1d": [3, 0],
  "2d": [3, 1],
};

/** Splits on commas outside brackets and braces. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "[" || ch === "{") depth++;
    if (ch === "]" || ch === "}") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseOperand(t: string): Operand {
  let m: RegExpExecArray | null;
  if (t.startsWith("[")) {
    const writeback = t.endsWith("!");
    const inner = t.slice(1, t.lastIndexOf("]"));
    return { k: "mem", parts: splitTop(inner).map(parseOperand), writeback };
  }
  if (t.startsWith("{")) {
    const inner = t.slice(1, -1).trim();
    const range = /^v(\d+)\.(\w+)\s*-\s*v(\d+)\.(\w+)$/.exec(inner);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[3]);
      const regs: number[] = [];
      for (let r = a; ; r = (r + 1) & 31) {
        regs.push(r);
        if (r === b) break;
      }
      return { k: "list", regs, arr: range[2] };
    }
    const items = inner.split(",").map((x) => /^v(\d+)\.(\w+)$/.exec(x.trim()));
    if (items.some((x) => !x)) throw new AsmError(`bad register list ${t}`);
    return { k: "list", regs: items.map((x) => Number(x![1])), arr: items[0]![2] };
  }
  if ((m = /^([wxbhsdq])(\d+)$/.exec(t))) return { k: "reg", kind: m[1] as "w", n: Number(m[2]) };
  if (t === "sp") return { k: "reg", kind: "x", n: 31, sp: true };
  if (t === "wsp") return { k: "reg", kind: "w", n: 31, sp: true };
  if (t === "xzr" || t === "wzr") return { k: "reg", kind: t[0] as "x", n: 31 };
  if ((m = /^v(\d+)\.([bhsd])\[(\d+)\]$/.exec(t))) return { k: "elem", n: Number(m[1]), size: ELEM_SIZES[m[2]], index: Number(m[3]) };
  if ((m = /^v(\d+)\.(\w+)$/.exec(t))) return { k: "vec", n: Number(m[1]), arr: m[2] };
  if ((m = /^#(.+)$/.exec(t))) return { k: "imm", text: m[1] };
  if ((m = /^(lsl|msl|uxtw|sxtw|sxtx|uxtx)(?:\s+#(\d+))?$/.exec(t)))
    return { k: "shift", op: m[1], amount: m[2] === undefined ? undefined : Number(m[2]) };
  if ((m = /^\.([+-]\d+)$/.exec(t))) return { k: "label", off: Number(m[1]) };
  if (/^[a-z0-9]+$/.test(t)) return { k: "name", text: t };
  throw new AsmError(`cannot parse operand '${t}'`);
}

function imm(o: Operand | undefined): number {
  if (!o || o.k !== "imm") throw new AsmError("expected an immediate");
  return Number(o.text);
}
function reg(o: Operand | undefined): Extract<Operand, { k: "reg" }> {
  if (!o || o.k !== "reg") throw new AsmError("expected a register");
  return o;
}
function baseReg(o: Operand | undefined): number {
  const r = reg(o);
  if (r.kind !== "x" || (r.n === 31 && !r.sp)) throw new AsmError("base must be Xn or SP");
  return r.n;
}
function fits(v: number, bits: number, signed: boolean): boolean {
  return signed ? v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1) : v >= 0 && v < 2 ** bits;
}
function field(v: number, bits: number, signed: boolean, what: string): number {
  if (!Number.isInteger(v) || !fits(v, bits, signed)) throw new AsmError(`${what} ${v} out of range`);
  return v & (2 ** bits - 1);
}

// ---- single-register loads and stores ----------------------------------------------------------------------

interface SingleOp {
  size: number;
  v: number;
  opc: number;
  scale: number;
}

function singleOp(dir: string, suffix: string, r: Extract<Operand, { k: "reg" }>): SingleOp {
  const ld = dir === "ld";
  if ("bhsdq".includes(r.kind)) {
    if (suffix) throw new AsmError("FP registers take no size suffix");
    if (r.kind === "q") return { size: 0, v: 1, opc: ld ? 3 : 2, scale: 4 };
    const size = ELEM_SIZES[r.kind];
    return { size, v: 1, opc: ld ? 1 : 0, scale: size };
  }
  const x = r.kind === "x";
  switch (suffix) {
    case "":
      return { size: x ? 3 : 2, v: 0, opc: ld ? 1 : 0, scale: x ? 3 : 2 };
    case "b":
    case "h": {
      const size = suffix === "b" ? 0 : 1;
      return { size, v: 0, opc: ld ? 1 : 0, scale: size };
    }
    case "sb":
    case "sh": {
      const size = suffix === "sb" ? 0 : 1;
      return { size, v: 0, opc: x ? 2 : 3, scale: size };
    }
    case "sw":
      return { size: 2, v: 0, opc: 2, scale: 2 };
  }
  throw new AsmError(`bad suffix ${suffix}`);
}

function encodeRegOffset(op: SingleOp, rt: number, mem: Extract<Operand, { k: "mem" }>): number {
  const rn = baseReg(mem.parts[0]);
  const rm = reg(mem.parts[1]);
  const ext = mem.parts[2];
  let option: number;
  let s = 0;
  if (!ext) option = 3;
  else {
    if (ext.k !== "shift") throw new AsmError("bad extend");
    option = { lsl: 3, uxtw: 2, sxtw: 6, sxtx: 7 }[ext.op] ?? -1;
    if (option < 0) throw new AsmError(`bad extend ${ext.op}`);
    if (ext.amount !== undefined) {
      if (ext.amount !== 0 && ext.amount !== op.scale) throw new AsmError("bad shift amount");
      s = 1;
    } else if (ext.op === "lsl") throw new AsmError("lsl needs an amount");
  }
  if ((option === 2 || option === 6) !== (rm.kind === "w")) throw new AsmError("extend and register width disagree");
  return ((op.size << 30) | (7 << 27) | (op.v << 26) | (op.opc << 22) | (1 << 21) | (rm.n << 16) | (option << 13) | (s << 12) | (2 << 10) | (rn << 5) | rt) >>> 0;
}

function encodeSingle(mode: string, op: SingleOp, rt: number, ops: Operand[]): number {
  const mem = ops[1];
  if (mem.k === "label") {
    if (mode !== "r") throw new AsmError("literal needs ldr");
    const opc = op.v ? (op.scale === 2 ? 0 : op.scale === 3 ? 1 : 2) : op.opc === 2 ? 2 : op.size === 3 ? 1 : 0;
    if (op.opc === 0 || (op.v === 0 && op.size < 2)) throw new AsmError("no such literal load");
    if (mem.off % 4) throw new AsmError("literal offset must be a multiple of 4");
    return ((opc << 30) | (3 << 27) | (op.v << 26) | (field(mem.off / 4, 19, true, "literal") << 5) | rt) >>> 0;
  }
  if (mem.k !== "mem") throw new AsmError("expected a memory operand");
  const top = (op.size << 30) | (7 << 27) | (op.v << 26) | (op.opc << 22);
  const rn = baseReg(mem.parts[0]);
  const imm9 = (v: number, idx: number) => (top | (field(v, 9, true, "offset") << 12) | (idx << 10) | (rn << 5) | rt) >>> 0;
  if (ops[2]) {
    if (mode !== "r" || mem.parts.length !== 1) throw new AsmError("bad post-index");
    return imm9(imm(ops[2]), 1);
  }
  if (mem.parts[1]?.k === "reg") {
    if (mode !== "r") throw new AsmError("register offset needs ldr/str");
    return encodeRegOffset(op, rt, mem);
  }
  const off = mem.parts[1] ? imm(mem.parts[1]) : 0;
  if (mem.writeback) {
    if (mode !== "r") throw new AsmError("bad pre-index");
    return imm9(off, 3);
  }
  if (mode === "ur") return imm9(off, 0);
  if (mode === "tr") return imm9(off, 2);
  if (off >= 0 && off % (1 << op.scale) === 0 && off >> op.scale < 4096)
    return (top | (1 << 24) | ((off >> op.scale) << 10) | (rn << 5) | rt) >>> 0;
  return imm9(off, 0); // GNU as turns an unencodable scaled offset into LDUR/STUR
}

const PRF_TYPES = ["pld", "pli", "pst"];
const PRF_TARGETS = ["l1", "l2", "l3"];
function prfop(o: Operand): number {
  if (o.k === "imm") return field(Number(o.text), 5, false, "prfop");
  if (o.k !== "name") throw new AsmError("bad prefetch operation");
  const m = /^(pld|pli|pst)(l[123])(keep|strm)$/.exec(o.text);
  if (!m) throw new AsmError(`bad prefetch operation ${o.text}`);
  return (PRF_TYPES.indexOf(m[1]) << 3) | (PRF_TARGETS.indexOf(m[2]) << 1) | (m[3] === "strm" ? 1 : 0);
}

function encodePrfm(unscaled: boolean, ops: Operand[]): number {
  const rt = prfop(ops[0]);
  const op: SingleOp = { size: 3, v: 0, opc: 2, scale: 3 };
  if (ops[1].k === "label") return ((3 << 30) | (3 << 27) | (field(ops[1].off / 4, 19, true, "literal") << 5) | rt) >>> 0;
  return encodeSingle(unscaled ? "ur" : "r", op, rt, ops);
}

// ---- pairs, exclusives -------------------------------------------------------------------------------------

function encodePair(mn: string, ops: Operand[]): number {
  const m = /^(ld|st)(n?)p(sw)?$/.exec(mn)!;
  const ld = m[1] === "ld" ? 1 : 0;
  const nt = m[2] === "n";
  const r1 = reg(ops[0]);
  const r2 = reg(ops[1]);
  let opc: number;
  let v = 0;
  let scale: number;
  if (m[3]) {
    opc = 1;
    scale = 2;
  } else if (r1.kind === "w" || r1.kind === "x") {
    opc = r1.kind === "w" ? 0 : 2;
    scale = r1.kind === "w" ? 2 : 3;
  } else {
    v = 1;
    opc = { s: 0, d: 1, q: 2 }[r1.kind as "s"];
    scale = opc + 2;
  }
  const mem = ops[2];
  if (mem.k !== "mem") throw new AsmError("expected a memory operand");
  const rn = baseReg(mem.parts[0]);
  let mode: number;
  let off: number;
  if (ops[3]) {
    mode = 1;
    off = imm(ops[3]);
  } else {
    off = mem.parts[1] ? imm(mem.parts[1]) : 0;
    mode = nt ? 0 : mem.writeback ? 3 : 2;
  }
  if (off % (1 << scale)) throw new AsmError("pair offset not a multiple of the size");
  const imm7 = field(off / (1 << scale), 7, true, "pair offset");
  return ((opc << 30) | (5 << 27) | (v << 26) | (mode << 23) | (ld << 22) | (imm7 << 15) | (r2.n << 10) | (rn << 5) | r1.n) >>> 0;
}

function encodeExclusive(mn: string, ops: Operand[]): number {
  let m = /^(ldar|stlr)(b|h)?$/.exec(mn);
  if (m) {
    const r = reg(ops[0]);
    const size = m[2] === "b" ? 0 : m[2] === "h" ? 1 : r.kind === "x" ? 3 : 2;
    const l = m[1] === "ldar" ? 1 : 0;
    const rn = baseReg((ops[1] as Extract<Operand, { k: "mem" }>).parts[0]);
    return ((size << 30) | (8 << 24) | (1 << 23) | (l << 22) | (31 << 16) | (1 << 15) | (31 << 10) | (rn << 5) | r.n) >>> 0;
  }
  m = /^(ld|st)(a|l)?x(r|p)(b|h)?$/.exec(mn)!;
  const l = m[1] === "ld" ? 1 : 0;
  const o0 = m[2] ? 1 : 0;
  const pair = m[3] === "p";
  let k = 0;
  const rs = l ? 31 : reg(ops[k++]).n;
  const rt = reg(ops[k++]);
  const rt2 = pair ? reg(ops[k++]).n : 31;
  const rn = baseReg((ops[k] as Extract<Operand, { k: "mem" }>).parts[0]);
  const size = pair ? 2 | (rt.kind === "x" ? 1 : 0) : m[4] === "b" ? 0 : m[4] === "h" ? 1 : rt.kind === "x" ? 3 : 2;
  return ((size << 30) | (8 << 24) | (l << 22) | ((pair ? 1 : 0) << 21) | (rs << 16) | (o0 << 15) | (rt2 << 10) | (rn << 5) | rt.n) >>> 0;
}

// ---- LDn/STn (multiple structures) -------------------------------------------------------------------------

function encodeMultiple(mn: string, ops: Operand[]): number {
  const m = /^(ld|st)([1-4])$/.exec(mn)!;
  const l = m[1] === "ld" ? 1 : 0;
  const selem = Number(m[2]);
  const list = ops[0];
  if (list.k !== "list") throw new AsmError("expected a register list");
  for (let i = 1; i < list.regs.length; i++)
    if (list.regs[i] !== ((list.regs[i - 1] + 1) & 31)) throw new AsmError("registers must be consecutive");
  const count = list.regs.length;
  const opcode = selem === 1 ? [-1, 0b0111, 0b1010, 0b0110, 0b0010][count] : [-1, -1, 0b1000, 0b0100, 0b0000][selem];
  if (selem > 1 && count !== selem) throw new AsmError("wrong register count");
  const [size, q] = ARRANGEMENTS[list.arr];
  const mem = ops[1] as Extract<Operand, { k: "mem" }>;
  const rn = baseReg(mem.parts[0]);
  let word = (q << 30) | (0b0011000 << 23) | (l << 22) | (opcode << 12) | (size << 10) | (rn << 5) | list.regs[0];
  if (ops[2]) {
    const post = ops[2];
    const rm = post.k === "imm" ? 31 : reg(post).n;
    if (post.k === "imm" && Number(post.text) !== count * (q ? 16 : 8)) throw new AsmError("post-index must equal the transfer size");
    word |= (1 << 23) | (rm << 16);
  }
  return word >>> 0;
}

// ---- SIMD moves --------------------------------------------------------------------------------------------

function vfp8(x: number, dbl: boolean): number {
  const b = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 256; i++) {
    const sign = (i >> 7) & 1;
    const b6 = (i >> 6) & 1;
    if (dbl) {
      const exp = ((b6 ^ 1) << 10) | (b6 ? 0x3fc : 0) | ((i >> 4) & 3);
      b.setUint32(0, ((sign << 31) | (exp << 20) | ((i & 0xf) << 16)) >>> 0);
      b.setUint32(4, 0);
      if (b.getFloat64(0) === x) return i;
    } else {
      const exp = ((b6 ^ 1) << 7) | (b6 ? 0x7c : 0) | ((i >> 4) & 3);
      b.setUint32(0, ((sign << 31) | (exp << 23) | ((i & 0xf) << 19)) >>> 0);
      if (b.getFloat32(0) === x) return i;
    }
  }
  throw new AsmError(`${x} is not an FP immediate`);
}

function modImm(q: number, op: number, cmode: number, imm8: number, rd: number): number {
  return ((q << 30) | (op << 29) | (0b0111100000 << 19) | ((imm8 >> 5) << 16) | (cmode << 12) | (1 << 10) | ((imm8 & 31) << 5) | rd) >>> 0;
}

function encodeModImm(mn: string, ops: Operand[]): number {
  const first = ops[0];
  if (mn === "movi" && first.k === "reg" && first.kind === "d") return modImm(0, 1, 14, byteMask(ops[1]), first.n);
  if (first.k !== "vec") throw new AsmError("expected a vector");
  const [size, q] = ARRANGEMENTS[first.arr];
  const rd = first.n;
  if (mn === "fmov") return modImm(q, size === 3 ? 1 : 0, 15, vfp8(imm(ops[1]), size === 3), rd);
  if (size === 3) return modImm(q, 1, 14, byteMask(ops[1]), rd);
  const imm8 = field(imm(ops[1]), 8, false, "immediate");
  const sh = ops[2] as Extract<Operand, { k: "shift" }> | undefined;
  const op = mn === "mvni" || mn === "bic" ? 1 : 0;
  const low = mn === "orr" || mn === "bic" ? 1 : 0;
  if (size === 0) return modImm(q, 0, 14, imm8, rd);
  if (sh?.op === "msl") return modImm(q, op, sh.amount === 16 ? 13 : 12, imm8, rd);
  const amount = (sh?.amount ?? 0) / 8;
  if (size === 1) return modImm(q, op, 8 | (amount << 1) | low, imm8, rd);
  return modImm(q, op, (amount << 1) | low, imm8, rd);
}

function byteMask(o: Operand): number {
  const v = BigInt((o as Extract<Operand, { k: "imm" }>).text);
  let imm8 = 0;
  for (let i = 0; i < 8; i++) {
    const byte = (v >> BigInt(8 * i)) & 0xffn;
    if (byte === 0xffn) imm8 |= 1 << i;
    else if (byte !== 0n) throw new AsmError("64-bit MOVI bytes must be 0x00 or 0xff");
  }
  return imm8;
}

function imm5(size: number, index: number): number {
  return ((index << (size + 1)) | (1 << size)) & 31;
}

function encodeMov(mn: string, ops: Operand[]): number {
  const [a, b] = ops;
  if (a.k === "vec" && b.k === "vec") return logic(0, 2, a, b, b);
  if (a.k === "elem" && b.k === "reg") return (0x4e001c00 | (imm5(a.size, a.index) << 16) | (b.n << 5) | a.n) >>> 0;
  if (a.k === "elem" && b.k === "elem")
    return (0x6e000400 | (imm5(a.size, a.index) << 16) | ((b.index << b.size) << 11) | (b.n << 5) | a.n) >>> 0;
  if (a.k === "reg" && b.k === "elem") {
    if (a.kind === "w" || a.kind === "x") return umov(a, b, false);
    return (0x5e000400 | (imm5(b.size, b.index) << 16) | (b.n << 5) | a.n) >>> 0; // DUP (scalar)
  }
  throw new AsmError(`unsupported ${mn}`);
}

function umov(a: Extract<Operand, { k: "reg" }>, b: Extract<Operand, { k: "elem" }>, signed: boolean): number {
  const q = a.kind === "x" ? 1 : 0;
  return ((signed ? 0x0e002c00 : 0x0e003c00) | (q << 30) | (imm5(b.size, b.index) << 16) | (b.n << 5) | a.n) >>> 0;
}

function logic(u: number, size: number, d: Operand, n: Operand, m: Operand): number {
  if (d.k !== "vec" || n.k !== "vec" || m.k !== "vec") throw new AsmError("expected vectors");
  const q = ARRANGEMENTS[d.arr][1];
  return ((q << 30) | (u << 29) | (0b01110 << 24) | (size << 22) | (1 << 21) | (m.n << 16) | (0b000111 << 10) | (n.n << 5) | d.n) >>> 0;
}

function encodeFmov(ops: Operand[]): number {
  const [a, b] = ops;
  if (a.k === "vec") return encodeModImm("fmov", ops);
  if (a.k === "reg" && b.k === "imm") {
    const dbl = a.kind === "d";
    return ((dbl ? 0x1e601000 : 0x1e201000) | (vfp8(Number(b.text), dbl) << 13) | a.n) >>> 0;
  }
  const code = (x: Operand): string => (x.k === "reg" ? x.kind : x.k === "elem" && x.size === 3 && x.index === 1 ? "v1" : "?");
  const key = `${code(a)}${code(b)}`;
  const base: Record<string, number> = {
    ws: 0x1e260000,
    sw: 0x1e270000,
    xd: 0x9e660000,
    dx: 0x9e670000,
    xv1: 0x9eae0000,
    v1x: 0x9eaf0000,
    ss: 0x1e204000,
    dd: 0x1e604000,
  };
  if (!(key in base)) throw new AsmError(`unsupported fmov ${key}`);
  const rd = (a as { n: number }).n;
  const rn = (b as { n: number }).n;
  return (base[key] | (rn << 5) | rd) >>> 0;
}

// ---- entry point -------------------------------------------------------------------------------------------

/** Assembles one instruction. */
export function asm(line: string): number {
  const text = line.trim().toLowerCase();
  const sp = text.search(/\s/);
  const mn = sp < 0 ? text : text.slice(0, sp);
  const ops = sp < 0 ? [] : splitTop(text.slice(sp + 1)).map(parseOperand);
  let m: RegExpExecArray | null;
  if (mn === "prfm" || mn === "prfum") return encodePrfm(mn === "prfum", ops);
  if ((m = /^(ld|st)(r|ur|tr)(b|h|sb|sh|sw)?$/.exec(mn))) {
    const r = reg(ops[0]);
    return encodeSingle(m[2], singleOp(m[1], m[3] ?? "", r), r.n, ops);
  }
  if (/^(ld|st)n?p(sw)?$/.test(mn)) return encodePair(mn, ops);
  if (/^(ldar|stlr)(b|h)?$/.test(mn) || /^(ld|st)(a|l)?x(r|p)(b|h)?$/.test(mn)) return encodeExclusive(mn, ops);
  if (/^(ld|st)[1-4]$/.test(mn)) return encodeMultiple(mn, ops);
  if (mn === "movi" || mn === "mvni") return encodeModImm(mn, ops);
  if ((mn === "orr" || mn === "bic") && ops[1]?.k === "imm") return encodeModImm(mn, ops);
  const logicOps: Record<string, [number, number]> = {
    and: [0, 0],
    bic: [0, 1],
    orr: [0, 2],
    orn: [0, 3],
    eor: [1, 0],
    bsl: [1, 1],
    bit: [1, 2],
    bif: [1, 3],
  };
  if (mn in logicOps) return logic(logicOps[mn][0], logicOps[mn][1], ops[0], ops[1], ops[2]);
  if (mn === "mov") return encodeMov(mn, ops);
  if (mn === "fmov") return encodeFmov(ops);
  if (mn === "dup") {
    const [a, b] = ops;
    if (a.k !== "vec") throw new AsmError("dup needs a vector");
    const [size, q] = ARRANGEMENTS[a.arr];
    if (b.k === "reg") return ((0x0e000c00 | (q << 30) | (imm5(size, 0) << 16) | (b.n << 5) | a.n) >>> 0);
    if (b.k === "elem") return ((0x0e000400 | (q << 30) | (imm5(size, b.index) << 16) | (b.n << 5) | a.n) >>> 0);
  }
  if (mn === "ins") return encodeMov(mn, ops);
  if (mn === "umov" || mn === "smov") {
    const [a, b] = ops;
    if (a.k !== "reg" || b.k !== "elem") throw new AsmError(`bad ${mn}`);
    return umov(a, b, mn === "smov");
  }
  throw new AsmError(`unsupported instruction '${line}'`);
}

/** Assembles several instructions. */
export function asmAll(...lines: string[]): number[] {
  return lines.map(asm);
}

// ---- helpers shared by the ldst-* and simd-* tests ---------------------------------------------------------


/** A machine with the given instructions at CODE (not run yet). */
export function machineWith(...lines: string[]): TestMachine {
  return new TestMachine().code(...asmAll(...lines));
}

/** Runs every instruction of a fresh machine's program after `setup`; returns the machine. */
export function runLines(lines: string[], setup: (m: TestMachine) => void = () => {}): TestMachine {
  const m = machineWith(...lines);
  setup(m);
  m.run(lines.length);
  return m;
}

/** Checks that the last step took a synchronous data abort from EL1 at `insnIndex` of the program. */
export function assertDataAbort(
  m: TestMachine,
  expect: { far: bigint; write: boolean; dfsc: number; insnIndex?: number; ec?: number },
): void {
  const esr = m.cpu.sys.esrEl1;
  assert.equal(esr >>> 26, expect.ec ?? 0x25, "EC");
  assert.equal(esr & 0x3f, expect.dfsc, "DFSC");
  assert.equal((esr >>> 6) & 1, expect.write ? 1 : 0, "WnR");
  const far = (BigInt(m.cpu.sys.farEl1Hi >>> 0) << 32n) | BigInt(m.cpu.sys.farEl1Lo >>> 0);
  assert.equal(far.toString(16), expect.far.toString(16), "FAR");
  const elr = (BigInt(m.cpu.sys.elrEl1Hi >>> 0) << 32n) | BigInt(m.cpu.sys.elrEl1Lo >>> 0);
  assert.equal(elr, BigInt(CODE + 4 * (expect.insnIndex ?? 0)), "ELR");
  assert.equal(m.pc, BigInt(RAM_BASE + ((expect.ec ?? 0x25) === 0x24 ? 0x400 : 0x200)), "vector");
}

/** The 16 bytes of RAM at `addr` as a hex string, lowest address first. */
export function ramHex(m: TestMachine, addr: number, len: number): string {
  return Buffer.from(m.ram.bytes.subarray(addr - RAM_BASE, addr - RAM_BASE + len)).toString("hex");
}

/** Fills RAM at `addr` with bytes start, start+1, ... (mod 256). */
export function fillRam(m: TestMachine, addr: number, len: number, start = 0): void {
  for (let i = 0; i < len; i++) m.ram.bytes[addr - RAM_BASE + i] = (start + i) & 0xff;
}

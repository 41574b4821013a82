// Executors for the x86 integer instructions on registers and immediates, built once per decoded instruction
// (decode/decoder.ts) as closures over X86State: the operands are resolved at build time (which register, which
// width, the immediate's value), so running one is a few array accesses and an ALU call. Memory operands come with
// the memory layer; an encoding this file does not build returns undefined.

import { alu, AluOp, incDec, neg, shift, STATUS_FLAGS, CF, PF, ZF, SF, OF, type AluResult, type ShiftOp, type Width } from "../alu.js";
import { divide, multiply, type WideResult } from "../muldiv.js";
import type { Decoded } from "../decode/decoder.js";
import type { X86State } from "../cpu-state.js";
import { buildAddress, type AddressFn } from "./address.js";

export type Exec = (s: X86State) => void;

/** Thrown by DIV/IDIV for #DE; the interpreter turns it into the exception. */
export const DIVIDE_ERROR = Symbol("#DE");

/** A register operand: number, width, and whether 4-7 mean AH..BH (8-bit without REX). */
interface RegOperand {
  kind: "reg";
  n: number;
  w: Width;
  high: boolean;
}
interface ImmOperand {
  kind: "imm";
  lo: number;
  hi: number;
}
interface MemOperand {
  kind: "mem";
  w: Width;
  ea: AddressFn;
}
type Operand = RegOperand | ImmOperand | MemOperand;
/** Where a result goes: a register or memory (an immediate never is). */
type Place = RegOperand | MemOperand;

function width(type: string, d: Decoded): Width {
  switch (type) {
    case "b":
      return 8;
    case "w":
      return 16;
    case "d":
      return 32;
    case "q":
      return 64;
    case "y":
      return d.opsize === 64 ? 64 : 32;
    default:
      return d.opsize;
  }
}

/** The operands of a register-form instruction, or undefined when one is in memory (or not an integer one). */
function operands(d: Decoded, mode: 16 | 32 | 64): Operand[] | undefined {
  const out: Operand[] = [];
  const noRex = d.rex === 0;
  let imm = 0;
  for (const o of d.operands) {
    switch (o.method) {
      case "E":
        if (d.modrm!.mod !== 3) out.push({ kind: "mem", w: width(o.type, d), ea: buildAddress(d, mode) });
        else out.push({ kind: "reg", n: d.modrm!.rm, w: width(o.type, d), high: noRex });
        break;
      case "G":
        out.push({ kind: "reg", n: d.modrm!.reg, w: width(o.type, d), high: noRex });
        break;
      case "Z":
        out.push({ kind: "reg", n: (d.opcode[d.opcode.length - 1] & 7) | (d.rex & 1 ? 8 : 0), w: width(o.type, d), high: noRex });
        break;
      case "I": {
        const v = d.imm[imm++];
        // Immediates are sign-extended (to 64 bits here: the operation takes its operand size's part), and Iv
        // with REX.W is a full 64-bit immediate.
        if (v.size === 8) out.push({ kind: "imm", lo: v.value >>> 0, hi: d.immHigh >>> 0 });
        else {
          const s = v.size === 1 ? (v.value << 24) >> 24 : v.size === 2 ? (v.value << 16) >> 16 : v.value | 0;
          out.push({ kind: "imm", lo: s >>> 0, hi: s < 0 ? 0xffffffff : 0 });
        }
        break;
      }
      case "fixed": {
        const fixed: Record<string, [number, Width]> = { AL: [0, 8], CL: [1, 8], DX: [2, 16], AX: [0, 16], rAX: [0, d.opsize], eAX: [0, d.opsize === 16 ? 16 : 32] };
        const f = fixed[o.type];
        if (f === undefined) {
          if (o.type === "1") out.push({ kind: "imm", lo: 1, hi: 0 });
          else return undefined;
        } else out.push({ kind: "reg", n: f[0], w: f[1], high: false });
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

/** Condition code n (the low nibble of Jcc/SETcc/CMOVcc) on RFLAGS. */
export function condition(n: number, f: number): boolean {
  let r: boolean;
  switch (n >> 1) {
    case 0:
      r = (f & OF) !== 0;
      break;
    case 1:
      r = (f & CF) !== 0;
      break;
    case 2:
      r = (f & ZF) !== 0;
      break;
    case 3:
      r = (f & (CF | ZF)) !== 0;
      break;
    case 4:
      r = (f & SF) !== 0;
      break;
    case 5:
      r = (f & PF) !== 0;
      break;
    case 6:
      r = ((f & SF) !== 0) !== ((f & OF) !== 0);
      break;
    default:
      r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0);
  }
  return (n & 1) === 0 ? r : !r;
}

const res: AluResult = { lo: 0, hi: 0, flags: 0 };
const wide: WideResult = { lo: 0, hi: 0, lo2: 0, hi2: 0, flags: 0 };

/** Reads an operand into s.vlo/s.vhi (a memory operand also leaves its address in s.alo/ahi for `store`). */
function read(s: X86State, o: Operand): void {
  if (o.kind === "imm") {
    s.vlo = o.lo;
    s.vhi = o.hi;
  } else if (o.kind === "reg") s.readReg(o.n, o.w, o.high);
  else {
    o.ea(s);
    s.mem.read(s, s.alo, s.ahi, (o.w >> 3) as 1 | 2 | 4 | 8);
  }
}

/** Writes a result (a memory operand to the address its `read` computed). */
function store(s: X86State, o: Place, lo: number, hi: number): void {
  if (o.kind === "reg") s.writeReg(o.n, o.w, lo, hi, o.high);
  else s.mem.write(s, s.alo, s.ahi, (o.w >> 3) as 1 | 2 | 4 | 8, lo, hi);
}

/** Computes a memory operand's address without reading it (a store-only destination). */
function address(s: X86State, o: Place): void {
  if (o.kind === "mem") o.ea(s);
}

function setFlags(s: X86State, flags: number): void {
  s.rflags = (s.rflags & ~STATUS_FLAGS) | flags;
}

const GROUP1 = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFTS = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"];

/** The executor for a decoded register-form integer instruction, or undefined. */
export function buildInteger(d: Decoded, mode: 16 | 32 | 64 = 64): Exec | undefined {
  const ops = operands(d, mode);
  if (ops === undefined) return undefined;
  const m = d.mnemonic;
  const op = d.opcode[d.opcode.length - 1];
  const [a, b] = ops;
  const dst: Place | undefined = a?.kind === "reg" || a?.kind === "mem" ? a : undefined;
  const w = (dst?.w ?? d.opsize) as Width;

  const g1 = GROUP1.indexOf(m);
  if (g1 >= 0 && dst && b) {
    const write = g1 !== AluOp.Cmp;
    return (s) => {
      read(s, b);
      const bl = s.vlo;
      const bh = s.vhi;
      read(s, dst);
      alu(g1 as AluOp, dst.w, s.vlo, s.vhi, bl, bh, s.rflags, res);
      if (write) store(s, dst, res.lo, res.hi);
      setFlags(s, res.flags);
    };
  }
  if (m === "test" && dst && b)
    return (s) => {
      read(s, b);
      const bl = s.vlo;
      const bh = s.vhi;
      read(s, dst);
      alu(AluOp.And, dst.w, s.vlo, s.vhi, bl, bh, s.rflags, res);
      setFlags(s, res.flags);
    };
  if ((m === "inc" || m === "dec" || m === "neg") && dst)
    return (s) => {
      read(s, dst);
      if (m === "neg") neg(dst.w, s.vlo, s.vhi, res);
      else incDec(m === "dec", dst.w, s.vlo, s.vhi, s.rflags, res);
      store(s, dst, res.lo, res.hi);
      setFlags(s, res.flags);
    };
  if (m === "not" && dst)
    return (s) => {
      read(s, dst);
      store(s, dst, ~s.vlo, ~s.vhi);
    };
  const sh = SHIFTS.indexOf(m);
  if (sh >= 0 && dst && b)
    return (s) => {
      read(s, b);
      const count = s.vlo & 0xff;
      read(s, dst);
      shift(sh as ShiftOp, dst.w, s.vlo, s.vhi, count, s.rflags, res);
      store(s, dst, res.lo, res.hi);
      s.rflags = (s.rflags & ~STATUS_FLAGS) | res.flags;
    };
  if ((m === "mul" || m === "imul") && dst && ops.length === 1)
    return (s) => {
      read(s, dst);
      const bl = s.vlo;
      const bh = s.vhi;
      s.readReg(0, dst.w);
      multiply(m === "imul", dst.w, s.vlo, s.vhi, bl, bh, wide);
      if (dst.w === 8) s.writeReg(0, 16, (wide.lo2 << 8) | wide.lo, 0);
      else {
        s.writeReg(0, dst.w, wide.lo, wide.hi);
        s.writeReg(2, dst.w, wide.lo2, wide.hi2);
      }
      setFlags(s, wide.flags);
    };
  if (m === "imul" && dst?.kind === "reg" && b) {
    const c = ops[2];
    return (s) => {
      // IMUL r, r/m (, imm): dst = (c ? b * c : dst * b), low half only.
      read(s, b);
      const bl = s.vlo;
      const bh = s.vhi;
      if (c) read(s, c);
      else read(s, dst);
      multiply(true, dst.w, s.vlo, s.vhi, bl, bh, wide);
      store(s, dst, wide.lo, wide.hi);
      setFlags(s, wide.flags);
    };
  }
  if ((m === "div" || m === "idiv") && dst)
    return (s) => {
      read(s, dst);
      const dl = s.vlo;
      const dh = s.vhi;
      let ok: boolean;
      if (dst.w === 8) {
        s.readReg(0, 16);
        ok = divide(m === "idiv", 8, (s.vlo >>> 8) & 0xff, 0, s.vlo & 0xff, 0, dl, dh, wide);
        if (!ok) throw DIVIDE_ERROR;
        s.writeReg(0, 16, ((wide.lo2 & 0xff) << 8) | (wide.lo & 0xff), 0);
        return;
      }
      s.readReg(2, dst.w);
      const nl = s.vlo;
      const nh = s.vhi;
      s.readReg(0, dst.w);
      ok = divide(m === "idiv", dst.w, nl, nh, s.vlo, s.vhi, dl, dh, wide);
      if (!ok) throw DIVIDE_ERROR;
      s.writeReg(0, dst.w, wide.lo, wide.hi);
      s.writeReg(2, dst.w, wide.lo2, wide.hi2);
    };
  if (m === "mov" && dst && b)
    return (s) => {
      read(s, b);
      address(s, dst);
      store(s, dst, s.vlo, s.vhi);
    };
  if ((m === "movzx" || m === "movsx" || m === "movsxd") && dst?.kind === "reg" && b && b.kind !== "imm") {
    const signed = m !== "movzx";
    const sw = b.w;
    return (s) => {
      read(s, b);
      let lo = s.vlo;
      let hi = 0;
      if (signed) {
        const sh32 = 32 - sw;
        lo = sw === 32 ? lo | 0 : (lo << sh32) >> sh32;
        hi = lo < 0 ? -1 : 0;
      }
      store(s, dst, lo, hi);
    };
  }
  if (m === "xchg" && dst && b?.kind === "reg")
    return (s) => {
      s.readReg(b.n, b.w, b.high);
      const bl = s.vlo;
      const bh = s.vhi;
      read(s, dst);
      s.writeReg(b.n, b.w, s.vlo, s.vhi, b.high);
      store(s, dst, bl, bh);
    };
  if (m === "nop" || m === "pause") return () => {};
  if (op === 0x98 && d.opcode.length === 1)
    return (s) => {
      // CBW / CWDE / CDQE: sign-extend the lower half of rAX into all of it.
      const half = (w / 2) as Width;
      s.readReg(0, half);
      const sh32 = 32 - half;
      const lo = half === 32 ? s.vlo | 0 : (s.vlo << sh32) >> sh32;
      s.writeReg(0, w, lo, lo < 0 ? -1 : 0);
    };
  if (op === 0x99 && d.opcode.length === 1)
    return (s) => {
      // CWD / CDQ / CQO: rDX = the sign of rAX.
      s.readReg(0, w);
      const negative = w === 64 ? s.vhi >>> 31 : (s.vlo >>> (w - 1)) & 1;
      s.writeReg(2, w, negative ? -1 : 0, negative ? -1 : 0);
    };
  if (d.opcode.length === 2 && op >= 0x90 && op <= 0x9f && dst)
    return (s) => {
      address(s, dst);
      store(s, dst, condition(op & 15, s.rflags) ? 1 : 0, 0);
    };
  if (d.opcode.length === 2 && op >= 0x40 && op <= 0x4f && dst?.kind === "reg" && b && b.kind !== "imm")
    return (s) => {
      // CMOVcc reads its source (a memory one always, faults included) and writes its destination (a 32-bit one
      // is zero-extended) even when the condition is false.
      read(s, b);
      if (!condition(op & 15, s.rflags)) s.readReg(dst.n, dst.w);
      s.writeReg(dst.n, dst.w, s.vlo, s.vhi);
    };
  if (m === "bswap" && dst?.kind === "reg") {
    // With a 16-bit operand size BSWAP is undefined; processors clear the low 16 bits, and so does Rewind.
    const bw = d.opsize === 16 ? 16 : dst.w;
    return (s) => {
      s.readReg(dst.n, dst.w);
      const sw32 = (x: number) => ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24)) >>> 0;
      if (bw === 64) s.writeReg(dst.n, 64, sw32(s.vhi), sw32(s.vlo));
      else if (bw === 32) s.writeReg(dst.n, 32, sw32(s.vlo), 0);
      else s.writeReg(dst.n, 16, 0, 0);
    };
  }
  if ((m === "bt" || m === "bts" || m === "btr" || m === "btc") && dst && b) {
    // A memory bit string with a register offset reaches beyond the operand: the signed offset selects the
    // operand-sized unit (offset >> log2(width), as a byte displacement) and the bit in it.
    const bitString = dst.kind === "mem" && b.kind === "reg";
    const log = dst.w === 16 ? 4 : dst.w === 32 ? 5 : 6;
    return (s) => {
      read(s, b);
      const offLo = s.vlo;
      const offHi = s.vhi;
      const bitN = offLo & (dst.w - 1);
      if (bitString) {
        dst.ea(s);
        // Byte displacement = (signed offset >> log) * (width / 8), added to the operand's address.
        const shifted = dst.w === 64 ? ((offLo >>> log) | (offHi << (32 - log))) : b.w === 16 ? ((offLo << 16) >> 16) >> log : (offLo | 0) >> log;
        const negative = dst.w === 64 ? offHi >>> 31 === 1 : b.w === 16 ? (offLo & 0x8000) !== 0 : (offLo | 0) < 0;
        const bytes = shifted * (dst.w >> 3);
        const lo = (s.alo >>> 0) + (bytes >>> 0);
        s.ahi = (s.ahi + (negative ? -1 : 0) + (lo > 0xffffffff ? 1 : 0)) >>> 0;
        s.alo = lo >>> 0;
        s.mem.read(s, s.alo, s.ahi, (dst.w >> 3) as 2 | 4 | 8);
      } else read(s, dst);
      const inHi = bitN >= 32;
      const mask = 1 << (bitN & 31);
      const word = inHi ? s.vhi : s.vlo;
      const was = (word & mask) !== 0;
      if (m !== "bt") {
        const next = m === "bts" ? word | mask : m === "btr" ? word & ~mask : word ^ mask;
        if (inHi) store(s, dst, s.vlo, next);
        else store(s, dst, next, s.vhi);
      }
      s.rflags = (s.rflags & ~CF) | (was ? CF : 0);
    };
  }
  return undefined;
}

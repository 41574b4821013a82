// x86 integer arithmetic (src/arch/x86/alu.ts) against this machine's processor: ADD ... CMP, INC, DEC, NEG and
// the group 2 shifts and rotates on random operands, flags in and counts, in all four operand sizes. The
// instructions run natively (test/helpers/x86-oracle.ts); Rewind's side decodes them with its own decoder and
// applies alu.ts. Only the flags the SDM defines for each instruction are compared.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runNative, x86OracleUnavailable, type X86Case } from "../helpers/x86-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { decode } from "../../src/arch/x86/decode/decoder.js";
import { multiply, divide, type WideResult } from "../../src/arch/x86/muldiv.js";
import { alu, CF, OF, definedFlags, incDec, neg, shift, STATUS_FLAGS, type AluOp, type AluResult, type ShiftOp, type Width } from "../../src/arch/x86/alu.js";

const skip = x86OracleUnavailable();
const MASK64 = (1n << 64n) - 1n;

function values(seed: number): () => bigint {
  const r = xorshift32(seed);
  const edges = [0n, 1n, MASK64, 1n << 63n, (1n << 63n) - 1n, 0x80n, 0x7fn, 0xffn, 0x8000n, 0x7fffn, 0xffffn, 0x80000000n, 0x7fffffffn, 0xffffffffn];
  return () => {
    const k = r() % 6;
    if (k === 0) return edges[r() % edges.length];
    if (k === 1) return BigInt(r() % 70);
    return (BigInt(r()) << 32n) | BigInt(r());
  };
}

/** A random register other than rsp. */
const reg = (r: () => number) => {
  const n = r() % 15;
  return n >= 4 ? n + 1 : n;
};

/** An instruction on registers: prefix bytes for the width, opcode, ModRM with mod = 3. */
function encode(w: Width, opcode8: number, opcodeV: number, regField: number, rm: number, imm: number[] = []): number[] {
  const rex = 0x40 | (w === 64 ? 8 : 0) | (regField & 8 ? 4 : 0) | (rm & 8 ? 1 : 0);
  const bytes = w === 16 ? [0x66] : [];
  // A REX on every 8-bit form: registers 4-7 are then SPL..DIL, not AH..BH.
  if (w === 8 || rex !== 0x40) bytes.push(rex);
  bytes.push(w === 8 ? opcode8 : opcodeV, 0xc0 | ((regField & 7) << 3) | (rm & 7), ...imm);
  return bytes;
}

function regValue(regs: bigint[], n: number): { lo: number; hi: number } {
  const v = regs[n] & MASK64;
  return { lo: Number(v & 0xffffffffn), hi: Number(v >> 32n) };
}

/** A register after writing `lo, hi` at width w (8/16 keep the rest, 32 zero-extends). */
function written(old: bigint, w: Width, lo: number, hi: number): bigint {
  const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if (w === 64) return v;
  if (w === 32) return v & 0xffffffffn;
  const m = (1n << BigInt(w)) - 1n;
  return (old & ~m & MASK64) | (v & m);
}

interface Expectation {
  dest: number;
  width: Width;
  result: AluResult;
  /** Whether the result is written to `dest` (CMP only sets the flags). */
  write: boolean;
  defined: number;
}

function compare(cases: X86Case[], expect: (c: X86Case, d: ReturnType<typeof decode>) => Expectation): number {
  const native = runNative(cases);
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const d = decode(Uint8Array.from(c.insn), 0, 64);
    assert.ok(d.ok, `decode ${c.insn.map((b) => b.toString(16)).join(" ")}`);
    const e = expect(c, d);
    const n = native[i];
    const regs = [...c.regs];
    if (e.write) regs[e.dest] = written(c.regs[e.dest], e.width, e.result.lo, e.result.hi);
    const flags = e.result.flags;
    const diff: string[] = [];
    if (n.signal !== 0) diff.push(`signal ${n.signal}`);
    for (let r = 0; r < 16; r++) if (r !== 4 && n.regs[r] !== (regs[r] & MASK64)) diff.push(`r${r}: cpu ${n.regs[r].toString(16)}, rewind ${(regs[r] & MASK64).toString(16)}`);
    if ((n.rflags & e.defined) !== (flags & e.defined)) diff.push(`flags: cpu ${(n.rflags & e.defined).toString(16)}, rewind ${(flags & e.defined).toString(16)} (defined ${e.defined.toString(16)})`);
    if (diff.length && failures.length < 10) failures.push(`${d.ok ? d.mnemonic : "?"} [${c.insn.map((b) => b.toString(16).padStart(2, "0")).join(" ")}] in ${c.regs.map((v) => v.toString(16)).join(",")} flags ${c.rflags.toString(16)}: ${diff.join("; ")}`);
  });
  assert.deepEqual(failures, []);
  return cases.length;
}

const WIDTHS: Width[] = [8, 16, 32, 64];

test("x86 ALU: ADD, OR, ADC, SBB, AND, SUB, XOR, CMP on registers agree with the processor", { skip }, () => {
  const r = xorshift32(7);
  const v = values(8);
  const cases: X86Case[] = [];
  for (let i = 0; i < 40_000; i++) {
    const op = r() % 8;
    const w = WIDTHS[r() % 4];
    cases.push({ insn: encode(w, op * 8, op * 8 + 1, reg(r), reg(r)), regs: Array.from({ length: 16 }, v), rflags: r() & STATUS_FLAGS });
  }
  const out: AluResult = { lo: 0, hi: 0, flags: 0 };
  compare(cases, (c, d) => {
    if (!d.ok || !d.modrm) throw new Error("decode");
    const w = (d.opcode[0] & 1 ? d.opsize : 8) as Width;
    const op = (d.opcode[0] >> 3) as AluOp;
    const a = regValue(c.regs, d.modrm.rm);
    const b = regValue(c.regs, d.modrm.reg);
    alu(op, w, a.lo, a.hi, b.lo, b.hi, c.rflags, out);
    const logic = op === 1 || op === 4 || op === 6;
    // CMP writes nothing; the others write r/m.
    return { dest: d.modrm.rm, width: w, result: { ...out }, write: op !== 7, defined: definedFlags(logic ? "logic" : "alu") };
  });
});

test("x86 ALU: INC, DEC, NEG agree with the processor (INC and DEC keep CF)", { skip }, () => {
  const r = xorshift32(9);
  const v = values(10);
  const cases: X86Case[] = [];
  for (let i = 0; i < 20_000; i++) {
    const w = WIDTHS[r() % 4];
    const kind = r() % 3; // FE/FF /0 inc, /1 dec; F6/F7 /3 neg
    cases.push({ insn: kind < 2 ? encode(w, 0xfe, 0xff, kind, reg(r)) : encode(w, 0xf6, 0xf7, 3, reg(r)), regs: Array.from({ length: 16 }, v), rflags: r() & STATUS_FLAGS });
  }
  const out: AluResult = { lo: 0, hi: 0, flags: 0 };
  compare(cases, (c, d) => {
    if (!d.ok || !d.modrm) throw new Error("decode");
    const w = (d.opcode[0] & 1 ? d.opsize : 8) as Width;
    const a = regValue(c.regs, d.modrm.rm);
    if (d.opcode[0] >= 0xfe) incDec((d.modrm.reg & 7) === 1, w, a.lo, a.hi, c.rflags, out);
    else neg(w, a.lo, a.hi, out);
    return { dest: d.modrm.rm, width: w, result: { ...out }, write: true, defined: definedFlags("alu") };
  });
});

test("x86 ALU: ROL, ROR, RCL, RCR, SHL, SHR, SAL, SAR by immediate and by CL agree with the processor", { skip }, () => {
  const r = xorshift32(11);
  const v = values(12);
  const cases: X86Case[] = [];
  for (let i = 0; i < 40_000; i++) {
    const w = WIDTHS[r() % 4];
    const op = r() % 8;
    const count = r() % 4 === 0 ? 1 : r() % 80;
    const regs = Array.from({ length: 16 }, v);
    const byCl = r() % 2 === 0;
    let rm = reg(r);
    if (byCl) {
      regs[1] = (regs[1] & ~0xffn) | BigInt(count & 0xff);
      if (rm === 1) rm = 2;
    }
    const insn = byCl ? encode(w, 0xd2, 0xd3, op, rm) : encode(w, 0xc0, 0xc1, op, rm, [count & 0xff]);
    cases.push({ insn, regs, rflags: r() & STATUS_FLAGS });
  }
  const out: AluResult = { lo: 0, hi: 0, flags: 0 };
  compare(cases, (c, d) => {
    if (!d.ok || !d.modrm) throw new Error("decode");
    const w = (d.opcode[0] & 1 ? d.opsize : 8) as Width;
    const op = (d.modrm.reg & 7) as ShiftOp;
    const count = d.opcode[0] >= 0xd0 ? Number(c.regs[1] & 0xffn) : d.imm[0].value & 0xff;
    const a = regValue(c.regs, d.modrm.rm);
    shift(op, w, a.lo, a.hi, count, c.rflags, out);
    const masked = count & (w === 64 ? 63 : 31);
    let defined = definedFlags(op, masked);
    // SHL/SHR: CF is undefined once the count reaches the operand size.
    if ((op === 4 || op === 5 || op === 6) && masked >= w) defined &= ~1;
    // A masked count of 0 changes no flag but still writes the register (a 32-bit one is zero-extended).
    return { dest: d.modrm.rm, width: w, result: { ...out }, write: true, defined };
  });
});

test("x86 MUL, IMUL (one, two and three operands), DIV, IDIV agree with the processor, #DE included", { skip }, () => {
  const r = xorshift32(13);
  const v = values(14);
  const cases: X86Case[] = [];
  for (let i = 0; i < 40_000; i++) {
    const w = WIDTHS[r() % 4];
    const regs = Array.from({ length: 16 }, v);
    const kind = r() % 6; // 0-3: F6/F7 /4../7 (mul imul div idiv); 4: 0F AF imul r, r/m; 5: 69/6B imul r, r/m, imm
    // Division: mostly dividends that fit (a small rdx), sometimes not (#DE).
    if (kind >= 2 && kind <= 3 && r() % 4 !== 0) regs[2] = r() % 2 ? 0n : MASK64;
    let rm = reg(r);
    if (kind < 4 && (rm === 0 || rm === 2)) rm = 3;
    let insn: number[];
    if (kind < 4) insn = encode(w, 0xf6, 0xf7, 4 + kind, rm);
    else if (kind === 4) insn = w === 8 ? encode(16, 0, 0xaf, reg(r), rm) : encode(w, 0, 0xaf, reg(r), rm);
    else insn = w === 8 ? encode(32, 0, 0x6b, reg(r), rm, [r() & 0xff]) : r() % 2 ? encode(w, 0, 0x6b, reg(r), rm, [r() & 0xff]) : encode(w, 0, 0x69, reg(r), rm, w === 16 ? [r() & 0xff, r() & 0xff] : [r() & 0xff, r() & 0xff, r() & 0xff, r() & 0xff]);
    if (kind === 4) insn.splice(insn.indexOf(0xaf), 0, 0x0f);
    cases.push({ insn, regs, rflags: r() & STATUS_FLAGS });
  }
  const native = runNative(cases);
  const out: WideResult = { lo: 0, hi: 0, lo2: 0, hi2: 0, flags: 0 };
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const d = decode(Uint8Array.from(c.insn), 0, 64);
    assert.ok(d.ok && d.modrm);
    const op = d.opcode[d.opcode.length - 1];
    const w = (op === 0xf6 ? 8 : d.opsize) as Width;
    const regs = [...c.regs];
    let signal = 0;
    let defined = CF | OF;
    let flags = c.rflags & STATUS_FLAGS;
    const src = regValue(c.regs, d.modrm.rm);
    if (op === 0xf6 || op === 0xf7) {
      const sub = d.modrm.reg & 7;
      const a = regValue(c.regs, 0);
      const hiPart = regValue(c.regs, 2);
      if (sub < 6) {
        multiply(sub === 5, w, a.lo, a.hi, src.lo, src.hi, out);
        flags = out.flags;
        if (w === 8) regs[0] = written(c.regs[0], 16, (out.lo2 << 8) | out.lo, 0);
        else {
          regs[0] = written(c.regs[0], w, out.lo, out.hi);
          regs[2] = written(c.regs[2], w, out.lo2, out.hi2);
        }
      } else {
        defined = 0;
        const ok = w === 8 ? divide(sub === 7, 8, (a.lo >>> 8) & 0xff, 0, a.lo & 0xff, 0, src.lo, 0, out) : divide(sub === 7, w, hiPart.lo, hiPart.hi, a.lo, a.hi, src.lo, src.hi, out);
        if (!ok) signal = 8;
        else if (w === 8) regs[0] = written(c.regs[0], 16, ((out.lo2 & 0xff) << 8) | (out.lo & 0xff), 0);
        else {
          regs[0] = written(c.regs[0], w, out.lo, out.hi);
          regs[2] = written(c.regs[2], w, out.lo2, out.hi2);
        }
      }
    } else {
      const b = op === 0xaf ? regValue(c.regs, d.modrm.reg) : { lo: d.imm[0].value | 0, hi: d.imm[0].value < 0 ? -1 : 0 };
      multiply(true, w, op === 0xaf ? b.lo : src.lo, op === 0xaf ? b.hi : src.hi, op === 0xaf ? src.lo : b.lo, op === 0xaf ? src.hi : b.hi, out);
      flags = out.flags;
      regs[d.modrm.reg] = written(c.regs[d.modrm.reg], w, out.lo, out.hi);
    }
    const n = native[i];
    const diff: string[] = [];
    if (n.signal !== signal) diff.push(`signal: cpu ${n.signal}, rewind ${signal}`);
    if (signal === 0 && n.signal === 0) {
      for (let k = 0; k < 16; k++) if (k !== 4 && n.regs[k] !== (regs[k] & MASK64)) diff.push(`r${k}: cpu ${n.regs[k].toString(16)}, rewind ${(regs[k] & MASK64).toString(16)}`);
      if ((n.rflags & defined) !== (flags & defined)) diff.push(`flags: cpu ${(n.rflags & defined).toString(16)}, rewind ${(flags & defined).toString(16)}`);
    }
    if (diff.length && failures.length < 10) failures.push(`${d.mnemonic} w${w} [${c.insn.map((x) => x.toString(16).padStart(2, "0")).join(" ")}] rax=${c.regs[0].toString(16)} rdx=${c.regs[2].toString(16)} src=${c.regs[d.modrm.rm].toString(16)}: ${diff.join("; ")}`);
  });
  assert.deepEqual(failures, []);
});

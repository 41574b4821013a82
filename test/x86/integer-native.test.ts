// x86 integer instructions on registers, end to end through Rewind's decoder and executors (src/arch/x86/exec),
// against this machine's processor: random encodings of the ALU, shift, multiply/divide, move, exchange, sign
// extension, SETcc/CMOVcc, BT* and BSWAP forms with random prefixes (66, REX), registers (AH..BH included),
// immediates, values and flags. Every register and the flags the SDM defines for the instruction are compared.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE_ADDRESS, DATA_ADDRESS, DATA_SIZE, runNative, x86OracleUnavailable, type X86Case } from "../helpers/x86-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { decode } from "../../src/arch/x86/decode/decoder.js";
import { buildInteger, DIVIDE_ERROR } from "../../src/arch/x86/exec/integer.js";
import { X86State, type X86Memory } from "../../src/arch/x86/cpu-state.js";
import { AF, CF, OF, STATUS_FLAGS, ZF } from "../../src/arch/x86/alu.js";

const skip = x86OracleUnavailable();
const MASK64 = (1n << 64n) - 1n;

/** Opcodes (after prefixes) with a ModRM byte (mod = 3) or a register in the opcode; "i1"/"iz": immediates. */
const TEMPLATES: { bytes: number[]; modrm: boolean; imm?: "i1" | "iz" | "iv"; reg?: number }[] = [
  ...Array.from({ length: 8 }, (_, op) => [0, 1, 2, 3].map((k) => ({ bytes: [op * 8 + k], modrm: true }))).flat(),
  ...Array.from({ length: 8 }, (_, op) => [{ bytes: [op * 8 + 4], modrm: false, imm: "i1" as const }, { bytes: [op * 8 + 5], modrm: false, imm: "iz" as const }]).flat(),
  ...Array.from({ length: 8 }, (_, r) => [{ bytes: [0x80], modrm: true, imm: "i1" as const, reg: r }, { bytes: [0x81], modrm: true, imm: "iz" as const, reg: r }, { bytes: [0x83], modrm: true, imm: "i1" as const, reg: r }]).flat(),
  { bytes: [0x84], modrm: true }, { bytes: [0x85], modrm: true }, { bytes: [0x86], modrm: true }, { bytes: [0x87], modrm: true },
  { bytes: [0x88], modrm: true }, { bytes: [0x89], modrm: true }, { bytes: [0x8a], modrm: true }, { bytes: [0x8b], modrm: true },
  { bytes: [0x98], modrm: false }, { bytes: [0x99], modrm: false }, { bytes: [0x63], modrm: true },
  ...Array.from({ length: 8 }, (_, r) => [{ bytes: [0xb0 + r], modrm: false, imm: "i1" as const }, { bytes: [0xb8 + r], modrm: false, imm: "iv" as const }, { bytes: [0x90 + r], modrm: false }]).flat(),
  ...Array.from({ length: 8 }, (_, r) => [0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3].map((b) => ({ bytes: [b], modrm: true, reg: r, imm: b < 0xd0 ? ("i1" as const) : undefined }))).flat(),
  { bytes: [0xc6], modrm: true, reg: 0, imm: "i1" }, { bytes: [0xc7], modrm: true, reg: 0, imm: "iz" },
  ...Array.from({ length: 8 }, (_, r) => [{ bytes: [0xf6], modrm: true, reg: r, imm: r < 2 ? ("i1" as const) : undefined }, { bytes: [0xf7], modrm: true, reg: r, imm: r < 2 ? ("iz" as const) : undefined }]).flat(),
  { bytes: [0xfe], modrm: true, reg: 0 }, { bytes: [0xfe], modrm: true, reg: 1 }, { bytes: [0xff], modrm: true, reg: 0 }, { bytes: [0xff], modrm: true, reg: 1 },
  ...Array.from({ length: 16 }, (_, c) => [{ bytes: [0x0f, 0x40 + c], modrm: true }, { bytes: [0x0f, 0x90 + c], modrm: true, reg: 0 }]).flat(),
  { bytes: [0x0f, 0xa3], modrm: true }, { bytes: [0x0f, 0xab], modrm: true }, { bytes: [0x0f, 0xb3], modrm: true }, { bytes: [0x0f, 0xbb], modrm: true },
  ...[4, 5, 6, 7].map((r) => ({ bytes: [0x0f, 0xba], modrm: true, reg: r, imm: "i1" as const })),
  { bytes: [0x0f, 0xaf], modrm: true }, { bytes: [0x69], modrm: true, imm: "iz" }, { bytes: [0x6b], modrm: true, imm: "i1" },
  { bytes: [0x0f, 0xb6], modrm: true }, { bytes: [0x0f, 0xb7], modrm: true }, { bytes: [0x0f, 0xbe], modrm: true }, { bytes: [0x0f, 0xbf], modrm: true },
  ...Array.from({ length: 8 }, (_, r) => ({ bytes: [0x0f, 0xc8 + r], modrm: false })),
];

/** The flags an instruction defines (others are undefined in the SDM: not compared). */
function definedFlags(mnemonic: string, count: number, w: number): number {
  if (["and", "or", "xor", "test"].includes(mnemonic)) return STATUS_FLAGS & ~AF;
  if (["mul", "imul"].includes(mnemonic)) return CF | OF;
  if (["div", "idiv"].includes(mnemonic)) return 0;
  if (["bt", "bts", "btr", "btc"].includes(mnemonic)) return CF | ZF;
  if (["rol", "ror", "rcl", "rcr"].includes(mnemonic)) return count === 0 ? STATUS_FLAGS : count === 1 ? STATUS_FLAGS : STATUS_FLAGS & ~OF;
  if (["shl", "shr", "sal", "sar"].includes(mnemonic)) {
    if (count === 0) return STATUS_FLAGS;
    let f = STATUS_FLAGS & ~AF;
    if (count !== 1) f &= ~OF;
    if (count >= w && mnemonic !== "sar") f &= ~CF;
    return f;
  }
  return STATUS_FLAGS;
}

/** The oracle's 256 bytes at DATA_ADDRESS, as Rewind's memory (anything else is a test bug). */
class DataMemory implements X86Memory {
  readonly bytes = new Uint8Array(DATA_SIZE);
  private offset(lo: number, hi: number, size: number): number {
    const o = lo - DATA_ADDRESS;
    if (hi !== 0 || o < 0 || o + size > DATA_SIZE) throw new Error(`access outside the oracle's data: ${hi.toString(16)}:${lo.toString(16)}`);
    return o;
  }
  read(s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8): void {
    const o = this.offset(lo, hi, size);
    const v = new DataView(this.bytes.buffer);
    s.vlo = size === 1 ? this.bytes[o] : size === 2 ? v.getUint16(o, true) : v.getUint32(o, true);
    s.vhi = size === 8 ? v.getUint32(o + 4, true) : 0;
  }
  write(_s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): void {
    const o = this.offset(lo, hi, size);
    const v = new DataView(this.bytes.buffer);
    if (size === 1) this.bytes[o] = vlo;
    else if (size === 2) v.setUint16(o, vlo & 0xffff, true);
    else v.setUint32(o, vlo >>> 0, true);
    if (size === 8) v.setUint32(o + 4, vhi >>> 0, true);
  }
}

/**
 * A memory operand for ModRM (reg field `regField`) that addresses `target` in the data: one of the forms
 * [base], [base + disp8/32], [base + index * scale + disp], [disp32], [rip + disp32]. Returns its bytes, the
 * registers it needs set, and for RIP-relative forms where its displacement sits (patched once the length is known).
 */
function memoryOperand(r: () => number, regField: number, target: number, rex: { b: number; x: number }): { bytes: number[]; regs: Map<number, bigint>; ripDisp?: number } {
  const regs = new Map<number, bigint>();
  const disp32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const pickReg = (avoid: number[]) => {
    for (;;) {
      const n = r() & 7;
      if (n !== 4 && n !== 5 && !avoid.includes(n)) return n;
    }
  };
  const form = r() % 5;
  const reg3 = (regField & 7) << 3;
  if (form === 0) {
    // [base] / [base + disp8]
    const base = pickReg([]);
    const d8 = (r() % 64) - 32;
    regs.set(base | rex.b, BigInt(target - d8));
    return { bytes: [0x40 | reg3 | base, d8 & 0xff], regs };
  }
  if (form === 1) {
    const base = pickReg([]);
    const d = (r() % 4096) - 2048;
    regs.set(base | rex.b, BigInt(target - d));
    return { bytes: [0x80 | reg3 | base, ...disp32(d)], regs };
  }
  if (form === 2) {
    // [base + index * scale + disp8]
    const base = pickReg([]);
    const index = pickReg([base]);
    const scale = r() & 3;
    const iv = r() % 16;
    const d8 = (r() % 32) - 16;
    regs.set(index | rex.x, BigInt(iv));
    regs.set(base | rex.b, BigInt(target - d8 - (iv << scale)));
    return { bytes: [0x44 | reg3, (scale << 6) | (index << 3) | base, d8 & 0xff], regs };
  }
  if (form === 3) {
    // [disp32]: SIB with no base and no index (with REX.X the index is r12: zero it).
    if (rex.x) regs.set(12, 0n);
    return { bytes: [0x04 | reg3, 0x25, ...disp32(target)], regs };
  }
  // [rip + disp32]: patched below.
  return { bytes: [0x05 | reg3, 0, 0, 0, 0], regs, ripDisp: 1 };
}

test("x86 integer instructions on registers and memory, decoded and executed by Rewind, agree with the processor", { skip }, () => {
  const r = xorshift32(0x5eed);
  const edges = [0n, 1n, MASK64, 1n << 63n, 0x7fn, 0x80n, 0xffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn];
  const value = () => (r() % 5 === 0 ? edges[r() % edges.length] : r() % 5 === 1 ? BigInt(r() % 80) : (BigInt(r()) << 32n) | BigInt(r()));
  const cases: X86Case[] = [];
  const built: ((s: X86State) => void)[] = [];
  const names: string[] = [];
  const counts: number[] = [];
  const unbuilt = new Set<string>();
  while (cases.length < 60_000) {
    const t = TEMPLATES[r() % TEMPLATES.length];
    const bytes: number[] = [];
    const p = r() % 4;
    if (p === 1 || p === 3) bytes.push(0x66);
    if (p >= 2) bytes.push(0x40 | (r() & 15));
    bytes.push(...t.bytes);
    const rexByte = p >= 2 ? bytes[p === 3 ? 1 : 0] : 0;
    const memoryForm = t.modrm && r() % 2 === 0 && !(t.bytes[0] === 0x0f && t.bytes[1] >= 0xc8);
    let mem: ReturnType<typeof memoryOperand> | undefined;
    const modrmAt = bytes.length;
    if (memoryForm) {
      mem = memoryOperand(r, t.reg ?? r() & 7, DATA_ADDRESS + 64 + (r() % 120), { b: rexByte & 1 ? 8 : 0, x: rexByte & 2 ? 8 : 0 });
      bytes.push(...mem.bytes);
    } else if (t.modrm) bytes.push(0xc0 | ((t.reg ?? r() & 7) << 3) | (r() & 7));
    const d0 = decode(Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]), 0, 64);
    if (!d0.ok) continue;
    const immBytes = t.imm === "i1" ? 1 : t.imm === "iz" ? (d0.opsize === 16 ? 2 : 4) : t.imm === "iv" ? d0.opsize / 8 : 0;
    for (let k = 0; k < immBytes; k++) bytes.push(r() & 0xff);
    if (mem?.ripDisp !== undefined) {
      const target = DATA_ADDRESS + 64 + (r() % 120);
      const disp = target - (CODE_ADDRESS + bytes.length);
      for (let k = 0; k < 4; k++) bytes[modrmAt + mem.ripDisp + k] = (disp >>> (8 * k)) & 0xff;
    }
    const d = decode(Uint8Array.from(bytes), 0, 64);
    assert.ok(d.ok && d.length === bytes.length, `decode ${bytes.map((b) => b.toString(16)).join(" ")}`);
    // Leave out anything that touches rsp (the oracle's stack) and MOVSXD without REX.W (an odd form).
    const regs = [d.modrm?.mod === 3 ? d.modrm.rm : undefined, d.modrm?.reg, t.modrm ? undefined : (d.opcode[d.opcode.length - 1] & 7) | (d.rex & 1 ? 8 : 0)];
    // Register 4 is AH in an 8-bit operation without REX, else rsp (any operand in doubt is left out).
    const eight = d.operands.every((o) => !"EGZ".includes(o.method) || o.type === "b");
    if (regs.some((n) => n === 4 && !(eight && d.rex === 0)) || (d.opcode[0] === 0x63 && (d.rex & 8) === 0)) continue;
    if (d.mnemonic.startsWith("cmov") || d.mnemonic === "imul" || d.mnemonic === "movzx" || d.mnemonic === "movsx" || d.mnemonic === "bt" || d.mnemonic === "bts" || d.mnemonic === "btr" || d.mnemonic === "btc" || d.mnemonic === "bswap") {
      if (regs.some((n) => n === 4)) continue;
    }
    const exec = buildInteger(d);
    if (exec === undefined) {
      unbuilt.add(`${d.mnemonic} ${bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
      continue;
    }
    const inRegs = Array.from({ length: 16 }, value);
    if (d.mnemonic === "div" || d.mnemonic === "idiv") if (r() % 4 !== 0) inRegs[2] = r() % 2 ? 0n : MASK64;
    // A register the address uses must not also be the instruction's register operand (its value is fixed).
    if (mem && d.modrm && mem.regs.has(d.modrm.reg)) continue;
    for (const [n, v] of mem?.regs ?? []) inRegs[n] = v & MASK64;
    // BT* on memory with a register offset: keep the bit string within the data.
    if (mem && d.opcode.length === 2 && [0xa3, 0xab, 0xb3, 0xbb].includes(d.opcode[1])) inRegs[d.modrm!.reg] = BigInt((r() % 600) - 300) & MASK64;
    const memory = Uint8Array.from({ length: DATA_SIZE }, () => r() & 0xff);
    cases.push({ insn: bytes, regs: inRegs, rflags: r() & STATUS_FLAGS, memory });
    built.push(exec);
    names.push(d.mnemonic);
    counts.push(d.mnemonic.match(/^(rol|ror|rcl|rcr|shl|shr|sal|sar)$/) ? (d.opcode[0] >= 0xd2 ? Number(inRegs[1] & 0xffn) : d.opcode[0] >= 0xd0 ? 1 : bytes[bytes.length - 1]) & (d.opsize === 64 ? 63 : 31) : 0);
  }
  assert.deepEqual([...unbuilt].slice(0, 10), [], "every generated encoding has an executor");
  const native = runNative(cases);
  const failures: string[] = [];
  const data = new DataMemory();
  const s = new X86State(data);
  cases.forEach((c, i) => {
    data.bytes.set(c.memory!);
    s.ripLo = CODE_ADDRESS;
    s.ripHi = 0;
    for (let k = 0; k < 16; k++) {
      s.lo[k] = Number(c.regs[k] & 0xffffffffn) | 0;
      s.hi[k] = Number((c.regs[k] >> 32n) & 0xffffffffn) | 0;
    }
    s.rflags = c.rflags | 2;
    let signal = 0;
    try {
      built[i](s);
    } catch (e) {
      if (e !== DIVIDE_ERROR) {
        failures.push(`${names[i]} [${c.insn.map((b) => b.toString(16).padStart(2, "0")).join(" ")}]: ${(e as Error).message}`);
        return;
      }
      signal = 8;
    }
    const n = native[i];
    const d = decode(Uint8Array.from(c.insn), 0, 64);
    const w = d.ok ? (d.opcode[d.opcode.length - 1] & 1 || d.opcode.length > 1 || d.opcode[0] >= 0xb8 ? d.opsize : 8) : 64;
    const defined = definedFlags(names[i], counts[i], w);
    const diff: string[] = [];
    if (n.signal !== signal) diff.push(`signal: cpu ${n.signal}, rewind ${signal}`);
    else if (signal === 0) {
      for (let k = 0; k < 16; k++) {
        if (k === 4) continue;
        const mine = ((BigInt(s.hi[k] >>> 0) << 32n) | BigInt(s.lo[k] >>> 0)) & MASK64;
        if (mine !== n.regs[k]) diff.push(`r${k}: cpu ${n.regs[k].toString(16)}, rewind ${mine.toString(16)}`);
      }
      if ((n.rflags & defined) !== (s.rflags & defined)) diff.push(`flags: cpu ${(n.rflags & defined).toString(16)}, rewind ${(s.rflags & defined).toString(16)}`);
      const at = n.memory.findIndex((b, k) => b !== data.bytes[k]);
      if (at >= 0) diff.push(`memory +${at}: cpu ${n.memory[at].toString(16)}, rewind ${data.bytes[at].toString(16)}`);
    }
    if (diff.length && failures.length < 12) failures.push(`${names[i]} [${c.insn.map((b) => b.toString(16).padStart(2, "0")).join(" ")}] flags ${c.rflags.toString(16)}: ${diff.join("; ")}`);
  });
  assert.deepEqual(failures, []);
});

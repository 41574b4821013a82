// x86 integer instructions on registers, end to end through Rewind's decoder and executors (src/arch/x86/exec),
// against this machine's processor: random encodings of the ALU, shift, multiply/divide, move, exchange, sign
// extension, SETcc/CMOVcc, BT* and BSWAP forms with random prefixes (66, REX), registers (AH..BH included),
// immediates, values and flags. Every register and the flags the SDM defines for the instruction are compared.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runNative, x86OracleUnavailable, type X86Case } from "../helpers/x86-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { decode } from "../../src/arch/x86/decode/decoder.js";
import { buildInteger, DIVIDE_ERROR } from "../../src/arch/x86/exec/integer.js";
import { X86State } from "../../src/arch/x86/cpu-state.js";
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

test("x86 integer instructions on registers, decoded and executed by Rewind, agree with the processor", { skip }, () => {
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
    if (t.modrm) bytes.push(0xc0 | ((t.reg ?? r() & 7) << 3) | (r() & 7));
    const d0 = decode(Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]), 0, 64);
    if (!d0.ok) continue;
    const immBytes = t.imm === "i1" ? 1 : t.imm === "iz" ? (d0.opsize === 16 ? 2 : 4) : t.imm === "iv" ? d0.opsize / 8 : 0;
    for (let k = 0; k < immBytes; k++) bytes.push(r() & 0xff);
    const d = decode(Uint8Array.from(bytes), 0, 64);
    assert.ok(d.ok && d.length === bytes.length, `decode ${bytes.map((b) => b.toString(16)).join(" ")}`);
    // Leave out anything that touches rsp (the oracle's stack) and MOVSXD without REX.W (an odd form).
    const regs = [d.modrm?.rm, d.modrm?.reg, t.modrm ? undefined : (d.opcode[d.opcode.length - 1] & 7) | (d.rex & 1 ? 8 : 0)];
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
    cases.push({ insn: bytes, regs: inRegs, rflags: r() & STATUS_FLAGS });
    built.push(exec);
    names.push(d.mnemonic);
    counts.push(d.mnemonic.match(/^(rol|ror|rcl|rcr|shl|shr|sal|sar)$/) ? (d.opcode[0] >= 0xd2 ? Number(inRegs[1] & 0xffn) : d.opcode[0] >= 0xd0 ? 1 : bytes[bytes.length - 1]) & (d.opsize === 64 ? 63 : 31) : 0);
  }
  assert.deepEqual([...unbuilt].slice(0, 10), [], "every generated encoding has an executor");
  const native = runNative(cases);
  const failures: string[] = [];
  const s = new X86State();
  cases.forEach((c, i) => {
    for (let k = 0; k < 16; k++) {
      s.lo[k] = Number(c.regs[k] & 0xffffffffn) | 0;
      s.hi[k] = Number((c.regs[k] >> 32n) & 0xffffffffn) | 0;
    }
    s.rflags = c.rflags | 2;
    let signal = 0;
    try {
      built[i](s);
    } catch (e) {
      if (e !== DIVIDE_ERROR) throw e;
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
    }
    if (diff.length && failures.length < 12) failures.push(`${names[i]} [${c.insn.map((b) => b.toString(16).padStart(2, "0")).join(" ")}] flags ${c.rflags.toString(16)}: ${diff.join("; ")}`);
  });
  assert.deepEqual(failures, []);
});

// Case generators for the Advanced SIMD integer oracle tests (test/oracle/simd-*.test.ts): random encodings of
// one encoding class (every field value, the unallocated ones included; registers 0-7) times random operands
// made of lanes with the edge values of every lane size mixed in.

import { xorshift32 } from "../helpers/random.js";
import type { A64Case } from "../helpers/a64-oracle.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";

// Rewind models a Cortex-A53 (ARMv8.0 + crypto): the oracle runs qemu-aarch64 as one (test/helpers/a64-oracle.ts),
// so later extensions (RDM, dot product, FP16...) are undefined on both sides.

const decoder = a64Decoder();
export const describe = (c: A64Case): string => decoder.disassemble(c.insn);

const MASK = (bits: number) => (1n << BigInt(bits)) - 1n;

/** A random 128-bit register: lanes of one random width, each an edge value, a small number or random bits. */
export function vectorValues(seed: number): () => bigint {
  const r = xorshift32(seed);
  const rand64 = () => (BigInt(r()) << 32n) | BigInt(r());
  return () => {
    const k = r() % 8;
    if (k === 0) return (rand64() << 64n) | rand64();
    const bits = 8 << (r() % 4);
    let v = 0n;
    for (let i = 0; i < 128 / bits; i++) {
      const m = MASK(bits);
      let lane: bigint;
      switch (r() % 10) {
        case 0:
          lane = 0n;
          break;
        case 1:
          lane = m;
          break;
        case 2:
          lane = 1n << BigInt(bits - 1);
          break;
        case 3:
          lane = m >> 1n;
          break;
        case 4:
          lane = (1n << BigInt(bits - 1)) + 1n;
          break;
        case 5:
          lane = BigInt((r() % 140) - 70) & m; // small signed: shift counts
          break;
        case 6:
          lane = 1n;
          break;
        default:
          lane = rand64() & m;
      }
      v |= lane << BigInt(i * bits);
    }
    return v;
  };
}

export interface FieldSpec {
  /** Bit position of the field's least significant bit. */
  at: number;
  width: number;
}

/**
 * Random instruction words: `template` with each field at random (register fields: give width 3 so they stay
 * in 0-7), skipping the words `skip` rejects (the FP slots of a shared encoding class).
 */
export function encodings(seed: number, template: number, fields: FieldSpec[], count: number, skip: (w: number) => boolean = () => false): number[] {
  const r = xorshift32(seed);
  const out: number[] = [];
  let guard = 0;
  while (out.length < count && guard++ < count * 100) {
    let w = template;
    for (const f of fields) w |= (r() & ((1 << f.width) - 1)) << f.at;
    w >>>= 0;
    if (!skip(w)) out.push(w);
  }
  return out;
}

/** Every value of the given fields (in order), the other bits from `template` and random registers. */
export function exhaustive(seed: number, template: number, fields: FieldSpec[], regs: number[], skip: (w: number) => boolean = () => false): number[] {
  const r = xorshift32(seed);
  const total = fields.reduce((n, f) => n * (1 << f.width), 1);
  const out: number[] = [];
  for (let k = 0; k < total; k++) {
    let w = template;
    let rest = k;
    for (const f of fields) {
      w |= (rest & ((1 << f.width) - 1)) << f.at;
      rest >>>= f.width;
    }
    for (const at of regs) w |= (r() & 7) << at;
    w >>>= 0;
    if (!skip(w)) out.push(w);
  }
  return out;
}

/** Each instruction word with `perInsn` operand sets (x0-x7 random too, FPSR cleared by the oracle). */
export function withOperands(insns: number[], perInsn: number, seed: number): A64Case[] {
  const v = vectorValues(seed);
  const r = xorshift32(seed ^ 0x9e3779b9);
  const out: A64Case[] = [];
  for (const insn of insns)
    for (let k = 0; k < perInsn; k++)
      out.push({ insn, nzcv: r() & 15, x: Array.from({ length: 8 }, () => (BigInt(r()) << 32n) | BigInt(r())), v: Array.from({ length: 8 }, v) });
  return out;
}

export const reg = (at: number): FieldSpec => ({ at, width: 3 });
export const field = (at: number, width: number): FieldSpec => ({ at, width });
export const bits = (w: number, at: number, width: number): number => (w >>> at) & ((1 << width) - 1);

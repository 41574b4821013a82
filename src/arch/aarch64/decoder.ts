// A64 decoding from one table of bit patterns.
//
// Every encoding is one row: a 32-character-wide pattern (most significant bit first) made of literal bits
// (0/1), don't-care bits (x) and named fields (`rn:5`). The same rows serve the interpreter (build gives a
// closure specialised for one instruction word), diagnostics (disassembly) and the per-instruction tests.
// Rows are matched most specific first (most fixed bits), like dynarmic, with an index on bits [28:25]
// (the A64 top-level op0) so a lookup only scans the rows of one encoding group.

import type { Cpu } from "./cpu.js";

export type Exec = (cpu: Cpu) => void;
export type Fields = Record<string, number>;

export interface InsnSpec {
  /** Unique name, e.g. "ADD_imm". */
  name: string;
  /** e.g. "sf:1 0 0 100010 sh:1 imm12:12 rn:5 rd:5"; widths must add up to 32. */
  pattern: string;
  /** Extra condition on the fields (unallocated combinations); a row whose guard fails does not match. */
  guard?: (f: Fields) => boolean;
  /** Returns the executor for one instruction word (called once per word, then cached). */
  build: (f: Fields, insn: number) => Exec;
  /** Assembly text for diagnostics; the default prints the row name and its fields. `pc` (the instruction's
   * address) lets PC-relative forms print their target. */
  disasm?: (f: Fields, insn: number, pc?: bigint) => string;
}

interface FieldSlot {
  name: string;
  shift: number;
  width: number;
}

export interface CompiledSpec {
  spec: InsnSpec;
  mask: number;
  value: number;
  fixedBits: number;
  fields: FieldSlot[];
}

export class DecodeTableError extends Error {
  override name = "DecodeTableError";
}

export function compilePattern(spec: InsnSpec): CompiledSpec {
  let bit = 32;
  let mask = 0;
  let value = 0;
  let fixedBits = 0;
  const fields: FieldSlot[] = [];
  for (const tok of spec.pattern.trim().split(/\s+/)) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*):(\d+)$/.exec(tok);
    if (m) {
      const width = Number(m[2]);
      bit -= width;
      fields.push({ name: m[1], shift: bit, width });
      continue;
    }
    if (!/^[01x]+$/.test(tok)) throw new DecodeTableError(`${spec.name}: bad pattern token '${tok}'`);
    for (const ch of tok) {
      bit--;
      if (ch === "x") continue;
      mask |= 1 << bit;
      if (ch === "1") value |= 1 << bit;
      fixedBits++;
    }
  }
  if (bit !== 0) throw new DecodeTableError(`${spec.name}: pattern is ${32 - bit} bits wide, not 32`);
  return { spec, mask: mask >>> 0, value: value >>> 0, fixedBits, fields };
}

export function extractFields(c: CompiledSpec, insn: number): Fields {
  const f: Fields = {};
  for (const s of c.fields) f[s.name] = s.width === 32 ? insn >>> 0 : (insn >>> s.shift) & ((1 << s.width) - 1);
  return f;
}

export interface Decoded {
  spec: InsnSpec;
  fields: Fields;
}

export class Decoder {
  private readonly groups: CompiledSpec[][] = [];
  readonly specs: CompiledSpec[];

  constructor(table: readonly InsnSpec[]) {
    const names = new Set<string>();
    this.specs = table.map((s) => {
      if (names.has(s.name)) throw new DecodeTableError(`duplicate instruction row ${s.name}`);
      names.add(s.name);
      return compilePattern(s);
    });
    // Stable sort: most fixed bits first; equal specificity keeps table order.
    const sorted = [...this.specs].sort((a, b) => b.fixedBits - a.fixedBits);
    for (let op0 = 0; op0 < 16; op0++) {
      const w = op0 << 25;
      this.groups.push(sorted.filter((c) => ((w ^ c.value) & c.mask & (0xf << 25)) === 0));
    }
  }

  decode(insn: number): Decoded | undefined {
    insn >>>= 0;
    const group = this.groups[(insn >>> 25) & 0xf];
    for (const c of group) {
      if (((insn & c.mask) >>> 0) !== c.value) continue;
      const fields = extractFields(c, insn);
      if (c.spec.guard && !c.spec.guard(fields)) continue;
      return { spec: c.spec, fields };
    }
    return undefined;
  }

  disassemble(insn: number, pc?: bigint): string {
    const d = this.decode(insn);
    if (!d) return `.inst 0x${(insn >>> 0).toString(16).padStart(8, "0")} (undefined)`;
    if (d.spec.disasm) return d.spec.disasm(d.fields, insn >>> 0, pc);
    const args = Object.entries(d.fields).map(([k, v]) => `${k}=${v}`);
    return `${d.spec.name} ${args.join(" ")}`.trim();
  }
}

/** Sign-extends the low `bits` bits of v to a JS number (exact for bits <= 32). */
export function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

// Decodes one x86 instruction from bytes, in 16-, 32- or 64-bit mode, from the opcode maps (tables.ts): legacy
// prefixes and REX, the opcode (one byte, 0F xx, x87 escapes), the mandatory prefix of SSE forms, opcode groups,
// ModRM/SIB/displacement by address size, and the immediates by operand size. The result says what the
// instruction is and where each of its parts is; undefined encodings (#UD) and instructions longer than 15 bytes
// are results too, never exceptions.

import { GROUP_TABLE, ONE_BYTE, TWO_BYTE, type Form, type MandatoryPrefix, type OperandSpec } from "./tables.js";
import { X87_BYTES, X87_MEMORY, X87_REGISTER } from "./x87.js";

export type Mode = 16 | 32 | 64;
export type Width = 16 | 32 | 64;

export interface ModRM {
  mod: number;
  /** With REX.R. */
  reg: number;
  /** With REX.B (for register forms and SIB-less memory forms). */
  rm: number;
}

export interface Sib {
  scale: number;
  /** With REX.X; 4 without REX.X means no index. */
  index: number;
  /** With REX.B. */
  base: number;
}

export interface Decoded {
  /** Bytes the instruction takes (prefixes included). */
  length: number;
  mnemonic: string;
  form: Form;
  operands: readonly OperandSpec[];
  opsize: Width;
  addrsize: Width;
  /** The opcode's bytes after the prefixes: [b] or [0x0f, b]. */
  opcode: readonly number[];
  prefixes: { lock: boolean; rep: 0 | 0xf2 | 0xf3; segment: number; opsizeOverride: boolean; addrsizeOverride: boolean };
  /** The REX byte (64-bit mode), or 0. */
  rex: number;
  modrm?: ModRM;
  sib?: Sib;
  /** Displacement (sign-extended, as a JS number) and its size in bytes (0: none). RIP-relative when `ripRelative`. */
  disp: number;
  dispSize: number;
  ripRelative: boolean;
  /** Immediates in operand order: value (sign-extended from its size for J/Ib...; imm64 as its low 32 bits with
   * `immHigh`), size in bytes. */
  imm: { value: number; size: number }[];
  immHigh: number;
}

export type DecodeResult =
  | ({ ok: true } & Decoded)
  | { ok: false; reason: "undefined" | "too-long" | "truncated"; length: number };

const SEGMENT_PREFIX: Record<number, number> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };
const MAX_LENGTH = 15;

/** Operand methods that take a ModRM byte. */
const MODRM_METHODS = new Set(["C", "D", "E", "G", "M", "N", "P", "Q", "R", "S", "U", "V", "W"]);

class Reader {
  pos: number;
  constructor(private readonly bytes: Uint8Array, start: number, private readonly end: number) {
    this.pos = start;
  }
  get truncated(): boolean {
    return this.pos > this.end;
  }
  u8(): number {
    return this.pos < this.end ? this.bytes[this.pos++] : (this.pos++, 0);
  }
  /** Little-endian signed value of `size` bytes (1, 2, 4). */
  signed(size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.u8() << (8 * i);
    return size === 4 ? v | 0 : (v << (32 - 8 * size)) >> (32 - 8 * size);
  }
}

/**
 * Decodes the instruction at `bytes[start]` in `mode`. Bytes past `end` (default: the array's end) count as
 * missing: the result is then "truncated".
 */
export function decode(bytes: Uint8Array, start: number, mode: Mode, end = bytes.length): DecodeResult {
  const r = new Reader(bytes, start, Math.min(end, start + MAX_LENGTH + 1));
  let lock = false;
  let rep: 0 | 0xf2 | 0xf3 = 0;
  let segment = -1;
  let opsizeOverride = false;
  let addrsizeOverride = false;
  let rex = 0;
  let b: number;
  // Prefixes: any number of legacy prefixes; in 64-bit mode a REX counts only as the last byte before the opcode.
  for (;;) {
    b = r.u8();
    if (r.pos - start > MAX_LENGTH) return { ok: false, reason: "too-long", length: MAX_LENGTH + 1 };
    const entry = ONE_BYTE[b];
    if (entry?.kind === "prefix") {
      rex = 0;
      if (b in SEGMENT_PREFIX) segment = SEGMENT_PREFIX[b];
      else if (b === 0x66) opsizeOverride = true;
      else if (b === 0x67) addrsizeOverride = true;
      else if (b === 0xf0) lock = true;
      else rep = b as 0xf2 | 0xf3;
      continue;
    }
    if (mode === 64 && (b & 0xf0) === 0x40) {
      rex = b;
      continue;
    }
    break;
  }
  const rexW = (rex & 8) !== 0;
  const fail = (reason: "undefined" | "too-long" | "truncated") => ({ ok: false as const, reason, length: Math.min(r.pos - start, MAX_LENGTH + 1) });

  // The opcode.
  const opcode = [b];
  let forms: readonly Form[] | undefined;
  let group: { name: string; base: Form } | undefined;
  let x87 = -1;
  const one = ONE_BYTE[b];
  if (b === 0x0f) {
    const b2 = r.u8();
    opcode.push(b2);
    const two = TWO_BYTE[b2];
    if (two === undefined || two.kind === "escape" || two.kind === "prefix") return r.truncated ? fail("truncated") : fail("undefined");
    if (two.kind === "group") group = { name: two.group, base: two.base };
    else forms = two.forms;
  } else if (b >= 0xd8 && b <= 0xdf) x87 = b - 0xd8;
  else if (one === undefined) return fail("undefined");
  else if (one.kind === "group") group = { name: one.group, base: one.base };
  else if (one.kind === "insn") forms = one.forms;

  // The mandatory prefix an SSE form is chosen by (F2/F3, the last one given, before 66).
  const mandatory: MandatoryPrefix = rep === 0xf3 ? "f3" : rep === 0xf2 ? "f2" : opsizeOverride ? "66" : "none";
  const pick = (list: readonly Form[]): Form | undefined => {
    const byMode = list.filter((f) => !(mode === 64 && f.i64) && !(mode !== 64 && f.o64));
    if (byMode.length === 0) return undefined;
    if (byMode.every((f) => f.prefix === "none")) return byMode[0];
    // A 66 prefix on a row without a 66 form (BSF, BSR with a 16-bit override in 32-bit code) is the operand-size
    // override of the unprefixed form.
    return byMode.find((f) => f.prefix === mandatory) ?? (mandatory === "66" ? byMode.find((f) => f.prefix === "none") : undefined);
  };

  let modrm: ModRM | undefined;
  let modrmByte = -1;
  const readModrm = () => {
    modrmByte = r.u8();
    modrm = { mod: modrmByte >> 6, reg: ((modrmByte >> 3) & 7) | (rex & 4 ? 8 : 0), rm: (modrmByte & 7) | (rex & 1 ? 8 : 0) };
  };

  let form: Form | undefined;
  let operands: readonly OperandSpec[] = [];
  if (x87 >= 0) {
    readModrm();
    const reg = (modrmByte >> 3) & 7;
    let text: string;
    if (modrm!.mod !== 3) text = X87_MEMORY[x87][reg];
    else text = X87_BYTES[`${b.toString(16)} ${modrmByte.toString(16)}`] ?? X87_REGISTER[x87][reg];
    if (!text) return r.truncated ? fail("truncated") : fail("undefined");
    const [name, ops] = text.split(" ");
    operands = ops ? ops.split(",").map((o) => (o === "ST" || o === "STi" || o === "AX" ? { method: "fixed", type: o } : { method: o[0], type: o.slice(1) })) : [];
    form = { prefix: "none", names: [name, name, name], operands, i64: false, o64: false, d64: false, f64: false };
  } else if (group !== undefined) {
    readModrm();
    const reg = (modrmByte >> 3) & 7;
    const mod = modrm!.mod;
    const rm = modrmByte & 7;
    const entries = GROUP_TABLE.get(group.name)!;
    const match = entries.find((e) => e.reg === reg && e.select === rm && mod === 3) ??
      entries.find((e) => e.reg === reg && (e.select === "any" || (e.select === "mem" && mod !== 3) || (e.select === "reg" && mod === 3)));
    if (match === undefined) return r.truncated ? fail("truncated") : fail("undefined");
    const chosen = pick(match.forms);
    if (chosen === undefined || (mode === 64 && group.base.i64) || (mode !== 64 && group.base.o64)) return fail("undefined");
    // A group line without operands takes the opcode row's, and the row's mode flags add to the line's.
    const base = group.base;
    form = {
      ...chosen,
      operands: match.ownOperands ? chosen.operands : base.operands,
      i64: chosen.i64 || base.i64,
      o64: chosen.o64 || base.o64,
      d64: chosen.d64 || base.d64,
      f64: chosen.f64 || base.f64,
    };
    operands = form.operands;
  } else {
    // 90 with REX.B is XCHG R8, rAX (the form of 91-97), not NOP.
    if (b === 0x90 && opcode.length === 1 && (rex & 1) !== 0) forms = (ONE_BYTE[0x91] as { forms: readonly Form[] }).forms;
    form = pick(forms!);
    if (form === undefined) return r.truncated ? fail("truncated") : fail("undefined");
    operands = form.operands;
    if (operands.some((o) => MODRM_METHODS.has(o.method))) readModrm();
  }

  // Operand and address size. SSE forms chosen by 66 do not change the operand size.
  const sse66 = form.prefix === "66";
  const override = opsizeOverride && !sse66;
  let opsize: Width;
  if (mode === 64) opsize = form.f64 ? 64 : rexW ? 64 : override ? 16 : form.d64 ? 64 : 32;
  else opsize = (mode === 16) !== override ? 16 : 32;
  const addrsize: Width = mode === 64 ? (addrsizeOverride ? 32 : 64) : (mode === 16) !== addrsizeOverride ? 16 : 32;

  // Memory-only and register-only operands (MOV to/from CR/DR ignores mod: always registers).
  if (modrm !== undefined) {
    const crdr = operands.some((o) => o.method === "C" || o.method === "D");
    for (const o of operands) {
      if (o.method === "M" && modrm.mod === 3) return fail("undefined");
      if ((o.method === "R" || o.method === "U" || o.method === "N") && modrm.mod !== 3 && !crdr) return fail("undefined");
    }
    if (crdr) modrm.mod = 3;
  }

  // SIB and displacement.
  let sib: Sib | undefined;
  let disp = 0;
  let dispSize = 0;
  let ripRelative = false;
  if (modrm !== undefined && modrm.mod !== 3) {
    const rm = modrmByte & 7;
    if (addrsize === 16) {
      if (modrm.mod === 0 && rm === 6) dispSize = 2;
      else if (modrm.mod === 1) dispSize = 1;
      else if (modrm.mod === 2) dispSize = 2;
    } else {
      if (rm === 4) {
        const s = r.u8();
        sib = { scale: s >> 6, index: ((s >> 3) & 7) | (rex & 2 ? 8 : 0), base: (s & 7) | (rex & 1 ? 8 : 0) };
        if (modrm.mod === 0 && (s & 7) === 5) dispSize = 4;
      } else if (modrm.mod === 0 && rm === 5) {
        dispSize = 4;
        ripRelative = mode === 64;
      }
      if (modrm.mod === 1) dispSize = 1;
      else if (modrm.mod === 2) dispSize = 4;
    }
    if (dispSize) disp = r.signed(dispSize);
  }

  // Immediates.
  const imm: { value: number; size: number }[] = [];
  let immHigh = 0;
  for (const o of operands) {
    let size = 0;
    if (o.method === "I" || o.method === "J") {
      switch (o.type) {
        case "b":
          size = 1;
          break;
        case "w":
          size = 2;
          break;
        case "d":
          size = 4;
          break;
        case "z":
          size = opsize === 16 ? 2 : 4;
          break;
        case "v":
          size = opsize === 16 ? 2 : opsize === 32 ? 4 : 8;
          break;
      }
    } else if (o.method === "O") size = addrsize / 8;
    else if (o.method === "A") {
      // ptr16:16 / ptr16:32: the offset, then the segment.
      imm.push({ value: opsize === 16 ? r.signed(2) & 0xffff : r.signed(4) >>> 0, size: opsize === 16 ? 2 : 4 });
      imm.push({ value: r.signed(2) & 0xffff, size: 2 });
      continue;
    }
    if (size === 0) continue;
    if (size === 8) {
      imm.push({ value: r.signed(4) >>> 0, size });
      immHigh = r.signed(4);
    } else imm.push({ value: r.signed(size), size });
  }

  const length = r.pos - start;
  if (length > MAX_LENGTH) return { ok: false, reason: "too-long", length };
  if (r.truncated) return fail("truncated");
  const mnemonic = nameFor(form, opsize, addrsize, b, opcode, rex, rep);
  return {
    ok: true,
    length,
    mnemonic,
    form,
    operands,
    opsize,
    addrsize,
    opcode,
    prefixes: { lock, rep, segment, opsizeOverride, addrsizeOverride },
    rex,
    modrm,
    sib,
    disp,
    dispSize,
    ripRelative,
    imm,
    immHigh,
  };
}

/** The mnemonic for the operand size, with the few that depend on something else (PAUSE, JCXZ's width). */
function nameFor(form: Form, opsize: Width, addrsize: Width, b: number, opcode: readonly number[], rex: number, rep: number): string {
  if (opcode.length === 1 && b === 0x90) {
    if (rex & 1) return "xchg";
    if (rep === 0xf3) return "pause";
  }
  if (opcode.length === 1 && b === 0xe3) return addrsize === 16 ? "jcxz" : addrsize === 32 ? "jecxz" : "jrcxz";
  return form.names[opsize === 16 ? 0 : opsize === 32 ? 1 : 2];
}

// The opcode maps (one-byte.ts, two-byte.ts, groups.ts, x87.ts) parsed once into lookup arrays: what the decoder
// and, later, the interpreter's executors and the disassembler index by opcode.

import { ONE_BYTE_MAP } from "./one-byte.js";
import { TWO_BYTE_MAP } from "./two-byte.js";
import { GROUPS } from "./groups.js";

/** An operand as the SDM writes it: addressing method and type ("Ev" = E, v), or a fixed register ("AL"). */
export interface OperandSpec {
  /** The addressing method letter (A C D E G I J M N O P Q R S U V W X Y Z), or "fixed". */
  method: string;
  /** Operand type ("b", "v", "z", "ps"...), or the fixed register's name. */
  type: string;
}

export type MandatoryPrefix = "none" | "66" | "f3" | "f2";

/** One instruction form: its mnemonic by operand size (16, 32, 64), operands and mode flags. */
export interface Form {
  prefix: MandatoryPrefix;
  names: readonly [string, string, string];
  operands: readonly OperandSpec[];
  i64: boolean;
  o64: boolean;
  d64: boolean;
  f64: boolean;
}

export type OpcodeEntry =
  | { kind: "insn"; forms: readonly Form[] }
  /** ModRM.reg selects the instruction (groups.ts); `base` holds the opcode row's operands and flags. */
  | { kind: "group"; group: string; base: Form }
  | { kind: "prefix"; prefix: string }
  | { kind: "escape" };

/** A group encoding: ModRM.reg, and which mod/rm values it covers. */
export interface GroupEntry {
  reg: number;
  /** "any": memory and register forms; "mem": mod != 3; "reg": mod = 3 (any rm); a number: mod = 3, that rm. */
  select: "any" | "mem" | "reg" | number;
  forms: readonly Form[];
  /** Whether the line gave its own operands (else the opcode row's). */
  ownOperands: boolean;
}

export class OpcodeTableError extends Error {
  override name = "OpcodeTableError";
}

const FIXED = new Set(["AL", "CL", "DX", "AX", "rAX", "eAX", "ES", "CS", "SS", "DS", "FS", "GS", "1", "ST", "STi"]);

function parseOperand(text: string): OperandSpec {
  if (FIXED.has(text)) return { method: "fixed", type: text };
  if (text === "Ry/Mw") return { method: "E", type: "w" };
  const m = /^([ACDEGIJMNOPQRSUVWXYZ])([a-z]*)$/.exec(text);
  if (!m) throw new OpcodeTableError(`bad operand '${text}'`);
  return { method: m[1], type: m[2] };
}

const FLAGS = ["i64", "o64", "d64", "f64"] as const;

/** "[PREFIX] mnemonic OPERANDS FLAGS..." (one form of a line). */
function parseForm(text: string, where: string, defaultOperands?: readonly OperandSpec[]): { form: Form; ownOperands: boolean } {
  const words = text.trim().split(/\s+/);
  let prefix: MandatoryPrefix = "none";
  if (words[0] === "66" || words[0] === "f3" || words[0] === "f2") prefix = words.shift() as MandatoryPrefix;
  const mnemonic = words.shift();
  if (!mnemonic) throw new OpcodeTableError(`${where}: no mnemonic`);
  let operands = defaultOperands ?? [];
  let ownOperands = false;
  if (words.length > 0 && !(FLAGS as readonly string[]).includes(words[0])) {
    const ops = words.shift()!;
    operands = ops === "-" ? [] : ops.split(",").map(parseOperand);
    ownOperands = true;
  }
  for (const w of words) if (!(FLAGS as readonly string[]).includes(w)) throw new OpcodeTableError(`${where}: unknown flag '${w}'`);
  const names = mnemonic.split("/");
  const byWidth: [string, string, string] = [names[0], names[1] ?? names[0], names[2] ?? names[1] ?? names[0]];
  const has = (f: string) => words.includes(f);
  return { form: { prefix, names: byWidth, operands, i64: has("i64"), o64: has("o64"), d64: has("d64"), f64: has("f64") }, ownOperands };
}

function lines(table: string): string[] {
  return table.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

/** Parses an opcode map into 256 entries (undefined: no instruction). */
function parseMap(table: string, name: string): (OpcodeEntry | undefined)[] {
  const map: (OpcodeEntry | undefined)[] = new Array(256).fill(undefined);
  for (const line of lines(table)) {
    const m = /^([0-9a-f]{2})(?:-([0-9a-f]{2}))?\s+(.*)$/.exec(line);
    if (!m) throw new OpcodeTableError(`${name}: bad line '${line}'`);
    const first = parseInt(m[1], 16);
    const last = m[2] ? parseInt(m[2], 16) : first;
    const rest = m[3];
    for (let op = first; op <= last; op++) {
      const where = `${name} ${op.toString(16)}`;
      const words = rest.split(/\s+/);
      let entry: OpcodeEntry;
      if (words[0] === "prefix") entry = { kind: "prefix", prefix: words[1] };
      else if (words[0] === "esc") entry = { kind: "escape" };
      else if (/^grp/.test(words[0])) entry = { kind: "group", group: words[0], base: parseForm(rest, where).form };
      else {
        const forms = rest.split("|").map((f) => parseForm(f, where).form);
        const prev = map[op];
        // Two lines for one opcode: forms for different modes (63: ARPL outside 64-bit mode, MOVSXD in it).
        entry = prev?.kind === "insn" ? { kind: "insn", forms: [...prev.forms, ...forms] } : { kind: "insn", forms };
      }
      map[op] = entry;
    }
  }
  return map;
}

function parseGroups(table: string): Map<string, GroupEntry[]> {
  const groups = new Map<string, GroupEntry[]>();
  for (const line of lines(table)) {
    const m = /^(grp\w+)\s+(\d)(?:\.(m|r)(?:\.(\d))?)?\s+(.*)$/.exec(line);
    if (!m) throw new OpcodeTableError(`groups: bad line '${line}'`);
    const select: GroupEntry["select"] = m[3] === undefined ? "any" : m[3] === "m" ? "mem" : m[4] === undefined ? "reg" : Number(m[4]);
    let own = false;
    const forms = m[5].split("|").map((f) => {
      const parsed = parseForm(f, `${m[1]} /${m[2]}`);
      own ||= parsed.ownOperands;
      return parsed.form;
    });
    const list = groups.get(m[1]) ?? [];
    list.push({ reg: Number(m[2]), select, forms, ownOperands: own });
    groups.set(m[1], list);
  }
  return groups;
}

export const ONE_BYTE: readonly (OpcodeEntry | undefined)[] = parseMap(ONE_BYTE_MAP, "one-byte map");
export const TWO_BYTE: readonly (OpcodeEntry | undefined)[] = parseMap(TWO_BYTE_MAP, "two-byte map");
export const GROUP_TABLE: ReadonlyMap<string, readonly GroupEntry[]> = parseGroups(GROUPS);

for (const map of [ONE_BYTE, TWO_BYTE])
  for (const e of map)
    if (e?.kind === "group" && !GROUP_TABLE.has(e.group)) throw new OpcodeTableError(`opcode map names ${e.group}, which groups.ts does not define`);

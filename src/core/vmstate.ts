// Guest-visible state described once, as data — QEMU's VMStateDescription in TypeScript.
//
// A part lists its fields (name, type, bounds, the version that added them); saving, loading with validation,
// digests and divergence names are generic code over that list. Loading checks every field of a section before
// it writes any of them, so a bad state is refused whole and leaves the part as it was. Versions do something:
// a state saved by an older version loads with each newer field's `fallback`; a newer one is refused by
// loadSections (core/state.ts) with a message naming the part.

import { StateError, type StateFields, type StateValue } from "./state.js";

export type FieldType = "u8" | "u16" | "u32" | "int" | "number" | "bool" | "u8[]" | "u32[]" | "i32[]" | "number[]" | "section";

export interface FieldSpec<T> {
  /** The key in saved state; also the object's property unless get/set are given. */
  readonly name: string;
  readonly type: FieldType;
  /** Arrays: the exact length. */
  readonly length?: number;
  /** Numbers: the largest value allowed (and for arrays, for every element). */
  readonly max?: number;
  /** The description version that added the field; states saved before it load `fallback`. */
  readonly since?: number;
  readonly fallback?: StateValue;
  /** Nested sections (type "section"). */
  readonly section?: StateDescription<any>;
  /** Why a value is impossible for this part, or undefined when it is fine. */
  readonly check?: (value: any) => string | undefined;
  readonly get?: (o: T) => StateValue;
  readonly set?: (o: T, v: any) => void;
}

export interface StateDescription<T> {
  readonly version: number;
  readonly fields: readonly FieldSpec<T>[];
  /** Checks across fields, on the decoded values, before anything is written. */
  readonly validate?: (values: Record<string, any>) => string | undefined;
  /** Runs before saving (e.g. write a cached register back to its home). */
  readonly preSave?: (o: T) => void;
  /** Runs after every field was written (re-derive outputs, flush caches). */
  readonly postLoad?: (o: T) => void;
}

// Names are strings rather than `keyof T` so that descriptions can list a part's private fields; a name that is
// not a property of the part fails on the first save (every part is saved in the tests).
type Keyed<_T> = string;
type Opts<T> = Omit<Partial<FieldSpec<T>>, "name" | "type">;

/** Field builders: `field.u32("lcr")` is the part's property `lcr`, saved as a 32-bit value. */
export const field = {
  u8: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "u8", ...o }),
  u16: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "u16", ...o }),
  u32: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "u32", ...o }),
  /** A safe integer, signed (icounts, offsets). */
  int: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "int", ...o }),
  /** Any finite number (counters kept as doubles). */
  number: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "number", ...o }),
  bool: <T>(name: Keyed<T>, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "bool", ...o }),
  /** Typed arrays are saved as copies and loaded in place. */
  u8s: <T>(name: Keyed<T>, length: number, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "u8[]", length, ...o }),
  u32s: <T>(name: Keyed<T>, length: number, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "u32[]", length, ...o }),
  i32s: <T>(name: Keyed<T>, length: number, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "i32[]", length, ...o }),
  numbers: <T>(name: Keyed<T>, length: number, o: Opts<T> = {}): FieldSpec<T> => ({ name, type: "number[]", length, ...o }),
  /** A sub-part with its own description, e.g. one timer channel; `of` picks it from the part. */
  section: <T, U>(name: string, of: (o: T) => U, section: StateDescription<U>, o: Opts<T> = {}): FieldSpec<T> => ({
    name,
    type: "section",
    section,
    get: (p) => saveDescribed(section, of(p)),
    set: (p, v) => writeValues(section, of(p), v),
    ...o,
  }),
};

/** The part's state as named fields, in description order. */
export function saveDescribed<T>(desc: StateDescription<T>, o: T): StateFields {
  desc.preSave?.(o);
  const out: StateFields = {};
  for (const f of desc.fields) {
    const v = f.get ? f.get(o) : (o as Record<string, unknown>)[f.name];
    if (v === undefined) throw new Error(`state description names ${f.name}, which the part does not have`);
    out[f.name] = copyOut(f, v);
  }
  return out;
}

/** Validates a saved section against the description, then writes it into the part. */
export function loadDescribed<T>(desc: StateDescription<T>, o: T, fields: StateFields, version: number, where: string): void {
  const values = decodeValues(desc, fields, version, where);
  writeValues(desc, o, values);
}

function decodeValues<T>(desc: StateDescription<T>, fields: StateFields, version: number, where: string): Record<string, any> {
  const values: Record<string, any> = {};
  for (const f of desc.fields) {
    let v = fields[f.name];
    if (v === undefined) {
      if ((f.since ?? 1) > version && f.fallback !== undefined) v = f.fallback;
      else throw new StateError(`${where}: field ${f.name} is missing`);
    }
    values[f.name] = decodeValue(f, v, version, `${where}.${f.name}`);
  }
  const problem = desc.validate?.(values);
  if (problem) throw new StateError(`${where}: ${problem}`);
  return values;
}

function decodeValue<T>(f: FieldSpec<T>, v: StateValue, version: number, where: string): unknown {
  const bad = (what: string) => new StateError(`${where} must be ${what}`);
  let out: unknown = v;
  switch (f.type) {
    case "u8":
    case "u16":
    case "u32":
    case "int": {
      const max = f.max ?? (f.type === "u8" ? 0xff : f.type === "u16" ? 0xffff : f.type === "u32" ? 0xffffffff : Number.MAX_SAFE_INTEGER);
      const min = f.type === "int" ? Number.MIN_SAFE_INTEGER : 0;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(`an integer in ${min === 0 ? 0 : "-2^53"}..${max}`);
      break;
    }
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v) || (f.max !== undefined && v > f.max)) throw bad("a finite number");
      break;
    case "bool":
      if (typeof v !== "boolean") throw bad("a boolean");
      break;
    case "u8[]":
    case "u32[]":
    case "i32[]": {
      const ctor = f.type === "u8[]" ? Uint8Array : f.type === "u32[]" ? Uint32Array : Int32Array;
      if (!(v instanceof ctor) || (f.length !== undefined && v.length !== f.length)) throw bad(`${f.length} ${f.type === "u8[]" ? "bytes" : "32-bit words"}`);
      if (f.max !== undefined) for (const x of v) if (x > f.max) throw bad(`at most 0x${f.max.toString(16)} in every element`);
      break;
    }
    case "number[]":
      if (!Array.isArray(v) || v.length !== f.length || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) throw bad(`${f.length} numbers`);
      break;
    case "section":
      if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) throw bad("a field set");
      out = decodeValues(f.section!, v as StateFields, version, where);
      break;
  }
  const problem = f.check?.(out);
  if (problem) throw new StateError(`${where}: ${problem}`);
  return out;
}

function writeValues<T>(desc: StateDescription<T>, o: T, values: Record<string, any>): void {
  const obj = o as Record<string, any>;
  for (const f of desc.fields) {
    const v = values[f.name];
    if (f.set) f.set(o, v);
    else if (ArrayBuffer.isView(obj[f.name])) (obj[f.name] as Uint8Array).set(v);
    else if (Array.isArray(obj[f.name])) (obj[f.name] as number[]).splice(0, obj[f.name].length, ...(v as number[]));
    else obj[f.name] = v;
  }
  desc.postLoad?.(o);
}

function copyOut<T>(f: FieldSpec<T>, v: unknown): StateValue {
  if (f.type === "u8[]") return Uint8Array.from(v as ArrayLike<number>);
  if (f.type === "u32[]") return Uint32Array.from(v as ArrayLike<number>);
  if (f.type === "i32[]") return Int32Array.from(v as ArrayLike<number>);
  if (f.type === "number[]") return Array.from(v as ArrayLike<number>);
  if ((f.type === "u8" || f.type === "u16" || f.type === "u32") && typeof v === "number") return v >>> 0;
  return v as StateValue;
}

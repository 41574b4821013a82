// One serialization mechanism for every piece of guest-visible state.
//
// Each stateful part (CPU, device, RAM, clock) describes its state as a versioned section of *named* fields.
// Snapshots, checkpoints, digests and divergence reports are generic code over those sections, so adding a
// field never silently shifts another one (unlike positional arrays).

import { createHash } from "node:crypto";

export type StateValue =
  | number
  | boolean
  | bigint
  | string
  | Uint8Array
  | Int32Array
  | Uint32Array
  | StateValue[]
  | { [key: string]: StateValue };

export type StateFields = { [key: string]: StateValue };

/** A part of the machine whose guest-visible state can be saved and restored. */
export interface Stateful {
  /** Unique, stable section name, e.g. "cpu0", "pl011@9000000". */
  readonly stateName: string;
  /** Bumped when the meaning or set of fields changes; loadState sees the version that was saved. */
  readonly stateVersion: number;
  saveState(): StateFields;
  /** Restores state; throws StateError when fields are missing or hold impossible values. */
  loadState(fields: StateFields, version: number): void;
}

export class StateError extends Error {
  override name = "StateError";
}

export interface StateSection {
  name: string;
  version: number;
  fields: StateFields;
}

// ---- binary encoding -------------------------------------------------------------------------------------
// Tagged, little-endian, field order as given (sections save in a fixed order, so encodings are canonical).

const enum Tag {
  Num = 1,
  True = 2,
  False = 3,
  Big = 4,
  Str = 5,
  Bytes = 6,
  I32 = 7,
  U32 = 8,
  List = 9,
  Obj = 10,
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  str(s: string): void {
    this.bytes(Buffer.from(s, "utf8"));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeValue(w: Writer, v: StateValue): void {
  if (typeof v === "number") {
    w.u8(Tag.Num);
    w.f64(v);
  } else if (typeof v === "boolean") {
    w.u8(v ? Tag.True : Tag.False);
  } else if (typeof v === "bigint") {
    w.u8(Tag.Big);
    w.str(v.toString(16));
  } else if (typeof v === "string") {
    w.u8(Tag.Str);
    w.str(v);
  } else if (v instanceof Uint8Array) {
    w.u8(Tag.Bytes);
    w.bytes(v);
  } else if (v instanceof Int32Array) {
    w.u8(Tag.I32);
    w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (v instanceof Uint32Array) {
    w.u8(Tag.U32);
    w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (Array.isArray(v)) {
    w.u8(Tag.List);
    w.u32(v.length);
    for (const item of v) writeValue(w, item);
  } else {
    w.u8(Tag.Obj);
    const keys = Object.keys(v);
    w.u32(keys.length);
    for (const k of keys) {
      w.str(k);
      writeValue(w, v[k]);
    }
  }
}

class Reader {
  private view: DataView;
  pos = 0;
  constructor(private buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new StateError("machine state is truncated");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str(): string {
    return Buffer.from(this.bytes()).toString("utf8");
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}

function readValue(r: Reader, depth: number): StateValue {
  if (depth > 64) throw new StateError("machine state nests too deeply");
  const tag = r.u8();
  switch (tag) {
    case Tag.Num:
      return r.f64();
    case Tag.True:
      return true;
    case Tag.False:
      return false;
    case Tag.Big: {
      const text = r.str();
      if (!/^-?[0-9a-f]+$/.test(text)) throw new StateError("bad 64-bit value in machine state");
      return text.startsWith("-") ? -BigInt("0x" + text.slice(1)) : BigInt("0x" + text);
    }
    case Tag.Str:
      return r.str();
    case Tag.Bytes:
      return r.bytes();
    case Tag.I32: {
      const b = r.bytes();
      if (b.length % 4) throw new StateError("bad Int32Array length in machine state");
      return new Int32Array(b.buffer, b.byteOffset, b.length / 4);
    }
    case Tag.U32: {
      const b = r.bytes();
      if (b.length % 4) throw new StateError("bad Uint32Array length in machine state");
      return new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    }
    case Tag.List: {
      const n = r.u32();
      const out: StateValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case Tag.Obj: {
      const n = r.u32();
      const out: StateFields = {};
      for (let i = 0; i < n; i++) {
        const k = r.str();
        out[k] = readValue(r, depth + 1);
      }
      return out;
    }
    default:
      throw new StateError(`unknown value tag ${tag} in machine state`);
  }
}

const STATE_MAGIC = 0x52575354; // "RWST"
const STATE_FORMAT = 1;

/** Encodes sections to a self-describing byte string. */
export function encodeState(sections: StateSection[]): Uint8Array {
  const w = new Writer();
  w.u32(STATE_MAGIC);
  w.u32(STATE_FORMAT);
  w.u32(sections.length);
  for (const s of sections) {
    w.str(s.name);
    w.u32(s.version);
    writeValue(w, s.fields);
  }
  return w.result();
}

export function decodeState(bytes: Uint8Array): StateSection[] {
  const r = new Reader(bytes);
  if (bytes.length < 12 || r.u32() !== STATE_MAGIC) throw new StateError("not a Rewind machine state");
  const fmt = r.u32();
  if (fmt !== STATE_FORMAT) throw new StateError(`machine state format ${fmt} is not supported`);
  const n = r.u32();
  const out: StateSection[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.str();
    const version = r.u32();
    const fields = readValue(r, 0);
    if (typeof fields !== "object" || fields === null || Array.isArray(fields) || ArrayBuffer.isView(fields))
      throw new StateError(`section ${name} is not a field set`);
    out.push({ name, version, fields: fields as StateFields });
  }
  if (!r.done) throw new StateError("trailing bytes after machine state");
  return out;
}

export function saveSections(parts: readonly Stateful[]): StateSection[] {
  return parts.map((p) => ({ name: p.stateName, version: p.stateVersion, fields: p.saveState() }));
}

/** Restores every part from its section; every part must be present exactly once. */
export function loadSections(parts: readonly Stateful[], sections: StateSection[]): void {
  const byName = new Map<string, StateSection>();
  for (const s of sections) {
    if (byName.has(s.name)) throw new StateError(`section ${s.name} appears twice in machine state`);
    byName.set(s.name, s);
  }
  for (const p of parts) {
    const s = byName.get(p.stateName);
    if (!s) throw new StateError(`machine state has no section for ${p.stateName}`);
    if (s.version > p.stateVersion)
      throw new StateError(`${p.stateName} state version ${s.version} is newer than this Rewind supports (${p.stateVersion})`);
    p.loadState(s.fields, s.version);
  }
  if (byName.size !== parts.length) {
    const known = new Set(parts.map((p) => p.stateName));
    const extra = [...byName.keys()].filter((k) => !known.has(k));
    throw new StateError(`machine state has sections this machine does not have: ${extra.join(", ")}`);
  }
}

export function digestBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Per-section digests: divergence reports name the part that differs. */
export function sectionDigests(sections: StateSection[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of sections) out.set(s.name, digestBytes(encodeState([s])));
  return out;
}

/** Names of fields (dotted paths) whose values differ between two versions of one section. */
export function diffFields(a: StateFields, b: StateFields, prefix = ""): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const path = prefix ? `${prefix}.${k}` : k;
    const va = a[k];
    const vb = b[k];
    if (va === undefined || vb === undefined) {
      out.push(path);
      continue;
    }
    if (isFields(va) && isFields(vb)) out.push(...diffFields(va, vb, path));
    else if (digestBytes(encodeValue(va)) !== digestBytes(encodeValue(vb))) out.push(path);
  }
  return out;
}

function isFields(v: StateValue): v is StateFields {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function encodeValue(v: StateValue): Uint8Array {
  const w = new Writer();
  writeValue(w, v);
  return w.result();
}

// ---- field accessors for loadState -----------------------------------------------------------------------

export function fieldNumber(f: StateFields, name: string, section: string): number {
  const v = f[name];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new StateError(`${section}: field ${name} must be a number`);
  return v;
}

export function fieldU32(f: StateFields, name: string, section: string): number {
  const v = fieldNumber(f, name, section);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new StateError(`${section}: field ${name} must be a 32-bit value`);
  return v;
}

export function fieldBool(f: StateFields, name: string, section: string): boolean {
  const v = f[name];
  if (typeof v !== "boolean") throw new StateError(`${section}: field ${name} must be a boolean`);
  return v;
}

export function fieldBigint(f: StateFields, name: string, section: string): bigint {
  const v = f[name];
  if (typeof v !== "bigint") throw new StateError(`${section}: field ${name} must be a 64-bit value`);
  return v;
}

export function fieldBytes(f: StateFields, name: string, section: string, length?: number): Uint8Array {
  const v = f[name];
  if (!(v instanceof Uint8Array)) throw new StateError(`${section}: field ${name} must be bytes`);
  if (length !== undefined && v.length !== length)
    throw new StateError(`${section}: field ${name} must be ${length} bytes, not ${v.length}`);
  return v;
}

export function fieldI32Array(f: StateFields, name: string, section: string, length: number): Int32Array {
  const v = f[name];
  if (!(v instanceof Int32Array) || v.length !== length)
    throw new StateError(`${section}: field ${name} must be ${length} 32-bit words`);
  return v;
}

export function fieldU32Array(f: StateFields, name: string, section: string, length: number): Uint32Array {
  const v = f[name];
  if (!(v instanceof Uint32Array) || v.length !== length)
    throw new StateError(`${section}: field ${name} must be ${length} 32-bit words`);
  return v;
}

export function fieldString(f: StateFields, name: string, section: string): string {
  const v = f[name];
  if (typeof v !== "string") throw new StateError(`${section}: field ${name} must be a string`);
  return v;
}

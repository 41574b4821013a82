/**
 * Flattened device tree (DTB, format version 17): an architecture-neutral tree model, a serializer and a
 * validating parser.
 *
 * Layout written (the same as libfdt, so blobs look like QEMU's): 40-byte header, memory reservation block at
 * 0x30, struct block, strings block (exact duplicates shared), optional zero padding up to a minimum total size
 * (QEMU hands the guest a 1 MiB blob so the kernel can edit it in place).
 *
 * Property values are kept as raw big-endian bytes, exactly as in the blob; the typed setters and getters
 * convert. Property and child order are preserved (they matter for byte-for-byte comparison with QEMU and for
 * Linux's device probe order).
 */

/** Every problem with a device tree (malformed blob, bad name, wrong property type) is reported as this. */
export class FdtError extends Error {
  override name = "FdtError";
}

export const FDT_MAGIC = 0xd00dfeed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_SIZE_V17 = 40;
const HEADER_SIZE_V16 = 36;
/** libfdt aligns the reservation block to the size of one entry. */
const RSVMAP_OFFSET = 0x30;

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;

/** Deeper trees than this are refused: no real tree comes near, and it bounds the work on hostile input. */
const MAX_DEPTH = 64;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

export interface FdtProperty {
  name: string;
  /** Raw bytes as stored in the blob (cells are big-endian). */
  value: Uint8Array;
}

export interface FdtReserveEntry {
  address: bigint;
  size: bigint;
}

// ---------------------------------------------------------------------------------------------------------------
// Value encoders

const TWO_32 = 0x1_0000_0000;

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new FdtError(`${what}: ${v} is not a 32-bit cell value`);
  return v;
}

/** Splits a 64-bit value into [high, low] 32-bit cells. Numbers must be exact integers (< 2^53). */
export function u64ToCells(v: number | bigint): [number, number] {
  if (typeof v === "bigint") {
    if (v < 0n || v >= 1n << 64n) throw new FdtError(`${v} is not a 64-bit value`);
    return [Number(v >> 32n), Number(v & 0xffff_ffffn)];
  }
  if (!Number.isSafeInteger(v) || v < 0) throw new FdtError(`${v} is not a 64-bit value that a number can hold exactly`);
  return [Math.floor(v / TWO_32), v >>> 0];
}

/** Encodes 32-bit cells (`<a b c>` in dts). */
export function cellsValue(cells: readonly number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => dv.setUint32(i * 4, checkU32(c, "cell"), false));
  return out;
}

/** Encodes 64-bit values, each as two cells (high first), as `/bits/ 64` or `<hi lo>` in dts. */
export function u64Value(values: readonly (number | bigint)[]): Uint8Array {
  return cellsValue(values.flatMap((v) => u64ToCells(v)));
}

function encodeString(s: string): Uint8Array {
  if (s.includes("\0")) throw new FdtError(`string property values cannot contain NUL: ${JSON.stringify(s)}`);
  return utf8.encode(s);
}

/** Encodes a string list (`"a", "b"` in dts): each string NUL-terminated. A single string is a list of one. */
export function stringsValue(list: readonly string[]): Uint8Array {
  const parts = list.map(encodeString);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Tree model

function validateNodeName(name: string): void {
  if (name.length === 0) throw new FdtError("node names must not be empty (only the root has no name)");
  if (/[\0/]/.test(name)) throw new FdtError(`invalid node name ${JSON.stringify(name)}: '/' and NUL are not allowed`);
}

function validatePropName(name: string): void {
  if (name.length === 0 || name.includes("\0")) throw new FdtError(`invalid property name ${JSON.stringify(name)}`);
}

export type Placement = "end" | "front";

export class FdtNode {
  readonly props: FdtProperty[] = [];
  readonly children: FdtNode[] = [];

  /** `name` includes the unit address (`pl011@9000000`); the root's name is "". */
  constructor(readonly name: string) {}

  // --- properties ---

  /** Sets a property. An existing property keeps its position; a new one goes to the end (or the front). */
  set(name: string, value: Uint8Array, where: Placement = "end"): this {
    validatePropName(name);
    const existing = this.props.find((p) => p.name === name);
    if (existing) existing.value = value;
    else if (where === "front") this.props.unshift({ name, value });
    else this.props.push({ name, value });
    return this;
  }

  setEmpty(name: string, where?: Placement): this {
    return this.set(name, new Uint8Array(0), where);
  }

  /** One or more 32-bit cells. */
  setU32(name: string, cells: number | readonly number[], where?: Placement): this {
    return this.set(name, cellsValue(typeof cells === "number" ? [cells] : cells), where);
  }

  /** One or more 64-bit values, two cells each. */
  setU64(name: string, values: number | bigint | readonly (number | bigint)[], where?: Placement): this {
    return this.set(name, u64Value(Array.isArray(values) ? values : [values as number | bigint]), where);
  }

  setString(name: string, s: string, where?: Placement): this {
    return this.set(name, stringsValue([s]), where);
  }

  setStrings(name: string, list: readonly string[], where?: Placement): this {
    return this.set(name, stringsValue(list), where);
  }

  setBytes(name: string, bytes: Uint8Array, where?: Placement): this {
    return this.set(name, Uint8Array.from(bytes), where);
  }

  get(name: string): Uint8Array | undefined {
    return this.props.find((p) => p.name === name)?.value;
  }

  has(name: string): boolean {
    return this.props.some((p) => p.name === name);
  }

  remove(name: string): boolean {
    const i = this.props.findIndex((p) => p.name === name);
    if (i >= 0) this.props.splice(i, 1);
    return i >= 0;
  }

  private require(name: string): Uint8Array {
    const v = this.get(name);
    if (v === undefined) throw new FdtError(`node '${this.name || "/"}' has no property '${name}'`);
    return v;
  }

  /** All cells of a property (its length must be a multiple of 4). */
  getCells(name: string): number[] {
    const v = this.require(name);
    if (v.length % 4 !== 0) throw new FdtError(`property '${name}' is ${v.length} bytes, not a whole number of cells`);
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 4) out.push(dv.getUint32(i, false));
    return out;
  }

  getU32(name: string): number {
    const cells = this.getCells(name);
    if (cells.length !== 1) throw new FdtError(`property '${name}' has ${cells.length} cells, expected 1`);
    return cells[0]!;
  }

  /** A property of one or two cells, as QEMU reads sized values. */
  getU64(name: string): bigint {
    const cells = this.getCells(name);
    if (cells.length === 1) return BigInt(cells[0]!);
    if (cells.length === 2) return (BigInt(cells[0]!) << 32n) | BigInt(cells[1]!);
    throw new FdtError(`property '${name}' has ${cells.length} cells, expected 1 or 2`);
  }

  getStrings(name: string): string[] {
    const v = this.require(name);
    if (v.length === 0 || v[v.length - 1] !== 0) throw new FdtError(`property '${name}' is not a NUL-terminated string`);
    return utf8Decoder.decode(v.subarray(0, v.length - 1)).split("\0");
  }

  getString(name: string): string {
    const list = this.getStrings(name);
    if (list.length !== 1) throw new FdtError(`property '${name}' holds ${list.length} strings, expected 1`);
    return list[0]!;
  }

  // --- children ---

  child(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** Adds a new child node; a sibling with the same name is an error. */
  addChild(name: string, where: Placement = "end"): FdtNode {
    validateNodeName(name);
    if (this.child(name)) throw new FdtError(`node '${this.name || "/"}' already has a child named '${name}'`);
    const node = new FdtNode(name);
    if (where === "front") this.children.unshift(node);
    else this.children.push(node);
    return node;
  }

  /** Adds an already built node (e.g. one taken from another tree). */
  adopt(node: FdtNode, where: Placement = "end"): FdtNode {
    if (this.child(node.name)) throw new FdtError(`node '${this.name || "/"}' already has a child named '${node.name}'`);
    if (where === "front") this.children.unshift(node);
    else this.children.push(node);
    return node;
  }

  removeChild(name: string): boolean {
    const i = this.children.findIndex((c) => c.name === name);
    if (i >= 0) this.children.splice(i, 1);
    return i >= 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tree, phandles, serialization

export interface DtbWriteOptions {
  /** Zero-pad the blob (totalsize) to at least this many bytes. */
  minTotalSize?: number;
}

export class FdtTree {
  readonly root = new FdtNode("");
  memReserve: FdtReserveEntry[] = [];
  bootCpuIdPhys = 0;
  private nextPhandle: number;

  /** `firstPhandle`: dtc starts at 1; QEMU's generated trees start at 0x8000. */
  constructor(opts: { firstPhandle?: number } = {}) {
    this.nextPhandle = opts.firstPhandle ?? 1;
  }

  /** A fresh phandle value, never one already present in the tree. */
  allocPhandle(): number {
    const used = collectPhandles(this.root);
    while (this.nextPhandle === 0 || this.nextPhandle === 0xffff_ffff || used.has(this.nextPhandle)) {
      this.nextPhandle = (this.nextPhandle + 1) >>> 0;
    }
    return this.nextPhandle++;
  }

  /** Gives `node` a "phandle" property (allocating one unless it has one) and returns its value. */
  phandleOf(node: FdtNode, where: Placement = "end"): number {
    if (node.has("phandle")) return node.getU32("phandle");
    const ph = this.allocPhandle();
    node.setU32("phandle", ph, where);
    return ph;
  }

  /** Looks a node up by absolute path ("/", "/cpus/cpu@0"). */
  find(path: string): FdtNode | undefined {
    if (!path.startsWith("/")) return undefined;
    let node: FdtNode | undefined = this.root;
    for (const part of path.split("/").filter((p) => p.length > 0)) {
      node = node.child(part);
      if (!node) return undefined;
    }
    return node;
  }

  toDtb(opts: DtbWriteOptions = {}): Uint8Array {
    return serialize(this, opts);
  }

  static fromDtb(blob: Uint8Array): FdtTree {
    return parse(blob);
  }
}

function collectPhandles(root: FdtNode): Set<number> {
  const used = new Set<number>();
  const walk = (n: FdtNode, depth: number): void => {
    if (depth > MAX_DEPTH) throw new FdtError(`tree is deeper than ${MAX_DEPTH} levels`);
    for (const p of n.props) {
      if ((p.name === "phandle" || p.name === "linux,phandle") && p.value.length === 4) {
        used.add(new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, false));
      }
    }
    for (const c of n.children) walk(c, depth + 1);
  };
  walk(root, 0);
  return used;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Growable big-endian byte writer for the struct block. */
class Writer {
  private buf = new Uint8Array(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u32(v: number): void {
    this.room(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0, false);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length + 3);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  pad4(): void {
    const n = align(this.length, 4) - this.length;
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  take(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function serialize(tree: FdtTree, opts: DtbWriteOptions): Uint8Array {
  const struct = new Writer();
  const strings = new Writer();
  const stringOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      strings.bytes(utf8.encode(name));
      strings.bytes(new Uint8Array(1));
      stringOffsets.set(name, off);
    }
    return off;
  };

  const emit = (node: FdtNode, depth: number): void => {
    if (depth > MAX_DEPTH) throw new FdtError(`tree is deeper than ${MAX_DEPTH} levels`);
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(utf8.encode(node.name));
    struct.bytes(new Uint8Array(1));
    struct.pad4();
    const seen = new Set<string>();
    for (const p of node.props) {
      if (seen.has(p.name)) throw new FdtError(`node '${node.name || "/"}' has property '${p.name}' twice`);
      seen.add(p.name);
      struct.u32(FDT_PROP);
      struct.u32(p.value.length);
      struct.u32(nameOffset(p.name));
      struct.bytes(p.value);
      struct.pad4();
    }
    const names = new Set<string>();
    for (const c of node.children) {
      if (names.has(c.name)) throw new FdtError(`node '${node.name || "/"}' has two children named '${c.name}'`);
      names.add(c.name);
      emit(c, depth + 1);
    }
    struct.u32(FDT_END_NODE);
  };
  emit(tree.root, 0);
  struct.u32(FDT_END);

  const rsvSize = (tree.memReserve.length + 1) * 16;
  const offStruct = RSVMAP_OFFSET + rsvSize;
  const structBytes = struct.take();
  const stringBytes = strings.take();
  const offStrings = offStruct + structBytes.length;
  const used = align(offStrings + stringBytes.length, 8);
  const total = Math.max(used, opts.minTotalSize ?? 0);
  if (total > 0xffff_ffff) throw new FdtError("device tree too large");

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, offStruct, offStrings, RSVMAP_OFFSET, FDT_VERSION, FDT_LAST_COMP_VERSION,
    checkU32(tree.bootCpuIdPhys, "boot_cpuid_phys"), stringBytes.length, structBytes.length];
  header.forEach((v, i) => dv.setUint32(i * 4, v, false));
  tree.memReserve.forEach((r, i) => {
    if (r.address < 0n || r.address >= 1n << 64n || r.size < 0n || r.size >= 1n << 64n) {
      throw new FdtError(`memory reservation ${r.address}+${r.size} is not a pair of 64-bit values`);
    }
    dv.setBigUint64(RSVMAP_OFFSET + i * 16, r.address, false);
    dv.setBigUint64(RSVMAP_OFFSET + i * 16 + 8, r.size, false);
  });
  out.set(structBytes, offStruct);
  out.set(stringBytes, offStrings);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

function fail(msg: string): never {
  throw new FdtError(`invalid device tree blob: ${msg}`);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function parse(blob: Uint8Array): FdtTree {
  if (!(blob instanceof Uint8Array)) fail("not a byte array");
  if (blob.length < HEADER_SIZE_V16) fail(`only ${blob.length} bytes, too short for a header`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = (i: number): number => dv.getUint32(i * 4, false);
  const magic = h(0);
  if (magic !== FDT_MAGIC) fail(`bad magic ${hex(magic)} (expected 0xd00dfeed): not a DTB`);
  const totalSize = h(1);
  const offStruct = h(2);
  const offStrings = h(3);
  const offRsv = h(4);
  const version = h(5);
  const lastComp = h(6);
  if (version < 16) fail(`version ${version} is too old (16 or 17 supported)`);
  if (lastComp > FDT_VERSION) fail(`needs a reader for version ${lastComp} (this one reads up to 17)`);
  const headerSize = version >= 17 ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  if (totalSize < headerSize) fail(`totalsize ${totalSize} is smaller than the header`);
  if (totalSize > blob.length) fail(`header says ${totalSize} bytes but only ${blob.length} are present (truncated?)`);
  const sizeStrings = h(8);
  const sizeStruct = version >= 17 ? h(9) : totalSize - offStruct;

  const within = (what: string, off: number, size: number): void => {
    if (off < headerSize || off > totalSize || size > totalSize - off) {
      fail(`${what} (offset ${hex(off)}, ${size} bytes) lies outside the ${totalSize}-byte blob`);
    }
  };
  if (offRsv % 8 !== 0) fail(`memory reservation block offset ${hex(offRsv)} is not 8-byte aligned`);
  if (offStruct % 4 !== 0) fail(`struct block offset ${hex(offStruct)} is not 4-byte aligned`);
  within("struct block", offStruct, sizeStruct);
  within("strings block", offStrings, sizeStrings);
  within("memory reservation block", offRsv, 16);

  const tree = new FdtTree();
  tree.bootCpuIdPhys = h(7);
  for (let at = offRsv; ; at += 16) {
    if (at + 16 > totalSize) fail("memory reservation block has no terminating entry");
    const address = dv.getBigUint64(at, false);
    const size = dv.getBigUint64(at + 8, false);
    if (address === 0n && size === 0n) break;
    tree.memReserve.push({ address, size });
  }

  const structEnd = offStruct + sizeStruct;
  const cString = (from: number, end: number, what: string): [string, number] => {
    const nul = blob.subarray(from, end).indexOf(0);
    if (nul < 0) fail(`${what} at ${hex(from)} is not NUL-terminated`);
    return [utf8Decoder.decode(blob.subarray(from, from + nul)), from + nul + 1];
  };
  const propName = (nameOff: number): string => {
    if (nameOff >= sizeStrings) fail(`property name offset ${nameOff} is outside the strings block (${sizeStrings} bytes)`);
    const [name] = cString(offStrings + nameOff, offStrings + sizeStrings, "property name");
    if (name.length === 0) fail(`empty property name at strings offset ${nameOff}`);
    return name;
  };

  const stack: FdtNode[] = [];
  let rootDone = false;
  let at = offStruct;
  for (;;) {
    if (at + 4 > structEnd) fail("struct block ends without an END token");
    const token = dv.getUint32(at, false);
    const tokenAt = at;
    at += 4;
    if (token === FDT_NOP) continue;
    if (token === FDT_END) {
      if (!rootDone) fail(stack.length ? `END token inside node '${stack[stack.length - 1]!.name}'` : "no root node");
      break;
    }
    if (rootDone) fail(`token ${token} at ${hex(tokenAt)} after the root node closed`);
    if (token === FDT_BEGIN_NODE) {
      const [name, next] = cString(at, structEnd, "node name");
      at = align(next, 4);
      if (at > structEnd) fail(`node '${name}' runs past the struct block`);
      if (stack.length === 0) {
        // Some old blobs name the root "/" or give it nothing; both mean the root.
        if (name !== "" && name !== "/") fail(`root node is named '${name}'`);
        stack.push(tree.root);
        continue;
      }
      if (stack.length >= MAX_DEPTH) fail(`nodes nested deeper than ${MAX_DEPTH} levels`);
      const parent = stack[stack.length - 1]!;
      if (name.length === 0 || name.includes("/")) fail(`invalid node name ${JSON.stringify(name)} at ${hex(tokenAt)}`);
      if (parent.child(name)) fail(`node '${parent.name || "/"}' has two children named '${name}'`);
      stack.push(parent.addChild(name));
    } else if (token === FDT_END_NODE) {
      if (stack.length === 0) fail(`END_NODE at ${hex(tokenAt)} with no open node`);
      stack.pop();
      if (stack.length === 0) rootDone = true;
    } else if (token === FDT_PROP) {
      if (stack.length === 0) fail(`property at ${hex(tokenAt)} outside any node`);
      if (at + 8 > structEnd) fail(`property header at ${hex(tokenAt)} runs past the struct block`);
      const len = dv.getUint32(at, false);
      const name = propName(dv.getUint32(at + 4, false));
      at += 8;
      if (len > structEnd - at) fail(`property '${name}' (${len} bytes) runs past the struct block`);
      const node = stack[stack.length - 1]!;
      if (node.has(name)) fail(`node '${node.name || "/"}' has property '${name}' twice`);
      node.props.push({ name, value: blob.slice(at, at + len) });
      at = align(at + len, 4);
    } else {
      fail(`unknown token ${hex(token)} at ${hex(tokenAt)}`);
    }
  }
  // allocPhandle() skips values the blob already uses, so nothing more to set up here.
  return tree;
}

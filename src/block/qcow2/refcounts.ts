import { ImageError, hex } from "../errors.js";
import type { ImageFile } from "../file-io.js";
import { u32, putU32, putU64 } from "../be.js";

/** Reads entry `i` of a refcount block whose entries are 2^order bits wide. */
export function getRefEntry(block: Uint8Array, i: number, order: number): number {
  switch (order) {
    case 0: case 1: case 2: {
      const bits = 1 << order;
      const bit = i * bits;
      return (block[bit >>> 3]! >>> (bit & 7)) & ((1 << bits) - 1);
    }
    case 3: return block[i]!;
    case 4: return (block[i * 2]! << 8) | block[i * 2 + 1]!;
    case 5: return u32(block, i * 4);
    default: {
      const hi = u32(block, i * 8);
      if (hi >= 0x20_0000) return Number.MAX_SAFE_INTEGER; // beyond what we track; treated as "in use"
      return hi * 0x1_0000_0000 + u32(block, i * 8 + 4);
    }
  }
}

export function setRefEntry(block: Uint8Array, i: number, order: number, v: number): void {
  switch (order) {
    case 0: case 1: case 2: {
      const bits = 1 << order;
      const bit = i * bits;
      const mask = ((1 << bits) - 1) << (bit & 7);
      const at = bit >>> 3;
      block[at] = (block[at]! & ~mask) | ((v << (bit & 7)) & mask);
      return;
    }
    case 3: block[i] = v; return;
    case 4: block[i * 2] = v >>> 8; block[i * 2 + 1] = v & 0xff; return;
    case 5: putU32(block, i * 4, v); return;
    default: putU64(block, i * 8, v); return;
  }
}

/** Byte range [start, end) inside a block that holds entry `i` (what an in-place update writes). */
export function refEntryBytes(i: number, order: number): [number, number] {
  if (order <= 3) {
    const at = (i << order) >>> 3;
    return [at, at + 1];
  }
  const w = 1 << (order - 3);
  return [i * w, i * w + w];
}

export function maxRefcount(order: number): number {
  return order >= 6 ? Number.MAX_SAFE_INTEGER : 2 ** (1 << order) - 1;
}

/**
 * The two-level refcount structure: the refcount table (in memory, as block offsets) and refcount blocks (read
 * on first use, kept in memory). Updates happen either in place (one entry write, `setInPlace`) or through a
 * metadata transaction that relocates whole blocks and the table (see transaction.ts).
 */
export class Refcounts {
  readonly clusterSize: number;
  readonly entriesPerBlock: number;
  readonly max: number;
  private blocks = new Map<number, Uint8Array>();

  constructor(
    private readonly file: ImageFile,
    readonly clusterBits: number,
    readonly order: number,
    public tableOffset: number,
    public tableClusters: number,
    /** Refcount block offsets by block index; 0 means "no block: all refcounts 0". */
    public table: number[],
  ) {
    this.clusterSize = 2 ** clusterBits;
    this.entriesPerBlock = (this.clusterSize * 8) >>> order;
    this.max = maxRefcount(order);
  }

  /**
   * Reads the refcount table. In strict mode every block pointer must be cluster aligned and inside the file;
   * lenient mode (used by check) keeps bad pointers so the checker can report them.
   */
  static load(file: ImageFile, clusterBits: number, order: number, tableOffset: number, tableClusters: number,
    strict: boolean): Refcounts {
    const cs = 2 ** clusterBits;
    const raw = file.read(tableOffset, tableClusters * cs);
    const table: number[] = [];
    const fileSize = file.size();
    for (let i = 0; i < raw.length / 8; i++) {
      const hi = u32(raw, i * 8);
      const lo = u32(raw, i * 8 + 4);
      const off = hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + lo;
      if (strict && off !== 0) {
        if (!Number.isFinite(off) || off % cs !== 0) {
          throw new ImageError(`refcount table entry ${i} (${Number.isFinite(off) ? hex(off) : "huge"}) is not a cluster-aligned offset`);
        }
        if (off + cs > fileSize) {
          throw new ImageError(`refcount block ${i} at ${hex(off)} is beyond the end of the file`);
        }
      }
      table.push(off);
    }
    return new Refcounts(file, clusterBits, order, tableOffset, tableClusters, table);
  }

  blockIndex(cluster: number): number {
    return Math.floor(cluster / this.entriesPerBlock);
  }

  /** The loaded block `b`, or null when the table has no block there. */
  block(b: number): Uint8Array | null {
    const off = b < this.table.length ? this.table[b]! : 0;
    if (off === 0) return null;
    let blk = this.blocks.get(b);
    if (!blk) {
      if (!Number.isFinite(off) || off % this.clusterSize !== 0 || off >= this.file.size()) {
        throw new ImageError(`refcount block ${b} has an invalid offset ${Number.isFinite(off) ? hex(off) : "(huge)"}`);
      }
      blk = this.file.read(off, this.clusterSize);
      this.blocks.set(b, blk);
    }
    return blk;
  }

  get(cluster: number): number {
    const b = this.blockIndex(cluster);
    const blk = this.block(b);
    if (!blk) return 0;
    return getRefEntry(blk, cluster - b * this.entriesPerBlock, this.order);
  }

  /** Highest block index that exists, plus one. */
  usedTableEntries(): number {
    for (let i = this.table.length - 1; i >= 0; i--) if (this.table[i] !== 0) return i + 1;
    return 0;
  }

  /** Writes one refcount in place (the block must exist). One small write: atomic with respect to a crash. */
  setInPlace(cluster: number, value: number): void {
    this.setInMemory(cluster, value);
    this.writeDirty();
  }

  private dirty = new Map<number, [start: number, end: number]>();

  /** Changes a refcount in memory only; `writeDirty` writes the changed bytes of each block (one write each). */
  setInMemory(cluster: number, value: number): void {
    if (value < 0) throw new ImageError(`refcount of cluster ${cluster} would drop below zero: the image is corrupt`);
    if (value > this.max) throw new ImageError(`refcount of cluster ${cluster} would overflow (${this.order === 6 ? "64" : 1 << this.order}-bit refcounts)`);
    const b = this.blockIndex(cluster);
    const blk = this.block(b);
    if (!blk) throw new Error(`internal: no refcount block for cluster ${cluster}`);
    const i = cluster - b * this.entriesPerBlock;
    setRefEntry(blk, i, this.order, value);
    const [s, e] = refEntryBytes(i, this.order);
    const d = this.dirty.get(b);
    this.dirty.set(b, d ? [Math.min(d[0], s), Math.max(d[1], e)] : [s, e]);
  }

  writeDirty(): void {
    for (const [b, [s, e]] of this.dirty) {
      this.dirty.delete(b);
      this.file.write(this.table[b]! + s, this.blocks.get(b)!.slice(s, e));
    }
  }

  /** Records a block that was just written to the file at `offset` and points table entry `b` at it (in place). */
  installBlockInPlace(b: number, offset: number, content: Uint8Array): void {
    if (b >= this.table.length) throw new Error("internal: refcount table too small");
    const entry = new Uint8Array(8);
    putU64(entry, 0, offset);
    this.file.write(this.tableOffset + b * 8, entry);
    this.table[b] = offset;
    this.blocks.set(b, content);
  }

  /** Adopts the structure a committed transaction wrote. */
  adopt(tableOffset: number, tableClusters: number, table: number[], newBlocks: Map<number, Uint8Array>): void {
    this.tableOffset = tableOffset;
    this.tableClusters = tableClusters;
    this.table = table;
    for (const [b, blk] of newBlocks) this.blocks.set(b, blk);
  }

  /** Forgets cached blocks (after a failed operation the file is the only truth). */
  dropCache(): void {
    this.blocks.clear();
    this.dirty.clear();
  }
}

import { ImageError } from "../errors.js";
import { putU64 } from "../be.js";
import type { Qcow2State } from "./state.js";
import { setRefEntry } from "./refcounts.js";
import { encodeTablePointers } from "./header.js";
import { MAX_REFTABLE_BYTES } from "./constants.js";

/**
 * An atomic metadata update ("shadow paging"). Everything the update changes is written to clusters that are
 * free in the committed image: new L2/L1 tables, the snapshot table, VM state, and copies of every refcount
 * block that changes plus a new refcount table. Only then does one write of header bytes 36-71 switch the
 * L1 table, refcount table and snapshot table pointers together.
 *
 * Before that header write the committed image is untouched (the new clusters are unreferenced and have
 * refcount 0 in the old structures); after it, the new structures are complete. A crash at any point leaves
 * one consistent image or the other; at worst the clusters of the loser are leaked. This matters because
 * `qemu-img check` treats a refcount that disagrees with an active COPIED flag as corruption, so snapshot
 * operations (which change refcounts and COPIED flags together) cannot be done in place safely.
 */
export class MetadataTransaction {
  private delta = new Map<number, number>();
  private allocated = new Set<number>();
  private staged = new Map<number, Uint8Array>();
  private cursor: number;
  private minTableEntries = 0;
  private readonly cs: number;
  private committed = false;
  readonly header: { l1TableOffset?: number; l1Size?: number; nbSnapshots?: number; snapshotsOffset?: number } = {};

  constructor(private readonly st: Qcow2State) {
    this.cs = st.clusterSize;
    this.cursor = Math.max(1, st.freeHint);
  }

  /** Refcount of cluster `c` once this transaction commits. */
  final(c: number): number {
    return this.st.refcounts.get(c) + (this.delta.get(c) ?? 0);
  }

  addRef(c: number, d: number): void {
    const v = (this.delta.get(c) ?? 0) + d;
    if (v === 0) this.delta.delete(c);
    else this.delta.set(c, v);
  }

  /** Adds `d` to every cluster overlapping [offset, offset+bytes). */
  addRefRange(offset: number, bytes: number, d: number): void {
    if (bytes <= 0) return;
    const first = Math.floor(offset / this.cs);
    const last = Math.floor((offset + bytes - 1) / this.cs);
    for (let c = first; c <= last; c++) this.addRef(c, d);
  }

  private isFree(c: number): boolean {
    return c > 0 && !this.allocated.has(c) && !this.delta.has(c) && !this.st.meta.has(c) &&
      this.st.refcounts.get(c) === 0;
  }

  /** Allocates `n` contiguous clusters that are free in the committed image; returns the byte offset. */
  allocate(n: number): number {
    let start = this.cursor;
    for (;;) {
      let run = 0;
      while (run < n && this.isFree(start + run)) run++;
      if (run === n) break;
      start += run + 1;
    }
    for (let c = start; c < start + n; c++) {
      this.allocated.add(c);
      this.addRef(c, 1);
    }
    if (start === this.cursor) this.cursor = start + n;
    return start * this.cs;
  }

  /** Returns clusters allocated by this transaction (never committed, so immediately reusable). */
  private release(offset: number, n: number): void {
    for (let i = 0; i < n; i++) {
      const c = offset / this.cs + i;
      this.allocated.delete(c);
      this.addRef(c, -1);
      this.staged.delete((c) * this.cs);
    }
    this.cursor = Math.min(this.cursor, offset / this.cs);
  }

  /** Queues `data` to be written at `offset`, which must be inside clusters this transaction allocated. */
  stage(offset: number, data: Uint8Array): void {
    const first = Math.floor(offset / this.cs);
    const last = Math.floor((offset + Math.max(1, data.length) - 1) / this.cs);
    for (let c = first; c <= last; c++) {
      if (!this.allocated.has(c)) throw new Error(`internal: staging a write to cluster ${c} not allocated by the transaction`);
    }
    this.staged.set(offset, data);
  }

  /** Makes sure the new refcount table has room for `entries` blocks even if no refcount changes. */
  requireTableEntries(entries: number): void {
    this.minTableEntries = Math.max(this.minTableEntries, entries);
  }

  /** Writes everything, then switches the header. On return the in-memory refcounts and header are updated. */
  commit(): void {
    if (this.committed) throw new Error("internal: transaction committed twice");
    this.committed = true;
    const st = this.st;
    const rc = st.refcounts;
    const cs = this.cs;
    const E = rc.entriesPerBlock;

    // 1. Give every refcount block that changes a new home, and size a new refcount table. Allocating those
    //    clusters changes refcounts too, so repeat until nothing new is dirty.
    const newLoc = new Map<number, number>();
    let table: { offset: number; clusters: number } | null = null;
    let oldTableFreed = false;
    for (;;) {
      let progress = false;
      const dirty = new Set<number>();
      for (const c of this.delta.keys()) dirty.add(Math.floor(c / E));
      for (const b of dirty) {
        if (newLoc.has(b)) continue;
        newLoc.set(b, this.allocate(1));
        const old = b < rc.table.length ? rc.table[b]! : 0;
        if (old !== 0) this.addRef(old / cs, -1);
        progress = true;
      }
      let need = Math.max(rc.usedTableEntries(), this.minTableEntries);
      for (const b of newLoc.keys()) need = Math.max(need, b + 1);
      if (!table || table.clusters * (cs / 8) < need) {
        if (table) this.release(table.offset, table.clusters);
        const clusters = Math.max(rc.tableClusters, Math.ceil((need * 8 * 1.5) / cs));
        if (clusters * cs > MAX_REFTABLE_BYTES) {
          throw new ImageError("image too large: the refcount table would exceed 8 MiB (use a larger cluster size)");
        }
        table = { offset: this.allocate(clusters), clusters };
        if (!oldTableFreed) {
          this.addRefRange(rc.tableOffset, rc.tableClusters * cs, -1);
          oldTableFreed = true;
        }
        progress = true;
      }
      if (!progress) break;
    }

    // 2. Validate every final refcount before touching the file.
    for (const [c, d] of this.delta) {
      const v = rc.get(c) + d;
      if (v < 0) throw new ImageError(`refcount of cluster ${c} would become negative: the image is corrupt`);
      if (v > rc.max) {
        throw new ImageError(`refcount overflow at cluster ${c}: ${rc.order === 6 ? 64 : 1 << rc.order}-bit refcounts cannot count ${v} references`);
      }
    }

    // 3. Build the new blocks and table.
    const blocks = new Map<number, Uint8Array>();
    for (const b of newLoc.keys()) blocks.set(b, rc.block(b)?.slice() ?? new Uint8Array(cs));
    for (const [c, d] of this.delta) {
      const b = Math.floor(c / E);
      setRefEntry(blocks.get(b)!, c - b * E, rc.order, rc.get(c) + d);
    }
    const entries = table!.clusters * (cs / 8);
    const newTable: number[] = new Array(entries).fill(0);
    for (let b = 0; b < Math.min(rc.table.length, entries); b++) newTable[b] = rc.table[b]!;
    for (const [b, off] of newLoc) newTable[b] = off;
    const tableBytes = new Uint8Array(table!.clusters * cs);
    newTable.forEach((off, b) => putU64(tableBytes, b * 8, off));

    const freed: number[] = [];
    for (const [c, d] of this.delta) if (d < 0 && rc.get(c) + d === 0) freed.push(c);

    // 4. Write: new clusters, barrier, header switch, barrier.
    const f = st.file;
    for (const off of [...this.staged.keys()].sort((a, b) => a - b)) f.write(off, this.staged.get(off)!);
    for (const [b, off] of [...newLoc].sort((x, y) => x[1] - y[1])) f.write(off, blocks.get(b)!);
    f.write(table!.offset, tableBytes);
    if (st.sync) f.flush();
    const h = { ...st.header };
    if (this.header.l1TableOffset !== undefined) h.l1TableOffset = this.header.l1TableOffset;
    if (this.header.l1Size !== undefined) h.l1Size = this.header.l1Size;
    if (this.header.nbSnapshots !== undefined) h.nbSnapshots = this.header.nbSnapshots;
    if (this.header.snapshotsOffset !== undefined) h.snapshotsOffset = this.header.snapshotsOffset;
    h.refcountTableOffset = table!.offset;
    h.refcountTableClusters = table!.clusters;
    const pointers = encodeTablePointers(h);
    f.write(36, pointers);
    if (st.sync) f.flush();

    // 5. Adopt the new state in memory.
    h.raw = st.header.raw.slice();
    h.raw.set(pointers, 36);
    st.header = h;
    rc.adopt(table!.offset, table!.clusters, newTable, blocks);
    for (const c of freed) st.freeHint = Math.min(st.freeHint, c);
    st.l2cache.clear();
  }
}

import { u32, putU32 } from "../be.js";
import { type Checker, encode64, writeRefEntry, FIX_LEAKS, newResult } from "./check.js";

/**
 * The writing half of `check -r` (QEMU 7.2's qcow2-refcount.c): zeroing misaligned preallocated L2 entries,
 * rebuilding the refcount structure from the recounted references, and clearing the dirty/corrupt bits of a
 * repaired image. Refcount and COPIED-flag fixes are in-place entry writes done by the Checker itself.
 */

/** fix_l2_entry_by_zero(): the entry becomes a plain zero cluster. True when written. */
export function fixL2EntryByZero(c: Checker, l2Offset: bigint, index: number): boolean {
  const at = l2Offset + BigInt(index * 8);
  if (l2Offset < BigInt(c.cs) || at + 8n > BigInt(c.file.size())) {
    c.msg("ERROR: Overlap check failed");
    c.r.checkErrors++;
    return false;
  }
  c.file.write(Number(at), encode64(1n));
  c.file.flush();
  c.r.corruptions--;
  c.r.corruptionsFixed++;
  return true;
}

/** qcow2_mark_clean() + qcow2_mark_consistent(): clear the dirty and corrupt bits of a v3 image. */
export function markCleanAndConsistent(c: Checker): void {
  if (c.s.version !== 3 || (c.s.incompatible & 3n) === 0n) return;
  c.s.incompatible &= ~3n;
  const b = c.file.read(72, 8);
  putU32(b, 4, u32(b, 4) & ~3 >>> 0);
  c.file.write(72, b);
  c.file.flush();
}

/** alloc_clusters_imrt(): first run of `count` clusters free in the IMRT at or after `first`. */
function allocImrt(c: Checker, count: number, state: { firstFree: number }): number {
  let cluster = state.firstFree;
  let firstGap = true;
  let free = 0;
  for (; cluster < c.imrt.length && free < count; cluster++) {
    if (!c.imrt[cluster]) {
      free++;
      if (firstGap) {
        state.firstFree = cluster;
        firstGap = false;
      }
    } else if (free) {
      free = 0;
    }
  }
  cluster -= free;
  for (let i = 0; i < count; i++) {
    while (c.imrt.length <= cluster + i) c.imrt.push(0);
    c.imrt[cluster + i] = 1;
  }
  return cluster * c.cs;
}

/** rebuild_refcounts_write_refblocks(); returns whether the reftable grew. */
function writeRefblocks(c: Checker, firstCluster: number, endCluster: number, rt: { table: number[] }): boolean {
  const perBlock = 2 ** c.refblockBits;
  const state = { firstFree: 0 };
  let grown = false;
  for (let cluster = firstCluster; cluster < endCluster; cluster++) {
    if (!c.imrt[cluster]) continue;
    const index = Math.floor(cluster / perBlock);
    const start = index * perBlock;
    let offset: number;
    if (rt.table.length > index && rt.table[index]) {
      offset = rt.table[index]!;
    } else {
      if (state.firstFree < start) state.firstFree = start;
      offset = allocImrt(c, 1, state);
      const ci = offset / c.cs;
      if (ci >= endCluster) endCluster = ci + 1;
      if (rt.table.length <= index) {
        const entries = Math.ceil(((index + 1) * 8) / c.cs) * c.cs / 8;
        while (rt.table.length < entries) rt.table.push(0);
        grown = true;
      }
      rt.table[index] = offset;
    }
    const blk = new Uint8Array(c.cs);
    for (let i = 0; i < perBlock; i++) {
      const v = c.imrt[start + i] ?? 0;
      if (v) writeRefEntry(blk, i, c.s.refcountOrder, v);
    }
    c.file.write(offset, blk);
    cluster = start + perBlock - 1;
  }
  return grown;
}

/** rebuild_refcount_structure() followed by qcow2_check_refcounts()'s re-count; returns the highest cluster. */
export function rebuildRefcounts(c: Checker, highest: number): number {
  const r = c.r;
  c.msg("Rebuilding refcount structure");
  const rt = { table: [] as number[] };
  let changed = writeRefblocks(c, 0, c.imrt.length, rt);
  let reftableOffset = -1;
  let reftableClusters = 0;
  do {
    reftableClusters = Math.ceil((rt.table.length * 8) / c.cs);
    reftableOffset = allocImrt(c, reftableClusters, { firstFree: 0 });
    const startC = reftableOffset / c.cs;
    changed = writeRefblocks(c, startC, startC + reftableClusters, rt);
  } while (changed);
  const bytes = new Uint8Array(rt.table.length * 8);
  rt.table.forEach((o, i) => bytes.set(encode64(BigInt(o)), i * 8));
  c.file.write(reftableOffset, bytes);
  c.file.flush();
  const hdr = new Uint8Array(12);
  hdr.set(encode64(BigInt(reftableOffset)), 0);
  putU32(hdr, 8, reftableClusters);
  c.file.write(48, hdr);
  c.file.flush();
  c.s.reftableOffset = BigInt(reftableOffset);
  c.s.reftableClusters = reftableClusters;
  c.s.reftable = rt.table.map((o) => BigInt(o));
  c.clearBlockCache();

  const old = { corruptions: r.corruptions, leaks: r.leaks };
  r.corruptions = 0;
  r.leaks = 0;
  c.rebuild = false;
  c.imrt = new Array(c.imrt.length).fill(0);
  c.calculate(0);
  let freshLeaks = 0;
  if (c.fix & FIX_LEAKS) {
    const saved = { ...r };
    Object.assign(r, newResult(), { messages: r.messages });
    highest = c.compare(FIX_LEAKS);
    if (c.rebuild) c.msg("ERROR rebuilt refcount structure is still broken");
    freshLeaks = r.leaks;
    Object.assign(r, saved, { messages: r.messages });
  }
  if (r.corruptions < old.corruptions) r.corruptionsFixed += old.corruptions - r.corruptions;
  if (r.leaks < old.leaks) r.leaksFixed += old.leaks - r.leaks;
  r.leaks += freshLeaks;
  return highest;
}

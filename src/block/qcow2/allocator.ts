import type { Qcow2State } from "./state.js";
import { setRefEntry } from "./refcounts.js";
import { MetadataTransaction } from "./transaction.js";
import { rebuildMetadataMap } from "./metadata-scan.js";

/**
 * In-place cluster allocation for guest writes. The refcounts are written (refcount 1, unreferenced: at worst
 * a leak) before the caller writes the clusters' content and, after a barrier, the entries that reference them.
 * Returns `n` cluster indices (ascending, usually contiguous); refcount changes are written one range per block.
 */
export function allocateClusters(st: Qcow2State, n: number): number[] {
  const rc = st.refcounts;
  const out: number[] = [];
  let c = Math.max(1, st.freeHint);
  while (out.length < n) {
    if (st.meta.has(c) || rc.get(c) !== 0) {
      c++;
      continue;
    }
    const b = rc.blockIndex(c);
    if (!rc.block(b)) {
      if (b >= rc.table.length) {
        rc.writeDirty(); // the transaction below must see (and may rewrite) what is already allocated
        growRefcountTable(st, b + 1);
        continue; // the transaction may have used cluster c; look again
      }
      // No refcount block covers c yet: make c itself the block, describing itself, so it needs no other
      // block's refcount. Until the table entry is written it is just an unreferenced cluster.
      const blk = new Uint8Array(st.clusterSize);
      setRefEntry(blk, c - b * rc.entriesPerBlock, rc.order, 1);
      st.file.write(c * st.clusterSize, blk);
      barrier(st);
      rc.installBlockInPlace(b, c * st.clusterSize, blk);
      st.meta.claim(c * st.clusterSize, st.clusterSize, "refblock", `refcount block ${b}`);
      c++;
      continue;
    }
    rc.setInMemory(c, 1);
    out.push(c);
    st.freeHint = ++c;
  }
  rc.writeDirty();
  return out;
}

export function allocateCluster(st: Qcow2State): number {
  return allocateClusters(st, 1)[0]!;
}

/** An ordering point: everything written so far reaches the disk before anything written after. */
export function barrier(st: Qcow2State): void {
  if (st.sync) st.file.flush();
}

/** Drops one reference to each cluster in place (after the references themselves are gone from disk). */
export function releaseClusters(st: Qcow2State, clusters: number[]): void {
  for (const c of clusters) {
    const v = st.refcounts.get(c) - 1;
    st.refcounts.setInMemory(c, v);
    if (v === 0) {
      st.freeHint = Math.min(st.freeHint, c);
      if (st.meta.has(c)) st.meta.release(c * st.clusterSize, st.clusterSize);
    }
  }
  st.refcounts.writeDirty();
}

/** Moves the refcount table to a bigger place (a metadata transaction: new table, header switch). */
export function growRefcountTable(st: Qcow2State, entries: number): void {
  const tx = new MetadataTransaction(st);
  tx.requireTableEntries(entries);
  tx.commit();
  rebuildMetadataMap(st);
}

import { ImageError, hex } from "../errors.js";
import type { Qcow2State } from "./state.js";
import { l1Offset, l1Reserved } from "./entries.js";
import { snapshotName, type SnapshotEntry } from "./snapshot-table.js";

/** Reads a snapshot's L1 table (raw, l1Size entries). */
export function readSnapshotL1(st: Qcow2State, sn: SnapshotEntry): Uint8Array {
  return st.file.read(sn.l1Offset, sn.l1Size * 8);
}

/**
 * Registers every metadata structure in st.meta, validating as it goes: header cluster, active L1, refcount
 * table and blocks, snapshot table, snapshot L1 tables, and every L2 table any L1 points to. Overlaps, loops
 * (two structures in one cluster), unaligned or out-of-file L2 pointers throw ImageError.
 */
export function rebuildMetadataMap(st: Qcow2State): void {
  const { meta, clusterSize: cs, header: h } = st;
  meta.clear();
  meta.claim(0, cs, "header", "the image header");
  meta.claim(h.refcountTableOffset, h.refcountTableClusters * cs, "reftable", "the refcount table");
  st.refcounts.table.forEach((off, b) => {
    if (off !== 0) meta.claim(off, cs, "refblock", `refcount block ${b}`);
  });
  if (h.l1Size > 0) meta.claim(h.l1TableOffset, h.l1Size * 8, "l1", "the active L1 table");
  if (h.nbSnapshots > 0) meta.claim(h.snapshotsOffset, Math.max(1, st.snapshotTableSize), "snaptable", "the snapshot table");
  const snapL1s: [string, Uint8Array][] = [];
  for (const sn of st.snapshots) {
    const what = `the L1 table of snapshot '${snapshotName(sn)}'`;
    if (sn.l1Size > 0) meta.claim(sn.l1Offset, sn.l1Size * 8, "l1", what);
    snapL1s.push([what, readSnapshotL1(st, sn)]);
  }
  claimL2s(st, st.l1, h.l1Size, "the active L1 table");
  for (const [what, l1] of snapL1s) claimL2s(st, l1, l1.length / 8, what);
}

function claimL2s(st: Qcow2State, l1: Uint8Array, size: number, what: string): void {
  const cs = st.clusterSize;
  const fileSize = st.file.size();
  for (let i = 0; i < size; i++) {
    if (l1Reserved(l1, i) !== 0) throw new ImageError(`${what}: entry ${i} has reserved bits set`);
    const off = l1Offset(l1, i);
    if (off === 0) continue;
    if (off % cs !== 0) throw new ImageError(`${what}: entry ${i} points to unaligned L2 table offset ${hex(off)}`);
    if (off + cs > fileSize) {
      throw new ImageError(`${what}: entry ${i} points to an L2 table at ${hex(off)}, beyond the end of the file`);
    }
    st.meta.claim(off, cs, "L2", `L2 table ${hex(off)}`);
  }
}

import { ImageError } from "../errors.js";
import type { Qcow2State } from "./state.js";
import { MetadataTransaction } from "./transaction.js";
import { compressedClusterRange, decodeL2, l1Offset, setEntry, COPIED } from "./entries.js";
import {
  encodeSnapshotTable, nextSnapshotId, snapshotId, snapshotName, ICOUNT_NONE, type SnapshotEntry,
} from "./snapshot-table.js";
import { readSnapshotL1, rebuildMetadataMap } from "./metadata-scan.js";
import { MAX_L1_BYTES, MAX_SNAPSHOTS, MAX_SNAPSHOT_NAME_BYTES, MAX_SNAPSHOT_TABLE_BYTES } from "./constants.js";

/**
 * Internal snapshots, with QEMU's semantics: a snapshot is a copy of the active L1 table plus a reference on
 * every L2 table and data cluster it reaches (so later guest writes copy on write), and its VM state is stored
 * like disk content at guest offsets from qcow2_vm_state_offset() = vmStateL1Index * bytesPerL2 on.
 *
 * Each operation is one MetadataTransaction (see transaction.ts), so it is atomic on disk.
 */

export interface NewSnapshot {
  name: string;
  vmState: Uint8Array;
  icount?: bigint | null;
  vmClockNs?: bigint;
  dateSec?: number;
  dateNsec?: number;
  /** Remove existing snapshots with this name in the same transaction. */
  replace: boolean;
}

/** Adds `d` references for every L2 table an L1 table reaches and for every cluster those tables map. */
function addL1References(tx: MetadataTransaction, st: Qcow2State, l1: Uint8Array, size: number, d: number,
  where: string): void {
  const cs = st.clusterSize;
  for (let i = 0; i < size; i++) {
    const t = l1Offset(l1, i);
    if (t === 0) continue;
    tx.addRef(t / cs, d);
    const table = st.l2cache.get(t, `${where} (L1 index ${i})`);
    for (let j = 0; j < st.l2Entries; j++) {
      const e = decodeL2(table, j, st.clusterBits);
      if (e.kind === "normal" || e.kind === "zero-alloc") tx.addRef(e.offset / cs, d);
      else if (e.kind === "compressed") {
        const [a, b] = compressedClusterRange(e, cs);
        for (let c = a; c <= b; c++) tx.addRef(c, d);
      }
    }
  }
}

/**
 * Makes the new active L1 (`l1`, modified in place) consistent with the refcounts the transaction will
 * commit: every active L2 table whose COPIED flags must change is copied to a new cluster (the committed one
 * may not be touched before the header switch), and the L1 entries' flags are set from the L2 refcounts.
 */
function normalizeActive(tx: MetadataTransaction, st: Qcow2State, l1: Uint8Array, size: number): void {
  const cs = st.clusterSize;
  for (let i = 0; i < size; i++) {
    const t = l1Offset(l1, i);
    if (t === 0) continue;
    const src = st.l2cache.get(t, `active L1 index ${i}`);
    let copy: Uint8Array | null = null;
    for (let j = 0; j < st.l2Entries; j++) {
      const e = decodeL2(src, j, st.clusterBits);
      if (e.kind !== "normal" && e.kind !== "zero-alloc") continue;
      const want = tx.final(e.offset / cs) === 1;
      if (want !== e.copied) {
        copy ??= src.slice();
        copy[j * 8] = want ? copy[j * 8]! | 0x80 : copy[j * 8]! & 0x7f;
      }
    }
    if (copy) {
      const n = tx.allocate(1);
      tx.stage(n, copy);
      tx.addRef(t / cs, -1); // the data clusters move from t to the copy: their counts do not change
      setEntry(l1, i, n, 0);
    }
  }
  for (let i = 0; i < size; i++) {
    const t = l1Offset(l1, i);
    if (t !== 0) setEntry(l1, i, t, tx.final(t / cs) === 1 ? COPIED : 0);
  }
}

/** Writes the new active L1 to new clusters if it differs from the committed one. */
function commitActiveL1(tx: MetadataTransaction, st: Qcow2State, l1: Uint8Array): boolean {
  if (Buffer.compare(l1, st.l1) === 0) return false;
  const bytes = st.header.l1Size * 8;
  const off = tx.allocate(Math.ceil(bytes / st.clusterSize));
  tx.stage(off, l1);
  tx.addRefRange(st.header.l1TableOffset, bytes, -1);
  tx.header.l1TableOffset = off;
  return true;
}

function dropSnapshot(tx: MetadataTransaction, st: Qcow2State, sn: SnapshotEntry): void {
  const l1 = readSnapshotL1(st, sn);
  addL1References(tx, st, l1, sn.l1Size, -1, `snapshot '${snapshotName(sn)}'`);
  tx.addRefRange(sn.l1Offset, sn.l1Size * 8, -1);
}

function writeSnapshotTable(tx: MetadataTransaction, st: Qcow2State, list: SnapshotEntry[]): number {
  if (list.length > MAX_SNAPSHOTS) throw new ImageError(`too many snapshots (at most ${MAX_SNAPSHOTS})`);
  if (st.header.nbSnapshots > 0) tx.addRefRange(st.header.snapshotsOffset, st.snapshotTableSize, -1);
  const bytes = encodeSnapshotTable(list, st.header.size);
  if (bytes.length > MAX_SNAPSHOT_TABLE_BYTES) throw new ImageError("snapshot table would exceed 64 MiB");
  tx.header.nbSnapshots = list.length;
  if (list.length === 0) {
    tx.header.snapshotsOffset = 0;
    return 0;
  }
  const off = tx.allocate(Math.ceil(bytes.length / st.clusterSize));
  tx.stage(off, bytes);
  tx.header.snapshotsOffset = off;
  return bytes.length;
}

/** After a commit: adopt the new L1, snapshot list, and re-register metadata. */
function adopt(st: Qcow2State, l1: Uint8Array, list: SnapshotEntry[], tableSize: number): void {
  st.l1 = l1;
  st.snapshots = list;
  st.snapshotTableSize = tableSize;
  rebuildMetadataMap(st);
}

export function validateSnapshotName(name: string): Uint8Array {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0) throw new ImageError("snapshot name must not be empty");
  if (bytes.length > MAX_SNAPSHOT_NAME_BYTES) {
    throw new ImageError(`snapshot name is too long (${bytes.length} bytes, at most ${MAX_SNAPSHOT_NAME_BYTES})`);
  }
  return new Uint8Array(bytes);
}

export function createSnapshot(st: Qcow2State, req: NewSnapshot): SnapshotEntry {
  const nameBytes = validateSnapshotName(req.name);
  const cs = st.clusterSize;
  const tx = new MetadataTransaction(st);
  const kept = req.replace ? st.snapshots.filter((s) => snapshotName(s) !== req.name) : st.snapshots.slice();
  if (req.replace) for (const s of st.snapshots) if (snapshotName(s) === req.name) dropSnapshot(tx, st, s);

  // The snapshot's L1: the guest-disk part of the active L1 (flags dropped; they only matter when active)...
  const vmIndex = st.vmStateL1Index;
  const vmClusters = Math.ceil(req.vmState.length / cs);
  const vmL2s = Math.ceil(vmClusters / st.l2Entries);
  const snapL1Size = vmIndex + vmL2s;
  if (snapL1Size * 8 > MAX_L1_BYTES) throw new ImageError("VM state too large for this cluster size");
  const snapL1 = new Uint8Array(snapL1Size * 8);
  const copyEntries = Math.min(vmIndex, st.header.l1Size);
  for (let i = 0; i < copyEntries; i++) {
    const t = l1Offset(st.l1, i);
    if (t !== 0) setEntry(snapL1, i, t, 0);
  }
  addL1References(tx, st, snapL1, copyEntries, +1, "active L1 table");

  // ...plus the VM state, written to fresh clusters that only the snapshot references.
  for (let k = 0; k < vmL2s; k++) {
    const l2 = new Uint8Array(cs);
    const l2Off = tx.allocate(1);
    for (let j = 0; j < st.l2Entries; j++) {
      const idx = k * st.l2Entries + j;
      if (idx >= vmClusters) break;
      const start = idx * cs;
      let chunk = req.vmState.subarray(start, Math.min(start + cs, req.vmState.length));
      if (chunk.length < cs) {
        const padded = new Uint8Array(cs);
        padded.set(chunk);
        chunk = padded;
      }
      const d = tx.allocate(1);
      tx.stage(d, chunk);
      setEntry(l2, j, d, COPIED);
    }
    tx.stage(l2Off, l2);
    setEntry(snapL1, vmIndex + k, l2Off, 0);
  }
  const snapL1Off = snapL1Size > 0 ? tx.allocate(Math.ceil((snapL1Size * 8) / cs)) : 0;
  if (snapL1Size > 0) tx.stage(snapL1Off, snapL1);

  const now = Date.now();
  const entry: SnapshotEntry = {
    l1Offset: snapL1Off,
    l1Size: snapL1Size,
    idBytes: new Uint8Array(Buffer.from(nextSnapshotId(kept))),
    nameBytes,
    dateSec: req.dateSec ?? Math.floor(now / 1000),
    dateNsec: req.dateNsec ?? (now % 1000) * 1_000_000,
    vmClockNs: req.vmClockNs ?? 0n,
    vmStateSize: BigInt(req.vmState.length),
    diskSize: BigInt(st.header.size),
    icount: req.icount === undefined || req.icount === null ? ICOUNT_NONE : req.icount,
    extraData: new Uint8Array(0),
  };
  const list = [...kept, entry];
  const tableSize = writeSnapshotTable(tx, st, list);
  const l1 = st.l1.slice();
  normalizeActive(tx, st, l1, st.header.l1Size);
  commitActiveL1(tx, st, l1);
  tx.commit();
  adopt(st, l1, list, tableSize);
  return entry;
}

export function deleteSnapshot(st: Qcow2State, sn: SnapshotEntry): void {
  const tx = new MetadataTransaction(st);
  dropSnapshot(tx, st, sn);
  const list = st.snapshots.filter((s) => s !== sn);
  const tableSize = writeSnapshotTable(tx, st, list);
  const l1 = st.l1.slice();
  normalizeActive(tx, st, l1, st.header.l1Size);
  commitActiveL1(tx, st, l1);
  tx.commit();
  adopt(st, l1, list, tableSize);
}

/** Makes the snapshot's disk content the active disk (`qemu-img snapshot -a`). */
export function gotoSnapshot(st: Qcow2State, sn: SnapshotEntry): void {
  if (sn.diskSize !== null && sn.diskSize !== BigInt(st.header.size)) {
    throw new ImageError(`snapshot '${snapshotName(sn)}' has a different disk size (${sn.diskSize} bytes); loading it is not supported`);
  }
  const tx = new MetadataTransaction(st);
  const size = st.header.l1Size;
  addL1References(tx, st, st.l1, size, -1, "active L1 table");
  const snapL1 = readSnapshotL1(st, sn);
  const l1 = new Uint8Array(size * 8);
  // Only the guest-disk part: the VM state stays with the snapshot (it is read from there).
  const n = Math.min(size, sn.l1Size, st.vmStateL1Index);
  for (let i = 0; i < n; i++) {
    const t = l1Offset(snapL1, i);
    if (t !== 0) setEntry(l1, i, t, 0);
  }
  addL1References(tx, st, l1, size, +1, `snapshot '${snapshotName(sn)}'`);
  normalizeActive(tx, st, l1, size);
  commitActiveL1(tx, st, l1);
  tx.commit();
  adopt(st, l1, st.snapshots, st.snapshotTableSize);
}

/** Finds a snapshot the way qemu-img does for -a/-d: by ID first, then by name. */
export function findByIdOrName(st: Qcow2State, idOrName: string): SnapshotEntry | undefined {
  return st.snapshots.find((s) => snapshotId(s) === idOrName) ??
    st.snapshots.find((s) => snapshotName(s) === idOrName);
}

export function findByName(st: Qcow2State, name: string): SnapshotEntry | undefined {
  return st.snapshots.find((s) => snapshotName(s) === name);
}

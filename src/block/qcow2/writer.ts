import { ImageError, hex } from "../errors.js";
import type { Qcow2State } from "./state.js";
import { compressedClusterRange, decodeL2, encodeEntry, l1Copied, l1Offset, l1Reserved, type L2Entry } from "./entries.js";
import { allocateCluster, allocateClusters, barrier, releaseClusters } from "./allocator.js";
import { readWholeCluster, validateEntry } from "./mapping.js";

/**
 * Guest writes, done in place with QEMU's ordering rules so a crash can only leak clusters:
 *   - a new cluster gets its refcount first, then its content, then (after a barrier) the entry pointing to it;
 *   - a cluster that loses a reference is only decremented after (a barrier and) the entry update.
 * Shared clusters (refcount > 1, i.e. also in a snapshot) are copied on write, L2 tables included.
 * One guest request costs at most two barriers however many clusters it allocates.
 */
export function writeGuest(st: Qcow2State, pos: number, data: Uint8Array): void {
  const cs = st.clusterSize;
  interface Piece { guestPos: number; inCluster: number; chunk: Uint8Array; l2: number; l2Index: number }
  const pieces: Piece[] = [];
  const l2ByL1 = new Map<number, number>();
  for (let done = 0; done < data.length;) {
    const p = pos + done;
    const inCluster = p % cs;
    const n = Math.min(data.length - done, cs - inCluster);
    const l1Index = Math.floor(p / st.bytesPerL2);
    let l2 = l2ByL1.get(l1Index);
    if (l2 === undefined) {
      l2 = ensureWritableL2(st, l1Index);
      l2ByL1.set(l1Index, l2);
    }
    pieces.push({ guestPos: p, inCluster, chunk: data.subarray(done, done + n), l2,
      l2Index: Math.floor((p % st.bytesPerL2) / cs) });
    done += n;
  }

  // Overwrite clusters we own in place; collect the ones that need a new cluster with their full content.
  const fresh: { piece: Piece; old: L2Entry; full: Uint8Array }[] = [];
  for (const piece of pieces) {
    const table = st.l2cache.get(piece.l2, "write");
    const old = decodeL2(table, piece.l2Index, st.clusterBits);
    validateEntry(st, old, "write", piece.l2, piece.l2Index);
    if (old.kind === "normal" && st.refcounts.get(old.offset / cs) === 1) {
      assertDataCluster(st, old.offset);
      st.file.write(old.offset + piece.inCluster, piece.chunk);
      if (!old.copied) setL2Entry(st, piece.l2, piece.l2Index, old.offset);
      continue;
    }
    let full = piece.chunk;
    if (full.length !== cs) {
      full = readWholeCluster(st, st.l1, st.header.l1Size, piece.guestPos, st.backing);
      full.set(piece.chunk, piece.inCluster);
    }
    fresh.push({ piece, old, full });
  }
  if (fresh.length === 0) return;

  const clusters = allocateClusters(st, fresh.length);
  writeRuns(st, clusters, fresh.map((f) => f.full));
  barrier(st);
  fresh.forEach((f, i) => setL2Entry(st, f.piece.l2, f.piece.l2Index, clusters[i]! * cs));
  const released = fresh.flatMap((f) => hostClusters(f.old, cs));
  if (released.length) {
    barrier(st);
    releaseClusters(st, released);
  }
}

/** Writes cluster contents, one write per run of consecutive clusters. */
function writeRuns(st: Qcow2State, clusters: number[], contents: Uint8Array[]): void {
  const cs = st.clusterSize;
  for (let i = 0; i < clusters.length;) {
    let j = i + 1;
    while (j < clusters.length && clusters[j] === clusters[j - 1]! + 1) j++;
    if (j === i + 1) st.file.write(clusters[i]! * cs, contents[i]!);
    else {
      const buf = new Uint8Array((j - i) * cs);
      for (let k = i; k < j; k++) buf.set(contents[k]!, (k - i) * cs);
      st.file.write(clusters[i]! * cs, buf);
    }
    i = j;
  }
}

function hostClusters(e: L2Entry, cs: number): number[] {
  if (e.kind === "normal" || e.kind === "zero-alloc") return [e.offset / cs];
  if (e.kind !== "compressed") return [];
  const [a, b] = compressedClusterRange(e, cs);
  const out: number[] = [];
  for (let c = a; c <= b; c++) out.push(c);
  return out;
}

function assertDataCluster(st: Qcow2State, offset: number): void {
  const owner = st.meta.ownerOf(offset / st.clusterSize);
  if (owner !== undefined) {
    throw new ImageError(`refusing to write guest data at ${hex(offset)}: that cluster holds ${owner} (the image is corrupt)`);
  }
}

function setL2Entry(st: Qcow2State, l2Offset: number, index: number, dataOffset: number): void {
  const e = encodeEntry(dataOffset, true);
  st.file.write(l2Offset + index * 8, e);
  st.l2cache.patch(l2Offset, index, e);
}

function writeL1Entry(st: Qcow2State, index: number, l2Offset: number): void {
  const e = encodeEntry(l2Offset, true);
  st.file.write(st.header.l1TableOffset + index * 8, e);
  st.l1.set(e, index * 8);
}

/** Returns the offset of an L2 table for L1 index `i` that only the active image uses (refcount 1). */
function ensureWritableL2(st: Qcow2State, i: number): number {
  const cs = st.clusterSize;
  if (i >= st.header.l1Size) throw new Error(`internal: L1 index ${i} out of range`);
  if (l1Reserved(st.l1, i) !== 0) throw new ImageError(`active L1 entry ${i} has reserved bits set`);
  const off = l1Offset(st.l1, i);
  if (off === 0) {
    const c = allocateCluster(st);
    const table = new Uint8Array(cs);
    st.file.write(c * cs, table);
    st.meta.claim(c * cs, cs, "L2", `L2 table ${hex(c * cs)}`);
    st.l2cache.put(c * cs, table);
    barrier(st);
    writeL1Entry(st, i, c * cs);
    return c * cs;
  }
  const src = st.l2cache.get(off, `active L1 index ${i}`); // validates the pointer
  const rc = st.refcounts.get(off / cs);
  if (rc === 1) {
    if (!l1Copied(st.l1, i)) writeL1Entry(st, i, off);
    return off;
  }
  if (rc === 0) throw new ImageError(`L2 table at ${hex(off)} is in use but has refcount 0: the image is corrupt`);
  // Shared with a snapshot: copy it. Its data clusters stay shared (the snapshot's table still counts them),
  // so their COPIED flags are recomputed from their refcounts.
  const table = src.slice();
  for (let j = 0; j < st.l2Entries; j++) {
    const e = decodeL2(table, j, st.clusterBits);
    if (e.kind === "normal" || e.kind === "zero-alloc") {
      const copied = st.refcounts.get(e.offset / cs) === 1;
      if (copied !== e.copied) table[j * 8] = copied ? table[j * 8]! | 0x80 : table[j * 8]! & 0x7f;
    }
  }
  const c = allocateCluster(st);
  st.file.write(c * cs, table);
  st.meta.claim(c * cs, cs, "L2", `L2 table ${hex(c * cs)}`);
  st.l2cache.put(c * cs, table);
  barrier(st);
  writeL1Entry(st, i, c * cs);
  barrier(st);
  releaseClusters(st, [off / cs]);
  return c * cs;
}

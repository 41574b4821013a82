import { ImageError, hex } from "../errors.js";
import type { Qcow2State } from "./state.js";
import { decodeL2, l1Offset, l1Reserved, type L2Entry } from "./entries.js";
import { readCompressedCluster } from "./compressed.js";
import type { BlockDevice } from "../block-device.js";

/** Where one guest cluster lives: its L1/L2 position and decoded L2 entry. */
export interface ClusterMapping {
  l1Index: number;
  l2Index: number;
  /** Host offset of the L2 table, 0 when the L1 entry is empty. */
  l2Offset: number;
  entry: L2Entry | null;
}

/** Looks up guest byte `pos` through an L1 table (`l1` raw, `l1Size` entries). */
export function lookup(st: Qcow2State, l1: Uint8Array, l1Size: number, pos: number, where: string): ClusterMapping {
  const l1Index = Math.floor(pos / st.bytesPerL2);
  const l2Index = Math.floor((pos % st.bytesPerL2) / st.clusterSize);
  if (l1Index >= l1Size) return { l1Index, l2Index, l2Offset: 0, entry: null };
  if (l1Reserved(l1, l1Index) !== 0) {
    throw new ImageError(`${where}: L1 entry ${l1Index} has reserved bits set`);
  }
  const l2Offset = l1Offset(l1, l1Index);
  if (l2Offset === 0) return { l1Index, l2Index, l2Offset, entry: null };
  const table = st.l2cache.get(l2Offset, `${where} (L1 index ${l1Index})`);
  const entry = decodeL2(table, l2Index, st.clusterBits);
  validateEntry(st, entry, where, l2Offset, l2Index);
  return { l1Index, l2Index, l2Offset, entry };
}

export function validateEntry(st: Qcow2State, e: L2Entry, where: string, l2Offset: number, l2Index: number): void {
  const at = `${where}: L2 table ${hex(l2Offset)} entry ${l2Index}`;
  if (e.reserved !== 0) throw new ImageError(`${at} has reserved bits set`);
  if ((e.kind === "zero-plain" || e.kind === "zero-alloc") && st.header.version < 3) {
    throw new ImageError(`${at} is a zero cluster, which version 2 images cannot have`);
  }
  if (e.kind === "compressed" && e.copied) throw new ImageError(`${at}: compressed cluster with the COPIED flag`);
  if (e.kind === "normal" || e.kind === "zero-alloc") {
    if (e.offset % st.clusterSize !== 0) throw new ImageError(`${at} points to unaligned offset ${hex(e.offset)}`);
    if (!(e.offset < st.file.size())) {
      throw new ImageError(`${at} points to ${hex(e.offset)}, beyond the end of the file`);
    }
    const owner = st.meta.ownerOf(e.offset / st.clusterSize);
    if (owner !== undefined) throw new ImageError(`${at} points into ${owner} at ${hex(e.offset)}`);
  }
}

/**
 * Reads guest bytes [pos, pos+length) through an L1 table into `out` at `outAt`. Used for the active disk and
 * for a snapshot's VM state area. Unallocated clusters read from `backing` when given (zeros past its end),
 * as zeros otherwise; zero clusters always read as zeros (they hide the backing data, as in QEMU).
 */
export function readThrough(st: Qcow2State, l1: Uint8Array, l1Size: number, pos: number, length: number,
  out: Uint8Array, outAt: number, where: string, backing: BlockDevice | null = null): void {
  let done = 0;
  while (done < length) {
    const p = pos + done;
    const inCluster = p % st.clusterSize;
    const n = Math.min(length - done, st.clusterSize - inCluster);
    const m = lookup(st, l1, l1Size, p, where);
    const e = m.entry;
    if (e && e.kind === "normal") {
      out.set(st.file.read(e.offset + inCluster, n), outAt + done);
    } else if (e && e.kind === "compressed") {
      const data = readCompressedCluster(st.file, e, st.clusterSize);
      out.set(data.subarray(inCluster, inCluster + n), outAt + done);
    } else if (backing && (!e || e.kind === "unallocated") && p < backing.size) {
      const inBacking = Math.min(n, backing.size - p);
      out.set(backing.read(p, inBacking), outAt + done);
      out.fill(0, outAt + done + inBacking, outAt + done + n);
    } else {
      out.fill(0, outAt + done, outAt + done + n);
    }
    done += n;
  }
}

/** The full current content of the guest cluster containing `pos` (backing data or zeros when unallocated). */
export function readWholeCluster(st: Qcow2State, l1: Uint8Array, l1Size: number, pos: number,
  backing: BlockDevice | null = null): Uint8Array {
  const start = pos - (pos % st.clusterSize);
  const out = new Uint8Array(st.clusterSize);
  readThrough(st, l1, l1Size, start, st.clusterSize, out, 0, "read", backing);
  return out;
}

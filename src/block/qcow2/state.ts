import type { ImageFile } from "../file-io.js";
import type { Qcow2Header } from "./header.js";
import type { Refcounts } from "./refcounts.js";
import type { SnapshotEntry } from "./snapshot-table.js";
import type { MetadataMap } from "./metadata-map.js";
import type { L2Cache } from "./l2-cache.js";
import type { BlockDevice } from "../block-device.js";

/** Everything an open qcow2 image keeps in memory; the modules of this directory operate on it. */
export interface Qcow2State {
  file: ImageFile;
  readOnly: boolean;
  header: Qcow2Header;
  clusterBits: number;
  clusterSize: number;
  /** Entries per L2 table. */
  l2Entries: number;
  /** Guest bytes one L2 table maps. */
  bytesPerL2: number;
  /** First L1 index past the guest disk: where QEMU keeps VM state (qcow2_vm_state_offset). */
  vmStateL1Index: number;
  /** The active L1 table, raw big-endian (header.l1Size entries). */
  l1: Uint8Array;
  refcounts: Refcounts;
  snapshots: SnapshotEntry[];
  snapshotTableSize: number;
  meta: MetadataMap;
  l2cache: L2Cache;
  /** Lowest cluster index that might be free (allocation scans from here). */
  freeHint: number;
  /**
   * Whether ordering barriers call fdatasync. Without it the write order still protects against a killed
   * process, but not against power loss (like QEMU's cache=unsafe).
   */
  sync: boolean;
  /**
   * The backing image (opened read-only), or null. Guest reads of unallocated clusters fall through to it;
   * partial writes to such clusters copy the rest of the cluster from it. VM state never reads from it.
   */
  backing: BlockDevice | null;
}

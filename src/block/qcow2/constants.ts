/** On-disk constants of the qcow2 format (docs/interop/qcow2.txt) and QEMU's implementation limits. */

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** QEMU 7.2 writes v3 headers with the compression_type field and padding: 112 bytes. */
export const V3_HEADER_LENGTH = 112;

export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;

/** QEMU's limits: 32 MiB of L1 table, 8 MiB of refcount table, 64 MiB of snapshot table, 65536 snapshots. */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
export const MAX_SNAPSHOT_TABLE_BYTES = 64 * 1024 * 1024;
export const MAX_SNAPSHOTS = 65536;
export const MAX_SNAPSHOT_EXTRA_DATA = 1024;
export const MAX_SNAPSHOT_NAME_BYTES = 255;

/** Incompatible feature bits. */
export const INCOMPAT_DIRTY = 0;
export const INCOMPAT_CORRUPT = 1;
export const INCOMPAT_DATA_FILE = 2;
export const INCOMPAT_COMPRESSION = 3;
export const INCOMPAT_EXTL2 = 4;

/** Header extension types. */
export const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

/** Byte offsets of header fields that Rewind rewrites. */
export const HDR_L1_SIZE = 36;
export const HDR_L1_OFFSET = 40;
export const HDR_REFTABLE_OFFSET = 48;
export const HDR_REFTABLE_CLUSTERS = 56;
export const HDR_NB_SNAPSHOTS = 60;
export const HDR_SNAPSHOTS_OFFSET = 64;
export const HDR_AUTOCLEAR = 88;

/** The feature name table QEMU 7.2 writes into new v3 images. */
export const FEATURE_NAMES: ReadonlyArray<[type: number, bit: number, name: string]> = [
  [0, 0, "dirty bit"],
  [0, 1, "corrupt bit"],
  [0, 2, "external data file"],
  [0, 3, "compression type"],
  [0, 4, "extended L2 entries"],
  [1, 0, "lazy refcounts"],
  [2, 0, "bitmaps"],
  [2, 1, "raw external data"],
];

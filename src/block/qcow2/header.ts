import { ImageError, hex } from "../errors.js";
import { u32, u64, putU32, putU64 } from "../be.js";
import {
  QCOW2_MAGIC, V2_HEADER_LENGTH, V3_MIN_HEADER_LENGTH, MIN_CLUSTER_BITS, MAX_CLUSTER_BITS, MAX_L1_BYTES,
  MAX_REFTABLE_BYTES, MAX_SNAPSHOTS, INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_COMPRESSION,
  INCOMPAT_EXTL2, EXT_END, EXT_FEATURE_TABLE, EXT_BACKING_FORMAT, EXT_BITMAPS, EXT_CRYPTO, EXT_DATA_FILE, HDR_L1_SIZE, HDR_L1_OFFSET,
  HDR_REFTABLE_OFFSET, HDR_REFTABLE_CLUSTERS, HDR_NB_SNAPSHOTS, HDR_SNAPSHOTS_OFFSET,
} from "./constants.js";

export interface HeaderExtension {
  type: number;
  data: Uint8Array;
}

/** The parsed qcow2 header. Feature bitmasks are kept as two 32-bit halves (bits 0-31 in `lo`). */
export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: { hi: number; lo: number };
  compatible: { hi: number; lo: number };
  autoclear: { hi: number; lo: number };
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  extensions: HeaderExtension[];
  /** Backing file name as stored in the image (relative names are relative to the image's directory). */
  backingFile: string | null;
  /** Backing format from the backing format header extension ("qcow2", "raw"), or null when absent. */
  backingFormat: string | null;
  /** Names from the feature name table extension, keyed "type:bit". */
  featureNames: Map<string, string>;
  /** The whole first cluster as read, so unknown fields and extensions survive header rewrites. */
  raw: Uint8Array;
}

export function hasBit(mask: { hi: number; lo: number }, bit: number): boolean {
  return bit < 32 ? ((mask.lo >>> bit) & 1) === 1 : ((mask.hi >>> (bit - 32)) & 1) === 1;
}

function readMask(b: Uint8Array, at: number): { hi: number; lo: number } {
  return { hi: u32(b, at), lo: u32(b, at + 4) };
}

/**
 * Parses and validates the header in `first` (the first cluster of the file, or as much as exists) against a
 * file of `fileSize` bytes. Every rejection names the field and the problem.
 */
export function parseHeader(first: Uint8Array, fileSize: number): Qcow2Header {
  if (fileSize < V2_HEADER_LENGTH) {
    throw new ImageError(`image is truncated: ${fileSize} bytes is smaller than a qcow2 header (72 bytes)`);
  }
  if (u32(first, 0) !== QCOW2_MAGIC) throw new ImageError("not a qcow2 image (bad magic)");
  const version = u32(first, 4);
  if (version !== 2 && version !== 3) throw new ImageError(`unsupported qcow2 version ${version}`);
  const clusterBits = u32(first, 20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new ImageError(`unsupported cluster size: 2^${clusterBits} (must be 512 bytes to 2 MiB)`);
  }
  const clusterSize = 2 ** clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(first, 8),
    backingFileSize: u32(first, 16),
    clusterBits,
    size: u64(first, 24),
    cryptMethod: u32(first, 32),
    l1Size: u32(first, 36),
    l1TableOffset: u64(first, 40),
    refcountTableOffset: u64(first, 48),
    refcountTableClusters: u32(first, 56),
    nbSnapshots: u32(first, 60),
    snapshotsOffset: u64(first, 64),
    incompatible: { hi: 0, lo: 0 },
    compatible: { hi: 0, lo: 0 },
    autoclear: { hi: 0, lo: 0 },
    refcountOrder: 4,
    headerLength: V2_HEADER_LENGTH,
    compressionType: 0,
    extensions: [],
    backingFile: null,
    backingFormat: null,
    featureNames: new Map(),
    raw: first.slice(0, Math.min(first.length, clusterSize)),
  };
  if (version === 3) {
    if (fileSize < V3_MIN_HEADER_LENGTH) {
      throw new ImageError(`image is truncated: ${fileSize} bytes is smaller than a qcow2 v3 header (104 bytes)`);
    }
    h.incompatible = readMask(first, 72);
    h.compatible = readMask(first, 80);
    h.autoclear = readMask(first, 88);
    h.refcountOrder = u32(first, 96);
    h.headerLength = u32(first, 100);
    if (h.headerLength < V3_MIN_HEADER_LENGTH || h.headerLength % 8 !== 0 || h.headerLength > clusterSize) {
      throw new ImageError(`invalid header_length ${h.headerLength}`);
    }
    if (h.headerLength > fileSize) throw new ImageError("image is truncated inside the header");
    if (h.headerLength > 104) h.compressionType = first[104]!;
  }
  if (h.refcountOrder > 6) throw new ImageError(`invalid refcount_order ${h.refcountOrder} (at most 6)`);
  if (!Number.isFinite(h.size)) throw new ImageError("virtual disk size is too large");
  if (h.cryptMethod !== 0) throw new ImageError("encrypted qcow2 images are not supported");
  if (h.backingFileOffset !== 0) {
    // QEMU's limits: the name lies in the first cluster and is at most 1023 bytes.
    if (h.backingFileOffset > clusterSize) throw new ImageError("Invalid backing file offset");
    if (h.backingFileSize > Math.min(1023, clusterSize - h.backingFileOffset)) {
      throw new ImageError("Backing file name too long");
    }
    if (h.backingFileOffset + h.backingFileSize > Math.min(fileSize, first.length)) {
      throw new ImageError("image is truncated inside the backing file name");
    }
    h.backingFile = Buffer.from(first.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize))
      .toString("utf8");
  }

  h.extensions = parseExtensions(h, first, clusterSize, fileSize);
  checkFeatures(h);
  checkTables(h, clusterSize, fileSize);
  return h;
}

function parseExtensions(h: Qcow2Header, first: Uint8Array, clusterSize: number, fileSize: number) {
  const exts: HeaderExtension[] = [];
  // Extensions follow the header (72 bytes in v2, header_length in v3) up to the end of the first cluster.
  let at = h.headerLength;
  // QEMU stops at the backing file name, which follows the end marker.
  let limit = Math.min(clusterSize, fileSize, first.length);
  if (h.backingFileOffset !== 0) limit = Math.min(limit, h.backingFileOffset);
  while (at + 8 <= limit) {
    const type = u32(first, at);
    const len = u32(first, at + 4);
    if (type === EXT_END) break;
    if (at + 8 + len > clusterSize) {
      throw new ImageError(`header extension ${hex(type)} at ${hex(at)} runs past the first cluster`);
    }
    if (at + 8 + len > limit) throw new ImageError(`image is truncated inside header extension ${hex(type)}`);
    const data = first.slice(at + 8, at + 8 + len);
    exts.push({ type, data });
    if (type === EXT_BACKING_FORMAT) {
      const end = data.indexOf(0);
      h.backingFormat = Buffer.from(end < 0 ? data : data.subarray(0, end)).toString("latin1");
    }
    if (type === EXT_FEATURE_TABLE) {
      for (let i = 0; i + 48 <= len; i += 48) {
        const nameBytes = data.subarray(i + 2, i + 48);
        const end = nameBytes.indexOf(0);
        const name = Buffer.from(end < 0 ? nameBytes : nameBytes.subarray(0, end)).toString("latin1");
        h.featureNames.set(`${data[i]}:${data[i + 1]}`, name);
      }
    }
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return exts;
}

function checkFeatures(h: Qcow2Header): void {
  const known = [INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_COMPRESSION, INCOMPAT_EXTL2];
  const unknown: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (hasBit(h.incompatible, bit) && !known.includes(bit)) {
      unknown.push(h.featureNames.get(`0:${bit}`) ?? `Unknown incompatible feature: ${bit}`);
    }
  }
  if (unknown.length) throw new ImageError(`Unsupported qcow2 feature(s): ${unknown.join(", ")}`);
  if (hasBit(h.incompatible, INCOMPAT_DATA_FILE) || h.extensions.some((e) => e.type === EXT_DATA_FILE)) {
    throw new ImageError("qcow2 images with an external data file are not supported");
  }
  if (hasBit(h.incompatible, INCOMPAT_EXTL2)) throw new ImageError("qcow2 extended L2 entries are not supported");
  if (hasBit(h.incompatible, INCOMPAT_COMPRESSION)) {
    throw new ImageError(`unsupported compression type ${h.compressionType} (only zlib is supported)`);
  }
  if (h.compressionType !== 0) throw new ImageError(`invalid compression type ${h.compressionType}`);
  if (h.extensions.some((e) => e.type === EXT_CRYPTO)) {
    throw new ImageError("encrypted qcow2 images are not supported");
  }
}

function checkTables(h: Qcow2Header, clusterSize: number, fileSize: number): void {
  if (h.refcountTableClusters === 0) throw new ImageError("image does not contain a reference count table");
  if (h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) {
    throw new ImageError(`refcount table too large (${h.refcountTableClusters} clusters)`);
  }
  checkTableRange("refcount table", h.refcountTableOffset, h.refcountTableClusters * clusterSize, clusterSize,
    fileSize);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw new ImageError(`active L1 table too large (${h.l1Size} entries)`);
  const bytesPerL2 = clusterSize * (clusterSize / 8);
  const needed = Math.ceil(h.size / bytesPerL2);
  if (h.l1Size < needed) {
    throw new ImageError(`L1 table is too small: ${h.l1Size} entries for a ${h.size}-byte disk (needs ${needed})`);
  }
  if (h.l1Size > 0) checkTableRange("L1 table", h.l1TableOffset, h.l1Size * 8, clusterSize, fileSize);
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw new ImageError(`too many snapshots (${h.nbSnapshots})`);
  if (h.nbSnapshots > 0) {
    if (h.snapshotsOffset % clusterSize !== 0) {
      throw new ImageError(`snapshot table offset ${hex(h.snapshotsOffset)} is not cluster aligned`);
    }
    if (!(h.snapshotsOffset < fileSize)) {
      throw new ImageError(`snapshot table offset ${hex(h.snapshotsOffset)} is beyond the end of the file`);
    }
  }
}

/** Tables that must be cluster aligned and lie entirely inside the file. */
export function checkTableRange(what: string, offset: number, bytes: number, clusterSize: number,
  fileSize: number): void {
  if (!Number.isFinite(offset) || offset % clusterSize !== 0) {
    throw new ImageError(`${what} offset ${hexOrBig(offset)} is not cluster aligned`);
  }
  if (offset === 0) throw new ImageError(`${what} overlaps the image header (offset 0)`);
  if (offset + bytes > fileSize) {
    throw new ImageError(`${what} at ${hex(offset)} (${bytes} bytes) extends beyond the end of the file`);
  }
}

function hexOrBig(n: number): string {
  return Number.isFinite(n) ? hex(n) : "(>= 2^53)";
}

/** The bytes [36, 72) of the header: the fields a metadata commit switches in one write. */
export function encodeTablePointers(h: Qcow2Header): Uint8Array {
  const b = new Uint8Array(72);
  b.set(h.raw.subarray(0, 72));
  putU32(b, HDR_L1_SIZE, h.l1Size);
  putU64(b, HDR_L1_OFFSET, h.l1TableOffset);
  putU64(b, HDR_REFTABLE_OFFSET, h.refcountTableOffset);
  putU32(b, HDR_REFTABLE_CLUSTERS, h.refcountTableClusters);
  putU32(b, HDR_NB_SNAPSHOTS, h.nbSnapshots);
  putU64(b, HDR_SNAPSHOTS_OFFSET, h.snapshotsOffset);
  return b.subarray(HDR_L1_SIZE, 72);
}

export function isBitmapsExtensionPresent(h: Qcow2Header): boolean {
  return h.extensions.some((e) => e.type === EXT_BITMAPS);
}

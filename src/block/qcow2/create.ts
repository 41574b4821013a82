import { ImageError } from "../errors.js";
import type { ImageFile } from "../file-io.js";
import { putU32, putU64 } from "../be.js";
import { setRefEntry } from "./refcounts.js";
import {
  QCOW2_MAGIC, V2_HEADER_LENGTH, V3_HEADER_LENGTH, EXT_FEATURE_TABLE, EXT_BACKING_FORMAT, FEATURE_NAMES, MAX_L1_BYTES,
  MAX_REFTABLE_BYTES,
} from "./constants.js";

export interface Qcow2CreateOptions {
  /** Virtual disk size in bytes (a multiple of 512). */
  size: number;
  /** Power of two from 512 to 2 MiB; default 64 KiB. */
  clusterSize?: number;
  /** 3 (compat=1.1, default) or 2 (compat=0.10). */
  version?: 2 | 3;
  /** Refcount width in bits: 1..64, power of two; default 16. Version 2 requires 16. */
  refcountBits?: number;
  /** Backing file name, stored as given (a relative name is relative to the new image's directory). */
  backingFile?: string;
  /** Backing format, stored in the backing format header extension ("qcow2" or "raw"). */
  backingFormat?: string;
}

type ValidCreateOptions = Required<Omit<Qcow2CreateOptions, "backingFile" | "backingFormat">> &
  Pick<Qcow2CreateOptions, "backingFile" | "backingFormat">;

export function validateCreateOptions(o: Qcow2CreateOptions): ValidCreateOptions {
  const clusterSize = o.clusterSize ?? 65536;
  const version = o.version ?? 3;
  const refcountBits = o.refcountBits ?? 16;
  if (!Number.isSafeInteger(o.size) || o.size < 0) throw new ImageError(`invalid image size ${o.size}`);
  if (o.size % 512 !== 0) throw new ImageError("Image size must be a multiple of 512 bytes");
  if (!Number.isInteger(clusterSize) || clusterSize < 512 || clusterSize > 2 * 1024 * 1024 ||
    (clusterSize & (clusterSize - 1)) !== 0) {
    throw new ImageError("Cluster size must be a power of two between 512 and 2048k");
  }
  if (![1, 2, 4, 8, 16, 32, 64].includes(refcountBits)) {
    throw new ImageError("Refcount width must be a power of two and may not exceed 64 bits");
  }
  if (version === 2 && refcountBits !== 16) {
    throw new ImageError("Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)");
  }
  const bytesPerL2 = clusterSize * (clusterSize / 8);
  if (Math.ceil(o.size / bytesPerL2) * 8 > MAX_L1_BYTES) {
    throw new ImageError("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
  }
  if (o.backingFile !== undefined) {
    const n = Buffer.byteLength(o.backingFile, "utf8");
    if (n === 0) throw new ImageError("backing file name is empty");
    if (n > 1023) throw new ImageError("Backing file name too long");
  }
  if (o.backingFormat !== undefined && o.backingFile === undefined) {
    throw new ImageError("a backing format needs a backing file");
  }
  return { size: o.size, clusterSize, version, refcountBits, backingFile: o.backingFile,
    backingFormat: o.backingFormat };
}

/**
 * Writes a new empty image with QEMU 7.2's layout: header cluster, refcount table, refcount block(s), then the
 * L1 table (the file ends where the L1 table ends, as with qemu-img). The header goes last.
 */
export function createQcow2(file: ImageFile, options: Qcow2CreateOptions): void {
  const o = validateCreateOptions(options);
  const cs = o.clusterSize;
  const cb = Math.log2(cs);
  const order = Math.log2(o.refcountBits);
  const entriesPerBlock = (cs * 8) / o.refcountBits;
  const l1Size = Math.ceil(o.size / (cs * (cs / 8)));
  const l1Clusters = Math.ceil((l1Size * 8) / cs);

  // Solve for the number of refcount blocks and table clusters that cover everything including themselves.
  let blocks = 1;
  let tableClusters = 1;
  for (;;) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const needBlocks = Math.ceil(total / entriesPerBlock);
    const needTable = Math.ceil((needBlocks * 8) / cs);
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = Math.max(blocks, needBlocks);
    tableClusters = Math.max(tableClusters, needTable);
  }
  if (tableClusters * cs > MAX_REFTABLE_BYTES) throw new ImageError("image too large for its cluster size");
  const tableOffset = cs;
  const blocksOffset = tableOffset + tableClusters * cs;
  const l1Offset = blocksOffset + blocks * cs;
  const used = 1 + tableClusters + blocks + l1Clusters;

  const table = new Uint8Array(tableClusters * cs);
  const blockData = new Uint8Array(blocks * cs);
  for (let b = 0; b < blocks; b++) putU64(table, b * 8, blocksOffset + b * cs);
  for (let c = 0; c < used; c++) {
    const b = Math.floor(c / entriesPerBlock);
    setRefEntry(blockData.subarray(b * cs, (b + 1) * cs), c - b * entriesPerBlock, order, 1);
  }

  file.truncate(0);
  file.write(tableOffset, table);
  file.write(blocksOffset, blockData);
  file.write(l1Offset, new Uint8Array(l1Size * 8));
  file.flush();
  file.write(0, encodeHeader(o, cb, order, l1Size, l1Offset, tableOffset, tableClusters));
  file.flush();
}

/**
 * The header cluster as qemu-img 7.2 writes it: the fixed header, then the backing format extension, the
 * feature name table (v3 with clusters of 8 KiB or more), the end marker, then the backing file name.
 */
function encodeHeader(o: ValidCreateOptions, cb: number, order: number, l1Size: number,
  l1Offset: number, tableOffset: number, tableClusters: number): Uint8Array {
  const h = new Uint8Array(o.clusterSize);
  putU32(h, 0, QCOW2_MAGIC);
  putU32(h, 4, o.version);
  putU32(h, 20, cb);
  putU64(h, 24, o.size);
  putU32(h, 36, l1Size);
  putU64(h, 40, l1Size > 0 ? l1Offset : 0); // an empty L1 table has no location, as with qemu-img
  putU64(h, 48, tableOffset);
  putU32(h, 56, tableClusters);
  let at = V2_HEADER_LENGTH;
  if (o.version === 3) {
    putU32(h, 96, order);
    putU32(h, 100, V3_HEADER_LENGTH);
    at = V3_HEADER_LENGTH;
  }
  if (o.backingFormat !== undefined) {
    const fmt = Buffer.from(o.backingFormat, "utf8");
    putU32(h, at, EXT_BACKING_FORMAT);
    putU32(h, at + 4, fmt.length);
    h.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
  }
  // qemu-img 7.2 only adds the feature name table to v3 images with clusters of 8 KiB or more.
  if (o.version === 3 && o.clusterSize >= 8192) {
    putU32(h, at, EXT_FEATURE_TABLE);
    putU32(h, at + 4, FEATURE_NAMES.length * 48);
    at += 8;
    for (const [type, bit, name] of FEATURE_NAMES) {
      h[at] = type;
      h[at + 1] = bit;
      h.set(Buffer.from(name, "latin1"), at + 2);
      at += 48;
    }
  }
  // An all-zero extension header (end marker) follows.
  at += 8;
  if (o.backingFile !== undefined) {
    const name = Buffer.from(o.backingFile, "utf8");
    if (at + name.length > o.clusterSize) throw new ImageError("Backing file name too long for the cluster size");
    putU64(h, 8, at);
    putU32(h, 16, name.length);
    h.set(name, at);
    at += name.length;
  }
  return h.subarray(0, Math.max(at, 512));
}

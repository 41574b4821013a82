import { u32, putU32 } from "../be.js";

/**
 * L1 and L2 table entries, decoded from their big-endian bytes without BigInt: the high word carries the flag
 * bits (63 = COPIED, 62 = compressed), offsets are rebuilt as Numbers.
 */

const TWO_32 = 0x1_0000_0000;
export const COPIED = 0x8000_0000; // bit 63, in the high word
export const COMPRESSED = 0x4000_0000; // bit 62, in the high word

export type ClusterKind = "unallocated" | "normal" | "zero-plain" | "zero-alloc" | "compressed";

export interface L2Entry {
  kind: ClusterKind;
  /** Host offset: cluster aligned for normal/zero-alloc; byte offset of the compressed data otherwise. */
  offset: number;
  copied: boolean;
  /** For compressed clusters: bytes of compressed data starting at `offset`, as QEMU computes it. */
  compressedBytes: number;
  /** Reserved bits that are set (0 when the entry is well formed). */
  reserved: number;
}

/** Offset held in an L1 entry (bits 9-55). */
export function l1Offset(table: Uint8Array, index: number): number {
  const at = index * 8;
  return (u32(table, at) & 0x00ff_ffff) * TWO_32 + clearLow9(u32(table, at + 4));
}

export function l1Copied(table: Uint8Array, index: number): boolean {
  return (table[index * 8]! & 0x80) !== 0;
}

/** Reserved bits of an L1 entry (0-8 and 56-62). */
export function l1Reserved(table: Uint8Array, index: number): number {
  const at = index * 8;
  return (u32(table, at) & 0x7f00_0000) | (u32(table, at + 4) & 0x1ff);
}

/** Raw high/low words of entry `index`, for comparing and copying. */
export function rawHi(table: Uint8Array, index: number): number {
  return u32(table, index * 8);
}
export function rawLo(table: Uint8Array, index: number): number {
  return u32(table, index * 8 + 4);
}

/**
 * Bits 9-31 of an unsigned 32-bit word, as a non-negative Number. Never `lo & 0xffff_fe00`: JavaScript's `&`
 * returns a signed 32-bit result, which turns every offset with bit 31 set (2 GiB and up) negative.
 */
function clearLow9(lo: number): number {
  return lo - (lo % 512);
}

/** Writes an entry: `offset` (any Number below 2^56) plus flag bits in the high word and low bits (0-8). */
export function setEntry(table: Uint8Array, index: number, offset: number, flagsHi: number, lowBits = 0): void {
  const at = index * 8;
  const hi = Math.floor(offset / TWO_32);
  const lo = offset - hi * TWO_32;
  putU32(table, at, flagsHi + hi); // flags live in bits 56-63, above any offset bit
  putU32(table, at + 4, lo + lowBits); // lowBits < 512 and lo is a multiple of 512 when lowBits are used
}

export function encodeEntry(offset: number, copied: boolean): Uint8Array {
  const b = new Uint8Array(8);
  setEntry(b, 0, offset, copied ? COPIED : 0);
  return b;
}

/** Decodes L2 entry `index` of `table` for an image with 2^clusterBits clusters. */
export function decodeL2(table: Uint8Array, index: number, clusterBits: number): L2Entry {
  const hi = u32(table, index * 8);
  const lo = u32(table, index * 8 + 4);
  if (hi & COMPRESSED) {
    // Compressed descriptor: x = 62 - (cluster_bits - 8) low bits of offset, then (sectors - 1).
    const x = 70 - clusterBits;
    const offHiBits = x - 32;
    const offset = (hi & ((1 << offHiBits) - 1)) * TWO_32 + lo;
    const sectors = ((hi >>> offHiBits) & ((1 << (clusterBits - 8)) - 1)) + 1;
    return {
      kind: "compressed",
      offset,
      copied: (hi & COPIED) !== 0,
      compressedBytes: sectors * 512 - (offset % 512),
      reserved: 0,
    };
  }
  const offset = (hi & 0x00ff_ffff) * TWO_32 + clearLow9(lo);
  const zero = (lo & 1) !== 0;
  const reserved = (hi & 0x3f00_0000) | (lo & 0x1fe);
  const copied = (hi & COPIED) !== 0;
  let kind: ClusterKind;
  if (zero) kind = offset === 0 ? "zero-plain" : "zero-alloc";
  else kind = offset === 0 ? "unallocated" : "normal"; // offset 0 is only valid with external data files
  return { kind, offset, copied, compressedBytes: 0, reserved };
}

/** Host clusters a compressed entry's data touches (QEMU counts a reference on each). */
export function compressedClusterRange(e: L2Entry, clusterSize: number): [first: number, last: number] {
  const first = Math.floor(e.offset / clusterSize);
  const last = Math.floor((e.offset + e.compressedBytes - 1) / clusterSize);
  return [first, last];
}

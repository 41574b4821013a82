/**
 * Big-endian helpers for on-disk integers. 64-bit fields that hold offsets are read as two 32-bit halves and
 * combined into a Number (exact below 2^53, far beyond any real file), so hot paths never touch BigInt.
 */

const TWO_32 = 0x1_0000_0000;

export function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** Reads a u64 as a Number; values at or above 2^53 come back as Infinity so range checks reject them. */
export function u64(b: Uint8Array, at: number): number {
  const hi = u32(b, at);
  if (hi >= 0x20_0000) return Infinity;
  return hi * TWO_32 + u32(b, at + 4);
}

export function u64big(b: Uint8Array, at: number): bigint {
  return (BigInt(u32(b, at)) << 32n) | BigInt(u32(b, at + 4));
}

export function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** Writes an unsigned 32-bit value (0 <= v < 2^32). */
export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Writes a non-negative Number below 2^53 as a u64. */
export function putU64(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  putU32(b, at, hi);
  putU32(b, at + 4, v - hi * TWO_32);
}

export function putU64big(b: Uint8Array, at: number, v: bigint): void {
  const x = BigInt.asUintN(64, v);
  putU32(b, at, Number(x >> 32n));
  putU32(b, at + 4, Number(x & 0xffff_ffffn));
}

export function hi32(v: number): number {
  return Math.floor(v / TWO_32);
}

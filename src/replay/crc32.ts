import * as zlib from "node:zlib";

/**
 * CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use). Node gained `zlib.crc32` in 20.15; older 20.x
 * releases get the table-driven version below, which computes the same value.
 */

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** The portable implementation; exported so tests can compare it with Node's. */
export function crc32Portable(data: Uint8Array, previous = 0): number {
  const t = (table ??= makeTable());
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32Fn = (data: Uint8Array, previous?: number) => number;
const native = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it) when given. */
export const crc32: Crc32Fn =
  typeof native === "function" ? (data, previous = 0) => native(data, previous) >>> 0 : crc32Portable;

import { inflateRawSync, constants as zc } from "node:zlib";
import { ImageError, hex } from "../errors.js";
import type { ImageFile } from "../file-io.js";
import type { L2Entry } from "./entries.js";

/** Inflates one compressed cluster (raw deflate, as QEMU writes it) into exactly `clusterSize` bytes. */
export function readCompressedCluster(file: ImageFile, e: L2Entry, clusterSize: number): Uint8Array {
  if (!(e.offset < file.size())) {
    throw new ImageError(`compressed cluster at ${hex(e.offset)} is beyond the end of the file`);
  }
  const input = file.read(e.offset, e.compressedBytes);
  let out: Buffer;
  try {
    out = inflateRawSync(input, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: clusterSize });
  } catch (err) {
    throw new ImageError(`compressed cluster at ${hex(e.offset)} cannot be decompressed: ${(err as Error).message}`);
  }
  if (out.length < clusterSize) {
    throw new ImageError(`compressed cluster at ${hex(e.offset)} decompresses to ${out.length} bytes, not ${clusterSize}`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, clusterSize);
}

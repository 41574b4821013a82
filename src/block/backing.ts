import { ImageError, withContext } from "./errors.js";
import type { BlockDevice } from "./block-device.js";

/** Longest backing chain Rewind follows (a chain that loops back on itself would otherwise never end). */
export const MAX_BACKING_DEPTH = 64;

/**
 * QEMU's path_combine(): a relative backing file name is relative to the directory of the image that names it
 * (as that image's name was given, so "dir/overlay.qcow2" + "base.qcow2" is "dir/base.qcow2"); an absolute one
 * is used as is.
 */
export function backingPath(imagePath: string, backingFile: string): string {
  if (backingFile.startsWith("/")) return backingFile;
  const slash = imagePath.lastIndexOf("/");
  return slash < 0 ? backingFile : imagePath.slice(0, slash + 1) + backingFile;
}

export type BackingOpener = (file: string, opts: { format?: "raw" | "qcow2"; depth: number }) => BlockDevice;

/** Validates a backing format name from an image header or the command line. */
export function backingFormat(fmt: string | null | undefined): "raw" | "qcow2" | undefined {
  if (fmt === null || fmt === undefined) return undefined;
  if (fmt === "raw" || fmt === "qcow2") return fmt;
  throw new ImageError(`Unknown backing file format '${fmt}' (Rewind supports qcow2 and raw)`);
}

/**
 * Opens the backing image named by `imagePath`'s header, read-only (a backing image is never modified).
 * Errors read like QEMU's: "Could not open backing file: Could not open 'dir/base.qcow2': No such file ...".
 */
export function openBacking(imagePath: string, backingFile: string, fmt: string | null, depth: number,
  open: BackingOpener): BlockDevice {
  if (depth >= MAX_BACKING_DEPTH) {
    throw new ImageError(`Could not open backing file: the backing chain is longer than ${MAX_BACKING_DEPTH} images (does it loop?)`);
  }
  const file = backingPath(imagePath, backingFile);
  try {
    return open(file, { format: backingFormat(fmt), depth: depth + 1 });
  } catch (e) {
    throw withContext("Could not open backing file", e);
  }
}

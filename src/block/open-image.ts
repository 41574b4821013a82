import { ImageError, guard } from "./errors.js";
import { NodeFile } from "./file-io.js";
import type { BlockDevice, OpenOptions } from "./block-device.js";
import { RawImage } from "./raw-image.js";
import { Qcow2Image } from "./qcow2/image.js";
import { createQcow2, type Qcow2CreateOptions } from "./qcow2/create.js";
import { QCOW2_MAGIC } from "./qcow2/constants.js";
import { u32 } from "./be.js";
import { backingFormat, backingPath } from "./backing.js";

export type ImageFormat = "raw" | "qcow2";

/** Probes a file's format like QEMU: qcow2 magic means qcow2, anything else is raw. */
export function probeFormat(path: string): ImageFormat {
  const f = NodeFile.open(path, true);
  try {
    const head = guard(`Could not read '${path}'`, () => f.read(0, 4));
    return f.size() >= 4 && u32(head, 0) === QCOW2_MAGIC ? "qcow2" : "raw";
  } finally {
    f.close();
  }
}

/** Opens a disk image, probing the format unless one is given. Opening never modifies the file. */
export function openImage(path: string, opts: OpenOptions = {}): BlockDevice {
  const format = opts.format ?? probeFormat(path);
  if (format === "qcow2") {
    if (opts.format === "qcow2" && probeFormat(path) !== "qcow2") {
      throw new ImageError(`Could not open '${path}': Image is not in qcow2 format`);
    }
    return Qcow2Image.open(path, { readOnly: opts.readOnly, sync: opts.sync, openBacking: opts.openBacking,
      backingDepth: opts.backingDepth });
  }
  if (format === "raw") return RawImage.open(path, { readOnly: opts.readOnly });
  throw new ImageError(`Unknown image format '${String(format)}'`);
}

export interface CreateImageOptions extends Partial<Omit<Qcow2CreateOptions, "size">> {
  format: ImageFormat;
  /** Virtual size; may be omitted with a backing file, whose virtual size is then used (as qemu-img). */
  size?: number;
}

/**
 * Creates a new image file (replacing an existing one, as qemu-img create does). With `backingFile` (qcow2
 * only) the backing image must exist and open (it is opened read-only, relative to the new image's directory).
 */
export function createImage(path: string, opts: CreateImageOptions): void {
  if (opts.format === "raw") {
    if (opts.backingFile !== undefined) throw new ImageError("Backing file not supported for file format 'raw'");
    if (opts.size === undefined) throw new ImageError("Image creation needs a size parameter");
    RawImage.create(path, opts.size);
    return;
  }
  let size = opts.size;
  if (opts.backingFile !== undefined) {
    const file = backingPath(path, opts.backingFile);
    let backing: BlockDevice;
    try {
      backing = openImage(file, { format: backingFormat(opts.backingFormat), readOnly: true });
    } catch (e) {
      throw new ImageError(`Could not open backing image: ${(e as Error).message}`, { cause: e });
    }
    try {
      size ??= backing.size;
    } finally {
      backing.close();
    }
  }
  if (size === undefined) throw new ImageError("Image creation needs a size parameter");
  const qopts = { ...opts, size };
  const f = NodeFile.create(path);
  try {
    guard(`Could not create '${path}'`, () => createQcow2(f, qopts));
  } finally {
    f.close();
  }
}

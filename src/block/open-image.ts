import { ImageError, guard } from "./errors.js";
import { NodeFile } from "./file-io.js";
import type { BlockDevice, OpenOptions } from "./block-device.js";
import { RawImage } from "./raw-image.js";
import { Qcow2Image } from "./qcow2/image.js";
import { createQcow2, type Qcow2CreateOptions } from "./qcow2/create.js";
import { QCOW2_MAGIC } from "./qcow2/constants.js";
import { u32 } from "./be.js";

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
    return Qcow2Image.open(path, { readOnly: opts.readOnly, sync: opts.sync });
  }
  if (format === "raw") return RawImage.open(path, { readOnly: opts.readOnly });
  throw new ImageError(`Unknown image format '${String(format)}'`);
}

export interface CreateImageOptions extends Partial<Omit<Qcow2CreateOptions, "size">> {
  format: ImageFormat;
  size: number;
}

/** Creates a new image file (replacing an existing one, as qemu-img create does). */
export function createImage(path: string, opts: CreateImageOptions): void {
  if (opts.format === "raw") {
    RawImage.create(path, opts.size);
    return;
  }
  const f = NodeFile.create(path);
  try {
    guard(`Could not create '${path}'`, () => createQcow2(f, opts));
  } finally {
    f.close();
  }
}

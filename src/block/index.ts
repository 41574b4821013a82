/** Public surface of the block layer. */
export { ImageError } from "./errors.js";
export type { BlockDevice, OpenOptions } from "./block-device.js";
export type { ImageFile } from "./file-io.js";
export { NodeFile } from "./file-io.js";
export { RawImage } from "./raw-image.js";
export { Qcow2Image, SnapshotNotFoundError } from "./qcow2/image.js";
export type {
  SnapshotInfo, LoadedSnapshot, CreateSnapshotOptions, Qcow2OpenOptions, Qcow2Details,
} from "./qcow2/image.js";
export type { CheckResult } from "./qcow2/check.js";
export { openImage, createImage, probeFormat } from "./open-image.js";
export type { ImageFormat, CreateImageOptions } from "./open-image.js";
export { parseSize, sizeToStr } from "./sizes.js";

import { ImageError, guard, toImageError } from "./errors.js";
import { NodeFile, type ImageFile } from "./file-io.js";
import type { BlockDevice } from "./block-device.js";

/** A raw disk image: guest offset = file offset. Its size is the file size rounded up to 512 bytes (as QEMU). */
export class RawImage implements BlockDevice {
  readonly format = "raw" as const;
  readonly size: number;

  private constructor(private readonly file: ImageFile) {
    this.size = Math.ceil(file.size() / 512) * 512;
  }

  static open(path: string, opts: { readOnly?: boolean } = {}): RawImage {
    return new RawImage(NodeFile.open(path, opts.readOnly ?? false));
  }

  static fromFile(file: ImageFile): RawImage {
    return new RawImage(file);
  }

  /** Creates a sparse raw image of `size` bytes. */
  static create(path: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new ImageError(`invalid image size ${size}`);
    const f = NodeFile.create(path);
    try {
      f.truncate(size);
    } catch (e) {
      throw toImageError(`Could not create '${path}'`, e);
    } finally {
      f.close();
    }
  }

  get readOnly(): boolean { return this.file.readOnly; }
  get path(): string { return this.file.path; }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length, "read");
    return guard(`${this.path}: read failed`, () => this.file.read(offset, length));
  }

  write(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length, "write");
    if (this.readOnly) throw new ImageError(`${this.path}: image is opened read-only`);
    guard(`${this.path}: write failed`, () => this.file.write(offset, data));
  }

  flush(): void {
    guard(`${this.path}: flush failed`, () => this.file.flush());
  }

  close(): void {
    guard(`${this.path}: close failed`, () => this.file.close());
  }

  /** Bytes allocated on disk. */
  actualSize(): number {
    return guard(`${this.path}: stat failed`, () => this.file.allocatedSize());
  }

  private checkRange(offset: number, length: number, op: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
      offset + length > this.size) {
      throw new ImageError(`${op} of ${length} bytes at offset ${offset} is outside the ${this.size}-byte disk`);
    }
  }
}

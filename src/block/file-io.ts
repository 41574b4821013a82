import * as fs from "node:fs";
import { ImageError, toImageError } from "./errors.js";

/**
 * The byte-level file under an image. Everything the image formats do goes through this, so tests can put a
 * fault-injecting layer underneath (simulated crashes after N writes) and the emulator could put another
 * backend here later. All calls are synchronous: guest disk I/O is part of the deterministic machine loop.
 */
export interface ImageFile {
  /** Reads `length` bytes at `offset`; bytes past the end of the file read as zero. */
  read(offset: number, length: number): Uint8Array;
  /** Writes all of `data` at `offset`, growing the file if needed. One call is one ordered write. */
  write(offset: number, data: Uint8Array): void;
  /** Makes every completed write durable (fdatasync). Used as an ordering barrier. */
  flush(): void;
  /** Current length of the file in bytes. */
  size(): number;
  /** Bytes the file occupies on disk (st_blocks * 512), as `qemu-img info` reports as "disk size". */
  allocatedSize(): number;
  truncate(length: number): void;
  close(): void;
  readonly path: string;
  readonly readOnly: boolean;
}

/** An ImageFile on a real file descriptor. */
export class NodeFile implements ImageFile {
  private fd: number;
  private length: number;
  private closed = false;

  private constructor(readonly path: string, fd: number, readonly readOnly: boolean) {
    this.fd = fd;
    this.length = fs.fstatSync(fd).size;
  }

  static open(path: string, readOnly: boolean): NodeFile {
    let fd: number;
    try {
      fd = fs.openSync(path, readOnly ? "r" : "r+");
    } catch (e) {
      throw toImageError(`Could not open '${path}'`, e);
    }
    try {
      if (!fs.fstatSync(fd).isFile()) throw new ImageError(`Could not open '${path}': not a regular file`);
      return new NodeFile(path, fd, readOnly);
    } catch (e) {
      fs.closeSync(fd);
      throw toImageError(`Could not open '${path}'`, e);
    }
  }

  /** Creates (or truncates) a file for a new image. */
  static create(path: string): NodeFile {
    let fd: number;
    try {
      fd = fs.openSync(path, "w+");
    } catch (e) {
      throw toImageError(`Could not create '${path}'`, e);
    }
    return new NodeFile(path, fd, false);
  }

  read(offset: number, length: number): Uint8Array {
    this.ensureOpen();
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length && offset + done < this.length) {
      const n = this.io("read", () => fs.readSync(this.fd, out, done, length - done, offset + done));
      if (n === 0) break;
      done += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    this.ensureOpen();
    if (this.readOnly) throw new ImageError(`${this.path}: image is opened read-only`);
    let done = 0;
    while (done < data.length) {
      done += this.io("write", () => fs.writeSync(this.fd, data, done, data.length - done, offset + done));
    }
    this.length = Math.max(this.length, offset + data.length);
  }

  flush(): void {
    this.ensureOpen();
    if (!this.readOnly) this.io("flush", () => fs.fdatasyncSync(this.fd));
  }

  size(): number {
    return this.length;
  }

  allocatedSize(): number {
    this.ensureOpen();
    const st = this.io("stat", () => fs.fstatSync(this.fd));
    return st.blocks * 512;
  }

  truncate(length: number): void {
    this.ensureOpen();
    this.io("truncate", () => fs.ftruncateSync(this.fd, length));
    this.length = length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private ensureOpen(): void {
    if (this.closed) throw new ImageError(`${this.path}: image is closed`);
  }

  private io<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toImageError(`${this.path}: ${op} failed`, e);
    }
  }
}

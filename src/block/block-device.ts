/**
 * What a disk controller model sees: a byte-addressed disk of fixed size. Implementations: RawImage, Qcow2Image.
 * All calls are synchronous (see file-io.ts) and throw ImageError on failure.
 */
export interface BlockDevice {
  readonly format: "raw" | "qcow2";
  /** Virtual disk size in bytes. */
  readonly size: number;
  readonly readOnly: boolean;
  readonly path: string;
  /** Reads `length` bytes at byte `offset`; the range must lie within the disk. */
  read(offset: number, length: number): Uint8Array;
  /** Writes `data` at byte `offset`; the range must lie within the disk. */
  write(offset: number, data: Uint8Array): void;
  /** Makes all completed writes durable. */
  flush(): void;
  close(): void;
}

export interface OpenOptions {
  /** Force a format instead of probing. Opening a qcow2 file as "raw" is allowed, as in QEMU. */
  format?: "raw" | "qcow2";
  readOnly?: boolean;
  /** qcow2: fdatasync at every ordering point of an update (default true); see Qcow2OpenOptions.sync. */
  sync?: boolean;
  /** qcow2: open the backing image (default true; `info` does not, like qemu-img info). */
  openBacking?: boolean;
  /** Internal: how deep in a backing chain this image is (limits chains that loop). */
  backingDepth?: number;
}

import type { ImageFile } from "../file-io.js";

/** Passes everything through and counts writes, so a failed operation knows whether it changed the file. */
export class CountingFile implements ImageFile {
  writes = 0;
  constructor(readonly inner: ImageFile) {}
  get path(): string { return this.inner.path; }
  get readOnly(): boolean { return this.inner.readOnly; }
  read(offset: number, length: number): Uint8Array { return this.inner.read(offset, length); }
  write(offset: number, data: Uint8Array): void {
    this.writes++;
    this.inner.write(offset, data);
  }
  flush(): void { this.inner.flush(); }
  size(): number { return this.inner.size(); }
  allocatedSize(): number { return this.inner.allocatedSize(); }
  truncate(length: number): void {
    this.writes++;
    this.inner.truncate(length);
  }
  close(): void { this.inner.close(); }
}

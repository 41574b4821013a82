import { ImageError, hex } from "../errors.js";

/**
 * Which host clusters hold metadata (header, L1/L2 tables, refcount structures, snapshot table). Built when an
 * image is opened so overlapping or looping structures are rejected up front, and consulted before every data
 * write so a corrupt mapping can never make Rewind overwrite metadata (QEMU's "overlap check").
 */
export class MetadataMap {
  private owners = new Map<number, { kind: string; what: string }>();

  constructor(private readonly clusterSize: number) {}

  /**
   * Claims the clusters covering [offset, offset+bytes). L2 tables may be claimed more than once (snapshots
   * share them); any other double claim is an overlap and throws.
   */
  claim(offset: number, bytes: number, kind: string, what: string): void {
    const first = Math.floor(offset / this.clusterSize);
    const last = Math.floor((offset + Math.max(bytes, 1) - 1) / this.clusterSize);
    for (let c = first; c <= last; c++) {
      const prev = this.owners.get(c);
      if (prev) {
        if (prev.kind === "L2" && kind === "L2") continue;
        throw new ImageError(`${what} at ${hex(offset)} overlaps ${prev.what} (cluster ${c})`);
      }
      this.owners.set(c, { kind, what });
    }
  }

  /** Description of the metadata in host cluster `c`, or undefined when it holds none. */
  ownerOf(c: number): string | undefined {
    return this.owners.get(c)?.what;
  }

  has(c: number): boolean {
    return this.owners.has(c);
  }

  clear(): void {
    this.owners.clear();
  }

  release(offset: number, bytes: number): void {
    const first = Math.floor(offset / this.clusterSize);
    const last = Math.floor((offset + Math.max(bytes, 1) - 1) / this.clusterSize);
    for (let c = first; c <= last; c++) this.owners.delete(c);
  }
}

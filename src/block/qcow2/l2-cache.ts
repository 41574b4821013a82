import { ImageError, hex } from "../errors.js";
import type { ImageFile } from "../file-io.js";
import type { MetadataMap } from "./metadata-map.js";

/**
 * Read-through cache of L2 tables keyed by host offset. Writes go to the file and to the cached copy at the
 * same time, so nothing here is ever dirty and eviction is free.
 */
export class L2Cache {
  private tables = new Map<number, Uint8Array>();
  private readonly capacity: number;

  constructor(private readonly file: ImageFile, private readonly clusterSize: number,
    private readonly meta: MetadataMap, budgetBytes = 32 * 1024 * 1024) {
    this.capacity = Math.max(16, Math.floor(budgetBytes / clusterSize));
  }

  /** The L2 table at `offset`, validated: cluster aligned, inside the file, not another structure's cluster. */
  get(offset: number, where: string): Uint8Array {
    const hit = this.tables.get(offset);
    if (hit) return hit;
    if (!Number.isFinite(offset) || offset % this.clusterSize !== 0) {
      throw new ImageError(`${where}: L2 table offset ${Number.isFinite(offset) ? hex(offset) : "(huge)"} is not cluster aligned`);
    }
    if (offset + this.clusterSize > this.file.size()) {
      throw new ImageError(`${where}: L2 table at ${hex(offset)} is beyond the end of the file`);
    }
    const owner = this.meta.ownerOf(offset / this.clusterSize);
    if (owner !== undefined && !owner.startsWith("L2 table")) {
      throw new ImageError(`${where}: L2 table at ${hex(offset)} overlaps ${owner}`);
    }
    const t = this.file.read(offset, this.clusterSize);
    this.put(offset, t);
    return t;
  }

  put(offset: number, table: Uint8Array): void {
    if (this.tables.size >= this.capacity) {
      const oldest = this.tables.keys().next().value as number;
      this.tables.delete(oldest);
    }
    this.tables.set(offset, table);
  }

  /** Updates 8 bytes of a cached table after the same bytes were written to the file. */
  patch(offset: number, index: number, entry: Uint8Array): void {
    this.tables.get(offset)?.set(entry, index * 8);
  }

  clear(): void {
    this.tables.clear();
  }
}

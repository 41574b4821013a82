// The x86 TLB: a direct-mapped cache of 4 KiB linear pages -> physical page and the rights the walk combined
// (Intel SDM Vol. 3 §4.10). Direct-mapped with a fixed size, so which entry a fill replaces depends only on the
// linear address: the same guest run fills and evicts the same entries on any host (replay and reverse debugging
// see the same stale translations). Large pages are cached as their 4 KiB pieces; INVLPG then flushes everything
// once a large page was cached (the SDM allows invalidating more than asked, and QEMU does the same).

/** Rights bits of an entry (0: the entry is empty). */
export const TLB_VALID = 0x80;
export const TLB_USER = 1; // U/S = 1 at every level
export const TLB_WRITE = 2; // R/W = 1 at every level
export const TLB_NX = 4; // XD = 1 at some level (with EFER.NXE)
export const TLB_DIRTY = 8; // the leaf's dirty bit is set: writes need no walk
export const TLB_GLOBAL = 16; // G = 1 in the leaf with CR4.PGE: kept across CR3 writes

export const TLB_SIZE = 256;
const MASK = TLB_SIZE - 1;

export class Tlb {
  /** Linear page number: bits 43:12 of the address (low) and 63:44 (high). */
  readonly tagLo = new Int32Array(TLB_SIZE);
  readonly tagHi = new Int32Array(TLB_SIZE);
  /** Physical address of the page. */
  readonly phys = new Float64Array(TLB_SIZE);
  readonly rights = new Uint8Array(TLB_SIZE);
  /** A large page was cached since the last full flush. */
  large = false;

  static index(lo: number): number {
    return (lo >>> 12) & MASK;
  }

  fill(lo: number, hi: number, phys: number, rights: number, large: boolean): void {
    const i = (lo >>> 12) & MASK;
    this.tagLo[i] = (lo >>> 12) | (hi << 20);
    this.tagHi[i] = hi >>> 12;
    this.phys[i] = phys;
    this.rights[i] = rights | TLB_VALID;
    if (large) this.large = true;
  }

  flushAll(): void {
    this.rights.fill(0);
    this.large = false;
  }

  /** MOV to CR3: everything but global entries. */
  flushNonGlobal(): void {
    const r = this.rights;
    for (let i = 0; i < TLB_SIZE; i++) if (!(r[i] & TLB_GLOBAL)) r[i] = 0;
  }

  /** INVLPG: the page holding (lo, hi), global or not. */
  flushPage(lo: number, hi: number): void {
    if (this.large) return this.flushAll();
    const i = (lo >>> 12) & MASK;
    if (this.tagLo[i] === ((lo >>> 12) | (hi << 20)) && this.tagHi[i] === hi >>> 12) this.rights[i] = 0;
  }

  /** The entries as saved state: per entry tagLo, tagHi, physical page number, rights; then the large flag. */
  save(): Uint32Array {
    const out = new Uint32Array(TLB_SIZE * 4 + 1);
    for (let i = 0; i < TLB_SIZE; i++) {
      out[4 * i] = this.tagLo[i];
      out[4 * i + 1] = this.tagHi[i];
      out[4 * i + 2] = this.phys[i] / 4096;
      out[4 * i + 3] = this.rights[i];
    }
    out[TLB_SIZE * 4] = this.large ? 1 : 0;
    return out;
  }

  load(v: Uint32Array): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      this.tagLo[i] = v[4 * i];
      this.tagHi[i] = v[4 * i + 1];
      this.phys[i] = v[4 * i + 2] * 4096;
      this.rights[i] = v[4 * i + 3] & 0xff;
    }
    this.large = v[TLB_SIZE * 4] !== 0;
  }
}

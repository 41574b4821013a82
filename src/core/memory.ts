// The physical address space: one RAM block plus MMIO regions.
//
// Physical addresses are Numbers (they fit in 53 bits). 64-bit values cross the bus as lo/hi 32-bit halves
// so no BigInt is ever allocated on the hot path. MMIO devices see accesses of at most 4 bytes: a 64-bit access
// is split into two little-endian halves, which is what every device Rewind models expects.

import { fieldNumber, fieldBytes, fieldU32Array, StateError, type StateFields, type Stateful } from "./state.js";

export const PAGE_BITS = 12;
export const PAGE_SIZE = 1 << PAGE_BITS;

/** A device's register window. Offsets are relative to the region base; size is 1, 2 or 4. */
export interface MmioHandler {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

export interface MmioRegion {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly handler: MmioHandler;
}

/** An access to an address where nothing is mapped; the CPU turns it into an external abort. */
export class BusError extends Error {
  override name = "BusError";
  constructor(
    readonly address: number,
    readonly isWrite: boolean,
  ) {
    super(`${isWrite ? "write to" : "read from"} unmapped physical address 0x${address.toString(16)}`);
  }
}

/** Guest RAM, paged for dirty tracking (checkpoints) and code-page tracking (decoded-instruction caches). */
export class Ram implements Stateful {
  readonly stateName = "ram";
  readonly stateVersion = 1;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly pageCount: number;
  /** Set for every page written since the flag was last cleared by its consumer (checkpoints). */
  readonly dirty: Uint8Array;
  /** Pages that hold decoded instructions; a write to one calls onCodeWrite so caches drop it. */
  readonly codePages: Uint8Array;
  onCodeWrite: (page: number) => void = () => {};

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    if (size % PAGE_SIZE !== 0) throw new RangeError("RAM size must be a multiple of the page size");
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.pageCount = size / PAGE_SIZE;
    this.dirty = new Uint8Array(this.pageCount);
    this.codePages = new Uint8Array(this.pageCount);
  }

  /** Marks the page of RAM offset `off` written; the write paths call it before storing. */
  touch(off: number): void {
    const page = off >>> PAGE_BITS;
    this.dirty[page] = 1;
    if (this.codePages[page]) {
      this.codePages[page] = 0;
      this.onCodeWrite(page);
    }
  }

  /** Copies bytes in (loaders, DMA); marks pages dirty. */
  load(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.size) throw new RangeError("data does not fit in RAM");
    this.bytes.set(data, offset);
    for (let p = offset >>> PAGE_BITS; p <= (offset + Math.max(data.length, 1) - 1) >>> PAGE_BITS; p++) this.touch(p << PAGE_BITS);
  }

  // Saved sparsely: only pages that are not all zero, so a mostly empty 128 MiB guest saves small.
  saveState(): StateFields {
    const pages: number[] = [];
    const words = new Uint32Array(this.bytes.buffer);
    const wordsPerPage = PAGE_SIZE / 4;
    for (let p = 0; p < this.pageCount; p++) {
      const start = p * wordsPerPage;
      for (let i = start; i < start + wordsPerPage; i++) {
        if (words[i] !== 0) {
          pages.push(p);
          break;
        }
      }
    }
    const data = new Uint8Array(pages.length * PAGE_SIZE);
    pages.forEach((p, i) => data.set(this.bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), i * PAGE_SIZE));
    return { size: this.size, pages: Uint32Array.from(pages), data };
  }

  loadState(f: StateFields): void {
    const size = fieldNumber(f, "size", "ram");
    if (size !== this.size) throw new StateError(`ram: state has ${size} bytes of RAM, machine has ${this.size}`);
    const pagesValue = f.pages;
    if (!(pagesValue instanceof Uint32Array)) throw new StateError("ram: field pages must be 32-bit words");
    const pages = fieldU32Array(f, "pages", "ram", pagesValue.length);
    const data = fieldBytes(f, "data", "ram", pages.length * PAGE_SIZE);
    this.bytes.fill(0);
    pages.forEach((p, i) => {
      if (p >= this.pageCount) throw new StateError(`ram: page ${p} is outside RAM`);
      this.bytes.set(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), p * PAGE_SIZE);
    });
    this.dirty.fill(1);
    this.invalidateAllCode();
  }

  invalidateAllCode(): void {
    for (let p = 0; p < this.pageCount; p++) {
      if (this.codePages[p]) {
        this.codePages[p] = 0;
        this.onCodeWrite(p);
      }
    }
  }
}

/** The bus: routes physical accesses to RAM or to a device. */
export class AddressSpace {
  private readonly regions: MmioRegion[] = [];
  /** High half of the last read64. */
  hi = 0;

  constructor(readonly ram: Ram) {}

  map(name: string, base: number, size: number, handler: MmioHandler): void {
    for (const r of this.regions)
      if (base < r.base + r.size && r.base < base + size) throw new Error(`MMIO region ${name} overlaps ${r.name}`);
    if (base < this.ram.base + this.ram.size && this.ram.base < base + size) throw new Error(`MMIO region ${name} overlaps RAM`);
    this.regions.push({ name, base, size, handler });
  }

  /** The MMIO region containing `pa`, if any (for diagnostics). */
  regionAt(pa: number): MmioRegion | undefined {
    for (const r of this.regions) if (pa >= r.base && pa < r.base + r.size) return r;
    return undefined;
  }

  /** RAM offset of `pa` when `len` bytes at it are all in RAM, else -1. */
  ramOffset(pa: number, len: number): number {
    const off = pa - this.ram.base;
    return off >= 0 && off + len <= this.ram.size ? off : -1;
  }

  private mmio(pa: number, isWrite: boolean): MmioRegion {
    const r = this.regionAt(pa);
    if (!r) throw new BusError(pa, isWrite);
    return r;
  }

  read8(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off < this.ram.size) return this.ram.bytes[off];
    const r = this.mmio(pa, false);
    return r.handler.read(pa - r.base, 1) & 0xff;
  }
  read16(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 2 <= this.ram.size) return this.ram.view.getUint16(off, true);
    const r = this.mmio(pa, false);
    return r.handler.read(pa - r.base, 2) & 0xffff;
  }
  read32(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 4 <= this.ram.size) return this.ram.view.getUint32(off, true);
    const r = this.mmio(pa, false);
    return r.handler.read(pa - r.base, 4) >>> 0;
  }
  /** Returns the low half; the high half is left in `this.hi`. */
  read64(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 8 <= this.ram.size) {
      this.hi = this.ram.view.getUint32(off + 4, true);
      return this.ram.view.getUint32(off, true);
    }
    const lo = this.read32(pa);
    this.hi = this.read32(pa + 4);
    return lo;
  }

  write8(pa: number, v: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off < this.ram.size) {
      this.ram.touch(off);
      this.ram.bytes[off] = v;
      return;
    }
    const r = this.mmio(pa, true);
    r.handler.write(pa - r.base, 1, v & 0xff);
  }
  write16(pa: number, v: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 2 <= this.ram.size) {
      this.ram.touch(off);
      if ((off & (PAGE_SIZE - 1)) > PAGE_SIZE - 2) this.ram.touch(off + 1);
      this.ram.view.setUint16(off, v, true);
      return;
    }
    const r = this.mmio(pa, true);
    r.handler.write(pa - r.base, 2, v & 0xffff);
  }
  write32(pa: number, v: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 4 <= this.ram.size) {
      this.ram.touch(off);
      if ((off & (PAGE_SIZE - 1)) > PAGE_SIZE - 4) this.ram.touch(off + 3);
      this.ram.view.setUint32(off, v, true);
      return;
    }
    const r = this.mmio(pa, true);
    r.handler.write(pa - r.base, 4, v >>> 0);
  }
  write64(pa: number, lo: number, hi: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 8 <= this.ram.size) {
      this.ram.touch(off);
      if ((off & (PAGE_SIZE - 1)) > PAGE_SIZE - 8) this.ram.touch(off + 7);
      this.ram.view.setUint32(off, lo, true);
      this.ram.view.setUint32(off + 4, hi, true);
      return;
    }
    this.write32(pa, lo);
    this.write32(pa + 4, hi);
  }

  /** Debugger/loader access: copies out bytes, failing with BusError on unmapped addresses. MMIO is not read. */
  readBytes(pa: number, len: number): Uint8Array {
    const off = this.ramOffset(pa, len);
    if (off < 0) throw new BusError(pa, false);
    return this.ram.bytes.slice(off, off + len);
  }
}

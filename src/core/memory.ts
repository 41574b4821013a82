// The physical address space: RAM and ROM regions, and MMIO regions.
//
// Physical addresses are Numbers (they fit in 53 bits). 64-bit values cross the bus as lo/hi 32-bit halves
// so no BigInt is ever allocated on the hot path. MMIO devices see accesses of at most 4 bytes: a 64-bit access
// is split into two little-endian halves, which is what every device Rewind models expects.
//
// One RAM region is the *primary* one (the board's main RAM, given to the constructor): every access looks at
// it first, inline, so a machine with one RAM (AArch64 virt) pays nothing for having a region list. Everything
// else (more RAM, ROMs, MMIO, unassigned addresses) is found by binary search in one address-ordered list.
// Accesses that straddle two regions go byte by byte. Regions never overlap.
//
// A *route* maps a range to RAM/ROM regions that were added unmapped, with reads and writes going to different
// regions if need be (a chipset's shadow-RAM control: the i440FX's PAM reads ROM and writes RAM, or reads RAM and
// drops writes). The regions stay at their own addresses (Ram.base), so offsets and page numbers are unchanged;
// rerouting only rebuilds the map, and the fast path for the primary RAM never sees routes.

import { fieldNumber, fieldBytes, fieldU32Array, StateError, type StateFields, type Stateful } from "./state.js";

export const PAGE_BITS = 12;
export const PAGE_SIZE = 1 << PAGE_BITS;

/**
 * Consumers of the per-page dirty bits (Ram.dirty). A write sets every bit (DIRTY_ALL); each consumer tests and
 * clears only its own, so checkpoints and the digest caches do not see each other's clearing.
 */
export const enum DirtyBit {
  Checkpoint = 1,
  /** machineDetailDigests' per-region digests. */
  Detail = 2,
  /** machineDigest's zero-page scan. */
  ZeroScan = 4,
}
export const DIRTY_ALL = 0xff;

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

export interface RamOptions {
  /**
   * The region's name: its section in saved state and the prefix of its divergence digests ("ram@0x40000000").
   * Unique within a machine; "ram" by default (the primary RAM keeps it, so its state format never changes).
   */
  name?: string;
  /** ROM: guest writes leave the bytes unchanged (they go to `romWrite`, or nowhere). Loaders still write it. */
  readOnly?: boolean;
  /** Where the bytes and the per-page arrays live (zeroed, of the region's size and page count), when not in
   * arrays of their own: a compiled-code tier reads them from its own memory (jit/wasm/arena.ts). */
  storage?: { bytes: Uint8Array; dirty: Uint8Array; codePages: Uint8Array };
}

/**
 * Guest RAM or ROM at one physical range, paged for dirty tracking (checkpoints) and code-page tracking
 * (decoded-instruction caches). A ROM is a Ram whose guest writes are ignored; it saves, restores and checkpoints
 * like RAM, so a board may also flip a region between the two (a chipset's shadow-RAM control).
 */
export class Ram implements Stateful {
  readonly stateName: string;
  readonly stateVersion = 1;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly pageCount: number;
  /** Per page, the consumers (DirtyBit) that have not seen its latest write. */
  readonly dirty: Uint8Array;
  /** Pages that hold decoded instructions; a write to one calls onCodeWrite so caches drop it. */
  readonly codePages: Uint8Array;
  /** Called with the page index within this region; AddressSpace.addRam forwards it to AddressSpace.onCodeWrite. */
  onCodeWrite: (page: number) => void = () => {};
  /** Guest writes do not change the bytes (ROM). Change it through AddressSpace.setReadOnly. */
  readOnly: boolean;
  /** Where guest writes to the region go while it is read-only (offset in the region, size, value); null: nowhere. */
  romWrite: ((offset: number, size: number, value: number) => void) | null = null;
  /** Index of this region's first page in its address space's page numbering (code caches index by it). */
  pageBase = 0;

  constructor(
    readonly base: number,
    readonly size: number,
    options: RamOptions = {},
  ) {
    this.stateName = options.name ?? "ram";
    this.readOnly = options.readOnly ?? false;
    if (size <= 0 || size % PAGE_SIZE !== 0) throw new RangeError("RAM size must be a multiple of the page size");
    if (base % PAGE_SIZE !== 0) throw new RangeError("RAM must start on a page boundary");
    this.pageCount = size / PAGE_SIZE;
    const st = options.storage;
    if (st && (st.bytes.length !== size || st.dirty.length !== this.pageCount || st.codePages.length !== this.pageCount))
      throw new RangeError("RAM storage does not match the region's size");
    this.bytes = st?.bytes ?? new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, size);
    this.dirty = st?.dirty ?? new Uint8Array(this.pageCount);
    this.codePages = st?.codePages ?? new Uint8Array(this.pageCount);
  }

  /** Marks the page of RAM offset `off` written; the write paths call it before storing. */
  touch(off: number): void {
    const page = off >>> PAGE_BITS;
    this.dirty[page] = DIRTY_ALL;
    this.invalidateCode(page);
  }

  get name(): string {
    return this.stateName;
  }

  /** Clears one consumer's dirty bit on every page (the others keep theirs). */
  clearDirty(bit: DirtyBit): void {
    const d = this.dirty;
    const keep = ~bit & 0xff;
    for (let p = 0; p < d.length; p++) d[p] &= keep;
  }

  /** Copies bytes in (loaders, DMA, debugger writes; ROM too); marks pages dirty. */
  load(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.size) throw new RangeError(`data does not fit in ${this.stateName}`);
    this.bytes.set(data, offset);
    for (let p = offset >>> PAGE_BITS; p <= (offset + Math.max(data.length, 1) - 1) >>> PAGE_BITS; p++) this.touch(p << PAGE_BITS);
  }

  // Saved sparsely: only pages that are not all zero, so a mostly empty 128 MiB guest saves small.
  saveState(): StateFields {
    const pages: number[] = [];
    const words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.size / 4);
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
    const name = this.stateName;
    const size = fieldNumber(f, "size", name);
    if (size !== this.size) throw new StateError(`${name}: state has ${size} bytes of RAM, machine has ${this.size}`);
    const pagesValue = f.pages;
    if (!(pagesValue instanceof Uint32Array)) throw new StateError(`${name}: field pages must be 32-bit words`);
    const pages = fieldU32Array(f, "pages", name, pagesValue.length);
    const data = fieldBytes(f, "data", name, pages.length * PAGE_SIZE);
    this.bytes.fill(0);
    pages.forEach((p, i) => {
      if (p >= this.pageCount) throw new StateError(`${name}: page ${p} is outside RAM`);
      this.bytes.set(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), p * PAGE_SIZE);
    });
    this.dirty.fill(DIRTY_ALL);
    this.invalidateAllCode();
  }

  /** Drops the decoded code of one page (written, or its bytes replaced). */
  invalidateCode(page: number): void {
    if (this.codePages[page]) {
      this.codePages[page] = 0;
      this.onCodeWrite(page);
    }
  }

  invalidateAllCode(): void {
    for (let p = 0; p < this.pageCount; p++) this.invalidateCode(p);
  }
}

/** One entry of the address map: a RAM/ROM region or an MMIO region. */
interface Region {
  readonly base: number;
  readonly end: number;
  /** Where reads go (RAM/ROM), or null with mmio null too: a routed range whose reads are unassigned. */
  readonly ram: Ram | null;
  /** Where writes go: `ram` for a plain region; for a route, its write region or null (dropped). */
  readonly write: Ram | null;
  readonly mmio: MmioRegion | null;
}

/** A routed range (AddressSpace.route). */
interface Route {
  readonly base: number;
  readonly size: number;
  readonly read: Ram | null;
  readonly write: Ram | null;
}

export interface AddressSpaceOptions {
  /**
   * What an access where nothing is mapped does: "bus-error" throws BusError, which the CPU turns into an
   * external abort (AArch64 virt, the default); "all-ones" reads all ones and drops writes (a PC's open bus).
   */
  unassigned?: "bus-error" | "all-ones";
}

/** A contiguous piece of an access that lies in one RAM/ROM region. */
interface Piece {
  ram: Ram;
  offset: number;
  length: number;
}

/** The bus: routes physical accesses to RAM, ROM or a device. */
export class AddressSpace {
  /** High half of the last read64. */
  hi = 0;
  /** The primary RAM: looked at first, inline, by every access. Never read-only. */
  readonly ram: Ram;
  readonly unassigned: "bus-error" | "all-ones";
  /** A page of code in any RAM/ROM region was written: `page` is region.pageBase + the page in the region. */
  onCodeWrite: (page: number) => void = () => {};
  private readonly rams: Ram[] = [];
  private readonly mmios: MmioRegion[] = [];
  /** Regions added unmapped: reachable only through routes. */
  private readonly unmapped = new Set<Ram>();
  private readonly routes: Route[] = [];
  /** Every region in address order (the slow path's binary search). */
  private regions: Region[] = [];
  private pages = 0;

  constructor(ram: Ram, options: AddressSpaceOptions = {}) {
    if (ram.readOnly) throw new Error(`the primary RAM (${ram.name}) cannot be read-only`);
    this.ram = ram;
    this.unassigned = options.unassigned ?? "bus-error";
    this.addRam(ram);
  }

  /** Pages of every RAM/ROM region together: the size of a per-page code cache. */
  get pageCount(): number {
    return this.pages;
  }

  /** Every RAM and ROM region, in address order. */
  get ramRegions(): readonly Ram[] {
    return this.rams;
  }

  get mmioRegions(): readonly MmioRegion[] {
    return this.mmios;
  }

  /**
   * Maps a RAM or ROM region at its base. Its pages are numbered after those of the regions added before it
   * (add every region before building a CPU, whose code cache is sized by pageCount). With `mapped: false` the
   * region is numbered, listed and saved but reachable only through routes (`route`).
   */
  addRam(ram: Ram, options: { mapped?: boolean } = {}): void {
    if (this.rams.includes(ram)) throw new Error(`RAM region ${ram.name} is already mapped`);
    if (this.rams.some((r) => r.name === ram.name)) throw new Error(`a RAM region named ${ram.name} is already mapped`);
    const mapped = options.mapped ?? true;
    if (!mapped && ram === this.ram) throw new Error(`the primary RAM (${ram.name}) must be mapped`);
    if (mapped) this.checkFree(`RAM region ${ram.name}`, ram.base, ram.size);
    else this.unmapped.add(ram);
    const pageBase = this.pages;
    ram.pageBase = pageBase;
    this.pages += ram.pageCount;
    ram.onCodeWrite = (page) => this.onCodeWrite(pageBase + page);
    this.rams.push(ram);
    this.rams.sort((a, b) => a.base - b.base);
    this.rebuild();
  }

  /** Makes a RAM/ROM region read-only (guest writes dropped or sent to its romWrite) or writable again. */
  setReadOnly(ram: Ram, readOnly: boolean): void {
    if (!this.rams.includes(ram)) throw new Error(`RAM region ${ram.name} is not mapped here`);
    if (ram === this.ram && readOnly) throw new Error(`the primary RAM (${ram.name}) cannot be read-only`);
    ram.readOnly = readOnly;
  }

  /**
   * Routes [base, base + size) to regions added unmapped, at their own addresses: reads from `read` and writes to
   * `write` (a read-only `write` drops them or hands them to its romWrite); null reads are unassigned, null
   * writes are dropped. A route of the same range is replaced (reprogramming); others may not overlap it.
   */
  route(base: number, size: number, read: Ram | null, write: Ram | null): void {
    for (const r of [read, write]) {
      if (r === null) continue;
      if (!this.unmapped.has(r)) throw new Error(`RAM region ${r.name} was not added unmapped`);
      if (base < r.base || base + size > r.base + r.size) throw new Error(`RAM region ${r.name} does not cover the routed range`);
    }
    const same = this.routes.findIndex((r) => r.base === base && r.size === size);
    if (same >= 0) {
      const old = this.routes[same];
      if (old.read === read && old.write === write) return;
      this.routes.splice(same, 1);
      // Code decoded from the old bytes (or running into them from the page before) must go.
      if (old.read !== null) this.invalidateCodeIn(old.read, base, size);
    } else this.checkFree(`route at 0x${base.toString(16)}`, base, size);
    if (read !== null) this.invalidateCodeIn(read, base, size);
    this.routes.push({ base, size, read, write });
    this.rebuild();
  }

  private invalidateCodeIn(ram: Ram, base: number, size: number): void {
    for (let p = (base - ram.base) >>> PAGE_BITS; p < (base + size - ram.base) >>> PAGE_BITS; p++) ram.invalidateCode(p);
  }

  map(name: string, base: number, size: number, handler: MmioHandler): void {
    this.checkFree(`MMIO region ${name}`, base, size);
    this.mmios.push({ name, base, size, handler });
    this.rebuild();
  }

  /** Removes an MMIO region (a PCI BAR that moves). */
  unmap(name: string): void {
    const i = this.mmios.findIndex((r) => r.name === name);
    if (i < 0) throw new Error(`no MMIO region ${name}`);
    this.mmios.splice(i, 1);
    this.rebuild();
  }

  private checkFree(what: string, base: number, size: number): void {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) throw new RangeError(`${what}: bad range`);
    for (const r of this.regions) {
      if (base < r.end && r.base < base + size) throw new Error(`${what} overlaps ${r.mmio ? r.mmio.name : (r.ram ?? r.write)?.name ?? "a route"}`);
    }
  }

  /** Changes whenever the map is rebuilt (a region mapped or unmapped, a route reprogrammed): callers that cache
   * where an address leads (the x86 interpreter's code lookup) compare it. */
  mapGeneration = 0;

  private rebuild(): void {
    this.mapGeneration++;
    const all: Region[] = [
      ...this.rams.filter((r) => !this.unmapped.has(r)).map((r) => ({ base: r.base, end: r.base + r.size, ram: r, write: r, mmio: null })),
      ...this.mmios.map((m) => ({ base: m.base, end: m.base + m.size, ram: null, write: null, mmio: m })),
      ...this.routes.map((t) => ({ base: t.base, end: t.base + t.size, ram: t.read, write: t.write, mmio: null })),
    ];
    this.regions = all.sort((a, b) => a.base - b.base);
  }

  /** The region holding `pa`, if any. */
  private find(pa: number): Region | undefined {
    const map = this.regions;
    let lo = 0;
    let hi = map.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (map[mid].base <= pa) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const r = map[lo - 1];
    return pa < r.end ? r : undefined;
  }

  /** The MMIO region containing `pa`, if any (for diagnostics). */
  regionAt(pa: number): MmioRegion | undefined {
    return this.find(pa)?.mmio ?? undefined;
  }

  /** The RAM/ROM region holding all of [pa, pa + len), if one does. */
  ramAt(pa: number, len: number): Ram | undefined {
    const ram = this.ram;
    const off = pa - ram.base;
    if (off >= 0 && off + len <= ram.size) return ram;
    const r = this.find(pa);
    return r !== undefined && r.ram !== null && pa + len <= r.end ? r.ram : undefined;
  }

  /** A debugger's write: RAM/ROM bytes only, RangeError when any of [pa, pa + length) is not memory. */
  writeMemoryBytes(pa: number, data: Uint8Array): void {
    if (!this.isMemory(pa, data.length)) throw new RangeError(`physical range 0x${pa.toString(16)}+${data.length} is not RAM`);
    this.writeBytes(pa, data);
  }

  /** Whether every byte of [pa, pa + len) is RAM or ROM (regions may change along the way). */
  isMemory(pa: number, len: number): boolean {
    return this.pieces(pa, len) !== undefined;
  }

  /**
   * Whether an access to [pa, pa + len) touches only memory bytes, so putting the old bytes back undoes it: RAM
   * or ROM, and for a write, no ROM that forwards writes elsewhere (romWrite).
   */
  plainMemory(pa: number, len: number, isWrite: boolean): boolean {
    const ram = this.ram;
    const off = pa - ram.base;
    if (off >= 0 && off + len <= ram.size) return true;
    const pieces = this.pieces(pa, len, isWrite);
    if (pieces === undefined) return false;
    return !isWrite || pieces.every((p) => !p.ram.readOnly || p.ram.romWrite === null);
  }

  /** [pa, pa + len) cut at region boundaries (for reads, or a guest's writes), or undefined when some byte is not RAM/ROM. */
  private pieces(pa: number, len: number, isWrite = false): Piece[] | undefined {
    const out: Piece[] = [];
    let at = pa;
    const end = pa + len;
    while (at < end) {
      const r = this.find(at);
      const ram = r === undefined ? null : isWrite ? r.write : r.ram;
      if (r === undefined || ram === null) return undefined;
      const n = Math.min(r.end, end) - at;
      out.push({ ram, offset: at - ram.base, length: n });
      at += n;
    }
    return out;
  }

  // ---- guest accesses: the primary RAM inline, everything else in slowRead/slowWrite ----

  read8(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off < this.ram.size) return this.ram.bytes[off];
    return this.slowRead(pa, 1);
  }
  read16(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 2 <= this.ram.size) return this.ram.view.getUint16(off, true);
    return this.slowRead(pa, 2);
  }
  read32(pa: number): number {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 4 <= this.ram.size) return this.ram.view.getUint32(off, true);
    return this.slowRead(pa, 4);
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
    this.slowWrite(pa, 1, v & 0xff);
  }
  write16(pa: number, v: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 2 <= this.ram.size) {
      this.ram.touch(off);
      if ((off & (PAGE_SIZE - 1)) > PAGE_SIZE - 2) this.ram.touch(off + 1);
      this.ram.view.setUint16(off, v, true);
      return;
    }
    this.slowWrite(pa, 2, v & 0xffff);
  }
  write32(pa: number, v: number): void {
    const off = pa - this.ram.base;
    if (off >= 0 && off + 4 <= this.ram.size) {
      this.ram.touch(off);
      if ((off & (PAGE_SIZE - 1)) > PAGE_SIZE - 4) this.ram.touch(off + 3);
      this.ram.view.setUint32(off, v, true);
      return;
    }
    this.slowWrite(pa, 4, v >>> 0);
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

  /** A 1-, 2- or 4-byte read outside the primary RAM. */
  private slowRead(pa: number, size: number): number {
    const r = this.find(pa);
    if (r !== undefined) {
      if (r.mmio !== null) {
        const v = r.mmio.handler.read(pa - r.base, size);
        return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
      }
      if (pa + size <= r.end) {
        const ram = r.ram;
        if (ram === null) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; // a route without reads
        const off = pa - ram.base;
        return size === 1 ? ram.bytes[off] : size === 2 ? ram.view.getUint16(off, true) : ram.view.getUint32(off, true);
      }
    } else if (size === 1 || this.find(pa + size - 1) === undefined) {
      if (this.unassigned === "bus-error") throw new BusError(pa, false);
      return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    }
    // Straddles two regions (or a region and a hole): byte by byte, little-endian.
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.slowRead(pa + i, 1) << (8 * i);
    return v >>> 0;
  }

  /** A 1-, 2- or 4-byte write outside the primary RAM (`v` already masked to the size). */
  private slowWrite(pa: number, size: number, v: number): void {
    const r = this.find(pa);
    if (r !== undefined) {
      if (r.mmio !== null) {
        r.mmio.handler.write(pa - r.base, size, v);
        return;
      }
      if (pa + size <= r.end) {
        const ram = r.write;
        if (ram === null) return;
        const off = pa - ram.base;
        if (ram.readOnly) {
          if (ram.romWrite !== null) ram.romWrite(off, size, v);
          return;
        }
        ram.touch(off);
        if (size > 1 && (off & (PAGE_SIZE - 1)) > PAGE_SIZE - size) ram.touch(off + size - 1);
        if (size === 1) ram.bytes[off] = v;
        else if (size === 2) ram.view.setUint16(off, v, true);
        else ram.view.setUint32(off, v, true);
        return;
      }
    } else if (size === 1 || this.find(pa + size - 1) === undefined) {
      if (this.unassigned === "bus-error") throw new BusError(pa, true);
      return;
    }
    // Straddles two regions (or a region and a hole): byte by byte, nothing written if a byte would fault.
    if (this.unassigned === "bus-error") for (let i = 0; i < size; i++) if (this.find(pa + i) === undefined) throw new BusError(pa + i, true);
    for (let i = 0; i < size; i++) this.slowWrite(pa + i, 1, (v >>> (8 * i)) & 0xff);
  }

  // ---- host accesses (loaders, debugger, checkpoints of a watched store) ----

  /** Copies out RAM/ROM bytes, failing with BusError unless every byte is RAM or ROM. MMIO is not read. */
  readBytes(pa: number, len: number): Uint8Array {
    const off = pa - this.ram.base;
    if (off >= 0 && off + len <= this.ram.size) return this.ram.bytes.slice(off, off + len);
    const pieces = this.pieces(pa, len);
    if (pieces === undefined) throw new BusError(pa, false);
    const out = new Uint8Array(len);
    let at = 0;
    for (const p of pieces) {
      out.set(p.ram.bytes.subarray(p.offset, p.offset + p.length), at);
      at += p.length;
    }
    return out;
  }

  /** Copies bytes into RAM or ROM (read-only regions too: this is the host writing), marking pages dirty. */
  writeBytes(pa: number, data: Uint8Array): void {
    const pieces = this.pieces(pa, data.length);
    if (pieces === undefined) throw new BusError(pa, true);
    let at = 0;
    for (const p of pieces) {
      p.ram.load(p.offset, data.subarray(at, at + p.length));
      at += p.length;
    }
  }
}

// Paging in the CPU (Intel SDM Vol. 3 ch. 4), as QEMU's TCG does it for qemu64: 32-bit paging (4 KiB pages, 4 MiB
// with CR4.PSE and PSE-36 address bits), PAE paging (CR4.PAE; the four PDPTEs come from the PDPTE registers the
// CPU loads at MOV CR3, see cpu.ts) and 4-level paging (EFER.LMA). U/S and R/W combined over all levels with
// CR0.WP, XD with EFER.NXE (PAE and 4-level only), reserved bits (MAXPHYADDR 40, no 1 GiB pages: qemu64 lacks
// pdpe1gb) and accessed/dirty bits set as QEMU sets them: the accessed bit of each non-leaf entry as the walk
// passes it, the leaf's accessed (and on a write dirty) bit once the access is allowed. A #PF sets CR2 and has
// the architectural error code (P, W/R, U/S, RSVD, I/D). Translations are cached in the TLB (tlb.ts); a write
// through an entry whose leaf is not yet dirty walks again to set the dirty bit, as the hardware does.
//
// PagedMemory is the CPU's memory while CR0.PG = 1: accesses that cross a page translate both pages before
// touching either.

import type { AddressSpace } from "../../core/memory.js";
import type { X86Memory } from "./cpu-state.js";
import { X86Fault } from "./cpu.js";
import { Tlb, TLB_DIRTY, TLB_GLOBAL, TLB_NX, TLB_USER, TLB_WRITE } from "./tlb.js";

export const READ = 0;
export const WRITE = 1;
export const FETCH = 2;
export type Access = typeof READ | typeof WRITE | typeof FETCH;

/** What a walk reads of the CPU (and CR2, which a #PF writes). */
export interface PagingCpu {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly efer: number;
  cr2: number;
  cpl: number;
  readonly bus: AddressSpace;
  /** The PAE PDPTE registers: (low, high) per entry. */
  readonly pdpte: Uint32Array;
}

/** #PF error code bits. */
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

const PF = 14;
const WP = 0x10000;
const PSE = 0x10;
const PAE = 0x20;
const PGE = 0x80;
const NXE = 0x800;
const LMA = 0x400;
const TWO32 = 4294967296;
/** Bits 51:40 of a 64-bit entry's high half: above qemu64's MAXPHYADDR (40). */
const RSVD_HI = 0x000fff00;
const ACCESSED = 0x20;
const DIRTY = 0x40;
const PS = 0x80;
const GLOBAL = 0x100;

/** An entry's R/W and U/S as TLB rights. */
function rightsOf(e: number): number {
  return (e & 2 ? TLB_WRITE : 0) | (e & 4 ? TLB_USER : 0);
}

export class PagingUnit {
  readonly tlb = new Tlb();

  constructor(private readonly cpu: PagingCpu) {}

  /** The physical address of linear (lo, hi) for `access` at user (CPL 3) or supervisor privilege; #PF if denied. */
  translate(lo: number, hi: number, access: Access, user: boolean): number {
    const t = this.tlb;
    const i = (lo >>> 12) & 0xff;
    const r = t.rights[i];
    if (r !== 0 && t.tagLo[i] === ((lo >>> 12) | (hi << 20)) && t.tagHi[i] === hi >>> 12 && (!user || r & TLB_USER)) {
      if (access === READ) return t.phys[i] + (lo & 0xfff);
      if (access === FETCH ? !(r & TLB_NX) : r & TLB_DIRTY && (r & TLB_WRITE || (!user && !(this.cpu.cr0 & WP)))) return t.phys[i] + (lo & 0xfff);
    }
    return this.walk(lo >>> 0, hi >>> 0, access, user);
  }

  /** Walks the tables for (lo, hi), sets accessed/dirty bits, fills the TLB; #PF when not mapped or denied. */
  private walk(lo: number, hi: number, access: Access, user: boolean): number {
    const c = this.cpu;
    const bus = c.bus;
    const cr4 = c.cr4;
    const nxe = (cr4 & PAE) !== 0 && (c.efer & NXE) !== 0;
    let rights = TLB_USER | TLB_WRITE;
    let nx = false;
    let page: number;
    let leafAt: number;
    let leaf: number;
    let large = false;
    // Reserved bits of a 64-bit entry's high half: 51:40, and XD without NXE.
    const rsvdHi = RSVD_HI | (nxe ? 0 : 0x80000000);
    if (!(cr4 & PAE)) {
      const pdeAt = ((c.cr3 & 0xfffff000) >>> 0) + (lo >>> 22) * 4;
      const pde = bus.read32(pdeAt) >>> 0;
      if (!(pde & 1)) return this.pageFault(lo, access, user, 0, nxe);
      rights &= rightsOf(pde);
      if (pde & PS && cr4 & PSE) {
        // 4 MiB page: bits 20:13 are physical address bits 39:32 (PSE-36), bit 21 is reserved.
        if (pde & 0x200000) return this.pageFault(lo, access, user, PF_RSVD, nxe);
        page = ((pde >>> 13) & 0xff) * TWO32 + ((pde & 0xffc00000) >>> 0) + (lo & 0x3ff000);
        leafAt = pdeAt;
        leaf = pde;
        large = true;
      } else {
        if (!(pde & ACCESSED)) bus.write32(pdeAt, (pde | ACCESSED) >>> 0);
        leafAt = ((pde & 0xfffff000) >>> 0) + ((lo >>> 12) & 0x3ff) * 4;
        leaf = bus.read32(leafAt) >>> 0;
        if (!(leaf & 1)) return this.pageFault(lo, access, user, 0, nxe);
        rights &= rightsOf(leaf);
        page = (leaf & 0xfffff000) >>> 0;
      }
    } else {
      let pdLo: number;
      let pdHi: number;
      if (c.efer & LMA) {
        // A non-canonical address (bits 63:47 not all equal) is #GP(0), not a #PF.
        const top = hi >>> 15;
        if (top !== 0 && top !== 0x1ffff) throw new X86Fault(13, 0);
        const pml4At = ((c.cr3 & 0xfffff000) >>> 0) + ((hi >>> 7) & 0x1ff) * 8;
        const elo = bus.read32(pml4At) >>> 0;
        const ehi = bus.read32(pml4At + 4) >>> 0;
        if (!(elo & 1)) return this.pageFault(lo, access, user, 0, nxe);
        if (ehi & rsvdHi || elo & PS) return this.pageFault(lo, access, user, PF_RSVD, nxe);
        if (!(elo & ACCESSED)) bus.write32(pml4At, (elo | ACCESSED) >>> 0);
        rights &= rightsOf(elo);
        if (ehi & 0x80000000) nx = true;
        const pdptAt = (ehi & 0xff) * TWO32 + ((elo & 0xfffff000) >>> 0) + ((((hi & 0x7f) << 2) | (lo >>> 30)) >>> 0) * 8;
        pdLo = bus.read32(pdptAt) >>> 0;
        pdHi = bus.read32(pdptAt + 4) >>> 0;
        if (!(pdLo & 1)) return this.pageFault(lo, access, user, 0, nxe);
        if (pdHi & rsvdHi || pdLo & PS) return this.pageFault(lo, access, user, PF_RSVD, nxe);
        if (!(pdLo & ACCESSED)) bus.write32(pdptAt, (pdLo | ACCESSED) >>> 0);
        rights &= rightsOf(pdLo);
        if (pdHi & 0x80000000) nx = true;
      } else {
        // PAE: the PDPTE registers (checked for reserved bits when loaded); they carry no rights.
        pdLo = c.pdpte[2 * (lo >>> 30)];
        pdHi = c.pdpte[2 * (lo >>> 30) + 1];
        if (!(pdLo & 1)) return this.pageFault(lo, access, user, 0, nxe);
      }
      const pdeAt = (pdHi & 0xff) * TWO32 + ((pdLo & 0xfffff000) >>> 0) + ((lo >>> 21) & 0x1ff) * 8;
      const pde = bus.read32(pdeAt) >>> 0;
      const pdeHi = bus.read32(pdeAt + 4) >>> 0;
      if (!(pde & 1)) return this.pageFault(lo, access, user, 0, nxe);
      if (pdeHi & rsvdHi || (pde & PS && pde & 0x1fe000)) return this.pageFault(lo, access, user, PF_RSVD, nxe);
      rights &= rightsOf(pde);
      if (pdeHi & 0x80000000) nx = true;
      if (pde & PS) {
        page = (pdeHi & 0xff) * TWO32 + ((pde & 0xffe00000) >>> 0) + (lo & 0x1ff000);
        leafAt = pdeAt;
        leaf = pde;
        large = true;
      } else {
        if (!(pde & ACCESSED)) bus.write32(pdeAt, (pde | ACCESSED) >>> 0);
        leafAt = (pdeHi & 0xff) * TWO32 + ((pde & 0xfffff000) >>> 0) + ((lo >>> 12) & 0x1ff) * 8;
        leaf = bus.read32(leafAt) >>> 0;
        const pteHi = bus.read32(leafAt + 4) >>> 0;
        if (!(leaf & 1)) return this.pageFault(lo, access, user, 0, nxe);
        if (pteHi & rsvdHi) return this.pageFault(lo, access, user, PF_RSVD, nxe);
        rights &= rightsOf(leaf);
        if (pteHi & 0x80000000) nx = true;
        page = (pteHi & 0xff) * TWO32 + ((leaf & 0xfffff000) >>> 0);
      }
    }
    if (user && !(rights & TLB_USER)) return this.pageFault(lo, access, user, PF_P, nxe);
    if (access === WRITE && !(rights & TLB_WRITE) && (user || c.cr0 & WP)) return this.pageFault(lo, access, user, PF_P, nxe);
    if (access === FETCH && nx) return this.pageFault(lo, access, user, PF_P, nxe);
    const dirty = access === WRITE || (leaf & DIRTY) !== 0;
    const set = ACCESSED | (access === WRITE ? DIRTY : 0);
    if ((leaf & set) !== set) bus.write32(leafAt, (leaf | set) >>> 0);
    const global = cr4 & PGE && leaf & GLOBAL ? TLB_GLOBAL : 0;
    this.tlb.fill(lo, hi, page, rights | (nx ? TLB_NX : 0) | (dirty ? TLB_DIRTY : 0) | global, large);
    return page + (lo & 0xfff);
  }

  private pageFault(lo: number, access: Access, user: boolean, code: number, nxe: boolean): never {
    this.cpu.cr2 = lo >>> 0;
    code |= (access === WRITE ? PF_W : 0) | (user ? PF_U : 0) | (access === FETCH && nxe ? PF_I : 0);
    throw new X86Fault(PF, code);
  }
}

/** The value halves a read leaves (the CPU, or a scratch pair for the CPU's own accesses). */
export interface ReadResult {
  vlo: number;
  vhi: number;
}

/** Linear accesses with paging on: through the TLB, both pages translated before an access that crosses. */
export class PagedMemory implements X86Memory {
  constructor(
    private readonly unit: PagingUnit,
    private readonly cpu: PagingCpu,
  ) {}

  read(s: ReadResult, lo: number, hi: number, size: 1 | 2 | 4 | 8): void {
    this.readAs(s, lo, hi, size, this.cpu.cpl === 3);
  }

  write(_s: ReadResult, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): void {
    this.writeAs(lo, hi, size, vlo, vhi, this.cpu.cpl === 3);
  }

  /** A read at the given privilege (descriptor tables are read as supervisor whatever the CPL). */
  readAs(s: ReadResult, lo: number, hi: number, size: 1 | 2 | 4 | 8, user: boolean): void {
    const bus = this.cpu.bus;
    const first = 0x1000 - (lo & 0xfff);
    if (size <= first) {
      const pa = this.unit.translate(lo, hi, READ, user);
      if (size === 1) s.vlo = bus.read8(pa);
      else if (size === 2) s.vlo = bus.read16(pa);
      else if (size === 4) s.vlo = bus.read32(pa) >>> 0;
      else {
        s.vlo = bus.read64(pa) >>> 0;
        s.vhi = bus.hi >>> 0;
        return;
      }
      s.vhi = 0;
      return;
    }
    const pa1 = this.unit.translate(lo, hi, READ, user);
    const next = (lo >>> 0) + first;
    const pa2 = this.unit.translate(next >>> 0, next > 0xffffffff ? (hi + 1) >>> 0 : hi, READ, user);
    let vlo = 0;
    let vhi = 0;
    for (let i = 0; i < size; i++) {
      const b = bus.read8(i < first ? pa1 + i : pa2 + i - first);
      if (i < 4) vlo |= b << (8 * i);
      else vhi |= b << (8 * (i - 4));
    }
    s.vlo = vlo >>> 0;
    s.vhi = vhi >>> 0;
  }

  writeAs(lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number, user: boolean): void {
    const bus = this.cpu.bus;
    const first = 0x1000 - (lo & 0xfff);
    if (size <= first) {
      const pa = this.unit.translate(lo, hi, WRITE, user);
      if (size === 1) bus.write8(pa, vlo & 0xff);
      else if (size === 2) bus.write16(pa, vlo & 0xffff);
      else if (size === 4) bus.write32(pa, vlo >>> 0);
      else bus.write64(pa, vlo >>> 0, vhi >>> 0);
      return;
    }
    const pa1 = this.unit.translate(lo, hi, WRITE, user);
    const next = (lo >>> 0) + first;
    const pa2 = this.unit.translate(next >>> 0, next > 0xffffffff ? (hi + 1) >>> 0 : hi, WRITE, user);
    for (let i = 0; i < size; i++) {
      const b = (i < 4 ? vlo >>> (8 * i) : vhi >>> (8 * (i - 4))) & 0xff;
      bus.write8(i < first ? pa1 + i : pa2 + i - first, b);
    }
  }
}

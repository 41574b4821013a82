// Linear -> physical translation for the debugger, without side effects (no accessed/dirty bits, no #PF, no TLB):
// the Intel SDM Vol. 3 §4 walks — none (CR0.PG = 0: identity), 32-bit paging (4 KiB pages, 4 MiB with CR4.PSE and
// PSE-36 address bits), PAE paging (CR4.PAE, 4 KiB / 2 MiB) and 4-level paging (EFER.LMA: 4 KiB / 2 MiB / 1 GiB,
// canonical addresses only). Reserved bits are not checked (the debugger shows what the entries point at); 5-level
// paging (CR4.LA57) is not supported (undefined). Entries are read through `read32`, which returns undefined for
// anything that is not memory, so a walk never touches a device.
//
// The same walk serves writeTargets (where a watched virtual range lands in a saved state, and which table pages
// could move it) and, with the flags below, the interval summaries reverse continue uses to skip intervals.

import type { SavedPageReader, WriteTargets } from "../../core/debug.js";
import type { StateSection } from "../../core/state.js";

/** IntervalFlags bits (core/exec-summary.ts) the x86 CPU notes. */
export const enum X86IntervalFlag {
  /** CR0.PG/WP, CR3, CR4 or EFER changed: any linear address may map elsewhere. */
  Paging = 1,
  /** A segment register was loaded: segment:offset addresses may move (linear ones, which GDB uses, do not). */
  Segments = 2,
}

/** The registers a walk reads. */
export interface PagingRegisters {
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
}

export type PhysicalRead32 = (pa: number) => number | undefined;

const PG = 0x80000000;
const PSE = 0x10;
const PAE = 0x20;
const LA57 = 0x1000;
const LMA = 0x400;
const TWO32 = 4294967296;
/** Bits 51:12 of a PAE / 4-level entry, as the high half's mask (bits 51:32) and the low half's (31:12). */
const HI_ADDR = 0xfffff;
const LO_ADDR = 0xfffff000;

/**
 * The physical address linear (lo, hi) maps to, or undefined when it is not mapped (or not canonical, or a table
 * is not memory). Every table entry read is pushed (its physical address) onto `tables` when given.
 */
export function walk(regs: PagingRegisters, lo: number, hi: number, read32: PhysicalRead32, tables?: number[]): number | undefined {
  lo >>>= 0;
  hi >>>= 0;
  if (!(regs.cr0 & PG)) return hi === 0 ? lo : undefined;
  const read = (pa: number): number | undefined => {
    tables?.push(pa);
    return read32(pa);
  };
  if (!(regs.cr4 & PAE)) {
    if (hi !== 0) return undefined;
    const pde = read(((regs.cr3 & LO_ADDR) >>> 0) + (lo >>> 22) * 4);
    if (pde === undefined || !(pde & 1)) return undefined;
    if (pde & 0x80 && regs.cr4 & PSE) return ((pde >>> 13) & 0xff) * TWO32 + ((pde & 0xffc00000) >>> 0) + (lo & 0x3fffff);
    const pte = read(((pde & LO_ADDR) >>> 0) + ((lo >>> 12) & 0x3ff) * 4);
    if (pte === undefined || !(pte & 1)) return undefined;
    return ((pte & LO_ADDR) >>> 0) + (lo & 0xfff);
  }
  // A 64-bit entry: [low half, high half], or undefined.
  const entry = (pa: number): [number, number] | undefined => {
    const elo = read(pa);
    const ehi = read32(pa + 4);
    return elo === undefined || ehi === undefined || !(elo & 1) ? undefined : [elo >>> 0, ehi >>> 0];
  };
  const next = (e: [number, number]): number => (e[1] & HI_ADDR) * TWO32 + ((e[0] & LO_ADDR) >>> 0);
  let table: number;
  if (regs.efer & LMA) {
    if (regs.cr4 & LA57) return undefined;
    // Canonical: bits 63:47 all equal.
    const top = hi >>> 15;
    if (top !== 0 && top !== 0x1ffff) return undefined;
    const pml4e = entry(((regs.cr3 & LO_ADDR) >>> 0) + ((hi >>> 7) & 0x1ff) * 8);
    if (pml4e === undefined) return undefined;
    const pdpte = entry(next(pml4e) + (((hi & 0x7f) << 2) | (lo >>> 30)) * 8);
    if (pdpte === undefined) return undefined;
    if (pdpte[0] & 0x80) return (pdpte[1] & HI_ADDR) * TWO32 + ((pdpte[0] & 0xc0000000) >>> 0) + (lo & 0x3fffffff);
    table = next(pdpte);
  } else {
    if (hi !== 0) return undefined;
    // PAE: CR3 bits 31:5 locate the four PDPTEs.
    const pdpte = entry(((regs.cr3 & 0xffffffe0) >>> 0) + (lo >>> 30) * 8);
    if (pdpte === undefined) return undefined;
    table = next(pdpte);
  }
  const pde = entry(table + ((lo >>> 21) & 0x1ff) * 8);
  if (pde === undefined) return undefined;
  if (pde[0] & 0x80) return (pde[1] & HI_ADDR) * TWO32 + ((pde[0] & 0xffe00000) >>> 0) + (lo & 0x1fffff);
  const pte = entry(next(pde) + ((lo >>> 12) & 0x1ff) * 8);
  if (pte === undefined) return undefined;
  return next(pte) + (lo & 0xfff);
}

/** Ranges longer than this many pages are not worth walking: every interval is a candidate for them. */
const MAX_PAGES = 1024;
const PAGE = 4096;

/**
 * Where writes to linear [addr, addr + length) land while the translation stays as in `state` (the CPU's section
 * is `cpuSection`; RAM through `page`): each page's walk result, the table entries read (their pages), and the
 * Paging flag. Undefined when the state has no such CPU or the range is huge.
 */
export function writeTargets(cpuSection: string, addr: bigint, length: number, state: readonly StateSection[], page: SavedPageReader): WriteTargets | undefined {
  const f = state.find((s) => s.name === cpuSection)?.fields;
  if (f === undefined) return undefined;
  const regs = { cr0: f.cr0, cr3: f.cr3, cr4: f.cr4, efer: f.efer };
  if (!Object.values(regs).every((v) => typeof v === "number")) return undefined;
  const first = addr >> 12n;
  const last = (addr + BigInt(Math.max(1, length)) - 1n) >> 12n;
  if (last - first >= BigInt(MAX_PAGES)) return undefined;
  const read32: PhysicalRead32 = (pa) => {
    const p = page(pa - (pa % PAGE));
    if (p === undefined) return undefined;
    const off = pa % PAGE;
    return (p[off] | (p[off + 1] << 8) | (p[off + 2] << 16) | (p[off + 3] << 24)) >>> 0;
  };
  const pages = new Set<number>();
  const tables = new Set<number>();
  const read: number[] = [];
  for (let p = first; p <= last; p++) {
    const va = BigInt.asUintN(64, p << 12n);
    read.length = 0;
    const pa = walk(regs as PagingRegisters, Number(va & 0xffffffffn), Number(va >> 32n), read32, read);
    for (const t of read) tables.add(t - (t % PAGE));
    if (pa !== undefined) pages.add(pa - (pa % PAGE));
  }
  return { pages: [...pages], tables: [...tables], flags: X86IntervalFlag.Paging };
}

// Checkpoints of a replaying machine, with RAM copy-on-write by page.
//
// A checkpoint holds the encoded state of every part except RAM, plus copies of the RAM pages written since
// the checkpoint before it in time. Every RAM and ROM region is paged alike: a page is named by one number, its
// region's first page in the store's numbering (regions in the machine's order) plus its page in the region. The content of page p at checkpoint k is therefore the copy in the latest
// checkpoint j <= k that holds p (the first checkpoint holds every non-zero page). Checkpoints may be added
// anywhere in the timeline and removed (merging their pages into their successor), so the store can stay dense
// around the current position and thin out further away within a memory budget (DESIGN.md §3).

import { DirtyBit, PAGE_SIZE, type Ram } from "../core/memory.js";
import { decodeState, encodeState, loadSections, saveSections, type Stateful } from "../core/state.js";

export interface Checkpoint {
  icount: number;
  ticks: number;
  /** Encoded state of every part except RAM. */
  state: Uint8Array;
  /** RAM pages (store page numbers) written since the previous checkpoint in time, with their content here. */
  pages: Map<number, Uint8Array>;
  /** Opaque data the owner restores with the checkpoint (e.g. the replay input position). */
  extra: number;
  /** The interval flags (core/exec-summary.ts) noted since the previous checkpoint in time, as `pages`. */
  flags: number;
}

/** Where the interval flags come from (the machine's IntervalFlags). */
export interface FlagSource {
  peek(): number;
  take(): number;
}

/** What may have been written in a stretch of the timeline: store pages and interval flags (supersets). */
export interface WrittenBetween {
  pages: Set<number>;
  flags: number;
}

export interface CheckpointStats {
  count: number;
  pages: number;
  bytes: number;
}

export class CheckpointStore {
  /** In increasing (icount, ticks) order. */
  private readonly list: Checkpoint[] = [];
  /** The checkpoint the current RAM descends from: RAM = its content + the pages dirtied since. */
  private base: Checkpoint | undefined;
  private bytes = 0;
  /** Every RAM/ROM region, and the store page number of each one's first page. */
  private readonly rams: readonly Ram[];
  private readonly firstPage: number[] = [];
  private readonly pageCount: number;

  constructor(
    /** Every RAM and ROM region of the machine, in a fixed order. */
    rams: readonly Ram[],
    /** Every state part except RAM, in saved-section order. */
    private readonly parts: readonly Stateful[],
    /** Memory budget for checkpoint data in bytes. */
    readonly budget: number,
    /** The interval flags each checkpoint takes (none: every checkpoint has flags 0). */
    private readonly flagSource: FlagSource = { peek: () => 0, take: () => 0 },
  ) {
    this.rams = [...rams];
    let pages = 0;
    for (const r of this.rams) {
      this.firstPage.push(pages);
      pages += r.pageCount;
    }
    this.pageCount = pages;
  }

  get checkpoints(): readonly Checkpoint[] {
    return this.list;
  }

  stats(): CheckpointStats {
    let pages = 0;
    for (const c of this.list) pages += c.pages.size;
    return { count: this.list.length, pages, bytes: this.bytes };
  }

  /** The latest checkpoint at or before (icount, ticks). */
  atOrBefore(icount: number, ticks = Infinity): Checkpoint | undefined {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.list[mid];
      if (c.icount < icount || (c.icount === icount && c.ticks <= ticks)) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? this.list[lo - 1] : undefined;
  }

  /** The earliest checkpoint strictly after `icount`. */
  after(icount: number): Checkpoint | undefined {
    return this.list.find((c) => c.icount > icount);
  }

  /** Captures the machine now (at a step boundary). The first capture stores every non-zero page. */
  capture(icount: number, ticks: number, extra: number): Checkpoint {
    const existing = this.atOrBefore(icount, ticks);
    if (existing && existing.icount === icount && existing.ticks === ticks) {
      this.adoptBase(existing);
      return existing;
    }
    const pages = new Map<number, Uint8Array>();
    const first = this.list.length === 0;
    this.rams.forEach((ram, r) => {
      const dirty = ram.dirty;
      const base = this.firstPage[r];
      for (let p = 0; p < ram.pageCount; p++) {
        if (first ? !pageIsZero(ram, p) : (dirty[p] & DirtyBit.Checkpoint) !== 0) pages.set(base + p, ram.bytes.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
      }
      ram.clearDirty(DirtyBit.Checkpoint);
    });
    const cp: Checkpoint = { icount, ticks, state: encodeState(saveSections(this.parts)), pages, extra, flags: this.flagSource.take() };
    const at = this.list.findIndex((c) => c.icount > icount || (c.icount === icount && c.ticks > ticks));
    // A checkpoint inserted before others must hold every page that differs from its predecessor; it does,
    // because the current RAM descends from `base`, which is its predecessor (capture happens only while
    // executing forward from base).
    if (at < 0) this.list.push(cp);
    else this.list.splice(at, 0, cp);
    this.bytes += cp.state.length + pages.size * PAGE_SIZE;
    this.base = cp;
    return cp;
  }

  /** Makes an existing checkpoint the base without restoring (the machine is exactly at it). */
  private adoptBase(cp: Checkpoint): void {
    // Pages dirtied since the old base are exactly the pages that differ from cp only if we executed from the
    // old base to cp; that is the case here (capture is called at the current position).
    for (const ram of this.rams) ram.clearDirty(DirtyBit.Checkpoint);
    this.flagSource.take();
    this.base = cp;
  }

  /** Restores the machine to checkpoint `cp` exactly. */
  restore(cp: Checkpoint): void {
    // Pages that may differ between now and cp: dirtied since base, plus every page stored by a checkpoint
    // between base and cp in time (either direction).
    const touched = new Set<number>(this.writtenPages());
    const baseIndex = this.base ? this.indexOf(this.base) : -1;
    const cpIndex = this.indexOf(cp);
    if (cpIndex < 0) throw new Error("restoring a checkpoint that is not in the store");
    if (baseIndex < 0) {
      for (let p = 0; p < this.pageCount; p++) touched.add(p);
    } else {
      const lo = Math.min(baseIndex, cpIndex);
      const hi = Math.max(baseIndex, cpIndex);
      for (let i = lo + 1; i <= hi; i++) for (const p of this.list[i].pages.keys()) touched.add(p);
    }
    for (const p of touched) this.writePage(p, this.pageAt(p, cpIndex));
    for (const ram of this.rams) ram.clearDirty(DirtyBit.Checkpoint);
    loadSections(this.parts, decodeState(cp.state));
    this.flagSource.take();
    this.base = cp;
  }

  // ---- handing a checkpoint to another machine of the same configuration (session/scan-pool.ts) -------------

  /** Pages whose content may differ between checkpoints a and b (those stored by any checkpoint after the
   * earlier one up to the later one); undefined when one of them is no longer in the store. */
  pagesBetween(a: Checkpoint, b: Checkpoint): Set<number> | undefined {
    const ia = this.indexOf(a);
    const ib = this.indexOf(b);
    if (ia < 0 || ib < 0) return undefined;
    const out = new Set<number>();
    for (let i = Math.min(ia, ib) + 1; i <= Math.max(ia, ib); i++) for (const p of this.list[i].pages.keys()) out.add(p);
    return out;
  }

  /** Every page that is not zero at checkpoint cp (or may not be). */
  pagesAt(cp: Checkpoint): Set<number> {
    const out = new Set<number>();
    for (let i = this.indexOf(cp); i >= 0; i--) for (const p of this.list[i].pages.keys()) out.add(p);
    return out;
  }

  /** The content of each of `pages` at checkpoint cp; null for a zero page. */
  contentsAt(cp: Checkpoint, pages: Iterable<number>): [number, Uint8Array | null][] {
    const index = this.indexOf(cp);
    return Array.from(pages, (p) => [p, this.pageAt(p, index) ?? null]);
  }

  /**
   * Loads a checkpoint of another store into this machine: the non-RAM state, and the given pages (null: zero);
   * `complete`: every other page is zero. Without `complete`, the pages not given must already hold their
   * content (the sender knows what this machine holds). The RAM no longer descends from a checkpoint here.
   */
  load(state: Uint8Array, pages: readonly (readonly [number, Uint8Array | null])[], complete: boolean): void {
    if (complete)
      this.rams.forEach((ram, r) => {
        // Zeroes only pages that are not (a fill would commit host memory for the whole RAM).
        for (let p = 0; p < ram.pageCount; p++) if (!pageIsZero(ram, p)) this.writePage(this.firstPage[r] + p, undefined);
      });
    for (const [p, content] of pages) this.writePage(p, content ?? undefined);
    for (const ram of this.rams) ram.clearDirty(DirtyBit.Checkpoint);
    loadSections(this.parts, decodeState(state));
    this.flagSource.take();
    this.base = undefined;
  }

  // ---- what an interval may have written (reverse continue with watchpoints, session/timeline.ts) -----------

  /**
   * What may have been written from checkpoint `from` up to position `to` (a later checkpoint, or the current
   * position when `current`): each checkpoint holds at least the pages written and the flags noted since its
   * predecessor, and the current RAM descends from the base (no later than the newest checkpoint at or before
   * now) by the pages dirtied since it.
   */
  writtenBetween(from: Checkpoint, to: { icount: number; ticks: number }, current: boolean): WrittenBetween {
    const pages = new Set<number>();
    let flags = 0;
    const list = this.list;
    for (let i = this.present(from) + 1; i < list.length; i++) {
      const c = list[i];
      if (c.icount > to.icount || (c.icount === to.icount && c.ticks > to.ticks)) break;
      for (const p of c.pages.keys()) pages.add(p);
      flags |= c.flags;
    }
    if (current) {
      for (const p of this.writtenPages()) pages.add(p);
      flags |= this.flagSource.peek();
    }
    return { pages, flags };
  }

  /** A physical address's store page, or undefined when no RAM or ROM region holds it. */
  pageOf(pa: number): number | undefined {
    for (let r = 0; r < this.rams.length; r++) {
      const ram = this.rams[r];
      if (pa >= ram.base && pa < ram.base + ram.size) return this.firstPage[r] + Math.floor((pa - ram.base) / PAGE_SIZE);
    }
    return undefined;
  }

  /** Store page p's content at checkpoint cp (undefined: zeroes). */
  contentAt(cp: Checkpoint, p: number): Uint8Array | undefined {
    return this.pageAt(p, this.present(cp));
  }

  /** The index of a checkpoint in the store, or -1 when it is not there (binary search by position). */
  private indexOf(cp: Checkpoint): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.list[mid];
      if (c.icount < cp.icount || (c.icount === cp.icount && c.ticks < cp.ticks)) lo = mid + 1;
      else hi = mid;
    }
    return this.list[lo] === cp ? lo : -1;
  }

  /** The index of a checkpoint that must be in the store. */
  private present(cp: Checkpoint): number {
    const i = this.indexOf(cp);
    if (i < 0) throw new Error("checkpoint not in the store");
    return i;
  }

  /** The pages written since the last capture, restore or load (store numbering). */
  writtenPages(): number[] {
    const out: number[] = [];
    this.rams.forEach((ram, r) => {
      for (let p = 0; p < ram.pageCount; p++) if ((ram.dirty[p] & DirtyBit.Checkpoint) !== 0) out.push(this.firstPage[r] + p);
    });
    return out;
  }

  /** Replaces store page p's bytes (undefined: zeroes), marked written as the bus marks a guest write: every dirty
   * consumer sees it again and its decoded code is dropped (the code of the other pages stays valid). */
  private writePage(p: number, content: Uint8Array | undefined): void {
    const [ram, local] = this.locate(p);
    ram.touch(local * PAGE_SIZE);
    if (content) ram.bytes.set(content, local * PAGE_SIZE);
    else ram.bytes.fill(0, local * PAGE_SIZE, (local + 1) * PAGE_SIZE);
  }

  private pageAt(page: number, index: number): Uint8Array | undefined {
    for (let i = index; i >= 0; i--) {
      const c = this.list[i].pages.get(page);
      if (c) return c;
    }
    return undefined;
  }

  /** The region and the page within it of store page `p`. */
  private locate(p: number): [Ram, number] {
    let r = this.rams.length - 1;
    while (this.firstPage[r] > p) r--;
    return [this.rams[r], p - this.firstPage[r]];
  }

  /**
   * Keeps the store within its budget: removes checkpoints far from `position`, keeping roughly exponential
   * spacing (the gap allowed grows with the distance from the position). The first and the last checkpoint and
   * the current base always stay.
   */
  thin(position: number, minSpacing: number): void {
    while (this.bytes > this.budget && this.list.length > 3) {
      // Remove the checkpoint whose gap to its predecessor is smallest relative to its distance from the
      // current position: dense near the position, sparse far away.
      let victim = -1;
      let best = Infinity;
      for (let i = 1; i < this.list.length - 1; i++) {
        const c = this.list[i];
        if (c === this.base) continue;
        const gap = c.icount - this.list[i - 1].icount;
        const score = gap / (Math.abs(c.icount - position) + minSpacing);
        if (score < best) {
          best = score;
          victim = i;
        }
      }
      if (victim < 0) return;
      this.remove(victim);
    }
  }

  /** Removes a checkpoint that has a successor, handing its pages to the successor. */
  private remove(index: number): void {
    const victim = this.list[index];
    const next = this.list[index + 1];
    let dropped = 0;
    for (const [p, content] of victim.pages) {
      if (next.pages.has(p)) dropped++;
      else next.pages.set(p, content);
    }
    next.flags |= victim.flags;
    this.bytes -= victim.state.length + dropped * PAGE_SIZE;
    this.list.splice(index, 1);
  }
}

function pageIsZero(ram: Ram, p: number): boolean {
  const words = new Uint32Array(ram.bytes.buffer, ram.bytes.byteOffset + p * PAGE_SIZE, PAGE_SIZE / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

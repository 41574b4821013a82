// What code ran, per stretch of execution: the virtual pages instructions were fetched from. Engines note a page
// whenever execution enters one (a fetch from a new page, a block on another page), which costs a compare per
// block; the replay timeline cuts the notes into segments of contiguous execution and asks them whether a
// breakpoint could have been hit in an interval, so reverse continue re-executes only intervals that can
// contain a hit (docs/fast-tier.md).

/** A virtual page as one Number: (VA >> 12) for a VA given as lo/hi 32-bit halves (exact below 2^64). */
export function pageKey(lo: number, hi: number): number {
  return (hi >>> 0) * 1048576 + ((lo >>> 0) >>> 12);
}

/** The pages execution has entered since the last take(). */
export class ExecutedPages {
  private pages = new Set<number>();
  /** Pages noted since the last take(), direct-mapped: code that goes back and forth between a few pages (calls
   * to another page) notes them without a Set lookup each time. */
  private readonly recent = new Float64Array(8).fill(-1);

  note(key: number): void {
    const i = key & 7;
    if (this.recent[i] === key) return;
    this.recent[i] = key;
    this.pages.add(key);
  }

  /** The pages noted so far; starts a new, empty set. */
  take(): Set<number> {
    const p = this.pages;
    this.pages = new Set();
    this.recent.fill(-1);
    return p;
  }
}

/** One stretch of contiguous forward execution, [from, to) in icount, and every page it executed from. */
export interface ExecSegment {
  from: number;
  to: number;
  pages: Set<number>;
}

/**
 * The segments seen so far, sorted by start. A segment's pages cover every instruction that started at one of
 * its boundaries from..to-1, so an interval covered by segments none of which holds a page cannot have executed
 * anything on that page.
 */
export class ExecSegments {
  private readonly segments: ExecSegment[] = [];

  add(seg: ExecSegment): void {
    if (seg.to <= seg.from) return;
    const s = this.segments;
    // A segment continuing the last one with the same pages extends it (loops make long runs of equal sets).
    const last = s[s.length - 1];
    if (last !== undefined && last.to === seg.from && samePages(last.pages, seg.pages)) {
      last.to = seg.to;
      return;
    }
    let i = s.length;
    while (i > 0 && s[i - 1].from > seg.from) i--;
    s.splice(i, 0, seg);
  }

  get size(): number {
    return this.segments.length;
  }

  clear(): void {
    this.segments.length = 0;
  }

  /**
   * The earliest y in [from, to] such that nothing in [y, to) may have fetched from `pages` (segments cover it
   * without them): a scan for the last hit before `to` need only replay [from, y). y === from: nothing can hit.
   */
  scanEnd(from: number, to: number, pages: readonly number[]): number {
    let y = to;
    while (y > from) {
      const back = this.coverBefore(y, pages);
      if (back === undefined) break;
      y = Math.max(from, back);
    }
    return y;
  }

  /** The start of a segment that covers boundary y - 1 and holds none of `pages` (the furthest-reaching one). */
  private coverBefore(y: number, pages: readonly number[]): number | undefined {
    const s = this.segments;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid].from < y) lo = mid + 1;
      else hi = mid;
    }
    let best: number | undefined;
    for (let i = lo - 1, seen = 0; i >= 0 && seen < 16; i--, seen++) {
      const seg = s[i];
      if (seg.to < y) continue;
      if (pages.some((p) => seg.pages.has(p))) continue;
      if (best === undefined || seg.from < best) best = seg.from;
    }
    return best;
  }
}

function samePages(a: Set<number>, b: Set<number>): boolean {
  if (a.size !== b.size) return false;
  for (const p of a) if (!b.has(p)) return false;
  return true;
}

/**
 * Events since the last take() that an interval's summary records as bits, for the architecture to interpret
 * (AArch64: the translation of some virtual addresses may have moved). Checkpoints take them, so each checkpoint
 * knows what happened since the one before it, as it knows the pages written.
 */
export class IntervalFlags {
  private bits = 0;

  note(bits: number): void {
    this.bits |= bits;
  }

  /** The bits noted so far, leaving them noted. */
  peek(): number {
    return this.bits;
  }

  /** The bits noted so far; starts again from none. */
  take(): number {
    const b = this.bits;
    this.bits = 0;
    return b;
  }
}

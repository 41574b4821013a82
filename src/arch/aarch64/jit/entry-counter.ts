// How often execution jumps to each address, counted by the interpreter while the block engine lets it run:
// the engine compiles the blocks at addresses that become hot and the interpreter hands control back when it
// jumps to one of them. A direct-mapped table by virtual address (a collision only mixes two addresses' counts:
// it changes when a block is compiled, never what executes).

const BITS = 16;
const MASK = (1 << BITS) - 1;
/** Marks an address whose block is compiled: the interpreter stops when it jumps there. */
const COMPILED = -1;

export class EntryCounter {
  readonly tags = new Int32Array(1 << BITS).fill(-1);
  readonly counts = new Int32Array(1 << BITS);

  constructor(
    /** Jumps to an address before its block is compiled. */
    public threshold: number,
  ) {}

  static index(lo: number, hi: number): number {
    return ((lo >>> 2) ^ (lo >>> 18) ^ hi) & MASK;
  }

  /** Counts a jump to (lo, hi); true when the interpreter should stop there (hot, or compiled already). */
  enter(lo: number, hi: number): boolean {
    const i = EntryCounter.index(lo, hi);
    if (this.tags[i] !== (lo | 0)) {
      this.tags[i] = lo | 0;
      this.counts[i] = 1;
      return this.threshold <= 1;
    }
    const n = this.counts[i];
    if (n === COMPILED) return true;
    this.counts[i] = n + 1;
    return n + 1 >= this.threshold;
  }

  /** Whether execution has jumped to (lo, hi) since it was last counted afresh (or it is compiled). */
  seen(lo: number, hi: number): boolean {
    const i = EntryCounter.index(lo, hi);
    return this.tags[i] === (lo | 0) && this.counts[i] !== 0;
  }

  markCompiled(lo: number, hi: number): void {
    const i = EntryCounter.index(lo, hi);
    this.tags[i] = lo | 0;
    this.counts[i] = COMPILED;
  }

  /** The block there is gone (its page was rewritten) or cannot be compiled: count afresh. */
  forget(lo: number, hi: number): void {
    const i = EntryCounter.index(lo, hi);
    if (this.tags[i] === (lo | 0)) this.counts[i] = 0;
  }
}

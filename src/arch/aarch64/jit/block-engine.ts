// The fast execution tier: compiled blocks over the interpreter (core/engine.ts has the contract both keep).
//
// Blocks are found by the physical address of their first instruction: per code-cache page, one entry per
// word. Code that is not compiled runs in the interpreter, which counts the jumps to every address
// (entry-counter.ts) and hands back when it jumps to one that is compiled or has become hot (HOT_AFTER); the
// block there is then planned and compiled. A compiled block runs only when the whole block fits in the burst's remaining budget; otherwise the
// interpreter runs the steps, so a burst's length is always honoured exactly. Blocks do not depend on the
// breakpoints: a block with one inside is left to the interpreter up to it, and a region does not run on into
// a block that holds one (see runBurst); watchpoints are checked by the accesses themselves, in compiled code as in the
// interpreter (codegen.ts). Interrupts are taken between blocks (a block stops early when one becomes pending) by the
// interpreter, which owns exception entry.
//
// Invalidation needs no bookkeeping of its own: a block page remembers the decoded-code page it was built from
// (Cpu.codeCache), which is dropped when the guest writes the page or a state is loaded; a mismatch means the
// blocks are stale.

import type { ExecutionEngine } from "../../../core/engine.js";
import { pageKey } from "../../../core/exec-summary.js";
import { PAGE_BITS, type Ram } from "../../../core/memory.js";
import { EXCEPTION_TAKEN, type Cpu } from "../cpu.js";
import type { Exec } from "../decoder.js";
import type { Interpreter } from "../interpreter.js";
import { planBlock, successorSlots, type BlockPlan } from "./block.js";
import { EntryCounter } from "./entry-counter.js";
import { compileRegion, type CompiledBlock } from "./codegen.js";
import type { WasmArena } from "./wasm/arena.js";
import { compileWasmRegion } from "./wasm/region.js";

const WORDS_PER_PAGE = 1 << (PAGE_BITS - 2);
const FETCH_FAULTED = 1;
/** Jumps to an address before the block there is compiled. Most code runs a few thousand times at most (boot,
 * set-up), and compiling it costs more than interpreting it: V8 parses and compiles a new function when it is
 * first called and runs it in its own baseline tiers until it is hot there too. Measured on the first 300 M
 * instructions of the Linux boot: 1,000 is slower than the interpreter alone, 20,000 is 1.2x faster; hot loops are
 * compiled either way (docs/fast-tier.md). */
export const HOT_AFTER = 20_000;
/** A region (the blocks compiled together with a hot one: those it reaches in its page) has at most this many
 * blocks and instructions. Measured on compute.elf (docs/fast-tier.md): 2-4 blocks run ~15 % faster than single
 * blocks, 8 or 16 slower than single blocks (V8 optimizes big switch loops worse than it saves in dispatch). */
const REGION_BLOCKS = 4;
const REGION_INSNS = 192;
/** The same for WebAssembly regions, which do better the bigger they are (a call into one costs more than into a
 * JavaScript function, and V8 compiles big ones well): measured on compute.elf, 4 blocks 219 MIPS, 8 248, 16 270,
 * 32 279 (docs/fast-tier.md). */
const WASM_REGION_BLOCKS = 32;
const WASM_REGION_INSNS = 1500;

interface Block {
  /** Where its first instruction is: the RAM/ROM region, the offset in it, the code-cache page and the byte
   * offset in that page (its entry in the compiled region). */
  ram: Ram;
  offset: number;
  page: number;
  at: number;
  /** Instructions in the block once planned (it is planned when it becomes hot; 0: it cannot be compiled, its
   * first word is not an implemented instruction). */
  length: number;
  /** Byte offsets of its instructions from the first (breakpoints inside the block are looked for there). */
  offsets: readonly number[];
  /** The compiled region it is a member of (run from `at`), or null while it is interpreted. */
  run: CompiledBlock | null;
  // Links to the two blocks seen after this one (taken and not-taken), valid while the CPU's fetch generation is
  // linkGen: no code written, no translation changed, no state loaded since.
  linkGen: number;
  aLo: number;
  aHi: number;
  a: Block | undefined;
  bLo: number;
  bHi: number;
  b: Block | undefined;
}

interface BlockPage {
  /** The decoded-code page these blocks were built from; another one means the page changed. */
  code: Exec[];
  blocks: (Block | undefined)[];
}

export interface BlockEngineStats {
  compiled: number;
  interpretedSteps: number;
  compiledSteps: number;
  /** Host time spent compiling (source generation and new Function), in ms. */
  compileMs: number;
  /** Compiled block runs, and block lookups that the links did not answer (the block cache's slow path). */
  blockRuns: number;
  lookups: number;
  /** JavaScript source generated, in characters (a proxy for the memory compiled blocks take). */
  sourceChars: number;
  /** WebAssembly generated, in bytes. */
  wasmBytes: number;
}

export class BlockEngine implements ExecutionEngine {
  private readonly pages: (BlockPage | undefined)[] = [];
  readonly stats: BlockEngineStats = { compiled: 0, interpretedSteps: 0, compiledSteps: 0, compileMs: 0, blockRuns: 0, lookups: 0, sourceChars: 0, wasmBytes: 0 };
  /** One-entry translation cache for block lookup: virtual page -> code-cache page and the RAM offset. */
  private vHi = -1;
  private vPage = -1;
  private vGen = -1;
  private vCodePage = 0;

  /** Jumps to each address, counted by the interpreter while it runs code that is not compiled. */
  private readonly entries = new EntryCounter(HOT_AFTER);

  constructor(
    readonly cpu: Cpu,
    readonly interp: Interpreter,
    /** With an arena (the CPU's registers and the primary RAM in its memory), regions compile to WebAssembly;
     * without, to JavaScript. */
    readonly arena?: WasmArena,
  ) {
    interp.entries = this.entries;
  }

  /** Jumps to an address before its block is compiled (tests set 1 to compile everything at once). */
  get hotAfter(): number {
    return this.entries.threshold;
  }
  set hotAfter(n: number) {
    this.entries.threshold = n;
  }

  endBurst(): void {
    this.cpu.endBurst = true;
  }
  waitingForInterrupt(): boolean {
    return this.interp.waitingForInterrupt();
  }
  takeDebugStop(): boolean {
    return this.interp.takeDebugStop();
  }

  runBurst(budget: number): number {
    const c = this.cpu;
    const interp = this.interp;
    const clock = c.clock;
    const stats = this.stats;
    const executed = interp.executed;
    let done = 0;
    let prev: Block | undefined;
    let notedPage = -1;
    let notedHi = -1;
    while (done < budget) {
      // Halts, interrupts, breakpoints and the fetch itself (which may fault) are the interpreter's.
      if (c.halted || (c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0)) {
        done += interp.runBurst(1);
        prev = undefined;
        if (interp.endedEarly) break;
        continue;
      }
      // The guest's breakpoints, watchpoints or software step are armed: only the interpreter checks them.
      if (c.selfDebugArmed) {
        const ran = interp.runBurst(budget - done);
        done += ran;
        stats.interpretedSteps += ran;
        prev = undefined;
        if (interp.endedEarly) break;
        continue;
      }
      const pcLo = c.pcLo;
      const pcHi = c.pcHi;
      if (interp.breakpointHere(pcLo, pcHi)) {
        c.debugStop = true;
        break;
      }
      // The block after the previous one, from its links; otherwise looked up (and linked).
      let block: Block | undefined;
      if (prev !== undefined && prev.linkGen === c.fetchGeneration) {
        if (prev.aLo === pcLo && prev.aHi === pcHi) block = prev.a;
        else if (prev.bLo === pcLo && prev.bHi === pcHi) block = prev.b;
      }
      if (block === undefined) {
        stats.lookups++;
        const found = this.lookup();
        if (found === FETCH_FAULTED) {
          done++;
          stats.interpretedSteps++;
          prev = undefined;
          if (c.endBurst) {
            c.endBurst = false;
            break;
          }
          continue;
        }
        block = found;
        if (prev !== undefined && block !== undefined) link(prev, block, pcLo, pcHi, c.fetchGeneration);
      }
      prev = block;
      // Linked and cached lookups skip the fetch that notes executed pages: note a new page here.
      if (executed !== null && ((pcLo >>> PAGE_BITS) !== notedPage || pcHi !== notedHi)) {
        notedPage = pcLo >>> PAGE_BITS;
        notedHi = pcHi;
        executed.note(pageKey(pcLo, pcHi));
      }
      let run = block === undefined ? null : block.run;
      // Arriving here counts as an entry too (compiled code jumps without the interpreter counting).
      if (run === null && block !== undefined && block.length !== 0 && this.entries.enter(pcLo, pcHi)) run = this.compile(block, pcLo, pcHi);
      if (run === null) {
        // Not compiled: the interpreter runs on from here, counting jumps, until it jumps to a hot or compiled
        // address (or the burst ends).
        const ran = interp.runBurst(budget - done);
        done += ran;
        stats.interpretedSteps += ran;
        if (interp.endedEarly) break;
        continue;
      }
      // A breakpoint inside the block (not on its first instruction, checked above): the interpreter runs the
      // block's steps instead, and stops on it if execution gets there. With breakpoints set, a JavaScript region
      // runs one block per call and a WebAssembly region returns before a member that holds one, so the engine
      // sees those block starts again.
      let inside = false;
      const bps = interp.breakpoints;
      if (bps !== null && block !== undefined) inside = breakpointWithin(bps, pcLo, block.offsets);
      if (block!.length > budget - done || inside) {
        const steps = Math.min(block!.length, budget - done);
        const ran = interp.runBurst(steps);
        done += ran;
        stats.interpretedSteps += ran;
        if (interp.endedEarly) break;
        continue;
      }
      const ran = run(c, clock, budget - done, block!.at, bps !== null);
      stats.blockRuns++;
      done += ran;
      stats.compiledSteps += ran;
      if (c.endBurst) {
        c.endBurst = false;
        break;
      }
    }
    return done;
  }

  /**
   * The block entry at the current PC, made on first use (it is planned only when it becomes hot); undefined
   * when the interpreter must run the next step (the code page is not decoded yet); FETCH_FAULTED when fetching
   * the PC faulted, which was one whole step (counted, and the PC is at the abort vector), as in the interpreter.
   */
  private lookup(): Block | undefined | typeof FETCH_FAULTED {
    const c = this.cpu;
    const pcLo = c.pcLo;
    const pcHi = c.pcHi;
    let page: number;
    let fetched = false;
    if (pcHi === this.vHi && pcLo >>> PAGE_BITS === this.vPage && this.vGen === c.fetchGeneration) page = this.vCodePage;
    else {
      if (!this.fetch()) return FETCH_FAULTED;
      fetched = true;
      page = this.interp.lastFetchPage;
      this.vHi = pcHi;
      this.vPage = pcLo >>> PAGE_BITS;
      this.vGen = c.fetchGeneration;
      this.vCodePage = page;
    }
    const code = c.codeCache[page];
    if (code === undefined) {
      this.vGen = -1; // dropped since (a write to the page): a real fetch recreates it
      return undefined;
    }
    let bp = this.pages[page];
    if (bp === undefined || bp.code !== code) {
      bp = { code, blocks: new Array(WORDS_PER_PAGE) };
      this.pages[page] = bp;
    }
    const slot = (pcLo >>> 2) & (WORDS_PER_PAGE - 1);
    let block = bp.blocks[slot];
    if (block === undefined) {
      // The entry needs the fetch's RAM region and offset; after a cached translation it cannot fault, but the
      // fetch keeps the step exact all the same.
      if (!fetched && !this.fetch()) return FETCH_FAULTED;
      block = newBlock(this.interp.lastFetchRam!, this.interp.lastFetchOffset, page, slot * 4);
      bp.blocks[slot] = block;
    }
    return block;
  }

  /**
   * Fetches the instruction at the PC as the interpreter's step does (same order: next PC, count, fetch). On
   * success the count is taken back (nothing executed yet) and the interpreter's lastFetch* name the page; a
   * fault completes the step, as in the interpreter, and returns false.
   */
  private fetch(): boolean {
    const c = this.cpu;
    const pcLo = c.pcLo;
    const pcHi = c.pcHi;
    const sum = pcLo + 4;
    c.nextLo = sum >>> 0;
    c.nextHi = sum > 0xffffffff ? (pcHi + 1) >>> 0 : pcHi;
    c.clock.icount++;
    try {
      this.interp.fetch(pcLo, pcHi);
    } catch (e) {
      if (e !== EXCEPTION_TAKEN) throw e;
      c.pcLo = c.nextLo;
      c.pcHi = c.nextHi;
      return false;
    }
    c.clock.icount--;
    return true;
  }

  /**
   * Compiles the region of a block that became hot: the block and the blocks it reaches in its page (breadth
   * first, within REGION_BLOCKS/REGION_INSNS), so that loops, branches and calls within the page run without
   * coming back here. Returns the block's entry, or null when it cannot be compiled (it then stays interpreted).
   */
  private compile(block: Block, pcLo: number, pcHi: number): CompiledBlock | null {
    const bp = this.pages[block.page]!;
    const pageOffset = block.offset - block.at; // the page's first word in the RAM region
    const pageVa = (pcLo - block.at) >>> 0;
    const members: Block[] = [];
    const plans: BlockPlan[] = [];
    const queued = new Set<number>([block.at >>> 2]);
    const queue = [block.at >>> 2];
    let insns = 0;
    const maxBlocks = this.arena !== undefined ? WASM_REGION_BLOCKS : REGION_BLOCKS;
    const maxInsns = this.arena !== undefined ? WASM_REGION_INSNS : REGION_INSNS;
    while (queue.length > 0 && plans.length < maxBlocks && insns < maxInsns) {
      const slot = queue.shift()!;
      const member = bp.blocks[slot] ?? (bp.blocks[slot] = newBlock(block.ram, pageOffset + slot * 4, block.page, slot * 4));
      const plan = planBlock(this.interp, block.ram, member.offset, block.page);
      member.length = plan.execs.length;
      member.offsets = plan.offsets;
      if (plan.execs.length === 0) continue;
      members.push(member);
      plans.push(plan);
      insns += plan.execs.length;
      // Jump targets that the interpreter never jumped to stay out: cold paths cost compile time and make V8
      // deoptimize the region when they first run (no type feedback).
      const { jumps, fallThrough } = successorSlots(plan);
      for (const next of [...fallThrough, ...jumps.filter((s) => this.entries.seen((pageVa + s * 4) >>> 0, pcHi))])
        if (!queued.has(next)) {
          queued.add(next);
          queue.push(next);
        }
    }
    if (members[0] !== block) {
      this.entries.forget(pcLo, pcHi);
      return null;
    }
    const t0 = performance.now();
    let compiled: { run: CompiledBlock };
    if (this.arena !== undefined) {
      const wasm = compileWasmRegion(plans, this.cpu, this.cpu.bus.ram, this.arena, () => this.interp.breakpoints);
      this.stats.wasmBytes += wasm.bytes;
      compiled = wasm;
    } else {
      const js = compileRegion(plans, this.cpu.bus.ram);
      this.stats.sourceChars += js.sourceChars;
      compiled = js;
    }
    this.stats.compileMs += performance.now() - t0;
    this.stats.compiled += members.length;
    // Members compiled earlier in another region keep it; the others enter this one (the interpreter hands
    // back when it jumps to them).
    for (const m of members)
      if (m.run === null || m === block) {
        m.run = compiled.run;
        this.entries.markCompiled((pageVa + m.at) >>> 0, pcHi);
      }
    return block.run;
  }
}

function newBlock(ram: Ram, offset: number, page: number, at: number): Block {
  return { ram, offset, page, at, length: -1, offsets: [], run: null, linkGen: -1, aLo: -1, aHi: -1, a: undefined, bLo: -1, bHi: -1, b: undefined };
}

/** Remembers `next` (at pcLo/pcHi) as a successor of `from`: the first two distinct ones are kept. */
function link(from: Block, next: Block, pcLo: number, pcHi: number, gen: number): void {
  if (from.linkGen !== gen) {
    from.linkGen = gen;
    from.aLo = pcLo;
    from.aHi = pcHi;
    from.a = next;
    from.bLo = -1;
    from.b = undefined;
  } else if (from.a === undefined || (from.aLo === pcLo && from.aHi === pcHi)) {
    from.aLo = pcLo;
    from.aHi = pcHi;
    from.a = next;
  } else {
    from.bLo = pcLo;
    from.bHi = pcHi;
    from.b = next;
  }
}

/** Whether a breakpoint (by low half) is on one of the block's instructions after its first. */
function breakpointWithin(breakpoints: ReadonlySet<number>, pcLo: number, offsets: readonly number[]): boolean {
  for (const lo of breakpoints) {
    const d = (lo - pcLo) | 0;
    if (d !== 0 && offsets.includes(d)) return true;
  }
  return false;
}

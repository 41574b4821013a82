// The A64 interpreter: fetch, decode (cached per physical page), execute, count.
//
// One step (docs/icount.md) is exactly one of:
//   - taking a pending, unmasked asynchronous exception (IRQ/FIQ): PC moves to the vector, no instruction runs;
//   - executing the instruction at PC, whether it completes or raises a synchronous exception (a faulting
//     load, SVC, an undefined encoding and a prefetch abort on the fetch itself all count as one step).
// A WFI that finds nothing to do counts one step and leaves the CPU halted; a halted CPU executes no steps
// until an interrupt is pending (the board moves virtual time to the next deadline meanwhile).
// Taking an interrupt is a step but no virtual time passes in it: QEMU's icount clock counts executed
// instructions only, and guests that read the counter after an interrupt must see the same value as under it.

import type { ExecutionEngine } from "../../core/engine.js";
import { pageKey, type ExecutedPages } from "../../core/exec-summary.js";
import type { EntryCounter } from "./jit/entry-counter.js";
import { PAGE_BITS, type Ram } from "../../core/memory.js";
import { AccessKind, Cpu, EXCEPTION_TAKEN, VectorKind, WATCH_STOP } from "./cpu.js";
import type { Decoder, Exec } from "./decoder.js";
import { a64Decoder } from "./insns/index.js";

const WORDS_PER_PAGE = 1 << (PAGE_BITS - 2);

export class Interpreter implements ExecutionEngine {
  readonly decoder: Decoder;
  private readonly reportedUndefined = new Set<number>();
  /** Breakpoints by the low 32 bits of their address (null: none, the fast path); `breakpointAt` confirms. */
  breakpoints: Set<number> | null = null;
  breakpointAt: (lo: number, hi: number) => boolean = () => true;
  /** Code-cache page index of the last fetch (for runBurst's one-entry fetch cache and the block engine). */
  lastFetchPage = 0;
  /** The RAM/ROM region and offset in it of the last fetch (the block engine decodes onwards from there). */
  lastFetchRam: Ram | undefined;
  lastFetchOffset = 0;
  /** Set by the block engine: jumps are counted there, and a burst ends at a hot or compiled target. */
  entries: EntryCounter | null = null;
  /** Where fetches note the pages they execute from (the replay timeline's summaries); null: nowhere. */
  executed: ExecutedPages | null = null;
  /** Whether the last burst ended before its budget for a reason the caller must honour too (an end-burst
   * request, a debug stop, a halted CPU): an engine that delegates steps to the interpreter reads it. */
  endedEarly = false;

  constructor(readonly cpu: Cpu) {
    this.decoder = a64Decoder();
  }

  /** Whether a breakpoint is set at this virtual address. */
  breakpointHere(lo: number, hi: number): boolean {
    return this.breakpoints !== null && this.breakpoints.has(lo) && this.breakpointAt(lo, hi);
  }

  endBurst(): void {
    this.cpu.endBurst = true;
  }

  waitingForInterrupt(): boolean {
    const c = this.cpu;
    return c.halted && !c.irqLine && !c.fiqLine;
  }

  takeDebugStop(): boolean {
    if (!this.cpu.debugStop) return false;
    this.cpu.debugStop = false;
    return true;
  }

  /**
   * Executes up to `budget` steps in one tight loop and returns how many ran (the ExecutionEngine contract in
   * core/engine.ts). Interrupt lines and masks are looked at before every step, so an interrupt made pending by
   * an instruction (a device or GIC write, an unmasking MSR) is taken at the next boundary; a step that moves a
   * deadline earlier or asks for a stop sets cpu.endBurst and the burst ends after it. While `entries` is set
   * (the block engine runs code that is not compiled), every step that does not go on to the next word (a taken
   * branch, an exception, an interrupt) counts an entry at its target, and the burst ends there when the target
   * is hot or compiled (endedEarly stays false: nothing needs the caller's attention).
   */
  runBurst(budget: number): number {
    const c = this.cpu;
    const clock = c.clock;
    // One-entry fetch cache: the decoded page of the last fetch, valid while the generation is unchanged.
    let cachedHi = -1;
    let cachedPage = -1;
    let cachedGen = -1;
    let cached: Exec[] | undefined;
    let done = 0;
    this.endedEarly = true;
    while (done < budget) {
      if (c.halted) {
        if (!c.irqLine && !c.fiqLine) return done;
        c.halted = false;
      }
      if ((c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0)) {
        const fiq = c.fiqLine && (c.daif & 1) === 0;
        c.enterException(fiq ? VectorKind.Fiq : VectorKind.Irq, c.pcLo, c.pcHi);
        c.pcLo = c.nextLo;
        c.pcHi = c.nextHi;
        clock.countInterruptStep(); // a step, but not an instruction: virtual time stands still
        done++;
        if (this.entries !== null && this.entries.enter(c.pcLo, c.pcHi)) break;
        continue;
      }
      const pcLo = c.pcLo;
      const pcHi = c.pcHi;
      // A breakpoint stops the burst before its instruction executes (after any interrupt was taken).
      if (this.breakpointHere(pcLo, pcHi)) {
        c.debugStop = true;
        return done;
      }
      const sum = pcLo + 4;
      c.nextLo = sum >>> 0;
      c.nextHi = sum > 0xffffffff ? (pcHi + 1) >>> 0 : pcHi;
      // The guest's own debug events (self-debug.ts): a pending software step or a breakpoint is taken instead.
      let stepped = false;
      if (c.selfDebugArmed) {
        const taken = c.selfDebug.beforeInstruction();
        if (taken !== undefined) {
          if (taken === "step") clock.icount++;
          else clock.countInterruptStep(); // no instruction executed: no time passes, as under QEMU
          c.pcLo = c.nextLo;
          c.pcHi = c.nextHi;
          done++;
          if (this.entries !== null && this.entries.enter(c.pcLo, c.pcHi)) break;
          continue;
        }
        stepped = c.selfDebug.stepping();
      }
      // The step is counted before it executes: an instruction that reads the clock (CNTVCT, an RTC) sees the
      // time at its own completion, as with QEMU's icount. A fetch that faults is a step too.
      clock.icount++;
      try {
        let exec: Exec | undefined;
        if (pcHi === cachedHi && pcLo >>> PAGE_BITS === cachedPage && cachedGen === c.fetchGeneration && cached !== undefined) {
          exec = cached[(pcLo >>> 2) & (WORDS_PER_PAGE - 1)];
          if (exec === undefined) exec = this.fetch(pcLo, pcHi);
        } else {
          exec = this.fetch(pcLo, pcHi);
          // Remember the decoded page this virtual page maps to; any change of translation bumps the generation.
          if ((pcLo & 3) === 0) {
            cachedGen = c.fetchGeneration;
            cachedHi = pcHi;
            cachedPage = pcLo >>> PAGE_BITS;
            cached = c.codeCache[this.lastFetchPage];
          }
        }
        if (c.watchHook !== null) c.beginWatchedStep();
        if (stepped) this.runStepped(exec, pcLo, pcHi);
        else exec(c);
      } catch (e) {
        if (e === WATCH_STOP) {
          // Stop before this instruction: take back all it did, so nothing of it happened.
          c.undoWatchedStep();
          clock.icount--;
          c.debugStop = true;
          return done;
        }
        if (e !== EXCEPTION_TAKEN) throw e;
      }
      const sequential = c.nextLo === c.pcLo + 4;
      c.pcLo = c.nextLo;
      c.pcHi = c.nextHi;
      done++;
      if (c.endBurst) {
        c.endBurst = false;
        return done;
      }
      if (!sequential && this.entries !== null && this.entries.enter(c.pcLo, c.pcHi)) break;
    }
    this.endedEarly = false;
    return done;
  }

  /** Runs one instruction under software step (active-not-pending); the step exception follows it unless it
   * took an exception of its own. */
  private runStepped(exec: Exec, pcLo: number, pcHi: number): void {
    this.fetch(pcLo, pcHi); // (just fetched, so it cannot fault) for the word: ESR.EX names a load-exclusive
    const insn = this.lastFetchRam!.view.getUint32(this.lastFetchOffset, true);
    exec(this.cpu);
    this.cpu.selfDebug.completeStep(insn);
  }

  /** The executor for the instruction at a virtual PC (faults enter a prefetch abort and throw). */
  fetch(pcLo: number, pcHi: number): Exec {
    const c = this.cpu;
    // Noted before translating: a fetch that faults still was an attempt to execute from that page.
    if (this.executed !== null) this.executed.note(pageKey(pcLo, pcHi));
    if ((pcLo & 3) !== 0) c.syncException(0x22, 0, false, [pcLo, pcHi]);
    const pa = c.translate(pcLo, pcHi, AccessKind.Fetch);
    // The primary RAM first; then any other RAM or ROM region (code caches are indexed by the address space's
    // page numbering, in which the primary RAM's pages come first).
    let ram = c.bus.ram;
    let off = pa - ram.base;
    if (off < 0 || off + 4 > ram.size) {
      const other = c.bus.ramAt(pa, 4);
      if (other === undefined) return c.abort(pcLo, pcHi, AccessKind.Fetch, 0x10);
      ram = other;
      off = pa - other.base;
    }
    const page = ram.pageBase + (off >>> PAGE_BITS);
    this.lastFetchPage = page;
    this.lastFetchRam = ram;
    this.lastFetchOffset = off;
    let cache = c.codeCache[page];
    if (!cache) {
      cache = new Array<Exec>(WORDS_PER_PAGE);
      c.codeCache[page] = cache;
      ram.codePages[off >>> PAGE_BITS] = 1;
    }
    const slot = (off >>> 2) & (WORDS_PER_PAGE - 1);
    let exec = cache[slot];
    if (!exec) {
      exec = this.build(ram.view.getUint32(off, true), pcLo, pcHi);
      cache[slot] = exec;
    }
    return exec;
  }

  /**
   * The executor of the word at `off` in `ram` (whose page is code-cache page `page`), decoding and caching it,
   * or undefined when the word is not an implemented instruction (the block engine ends a block before it; the
   * interpreter reports it when, and only if, it is executed).
   */
  decodedAt(ram: Ram, off: number, page: number): Exec | undefined {
    const cache = this.cpu.codeCache[page];
    if (cache === undefined) return undefined;
    const slot = (off >>> 2) & (WORDS_PER_PAGE - 1);
    let exec = cache[slot];
    if (exec === undefined) {
      const d = this.decoder.decode(ram.view.getUint32(off, true));
      if (d === undefined) return undefined;
      exec = d.spec.build(d.fields, ram.view.getUint32(off, true));
      cache[slot] = exec;
    }
    return exec === undefinedInstruction ? undefined : exec;
  }

  private build(insn: number, pcLo: number, pcHi: number): Exec {
    const d = this.decoder.decode(insn);
    if (!d) {
      if (!this.reportedUndefined.has(insn)) {
        this.reportedUndefined.add(insn);
        this.cpu.hooks.reportUndefined(pcLo, pcHi, insn);
      }
      return undefinedInstruction;
    }
    return d.spec.build(d.fields, insn);
  }
}

function undefinedInstruction(c: Cpu): void {
  c.undefinedInstruction();
}

// What reverse continue needs to know about AArch64 translation to skip intervals for a write watchpoint: which
// events may move a virtual address to other physical memory (flags the system registers note as they are
// written, see sysregs.ts), and where writes to a virtual range land while none of them happens — a stage 1
// walk over a saved state's registers and RAM (session/timeline.ts compares the result with the pages written).

import type { SavedPageReader, WriteTargets } from "../../core/debug.js";
import type { StateFields, StateSection } from "../../core/state.js";
import type { Cpu } from "./cpu.js";
import { Mmu } from "./mmu.js";

/** Interval flags (core/exec-summary.ts IntervalFlags) of the AArch64 CPU. */
export const enum TranslationFlag {
  /** SCTLR_EL1.M or TCR_EL1 changed: any address may map elsewhere. */
  Control = 1,
  /** TTBR0_EL1's table base changed: addresses with VA bit 55 clear may map elsewhere. */
  Ttbr0 = 2,
  /** TTBR1_EL1's table base changed: addresses with VA bit 55 set may. */
  Ttbr1 = 4,
}

/** The system registers a stage 1 walk reads (SystemRegisters field names, as saved). */
const WALK_REGISTERS = ["sctlr", "tcrLo", "tcrHi", "ttbr0Lo", "ttbr0Hi", "ttbr1Lo", "ttbr1Hi", "mairLo", "mairHi"] as const;

/** Ranges longer than this many pages are not worth walking: every interval is a candidate for them. */
const MAX_PAGES = 1024;

const PAGE = 4096;

/**
 * Where writes to virtual [addr, addr + length) can land while the translation stays as in `state` (the saved
 * sections, with the CPU's under `cpuSection`): the walk's result for each page of the range, the table pages
 * it read, and the flags that may move the range. Undefined when the state has no such CPU or the range is huge.
 */
export function writeTargets(cpuSection: string, addr: bigint, length: number, state: readonly StateSection[], page: SavedPageReader): WriteTargets | undefined {
  const sys = state.find((s) => s.name === cpuSection)?.fields.sys as StateFields | undefined;
  if (sys === undefined) return undefined;
  const regs: Record<string, number | boolean> = {};
  for (const name of WALK_REGISTERS) {
    const v = sys[name];
    if (typeof v !== "number") return undefined;
    regs[name] = v;
  }
  regs.mmuEnabled = ((regs.sctlr as number) & 1) !== 0;
  const first = addr >> 12n;
  const last = (addr + BigInt(Math.max(1, length)) - 1n) >> 12n;
  if (last - first >= BigInt(MAX_PAGES)) return undefined;

  // The debugger's walk (Mmu.debugTranslate) reads only these registers and descriptors through bus.ramAt: give
  // it the saved ones, and note every table page it reads.
  const tables = new Set<number>();
  const bus = {
    ramAt(pa: number): { base: number; view: DataView } | undefined {
      const base = pa - (pa % PAGE);
      const bytes = page(base);
      if (bytes === undefined) return undefined;
      tables.add(base);
      return { base, view: new DataView(bytes.buffer, bytes.byteOffset, PAGE) };
    },
  };
  const mmu = new Mmu({ sys: regs, bus } as unknown as Cpu);
  const pages = new Set<number>();
  let flags: number = TranslationFlag.Control;
  for (let p = first; p <= last; p++) {
    const va = BigInt.asUintN(64, p << 12n);
    const lo = Number(va & 0xffffffffn) | 0;
    const hi = Number(va >> 32n) | 0;
    flags |= ((hi >>> 23) & 1) !== 0 ? TranslationFlag.Ttbr1 : TranslationFlag.Ttbr0;
    const pa = mmu.debugTranslate(lo, hi);
    if (pa !== undefined) pages.add(pa - (pa % PAGE));
  }
  return { pages: [...pages], tables: [...tables], flags };
}

// The JavaScript side of a WebAssembly region (region.ts builds the function): the calls out it imports —
// running an executor, the CPU's accessors, marking a code page written, the check after an access that went
// out — and the entry that sets up each run and takes it down, including the exception and watchpoint stops that
// unwind the WebAssembly frames. Everything is done as the JavaScript region (jit/codegen.ts) does it, from the
// step count and page offset the WebAssembly code stores before each call.

import { EXCEPTION_TAKEN, WATCH_STOP, type Cpu } from "../../cpu.js";
import type { Ram } from "../../../../core/memory.js";
import type { BlockPlan } from "../block.js";
import type { CompiledBlock } from "../codegen.js";
import { ValType, type ImportedFunction } from "./encoder.js";
import { SLOT_LOAD_HI, SLOT_NEXT_HI, SLOT_NEXT_LO, SLOT_OFFSET, SLOT_PC_HI, SLOT_PC_LO, SLOT_STEPS, type WasmArena } from "./arena.js";

const I32 = ValType.I32;

/** The calls out, in import order. */
export const enum Import {
  Exec = 0,
  Load = 1,
  Store = 2,
  Touch = 3,
  Changed = 4,
}
export const IMPORTS: ImportedFunction[] = [
  { name: "exec", params: [I32, I32, I32, I32], results: [I32] },
  { name: "load", params: [I32, I32, I32, I32, I32, I32], results: [I32] },
  { name: "store", params: [I32, I32, I32, I32, I32, I32, I32, I32], results: [] },
  { name: "touch", params: [I32, I32], results: [] },
  { name: "changed", params: [], results: [I32] },
];


/** `exec` kinds: set up the step as for an access (watchpoint bookkeeping), and report whether it changed
 * something the region depends on. */
export const EXEC_STEP = 1;
export const EXEC_CHECK = 2;

/** The JavaScript side of a region: the calls out and the entry that sets up and takes down each run. */
export function instantiate(
  bytes: Uint8Array<ArrayBuffer>,
  members: readonly BlockPlan[],
  cpu: Cpu,
  ram: Ram,
  arena: WasmArena,
  breakpoints: () => ReadonlySet<number> | null,
): CompiledBlock {
  const execs = members.flatMap((p) => p.execs);
  // The stop mask for the breakpoint set and the virtual page it was computed for (the session keeps an
  // unchanged set's identity; the page's code may be mapped at more than one virtual address).
  let maskFor: ReadonlySet<number> | null = null;
  let maskPage = 0;
  let mask = 0;
  const stopMask = (bps: ReadonlySet<number>, pageLo: number): number => {
    if (bps === maskFor && pageLo === maskPage) return mask;
    maskFor = bps;
    maskPage = pageLo;
    mask = 0;
    members.forEach((plan, k) => {
      // By the low half, as the engine checks (breakpointWithin): a false hit only costs a return.
      if (plan.slots.some((s) => bps.has((pageLo + s * 4) >>> 0))) mask |= 1 << k;
    });
    return mask;
  };
  /** The member entered at each page offset: the engine has checked that one already (it runs the region only
   * when the block holds no breakpoint, by the same test), so it is never stopped at on entry. */
  const memberAt = new Map(members.map((plan, k) => [plan.slots[0] * 4, k]));
  const W = arena.words();
  const c = cpu;
  const clock = c.clock;
  // Per run (regions do not nest: nothing a region calls runs another).
  let pl = 0;
  let ph = 0;
  let g = 0;
  let icount0 = 0;
  /** Sets up the step of the instruction at `off` as the JavaScript region does before an executor or an
   * accessor: flags, PC, next PC, step count, watchpoint bookkeeping. */
  const step = (steps: number, off: number, watched: boolean) => {
    W[SLOT_STEPS >> 2] = steps;
    W[SLOT_OFFSET >> 2] = off;
    const pc = pl + off;
    c.pcLo = pc;
    c.pcHi = ph;
    c.nextLo = (pc + 4) >>> 0;
    c.nextHi = pc + 4 > 0xffffffff ? (ph + 1) >>> 0 : ph;
    clock.icount = icount0 + steps + 1;
    if (watched && c.watchHook !== null) c.beginWatchedStep();
  };
  const changed = () => (c.endBurst || c.fetchGeneration !== g || (c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0) ? 1 : 0);
  const imports = {
    env: {
      memory: arena.memory,
      exec: (i: number, steps: number, off: number, kind: number) => {
        step(steps, off, (kind & EXEC_STEP) !== 0);
        execs[i](c);
        W[SLOT_NEXT_LO >> 2] = c.nextLo;
        W[SLOT_NEXT_HI >> 2] = c.nextHi;
        return (kind & EXEC_CHECK) !== 0 ? changed() : 0;
      },
      load: (size: number, al: number, ah: number, steps: number, off: number, first: number) => {
        if (first !== 0) step(steps, off, true);
        al >>>= 0;
        if (size === 8) {
          const lo = c.read64(al, ah);
          W[SLOT_LOAD_HI >> 2] = c.hi;
          return lo;
        }
        return size === 4 ? c.read32(al, ah) : size === 2 ? c.read16(al, ah) : c.read8(al, ah);
      },
      store: (size: number, al: number, ah: number, vlo: number, vhi: number, steps: number, off: number, first: number) => {
        if (first !== 0) step(steps, off, true);
        al >>>= 0;
        if (size === 8) c.write64(al, ah, vlo, vhi);
        else if (size === 4) c.write32(al, ah, vlo >>> 0);
        else if (size === 2) c.write16(al, ah, vlo & 0xffff);
        else c.write8(al, ah, vlo & 0xff);
      },
      touch: (off: number, size: number) => {
        ram.touch(off);
        if ((off & 0xfff) > 0x1000 - size) ram.touch(off + size - 1);
      },
      changed,
    },
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  const run = instance.exports.run as (...args: number[]) => number;
  // (The CPU and clock arguments are the ones this region was built for.)
  return (_cpu, _clock, budget, at) => {
    const pcLo = c.pcLo >>> 0;
    pl = (pcLo - at) >>> 0;
    ph = c.pcHi >>> 0;
    g = c.fetchGeneration;
    icount0 = clock.icount;
    const direct = !c.sys.mmuEnabled && c.watchHook === null ? 1 : 0;
    const tlb = c.sys.mmuEnabled && c.watchHook === null ? 1 : 0;
    let ret: number;
    try {
      const bps = breakpoints();
      // (An i32 budget: longer bursts come back for more.)
      const stop = bps === null ? 0 : stopMask(bps, pl) & ~(1 << (memberAt.get(at) ?? 31));
      ret = run(budget > 0x7fffffff ? 0x7fffffff : budget, at, stop, direct, tlb, c.el === 0 ? 3 : 0, pl | 0, ph | 0);
    } catch (e) {
      const steps = W[SLOT_STEPS >> 2];
      if (e === WATCH_STOP) {
        // A watchpoint stops before the access's instruction: take it back whole; PC and count stay on it.
        c.undoWatchedStep();
        c.debugStop = true;
        c.endBurst = true;
        c.pcLo = pl + W[SLOT_OFFSET >> 2];
        c.pcHi = ph;
        clock.icount = icount0 + steps;
        return steps;
      }
      if (e !== EXCEPTION_TAKEN) throw e;
      c.pcLo = c.nextLo;
      c.pcHi = c.nextHi;
      return steps + 1;
    }
    c.pcLo = W[SLOT_PC_LO >> 2] >>> 0;
    c.pcHi = W[SLOT_PC_HI >> 2] >>> 0;
    c.nextLo = c.pcLo;
    c.nextHi = c.pcHi;
    clock.icount = icount0 + ret;
    return ret;
  };
}

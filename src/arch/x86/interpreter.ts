// The x86 interpreter: an ExecutionEngine (core/engine.ts) that fetches at CS:RIP, decodes (decode/decoder.ts),
// builds the instruction's executor (exec/integer.ts, exec/control.ts, exec/system.ts) and runs it, one step per
// instruction or REP iteration. Executors are cached per physical page of RAM or ROM (by offset and code size) and
// dropped when the page is written (AddressSpace code-page tracking); an instruction crossing into the next page
// of its region is dropped on a write to either page. Code outside RAM/ROM is decoded every time. With paging the
// fetch is translated per instruction (through the TLB), so the cache is still keyed by physical page: code
// mapped twice is decoded once, a remapped page is followed as the TLB follows it; an instruction that crosses a
// linear page is not cached. A fetch #PF is a step of its own that adds no time (QEMU raises it translating).
//
// Exceptions are thrown by executors as X86Fault and delivered here through the IVT or IDT (cpu.ts); the faulting
// instruction is a step (QEMU's one-instruction trace shows it), and virtual time advances for it only when QEMU's
// icount keeps it (undefined opcodes; not #DE, #GP... which QEMU raises at run time and gives back). External
// interrupts (cpu.intr) are taken at instruction boundaries when IF = 1, except right after STI, MOV SS or POP SS,
// each in a step of its own that adds no time: Rewind's icount is QEMU's plus one per interrupt taken, and every
// position holds one state (docs/icount.md). A valid instruction this CPU has
// no executor for still stops the machine ("stuck") so a gap is never mistaken for a guest's #UD.
//
// For the debugger (debug.ts): breakpoints on the linear PC (CS base + IP, as QEMU's gdbstub compares them) are
// checked before each instruction only while a set is installed, and end the burst before that instruction with
// debugStop set; `executed` notes each linear code page execution enters.

import type { ExecutionEngine } from "../../core/engine.js";
import type { VirtualClock } from "../../core/clock.js";
import { PAGE_BITS, type Ram } from "../../core/memory.js";
import { pageKey, type ExecutedPages } from "../../core/exec-summary.js";
import { Seg } from "./cpu-state.js";
import { DF_, UD, X86Fault, type X86Cpu } from "./cpu.js";
import { decode } from "./decode/decoder.js";
import { buildControl, type CpuExec } from "./exec/control.js";
import { buildInteger, DIVIDE_ERROR } from "./exec/integer.js";
import { buildSystem } from "./exec/system.js";

interface Cached {
  exec: CpuExec;
  length: number;
}

const IF = 0x200;
const UNDEFINED_OPCODE = new X86Fault(UD, -1, true);
const UNDEFINED: CpuExec = () => {
  throw UNDEFINED_OPCODE;
};
const PAGE_MASK = (1 << PAGE_BITS) - 1;
const LOCKABLE = new Set(["add", "adc", "and", "btc", "btr", "bts", "cmpxchg", "cmpxchg8b", "dec", "inc", "neg", "not", "or", "sbb", "sub", "xor", "xadd", "xchg"]);

export class X86Interpreter implements ExecutionEngine {
  private readonly bytes = new Uint8Array(16);
  /** Decoded code by bus page (Ram.pageBase + page): offset in page * 4 + code size index. */
  private readonly pages: (Map<number, Cached> | undefined)[] = [];
  private ended = false;
  private debugStop = false;
  /** Instructions decoded (not found in the cache): for tests of the cache. */
  decodes = 0;
  /** Breakpoints by the low 32 bits of their linear address (null: none, the fast path); `breakpointAt` confirms. */
  breakpoints: Set<number> | null = null;
  breakpointAt: (lo: number, hi: number) => boolean = () => true;
  /** Where the linear code pages executed are noted (reverse continue's summaries); null: not noted. */
  executed: ExecutedPages | null = null;

  constructor(
    readonly cpu: X86Cpu,
    readonly clock: VirtualClock,
    /** The guest did something this CPU cannot run: stop the machine with this reason. */
    private readonly stuck: (reason: string) => void,
    /** A fault while delivering a double fault: the processor's shutdown cycle (a board resets on it). */
    private readonly tripleFault: (where: string) => void = (where) => stuck(`triple fault at ${where}`),
  ) {
    cpu.tsc = () => clock.ns;
    const bus = cpu.bus;
    const previous = bus.onCodeWrite;
    bus.onCodeWrite = (page) => {
      this.pages[page] = undefined;
      if (page > 0) this.pages[page - 1] = undefined;
      previous(page);
    };
  }

  endBurst(): void {
    this.ended = true;
  }

  /** Ends the burst after the current step and reports it as a debug stop (a watchpoint hit). */
  stopAfterStep(): void {
    this.debugStop = true;
    this.ended = true;
  }

  takeDebugStop(): boolean {
    const s = this.debugStop;
    this.debugStop = false;
    return s;
  }

  /** Halted with IF = 1 and nothing pending: the next interrupt wakes it, so virtual time may jump to a deadline.
   * Halted with IF = 0 is not waiting for anything a device can send (see runBurst). */
  waitingForInterrupt(): boolean {
    const c = this.cpu;
    return c.halted && (c.rflags & IF) !== 0 && !(c.intr !== undefined && c.intr.pending());
  }

  runBurst(budget: number): number {
    const c = this.cpu;
    const clock = this.clock;
    this.ended = false;
    const breakpoints = this.breakpoints;
    const executed = this.executed;
    let lastPage = -1;
    let done = 0;
    while (done < budget) {
      if (c.shadow) c.shadow = false;
      else if (c.rflags & IF && c.intr !== undefined && c.intr.pending()) {
        // Taking the interrupt is a step of its own (docs/icount.md), as on AArch64: the handler's first
        // instruction then has one position, after the delivery, and `stepi` stops there. No instruction runs in
        // it, so virtual time stands still (QEMU's icount clock does not count it either).
        const vector = c.intr.acknowledge();
        clock.countInterruptStep();
        done++;
        if (!this.safely(() => c.deliver(vector, -1, c.ripLo, false))) break;
        if (this.ended) break;
        continue;
      }
      if (c.halted) {
        // HLT with interrupts disabled: only NMI, INIT or reset could wake the CPU, and nothing raises them.
        // The guest can never go on (without this, time would jump from deadline to deadline for ever).
        if ((c.rflags & IF) === 0) this.stuck(`HLT with interrupts disabled at ${this.where(((c.segBaseLo[Seg.CS] >>> 0) + (c.ripLo >>> 0)) >>> 0)}: nothing can wake the CPU`);
        break;
      }
      const ip = c.codeBits === 16 ? c.ripLo & 0xffff : c.ripLo >>> 0;
      const linear = c.codeBits === 64 ? ip : ((c.segBaseLo[Seg.CS] >>> 0) + ip) >>> 0;
      if (executed !== null) {
        const key = pageKey(linear, c.codeBits === 64 ? c.ripHi : 0);
        if (key !== lastPage) {
          lastPage = key;
          executed.note(key);
        }
      }
      // A breakpoint stops the burst before its instruction (after any interrupt was taken).
      if (breakpoints !== null && breakpoints.has(linear) && this.breakpointAt(linear, c.codeBits === 64 ? c.ripHi : 0)) {
        this.debugStop = true;
        break;
      }
      let insn: Cached | undefined;
      if (!c.pagingOn) insn = this.lookupPhysical(linear, linear, true);
      else
        try {
          insn = this.lookupPhysical(c.fetchPhysical(linear, c.codeBits === 64 ? c.ripHi : 0), linear, false, c.codeBits === 64 ? c.ripHi : 0);
        } catch (e) {
          if (!(e instanceof X86Fault)) throw e;
          // A fetch #PF: QEMU raises it translating, before the instruction exists, so neither its trace nor its
          // icount has it. Delivering it is a step of its own that adds no time, as taking an interrupt is.
          c.faultLo = ip;
          clock.countInterruptStep();
          done++;
          if (!this.safely(() => c.exception(e))) break;
          if (this.ended) break;
          continue;
        }
      if (insn === undefined) break;
      const next = ip + insn.length;
      c.faultLo = ip;
      c.nextLo = c.codeBits === 16 ? next & 0xffff : next >>> 0;
      c.nextHi = c.codeBits === 64 ? c.ripHi + (next > 0xffffffff ? 1 : 0) : 0;
      clock.icount++;
      done++;
      try {
        insn.exec(c);
        c.ripLo = c.nextLo;
        c.ripHi = c.nextHi;
      } catch (e) {
        const f = e === DIVIDE_ERROR ? new X86Fault(0) : e;
        if (!(f instanceof X86Fault)) throw e;
        // A step, but QEMU's icount gives a fault raised at run time back: virtual time stands still (as for
        // steps that take an interrupt, VirtualClock.countInterruptStep).
        if (!f.atTranslation) clock.stepAddsNoTime();
        if (!this.safely(() => c.exception(f))) break;
      }
      if (this.ended) break;
    }
    return done;
  }

  /** Runs an exception or interrupt delivery; a fault during it becomes #DF, one during #DF a triple fault. */
  private safely(deliver: () => void): boolean {
    const c = this.cpu;
    try {
      deliver();
      return true;
    } catch (e) {
      if (!(e instanceof X86Fault)) throw e;
      try {
        c.exception(new X86Fault(DF_, 0));
        return true;
      } catch (e2) {
        if (!(e2 instanceof X86Fault)) throw e2;
        this.tripleFault(this.where(((c.segBaseLo[Seg.CS] >>> 0) + (c.ripLo >>> 0)) >>> 0));
        return false;
      }
    }
  }

  /** The RAM or ROM region of the physical code page last looked up (valid while the bus map's generation is the same). */
  private codePage = -1;
  private codeRam: Ram | undefined;
  private codeGeneration = -1;

  /**
   * The executor of the instruction at physical `pa`, linear (linear, hi). With paging the caller translated the
   * fetch (through the TLB, so a changed mapping is seen as soon as the TLB sees it, per instruction) and the cache
   * is searched by the physical page; an instruction that crosses a linear page is then not cached (its second page
   * may be remapped alone).
   */
  private lookupPhysical(pa: number, linear: number, unpaged: boolean, hi = 0): Cached | undefined {
    const c = this.cpu;
    const bus = c.bus;
    const codePage = pa - (pa & PAGE_MASK);
    let ram: Ram | undefined;
    if (codePage === this.codePage && bus.mapGeneration === this.codeGeneration) ram = this.codeRam;
    else {
      ram = bus.ramAt(codePage, PAGE_MASK + 1);
      // A page that is not all one region (MMIO, a region's edge) is looked up every time.
      if (ram !== undefined) {
        this.codePage = codePage;
        this.codeRam = ram;
        this.codeGeneration = bus.mapGeneration;
      } else ram = bus.ramAt(pa, 1);
    }
    const modeIndex = c.codeBits === 16 ? 0 : c.codeBits === 32 ? 1 : 2;
    if (ram === undefined) return this.decodeAt(pa, linear, unpaged, hi);
    const off = pa - ram.base;
    const page = ram.pageBase + (off >>> PAGE_BITS);
    let map = this.pages[page];
    const key = ((off & PAGE_MASK) << 2) | modeIndex;
    const hit = map?.get(key);
    if (hit !== undefined) return hit;
    const insn = this.decodeAt(pa, linear, unpaged, hi);
    if (insn === undefined) return undefined;
    const last = off + Math.max(insn.length, 1) - 1;
    if (last >= ram.size) return insn; // crosses into another region: not cached
    if (!unpaged && (linear & PAGE_MASK) + insn.length > PAGE_MASK + 1) return insn;
    ram.codePages[off >>> PAGE_BITS] = 1;
    ram.codePages[last >>> PAGE_BITS] = 1;
    if (map === undefined) {
      map = new Map();
      this.pages[page] = map;
    }
    map.set(key, insn);
    return insn;
  }

  /**
   * Decodes the instruction at physical `pa` (linear `linear`). With paging, bytes past the linear page are
   * fetched through the next page's translation only when the instruction reaches them (so a #PF there is raised
   * only for an instruction that crosses into it, with CR2 in that page).
   */
  private decodeAt(pa: number, linear: number, unpaged: boolean, hi: number): Cached | undefined {
    const c = this.cpu;
    this.decodes++;
    const inPage = unpaged ? 15 : Math.min(15, PAGE_MASK + 1 - (linear & PAGE_MASK));
    for (let i = 0; i < inPage; i++) this.bytes[i] = c.bus.read8((pa + i) >>> 0);
    for (let i = inPage; i < 15; i++) this.bytes[i] = 0;
    let d = decode(this.bytes, 0, c.codeBits);
    if (inPage < 15 && (!d.ok || d.length > inPage)) {
      const next = (linear >>> 0) + inPage;
      const pa2 = c.fetchPhysical(next >>> 0, next > 0xffffffff ? (hi + 1) >>> 0 : hi);
      for (let i = inPage; i < 15; i++) this.bytes[i] = c.bus.read8(pa2 + i - inPage);
      d = decode(this.bytes, 0, c.codeBits);
    }
    if (!d.ok) return { exec: UNDEFINED, length: 0 };
    // LOCK only on the read-modify-write instructions with a memory destination (SDM Vol. 2 §2.1.1); else #UD.
    const dest = d.operands[0]?.method;
    if (d.prefixes.lock && (d.modrm === undefined || d.modrm.mod === 3 || !LOCKABLE.has(d.mnemonic) || (dest !== "E" && dest !== "M")))
      return { exec: UNDEFINED, length: d.length };
    const exec = buildSystem(d, c.codeBits) ?? (buildInteger(d, c.codeBits) as CpuExec | undefined) ?? buildControl(d, c.codeBits);
    if (exec === undefined) {
      this.stuck(`unimplemented instruction ${d.mnemonic} at ${this.where(linear >>> 0)}: ${hex(this.bytes.subarray(0, d.length))}`);
      return undefined;
    }
    return { exec, length: d.length };
  }

  private where(linear: number): string {
    const c = this.cpu;
    return `${c.segSel[Seg.CS].toString(16).padStart(4, "0")}:${(c.ripLo >>> 0).toString(16)} (linear 0x${linear.toString(16)})`;
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

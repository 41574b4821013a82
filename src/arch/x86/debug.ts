// The debugger's view of the x86 CPU for the session (core/debug.ts CpuDebug): the GDB register file in QEMU's
// numbering (gdb-registers.ts), breakpoints on the linear PC checked by the interpreter before each instruction,
// watchpoints on the CPU's data accesses (linear addresses, reported after the accessing instruction as x86 GDB
// expects), and the side-effect-free linear -> physical walk (translation.ts).
//
// A board builds it as `new X86Debug(cpu, interp)` and also wires, for the session's summaries:
//   interp.executed = <the board's ExecutedPages>;   (linear code pages executed)
//   intervalFlags   = cpu.intervalFlags;             (X86IntervalFlag: paging registers, segment loads)
// Addresses the debugger gives (breakpoints, watchpoints, memory) are linear: segment bases applied, before paging,
// as QEMU's gdbstub has them.

import type { CpuDebug, RegisterInfo, SavedPageReader, WatchHook, WriteTargets } from "../../core/debug.js";
import { STOP_BEFORE_ACCESS } from "../../core/debug.js";
import type { StateSection } from "../../core/state.js";
import { Seg } from "./cpu-state.js";
import type { X86Cpu } from "./cpu.js";
import { readX86Register, writeX86Register, X86_GDB_REGISTERS, X86_I386_GDB_REGISTERS, type X86GdbLayout } from "./gdb-registers.js";
import type { X86Interpreter } from "./interpreter.js";
import { walk, writeTargets } from "./translation.js";

const TWO32 = 4294967296n;

export class X86Debug implements CpuDebug {
  readonly arch = "x86_64" as const;
  /** GDB on x86 expects a watchpoint stop once the accessing instruction has retired (a trap, as #DB is). */
  readonly watchReport = "after" as const;
  /** A hook asked for a stop before the access (STOP_BEFORE_ACCESS): this CPU cannot take an access back. */
  private stoppedLate = false;

  constructor(
    private readonly cpu: X86Cpu,
    private readonly interp: X86Interpreter,
  ) {}

  /** Which register file GDB is served: QEMU's qemu-system-x86_64 one (the default), or qemu-system-i386's. */
  private layout: X86GdbLayout = "x86_64";
  readonly gdbLayouts = ["x86_64", "i386"] as const;

  get gdbLayout(): X86GdbLayout {
    return this.layout;
  }

  selectGdbLayout(name: string): boolean {
    if (name !== "x86_64" && name !== "i386") return false;
    this.layout = name;
    return true;
  }

  /** The target description's `<architecture>` for the layout served. */
  gdbArchitecture(): string {
    return this.layout === "i386" ? "i386" : "i386:x86-64";
  }

  registers(): readonly RegisterInfo[] {
    return this.layout === "i386" ? X86_I386_GDB_REGISTERS : X86_GDB_REGISTERS;
  }
  readRegister(regnum: number): Uint8Array | undefined {
    return readX86Register(this.cpu, regnum, this.layout);
  }
  writeRegister(regnum: number, value: Uint8Array): boolean {
    return writeX86Register(this.cpu, regnum, value, this.layout);
  }

  /** Linear -> physical through the current paging registers, reading tables from memory only. */
  translate(addr: bigint): number | undefined {
    if (addr < 0n || addr >= 1n << 64n) return undefined;
    const c = this.cpu;
    const bus = c.bus;
    const read32 = (pa: number): number | undefined => (bus.ramAt(pa, 4) === undefined ? undefined : bus.read32(pa) >>> 0);
    return walk(c, Number(addr % TWO32), Number(addr / TWO32), read32);
  }

  setBreakpoints(addrs: readonly bigint[] | null): void {
    if (!addrs || addrs.length === 0) {
      this.interp.breakpoints = null;
      return;
    }
    const full = new Set<bigint>(addrs);
    this.interp.breakpoints = new Set(addrs.map((a) => Number(BigInt.asUintN(64, a) % TWO32)));
    this.interp.breakpointAt = (lo, hi) => full.has(BigInt(hi >>> 0) * TWO32 + BigInt(lo >>> 0));
  }

  /** The linear PC: CS base + IP outside 64-bit code (as the interpreter fetches it), RIP in it. */
  pc(): bigint {
    const c = this.cpu;
    if (c.codeBits === 64) return BigInt(c.ripHi >>> 0) * TWO32 + BigInt(c.ripLo >>> 0);
    const ip = c.codeBits === 16 ? c.ripLo & 0xffff : c.ripLo >>> 0;
    return BigInt(((c.segBaseLo[Seg.CS] >>> 0) + ip) >>> 0);
  }

  /**
   * Every data access is shown to the hook, except, given the watched ranges, those on pages no range touches
   * (nor the page before one: an access of up to 8 bytes may run into the next page). The hook's addresses are
   * linear.
   */
  setWatchHook(hook: WatchHook | null, watched?: readonly { addr: bigint; length: number }[]): void {
    if (hook === null) {
      this.cpu.setWatchHook(null);
      return;
    }
    this.stoppedLate = false;
    const pages = watched ? watchPages(watched) : null;
    this.cpu.setWatchHook((lo, hi, size, isWrite) => {
      if (pages !== null && !pages.has((hi >>> 0) * 1048576 + ((lo >>> 0) >>> 12))) return;
      try {
        hook(BigInt(hi >>> 0) * TWO32 + BigInt(lo >>> 0), size, isWrite);
      } catch (e) {
        if (e !== STOP_BEFORE_ACCESS) throw e;
        // Nothing of an x86 instruction can be taken back here: it completes and the stop comes after it.
        this.stoppedLate = true;
        this.stopAfterStep();
      }
    });
  }

  stopAfterStep(): void {
    this.interp.stopAfterStep();
  }

  lastWatchStopAfterAccess(): boolean {
    return this.stoppedLate;
  }

  /** Where writes to a linear range land in a saved state (translation.ts); Paging is the flag that moves it. */
  writeTargets(addr: bigint, length: number, state: readonly StateSection[], page: SavedPageReader): WriteTargets | undefined {
    return writeTargets(this.cpu.stateName, addr, length, state, page);
  }
}

/**
 * The linear pages (as core/exec-summary.ts pageKey numbers) an access must be checked on for these ranges; null
 * (check every access) when a range is too large to list.
 */
function watchPages(watched: readonly { addr: bigint; length: number }[]): Set<number> | null {
  const keys = new Set<number>();
  for (const w of watched) {
    const first = w.addr >> 12n;
    const last = (w.addr + BigInt(Math.max(1, w.length)) - 1n) >> 12n;
    if (last - first > 4096n) return null;
    for (let p = first - 1n; p <= last; p++) keys.add(Number(BigInt.asUintN(52, p)));
  }
  return keys;
}

// The debugger's view of the AArch64 CPU for the session: breakpoints checked before each instruction,
// watchpoints on data accesses, side-effect-free address translation and the GDB register file.

import type { CpuDebug, RegisterInfo, SavedPageReader, WriteTargets } from "../../core/debug.js";
import type { StateSection } from "../../core/state.js";
import { writeTargets } from "./translation-summary.js";
import type { Cpu } from "./cpu.js";
import type { Interpreter } from "./interpreter.js";

/** Register access in GDB's numbering (see gdb-registers.ts). */
export interface RegisterFile {
  registers(): readonly RegisterInfo[];
  read(cpu: Cpu, regnum: number): Uint8Array | undefined;
  write(cpu: Cpu, regnum: number, value: Uint8Array): boolean;
}

const TWO32 = 4294967296n;

export class Aarch64Debug implements CpuDebug {
  readonly arch = "aarch64" as const;
  /** GDB on AArch64 expects a forward watchpoint stop with PC on the accessing instruction, not yet retired. */
  readonly watchReport = "before" as const;

  constructor(
    private readonly cpu: Cpu,
    private readonly interp: Interpreter,
    private readonly regs: RegisterFile,
  ) {}

  registers(): readonly RegisterInfo[] {
    return this.regs.registers();
  }
  readRegister(regnum: number): Uint8Array | undefined {
    return this.regs.read(this.cpu, regnum);
  }
  writeRegister(regnum: number, value: Uint8Array): boolean {
    const ok = this.regs.write(this.cpu, regnum, value);
    if (ok) this.cpu.fetchGeneration++;
    return ok;
  }

  /** A side-effect-free stage 1 walk (no exception, no TLB fill); undefined when the address is not mapped. */
  translate(addr: bigint): number | undefined {
    if (addr < 0n || addr >= 1n << 64n) return undefined;
    return this.cpu.mmu.debugTranslate(Number(addr % TWO32), Number(addr / TWO32));
  }

  /** The addresses of the installed set, to keep it (and the blocks planned around it) when it is the same. */
  private installed = "";

  setBreakpoints(addrs: readonly bigint[] | null): void {
    if (!addrs || addrs.length === 0) {
      this.interp.breakpoints = null;
      this.installed = "";
      return;
    }
    // The session re-arms before every run: an unchanged set keeps its identity, so compiled blocks (which are
    // planned around the breakpoints of one set) stay valid.
    const key = [...addrs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(",");
    if (key === this.installed && this.interp.breakpoints !== null) return;
    this.installed = key;
    const los = new Set<number>();
    const full = new Set<bigint>(addrs);
    for (const a of addrs) los.add(Number(a % TWO32));
    this.interp.breakpoints = los;
    this.interp.breakpointAt = (lo, hi) => full.has(BigInt(hi >>> 0) * TWO32 + BigInt(lo >>> 0));
  }

  pc(): bigint {
    return BigInt(this.cpu.pcHi >>> 0) * TWO32 + BigInt(this.cpu.pcLo >>> 0);
  }

  setWatchHook(hook: ((addr: bigint, size: number, isWrite: boolean) => void) | null, watched?: readonly { addr: bigint; length: number }[]): void {
    if (hook) this.cpu.watchStopLate = false;
    this.cpu.watchPages = hook && watched ? watchPages(watched) : null;
    this.cpu.watchHook = hook ? (lo, hi, size, isWrite) => hook(BigInt(hi >>> 0) * TWO32 + BigInt(lo >>> 0), size, isWrite) : null;
  }

  lastWatchStopAfterAccess(): boolean {
    return this.cpu.watchStopLate;
  }

  writeTargets(addr: bigint, length: number, state: readonly StateSection[], page: SavedPageReader): WriteTargets | undefined {
    return writeTargets(this.cpu.stateName, addr, length, state, page);
  }

  stopAfterStep(): void {
    this.cpu.debugStop = true;
    this.cpu.endBurst = true;
  }
}

/**
 * The virtual pages an access must be checked on for these watched ranges, as [low half, high half] of each
 * page's first address: the pages the ranges touch and the page before each (an instruction's later accesses
 * lie above its first, within the next page, so one whose first access is on none of these cannot hit).
 */
function watchPages(watched: readonly { addr: bigint; length: number }[]): Int32Array {
  const keys = new Set<bigint>();
  for (const w of watched) {
    const first = w.addr >> 12n;
    const last = (w.addr + BigInt(Math.max(1, w.length)) - 1n) >> 12n;
    for (let p = first - 1n; p <= last; p++) keys.add(BigInt.asUintN(52, p));
  }
  const out = new Int32Array(keys.size * 2);
  let i = 0;
  for (const k of keys) {
    const base = k << 12n;
    out[i++] = Number(base & 0xffffffffn) | 0;
    out[i++] = Number(base >> 32n) | 0;
  }
  return out;
}

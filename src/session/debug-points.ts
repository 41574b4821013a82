// Breakpoints and watchpoints of a session, and how a hit becomes a stop event. Architecture-neutral: the CPU's
// debug view (core/debug.ts) calls back on every data access while watchpoints are set.

import { STOP_BEFORE_ACCESS, type CpuDebug } from "../core/debug.js";
import type { BreakpointType, StopEvent, WatchpointType } from "./api.js";

interface Breakpoint {
  type: BreakpointType;
  addr: bigint;
  kind: number;
}
interface Watchpoint {
  type: WatchpointType;
  addr: bigint;
  length: number;
}

export class DebugPoints {
  readonly breakpoints: Breakpoint[] = [];
  readonly watchpoints: Watchpoint[] = [];
  /** The hit being reported (set by the access hook, taken by takeEvent). */
  private pendingWatchHit: StopEvent | undefined;
  /** "before": stop before the accessing instruction (undone); "after": stop once it has completed. */
  timing: "before" | "after" = "before";

  constructor(private readonly debug: CpuDebug) {}

  addBreakpoint(type: BreakpointType, addr: bigint, kind: number): void {
    if (!this.breakpoints.some((b) => b.type === type && b.addr === addr)) this.breakpoints.push({ type, addr, kind });
  }
  removeBreakpoint(type: BreakpointType, addr: bigint): boolean {
    const i = this.breakpoints.findIndex((b) => b.type === type && b.addr === addr);
    if (i < 0) return false;
    this.breakpoints.splice(i, 1);
    return true;
  }
  addWatchpoint(type: WatchpointType, addr: bigint, length: number): void {
    if (!this.watchpoints.some((w) => w.type === type && w.addr === addr && w.length === length)) this.watchpoints.push({ type, addr, length });
  }
  removeWatchpoint(type: WatchpointType, addr: bigint, length: number): boolean {
    const i = this.watchpoints.findIndex((w) => w.type === type && w.addr === addr && w.length === length);
    if (i < 0) return false;
    this.watchpoints.splice(i, 1);
    return true;
  }
  clear(): void {
    this.breakpoints.length = 0;
    this.watchpoints.length = 0;
  }

  get any(): boolean {
    return this.breakpoints.length > 0 || this.watchpoints.length > 0;
  }

  /** Arms the CPU's checks for one run (null/false: the fast path without checks). */
  arm(breakpoints: boolean, watchpoints: boolean): void {
    this.debug.setBreakpoints(breakpoints && this.breakpoints.length > 0 ? this.breakpoints.map((b) => b.addr) : null);
    this.debug.setWatchHook(watchpoints && this.watchpoints.length > 0 ? (a, s, w) => this.onAccess(a, s, w) : null, this.watchpoints);
  }
  disarm(): void {
    this.debug.setBreakpoints(null);
    this.debug.setWatchHook(null);
  }

  breakpointAtPc(): boolean {
    if (this.breakpoints.length === 0) return false;
    const pc = this.debug.pc();
    return this.breakpoints.some((b) => b.addr === pc);
  }

  /** What the run loop's "debug" stop was: the watchpoint the hook saw, else the breakpoint at PC. */
  takeEvent(): StopEvent {
    if (this.pendingWatchHit) {
      const e = this.pendingWatchHit;
      this.pendingWatchHit = undefined;
      return e;
    }
    const pc = this.debug.pc();
    const bp = this.breakpoints.find((b) => b.addr === pc);
    return { kind: "breakpoint", type: bp?.type ?? "sw", addr: pc };
  }

  private onAccess(addr: bigint, size: number, isWrite: boolean): void {
    for (const w of this.watchpoints) {
      if (addr + BigInt(size) <= w.addr || w.addr + BigInt(w.length) <= addr) continue;
      if (w.type === "write" && !isWrite) continue;
      if (w.type === "read" && isWrite) continue;
      this.pendingWatchHit ??= { kind: "watchpoint", type: w.type, addr: w.addr };
      if (this.timing === "before") throw STOP_BEFORE_ACCESS;
      this.debug.stopAfterStep();
      return;
    }
  }
}

// A scripted DebugSession for the GDB server tests: a tiny AArch64-looking machine whose program is
//
//   0x40000000 .. 0x4000003c   add x0, x0, #1          (16 straight-line instructions)
//   0x40000040 loop:           add x0, x0, #1
//   0x40000044                 add x0, x0, #1
//   0x40000048                 str x0, [x1]            (x1 = DATA_ADDR: a write watchpoint hits here)
//   0x4000004c                 ldr x2, [x1]            (a read watchpoint hits here)
//   0x40000050 .. 0x40000058   add x0, x0, #1
//   0x4000005c                 b loop
//
// with real instruction words in memory, so GDB can disassemble it. In "play" mode it is a recording of
// `length` instructions: read-only, reverse step/continue and seek work over a history of states, forward
// execution ends with replay-end; in "none" mode it runs forever (until pause) and registers/memory can be
// written. Breakpoints stop on arrival at their address (not on the instruction a continue starts from).
// Watchpoints follow what GDB expects of AArch64 (it has "non-steppable" watchpoints): forwards, the machine
// stops *before* the accessing instruction (QEMU's gdb_stop_before_watchpoint); backwards, just *after* it
// (before un-executing it); in both directions the first instruction crossed is checked too. GDB then removes
// the watchpoint, single-steps across the instruction in the direction of travel and compares the old and new
// values itself (that step is what makes progress).

import { createHash } from "node:crypto";
import {
  ReplayReadOnlyError,
  SessionBusyError,
  SessionError,
  type BreakpointType,
  type DebugSession,
  type RegisterInfo,
  type ReplayInfo,
  type ReplayMode,
  type RunState,
  type SessionEvents,
  type StopEvent,
  type WatchpointType,
} from "../../src/session/api.js";
import {
  AARCH64_CPSR_REGNUM,
  AARCH64_FPCR_REGNUM,
  AARCH64_FPSR_REGNUM,
  AARCH64_GDB_REGISTERS,
  AARCH64_PC_REGNUM,
  AARCH64_V0_REGNUM,
} from "../../src/arch/aarch64/gdb-registers.js";

export const BASE = 0x40000000n;
export const LOOP_START = BASE + 0x40n;
export const STORE_PC = LOOP_START + 8n;
export const LOAD_PC = LOOP_START + 12n;
export const LOOP_END = LOOP_START + 28n;
export const DATA_ADDR = BASE + 0x1000n;
export const STACK_TOP = BASE + 0x80000n;
export const MEM_SIZE = 0x100000;
/** Instructions before the loop starts. */
export const STRAIGHT = 16;

const ADD_X0 = 0x91000400;
const STR_X0_X1 = 0xf9000020;
const LDR_X2_X1 = 0xf9400022;
const B_LOOP = (0x14000000 | (-7 & 0x3ffffff)) >>> 0;
const MASK64 = (1n << 64n) - 1n;

/** The PC at a given icount (closed form, for tests). */
export function pcAt(icount: number): bigint {
  return icount < STRAIGHT ? BASE + 4n * BigInt(icount) : LOOP_START + 4n * BigInt((icount - STRAIGHT) % 8);
}

interface MachineState {
  icount: number;
  pc: bigint;
  /** x0..x30 and sp (31). */
  x: bigint[];
  cpsr: number;
  /** The 8 bytes at DATA_ADDR. */
  data: bigint;
}

interface Access {
  write: boolean;
  addr: bigint;
  len: number;
}

export interface FakeSessionOptions {
  mode?: ReplayMode;
  /** Play mode: instructions in the recording. Default 1000. */
  length?: number;
  /** None mode: the guest powers off when it reaches this icount. */
  poweroffAt?: number;
  /** Instructions per event-loop turn while continuing. Default 64. */
  chunk?: number;
}

export class FakeSession implements DebugSession {
  readonly arch = "aarch64" as const;
  gdbArchitecture(): string | undefined {
    return undefined;
  }
  gdbLayouts(): readonly string[] {
    return [];
  }
  selectGdbLayout(): boolean {
    return false;
  }
  readonly mode: ReplayMode;
  readonly length: number;
  /** Every call made through the API, by method name (tests check what the server did). */
  readonly calls: string[] = [];
  private readonly chunk: number;
  private readonly poweroffAt: number | undefined;
  private state: MachineState;
  /** Play mode: history[n] = state at icount n. */
  private readonly history: MachineState[] = [];
  private readonly memory = Buffer.alloc(MEM_SIZE);
  private vregs: bigint[] = [];
  private fpsr = 0;
  private fpcr = 0;
  private run: RunState = "paused";
  private pauseRequested = false;
  private replayBreak: number | undefined;
  private readonly breakpoints = new Map<string, number>();
  private readonly watchpoints: { type: WatchpointType; addr: bigint; len: number }[] = [];
  private readonly listeners = new Map<string, Set<(...args: never[]) => void>>();

  constructor(options: FakeSessionOptions = {}) {
    this.mode = options.mode ?? "play";
    this.length = options.length ?? 1000;
    this.chunk = options.chunk ?? 64;
    this.poweroffAt = options.poweroffAt;
    for (let i = 0; i < 0x1000; i += 4) {
      const pc = BASE + BigInt(i);
      let word = ADD_X0;
      if (pc === STORE_PC) word = STR_X0_X1;
      else if (pc === LOAD_PC) word = LDR_X2_X1;
      else if (pc === LOOP_END) word = B_LOOP;
      this.memory.writeUInt32LE(word, i);
    }
    this.state = this.initialState();
    this.history.push(clone(this.state));
  }

  private initialState(): MachineState {
    const x: bigint[] = [];
    for (let n = 0; n < 31; n++) x.push(BigInt(n) * 0x1111n);
    x[0] = 0n;
    x[1] = DATA_ADDR;
    x[2] = 0n;
    x[29] = 0n;
    x[30] = 0n;
    x.push(STACK_TOP);
    this.vregs = [];
    for (let n = 0; n < 32; n++) this.vregs.push((BigInt(n + 1) << 64n) | BigInt(0x0101010101010101n * BigInt(n)));
    this.fpsr = 0;
    this.fpcr = 0x03000000;
    this.memory.writeBigUInt64LE(0n, Number(DATA_ADDR - BASE));
    return { icount: 0, pc: BASE, x, cpsr: 0x3c5, data: 0n };
  }

  // ---- helpers for tests ------------------------------------------------------------------------------------

  get pc(): bigint {
    return this.state.pc;
  }
  get activeBreakpoints(): string[] {
    return [...this.breakpoints.keys()];
  }
  get activeWatchpoints(): number {
    return this.watchpoints.length;
  }
  get replayBreakAt(): number | undefined {
    return this.replayBreak;
  }

  // ---- DebugSession ------------------------------------------------------------------------------------------

  runState(): RunState {
    return this.run;
  }
  replayInfo(): ReplayInfo {
    return this.mode === "none"
      ? { mode: "none", icount: this.state.icount }
      : { mode: this.mode, filename: "replay.bin", icount: this.state.icount };
  }
  icount(): number {
    return this.state.icount;
  }
  digest(): string {
    const s = this.state;
    return createHash("sha256")
      .update(JSON.stringify({ ...s, x: s.x.map(String), pc: String(s.pc), data: String(s.data) }))
      .digest("hex");
  }

  async step(): Promise<StopEvent> {
    this.calls.push("step");
    this.checkCanRun();
    if (this.atEnd()) return this.stopped({ kind: "replay-end" });
    this.emit("resume");
    this.execOne();
    if (this.poweroffAt !== undefined && this.state.icount >= this.poweroffAt) return this.powerOff();
    return this.stopped({ kind: "step" });
  }

  cont(): Promise<StopEvent> {
    this.calls.push("cont");
    // An asynchronous method reports a refusal by rejecting, as the real session does.
    try {
      this.checkCanRun();
    } catch (e) {
      return Promise.reject(e);
    }
    this.run = "running";
    this.pauseRequested = false;
    this.emit("resume");
    return new Promise((resolve) => {
      const finish = (ev: StopEvent) => resolve(this.stopped(ev));
      const tick = () => {
        if (this.run === "shutdown") return resolve({ kind: "poweroff" });
        for (let i = 0; i < this.chunk; i++) {
          if (this.pauseRequested) return finish({ kind: "interrupted" });
          if (this.atEnd()) return finish({ kind: "replay-end" });
          // AArch64 watchpoints stop before the access (QEMU's gdb_stop_before_watchpoint), the first instruction
          // included: GDB removes the watchpoint and steps over the instruction itself, so progress is its job.
          const hit = this.watchHit(accessOf(this.state));
          if (hit) return finish(hit);
          this.execOne();
          const bp = this.breakpointAt(this.state.pc);
          if (bp) return finish({ kind: "breakpoint", type: bp, addr: this.state.pc });
          if (this.replayBreak !== undefined && this.state.icount >= this.replayBreak) {
            const icount = this.replayBreak;
            this.replayBreak = undefined;
            return finish({ kind: "replay-break", icount });
          }
          if (this.poweroffAt !== undefined && this.state.icount >= this.poweroffAt) return resolve(this.powerOff());
        }
        setImmediate(tick);
      };
      setImmediate(tick);
    });
  }

  async reverseStep(): Promise<StopEvent> {
    this.calls.push("reverseStep");
    this.checkReverse();
    if (this.state.icount === 0) return this.stopped({ kind: "replay-begin" });
    this.restore(this.state.icount - 1);
    return this.stopped({ kind: "step" });
  }

  reverseCont(): Promise<StopEvent> {
    this.calls.push("reverseCont");
    try {
      this.checkReverse();
    } catch (e) {
      return Promise.reject(e);
    }
    this.run = "running";
    this.pauseRequested = false;
    this.emit("resume");
    return new Promise((resolve) => {
      setImmediate(() => {
        if (this.pauseRequested) return resolve(this.stopped({ kind: "interrupted" }));
        // Backwards, a watchpoint stops just after the accessing instruction, the first one to un-execute
        // included (GDB then reverse-steps across it); a breakpoint stops on arrival, not where we start.
        for (let n = this.state.icount; n >= 1; n--) {
          const before = this.history[n - 1]!;
          const at = this.history[n]!;
          const hit = this.watchHit(accessOf(before));
          const bp = n < this.state.icount ? this.breakpointAt(at.pc) : undefined;
          if (hit || bp) {
            this.restore(n);
            return resolve(this.stopped(hit ?? { kind: "breakpoint", type: bp!, addr: at.pc }));
          }
        }
        this.restore(0);
        resolve(this.stopped({ kind: "replay-begin" }));
      });
    });
  }

  async seek(icount: number): Promise<void> {
    this.calls.push(`seek ${icount}`);
    this.checkReverse();
    if (!Number.isInteger(icount) || icount < 0 || icount > this.length) {
      throw new SessionError(`instruction count ${icount} is outside the recording (0..${this.length})`);
    }
    while (this.history.length <= icount) {
      this.restore(this.history.length - 1);
      this.execOne();
    }
    this.restore(icount);
  }

  pause(): void {
    this.calls.push("pause");
    if (this.run === "running") this.pauseRequested = true;
  }

  setReplayBreak(icount: number): void {
    this.calls.push(`setReplayBreak ${icount}`);
    if (this.mode !== "play") throw new SessionError("setting the breakpoint is allowed only in play mode");
    if (icount <= this.state.icount) throw new SessionError("cannot set breakpoint at the instruction in the past");
    this.replayBreak = icount;
  }
  clearReplayBreak(): void {
    this.calls.push("clearReplayBreak");
    this.replayBreak = undefined;
  }

  addBreakpoint(type: BreakpointType, addr: bigint, kind: number): void {
    this.calls.push(`addBreakpoint ${type} ${addr.toString(16)} ${kind}`);
    const key = `${type}:${addr.toString(16)}`;
    this.breakpoints.set(key, (this.breakpoints.get(key) ?? 0) + 1);
  }
  removeBreakpoint(type: BreakpointType, addr: bigint, kind: number): boolean {
    this.calls.push(`removeBreakpoint ${type} ${addr.toString(16)} ${kind}`);
    const key = `${type}:${addr.toString(16)}`;
    const n = this.breakpoints.get(key);
    if (n === undefined) return false;
    if (n <= 1) this.breakpoints.delete(key);
    else this.breakpoints.set(key, n - 1);
    return true;
  }
  addWatchpoint(type: WatchpointType, addr: bigint, length: number): void {
    this.calls.push(`addWatchpoint ${type} ${addr.toString(16)} ${length}`);
    if (length <= 0 || length > 8) throw new SessionError(`watchpoint length ${length} is not supported`);
    this.watchpoints.push({ type, addr, len: length });
  }
  removeWatchpoint(type: WatchpointType, addr: bigint, length: number): boolean {
    this.calls.push(`removeWatchpoint ${type} ${addr.toString(16)} ${length}`);
    const i = this.watchpoints.findIndex((w) => w.type === type && w.addr === addr && w.len === length);
    if (i < 0) return false;
    this.watchpoints.splice(i, 1);
    return true;
  }
  removeAllBreakpoints(): void {
    this.calls.push("removeAllBreakpoints");
    this.breakpoints.clear();
    this.watchpoints.length = 0;
  }

  registers(): readonly RegisterInfo[] {
    return AARCH64_GDB_REGISTERS;
  }

  readRegister(regnum: number): Uint8Array | undefined {
    const s = this.state;
    if (regnum >= 0 && regnum <= 31) return le(s.x[regnum]!, 8);
    if (regnum === AARCH64_PC_REGNUM) return le(s.pc, 8);
    if (regnum === AARCH64_CPSR_REGNUM) return le(BigInt(s.cpsr), 4);
    if (regnum >= AARCH64_V0_REGNUM && regnum < AARCH64_V0_REGNUM + 32) return le(this.vregs[regnum - AARCH64_V0_REGNUM]!, 16);
    if (regnum === AARCH64_FPSR_REGNUM) return le(BigInt(this.fpsr), 4);
    if (regnum === AARCH64_FPCR_REGNUM) return le(BigInt(this.fpcr), 4);
    return undefined;
  }

  writeRegister(regnum: number, value: Uint8Array): void {
    this.calls.push(`writeRegister ${regnum}`);
    if (this.mode === "play") throw new ReplayReadOnlyError("registers cannot be changed during replay");
    const info = AARCH64_GDB_REGISTERS[regnum];
    if (!info) throw new SessionError(`no register ${regnum}`);
    if (value.length !== info.bitsize / 8) throw new SessionError(`register ${info.name} takes ${info.bitsize / 8} bytes`);
    const v = fromLe(value);
    const s = this.state;
    if (regnum <= 31) s.x[regnum] = v;
    else if (regnum === AARCH64_PC_REGNUM) s.pc = v;
    else if (regnum === AARCH64_CPSR_REGNUM) s.cpsr = Number(v);
    else if (regnum === AARCH64_FPSR_REGNUM) this.fpsr = Number(v);
    else if (regnum === AARCH64_FPCR_REGNUM) this.fpcr = Number(v);
    else this.vregs[regnum - AARCH64_V0_REGNUM] = v;
  }

  readMemory(addr: bigint, length: number): Uint8Array {
    const off = this.offset(addr, length);
    return Buffer.from(this.memory.subarray(off, off + length));
  }

  writeMemory(addr: bigint, data: Uint8Array): void {
    this.calls.push(`writeMemory ${addr.toString(16)} ${data.length}`);
    if (this.mode === "play") throw new ReplayReadOnlyError("memory cannot be changed during replay");
    const off = this.offset(addr, data.length);
    this.memory.set(data, off);
    this.state.data = this.memory.readBigUInt64LE(Number(DATA_ADDR - BASE));
  }

  systemReset(): void {
    this.calls.push("systemReset");
    if (this.mode === "play") throw new ReplayReadOnlyError("cannot reset during replay");
    this.state = this.initialState();
  }

  async quit(): Promise<void> {
    this.calls.push("quit");
    if (this.run === "shutdown") return;
    this.run = "shutdown";
    this.emit("shutdown", "host-qmp-quit");
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (...args: never[]) => void);
  }
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.listeners.get(event)?.delete(listener as (...args: never[]) => void);
  }
  listenerCount(event: keyof SessionEvents): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  // ---- the machine -----------------------------------------------------------------------------------------

  private emit(event: keyof SessionEvents, ...args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) (l as (...a: unknown[]) => void)(...args);
  }

  private stopped(ev: StopEvent): StopEvent {
    if (this.run !== "shutdown") this.run = "paused";
    this.pauseRequested = false;
    this.emit("stop", ev);
    return ev;
  }

  private powerOff(): StopEvent {
    this.run = "shutdown";
    const ev: StopEvent = { kind: "poweroff" };
    this.emit("stop", ev);
    this.emit("shutdown", "guest-shutdown");
    return ev;
  }

  private checkCanRun(): void {
    if (this.run === "running") throw new SessionBusyError("the machine is already running");
    if (this.run === "shutdown") throw new SessionError("the machine has shut down");
  }

  private checkReverse(): void {
    this.checkCanRun();
    if (this.mode !== "play") throw new SessionError("reverse execution needs a replay (rr=replay)");
  }

  private atEnd(): boolean {
    return this.mode === "play" && this.state.icount >= this.length;
  }

  private breakpointAt(pc: bigint): BreakpointType | undefined {
    const hex = pc.toString(16);
    if (this.breakpoints.has(`hw:${hex}`)) return "hw";
    if (this.breakpoints.has(`sw:${hex}`)) return "sw";
    return undefined;
  }

  private watchHit(access: Access | undefined): StopEvent | undefined {
    if (!access) return undefined;
    for (const w of this.watchpoints) {
      const overlaps = access.addr < w.addr + BigInt(w.len) && w.addr < access.addr + BigInt(access.len);
      const kindOk = w.type === "access" || (w.type === "write") === access.write;
      if (overlaps && kindOk) return { kind: "watchpoint", type: w.type, addr: w.addr };
    }
    return undefined;
  }

  /** Executes the instruction at PC. */
  private execOne(): Access | undefined {
    const s = this.state;
    const access = accessOf(s);
    const off = Number((s.pc - BASE) & 0xfffffn);
    const word = s.pc >= BASE && s.pc < BASE + BigInt(MEM_SIZE) ? this.memory.readUInt32LE(off & ~3) : ADD_X0;
    let next = (s.pc + 4n) & MASK64;
    if (word === STR_X0_X1) {
      s.data = s.x[0]!;
      this.memory.writeBigUInt64LE(s.data, Number(DATA_ADDR - BASE));
    } else if (word === LDR_X2_X1) {
      s.x[2] = s.data;
    } else if (word === B_LOOP) {
      next = LOOP_START;
    } else {
      s.x[0] = (s.x[0]! + 1n) & MASK64;
    }
    s.pc = next;
    s.icount++;
    if (this.mode === "play" && this.history.length === s.icount) this.history.push(clone(s));
    return access;
  }

  private restore(icount: number): void {
    this.state = clone(this.history[icount]!);
    this.memory.writeBigUInt64LE(this.state.data, Number(DATA_ADDR - BASE));
  }

  private offset(addr: bigint, length: number): number {
    if (addr < BASE || addr + BigInt(length) > BASE + BigInt(MEM_SIZE)) {
      throw new SessionError(`cannot access memory at 0x${addr.toString(16)}`);
    }
    return Number(addr - BASE);
  }
}

function accessOf(s: MachineState): Access | undefined {
  if (s.pc === STORE_PC) return { write: true, addr: s.x[1]!, len: 8 };
  if (s.pc === LOAD_PC) return { write: false, addr: s.x[1]!, len: 8 };
  return undefined;
}

function clone(s: MachineState): MachineState {
  return { ...s, x: [...s.x] };
}

function le(v: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = v;
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function fromLe(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

// The x86 interpreter: an ExecutionEngine (core/engine.ts) that fetches at CS:RIP, decodes (decode/decoder.ts),
// builds the instruction's executor (exec/integer.ts, exec/control.ts) and runs it, one step per instruction or
// REP iteration. Executors of code in ROM are cached by linear address; code in RAM is decoded every time until the
// code-page cache (as the AArch64 interpreter has it) comes with self-modifying guests.
//
// This first slice stops the machine ("stuck") on what it cannot run yet — an instruction without an executor,
// #DE — instead of raising the exception: real-mode interrupts and protected mode are next.

import type { ExecutionEngine } from "../../core/engine.js";
import type { VirtualClock } from "../../core/clock.js";
import { Seg } from "./cpu-state.js";
import type { X86Cpu } from "./cpu.js";
import { decode } from "./decode/decoder.js";
import { buildControl, type CpuExec } from "./exec/control.js";
import { buildInteger, DIVIDE_ERROR } from "./exec/integer.js";

interface Cached {
  exec: CpuExec;
  length: number;
}

export class X86Interpreter implements ExecutionEngine {
  private readonly bytes = new Uint8Array(16);
  private readonly romCache = new Map<number, Cached>();
  private ended = false;
  private debugStop = false;

  constructor(
    readonly cpu: X86Cpu,
    readonly clock: VirtualClock,
    /** The guest did something this slice cannot run: stop the machine with this reason. */
    private readonly stuck: (reason: string) => void,
  ) {}

  endBurst(): void {
    this.ended = true;
  }

  takeDebugStop(): boolean {
    const s = this.debugStop;
    this.debugStop = false;
    return s;
  }

  waitingForInterrupt(): boolean {
    return this.cpu.halted;
  }

  runBurst(budget: number): number {
    const c = this.cpu;
    const clock = this.clock;
    this.ended = false;
    let done = 0;
    while (done < budget) {
      if (c.halted) break;
      const ip = c.codeBits === 16 ? c.ripLo & 0xffff : c.ripLo >>> 0;
      const linear = c.codeBits === 64 ? ip : ((c.segBaseLo[Seg.CS] >>> 0) + ip) >>> 0;
      const insn = this.romCache.get(linear) ?? this.decodeAt(linear);
      if (insn === undefined) break;
      const next = ip + insn.length;
      c.nextLo = c.codeBits === 16 ? next & 0xffff : next >>> 0;
      c.nextHi = c.codeBits === 64 ? c.ripHi + (next > 0xffffffff ? 1 : 0) : 0;
      clock.icount++;
      done++;
      try {
        insn.exec(c);
      } catch (e) {
        if (e !== DIVIDE_ERROR) throw e;
        this.stuck(`#DE at ${this.where(linear)} (exceptions are not delivered yet)`);
        break;
      }
      c.ripLo = c.nextLo;
      c.ripHi = c.nextHi;
      if (this.ended) break;
    }
    return done;
  }

  private decodeAt(linear: number): Cached | undefined {
    const c = this.cpu;
    for (let i = 0; i < 15; i++) this.bytes[i] = c.bus.read8((linear + i) >>> 0);
    const d = decode(this.bytes, 0, c.codeBits);
    if (!d.ok) {
      this.stuck(`${d.reason} instruction at ${this.where(linear)}: ${hex(this.bytes.subarray(0, 8))}`);
      return undefined;
    }
    const exec = (buildInteger(d, c.codeBits) as CpuExec | undefined) ?? buildControl(d, c.codeBits);
    if (exec === undefined) {
      this.stuck(`unimplemented instruction ${d.mnemonic} at ${this.where(linear)}: ${hex(this.bytes.subarray(0, d.length))}`);
      return undefined;
    }
    const cached = { exec, length: d.length };
    if (c.bus.ramAt(linear, d.length)?.readOnly) this.romCache.set(linear, cached);
    return cached;
  }

  private where(linear: number): string {
    const c = this.cpu;
    return `${c.segSel[Seg.CS].toString(16).padStart(4, "0")}:${(c.ripLo >>> 0).toString(16)} (linear 0x${linear.toString(16)})`;
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

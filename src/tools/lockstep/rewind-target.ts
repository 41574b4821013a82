// Rewind's side of the lockstep oracle: a virt machine stepped one icount step at a time, or run several steps at
// once (`runSteps`) so that a compiling tier executes them as compiled code.

import { readFileSync } from "node:fs";
import { atIcount } from "../../core/position.js";
import { createMachine } from "../../boards/registry.js";
import { asVirtMachine } from "../../boards/virt/board.js";
import type { VirtMachine } from "../../boards/virt/virt.js";
import type { LockstepTarget, RegisterSnapshot, RewindTargetOptions, StepStatus } from "./target.js";
import type { CompilerKind } from "../../boards/board.js";

/** The engines a target can run: the interpreter, or the fast tier compiling to WebAssembly or JavaScript. */
export const TARGET_ENGINES = ["interp", "wasm", "js"] as const;
export type TargetEngine = (typeof TARGET_ENGINES)[number];

export interface RewindTargetConfig extends RewindTargetOptions {
  /** Fast tier: jumps to an address before it is compiled (low, so the oracle's short runs use compiled code). */
  hotAfter?: number;
}

const DESCRIPTIONS: Record<TargetEngine, string> = {
  interp: "Rewind interpreter",
  wasm: "Rewind fast tier (WebAssembly regions)",
  js: "Rewind fast tier (JavaScript regions)",
};

const u64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class RewindTarget implements LockstepTarget {
  readonly machine: VirtMachine;
  private output = "";
  /** PC and PSTATE before the last `run` of the last step (what an exception taken in it saves). */
  private pcBefore = 0n;
  private pstateBefore = 0;

  private readonly engine: TargetEngine;

  constructor(opts: RewindTargetConfig) {
    const engine = opts.engine ?? "interp";
    if (!(TARGET_ENGINES as readonly string[]).includes(engine)) {
      throw new Error(`unknown engine ${JSON.stringify(engine)}: expected ${TARGET_ENGINES.join(", ")}`);
    }
    this.engine = engine as TargetEngine;
    const shift = /shift=(\d+)/.exec(opts.icount)?.[1] ?? (/^\d+$/.test(opts.icount) ? opts.icount : "7");
    // The oracle compares AArch64 registers: the virt board, seen through its typed accessor.
    this.machine = asVirtMachine(
      createMachine("virt", {
        ramSize: 128 << 20,
        icountShift: Number(shift),
        kernel: { name: opts.kernel, bytes: readFileSync(opts.kernel) },
        dtb: opts.dtb ? { name: opts.dtb, bytes: readFileSync(opts.dtb) } : undefined,
        rtcBootSeconds: 0,
        serial: [(b) => (this.output += String.fromCharCode(b))],
        log: (l) => process.stderr.write(`rewind: ${l}\n`),
        engine: this.engine === "interp" ? "interp" : "fast",
        compiler: this.engine === "interp" ? undefined : (this.engine as CompilerKind),
        hotAfter: this.engine === "interp" ? undefined : (opts.hotAfter ?? 2),
      }),
    );
  }

  describe(): string {
    return `${DESCRIPTIONS[this.engine]} (virt, cortex-a53)`;
  }

  runSteps(n: number): StepStatus {
    const m = this.machine;
    this.noteStateBefore();
    const reason = m.run(atIcount(m.clock.icount + n));
    return reason === "poweroff" || reason === "stuck" ? "exited" : "running";
  }

  /** How much of the run was compiled code (instructions), for reports. */
  compiledSteps(): number {
    return this.machine.blockStats().compiledSteps;
  }

  step(): StepStatus {
    const m = this.machine;
    this.noteStateBefore();
    let reason = m.run(atIcount(m.clock.icount + 1));
    // QEMU's gdbstub does not report a step that halts in WFI until the CPU has woken and run the next
    // instruction; Rewind counts WFI as a step of its own. Mirror QEMU here so the two stay comparable.
    if (reason === "limit" && m.cpu.halted) {
      this.noteStateBefore();
      reason = m.run(atIcount(m.clock.icount + 1));
    }
    return reason === "poweroff" || reason === "stuck" ? "exited" : "running";
  }

  private noteStateBefore(): void {
    const c = this.machine.cpu;
    this.pcBefore = u64(c.pcLo, c.pcHi);
    this.pstateBefore = c.pstate;
  }

  /**
   * Did the last step enter an exception? Judged from what AArch64.TakeException leaves behind: EL1 on SP_EL1,
   * D, A, I, F masked, PC on one of the 16 vectors of VBAR_EL1, SPSR_EL1 = the PSTATE before the step and
   * ELR_EL1 = the PC before it (interrupts, faults) or the next one (SVC, HVC).
   */
  private enteredException(): boolean {
    const c = this.machine.cpu;
    const s = c.sys;
    if (c.el !== 1 || c.spsel !== 1 || c.daif !== 0xf || s.spsrEl1 >>> 0 !== this.pstateBefore) return false;
    const offset = u64(c.pcLo, c.pcHi) - (u64(s.vbarEl1Lo, s.vbarEl1Hi) & ~0x7ffn);
    if (offset < 0n || offset >= 0x800n || offset % 0x80n !== 0n) return false;
    const elr = u64(s.elrEl1Lo, s.elrEl1Hi);
    return elr === this.pcBefore || elr === this.pcBefore + 4n;
  }

  /** See LockstepTarget.adoptExceptionEntryFlags: QEMU zeroes NZCV on exception entry, Rewind keeps them. */
  adoptExceptionEntryFlags(nzcv: number): boolean {
    if (!this.enteredException()) return false;
    this.machine.cpu.nzcv = nzcv;
    return true;
  }

  registers(): RegisterSnapshot {
    const c = this.machine.cpu;
    const x: bigint[] = [];
    for (let i = 0; i < 31; i++) x.push(u64(c.xlo[i], c.xhi[i]));
    const v: bigint[] = [];
    for (let i = 0; i < 32; i++) {
      let r = 0n;
      for (let w = 3; w >= 0; w--) r = (r << 32n) | BigInt(c.vregs[i * 4 + w] >>> 0);
      v.push(r);
    }
    return { x, sp: u64(c.xlo[31], c.xhi[31]), pc: u64(c.pcLo, c.pcHi), cpsr: c.pstate, v, fpsr: c.fpsr >>> 0, fpcr: c.fpcr >>> 0 };
  }

  disassemble(pc: bigint, encoding?: number): string {
    return encoding === undefined ? "?" : this.machine.interp.decoder.disassemble(encoding, pc);
  }

  readMemory(addr: bigint, length: number): Uint8Array {
    return this.machine.bus.readBytes(Number(addr), length);
  }

  serialOutput(): string {
    return this.output;
  }

  close(): void {}
}

export function createRewindTarget(options: RewindTargetConfig): LockstepTarget {
  return new RewindTarget(options);
}

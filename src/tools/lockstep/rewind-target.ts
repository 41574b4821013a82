// Rewind's side of the lockstep oracle: a virt machine stepped one icount step at a time.

import { readFileSync } from "node:fs";
import { VirtMachine } from "../../boards/virt/virt.js";
import type { LockstepTarget, RegisterSnapshot, RewindTargetOptions, StepStatus } from "./target.js";

const u64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class RewindTarget implements LockstepTarget {
  readonly machine: VirtMachine;
  private output = "";

  constructor(opts: RewindTargetOptions) {
    const shift = /shift=(\d+)/.exec(opts.icount)?.[1] ?? (/^\d+$/.test(opts.icount) ? opts.icount : "7");
    this.machine = new VirtMachine({
      ramSize: 128 << 20,
      icountShift: Number(shift),
      kernel: { name: opts.kernel, bytes: readFileSync(opts.kernel) },
      dtb: opts.dtb ? { name: opts.dtb, bytes: readFileSync(opts.dtb) } : undefined,
      rtcBootSeconds: 0,
      serialOut: (b) => (this.output += String.fromCharCode(b)),
      log: (l) => process.stderr.write(`rewind: ${l}\n`),
    });
  }

  describe(): string {
    return "Rewind interpreter (virt, cortex-a53)";
  }

  step(): StepStatus {
    const m = this.machine;
    let reason = m.run(m.clock.icount + 1);
    // QEMU's gdbstub does not report a step that halts in WFI until the CPU has woken and run the next
    // instruction; Rewind counts WFI as a step of its own. Mirror QEMU here so the two stay comparable.
    if (reason === "limit" && m.cpu.halted) reason = m.run(m.clock.icount + 1);
    return reason === "poweroff" || reason === "stuck" ? "exited" : "running";
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

export function createRewindTarget(options: RewindTargetOptions): LockstepTarget {
  return new RewindTarget(options);
}

// The Arm generic timer as seen from EL1/EL0: the system counter (CNTPCT/CNTVCT) and the EL1 physical and
// virtual timers, all on the virtual clock. The counter runs at 62.5 MHz (one tick per 16 ns) like QEMU 7.2,
// so with `-icount shift=7` one instruction advances it by 8 and guests read the same values as under QEMU.

import type { Timer, VirtualClock } from "../../core/clock.js";
import type { IrqLine } from "../../core/irq.js";
import { fieldU32, StateError, type StateFields } from "../../core/state.js";

export const COUNTER_FREQ_HZ = 62_500_000;
export const NS_PER_COUNT = 16;
const TWO32 = 4294967296;

export class TimerChannel {
  ctl = 0; // bit 0 ENABLE, bit 1 IMASK (ISTATUS is computed)
  cvalLo = 0;
  cvalHi = 0;
  private readonly deadline: Timer;

  constructor(
    readonly name: string,
    private readonly counter: SystemCounter,
    private readonly output: IrqLine,
    clock: VirtualClock,
  ) {
    this.deadline = clock.createTimer(`gt-${name}`, () => this.update());
  }

  private get cval(): number {
    return this.cvalHi * TWO32 + this.cvalLo;
  }

  /** ISTATUS: the compare condition holds. */
  get fired(): boolean {
    return this.counter.count() >= this.cval;
  }

  readCtl(): number {
    return (this.ctl & 3) | ((this.ctl & 1) && this.fired ? 4 : 0);
  }
  writeCtl(v: number): void {
    this.ctl = v & 3;
    this.update();
  }
  writeCval(lo: number, hi: number): void {
    this.cvalLo = lo >>> 0;
    this.cvalHi = hi >>> 0;
    this.update();
  }
  /** TVAL reads as the signed 32-bit distance to the compare value. */
  readTval(): number {
    return (this.cval - this.counter.count()) >>> 0;
  }
  writeTval(v: number): void {
    const target = this.counter.count() + (v | 0);
    this.writeCval(target >>> 0, Math.floor(target / TWO32) >>> 0);
  }

  /** Recomputes the interrupt output and the next deadline; called on every register change and at the deadline. */
  update(): void {
    const enabled = (this.ctl & 1) !== 0;
    const fired = enabled && this.fired;
    this.output.set(fired && (this.ctl & 2) === 0);
    if (enabled && !fired && this.cval < Number.MAX_SAFE_INTEGER / NS_PER_COUNT) this.deadline.setNs(this.cval * NS_PER_COUNT);
    else this.deadline.cancel();
  }

  save(): StateFields {
    return { ctl: this.ctl, cvalLo: this.cvalLo, cvalHi: this.cvalHi, output: this.output.high };
  }
  load(f: StateFields): void {
    this.ctl = fieldU32(f, "ctl", this.name) & 3;
    this.cvalLo = fieldU32(f, "cvalLo", this.name);
    this.cvalHi = fieldU32(f, "cvalHi", this.name);
    const out = f.output;
    if (typeof out !== "boolean") throw new StateError(`${this.name}: field output must be a boolean`);
    this.output.restore(out);
  }
}

export class SystemCounter {
  constructor(private readonly clock: VirtualClock) {}
  /** The counter value (exact up to 2^53). */
  count(): number {
    return Math.floor(this.clock.ns / NS_PER_COUNT);
  }
}

export class GenericTimer {
  readonly counter: SystemCounter;
  readonly phys: TimerChannel;
  readonly virt: TimerChannel;
  cntkctl = 0;

  constructor(clock: VirtualClock, physIrq: IrqLine, virtIrq: IrqLine) {
    this.counter = new SystemCounter(clock);
    this.phys = new TimerChannel("cntp", this.counter, physIrq, clock);
    this.virt = new TimerChannel("cntv", this.counter, virtIrq, clock);
  }

  save(): StateFields {
    return { cntkctl: this.cntkctl, phys: this.phys.save(), virt: this.virt.save() };
  }
  load(f: StateFields): void {
    this.cntkctl = fieldU32(f, "cntkctl", "timer");
    for (const [k, ch] of [
      ["phys", this.phys],
      ["virt", this.virt],
    ] as const) {
      const v = f[k];
      if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v))
        throw new StateError(`timer: field ${k} must be a field set`);
      ch.load(v as StateFields);
    }
  }
}

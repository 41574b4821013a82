// The Arm generic timer as seen from EL1/EL0: the system counter (CNTPCT/CNTVCT) and the EL1 physical and
// virtual timers, all on the virtual clock. The counter runs at 62.5 MHz (one tick per 16 ns) like QEMU 7.2,
// so with `-icount shift=7` one instruction advances it by 8 and guests read the same values as under QEMU.

import type { Timer, VirtualClock } from "../../core/clock.js";
import type { IrqLine } from "../../core/irq.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

export const COUNTER_FREQ_HZ = 62_500_000;
export const NS_PER_COUNT = 16;
const TWO32 = 4294967296;

/** One timer's registers; its deadline is a clock timer ("gt-cntv", "gt-cntp"), saved by the clock. */
const CHANNEL_STATE: StateDescription<TimerChannel> = {
  version: 1,
  fields: [field.u32("ctl", { max: 3 }), field.u32("cvalLo"), field.u32("cvalHi"), field.bool("outputHigh")],
};

const TIMER_STATE: StateDescription<GenericTimer> = {
  version: 1,
  fields: [
    field.u32("cntkctl"),
    field.section<GenericTimer, TimerChannel>("phys", (t) => t.phys, CHANNEL_STATE),
    field.section<GenericTimer, TimerChannel>("virt", (t) => t.virt, CHANNEL_STATE),
  ],
};

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
    if (enabled && !fired && this.cval < Number.MAX_SAFE_INTEGER / NS_PER_COUNT) this.deadline.setNs(this.counter.nsAt(this.cval));
    else this.deadline.cancel();
  }

  /** The interrupt output's level (saved: the GIC's input follows it). */
  get outputHigh(): boolean {
    return this.output.high;
  }
  set outputHigh(level: boolean) {
    this.output.restore(level);
  }
}

export class SystemCounter {
  /**
   * `start`: the count at virtual time 0. Rewind's counter starts at 0; QEMU's starts wherever its virtual clock
   * stood when the guest began (machine setup time, different in every QEMU run), so the QEMU oracles give QEMU's
   * start here to compare absolute counter reads and deadlines.
   */
  constructor(private readonly clock: VirtualClock, readonly start = 0) {}
  /** The counter value (exact up to 2^53). */
  count(): number {
    return Math.floor(this.clock.ns / NS_PER_COUNT) + this.start;
  }
  /** The virtual time (ns) at which the counter reaches `count`. */
  nsAt(count: number): number {
    return (count - this.start) * NS_PER_COUNT;
  }
}

/** The timer's registers are a part of their own (not of the CPU's system registers): "timer". */
export class GenericTimer implements Stateful {
  readonly stateName = "timer";
  readonly stateVersion = TIMER_STATE.version;
  readonly counter: SystemCounter;
  readonly phys: TimerChannel;
  readonly virt: TimerChannel;
  cntkctl = 0;

  constructor(clock: VirtualClock, physIrq: IrqLine, virtIrq: IrqLine, counterStart = 0) {
    this.counter = new SystemCounter(clock, counterStart);
    this.phys = new TimerChannel("cntp", this.counter, physIrq, clock);
    this.virt = new TimerChannel("cntv", this.counter, virtIrq, clock);
  }

  saveState(): StateFields {
    return saveDescribed(TIMER_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(TIMER_STATE, this, f, version, this.stateName);
  }
}

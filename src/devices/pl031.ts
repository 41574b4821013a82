// Arm PrimeCell PL031 real-time clock, with the behaviour of QEMU 7.2's hw/rtc/pl031.c under `-rtc clock=vm`.
//
// Time never comes from the host here: the board passes the wall-clock seconds at boot (a recorded input) and
// the count advances with the virtual clock, so RTCDR = tickOffset + floor(virtual ns / 1e9) (mod 2^32), where
// tickOffset starts as the boot seconds and moves on every RTCLR write. The match interrupt is a deadline on
// the virtual clock: QEMU arms it at now + (MR - RTCDR) seconds, not at the next second boundary, and so does
// this. The counter is always enabled (RTCCR reads 1, writes are ignored).

import type { Timer, VirtualClock } from "../core/clock.js";
import type { IrqLine } from "../core/irq.js";
import type { MmioHandler } from "../core/memory.js";
import type { StateFields, Stateful } from "../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../core/vmstate.js";

export const PL031_MMIO_SIZE = 0x1000;

const NS_PER_SECOND = 1e9;

const RTC_DR = 0x00;
const RTC_MR = 0x04;
const RTC_LR = 0x08;
const RTC_CR = 0x0c;
const RTC_IMSC = 0x10;
const RTC_RIS = 0x14;
const RTC_MIS = 0x18;
const RTC_ICR = 0x1c;

/** PrimeCell peripheral and cell IDs at 0xFE0..0xFFC. */
const PL031_ID = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/** The alarm deadline itself is saved by the clock (its timer), so loading does not re-arm it. */
const PL031_STATE: StateDescription<Pl031> = {
  version: 1,
  fields: [
    field.u32("tickOffset"),
    field.u32("mr"),
    field.u32("lr"),
    field.u32("im", { max: 1 }),
    field.u32("is", { max: 1 }),
  ],
  postLoad: (rtc) => rtc.syncIrq(),
};

export class Pl031 implements MmioHandler, Stateful {
  readonly stateVersion = PL031_STATE.version;

  private tickOffset: number;
  private mr = 0;
  private lr = 0;
  private im = 0;
  private is = 0;
  private readonly alarm: Timer;

  /**
   * @param bootSeconds host wall-clock seconds since the Unix epoch at boot, as recorded by the input layer.
   * The alarm timer is registered on `clock` under `${stateName}.alarm`; the clock saves its deadline.
   */
  constructor(
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    bootSeconds: number,
    readonly stateName = "pl031@9010000",
  ) {
    if (!Number.isSafeInteger(bootSeconds) || bootSeconds < 0)
      throw new RangeError(`RTC boot time ${bootSeconds} is not a whole number of seconds since 1970`);
    this.tickOffset = (bootSeconds - this.elapsedSeconds()) >>> 0;
    this.alarm = clock.createTimer(`${stateName}.alarm`, () => this.raise());
  }

  private elapsedSeconds(): number {
    return Math.floor(this.clock.ns / NS_PER_SECOND);
  }

  /** RTCDR: the current count in seconds. */
  count(): number {
    return (this.tickOffset + this.elapsedSeconds()) >>> 0;
  }

  private updateIrq(): void {
    this.irq.set((this.is & this.im) !== 0);
  }

  private raise(): void {
    this.is = 1;
    this.updateIrq();
  }

  private setAlarm(): void {
    // Wraps like the 32-bit counter, so a match value "behind" the count fires after the wrap.
    const seconds = (this.mr - this.count()) >>> 0;
    if (seconds === 0) {
      this.alarm.cancel();
      this.raise();
    } else {
      this.alarm.setNs(this.clock.ns + seconds * NS_PER_SECOND);
    }
  }

  read(offset: number, _size: number): number {
    switch (offset) {
      case RTC_DR:
        return this.count();
      case RTC_MR:
        return this.mr;
      case RTC_LR:
        return this.lr;
      case RTC_CR:
        return 1;
      case RTC_IMSC:
        return this.im;
      case RTC_RIS:
        return this.is;
      case RTC_MIS:
        return this.is & this.im;
      default:
        if (offset >= 0xfe0 && offset < 0x1000) return PL031_ID[(offset - 0xfe0) >> 2];
        return 0; // ICR is write-only; reserved offsets read 0
    }
  }

  write(offset: number, _size: number, value: number): void {
    value >>>= 0;
    switch (offset) {
      case RTC_LR:
        this.lr = value;
        this.tickOffset = (this.tickOffset + value - this.count()) >>> 0;
        this.setAlarm();
        break;
      case RTC_MR:
        this.mr = value;
        this.setAlarm();
        break;
      case RTC_IMSC:
        this.im = value & 1;
        this.updateIrq();
        break;
      case RTC_ICR:
        this.is &= ~value;
        this.updateIrq();
        break;
      default:
        break; // CR writes are ignored; DR, RIS, MIS are read-only
    }
  }

  saveState(): StateFields {
    return saveDescribed(PL031_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PL031_STATE, this, f, version, this.stateName);
  }

  /** After a load: the interrupt controller restores its own input levels; only our view of the wire follows. */
  syncIrq(): void {
    this.irq.restore((this.is & this.im) !== 0);
  }
}

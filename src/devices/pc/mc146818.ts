// Motorola MC146818A real-time clock and CMOS RAM (ports 0x70 index / 0x71 data, IRQ8), with the behaviour of
// QEMU 7.2's hw/rtc/mc146818rtc.c as the pc board creates it (base_year 2000, so the century byte 0x32 holds
// the real century; lost_tick_policy=discard).
//
// Time never comes from the host: the board passes the wall-clock seconds at boot (a recorded input) and the
// clock runs on virtual time, as QEMU does with `-rtc base=...,clock=vm`. Guest RTC time in ns is
// base_rtc·1e9 + (now − last_update) + offset, kept as whole seconds plus a sub-second part so it stays exact.
// Calendar conversion is pure arithmetic (Date.UTC / getUTC*, never `new Date()`).
//
// Kept from QEMU: registers 0x00-0x09 and 0x32 are refreshed from the guest time on every read while the clock
// runs; writes set the time (rtc_set_time). UIP reads as 1 in the last 244 µs (8/32768 s) of each second, and
// latched while the update timer is within that window. The update-ended timer (UF), alarm (AF, with don't-care
// values 0xc0-0xff) and periodic timer (PF, rate from register A, only armed while PIE is set) follow QEMU's
// check_update_timer / get_next_alarm / periodic_timer_update, including the "+1 ns" on periodic deadlines.
// Reading register C clears it and lowers IRQ8. Index bit 7 (NMI disable) is stripped; QEMU ignores it, it is
// kept here only as `nmiDisabled` for a board that wants it.

import type { Timer, VirtualClock } from "../../core/clock.js";
import type { IrqLine } from "../../core/irq.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";
import { muldiv64 } from "./i8254.js";

export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const RTC_CENTURY = 0x32;
const RTC_IBM_PS2_CENTURY_BYTE = 0x37;

const REG_A_UIP = 0x80;
const REG_B_SET = 0x80;
const REG_B_PIE = 0x40;
const REG_B_AIE = 0x20;
const REG_B_UIE = 0x10;
const REG_B_SQWE = 0x08;
const REG_B_DM = 0x04;
const REG_B_24H = 0x02;
const REG_C_UF = 0x10;
const REG_C_IRQF = 0x80;
const REG_C_PF = 0x40;
const REG_C_AF = 0x20;
const REG_C_MASK = 0x70;

const NS = 1_000_000_000;
const RTC_CLOCK_RATE = 32768;
/** 8 · 1e9 / 32768 in int64 arithmetic, as QEMU. */
const UIP_HOLD_LENGTH = Math.floor((8 * NS) / RTC_CLOCK_RATE);
const SEC_PER_MIN = 60;
const MIN_PER_HOUR = 60;
const HOUR_PER_DAY = 24;
const SEC_PER_DAY = 86400;

/** QEMU periodic_period_to_clock: the period in 32 kHz cycles for register A's rate bits. */
function periodToClock(code: number): number {
  if (!code) return 0;
  if (code <= 2) code += 7;
  return 1 << (code - 1);
}
const clockToNs = (clocks: number) => muldiv64(clocks, NS, RTC_CLOCK_RATE);

interface Tm {
  sec: number;
  min: number;
  hour: number;
  wday: number;
  mday: number;
  mon: number; // 0..11
  year: number; // full year
}

function gmtime(seconds: number): Tm {
  const d = new Date(seconds * 1000);
  return {
    sec: d.getUTCSeconds(),
    min: d.getUTCMinutes(),
    hour: d.getUTCHours(),
    wday: d.getUTCDay(),
    mday: d.getUTCDate(),
    mon: d.getUTCMonth(),
    year: d.getUTCFullYear(),
  };
}

/** QEMU mktimegm on possibly out-of-range fields (Date.UTC normalises the same way). */
function mktimegm(tm: Tm): number {
  const ms = Date.UTC(tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

export interface PcCmosConfig {
  /** RAM below 4 GiB in bytes. */
  belowFourGiB: number;
  /** RAM above 4 GiB in bytes (0 by default). */
  aboveFourGiB?: number;
  /** Number of CPUs (1 by default): 0x5f holds cpus - 1. */
  cpus?: number;
  /** -boot order, "cad" by default (QEMU's pc default). */
  bootOrder?: string;
  /** -boot strict / fd_bootchk: 0x38 bit 0 is 1 when the floppy boot signature check is off. */
  fdBootchk?: boolean;
}

/**
 * The CMOS bytes QEMU 7.2's pc_cmos_init (hw/i386/pc.c) stores for a machine without floppy or IDE disks
 * (-nodefaults): 0x10 floppy types 0, 0x12/0x39 no IDE disks, 0x14 equipment (FPU, PS/2 mouse), 0x15-0x18/0x30-0x31/0x34-0x35/0x5b-0x5d
 * memory sizes, 0x3d/0x38 boot devices, 0x5f CPU count - 1. Index → value.
 */
export function pcCmosDefaults(c: PcCmosConfig): Map<number, number> {
  const m = new Map<number, number>();
  const set16 = (lo: number, v: number) => {
    m.set(lo, v & 0xff);
    m.set(lo + 1, (v >> 8) & 0xff);
  };
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const below = c.belowFourGiB;
  set16(0x15, Math.min(Math.floor(below / KiB), 640));
  const ext = Math.min(below > MiB ? Math.floor((below - MiB) / KiB) : 0, 65535);
  set16(0x17, ext);
  set16(0x30, ext);
  set16(0x34, Math.min(below > 16 * MiB ? Math.floor((below - 16 * MiB) / (64 * KiB)) : 0, 65535));
  const above = Math.floor((c.aboveFourGiB ?? 0) / 65536);
  m.set(0x5b, above & 0xff);
  m.set(0x5c, (above >> 8) & 0xff);
  m.set(0x5d, (above >> 16) & 0xff);
  // set_boot_dev: a=1 (floppy), c=2 (disk), d=3 (cdrom), n=4 (network); up to 3 devices.
  const code: Record<string, number> = { a: 1, b: 1, c: 2, d: 3, n: 4 };
  const order = (c.bootOrder ?? "cad").split("").map((ch) => code[ch] ?? 0);
  while (order.length < 3) order.push(0);
  m.set(0x3d, (order[1] << 4) | order[0]);
  m.set(0x38, (order[2] << 4) | (c.fdBootchk ?? true ? 0 : 1));
  m.set(0x14, 0x02 | 0x04);
  m.set(0x10, 0x00);
  // x86_rtc_set_cpus_count: more CPUs than fit in a byte leave 0 (the BIOS must use fw_cfg).
  const cpus = c.cpus ?? 1;
  m.set(0x5f, cpus > 0xff ? 0 : cpus - 1);
  m.set(0x12, 0x00); // no IDE disks
  m.set(0x39, 0x00);
  return m;
}

const RTC_STATE: StateDescription<Mc146818> = {
  version: 1,
  fields: [
    field.u8s("cmos", 128),
    field.u8("cmosIndex", { max: 0x7f }),
    field.bool("nmiDisabled"),
    field.int("nextPeriodicTime"),
    field.u32("period"),
    field.int("baseRtc"),
    field.int("lastUpdate"),
    field.int("offset"),
    field.int("nextAlarmTime"),
    /** The update timer's deadline in ns (QEMU timer_expire_time_ns), -1 when not pending. */
    field.int("updateTimerNs", { check: (v: number) => (v < -1 ? "a deadline is a virtual ns or -1" : undefined) }),
    field.bool("irqLevel", { get: (r) => r.irqLevel, set: (r, v: boolean) => (r.irqLevel = v) }),
  ],
};

export interface Mc146818Options {
  /** Wall-clock seconds since 1970 at boot (a recorded input). */
  bootSeconds: number;
  /** CMOS bytes the board stores (e.g. pcCmosDefaults(...)); index → value. */
  cmos?: Map<number, number>;
  stateName?: string;
}

/** The RTC. Map `ports` at 0x70 (2 ports); `irq` is ISA IRQ8. */
export class Mc146818 implements Stateful {
  readonly stateName: string;
  readonly stateVersion = RTC_STATE.version;
  readonly cmos = new Uint8Array(128);
  cmosIndex = 0;
  nmiDisabled = false;
  nextPeriodicTime = 0;
  period = 0;
  baseRtc = 0;
  lastUpdate = 0;
  offset = 0;
  nextAlarmTime = 0;
  updateTimerNs = -1;
  private readonly periodicTimer: Timer;
  private readonly updateTimer: Timer;
  readonly ports: PortHandler;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    opts: Mc146818Options,
  ) {
    if (!Number.isSafeInteger(opts.bootSeconds) || opts.bootSeconds < 0)
      throw new RangeError(`RTC boot time ${opts.bootSeconds} is not a whole number of seconds since 1970`);
    this.stateName = opts.stateName ?? "mc146818rtc";
    this.periodicTimer = clock.createTimer(`${this.stateName}.periodic`, () => this.onPeriodic());
    this.updateTimer = clock.createTimer(`${this.stateName}.update`, () => this.onUpdate());
    this.ports = {
      read: (off, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= (off + i === 1 ? this.readData() : 0xff) << (8 * i);
        return v >>> 0;
      },
      write: (off, size, v) => {
        for (let i = 0; i < size; i++) {
          const b = (v >>> (8 * i)) & 0xff;
          if (off + i === 0) {
            this.cmosIndex = b & 0x7f;
            this.nmiDisabled = (b & 0x80) !== 0;
          } else if (off + i === 1) this.writeData(b);
        }
      },
    };
    // rtc_realizefn + rtc_set_date_from_host (with the recorded boot time).
    this.cmos[RTC_REG_A] = 0x26;
    this.cmos[RTC_REG_B] = 0x02;
    this.cmos[RTC_REG_C] = 0x00;
    this.cmos[RTC_REG_D] = 0x80;
    for (const [i, v] of opts.cmos ?? []) if (i >= 0 && i < 128) this.cmos[i] = v & 0xff;
    this.baseRtc = opts.bootSeconds;
    this.lastUpdate = this.now();
    this.offset = 0;
    this.setCmos(gmtime(opts.bootSeconds));
    this.checkUpdateTimer();
  }

  get irqLevel(): boolean {
    return this.irq.high;
  }
  set irqLevel(v: boolean) {
    this.irq.restore(v);
  }

  private now(): number {
    return this.clock.ns;
  }

  /** Board access to CMOS RAM (QEMU mc146818rtc_set_cmos_data / get). */
  setCmosByte(addr: number, val: number): void {
    if (addr >= 0 && addr <= 127) this.cmos[addr] = val & 0xff;
  }
  getCmosByte(addr: number): number {
    return this.cmos[addr & 0x7f];
  }

  private running(): boolean {
    return !(this.cmos[RTC_REG_B] & REG_B_SET) && (this.cmos[RTC_REG_A] & 0x70) <= 0x20;
  }

  /** Guest RTC time: whole seconds and the ns within the second (QEMU get_guest_rtc_ns). */
  private guestTime(): { sec: number; frac: number } {
    const delta = this.now() - this.lastUpdate + this.offset;
    const frac = ((delta % NS) + NS) % NS;
    return { sec: this.baseRtc + (delta - frac) / NS, frac };
  }

  private toBcd(a: number): number {
    return this.cmos[RTC_REG_B] & REG_B_DM ? a & 0xff : (((Math.floor(a / 10) << 4) | a % 10) & 0xff);
  }
  private fromBcd(a: number): number {
    if ((a & 0xc0) === 0xc0) return -1;
    return this.cmos[RTC_REG_B] & REG_B_DM ? a : (a >> 4) * 10 + (a & 0x0f);
  }

  private getTime(): Tm {
    const c = this.cmos;
    let hour = this.fromBcd(c[RTC_HOURS] & 0x7f);
    if (!(c[RTC_REG_B] & REG_B_24H)) {
      hour %= 12;
      if (c[RTC_HOURS] & 0x80) hour += 12;
    }
    return {
      sec: this.fromBcd(c[RTC_SECONDS]),
      min: this.fromBcd(c[RTC_MINUTES]),
      hour,
      wday: this.fromBcd(c[RTC_DAY_OF_WEEK]) - 1,
      mday: this.fromBcd(c[RTC_DAY_OF_MONTH]),
      mon: this.fromBcd(c[RTC_MONTH]) - 1,
      year: this.fromBcd(c[RTC_YEAR]) + this.fromBcd(c[RTC_CENTURY]) * 100, // base_year 0
    };
  }

  private setTime(): void {
    this.baseRtc = Math.max(0, mktimegm(this.getTime()));
    this.lastUpdate = this.now();
  }

  private setCmos(tm: Tm): void {
    const c = this.cmos;
    c[RTC_SECONDS] = this.toBcd(tm.sec);
    c[RTC_MINUTES] = this.toBcd(tm.min);
    if (c[RTC_REG_B] & REG_B_24H) {
      c[RTC_HOURS] = this.toBcd(tm.hour);
    } else {
      const h = tm.hour % 12 ? tm.hour % 12 : 12;
      c[RTC_HOURS] = this.toBcd(h) | (tm.hour >= 12 ? 0x80 : 0);
    }
    c[RTC_DAY_OF_WEEK] = this.toBcd(tm.wday + 1);
    c[RTC_DAY_OF_MONTH] = this.toBcd(tm.mday);
    c[RTC_MONTH] = this.toBcd(tm.mon + 1);
    c[RTC_YEAR] = this.toBcd(tm.year % 100);
    c[RTC_CENTURY] = this.toBcd(Math.floor(tm.year / 100));
  }

  private updateTime(): void {
    const tm = gmtime(this.guestTime().sec);
    if ((this.cmos[RTC_REG_B] & REG_B_SET) === 0) this.setCmos(tm);
  }

  private periodicClockTicks(): number {
    if (!(this.cmos[RTC_REG_B] & REG_B_PIE)) return 0;
    return periodToClock(this.cmos[RTC_REG_A] & 0x0f);
  }

  /** QEMU periodic_timer_update with lost_tick_policy=discard. */
  private periodicTimerUpdate(current: number, oldPeriod: number, periodChange: boolean): void {
    const period = this.periodicClockTicks();
    this.period = period;
    if (!period) {
      this.periodicTimer.cancel();
      return;
    }
    const curClock = muldiv64(current, RTC_CLOCK_RATE, NS);
    let lost = 0;
    if (oldPeriod && periodChange) {
      const nextPeriodicClock = muldiv64(this.nextPeriodicTime, RTC_CLOCK_RATE, NS);
      lost = Math.max(0, curClock - (nextPeriodicClock - oldPeriod));
    }
    lost = Math.min(lost, period);
    this.nextPeriodicTime = clockToNs(curClock + period - lost) + 1;
    this.periodicTimer.setNs(this.nextPeriodicTime);
  }

  private onPeriodic(): void {
    this.periodicTimerUpdate(this.nextPeriodicTime, this.period, false);
    this.cmos[RTC_REG_C] |= REG_C_PF;
    if (this.cmos[RTC_REG_B] & REG_B_PIE) {
      this.cmos[RTC_REG_C] |= REG_C_IRQF;
      this.irq.raise();
    }
  }

  private setUpdateTimer(ns: number): void {
    this.updateTimerNs = ns;
    this.updateTimer.setNs(ns);
  }
  private delUpdateTimer(): void {
    this.updateTimerNs = -1;
    this.updateTimer.cancel();
  }

  /** QEMU check_update_timer. */
  private checkUpdateTimer(): void {
    const c = this.cmos;
    if ((c[RTC_REG_A] & 0x60) === 0x60) {
      this.delUpdateTimer();
      return;
    }
    let nextUpdate = this.now() + NS - this.guestTime().frac;
    const nextAlarmSec = this.nextAlarm();
    this.nextAlarmTime = nextUpdate + (nextAlarmSec - 1) * NS;
    if (!(c[RTC_REG_A] & REG_A_UIP) && c[RTC_REG_C] & REG_C_UF) {
      if (c[RTC_REG_B] & REG_B_SET || c[RTC_REG_C] & REG_C_AF) {
        this.delUpdateTimer();
        return;
      }
      nextUpdate = this.nextAlarmTime;
    }
    if (nextUpdate !== this.updateTimerNs) this.setUpdateTimer(nextUpdate);
  }

  private convertHour(hour: number): number {
    if (!(this.cmos[RTC_REG_B] & REG_B_24H)) {
      hour %= 12;
      if (this.cmos[RTC_HOURS] & 0x80) hour += 12;
    }
    return hour;
  }

  /** QEMU get_next_alarm: seconds from the current second to the alarm (1..86400). */
  private nextAlarm(): number {
    this.updateTime();
    const c = this.cmos;
    let alarmSec = this.fromBcd(c[RTC_SECONDS_ALARM]);
    let alarmMin = this.fromBcd(c[RTC_MINUTES_ALARM]);
    let alarmHour = this.fromBcd(c[RTC_HOURS_ALARM]);
    alarmHour = alarmHour === -1 ? -1 : this.convertHour(alarmHour);
    const curSec = this.fromBcd(c[RTC_SECONDS]);
    const curMin = this.fromBcd(c[RTC_MINUTES]);
    const curHour = this.convertHour(this.fromBcd(c[RTC_HOURS]));

    if (alarmHour === -1) {
      alarmHour = curHour;
      if (alarmMin === -1) {
        alarmMin = curMin;
        if (alarmSec === -1) alarmSec = curSec + 1;
        else if (curSec > alarmSec) alarmMin++;
      } else if (curMin === alarmMin) {
        if (alarmSec === -1) alarmSec = curSec + 1;
        else if (curSec > alarmSec) alarmHour++;
        if (alarmSec === SEC_PER_MIN) {
          alarmSec = 0;
          alarmHour++;
        }
      } else if (curMin > alarmMin) {
        alarmHour++;
      }
    } else if (curHour === alarmHour) {
      if (alarmMin === -1) {
        alarmMin = curMin;
        if (alarmSec === -1) alarmSec = curSec + 1;
        else if (curSec > alarmSec) alarmMin++;
        if (alarmSec === SEC_PER_MIN) {
          alarmSec = 0;
          alarmMin++;
        }
        alarmMin %= MIN_PER_HOUR;
      } else if (curMin === alarmMin) {
        if (alarmSec === -1) alarmSec = curSec + 1;
        alarmSec %= SEC_PER_MIN;
      }
    }
    if (alarmMin === -1) alarmMin = 0;
    if (alarmSec === -1) alarmSec = 0;
    if (alarmSec === SEC_PER_MIN) {
      alarmSec = 0;
      alarmMin++;
    }
    if (alarmMin === MIN_PER_HOUR) {
      alarmMin = 0;
      alarmHour++;
    }
    alarmHour %= HOUR_PER_DAY;
    const hour = alarmHour - curHour;
    const min = hour * MIN_PER_HOUR + alarmMin - curMin;
    const sec = min * SEC_PER_MIN + alarmSec - curSec;
    return sec <= 0 ? sec + SEC_PER_DAY : sec;
  }

  /** QEMU rtc_update_timer. */
  private onUpdate(): void {
    this.updateTimerNs = -1;
    const c = this.cmos;
    if ((c[RTC_REG_A] & 0x60) === 0x60) return; // cannot happen: the timer is deleted in divider reset
    let irqs = REG_C_UF;
    this.updateTime();
    c[RTC_REG_A] &= ~REG_A_UIP;
    if (this.now() >= this.nextAlarmTime) irqs |= REG_C_AF;
    const newIrqs = irqs & ~c[RTC_REG_C];
    c[RTC_REG_C] |= irqs;
    if (newIrqs & c[RTC_REG_B]) {
      c[RTC_REG_C] |= REG_C_IRQF;
      this.irq.raise();
    }
    this.checkUpdateTimer();
  }

  private updateInProgress(): boolean {
    if (!this.running()) return false;
    if (this.updateTimerNs !== -1 && this.now() >= this.updateTimerNs - UIP_HOLD_LENGTH) {
      this.cmos[RTC_REG_A] |= REG_A_UIP;
      return true;
    }
    return this.guestTime().frac >= NS - UIP_HOLD_LENGTH;
  }

  private writeData(data: number): void {
    const c = this.cmos;
    if (this.cmosIndex === RTC_IBM_PS2_CENTURY_BYTE) this.cmosIndex = RTC_CENTURY;
    switch (this.cmosIndex) {
      case RTC_SECONDS_ALARM:
      case RTC_MINUTES_ALARM:
      case RTC_HOURS_ALARM:
        c[this.cmosIndex] = data;
        this.checkUpdateTimer();
        break;
      case RTC_CENTURY:
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
        c[this.cmosIndex] = data;
        if (this.running()) {
          this.setTime();
          this.checkUpdateTimer();
        }
        break;
      case RTC_REG_A: {
        const updatePeriodic = ((c[RTC_REG_A] ^ data) & 0x0f) !== 0;
        const oldPeriod = this.periodicClockTicks();
        if ((data & 0x60) === 0x60) {
          if (this.running()) this.updateTime();
          c[RTC_REG_A] &= ~REG_A_UIP;
        } else if ((c[RTC_REG_A] & 0x60) === 0x60 && (data & 0x70) <= 0x20) {
          // Divider reset removed: the first update cycle begins one-half second later.
          if (!(c[RTC_REG_B] & REG_B_SET)) {
            this.offset = 500_000_000;
            this.setTime();
          }
          c[RTC_REG_A] &= ~REG_A_UIP;
        }
        c[RTC_REG_A] = (data & ~REG_A_UIP) | (c[RTC_REG_A] & REG_A_UIP);
        if (updatePeriodic) this.periodicTimerUpdate(this.now(), oldPeriod, true);
        this.checkUpdateTimer();
        break;
      }
      case RTC_REG_B: {
        const updatePeriodic = ((c[RTC_REG_B] ^ data) & REG_B_PIE) !== 0;
        const oldPeriod = this.periodicClockTicks();
        if (data & REG_B_SET) {
          if (this.running()) this.updateTime();
          c[RTC_REG_A] &= ~REG_A_UIP;
          data &= ~REG_B_UIE;
        } else if (c[RTC_REG_B] & REG_B_SET && (c[RTC_REG_A] & 0x70) <= 0x20) {
          this.offset = this.guestTime().frac;
          this.setTime();
        }
        if (data & c[RTC_REG_C] & REG_C_MASK) {
          c[RTC_REG_C] |= REG_C_IRQF;
          this.irq.raise();
        } else {
          c[RTC_REG_C] &= ~REG_C_IRQF;
          this.irq.lower();
        }
        c[RTC_REG_B] = data;
        if (updatePeriodic) this.periodicTimerUpdate(this.now(), oldPeriod, true);
        this.checkUpdateTimer();
        break;
      }
      case RTC_REG_C:
      case RTC_REG_D:
        break; // read-only
      default:
        c[this.cmosIndex] = data;
        break;
    }
  }

  private readData(): number {
    const c = this.cmos;
    if (this.cmosIndex === RTC_IBM_PS2_CENTURY_BYTE) this.cmosIndex = RTC_CENTURY;
    switch (this.cmosIndex) {
      case RTC_CENTURY:
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
        if (this.running()) this.updateTime();
        return c[this.cmosIndex];
      case RTC_REG_A:
        return c[RTC_REG_A] | (this.updateInProgress() ? REG_A_UIP : 0);
      case RTC_REG_C: {
        const ret = c[RTC_REG_C];
        this.irq.lower();
        c[RTC_REG_C] = 0;
        if (ret & (REG_C_UF | REG_C_AF)) this.checkUpdateTimer();
        return ret;
      }
      default:
        return c[this.cmosIndex];
    }
  }

  /** Machine reset (QEMU rtc_reset_enter/hold): interrupt enables and flags cleared, IRQ8 lowered. */
  reset(): void {
    const c = this.cmos;
    if (c[0x0f] !== 0xfe) c[0x0f] = 0x00;
    c[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_SQWE);
    c[RTC_REG_C] &= ~(REG_C_UF | REG_C_IRQF | REG_C_PF | REG_C_AF);
    this.checkUpdateTimer();
    this.irq.lower();
  }

  saveState(): StateFields {
    return saveDescribed(RTC_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(RTC_STATE, this, f, version, this.stateName);
  }
}

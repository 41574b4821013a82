// Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC speaker/NMI status port 0x61, with the
// behaviour of QEMU 7.2's hw/timer/i8254.c, i8254_common.c and hw/audio/pcspk.c (its port 0x61).
//
// Time: the counters run at PIT_FREQ = 1193182 Hz derived from virtual nanoseconds exactly as QEMU does on
// QEMU_CLOCK_VIRTUAL: ticks elapsed = floor((now_ns - load_ns) * 1193182 / 1e9) (muldiv64, computed here with
// BigInt so it is exact for any time), and the next output transition at count c is
// load_ns + floor(c * 1e9 / 1193182) ns (bumped to now + 1 ns when that is not in the future). Virtual ns is
// the clock's ticks << shift; the IRQ0 timer fires at the first clock tick at or after that ns (Timer.setNs
// rounds up), which is when QEMU's icount clock passes the deadline. The callback evaluates the output at the
// transition time it was armed for, not at "now" (QEMU pit_irq_timer), so the IRQ0 edge train does not depend
// on how late the run loop notices the deadline.
//
// Kept from QEMU: BCD is stored and reported in the read-back status but the counter counts in binary; gate
// only restarts modes 1, 2, 3 and 5 on a rising edge (modes 0 and 4 keep counting); the null-count status bit
// is always 0; mode 6/7 behave as QEMU's switch defaults (mode 2 for reads, mode 0 for the output).

import type { Timer, VirtualClock } from "../../core/clock.js";
import type { IrqLine } from "../../core/irq.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

export const PIT_FREQ = 1193182;
const NS_PER_SECOND = 1_000_000_000;

const RW_STATE_LSB = 1;
const RW_STATE_MSB = 2;
const RW_STATE_WORD0 = 3;
const RW_STATE_WORD1 = 4;

/** floor(a * b / c) for non-negative integers, exact (QEMU muldiv64). */
export function muldiv64(a: number, b: number, c: number): number {
  if (a <= 0) return 0;
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** PIT input clock cycles between two virtual-ns times. */
function pitTicks(now: number, load: number): number {
  return muldiv64(now - load, PIT_FREQ, NS_PER_SECOND);
}

export class PitChannel {
  count = 0x10000;
  latchedCount = 0;
  countLatched = 0;
  statusLatched = 0;
  status = 0;
  readState = 0;
  writeState = 0;
  writeLatch = 0;
  rwMode = 0;
  mode = 3;
  bcd = 0;
  gate = 0;
  countLoadTime = 0;
  nextTransitionTime = -1;

  /** QEMU pit_get_count. */
  getCount(now: number): number {
    const d = pitTicks(now, this.countLoadTime);
    switch (this.mode) {
      case 0:
      case 1:
      case 4:
      case 5:
        return (this.count - d) & 0xffff;
      case 3:
        return this.count - ((2 * d) % this.count);
      default:
        return this.count - (d % this.count);
    }
  }

  /** QEMU pit_get_out. */
  getOut(now: number): boolean {
    const d = pitTicks(now, this.countLoadTime);
    switch (this.mode) {
      case 1:
        return d < this.count;
      case 2:
        return d % this.count === 0 && d !== 0;
      case 3:
        return d % this.count < (this.count + 1) >> 1;
      case 4:
      case 5:
        return d === this.count;
      default:
        return d >= this.count;
    }
  }

  /** QEMU pit_get_next_transition_time: virtual ns of the next output change, or -1. */
  nextTransition(now: number): number {
    const d = pitTicks(now, this.countLoadTime);
    let next: number;
    switch (this.mode) {
      case 2: {
        const base = d - (d % this.count);
        next = d - base === 0 && d !== 0 ? base + this.count : base + this.count + 1;
        break;
      }
      case 3: {
        const base = d - (d % this.count);
        const period2 = (this.count + 1) >> 1;
        next = d - base < period2 ? base + period2 : base + this.count;
        break;
      }
      case 4:
      case 5:
        if (d < this.count) next = this.count;
        else if (d === this.count) next = this.count + 1;
        else return -1;
        break;
      default:
        if (d < this.count) next = this.count;
        else return -1;
        break;
    }
    let t = this.countLoadTime + muldiv64(next, NS_PER_SECOND, PIT_FREQ);
    if (t <= now) t = now + 1;
    return t;
  }
}

const CHANNEL_STATE: StateDescription<PitChannel> = {
  version: 1,
  fields: [
    field.u32("count", { check: (v: number) => (v < 1 || v > 0x10000 ? "a count is 1..0x10000" : undefined) }),
    field.u16("latchedCount"),
    field.u8("countLatched", { max: RW_STATE_WORD0 }),
    field.u8("statusLatched", { max: 1 }),
    field.u8("status"),
    field.u8("readState", { max: RW_STATE_WORD1 }),
    field.u8("writeState", { max: RW_STATE_WORD1 }),
    field.u8("writeLatch"),
    field.u8("rwMode", { max: 3 }),
    field.u8("mode", { max: 7 }),
    field.u8("bcd", { max: 1 }),
    field.u8("gate", { max: 1 }),
    field.int("countLoadTime", { check: (v: number) => (v < 0 ? "a load time is a virtual ns" : undefined) }),
    field.int("nextTransitionTime", { check: (v: number) => (v < -1 ? "a transition time is a virtual ns or -1" : undefined) }),
  ],
};

const PIT_STATE: StateDescription<I8254> = {
  version: 1,
  fields: [
    /** Channel 0's IRQ suppressed while the HPET runs in legacy-replacement mode (QEMU irq_disabled). */
    field.bool("irqDisabled"),
    field.section<I8254, PitChannel>("ch0", (p) => p.channels[0], CHANNEL_STATE),
    field.section<I8254, PitChannel>("ch1", (p) => p.channels[1], CHANNEL_STATE),
    field.section<I8254, PitChannel>("ch2", (p) => p.channels[2], CHANNEL_STATE),
    /** The level last driven on IRQ0 (an output, restored without re-signalling). */
    field.bool("irqLevel", { get: (p) => p.irqLevel, set: (p, v: boolean) => (p.irqLevel = v) }),
    /** Port 0x61 (QEMU pcspk): speaker data enable and the refresh toggle read in bit 4. */
    field.u8("speakerDataOn", { max: 1 }),
    field.u8("refreshToggle", { check: (v: number) => (v & ~0x10 ? "the refresh toggle is bit 4" : undefined) }),
  ],
  postLoad: (p) => p.syncIrq(),
};

/**
 * The PIT. Channel 0 drives `irq0` (ISA IRQ0 on the PIC); channel 2's gate and output are on port 0x61.
 * Map `ports` at 0x40 (4 ports) and `port61` at 0x61 (1 port).
 */
export class I8254 implements Stateful {
  readonly stateVersion = PIT_STATE.version;
  readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()];
  speakerDataOn = 0;
  refreshToggle = 0;
  irqDisabled = false;
  private readonly timer: Timer;
  readonly ports: PortHandler;
  readonly port61: PortHandler;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irq0: IrqLine,
    readonly stateName = "i8254",
  ) {
    this.timer = clock.createTimer(`${stateName}.ch0`, () => this.onTimer());
    this.ports = {
      read: (off, size) => bytes(size, (i) => (off + i < 4 ? this.ioRead(off + i) : 0xff)),
      write: (off, size, v) => {
        for (let i = 0; i < size; i++) if (off + i < 4) this.ioWrite(off + i, (v >>> (8 * i)) & 0xff);
      },
    };
    this.port61 = {
      read: (off, size) => bytes(size, (i) => (off + i === 0 ? this.read61() : 0xff)),
      write: (off, _size, v) => {
        if (off === 0) this.write61(v & 0xff);
      },
    };
    this.reset();
  }

  get irqLevel(): boolean {
    return this.irq0.high;
  }
  set irqLevel(v: boolean) {
    this.irq0.restore(v);
  }

  private now(): number {
    return this.clock.ns;
  }

  /** Machine reset (QEMU pit_reset_common + pit_reset; port 0x61 state is kept, as pcspk has no reset). */
  reset(): void {
    const now = this.now();
    this.channels.forEach((s, i) => {
      s.mode = 3;
      s.gate = i !== 2 ? 1 : 0;
      s.countLoadTime = now;
      s.count = 0x10000;
      if (i === 0 && !this.irqDisabled) s.nextTransitionTime = s.nextTransition(now);
    });
    if (!this.irqDisabled) this.timer.setNs(this.channels[0].nextTransitionTime);
  }

  /** The HPET's legacy-replacement input (QEMU pit_irq_control): false stops channel 0's IRQ and timer. */
  setIrqEnabled(enable: boolean): void {
    if (enable) {
      this.irqDisabled = false;
      this.irqUpdate(this.channels[0], this.now());
    } else {
      this.irqDisabled = true;
      this.timer.cancel();
    }
  }

  /** QEMU pit_irq_timer_update: only channel 0 has an IRQ and a timer. */
  private irqUpdate(s: PitChannel, current: number): void {
    if (s !== this.channels[0] || this.irqDisabled) return;
    const expire = s.nextTransition(current);
    this.irq0.set(s.getOut(current));
    s.nextTransitionTime = expire;
    if (expire !== -1) this.timer.setNs(expire);
    else this.timer.cancel();
  }

  private onTimer(): void {
    const s = this.channels[0];
    this.irqUpdate(s, s.nextTransitionTime);
  }

  private loadCount(s: PitChannel, val: number): void {
    if (val === 0) val = 0x10000;
    s.countLoadTime = this.now();
    s.count = val;
    this.irqUpdate(s, s.countLoadTime);
  }

  private latchCount(s: PitChannel): void {
    if (!s.countLatched) {
      s.latchedCount = s.getCount(this.now()) & 0xffff;
      s.countLatched = s.rwMode;
    }
  }

  /** Channel gate input (QEMU pit_set_channel_gate); val 0 or 1. */
  setGate(channel: number, val: number): void {
    const s = this.channels[channel];
    val = val ? 1 : 0;
    if (s.gate < val && (s.mode === 1 || s.mode === 5 || s.mode === 2 || s.mode === 3)) {
      s.countLoadTime = this.now();
      this.irqUpdate(s, s.countLoadTime);
    }
    s.gate = val;
  }

  private ioWrite(addr: number, val: number): void {
    if (addr === 3) {
      const channel = val >> 6;
      if (channel === 3) {
        for (let c = 0; c < 3; c++) {
          const s = this.channels[c];
          if (!(val & (2 << c))) continue;
          if (!(val & 0x20)) this.latchCount(s);
          if (!(val & 0x10) && !s.statusLatched) {
            s.status = ((s.getOut(this.now()) ? 1 : 0) << 7) | (s.rwMode << 4) | (s.mode << 1) | s.bcd;
            s.statusLatched = 1;
          }
        }
      } else {
        const s = this.channels[channel];
        const access = (val >> 4) & 3;
        if (access === 0) {
          this.latchCount(s);
        } else {
          s.rwMode = access;
          s.readState = access;
          s.writeState = access;
          s.mode = (val >> 1) & 7;
          s.bcd = val & 1;
        }
      }
      return;
    }
    const s = this.channels[addr];
    switch (s.writeState) {
      case RW_STATE_MSB:
        this.loadCount(s, val << 8);
        break;
      case RW_STATE_WORD0:
        s.writeLatch = val;
        s.writeState = RW_STATE_WORD1;
        break;
      case RW_STATE_WORD1:
        this.loadCount(s, s.writeLatch | (val << 8));
        s.writeState = RW_STATE_WORD0;
        break;
      default: // LSB, and a channel never programmed (QEMU's default case)
        this.loadCount(s, val);
        break;
    }
  }

  private ioRead(addr: number): number {
    if (addr === 3) return 0; // the control word register is write-only
    const s = this.channels[addr];
    if (s.statusLatched) {
      s.statusLatched = 0;
      return s.status;
    }
    if (s.countLatched) {
      switch (s.countLatched) {
        case RW_STATE_MSB:
          s.countLatched = 0;
          return s.latchedCount >> 8;
        case RW_STATE_WORD0:
          s.countLatched = RW_STATE_MSB;
          return s.latchedCount & 0xff;
        default:
          s.countLatched = 0;
          return s.latchedCount & 0xff;
      }
    }
    const count = s.getCount(this.now());
    switch (s.readState) {
      case RW_STATE_MSB:
        return (count >> 8) & 0xff;
      case RW_STATE_WORD0:
        s.readState = RW_STATE_WORD1;
        return count & 0xff;
      case RW_STATE_WORD1:
        s.readState = RW_STATE_WORD0;
        return (count >> 8) & 0xff;
      default:
        return count & 0xff;
    }
  }

  /** Port 0x61 read (QEMU pcspk_io_read): bit 0 gate 2, bit 1 speaker data, bit 4 toggles per read, bit 5 OUT2. */
  private read61(): number {
    const ch2 = this.channels[2];
    this.refreshToggle ^= 1 << 4;
    return ch2.gate | (this.speakerDataOn << 1) | this.refreshToggle | ((ch2.getOut(this.now()) ? 1 : 0) << 5);
  }

  private write61(val: number): void {
    this.speakerDataOn = (val >> 1) & 1;
    this.setGate(2, val & 1);
  }

  saveState(): StateFields {
    return saveDescribed(PIT_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PIT_STATE, this, f, version, this.stateName);
  }
  /** The clock restores the timer's deadline; the PIC restores its own input levels. */
  syncIrq(): void {}
}

function bytes(size: number, rd: (i: number) => number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= (rd(i) & 0xff) << (8 * i);
  return v >>> 0;
}

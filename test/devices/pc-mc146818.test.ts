// MC146818 RTC/CMOS: expected values from the MC146818A datasheet and QEMU 7.2's hw/rtc/mc146818rtc.c
// (cmos_ioport_read/write, update_in_progress, check_update_timer, get_next_alarm, periodic_timer_update,
// rtc_set_cmos) and hw/i386/pc.c pc_cmos_init / set_boot_dev.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { Mc146818, pcCmosDefaults } from "../../src/devices/pc/mc146818.js";
import { RecordingController, savedThroughBytes } from "./helpers.js";

const SHIFT = 7;
const TPS = 1e9 / 128; // ticks per virtual second
/** Thursday 2024-02-29 23:59:58 UTC. */
const BOOT = Date.UTC(2024, 1, 29, 23, 59, 58) / 1000;

function setup(boot = BOOT, cmos?: Map<number, number>) {
  const clock = new VirtualClock(SHIFT);
  const ctl = new RecordingController();
  const rtc = new Mc146818(clock, new IrqLine(ctl, 8), { bootSeconds: boot, cmos });
  const rd = (i: number) => {
    rtc.ports.write(0, 1, i);
    return rtc.ports.read(1, 1);
  };
  const wr = (i: number, v: number) => {
    rtc.ports.write(0, 1, i);
    rtc.ports.write(1, 1, v);
  };
  const runTo = (t: number) => {
    while (clock.icount < t) {
      clock.icount = Math.min(t, Math.max(clock.icount + 1, clock.nextDeadline));
      clock.runDue();
    }
  };
  const time = () => [0, 2, 4, 6, 7, 8, 9, 0x32].map(rd);
  return { clock, ctl, rtc, rd, wr, runTo, time, irq: () => ctl.level(8) };
}

test("RTC reset values and the boot time in BCD 24-hour mode (realize + rtc_set_cmos)", () => {
  const { rd, time, rtc } = setup();
  assert.deepEqual(time(), [0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]);
  assert.deepEqual([0x0a, 0x0b, 0x0c, 0x0d].map(rd), [0x26, 0x02, 0x00, 0x80]);
  assert.equal(rtc.ports.read(0, 1), 0xff, "the index port reads 0xff");
  assert.equal(rd(0x37), 0x20, "IBM PS/2 century byte aliases 0x32");
});

test("RTC time advances on the virtual clock across midnight and a leap day", () => {
  const { time, runTo } = setup();
  runTo(2 * TPS - 1);
  assert.deepEqual(time().slice(0, 3), [0x59, 0x59, 0x23]);
  runTo(2 * TPS);
  assert.deepEqual(time(), [0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20]);
});

test("RTC binary and 12-hour modes; SET freezes, writing sets the time", () => {
  const { rd, wr, time, runTo } = setup();
  wr(0x0b, 0x06); // binary, 24h
  assert.deepEqual(time(), [58, 59, 23, 5, 29, 2, 24, 20]);
  wr(0x0b, 0x00); // BCD, 12h
  assert.equal(rd(4), 0x91, "11 PM");
  wr(0x0b, 0x82); // SET, 24h
  wr(0, 0x30);
  wr(2, 0x15);
  wr(4, 0x10);
  runTo(5 * TPS);
  assert.deepEqual(time().slice(0, 3), [0x30, 0x15, 0x10], "frozen while SET");
  wr(0x0b, 0x02);
  runTo(6 * TPS);
  assert.deepEqual(time().slice(0, 3), [0x31, 0x15, 0x10], "runs from the written time");
});

test("RTC UIP is set in the last 244 µs of each second (update_in_progress)", () => {
  const { rd, clock } = setup();
  clock.icount = 7810592; // 999755776 ns: 1e9 - 244224
  assert.equal(rd(0x0a), 0x26);
  clock.icount = 7810593; // 999755904 ns: within 244140 ns of the update
  assert.equal(rd(0x0a), 0xa6);
});

test("RTC update-ended interrupt on IRQ8 each second; register C read clears and lowers", () => {
  const { rd, wr, runTo, irq, clock } = setup();
  wr(0x0b, 0x12); // UIE, 24h
  assert.equal(clock.nextDeadline, TPS, "update timer at the next whole guest second");
  runTo(TPS - 1);
  assert.equal(irq(), false);
  runTo(TPS);
  assert.equal(irq(), true);
  assert.equal(rd(0x0c), 0x90);
  assert.equal(irq(), false);
  assert.equal(rd(0x0c), 0x00);
  runTo(2 * TPS);
  assert.equal(irq(), true);
});

test("RTC periodic interrupt at 1024 Hz: first deadline clockToNs(32) + 1 ns", () => {
  const { rd, wr, runTo, irq, clock } = setup();
  wr(0x0b, 0x42); // PIE
  // muldiv64(32, 1e9, 32768) = 976562; +1 ns = 976563 ns; first tick at or after: 7630.
  assert.equal(clock.nextDeadline, 7630);
  runTo(7629);
  assert.equal(irq(), false);
  runTo(7630);
  assert.equal(irq(), true);
  assert.equal(rd(0x0c), 0xc0);
  // The next period counts from the previous deadline (64 clocks -> 1953125 ns, + 1).
  assert.equal(clock.nextDeadline, Math.ceil(1953126 / 128));
  wr(0x0a, 0x2f); // 2 Hz
  wr(0x0b, 0x02);
  assert.equal(clock.nextDeadline, TPS, "periodic timer off with PIE clear; update timer remains");
});

test("RTC alarm with don't-care hour and minute fires at the matching second", () => {
  const { rd, wr, runTo, irq } = setup();
  wr(0x01, 0x01);
  wr(0x03, 0xc0);
  wr(0x05, 0xc0);
  wr(0x0b, 0x22); // AIE
  runTo(3 * TPS - 1);
  assert.equal(irq(), false);
  assert.equal(rd(0x0c) & 0x20, 0, "no AF before 00:00:01");
  runTo(3 * TPS);
  assert.equal(irq(), true);
  assert.equal(rd(0x0c) & 0xa0, 0xa0);
});

test("RTC index NMI bit and CMOS RAM; the pc board's CMOS values (pc_cmos_init)", () => {
  const cm = pcCmosDefaults({ belowFourGiB: 128 * 1024 * 1024 });
  const { rd, wr, rtc } = setup(BOOT, cm);
  rtc.ports.write(0, 1, 0x8f);
  assert.equal(rtc.nmiDisabled, true);
  assert.equal(rtc.ports.read(1, 1), 0x00, "index 0x0f, NMI bit stripped");
  wr(0x0f, 0x00);
  assert.equal(rtc.nmiDisabled, false);
  assert.deepEqual(
    [0x10, 0x14, 0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x38, 0x3d, 0x5b, 0x5f].map(rd),
    [0x00, 0x06, 0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07, 0x30, 0x12, 0x00, 0x00],
  );
  wr(0x40, 0x5a);
  assert.equal(rd(0x40), 0x5a);
  wr(0x0d, 0x00);
  assert.equal(rd(0x0d), 0x80, "register D is read-only");
});

test("RTC state round-trips mid-period and continues identically; determinism across time splits", () => {
  const a = setup();
  const b = setup();
  for (const s of [a, b]) {
    s.wr(0x0a, 0x23); // 8192 Hz
    s.wr(0x0b, 0x52); // PIE + UIE
  }
  const count = (s: ReturnType<typeof setup>, upTo: number, step: number) => {
    let n = 0;
    for (let t = s.clock.icount + step; t <= upTo; t += step) {
      s.runTo(t);
      if (s.irq()) {
        n++;
        s.rd(0x0c);
      }
    }
    return n;
  };
  const na = count(a, 2 * TPS, 1);
  assert.ok(na > 1000);
  b.runTo(2 * TPS);
  assert.equal(b.rtc.nextPeriodicTime, a.rtc.nextPeriodicTime, "same periodic train however time was split");
  assert.equal(b.clock.nextDeadline, a.clock.nextDeadline);
  assert.deepEqual(b.time(), a.time());
  const saved = savedThroughBytes(a.rtc);
  const c = setup();
  c.clock.loadState(a.clock.saveState(), 1);
  c.rtc.loadState(saved, 1);
  assert.deepEqual(savedThroughBytes(c.rtc), saved);
  assert.equal(count(a, 3 * TPS, 1), count(c, 3 * TPS, 1));
  assert.deepEqual(a.time(), c.time());
  assert.throws(() => c.rtc.loadState({ ...saved, cmosIndex: 0x80 }, 1), StateError);
  assert.throws(() => c.rtc.loadState({ ...saved, cmos: new Uint8Array(64) }, 1), StateError);
});

test("RTC bad guest input never throws", () => {
  const { rtc, wr, rd, runTo } = setup();
  for (let i = 0; i < 256; i++) for (const v of [0x00, 0x60, 0x7f, 0x80, 0xc0, 0xff, i]) {
    wr(i, v);
    rd(i);
  }
  rtc.ports.write(0, 2, 0xffff);
  rtc.ports.read(0, 4);
  runTo(3 * TPS);
});

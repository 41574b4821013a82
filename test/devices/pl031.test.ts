import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { loadSections, saveSections, StateError } from "../../src/core/state.js";
import { Pl031 } from "../../src/devices/pl031.js";
import { RecordingController, encoded, savedThroughBytes } from "./helpers.js";

const DR = 0x00,
  MR = 0x04,
  LR = 0x08,
  CR = 0x0c,
  IMSC = 0x10,
  RIS = 0x14,
  MIS = 0x18,
  ICR = 0x1c;
const SPI2 = 34;
const BOOT = 1_700_000_000;
const SHIFT = 7;
/** Ticks (instruction counts) per virtual second at shift 7. */
const TICKS_PER_SECOND = 1e9 / 2 ** SHIFT;

function setup(boot = BOOT) {
  const clock = new VirtualClock(SHIFT);
  const gic = new RecordingController();
  const rtc = new Pl031(clock, new IrqLine(gic, SPI2), boot);
  const r = (off: number) => rtc.read(off, 4) >>> 0;
  const w = (off: number, v: number) => rtc.write(off, 4, v >>> 0);
  /** Moves virtual time to `ticks` and fires whatever became due, as the run loop does. */
  const runTo = (ticks: number) => {
    clock.icount = ticks;
    clock.runDue();
  };
  return { clock, gic, rtc, r, w, runTo, line: () => gic.level(SPI2) };
}

test("PL031 IDs and control register as QEMU", () => {
  const { r, w } = setup();
  const ids = [];
  for (let off = 0xfe0; off < 0x1000; off += 4) ids.push(r(off));
  assert.deepEqual(ids, [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
  assert.equal(r(CR), 1, "always enabled");
  w(CR, 0);
  assert.equal(r(CR), 1);
  assert.equal(r(ICR), 0);
  assert.equal(r(0x20), 0);
});

test("PL031 counts seconds from the boot time on the virtual clock", () => {
  const { r, runTo } = setup();
  assert.equal(r(DR), BOOT);
  runTo(TICKS_PER_SECOND - 1);
  assert.equal(r(DR), BOOT, "not a whole second yet");
  runTo(TICKS_PER_SECOND);
  assert.equal(r(DR), BOOT + 1);
  runTo(90 * TICKS_PER_SECOND + 5);
  assert.equal(r(DR), BOOT + 90);
});

test("PL031 RTCLR sets the count, which keeps advancing; RTCLR reads back what was written", () => {
  const { r, w, runTo } = setup();
  runTo(2.5 * TICKS_PER_SECOND);
  w(LR, 1000);
  assert.equal(r(DR), 1000);
  assert.equal(r(LR), 1000);
  runTo(3 * TICKS_PER_SECOND); // the next whole virtual second
  assert.equal(r(DR), 1001);
  w(LR, 0xffffffff);
  runTo(4 * TICKS_PER_SECOND);
  assert.equal(r(DR), 0, "the 32-bit counter wraps");
});

test("PL031 match interrupt fires on the virtual clock and is masked, cleared and re-armed", () => {
  const { r, w, runTo, line, clock } = setup();
  runTo(TICKS_PER_SECOND / 4);
  w(IMSC, 1);
  w(MR, BOOT + 2);
  // QEMU arms the alarm at now + (MR - RTCDR) seconds.
  const due = TICKS_PER_SECOND / 4 + 2 * TICKS_PER_SECOND;
  assert.equal(clock.nextDeadline, due);
  runTo(due - 1);
  assert.equal(r(RIS), 0);
  assert.equal(line(), false);
  runTo(due);
  assert.equal(r(RIS), 1);
  assert.equal(r(MIS), 1);
  assert.equal(line(), true);
  w(IMSC, 0);
  assert.equal(line(), false);
  assert.equal(r(MIS), 0);
  assert.equal(r(RIS), 1);
  w(IMSC, 1);
  w(ICR, 1);
  assert.equal(line(), false);
  assert.equal(r(RIS), 0);
  assert.equal(clock.nextDeadline, Infinity, "one-shot");
  // A match value equal to the current count raises the interrupt at once.
  w(MR, r(DR));
  assert.equal(r(RIS), 1);
  assert.equal(line(), true);
  w(ICR, 1);
  // A match value behind the count only matches after the counter wraps.
  w(MR, r(DR) - 1);
  assert.equal(clock.nextDeadline, Math.ceil((clock.ns + (2 ** 32 - 1) * 1e9) / 2 ** SHIFT));
});

test("PL031 rejects a boot time that is not whole seconds since the epoch", () => {
  const clock = new VirtualClock(SHIFT);
  const irq = new IrqLine(new RecordingController(), SPI2);
  assert.throws(() => new Pl031(clock, irq, -1), RangeError);
  assert.throws(() => new Pl031(clock, irq, 1.5), RangeError);
  assert.throws(() => new Pl031(clock, irq, Number.NaN), RangeError);
});

test("PL031 state round-trips, and with the clock's state the pending alarm fires at the same time", () => {
  const a = setup();
  a.runTo(3 * TICKS_PER_SECOND);
  a.w(LR, 5000);
  a.w(IMSC, 1);
  a.w(MR, 5010);
  const due = a.clock.nextDeadline;
  const before = encoded(a.rtc);
  const saved = savedThroughBytes(a.rtc);
  const sections = saveSections([a.clock, a.rtc]);

  a.w(LR, 7);
  a.w(IMSC, 0);
  a.rtc.loadState(saved, 1);
  assert.deepEqual(encoded(a.rtc), before);

  // A fresh machine restored from the sections: same count, same alarm.
  const b = setup(42);
  loadSections([b.clock, b.rtc], sections);
  assert.deepEqual(encoded(b.rtc), before);
  assert.equal(b.clock.nextDeadline, due);
  assert.equal(b.r(DR), 5000);
  b.runTo(due - 1);
  assert.equal(b.line(), false);
  b.runTo(due);
  assert.equal(b.line(), true);
  assert.equal(b.r(DR), 5010);
});

test("PL031 loadState rejects impossible values", () => {
  const { rtc } = setup();
  const good = rtc.saveState();
  assert.throws(() => rtc.loadState({ ...good, im: 2 }, 1), StateError);
  assert.throws(() => rtc.loadState({ ...good, is: 3 }, 1), StateError);
  assert.throws(() => rtc.loadState({ ...good, tickOffset: 2 ** 32 }, 1), StateError);
  assert.throws(() => rtc.loadState({ ...good, mr: "soon" }, 1), StateError);
});

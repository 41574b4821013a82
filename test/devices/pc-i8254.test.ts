// 8254 PIT: expected values from QEMU 7.2's hw/timer/i8254.c / i8254_common.c (pit_get_count, pit_get_out,
// pit_get_next_transition_time, pit_irq_timer_update, pit_ioport_write/read) and hw/audio/pcspk.c
// (pcspk_io_read/write), and the 8254 datasheet's access modes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { I8254, muldiv64, PIT_FREQ } from "../../src/devices/pc/i8254.js";
import { I8259Pair } from "../../src/devices/pc/i8259.js";
import { RecordingController, savedThroughBytes } from "./helpers.js";

const SHIFT = 7;
/** ns of PIT count c from the load (QEMU: muldiv64(c, 1e9, PIT_FREQ)). */
const nsOf = (c: number) => Number((BigInt(c) * 1_000_000_000n) / BigInt(PIT_FREQ));
const tickOf = (ns: number) => Math.ceil(ns / 2 ** SHIFT);

function setup(shift = SHIFT) {
  const clock = new VirtualClock(shift);
  const ctl = new RecordingController();
  const pit = new I8254(clock, new IrqLine(ctl, 0));
  const out = (port: number, v: number) => (port === 0x61 ? pit.port61.write(0, 1, v) : pit.ports.write(port - 0x40, 1, v));
  const inb = (port: number) => (port === 0x61 ? pit.port61.read(0, 1) : pit.ports.read(port - 0x40, 1));
  const edges: number[] = [];
  let last = false;
  /** Steps one tick at a time (as the run loop would), recording rising edges of IRQ0 by tick. */
  const runTo = (ticks: number) => {
    while (clock.icount < ticks) {
      clock.icount = Math.min(ticks, Math.max(clock.icount + 1, Math.min(clock.nextDeadline, ticks)));
      clock.runDue();
      const l = ctl.level(0);
      if (l && !last) edges.push(clock.ticks);
      last = l;
    }
  };
  return { clock, ctl, pit, out, inb, runTo, edges };
}

test("muldiv64 is exact beyond 2^53 intermediate products", () => {
  assert.equal(muldiv64(3600e9, PIT_FREQ, 1e9), 3600 * PIT_FREQ);
  assert.equal(muldiv64(10 ** 15 + 7, PIT_FREQ, 1e9), Number(((10n ** 15n + 7n) * 1193182n) / 1000000000n));
});

test("PIT SeaBIOS timer setup: mode 2, count 0 = 65536, IRQ0 at 18.2 Hz on exact virtual ticks", () => {
  const { out, runTo, edges, clock } = setup();
  clock.icount = 1000;
  out(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2, binary (SeaBIOS timer_setup)
  out(0x40, 0x00);
  out(0x40, 0x00);
  const load = 1000 * 128;
  // QEMU mode 2: from d = 0 the next transition is count N + 1; its ns, floor((N+1)·1e9/F), maps back to
  // d = N (muldiv64 rounds down), so OUT (and IRQ0) rises there; it falls at floor(2N·1e9/F) (d = 2N-1) and
  // rises again at 2N+1. Rising edges: load + floor((kN+1)·1e9/F) ns, at the first tick at or after it.
  assert.equal(clock.nextDeadline, tickOf(load + nsOf(65537)));
  runTo(tickOf(load + nsOf(3 * 65536 + 1)) + 10);
  assert.deepEqual(edges, [1, 2, 3].map((k) => tickOf(load + nsOf(k * 65536 + 1))));
  assert.deepEqual(edges, [430112, 859216, 1288321], "ticks at shift 7");
  // 18.2 Hz: 65536 / 1193182 s = 54.925 ms.
  assert.equal(nsOf(65536), 54925401);
});

test("PIT IRQ0 edges do not depend on how the time is split (determinism)", () => {
  const a = setup();
  const b = setup();
  for (const s of [a, b]) {
    s.out(0x43, 0x34);
    s.out(0x40, 0x9c);
    s.out(0x40, 0x2e); // 11932 = 100 Hz
  }
  a.runTo(5_000_000);
  for (let t = 0; t < 5_000_000; t += 77_777) b.runTo(t);
  b.runTo(5_000_000);
  assert.deepEqual(a.edges, b.edges);
  const expected: number[] = [];
  for (let k = 1; tickOf(nsOf(k * 11932 + 1)) <= 5_000_000; k++) expected.push(tickOf(nsOf(k * 11932 + 1)));
  assert.deepEqual(a.edges, expected);
  assert.equal(a.edges.length, 63, "0.64 s at 100 Hz");
  assert.deepEqual(savedThroughBytes(a.pit), savedThroughBytes(b.pit));
});

test("PIT counter reads: lobyte/hibyte, latch, read-back status and count, mode 0 terminal count", () => {
  const { out, inb, clock, ctl, runTo } = setup();
  out(0x43, 0x30); // ch0 mode 0, lo/hi
  out(0x40, 0x00);
  assert.equal(ctl.level(0), false, "mode 0 OUT low after the control word/count");
  out(0x40, 0x10); // 0x1000
  clock.icount = tickOf(nsOf(0x100)); // some ticks later
  const d = muldiv64(clock.ns, PIT_FREQ, 1e9);
  const expect = (0x1000 - d) & 0xffff;
  out(0x43, 0x00); // latch ch0
  clock.icount += 1000;
  assert.equal(inb(0x40) | (inb(0x40) << 8), expect, "latched count");
  // Read-back: status of ch0 (OUT low, rw 3, mode 0, binary), then count.
  out(0x43, 0xe2); // read-back, latch status only, ch0
  assert.equal(inb(0x40), 0x30);
  runTo(tickOf(nsOf(0x1000)));
  assert.equal(ctl.level(0), true, "OUT high at terminal count");
  out(0x43, 0xc2); // read-back count + status
  assert.equal(inb(0x40), 0xb0, "status first: OUT high");
  const lo = inb(0x40);
  const hi = inb(0x40);
  assert.equal((lo | (hi << 8)), (0x1000 - muldiv64(clock.ns, PIT_FREQ, 1e9)) & 0xffff);
  // Lobyte-only access and msb-only access.
  out(0x43, 0x52); // ch1, lobyte, mode 1
  out(0x41, 0x40);
  assert.equal(inb(0x41), 0x40);
  out(0x43, 0x64); // ch1, msb, mode 2
  out(0x41, 0x01); // count 0x100
  assert.equal(inb(0x41), 0x01);
  out(0x43, 0x51); // BCD bit kept in status (ch1 lobyte mode 0 bcd)
  out(0x43, 0xe4);
  assert.equal(inb(0x41), 0x11);
  assert.equal(inb(0x43), 0, "control register reads 0");
});

test("PIT mode 3 square wave edges and channel 2 via port 0x61 (gate, OUT2, refresh toggle)", () => {
  const { out, inb, runTo, edges, clock } = setup();
  out(0x43, 0x36);
  out(0x40, 100);
  out(0x40, 0); // count 100
  runTo(tickOf(nsOf(350)));
  assert.deepEqual(edges, [tickOf(nsOf(100)), tickOf(nsOf(200)), tickOf(nsOf(300))]);
  // Channel 2: gate from port 0x61 bit 0; reset state: gate 0, mode 3.
  const r0 = inb(0x61);
  const r1 = inb(0x61);
  assert.equal((r0 ^ r1) & 0x10, 0x10, "bit 4 toggles on every read");
  assert.equal(r0 & 1, 0, "gate 2 low at reset");
  out(0x43, 0xb0); // ch2 mode 0 lo/hi
  out(0x42, 0x10);
  out(0x42, 0x00);
  out(0x61, 0x03); // gate on, speaker data on
  assert.equal(inb(0x61) & 0x23, 0x03, "OUT2 low while counting");
  clock.icount += tickOf(nsOf(0x10)) + 1;
  assert.equal(inb(0x61) & 0x20, 0x20, "OUT2 high at terminal count");
  // Mode 2 on ch2 restarts on a rising gate edge.
  out(0x43, 0xb4);
  out(0x42, 0x00);
  out(0x42, 0x10);
  out(0x61, 0x00);
  clock.icount += 5000;
  out(0x61, 0x01);
  out(0x43, 0x80);
  assert.equal(inb(0x42) | (inb(0x42) << 8), 0x1000, "count restarted by the gate");
});

test("PIT state round-trips in the middle of a count and the IRQ0 train continues identically", () => {
  const a = setup();
  a.out(0x43, 0x34);
  a.out(0x40, 0);
  a.out(0x40, 0);
  a.runTo(600_000); // between the first and second IRQ0
  a.out(0x43, 0x00); // latch pending mid-read
  a.inb(0x40);
  const saved = savedThroughBytes(a.pit);
  const clockSaved = a.clock.saveState();
  const b = setup();
  b.pit.loadState(saved, a.pit.stateVersion);
  b.clock.loadState(clockSaved, 1);
  assert.deepEqual(savedThroughBytes(b.pit), saved);
  assert.equal(b.inb(0x40), a.inb(0x40), "latched MSB");
  const edgesBefore = a.edges.length;
  a.runTo(2_000_000);
  b.runTo(2_000_000);
  assert.deepEqual(b.edges, a.edges.slice(edgesBefore));
  assert.throws(() => b.pit.loadState({ ...saved, ch0: { ...(saved.ch0 as object), count: 0 } }, 1), StateError);
  assert.throws(() => b.pit.loadState({ ...saved, ch1: { ...(saved.ch1 as object), rwMode: 4 } }, 1), StateError);
});

test("PIT drives IRQ0 of the 8259 pair: vector 0x08 after SeaBIOS's PIC and PIT setup", () => {
  const clock = new VirtualClock(SHIFT);
  const pic = new I8259Pair();
  const pit = new I8254(clock, new IrqLine(pic, 0));
  for (const [p, v] of [[0x20, 0x11], [0x21, 0x08], [0x21, 0x04], [0x21, 0x01], [0x21, 0xfa]]) pic.masterPorts.write(p - 0x20, 1, v);
  pit.ports.write(3, 1, 0x34);
  pit.ports.write(0, 1, 0);
  pit.ports.write(0, 1, 0);
  clock.icount = 429111; // tickOf(nsOf(65537)) - 1
  clock.runDue();
  assert.equal(pic.intrPending(), false);
  clock.icount = 429112;
  clock.runDue();
  assert.equal(pic.intrPending(), true);
  assert.equal(pic.acknowledge(), 0x08);
  pic.masterPorts.write(0, 1, 0x20);
  assert.equal(pic.intrPending(), false);
});

test("PIT bad guest input never throws", () => {
  const { pit, runTo } = setup();
  for (let v = 0; v < 256; v++) for (let p = 0; p < 4; p++) {
    pit.ports.write(p, 1, v);
    pit.ports.read(p, 1);
  }
  pit.ports.write(0, 4, 0xffffffff);
  pit.ports.read(2, 4);
  pit.port61.write(0, 2, 0xffff);
  runTo(100_000);
});

test("PIT channel 0 IRQ suppressed and resumed through the HPET legacy input (pit_irq_control)", () => {
  const { pit, out, runTo, edges, clock } = setup();
  out(0x43, 0x34);
  out(0x40, 0);
  out(0x40, 0);
  pit.setIrqEnabled(false);
  assert.equal(clock.nextDeadline, Infinity);
  runTo(1_000_000);
  assert.deepEqual(edges, []);
  pit.setIrqEnabled(true);
  runTo(1_300_000);
  assert.deepEqual(edges, [tickOf(nsOf(3 * 65536 + 1))], "the train resumes in phase with the load time");
});

test("PIT modes 1, 4, 5 output as QEMU's pit_get_out (read-back status bit 7) and mode 3 count reads", () => {
  const { out, inb, clock } = setup();
  const status1 = () => (out(0x43, 0xe4), inb(0x41)); // read-back status of channel 1
  const at = (c: number) => (clock.icount = tickOf(nsOf(c)) + 1); // just after PIT count c from load at 0
  out(0x43, 0x72); // ch1 lo/hi mode 1
  out(0x41, 100);
  out(0x41, 0);
  assert.equal(status1() >> 7, 1, "mode 1: QEMU drives OUT high while d < count");
  at(100);
  assert.equal(status1() >> 7, 0);
  clock.icount = 0;
  out(0x43, 0x78); // mode 4
  out(0x41, 100);
  out(0x41, 0);
  assert.equal(status1() >> 7, 0);
  at(100);
  assert.equal(status1() >> 7, 1, "mode 4: OUT is 1 for the single count d == count");
  at(101);
  assert.equal(status1() >> 7, 0);
  clock.icount = 0;
  out(0x43, 0x7a); // mode 5
  out(0x41, 100);
  out(0x41, 0);
  at(100);
  assert.equal(status1() >> 7, 1);
  clock.icount = 0;
  out(0x43, 0x76); // mode 3, count 100: counts down by 2 (count - (2d mod count))
  out(0x41, 100);
  out(0x41, 0);
  at(10);
  out(0x43, 0x40);
  assert.equal(inb(0x41) | (inb(0x41) << 8), 100 - ((2 * muldiv64(clock.ns, PIT_FREQ, 1e9)) % 100));
});

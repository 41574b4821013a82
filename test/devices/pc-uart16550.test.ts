// The 16550A UART: expected values from the 16550A datasheet (register map, interrupt priorities, FIFO trigger
// levels, loopback wiring) as QEMU 7.2's hw/char/serial.c implements them (THRE re-arming, timeout, overrun).
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { IER, IIR, LSR, MCR, Uart16550, UART_REG as R } from "../../src/devices/pc/uart16550.js";
import { RecordingController, encoded, savedThroughBytes } from "./helpers.js";

function setup(shift = 0) {
  const clock = new VirtualClock(shift);
  const pic = new RecordingController();
  const out: number[] = [];
  const uart = new Uart16550(clock, new IrqLine(pic, 4), (b) => out.push(b));
  const rd = (reg: number) => uart.ports.read(reg, 1);
  const wr = (reg: number, v: number) => uart.ports.write(reg, 1, v);
  const irq = () => pic.level(4);
  /** Runs the clock to `ns` firing deadlines. */
  const advanceTo = (ns: number) => {
    clock.icount = Math.ceil(ns / clock.nsPerTick);
    clock.runDue();
  };
  return { clock, pic, out, uart, rd, wr, irq, advanceTo };
}

test("16550: reset values (QEMU serial_reset): IIR no interrupt, LSR THRE|TEMT, MSR DCD|DSR|CTS, MCR OUT2, 9600 baud", () => {
  const { rd, wr, irq } = setup();
  assert.equal(rd(R.iir), 0x01);
  assert.equal(rd(R.lsr), 0x60);
  assert.equal(rd(R.msr), 0xb0);
  assert.equal(rd(R.mcr), 0x08);
  assert.equal(rd(R.lcr), 0x00);
  assert.equal(rd(R.ier), 0x00);
  wr(R.lcr, 0x80);
  assert.equal(rd(R.dll), 0x0c);
  assert.equal(rd(R.dlm), 0x00);
  assert.equal(irq(), false);
});

test("16550: divisor latch behind DLAB, scratch register, IER keeps 4 bits, MCR 5", () => {
  const { rd, wr, out } = setup();
  wr(R.lcr, 0x83);
  wr(R.dll, 0x01);
  wr(R.dlm, 0x02);
  assert.equal(rd(R.dll), 0x01);
  assert.equal(rd(R.dlm), 0x02);
  assert.deepEqual(out, [], "a DLL write is not a THR write");
  wr(R.lcr, 0x03);
  assert.equal(rd(R.ier), 0x00, "DLM was not IER");
  wr(R.ier, 0xff);
  assert.equal(rd(R.ier), 0x0f);
  wr(R.scr, 0x5a);
  assert.equal(rd(R.scr), 0x5a);
  wr(R.mcr, 0xff);
  assert.equal(rd(R.mcr), 0x1f);
});

test("16550: transmit is instant; the THRE interrupt after each byte, cleared by reading IIR, re-armed by IER.THRI 0 -> 1", () => {
  const { rd, wr, out, irq, pic } = setup();
  wr(R.thr, 0x41);
  assert.deepEqual(out, [0x41]);
  assert.equal(rd(R.lsr) & (LSR.thre | LSR.temt), LSR.thre | LSR.temt, "the byte already left");
  assert.equal(rd(R.iir), 0x01, "no interrupt while IER.THRI is clear");
  wr(R.ier, IER.thri);
  assert.equal(irq(), true, "enabling THRI with THRE set raises the interrupt");
  assert.equal(rd(R.iir), 0x02);
  assert.equal(irq(), false, "reading IIR while it reports THRE clears the interrupt");
  assert.equal(rd(R.iir), 0x01);
  const before = pic.changes;
  wr(R.thr, 0x42);
  assert.equal(irq(), true, "the transmitter empties again: THRE pending");
  assert.ok(pic.changes >= before + 1);
  assert.equal(rd(R.iir), 0x02);
  wr(R.ier, 0);
  wr(R.ier, IER.thri);
  assert.equal(rd(R.iir), 0x02, "IER toggled to 0 and back resamples THRE");
  assert.deepEqual(out, [0x41, 0x42]);
});

test("16550: receive without FIFO: RDI, overrun sets OE (a line status interrupt), LSR read clears OE", () => {
  const { uart, rd, wr, irq } = setup();
  wr(R.ier, IER.rdi | IER.rlsi);
  assert.equal(uart.canReceive(), true);
  uart.receive(0x61);
  assert.equal(uart.canReceive(), false, "one holding register");
  assert.equal(rd(R.iir), 0x04);
  assert.equal(irq(), true);
  assert.equal(rd(R.lsr), 0x61);
  assert.equal(uart.receive(0x62), false);
  assert.equal(rd(R.iir), 0x06, "overrun: line status outranks received data");
  assert.equal(rd(R.lsr), 0x63, "DR | OE | THRE | TEMT");
  assert.equal(rd(R.iir), 0x04, "OE cleared by the LSR read; data still there");
  assert.equal(rd(R.rbr), 0x62, "the holding register has the newer byte");
  assert.equal(rd(R.lsr), 0x60);
  assert.equal(rd(R.iir), 0x01);
  assert.equal(irq(), false);
});

test("16550: FIFO trigger levels 1/4/8/14; IIR 0xC0 bits; canReceive stops at the trigger level as QEMU's chardev sees it", () => {
  for (const [fcr, level] of [[0x01, 1], [0x41, 4], [0x81, 8], [0xc1, 14]] as const) {
    const { uart, rd, wr, irq } = setup();
    wr(R.fcr, fcr);
    wr(R.ier, IER.rdi);
    assert.equal(rd(R.iir), 0xc1);
    for (let i = 0; i < level - 1; i++) uart.receive(0x30 + i);
    assert.equal(rd(R.iir), 0xc1, `below trigger level ${level}`);
    assert.equal(irq(), false);
    assert.equal(rd(R.lsr) & LSR.dr, level > 1 ? LSR.dr : 0);
    assert.equal(uart.receiveRoom(), 1);
    uart.receive(0x30 + level - 1);
    assert.equal(rd(R.iir), 0xc4, `at trigger level ${level}`);
    assert.equal(irq(), true);
    assert.equal(uart.canReceive(), false, "QEMU advertises itl - count = 0 at the trigger level");
    assert.equal(rd(R.rbr), 0x30);
    assert.equal(rd(R.iir), 0xc1, "one below the level again");
    assert.equal(uart.receiveRoom(), 1);
  }
});

test("16550: FIFO fills to 16, a 17th byte overruns without overwriting; reads drain in order", () => {
  const { uart, rd, wr } = setup();
  wr(R.fcr, 0x07); // enable, reset both
  for (let i = 0; i < 16; i++) assert.equal(uart.receive(i), true);
  assert.equal(uart.receiveRoom(), 0);
  assert.equal(uart.receive(0xee), false);
  assert.equal(rd(R.lsr), 0x63);
  for (let i = 0; i < 16; i++) assert.equal(rd(R.rbr), i);
  assert.equal(rd(R.lsr), 0x60);
  assert.equal(rd(R.rbr), 0, "an empty FIFO reads 0");
});

test("16550: the character timeout (IIR 0xCC) after 4 character times with data below the trigger level", () => {
  const { uart, rd, wr, irq, advanceTo, clock } = setup(0);
  wr(R.lcr, 0x80);
  wr(R.dll, 1); // 115200 baud
  wr(R.lcr, 0x03); // 8N1: 10-bit frames
  assert.equal(uart.charTransmitNs, 86805, "QEMU: (float)(1e9 / 115200.0f) * 10");
  wr(R.fcr, 0xc1); // trigger at 14
  wr(R.ier, IER.rdi);
  uart.receive(0x41);
  uart.receive(0x42);
  assert.equal(rd(R.iir), 0xc1);
  advanceTo(4 * 86805 - 1);
  assert.equal(irq(), false);
  advanceTo(4 * 86805);
  assert.equal(rd(R.iir), 0xcc);
  assert.equal(irq(), true);
  assert.equal(rd(R.rbr), 0x41);
  assert.equal(rd(R.iir), 0xc1, "an RBR read clears the timeout and re-arms it while data remains");
  const t = clock.ns;
  advanceTo(t + 4 * 86805);
  assert.equal(rd(R.iir), 0xcc);
  assert.equal(rd(R.rbr), 0x42);
  advanceTo(clock.ns + 10 * 86805);
  assert.equal(rd(R.iir), 0xc1, "an empty FIFO: no timeout");
  wr(R.ier, 0);
  uart.receive(0x43);
  advanceTo(clock.ns + 4 * 86805);
  assert.equal(rd(R.iir), 0xc1, "IER.RDI masks the timeout");
  wr(R.ier, IER.rdi);
  assert.equal(rd(R.iir), 0xcc);
});

test("16550: interrupt priority: line status > data/timeout > THRE > modem status", () => {
  const { uart, rd, wr } = setup();
  wr(R.ier, IER.rdi | IER.thri | IER.rlsi | IER.msi);
  assert.equal(rd(R.iir), 0x02, "THRE alone");
  assert.equal(rd(R.iir), 0x01, "reading IIR took it");
  wr(R.thr, 0x20);
  uart.receive(1);
  assert.equal(rd(R.iir), 0x04, "received data outranks THRE");
  uart.receive(2); // overrun
  assert.equal(rd(R.iir), 0x06, "line status outranks received data");
  rd(R.lsr);
  assert.equal(rd(R.iir), 0x04);
  rd(R.rbr);
  assert.equal(rd(R.iir), 0x02, "THRE still pending beneath");
  assert.equal(rd(R.iir), 0x01);
});

test("16550: FCR resets: RX reset empties the FIFO and clears DR; TX reset sets THRE pending; disabling flushes", () => {
  const { uart, rd, wr } = setup();
  wr(R.fcr, 0x01);
  uart.receive(7);
  uart.receive(8);
  wr(R.fcr, 0x03);
  assert.equal(rd(R.lsr) & LSR.dr, 0);
  assert.equal(uart.receiveRoom(), 1);
  wr(R.ier, IER.thri);
  assert.equal(rd(R.iir), 0xc2);
  assert.equal(rd(R.iir), 0xc1);
  wr(R.fcr, 0x05);
  assert.equal(rd(R.iir), 0xc2, "TX FIFO reset: THRE pending again");
  uart.receive(9);
  wr(R.fcr, 0x00);
  assert.equal(rd(R.iir) & 0xc0, 0, "FIFO bits off");
  assert.equal(rd(R.lsr) & LSR.dr, 0, "toggling FE flushed the receive FIFO");
});

test("16550: loopback: transmitted bytes come back through RBR, MSR mirrors MCR outputs, nothing reaches the line", () => {
  const { uart, rd, wr, out } = setup();
  wr(R.mcr, MCR.loop | MCR.out2 | MCR.rts);
  assert.equal(rd(R.msr), 0x90, "OUT2 -> DCD, RTS -> CTS");
  wr(R.mcr, MCR.loop | MCR.out1 | MCR.dtr);
  assert.equal(rd(R.msr), 0x60, "OUT1 -> RI, DTR -> DSR");
  wr(R.thr, 0x55);
  assert.deepEqual(out, []);
  assert.equal(rd(R.lsr), 0x61);
  assert.equal(rd(R.rbr), 0x55);
  wr(R.fcr, 0x01);
  for (const b of [1, 2, 3]) wr(R.thr, b);
  assert.deepEqual([rd(R.rbr), rd(R.rbr), rd(R.rbr)], [1, 2, 3]);
  wr(R.mcr, MCR.out2);
  assert.equal(rd(R.msr), 0xb0);
  wr(R.thr, 0x0a);
  assert.deepEqual(out, [0x0a]);
  assert.equal(uart.canReceive(), true);
});

test("16550: a 16-bit access is two byte accesses (DLL then DLM)", () => {
  const { uart, rd, wr } = setup();
  wr(R.lcr, 0x80);
  uart.ports.write(0, 2, 0x0180);
  assert.equal(rd(R.dll), 0x80);
  assert.equal(rd(R.dlm), 0x01);
  assert.equal(uart.ports.read(0, 2), 0x0180);
});

test("16550: saved state restores registers, FIFO contents, pending interrupts and the character time", () => {
  const a = setup();
  a.wr(R.lcr, 0x80);
  a.wr(R.dll, 3);
  a.wr(R.lcr, 0x1b);
  a.wr(R.fcr, 0x41);
  a.wr(R.ier, IER.rdi | IER.thri);
  a.wr(R.scr, 0x99);
  for (const b of [10, 20, 30, 40, 50]) a.uart.receive(b);
  a.rd(R.rbr);
  const b = setup();
  b.uart.loadState(savedThroughBytes(a.uart), 1);
  assert.deepEqual(encoded(b.uart), encoded(a.uart));
  assert.equal(b.uart.charTransmitNs, a.uart.charTransmitNs);
  assert.equal(b.rd(R.iir), 0xc4, "four bytes at trigger level 4");
  assert.deepEqual([b.rd(R.rbr), b.rd(R.rbr), b.rd(R.rbr), b.rd(R.rbr)], [20, 30, 40, 50]);
  assert.equal(b.rd(R.iir), 0xc2);
  assert.equal(b.rd(R.scr), 0x99);
  assert.throws(() => b.uart.loadState({ ...a.uart.saveState(), fcr: 0x07 }, 1), StateError);
  assert.throws(() => b.uart.loadState({ ...a.uart.saveState(), recvCount: 17 }, 1), StateError);
  // A reset machine saved and restored keeps QEMU's reset character time (10-bit frames at 9600 baud).
  const c = setup();
  const d = setup();
  d.uart.loadState(savedThroughBytes(c.uart), 1);
  assert.equal(d.uart.charTransmitNs, 1041660);
  assert.equal(IIR.noInt, 1);
});

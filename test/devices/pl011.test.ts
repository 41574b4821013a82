import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, Ram } from "../../src/core/memory.js";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { Pl011, PL011_INT_RT, PL011_INT_RX, PL011_INT_TX } from "../../src/devices/pl011.js";
import { RecordingController, encoded, savedThroughBytes } from "./helpers.js";

const BASE = 0x0900_0000;
const SPI1 = 33;
const DR = 0x00,
  RSR = 0x04,
  FR = 0x18,
  IBRD = 0x24,
  LCR_H = 0x2c,
  CR = 0x30,
  IFLS = 0x34,
  IMSC = 0x38,
  RIS = 0x3c,
  MIS = 0x40,
  ICR = 0x44;
const FR_RXFE = 0x10,
  FR_TXFF = 0x20,
  FR_RXFF = 0x40,
  FR_TXFE = 0x80,
  FR_BUSY = 0x08;
const FEN = 0x10;

function setup() {
  const gic = new RecordingController();
  const sent: number[] = [];
  const uart = new Pl011(new IrqLine(gic, SPI1), (b) => sent.push(b));
  const bus = new AddressSpace(new Ram(0x4000_0000, 4096));
  bus.map("pl011", BASE, 0x1000, uart);
  const r = (off: number) => bus.read32(BASE + off);
  const w = (off: number, v: number) => bus.write32(BASE + off, v);
  return { gic, sent, uart, bus, r, w, line: () => gic.level(SPI1) };
}

test("PL011 reset values and PrimeCell IDs match QEMU's arm variant", () => {
  const { r, bus } = setup();
  assert.equal(r(FR), FR_TXFE | FR_RXFE);
  assert.equal(r(CR), 0x300);
  assert.equal(r(IFLS), 0x12);
  assert.equal(r(LCR_H), 0);
  const ids = [];
  for (let off = 0xfe0; off < 0x1000; off += 4) ids.push(r(off));
  assert.deepEqual(ids, [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
  // QEMU widens narrow accesses to the 32-bit register containing them.
  assert.equal(bus.read8(BASE + 0xfe1), 0x11);
  assert.equal(bus.read8(BASE + FR + 1), FR_TXFE | FR_RXFE);
  // Unimplemented offsets read as zero.
  assert.equal(r(0x08), 0);
  assert.equal(r(0x800), 0);
});

test("PL011 transmit hands each byte to the sink at once and raises TXRIS", () => {
  const { r, w, sent, line } = setup();
  w(DR, 0x41);
  w(DR, 0x142); // only the data byte leaves
  assert.deepEqual(sent, [0x41, 0x42]);
  assert.equal(r(RIS) & PL011_INT_TX, PL011_INT_TX);
  assert.equal(r(MIS), 0);
  assert.equal(line(), false);
  const fr = r(FR);
  assert.equal(fr & FR_TXFE, FR_TXFE, "TX FIFO always reads empty");
  assert.equal(fr & (FR_TXFF | FR_BUSY), 0);
  w(IMSC, PL011_INT_TX);
  assert.equal(line(), true);
  assert.equal(r(MIS), PL011_INT_TX);
  w(ICR, PL011_INT_TX);
  assert.equal(line(), false);
  assert.equal(r(RIS), 0);
  w(DR, 0x43); // the next write raises it again
  assert.equal(line(), true);
});

test("PL011 FR tracks the 16-entry RX FIFO as it fills and drains", () => {
  const { r, w, uart } = setup();
  w(LCR_H, FEN | 0x60);
  for (let i = 0; i < 16; i++) {
    assert.equal(uart.canReceive(), true);
    assert.equal(uart.receive(0x30 + i), true);
    const fr = r(FR);
    assert.equal(fr & FR_RXFE, 0);
    assert.equal(fr & FR_RXFF, i === 15 ? FR_RXFF : 0);
  }
  assert.equal(uart.canReceive(), false);
  assert.equal(uart.receive(0x99), false, "a full FIFO refuses the byte");
  for (let i = 0; i < 16; i++) {
    assert.equal(r(DR), 0x30 + i);
    const fr = r(FR);
    assert.equal(fr & FR_RXFF, 0);
    assert.equal(fr & FR_RXFE, i === 15 ? FR_RXFE : 0);
    assert.equal(uart.canReceive(), true);
  }
});

test("PL011 with FIFOs disabled holds one byte and reports it full", () => {
  const { r, uart } = setup();
  assert.equal(uart.receive(0x61), true);
  assert.equal(r(FR) & (FR_RXFF | FR_RXFE), FR_RXFF);
  assert.equal(uart.canReceive(), false);
  assert.equal(uart.receive(0x62), false);
  assert.equal(r(DR), 0x61);
  assert.equal(r(FR) & (FR_RXFF | FR_RXFE), FR_RXFE);
  assert.equal(uart.receive(0x63), true);
  assert.equal(r(DR), 0x63);
});

test("PL011 RX interrupt follows QEMU: trigger level 1, masked by IMSC, cleared by reading or ICR", () => {
  const { r, w, uart, line } = setup();
  w(LCR_H, FEN);
  uart.receive(0x31);
  assert.equal(r(RIS), PL011_INT_RX);
  assert.equal(r(MIS), 0, "masked");
  assert.equal(line(), false);
  w(IMSC, PL011_INT_RX | PL011_INT_RT);
  assert.equal(r(MIS), PL011_INT_RX);
  assert.equal(line(), true);
  uart.receive(0x32);
  assert.equal(r(DR), 0x31);
  assert.equal(line(), true, "still one byte left");
  assert.equal(r(DR), 0x32);
  assert.equal(r(RIS), 0);
  assert.equal(line(), false);
  // ICR clears RXRIS; QEMU only raises it again when a byte arrives in an empty FIFO.
  uart.receive(0x33);
  w(ICR, PL011_INT_RX);
  assert.equal(line(), false);
  uart.receive(0x34);
  assert.equal(r(RIS) & PL011_INT_RX, 0);
  // The receive timeout interrupt is never raised by QEMU's model.
  assert.equal(r(RIS) & PL011_INT_RT, 0);
  // IFLS is stored but does not change the trigger level.
  w(IFLS, 0x3f);
  assert.equal(r(IFLS), 0x3f);
  r(DR);
  r(DR);
  uart.receive(0x35);
  assert.equal(r(RIS) & PL011_INT_RX, PL011_INT_RX);
});

test("PL011 break reception sets the break error bit and RSR", () => {
  const { r, w, uart } = setup();
  assert.equal(uart.receiveBreak(), true);
  assert.equal(r(DR), 0x400);
  assert.equal(r(RSR), 0x4);
  w(RSR, 0); // UARTECR
  assert.equal(r(RSR), 0);
});

test("PL011 toggling LCR_H.FEN empties the RX FIFO but leaves FR stale, as QEMU 7.2", () => {
  const { r, w, uart } = setup();
  w(LCR_H, FEN);
  uart.receive(0x41);
  uart.receive(0x42);
  w(LCR_H, 0);
  assert.equal(uart.canReceive(), true);
  assert.equal(r(FR) & FR_RXFE, 0, "stale until the next read");
  r(DR);
  assert.equal(r(FR) & FR_RXFE, FR_RXFE);
});

test("PL011 notifies the board when the guest reads UARTDR", () => {
  const { r, uart } = setup();
  let calls = 0;
  uart.onRxSpace = () => calls++;
  uart.receive(1);
  r(DR);
  r(FR);
  assert.equal(calls, 1);
});

test("PL011 state round-trips: FIFO contents, read position and registers", () => {
  const a = setup();
  a.w(LCR_H, FEN | 0x60);
  a.w(IBRD, 0x27);
  a.w(IMSC, PL011_INT_RX);
  for (const b of [1, 2, 3, 4, 5]) a.uart.receive(b);
  a.r(DR);
  a.r(DR); // read position now 2, three bytes queued
  const before = encoded(a.uart);
  const saved = savedThroughBytes(a.uart);

  // Mutate, then restore into the same device.
  a.r(DR);
  a.w(LCR_H, 0);
  a.w(IMSC, 0);
  a.uart.loadState(saved, 1);
  assert.deepEqual(encoded(a.uart), before);

  // Restore into a fresh device: same state, same behaviour.
  const b = setup();
  b.uart.loadState(saved, 1);
  assert.deepEqual(encoded(b.uart), before);
  for (const s of [a, b]) {
    assert.equal(s.r(FR) & FR_RXFE, 0);
    assert.deepEqual([s.r(DR), s.r(DR), s.r(DR)], [3, 4, 5]);
    assert.equal(s.r(FR) & FR_RXFE, FR_RXFE);
    assert.equal(s.r(IBRD), 0x27);
    assert.equal(s.r(MIS), 0);
  }
});

test("PL011 loadState rejects impossible FIFO state", () => {
  const { uart } = setup();
  const good = uart.saveState();
  assert.throws(() => uart.loadState({ ...good, readCount: 2 }, 1), StateError); // FIFO disabled: depth 1
  assert.throws(() => uart.loadState({ ...good, lcr: FEN, readCount: 17 }, 1), StateError);
  assert.throws(() => uart.loadState({ ...good, readPos: 16 }, 1), StateError);
  assert.throws(() => uart.loadState({ ...good, readFifo: new Uint32Array(8) }, 1), StateError);
  assert.throws(() => uart.loadState({ ...good, cr: -1 }, 1), StateError);
  const { cr: _cr, ...missing } = good;
  assert.throws(() => uart.loadState(missing, 1), StateError);
});

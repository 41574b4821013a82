// 8259A pair: expected values from the 8259A datasheet and QEMU 7.2's hw/intc/i8259.c (pic_get_irq,
// pic_set_irq, pic_intack, pic_read_irq, pic_ioport_write/read, elcr_ioport_write).
import { test } from "node:test";
import assert from "node:assert/strict";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { I8259Pair } from "../../src/devices/pc/i8259.js";
import { savedThroughBytes } from "./helpers.js";

function setup() {
  const intr: boolean[] = [];
  const pic = new I8259Pair((l) => intr.push(l));
  const out = (port: number, v: number) => {
    if (port === 0x20 || port === 0x21) pic.masterPorts.write(port - 0x20, 1, v);
    else if (port === 0xa0 || port === 0xa1) pic.slavePorts.write(port - 0xa0, 1, v);
    else pic.elcrPorts.write(port - 0x4d0, 1, v);
  };
  const inb = (port: number) => {
    if (port === 0x20 || port === 0x21) return pic.masterPorts.read(port - 0x20, 1);
    if (port === 0xa0 || port === 0xa1) return pic.slavePorts.read(port - 0xa0, 1);
    return pic.elcrPorts.read(port - 0x4d0, 1);
  };
  return { pic, out, inb, intr };
}

/** SeaBIOS pic_setup(): ICW1 0x11, ICW2 0x08/0x70, ICW3 4/2, ICW4 1, then mask all but the cascade. */
function seabiosInit(out: (p: number, v: number) => void) {
  out(0x20, 0x11);
  out(0xa0, 0x11);
  out(0x21, 0x08);
  out(0xa1, 0x70);
  out(0x21, 0x04);
  out(0xa1, 0x02);
  out(0x21, 0x01);
  out(0xa1, 0x01);
  out(0x21, 0xfb);
  out(0xa1, 0xff);
}

test("8259 SeaBIOS init: masks read back, nothing pending, spurious vectors", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  assert.equal(inb(0x21), 0xfb);
  assert.equal(inb(0xa1), 0xff);
  assert.equal(inb(0x20), 0, "IRR");
  assert.equal(pic.intrPending(), false);
  // INTA with nothing pending: the master's IRQ7 (QEMU pic_read_irq "spurious IRQ on host controller").
  assert.equal(pic.acknowledge(), 0x0f);
  out(0x20, 0x0b); // OCW3 read ISR
  assert.equal(inb(0x20), 0, "a spurious IRQ7 sets no ISR bit");
});

test("8259 edge IRQ0: IRR, INTA vector, ISR, non-specific EOI", () => {
  const { pic, out, inb, intr } = setup();
  seabiosInit(out);
  pic.setIrq(0, true);
  assert.equal(pic.intrPending(), false, "IRQ0 is masked");
  assert.equal(inb(0x20), 0x01, "IRR latches while masked");
  out(0x21, 0xfa); // unmask IRQ0
  assert.equal(pic.intrPending(), true);
  assert.equal(intr.at(-1), true);
  assert.equal(pic.acknowledge(), 0x08);
  assert.equal(pic.intrPending(), false);
  assert.equal(inb(0x20), 0x00, "INTA clears an edge IRR bit");
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0x01, "ISR");
  pic.setIrq(0, false);
  pic.setIrq(0, true); // next tick while in service
  assert.equal(pic.intrPending(), false, "same priority in service blocks it");
  out(0x20, 0x20); // EOI
  assert.equal(inb(0x20), 0x00, "ISR clear");
  assert.equal(pic.intrPending(), true);
  assert.equal(pic.acknowledge(), 0x08);
  // A line held high is not a new edge.
  out(0x20, 0x20);
  assert.equal(pic.intrPending(), false);
});

test("8259 cascade: IRQ8 goes through the master's IR2 with the slave's vector; priority and EOI order", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  out(0x21, 0xf8); // unmask IRQ0,1 (+ cascade)
  out(0xa1, 0xfe); // unmask IRQ8
  pic.setIrq(8, true);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x09, "IRQ1 outranks IR2");
  assert.equal(pic.intrPending(), false, "IR2 has lower priority than the in-service IR1");
  out(0x20, 0x20);
  assert.equal(pic.acknowledge(), 0x70, "IRQ8 vector from the slave");
  out(0xa0, 0x0b);
  assert.equal(inb(0xa0), 0x01);
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0x04, "master ISR has the cascade");
  pic.setIrq(0, true);
  assert.equal(pic.acknowledge(), 0x08, "IRQ0 preempts");
  out(0x20, 0x20); // clears IR0 (highest in service)
  assert.equal(inb(0x20), 0x04);
  out(0xa0, 0x20);
  out(0x20, 0x20);
  assert.equal(inb(0x20), 0x00);
});

test("8259 spurious IRQ15 when the slave has nothing at INTA", () => {
  const { pic, out } = setup();
  seabiosInit(out);
  // IR2 latched by a slave edge, then the slave input masked: the master still has IR2 in IRR.
  out(0xa1, 0x00);
  pic.setIrq(10, true);
  assert.equal(pic.intrPending(), true);
  out(0xa1, 0xff); // slave INT drops, but the master's IRR bit 2 stays (edge)
  assert.equal(pic.intrPending(), true);
  assert.equal(pic.acknowledge(), 0x77);
});

test("8259 specific EOI, set priority, rotate on EOI, auto-EOI with rotation", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  out(0x21, 0x00);
  pic.setIrq(3, true);
  pic.setIrq(5, true);
  assert.equal(pic.acknowledge(), 0x0b);
  out(0x20, 0x63); // specific EOI IR3
  assert.equal(pic.acknowledge(), 0x0d);
  out(0x20, 0xa0); // rotate on non-specific EOI: IR5 becomes lowest priority
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0);
  pic.setIrq(5, false);
  pic.setIrq(5, true);
  pic.setIrq(6, true);
  assert.equal(pic.acknowledge(), 0x0e, "after rotation IR6 is highest");
  out(0x20, 0x20);
  out(0x20, 0xc3); // set priority: IR3 lowest, IR4 highest
  assert.equal(pic.acknowledge(), 0x0d);
  out(0x20, 0xe5); // rotate on specific EOI IR5
  // Auto-EOI (ICW4 = 3): no ISR bit is set.
  out(0x20, 0x11);
  out(0x21, 0x08);
  out(0x21, 0x04);
  out(0x21, 0x03);
  out(0x21, 0x00);
  out(0x20, 0x80); // rotate in auto-EOI mode (set)
  pic.setIrq(4, false);
  pic.setIrq(4, true);
  pic.setIrq(2 + 5, false);
  pic.setIrq(7, true);
  assert.equal(pic.acknowledge(), 0x0c);
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0, "auto-EOI leaves ISR empty");
  assert.equal(pic.acknowledge(), 0x0f, "IR7 then (IR4 rotated to lowest)");
});

test("8259 level-triggered via ELCR: IRR follows the line, INTA does not clear it; ELCR masks", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  out(0x4d0, 0xff);
  out(0x4d1, 0xff);
  assert.equal(inb(0x4d0), 0xf8, "IRQ0-2 are always edge");
  assert.equal(inb(0x4d1), 0xde, "IRQ8 and IRQ13 are always edge");
  out(0x21, 0x00);
  pic.setIrq(5, true);
  assert.equal(pic.acknowledge(), 0x0d);
  assert.equal(inb(0x20), 0x20, "level IRR stays after INTA");
  out(0x20, 0x20);
  assert.equal(pic.intrPending(), true, "still high after EOI: pending again");
  pic.setIrq(5, false);
  assert.equal(inb(0x20), 0x00);
  assert.equal(pic.intrPending(), false);
});

test("8259 poll mode and special mask mode", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  out(0x21, 0x00);
  out(0x20, 0x0c); // OCW3 poll
  assert.equal(inb(0x20), 0x00, "nothing to poll");
  pic.setIrq(4, true);
  out(0x20, 0x0c);
  assert.equal(inb(0x21), 0x84, "poll on either port acknowledges (QEMU)");
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0x10, "poll put IR4 in service");
  // Special mask: masking the in-service IR4 lets lower-priority IR6 through.
  pic.setIrq(6, true);
  assert.equal(pic.intrPending(), false);
  out(0x21, 0x10);
  out(0x20, 0x68); // set special mask
  assert.equal(pic.intrPending(), true);
  assert.equal(pic.acknowledge(), 0x0e);
  out(0x20, 0x48); // reset special mask
});

test("8259 state round-trips mid-service; bad state is refused whole; bad input never throws", () => {
  const { pic, out, inb } = setup();
  seabiosInit(out);
  out(0x21, 0x00);
  out(0x4d0, 0x20);
  pic.setIrq(3, true);
  pic.setIrq(5, true);
  pic.acknowledge();
  out(0x20, 0x0b);
  const saved = savedThroughBytes(pic);
  const b = setup();
  b.pic.loadState(saved, pic.stateVersion);
  assert.deepEqual(savedThroughBytes(b.pic), saved);
  assert.equal(b.intr.at(-1), pic.intrPending(), "INTR re-derived after load");
  assert.equal(b.pic.intrPending(), false, "IR5 waits behind the in-service IR3");
  assert.equal(b.inb(0x20), inb(0x20));
  assert.equal(b.pic.acknowledge(), pic.acknowledge());

  const before = savedThroughBytes(b.pic);
  const bad = { ...saved, master: { ...(saved.master as object), priorityAdd: 9 } };
  assert.throws(() => b.pic.loadState(bad, 1), StateError);
  const bad2 = { ...saved, slave: { ...(saved.slave as object), elcr: 0x01 } };
  assert.throws(() => b.pic.loadState(bad2, 1), StateError);
  assert.deepEqual(savedThroughBytes(b.pic), before);

  for (let v = 0; v < 256; v++) for (const p of [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1]) out(p, v);
  pic.setIrq(16, true);
  pic.setIrq(-1, true);
  pic.masterPorts.write(0, 4, 0xffffffff);
  pic.masterPorts.read(5, 2);
  const irqLine = new IrqLine(pic, 14);
  irqLine.raise();
  pic.acknowledge();
});

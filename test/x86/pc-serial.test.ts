// The pc board's 16550s as the session uses them: COM1 at 0x3f8 on IRQ 4, COM2 at 0x2f8 on IRQ 3, transmit to the
// PcConfig.serial outputs, input through serial0.receive() when canReceive() says so, in the saved state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";

function pc(outputs: number[][]): PcMachine {
  return new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios: new Uint8Array(0x10000), serial: outputs.map((o) => (b: number) => o.push(b)) });
}

test("pc serial: COM1 and COM2 ports, their outputs and their IRQ lines on the 8259", () => {
  const com1: number[] = [];
  const com2: number[] = [];
  const m = pc([com1, com2]);
  assert.equal(m.serialPorts.length, 2);
  assert.equal(m.serial0, m.serialPorts[0]);
  m.ports.write(0x3f8, 1, 0x31);
  m.ports.write(0x2f8, 1, 0x32);
  assert.deepEqual([com1, com2], [[0x31], [0x32]]);
  assert.equal(m.ports.read(0x3fd, 1), 0x60);
  assert.equal(m.ports.read(0x2fa, 1), 0x01);
  m.ports.write(0x3f9, 1, 0x02); // COM1 IER.THRI: IRQ 4
  assert.equal(m.pic.master.irr & 0x18, 0x10);
  m.ports.write(0x2f9, 1, 0x02); // COM2: IRQ 3
  assert.equal(m.pic.master.irr & 0x18, 0x18);
  assert.equal(m.ports.read(0x3e8, 1), 0xff, "no COM3 configured");
});

test("pc serial: input through serial0 (the session's channel), visible to the guest and kept in the saved state", () => {
  const m = pc([[]]);
  const uart = m.serial0!;
  m.ports.write(0x3fa, 1, 0x81); // FIFO, trigger level 8
  let delivered = 0;
  for (const b of Buffer.from("hello world")) {
    if (!uart.canReceive()) break;
    uart.receive(b);
    delivered++;
  }
  assert.equal(delivered, 8, "QEMU's chardev stops handing bytes over at the trigger level");
  const saved = m.stateParts.map((p) => p.saveState());
  const n = pc([[]]);
  n.stateParts.forEach((p, i) => p.loadState(saved[i], p.stateVersion));
  let read = "";
  while (n.ports.read(0x3fd, 1) & 1) read += String.fromCharCode(n.ports.read(0x3f8, 1));
  assert.equal(read, "hello wo");
  assert.equal(n.serial0!.canReceive(), true);
});

// Port 0x92, i8042 and the ACPI PM timer: expected values from QEMU 7.2 (hw/i386/pc.c port92_write/read/reset;
// hw/input/pckbd.c kbd_write_command/kbd_write_data/kbd_read_data/kbd_update_irq, hw/input/ps2.c
// ps2_write_keyboard; hw/acpi/core.c acpi_pm_tmr_get_clock) and SeaBIOS 1.16's ps2port.c sequences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { StateError } from "../../src/core/state.js";
import { AcpiPmTimer, PM_TIMER_FREQUENCY } from "../../src/devices/pc/acpi-pm-timer.js";
import { I8042 } from "../../src/devices/pc/i8042.js";
import { Port92 } from "../../src/devices/pc/port92.js";
import { RecordingController, savedThroughBytes } from "./helpers.js";

test("port 0x92: A20 on bit 1, reset on a rising bit 0, reads back, reset clears bit 0", () => {
  const a20: boolean[] = [];
  let resets = 0;
  const p = new Port92({ setA20: (e) => a20.push(e), requestReset: () => resets++ });
  assert.equal(p.ports.read(0, 1), 0x00);
  p.ports.write(0, 1, 0x02); // SeaBIOS enable_a20: inb(0x92) | 2
  assert.deepEqual(a20, [true]);
  assert.equal(p.ports.read(0, 1), 0x02);
  assert.equal(resets, 0);
  p.ports.write(0, 1, 0x03);
  assert.equal(resets, 1);
  p.ports.write(0, 1, 0x03);
  assert.equal(resets, 1, "only a 0 -> 1 transition resets");
  p.reset();
  assert.equal(p.ports.read(0, 1), 0x02);
  p.ports.write(0, 1, 0x00);
  assert.deepEqual(a20, [true, true, true, false]);
  const q = new Port92({ setA20: () => {}, requestReset: () => {} });
  p.ports.write(0, 1, 0x42);
  q.loadState(savedThroughBytes(p), 1);
  assert.equal(q.ports.read(0, 1), 0x42);
  assert.throws(() => q.loadState({ outport: 256 }, 1), StateError);
});

function kbdSetup() {
  const ctl = new RecordingController();
  const a20: boolean[] = [];
  let resets = 0;
  const k = new I8042(new IrqLine(ctl, 1), new IrqLine(ctl, 12), { setA20: (e) => a20.push(e), requestReset: () => resets++ });
  const cmd = (v: number) => k.commandPort.write(0, 1, v);
  const data = (v: number) => k.dataPort.write(0, 1, v);
  const status = () => k.commandPort.read(0, 1);
  const rd = () => k.dataPort.read(0, 1);
  /** SeaBIOS i8042_wait_read + inb(PORT_PS2_DATA), or undefined when nothing arrives. */
  const recv = () => (status() & 1 ? rd() : undefined);
  return { k, ctl, a20, resets: () => resets, cmd, data, status, rd, recv };
}

test("i8042 SeaBIOS sequence: flush, disable ports, self-test 0x55, interface test 0x00, keyboard reset fa aa", () => {
  const { cmd, data, status, recv, ctl } = kbdSetup();
  assert.equal(status(), 0x18, "CMD | UNLOCKED at reset");
  assert.equal(recv(), undefined, "i8042_flush: nothing to flush");
  cmd(0xad);
  cmd(0xa7);
  cmd(0xaa);
  assert.equal(status() & 0x05, 0x05, "OBF and the system flag after the self-test");
  assert.equal(recv(), 0x55);
  assert.equal(recv(), undefined);
  cmd(0xab);
  assert.equal(recv(), 0x00);
  // ps2_command: write the command byte with interrupts off and ports disabled, then enable the keyboard.
  cmd(0x60);
  data(0x30);
  cmd(0x20);
  assert.equal(recv(), 0x30, "command byte read back");
  cmd(0x60);
  data(0x20);
  data(0xff); // ATKBD_CMD_RESET_BAT
  assert.equal(recv(), 0xfa);
  assert.equal(recv(), 0xaa);
  assert.equal(recv(), undefined);
  assert.equal(ctl.level(1), false, "KBDINT is off in the command byte");
  data(0xf5); // reset + disable scanning
  assert.equal(recv(), 0xfa);
  data(0xf2); // get ID, no translation
  assert.deepEqual([recv(), recv(), recv()], [0xfa, 0xab, 0x83]);
  data(0xf0);
  assert.equal(recv(), 0xfa);
  data(0x00);
  assert.deepEqual([recv(), recv()], [0xfa, 0x02], "scancode set 2");
  data(0xf4);
  assert.equal(recv(), 0xfa);
  data(0x99);
  assert.equal(recv(), 0xfe, "unknown keyboard command: resend");
});

test("i8042 IRQ1 follows OBF with KBDINT; IRQ12 for mouse bytes; disabled port holds its bytes", () => {
  const { k, cmd, data, status, recv, rd, ctl } = kbdSetup();
  cmd(0x60);
  data(0x03); // both interrupts on, translation off
  data(0xff);
  assert.equal(ctl.level(1), true, "IRQ1 with the keyboard byte pending");
  assert.equal(rd(), 0xfa);
  assert.equal(ctl.level(1), true, "next byte (0xaa) raises it again");
  assert.equal(rd(), 0xaa);
  assert.equal(ctl.level(1), false);
  assert.equal(rd(), 0xaa, "reading with OBF clear returns the last byte");
  cmd(0xd4);
  data(0xf2); // to the mouse
  assert.equal(status() & 0x21, 0x21, "mouse OBF");
  assert.equal(ctl.level(12), true);
  assert.deepEqual([recv(), recv(), recv()], [0xfa, 0x00, undefined]);
  assert.equal(ctl.level(12), false);
  cmd(0xd2);
  data(0x5a); // write keyboard output buffer
  assert.equal(recv(), 0x5a);
  cmd(0xd4);
  data(0xff);
  cmd(0xa7); // disable the mouse port: its pending bytes wait
  assert.equal(recv(), 0xfa, "the byte already in the buffer is still read");
  assert.equal(recv(), undefined);
  cmd(0xa8);
  assert.deepEqual([recv(), recv(), recv()], [0xaa, 0x00, undefined]);
  // Save mid-queue and restore.
  data(0xff);
  const saved = savedThroughBytes(k);
  const b = kbdSetup();
  b.k.loadState(saved, 1);
  assert.deepEqual(savedThroughBytes(b.k), saved);
  assert.deepEqual([b.recv(), b.recv(), b.recv()], [0xfa, 0xaa, undefined]);
  assert.throws(() => b.k.loadState({ ...saved, kbdQueue: { ...(saved.kbdQueue as object), count: 17 } }, 1), StateError);
});

test("i8042 output port: A20 and reset through 0xd1, 0xdd/0xdf, pulse 0xfe", () => {
  const { cmd, data, a20, resets, recv } = kbdSetup();
  cmd(0xd0);
  assert.equal(recv(), 0xcf, "RESET | A20 | ones");
  cmd(0xdd);
  cmd(0xdf);
  cmd(0xd1);
  data(0xdd); // A20 off, reset bit set (no reset)
  assert.deepEqual(a20, [false, true, false]);
  assert.equal(resets(), 0);
  cmd(0xfe);
  assert.equal(resets(), 1);
  cmd(0xff);
  assert.equal(resets(), 1, "0xff pulses nothing");
  cmd(0xd1);
  data(0x00);
  assert.equal(resets(), 2);
});

test("i8042 bad guest input never throws", () => {
  const { k } = kbdSetup();
  for (let c = 0; c < 256; c++) {
    k.commandPort.write(0, 1, c);
    for (let v = 0; v < 256; v += 17) {
      k.dataPort.write(0, 1, v);
      k.dataPort.read(0, 1);
    }
  }
  k.dataPort.write(0, 4, 0xffffffff);
  k.commandPort.read(0, 2);
  k.reset();
});

test("ACPI PM timer: 3.579545 MHz from virtual ns, exact; wraps at 24 bits; only 4-byte reads", () => {
  const clock = new VirtualClock(7);
  const pm = new AcpiPmTimer(clock);
  assert.equal(pm.ports.read(0, 4), 0);
  clock.icount = 7812500; // exactly 1 s
  assert.equal(pm.value(), PM_TIMER_FREQUENCY);
  assert.equal(pm.ports.read(0, 4), 3579545);
  clock.icount = 1; // 128 ns -> floor(128 * 3579545 / 1e9) = 0
  assert.equal(pm.value(), 0);
  clock.icount = 3; // 384 ns -> 1.374... -> 1
  assert.equal(pm.value(), 1);
  // 10 s: 35795450 mod 2^24 = 2241018.
  clock.icount = 78125000;
  assert.equal(pm.value(), 35795450 % 0x1000000);
  assert.equal(pm.value(), 2241018);
  // Far out: 1 hour 1 ns into BigInt range.
  clock.icount = (3600 * 1e9) / 128;
  assert.equal(pm.value(), (3600 * PM_TIMER_FREQUENCY) % 0x1000000);
  assert.equal(pm.nextOverflowNs() > clock.ns, true);
  assert.equal(pm.ports.read(0, 2), 0xffff, "invalid size");
  pm.ports.write(0, 4, 0);
  assert.equal(pm.ports.read(0, 4), pm.value());
});

// The pc chipset through the guest's ports and bus: PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2),
// the functions' IDs and registers as QEMU 7.2's i440fx.c / piix3.c / piix.c / piix4.c give them, BAR sizing,
// the i440FX PAM and SMRAM memory switching (82441FX datasheet §3.2.18–19), PIIX4 PM's PMBASE, the local APIC's
// registers, and that all of it saves and restores.

import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { AddressSpace, Ram } from "../../src/core/memory.js";
import { loadSections, saveSections } from "../../src/core/state.js";
import { atIcount } from "../../src/core/position.js";

const BIOS = (() => {
  const b = new Uint8Array(0x40000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
})();
const biosByte = (pa: number) => BIOS[pa - (2 ** 32 - BIOS.length)];

function machine(): PcMachine {
  return new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: BIOS });
}

function cfgRead(m: PcMachine, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number {
  m.ports.write(0xcf8, 4, (0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
  return m.ports.read(0xcfc + (reg & 3), size);
}
function cfgWrite(m: PcMachine, dev: number, fn: number, reg: number, size: 1 | 2 | 4, v: number): void {
  m.ports.write(0xcf8, 4, (0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
  m.ports.write(0xcfc + (reg & 3), size, v);
}

test("PCI: the four functions at QEMU's slots with their IDs, classes, header types and QEMU's subsystem IDs", () => {
  const m = machine();
  const expect: [number, number, number, number, number][] = [
    // dev, fn, vendor:device, class (24 bits) << 8 | revision, header type
    [0, 0, 0x12378086, 0x06000002, 0x00],
    [1, 0, 0x70008086, 0x06010000, 0x80],
    [1, 1, 0x70108086, 0x01018000, 0x00],
    [1, 3, 0x71138086, 0x06800003, 0x00],
  ];
  for (const [dev, fn, id, cls, ht] of expect) {
    assert.equal(cfgRead(m, dev, fn, 0x00, 4), id, `00:${dev}.${fn} ID`);
    assert.equal(cfgRead(m, dev, fn, 0x08, 4), cls, `00:${dev}.${fn} class`);
    assert.equal(cfgRead(m, dev, fn, 0x0e, 1), ht);
    assert.equal(cfgRead(m, dev, fn, 0x2c, 4), 0x11001af4);
  }
  // Byte and word reads at cfc + n pick the register's bytes.
  assert.equal(cfgRead(m, 0, 0, 0x02, 2), 0x1237);
  assert.equal(cfgRead(m, 0, 0, 0x01, 1), 0x80);
  // Absent functions and slots, and a disabled CONFIG_ADDRESS, read all ones.
  assert.equal(cfgRead(m, 1, 2, 0, 4), 0xffffffff);
  assert.equal(cfgRead(m, 2, 0, 0, 4), 0xffffffff);
  m.ports.write(0xcf8, 4, 0);
  assert.equal(m.ports.read(0xcfc, 4), 0xffffffff);
  // CONFIG_ADDRESS reads back.
  m.ports.write(0xcf8, 4, 0x80000810);
  assert.equal(m.ports.read(0xcf8, 4), 0x80000810);
  // Interrupt pins: PM on INTA, the others none; RAM size in 8 MiB units at 0x57; SMRAM's reset value.
  assert.equal(cfgRead(m, 1, 3, 0x3d, 1), 1);
  assert.equal(cfgRead(m, 1, 1, 0x3d, 1), 0);
  assert.equal(cfgRead(m, 0, 0, 0x57, 1), 16);
  assert.equal(cfgRead(m, 0, 0, 0x72, 1), 0x02);
  // PIIX3: PIRQ routing disabled at reset, then as SeaBIOS programs it.
  assert.equal(cfgRead(m, 1, 0, 0x60, 4), 0x80808080);
  cfgWrite(m, 1, 0, 0x60, 4, 0x0b0b0a0a);
  assert.equal(cfgRead(m, 1, 0, 0x60, 4), 0x0b0b0a0a);
  // PIIX4 PM: SMM marked as set up (smm=off), SMBus base 0xb100 enabled bits, no COM1/LPT.
  assert.equal(cfgRead(m, 1, 3, 0x5b, 1), 0x02);
  assert.equal(cfgRead(m, 1, 3, 0x90, 4), 0xb101);
  assert.equal(cfgRead(m, 1, 3, 0xd2, 1), 0x09);
});

test("PCI: read-only ID registers, the command mask, status write-one-to-clear", () => {
  const m = machine();
  cfgWrite(m, 0, 0, 0x00, 4, 0);
  assert.equal(cfgRead(m, 0, 0, 0x00, 4), 0x12378086);
  cfgWrite(m, 1, 1, 0x04, 2, 0xffff);
  assert.equal(cfgRead(m, 1, 1, 0x04, 2), 0x0507); // I/O, memory, master, SERR, INTx disable
  // Status 0x0280 (fast back-to-back, medium DEVSEL) is read-only; writing ones changes nothing.
  cfgWrite(m, 1, 1, 0x06, 2, 0xffff);
  assert.equal(cfgRead(m, 1, 1, 0x06, 2), 0x0280);
});

test("PCI: IDE BAR4 sizes as 16 I/O ports and decodes the bus-master registers only with I/O enabled", () => {
  const m = machine();
  for (let bar = 0; bar < 6; bar++) {
    cfgWrite(m, 1, 1, 0x10 + 4 * bar, 4, 0xffffffff);
    assert.equal(cfgRead(m, 1, 1, 0x10 + 4 * bar, 4), bar === 4 ? 0xfffffff1 : 0, `BAR${bar}`);
  }
  cfgWrite(m, 1, 1, 0x20, 4, 0xc000);
  assert.equal(cfgRead(m, 1, 1, 0x20, 4), 0xc001);
  assert.equal(m.ports.read(0xc004, 4), 0xffffffff, "I/O decoding off");
  cfgWrite(m, 1, 1, 0x04, 2, 0x0103);
  m.ports.write(0xc004, 4, 0x12345677);
  assert.equal(m.ports.read(0xc004, 4), 0x12345674); // the PRD pointer is dword aligned
  assert.equal(m.ports.read(0xc000, 1), 0);
  // Moving the BAR moves the ports.
  cfgWrite(m, 1, 1, 0x20, 4, 0xd000);
  assert.equal(m.ports.read(0xc004, 4), 0xffffffff);
  assert.equal(m.ports.read(0xd004, 4), 0x12345674);
  cfgWrite(m, 1, 1, 0x04, 2, 0);
  assert.equal(m.ports.read(0xd004, 4), 0xffffffff);
});

test("IDE: both legacy channels are empty (every register reads 0, as QEMU's IDE bus without drives)", () => {
  const m = machine();
  for (const port of [0x1f1, 0x1f2, 0x1f6, 0x1f7, 0x3f6, 0x171, 0x177, 0x376]) assert.equal(m.ports.read(port, 1), 0, port.toString(16));
  m.ports.write(0x1f2, 1, 0x55);
  assert.equal(m.ports.read(0x1f2, 1), 0);
  assert.equal(m.ports.read(0x1f0, 2), 0);
});

test("i440FX PAM: 0xF0000 and 0xC0000-0xEFFFF segments switch between the ROM side and shadow RAM", () => {
  const m = machine();
  const b = m.bus;
  // Reset: the BIOS's ISA copy at 0xE0000-0xFFFFF, pc.rom (zeros) at 0xC0000-0xDFFFF, both read-only.
  assert.equal(b.read8(0xffff0), biosByte(0xfffffff0));
  assert.equal(b.read8(0xe0000), biosByte(0xfffe0000));
  assert.equal(b.read8(0xc0000), 0);
  b.write8(0xffff0, biosByte(0xfffffff0) ^ 0xff);
  assert.equal(b.read8(0xffff0), biosByte(0xfffffff0), "ROM ignores writes");
  // PAM0 high nibble 3: 0xF0000-0xFFFFF is RAM, read/write (empty: zeros).
  cfgWrite(m, 0, 0, 0x59, 1, 0x30);
  assert.equal(b.read8(0xffff0), 0);
  b.write32(0xffff0, 0xdeadbeef);
  assert.equal(b.read32(0xffff0), 0xdeadbeef);
  assert.equal(b.read8(0xe0000), biosByte(0xfffe0000), "other segments unchanged");
  // 1: reads RAM, writes go to the ROM side (dropped).
  cfgWrite(m, 0, 0, 0x59, 1, 0x10);
  b.write32(0xffff0, 0x11111111);
  assert.equal(b.read32(0xffff0), 0xdeadbeef);
  // 2 (WE only, the datasheet's meaning): reads the ROM, writes RAM.
  cfgWrite(m, 0, 0, 0x59, 1, 0x20);
  assert.equal(b.read8(0xffff0), biosByte(0xfffffff0));
  b.write32(0xffff0, 0x22222222);
  cfgWrite(m, 0, 0, 0x59, 1, 0x00);
  assert.equal(b.read8(0xffff0), biosByte(0xfffffff0));
  cfgWrite(m, 0, 0, 0x59, 1, 0x10);
  assert.equal(b.read32(0xffff0), 0x22222222, "the RAM kept what was written through mode 2");
  // PAM1 low nibble is 0xC0000-0xC3FFF, high nibble 0xC4000-0xC7FFF; PAM6 high nibble 0xEC000-0xEFFFF.
  cfgWrite(m, 0, 0, 0x5a, 1, 0x03);
  b.write8(0xc3fff, 0xaa);
  b.write8(0xc4000, 0xbb);
  assert.equal(b.read8(0xc3fff), 0xaa);
  assert.equal(b.read8(0xc4000), 0);
  cfgWrite(m, 0, 0, 0x5f, 1, 0x30);
  b.write8(0xec000, 0xcc);
  assert.equal(b.read8(0xec000), 0xcc);
  assert.equal(b.read8(0xebfff), biosByte(0xfffebfff));
  // A dword write over PAM0-PAM3 (as SeaBIOS writes them) updates every segment.
  cfgWrite(m, 0, 0, 0x58, 4, 0x33333000);
  assert.equal(b.read8(0xc4000), 0);
  b.write8(0xc4000, 0xdd);
  assert.equal(b.read8(0xc4000), 0xdd);
});

test("i440FX SMRAM: D_OPEN shows the DRAM under the VGA window; closed, it is unassigned", () => {
  const m = machine();
  assert.equal(m.bus.read8(0xa0000), 0xff);
  m.bus.write8(0xa0000, 0x12);
  cfgWrite(m, 0, 0, 0x72, 1, 0x4a);
  assert.equal(m.bus.read8(0xa0000), 0);
  m.bus.write8(0xbffff, 0x34);
  assert.equal(m.bus.read8(0xbffff), 0x34);
  cfgWrite(m, 0, 0, 0x72, 1, 0x0a);
  assert.equal(m.bus.read8(0xbffff), 0xff);
});

test("PIIX4 PM: PMBASE and its enable map the PM timer at PMBASE + 8; APM ports read back", () => {
  const m = machine();
  assert.equal(m.ports.read(0x608, 4), 0xffffffff);
  cfgWrite(m, 1, 3, 0x40, 4, 0x601);
  assert.equal(m.ports.read(0x608, 4), 0xffffffff, "not enabled yet");
  cfgWrite(m, 1, 3, 0x80, 1, 0x01);
  const t = m.ports.read(0x608, 4);
  assert.ok(t <= 0xffffff, "a 24-bit count");
  m.ports.write(0x602, 2, 0x0121);
  assert.equal(m.ports.read(0x602, 2), 0x0121);
  cfgWrite(m, 1, 3, 0x80, 1, 0x00);
  assert.equal(m.ports.read(0x608, 4), 0xffffffff);
  m.ports.write(0xb3, 1, 0x5a);
  assert.equal(m.ports.read(0xb3, 1), 0x5a);
  m.ports.write(0xb2, 1, 0xf1); // ACPI enable: SCI_EN
  cfgWrite(m, 1, 3, 0x80, 1, 0x01);
  assert.equal(m.ports.read(0x604, 2) & 1, 1);
});

test("local APIC: ID, version (0x14, six LVT entries), SVR and LVT reset values; IPIs read back idle", () => {
  const m = machine();
  const b = m.bus;
  assert.equal(b.read32(0xfee00020), 0);
  assert.equal(b.read32(0xfee00030), 0x00050014);
  assert.equal(b.read32(0xfee000f0), 0xff);
  // Masked like the others (QEMU 7.2: no ExtINT reset value since 2.7; guests/x86/busy.bin, which unmasks nothing,
  // takes no 8259 interrupt under qemu-system-x86_64, test/x86/pc-busy.test.ts).
  assert.equal(b.read32(0xfee00350), 0x10000, "LINT0 masked after reset");
  assert.equal(b.read32(0xfee00360), 0x10000);
  b.write32(0xfee000f0, 0x1ff);
  b.write32(0xfee00350, 0x8700);
  b.write32(0xfee00360, 0x8400);
  b.write32(0xfee00300, 0x000c4500); // INIT to all excluding self: nobody there
  assert.equal(b.read32(0xfee000f0), 0x1ff);
  assert.equal(b.read32(0xfee00350), 0x8700);
  assert.equal(b.read32(0xfee00300), 0x000c4500);
});

test("chipset state saves and restores: PAM routing, BARs, PMBASE and RAM behind them come back", () => {
  const a = machine();
  cfgWrite(a, 0, 0, 0x59, 1, 0x30);
  a.bus.write32(0xf0000, 0xcafef00d);
  cfgWrite(a, 0, 0, 0x59, 1, 0x10);
  cfgWrite(a, 1, 1, 0x20, 4, 0xc000);
  cfgWrite(a, 1, 1, 0x04, 2, 0x0101);
  a.ports.write(0xc004, 4, 0x1000);
  cfgWrite(a, 1, 3, 0x40, 4, 0x601);
  cfgWrite(a, 1, 3, 0x80, 1, 0x01);
  a.ports.write(0xcf8, 4, 0x80000b40);
  const saved = saveSections(a.stateParts);
  const b = machine();
  loadSections(b.stateParts, saved);
  assert.equal(b.bus.read32(0xf0000), 0xcafef00d);
  b.bus.write32(0xf0000, 0);
  assert.equal(b.bus.read32(0xf0000), 0xcafef00d, "mode 1: read-only");
  assert.equal(b.ports.read(0xc004, 4), 0x1000);
  assert.ok(b.ports.read(0x608, 4) <= 0xffffff);
  assert.equal(b.ports.read(0xcf8, 4), 0x80000b40);
  assert.deepEqual(saveSections(b.stateParts), saved);
});

test("AddressSpace routes: reads and writes to different unmapped regions, replaced in place, code invalidated", () => {
  const low = new Ram(0, 0x10000);
  const bus = new AddressSpace(low, { unassigned: "all-ones" });
  const rom = new Ram(0x20000, 0x2000, { name: "rom", readOnly: true });
  const ram = new Ram(0x20000, 0x2000, { name: "shadow" });
  rom.bytes.fill(0x5a);
  bus.addRam(rom, { mapped: false });
  bus.addRam(ram, { mapped: false });
  assert.equal(bus.read8(0x20000), 0xff, "nothing routed yet");
  bus.route(0x20000, 0x1000, rom, ram);
  bus.route(0x21000, 0x1000, null, null);
  assert.equal(bus.read8(0x20000), 0x5a);
  bus.write8(0x20000, 1);
  assert.equal(ram.bytes[0], 1);
  assert.equal(bus.read8(0x21000), 0xff);
  bus.write8(0x21000, 1);
  assert.equal(ram.bytes[0x1000], 0);
  let invalidated = -1;
  bus.onCodeWrite = (p) => (invalidated = p);
  rom.codePages[0] = 1;
  bus.route(0x20000, 0x1000, ram, ram);
  assert.equal(invalidated, rom.pageBase, "code decoded from the old bytes is dropped");
  assert.equal(bus.read8(0x20000), 1);
  assert.equal(bus.ramAt(0x20000, 1), ram);
  assert.throws(() => bus.route(0x20800, 0x1000, ram, ram), /overlaps/);
  assert.throws(() => bus.route(0x0, 0x1000, low, low), /not added unmapped/);
});

/** A 64 KiB BIOS whose reset vector (F000:FFF0) holds `code`, with `data` at F000:0000. */
function tinyBios(code: number[], data: number[] = []): Uint8Array {
  const b = new Uint8Array(0x10000).fill(0xf4);
  b.set(data, 0);
  b.set(code, 0xfff0);
  return b;
}

test("REP INSB / REP OUTSB (the opcode map's ins/outs) move bytes between ports and memory (fw_cfg signature, debugcon)", () => {
  // mov dx,0x510; xor ax,ax; out dx,ax (select the signature); inc dx; mov cx,4; mov di,0x500; rep insb; hlt
  const ins = new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios: tinyBios([0xba, 0x10, 0x05, 0x31, 0xc0, 0xef, 0x42, 0xb9, 0x04, 0x00, 0xbf, 0x00, 0x05, 0xf3, 0x6c, 0xf4]) });
  ins.run(atIcount(200));
  assert.equal(new TextDecoder().decode(ins.bus.readBytes(0x500, 4)), "QEMU"); // fw_cfg's signature (docs/specs/fw_cfg.rst)
  assert.equal(ins.cpu.lo[7] & 0xffff, 0x504);
  assert.equal(ins.cpu.lo[1] & 0xffff, 0);
  // mov dx,0x402; mov si,0; mov cx,3; cs rep outsb; hlt — with DF = 0, SI counts up.
  let out = "";
  const outs = new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios: tinyBios([0xba, 0x02, 0x04, 0xbe, 0x00, 0x00, 0xb9, 0x03, 0x00, 0x2e, 0xf3, 0x6e, 0xf4], [0x52, 0x77, 0x21]), debugcon: (b) => (out += String.fromCharCode(b)) });
  outs.run(atIcount(200));
  assert.equal(out, "Rw!");
  assert.equal(outs.cpu.lo[6] & 0xffff, 3);
});

test("PCI: a BAR or PMBASE placed over ports already in use stays unmapped instead of failing", () => {
  const m = machine();
  cfgWrite(m, 1, 1, 0x20, 4, 0x60); // over the i8042
  cfgWrite(m, 1, 1, 0x04, 2, 0x0001);
  assert.equal(cfgRead(m, 1, 1, 0x20, 4), 0x61);
  cfgWrite(m, 1, 3, 0x40, 4, 0x41); // 0x40-0x7f: over the PIT
  cfgWrite(m, 1, 3, 0x80, 1, 0x01);
  cfgWrite(m, 1, 1, 0x20, 4, 0xc000); // moved somewhere free, it maps
  m.ports.write(0xc004, 4, 0x2000);
  assert.equal(m.ports.read(0xc004, 4), 0x2000);
});

test("PIIX3 reset control (0xCF9, inside CONFIG_ADDRESS's dword): keeps bit 1, bit 2 resets; narrow CONFIG_ADDRESS reads", () => {
  const m = machine();
  m.ports.write(0xcf8, 4, 0x80000000);
  m.ports.write(0xcf9, 1, 0x02);
  assert.equal(m.ports.read(0xcf9, 1), 0x02);
  assert.equal(m.ports.read(0xcf8, 4), 0x80000000, "CONFIG_ADDRESS untouched");
  assert.equal(m.ports.read(0xcf8, 2), 0x0000);
  m.ports.write(0xcf8, 2, 0x1234); // narrower writes do not reach CONFIG_ADDRESS
  assert.equal(m.ports.read(0xcf8, 4), 0x80000000);
  m.ports.write(0xcf9, 1, 0x06);
  // -no-reboot: the run stops with "reset"; without it the machine resets and goes on from the reset vector.
  const once = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: BIOS, noReboot: true });
  once.ports.write(0xcf9, 1, 0x06);
  assert.equal(once.run(atIcount(1)), "reset");
  m.cpu.lo[3] = 0x1234; // EBX: 0 after a reset
  assert.equal(m.run(atIcount(0)), "limit", "the reset happens at the boundary, and the machine goes on");
  assert.equal(m.cpu.lo[3], 0);
  assert.equal(m.cpu.ripLo, 0xfff0);
  assert.equal(m.cpu.segSel[1], 0xf000);
  assert.equal(m.ports.read(0xcf8, 4), 0, "the PCI host's CONFIG_ADDRESS is reset too");
});

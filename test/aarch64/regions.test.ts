// The CPU over an address space with more than one RAM region: code runs from a second region (a ROM), its
// decoded pages do not collide with the primary RAM's, guest stores to ROM are dropped, and a loader's rewrite
// of ROM code drops the decoded copy.

import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, Ram } from "../../src/core/memory.js";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { Cpu } from "../../src/arch/aarch64/cpu.js";
import { GenericTimer } from "../../src/arch/aarch64/generic-timer.js";
import { Interpreter } from "../../src/arch/aarch64/interpreter.js";

const RAM = 0x40000000;
const ROM = 0x10000000;
const le = (...words: number[]) => new Uint8Array(Uint32Array.from(words).buffer);

test("code in ROM runs beside code in the primary RAM; ROM stores are dropped; rewritten ROM code is re-decoded", () => {
  const ram = new Ram(RAM, 1 << 20);
  const rom = new Ram(ROM, 0x10000, { name: "rom", readOnly: true });
  const bus = new AddressSpace(ram);
  bus.addRam(rom);
  const clock = new VirtualClock(7);
  const cpu = new Cpu(bus, clock, { hvc: () => false, reportUndefined: () => assert.fail("undefined instruction") });
  const lines = { setIrqLevel: () => {} };
  cpu.sys.timer = new GenericTimer(clock, new IrqLine(lines, 30), new IrqLine(lines, 27));
  const interp = new Interpreter(cpu);
  assert.equal(cpu.codeCache.length, bus.pageCount);

  // RAM page 0: movz x2, #9; br x3.   ROM page 0: movz x0, #5; add x0, x0, #1; str x0, [x1]; b .
  bus.writeBytes(RAM, le(0xd2800122, 0xd61f0060));
  rom.load(0, le(0xd28000a0, 0x91000400, 0xf9000020, 0x14000000));
  cpu.xlo[1] = ROM;
  cpu.xlo[3] = ROM;
  cpu.pcLo = RAM;
  assert.equal(interp.runBurst(7), 7);
  assert.equal(cpu.pcLo >>> 0, ROM + 12);
  assert.equal(cpu.xlo[2], 9);
  assert.equal(cpu.xlo[0], 6);
  assert.equal(bus.read32(ROM), 0xd28000a0, "the store to ROM changed nothing");
  assert.ok(cpu.codeCache[0] && cpu.codeCache[rom.pageBase], "both pages decoded, each in its own slot");

  // The loader patches the add to add #2: the decoded ROM page is dropped, the RAM page stays.
  bus.writeBytes(ROM + 4, le(0x91000800));
  assert.equal(cpu.codeCache[rom.pageBase], undefined);
  assert.ok(cpu.codeCache[0]);
  cpu.pcLo = ROM;
  interp.runBurst(4);
  assert.equal(cpu.xlo[0], 7);
});

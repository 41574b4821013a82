// Instruction fetch with paging in the interpreter: the code cache is keyed by physical page, so the same code
// mapped at two linear addresses is decoded once; a changed mapping is followed as the TLB follows it (a stale
// entry until INVLPG, as the SDM allows and QEMU does); an instruction crossing into a not-present page raises #PF
// with CR2 in the second page, in a step that adds no time (QEMU raises it translating), restarts once mapped, and
// is not cached (its second page may be remapped alone).

import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { Seg } from "../../src/arch/x86/cpu-state.js";

function pagedMachine() {
  const m = new PcMachine({ ramSize: 16 << 20, icountShift: 7, bios: new Uint8Array(0x10000) });
  const c = m.cpu;
  const bus = m.bus;
  const put = (at: number, bytes: number[]) => bytes.forEach((b, i) => bus.write8(at + i, b));
  bus.write64(0x1008, 0x0000ffff, 0x00cf9b00); // 0x08: 32-bit code, flat
  bus.write64(0x1010, 0x0000ffff, 0x00cf9300); // 0x10: data, flat
  // IDT[14] at 0x3000: interrupt gate to 0x08:0x5000, where a HLT waits.
  bus.write32(0x3000 + 14 * 8, 0x00085000);
  bus.write32(0x3004 + 14 * 8, 0x00008e00);
  bus.write8(0x5000, 0xf4);
  // PD 0x10000: 0-4 MiB identity (PT 0x11000), 4-8 MiB through PT 0x12000.
  bus.write32(0x10000, 0x11000 | 3);
  bus.write32(0x10004, 0x12000 | 3);
  for (let i = 0; i < 1024; i++) bus.write32(0x11000 + 4 * i, (i * 0x1000) | 3);
  bus.write32(0x12000, 0x20000 | 3); // 0x400000 -> 0x20000
  bus.write32(0x12008, 0x22000 | 3); // 0x402000 -> 0x22000; 0x403000 not present
  put(0x20000, [0xb8, 1, 0, 0, 0, 0xf4]); // mov eax, 1; hlt
  put(0x21000, [0xb8, 2, 0, 0, 0, 0xf4]); // mov eax, 2; hlt
  put(0x22ffe, [0xb8, 3]); // mov eax, 3 continues at 0x23000 (zeros)
  c.gdtBase = 0x1000;
  c.gdtLimit = 0x17;
  c.idtBase = 0x3000;
  c.idtLimit = 0x7f;
  c.cr3 = 0x10000;
  c.cr0 = 0x80000011;
  c.loadCode(0x08);
  c.loadSegment(Seg.SS, 0x10);
  c.lo[4] = 0x8000;
  const runAt = (eip: number, steps = 1) => {
    c.ripLo = eip;
    c.halted = false;
    m.run(atIcount(m.clock.icount + steps));
  };
  return { m, c, bus, runAt };
}

test("paged fetch: one decode for code mapped twice; a remapped page runs its new code after INVLPG", () => {
  const { m, c, bus, runAt } = pagedMachine();
  runAt(0x400000);
  assert.equal(c.lo[0], 1);
  const decodes = m.interp.decodes;
  c.lo[0] = 0;
  runAt(0x20000); // the same physical code through the identity map
  assert.equal(c.lo[0], 1);
  assert.equal(m.interp.decodes, decodes, "cached by physical page");
  bus.write32(0x12000, 0x21000 | 3);
  runAt(0x400000);
  assert.equal(c.lo[0], 1, "the TLB still holds the old translation");
  c.pager.tlb.flushPage(0x400000, 0);
  runAt(0x400000);
  assert.equal(c.lo[0], 2);
});

test("paged fetch: an instruction crossing into a not-present page is #PF (CR2 there) in a step without time, then restarts", () => {
  const { m, c, bus, runAt } = pagedMachine();
  const ns = m.clock.ns;
  const icount = m.clock.icount;
  runAt(0x402ffe);
  assert.equal(m.clock.icount, icount + 1);
  assert.equal(m.clock.ns, ns, "no time for the fetch fault's step");
  assert.equal(c.cr2, 0x403000);
  assert.equal(c.ripLo, 0x5000);
  assert.equal(bus.read32(0x8000 - 16) >>> 0, 0, "error code: not present, read, supervisor");
  assert.equal(bus.read32(0x8000 - 12) >>> 0, 0x402ffe, "the faulting instruction's EIP");
  bus.write32(0x1200c, 0x23000 | 3);
  c.lo[4] = 0x8000;
  runAt(0x402ffe);
  assert.equal(c.lo[0], 3);
  const decodes = m.interp.decodes;
  runAt(0x402ffe);
  assert.equal(m.interp.decodes, decodes + 1, "a page-crossing instruction is not cached");
});

// IA-32e interrupt delivery and IRETQ on the CPU (src/arch/x86/cpu.ts) against the Intel SDM Vol. 3 §6.14: a
// 16-byte gate, RSP aligned down to 16 before the frame, SS and RSP pushed even at the same privilege, then RFLAGS,
// CS, RIP and the error code, all quadwords; IF cleared by an interrupt gate; IRETQ pops all five and returns to
// the 64-bit code with RSP as it was. Also: the L bit selects 64-bit mode only with EFER.LMA, and a non-canonical
// address is #GP(0), not #PF. From CPL 3: the TSS's RSP0 and a null SS; a gate's IST; SYSCALL/SYSRET.

import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { Seg } from "../../src/arch/x86/cpu-state.js";
import { X86Fault } from "../../src/arch/x86/cpu.js";
import { READ } from "../../src/arch/x86/paging.js";

const GDT = 0x1000, IDT = 0x2000, PML4 = 0x10000;

function longMode() {
  const m = new PcMachine({ ramSize: 16 << 20, icountShift: 7, bios: new Uint8Array(0x10000) });
  const c = m.cpu;
  const bus = m.bus;
  bus.write64(GDT + 8, 0x0000ffff, 0x00af9b00); // 0x08: 64-bit code
  bus.write64(GDT + 16, 0x0000ffff, 0x00cf9300); // 0x10: data
  bus.write64(GDT + 24, 0x0000ffff, 0x00cf9b00); // 0x18: 32-bit code (compatibility mode)
  // IDT[14]: interrupt gate to 0x08:0x0000000000345678 (16 bytes).
  bus.write32(IDT + 14 * 16, 0x00085678);
  bus.write32(IDT + 14 * 16 + 4, 0x00348e00);
  // 4-level tables: the first 2 MiB identity (one 2 MiB page).
  bus.write32(PML4, 0x11000 | 3);
  bus.write32(0x11000, 0x12000 | 3);
  bus.write32(0x12000, 0x83);
  c.gdtBase = GDT;
  c.gdtLimit = 0x1f;
  c.idtBase = IDT;
  c.idtLimit = 0xfff;
  c.cr4 = 0x20;
  c.cr3 = PML4;
  c.efer = 0x500; // LME, LMA
  c.cr0 = 0x80000011;
  c.loadSegment(Seg.SS, 0x10);
  c.loadCode(0x08);
  return { m, c, bus };
}

test("CS.L selects 64-bit mode with EFER.LMA (compatibility mode without L)", () => {
  const { c } = longMode();
  assert.equal(c.codeBits, 64);
  assert.equal(c.stackBits, 64);
  c.loadCode(0x18);
  assert.equal(c.codeBits, 32);
  assert.equal(c.stackBits, 32);
});

test("IA-32e #PF delivery: the 16-byte gate, RSP aligned to 16, SS:RSP, RFLAGS, CS, RIP, error code; IRETQ returns", () => {
  const { c, bus } = longMode();
  c.lo[4] = 0x8008; // not 16-aligned
  c.hi[4] = 0;
  c.rflags = 0x202;
  c.ripLo = 0x1234;
  c.faultLo = 0x1234;
  c.exception(new X86Fault(14, 0x6));
  assert.equal(c.ripLo >>> 0, 0x345678);
  assert.equal(c.ripHi, 0);
  assert.equal(c.rflags & 0x200, 0, "an interrupt gate clears IF");
  // Aligned to 0x8000, then six quadwords.
  assert.equal(c.lo[4] >>> 0, 0x8000 - 6 * 8);
  const q = (i: number) => bus.read32(0x8000 - 6 * 8 + 8 * i) >>> 0;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(q), [0x6, 0x1234, 0x08, 0x202, 0x8008, 0x10]);
  // The handler pops the error code, then IRETQ.
  c.lo[4] += 8;
  c.iretLong(8);
  assert.equal(c.nextLo, 0x1234);
  assert.equal(c.lo[4] >>> 0, 0x8008);
  assert.equal(c.rflags, 0x202);
  assert.equal(c.codeBits, 64);
});

test("4-level paging: a non-canonical address is #GP(0)", () => {
  const { c } = longMode();
  assert.throws(
    () => c.pager.translate(0, 0x8000, READ, false),
    (e: unknown) => e instanceof X86Fault && e.vector === 13 && e.code === 0,
  );
  assert.equal(c.pager.translate(0x1000, 0, READ, false), 0x1000);
});

/** A 64-bit TSS at 0x4000 (RSP0 0x9000, IST1 0xa000) and user segments 0x28 (data) / 0x30 (64-bit code), DPL 3. */
function withTss(c: ReturnType<typeof longMode>["c"], bus: ReturnType<typeof longMode>["bus"]) {
  bus.write64(GDT + 0x28, 0x0000ffff, 0x00cff300);
  bus.write64(GDT + 0x30, 0x0000ffff, 0x00affb00);
  bus.write32(0x4004, 0x9000);
  bus.write32(0x4024, 0xa000);
  c.gdtLimit = 0x37;
  c.trBase = 0x4000;
  c.trLimit = 0x67;
  bus.write32(0x12000, 0x87); // the 2 MiB page: user-accessible
  bus.write32(0x11000, 0x12000 | 7);
  bus.write32(PML4, 0x11000 | 7);
  c.pager.tlb.flushAll();
}

test("IA-32e delivery from CPL 3: the TSS's RSP0, a null SS, the user's SS:RSP in the frame; IRETQ back to CPL 3", () => {
  const { c, bus } = longMode();
  withTss(c, bus);
  c.efer |= 1; // SCE
  c.msrs.set(0xc0000081, 0x00200008n << 32n); // SYSRET: CS 0x33, SS 0x2b
  c.sysret(true);
  assert.equal(c.segSel[Seg.CS], 0x33);
  assert.equal(c.segSel[Seg.SS], 0x2b);
  c.lo[4] = 0x7000;
  c.ripLo = c.faultLo = 0x1111;
  c.exception(new X86Fault(14, 0x5));
  assert.equal(c.cpl, 0);
  assert.equal(c.segSel[Seg.SS], 0);
  assert.equal(c.lo[4] >>> 0, 0x9000 - 6 * 8);
  const q = (i: number) => bus.read32(0x9000 - 6 * 8 + 8 * i) >>> 0;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(q), [0x5, 0x1111, 0x33, c.lo[11] & 0x3c7fd7 | 2, 0x7000, 0x2b]);
  c.lo[4] += 8;
  c.iretLong(8);
  assert.equal(c.cpl, 3);
  assert.equal(c.segSel[Seg.CS], 0x33);
  assert.equal(c.segSel[Seg.SS], 0x2b);
  assert.equal(c.lo[4] >>> 0, 0x7000);
  assert.equal(c.nextLo, 0x1111);
});

test("IA-32e delivery through a gate with IST 1: the TSS's IST1 stack at the same privilege", () => {
  const { c, bus } = longMode();
  withTss(c, bus);
  bus.write32(IDT + 14 * 16 + 4, 0x00348e01); // IST 1
  c.lo[4] = 0x8000;
  c.faultLo = 0x2222;
  c.exception(new X86Fault(14, 0));
  assert.equal(c.lo[4] >>> 0, 0xa000 - 6 * 8);
  assert.equal(bus.read32(0xa000 - 16) >>> 0, 0x8000, "the old RSP");
  assert.equal(c.segSel[Seg.SS], 0x10, "SS unchanged at the same privilege");
});

test("SYSCALL / SYSRET: RCX and R11, LSTAR, SFMASK, the STAR selectors and CPL", () => {
  const { c } = longMode();
  c.efer |= 1; // SCE
  c.msrs.set(0xc0000081, (0x0020n << 48n) | (0x0008n << 32n));
  c.msrs.set(0xc0000082, 0xffffffff81000000n);
  c.msrs.set(0xc0000084, 0x200n);
  c.rflags = 0x246;
  c.nextLo = 0x4000;
  c.nextHi = 0;
  c.syscall();
  assert.equal(c.lo[1] >>> 0, 0x4000);
  assert.equal(c.lo[11] >>> 0, 0x246);
  assert.equal(c.nextLo >>> 0, 0x81000000);
  assert.equal(c.nextHi >>> 0, 0xffffffff);
  assert.equal(c.rflags, 0x46, "SFMASK cleared IF");
  assert.equal(c.segSel[Seg.CS], 0x08);
  assert.equal(c.segSel[Seg.SS], 0x10);
  assert.equal(c.cpl, 0);
  c.sysret(true);
  assert.equal(c.segSel[Seg.CS], 0x33);
  assert.equal(c.segSel[Seg.SS], 0x2b);
  assert.equal(c.cpl, 3);
  assert.equal(c.rflags, 0x246);
  assert.equal(c.nextLo, 0x4000);
  assert.throws(() => c.sysret(true), (e: unknown) => e instanceof X86Fault && e.vector === 13);
});

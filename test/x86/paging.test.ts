// The CPU's page walk (src/arch/x86/paging.ts) and TLB (tlb.ts) against the Intel SDM Vol. 3 ch. 4: the rights
// combined over the levels with CR0.WP (§4.6), XD with EFER.NXE, reserved bits (§4.7; MAXPHYADDR 40, no 1 GiB
// pages), the #PF error codes and CR2 (§4.7; RSVD as QEMU 7.2 reports it, without P), the accessed and dirty bits
// (§4.8: non-leaf accessed bits as the walk passes, the leaf's once allowed, dirty on the first write even through
// a cached translation), the TLB's flush rules (§4.10.4: a stale entry stays until INVLPG or MOV CR3; global
// entries survive MOV CR3 with CR4.PGE; CR4.PGE/PSE/PAE and CR0.WP/PG changes flush all) and accesses crossing a
// page boundary (both pages translated before either is written).

import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { X86Fault } from "../../src/arch/x86/cpu.js";
import { FETCH, READ, WRITE, type Access } from "../../src/arch/x86/paging.js";

const PG = 0x80000000, WP = 0x10000, PE = 1;
const PSE = 0x10, PAE = 0x20, PGE = 0x80;
const NXE = 0x800, LME = 0x100, LMA = 0x400;
const A = 0x20, D = 0x40;

function setup() {
  const m = new PcMachine({ ramSize: 16 << 20, icountShift: 7, bios: new Uint8Array(0x10000) });
  const c = m.cpu;
  const bus = m.bus;
  /** The physical address, or the #PF error code as "pf:N" (with CR2 checked to be the address). */
  const tr = (lo: number, access: Access = READ, user = false, hi = 0): number | string => {
    try {
      return c.pager.translate(lo, hi, access, user);
    } catch (e) {
      if (!(e instanceof X86Fault)) throw e;
      assert.equal(c.cr2, lo >>> 0, "CR2 is the faulting address");
      return `${e.vector === 14 ? "pf" : e.vector}:${e.code}`;
    }
  };
  return { m, c, bus, tr };
}

/** 32-bit paging: PD at 0x10000, its PT at 0x11000 for 0-4 MiB. */
function paging32(pte: (i: number) => number, pde = 0x11000 | 7) {
  const s = setup();
  s.bus.write32(0x10000, pde);
  for (let i = 0; i < 1024; i++) s.bus.write32(0x11000 + 4 * i, pte(i));
  s.c.cr3 = 0x10000;
  s.c.cr0 = PG | PE | 0x10;
  return s;
}

test("32-bit paging: U/S and R/W combined over PDE and PTE, with CR0.WP (SDM 4.6)", () => {
  // Page 1: user read/write; page 2: user read-only; page 3: supervisor read/write; page 4: not present.
  const flags = [0, 7, 5, 3, 0];
  const { c, tr } = paging32((i) => (i < 5 ? (0x100000 + i * 0x1000) | flags[i] : 0));
  assert.equal(tr(0x1004, READ, true), 0x101004);
  assert.equal(tr(0x1004, WRITE, true), 0x101004);
  assert.equal(tr(0x2000, READ, true), 0x102000);
  assert.equal(tr(0x2000, WRITE, true), "pf:7"); // P | W | U
  assert.equal(tr(0x2000, WRITE, false), 0x102000); // supervisor, WP = 0: writes anything
  assert.equal(tr(0x3000, READ, true), "pf:5"); // P | U
  assert.equal(tr(0x3000, WRITE, false), 0x103000);
  assert.equal(tr(0x4000, READ, false), "pf:0");
  assert.equal(tr(0x4000, WRITE, true), "pf:6");
  assert.equal(tr(0x4000, FETCH, false), "pf:0"); // I/D only with NXE (PAE) or SMEP
  c.cr0 |= WP;
  assert.equal(tr(0x2008, WRITE, false), "pf:3"); // P | W
  // A read-only PDE makes the whole 4 MiB read-only.
  const t = paging32((i) => (i * 0x1000) | 7, 0x11000 | 5);
  t.c.cr0 |= WP;
  assert.equal(t.tr(0x5000, WRITE, false), "pf:3");
  assert.equal(t.tr(0x5000, READ, true), 0x5000);
});

test("32-bit paging: accessed and dirty bits as the SDM and QEMU set them (SDM 4.8)", () => {
  const { bus, tr, c } = paging32((i) => (i * 0x1000) | 3, 0x11000 | 3);
  assert.equal(tr(0x7123), 0x7123);
  assert.equal(bus.read32(0x10000), 0x11000 | 3 | A);
  assert.equal(bus.read32(0x11000 + 7 * 4), 0x7000 | 3 | A);
  // The write through the cached (clean) translation walks again and sets D.
  assert.equal(tr(0x7124, WRITE), 0x7124);
  assert.equal(bus.read32(0x11000 + 7 * 4), 0x7000 | 3 | A | D);
  // A denied access sets no accessed bit in the leaf (the PDE's was set on the way).
  bus.write32(0x11000 + 8 * 4, 0x8000 | 1);
  c.cr0 |= WP;
  assert.equal(tr(0x8000, WRITE), "pf:3");
  assert.equal(bus.read32(0x11000 + 8 * 4), 0x8000 | 1);
});

test("32-bit paging: 4 MiB pages with CR4.PSE, PSE-36 address bits, bit 21 reserved; PS ignored without PSE", () => {
  const { c, bus, tr } = setup();
  bus.write32(0x10000 + 1 * 4, 0x00400000 | 0x83); // 4-8 MiB -> 4 MiB
  bus.write32(0x10000 + 2 * 4, 0x00800000 | (0x12 << 13) | 0x83); // 8-12 MiB -> 0x12_0080_0000
  bus.write32(0x10000 + 3 * 4, 0x00c00000 | 0x200000 | 0x83); // bit 21 set
  c.cr3 = 0x10000;
  c.cr4 = PSE;
  c.cr0 = PG | PE;
  assert.equal(tr(0x00654321), 0x00654321);
  assert.equal(bus.read32(0x10004), 0x00400000 | 0x83 | A);
  assert.equal(tr(0x00854321), 0x12 * 2 ** 32 + 0x00854321);
  assert.equal(tr(0x00c00000), "pf:8"); // RSVD (QEMU 7.2: without P)
  assert.equal(tr(0x00c00000, WRITE, true), "pf:14");
});

/** PAE: PDPT at 0x13000 ([0] -> PD 0x14000), PD[0] -> PT 0x15000, PD[1] a 2 MiB page at 6 MiB. */
function pae(efer = NXE) {
  const s = setup();
  const { bus, c } = s;
  bus.write32(0x13000, 0x14000 | 1);
  bus.write32(0x14000, 0x15000 | 7);
  bus.write32(0x14008, 0x00600000 | 0x87);
  for (let i = 0; i < 512; i++) bus.write32(0x15000 + 8 * i, (i * 0x1000) | 7);
  c.efer = efer;
  c.cr4 = PAE;
  c.cr3 = 0x13000;
  c.loadPdptes(c.cr3);
  c.cr0 = PG | PE;
  return s;
}

test("PAE paging: 4 KiB and 2 MiB pages, XD with NXE (I/D), reserved bits (RSVD), PDPTE registers (SDM 4.4)", () => {
  const { bus, c, tr } = pae();
  assert.equal(tr(0x3456, FETCH), 0x3456);
  assert.equal(tr(0x00212345), 0x00612345);
  assert.equal(bus.read32(0x14008), 0x00600000 | 0x87 | A);
  bus.write32(0x15000 + 8 * 9 + 4, 0x80000000); // XD
  assert.equal(tr(0x9000, READ), 0x9000);
  assert.equal(tr(0x9000, FETCH), "pf:17"); // P | I/D
  assert.equal(tr(0x9000, FETCH, true), "pf:21"); // P | U | I/D
  bus.write32(0x15000 + 8 * 10 + 4, 0x00080000); // bit 51: above MAXPHYADDR 40
  assert.equal(tr(0xa000), "pf:8");
  assert.equal(tr(0xa000, FETCH), "pf:24"); // RSVD | I/D
  bus.write32(0x15000 + 8 * 11 + 4, 0xff); // bits 39:32: a real address
  assert.equal(tr(0xb000), 0xff * 2 ** 32 + 0xb000);
  bus.write32(0x14010, 0x00800000 | 0x2000 | 0x87); // a 2 MiB PDE with bit 13 set
  assert.equal(tr(0x00400000), "pf:8");
  assert.equal(tr(0x40000000), "pf:0"); // PDPTE 1 not present
  // Without NXE, XD is a reserved bit; no I/D either.
  const n = pae(0);
  n.bus.write32(0x15000 + 8 * 9 + 4, 0x80000000);
  assert.equal(n.tr(0x9000, FETCH), "pf:8");
  // The PDPTEs are registers: editing the table changes nothing until CR3 is loaded again.
  bus.write32(0x13000, 0);
  c.pager.tlb.flushAll();
  assert.equal(tr(0x3000), 0x3000);
  // A present PDPTE with reserved bits: #GP(0) when loaded (SDM 4.4.1).
  bus.write32(0x13000, 0x14000 | 1 | 0x2);
  assert.throws(() => c.loadPdptes(0x13000), (e: unknown) => e instanceof X86Fault && e.vector === 13 && e.code === 0);
});

test("4-level paging (EFER.LMA): 4 KiB and 2 MiB pages, high addresses, PS reserved in the PML4E and PDPTE (no 1 GiB pages)", () => {
  const { bus, c, tr } = setup();
  // PML4 0x10000: [0] -> PDPT 0x11000, [511] -> PDPT 0x12000; PDPT[0] -> PD 0x13000; PD[0] -> PT 0x14000.
  bus.write32(0x10000, 0x11000 | 7);
  bus.write32(0x10000 + 511 * 8, 0x12000 | 3);
  bus.write32(0x11000, 0x13000 | 7);
  bus.write32(0x13000, 0x14000 | 7);
  bus.write32(0x13008, 0x00a00000 | 0x83);
  bus.write32(0x14000 + 5 * 8, 0x5000 | 7);
  bus.write32(0x12000 + 511 * 8, 0x13000 | 3); // 0xffffffffc0000000 -> the same PD
  c.cr4 = PAE;
  c.cr3 = 0x10000;
  c.efer = LME | LMA | NXE;
  c.cr0 = PG | PE;
  assert.equal(tr(0x5678), 0x5678);
  assert.equal(tr(0x00212345), 0x00a12345);
  assert.equal(tr(0xc0005678, READ, false, 0xffffffff), 0x5678);
  assert.equal(tr(0xc0005678, READ, true, 0xffffffff), "pf:5"); // the PML4E is supervisor-only
  for (const at of [0x10000, 0x11000, 0x13000, 0x14000 + 5 * 8]) assert.ok(bus.read32(at) & A, `A at ${at.toString(16)}`);
  bus.write32(0x11008, 0x40000000 | 0x83); // a 1 GiB page: qemu64 has no pdpe1gb
  assert.equal(tr(0x40000000), "pf:8");
  bus.write32(0x10008, 0x11000 | 0x87); // PS in a PML4E
  assert.equal(tr(0, READ, false, 0x80), "pf:8");
});

test("TLB: a stale entry until INVLPG or MOV CR3; global entries survive MOV CR3 with CR4.PGE; mode changes flush all (SDM 4.10.4)", () => {
  const { bus, c, tr } = paging32((i) => (i * 0x1000) | 3, 0x11000 | 3);
  assert.equal(tr(0x6000), 0x6000);
  bus.write32(0x11000 + 6 * 4, 0x9000 | 3);
  assert.equal(tr(0x6000), 0x6000, "stale until invalidated");
  c.pager.tlb.flushPage(0x6abc, 0);
  assert.equal(tr(0x6000), 0x9000);
  bus.write32(0x11000 + 6 * 4, 0x6000 | 3);
  c.cr3 = c.cr3; // the same value still flushes
  assert.equal(tr(0x6000), 0x6000);
  // Global: G in the PTE with CR4.PGE.
  c.cr4 = PGE;
  bus.write32(0x11000 + 7 * 4, 0x7000 | 0x103);
  assert.equal(tr(0x7000), 0x7000);
  bus.write32(0x11000 + 7 * 4, 0xa000 | 0x103);
  c.cr3 = 0x10000;
  assert.equal(tr(0x7000), 0x7000, "a global entry survives MOV CR3");
  c.pager.tlb.flushPage(0x7000, 0);
  assert.equal(tr(0x7000), 0xa000, "INVLPG removes global entries too");
  bus.write32(0x11000 + 7 * 4, 0xb000 | 0x103);
  c.cr4 = 0; // clearing PGE flushes everything
  assert.equal(tr(0x7000), 0xb000);
  // CR0.WP: a changed rule, so a flush (a cached write permission must not outlive WP = 1).
  bus.write32(0x11000 + 8 * 4, 0x8000 | 1);
  assert.equal(tr(0x8000, WRITE), 0x8000);
  c.cr0 |= WP;
  assert.equal(tr(0x8000, WRITE), "pf:3");
  // A denied access through a cached entry walks again: the fault reflects the tables as they are now.
  bus.write32(0x11000 + 8 * 4, 0x8000 | 3);
  assert.equal(tr(0x8000, WRITE), 0x8000);
});

test("TLB: a cached large page is flushed whole by INVLPG of any address in it", () => {
  const { bus, c, tr } = setup();
  bus.write32(0x10004, 0x00400000 | 0x83);
  c.cr3 = 0x10000;
  c.cr4 = PSE;
  c.cr0 = PG | PE;
  assert.equal(tr(0x00400000), 0x00400000);
  assert.equal(tr(0x00555000), 0x00555000);
  bus.write32(0x10004, 0x00800000 | 0x83);
  c.pager.tlb.flushPage(0x00400000, 0);
  assert.equal(tr(0x00555000), 0x00955000);
});

test("paged memory: an access crossing into a not-present page faults there (CR2 in the second page) and writes nothing", () => {
  const { bus, c } = paging32((i) => (i === 0x11 ? 0 : (i * 0x1000) | 3), 0x11000 | 3);
  bus.write32(0x10ffc, 0x11111111);
  assert.throws(
    () => c.mem.write(c, 0x10ffe, 0, 4, 0xaabbccdd, 0),
    (e: unknown) => e instanceof X86Fault && e.vector === 14 && e.code === 2,
  );
  assert.equal(c.cr2, 0x11000);
  assert.equal(bus.read32(0x10ffc), 0x11111111);
  bus.write32(0x11000 + 0x11 * 4, 0x20000 | 3);
  c.mem.write(c, 0x10ffe, 0, 4, 0xaabbccdd, 0);
  assert.equal(bus.read32(0x10ffc), 0xccdd1111);
  assert.equal(bus.read16(0x20000), 0xaabb);
  c.mem.read(c, 0x10ffe, 0, 4);
  assert.equal(c.vlo, 0xaabbccdd);
});

test("the TLB is part of the saved state: a loaded CPU translates through the same stale entries", () => {
  const { bus, c, tr, m } = paging32((i) => (i * 0x1000) | 3, 0x11000 | 3);
  assert.equal(tr(0x6000), 0x6000);
  bus.write32(0x11000 + 6 * 4, 0x9000 | 3);
  const saved = c.saveState();
  const other = setup();
  for (const r of m.ram) other.m.ram[m.ram.indexOf(r)].loadState(r.saveState());
  other.c.loadState(saved, c.stateVersion);
  assert.equal(other.c.pagingOn, true);
  assert.equal(other.tr(0x6000), 0x6000);
  assert.equal(other.tr(0x5000), 0x5000);
});

// The debugger's linear -> physical walk (src/arch/x86/translation.ts) on hand-built page tables, with the
// expected addresses worked out from the Intel SDM Vol. 3 §4 (4.3 32-bit paging, 4.4 PAE paging, 4.5 4-level
// paging: which linear-address bits index each table, which entry bits hold the next address, PS for large pages).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { walk, writeTargets, X86IntervalFlag, type PagingRegisters } from "../../src/arch/x86/translation.js";
import { X86Debug } from "../../src/arch/x86/debug.js";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { ROOT } from "../helpers/sessions.js";

const PG = 0x80000000, PE = 1, PSE = 0x10, PAE = 0x20, LME = 0x100, LMA = 0x400;

/** Sparse physical memory: 4 KiB pages created on write. */
class Memory {
  readonly pages = new Map<number, Uint8Array>();
  put32(pa: number, v: number): void {
    const base = pa - (pa % 4096);
    let p = this.pages.get(base);
    if (!p) this.pages.set(base, (p = new Uint8Array(4096)));
    new DataView(p.buffer).setUint32(pa - base, v >>> 0, true);
  }
  /** A 64-bit entry from its halves. */
  put64(pa: number, lo: number, hi = 0): void {
    this.put32(pa, lo);
    this.put32(pa + 4, hi);
  }
  read32 = (pa: number): number | undefined => {
    const p = this.pages.get(pa - (pa % 4096));
    return p ? new DataView(p.buffer).getUint32(pa % 4096, true) : undefined;
  };
}

const at = (regs: PagingRegisters, mem: Memory, va: bigint, tables?: number[]) =>
  walk(regs, Number(va & 0xffffffffn), Number(va >> 32n), mem.read32, tables);

test("x86 walk: no paging is the identity on 32-bit linear addresses", () => {
  const regs = { cr0: PE, cr3: 0, cr4: 0, efer: 0 };
  const mem = new Memory();
  assert.equal(at(regs, mem, 0x12345678n), 0x12345678);
  assert.equal(at(regs, mem, 0xffffffffn), 0xffffffff);
  assert.equal(at(regs, mem, 0x100000000n), undefined);
});

test("x86 walk: 32-bit paging, 4 KiB pages and 4 MiB pages with PSE and PSE-36 (SDM 4.3)", () => {
  const mem = new Memory();
  const regs = { cr0: PG | PE, cr3: 0x1000, cr4: PSE, efer: 0 };
  // 0x00403abc: PDE 1 (bits 31:22), PTE 3 (bits 21:12), offset 0xabc.
  mem.put32(0x1000 + 1 * 4, 0x2000 | 1);
  mem.put32(0x2000 + 3 * 4, 0x7000 | 3);
  assert.equal(at(regs, mem, 0x00403abcn), 0x7abc);
  // A PTE without P: not mapped; a PDE without P: not mapped.
  mem.put32(0x2000 + 4 * 4, 0x8000);
  assert.equal(at(regs, mem, 0x00404000n), undefined);
  assert.equal(at(regs, mem, 0x01000000n), undefined);
  // 0x00812345: PDE 2 with PS: a 4 MiB page at 0x00c00000; PDE bits 20:13 are physical bits 39:32 (PSE-36).
  mem.put32(0x1000 + 2 * 4, 0x00c00000 | (3 << 13) | 0x80 | 1);
  assert.equal(at(regs, mem, 0x00812345n), 3 * 2 ** 32 + 0x00c12345);
  // The tables read, in order.
  const tables: number[] = [];
  at(regs, mem, 0x00403abcn, tables);
  assert.deepEqual(tables, [0x1004, 0x200c]);
});

test("x86 walk: PAE paging, 4 KiB and 2 MiB pages, addresses above 4 GiB (SDM 4.4)", () => {
  const mem = new Memory();
  const regs = { cr0: PG | PE, cr3: 0x3020, cr4: PAE, efer: 0 };
  // 0xc0201abc: PDPTE 3 (bits 31:30) of the four at CR3 & ~0x1f, PDE 1 (bits 29:21), PTE 1 (bits 20:12).
  mem.put64(0x3020 + 3 * 8, 0x4000 | 1);
  mem.put64(0x4000 + 1 * 8, 0x5000 | 1);
  mem.put64(0x5000 + 1 * 8, 0x9000 | 1, 0x1);
  assert.equal(at(regs, mem, 0xc0201abcn), 2 ** 32 + 0x9abc);
  // 0xc0456789: PDE 2 with PS: a 2 MiB page at 0x00600000.
  mem.put64(0x4000 + 2 * 8, 0x00600000 | 0x81);
  assert.equal(at(regs, mem, 0xc0456789n), 0x00656789);
  // PDPTE 0 not present.
  assert.equal(at(regs, mem, 0x00001000n), undefined);
});

test("x86 walk: 4-level paging, 4 KiB / 2 MiB / 1 GiB pages and canonical addresses (SDM 4.5)", () => {
  const mem = new Memory();
  const regs = { cr0: PG | PE, cr3: 0x10000, cr4: PAE, efer: LME | LMA };
  // 0xffff800000201abc: PML4E 256 (bits 47:39), PDPTE 0 (38:30), PDE 1 (29:21), PTE 1 (20:12).
  mem.put64(0x10000 + 256 * 8, 0x11000 | 1);
  mem.put64(0x11000, 0x12000 | 1);
  mem.put64(0x12000 + 1 * 8, 0x13000 | 1);
  mem.put64(0x13000 + 1 * 8, 0x14000 | 1);
  const tables: number[] = [];
  assert.equal(at(regs, mem, 0xffff800000201abcn, tables), 0x14abc);
  assert.deepEqual(tables, [0x10800, 0x11000, 0x12008, 0x13008]);
  // 0x40000123: PML4E 0, PDPTE 1 with PS: a 1 GiB page at 0x80000000.
  mem.put64(0x10000, 0x15000 | 1);
  mem.put64(0x15000 + 1 * 8, 0x80000000 | 0x81);
  assert.equal(at(regs, mem, 0x40000123n), 0x80000123);
  // 0x80601234: PDPTE 2, PDE 3 with PS: a 2 MiB page at 0x00a00000.
  mem.put64(0x15000 + 2 * 8, 0x16000 | 1);
  mem.put64(0x16000 + 3 * 8, 0x00a00000 | 0x81);
  assert.equal(at(regs, mem, 0x80601234n), 0x00a01234);
  // Not canonical (bits 63:47 differ): not mapped, even though PML4E 256 is present.
  assert.equal(at(regs, mem, 0x0000800000201abcn), undefined);
  // A table outside memory: not mapped (and never read from a device).
  mem.put64(0x12000 + 5 * 8, 0xfee00000 | 1);
  assert.equal(at(regs, mem, 0xffff800000a00000n), undefined);
});

test("x86 writeTargets: the pages a linear range maps to in a saved state, the tables, the Paging flag", () => {
  const mem = new Memory();
  mem.put64(0x10000, 0x11000 | 1);
  mem.put64(0x11000, 0x12000 | 1);
  mem.put64(0x12000, 0x13000 | 1);
  mem.put64(0x13000 + 1 * 8, 0x20000 | 1);
  mem.put64(0x13000 + 2 * 8, 0x30000 | 1);
  const state = [{ name: "cpu0", version: 1, fields: { cr0: PG | PE, cr3: 0x10000, cr4: PAE, efer: LME | LMA } }];
  const t = writeTargets("cpu0", 0x1ffcn, 8, state, (pa) => mem.pages.get(pa));
  assert.deepEqual(t, { pages: [0x20000, 0x30000], tables: [0x10000, 0x11000, 0x12000, 0x13000], flags: X86IntervalFlag.Paging });
  assert.equal(writeTargets("cpu1", 0n, 4, state, (pa) => mem.pages.get(pa)), undefined);
});

test("x86 translate on the pc board: identity at reset; MOV to CR3/segment loads note the interval flags", () => {
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(join(ROOT, "guests/x86/hello.bin")) });
  const debug = new X86Debug(m.cpu, m.interp);
  assert.equal(debug.translate(0xffff0n), 0xffff0);
  assert.equal(debug.translate(0x100000000n), undefined);
  m.cpu.intervalFlags.take();
  m.cpu.cr3 = 0x1000;
  assert.equal(m.cpu.intervalFlags.take(), X86IntervalFlag.Paging);
  m.cpu.cr0 = m.cpu.cr0 | 8; // TS: no translation change
  assert.equal(m.cpu.intervalFlags.take(), 0);
  m.cpu.loadSegment(3, 0x40);
  assert.equal(m.cpu.intervalFlags.take(), X86IntervalFlag.Segments);
});

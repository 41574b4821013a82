// The address space with several RAM/ROM regions (a PC's layout), open-bus reads, straddling accesses, and
// checkpoints and divergence digests over every region.

import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, BusError, DIRTY_ALL, PAGE_SIZE, Ram, type MmioHandler } from "../../src/core/memory.js";
import { CheckpointStore, type Checkpoint } from "../../src/replay/checkpoints.js";
import { IntervalFlags } from "../../src/core/exec-summary.js";
import { machineDetailDigests, type Machine } from "../../src/core/machine.js";
import type { StateFields, Stateful } from "../../src/core/state.js";
import { VirtualClock } from "../../src/core/clock.js";

const MiB = 1 << 20;

/** A PC-like map: low RAM 0..640K, VGA MMIO hole, ISA BIOS ROM at 0xE0000, RAM from 1 MiB, BIOS under 4 GiB. */
function pcLike(unassigned: "bus-error" | "all-ones" = "all-ones") {
  const ram = new Ram(MiB, 7 * MiB); // the primary (fast path)
  const low = new Ram(0, 0xa0000, { name: "ram-low" });
  const isaBios = new Ram(0xe0000, 0x20000, { name: "isa-bios", readOnly: true });
  const bios = new Ram(0xfffc0000, 0x40000, { name: "bios", readOnly: true });
  const bus = new AddressSpace(ram, { unassigned });
  bus.addRam(low);
  bus.addRam(isaBios);
  bus.addRam(bios);
  const vgaWrites: [number, number, number][] = [];
  const vga: MmioHandler = { read: (off) => 0x40 + off, write: (off, size, v) => vgaWrites.push([off, size, v]) };
  bus.map("vga", 0xa0000, 0x20000, vga);
  return { bus, ram, low, isaBios, bios, vgaWrites };
}

test("several RAM regions: each reads and writes its own bytes, pages are numbered across regions", () => {
  const { bus, ram, low, isaBios, bios } = pcLike();
  bus.write32(0x1000, 0x11223344);
  bus.write32(MiB + 8, 0x55667788);
  assert.equal(bus.read32(0x1000), 0x11223344);
  assert.equal(low.view.getUint32(0x1000, true), 0x11223344);
  assert.equal(ram.view.getUint32(8, true), 0x55667788);
  assert.equal(low.dirty[1], DIRTY_ALL); // every consumer's bit
  bus.write64(0x2000, 0xaabbccdd, 0x01020304);
  assert.equal(bus.read64(0x2000), 0xaabbccdd);
  assert.equal(bus.hi, 0x01020304);
  // The primary RAM's pages come first, then the others in the order they were added.
  assert.equal(ram.pageBase, 0);
  assert.equal(low.pageBase, ram.pageCount);
  assert.equal(isaBios.pageBase, ram.pageCount + low.pageCount);
  assert.equal(bios.pageBase, isaBios.pageBase + isaBios.pageCount);
  assert.equal(bus.pageCount, bios.pageBase + bios.pageCount);
  assert.deepEqual(bus.ramRegions.map((r) => r.name), ["ram-low", "isa-bios", "ram", "bios"]);
  assert.equal(bus.ramAt(0xe0000, 4), isaBios);
  assert.equal(bus.ramAt(0x9fffe, 4), undefined);
});

test("ROM: guest writes are dropped (or go to romWrite); loaders and the debugger still write it", () => {
  const { bus, bios, isaBios } = pcLike();
  bios.load(0x3fff0, Uint8Array.of(0xea, 0x5b, 0xe0, 0x00, 0xf0));
  assert.equal(bus.read8(0xfffffff0), 0xea);
  bus.write8(0xfffffff0, 0x90);
  bus.write32(0xfffffff0, 0);
  assert.equal(bus.read32(0xfffffff0), 0x00e05bea);
  assert.equal(bus.plainMemory(0xfffffff0, 4, true), true, "a dropped write leaves only memory to undo");
  const redirected: [number, number, number][] = [];
  isaBios.romWrite = (off, size, v) => redirected.push([off, size, v]);
  bus.write16(0xe0010, 0xbeef);
  assert.deepEqual(redirected, [[0x10, 2, 0xbeef]]);
  assert.equal(bus.read16(0xe0010), 0);
  assert.equal(bus.plainMemory(0xe0010, 2, true), false, "a forwarded write is a device access");
  assert.equal(bus.plainMemory(0xe0010, 2, false), true);
  // Shadowing: the chipset makes the region writable.
  bus.setReadOnly(isaBios, false);
  bus.write16(0xe0010, 0xbeef);
  assert.equal(bus.read16(0xe0010), 0xbeef);
  assert.throws(() => bus.setReadOnly(bus.ram, true), /primary RAM/);
  bus.writeBytes(0xfffffff0, Uint8Array.of(1, 2));
  assert.deepEqual([...bus.readBytes(0xfffffff0, 3)], [1, 2, 0xe0]);
});

test("unassigned addresses: all ones and dropped writes on an open bus, BusError otherwise", () => {
  const open = pcLike("all-ones").bus;
  assert.equal(open.read8(0x7fff0000), 0xff);
  assert.equal(open.read16(0x7fff0000), 0xffff);
  assert.equal(open.read32(0x7fff0000), 0xffffffff);
  assert.equal(open.read64(0x7fff0000), 0xffffffff);
  assert.equal(open.hi, 0xffffffff);
  open.write32(0x7fff0000, 1);
  const strict = pcLike("bus-error").bus;
  assert.throws(() => strict.read32(0x7fff0000), BusError);
  assert.throws(() => strict.write8(0x7fff0000, 1), BusError);
  assert.throws(() => strict.readBytes(0x9f000, 0x2000), BusError, "readBytes does not read MMIO");
});

test("accesses that straddle regions go byte by byte; MMIO sees its own bytes", () => {
  const { bus, low, vgaWrites } = pcLike("all-ones");
  low.bytes.set([0x11, 0x22], 0x9fffe);
  // Two bytes of RAM, then two bytes of the VGA window (its read handler returns 0x40 + offset).
  assert.equal(bus.read32(0x9fffe), 0x41402211);
  bus.write32(0x9fffe, 0xddccbbaa);
  assert.deepEqual([...low.bytes.subarray(0x9fffe, 0xa0000)], [0xaa, 0xbb]);
  assert.deepEqual(vgaWrites, [[0, 1, 0xcc], [1, 1, 0xdd]]);
  // RAM followed by a hole: the hole reads as ones.
  const { bus: b2 } = pcLike("all-ones");
  assert.equal(b2.read16(MiB + 7 * MiB - 1), 0xff00);
  // Strict bus: a write that would fault anywhere writes nothing.
  const { bus: b3, ram } = pcLike("bus-error");
  assert.throws(() => b3.write32(8 * MiB - 2, 0xffffffff), BusError);
  assert.equal(ram.view.getUint16(7 * MiB - 2, true), 0);
  // readBytes/writeBytes across two adjacent RAM regions.
  const two = new AddressSpace(new Ram(0x10000, 0x10000));
  two.addRam(new Ram(0x20000, 0x10000, { name: "next" }));
  two.writeBytes(0x1fffe, Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual([...two.readBytes(0x1fffe, 4)], [1, 2, 3, 4]);
  assert.equal(two.read32(0x1fffe), 0x04030201);
  assert.equal(two.isMemory(0x1fffe, 4), true);
  assert.equal(two.isMemory(0x2fffe, 4), false);
});

test("regions may not overlap; MMIO may be unmapped and mapped elsewhere", () => {
  const { bus } = pcLike();
  assert.throws(() => bus.map("x", 0xdf000, 0x2000, { read: () => 0, write: () => {} }), /MMIO region x overlaps isa-bios/);
  assert.throws(() => bus.addRam(new Ram(0x9f000, 0x1000, { name: "y" })), /RAM region y overlaps ram-low/);
  assert.throws(() => bus.addRam(new Ram(0x40000000, 0x1000)), /named ram is already mapped/);
  bus.unmap("vga");
  assert.equal(bus.read8(0xa0000), 0xff);
  bus.map("vga", 0xa0000, 0x1000, { read: () => 7, write: () => {} });
  assert.equal(bus.read8(0xa0000), 7);
  assert.equal(bus.regionAt(0xa0000)?.name, "vga");
});

test("code-page writes in any region reach the address space's onCodeWrite with the global page", () => {
  const { bus, low, bios } = pcLike();
  const dropped: number[] = [];
  bus.onCodeWrite = (p) => dropped.push(p);
  low.codePages[2] = 1;
  bus.write8(0x2004, 1);
  bios.codePages[0] = 1;
  bios.load(0, Uint8Array.of(1)); // the loader rewrites ROM code
  assert.deepEqual(dropped, [low.pageBase + 2, bios.pageBase]);
});

class Counter implements Stateful {
  readonly stateName = "counter";
  readonly stateVersion = 1;
  n = 0;
  saveState(): StateFields {
    return { n: this.n };
  }
  loadState(f: StateFields): void {
    this.n = f.n as number;
  }
}

test("checkpoints page every RAM and ROM region and restore each exactly", () => {
  const a = new Ram(0x40000000, 8 * PAGE_SIZE);
  const b = new Ram(0, 4 * PAGE_SIZE, { name: "low" });
  const rom = new Ram(0xffff0000, 2 * PAGE_SIZE, { name: "bios", readOnly: true });
  const bus = new AddressSpace(a);
  bus.addRam(b);
  bus.addRam(rom);
  rom.load(0, Uint8Array.of(0xea));
  const counter = new Counter();
  const store = new CheckpointStore([a, b, rom], [counter], 1 << 30);
  bus.write32(0x40000000 + PAGE_SIZE, 1);
  bus.write32(2 * PAGE_SIZE, 2);
  const first = store.capture(0, 0, 0);
  assert.equal(first.pages.size, 3, "the first checkpoint holds every non-zero page of every region");
  const snapshot = () => [Buffer.from(a.bytes).toString("hex"), Buffer.from(b.bytes).toString("hex"), Buffer.from(rom.bytes).toString("hex"), counter.n].join();
  const at0 = snapshot();
  bus.write32(3 * PAGE_SIZE + 4, 3);
  bus.write32(0x40000000 + 7 * PAGE_SIZE, 4);
  counter.n = 1;
  const second = store.capture(10, 10, 0);
  assert.equal(second.pages.size, 2, "only the pages written since");
  const at10 = snapshot();
  bus.write32(4, 5);
  rom.load(4, Uint8Array.of(9));
  store.restore(first);
  assert.equal(snapshot(), at0);
  store.restore(second);
  assert.equal(snapshot(), at10);
});

test("each checkpoint knows the pages written and the flags noted since the one before, through inserts, thinning and restores", () => {
  const ram = new Ram(0x40000000, 16 * PAGE_SIZE);
  const bus = new AddressSpace(ram);
  const counter = new Counter();
  const flags = new IntervalFlags();
  const store = new CheckpointStore([ram], [counter], 1 << 30, flags);
  const write = (page: number) => bus.write32(0x40000000 + page * PAGE_SIZE, page + 1);
  const between = (from: Checkpoint, to: { icount: number; ticks: number }, current = false) => {
    const w = store.writtenBetween(from, to, current);
    return { pages: [...w.pages].sort((x, y) => x - y), flags: w.flags };
  };
  flags.note(8); // before the first checkpoint: taken by it
  const a = store.capture(0, 0, 0);
  assert.equal(a.flags, 8);
  write(1);
  flags.note(1);
  const c = store.capture(100, 100, 0);
  write(2);
  flags.note(2);
  // Now at 150: what was written since c, and since a.
  assert.deepEqual(between(c, { icount: 150, ticks: 150 }, true), { pages: [2], flags: 2 });
  assert.deepEqual(between(a, c), { pages: [1], flags: 1 });
  // Back to a and forward to 50: a checkpoint inserted between a and c holds what was written since a; c still
  // covers [b, c).
  store.restore(a);
  assert.equal(flags.peek(), 0, "a restore starts the flags afresh");
  write(3);
  flags.note(4);
  const b = store.capture(50, 50, 0);
  assert.deepEqual(between(a, b), { pages: [3], flags: 4 });
  assert.deepEqual(between(b, c), { pages: [1], flags: 1 });
  assert.deepEqual(between(a, c), { pages: [1, 3], flags: 5 });
  assert.equal(store.pageOf(0x40000000 + 3 * PAGE_SIZE + 17), 3);
  assert.equal(store.pageOf(0x3fffffff), undefined);
  // Thinning hands b's pages and flags to c.
  const tight = new CheckpointStore([ram], [counter], 0, flags);
  const t0 = tight.capture(0, 0, 0);
  write(4);
  flags.note(16);
  tight.capture(10, 10, 0);
  write(5);
  const t2 = tight.capture(20, 20, 0);
  write(6);
  const t3 = tight.capture(30, 30, 0);
  tight.thin(30, 1);
  assert.ok(tight.checkpoints.length < 4);
  const w = tight.writtenBetween(t0, t3, false);
  assert.ok(w.pages.has(4) && w.pages.has(5) && w.pages.has(6) && (w.flags & 16) !== 0);
  assert.ok(tight.checkpoints.includes(t0) && tight.checkpoints.includes(t3));
  void t2;
});

test("detail digests name every RAM region by name and address", () => {
  const a = new Ram(0x40000000, 32 * MiB);
  const rom = new Ram(0xfffc0000, 0x40000, { name: "bios", readOnly: true });
  const clock = new VirtualClock(0);
  const m: Machine = {
    clock,
    stateParts: [clock, a, rom],
    run: () => "limit",
    requestStop: () => {},
    pc: () => 0n,
  };
  const keys = [...machineDetailDigests(m).keys()].filter((k) => k.includes("@"));
  assert.deepEqual(keys, ["ram@0x40000000", "ram@0x41000000", "bios@0xfffc0000"]);
});

// The port I/O space (x86 IN/OUT): 8/16/32-bit accesses, all ones from unmapped ports, dropped writes, accesses
// that cover several devices, and remapping.

import { test } from "node:test";
import assert from "node:assert/strict";
import { PORT_COUNT, PortSpace, type PortHandler } from "../../src/core/ports.js";

/** A device of `size` ports that remembers every access and reads back (base offset + 0x10 * size of access). */
function device(log: string[], name: string): PortHandler {
  return {
    read: (off, size) => {
      log.push(`${name} in${size * 8} ${off}`);
      return 0xa0 + off + 0x1000 * size;
    },
    write: (off, size, v) => void log.push(`${name} out${size * 8} ${off}=0x${v.toString(16)}`),
  };
}

test("mapped ports reach their device with offsets relative to the range; values are masked to the size", () => {
  const log: string[] = [];
  const io = new PortSpace();
  io.map("pic", 0x20, 2, device(log, "pic"));
  io.map("debugcon", 0x402, 1, device(log, "dbg"));
  io.map("fw_cfg", 0x510, 12, device(log, "fw"));
  assert.equal(io.read(0x21, 1), 0xa1 & 0xff);
  assert.equal(io.read(0x510, 2), (0xa0 + 0x2000) & 0xffff);
  assert.equal(io.read(0x514, 4), 0xa4 + 0x4000);
  io.write(0x402, 1, 0x141);
  io.write(0x510, 2, 0x12345);
  io.write(0x518, 4, -1);
  assert.deepEqual(log, ["pic in8 1", "fw in16 0", "fw in32 4", "dbg out8 0=0x41", "fw out16 0=0x2345", "fw out32 8=0xffffffff"]);
  assert.equal(io.rangeAt(0x515)?.name, "fw_cfg");
  assert.equal(io.rangeAt(0x51c), undefined);
});

test("unmapped ports read as all ones and drop writes, as on a PC", () => {
  const io = new PortSpace();
  assert.equal(io.read(0x80, 1), 0xff);
  assert.equal(io.read(0x80, 2), 0xffff);
  assert.equal(io.read(0xcf8, 4), 0xffffffff);
  assert.equal(io.read(0xffff, 2), 0xffff, "past the last port is unmapped too");
  io.write(0x80, 1, 0x12); // nothing to see, nothing thrown
  assert.throws(() => io.read(0x80, 3), RangeError);
});

test("an access over several ranges (or a range and a gap) goes port by port", () => {
  const log: string[] = [];
  const io = new PortSpace();
  io.map("a", 0x60, 1, device(log, "a"));
  io.map("b", 0x61, 1, device(log, "b"));
  assert.equal(io.read(0x60, 2), ((0xa0 + 0x1000 * 1) & 0xff) | (0xa0 << 8));
  assert.equal(io.read(0x61, 4), 0xffffffa0);
  io.write(0x5f, 4, 0x44332211);
  assert.deepEqual(log, ["a in8 0", "b in8 0", "b in8 0", "a out8 0=0x22", "b out8 0=0x33"]);
});

test("ranges may not overlap or leave the 64 KiB space; unmap frees ports for a new mapping", () => {
  const io = new PortSpace();
  const h: PortHandler = { read: () => 0x55, write: () => {} };
  io.map("bar0", 0xc000, 0x40, h);
  assert.throws(() => io.map("other", 0xc03f, 2, h), /overlaps bar0 at port 0xc03f/);
  assert.throws(() => io.map("big", PORT_COUNT - 1, 2, h), /outside the 64 KiB port space/);
  assert.throws(() => io.map("bar0", 0x100, 1, h), /already mapped/);
  io.unmap("bar0");
  assert.equal(io.read(0xc000, 1), 0xff);
  io.map("bar0", 0xd000, 0x40, h);
  assert.equal(io.read(0xd010, 1), 0x55);
  assert.deepEqual(io.mapped.map((r) => r.name), ["bar0"]);
});

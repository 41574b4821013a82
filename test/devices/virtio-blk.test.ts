// virtio-mmio and virtio-blk against a fake guest driver written here from the virtio 1.x spec (§2.7 split
// rings, §4.2 MMIO, §5.2 block): descriptor chains, indirect tables, index wrap-around, EVENT_IDX, the legacy
// layout QEMU's virt uses by default, state save/restore of the write overlay, and malformed rings that must
// stop the device (NEEDS_RESET) rather than throw.

import { test } from "node:test";
import assert from "node:assert/strict";
import { IrqLine } from "../../src/core/irq.js";
import { AddressSpace, Ram } from "../../src/core/memory.js";
import { VirtioMmio } from "../../src/devices/virtio/mmio.js";
import { guessGeometry, VirtioBlk } from "../../src/devices/virtio/blk.js";
import { RecordingController, savedThroughBytes } from "./helpers.js";

const RAM_BASE = 0x4000_0000;
const IRQ = 47;
// Registers (virtio 1.x §4.2.2).
const MAGIC = 0x00, VERSION = 0x04, DEVICE_ID = 0x08, VENDOR = 0x0c, DEV_FEAT = 0x10, DEV_FEAT_SEL = 0x14;
const DRV_FEAT = 0x20, DRV_FEAT_SEL = 0x24, PAGE_SIZE = 0x28, Q_SEL = 0x30, Q_NUM_MAX = 0x34, Q_NUM = 0x38;
const Q_ALIGN = 0x3c, Q_PFN = 0x40, Q_READY = 0x44, Q_NOTIFY = 0x50, ISR = 0x60, ISR_ACK = 0x64, STATUS = 0x70;
const Q_DESC = 0x80, Q_DRIVER = 0x90, Q_DEVICE = 0xa0, CONFIG = 0x100;
const S_ACK = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8, S_NEEDS_RESET = 0x40;
const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_UNKNOWN = 99;

/** The disk: sector s holds bytes (s * 7 + i) & 0xff. */
function disk(sectors: number) {
  const bytes = new Uint8Array(sectors * 512);
  for (let i = 0; i < bytes.length; i++) bytes[i] = ((i >> 9) * 7 + i) & 0xff;
  return { size: bytes.length, read: (off: number, len: number) => bytes.slice(off, off + len), bytes };
}

interface Buf {
  addr: number;
  len: number;
  write?: boolean;
}

/** A guest driver: RAM, a transport, one queue at fixed addresses, buffers allocated from a bump pointer. */
function setup(opts: { legacy?: boolean; readOnly?: boolean; qsize?: number; features?: number[]; sectors?: number } = {}) {
  const ram = new Ram(RAM_BASE, 1 << 20);
  const bus = new AddressSpace(ram);
  const gic = new RecordingController();
  const backing = disk(opts.sectors ?? 64);
  const blk = new VirtioBlk(backing, opts.readOnly ?? false);
  const legacy = opts.legacy ?? false;
  const t = new VirtioMmio(bus, new IrqLine(gic, IRQ), blk, "virtio-mmio@a003e00", legacy);
  const r = (off: number) => t.read(off, 4) >>> 0;
  const w = (off: number, v: number) => t.write(off, 4, v >>> 0);
  const n = opts.qsize ?? 8;
  const desc = RAM_BASE + 0x1000;
  let avail = desc + 16 * n;
  let used = RAM_BASE + 0x3000;
  let availIdx = 0;
  let usedSeen = 0;
  let freeDesc = 0;
  let heap = RAM_BASE + 0x10000;
  const alloc = (len: number) => {
    const a = heap;
    heap += (len + 15) & ~15;
    return a;
  };

  const init = (features = opts.features ?? [28, 29]) => {
    w(STATUS, 0);
    w(STATUS, S_ACK | S_DRIVER);
    let lo = 0, hi = 0;
    for (const b of features) if (b < 32) lo |= 1 << b; else hi |= 1 << (b - 32);
    w(DRV_FEAT_SEL, 0);
    w(DRV_FEAT, lo >>> 0);
    w(DRV_FEAT_SEL, 1);
    w(DRV_FEAT, hi >>> 0);
    w(Q_SEL, 0);
    assert.equal(r(Q_NUM_MAX), 1024);
    w(Q_NUM, n);
    if (legacy) {
      w(PAGE_SIZE, 4096);
      w(Q_ALIGN, 4096);
      w(Q_PFN, desc / 4096);
      used = Math.ceil((avail + 6 + 2 * n) / 4096) * 4096;
      w(STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
    } else {
      w(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
      w(Q_DESC, desc);
      w(Q_DESC + 4, 0);
      w(Q_DRIVER, avail);
      w(Q_DRIVER + 4, 0);
      w(Q_DEVICE, used);
      w(Q_DEVICE + 4, 0);
      w(Q_READY, 1);
      w(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    }
    availIdx = usedSeen = freeDesc = 0;
  };

  const writeDesc = (table: number, i: number, b: Buf, next: number | undefined, extra = 0) => {
    const d = table + 16 * i;
    bus.write32(d, b.addr >>> 0);
    bus.write32(d + 4, Math.floor(b.addr / 2 ** 32));
    bus.write32(d + 8, b.len);
    bus.write16(d + 12, (b.write ? F_WRITE : 0) | (next !== undefined ? F_NEXT : 0) | extra);
    bus.write16(d + 14, next ?? 0);
  };

  /** Puts a chain on the ring (direct or as an indirect table) and kicks the queue. */
  const submit = (bufs: Buf[], how: "direct" | "indirect" = "direct", kick = true) => {
    let head: number;
    if (how === "direct") {
      const ids = bufs.map(() => freeDesc++ % n);
      bufs.forEach((b, k) => writeDesc(desc, ids[k]!, b, k + 1 < bufs.length ? ids[k + 1] : undefined));
      head = ids[0]!;
    } else {
      const table = alloc(16 * bufs.length);
      bufs.forEach((b, k) => writeDesc(table, k, b, k + 1 < bufs.length ? k + 1 : undefined));
      head = freeDesc++ % n;
      writeDesc(desc, head, { addr: table, len: 16 * bufs.length }, undefined, F_INDIRECT);
    }
    bus.write16(avail + 4 + 2 * (availIdx % n), head);
    availIdx = (availIdx + 1) & 0xffff;
    bus.write16(avail + 2, availIdx);
    if (kick) w(Q_NOTIFY, 0);
    return head;
  };

  /** Used entries the device added since the last call. */
  const reap = () => {
    const out: { id: number; len: number }[] = [];
    const idx = bus.read16(used + 2);
    while (usedSeen !== idx) {
      const e = used + 4 + 8 * (usedSeen % n);
      out.push({ id: bus.read32(e), len: bus.read32(e + 4) });
      usedSeen = (usedSeen + 1) & 0xffff;
    }
    return out;
  };

  const header = (type: number, sector: number) => {
    const a = alloc(16);
    bus.write32(a, type);
    bus.write32(a + 4, 0);
    bus.write32(a + 8, sector >>> 0);
    bus.write32(a + 12, Math.floor(sector / 2 ** 32));
    return { addr: a, len: 16 };
  };
  const status = () => ({ addr: alloc(1), len: 1, write: true });

  /** One block request; returns the status byte, the data buffer and the used entry. */
  const request = (type: number, sector: number, data: Buf | undefined, how: "direct" | "indirect" = "direct") => {
    const st = status();
    bus.write8(st.addr, 0xee);
    const head = submit([header(type, sector), ...(data ? [data] : []), st], how);
    const done = reap();
    assert.equal(done.length, 1, "one request completed");
    assert.equal(done[0]!.id, head);
    return { status: bus.read8(st.addr), used: done[0]! };
  };
  const dataIn = (len: number) => ({ addr: alloc(len), len, write: true });
  const dataOut = (bytes: Uint8Array) => {
    const a = alloc(bytes.length);
    bus.writeBytes(a, bytes);
    return { addr: a, len: bytes.length };
  };
  const read = (sector: number, count: number, how: "direct" | "indirect" = "direct") => {
    const d = dataIn(count * 512);
    const res = request(T_IN, sector, d, how);
    return { ...res, bytes: bus.readBytes(d.addr, d.len) };
  };
  return { t, blk, bus, gic, backing, r, w, init, submit, reap, request, read, dataIn, dataOut, header, status, writeDesc, desc,
    get avail() { return avail; }, get used() { return used; }, set avail(v: number) { avail = v; } };
}

test("an empty transport answers magic, version and vendor, and DeviceID 0", () => {
  const ram = new Ram(RAM_BASE, 1 << 16);
  const t = new VirtioMmio(new AddressSpace(ram), new IrqLine(new RecordingController(), IRQ), undefined, "virtio-mmio@a000000");
  assert.equal(t.read(MAGIC, 4), 0x74726976);
  assert.equal(t.read(VERSION, 4), 1);
  assert.equal(t.read(VENDOR, 4), 0x554d4551);
  assert.equal(t.read(DEVICE_ID, 4), 0);
  assert.equal(t.read(Q_NUM_MAX, 4), 0);
  t.write(STATUS, 4, 7); // ignored
  assert.equal(t.read(STATUS, 4), 0);
});

test("modern transport: features, FEATURES_OK needs VERSION_1, config space", () => {
  const g = setup();
  assert.equal(g.r(VERSION), 2);
  assert.equal(g.r(DEVICE_ID), 2);
  g.w(DEV_FEAT_SEL, 1);
  assert.equal(g.r(DEV_FEAT) & 1, 1, "VERSION_1 offered");
  g.w(DEV_FEAT_SEL, 0);
  const lo = g.r(DEV_FEAT);
  for (const bit of [2, 6, 9, 28, 29]) assert.ok(lo & (1 << bit), `feature ${bit} offered`);
  assert.equal(lo & (1 << 5), 0, "not read-only");
  // Without VERSION_1 the device refuses FEATURES_OK.
  g.w(STATUS, 0);
  g.w(STATUS, S_ACK | S_DRIVER);
  g.w(DRV_FEAT_SEL, 0);
  g.w(DRV_FEAT, lo);
  g.w(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
  assert.equal(g.r(STATUS) & S_FEATURES_OK, 0);
  g.init([32]);
  assert.ok(g.r(STATUS) & S_FEATURES_OK);
  // capacity (sectors), seg_max, blk_size
  assert.equal(g.t.read(CONFIG, 4), 64);
  assert.equal(g.t.read(CONFIG + 4, 4), 0);
  assert.equal(g.t.read(CONFIG + 12, 4), 254);
  assert.equal(g.t.read(CONFIG + 20, 4), 512);
  assert.equal(g.t.read(CONFIG, 1), 64);
});

test("reads: a direct chain and an indirect one return the disk's sectors; the interrupt is raised and acked", () => {
  const g = setup();
  g.init([32, 28]);
  const a = g.read(3, 2);
  assert.equal(a.status, 0);
  assert.equal(a.used.len, 2 * 512 + 1);
  assert.deepEqual(a.bytes, g.backing.bytes.slice(3 * 512, 5 * 512));
  assert.equal(g.gic.level(IRQ), true);
  assert.equal(g.r(ISR), 1);
  g.w(ISR_ACK, 1);
  assert.equal(g.gic.level(IRQ), false);
  const b = g.read(10, 4, "indirect");
  assert.equal(b.status, 0);
  assert.deepEqual(b.bytes, g.backing.bytes.slice(10 * 512, 14 * 512));
  // The data may be split across any number of descriptors (ANY_LAYOUT).
  const d1 = g.dataIn(100), d2 = g.dataIn(412), st = g.status();
  g.submit([g.header(T_IN, 1), d1, d2, st]);
  assert.equal(g.reap().length, 1);
  assert.equal(g.bus.read8(st.addr), 0);
  assert.deepEqual(new Uint8Array([...g.bus.readBytes(d1.addr, 100), ...g.bus.readBytes(d2.addr, 412)]), g.backing.bytes.slice(512, 1024));
});

test("writes land in the overlay, never in the backing; flush, get-id, unsupported and out-of-range requests", () => {
  const g = setup();
  g.init([32]);
  const before = g.backing.bytes.slice();
  const data = new Uint8Array(1024).fill(0xab);
  assert.equal(g.request(T_OUT, 5, g.dataOut(data)).status, 0);
  assert.deepEqual(g.read(5, 2).bytes, data);
  assert.deepEqual(g.read(4, 1).bytes, before.slice(4 * 512, 5 * 512));
  assert.deepEqual(g.backing.bytes, before, "the image is untouched");
  assert.equal(g.blk.dirtySectors, 2);
  assert.equal(g.request(T_FLUSH, 0, undefined).status, 0);
  const id = g.dataIn(20);
  assert.equal(g.request(T_GET_ID, 0, id).status, 0);
  assert.equal(g.request(T_UNKNOWN, 0, undefined).status, 2);
  assert.equal(g.read(63, 2).status, 1, "past the end");
  assert.equal(g.request(T_IN, 0, g.dataIn(100)).status, 1, "not whole sectors");
  assert.equal(g.t.broken, false);
});

test("the overlay is device state: restoring an earlier save brings the old sector contents back", () => {
  const g = setup();
  g.init([32]);
  const first = new Uint8Array(512).fill(1);
  g.request(T_OUT, 7, g.dataOut(first));
  const saved = savedThroughBytes(g.t);
  g.request(T_OUT, 7, g.dataOut(new Uint8Array(512).fill(2)));
  g.request(T_OUT, 9, g.dataOut(new Uint8Array(512).fill(3)));
  assert.equal(g.blk.dirtySectors, 2);
  g.t.loadState(saved, 1);
  assert.equal(g.blk.dirtySectors, 1);
  assert.deepEqual(g.blk.readSectors(7, 1), first);
  assert.deepEqual(g.blk.readSectors(9, 1), g.backing.bytes.slice(9 * 512, 10 * 512));
  // A damaged state is refused whole.
  assert.throws(() => g.t.loadState({ ...saved, device: { ...(saved.device as object), overlaySectors: [99] } }, 1), /overlay/);
});

test("commitOverlay writes the written sectors into an image in runs and empties the overlay", () => {
  const g = setup();
  g.init([32]);
  g.request(T_OUT, 2, g.dataOut(new Uint8Array(1024).fill(5)));
  g.request(T_OUT, 20, g.dataOut(new Uint8Array(512).fill(6)));
  const writes: [number, number][] = [];
  let flushed = 0;
  assert.equal(g.blk.commitOverlay({ write: (off, d) => void writes.push([off, d.length]), flush: () => void flushed++ }), 3);
  assert.deepEqual(writes, [[1024, 1024], [20 * 512, 512]]);
  assert.equal(flushed, 1);
  assert.equal(g.blk.dirtySectors, 0);
});

test("ring indices wrap around 2^16 (and the queue size) without losing a request", () => {
  const g = setup({ qsize: 4, features: [32, 28] });
  g.init();
  const id = g.dataIn(20);
  const hdr = g.header(T_GET_ID, 0);
  const st = g.status();
  for (let i = 0; i < 65_536 + 10; i++) {
    g.submit([hdr, id, st]);
    const done = g.reap();
    assert.equal(done.length, 1);
    if (i % 4096 === 0) g.w(ISR_ACK, 1);
  }
  assert.equal(g.bus.read16(g.used + 2), 10);
  // Several chains made available before one kick are all completed (indirect: one descriptor each).
  for (let i = 0; i < 3; i++) g.submit([g.header(T_GET_ID, 0), id, g.status()], "indirect", false);
  g.w(Q_NOTIFY, 0);
  assert.equal(g.reap().length, 3);
});

test("EVENT_IDX: the device interrupts only when the used index passes used_event, and publishes avail_event", () => {
  const g = setup({ features: [32, 29] });
  g.init();
  const usedEvent = g.avail + 4 + 2 * 8;
  g.bus.write16(usedEvent, 2); // interrupt me once entry 2 is used
  const id = g.dataIn(20);
  const one = () => {
    g.submit([g.header(T_GET_ID, 0), id, g.status()]);
    g.reap();
    const level = g.gic.level(IRQ);
    g.w(ISR_ACK, 1);
    return level;
  };
  assert.equal(one(), true, "the first completion always interrupts");
  assert.equal(one(), false);
  assert.equal(one(), true, "used index went 2 -> 3, past used_event 2");
  assert.equal(one(), false);
  assert.equal(g.bus.read16(g.used + 4 + 8 * 8), 4, "avail_event follows the device's position");
  // Without EVENT_IDX, NO_INTERRUPT in avail.flags suppresses interrupts.
  const h = setup({ features: [32] });
  h.init();
  h.bus.write16(h.avail, 1);
  h.submit([h.header(T_GET_ID, 0), h.dataIn(20), h.status()]);
  assert.equal(h.reap().length, 1);
  assert.equal(h.gic.level(IRQ), false);
});

test("the legacy layout (QEMU virt's default): PFN, page size and alignment place the rings", () => {
  const g = setup({ legacy: true, features: [28] });
  assert.equal(g.r(VERSION), 1);
  g.w(DEV_FEAT_SEL, 1);
  assert.equal(g.r(DEV_FEAT), 0, "no VERSION_1 on a legacy transport");
  g.init();
  assert.equal(g.r(Q_PFN), (RAM_BASE + 0x1000) / 4096);
  const a = g.read(6, 3);
  assert.equal(a.status, 0);
  assert.deepEqual(a.bytes, g.backing.bytes.slice(6 * 512, 9 * 512));
  assert.equal(g.read(1, 1, "indirect").status, 0);
  g.w(STATUS, 0);
  assert.equal(g.r(Q_PFN), 0, "reset forgets the queue");
});

test("read-only disks offer VIRTIO_BLK_F_RO and fail writes with IOERR", () => {
  const g = setup({ readOnly: true });
  assert.ok(g.r(DEV_FEAT) & (1 << 5));
  g.init([32]);
  assert.equal(g.request(T_OUT, 0, g.dataOut(new Uint8Array(512))).status, 1);
  assert.equal(g.blk.dirtySectors, 0);
});

test("malformed rings stop the device with NEEDS_RESET instead of throwing; a reset brings it back", () => {
  const cases: [string, (g: ReturnType<typeof setup>) => void][] = [
    ["a descriptor loop", (g) => {
      g.writeDesc(g.desc, 0, { addr: RAM_BASE + 0x20000, len: 16 }, 0);
      g.bus.write16(g.avail + 4, 0);
      g.bus.write16(g.avail + 2, 1);
      g.w(Q_NOTIFY, 0);
    }],
    ["a buffer outside RAM", (g) => g.submit([{ addr: 0x0900_0000, len: 16 }, g.status()])],
    ["a head index past the table", (g) => {
      g.bus.write16(g.avail + 4, 200);
      g.bus.write16(g.avail + 2, 1);
      g.w(Q_NOTIFY, 0);
    }],
    ["a nested indirect table", (g) => {
      const table = RAM_BASE + 0x30000;
      g.writeDesc(table, 0, { addr: RAM_BASE + 0x31000, len: 16 }, undefined, F_INDIRECT);
      g.writeDesc(g.desc, 0, { addr: table, len: 16 }, undefined, F_INDIRECT);
      g.bus.write16(g.avail + 4, 0);
      g.bus.write16(g.avail + 2, 1);
      g.w(Q_NOTIFY, 0);
    }],
    ["an indirect table of a bad size", (g) => {
      g.writeDesc(g.desc, 0, { addr: RAM_BASE + 0x30000, len: 15 }, undefined, F_INDIRECT);
      g.bus.write16(g.avail + 4, 0);
      g.bus.write16(g.avail + 2, 1);
      g.w(Q_NOTIFY, 0);
    }],
    ["a request without a status byte", (g) => g.submit([g.header(T_IN, 0)])],
    ["an available index far ahead", (g) => {
      g.bus.write16(g.avail + 2, 100);
      g.w(Q_NOTIFY, 0);
    }],
    ["rings outside RAM", (g) => {
      g.w(Q_DRIVER, 0x0800_0000);
      g.w(Q_NOTIFY, 0);
    }],
  ];
  for (const [what, breakIt] of cases) {
    const g = setup({ features: [32, 28] });
    g.init();
    assert.doesNotThrow(() => breakIt(g), what);
    assert.equal(g.t.broken, true, what);
    assert.ok(g.r(STATUS) & S_NEEDS_RESET, what);
    assert.equal(g.r(ISR) & 2, 2, `${what}: config interrupt`);
    g.init();
    assert.equal(g.t.broken, false);
    assert.equal(g.read(0, 1).status, 0, `${what}: works after reset`);
  }
});

const T_DISCARD = 11, T_WRITE_ZEROES = 13;

test("QEMU 7.2's feature set and config space: geometry, discard and write-zeroes limits", () => {
  const g = setup({ sectors: 64 });
  g.w(DEV_FEAT_SEL, 0);
  const lo = g.r(DEV_FEAT);
  // seg_max, geometry, blk_size, flush, topology, config-wce, discard, write-zeroes (as QEMU's virtio-blk-device)
  for (const bit of [2, 4, 6, 9, 10, 11, 13, 14]) assert.ok(lo & (1 << bit), `feature ${bit} offered`);
  g.init([32]);
  const cfg = (off: number, size: number) => g.t.read(CONFIG + off, size) >>> 0;
  assert.deepEqual([cfg(16, 2), cfg(18, 1), cfg(19, 1)], [2, 16, 63], "a 64-sector disk: at least 2 cylinders");
  assert.equal(cfg(36, 4), 0x3fffff, "max_discard_sectors");
  assert.equal(cfg(40, 4), 1, "max_discard_seg");
  assert.equal(cfg(44, 4), 1, "discard_sector_alignment");
  assert.equal(cfg(48, 4), 0x3fffff, "max_write_zeroes_sectors");
  assert.equal(cfg(52, 4), 1, "max_write_zeroes_seg");
  assert.equal(cfg(56, 1), 1, "write_zeroes_may_unmap");
});

test("geometry: QEMU's guess from an MS-DOS partition table, else 16 heads x 63 sectors by size", () => {
  const mbr = (endHead: number, endSector: number, sectors: number) => {
    const b = new Uint8Array(512);
    b[510] = 0x55;
    b[511] = 0xaa;
    b[0x1be + 5] = endHead;
    b[0x1be + 6] = endSector;
    new DataView(b.buffer).setUint32(0x1be + 12, sectors, true);
    return b;
  };
  assert.deepEqual(guessGeometry(2097152, new Uint8Array(512)), { cylinders: 2080, heads: 16, sectors: 63 });
  assert.deepEqual(guessGeometry(1 << 30, new Uint8Array(512)), { cylinders: 16383, heads: 16, sectors: 63 });
  assert.deepEqual(guessGeometry(2097152, mbr(15, 63, 2000000)), { cylinders: 2080, heads: 16, sectors: 63 });
  // 2097152 / (4 * 32) = 16384 cylinders, more than 16383: the entry is skipped and the size decides.
  assert.deepEqual(guessGeometry(2097152, mbr(3, 32, 2000000)), { cylinders: 2080, heads: 16, sectors: 63 });
  assert.deepEqual(guessGeometry(204800, mbr(3, 32, 200000)), { cylinders: 1600, heads: 4, sectors: 32 });
  assert.deepEqual(guessGeometry(2097152, mbr(254, 63, 2000000)), { cylinders: 2080, heads: 16, sectors: 63 }, "more than 16 heads: LBA translation");
});

/** A discard or write-zeroes request: header, one 16-byte segment, status. */
function zeroRequest(g: ReturnType<typeof setup>, type: number, sector: number, count: number, flags = 0, segments = 1) {
  const seg = new Uint8Array(16 * segments);
  const v = new DataView(seg.buffer);
  for (let i = 0; i < segments; i++) {
    v.setUint32(16 * i, sector, true);
    v.setUint32(16 * i + 8, count, true);
    v.setUint32(16 * i + 12, flags, true);
  }
  const st = g.status();
  g.submit([g.header(type | 0, 0), g.dataOut(seg), st]);
  assert.equal(g.reap().length, 1);
  return g.bus.read8(st.addr);
}

test("discard keeps the data (discard=ignore); write-zeroes zeroes sectors in the overlay, saved as runs", () => {
  const g = setup({ sectors: 64 });
  g.init([32, 13, 14]);
  const before = g.backing.bytes.slice();
  assert.equal(zeroRequest(g, T_DISCARD, 4, 8), 0);
  assert.deepEqual(g.read(4, 8).bytes, before.slice(4 * 512, 12 * 512), "discard: data unchanged");
  assert.equal(g.blk.dirtySectors, 0);
  assert.equal(zeroRequest(g, T_WRITE_ZEROES, 10, 5, 1), 0);
  assert.deepEqual(g.read(10, 5).bytes, new Uint8Array(5 * 512));
  assert.deepEqual(g.read(15, 1).bytes, before.slice(15 * 512, 16 * 512));
  g.request(T_OUT, 12, g.dataOut(new Uint8Array(512).fill(9)));
  const saved = savedThroughBytes(g.t);
  const dev = saved.device as Record<string, unknown>;
  assert.deepEqual(dev.overlaySectors, [12]);
  assert.deepEqual(dev.overlayZeroRuns, [10, 2, 13, 2]);
  assert.equal(zeroRequest(g, T_WRITE_ZEROES, 0, 64), 0);
  g.t.loadState(saved, 1);
  const back = g.blk.readSectors(10, 5);
  assert.deepEqual(back.slice(0, 1024), new Uint8Array(1024));
  assert.deepEqual(back.slice(1024, 1536), new Uint8Array(512).fill(9));
  assert.deepEqual(back.slice(1536), new Uint8Array(1024));
  assert.deepEqual(g.blk.readSectors(0, 1), before.slice(0, 512), "the later write-zeroes is gone");
  assert.deepEqual(g.backing.bytes, before, "the image is untouched");
  // commitOverlay writes zeroed sectors as zeros.
  const image = new Uint8Array(before);
  g.blk.commitOverlay({ write: (off: number, b: Uint8Array) => image.set(b, off), flush: () => {} });
  assert.deepEqual(image.slice(10 * 512, 12 * 512), new Uint8Array(1024));
  assert.deepEqual(image.slice(12 * 512, 13 * 512), new Uint8Array(512).fill(9));
});

test("discard and write-zeroes as QEMU checks them: unknown flags, UNMAP on discard, ranges, segments, read-only", () => {
  const g = setup({ sectors: 64 });
  g.init([32, 13, 14]);
  assert.equal(zeroRequest(g, T_WRITE_ZEROES, 0, 1, 2), 2, "unknown flag: UNSUPP");
  assert.equal(zeroRequest(g, T_DISCARD, 0, 1, 1), 2, "discard with UNMAP: UNSUPP");
  assert.equal(zeroRequest(g, T_DISCARD, 60, 5), 1, "past the end: IOERR");
  assert.equal(zeroRequest(g, T_WRITE_ZEROES, 65, 0), 1, "start past the end: IOERR");
  assert.equal(zeroRequest(g, T_WRITE_ZEROES, 0, 0x400000), 1, "more than max_write_zeroes_sectors: IOERR");
  assert.equal(zeroRequest(g, T_DISCARD, 0, 1, 0, 2), 2, "two segments: UNSUPP");
  assert.equal(g.t.broken, false);
  const ro = setup({ sectors: 64, readOnly: true });
  ro.init([32]);
  assert.equal(zeroRequest(ro, T_WRITE_ZEROES, 0, 1), 1, "read-only: IOERR");
  // A header without its segment stops the device, as QEMU's virtio_error.
  const st = g.status();
  g.submit([g.header(T_DISCARD, 0), g.dataOut(new Uint8Array(8)), st]);
  assert.equal(g.t.broken, true);
});

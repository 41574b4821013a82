// A split virtqueue (virtio 1.x §2.7), as the device side sees it: the driver's descriptor table, available
// ring and used ring live in guest RAM; the device keeps only its own indices. Every guest address is checked to
// be RAM before it is touched (a ring or buffer pointing at a device or a hole is a VirtioError, never a device
// access), chains are bounded (loops, over-long chains and bad indirect tables are errors), and nothing here
// keeps a reference into guest memory between calls.

import type { AddressSpace } from "../../core/memory.js";
import { field, type StateDescription } from "../../core/vmstate.js";

export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** A guest mistake the device cannot act on (virtio_error in QEMU): the device stops and wants a reset. */
export class VirtioError extends Error {
  override name = "VirtioError";
}

/** One guest buffer of a chain. */
export interface Segment {
  addr: number;
  len: number;
}

/** A popped descriptor chain: the buffers the device reads, then those it writes. */
export interface Chain {
  head: number;
  readable: Segment[];
  writable: Segment[];
}

/** The largest queue any device offers (QEMU's VIRTQUEUE_MAX_SIZE). */
export const VIRTQUEUE_MAX_SIZE = 1024;

const LO = 2 ** 32;

export class VirtQueue {
  /** Size (entries) the driver chose; 0 = queue not set up. */
  num = 0;
  /** Modern: QueueReady. Legacy: a non-zero PFN. */
  ready = false;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  /** Legacy layout: the ring alignment and page frame the driver wrote. */
  align = 4096;
  pfn = 0;
  /** The next available-ring entry to take, and the used index the device last wrote (both mod 2^16). */
  lastAvailIdx = 0;
  usedIdx = 0;
  /** EVENT_IDX bookkeeping, as QEMU's signalled_used / signalled_used_valid. */
  signalledUsed = 0;
  signalledValid = false;

  constructor(readonly maxSize: number) {}

  reset(): void {
    this.num = 0;
    this.ready = false;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.align = 4096;
    this.pfn = 0;
    this.lastAvailIdx = this.usedIdx = this.signalledUsed = 0;
    this.signalledValid = false;
  }

  /** Legacy (version 1) layout from PFN, page size, num and align: table, then avail, then used aligned. */
  setLegacyLayout(pageSize: number): void {
    this.descAddr = this.pfn * pageSize;
    this.availAddr = this.descAddr + 16 * this.num;
    const end = this.availAddr + 6 + 2 * this.num;
    const a = this.align > 0 ? this.align : 4096;
    this.usedAddr = Math.ceil(end / a) * a;
    this.ready = this.pfn !== 0 && this.num !== 0;
  }

  /** Whether the ring's memory is RAM (checked when the driver enables it and again on each use). */
  private checkRings(bus: AddressSpace, eventIdx: boolean): void {
    const n = this.num;
    if (n === 0 || (n & (n - 1)) !== 0 || n > this.maxSize) throw new VirtioError(`queue size ${n} is not a power of 2 up to ${this.maxSize}`);
    const extra = eventIdx ? 2 : 0;
    this.ram(bus, this.descAddr, 16 * n, "descriptor table");
    this.ram(bus, this.availAddr, 4 + 2 * n + extra, "available ring");
    this.ram(bus, this.usedAddr, 4 + 8 * n + extra, "used ring");
  }

  private ram(bus: AddressSpace, addr: number, len: number, what: string): void {
    if (!Number.isSafeInteger(addr) || addr < 0 || !bus.isMemory(addr, len))
      throw new VirtioError(`${what} at 0x${addr.toString(16)} (+${len}) is not in RAM`);
  }

  /**
   * Takes the next available chain, or undefined when there is none. Throws VirtioError for a malformed chain
   * (the entry is then consumed; the device stops anyway).
   */
  pop(bus: AddressSpace, opts: { eventIdx: boolean; indirect: boolean }): Chain | undefined {
    if (!this.ready) return undefined;
    this.checkRings(bus, opts.eventIdx);
    const n = this.num;
    const availIdx = bus.read16(this.availAddr + 2);
    const pending = (availIdx - this.lastAvailIdx) & 0xffff;
    if (pending === 0) return undefined;
    if (pending > n) throw new VirtioError(`available index ${availIdx} is ${pending} entries ahead of the device (queue size ${n})`);
    const head = bus.read16(this.availAddr + 4 + 2 * (this.lastAvailIdx % n));
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    // EVENT_IDX: tell the driver which available index it should kick us at next (vring_set_avail_event).
    if (opts.eventIdx) bus.write16(this.usedAddr + 4 + 8 * n, this.lastAvailIdx);
    if (head >= n) throw new VirtioError(`available ring names descriptor ${head} of a ${n}-entry table`);
    return this.walk(bus, head, opts.indirect);
  }

  private walk(bus: AddressSpace, head: number, indirectOk: boolean): Chain {
    const chain: Chain = { head, readable: [], writable: [] };
    let table = this.descAddr;
    let size = this.num;
    let i = head;
    let steps = 0;
    let inIndirect = false;
    for (;;) {
      if (i >= size) throw new VirtioError(`descriptor index ${i} is outside a ${size}-entry table`);
      const d = table + 16 * i;
      const addr = bus.read32(d) + bus.read32(d + 4) * LO;
      const len = bus.read32(d + 8);
      const flags = bus.read16(d + 12);
      const next = bus.read16(d + 14);
      if (++steps > size) throw new VirtioError("descriptor chain loops or is longer than its table");
      if (flags & VRING_DESC_F_INDIRECT) {
        if (!indirectOk) throw new VirtioError("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        if (inIndirect) throw new VirtioError("indirect descriptor inside an indirect table");
        if (flags & VRING_DESC_F_NEXT) throw new VirtioError("indirect descriptor with NEXT set");
        if (chain.readable.length || chain.writable.length) throw new VirtioError("indirect descriptor after direct ones");
        if (len === 0 || len % 16 !== 0) throw new VirtioError(`indirect table of ${len} bytes is not a whole number of descriptors`);
        this.ram(bus, addr, len, "indirect descriptor table");
        table = addr;
        size = len / 16;
        if (size > 0xffff + 1) throw new VirtioError("indirect table too large");
        i = 0;
        steps = 0;
        inIndirect = true;
        continue;
      }
      if (len > 0) this.ram(bus, addr, len, `buffer of descriptor ${i}`);
      if (flags & VRING_DESC_F_WRITE) chain.writable.push({ addr, len });
      else {
        if (chain.writable.length) throw new VirtioError("device-readable descriptor after a device-writable one");
        chain.readable.push({ addr, len });
      }
      if (!(flags & VRING_DESC_F_NEXT)) return chain;
      i = next;
    }
  }

  /** Returns a chain to the driver with `written` bytes written into its buffers. */
  push(bus: AddressSpace, head: number, written: number): void {
    const n = this.num;
    const slot = this.usedAddr + 4 + 8 * (this.usedIdx % n);
    bus.write32(slot, head);
    bus.write32(slot + 4, written >>> 0);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    bus.write16(this.usedAddr + 2, this.usedIdx);
  }

  /** After pushing: whether the driver wants an interrupt (virtio_should_notify without NOTIFY_ON_EMPTY). */
  shouldNotify(bus: AddressSpace, eventIdx: boolean): boolean {
    if (!eventIdx) return (bus.read16(this.availAddr) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
    const valid = this.signalledValid;
    this.signalledValid = true;
    const old = this.signalledUsed;
    const now = (this.signalledUsed = this.usedIdx);
    const event = bus.read16(this.availAddr + 4 + 2 * this.num);
    // vring_need_event: the driver asked to hear about index `event`; did this batch step past it?
    return !valid || ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
  }
}

export const VIRTQUEUE_STATE: StateDescription<VirtQueue> = {
  version: 1,
  fields: [
    field.u32("num", { max: VIRTQUEUE_MAX_SIZE }),
    field.bool("ready"),
    field.int("descAddr"),
    field.int("availAddr"),
    field.int("usedAddr"),
    field.u32("align"),
    field.u32("pfn"),
    field.u16("lastAvailIdx"),
    field.u16("usedIdx"),
    field.u16("signalledUsed"),
    field.bool("signalledValid"),
  ],
};

/** Copies the chain's readable bytes (at most `limit`) into one array. */
export function gather(bus: AddressSpace, segs: readonly Segment[], limit = Infinity): Uint8Array {
  let total = 0;
  for (const s of segs) total += s.len;
  total = Math.min(total, limit);
  const out = new Uint8Array(total);
  let at = 0;
  for (const s of segs) {
    if (at >= total) break;
    const n = Math.min(s.len, total - at);
    out.set(bus.readBytes(s.addr, n), at);
    at += n;
  }
  return out;
}

/** Writes `data` across the writable segments starting `skip` bytes in; returns the bytes written. */
export function scatter(bus: AddressSpace, segs: readonly Segment[], data: Uint8Array, skip = 0): number {
  let at = 0;
  let pos = 0;
  for (const s of segs) {
    if (at >= data.length) break;
    const start = Math.max(0, skip - pos);
    pos += s.len;
    if (start >= s.len) continue;
    const n = Math.min(s.len - start, data.length - at);
    bus.writeBytes(s.addr + start, data.subarray(at, at + n));
    at += n;
  }
  return at;
}

export function totalLength(segs: readonly Segment[]): number {
  let t = 0;
  for (const s of segs) t += s.len;
  return t;
}

// A port I/O space: x86's IN/OUT address space of 64 KiB of 8-, 16- and 32-bit ports.
//
// Devices map port ranges as they map MMIO windows (same handler shape: offsets relative to the range's first
// port). As on a PC, a port where nothing is mapped reads as all ones and drops writes. An access wider than a
// byte whose ports are not all in one range goes to each port byte by byte (little-endian), so a 16-bit read
// over two 8-bit devices reads both. Mappings may change at run time (PCI I/O BARs): they are wiring, not
// state; the device that moves a range restores its mapping with its own state.
//
// Nothing here is architecture-specific: a board with no port I/O simply has no PortSpace.

import type { MmioHandler } from "./memory.js";

/** Number of ports (0..0xffff). */
export const PORT_COUNT = 0x10000;

/** A device's ports. Offsets are relative to the range's first port; size is 1, 2 or 4. */
export type PortHandler = MmioHandler;

export interface PortRange {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly handler: PortHandler;
}

const ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

export class PortSpace {
  private readonly ranges: PortRange[] = [];
  /** Per port: 1 + the index in `ranges` of the range holding it, 0 when unmapped. */
  private readonly owner = new Uint16Array(PORT_COUNT);

  map(name: string, base: number, size: number, handler: PortHandler): void {
    if (!Number.isInteger(base) || !Number.isInteger(size) || size <= 0 || base < 0 || base + size > PORT_COUNT)
      throw new RangeError(`port range ${name} (0x${base.toString(16)}+${size}) is outside the 64 KiB port space`);
    if (this.ranges.some((r) => r.name === name)) throw new Error(`port range ${name} is already mapped`);
    for (let p = base; p < base + size; p++) {
      if (this.owner[p] !== 0) throw new Error(`port range ${name} overlaps ${this.ranges[this.owner[p] - 1].name} at port 0x${p.toString(16)}`);
    }
    this.ranges.push({ name, base, size, handler });
    this.owner.fill(this.ranges.length, base, base + size);
  }

  /** Removes a range (a PCI I/O BAR that moves or is disabled). */
  unmap(name: string): void {
    const i = this.ranges.findIndex((r) => r.name === name);
    if (i < 0) throw new Error(`no port range ${name}`);
    this.ranges.splice(i, 1);
    this.owner.fill(0);
    this.ranges.forEach((r, k) => this.owner.fill(k + 1, r.base, r.base + r.size));
  }

  /** The range holding `port`, if any (diagnostics). */
  rangeAt(port: number): PortRange | undefined {
    const k = port >= 0 && port < PORT_COUNT ? this.owner[port] : 0;
    return k === 0 ? undefined : this.ranges[k - 1];
  }

  get mapped(): readonly PortRange[] {
    return this.ranges;
  }

  /** IN: a 1-, 2- or 4-byte read; the value is masked to the size (unmapped ports read as all ones). */
  read(port: number, size: number): number {
    const r = this.whole(port, size);
    if (r !== undefined) {
      const v = r.handler.read(port - r.base, size);
      return size === 4 ? v >>> 0 : v & ONES[size];
    }
    // Byte by byte: each mapped port from its device, each unmapped one as 0xff.
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read8(port + i) << (8 * i);
    return v >>> 0;
  }

  /** OUT: a 1-, 2- or 4-byte write (writes to unmapped ports are dropped). */
  write(port: number, size: number, value: number): void {
    const r = this.whole(port, size);
    if (r !== undefined) {
      r.handler.write(port - r.base, size, size === 4 ? value >>> 0 : value & ONES[size]);
      return;
    }
    for (let i = 0; i < size; i++) {
      const b = this.rangeAt(port + i);
      if (b !== undefined) b.handler.write(port + i - b.base, 1, (value >>> (8 * i)) & 0xff);
    }
  }

  private read8(port: number): number {
    const r = this.rangeAt(port);
    return r === undefined ? 0xff : r.handler.read(port - r.base, 1) & 0xff;
  }

  /** The range holding every port of the access, if one does. */
  private whole(port: number, size: number): PortRange | undefined {
    if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`port access of ${size} bytes`);
    const r = this.rangeAt(port);
    return r !== undefined && port + size <= r.base + r.size ? r : undefined;
  }
}

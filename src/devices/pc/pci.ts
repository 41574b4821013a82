// A PCI bus with configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2; QEMU 7.2 hw/pci-host/i440fx.c
// and hw/pci/pci.c as the pc board uses them): CONFIG_ADDRESS at 0xCF8 (32-bit accesses only; bit 31 enable,
// bus 23:16, device 15:11, function 10:8, register 7:2), CONFIG_DATA at 0xCFC–0xCFF (byte, word or dword at
// cfc + (register & 3)). Bus 0 only. An absent function reads all ones and ignores writes.
//
// Each function's 256-byte configuration space is data: its reset bytes, a write mask (QEMU's pci_init_wmask:
// command I/O, memory, master, SERR, INTx disable; cache line; interrupt line; all of 0x40–0xff), a
// write-one-to-clear mask (status error bits) and its BARs. BAR sizing works as on hardware: the size bits are
// not writable, so writing all ones reads back the size mask. I/O BARs are decoded into the port space while the
// command register's I/O bit is set (QEMU's pci_update_mappings). A device reacts to its own registers through
// `onWrite` (PAM, PIRQ routing, PMBASE...).

import type { PortHandler, PortSpace } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

export const PCI_VENDOR_ID = 0x00;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
const PCI_COMMAND_WRITABLE = 0x0001 | 0x0002 | 0x0004 | 0x0100 | 0x0400; // I/O, memory, master, SERR, INTx disable
const PCI_STATUS_W1C = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000; // parity, target/master aborts, SERR, parity error
/** QEMU's subsystem IDs for devices without their own (PCI_SUBVENDOR_ID_REDHAT_QUMRANET, PCI_SUBDEVICE_ID_QEMU). */
export const QEMU_SUBSYSTEM_VENDOR = 0x1af4;
export const QEMU_SUBSYSTEM = 0x1100;

export interface PciBar {
  index: number;
  /** Bytes decoded (a power of two). */
  size: number;
  kind: "io" | "memory";
  /** For I/O BARs: the ports the BAR maps while enabled. */
  ports?: PortHandler;
}

export interface PciFunctionSpec {
  /** Its state section name and port-range prefix. */
  name: string;
  device: number;
  function: number;
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Class, subclass and programming interface, 24 bits. */
  classCode: number;
  /** Bit 7: the device has more functions (read from function 0). */
  headerType: number;
  interruptPin?: number;
  /** Reset values of other registers: [offset, bytes...]. */
  reset?: readonly (readonly [number, ...number[]])[];
  /** Registers the guest may not change beyond the defaults: [offset, length]. */
  readOnly?: readonly (readonly [number, number])[];
  bars?: readonly PciBar[];
}

const FUNCTION_STATE: StateDescription<PciFunction> = { version: 1, fields: [field.u8s("config", 256)], postLoad: (f) => f.refresh() };

/** One PCI function: its configuration space and BAR decoding. */
export class PciFunction implements Stateful {
  readonly stateName: string;
  readonly stateVersion = FUNCTION_STATE.version;
  readonly config = new Uint8Array(256);
  private readonly resetConfig = new Uint8Array(256);
  readonly wmask = new Uint8Array(256);
  readonly w1cmask = new Uint8Array(256);
  /** The device's reaction to a config write that touched [offset, offset + size). */
  onWrite: (offset: number, size: number) => void = () => {};
  /** Re-derives the device's outputs from its config (after a load or reset). */
  onRefresh: () => void = () => {};
  private readonly mappedIo = new Map<number, number>();

  constructor(
    readonly spec: PciFunctionSpec,
    private readonly ports: PortSpace,
  ) {
    this.stateName = spec.name;
    const c = this.resetConfig;
    const dv = new DataView(c.buffer);
    dv.setUint16(0, spec.vendorId, true);
    dv.setUint16(2, spec.deviceId, true);
    c[PCI_REVISION] = spec.revision;
    c[0x09] = spec.classCode & 0xff;
    c[0x0a] = (spec.classCode >> 8) & 0xff;
    c[0x0b] = spec.classCode >> 16;
    c[PCI_HEADER_TYPE] = spec.headerType;
    dv.setUint16(PCI_SUBSYSTEM_VENDOR_ID, QEMU_SUBSYSTEM_VENDOR, true);
    dv.setUint16(PCI_SUBSYSTEM_VENDOR_ID + 2, QEMU_SUBSYSTEM, true);
    c[PCI_INTERRUPT_PIN] = spec.interruptPin ?? 0;
    for (const [offset, ...bytes] of spec.reset ?? []) c.set(bytes, offset);
    const w = this.wmask;
    w[PCI_COMMAND] = PCI_COMMAND_WRITABLE & 0xff;
    w[PCI_COMMAND + 1] = PCI_COMMAND_WRITABLE >> 8;
    w[PCI_CACHE_LINE_SIZE] = 0xff;
    w[PCI_INTERRUPT_LINE] = 0xff;
    w.fill(0xff, 0x40);
    this.w1cmask[PCI_STATUS] = PCI_STATUS_W1C & 0xff;
    this.w1cmask[PCI_STATUS + 1] = PCI_STATUS_W1C >> 8;
    for (const bar of spec.bars ?? []) {
      const at = PCI_BAR0 + 4 * bar.index;
      const mask = ~(bar.size - 1) & (bar.kind === "io" ? ~3 : ~0xf); // all 32 bits: sizing reads 0xfffffff1 for 16 ports
      new DataView(w.buffer).setUint32(at, mask >>> 0, true);
      c[at] = bar.kind === "io" ? 1 : 0;
    }
    for (const [offset, length] of spec.readOnly ?? []) w.fill(0, offset, offset + length);
    // After the device's own reset QEMU's pci_do_device_reset clears the command register's writable bits, the
    // status register's write-one-to-clear bits, the interrupt line and the cache line size: PIIX3's reset value
    // 0x0007 reads back as 0 (SeaBIOS reads it before it programs the bridge).
    c[PCI_COMMAND] &= ~w[PCI_COMMAND];
    c[PCI_COMMAND + 1] &= ~w[PCI_COMMAND + 1];
    c[PCI_STATUS] &= ~(PCI_STATUS_W1C & 0xff);
    c[PCI_STATUS + 1] &= ~(PCI_STATUS_W1C >> 8);
    c[PCI_INTERRUPT_LINE] &= ~w[PCI_INTERRUPT_LINE];
    c[PCI_CACHE_LINE_SIZE] = 0;
    this.config.set(c);
  }

  get devfn(): number {
    return (this.spec.device << 3) | this.spec.function;
  }

  reset(): void {
    this.config.set(this.resetConfig);
    this.refresh();
  }

  read(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[offset + i] << (8 * i);
    return v >>> 0;
  }

  /** A guest write (pci_default_write_config): only writable bits change; write-one-to-clear bits clear. */
  write(offset: number, size: number, value: number): void {
    const c = this.config;
    for (let i = 0; i < size; i++) {
      const a = offset + i;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[a];
      c[a] = ((c[a] & ~wm) | (b & wm)) & ~(b & this.w1cmask[a]);
    }
    if (offset < PCI_BAR0 + 24 && offset + size > PCI_COMMAND) this.updateBars();
    this.onWrite(offset, size);
  }

  /** Whether a write of [offset, offset + size) touched any of [at, at + length). */
  static touches(offset: number, size: number, at: number, length = 1): boolean {
    return offset < at + length && at < offset + size;
  }

  /** After a load or reset: BAR mappings and the device's own outputs from the config bytes. */
  refresh(): void {
    this.updateBars();
    this.onRefresh();
  }

  /** Maps each I/O BAR at its address while I/O decoding is on and the address is valid (QEMU pci_bar_address). */
  private updateBars(): void {
    const ioOn = (this.config[PCI_COMMAND] & PCI_COMMAND_IO) !== 0;
    for (const bar of this.spec.bars ?? []) {
      if (bar.kind !== "io" || bar.ports === undefined) continue;
      const addr = (this.read(PCI_BAR0 + 4 * bar.index, 4) & ~(bar.size - 1) & ~3) >>> 0;
      const want = ioOn && addr !== 0 && addr + bar.size <= 0x10000 ? addr : -1;
      const have = this.mappedIo.get(bar.index) ?? -1;
      if (want === have) continue;
      const name = `${this.spec.name}-bar${bar.index}`;
      if (have >= 0) this.ports.unmap(name);
      this.mappedIo.set(bar.index, want >= 0 && mapIfFree(this.ports, name, want, bar.size, bar.ports) ? want : -1);
    }
  }

  saveState(): StateFields {
    return saveDescribed(FUNCTION_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(FUNCTION_STATE, this, f, version, this.stateName);
  }
}

const HOST_STATE: StateDescription<PciHost> = { version: 1, fields: [field.u32("configAddress")] };

/** Configuration mechanism #1 over bus 0: the 0xCF8 address register and the 0xCFC data window. */
export class PciHost implements Stateful {
  readonly stateName = "pci-host";
  readonly stateVersion = HOST_STATE.version;
  configAddress = 0;
  private readonly functions = new Map<number, PciFunction>();
  readonly addressPort: PortHandler;
  readonly dataPort: PortHandler;

  /**
   * `resetControl`: the byte at 0xCF9 inside CONFIG_ADDRESS's dword (PIIX3's reset control register, which QEMU
   * maps over it). Only a 32-bit write at 0xCF8 sets CONFIG_ADDRESS; a narrower read returns its low bytes, as
   * QEMU's pci_host_config_read (whatever the offset).
   */
  constructor(resetControl?: PortHandler) {
    this.addressPort = {
      read: (off, size) => {
        if (off === 1 && size === 1 && resetControl) return resetControl.read(0, 1);
        return size === 4 ? this.configAddress : this.configAddress & (size === 1 ? 0xff : 0xffff);
      },
      write: (off, size, v) => {
        if (off === 0 && size === 4) this.configAddress = v >>> 0;
        else if (off === 1 && size === 1) resetControl?.write(0, 1, v);
      },
    };
    this.dataPort = {
      read: (off, size) => {
        const f = this.target(off, size);
        return f === undefined ? allOnes(size) : f.read((this.configAddress & 0xfc) + off, size);
      },
      write: (off, size, v) => this.target(off, size)?.write((this.configAddress & 0xfc) + off, size, v),
    };
  }

  add(f: PciFunction): void {
    if (this.functions.has(f.devfn)) throw new Error(`PCI 00:${f.spec.device.toString(16)}.${f.spec.function} is taken`);
    this.functions.set(f.devfn, f);
  }

  get all(): readonly PciFunction[] {
    return [...this.functions.values()];
  }

  /** The function CONFIG_ADDRESS selects, when enabled, on bus 0 and the access stays in the dword. */
  private target(off: number, size: number): PciFunction | undefined {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0 || ((a >>> 16) & 0xff) !== 0 || off + size > 4) return undefined;
    return this.functions.get((a >>> 8) & 0xff);
  }

  map(ports: PortSpace): void {
    ports.map("pci-config-address", 0xcf8, 4, this.addressPort);
    ports.map("pci-config-data", 0xcfc, 4, this.dataPort);
  }

  saveState(): StateFields {
    return saveDescribed(HOST_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(HOST_STATE, this, f, version, this.stateName);
  }
}

/**
 * Maps a range the guest placed (a BAR, PMBASE) unless it would overlap one already there: QEMU would overlay
 * them by priority; here the newcomer stays unmapped rather than the emulator failing. Whether it mapped
 * follows from the config bytes and the fixed wiring, so a restored state maps the same.
 */
export function mapIfFree(ports: PortSpace, name: string, base: number, size: number, handler: PortHandler): boolean {
  if (base + size > 0x10000) return false;
  for (let p = base; p < base + size; p++) if (ports.rangeAt(p) !== undefined) return false;
  ports.map(name, base, size, handler);
  return true;
}

function allOnes(size: number): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

// QEMU's firmware configuration device, I/O-port flavour as the pc board maps it (hw/nvram/fw_cfg.c, 7.2):
// selector at 0x510 (16-bit write), data at 0x511 (8-bit read; 0x510 reads data too), DMA interface at
// 0x514 (big-endian 64-bit address in two 32-bit halves: writing the low half at 0x518 starts the transfer;
// reads return the "QEMU CFG" signature). The ID item says "traditional + DMA" (3).
//
// Items are keyed as in QEMU: bit 15 selects the architecture-local set (0x8000 ACPI tables, 0x8001 SMBIOS,
// 0x8002 IRQ0 override, 0x8003 E820...), the low 14 bits index it; keys at or beyond 0x20 + 32 file slots are
// invalid. Files get keys from 0x20 by their position in the name-sorted directory (QEMU's non-legacy order),
// and the directory (key 0x19) is {be32 count; {be32 size, be16 select, be16 reserved, char name[56]}...}.
// A DMA transfer runs synchronously within the port write, as in QEMU, through the board's bus callbacks; its
// control word is written back big-endian (0 on success, 1 on error). Data-port writes are ignored (QEMU 2.4+).
// Not modelled: select/read/write callbacks (QEMU rebuilds the ACPI tables when etc/table-loader is selected;
// the board provides the built bytes up front).

import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_MACHINE_ID = 0x06;
export const FW_CFG_KERNEL_ADDR = 0x07;
export const FW_CFG_KERNEL_SIZE = 0x08;
export const FW_CFG_KERNEL_CMDLINE = 0x09;
export const FW_CFG_INITRD_ADDR = 0x0a;
export const FW_CFG_INITRD_SIZE = 0x0b;
export const FW_CFG_BOOT_DEVICE = 0x0c;
export const FW_CFG_NUMA = 0x0d;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_KERNEL_ENTRY = 0x10;
export const FW_CFG_KERNEL_DATA = 0x11;
export const FW_CFG_INITRD_DATA = 0x12;
export const FW_CFG_CMDLINE_ADDR = 0x13;
export const FW_CFG_CMDLINE_SIZE = 0x14;
export const FW_CFG_CMDLINE_DATA = 0x15;
export const FW_CFG_SETUP_ADDR = 0x16;
export const FW_CFG_SETUP_SIZE = 0x17;
export const FW_CFG_SETUP_DATA = 0x18;
export const FW_CFG_FILE_DIR = 0x19;
export const FW_CFG_FILE_FIRST = 0x20;
export const FW_CFG_FILE_SLOTS = 0x20;
export const FW_CFG_ARCH_LOCAL = 0x8000;
export const FW_CFG_ACPI_TABLES = 0x8000;
export const FW_CFG_SMBIOS_ENTRIES = 0x8001;
export const FW_CFG_IRQ0_OVERRIDE = 0x8002;
export const FW_CFG_E820_TABLE = 0x8003;
export const FW_CFG_HPET = 0x8004;
export const FW_CFG_INVALID = 0xffff;
const FW_CFG_ENTRY_MASK = 0x3fff;
const FW_CFG_MAX_ENTRY = FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS;

export const FW_CFG_DMA_CTL_ERROR = 0x01;
export const FW_CFG_DMA_CTL_READ = 0x02;
export const FW_CFG_DMA_CTL_SKIP = 0x04;
export const FW_CFG_DMA_CTL_SELECT = 0x08;
export const FW_CFG_DMA_CTL_WRITE = 0x10;
/** "QEMU CFG", read big-endian from the DMA registers. */
const DMA_SIGNATURE = new TextEncoder().encode("QEMU CFG");
const FILE_NAME_LEN = 56;

/** Guest-physical memory as DMA sees it. A failed access (nothing there) returns undefined / false. */
export interface DmaBus {
  read(addr: number, len: number): Uint8Array | undefined;
  write(addr: number, data: Uint8Array): boolean;
}

interface Entry {
  data: Uint8Array;
  writable: boolean;
}

export interface FwCfgFile {
  readonly name: string;
  readonly key: number;
  readonly size: number;
}

/** Map `ports` at 0x510 (2 ports) and `dmaPorts` at 0x514 (8 ports). */
export class FwCfg implements Stateful {
  readonly stateVersion = 1;
  curEntry = FW_CFG_INVALID;
  curOffset = 0;
  dmaAddrHi = 0;
  dmaAddrLo = 0;
  private readonly entries = new Map<number, Entry>();
  private files: { name: string; entry: Entry }[] = [];
  readonly ports: PortHandler;
  readonly dmaPorts: PortHandler;

  constructor(
    private readonly bus: DmaBus,
    readonly stateName = "fw_cfg",
  ) {
    this.ports = {
      read: (off, size) => {
        if (size !== 1 || off > 1) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1; // invalid (fw_cfg_comb_valid)
        return this.readData();
      },
      write: (off, size, v) => {
        if (size === 2 && off === 0) this.select(v & 0xffff);
        // 8-bit data writes are ignored; other sizes are invalid accesses.
      },
    };
    this.dmaPorts = {
      read: (off, size) => {
        if (size !== 4 || (off !== 0 && off !== 4)) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
        // Big-endian register: the byte at port 0x514+i is signature byte i.
        let v = 0;
        for (let i = 0; i < 4; i++) v |= DMA_SIGNATURE[off + i] << (8 * i);
        return v >>> 0;
      },
      write: (off, size, v) => {
        if (size !== 4) return;
        const be = bswap32(v);
        if (off === 0) {
          this.dmaAddrHi = be;
          this.dmaAddrLo = 0;
        } else if (off === 4) {
          this.dmaAddrLo = be;
          this.dmaTransfer();
        }
      },
    };
    this.addItem(FW_CFG_SIGNATURE, new TextEncoder().encode("QEMU"));
    this.addU32(FW_CFG_ID, 1 | 2);
    this.rebuildDirectory();
  }

  private static index(key: number): number | undefined {
    if ((key & FW_CFG_ENTRY_MASK) >= FW_CFG_MAX_ENTRY) return undefined;
    return (key & FW_CFG_ARCH_LOCAL) | (key & FW_CFG_ENTRY_MASK);
  }

  /** Adds (or replaces) a numbered item (QEMU fw_cfg_add_bytes). Not for file keys. */
  addItem(key: number, data: Uint8Array): void {
    const i = FwCfg.index(key);
    if (i === undefined || (key & FW_CFG_ENTRY_MASK) >= FW_CFG_FILE_FIRST || (key & FW_CFG_ENTRY_MASK) === FW_CFG_FILE_DIR)
      throw new RangeError(`fw_cfg key 0x${key.toString(16)} is not an item key`);
    this.entries.set(i, { data: Uint8Array.from(data), writable: false });
  }
  /** Little-endian integers, as fw_cfg_add_i16/i32/i64. */
  addU16(key: number, v: number): void {
    this.addItem(key, le(v, 2));
  }
  addU32(key: number, v: number): void {
    this.addItem(key, le(v, 4));
  }
  addU64(key: number, v: bigint | number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.addItem(key, b);
  }

  /** Adds a named file (QEMU fw_cfg_add_file; writable ones accept DMA writes of their exact remaining size). */
  addFile(name: string, data: Uint8Array, opts: { writable?: boolean } = {}): void {
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length === 0 || nameBytes.length >= FILE_NAME_LEN) throw new RangeError(`fw_cfg file name "${name}" must be 1..55 bytes`);
    if (this.files.some((f) => f.name === name)) throw new Error(`fw_cfg file ${name} already exists`);
    if (this.files.length >= FW_CFG_FILE_SLOTS) throw new Error(`fw_cfg has no free file slot for ${name}`);
    const entry = { data: Uint8Array.from(data), writable: opts.writable ?? false };
    let at = this.files.length;
    while (at > 0 && compareBytes(nameBytes, new TextEncoder().encode(this.files[at - 1].name)) < 0) at--;
    this.files.splice(at, 0, { name, entry });
    this.rebuildDirectory();
  }

  /** The file directory as the guest sees it. */
  get fileList(): FwCfgFile[] {
    return this.files.map((f, i) => ({ name: f.name, key: FW_CFG_FILE_FIRST + i, size: f.entry.data.length }));
  }

  private rebuildDirectory(): void {
    for (let k = FW_CFG_FILE_FIRST; k < FW_CFG_MAX_ENTRY; k++) this.entries.delete(k);
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const o = 4 + 64 * i;
      dv.setUint32(o, f.entry.data.length, false);
      dv.setUint16(o + 4, FW_CFG_FILE_FIRST + i, false);
      dir.set(new TextEncoder().encode(f.name), o + 8);
      this.entries.set(FW_CFG_FILE_FIRST + i, f.entry);
    });
    this.entries.set(FW_CFG_FILE_DIR, { data: dir, writable: false });
  }

  private current(): Entry | undefined {
    if (this.curEntry === FW_CFG_INVALID) return undefined;
    const i = FwCfg.index(this.curEntry);
    return i === undefined ? undefined : this.entries.get(i);
  }

  /** QEMU fw_cfg_select. */
  select(key: number): void {
    this.curOffset = 0;
    this.curEntry = (key & FW_CFG_ENTRY_MASK) >= FW_CFG_MAX_ENTRY ? FW_CFG_INVALID : key;
  }

  private readData(): number {
    const e = this.current();
    if (!e || this.curOffset >= e.data.length) return 0;
    return e.data[this.curOffset++];
  }

  /** QEMU fw_cfg_dma_transfer. */
  private dmaTransfer(): void {
    const descAddr = this.dmaAddrHi * 2 ** 32 + this.dmaAddrLo;
    this.dmaAddrHi = 0;
    this.dmaAddrLo = 0;
    const putControl = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, v, false);
      this.bus.write(descAddr, b);
    };
    const desc = descAddr + 16 <= Number.MAX_SAFE_INTEGER ? this.bus.read(descAddr, 16) : undefined;
    if (!desc || desc.length !== 16) {
      putControl(FW_CFG_DMA_CTL_ERROR);
      return;
    }
    const dv = new DataView(desc.buffer, desc.byteOffset, 16);
    let control = dv.getUint32(0, false);
    let length = dv.getUint32(4, false);
    let address = Number(dv.getBigUint64(8, false));
    if (control & FW_CFG_DMA_CTL_SELECT) this.select(control >>> 16);
    const e = this.current();
    let read = false;
    let write = false;
    if (control & FW_CFG_DMA_CTL_READ) read = true;
    else if (control & FW_CFG_DMA_CTL_WRITE) write = true;
    else if (!(control & FW_CFG_DMA_CTL_SKIP)) length = 0;
    control = 0;
    while (length > 0 && !(control & FW_CFG_DMA_CTL_ERROR)) {
      let len: number;
      if (!e || this.curOffset >= e.data.length) {
        len = length;
        if (read && !this.bus.write(address, new Uint8Array(len))) control |= FW_CFG_DMA_CTL_ERROR;
        if (write) control |= FW_CFG_DMA_CTL_ERROR;
      } else {
        len = Math.min(length, e.data.length - this.curOffset);
        if (read && !this.bus.write(address, e.data.slice(this.curOffset, this.curOffset + len))) control |= FW_CFG_DMA_CTL_ERROR;
        if (write) {
          const src = e.writable && len === length ? this.bus.read(address, len) : undefined;
          if (!src || src.length !== len) control |= FW_CFG_DMA_CTL_ERROR;
          else e.data.set(src, this.curOffset);
        }
        this.curOffset += len;
      }
      address += len;
      length -= len;
    }
    putControl(control);
  }

  /** Writable files' contents are guest-changeable, so they are part of the state (concatenated). */
  private describe(): StateDescription<FwCfg> {
    const writable = this.files.filter((f) => f.entry.writable).map((f) => f.entry.data);
    const total = writable.reduce((n, d) => n + d.length, 0);
    return {
      version: 1,
      fields: [
        field.u16("curEntry"),
        field.u32("curOffset"),
        field.u32("dmaAddrHi"),
        field.u32("dmaAddrLo"),
        field.u8s("writableData", total, {
          get: () => {
            const out = new Uint8Array(total);
            let o = 0;
            for (const d of writable) {
              out.set(d, o);
              o += d.length;
            }
            return out;
          },
          set: (_fw, v: Uint8Array) => {
            let o = 0;
            for (const d of writable) {
              d.set(v.subarray(o, o + d.length));
              o += d.length;
            }
          },
        }),
      ],
    };
  }

  saveState(): StateFields {
    return saveDescribed(this.describe(), this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(this.describe(), this, f, version, this.stateName);
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

function le(v: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  return b;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

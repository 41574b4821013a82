// The fw_cfg items QEMU 7.2's pc board creates before the guest runs (hw/nvram/fw_cfg.c fw_cfg_init1 /
// fw_cfg_common_realize / fw_cfg_reboot, hw/i386/fw_cfg.c fw_cfg_arch_create), for the keys SeaBIOS reads:
// 0x02 UUID, 0x03 RAM size, 0x04 nographic, 0x05 CPUs, 0x0d NUMA, 0x0e boot menu, 0x0f max CPUs (the APIC ID
// limit), 0x8000 ACPI tables (user -acpitable blobs: none), 0x8002 IRQ0 override, 0x8003 legacy E820 reserve
// table, files etc/e820 and etc/boot-fail-wait. Files produced by other QEMU code (ACPI tables and loader,
// SMBIOS, bootorder, bios-geometry, genroms/kvmvapic.bin, etc/system-states...) are the board's to add.

import {
  FW_CFG_ACPI_TABLES,
  FW_CFG_BOOT_MENU,
  FW_CFG_E820_TABLE,
  FW_CFG_IRQ0_OVERRIDE,
  FW_CFG_MAX_CPUS,
  FW_CFG_NB_CPUS,
  FW_CFG_NOGRAPHIC,
  FW_CFG_NUMA,
  FW_CFG_RAM_SIZE,
  FW_CFG_UUID,
  type FwCfg,
} from "./fw-cfg.js";

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  address: number;
  length: number;
  type: number;
}

export interface PcFwCfgConfig {
  ramSize: number;
  cpus?: number;
  /** The APIC ID limit (max APIC ID + 1); 1 for one CPU. */
  apicIdLimit?: number;
  /** etc/e820 entries (struct e820_entry: le64 address, le64 length, le32 type). */
  e820: E820Entry[];
  /** -boot reboot-timeout, -1 (0xffffffff) by default. */
  rebootTimeout?: number;
}

export function e820Bytes(entries: E820Entry[]): Uint8Array {
  const b = new Uint8Array(20 * entries.length);
  const dv = new DataView(b.buffer);
  entries.forEach((e, i) => {
    dv.setBigUint64(20 * i, BigInt(e.address), true);
    dv.setBigUint64(20 * i + 8, BigInt(e.length), true);
    dv.setUint32(20 * i + 16, e.type, true);
  });
  return b;
}

export function addPcFwCfgItems(fw: FwCfg, c: PcFwCfgConfig): void {
  const cpus = c.cpus ?? 1;
  const apicIdLimit = c.apicIdLimit ?? cpus;
  fw.addItem(FW_CFG_UUID, new Uint8Array(16));
  fw.addU16(FW_CFG_NOGRAPHIC, 0);
  fw.addU16(FW_CFG_BOOT_MENU, 0);
  fw.addU16(FW_CFG_NB_CPUS, cpus);
  fw.addU16(FW_CFG_MAX_CPUS, apicIdLimit);
  fw.addU64(FW_CFG_RAM_SIZE, c.ramSize);
  fw.addItem(FW_CFG_ACPI_TABLES, new Uint8Array(0));
  fw.addU32(FW_CFG_IRQ0_OVERRIDE, 1);
  // struct e820_table { le32 count; struct e820_entry entry[16]; }: the reserved entries (QEMU e820_add_entry).
  const reserved = c.e820.filter((e) => e.type !== E820_RAM).slice(0, 16);
  const legacy = new Uint8Array(4 + 16 * 20);
  new DataView(legacy.buffer).setUint32(0, reserved.length, true);
  legacy.set(e820Bytes(reserved), 4);
  fw.addItem(FW_CFG_E820_TABLE, legacy);
  fw.addFile("etc/e820", e820Bytes(c.e820));
  // NUMA: le64 node count, one le64 per APIC ID (node), one per node (memory): all zero without -numa.
  fw.addItem(FW_CFG_NUMA, new Uint8Array(8 * (1 + apicIdLimit)));
  const t = new Uint8Array(4);
  new DataView(t.buffer).setUint32(0, (c.rebootTimeout ?? -1) >>> 0, true);
  fw.addFile("etc/boot-fail-wait", t);
}

// The i440FX host bridge (Intel 82441FX PMC, 00:00.0, 8086:1237 rev 2) as QEMU 7.2's hw/pci-host/i440fx.c and
// pam.c: the PAM registers 0x59–0x5f decide, per segment of 0xC0000–0xFFFFF, whether reads and writes go to
// the ROM/PCI side or to the DRAM under it (shadow RAM); SMRAM (0x72) opens the DRAM under the VGA window
// 0xA0000–0xBFFFF (D_OPEN). Register 0x57 holds the RAM size in 8 MiB units, as QEMU (and coreboot) put it.
//
// PAM attribute bits (82441FX datasheet §3.2.18): bit 0 RE, bit 1 WE. 0: both to PCI; 1: reads DRAM, writes
// PCI (dropped: the ROM); 3: DRAM read/write; 2 (WE only): reads PCI, writes DRAM, as the datasheet says (QEMU's
// pam.c maps 2 as DRAM read/write with an "XXX"; SeaBIOS uses only 0, 1 and 3).
//
// The mapping is derived from the config bytes, which are the only state (PciFunction's section).

import type { AddressSpace, Ram } from "../../core/memory.js";
import type { PortSpace } from "../../core/ports.js";
import { PciFunction } from "./pci.js";

export const I440FX_PAM0 = 0x59;
export const I440FX_SMRAM = 0x72;
export const I440FX_RAM_SIZE = 0x57;
const SMRAM_D_OPEN = 0x40;

/** The 13 PAM segments: register, nibble shift, base, size. */
export const PAM_SEGMENTS: readonly { reg: number; shift: number; base: number; size: number }[] = [
  { reg: 0x59, shift: 4, base: 0xf0000, size: 0x10000 },
  ...Array.from({ length: 12 }, (_, i) => ({ reg: 0x5a + (i >> 1), shift: (i & 1) * 4, base: 0xc0000 + i * 0x4000, size: 0x4000 })),
];

export interface I440fxMemory {
  bus: AddressSpace;
  /** DRAM of 0xA0000–0xFFFFF (hidden under the VGA window and the ROMs), added unmapped. */
  legacyRam: Ram;
  /** What the PCI side shows at 0xC0000–0xFFFFF, added unmapped: QEMU's pc.rom (0xC0000–0xDFFFF) and isa-bios. */
  roms: readonly Ram[];
}

export function createI440fx(ports: PortSpace, mem: I440fxMemory, ramSize: number): PciFunction {
  const f = new PciFunction(
    {
      name: "i440fx",
      device: 0,
      function: 0,
      vendorId: 0x8086,
      deviceId: 0x1237,
      revision: 0x02,
      classCode: 0x060000,
      headerType: 0x00,
      reset: [[I440FX_SMRAM, 0x02], [I440FX_RAM_SIZE, Math.min(255, Math.floor(ramSize / (8 << 20)))]],
    },
    ports,
  );
  const romAt = (base: number): Ram | null => mem.roms.find((r) => r.base <= base && base < r.base + r.size) ?? null;
  const update = () => {
    for (const s of PAM_SEGMENTS) {
      const mode = (f.config[s.reg] >> s.shift) & 3;
      const rom = romAt(s.base);
      mem.bus.route(s.base, s.size, mode & 1 ? mem.legacyRam : rom, mode & 2 ? mem.legacyRam : rom);
    }
    const open = (f.config[I440FX_SMRAM] & SMRAM_D_OPEN) !== 0;
    // Closed: the VGA window (no VGA device on this board: unassigned).
    mem.bus.route(0xa0000, 0x20000, open ? mem.legacyRam : null, open ? mem.legacyRam : null);
  };
  f.onWrite = (offset, size) => {
    if (PciFunction.touches(offset, size, I440FX_PAM0, 7) || PciFunction.touches(offset, size, I440FX_SMRAM)) update();
  };
  f.onRefresh = update;
  update();
  return f;
}

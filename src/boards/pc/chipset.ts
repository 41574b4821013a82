// The pc board's chipset, as QEMU 7.2's `-M pc` (i440FX + PIIX3, smm=off) builds it: the PCI host with its
// functions at QEMU's slots (00:00.0 i440FX, 00:01.0 PIIX3 ISA, 00:01.1 IDE, 00:01.3 PIIX4 PM), the memory the
// i440FX switches (DRAM under 0xA0000–0xFFFFF, QEMU's pc.rom, the ISA copy of the BIOS), the local APIC,
// empty IDE channels, APM and the kvmvapic port. The board calls `createPcChipset` before it builds the CPU
// (every memory region is numbered before any code cache exists) and saves `stateParts` with its own.

import type { VirtualClock } from "../../core/clock.js";
import { type AddressSpace, Ram } from "../../core/memory.js";
import type { PortSpace } from "../../core/ports.js";
import type { Stateful } from "../../core/state.js";
import { AcpiPmTimer } from "../../devices/pc/acpi-pm-timer.js";
import { createI440fx } from "../../devices/pc/i440fx.js";
import { KvmVapic } from "../../devices/pc/kvmvapic.js";
import { LAPIC_BASE, LAPIC_WINDOW, LocalApic } from "../../devices/pc/lapic.js";
import { PciHost } from "../../devices/pc/pci.js";
import { createPiix3Ide, createPiix3Isa, createPiix4Pm, mapApm, mapEmptyIde, Piix3ResetControl, PiixBmdma, PiixPmRegisters } from "../../devices/pc/piix.js";

export interface PcChipsetConfig {
  bus: AddressSpace;
  ports: PortSpace;
  clock: VirtualClock;
  ramSize: number;
  /** The BIOS's copy below 1 MiB (0xE0000–0xFFFFF for a 256 KiB image), added to the bus unmapped. */
  isaBios: Ram;
  /** CS.base + EIP now (kvmvapic locates its option ROM from the instruction that reports it). */
  codeAddress: () => number;
  /** A UART at 0x3f8 (PIIX4 PM reports it in its device-presence bits). */
  com1?: boolean;
  /** A guest-requested reset (PIIX3's reset control at 0xCF9). */
  requestReset?: () => void;
}

export interface PcChipset {
  pciHost: PciHost;
  lapic: LocalApic;
  /** The memory the chipset adds (hidden DRAM, pc.rom): checkpoints page it with the board's RAM. */
  ram: Ram[];
  /** Every other part with guest-visible state, in a fixed order. */
  stateParts: Stateful[];
  /** Machine reset: every function's config space to its reset value (mappings follow). */
  reset(): void;
}

const PC_ROM_BASE = 0xc0000;
const PC_ROM_SIZE = 0x20000;
const LEGACY_BASE = 0xa0000;
const LEGACY_SIZE = 0x60000;

export function createPcChipset(c: PcChipsetConfig): PcChipset {
  const { bus, ports } = c;
  // DRAM hidden under the VGA window and the ROM area, and QEMU's pc.rom (option ROM space, read-only zeros).
  const legacyRam = new Ram(LEGACY_BASE, LEGACY_SIZE, { name: "ram-legacy" });
  const pcRom = new Ram(PC_ROM_BASE, PC_ROM_SIZE, { name: "pc-rom", readOnly: true });
  bus.addRam(legacyRam, { mapped: false });
  bus.addRam(pcRom, { mapped: false });

  const rcr = new Piix3ResetControl(() => c.requestReset?.());
  const host = new PciHost(rcr.port);
  const i440fx = createI440fx(ports, { bus, legacyRam, roms: [pcRom, c.isaBios] }, c.ramSize);
  const piix3 = createPiix3Isa(ports);
  const bmdma = new PiixBmdma();
  const ide = createPiix3Ide(ports, bmdma);
  const pmRegs = new PiixPmRegisters(new AcpiPmTimer(c.clock));
  const pm = createPiix4Pm(ports, pmRegs, { com1: c.com1 });
  const functions = [i440fx, piix3, ide, pm];
  for (const f of functions) host.add(f);
  host.map(ports);
  mapEmptyIde(ports);
  mapApm(ports, pmRegs);

  const lapic = new LocalApic();
  bus.map("lapic", LAPIC_BASE, LAPIC_WINDOW, lapic.mmio);
  const vapic = new KvmVapic(bus, c.codeAddress);
  ports.map("kvmvapic", 0x7e, 2, vapic.ports);
  for (const f of functions) f.refresh();

  return {
    pciHost: host,
    lapic,
    ram: [legacyRam, pcRom],
    stateParts: [host, ...functions, bmdma, pmRegs, rcr, lapic, vapic],
    reset() {
      host.configAddress = 0;
      for (const f of functions) f.reset();
      rcr.reset();
      lapic.reset();
    },
  };
}

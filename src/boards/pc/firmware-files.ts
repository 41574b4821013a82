// The fw_cfg files of QEMU 7.2's pc board beyond the generic ones (fw-cfg-pc.ts): ACPI tables with their
// loader script, SMBIOS, the suspend states PIIX4 PM advertises, the (empty) boot order, BIOS geometry and TPM
// log, and option ROMs under genroms/ (QEMU gives kvmvapic.bin to every pc guest; the board takes the bytes from
// its configuration, since the ROM is QEMU's). Which files exist changes SeaBIOS's allocations and its log:
// with etc/table-loader it moves PMBASE to 0x600 and uses these tables instead of building its own.

import { cpuidLeaf } from "../../arch/x86/cpuid.js";
import type { FwCfg } from "../../devices/pc/fw-cfg.js";
import { buildAcpiTables } from "./acpi-tables.js";
import { buildSmbios } from "./smbios.js";

export interface PcFirmwareFilesConfig {
  ramSize: number;
  /** Option ROMs, as fw_cfg files genroms/<name>. */
  optionRoms?: readonly { name: string; data: Uint8Array }[];
}

/** etc/system-states: S0..S5, bit 7 = supported; S3 and S4 (value 2) enabled as QEMU 7.2's PIIX4 PM. */
const SYSTEM_STATES = [128, 0, 0, 129, 130, 128];

export function addPcFirmwareFiles(fw: FwCfg, c: PcFirmwareFilesConfig): void {
  const acpi = buildAcpiTables({ pmBase: 0x600, sciInterrupt: 9 });
  fw.addFile("etc/acpi/tables", acpi.tables);
  fw.addFile("etc/acpi/rsdp", acpi.rsdp);
  fw.addFile("etc/table-loader", acpi.loader);
  fw.addFile("etc/tpm/log", new Uint8Array(0));
  const [signature, , , features] = cpuidLeaf(1);
  const smbios = buildSmbios({ ramSize: c.ramSize, cpuidSignature: signature, cpuidFeatures: features });
  fw.addFile("etc/smbios/smbios-anchor", smbios.anchor);
  fw.addFile("etc/smbios/smbios-tables", smbios.tables);
  fw.addFile("etc/system-states", Uint8Array.from(SYSTEM_STATES));
  fw.addFile("bootorder", new Uint8Array(0));
  fw.addFile("bios-geometry", new Uint8Array(0));
  for (const rom of c.optionRoms ?? []) fw.addFile(`genroms/${rom.name}`, rom.data);
}

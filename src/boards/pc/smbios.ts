// SMBIOS for the pc board as QEMU 7.2 hands it to the firmware (fw_cfg etc/smbios/smbios-anchor and
// etc/smbios/smbios-tables; SMBIOS 2.8, 32-bit entry point): the structures QEMU builds by default for one CPU
// without -smbios options — type 1 (system), 3 (chassis), 4 (processor), 16/17/19 (memory array, device,
// mapped range), 32 (boot status), 127 (end); no type 0, which SeaBIOS adds itself. Layouts follow the DMTF
// SMBIOS 2.8 specification and QEMU's struct sizes, so the blob has QEMU's length (321 bytes for one CPU).

const MACHINE = "pc-i440fx-7.2";
const PRODUCT = "Standard PC (i440FX + PIIX, 1996)";
const MANUFACTURER = "QEMU";

export interface SmbiosConfig {
  ramSize: number;
  /** CPUID.1 EAX and EDX (the processor ID of type 4). */
  cpuidSignature: number;
  cpuidFeatures: number;
}

export interface SmbiosFiles {
  anchor: Uint8Array;
  tables: Uint8Array;
}

function structure(type: number, handle: number, formatted: number[], strings: string[]): number[] {
  const body = [type, formatted.length + 4, handle & 0xff, handle >> 8, ...formatted];
  const text = strings.length === 0 ? [0, 0] : [...strings.flatMap((s) => [...[...s].map((c) => c.charCodeAt(0)), 0]), 0];
  return [...body, ...text];
}
const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
const u64 = (v: number): number[] => [...u32(v >>> 0), ...u32(Math.floor(v / 2 ** 32))];

export function buildSmbios(c: SmbiosConfig): SmbiosFiles {
  const KiB = c.ramSize / 1024;
  const MiB = c.ramSize / (1 << 20);
  const list = [
    // Type 1: manufacturer 1, product 2, version 3, no serial, UUID 0, wake-up "power switch", no SKU/family.
    structure(1, 0x100, [1, 2, 3, 0, ...new Array<number>(16).fill(0), 0x06, 0, 0], [MANUFACTURER, PRODUCT, MACHINE]),
    // Type 3: "other" chassis, states safe, security unknown.
    structure(3, 0x300, [1, 0x01, 2, 0, 0, 0x03, 0x03, 0x03, 0x02, ...u32(0), 0, 0, 0, 0, 0], [MANUFACTURER, MACHINE]),
    // Type 4: "CPU 0", central processor, family "other" (and family2), 2000 MHz, populated and enabled, 1 core/thread.
    structure(
      4,
      0x400,
      [1, 0x03, 0x01, 2, ...u32(c.cpuidSignature), ...u32(c.cpuidFeatures), 3, 0, ...u16(0), ...u16(2000), ...u16(2000), 0x41, 0x01, ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), 0, 0, 0, 1, 1, 1, ...u16(0x02), ...u16(0x01)],
      ["CPU 0", MANUFACTURER, MACHINE],
    ),
    // Type 16: system memory, "other" location, multi-bit ECC, one device.
    structure(16, 0x1000, [0x01, 0x03, 0x06, ...u32(KiB), ...u16(0xfffe), ...u16(1), ...u64(0)], []),
    // Type 17: "DIMM 0", RAM, size in MiB.
    structure(17, 0x1100, [...u16(0x1000), ...u16(0xfffe), ...u16(0xffff), ...u16(0xffff), ...u16(MiB), 0x09, 0, 1, 0, 0x07, ...u16(0x0002), ...u16(0), 2, 0, 0, 0, 0, ...u32(0), ...u16(0), ...u16(0), ...u16(0), ...u16(0)], ["DIMM 0", MANUFACTURER]),
    // Type 19: [0, RAM) in KiB, in array 0x1000.
    structure(19, 0x1300, [...u32(0), ...u32(KiB - 1), ...u16(0x1000), 1, ...u64(0), ...u64(0)], []),
    structure(32, 0x2000, [0, 0, 0, 0, 0, 0, 0], []),
    structure(127, 0x7f00, [], []),
  ];
  const tables = Uint8Array.from(list.flat());
  const maxSize = Math.max(...list.map((s) => s.length));
  // The 2.1 entry point: "_SM_", checksum, length 0x1f, version 2.8, max structure size, revision, formatted
  // area, "_DMI_", intermediate checksum, table length, table address (SeaBIOS fills it), count, BCD revision.
  const a = [...[..."_SM_"].map((ch) => ch.charCodeAt(0)), 0, 0x1f, 2, 8, ...u16(maxSize), 0, 0, 0, 0, 0, 0, ...[..."_DMI_"].map((ch) => ch.charCodeAt(0)), 0, ...u16(tables.length), ...u32(0), ...u16(list.length), 0x28];
  const sum = (from: number, to: number) => a.slice(from, to).reduce((x, y) => x + y, 0) & 0xff;
  a[0x15] = (0x100 - sum(0x10, 0x1f)) & 0xff;
  a[4] = (0x100 - sum(0, 0x1f)) & 0xff;
  return { anchor: Uint8Array.from(a), tables };
}

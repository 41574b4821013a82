// The ACPI tables the pc board gives the firmware through fw_cfg, in QEMU's form: etc/acpi/tables (one blob,
// padded to 128 KiB as QEMU pads it), etc/acpi/rsdp and etc/table-loader, whose commands (QEMU's
// hw/acpi/bios-linker-loader.c format: 128-byte entries ALLOCATE / ADD_POINTER / ADD_CHECKSUM) tell SeaBIOS
// where to put the blobs, which fields to relocate and which checksums to fix.
//
// The tables describe this board as it is, not QEMU's: FACS, a small DSDT, FADT (revision 1) with the PIIX4
// PM registers at 0x600, a MADT with the one local APIC in PC/AT-compatible mode (no IOAPIC, no HPET: the board
// has neither), RSDT. Generating QEMU's DSDT (6,333 bytes of AML for every PCI slot, hotplug, CPUs...) is out
// of scope. Ours has the PCI root and the ISA devices SeaBIOS looks up (the PS/2 keyboard, PNP0303) and is
// padded with a zero buffer to QEMU's length, with the FADT at QEMU's offset, so SeaBIOS's log (which prints
// both) and its memory layout come out as under QEMU 7.2.

const TABLES_SIZE = 0x20000;
const LOADER_SIZE = 4096;
/** QEMU 7.2 pc's DSDT length and where its FADT starts in the blob (FACS 64 bytes, then the DSDT). */
const DSDT_LENGTH = 6333;
const OEM_ID = "BOCHS ";
const OEM_TABLE_ID = "BXPC    ";

const LOADER_ALLOCATE = 1;
const LOADER_ADD_POINTER = 2;
const LOADER_ADD_CHECKSUM = 3;
const ZONE_HIGH = 1;
const ZONE_FSEG = 2;
const TABLES_FILE = "etc/acpi/tables";
const RSDP_FILE = "etc/acpi/rsdp";

export interface AcpiFiles {
  tables: Uint8Array;
  rsdp: Uint8Array;
  loader: Uint8Array;
}

export interface AcpiConfig {
  /** PIIX4 PM I/O base (SeaBIOS puts it at 0x600 when it finds etc/table-loader). */
  pmBase: number;
  sciInterrupt: number;
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

// ---- AML (ACPI 6.4 §20) ----

/** PkgLength: the package's length including the PkgLength bytes themselves. */
function pkg(body: number[]): number[] {
  for (let n = 1; n <= 4; n++) {
    const total = body.length + n;
    if (n === 1 && total < 0x40) return [total, ...body];
    if (n > 1 && total < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0xf)];
      for (let i = 1; i < n; i++) out.push((total >> (4 + 8 * (i - 1))) & 0xff);
      return [...out, ...body];
    }
  }
  throw new RangeError("AML package too long");
}
const nameSeg = (s: string): number[] => ascii(s.padEnd(4, "_"));
const dword = (v: number): number[] => [0x0c, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
/** EisaId("PNPxxxx") as the DWordConst AML stores it. */
function eisaId(id: string): number[] {
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const vendor = (c(0) << 10) | (c(1) << 5) | c(2);
  const product = parseInt(id.slice(3), 16);
  return dword(((vendor >> 8) | ((vendor & 0xff) << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24)) >>> 0);
}
const name = (n: string, value: number[]): number[] => [0x08, ...nameSeg(n), ...value];
const device = (n: string, body: number[]): number[] => [0x5b, 0x82, ...pkg([...nameSeg(n), ...body])];
const scope = (path: number[], body: number[]): number[] => [0x10, ...pkg([...path, ...body])];
const buffer = (size: number): number[] => [0x11, ...pkg([0x0b, size & 0xff, size >> 8, ...new Array<number>(size).fill(0)])];

function dsdtBody(): number[] {
  const isa = device("ISA", [
    ...name("_ADR", dword(0x00010000)),
    ...device("KBD", name("_HID", eisaId("PNP0303"))),
    ...device("MOU", name("_HID", eisaId("PNP0F13"))),
  ]);
  const pci0 = device("PCI0", [...name("_HID", eisaId("PNP0A03")), ...name("_ADR", [0x00]), ...name("_UID", [0x00]), ...isa]);
  return scope([0x5c, ...nameSeg("_SB")], pci0);
}

/** The DSDT's AML padded with a zero buffer (Name(PAD_, Buffer(n){})) to exactly `length` bytes. */
function paddedDsdtBody(length: number): number[] {
  const body = dsdtBody();
  const room = length - 36 - body.length;
  for (let size = room; size >= 0; size--) {
    const pad = name("PAD", buffer(size));
    if (pad.length === room) return [...body, ...pad];
  }
  throw new RangeError("cannot pad the DSDT to its length");
}

// ---- tables ----

function header(sig: string, length: number, revision: number): number[] {
  const h = new Array<number>(36).fill(0);
  h.splice(0, 4, ...ascii(sig));
  h.splice(4, 4, length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, length >>> 24);
  h[8] = revision;
  h.splice(10, 6, ...ascii(OEM_ID));
  h.splice(16, 8, ...ascii(OEM_TABLE_ID));
  h.splice(24, 4, 1, 0, 0, 0);
  h.splice(28, 4, ...ascii("BXPC"));
  h.splice(32, 4, 1, 0, 0, 0);
  return h;
}

/** The loader script. ALLOCATE entries go before all others, each in front of the ones before it (QEMU's
 * bios_linker_loader_alloc prepends them), so the firmware allocates every file before it patches any. */
class Loader {
  private readonly entries: Uint8Array[] = [];
  get bytes(): Uint8Array {
    if (this.entries.length * 128 > LOADER_SIZE) throw new RangeError("table-loader full");
    const out = new Uint8Array(LOADER_SIZE);
    this.entries.forEach((e, i) => out.set(e, 128 * i));
    return out;
  }
  private entry(command: number): DataView {
    const e = new Uint8Array(128);
    if (command === LOADER_ALLOCATE) this.entries.splice(0, 0, e);
    else this.entries.push(e);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, command, true);
    return dv;
  }
  private str(dv: DataView, at: number, s: string): void {
    ascii(s).forEach((c, i) => dv.setUint8(at + i, c));
  }
  allocate(file: string, align: number, zone: number): void {
    const dv = this.entry(LOADER_ALLOCATE);
    this.str(dv, 4, file);
    dv.setUint32(60, align, true);
    dv.setUint8(64, zone);
  }
  pointer(dest: string, src: string, offset: number, size: number): void {
    const dv = this.entry(LOADER_ADD_POINTER);
    this.str(dv, 4, dest);
    this.str(dv, 60, src);
    dv.setUint32(116, offset, true);
    dv.setUint8(120, size);
  }
  checksum(file: string, start: number, length: number, offset = start + 9): void {
    const dv = this.entry(LOADER_ADD_CHECKSUM);
    this.str(dv, 4, file);
    dv.setUint32(60, offset, true);
    dv.setUint32(64, start, true);
    dv.setUint32(68, length, true);
  }
}

export function buildAcpiTables(c: AcpiConfig): AcpiFiles {
  const blob = new Uint8Array(TABLES_SIZE);
  const dv = new DataView(blob.buffer);
  const loader = new Loader();
  loader.allocate(TABLES_FILE, 64, ZONE_HIGH);
  let at = 0;
  const place = (bytes: number[]): number => {
    const start = at;
    blob.set(bytes, at);
    at += bytes.length;
    return start;
  };

  // FACS (64 bytes, no checksum): signature, length; the rest zero (no firmware waking vector).
  const facs = place([...ascii("FACS"), 64, 0, 0, 0, ...new Array<number>(56).fill(0)]);

  const dsdtAml = paddedDsdtBody(DSDT_LENGTH);
  const dsdt = place([...header("DSDT", DSDT_LENGTH, 1), ...dsdtAml]);
  loader.checksum(TABLES_FILE, dsdt, DSDT_LENGTH);

  // FADT revision 1 (116 bytes).
  const fadtLength = 116;
  const fadt = place([...header("FACP", fadtLength, 1), ...new Array<number>(fadtLength - 36).fill(0)]);
  dv.setUint32(fadt + 36, facs, true); // FIRMWARE_CTRL (relocated)
  dv.setUint32(fadt + 40, dsdt, true); // DSDT (relocated)
  dv.setUint16(fadt + 46, c.sciInterrupt, true);
  dv.setUint32(fadt + 48, 0xb2, true); // SMI_CMD: APM control
  blob[fadt + 52] = 0xf1; // ACPI_ENABLE
  blob[fadt + 53] = 0xf0; // ACPI_DISABLE
  dv.setUint32(fadt + 56, c.pmBase, true); // PM1a_EVT_BLK
  dv.setUint32(fadt + 64, c.pmBase + 4, true); // PM1a_CNT_BLK
  dv.setUint32(fadt + 76, c.pmBase + 8, true); // PM_TMR_BLK
  blob[fadt + 88] = 4; // PM1_EVT_LEN
  blob[fadt + 89] = 2; // PM1_CNT_LEN
  blob[fadt + 91] = 4; // PM_TMR_LEN
  dv.setUint16(fadt + 96, 0xfff, true); // P_LVL2_LAT: C2 not supported
  dv.setUint16(fadt + 98, 0xfff, true); // P_LVL3_LAT: C3 not supported
  blob[fadt + 108] = 0x32; // CENTURY: the CMOS index QEMU's RTC keeps it at
  dv.setUint32(fadt + 112, 0x1 | 0x4 | 0x20 | 0x80, true); // WBINVD, PROC_C1, SLP_BUTTON, RTC_S4
  loader.pointer(TABLES_FILE, TABLES_FILE, fadt + 36, 4);
  loader.pointer(TABLES_FILE, TABLES_FILE, fadt + 40, 4);
  loader.checksum(TABLES_FILE, fadt, fadtLength);

  // MADT: local APIC base, PCAT_COMPAT (8259s present), one processor-local APIC (ID 0, enabled).
  const madtBody = [0x00, 0x00, 0xe0, 0xfe, 1, 0, 0, 0, 0, 8, 0, 0, 1, 0, 0, 0];
  const madt = place([...header("APIC", 36 + madtBody.length, 1), ...madtBody]);
  loader.checksum(TABLES_FILE, madt, 36 + madtBody.length);

  const entries = [fadt, madt];
  const rsdtLength = 36 + 4 * entries.length;
  const rsdt = place(header("RSDT", rsdtLength, 1));
  entries.forEach((e, i) => {
    place([e & 0xff, (e >> 8) & 0xff, (e >> 16) & 0xff, e >>> 24]);
    loader.pointer(TABLES_FILE, TABLES_FILE, rsdt + 36 + 4 * i, 4);
  });
  loader.checksum(TABLES_FILE, rsdt, rsdtLength);

  // RSDP (ACPI 1.0, 20 bytes) in the F segment, pointing at the RSDT.
  const rsdp = new Uint8Array([...ascii("RSD PTR "), 0, ...ascii(OEM_ID), 0, rsdt & 0xff, (rsdt >> 8) & 0xff, (rsdt >> 16) & 0xff, rsdt >>> 24]);
  loader.allocate(RSDP_FILE, 16, ZONE_FSEG);
  loader.pointer(RSDP_FILE, TABLES_FILE, 16, 4);
  loader.checksum(RSDP_FILE, 0, 20, 8);
  return { tables: blob, rsdp, loader: loader.bytes };
}

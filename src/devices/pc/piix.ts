// The PIIX3/PIIX4 functions of QEMU 7.2's pc board at 00:01 (hw/isa/piix3.c, hw/ide/piix.c, hw/acpi/piix4.c):
//   .0 PIIX3 PCI-to-ISA bridge 8086:7000 (multi-function): PIRQA–D routing at 0x60–0x63 (0x80: disabled).
//      No PCI device here raises INTx yet, so the routing is kept and read back only.
//   .1 PIIX3 IDE 8086:7010, legacy mode (prog-if 0x80): BAR4 the 16 bus-master DMA ports. Both channels are
//      empty: the legacy ports (0x1f0–0x1f7/0x3f6, 0x170–0x177/0x376) read 0, as QEMU's IDE bus without drives.
//   .3 PIIX4 power management 8086:7113 rev 3: PMBASE (0x40, bit 0 reads 1) and its enable (0x80 bit 0) map the
//      64 PM ports (PM1a status/enable/control, the PM timer at +8); SMBus base 0x90 / enable 0xd2 (no SMBus
//      controller behind it yet); interrupt pin A. SMM is off (QEMU's smm=off): 0x5b bit 1 says "SMM already set
//      up", so SeaBIOS does not try to relocate SMBASE, and APM (0xb2/0xb3) writes raise no SMI.

import type { PortHandler, PortSpace } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";
import type { AcpiPmTimer } from "./acpi-pm-timer.js";
import { mapIfFree, PciFunction } from "./pci.js";

const PIIX_DEVICE = 1;

const RCR_STATE: StateDescription<Piix3ResetControl> = { version: 1, fields: [field.u8("rcr", { max: 2 })] };

/**
 * PIIX3's reset control register (port 0xCF9, QEMU rcr_write): bit 2 requests a reset (of the kind bit 1
 * chooses, which QEMU does not distinguish); only bit 1 is kept.
 */
export class Piix3ResetControl implements Stateful {
  readonly stateName = "piix3-rcr";
  readonly stateVersion = RCR_STATE.version;
  rcr = 0;
  readonly port: PortHandler;

  constructor(requestReset: () => void) {
    this.port = {
      read: () => this.rcr,
      write: (_o, _s, v) => {
        if (v & 4) requestReset();
        else this.rcr = v & 2;
      },
    };
  }

  reset(): void {
    this.rcr = 0;
  }

  saveState(): StateFields {
    return saveDescribed(RCR_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(RCR_STATE, this, f, version, this.stateName);
  }
}

export function createPiix3Isa(ports: PortSpace): PciFunction {
  return new PciFunction(
    {
      name: "piix3",
      device: PIIX_DEVICE,
      function: 0,
      vendorId: 0x8086,
      deviceId: 0x7000,
      revision: 0x00,
      classCode: 0x060100,
      headerType: 0x80,
      // piix3_reset
      reset: [
        [0x04, 0x07, 0x00, 0x00, 0x02],
        [0x4c, 0x4d, 0x00, 0x03, 0x00],
        [0x60, 0x80, 0x80, 0x80, 0x80],
        [0x69, 0x02],
        [0x70, 0x80],
        [0x76, 0x0c, 0x0c, 0x02, 0x00],
        [0xa0, 0x08],
        [0xa8, 0x0f],
      ],
    },
    ports,
  );
}

/** The IDE function's 16 bus-master registers (two channels of command, status, PRD address). */
export class PiixBmdma implements Stateful {
  readonly stateName = "piix3-ide-bmdma";
  readonly stateVersion = 1;
  readonly regs = new Uint8Array(16);
  readonly ports: PortHandler = {
    read: (off, size) => {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.regs[off + i] << (8 * i);
      return v >>> 0;
    },
    write: (off, size, v) => {
      for (let i = 0; i < size; i++) this.writeByte(off + i, (v >>> (8 * i)) & 0xff);
    },
  };

  private writeByte(at: number, b: number): void {
    const r = at & 7;
    if (r === 0) this.regs[at] = b & 0x09; // start/stop, read/write
    else if (r === 2) this.regs[at] = (this.regs[at] & ~0x60 & ~(b & 0x06)) | (b & 0x60); // drive DMA capable; error/irq W1C
    else if (r >= 4) this.regs[at] = r === 4 ? b & 0xfc : b; // PRD table address, dword aligned
  }

  saveState(): StateFields {
    return saveDescribed(BMDMA_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(BMDMA_STATE, this, f, version, this.stateName);
  }
}
const BMDMA_STATE: StateDescription<PiixBmdma> = { version: 1, fields: [field.u8s("regs", 16)] };

/** An IDE channel without drives: every register reads 0, writes are ignored (QEMU ide_ioport_read). */
export const EMPTY_IDE_PORTS: PortHandler = { read: () => 0, write: () => {} };

export function createPiix3Ide(ports: PortSpace, bmdma: PiixBmdma): PciFunction {
  return new PciFunction(
    {
      name: "piix3-ide",
      device: PIIX_DEVICE,
      function: 1,
      vendorId: 0x8086,
      deviceId: 0x7010,
      revision: 0x00,
      classCode: 0x010180,
      headerType: 0x00,
      reset: [[0x06, 0x80, 0x02]], // status: fast back-to-back, medium DEVSEL
      bars: [{ index: 4, size: 16, kind: "io", ports: bmdma.ports }],
    },
    ports,
  );
}

export function mapEmptyIde(ports: PortSpace): void {
  ports.map("ide0", 0x1f0, 8, EMPTY_IDE_PORTS);
  ports.map("ide0-ctrl", 0x3f6, 1, EMPTY_IDE_PORTS);
  ports.map("ide1", 0x170, 8, EMPTY_IDE_PORTS);
  ports.map("ide1-ctrl", 0x376, 1, EMPTY_IDE_PORTS);
}

const PM_STATE: StateDescription<PiixPmRegisters> = {
  version: 1,
  fields: [field.u16("pm1Status"), field.u16("pm1Enable"), field.u16("pm1Control"), field.u8("apmControl"), field.u8("apmStatus")],
};

/** The PM function's own registers outside config space: PM1a event/control and APM. */
export class PiixPmRegisters implements Stateful {
  readonly stateName = "piix4-pm-regs";
  readonly stateVersion = PM_STATE.version;
  pm1Status = 0;
  pm1Enable = 0;
  pm1Control = 0;
  apmControl = 0;
  apmStatus = 0;
  readonly pmPorts: PortHandler;
  readonly apmPorts: PortHandler;

  constructor(timer: AcpiPmTimer) {
    const reg16 = (off: number): number => (off === 0 ? this.pm1Status : off === 2 ? this.pm1Enable : off === 4 ? this.pm1Control : 0xffff);
    this.pmPorts = {
      read: (off, size) => {
        if (off >= 8 && off < 12) return timer.ports.read(off - 8, size);
        if (off < 6 && size <= 2 && (off & 1) === 0) return reg16(off) & (size === 1 ? 0xff : 0xffff);
        return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
      },
      write: (off, size, v) => {
        if (size === 4 || (off & 1) !== 0) return;
        // acpi_pm1_evt_write_sts / _en / acpi_pm1_cnt_write (sleep requests not modelled: SLP_EN reads 0).
        if (off === 0) this.pm1Status &= ~v;
        else if (off === 2) this.pm1Enable = v & 0xffff;
        else if (off === 4) this.pm1Control = v & ~0x2000 & 0xffff;
      },
    };
    this.apmPorts = {
      read: (off) => (off === 0 ? this.apmControl : this.apmStatus),
      write: (off, _size, v) => {
        if (off === 0) {
          this.apmControl = v & 0xff;
          // ACPI enable / disable commands set / clear SCI_EN (ACPI 3.0 §4.7.2.5, QEMU apm_ctrl_changed).
          if (v === 0xf1) this.pm1Control |= 1;
          else if (v === 0xf0) this.pm1Control &= ~1;
        } else this.apmStatus = v & 0xff;
      },
    };
  }

  saveState(): StateFields {
    return saveDescribed(PM_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PM_STATE, this, f, version, this.stateName);
  }
}

export function createPiix4Pm(ports: PortSpace, regs: PiixPmRegisters, options: { smbusBase?: number; com1?: boolean; lpt1?: boolean } = {}): PciFunction {
  const smb = options.smbusBase ?? 0xb100;
  const f = new PciFunction(
    {
      name: "piix4-pm",
      device: PIIX_DEVICE,
      function: 3,
      vendorId: 0x8086,
      deviceId: 0x7113,
      revision: 0x03,
      classCode: 0x068000,
      headerType: 0x00,
      interruptPin: 1,
      // piix4_pm_realize / piix4_reset / piix4_pm_machine_ready (device presence bits of 0x5f and 0x67)
      reset: [
        [0x06, 0x80, 0x02],
        [0x40, 0x01],
        [0x5b, 0x02],
        [0x5f, 0x10 | (options.lpt1 ? 0x80 : 0)],
        [0x63, 0x60],
        [0x67, options.com1 ? 0x08 : 0],
        [0x90, (smb & 0xff) | 1, smb >> 8],
        [0xd2, 0x09],
      ],
    },
    ports,
  );
  let mappedAt = -1;
  // pm_io_space_update: PMBASE & 0xffc0, enabled by 0x80 bit 0.
  const update = () => {
    const base = f.read(0x40, 4) & 0xffc0;
    const want = f.config[0x80] & 1 ? base : -1;
    if (want === mappedAt) return;
    if (mappedAt >= 0) ports.unmap("piix4-pm-io");
    mappedAt = want >= 0 && mapIfFree(ports, "piix4-pm-io", want, 64, regs.pmPorts) ? want : -1;
  };
  f.onWrite = (offset, size) => {
    if (PciFunction.touches(offset, size, 0x40, 4) || PciFunction.touches(offset, size, 0x80)) update();
  };
  f.onRefresh = update;
  return f;
}

export function mapApm(ports: PortSpace, regs: PiixPmRegisters): void {
  ports.map("apm", 0xb2, 2, regs.apmPorts);
}

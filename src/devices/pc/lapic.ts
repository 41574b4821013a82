// A minimal local APIC at 0xFEE00000 for one CPU, as far as SeaBIOS uses it (QEMU 7.2 hw/intc/apic.c register
// layout and reset values): ID, version (0x14, 6 LVT entries), TPR, LDR/DFR, SVR, ESR, the LVT entries, ICR and
// the timer's registers, kept and read back. Interprocessor interrupts go nowhere: there are no other CPUs, so
// INIT and SIPI to "all excluding self" are dropped, and the delivery-status bit reads idle at once.
// The 8259's INTR reaches the CPU through LINT0 (`acceptsPicInterrupt`): only while LINT0 is unmasked in ExtINT
// mode, or the APIC is disabled in its base MSR — as QEMU 7.2's apic_accept_pic_intr. After reset LINT0 is masked
// (QEMU dropped the BSP's ExtINT reset value in 2.7): the BIOS programs it (SeaBIOS: 0x8700).
// Not modelled: the APIC timer, other LINT0 delivery modes, the APIC base MSR moving the window.

import type { MmioHandler } from "../../core/memory.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

export const LAPIC_BASE = 0xfee00000;
/** QEMU maps the APIC window 1 MiB wide (the MSI area follows it). */
export const LAPIC_WINDOW = 0x100000;
const LVT_COUNT = 6; // timer, thermal, performance, LINT0, LINT1, error
const LVT_MASKED = 0x10000;
const LINT0 = 3;
const LINT1 = 4;
const DELIVERY_EXTINT = 7;

const STATE: StateDescription<LocalApic> = {
  version: 1,
  fields: [
    field.u8("id"),
    field.u8("tpr"),
    field.u32("ldr"),
    field.u32("dfr"),
    field.u32("svr"),
    field.u32("esr"),
    field.u32s("lvt", LVT_COUNT),
    field.u32("icrLow"),
    field.u32("icrHigh"),
    field.u32("timerInitial"),
    field.u32("timerDivide"),
  ],
};

/** LVT register offset → index in `lvt` (QEMU's APIC_LVT_* order). */
const LVT_OFFSETS: Record<number, number> = { 0x32: 0, 0x33: 1, 0x34: 2, 0x35: 3, 0x36: 4, 0x37: 5 };

export class LocalApic implements Stateful {
  readonly stateName = "lapic";
  readonly stateVersion = STATE.version;
  id = 0;
  tpr = 0;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0xff;
  esr = 0;
  readonly lvt = new Uint32Array(LVT_COUNT);
  icrLow = 0;
  icrHigh = 0;
  timerInitial = 0;
  timerDivide = 0;
  readonly mmio: MmioHandler;

  constructor() {
    this.reset();
    this.mmio = {
      read: (off, size) => {
        const v = this.readRegister(off >>> 4);
        return size === 4 ? v >>> 0 : (v >>> (8 * (off & 3))) & (size === 1 ? 0xff : 0xffff);
      },
      write: (off, size, v) => {
        if (size === 4 && (off & 0xf) === 0) this.writeRegister(off >>> 4, v >>> 0);
      },
    };
  }

  /** apic_reset_common / apic_init_reset: every LVT masked. */
  /** Whether the 8259's INTR gets to the CPU: the APIC disabled (base MSR bit 11), or LINT0 unmasked ExtINT. */
  acceptsPicInterrupt(apicEnabled: boolean): boolean {
    const lint0 = this.lvt[LINT0];
    return !apicEnabled || ((lint0 & LVT_MASKED) === 0 && ((lint0 >>> 8) & 7) === DELIVERY_EXTINT);
  }

  /** LINT0 and LINT1 as a BIOS leaves them (SeaBIOS: ExtINT and NMI, level; the APIC software-enabled). */
  programVirtualWire(): void {
    this.svr |= 0x100;
    this.lvt[LINT0] = 0x8700;
    this.lvt[LINT1] = 0x8400;
  }

  reset(): void {
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = 0;
    this.lvt.fill(LVT_MASKED);
    this.icrLow = 0;
    this.icrHigh = 0;
    this.timerInitial = 0;
    this.timerDivide = 0;
  }

  private readRegister(index: number): number {
    const lvt = LVT_OFFSETS[index];
    if (lvt !== undefined) return this.lvt[lvt];
    switch (index) {
      case 0x02:
        return this.id << 24;
      case 0x03:
        return 0x14 | ((LVT_COUNT - 1) << 16);
      case 0x08:
        return this.tpr;
      case 0x0a:
        return this.tpr & 0xf0; // processor priority: nothing in service
      case 0x0d:
        return this.ldr;
      case 0x0e:
        return this.dfr;
      case 0x0f:
        return this.svr;
      case 0x28:
        return this.esr;
      case 0x30:
        return this.icrLow & ~0x1000; // delivery status: idle
      case 0x31:
        return this.icrHigh;
      case 0x38:
        return this.timerInitial;
      case 0x39:
        return 0; // current count: the timer is not running
      case 0x3e:
        return this.timerDivide;
      default:
        return 0; // ISR, TMR, IRR, EOI, reserved
    }
  }

  private writeRegister(index: number, v: number): void {
    const lvt = LVT_OFFSETS[index];
    if (lvt !== undefined) {
      // Stored as written, as QEMU does (the SDM would keep the mask set while the APIC is software-disabled).
      this.lvt[lvt] = v;
      return;
    }
    switch (index) {
      case 0x02:
        this.id = v >>> 24;
        break;
      case 0x08:
        this.tpr = v & 0xff;
        break;
      case 0x0d:
        this.ldr = v & 0xff000000;
        break;
      case 0x0e:
        this.dfr = (v | 0x0fffffff) >>> 0;
        break;
      case 0x0f:
        this.svr = v & 0x1ff;
        break;
      case 0x28:
        this.esr = 0;
        break;
      case 0x30:
        this.icrLow = v; // an IPI to CPUs that do not exist: nothing happens
        break;
      case 0x31:
        this.icrHigh = v & 0xff000000;
        break;
      case 0x38:
        this.timerInitial = v;
        break;
      case 0x3e:
        this.timerDivide = v & 0xb;
        break;
    }
  }

  saveState(): StateFields {
    return saveDescribed(STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(STATE, this, f, version, this.stateName);
  }
}

// Arm GICv2 for one CPU, with the behaviour of QEMU 7.2's hw/intc/arm_gic.c as the virt board builds it:
// revision 2, num-irq 288 (32 private + 256 SPIs), no security extensions, no virtualization extensions,
// 8 priority bits.
//
// QEMU behaviours kept on purpose:
// - Without the security extensions every access behaves as a Secure access: IGROUPR is read/write, GICC_CTLR
//   has EnableGrp0/EnableGrp1/AckCtl/FIQEn/CBPR/EOImode, Group 1 interrupts are acknowledged as 1022 unless
//   AckCtl is set, Group 0 interrupts signal FIQ when FIQEn is set. Everything resets to Group 0.
// - Level-sensitive interrupts are pending while their input is high (or while a GICD_ISPENDR write latched them);
//   acknowledging clears only the latch, so a line still high makes the interrupt pending again (active and
//   pending until EOI). An active interrupt is never chosen as the highest pending one.
// - ITARGETSR is RAZ/WI (uniprocessor GIC). SGIs are always enabled and edge-triggered; PPI and SPI trigger
//   modes are programmable. GICD_SGIR target lists only reach CPU 0; filter 3 (reserved) acts as "all".
// - AIAR/AEOIR/AHPPIR are not implemented by QEMU's GIC: they read as zero and ignore writes.
// - The distributor decodes 0x000-0xFFF and the CPU interface 0x0000-0x1FFF (GICC_DIR at 0x1000); anything
//   else in the window the board maps reads as zero.

import type { IrqController } from "../core/irq.js";
import type { MmioHandler } from "../core/memory.js";
import type { StateFields, Stateful } from "../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../core/vmstate.js";

export const GIC_NUM_IRQ = 288;
export const GIC_DIST_SIZE = 0x1000;
export const GIC_CPU_SIZE = 0x2000;
export const GIC_SPURIOUS = 1023;

const WORDS = GIC_NUM_IRQ / 32;
const NR_SGIS = 16;
const NR_INTERNAL = 32;
/** The first INTID that is not an interrupt (1020..1023 are special). */
const MAX_IRQ = 1020;
/** Number of active-priority registers (128 preemption levels with a minimum binary point of 0). */
const NR_APRS = 4;
const IDLE_PRIORITY = 0x100;
const MIN_BPR = 0;
const MIN_ABPR = MIN_BPR + 1;

const GICD_CTLR_EN_GRP0 = 1;
const GICD_CTLR_EN_GRP1 = 2;
const GICC_CTLR_EN_GRP0 = 1 << 0;
const GICC_CTLR_EN_GRP1 = 1 << 1;
const GICC_CTLR_ACK_CTL = 1 << 2;
const GICC_CTLR_FIQ_EN = 1 << 3;
const GICC_CTLR_CBPR = 1 << 4;
const GICC_CTLR_EOIMODE = 1 << 9;
/** Writable GICC_CTLR bits of a GICv2 without the security extensions. */
const GICC_CTLR_V2_MASK = 0x21f;

/** GICD_TYPER: ITLinesNumber = 288/32 - 1, CPUNumber = 0, SecurityExtn = 0. */
const GICD_TYPER = GIC_NUM_IRQ / 32 - 1;
const GICD_IIDR = 0x0000043b;
/** GICC_IIDR: architecture version 2, Arm implementer. */
const GICC_IIDR = (2 << 16) | 0x43b;
/** Peripheral/component ID bytes at GICD 0xFD0..0xFFC. */
const GICD_ID = [0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/** The CPU's interrupt inputs. */
export type GicOutput = (irq: boolean, fiq: boolean) => void;

function bit(map: Uint32Array, irq: number): boolean {
  return (map[irq >>> 5] & (1 << (irq & 31))) !== 0;
}
function setBit(map: Uint32Array, irq: number): void {
  map[irq >>> 5] |= 1 << (irq & 31);
}
function clearBit(map: Uint32Array, irq: number): void {
  map[irq >>> 5] &= ~(1 << (irq & 31));
}

const bitmap = (name: string) => field.u32s(name, WORDS);
const GIC_STATE: StateDescription<GicV2> = {
  version: 1,
  fields: [
    field.u32("ctlr", { check: (v: number) => (v & ~(GICD_CTLR_EN_GRP0 | GICD_CTLR_EN_GRP1) ? `GICD_CTLR 0x${v.toString(16)} has undefined bits` : undefined) }),
    bitmap("enabled"),
    bitmap("pending"),
    bitmap("active"),
    bitmap("level"),
    bitmap("edgeTrigger"),
    bitmap("group"),
    field.u8s("priority", GIC_NUM_IRQ),
    field.u8s("sgiPending", NR_SGIS),
    field.u32("cpuCtlr", { check: (v: number) => (v & ~GICC_CTLR_V2_MASK ? `GICC_CTLR 0x${v.toString(16)} has undefined bits` : undefined) }),
    field.u32("priorityMask", { max: 0xff }),
    field.u32("bpr", { max: 7 }),
    field.u32("abpr", { max: 7 }),
    field.u32("runningPriority", { max: IDLE_PRIORITY }),
    field.u32s("apr", NR_APRS),
    field.u32s("nsapr", NR_APRS),
  ],
  validate: (v) => {
    if ((v.enabled[0] & 0xffff) !== 0xffff) return "SGIs cannot be disabled";
    if ((v.edgeTrigger[0] & 0xffff) !== 0xffff) return "SGIs cannot be level-sensitive";
    if ((v.level[0] & 0xffff) !== 0) return "SGIs have no input line to be high";
    for (let i = 0; i < NR_SGIS; i++)
      if ((v.sgiPending[i] !== 0) !== bit(v.pending, i)) return `SGI ${i} pending state disagrees with its source CPUs`;
    if (v.abpr < MIN_ABPR) return `binary points ${v.bpr}/${v.abpr} are out of range`;
    return undefined;
  },
  // The CPU does not save its interrupt inputs: drive them from the restored state.
  postLoad: (gic) => gic.syncOutputs(),
};

export class GicV2 implements IrqController, Stateful {
  readonly stateVersion = GIC_STATE.version;
  /** MMIO handler for the distributor (GICD_*), mapped at 0x0800_0000 on virt. */
  readonly distributor: MmioHandler;
  /** MMIO handler for the CPU interface (GICC_*), mapped at 0x0801_0000 on virt. */
  readonly cpuInterface: MmioHandler;

  // Per-interrupt state as bitmaps (bit n = INTID n).
  private readonly enabled = new Uint32Array(WORDS);
  /** Pending latch: edges, GICD_ISPENDR writes, SGIs. Level interrupts are also pending while `level` is high. */
  private readonly pending = new Uint32Array(WORDS);
  private readonly active = new Uint32Array(WORDS);
  /** Input line levels (PPIs and SPIs). */
  private readonly level = new Uint32Array(WORDS);
  private readonly edgeTrigger = new Uint32Array(WORDS);
  /** 1 = Group 1. */
  private readonly group = new Uint32Array(WORDS);
  private readonly priority = new Uint8Array(GIC_NUM_IRQ);
  /** Per SGI: bitmap of source CPUs it is pending from. */
  private readonly sgiPending = new Uint8Array(NR_SGIS);

  private ctlr = 0;
  private cpuCtlr = 0;
  private priorityMask = 0;
  private bpr = MIN_BPR;
  private abpr = MIN_ABPR;
  private runningPriority = IDLE_PRIORITY;
  /** Highest priority pending interrupt above the priority mask, or 1023; recomputed by update(). */
  private currentPending = GIC_SPURIOUS;
  private readonly apr = new Uint32Array(NR_APRS);
  private readonly nsapr = new Uint32Array(NR_APRS);

  private irqOut = false;
  private fiqOut = false;

  constructor(
    private readonly output: GicOutput,
    readonly stateName = "gic@8000000",
  ) {
    this.distributor = {
      read: (offset, size) => this.distRead(offset, size),
      write: (offset, size, value) => this.distWrite(offset, size, value),
    };
    this.cpuInterface = {
      read: (offset) => this.cpuRead(offset),
      write: (offset, _size, value) => this.cpuWrite(offset, value >>> 0),
    };
    this.reset();
  }

  /**
   * Device reset as QEMU's arm_gic_common_reset_hold. Input line levels are kept: they are wires driven by
   * the devices, which do not re-signal an unchanged level (QEMU clears them and relies on devices re-driving).
   * QEMU also leaves the active priority registers untouched; so does this.
   */
  reset(): void {
    for (const m of [this.enabled, this.pending, this.active, this.edgeTrigger, this.group]) m.fill(0);
    this.priority.fill(0);
    this.sgiPending.fill(0);
    this.enabled[0] |= 0xffff; // SGIs are permanently enabled and edge-triggered
    this.edgeTrigger[0] |= 0xffff;
    this.ctlr = 0;
    this.cpuCtlr = 0;
    this.priorityMask = 0;
    this.bpr = MIN_BPR;
    this.abpr = MIN_ABPR;
    this.runningPriority = IDLE_PRIORITY;
    this.currentPending = GIC_SPURIOUS;
    this.update(true);
  }

  // ---- interrupt inputs ------------------------------------------------------------------------------------

  /** Drives a PPI (INTID 16..31) or SPI (INTID 32..287) input line. */
  setIrqLevel(intid: number, high: boolean): void {
    if (!Number.isInteger(intid) || intid < NR_SGIS || intid >= GIC_NUM_IRQ)
      throw new RangeError(`GIC input ${intid} does not exist (PPIs are 16..31, SPIs 32..${GIC_NUM_IRQ - 1})`);
    if (high === bit(this.level, intid)) return;
    if (high) {
      setBit(this.level, intid);
      if (bit(this.edgeTrigger, intid)) setBit(this.pending, intid);
    } else {
      clearBit(this.level, intid);
    }
    this.update();
  }

  /** Current level of the CPU's IRQ and FIQ inputs as driven by this GIC. */
  get outputs(): { irq: boolean; fiq: boolean } {
    return { irq: this.irqOut, fiq: this.fiqOut };
  }

  // ---- core state machine --------------------------------------------------------------------------------

  private isPending(irq: number): boolean {
    return bit(this.pending, irq) || (!bit(this.edgeTrigger, irq) && bit(this.level, irq));
  }

  /** Recomputes the highest priority pending interrupt and the CPU's IRQ/FIQ lines. */
  private update(force = false): void {
    let irq = false;
    let fiq = false;
    this.currentPending = GIC_SPURIOUS;
    const anyGroup = GICD_CTLR_EN_GRP0 | GICD_CTLR_EN_GRP1;
    if (this.ctlr & anyGroup && this.cpuCtlr & anyGroup) {
      let bestIrq = GIC_SPURIOUS;
      let bestPrio = IDLE_PRIORITY;
      for (let w = 0; w < WORDS; w++) {
        // Candidates: enabled, pending (latched, or a level-sensitive line that is high) and not active.
        let cand = this.enabled[w] & (this.pending[w] | (this.level[w] & ~this.edgeTrigger[w])) & ~this.active[w];
        while (cand !== 0) {
          const b = 31 - Math.clz32(cand & -cand);
          cand &= cand - 1;
          const n = w * 32 + b;
          if (this.priority[n] < bestPrio) {
            bestPrio = this.priority[n];
            bestIrq = n;
          }
        }
      }
      if (bestPrio < this.priorityMask) {
        this.currentPending = bestIrq;
        if (bestPrio < this.runningPriority) {
          const grp = bit(this.group, bestIrq) ? 1 : 0;
          if (this.ctlr & (1 << grp) && this.cpuCtlr & (1 << grp)) {
            if (grp === 0 && this.cpuCtlr & GICC_CTLR_FIQ_EN) fiq = true;
            else irq = true;
          }
        }
      }
    }
    if (force || irq !== this.irqOut || fiq !== this.fiqOut) {
      this.irqOut = irq;
      this.fiqOut = fiq;
      this.output(irq, fiq);
    }
  }

  /** GICC_HPPIR / the interrupt GICC_IAR would acknowledge, filtered by group as a Secure access sees it. */
  private currentPendingIrq(): number {
    const irq = this.currentPending;
    if (irq < MAX_IRQ && bit(this.group, irq) && !(this.cpuCtlr & GICC_CTLR_ACK_CTL)) return 1022;
    return irq;
  }

  private groupPriority(irq: number): number {
    const bpr = !(this.cpuCtlr & GICC_CTLR_CBPR) && bit(this.group, irq) ? this.abpr - 1 : this.bpr;
    return this.priority[irq] & ((~0 << ((bpr & 7) + 1)) & 0xff);
  }

  private prioFromAprBits(): number {
    for (let i = 0; i < NR_APRS; i++) {
      const a = this.apr[i] | this.nsapr[i];
      if (a === 0) continue;
      return (i * 32 + (31 - Math.clz32(a & -a))) << (MIN_BPR + 1);
    }
    return IDLE_PRIORITY;
  }

  private acknowledge(): number {
    const irq = this.currentPendingIrq();
    if (irq >= MAX_IRQ) return irq;
    if (this.priority[irq] >= this.runningPriority) return GIC_SPURIOUS;

    // Activate: record the preemption level in the active priority registers and raise the running priority.
    const prio = this.groupPriority(irq);
    const level = prio >> (MIN_BPR + 1);
    const aprs = bit(this.group, irq) ? this.nsapr : this.apr;
    aprs[level >> 5] |= 1 << (level & 31);
    this.runningPriority = prio;
    setBit(this.active, irq);

    let ret = irq;
    if (irq < NR_SGIS) {
      // Report (and retire) the lowest-numbered source CPU; the SGI stays pending while other sources remain.
      const sources = this.sgiPending[irq];
      const src = sources === 0 ? 0 : 31 - Math.clz32(sources & -sources);
      this.sgiPending[irq] = sources & ~(1 << src);
      if (this.sgiPending[irq] === 0) clearBit(this.pending, irq);
      ret = irq | ((src & 7) << 10);
    } else {
      clearBit(this.pending, irq); // a level-sensitive line that is still high keeps it pending
    }
    this.update();
    return ret;
  }

  private eoiSplit(): boolean {
    return (this.cpuCtlr & GICC_CTLR_EOIMODE) !== 0;
  }

  private endOfInterrupt(irq: number): void {
    if (irq >= GIC_NUM_IRQ) return; // spurious or non-existent: ignored
    if (this.runningPriority === IDLE_PRIORITY) return; // nothing active
    // Priority drop: clear the lowest set bit (highest active priority) of this group's APRs.
    const aprs = bit(this.group, irq) ? this.nsapr : this.apr;
    for (let i = 0; i < NR_APRS; i++) {
      if (aprs[i] === 0) continue;
      aprs[i] &= aprs[i] - 1;
      break;
    }
    this.runningPriority = this.prioFromAprBits();
    if (!this.eoiSplit()) clearBit(this.active, irq);
    this.update();
  }

  private deactivate(irq: number): void {
    if (irq >= GIC_NUM_IRQ) return;
    if (!this.eoiSplit()) return; // GICC_DIR with EOImode 0 is UNPREDICTABLE; QEMU ignores it
    clearBit(this.active, irq);
  }

  // ---- distributor ---------------------------------------------------------------------------------------

  private distRead(offset: number, size: number): number {
    if (size === 1) return this.distReadByte(offset);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.distReadByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  /** One byte of the distributor, as QEMU composes every access from byte reads. */
  private distReadByte(offset: number): number {
    if (offset < 0x100) {
      if (offset === 0) return this.ctlr;
      if (offset === 4) return GICD_TYPER & 0xff;
      if (offset === 5) return (GICD_TYPER >> 8) & 0xff;
      if (offset === 8) return GICD_IIDR & 0xff;
      if (offset === 9) return (GICD_IIDR >> 8) & 0xff;
      if (offset < 0x0c) return 0;
      if (offset >= 0x80) return this.bitmapByte(this.group, (offset - 0x80) * 8);
      return 0;
    }
    if (offset < 0x200) return this.bitmapByte(this.enabled, ((offset - 0x100) & 0x7f) * 8);
    if (offset < 0x300) {
      const irq = ((offset - 0x200) & 0x7f) * 8;
      if (irq >= GIC_NUM_IRQ) return 0;
      let v = 0;
      for (let i = 0; i < 8; i++) if (this.isPending(irq + i)) v |= 1 << i;
      return v;
    }
    if (offset < 0x400) return this.bitmapByte(this.active, ((offset - 0x300) & 0x7f) * 8);
    if (offset < 0x800) {
      const irq = offset - 0x400;
      return irq < GIC_NUM_IRQ ? this.priority[irq] : 0;
    }
    if (offset < 0xc00) return 0; // ITARGETSR: RAZ/WI on a uniprocessor GIC
    if (offset < 0xf00) {
      const irq = (offset - 0xc00) * 4;
      if (irq >= GIC_NUM_IRQ) return 0;
      let v = 0;
      for (let i = 0; i < 4; i++) if (bit(this.edgeTrigger, irq + i)) v |= 2 << (i * 2);
      return v;
    }
    if (offset < 0xf10) return 0; // GICD_SGIR is write-only
    if (offset < 0xf30) return this.sgiPending[(offset - 0xf10) & 0xf]; // CPENDSGIR / SPENDSGIR
    if (offset >= 0xfd0 && offset < 0x1000) return offset & 3 ? 0 : GICD_ID[(offset - 0xfd0) >> 2];
    return 0;
  }

  /** Eight bits of a per-interrupt bitmap starting at `irq` (a multiple of 8); 0 beyond the last interrupt. */
  private bitmapByte(map: Uint32Array, irq: number): number {
    if (irq >= GIC_NUM_IRQ) return 0;
    return (map[irq >>> 5] >>> (irq & 31)) & 0xff;
  }

  private distWrite(offset: number, size: number, value: number): void {
    if (size === 4 && offset === 0xf00) {
      this.writeSgir(value >>> 0);
    } else {
      for (let i = 0; i < size; i++) this.distWriteByte(offset + i, (value >>> (8 * i)) & 0xff);
    }
    this.update();
  }

  private distWriteByte(offset: number, value: number): void {
    if (offset < 0x100) {
      if (offset === 0) this.ctlr = value & (GICD_CTLR_EN_GRP0 | GICD_CTLR_EN_GRP1);
      else if (offset >= 0x80) this.writeBitmapByte(this.group, (offset - 0x80) * 8, value);
      return;
    }
    if (offset < 0x180) {
      const irq = (offset - 0x100) * 8;
      this.setBitsByte(this.enabled, irq, irq < NR_SGIS ? 0xff : value);
      return;
    }
    if (offset < 0x200) {
      const irq = (offset - 0x180) * 8;
      if (irq >= NR_SGIS) this.clearBitsByte(this.enabled, irq, value);
      return;
    }
    if (offset < 0x280) {
      const irq = (offset - 0x200) * 8;
      if (irq >= NR_SGIS) this.setBitsByte(this.pending, irq, value); // SGIs are set pending via SPENDSGIR
      return;
    }
    if (offset < 0x300) {
      const irq = (offset - 0x280) * 8;
      if (irq >= NR_SGIS) this.clearBitsByte(this.pending, irq, value);
      return;
    }
    if (offset < 0x380) {
      this.setBitsByte(this.active, (offset - 0x300) * 8, value);
      return;
    }
    if (offset < 0x400) {
      this.clearBitsByte(this.active, (offset - 0x380) * 8, value);
      return;
    }
    if (offset < 0x800) {
      const irq = offset - 0x400;
      if (irq < GIC_NUM_IRQ) this.priority[irq] = value; // all 8 priority bits are implemented
      return;
    }
    if (offset < 0xc00) return; // ITARGETSR: RAZ/WI
    if (offset < 0xf00) {
      const irq = (offset - 0xc00) * 4;
      if (irq >= GIC_NUM_IRQ) return;
      if (irq < NR_SGIS) value |= 0xaa; // SGIs stay edge-triggered
      for (let i = 0; i < 4; i++) {
        if (value & (2 << (i * 2))) setBit(this.edgeTrigger, irq + i);
        else clearBit(this.edgeTrigger, irq + i);
      }
      return;
    }
    if (offset < 0xf10) return; // GICD_SGIR only takes 32-bit writes
    if (offset < 0xf20) {
      const sgi = offset - 0xf10;
      this.sgiPending[sgi] &= ~value;
      if (this.sgiPending[sgi] === 0) clearBit(this.pending, sgi);
      return;
    }
    if (offset < 0xf30) {
      const sgi = offset - 0xf20;
      if (value === 0) return; // no source named: nothing becomes pending
      this.sgiPending[sgi] |= value;
      setBit(this.pending, sgi);
    }
  }

  private setBitsByte(map: Uint32Array, irq: number, value: number): void {
    if (irq >= GIC_NUM_IRQ) return;
    map[irq >>> 5] |= (value & 0xff) << (irq & 31);
  }
  private clearBitsByte(map: Uint32Array, irq: number, value: number): void {
    if (irq >= GIC_NUM_IRQ) return;
    map[irq >>> 5] &= ~((value & 0xff) << (irq & 31));
  }
  private writeBitmapByte(map: Uint32Array, irq: number, value: number): void {
    if (irq >= GIC_NUM_IRQ) return;
    const shift = irq & 31;
    map[irq >>> 5] = (map[irq >>> 5] & ~(0xff << shift)) | ((value & 0xff) << shift);
  }

  /** GICD_SGIR: only CPU 0 exists, and it is the requester (source 0). */
  private writeSgir(value: number): void {
    const sgi = value & 0xf;
    const filter = (value >>> 24) & 3;
    const targets = (value >>> 16) & 0xff;
    const toSelf = filter === 0 ? (targets & 1) !== 0 : filter !== 1; // 1: all but self; 2: self; 3: QEMU: all
    if (!toSelf) return;
    setBit(this.pending, sgi);
    this.sgiPending[sgi] |= 1;
  }

  // ---- CPU interface -------------------------------------------------------------------------------------

  private cpuRead(offset: number): number {
    switch (offset) {
      case 0x00:
        return this.cpuCtlr;
      case 0x04:
        return this.priorityMask;
      case 0x08:
        return this.bpr;
      case 0x0c:
        return this.acknowledge();
      case 0x14:
        return this.runningPriority > 0xff ? 0xff : this.runningPriority;
      case 0x18:
        return this.currentPendingIrq();
      case 0x1c:
        return this.abpr;
      case 0xd0:
      case 0xd4:
      case 0xd8:
      case 0xdc:
        return this.apr[(offset - 0xd0) >> 2];
      case 0xe0:
      case 0xe4:
      case 0xe8:
      case 0xec:
        return this.nsapr[(offset - 0xe0) >> 2];
      case 0xfc:
        return GICC_IIDR;
      default:
        return 0; // EOIR and DIR are write-only; AIAR/AEOIR/AHPPIR are not implemented (as in QEMU)
    }
  }

  private cpuWrite(offset: number, value: number): void {
    switch (offset) {
      case 0x00:
        this.cpuCtlr = value & GICC_CTLR_V2_MASK;
        break;
      case 0x04:
        this.priorityMask = value & 0xff;
        break;
      case 0x08:
        this.bpr = Math.max(value & 7, MIN_BPR);
        break;
      case 0x10:
        this.endOfInterrupt(value & 0x3ff);
        return;
      case 0x1c:
        this.abpr = Math.max(value & 7, MIN_ABPR);
        break;
      case 0xd0:
      case 0xd4:
      case 0xd8:
      case 0xdc:
        this.apr[(offset - 0xd0) >> 2] = value;
        this.runningPriority = this.prioFromAprBits();
        break;
      case 0xe0:
      case 0xe4:
      case 0xe8:
      case 0xec:
        this.nsapr[(offset - 0xe0) >> 2] = value;
        this.runningPriority = this.prioFromAprBits();
        break;
      case 0x1000:
        this.deactivate(value & 0x3ff);
        break;
      default:
        return;
    }
    this.update();
  }

  // ---- state ---------------------------------------------------------------------------------------------

  saveState(): StateFields {
    return saveDescribed(GIC_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(GIC_STATE, this, f, version, this.stateName);
  }
  /** Recomputes the outputs to the CPU from the state (after a load). */
  syncOutputs(): void {
    this.update(true);
  }
}

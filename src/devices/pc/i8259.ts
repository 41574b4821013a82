// Intel 8259A programmable interrupt controller pair as a PC wires it (master at 0x20/0x21, slave at 0xa0/0xa1
// cascaded on the master's IR2) with the PIIX3 edge/level control registers ELCR1/ELCR2 at 0x4d0/0x4d1.
// Behaviour is QEMU 7.2's hw/intc/i8259.c + i8259_common.c:
// - ICW1 (bit 4) resets the chip (IRR keeps only level-triggered bits; ELCR is not reset) and starts the ICW2..4
//   sequence; ICW2 gives the vector base (& 0xf8); ICW3 is ignored; ICW4 bit 1 auto-EOI, bit 4 special fully
//   nested mode. ICW1's LTIM bit is ignored (QEMU logs it as unimplemented): trigger mode comes from ELCR.
// - OCW2: non-specific EOI (1), rotate on non-specific EOI (5), specific EOI (3), set priority (6), rotate on
//   specific EOI (7), rotate in auto-EOI set/clear (4/0). OCW3: read IRR/ISR, poll, special mask mode.
// - Edge inputs latch IRR on a rising edge; level inputs follow the line. INTA clears IRR for edge inputs only.
// - No pending interrupt at INTA gives the spurious IRQ7 (master) or IRQ15 (slave) vector.
// - ELCR masks: master 0xf8 (IRQ0-2 are always edge), slave 0xde (IRQ8 and IRQ13 always edge).

import type { IrqController } from "../../core/irq.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

/** One 8259A. Its INT output goes to `out` (the CPU for the master, the master's IR2 for the slave). */
class Pic8259 {
  lastIrr = 0;
  irr = 0;
  imr = 0;
  isr = 0;
  priorityAdd = 0;
  irqBase = 0;
  readRegSelect = 0;
  poll = 0;
  specialMask = 0;
  initState = 0;
  autoEoi = 0;
  rotateOnAutoEoi = 0;
  specialFullyNestedMode = 0;
  init4 = 0;
  singleMode = 0;
  elcr = 0;
  /** Last level driven on INT (an output; re-derived after load). */
  intOut = false;

  constructor(
    readonly master: boolean,
    readonly elcrMask: number,
    private readonly out: (level: boolean) => void,
  ) {}

  /** Highest priority in `mask` (0 = highest), or 8 when empty (QEMU get_priority). */
  private priority(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IR input the chip wants to signal, or -1 (QEMU pic_get_irq). */
  getIrq(): number {
    const p = this.priority(this.irr & ~this.imr);
    if (p === 8) return -1;
    let mask = this.isr;
    if (this.specialMask) mask &= ~this.imr;
    if (this.specialFullyNestedMode && this.master) mask &= ~(1 << 2);
    return p < this.priority(mask) ? (p + this.priorityAdd) & 7 : -1;
  }

  /** QEMU pic_update_irq; the output is only signalled when its level changes. */
  update(): void {
    const level = this.getIrq() >= 0;
    if (level === this.intOut) return;
    this.intOut = level;
    this.out(level);
  }

  setIrq(irq: number, level: boolean): void {
    const mask = 1 << irq;
    if (this.elcr & mask) {
      if (level) {
        this.irr |= mask;
        this.lastIrr |= mask;
      } else {
        this.irr &= ~mask;
        this.lastIrr &= ~mask;
      }
    } else if (level) {
      if ((this.lastIrr & mask) === 0) this.irr |= mask;
      this.lastIrr |= mask;
    } else {
      this.lastIrr &= ~mask;
    }
    this.update();
  }

  intack(irq: number): void {
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= 1 << irq;
    }
    if (!(this.elcr & (1 << irq))) this.irr &= ~(1 << irq);
    this.update();
  }

  /** QEMU pic_reset_common (ICW1 and machine reset; ELCR survives). */
  initReset(): void {
    this.lastIrr = 0;
    this.irr &= this.elcr;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.irqBase = 0;
    this.readRegSelect = 0;
    this.poll = 0;
    this.specialMask = 0;
    this.initState = 0;
    this.autoEoi = 0;
    this.rotateOnAutoEoi = 0;
    this.specialFullyNestedMode = 0;
    this.init4 = 0;
    this.singleMode = 0;
    this.update();
  }

  write(addr: number, val: number): void {
    val &= 0xff;
    if (addr === 0) {
      if (val & 0x10) {
        this.initReset();
        this.initState = 1;
        this.init4 = val & 1;
        this.singleMode = (val >> 1) & 1;
      } else if (val & 0x08) {
        if (val & 0x04) this.poll = 1;
        if (val & 0x02) this.readRegSelect = val & 1;
        if (val & 0x40) this.specialMask = (val >> 5) & 1;
      } else {
        const cmd = val >> 5;
        switch (cmd) {
          case 0:
          case 4:
            this.rotateOnAutoEoi = cmd >> 2;
            break;
          case 1:
          case 5: {
            const p = this.priority(this.isr);
            if (p !== 8) {
              const irq = (p + this.priorityAdd) & 7;
              this.isr &= ~(1 << irq);
              if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
              this.update();
            }
            break;
          }
          case 3:
            this.isr &= ~(1 << (val & 7));
            this.update();
            break;
          case 6:
            this.priorityAdd = (val + 1) & 7;
            this.update();
            break;
          case 7: {
            const irq = val & 7;
            this.isr &= ~(1 << irq);
            this.priorityAdd = (irq + 1) & 7;
            this.update();
            break;
          }
          default:
            break; // 2: no operation
        }
      }
      return;
    }
    switch (this.initState) {
      case 0:
        this.imr = val;
        this.update();
        break;
      case 1:
        this.irqBase = val & 0xf8;
        this.initState = this.singleMode ? (this.init4 ? 3 : 0) : 2;
        break;
      case 2:
        this.initState = this.init4 ? 3 : 0;
        break;
      case 3:
        this.specialFullyNestedMode = (val >> 4) & 1;
        this.autoEoi = (val >> 1) & 1;
        this.initState = 0;
        break;
    }
  }

  read(addr: number): number {
    if (this.poll) {
      this.poll = 0;
      const irq = this.getIrq();
      if (irq < 0) return 0;
      this.intack(irq);
      return irq | 0x80;
    }
    if (addr === 0) return this.readRegSelect ? this.isr : this.irr;
    return this.imr;
  }
}

const bit = { max: 1 };
/** Field names follow QEMU's vmstate_pic_common. */
const PIC_CHIP_STATE: StateDescription<Pic8259> = {
  version: 1,
  fields: [
    field.u8("lastIrr"),
    field.u8("irr"),
    field.u8("imr"),
    field.u8("isr"),
    field.u8("priorityAdd", { max: 7 }),
    field.u8("irqBase", { check: (v: number) => (v & 7 ? "the vector base is a multiple of 8" : undefined) }),
    field.u8("readRegSelect", bit),
    field.u8("poll", bit),
    field.u8("specialMask", bit),
    field.u8("initState", { max: 3 }),
    field.u8("autoEoi", bit),
    field.u8("rotateOnAutoEoi", bit),
    field.u8("specialFullyNestedMode", bit),
    field.u8("init4", bit),
    field.u8("singleMode", bit),
    field.u8("elcr"),
  ],
};

const PIC_PAIR_STATE: StateDescription<I8259Pair> = {
  version: 1,
  fields: [
    field.section<I8259Pair, Pic8259>("master", (p) => p.master, PIC_CHIP_STATE),
    field.section<I8259Pair, Pic8259>("slave", (p) => p.slave, PIC_CHIP_STATE),
  ],
  validate: (v) => (v.master.elcr & ~0xf8 || v.slave.elcr & ~0xde ? "ELCR bits outside the PIIX3 masks" : undefined),
  postLoad: (p) => p.syncOutputs(),
};

/**
 * The PC's two 8259As. Devices drive ISA IRQ 0..15 through `setIrqLevel` (it is the IrqController of their
 * IrqLines); the CPU polls `intrPending()` (the INTR pin, also reported through `onIntr`) and runs an INTA
 * cycle with `acknowledge()`, which returns the vector.
 */
export class I8259Pair implements IrqController, Stateful {
  readonly stateVersion = PIC_PAIR_STATE.version;
  readonly master: Pic8259;
  readonly slave: Pic8259;

  /** Ports 0x20-0x21. */
  readonly masterPorts: PortHandler;
  /** Ports 0xa0-0xa1. */
  readonly slavePorts: PortHandler;
  /** Ports 0x4d0-0x4d1 (ELCR1, ELCR2). */
  readonly elcrPorts: PortHandler;

  /**
   * @param onIntr called when the master's INT output changes (the CPU's INTR input); optional, the CPU may
   * poll intrPending() instead.
   */
  constructor(
    private readonly onIntr: (level: boolean) => void = () => {},
    readonly stateName = "i8259",
  ) {
    this.master = new Pic8259(true, 0xf8, (l) => this.onIntr(l));
    this.slave = new Pic8259(false, 0xde, (l) => this.master.setIrq(2, l));
    const chipPorts = (c: Pic8259): PortHandler => ({
      read: (off, size) => this.byBytes(off, size, (o) => (o < 2 ? c.read(o) : 0xff)),
      write: (off, size, v) => this.writeBytes(off, size, v, (o, b) => o < 2 && c.write(o, b)),
    });
    this.masterPorts = chipPorts(this.master);
    this.slavePorts = chipPorts(this.slave);
    const chips = [this.master, this.slave];
    this.elcrPorts = {
      read: (off, size) => this.byBytes(off, size, (o) => (o < 2 ? chips[o].elcr : 0xff)),
      write: (off, size, v) =>
        this.writeBytes(off, size, v, (o, b) => {
          if (o < 2) chips[o].elcr = b & chips[o].elcrMask;
        }),
    };
  }

  /** QEMU's pic ops are byte-wide: a wider access is split into bytes, lowest port first. */
  private byBytes(off: number, size: number, rd: (o: number) => number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (rd(off + i) & 0xff) << (8 * i);
    return v >>> 0;
  }
  private writeBytes(off: number, size: number, v: number, wr: (o: number, b: number) => unknown): void {
    for (let i = 0; i < size; i++) wr(off + i, (v >>> (8 * i)) & 0xff);
  }

  /** ISA IRQ `line` (0..15) changes level. IRQ2 on the master is the cascade; a device on "IRQ2" uses IRQ9. */
  setIrqLevel(line: number, level: boolean): void {
    if (!Number.isInteger(line) || line < 0 || line > 15) return;
    if (line < 8) this.master.setIrq(line, level);
    else this.slave.setIrq(line - 8, level);
  }
  setIrq(line: number, level: boolean): void {
    this.setIrqLevel(line, level);
  }

  /** The INTR pin: the master has an interrupt to deliver. */
  intrPending(): boolean {
    return this.master.getIrq() >= 0;
  }

  /** INTA: returns the vector and moves the interrupt to in-service (QEMU pic_read_irq). */
  acknowledge(): number {
    const m = this.master;
    const s = this.slave;
    const irq = m.getIrq();
    if (irq < 0) return (m.irqBase + 7) & 0xff; // spurious IRQ7
    let intno: number;
    if (irq === 2) {
      let irq2 = s.getIrq();
      if (irq2 >= 0) s.intack(irq2);
      else irq2 = 7; // spurious IRQ15
      intno = s.irqBase + irq2;
    } else {
      intno = m.irqBase + irq;
    }
    m.intack(irq);
    return intno & 0xff;
  }

  /** Machine reset (QEMU pic_reset: ELCR cleared, then the chip reset). */
  reset(): void {
    for (const c of [this.slave, this.master]) {
      c.elcr = 0;
      c.initReset();
    }
  }

  saveState(): StateFields {
    return saveDescribed(PIC_PAIR_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PIC_PAIR_STATE, this, f, version, this.stateName);
  }

  /** After a load: re-derive the cascade and INTR outputs from the registers. */
  syncOutputs(): void {
    this.slave.intOut = this.slave.getIrq() >= 0;
    // The master's IR2 input follows the slave's INT; lastIrr was saved, so no edge is invented here.
    this.master.intOut = this.master.getIrq() >= 0;
    this.onIntr(this.master.intOut);
  }
}

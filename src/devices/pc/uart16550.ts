// National Semiconductor 16550A UART as QEMU 7.2's isa-serial (hw/char/serial.c, hw/char/serial-isa.c): eight
// byte-wide ports (RBR/THR/DLL, IER/DLM, IIR/FCR, LCR, MCR, LSR, MSR, SCR), 16-byte receive FIFO with the
// 1/4/8/14-byte trigger levels, the five interrupt sources in the datasheet's priority order, loopback.
//
// What QEMU 7.2 models, and therefore what this models:
// - Transmit has no timing: a THR write hands the byte to `onTransmit` at once (QEMU with a chardev that never
//   pushes back), so THRE and TEMT are set again before the guest's next instruction, and the THRE interrupt is
//   pending (thrIpending) as soon as the byte left. The transmit FIFO is therefore always empty and not kept.
// - The THRE interrupt: cleared by a THR write or by reading IIR while it is the reported source; re-armed when the
//   transmitter empties, when IER.THRI goes from 0 to 1 while THRE is set (QEMU: "Windows relies on it"), and on
//   a transmit FIFO reset.
// - Receive: `receive(byte)` with the FIFO enabled queues into the FIFO (overrun sets LSR.OE and drops the byte)
//   and arms the character-timeout timer at 4 character times on the virtual clock (character time from LCR and
//   the divisor, in float arithmetic as QEMU computes it); without the FIFO it is one holding register. The timeout
//   interrupt (IIR 0xC) fires when the timer expires with data still in the FIFO; reading RBR clears it and re-arms
//   the timer while data remains.
// - `canReceive()` follows QEMU's serial_can_receive: with the FIFO, room only while fewer than trigger-level bytes
//   wait (QEMU advertises itl - count, which is 0 at the trigger level) or 1 past it, up to 16; without, while
//   LSR.DR is clear. So input arrives as QEMU's chardev layer would hand it over.
// - The modem lines: no real port behind it, so MSR reads DCD|DSR|CTS and never has delta bits; in loopback
//   (MCR bit 4) MSR reflects MCR's outputs and transmitted bytes are received instead of sent.
// - Accesses wider than a byte are split into byte accesses at consecutive ports (QEMU's impl.max_access_size 1).
//
// Input: the board calls receive() only from its recorded input path, when canReceive() is true.

import type { Timer, VirtualClock } from "../../core/clock.js";
import type { IrqLine } from "../../core/irq.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

/** The eight registers' port offsets (DLAB = 1 puts DLL/DLM at 0/1). */
export const UART_REG = { rbr: 0, thr: 0, dll: 0, ier: 1, dlm: 1, iir: 2, fcr: 2, lcr: 3, mcr: 4, lsr: 5, msr: 6, scr: 7 } as const;
export const UART_PORTS = 8;
/** isa-serial's input clock / 16 (1.8432 MHz). */
export const UART_BAUD_BASE = 115200;
/** The PC's COM ports as QEMU's isa-serial numbers them (index 0..3). */
export const ISA_SERIAL = [
  { iobase: 0x3f8, irq: 4 },
  { iobase: 0x2f8, irq: 3 },
  { iobase: 0x3e8, irq: 4 },
  { iobase: 0x2e8, irq: 3 },
] as const;

const FIFO_SIZE = 16;

export const IER = { rdi: 0x01, thri: 0x02, rlsi: 0x04, msi: 0x08 } as const;
/** IIR interrupt identification (bits 3:0) and the FIFO-enabled bits 7:6. */
export const IIR = { noInt: 0x01, msi: 0x00, thri: 0x02, rdi: 0x04, rlsi: 0x06, cti: 0x0c, idMask: 0x06, fifoEnabled: 0xc0 } as const;
export const LSR = { dr: 0x01, oe: 0x02, pe: 0x04, fe: 0x08, bi: 0x10, thre: 0x20, temt: 0x40, interruptAny: 0x1e } as const;
export const FCR = { enable: 0x01, rxReset: 0x02, txReset: 0x04, dma: 0x08, sticky: 0xc9 } as const;
export const MCR = { dtr: 0x01, rts: 0x02, out1: 0x04, out2: 0x08, loop: 0x10 } as const;
export const MSR = { dcts: 0x01, ddsr: 0x02, teri: 0x04, ddcd: 0x08, cts: 0x10, dsr: 0x20, ri: 0x40, dcd: 0x80, anyDelta: 0x0f } as const;
const LCR_DLAB = 0x80;
/** FCR bits 7:6 -> receive trigger level (16550A). */
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

const UART_STATE: StateDescription<Uart16550> = {
  version: 1,
  fields: [
    field.u16("divider"),
    field.u8("rbr"),
    field.u8("ier", { max: 0x0f }),
    field.u8("iir"),
    field.u8("lcr"),
    field.u8("mcr", { max: 0x1f }),
    field.u8("lsr"),
    field.u8("msr"),
    field.u8("scr"),
    field.u8("fcr", { check: (v: number) => (v & ~FCR.sticky ? "FCR keeps only bits 0, 3, 6 and 7" : undefined) }),
    field.bool("thrIpending"),
    field.bool("timeoutIpending"),
    field.u8s("recvFifo", FIFO_SIZE),
    field.u8("recvHead", { max: FIFO_SIZE - 1 }),
    field.u8("recvCount", { max: FIFO_SIZE }),
    // Kept rather than re-derived: QEMU's reset value (10-bit frames) differs from what LCR = 0 gives (7 bits).
    field.int("charTransmitNs", { check: (v: number) => (v < 0 ? "a character time cannot be negative" : undefined) }),
  ],
  postLoad: (u) => u.afterLoad(),
};

export class Uart16550 implements Stateful {
  readonly stateVersion = UART_STATE.version;
  /** Map at the COM port's base (UART_PORTS ports). */
  readonly ports: PortHandler;
  /** Receives every byte the guest transmits (not in loopback). The board points it at the serial backend. */
  onTransmit: (byte: number) => void;
  /** Called after the guest read RBR (room may have appeared): the board may deliver queued input. */
  onRxSpace: () => void = () => {};

  // Registers, named as in QEMU's SerialState so the saved state maps one to one.
  divider = 0;
  rbr = 0;
  ier = 0;
  iir = 0;
  lcr = 0;
  mcr = 0;
  lsr = 0;
  msr = 0;
  scr = 0;
  fcr = 0;
  thrIpending = false;
  timeoutIpending = false;
  readonly recvFifo = new Uint8Array(FIFO_SIZE);
  recvHead = 0;
  recvCount = 0;
  /** The character time in ns (QEMU char_transmit_time): the FIFO timeout is four of them. */
  charTransmitNs = 0;
  /** Derived from FCR (QEMU recv_fifo_itl): not saved. */
  private triggerLevel = 1;
  private readonly timeout: Timer;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    onTransmit: (byte: number) => void = () => {},
    readonly stateName = "serial@3f8",
    private readonly baudBase = UART_BAUD_BASE,
  ) {
    this.onTransmit = onTransmit;
    this.timeout = clock.createTimer(`${stateName}.fifo-timeout`, () => this.onFifoTimeout());
    this.ports = {
      read: (off, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= (off + i < UART_PORTS ? this.read(off + i) : 0xff) << (8 * i);
        return v >>> 0;
      },
      write: (off, size, v) => {
        for (let i = 0; i < size; i++) if (off + i < UART_PORTS) this.write(off + i, (v >>> (8 * i)) & 0xff);
      },
    };
    this.reset();
  }

  /** Machine reset (QEMU serial_reset): 9600 baud 8N1, OUT2 set, FIFOs off and empty, no interrupt. */
  reset(): void {
    this.rbr = 0;
    this.ier = 0;
    this.iir = IIR.noInt;
    this.lcr = 0;
    this.lsr = LSR.temt | LSR.thre;
    this.msr = MSR.dcd | MSR.dsr | MSR.cts;
    this.divider = 0x0c;
    this.mcr = MCR.out2;
    this.scr = 0;
    this.fcr = 0;
    this.triggerLevel = 1;
    this.charTransmitNs = Math.trunc(1e9 / 9600) * 10; // QEMU's reset value, integer arithmetic
    this.timeoutIpending = false;
    this.timeout.cancel();
    this.recvFifo.fill(0);
    this.recvHead = this.recvCount = 0;
    this.thrIpending = false;
    this.irq.lower();
  }

  // ---- input ------------------------------------------------------------------------------------------------

  /** How many bytes QEMU's chardev layer would hand over now (serial_can_receive). */
  receiveRoom(): number {
    if (this.fcr & FCR.enable) {
      if (this.recvCount >= FIFO_SIZE) return 0;
      return this.recvCount <= this.triggerLevel ? this.triggerLevel - this.recvCount : 1;
    }
    return this.lsr & LSR.dr ? 0 : 1;
  }

  canReceive(): boolean {
    return this.receiveRoom() > 0;
  }

  /** One byte from the line (QEMU serial_receive1). Returns false when it overran (dropped, LSR.OE set). */
  receive(byte: number): boolean {
    let kept = true;
    if (this.fcr & FCR.enable) {
      kept = this.fifoPut(byte & 0xff);
      this.lsr |= LSR.dr;
      this.armTimeout();
    } else {
      if (this.lsr & LSR.dr) {
        this.lsr |= LSR.oe;
        kept = false;
      }
      this.rbr = byte & 0xff;
      this.lsr |= LSR.dr;
    }
    this.updateIrq();
    return kept;
  }

  /** A BREAK on the line (QEMU CHR_EVENT_BREAK): a NUL byte with LSR.BI. */
  receiveBreak(): void {
    this.rbr = 0;
    this.fifoPut(0);
    this.lsr |= LSR.bi | LSR.dr;
    this.updateIrq();
  }

  private fifoPut(byte: number): boolean {
    if (this.recvCount === FIFO_SIZE) {
      this.lsr |= LSR.oe; // receive overruns do not overwrite the FIFO
      return false;
    }
    this.recvFifo[(this.recvHead + this.recvCount) % FIFO_SIZE] = byte;
    this.recvCount++;
    return true;
  }

  private fifoPop(): number {
    if (this.recvCount === 0) return 0;
    const b = this.recvFifo[this.recvHead];
    this.recvHead = (this.recvHead + 1) % FIFO_SIZE;
    this.recvCount--;
    return b;
  }

  private armTimeout(): void {
    this.timeout.setNs(this.clock.ns + this.charTransmitNs * 4);
  }

  private onFifoTimeout(): void {
    if (this.recvCount === 0) return;
    this.timeoutIpending = true;
    this.updateIrq();
  }

  // ---- interrupts -------------------------------------------------------------------------------------------

  /** The highest-priority pending source (QEMU serial_update_irq); IIR keeps its FIFO bits. */
  private updateIrq(): void {
    let id: number = IIR.noInt;
    if (this.ier & IER.rlsi && this.lsr & LSR.interruptAny) id = IIR.rlsi;
    else if (this.ier & IER.rdi && this.timeoutIpending) id = IIR.cti; // IER.RDI masks it, as real parts do
    else if (this.ier & IER.rdi && this.lsr & LSR.dr && (!(this.fcr & FCR.enable) || this.recvCount >= this.triggerLevel)) id = IIR.rdi;
    else if (this.ier & IER.thri && this.thrIpending) id = IIR.thri;
    else if (this.ier & IER.msi && this.msr & MSR.anyDelta) id = IIR.msi;
    this.iir = id | (this.iir & 0xf0);
    this.irq.set(id !== IIR.noInt);
  }

  // ---- registers --------------------------------------------------------------------------------------------

  private read(reg: number): number {
    switch (reg) {
      case 0: {
        if (this.lcr & LCR_DLAB) return this.divider & 0xff;
        let v: number;
        if (this.fcr & FCR.enable) {
          v = this.fifoPop();
          if (this.recvCount === 0) this.lsr &= ~(LSR.dr | LSR.bi);
          else this.armTimeout();
          this.timeoutIpending = false;
        } else {
          v = this.rbr;
          this.lsr &= ~(LSR.dr | LSR.bi);
        }
        this.updateIrq();
        if (!(this.mcr & MCR.loop)) this.onRxSpace(); // in loopback no outside input is accepted here
        return v;
      }
      case 1:
        return this.lcr & LCR_DLAB ? (this.divider >> 8) & 0xff : this.ier;
      case 2: {
        const v = this.iir;
        if ((v & IIR.idMask) === IIR.thri) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return v;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr;
        if (this.lsr & (LSR.bi | LSR.oe)) {
          this.lsr &= ~(LSR.bi | LSR.oe);
          this.updateIrq();
        }
        return v;
      }
      case 6: {
        if (this.mcr & MCR.loop) {
          // The outputs wired back: OUT2 -> DCD, OUT1 -> RI, RTS -> CTS, DTR -> DSR.
          return ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x02) << 3) | ((this.mcr & 0x01) << 5);
        }
        const v = this.msr;
        if (this.msr & MSR.anyDelta) {
          this.msr &= 0xf0;
          this.updateIrq();
        }
        return v;
      }
      default:
        return this.scr;
    }
  }

  private write(reg: number, val: number): void {
    switch (reg) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.divider = (this.divider & 0xff00) | val;
          this.updateParameters();
        } else this.transmit(val);
        break;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.divider = (this.divider & 0x00ff) | (val << 8);
          this.updateParameters();
        } else {
          const changed = (this.ier ^ val) & 0x0f;
          this.ier = val & 0x0f;
          if (changed & IER.thri) this.thrIpending = (this.ier & IER.thri) !== 0 && (this.lsr & LSR.thre) !== 0;
          if (changed) this.updateIrq();
        }
        break;
      case 2:
        this.writeFcr(val);
        break;
      case 3:
        this.lcr = val;
        this.updateParameters();
        break;
      case 4:
        this.mcr = val & 0x1f;
        break;
      case 5:
      case 6:
        break; // LSR and MSR are read-only
      default:
        this.scr = val;
    }
  }

  /** THR write then QEMU's serial_xmit, which completes at once: THRE/TEMT set again, THRE interrupt pending. */
  private transmit(byte: number): void {
    this.thrIpending = false;
    this.lsr &= ~(LSR.thre | LSR.temt);
    this.updateIrq();
    this.lsr |= LSR.thre;
    if (!this.thrIpending) {
      this.thrIpending = true;
      this.updateIrq();
    }
    if (this.mcr & MCR.loop) this.receive(byte);
    else this.onTransmit(byte);
    this.lsr |= LSR.temt;
  }

  private writeFcr(val: number): void {
    // Toggling the enable bit flushes both FIFOs.
    if ((val ^ this.fcr) & FCR.enable) val |= FCR.txReset | FCR.rxReset;
    if (val & FCR.rxReset) {
      this.lsr &= ~(LSR.dr | LSR.bi);
      this.timeout.cancel();
      this.timeoutIpending = false;
      this.recvHead = this.recvCount = 0;
    }
    if (val & FCR.txReset) {
      this.lsr |= LSR.thre;
      this.thrIpending = true;
    }
    this.setFcr(val & FCR.sticky);
    this.updateIrq();
  }

  /** FCR's lasting bits: IIR's FIFO bits and the trigger level follow them (QEMU serial_write_fcr). */
  private setFcr(val: number): void {
    this.fcr = val;
    if (val & FCR.enable) {
      this.iir |= IIR.fifoEnabled;
      this.triggerLevel = TRIGGER_LEVELS[val >> 6];
    } else this.iir &= ~IIR.fifoEnabled;
  }

  /** The character time for the FIFO timeout, as QEMU 7.2 computes it (float speed, zero divisor ~3500 baud). */
  private updateParameters(): void {
    const parity = this.lcr & 0x08 ? 1 : 0;
    const stopBits = this.lcr & 0x04 ? 2 : 1;
    const dataBits = (this.lcr & 0x03) + 5;
    const frameBits = 1 + parity + dataBits + stopBits;
    const f = Math.fround;
    const speed = this.divider === 0 ? 3500 : f(this.baudBase / this.divider);
    this.charTransmitNs = Math.trunc(f(f(1e9 / speed) * frameBits));
  }

  saveState(): StateFields {
    return saveDescribed(UART_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(UART_STATE, this, f, version, this.stateName);
  }

  /** After a load: the trigger level, and the IRQ output without re-signalling (the PIC restores its inputs). */
  afterLoad(): void {
    this.setFcr(this.fcr);
    this.irq.restore((this.iir & 0x0f) !== IIR.noInt);
  }
}

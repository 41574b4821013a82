// Arm PrimeCell PL011 UART, with the register behaviour of QEMU 7.2's hw/char/pl011.c.
//
// What QEMU 7.2 models, and therefore what this models:
// - TX has no FIFO and no timing: a write to UARTDR hands the byte to the sink at once and sets TXRIS
//   (the "FIFO" is always empty again). FR.TXFE is always set, TXFF and BUSY never.
// - RX is a 16-entry FIFO (1 entry with LCR_H.FEN clear). The RX trigger level is always 1: RXRIS is set
//   when a byte arrives in an empty FIFO and cleared when a read empties it. IFLS is stored but not used.
// - The receive timeout interrupt (RTIS) and the error/modem interrupts are never raised; their mask,
//   status and clear bits exist as registers only.
// - Toggling LCR_H.FEN empties the RX FIFO without updating FR (QEMU 7.2 leaves RXFE/RXFF stale until the
//   next read or receive; fixed in QEMU 8.0). No loopback (added in QEMU 8.0).
// - Accesses narrower than 32 bits see the register at offset & ~3 (QEMU widens them); the bus masks reads.
//
// Input: the board calls receive() only from its recorded input path, when canReceive() is true.

import type { IrqLine } from "../core/irq.js";
import type { MmioHandler } from "../core/memory.js";
import type { StateFields, Stateful } from "../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../core/vmstate.js";

export const PL011_MMIO_SIZE = 0x1000;

const FIFO_SLOTS = 16;

// UARTFR bits
const FR_TXFE = 0x80;
const FR_RXFF = 0x40;
const FR_RXFE = 0x10;

// Interrupt bits in RIS/MIS/IMSC/ICR
export const PL011_INT_RX = 1 << 4;
export const PL011_INT_TX = 1 << 5;
export const PL011_INT_RT = 1 << 6;

const LCR_FEN = 1 << 4;
/** UARTDR bit 10: break error, what a received BREAK puts in the FIFO. */
const DR_BE = 1 << 10;

/** PrimeCell peripheral and cell IDs at 0xFE0..0xFFC (QEMU's "arm" variant). */
const PL011_ID = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

const PL011_STATE: StateDescription<Pl011> = {
  version: 1,
  fields: [
    field.u32("flags"),
    field.u32("lcr"),
    field.u32("rsr"),
    field.u32("cr"),
    field.u32("dmacr"),
    field.u32("intEnabled"),
    field.u32("intLevel"),
    field.u32s("readFifo", FIFO_SLOTS, { max: 0xfff }), // data and error bits of UARTDR
    field.u32("ilpr"),
    field.u32("ibrd"),
    field.u32("fbrd"),
    field.u32("ifl"),
    field.u32("readPos", { max: FIFO_SLOTS - 1 }),
    field.u32("readCount", { max: FIFO_SLOTS }),
    field.u32("readTrigger", { check: (v: number) => (v < 1 ? `RX trigger level ${v} is impossible` : undefined), max: FIFO_SLOTS }),
  ],
  validate: (v) => {
    const depth = v.lcr & LCR_FEN ? FIFO_SLOTS : 1;
    return v.readCount > depth ? `${v.readCount} bytes in a FIFO of depth ${depth}` : undefined;
  },
  postLoad: (uart) => uart.syncIrq(),
};

export class Pl011 implements MmioHandler, Stateful {
  readonly stateVersion = 1;

  /** Receives every byte the guest writes to UARTDR. The board points it at the serial backend. */
  onTransmit: (byte: number) => void;
  /** Called after the guest reads UARTDR (room may have appeared): the board may deliver queued input. */
  onRxSpace: () => void = () => {};

  // Registers, named as in QEMU's PL011State so the saved state maps one to one.
  private flags = 0;
  private lcr = 0;
  private rsr = 0;
  private cr = 0;
  private dmacr = 0;
  private intEnabled = 0;
  private intLevel = 0;
  private ilpr = 0;
  private ibrd = 0;
  private fbrd = 0;
  private ifl = 0;
  private readonly readFifo = new Uint32Array(FIFO_SLOTS);
  private readPos = 0;
  private readCount = 0;
  private readTrigger = 1;

  constructor(
    private readonly irq: IrqLine,
    onTransmit: (byte: number) => void = () => {},
    readonly stateName = "pl011@9000000",
  ) {
    this.onTransmit = onTransmit;
    this.reset();
  }

  /** Power-on values (QEMU 7.2 sets these at creation and has no reset handler for the PL011). */
  reset(): void {
    this.lcr = this.rsr = this.dmacr = this.intEnabled = this.intLevel = 0;
    this.ilpr = this.ibrd = this.fbrd = 0;
    this.readFifo.fill(0);
    this.readPos = this.readCount = 0;
    this.readTrigger = 1;
    this.ifl = 0x12;
    this.cr = 0x300;
    this.flags = FR_TXFE | FR_RXFE;
    this.updateIrq();
  }

  private get fifoDepth(): number {
    return this.lcr & LCR_FEN ? FIFO_SLOTS : 1;
  }

  /** True when the RX FIFO has room for one more byte. */
  canReceive(): boolean {
    return this.readCount < this.fifoDepth;
  }

  /** Delivers one received byte. Returns false (byte dropped) if the FIFO is full; call canReceive() first. */
  receive(byte: number): boolean {
    if (!this.canReceive()) return false;
    this.putFifo(byte & 0xff);
    return true;
  }

  /** A BREAK condition on the line: queues a break-error entry, as QEMU does for CHR_EVENT_BREAK. */
  receiveBreak(): boolean {
    if (!this.canReceive()) return false;
    this.putFifo(DR_BE);
    return true;
  }

  private putFifo(value: number): void {
    const slot = (this.readPos + this.readCount) % FIFO_SLOTS;
    this.readFifo[slot] = value;
    this.readCount++;
    this.flags &= ~FR_RXFE;
    if (!(this.lcr & LCR_FEN) || this.readCount === FIFO_SLOTS) this.flags |= FR_RXFF;
    if (this.readCount === this.readTrigger) {
      this.intLevel |= PL011_INT_RX;
      this.updateIrq();
    }
  }

  private updateIrq(): void {
    this.irq.set((this.intLevel & this.intEnabled) !== 0);
  }

  read(offset: number, _size: number): number {
    switch (offset >>> 2) {
      case 0: {
        // UARTDR: an empty FIFO still returns the slot at the read position (stale data), as QEMU does.
        this.flags &= ~FR_RXFF;
        const c = this.readFifo[this.readPos];
        if (this.readCount > 0) {
          this.readCount--;
          this.readPos = (this.readPos + 1) % FIFO_SLOTS;
        }
        if (this.readCount === 0) this.flags |= FR_RXFE;
        if (this.readCount === this.readTrigger - 1) this.intLevel &= ~PL011_INT_RX;
        this.rsr = c >>> 8;
        this.updateIrq();
        this.onRxSpace();
        return c;
      }
      case 1:
        return this.rsr;
      case 6:
        return this.flags;
      case 8:
        return this.ilpr;
      case 9:
        return this.ibrd;
      case 10:
        return this.fbrd;
      case 11:
        return this.lcr;
      case 12:
        return this.cr;
      case 13:
        return this.ifl;
      case 14:
        return this.intEnabled;
      case 15:
        return this.intLevel;
      case 16:
        return (this.intLevel & this.intEnabled) >>> 0;
      case 18:
        return this.dmacr;
      default: {
        const idx = (offset >>> 2) - 0x3f8;
        if (idx >= 0 && idx < PL011_ID.length) return PL011_ID[idx];
        return 0; // reserved, write-only (ICR) or unmapped: QEMU logs and reads 0
      }
    }
  }

  write(offset: number, _size: number, value: number): void {
    value >>>= 0;
    switch (offset >>> 2) {
      case 0: // UARTDR: no transmitter-enable check, as in QEMU
        this.onTransmit(value & 0xff);
        this.intLevel |= PL011_INT_TX;
        this.updateIrq();
        break;
      case 1: // UARTECR: any write clears the error status
        this.rsr = 0;
        break;
      case 8:
        this.ilpr = value;
        break;
      case 9:
        this.ibrd = value;
        break;
      case 10:
        this.fbrd = value;
        break;
      case 11:
        if ((this.lcr ^ value) & LCR_FEN) {
          this.readCount = 0;
          this.readPos = 0;
        }
        this.lcr = value;
        this.readTrigger = 1;
        break;
      case 12:
        this.cr = value;
        break;
      case 13:
        this.ifl = value;
        this.readTrigger = 1;
        break;
      case 14:
        this.intEnabled = value;
        this.updateIrq();
        break;
      case 17:
        this.intLevel = (this.intLevel & ~value) >>> 0;
        this.updateIrq();
        break;
      case 18:
        this.dmacr = value; // DMA is not implemented (QEMU neither)
        break;
      default:
        break; // FR, RIS, MIS, IDs and reserved offsets ignore writes
    }
  }

  saveState(): StateFields {
    return saveDescribed(PL011_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PL011_STATE, this, f, version, this.stateName);
  }

  /** After a load: the interrupt controller restores its own input levels; only our view of the wire follows. */
  syncIrq(): void {
    this.irq.restore((this.intLevel & this.intEnabled) !== 0);
  }
}

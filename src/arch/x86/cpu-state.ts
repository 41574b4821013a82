// The x86 CPU's architectural state that instructions read and write: the sixteen general registers as (lo, hi)
// halves (no BigInt on the hot path), RIP and RFLAGS, with the operand-size rules of register writes (8- and
// 16-bit writes keep the rest of the register, 32-bit writes zero the upper half, AH..BH without a REX prefix).
// Segmentation, control registers and the modes come with the system layer.

export const RFLAGS_FIXED = 0x2; // bit 1 always reads as 1

/** Segment registers, in encoding order (ModRM.reg of MOV Sreg, the segment-override prefixes). */
export const enum Seg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
}

/**
 * Linear memory as instructions see it (segmentation already applied; paging is the implementation's): reads put
 * the value in the state's vlo/vhi. Accesses may throw the architecture's exceptions.
 */
export interface X86Memory {
  read(s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8): void;
  write(s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): void;
}

export class X86State {
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  ripLo = 0;
  ripHi = 0;
  rflags = RFLAGS_FIXED;
  /** Read results (readReg, memory reads): the value's halves. */
  vlo = 0;
  vhi = 0;
  /** The last effective address computed (exec/address.ts): linear, segment base included. */
  alo = 0;
  ahi = 0;
  /** Segment bases (the descriptor caches' base fields), by Seg. */
  readonly segBaseLo = new Int32Array(6);
  readonly segBaseHi = new Int32Array(6);

  constructor(public mem: X86Memory) {}

  /**
   * Reads register n at width w into vlo/vhi (zero-extended). `highByte`: for w = 8 without a REX prefix,
   * registers 4-7 are AH, CH, DH, BH (bits 15:8 of registers 0-3).
   */
  readReg(n: number, w: 8 | 16 | 32 | 64, highByte = false): void {
    if (w === 8) {
      this.vlo = highByte && n >= 4 && n < 8 ? (this.lo[n - 4] >>> 8) & 0xff : this.lo[n] & 0xff;
      this.vhi = 0;
    } else if (w === 16) {
      this.vlo = this.lo[n] & 0xffff;
      this.vhi = 0;
    } else if (w === 32) {
      this.vlo = this.lo[n] >>> 0;
      this.vhi = 0;
    } else {
      this.vlo = this.lo[n] >>> 0;
      this.vhi = this.hi[n] >>> 0;
    }
  }

  /** Writes register n at width w as x86 does (see readReg for `highByte`). */
  writeReg(n: number, w: 8 | 16 | 32 | 64, lo: number, hi: number, highByte = false): void {
    if (w === 8) {
      if (highByte && n >= 4 && n < 8) this.lo[n - 4] = (this.lo[n - 4] & ~0xff00) | ((lo & 0xff) << 8);
      else this.lo[n] = (this.lo[n] & ~0xff) | (lo & 0xff);
    } else if (w === 16) this.lo[n] = (this.lo[n] & ~0xffff) | (lo & 0xffff);
    else if (w === 32) {
      this.lo[n] = lo | 0;
      this.hi[n] = 0;
    } else {
      this.lo[n] = lo | 0;
      this.hi[n] = hi | 0;
    }
  }
}

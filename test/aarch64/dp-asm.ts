// A tiny A64 assembler for the data-processing and branch tests: each function builds the 32-bit word from
// fields, with bit positions written from the Arm ARM encoding diagrams (independently of the decoder's
// pattern strings, so a wrong pattern cannot hide behind a matching wrong encoder). Cross-checked against
// GNU as in dp-asm-cross.test.ts.

const u = (v: number) => v >>> 0;
const fit = (v: number, bits: number) => v & ((1 << bits) - 1);
/** A branch offset in bytes as a field of `bits` bits holding offset / 4. */
function offField(off: number, bits: number): number {
  if (off % 4 !== 0) throw new Error(`branch offset ${off} is not a multiple of 4`);
  const words = off / 4;
  if (words < -(2 ** (bits - 1)) || words >= 2 ** (bits - 1)) throw new Error(`branch offset ${off} out of range`);
  return fit(words, bits);
}

export const SF = { W: 0, X: 1 } as const;
export const SHIFT = { LSL: 0, LSR: 1, ASR: 2, ROR: 3 } as const;
export const EXT = { UXTB: 0, UXTH: 1, UXTW: 2, UXTX: 3, SXTB: 4, SXTH: 5, SXTW: 6, SXTX: 7 } as const;
export const COND = {
  EQ: 0, NE: 1, CS: 2, CC: 3, MI: 4, PL: 5, VS: 6, VC: 7, HI: 8, LS: 9, GE: 10, LT: 11, GT: 12, LE: 13, AL: 14, NV: 15,
} as const;

// ---- data processing (immediate) -----------------------------------------------------------------------

export function adr(rd: number, off: number): number {
  return u((fit(off, 2) << 29) | (0b10000 << 24) | (fit(off >> 2, 19) << 5) | rd);
}
/** ADRP with a page offset in bytes (a multiple of 4096). */
export function adrp(rd: number, off: number): number {
  const p = Math.trunc(off / 4096);
  return u((1 << 31) | (fit(p, 2) << 29) | (0b10000 << 24) | (fit(p >> 2, 19) << 5) | rd);
}
/** ADD/ADDS/SUB/SUBS (immediate): op 0=add 1=sub, s = set flags. */
export function addSubImm(sf: number, op: number, s: number, rd: number, rn: number, imm12: number, sh = 0): number {
  return u((sf << 31) | (op << 30) | (s << 29) | (0b100010 << 23) | (sh << 22) | (imm12 << 10) | (rn << 5) | rd);
}
export const addImm = (sf: number, rd: number, rn: number, imm12: number, sh = 0) => addSubImm(sf, 0, 0, rd, rn, imm12, sh);
export const addsImm = (sf: number, rd: number, rn: number, imm12: number, sh = 0) => addSubImm(sf, 0, 1, rd, rn, imm12, sh);
export const subImm = (sf: number, rd: number, rn: number, imm12: number, sh = 0) => addSubImm(sf, 1, 0, rd, rn, imm12, sh);
export const subsImm = (sf: number, rd: number, rn: number, imm12: number, sh = 0) => addSubImm(sf, 1, 1, rd, rn, imm12, sh);

/** Logical (immediate) from raw N:immr:imms; opc 0=AND 1=ORR 2=EOR 3=ANDS. */
export function logImmRaw(sf: number, opc: number, rd: number, rn: number, n: number, immr: number, imms: number): number {
  return u((sf << 31) | (opc << 29) | (0b100100 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | rd);
}

/** Finds the N:immr:imms encoding of a bitmask immediate (value as a bigint), or undefined. */
export function encodeBitmask(value: bigint, size: 32 | 64): { n: number; immr: number; imms: number } | undefined {
  const mask = (1n << BigInt(size)) - 1n;
  value &= mask;
  if (value === 0n || value === mask) return undefined;
  for (let esize = 2; esize <= size; esize *= 2) {
    const emask = (1n << BigInt(esize)) - 1n;
    const elem = value & emask;
    let rep = 0n;
    for (let i = 0; i < size; i += esize) rep |= elem << BigInt(i);
    if (rep !== value) continue;
    // elem must be a rotation of a run of ones: find r such that ROL(elem, r) = Ones(k).
    for (let r = 0; r < esize; r++) {
      const rot = ((elem << BigInt(r)) | (elem >> BigInt(esize - r))) & emask;
      const ones = rot.toString(2).replace(/^0+/, "");
      if (/^1+$/.test(ones) && (rot & 1n) === 1n && rot !== emask) {
        const k = ones.length;
        const immsHigh = esize === 64 ? 0 : (~(esize * 2 - 1) & 0x3f) & ~(esize - 1) & 0x3f;
        return { n: esize === 64 ? 1 : 0, immr: r, imms: (immsHigh | (k - 1)) & 0x3f };
      }
    }
  }
  return undefined;
}
export function logImm(sf: number, opc: number, rd: number, rn: number, value: bigint): number {
  const e = encodeBitmask(value, sf ? 64 : 32);
  if (!e) throw new Error(`0x${value.toString(16)} is not a bitmask immediate`);
  return logImmRaw(sf, opc, rd, rn, e.n, e.immr, e.imms);
}

/** Move wide: opc 0=MOVN 2=MOVZ 3=MOVK. */
export function moveWide(sf: number, opc: number, rd: number, imm16: number, hw = 0): number {
  return u((sf << 31) | (opc << 29) | (0b100101 << 23) | (hw << 21) | (imm16 << 5) | rd);
}
export const movn = (sf: number, rd: number, imm16: number, hw = 0) => moveWide(sf, 0, rd, imm16, hw);
export const movz = (sf: number, rd: number, imm16: number, hw = 0) => moveWide(sf, 2, rd, imm16, hw);
export const movk = (sf: number, rd: number, imm16: number, hw = 0) => moveWide(sf, 3, rd, imm16, hw);

/** Bitfield: opc 0=SBFM 1=BFM 2=UBFM; N = sf. */
export function bitfield(sf: number, opc: number, rd: number, rn: number, immr: number, imms: number, n = sf): number {
  return u((sf << 31) | (opc << 29) | (0b100110 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | rd);
}
export const sbfm = (sf: number, rd: number, rn: number, immr: number, imms: number) => bitfield(sf, 0, rd, rn, immr, imms);
export const bfm = (sf: number, rd: number, rn: number, immr: number, imms: number) => bitfield(sf, 1, rd, rn, immr, imms);
export const ubfm = (sf: number, rd: number, rn: number, immr: number, imms: number) => bitfield(sf, 2, rd, rn, immr, imms);

export function extr(sf: number, rd: number, rn: number, rm: number, lsb: number, n = sf): number {
  return u((sf << 31) | (0b00100111 << 23) | (n << 22) | (rm << 16) | (lsb << 10) | (rn << 5) | rd);
}

// ---- data processing (register) ------------------------------------------------------------------------

/** Logical (shifted register): opc 0=AND 1=ORR 2=EOR 3=ANDS, n = invert (BIC/ORN/EON/BICS). */
export function logReg(sf: number, opc: number, n: number, rd: number, rn: number, rm: number, shift = 0, amt = 0): number {
  return u((sf << 31) | (opc << 29) | (0b01010 << 24) | (shift << 22) | (n << 21) | (rm << 16) | (amt << 10) | (rn << 5) | rd);
}
/** Add/subtract (shifted register): op 0=add 1=sub. */
export function addSubShifted(sf: number, op: number, s: number, rd: number, rn: number, rm: number, shift = 0, amt = 0): number {
  return u((sf << 31) | (op << 30) | (s << 29) | (0b01011 << 24) | (shift << 22) | (rm << 16) | (amt << 10) | (rn << 5) | rd);
}
/** Add/subtract (extended register). */
export function addSubExt(sf: number, op: number, s: number, rd: number, rn: number, rm: number, option: number, amt = 0): number {
  return u((sf << 31) | (op << 30) | (s << 29) | (0b01011001 << 21) | (rm << 16) | (option << 13) | (amt << 10) | (rn << 5) | rd);
}
/** ADC/ADCS/SBC/SBCS. */
export function addSubCarry(sf: number, op: number, s: number, rd: number, rn: number, rm: number): number {
  return u((sf << 31) | (op << 30) | (s << 29) | (0b11010000 << 21) | (rm << 16) | (rn << 5) | rd);
}
/** CCMN (op 0) / CCMP (op 1), register form. */
export function condCmpReg(sf: number, op: number, rn: number, rm: number, nzcv: number, cond: number): number {
  return u((sf << 31) | (op << 30) | (1 << 29) | (0b11010010 << 21) | (rm << 16) | (cond << 12) | (rn << 5) | nzcv);
}
export function condCmpImm(sf: number, op: number, rn: number, imm5: number, nzcv: number, cond: number): number {
  return u((sf << 31) | (op << 30) | (1 << 29) | (0b11010010 << 21) | (imm5 << 16) | (cond << 12) | (1 << 11) | (rn << 5) | nzcv);
}
/** CSEL (0,0) CSINC (0,1) CSINV (1,0) CSNEG (1,1). */
export function condSel(sf: number, op: number, o2: number, rd: number, rn: number, rm: number, cond: number): number {
  return u((sf << 31) | (op << 30) | (0b11010100 << 21) | (rm << 16) | (cond << 12) | (o2 << 10) | (rn << 5) | rd);
}
export const DP2 = {
  UDIV: 0b000010, SDIV: 0b000011, LSLV: 0b001000, LSRV: 0b001001, ASRV: 0b001010, RORV: 0b001011,
  CRC32B: 0b010000, CRC32H: 0b010001, CRC32W: 0b010010, CRC32X: 0b010011,
  CRC32CB: 0b010100, CRC32CH: 0b010101, CRC32CW: 0b010110, CRC32CX: 0b010111,
} as const;
export function dp2(sf: number, opcode: number, rd: number, rn: number, rm: number): number {
  return u((sf << 31) | (0b11010110 << 21) | (rm << 16) | (opcode << 10) | (rn << 5) | rd);
}
export const DP1 = { RBIT: 0, REV16: 1, REV32: 2, REV: 3, CLZ: 4, CLS: 5 } as const;
/** Data processing (1 source); REV Wd is opcode 2 with sf = 0. */
export function dp1(sf: number, opcode: number, rd: number, rn: number): number {
  return u((sf << 31) | (1 << 30) | (0b11010110 << 21) | (opcode << 10) | (rn << 5) | rd);
}
export const DP3 = {
  MADD: [0b000, 0], MSUB: [0b000, 1], SMADDL: [0b001, 0], SMSUBL: [0b001, 1], SMULH: [0b010, 0],
  UMADDL: [0b101, 0], UMSUBL: [0b101, 1], UMULH: [0b110, 0],
} as const;
export function dp3(sf: number, op: readonly [number, number], rd: number, rn: number, rm: number, ra: number): number {
  return u((sf << 31) | (0b11011 << 24) | (op[0] << 21) | (rm << 16) | (op[1] << 15) | (ra << 10) | (rn << 5) | rd);
}

// ---- branches ------------------------------------------------------------------------------------------

export const b = (off: number) => u((0b000101 << 26) | offField(off, 26));
export const bl = (off: number) => u((0b100101 << 26) | offField(off, 26));
export const bcond = (cond: number, off: number) => u((0b01010100 << 24) | (offField(off, 19) << 5) | cond);
export const cbz = (sf: number, rt: number, off: number) => u((sf << 31) | (0b0110100 << 24) | (offField(off, 19) << 5) | rt);
export const cbnz = (sf: number, rt: number, off: number) => u((sf << 31) | (0b0110101 << 24) | (offField(off, 19) << 5) | rt);
export const tbz = (rt: number, bit: number, off: number) =>
  u(((bit >> 5) << 31) | (0b0110110 << 24) | ((bit & 31) << 19) | (offField(off, 14) << 5) | rt);
export const tbnz = (rt: number, bit: number, off: number) =>
  u(((bit >> 5) << 31) | (0b0110111 << 24) | ((bit & 31) << 19) | (offField(off, 14) << 5) | rt);
export const br = (rn: number) => u(0xd61f0000 | (rn << 5));
export const blr = (rn: number) => u(0xd63f0000 | (rn << 5));
export const ret = (rn = 30) => u(0xd65f0000 | (rn << 5));
export const NOP = 0xd503201f;

// WebAssembly for the data-processing rows (immediate and register): add/subtract with and without flags,
// logical, moves, bitfields, extract, PC-relative addresses, conditional select, divide, shifts by register,
// multiplies, and the one-source rows (CLZ, RBIT, REV*), CRC32*. Each mirrors its executor in
// insns/data-processing-*.ts; see emit.ts for the contract.

import { decodeBitMasks } from "../../alu.js";
import { Op, ValType } from "./encoder.js";
import { CRC32C_TABLE_OFF, CRC32_TABLE_OFF } from "./arena.js";
import { MASK32, condition, zext32, type WasmContext, type WasmEmitter } from "./context.js";

/** Pushes a constant-amount shift (LSL, LSR, ASR, ROR) of the i64 that `value` pushes, in `bits` bits; a 32-bit
 * result is zero-extended. */
function shifted(g: WasmContext, value: () => void, type: number, amt: number, bits: 32 | 64): void {
  const f = g.f;
  if (bits === 64) {
    value();
    if (amt === 0) return;
    f.i64(amt).op([Op.I64Shl, Op.I64ShrU, Op.I64ShrS, Op.I64Rotr][type]);
    return;
  }
  value();
  f.op(Op.I32WrapI64);
  if (amt !== 0) {
    // I32Shl 0x74, I32ShrU 0x76, I32ShrS 0x75, I32Rotr 0x78
    f.i32(amt).op([0x74, 0x76, 0x75, 0x78][type] as Op);
  }
  f.op(Op.I64ExtendI32U);
}

/** Sets N and Z from the i64 in local r (64-bit) or its low word (32-bit); C and V to 0. */
function logicFlags(g: WasmContext, r: number, bits: 32 | 64): void {
  const f = g.f;
  if (bits === 64) {
    f.get(r).i64(63).op(Op.I64ShrU, Op.I32WrapI64).set(g.nf);
    f.get(r).op(Op.I64Eqz).set(g.zf);
  } else {
    f.get(r).i64(31).op(Op.I64ShrU, Op.I32WrapI64).i32(1).op(Op.I32And).set(g.nf);
    f.get(r).op(Op.I32WrapI64, Op.I32Eqz).set(g.zf);
  }
  f.i32(0).set(g.cf).i32(0).set(g.vf);
}

/**
 * AddWithCarry without a carry in (add) or with the operand inverted and a carry in of 1 (subtract): the result
 * in local r, and NZCV. `a` and `b` are i64 locals holding the operands (b not yet inverted); 32-bit operands are
 * zero-extended.
 */
function addSubFlags(g: WasmContext, a: number, b: number, r: number, sub: boolean, bits: 32 | 64): void {
  const f = g.f;
  const top = BigInt(bits - 1);
  f.get(a).get(b).op(sub ? Op.I64Sub : Op.I64Add);
  if (bits === 32) zext32(g);
  f.set(r);
  // N, Z
  f.get(r).i64(top).op(Op.I64ShrU, Op.I32WrapI64).i32(1).op(Op.I32And).set(g.nf);
  f.get(r).op(Op.I64Eqz).set(g.zf);
  // C: no borrow (a >= b) for a subtraction, a carry out (r < a) for an addition.
  if (sub) f.get(a).get(b).op(Op.I64GeU).set(g.cf);
  else if (bits === 64) f.get(r).get(a).op(Op.I64LtU).set(g.cf);
  else f.get(a).get(b).op(Op.I64Add).i64(32).op(Op.I64ShrU, Op.I32WrapI64).set(g.cf);
  // V: the operands' signs agree (add) or differ (sub) and the result's differs from a's.
  if (sub) f.get(a).get(b).op(Op.I64Xor);
  else f.get(a).get(b).op(Op.I64Xor).i64(-1).op(Op.I64Xor);
  f.get(a).get(r).op(Op.I64Xor, Op.I64And).i64(top).op(Op.I64ShrU, Op.I32WrapI64).i32(1).op(Op.I32And).set(g.vf);
}

// ---- data processing (immediate) --------------------------------------------------------------------------

/**
 * Rd = Rn ± operand (the values `rn` and `operand` push), with NZCV when `flags` (Rd is then XZR); without flags
 * Rd is SP when `spRd`. 32-bit forms zero-extend the result.
 */
function addSubInto(g: WasmContext, d: number, sub: boolean, flags: boolean, bits: 32 | 64, rn: () => void, operand: () => void, spRd: boolean): void {
  const f = g.f;
  if (!flags) {
    (spRd ? g.setSP : g.setX)(d, () => {
      rn();
      operand();
      f.op(sub ? Op.I64Sub : Op.I64Add);
      if (bits === 32) zext32(g);
    });
    return;
  }
  const a = g.temp(ValType.I64);
  const b = g.temp(ValType.I64);
  const r = g.temp(ValType.I64);
  rn();
  if (bits === 32) zext32(g);
  f.set(a);
  operand();
  f.set(b);
  addSubFlags(g, a, b, r, sub, bits);
  g.setX(d, () => f.get(r));
}

/** ADD/SUB (immediate): Rn is SP, and so is Rd without flags. */
function addSubImm(sub: boolean, flags: boolean): WasmEmitter {
  return (fl, g) => {
    const im = BigInt(fl.imm12 << (fl.sh * 12));
    addSubInto(g, fl.rd, sub, flags, fl.sf ? 64 : 32, () => g.sp(fl.rn), () => g.f.i64(im), true);
    return true;
  };
}

/** Rd = the value `value` pushes, with N and Z from it (C, V cleared) when `flags` (Rd is then XZR); without
 * flags Rd is SP when `spRd`. */
function logicalInto(g: WasmContext, d: number, flags: boolean, bits: 32 | 64, value: () => void, spRd: boolean): void {
  if (!flags) {
    (spRd ? g.setSP : g.setX)(d, value);
    return;
  }
  const r = g.temp(ValType.I64);
  value();
  g.f.set(r);
  logicFlags(g, r, bits);
  g.setX(d, () => g.f.get(r));
}

function logicalImm(op: Op, flags: boolean): WasmEmitter {
  return (fl, g) => {
    const bits = fl.sf ? 64 : 32;
    const m = decodeBitMasks(fl.N, fl.imms, fl.immr, true, bits);
    if (m === undefined) return false;
    const imm = (BigInt(fl.sf ? m.whi >>> 0 : 0) << 32n) | BigInt(m.wlo >>> 0);
    const f = g.f;
    const value = () => {
      g.x(fl.rn);
      f.i64(imm).op(op);
      if (bits === 32) zext32(g);
    };
    logicalInto(g, fl.rd, flags, bits, value, true); // Rd is SP-capable, Rn is XZR
    return true;
  };
}

function moveWide(kind: "n" | "z" | "k"): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    if (fl.sf === 0 && fl.hw >= 2) return false;
    const shift = BigInt(fl.hw * 16);
    const imm = BigInt(fl.imm16) << shift;
    const width = fl.sf ? 0xffffffffffffffffn : MASK32;
    g.setX(fl.rd, () => {
      if (kind === "z") f.i64(imm);
      else if (kind === "n") f.i64(~imm & width);
      else {
        g.x(fl.rd);
        f.i64(~(0xffffn << shift) & width).op(Op.I64And).i64(imm).op(Op.I64Or);
      }
    });
    return true;
  };
}

/** UBFM and SBFM (every alias: LSL, LSR, ASR, UBFX, SBFX, UBFIZ, SBFIZ, UXTB/H, SXTB/H/W). */
function bitfield(signed: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const esize = fl.sf ? 64 : 32;
    const r = fl.immr;
    const s = fl.imms;
    if (fl.sf !== fl.N || r >= esize || s >= esize) return false; // reserved: the executor decides
    g.setX(fl.rd, () => {
      g.x(fl.rn);
      if (s >= r) {
        // The field src[s:r] to the bottom, zero- or sign-extended from bit s - r.
        f.i64(63 - s).op(Op.I64Shl).i64(63 - s + r).op(signed ? Op.I64ShrS : Op.I64ShrU);
      } else {
        // src[s:0] placed at bit esize - r, extended above.
        f.i64(63 - s).op(Op.I64Shl).i64(63 - s).op(signed ? Op.I64ShrS : Op.I64ShrU);
        f.i64(esize - r).op(Op.I64Shl);
      }
      if (esize === 32) zext32(g);
    });
    return true;
  };
}

/** EXTR (ROR by immediate when Rn = Rm). */
const extract: WasmEmitter = (fl, g) => {
  const f = g.f;
  const esize = fl.sf ? 64 : 32;
  const lsb = fl.imms;
  if (fl.sf !== fl.N || lsb >= esize) return false;
  g.setX(fl.rd, () => {
    if (lsb === 0) {
      g.x(fl.rm);
      if (esize === 32) zext32(g);
      return;
    }
    g.x(fl.rm);
    if (esize === 32) zext32(g);
    f.i64(lsb).op(Op.I64ShrU);
    g.x(fl.rn);
    f.i64(esize - lsb).op(Op.I64Shl, Op.I64Or);
    if (esize === 32) zext32(g);
  });
  return true;
};

/** ADR, ADRP. */
function pcRelative(page: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const imm = ((fl.immhi << 2) | fl.immlo) << 11 >> 11; // 21 bits, signed
    g.setX(fl.rd, () => {
      if (!page) g.pc(imm);
      else {
        g.pc();
        f.i64(~0xfffn).op(Op.I64And).i64(BigInt(imm) << 12n).op(Op.I64Add);
      }
    });
    return true;
  };
}

// ---- data processing (register) ---------------------------------------------------------------------------

function logicalReg(op: Op, invert: boolean, flags: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const bits = fl.sf ? 64 : 32;
    if (bits === 32 && fl.imm6 >= 32) return false;
    const value = () => {
      g.x(fl.rn);
      shifted(g, () => g.x(fl.rm), fl.shift, fl.imm6, bits);
      if (invert) f.i64(bits === 64 ? -1 : MASK32).op(Op.I64Xor);
      f.op(op);
      if (bits === 32) zext32(g);
    };
    logicalInto(g, fl.rd, flags, bits, value, false);
    return true;
  };
}

function addSubShifted(sub: boolean, flags: boolean): WasmEmitter {
  return (fl, g) => {
    const bits = fl.sf ? 64 : 32;
    if (fl.shift === 3 || (bits === 32 && fl.imm6 >= 32)) return false;
    addSubInto(g, fl.rd, sub, flags, bits, () => g.x(fl.rn), () => shifted(g, () => g.x(fl.rm), fl.shift, fl.imm6, bits), false);
    return true;
  };
}

/** Pushes ExtendReg(Rm, option, shift) as an i64 (zero-extended to 32 bits when `bits` is 32). */
function extendedOperand(g: WasmContext, m: number, option: number, sh: number, bits: 32 | 64): void {
  const f = g.f;
  g.x(m);
  const size = [8, 16, 32, 64][option & 3];
  if (size < 64) {
    const k = BigInt(64 - size);
    f.i64(k).op(Op.I64Shl).i64(k).op((option & 4) !== 0 ? Op.I64ShrS : Op.I64ShrU);
  }
  if (sh !== 0) f.i64(sh).op(Op.I64Shl);
  if (bits === 32) zext32(g);
}

/** ADD/SUB (extended register): Rn is SP, and so is Rd without flags. */
function addSubExtended(sub: boolean, flags: boolean): WasmEmitter {
  return (fl, g) => {
    const bits = fl.sf ? 64 : 32;
    if (fl.imm3 > 4) return false;
    addSubInto(g, fl.rd, sub, flags, bits, () => g.sp(fl.rn), () => extendedOperand(g, fl.rm, fl.option, fl.imm3, bits), true);
    return true;
  };
}

function condSelect(kind: "sel" | "inc" | "inv" | "neg"): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const bits = fl.sf ? 64 : 32;
    g.setX(fl.rd, () => {
      g.x(fl.rn);
      g.x(fl.rm);
      if (kind === "inc") f.i64(1).op(Op.I64Add);
      else if (kind === "inv") f.i64(-1).op(Op.I64Xor);
      else if (kind === "neg") {
        const t = g.temp(ValType.I64);
        f.set(t).i64(0).get(t).op(Op.I64Sub);
      }
      condition(g, fl.cond);
      f.op(Op.Select);
      if (bits === 32) zext32(g);
    });
    return true;
  };
}

/** UDIV, SDIV (x / 0 = 0; the most negative number / -1 is itself), LSLV, LSRV, ASRV, RORV. */
function twoSource(kind: "udiv" | "sdiv" | "lsl" | "lsr" | "asr" | "ror"): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const bits = fl.sf ? 64 : 32;
    g.setX(fl.rd, () => {
      const a = g.temp(ValType.I64);
      const b = g.temp(ValType.I64);
      g.x(fl.rn);
      if (bits === 32) {
        if (kind === "sdiv" || kind === "asr") f.op(Op.I32WrapI64, Op.I64ExtendI32S);
        else zext32(g);
      }
      f.set(a);
      g.x(fl.rm);
      if (bits === 32) {
        if (kind === "sdiv") f.op(Op.I32WrapI64, Op.I64ExtendI32S);
        else zext32(g);
      }
      f.set(b);
      switch (kind) {
        case "udiv":
        case "sdiv": {
          // b == 0: 0. sdiv overflow (MIN / -1) cannot happen for 32-bit operands widened to 64; for 64-bit
          // operands WebAssembly traps on it, so -1 is a negation there.
          f.get(b).op(Op.I64Eqz);
          f.if();
          f.i64(0).set(a);
          f.else();
          if (kind === "sdiv") {
            f.get(b).i64(-1).op(Op.I64Eq);
            f.if();
            f.i64(0).get(a).op(Op.I64Sub).set(a);
            f.else();
            f.get(a).get(b).op(Op.I64DivS).set(a);
            f.end();
          } else f.get(a).get(b).op(Op.I64DivU).set(a);
          f.end();
          f.get(a);
          break;
        }
        case "ror":
          if (bits === 64) f.get(a).get(b).op(Op.I64Rotr);
          else f.get(a).op(Op.I32WrapI64).get(b).op(Op.I32WrapI64).op(0x78 as Op).op(Op.I64ExtendI32U); // i32.rotr
          break;
        default: {
          f.get(a).get(b).i64(bits - 1).op(Op.I64And);
          f.op(kind === "lsl" ? Op.I64Shl : kind === "lsr" ? Op.I64ShrU : Op.I64ShrS);
        }
      }
      if (bits === 32) zext32(g);
    });
    return true;
  };
}

/** MADD, MSUB: Ra ± Rn × Rm. */
function mulAdd(sub: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    g.setX(fl.rd, () => {
      g.x(fl.ra);
      g.x(fl.rn);
      g.x(fl.rm);
      f.op(Op.I64Mul, sub ? Op.I64Sub : Op.I64Add);
      if (!fl.sf) zext32(g);
    });
    return true;
  };
}

/** SMADDL, SMSUBL, UMADDL, UMSUBL: Xa ± Wn × Wm, the words extended to 64 bits. */
function mulAddLong(signed: boolean, sub: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const word = (n: number) => {
      g.x(n);
      f.op(Op.I32WrapI64, signed ? Op.I64ExtendI32S : Op.I64ExtendI32U);
    };
    g.setX(fl.rd, () => {
      g.x(fl.ra);
      word(fl.rn);
      word(fl.rm);
      f.op(Op.I64Mul, sub ? Op.I64Sub : Op.I64Add);
    });
    return true;
  };
}

/** UMULH, SMULH: the high 64 bits of the 128-bit product, from four 32 × 32 partial products. */
function mulHigh(signed: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const a = g.temp(ValType.I64);
    const b = g.temp(ValType.I64);
    const t = g.temp(ValType.I64);
    const mid = g.temp(ValType.I64);
    g.x(fl.rn);
    f.set(a);
    g.x(fl.rm);
    f.set(b);
    const lo = (v: number) => f.get(v).i64(MASK32).op(Op.I64And);
    const hi = (v: number) => f.get(v).i64(32).op(Op.I64ShrU);
    // Unsigned: t = aL*bL; mid = aH*bL + (t >> 32); carry part = aL*bH + (mid & M); high = aH*bH + (mid >> 32) + (that >> 32).
    lo(a);
    lo(b);
    f.op(Op.I64Mul).set(t);
    hi(a);
    lo(b);
    f.op(Op.I64Mul).get(t).i64(32).op(Op.I64ShrU, Op.I64Add).set(mid);
    lo(a);
    hi(b);
    f.op(Op.I64Mul).get(mid).i64(MASK32).op(Op.I64And, Op.I64Add).set(t);
    g.setX(fl.rd, () => {
      hi(a);
      hi(b);
      f.op(Op.I64Mul).get(mid).i64(32).op(Op.I64ShrU, Op.I64Add).get(t).i64(32).op(Op.I64ShrU, Op.I64Add);
      if (signed) {
        // Signed high part = unsigned high part - (a < 0 ? b : 0) - (b < 0 ? a : 0).
        f.get(b).i64(0).get(a).i64(0).op(Op.I64LtS).op(Op.Select).op(Op.I64Sub);
        f.get(a).i64(0).get(b).i64(0).op(Op.I64LtS).op(Op.Select).op(Op.I64Sub);
      }
    });
    return true;
  };
}

/** CLZ. */
const countLeadingZeros: WasmEmitter = (fl, g) => {
  const f = g.f;
  g.setX(fl.rd, () => {
    g.x(fl.rn);
    if (fl.sf) f.op(Op.I64Clz);
    else f.op(Op.I32WrapI64, Op.I32Clz, Op.I64ExtendI32U);
  });
  return true;
};

/** Pushes the i64 that `value` pushes with its bytes swapped within each `unit` bytes (8: REV, 4: REV32,
 * 2: REV16). */
function byteSwap(g: WasmContext, value: () => void, unit: 2 | 4 | 8): void {
  const f = g.f;
  const t = g.temp(ValType.I64);
  value();
  f.set(t);
  const swap = (shift: number, mask: bigint) => {
    f.get(t).i64(shift).op(Op.I64ShrU).i64(mask).op(Op.I64And);
    f.get(t).i64(mask).op(Op.I64And).i64(shift).op(Op.I64Shl, Op.I64Or).set(t);
  };
  swap(8, 0x00ff00ff00ff00ffn);
  if (unit >= 4) swap(16, 0x0000ffff0000ffffn);
  f.get(t);
  if (unit === 8) f.i64(32).op(Op.I64Rotr);
}

/** RBIT, REV16, REV (W and X), REV32. */
function oneSource(kind: "rbit" | "rev16" | "rev" | "rev32", fixedSf?: number): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const w = (fixedSf ?? fl.sf) === 0;
    g.setX(fl.rd, () => {
      if (kind === "rev16") byteSwap(g, () => g.x(fl.rn), 2);
      else if (kind === "rev32") byteSwap(g, () => g.x(fl.rn), 4);
      else if (kind === "rev") {
        // REV Wd: the word's bytes reversed = the doubleword's, shifted down.
        byteSwap(g, () => g.x(fl.rn), 8);
        if (w) f.i64(32).op(Op.I64ShrU);
      } else {
        const t = g.temp(ValType.I64);
        g.x(fl.rn);
        f.set(t);
        for (const [shift, mask] of [
          [1, 0x5555555555555555n],
          [2, 0x3333333333333333n],
          [4, 0x0f0f0f0f0f0f0f0fn],
        ] as const) {
          f.get(t).i64(shift).op(Op.I64ShrU).i64(mask).op(Op.I64And);
          f.get(t).i64(mask).op(Op.I64And).i64(shift).op(Op.I64Shl, Op.I64Or).set(t);
        }
        byteSwap(g, () => f.get(t), 8);
        if (w) f.i64(32).op(Op.I64ShrU);
      }
      if (w) zext32(g);
    });
    return true;
  };
}

/** CRC32B/H/W/X and CRC32CB/H/W/X: Wd = CRC of Wn with the low `bytes` bytes of Rm, a table step per byte (the
 * tables are in the arena). */
function crc(table: number, bytes: number): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const acc = g.temp(ValType.I32);
    const v = g.temp(ValType.I64);
    g.x(fl.rn);
    f.op(Op.I32WrapI64).set(acc);
    g.x(fl.rm);
    f.set(v);
    for (let i = 0; i < bytes; i++) {
      // acc = table[(acc ^ byte) & 0xff] ^ (acc >>> 8)
      f.get(acc).get(v).i64(8 * i).op(Op.I64ShrU, Op.I32WrapI64, Op.I32Xor).i32(0xff).op(Op.I32And).i32(2).op(Op.I32Shl);
      f.mem(Op.I32Load, table).get(acc).i32(8).op(Op.I32ShrU, Op.I32Xor).set(acc);
    }
    g.setX(fl.rd, () => f.get(acc).op(Op.I64ExtendI32U));
    return true;
  };
}

/** Row name -> emitter, for the data-processing rows. */
export const ALU_EMITTERS: Readonly<Record<string, WasmEmitter>> = {
  ADD_imm: addSubImm(false, false),
  ADDS_imm: addSubImm(false, true),
  SUB_imm: addSubImm(true, false),
  SUBS_imm: addSubImm(true, true),
  AND_imm: logicalImm(Op.I64And, false),
  ORR_imm: logicalImm(Op.I64Or, false),
  EOR_imm: logicalImm(Op.I64Xor, false),
  ANDS_imm: logicalImm(Op.I64And, true),
  MOVN: moveWide("n"),
  MOVZ: moveWide("z"),
  MOVK: moveWide("k"),
  UBFM: bitfield(false),
  SBFM: bitfield(true),
  EXTR: extract,
  ADR: pcRelative(false),
  ADRP: pcRelative(true),
  AND_reg: logicalReg(Op.I64And, false, false),
  BIC_reg: logicalReg(Op.I64And, true, false),
  ORR_reg: logicalReg(Op.I64Or, false, false),
  ORN_reg: logicalReg(Op.I64Or, true, false),
  EOR_reg: logicalReg(Op.I64Xor, false, false),
  EON_reg: logicalReg(Op.I64Xor, true, false),
  ANDS_reg: logicalReg(Op.I64And, false, true),
  BICS_reg: logicalReg(Op.I64And, true, true),
  ADD_shifted: addSubShifted(false, false),
  ADDS_shifted: addSubShifted(false, true),
  SUB_shifted: addSubShifted(true, false),
  SUBS_shifted: addSubShifted(true, true),
  ADD_extended: addSubExtended(false, false),
  ADDS_extended: addSubExtended(false, true),
  SUB_extended: addSubExtended(true, false),
  SUBS_extended: addSubExtended(true, true),
  CSEL: condSelect("sel"),
  CSINC: condSelect("inc"),
  CSINV: condSelect("inv"),
  CSNEG: condSelect("neg"),
  UDIV: twoSource("udiv"),
  SDIV: twoSource("sdiv"),
  LSLV: twoSource("lsl"),
  LSRV: twoSource("lsr"),
  ASRV: twoSource("asr"),
  RORV: twoSource("ror"),
  MADD: mulAdd(false),
  MSUB: mulAdd(true),
  SMADDL: mulAddLong(true, false),
  SMSUBL: mulAddLong(true, true),
  UMADDL: mulAddLong(false, false),
  UMSUBL: mulAddLong(false, true),
  UMULH: mulHigh(false),
  SMULH: mulHigh(true),
  CLZ: countLeadingZeros,
  RBIT: oneSource("rbit"),
  REV16: oneSource("rev16"),
  REV_w: oneSource("rev", 0),
  REV32: oneSource("rev32", 1),
  REV_x: oneSource("rev", 1),
  CRC32B: crc(CRC32_TABLE_OFF, 1),
  CRC32H: crc(CRC32_TABLE_OFF, 2),
  CRC32W: crc(CRC32_TABLE_OFF, 4),
  CRC32X: crc(CRC32_TABLE_OFF, 8),
  CRC32CB: crc(CRC32C_TABLE_OFF, 1),
  CRC32CH: crc(CRC32C_TABLE_OFF, 2),
  CRC32CW: crc(CRC32C_TABLE_OFF, 4),
  CRC32CX: crc(CRC32C_TABLE_OFF, 8),
};

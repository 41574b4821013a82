// WebAssembly loads and stores of general registers: the forms jit/emit-memory.ts inlines for JavaScript (LDR/STR
// of W and X registers, LDRB/STRB, LDRSW; unsigned immediate, register offset, pre/post index, pairs). The
// address is computed here as the executor computes it; the access itself (the direct RAM path or the CPU's
// accessor) is the region's MemoryContext (region.ts).

import type { Fields } from "../../decoder.js";
import { sext } from "../../decoder.js";
import { regOp } from "../../insns/load-store-common.js";
import { Op, ValType } from "./encoder.js";
import type { WasmContext, WasmEmitter } from "./context.js";

export type AccessSize = 1 | 2 | 4 | 8;

/** The access itself, at the address in i64 local `a` (region.ts). */
export interface MemoryContext {
  /** Loads `size` bytes into i64 local `v`, zero-extended. */
  load(a: number, size: AccessSize, v: number): void;
  /** Stores the low `size` bytes of i64 local `v`. */
  store(a: number, size: AccessSize, v: number): void;
}

interface Access {
  size: AccessSize;
  load: boolean;
  /** A sign-extending load (LDRSB, LDRSH, LDRSW). */
  signed: boolean;
  /** The register is a W register (a loaded value is then zero-extended from 32 bits). */
  word: boolean;
}

/** Every general-register load and store (the rows' register operation, load-store-common.ts regOp). */
function accessOf(f: Fields): Access | undefined {
  if (f.v !== 0 || f.rt === 31) return undefined;
  const op = regOp(f.size, f.v, f.opc);
  if (op === undefined || (op.reg !== "x" && op.reg !== "w")) return undefined;
  return { size: (1 << op.scale) as AccessSize, load: op.dir === "ld", signed: op.suffix.startsWith("s"), word: op.reg === "w" };
}

/** Pushes the loaded value in local v as the register receives it (sign-extended, W zero-extended). */
function loaded(g: WasmContext, x: Access, v: number): void {
  const f = g.f;
  f.get(v);
  if (x.signed && x.size < 8) {
    const k = 64 - 8 * x.size;
    f.i64(k).op(Op.I64Shl).i64(k).op(Op.I64ShrS);
    if (x.word) f.i64(0xffffffffn).op(Op.I64And);
  }
}

/** The single-register access at local `a` for register t (not 31). */
function access(g: WasmContext, x: Access, a: number, t: number): void {
  const v = g.temp(ValType.I64);
  if (x.load) {
    g.memory.load(a, x.size, v);
    g.setX(t, () => loaded(g, x, v));
  } else {
    g.x(t);
    g.f.set(v);
    g.memory.store(a, x.size, v);
  }
}

/** Local a = Xn|SP + off. */
function baseImm(g: WasmContext, n: number, off: number): number {
  const a = g.temp(ValType.I64);
  g.sp(n);
  if (off !== 0) g.f.i64(off).op(Op.I64Add);
  g.f.set(a);
  return a;
}

/** LDR/STR Rt, [Xn|SP, #imm]! and LDR/STR Rt, [Xn|SP], #imm: the access, then the base written back. */
export function loadStoreIndexed(pre: boolean): WasmEmitter {
  return (f, g) => {
    const x = accessOf(f);
    if (x === undefined) return false;
    const off = sext(f.imm9, 9);
    const a = baseImm(g, f.rn, pre ? off : 0);
    access(g, x, a, f.rt);
    g.setSP(f.rn, () => {
      g.f.get(a);
      if (!pre && off !== 0) g.f.i64(off).op(Op.I64Add);
    });
    return true;
  };
}

/** LDR/STR Rt, [Xn|SP, #imm] (unsigned, scaled). */
export const loadStoreUimm: WasmEmitter = (f, g) => {
  const x = accessOf(f);
  if (x === undefined) return false;
  const a = baseImm(g, f.rn, f.imm12 * x.size);
  access(g, x, a, f.rt);
  return true;
};

/** LDUR/STUR Rt, [Xn|SP, #simm9]. */
export const loadStoreUnscaled: WasmEmitter = (f, g) => {
  const x = accessOf(f);
  if (x === undefined) return false;
  access(g, x, baseImm(g, f.rn, sext(f.imm9, 9)), f.rt);
  return true;
};

/** LDR/STR Rt, [Xn|SP, Rm{, extend {#amount}}]. */
export const loadStoreReg: WasmEmitter = (f, g) => {
  const x = accessOf(f);
  if (x === undefined || f.rm === 31) return false;
  const { option } = f;
  if (option !== 2 && option !== 3 && option !== 6 && option !== 7) return false;
  const sh = f.s ? Math.log2(x.size) : 0;
  const a = g.temp(ValType.I64);
  const fb = g.f;
  g.sp(f.rn);
  g.x(f.rm);
  if (option === 2) fb.i64(0xffffffffn).op(Op.I64And); // UXTW
  else if (option === 6) fb.op(Op.I32WrapI64, Op.I64ExtendI32S); // SXTW
  if (sh !== 0) fb.i64(sh).op(Op.I64Shl);
  fb.op(Op.I64Add).set(a);
  access(g, x, a, f.rt);
  return true;
};

/** LDP/STP of W or X registers, signed offset, pre- or post-index. Both accesses come before any register is
 * written; the second element follows the first. */
export function loadStorePair(mode: "off" | "pre" | "post"): WasmEmitter {
  return (f, g) => {
    if (f.v !== 0 || (f.opc !== 0 && f.opc !== 2)) return false;
    const size: 4 | 8 = f.opc === 2 ? 8 : 4;
    const load = f.l === 1;
    const { rt: t, rt2: t2, rn: n } = f;
    const off = sext(f.imm7, 7) * size;
    const fb = g.f;
    const a = baseImm(g, n, mode === "post" ? 0 : off);
    const a2 = g.temp(ValType.I64);
    fb.get(a).i64(size).op(Op.I64Add).set(a2);
    const v1 = g.temp(ValType.I64);
    const v2 = g.temp(ValType.I64);
    if (load) {
      g.memory.load(a, size, v1);
      g.memory.load(a2, size, v2);
      g.setX(t2, () => fb.get(v2));
      g.setX(t, () => fb.get(v1));
    } else {
      g.x(t);
      fb.set(v1);
      g.x(t2);
      fb.set(v2);
      g.memory.store(a, size, v1);
      g.memory.store(a2, size, v2);
    }
    if (mode !== "off")
      g.setSP(n, () => {
        fb.get(a);
        if (mode === "post" && off !== 0) fb.i64(off).op(Op.I64Add);
      });
    return true;
  };
}

// What a WebAssembly emitter works with (region.ts provides it), and the helpers branches and data processing
// share: the W-form zero extension, condition codes over the flag locals, the next PC.

import type { Fields } from "../../decoder.js";
import { Op, type FunctionBuilder, type ValType } from "./encoder.js";
import type { MemoryContext } from "./emit-memory.js";

/** What an emitter works with: the function being built and the region's view of the guest state. */
export interface WasmContext {
  readonly f: FunctionBuilder;
  /** Byte offset of the instruction in its code page. */
  readonly offset: number;
  /** Pushes Xn as an i64, 31 reading as zero (XZR). */
  x(n: number): void;
  /** Pushes Xn|SP as an i64 (31 is the current stack pointer). */
  sp(n: number): void;
  /** Writes the i64 that `value` pushes to Xd; 31 (XZR) discards it (and `value` is not emitted). */
  setX(d: number, value: () => void): void;
  /** Writes the i64 that `value` pushes to Xd|SP. */
  setSP(d: number, value: () => void): void;
  /** The NZCV locals (i32, 0 or 1). */
  readonly nf: number;
  readonly zf: number;
  readonly cf: number;
  readonly vf: number;
  /** The next PC (i64 local). */
  readonly next: number;
  /** Pushes this instruction's address + off (i64). */
  pc(off?: number): void;
  /** A scratch local of the type, free again after the instruction. */
  temp(type: ValType): number;
  /** Memory accesses: see emit-memory.ts. */
  readonly memory: MemoryContext;
}

export type WasmEmitter = (fields: Fields, g: WasmContext) => boolean;

export const MASK32 = 0xffffffffn;

/** Pushes the low 32 bits of an i64 zero-extended (the W form of a result). */
export function zext32(g: WasmContext): void {
  g.f.i64(MASK32).op(Op.I64And);
}

/** Pushes ConditionHolds(cond) (i32 0 or 1) from the flag locals. */
export function condition(g: WasmContext, cond: number): void {
  const f = g.f;
  switch (cond >> 1) {
    case 0:
      f.get(g.zf);
      break;
    case 1:
      f.get(g.cf);
      break;
    case 2:
      f.get(g.nf);
      break;
    case 3:
      f.get(g.vf);
      break;
    case 4:
      f.get(g.cf).get(g.zf).i32(1).op(Op.I32Xor, Op.I32And);
      break;
    case 5:
      f.get(g.nf).get(g.vf).op(Op.I32Eq);
      break;
    case 6:
      f.get(g.nf).get(g.vf).op(Op.I32Eq).get(g.zf).i32(1).op(Op.I32Xor, Op.I32And);
      break;
    default:
      f.i32(1);
  }
  if ((cond & 1) === 1 && cond !== 0xf) f.op(Op.I32Eqz);
}

/** Pushes the taken condition of B.cond, CBZ/CBNZ or TBZ/TBNZ (i32). */
export function branchTaken(g: WasmContext, row: string, fl: Fields): void {
  const f = g.f;
  switch (row) {
    case "B_cond":
      condition(g, fl.cond);
      return;
    case "CBZ":
    case "CBNZ":
      g.x(fl.rt);
      if (fl.sf === 0) zext32(g);
      f.op(Op.I64Eqz);
      if (row === "CBNZ") f.op(Op.I32Eqz);
      return;
    default: {
      const bit = (fl.b5 << 5) | fl.b40;
      g.x(fl.rt);
      f.i64(1n << BigInt(bit)).op(Op.I64And, Op.I64Eqz);
      if (row === "TBNZ") f.op(Op.I32Eqz);
    }
  }
}

/** Sets the next PC to this instruction's address + off. */
export function jumpTo(g: WasmContext, off: number): void {
  g.pc(off);
  g.f.set(g.next);
}

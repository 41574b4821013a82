// Shared by the scalar and vector FP rows: the two-source operations by their scalar opcode (FMUL 0, FDIV 1,
// FADD 2, FSUB 3, FMAX 4, FMIN 5, FMAXNM 6, FMINNM 7, FNMUL 8) on single and double precision bit patterns.

import { fpst } from "../fp/softfloat.js";
import { add32, add64, div32, div64, maxmin32, maxmin64, mul32, mul64 } from "../fp/ops.js";

const SIGN = 0x80000000 | 0;

export type Op32 = (x: number, y: number, fpcr: number) => number;
export type Op64 = (xl: number, xh: number, yl: number, yh: number, fpcr: number) => number;

export function op2Single(op: number): Op32 {
  switch (op) {
    case 0:
      return mul32;
    case 1:
      return div32;
    case 2:
      return (x, y, c) => add32(x, y, c, 0);
    case 3:
      return (x, y, c) => add32(x, y, c, 1);
    case 8:
      return (x, y, c) => mul32(x, y, c) ^ SIGN;
    default:
      return (x, y, c) => maxmin32(x, y, c, op - 4);
  }
}

export function op2Double(op: number): Op64 {
  switch (op) {
    case 0:
      return mul64;
    case 1:
      return div64;
    case 2:
      return (a, b, x, y, c) => add64(a, b, x, y, c, 0);
    case 3:
      return (a, b, x, y, c) => add64(a, b, x, y, c, 1);
    case 8:
      return (a, b, x, y, c) => {
        const lo = mul64(a, b, x, y, c);
        fpst.hi ^= SIGN;
        return lo;
      };
    default:
      return (a, b, x, y, c) => maxmin64(a, b, x, y, c, op - 4);
  }
}

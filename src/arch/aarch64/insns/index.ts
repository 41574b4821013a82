// The A64 instruction table: every implemented encoding, one row each, grouped by encoding class.

import type { InsnSpec } from "../decoder.js";
import { Decoder } from "../decoder.js";
import { DP_IMM } from "./data-processing-imm.js";
import { DP_REG } from "./data-processing-reg.js";
import { BRANCH } from "./branch.js";
import { LOAD_STORE } from "./load-store.js";
import { SIMD_MOVES } from "./simd-moves.js";
import { FP } from "./fp.js";
import { SIMD_INT } from "./simd-int.js";
import { CRYPTO } from "./crypto.js";
import { SYSTEM } from "./system.js";

export const A64_TABLE: readonly InsnSpec[] = [...DP_IMM, ...DP_REG, ...BRANCH, ...LOAD_STORE, ...SIMD_MOVES, ...FP, ...SIMD_INT, ...CRYPTO, ...SYSTEM];

let shared: Decoder | undefined;
/** The decoder over the whole table (built once). */
export function a64Decoder(): Decoder {
  return (shared ??= new Decoder(A64_TABLE));
}

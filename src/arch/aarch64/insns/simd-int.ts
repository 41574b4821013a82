// Advanced SIMD integer instructions: the rows of simd-int-*.ts, simd-permute.ts and simd-ldst-single.ts.

import type { InsnSpec } from "../decoder.js";
import { SIMD_INT_SAME } from "./simd-int-same.js";
import { SIMD_INT_SHIFT } from "./simd-int-shift.js";
import { SIMD_INT_LONG } from "./simd-int-long.js";
import { SIMD_PERMUTE } from "./simd-permute.js";
import { LOAD_STORE_SIMD_SINGLE } from "./simd-ldst-single.js";

export const SIMD_INT: readonly InsnSpec[] = [...SIMD_INT_SAME, ...SIMD_INT_SHIFT, ...SIMD_INT_LONG, ...SIMD_PERMUTE, ...LOAD_STORE_SIMD_SINGLE];

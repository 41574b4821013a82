// Advanced SIMD integer instructions: the rows of simd-int-*.ts and simd-permute.ts.

import type { InsnSpec } from "../decoder.js";
import { SIMD_INT_SAME } from "./simd-int-same.js";
import { SIMD_INT_SHIFT } from "./simd-int-shift.js";
import { SIMD_INT_LONG } from "./simd-int-long.js";

export const SIMD_INT: readonly InsnSpec[] = [...SIMD_INT_SAME, ...SIMD_INT_SHIFT, ...SIMD_INT_LONG];

// Scalar floating point and the FP forms of Advanced SIMD (rows to come; see issue 11).

import type { InsnSpec } from "../decoder.js";

export const FP: readonly InsnSpec[] = [];

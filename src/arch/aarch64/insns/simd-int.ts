// Advanced SIMD integer instructions (rows to come; see issue 11).

import type { InsnSpec } from "../decoder.js";

export const SIMD_INT: readonly InsnSpec[] = [];

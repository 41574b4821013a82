// AdvSIMD floating point (vector forms): rows to come.

import type { InsnSpec } from "../decoder.js";

export const FP_SIMD: readonly InsnSpec[] = [];

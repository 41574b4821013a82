import type { InsnSpec } from "../decoder.js";

export const SIMD_MOVES: InsnSpec[] = [];

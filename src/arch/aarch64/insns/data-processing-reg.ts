import type { InsnSpec } from "../decoder.js";

export const DP_REG: InsnSpec[] = [];

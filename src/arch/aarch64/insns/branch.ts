import type { InsnSpec } from "../decoder.js";

export const BRANCH: InsnSpec[] = [];

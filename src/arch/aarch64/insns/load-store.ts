import type { InsnSpec } from "../decoder.js";

export const LOAD_STORE: InsnSpec[] = [];

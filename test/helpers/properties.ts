// What the property tests on interrupted, computing guests share: how many cases to run, and running a machine
// in random chunks.

import assert from "node:assert/strict";
import type { Machine } from "../../src/core/machine.js";
import { atIcount } from "../../src/core/position.js";

/** REWIND_PROPERTY_SCALE=N runs N times as many cases (and another seed per scale), for deeper checks by hand. */
export const PROPERTY_SCALE = Math.max(1, Number(process.env.REWIND_PROPERTY_SCALE ?? 1) || 1);
/** Added to each property's seed, so that a deeper run also tries other cases. */
export const SEED_OFFSET = PROPERTY_SCALE === 1 ? 0 : PROPERTY_SCALE;

/**
 * Runs `m` until it powers off, in chunks of `chunks[i % chunks.length]` steps; after each chunk that ended at its
 * limit, `atLimit(i)` checks the state there.
 */
export function runInChunks(m: Machine, chunks: readonly number[], atLimit: (run: number) => void): void {
  for (let i = 0; ; i++) {
    const reason = m.run(atIcount(m.clock.icount + chunks[i % chunks.length]!));
    if (reason === "poweroff") return;
    assert.equal(reason, "limit");
    atLimit(i);
  }
}

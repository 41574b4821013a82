// Seeded generators for tests that need reproducible random input without loading a machine.

/** xorshift32: a seeded generator of uint32 values (a seed of 0 stays 0: give a non-zero one). */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

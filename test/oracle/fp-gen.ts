// Operand generators for the FP oracle tests: seeded, with the edge cases of IEEE formats mixed in (zeros,
// infinities, quiet and signalling NaNs with payloads, denormals, the smallest and largest normals, values one
// ulp around rounding and conversion boundaries, sparse significands that give exact and halfway results).

import { xorshift32 } from "../helpers/random.js";
import type { A64Case } from "../helpers/a64-oracle.js";

export interface Format {
  E: number;
  F: number;
}
export const H: Format = { E: 5, F: 10 };
export const S: Format = { E: 8, F: 23 };
export const D: Format = { E: 11, F: 52 };

const MAGIC = [0.5, 1.5, 2.5, -0.5, -1.5, 3.5, 0.25, 0.75, 1, 2, 3, 1e3, 1e9, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, 2 ** 52, 2 ** 23, 2 ** 24, 2 ** 53, 65504, 65520, 131008];

export class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = xorshift32(seed);
  }
  int(n: number): number {
    return this.r() % n;
  }
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i += 32) v = (v << 32n) | BigInt(this.r());
    return v & ((1n << BigInt(n)) - 1n);
  }
  /** A random value of the format, as its bit pattern. */
  value(f: Format): bigint {
    const N = 1 + f.E + f.F;
    const fb = BigInt(f.F);
    const expMax = (1 << f.E) - 1;
    const bias = (1 << (f.E - 1)) - 1;
    const sign = BigInt(this.r() & 1) << BigInt(N - 1);
    const frac = this.bits(f.F);
    const pack = (e: number, m: bigint) => sign | (BigInt(e) << fb) | (m & ((1n << fb) - 1n));
    const sparse = () => {
      const k = this.int(f.F + 1);
      return (frac >> BigInt(k)) << BigInt(k);
    };
    switch (this.int(12)) {
      case 0:
      case 1:
        return this.bits(N);
      case 2: {
        const k = this.int(7);
        if (k === 0) return pack(0, 0n); // zero
        if (k === 1) return pack(expMax, 0n); // infinity
        if (k === 2) return pack(expMax, (1n << (fb - 1n)) | sparse()); // quiet NaN
        if (k === 3) return pack(expMax, (sparse() & ((1n << (fb - 1n)) - 1n)) | 1n); // signalling NaN
        if (k === 4) return pack(expMax - 1, (1n << fb) - 1n); // max normal
        if (k === 5) return pack(1, 0n); // min normal
        return pack(0, (1n << fb) - 1n); // max denormal
      }
      case 3:
        return pack(0, frac >> BigInt(this.int(f.F))); // denormal
      case 4:
        return pack(bias + this.int(17) - 8, frac);
      case 5:
        return pack(bias + this.int(17) - 8, sparse());
      case 6: {
        const e = [1, 2, 3, expMax - 2, expMax - 1][this.int(5)];
        return pack(e, this.int(2) ? frac : sparse());
      }
      case 7: {
        const e = this.int(2) ? 1 + this.int(f.F + 2) : expMax - 1 - this.int(f.F + 2);
        return pack(e, sparse());
      }
      case 8: {
        // magic values (conversion boundaries, halves) one or two ulps either way
        const x = MAGIC[this.int(MAGIC.length)];
        const e = Math.floor(Math.log2(x < 0 ? -x : x));
        const m = BigInt(Math.round((Math.abs(x) / 2 ** e - 1) * 2 ** f.F));
        let b = pack(Math.min(Math.max(e + bias, 1), expMax - 1), m) | (x < 0 ? 1n << BigInt(N - 1) : 0n);
        b += BigInt(this.int(5) - 2);
        return b & ((1n << BigInt(N)) - 1n);
      }
      default:
        return pack(bias + this.int(2 * bias) - bias + 1, this.int(3) ? frac : sparse());
    }
  }
  /** A value related to x: a few ulps away, or with a shifted exponent (cancellation and halfway cases). */
  related(f: Format, x: bigint): bigint {
    const N = BigInt(1 + f.E + f.F);
    const mask = (1n << N) - 1n;
    switch (this.int(4)) {
      case 0:
        return (x + BigInt(this.int(9) - 4)) & mask;
      case 1:
        return (x ^ (1n << (N - 1n))) + BigInt(this.int(3) - 1) & mask; // negated, nearly
      case 2:
        return (x + (BigInt(this.int(f.F + 4) - 2) << BigInt(f.F))) & mask; // exponent shifted
      default:
        return x ^ (this.bits(4) << BigInt(this.int(f.F)));
    }
  }
  /** FPCR: random rounding mode, FZ, DN (and AHP when asked). */
  fpcr(ahp = false): number {
    const r = this.r();
    return ((r & 3) << 22) | (r & 4 ? 1 << 24 : 0) | (r & 8 ? 1 << 25 : 0) | (ahp && r & 16 ? 1 << 26 : 0);
  }
}

/** Random 128-bit register contents with value `low` in the low `bits` bits (the rest junk to check zeroing). */
export function withJunk(g: Gen, low: bigint, bits: number): bigint {
  return (g.bits(128) & ~((1n << BigInt(bits)) - 1n)) | low;
}

/** A case for an instruction with FP sources: every v register holds a random value of format f; the register
 * `rel` is, half the time, related to the register `to`. */
export function fpCase(g: Gen, insn: number, f: Format, opts: { rel?: [number, number]; ahp?: boolean; nzcv?: boolean } = {}): A64Case {
  const N = 1 + f.E + f.F;
  const vals = Array.from({ length: 8 }, () => g.value(f));
  if (opts.rel && g.int(2)) vals[opts.rel[1]] = g.related(f, vals[opts.rel[0]]);
  return {
    insn,
    fpcr: g.fpcr(opts.ahp),
    nzcv: opts.nzcv ? g.int(16) : 0,
    x: Array.from({ length: 8 }, () => g.bits(64)),
    v: vals.map((x) => withJunk(g, x, N)),
  };
}

/** A case for a vector instruction: every v register is made of lanes of format f (random values, the lanes of
 * register rel[1] related to those of rel[0] half the time). */
export function vecCase(g: Gen, insn: number, f: Format, opts: { rel?: [number, number]; ahp?: boolean } = {}): A64Case {
  const N = 1 + f.E + f.F;
  const lanes = 128 / N;
  const regs = Array.from({ length: 8 }, () => Array.from({ length: lanes }, () => g.value(f)));
  if (opts.rel && g.int(2)) regs[opts.rel[1]] = regs[opts.rel[0]].map((x) => (g.int(4) ? g.related(f, x) : g.value(f)));
  return {
    insn,
    fpcr: g.fpcr(opts.ahp),
    x: Array.from({ length: 8 }, () => g.bits(64)),
    v: regs.map((ls) => ls.reduceRight((acc, x) => (acc << BigInt(N)) | x, 0n)),
  };
}

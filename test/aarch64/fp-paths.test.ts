// The fast paths of the FP core (JS doubles, error-free transformations, round to odd) against its exact BigInt
// path on random operands: same bits and same flags, no qemu needed. Operands come from the oracle tests'
// generator (normal values dominate, which is where the fast paths apply), with related pairs for cancellation.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as ops from "../../src/arch/aarch64/fp/ops.js";
import { FD, FS, fpst, sAdd, sConvert, sDiv, sFixedToFP, sMul, sMulAdd, sSqrt } from "../../src/arch/aarch64/fp/softfloat.js";
import { D, Gen, S } from "../oracle/fp-gen.js";

const COUNT = Number(process.env.FP_PATHS_CASES ?? 30000);
const lo = (x: bigint) => Number(x & 0xffffffffn) | 0;
const hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn) | 0;

function fast(fn: () => number, dbl: boolean): [bigint, number] {
  fpst.flags = 0;
  const l = fn();
  const r = dbl ? (BigInt(fpst.hi >>> 0) << 32n) | BigInt(l >>> 0) : BigInt(l >>> 0);
  return [r, fpst.flags];
}
function slow(fn: () => bigint): [bigint, number] {
  fpst.flags = 0;
  const r = fn();
  return [r, fpst.flags];
}

test("fast paths agree with the exact path: add, sub, mul, div, sqrt, fma, conversions (S and D, FZ on and off)", () => {
  const g = new Gen(77);
  let n = 0;
  for (let i = 0; i < COUNT; i++) {
    const fpcr = g.int(2) ? 1 << 24 : 0; // round to nearest (the fast paths), FZ random
    for (const [f, F, dbl] of [[S, FS, false], [D, FD, true]] as const) {
      const x = g.value(f);
      const y = g.int(2) ? g.related(f, x) : g.value(f);
      const z = g.int(3) ? g.value(f) : g.related(f, x);
      const cases: [string, [bigint, number], [bigint, number]][] = dbl
        ? [
            ["add", fast(() => ops.add64(lo(x), hi(x), lo(y), hi(y), fpcr, 0), true), slow(() => sAdd(F, x, y, fpcr, 0))],
            ["sub", fast(() => ops.add64(lo(x), hi(x), lo(y), hi(y), fpcr, 1), true), slow(() => sAdd(F, x, y, fpcr, 1))],
            ["mul", fast(() => ops.mul64(lo(x), hi(x), lo(y), hi(y), fpcr), true), slow(() => sMul(F, x, y, fpcr))],
            ["div", fast(() => ops.div64(lo(x), hi(x), lo(y), hi(y), fpcr), true), slow(() => sDiv(F, x, y, fpcr))],
            ["sqrt", fast(() => ops.sqrt64(lo(x), hi(x), fpcr), true), slow(() => sSqrt(F, x, fpcr))],
            ["fma", fast(() => ops.fma64(lo(z), hi(z), lo(x), hi(x), lo(y), hi(y), fpcr), true), slow(() => sMulAdd(F, z, x, y, fpcr))],
            ["cvt d->s", fast(() => ops.convert(1, 0, lo(x), hi(x), fpcr), false), slow(() => sConvert(FD, FS, x, fpcr, 0))],
            ["scvtf x->d", fast(() => ops.fixedToF64(lo(x), hi(x), true, false, 0, fpcr), true), slow(() => sFixedToFP(FD, BigInt.asIntN(64, x), 0, fpcr, 0))],
            ["ucvtf x->s", fast(() => ops.fixedToF32(lo(x), hi(x), true, true, 3, fpcr), false), slow(() => sFixedToFP(FS, x, 3, fpcr, 0))],
          ]
        : [
            ["add", fast(() => ops.add32(lo(x), lo(y), fpcr, 0), false), slow(() => sAdd(F, x, y, fpcr, 0))],
            ["sub", fast(() => ops.add32(lo(x), lo(y), fpcr, 1), false), slow(() => sAdd(F, x, y, fpcr, 1))],
            ["mul", fast(() => ops.mul32(lo(x), lo(y), fpcr), false), slow(() => sMul(F, x, y, fpcr))],
            ["div", fast(() => ops.div32(lo(x), lo(y), fpcr), false), slow(() => sDiv(F, x, y, fpcr))],
            ["sqrt", fast(() => ops.sqrt32(lo(x), fpcr), false), slow(() => sSqrt(F, x, fpcr))],
            ["fma", fast(() => ops.fma32(lo(z), lo(x), lo(y), fpcr), false), slow(() => sMulAdd(F, z, x, y, fpcr))],
            ["cvt s->d", fast(() => ops.convert(0, 1, lo(x), 0, fpcr), true), slow(() => sConvert(FS, FD, x, fpcr, 0))],
          ];
      for (const [name, a, b] of cases) {
        n++;
        if (a[0] !== b[0] || a[1] !== b[1])
          assert.fail(`${name} ${dbl ? "D" : "S"} x=${x.toString(16)} y=${y.toString(16)} z=${z.toString(16)} fpcr=${fpcr.toString(16)}: fast ${a[0].toString(16)}/${a[1]}, exact ${b[0].toString(16)}/${b[1]}`);
      }
    }
  }
  assert.ok(n >= 16 * COUNT);
});

// FP/SIMD register moves, from the Arm ARM pseudocode: AdvSIMDExpandImm for MOVI/MVNI/ORR/BIC/FMOV (vector),
// VFPExpandImm for FMOV (scalar, immediate), Elem[] lanes for DUP/INS/UMOV/SMOV, and V[d] writes of 64 bits or
// less zeroing the rest of the register.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE, TestMachine } from "./harness.js";
import { machineWith, runLines } from "./ldst-asm.js";

const MASK128 = (1n << 128n) - 1n;
const MASK64 = (1n << 64n) - 1n;
const JUNK = 0xdead_beef_dead_beef_dead_beef_dead_beefn;
const V6 = 0xf0e1d2c3_b4a59687_78695a4b_3c2d1e0fn; // lanes with both signs

const rep2 = (x: bigint) => (x << 64n) | x;

// AdvSIMDExpandImm(op, cmode, 0xa5) for each cmode, written out from the Arm ARM table (not computed).
const MOVI_TABLE: [string, bigint][] = [
  ["movi v0.4s, #0xa5", 0x000000a5_000000a5n],
  ["movi v0.4s, #0xa5, lsl #8", 0x0000a500_0000a500n],
  ["movi v0.4s, #0xa5, lsl #16", 0x00a50000_00a50000n],
  ["movi v0.4s, #0xa5, lsl #24", 0xa5000000_a5000000n],
  ["movi v0.8h, #0xa5", 0x00a500a5_00a500a5n],
  ["movi v0.8h, #0xa5, lsl #8", 0xa500a500_a500a500n],
  ["movi v0.4s, #0xa5, msl #8", 0x0000a5ff_0000a5ffn],
  ["movi v0.4s, #0xa5, msl #16", 0x00a5ffff_00a5ffffn],
  ["movi v0.16b, #0xa5", 0xa5a5a5a5_a5a5a5a5n],
  ["movi v0.2d, #0xff00ff0000ff00ff", 0xff00ff00_00ff00ffn], // byte mask of 0b10100101
  ["fmov v0.4s, #-10.5", 0xc1280000_c1280000n],
  ["fmov v0.2d, #-10.5", 0xc0250000_00000000n],
  ["mvni v0.4s, #0xa5", 0xffffff5a_ffffff5an],
  ["mvni v0.4s, #0xa5, lsl #8", 0xffff5aff_ffff5affn],
  ["mvni v0.4s, #0xa5, lsl #16", 0xff5affff_ff5affffn],
  ["mvni v0.4s, #0xa5, lsl #24", 0x5affffff_5affffffn],
  ["mvni v0.8h, #0xa5", 0xff5aff5a_ff5aff5an],
  ["mvni v0.8h, #0xa5, lsl #8", 0x5aff5aff_5aff5affn],
  ["mvni v0.4s, #0xa5, msl #8", 0xffff5a00_ffff5a00n],
  ["mvni v0.4s, #0xa5, msl #16", 0xff5a0000_ff5a0000n],
];

test("MOVI/MVNI/FMOV (vector, immediate): every cmode row of AdvSIMDExpandImm, 128- and 64-bit", () => {
  for (const [line, imm64] of MOVI_TABLE) {
    const m = runLines([line], (m) => m.setV(0, JUNK));
    assert.equal(m.v(0).toString(16), rep2(imm64).toString(16), line);
    if (line.includes(".2d")) continue; // 2D has no 64-bit form (MOVI Dd is below)
    const narrow = line.replace(".4s", ".2s").replace(".8h", ".4h").replace(".16b", ".8b");
    const n = runLines([narrow], (m) => m.setV(0, JUNK));
    assert.equal(n.v(0).toString(16), imm64.toString(16), narrow);
  }
  const d = runLines(["movi d1, #0xff00ff0000ff00ff", "movi v2.2d, #0"], (m) => m.setV(1, JUNK).setV(2, JUNK));
  assert.equal(d.v(1), 0xff00ff00_00ff00ffn);
  assert.equal(d.v(2), 0n);
});

test("ORR/BIC (vector, immediate) modify the register; the 64-bit forms zero the top half", () => {
  const m = runLines(["orr v0.4s, #0xa5, lsl #8", "bic v1.8h, #0xff", "orr v2.4h, #0x1, lsl #8", "bic v3.2s, #0x80, lsl #24"], (m) => {
    m.setV(0, 0x11111111_11111111_11111111_11111111n).setV(1, JUNK).setV(2, JUNK).setV(3, JUNK);
  });
  assert.equal(m.v(0), 0x1111b511_1111b511_1111b511_1111b511n);
  assert.equal(m.v(1), 0xde00be00_de00be00_de00be00_de00be00n);
  assert.equal(m.v(2), 0xdfadbfef_dfadbfefn);
  assert.equal(m.v(3), 0x5eadbeef_5eadbeefn);
});

test("DUP (general) replicates the low bits of W/X into every lane", () => {
  const m = runLines(["dup v0.16b, w1", "dup v1.8h, w1", "dup v2.4s, w1", "dup v3.2d, x1", "dup v4.8b, w1", "dup v5.2s, wzr"], (m) => {
    m.setX(1, 0x8877_6655_1234_5678n).setSp(0x1234);
    for (let r = 0; r < 6; r++) m.setV(r, JUNK);
  });
  assert.equal(m.v(0), 0x78787878_78787878_78787878_78787878n);
  assert.equal(m.v(1), 0x56785678_56785678_56785678_56785678n);
  assert.equal(m.v(2), 0x12345678_12345678_12345678_12345678n);
  assert.equal(m.v(3), 0x88776655_12345678_88776655_12345678n);
  assert.equal(m.v(4), 0x78787878_78787878n);
  assert.equal(m.v(5), 0n);
});

test("DUP (element) and its scalar form MOV Vd, Vn.T[i]", () => {
  const m = runLines(["dup v0.8h, v6.h[5]", "dup v1.2s, v6.s[3]", "dup v2.2d, v6.d[1]", "dup v3.16b, v6.b[0]", "mov b4, v6.b[15]", "mov d5, v6.d[1]", "dup v6.4s, v6.s[2]"], (m) => {
    m.setV(6, V6);
    for (let r = 0; r < 6; r++) m.setV(r, JUNK);
  });
  assert.equal(m.v(0), 0xb4a5b4a5_b4a5b4a5_b4a5b4a5_b4a5b4a5n);
  assert.equal(m.v(1), 0xf0e1d2c3_f0e1d2c3n);
  assert.equal(m.v(2), 0xf0e1d2c3_b4a59687_f0e1d2c3_b4a59687n);
  assert.equal(m.v(3), 0x0f0f0f0f_0f0f0f0f_0f0f0f0f_0f0f0f0fn);
  assert.equal(m.v(4), 0xf0n);
  assert.equal(m.v(5), 0xf0e1d2c3_b4a59687n);
  assert.equal(m.v(6), 0xb4a59687_b4a59687_b4a59687_b4a59687n); // source read before the destination is written
});

test("INS (general and element) change one lane and keep the others", () => {
  const m = runLines(["mov v0.b[15], w1", "mov v1.h[3], w1", "mov v2.s[2], w1", "mov v3.d[0], x1", "mov v4.d[1], xzr", "mov v5.b[0], v6.b[9]", "mov v7.h[7], v6.h[0]", "mov v8.s[1], v6.s[3]", "mov v9.d[0], v6.d[1]"], (m) => {
    m.setX(1, 0x8877_6655_1234_5678n).setV(6, V6);
    for (const r of [0, 1, 2, 3, 4, 5, 7, 8, 9]) m.setV(r, JUNK);
  });
  const lane = (bits: number, i: number, v: bigint) => (JUNK & ~(((1n << BigInt(bits)) - 1n) << BigInt(bits * i))) | (v << BigInt(bits * i));
  assert.equal(m.v(0), lane(8, 15, 0x78n));
  assert.equal(m.v(1), lane(16, 3, 0x5678n));
  assert.equal(m.v(2), lane(32, 2, 0x12345678n));
  assert.equal(m.v(3), lane(64, 0, 0x8877_6655_1234_5678n));
  assert.equal(m.v(4), lane(64, 1, 0n));
  assert.equal(m.v(5), lane(8, 0, 0x96n));
  assert.equal(m.v(7), lane(16, 7, 0x1e0fn));
  assert.equal(m.v(8), lane(32, 1, 0xf0e1d2c3n));
  assert.equal(m.v(9), lane(64, 0, 0xf0e1d2c3_b4a59687n));
});

test("UMOV zero-extends a lane into W (clearing X's top half) or X; SMOV sign-extends to W or X", () => {
  const m = runLines(
    ["umov w0, v6.b[15]", "umov w1, v6.h[4]", "mov w2, v6.s[3]", "mov x3, v6.d[1]", "smov w4, v6.b[14]", "smov w5, v6.h[0]", "smov x6, v6.b[15]", "smov x7, v6.h[1]", "smov x8, v6.s[2]", "umov wzr, v6.b[0]"],
    (m) => {
      m.setV(6, V6).setSp(0x5555);
      for (let r = 0; r < 9; r++) m.setX(r, -1n);
    },
  );
  assert.equal(m.x(0), 0xf0n);
  assert.equal(m.x(1), 0x9687n);
  assert.equal(m.x(2), 0xf0e1d2c3n);
  assert.equal(m.x(3), 0xf0e1d2c3_b4a59687n);
  assert.equal(m.x(4), 0xffff_ffe1n); // SMOV to W: 32-bit result, top half of X zero
  assert.equal(m.x(5), 0x1e0fn);
  assert.equal(m.x(6), 0xffff_ffff_ffff_fff0n);
  assert.equal(m.x(7), 0x3c2dn);
  assert.equal(m.x(8), 0xffff_ffff_b4a5_9687n);
  assert.equal(m.sp, 0x5555n);
});

test("FMOV between general and FP registers: S/D writes zero the rest, V.D[1] writes keep the low half", () => {
  const m = runLines(["fmov s0, w1", "fmov w2, s6", "fmov x3, d6", "fmov d4, x1", "fmov x5, v6.d[1]", "fmov v7.d[1], x1", "fmov d8, xzr", "fmov wzr, s6"], (m) => {
    m.setX(1, 0x8877_6655_3f80_0000n).setV(6, V6).setSp(0x77);
    for (const r of [0, 4, 7, 8]) m.setV(r, JUNK);
    for (const r of [2, 3, 5]) m.setX(r, -1n);
  });
  assert.equal(m.v(0), 0x3f80_0000n);
  assert.equal(m.x(2), 0x3c2d_1e0fn);
  assert.equal(m.x(3), 0x78695a4b_3c2d1e0fn);
  assert.equal(m.v(4), 0x8877_6655_3f80_0000n);
  assert.equal(m.x(5), 0xf0e1d2c3_b4a59687n);
  assert.equal(m.v(7), (0x8877_6655_3f80_0000n << 64n) | (JUNK & MASK64));
  assert.equal(m.v(8), 0n);
  assert.equal(m.sp, 0x77n);
});

test("FMOV (register) copies S or D bits exactly and zeroes the rest", () => {
  const m = runLines(["fmov s0, s6", "fmov d1, d6", "fmov s2, s3"], (m) => {
    m.setV(6, V6).setV(0, JUNK).setV(1, JUNK).setV(3, 0x7fa0_0001n).setV(2, JUNK); // a signalling NaN stays one
  });
  assert.equal(m.v(0), 0x3c2d_1e0fn);
  assert.equal(m.v(1), 0x78695a4b_3c2d1e0fn);
  assert.equal(m.v(2), 0x7fa0_0001n);
});

test("FMOV (scalar, immediate) expands imm8 with VFPExpandImm", () => {
  const m = runLines(["fmov s0, #1.0", "fmov d1, #-31.0", "fmov d2, #0.125", "fmov s3, #0.1875", "fmov s4, #-2.5", "fmov d5, #31.0"], (m) => {
    for (let r = 0; r < 6; r++) m.setV(r, JUNK);
  });
  assert.equal(m.v(0), 0x3f80_0000n);
  assert.equal(m.v(1), 0xc03f_0000_0000_0000n);
  assert.equal(m.v(2), 0x3fc0_0000_0000_0000n);
  assert.equal(m.v(3), 0x3e40_0000n);
  assert.equal(m.v(4), 0xc020_0000n);
  assert.equal(m.v(5), 0x403f_0000_0000_0000n);
});

test("vector AND/BIC/ORR/ORN/EOR/BSL/BIT/BIF and the MOV alias, 128- and 64-bit", () => {
  const A = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210n;
  const B = 0xffff_0000_f0f0_0f0f_3333_cccc_5555_aaaan;
  const D = 0x00ff_00ff_ff00_ff00_0f0f_f0f0_cccc_3333n;
  const not = (x: bigint) => ~x & MASK128;
  const cases: [string, bigint][] = [
    ["and", A & B],
    ["bic", A & not(B)],
    ["orr", A | B],
    ["orn", A | not(B)],
    ["eor", A ^ B],
    ["bsl", (D & A) | (not(D) & B)],
    ["bit", (D & not(B)) | (A & B)],
    ["bif", (D & B) | (A & not(B))],
  ];
  for (const [name, want] of cases) {
    for (const q of [true, false]) {
      const arr = q ? "16b" : "8b";
      const m = runLines([`${name} v0.${arr}, v1.${arr}, v2.${arr}`], (m) => m.setV(0, D).setV(1, A).setV(2, B));
      assert.equal(m.v(0).toString(16), (q ? want : want & MASK64).toString(16), `${name} ${arr}`);
    }
  }
  const mov = runLines(["mov v0.16b, v1.16b", "mov v2.8b, v1.8b", "eor v3.16b, v3.16b, v3.16b", "eor v4.8b, v4.8b, v4.8b"], (m) => {
    m.setV(1, A).setV(2, JUNK).setV(3, JUNK).setV(4, JUNK);
  });
  assert.equal(mov.v(0), A);
  assert.equal(mov.v(2), A & MASK64);
  assert.equal(mov.v(3), 0n);
  assert.equal(mov.v(4), 0n);
});

test("SIMD moves trap (EC 0x07) when FP is disabled, and at EL0 when CPACR_EL1.FPEN = 01", () => {
  const lines = ["movi v0.2d, #0", "dup v0.4s, w1", "mov v0.s[1], w1", "umov w0, v1.b[0]", "smov x0, v1.h[0]", "fmov s0, w1", "fmov x0, d1", "fmov d0, d1", "fmov s0, #1.0", "mov v0.16b, v1.16b", "eor v0.16b, v0.16b, v0.16b"];
  for (const line of lines) {
    const m = machineWith(line);
    m.cpu.sys.cpacr = 0;
    m.setV(0, JUNK).setX(0, 5);
    m.run(1);
    assert.equal(m.lastEc, 0x07, line);
    assert.equal(m.cpu.sys.elrEl1Lo, CODE);
    assert.equal(m.v(0), JUNK, line);
    assert.equal(m.x(0), 5n, line);
  }
  const el0 = machineWith("movi v0.2d, #0");
  el0.cpu.sys.cpacr = 1 << 20;
  el0.cpu.setMode(0, 0);
  el0.run(1);
  assert.equal(el0.lastEc, 0x07);
  const el1 = machineWith("movi v0.2d, #0").setV(0, JUNK);
  el1.cpu.sys.cpacr = 1 << 20;
  el1.run(1);
  assert.equal(el1.v(0), 0n);
});

test("reserved copy-class encodings are undefined: imm5 = 0, DUP .1d, UMOV W of a D lane, SMOV W of an S lane", () => {
  for (const w of [0x4e000c20 /* dup, imm5 0 */, 0x0e080c20 /* dup v.1d */, 0x0e083c20 /* umov w, d */, 0x0e042c20 /* smov w, s */, 0x2f00f400 /* fmov .1d */]) {
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
  }
});

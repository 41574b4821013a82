// FP/SIMD loads and stores: LDR/STR B/H/S/D/Q in every addressing mode, LDP/STP/LDNP/STNP S/D/Q, LDR (literal)
// S/D/Q, and LD1-LD4/ST1-ST4 (multiple structures). From the Arm ARM: a scalar write V[t] = data zero-extends
// to 128 bits; LDn/STn transfer elements in structure order, register numbers wrap modulo 32, Q = 0 vectors
// are 64 bits (the top half of a loaded register becomes zero); post-index adds the transfer size or X[m].

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE, DATA, RAM_BASE, TestMachine } from "./harness.js";
import { assertDataAbort, fillRam, machineWith, ramHex, runLines } from "./ldst-asm.js";

const RAM_END = RAM_BASE + (1 << 20);
const JUNK = 0xdead_beef_dead_beef_dead_beef_dead_beefn;

/** RAM bytes i..i+n-1 as a little-endian BigInt, for fillRam(…, 0)-filled memory starting at byte value b. */
function seq(b: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt((b + i) & 0xff);
  return v;
}

test("LDR B/H/S/D zero the rest of the 128-bit register; LDR Q fills it", () => {
  const m = runLines(["ldr b0, [x1, #1]", "ldr h1, [x1, #2]", "ldr s2, [x1, #4]", "ldr d3, [x1, #8]", "ldr q4, [x1, #16]"], (m) => {
    fillRam(m, DATA, 64, 0x40);
    m.setX(1, DATA);
    for (let r = 0; r < 5; r++) m.setV(r, JUNK);
  });
  assert.equal(m.v(0), 0x41n);
  assert.equal(m.v(1), 0x4342n);
  assert.equal(m.v(2), seq(0x44, 4));
  assert.equal(m.v(3), seq(0x48, 8));
  assert.equal(m.v(4), seq(0x50, 16));
});

test("STR B/H/S/D/Q store exactly their size from the bottom of the register", () => {
  const m = runLines(["str b0, [x1]", "str h0, [x1, #2]", "str s0, [x1, #4]", "str d0, [x1, #8]", "str q0, [x1, #16]"], (m) => {
    m.ram.bytes.fill(0xee, DATA - RAM_BASE, DATA - RAM_BASE + 48);
    m.setX(1, DATA).setV(0, 0xf0e0d0c0b0a090807060504030201000n);
  });
  assert.equal(ramHex(m, DATA, 4), "00ee0010");
  assert.equal(ramHex(m, DATA + 4, 4), "00102030");
  assert.equal(ramHex(m, DATA + 8, 8), "0010203040506070");
  assert.equal(ramHex(m, DATA + 16, 16), "00102030405060708090a0b0c0d0e0f0");
  assert.equal(ramHex(m, DATA + 32, 4), "eeeeeeee");
});

test("FP loads and stores in every addressing mode: register offset, unscaled, pre- and post-index", () => {
  const m = runLines(
    ["ldr q0, [x1, x2, lsl #4]", "ldr h1, [x1, w3, sxtw #1]", "ldur q2, [x1, #-1]", "ldr d3, [x4, #-8]!", "str s3, [x5], #-4", "ldr q5, [sp, #16]!", "str b5, [x6, x2]"],
    (m) => {
      fillRam(m, DATA, 0x400, 0);
      m.setX(1, DATA + 0x100).setX(2, 2).setX(3, -3n).setX(4, DATA + 0x208).setX(5, DATA + 0x300).setX(6, DATA + 0x380);
      m.setSp(DATA + 0x10);
    },
  );
  assert.equal(m.v(0), seq(0x20, 16)); // +2 << 4
  assert.equal(m.v(1), seq(0xfa, 2)); // -3 << 1 = -6: 0xfa
  assert.equal(m.v(2), seq(0xff, 16)); // unaligned, from 0xff
  assert.equal(m.v(3), seq(0x00, 8)); // DATA + 0x200
  assert.equal(m.x(4), BigInt(DATA + 0x200));
  assert.equal(ramHex(m, DATA + 0x300, 4), "00010203");
  assert.equal(m.x(5), BigInt(DATA + 0x2fc));
  assert.equal(m.v(5), seq(0x20, 16));
  assert.equal(m.sp, BigInt(DATA + 0x20));
  assert.equal(ramHex(m, DATA + 0x382, 1), "20");
});

test("LDR (literal) S/D/Q", () => {
  const m = machineWith("ldr s0, .+12", "ldr d1, .+8", "ldr q2, .+4");
  fillRam(m, CODE + 12, 16, 0xc0);
  m.setV(0, JUNK).setV(1, JUNK);
  m.run(3);
  assert.equal(m.v(0), seq(0xc0, 4));
  assert.equal(m.v(1), seq(0xc0, 8));
  assert.equal(m.v(2), seq(0xc0, 16));
});

test("LDP/STP/LDNP/STNP of S, D and Q registers", () => {
  const m = runLines(["ldp s0, s1, [x1]", "ldp d2, d3, [x1, #16]", "ldnp q4, q5, [x1, #32]", "stp q4, q5, [x2, #-32]!", "stnp d2, d3, [x2, #64]", "stp s0, s1, [x2], #8"], (m) => {
    fillRam(m, DATA, 0x100, 0);
    m.setX(1, DATA).setX(2, DATA + 0x120);
    for (let r = 0; r < 6; r++) m.setV(r, JUNK);
  });
  assert.equal(m.v(0), seq(0, 4));
  assert.equal(m.v(1), seq(4, 4));
  assert.equal(m.v(2), seq(16, 8));
  assert.equal(m.v(3), seq(24, 8));
  assert.equal(m.v(4), seq(32, 16));
  assert.equal(m.v(5), seq(48, 16));
  assert.equal(ramHex(m, DATA + 0x100, 8), "0001020304050607"); // STP S overwrote the first 8 bytes of q4's copy
  assert.equal(ramHex(m, DATA + 0x108, 24), ramHex(m, DATA + 0x28, 24));
  assert.equal(ramHex(m, DATA + 0x140, 16), ramHex(m, DATA + 0x10, 16));
  assert.equal(m.x(2), BigInt(DATA + 0x108));
});

test("LDP of FP registers with Rt == Rt2 (CONSTRAINED UNPREDICTABLE): as QEMU, the higher element wins", () => {
  const m = runLines(["ldp q0, q0, [x1]", "ldp d1, d1, [x1]"], (m) => {
    fillRam(m, DATA, 32, 0);
    m.setX(1, DATA);
  });
  assert.equal(m.v(0), seq(16, 16));
  assert.equal(m.v(1), seq(8, 8));
});

test("a fault in the second half of a Q access, or in an LDP Q, changes no register and no base", () => {
  const q = runLines(["ldr q0, [x1], #16"], (m) => m.setV(0, JUNK).setX(1, RAM_END - 8));
  assertDataAbort(q, { far: BigInt(RAM_END), write: false, dfsc: 0x10 });
  assert.equal(q.v(0), JUNK);
  assert.equal(q.x(1), BigInt(RAM_END - 8));
  const pair = runLines(["ldp q0, q1, [x1, #-32]!"], (m) => m.setV(0, JUNK).setV(1, JUNK).setX(1, RAM_END + 8));
  assertDataAbort(pair, { far: BigInt(RAM_END), write: false, dfsc: 0x10 });
  assert.equal(pair.v(0), JUNK);
  assert.equal(pair.v(1), JUNK);
  assert.equal(pair.x(1), BigInt(RAM_END + 8));
});

test("FP/SIMD loads and stores trap (EC 0x07) when CPACR_EL1.FPEN disables them, before any access", () => {
  for (const line of ["ldr q0, [x1, #16]!", "str d0, [x1]", "ldp s0, s1, [x1], #8", "ldr s0, .+8", "ld1 {v0.16b}, [x1], #16", "st1 {v0.2d, v1.2d}, [x1]"]) {
    const m = machineWith(line);
    m.cpu.sys.cpacr = 0;
    m.setX(1, 0x10).setV(0, JUNK);
    m.run(1);
    assert.equal(m.lastEc, 0x07, line);
    assert.equal(m.cpu.sys.elrEl1Lo, CODE);
    assert.equal(m.x(1), 0x10n, line);
    assert.equal(m.v(0), JUNK);
  }
});

test("LD1/ST1 of one to four registers, with Q = 0 loads zeroing the top half", () => {
  const m = runLines(
    ["ld1 {v0.16b}, [x1]", "ld1 {v1.8b}, [x1]", "ld1 {v2.4s, v3.4s, v4.4s}, [x1]", "ld1 {v31.1d, v0.1d}, [x2]", "st1 {v2.2d-v5.2d}, [x3]", "st1 {v1.8h}, [x4]"],
    (m) => {
      fillRam(m, DATA, 0x100, 0);
      m.setX(1, DATA).setX(2, DATA + 0x80).setX(3, DATA + 0x200).setX(4, DATA + 0x300);
      for (let r = 0; r < 32; r++) m.setV(r, JUNK);
    },
  );
  assert.equal(m.v(1), seq(0, 8));
  assert.equal(m.v(2), seq(0, 16));
  assert.equal(m.v(3), seq(16, 16));
  assert.equal(m.v(4), seq(32, 16));
  assert.equal(m.v(31), seq(0x80, 8));
  assert.equal(m.v(0), seq(0x88, 8)); // the list wrapped from v31 to v0
  assert.equal(ramHex(m, DATA + 0x200, 48), ramHex(m, DATA, 48));
  assert.equal(ramHex(m, DATA + 0x230, 16), "efbeaddeefbeaddeefbeaddeefbeadde");
  assert.equal(ramHex(m, DATA + 0x300, 16), "00010203040506070000000000000000");
});

test("LD1/ST1 post-index: immediate = transfer size, or a register", () => {
  const m = runLines(["ld1 {v0.16b}, [x1], #16", "st1 {v0.2d, v1.2d}, [x0], #32", "ld1 {v4.4s-v7.4s}, [x2], x3", "ld1 {v8.8b}, [sp], #8"], (m) => {
    fillRam(m, DATA, 0x100, 0);
    m.setX(1, DATA).setX(0, DATA + 0x200).setX(2, DATA).setX(3, -8n).setSp(DATA + 0x10);
    m.setV(1, 0x0f0e0d0c0b0a09080706050403020100n);
  });
  assert.equal(m.x(1), BigInt(DATA + 16));
  assert.equal(m.x(0), BigInt(DATA + 0x220));
  assert.equal(ramHex(m, DATA + 0x200, 32), ramHex(m, DATA, 16) + "000102030405060708090a0b0c0d0e0f");
  assert.equal(m.v(7), seq(48, 16));
  assert.equal(m.x(2), BigInt(DATA - 8));
  assert.equal(m.sp, BigInt(DATA + 0x18)); // the immediate form is Rm = 31: the 8-byte transfer size
  assert.equal(m.v(8), seq(16, 8));
});

test("LD2/LD3/LD4 de-interleave structures; ST2/ST3/ST4 interleave them back", () => {
  const m = runLines(
    ["ld2 {v0.8h, v1.8h}, [x1]", "ld3 {v2.4s, v3.4s, v4.4s}, [x1]", "ld4 {v28.8b, v29.8b, v30.8b, v31.8b}, [x1]", "st3 {v2.4s, v3.4s, v4.4s}, [x2]", "st4 {v28.8b-v31.8b}, [x3], #32"],
    (m) => {
      fillRam(m, DATA, 0x100, 0);
      m.setX(1, DATA).setX(2, DATA + 0x100).setX(3, DATA + 0x200);
    },
  );
  // LD2 .8h: v0 = halfwords 0, 2, 4, ... ; v1 = halfwords 1, 3, 5, ...
  assert.equal(m.v(0), 0x1d1c_1918_1514_1110_0d0c_0908_0504_0100n);
  assert.equal(m.v(1), 0x1f1e_1b1a_1716_1312_0f0e_0b0a_0706_0302n);
  // LD3 .4s: v2 = words 0, 3, 6, 9
  assert.equal(m.v(2), 0x27262524_1b1a1918_0f0e0d0c_03020100n);
  assert.equal(m.v(4), 0x2f2e2d2c_23222120_17161514_0b0a0908n);
  // LD4 .8b: v28 = bytes 0, 4, 8, ..., 28 (top half zero)
  assert.equal(m.v(28), 0x1c1814100c080400n);
  assert.equal(m.v(31), 0x1f1b17130f0b0703n);
  assert.equal(ramHex(m, DATA + 0x100, 48), ramHex(m, DATA, 48));
  assert.equal(ramHex(m, DATA + 0x200, 32), ramHex(m, DATA, 32));
  assert.equal(m.x(3), BigInt(DATA + 0x220));
});

test("a fault in the middle of LD1 {4 registers} changes no register and does no writeback", () => {
  const m = runLines(["ld1 {v0.2d-v3.2d}, [x1], #64"], (m) => {
    for (let r = 0; r < 4; r++) m.setV(r, JUNK);
    m.setX(1, RAM_END - 32);
  });
  assertDataAbort(m, { far: BigInt(RAM_END), write: false, dfsc: 0x10 });
  for (let r = 0; r < 4; r++) assert.equal(m.v(r), JUNK);
  assert.equal(m.x(1), BigInt(RAM_END - 32));
});

test("unallocated multiple-structure encodings are undefined: LD2 .1d, opcode 0001", () => {
  for (const w of [0x0c408c20 /* ld2 {v0.1d, v1.1d} */, 0x4c401020 /* opcode 0001 */]) {
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
  }
});

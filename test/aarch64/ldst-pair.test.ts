// LDP/STP/LDPSW/LDNP/STNP on general registers, from the Arm ARM pseudocode: offset = SignExtend(imm7) << scale;
// the two elements are at address and address + size; writeback as for single registers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE, DATA, RAM_BASE, TestMachine } from "./harness.js";
import { asm, assertDataAbort, fillRam, ramHex, runLines } from "./ldst-asm.js";

const RAM_END = RAM_BASE + (1 << 20);

test("STP/LDP X with signed offset, pre-index push and post-index pop through SP", () => {
  const m = runLines(["stp x29, x30, [sp, #-16]!", "stp x1, x2, [sp, #-512]", "ldp x3, x4, [sp, #-512]", "ldp x5, x6, [sp], #16"], (m) => {
    m.setSp(DATA + 0x400).setX(29, 0x2929_2929_2929_2929n).setX(30, 0x3030_3030_3030_3030n);
    m.setX(1, 0x1111_0000_0000_0001n).setX(2, 0x2222_0000_0000_0002n);
  });
  assert.equal(m.read64(DATA + 0x3f0), 0x2929_2929_2929_2929n);
  assert.equal(m.read64(DATA + 0x3f8), 0x3030_3030_3030_3030n);
  assert.equal(m.read64(DATA + 0x1f0), 0x1111_0000_0000_0001n);
  assert.equal(m.read64(DATA + 0x1f8), 0x2222_0000_0000_0002n);
  assert.equal(m.x(3), 0x1111_0000_0000_0001n);
  assert.equal(m.x(4), 0x2222_0000_0000_0002n);
  assert.equal(m.x(5), 0x2929_2929_2929_2929n);
  assert.equal(m.x(6), 0x3030_3030_3030_3030n);
  assert.equal(m.sp, BigInt(DATA + 0x400));
});

test("LDP W zero-extends, LDPSW sign-extends, STP W stores 32-bit halves", () => {
  const m = runLines(["ldp w0, w1, [x9, #-8]", "ldpsw x2, x3, [x9, #-8]", "stp w4, wzr, [x9, #252]", "ldpsw x5, x6, [x9], #8"], (m) => {
    m.write64(DATA + 0x38, 0x7fff_ffff_8000_0000n);
    m.write64(DATA + 0x40, 0x8765_4321_0000_0005n);
    m.setX(9, DATA + 0x40).setX(4, 0xffff_ffff_aabb_ccddn);
    for (const r of [0, 1, 2, 3]) m.setX(r, -1n);
  });
  assert.equal(m.x(0), 0x8000_0000n);
  assert.equal(m.x(1), 0x7fff_ffffn);
  assert.equal(m.x(2), 0xffff_ffff_8000_0000n);
  assert.equal(m.x(3), 0x7fff_ffffn);
  assert.equal(ramHex(m, DATA + 0x40 + 252, 8), "ddccbbaa00000000");
  assert.equal(m.x(5), 5n);
  assert.equal(m.x(6), 0xffff_ffff_8765_4321n);
  assert.equal(m.x(9), BigInt(DATA + 0x48));
});

test("LDNP/STNP behave as LDP/STP with a signed offset and no writeback", () => {
  const m = runLines(["stnp x1, x2, [x0, #-16]", "ldnp w3, w4, [x0, #-12]", "stnp w5, w6, [x0, #248]"], (m) => {
    m.setX(0, DATA + 0x100).setX(1, 0x0102_0304_0506_0708n).setX(2, 0x1112_1314_1516_1718n).setX(5, 0xaa).setX(6, 0xbb);
  });
  assert.equal(ramHex(m, DATA + 0xf0, 16), "08070605040302011817161514131211");
  assert.equal(m.x(3), 0x0102_0304n);
  assert.equal(m.x(4), 0x1516_1718n);
  assert.equal(ramHex(m, DATA + 0x1f8, 8), "aa000000bb000000");
  assert.equal(m.x(0), BigInt(DATA + 0x100));
});

test("XZR as a pair register stores zero and discards loads; SP is never touched", () => {
  const m = runLines(["stp xzr, x1, [x0]", "ldp xzr, x2, [x0]", "ldp x3, xzr, [x0]"], (m) => {
    fillRam(m, DATA, 16, 0xff);
    m.setX(0, DATA).setX(1, 0x55).setSp(0x1234);
  });
  assert.equal(ramHex(m, DATA, 16), "00000000000000005500000000000000");
  assert.equal(m.x(2), 0x55n);
  assert.equal(m.x(3), 0n);
  assert.equal(m.sp, 0x1234n);
});

test("LDP with Rt == Rt2 (CONSTRAINED UNPREDICTABLE): as QEMU, Rt gets the element at the lower address", () => {
  const m = runLines(["ldp x1, x1, [x0]", "ldp w2, w2, [x0]", "ldpsw x3, x3, [x0, #8]"], (m) => {
    m.write64(DATA, 0x2222_2222_1111_1111n);
    m.write64(DATA + 8, 0x8000_0002_8000_0001n);
    m.setX(0, DATA);
  });
  assert.equal(m.x(1), 0x2222_2222_1111_1111n);
  assert.equal(m.x(2), 0x1111_1111n);
  assert.equal(m.x(3), 0xffff_ffff_8000_0001n);
});

test("pair writeback with Rn == Rt (CONSTRAINED UNPREDICTABLE): loads keep the address, stores store old values", () => {
  const m = runLines(["ldp x0, x1, [x0, #16]!", "stp x2, x3, [x2], #16", "ldp x4, x5, [x5], #-16"], (m) => {
    fillRam(m, DATA, 0x80, 0);
    m.setX(0, DATA).setX(2, DATA + 0x40).setX(3, 3).setX(5, DATA + 0x60);
  });
  assert.equal(m.x(0), BigInt(DATA + 16));
  assert.equal(m.x(1), 0x1f1e1d1c1b1a1918n);
  assert.equal(m.read64(DATA + 0x40), BigInt(DATA + 0x40));
  assert.equal(m.read64(DATA + 0x48), 3n);
  assert.equal(m.x(2), BigInt(DATA + 0x50));
  assert.equal(m.x(4), 0x6766656463626160n);
  assert.equal(m.x(5), BigInt(DATA + 0x50));
});

test("a fault on the second element of LDP changes no register and does no writeback", () => {
  const m = runLines(["ldp x0, x1, [x2, #8]!"], (m) => m.setX(0, 1).setX(1, 2).setX(2, RAM_END - 16));
  assertDataAbort(m, { far: BigInt(RAM_END), write: false, dfsc: 0x10 });
  assert.equal(m.x(0), 1n);
  assert.equal(m.x(1), 2n);
  assert.equal(m.x(2), BigInt(RAM_END - 16));
});

test("a fault on the second element of STP is reported with that element's address; no writeback", () => {
  const m = runLines(["stp w0, w1, [x2], #8"], (m) => m.setX(0, 0x11).setX(1, 0x22).setX(2, RAM_END - 4));
  assertDataAbort(m, { far: BigInt(RAM_END), write: true, dfsc: 0x10 });
  assert.equal(m.x(2), BigInt(RAM_END - 4));
});

test("the second element's address carries into the high half (a device just below 4 GiB, nothing above)", () => {
  const reads: number[] = [];
  const m = new TestMachine();
  m.bus.map("probe", 0xffff_f000, 0x1000, { read: (off) => (reads.push(off), 0x5a5a5a5a), write: () => {} });
  m.code(asm("ldp x0, x1, [x2]")).setX(0, 7).setX(1, 7).setX(2, 0xffff_fff8n);
  m.run(1);
  assert.deepEqual(reads, [0xff8, 0xffc]); // the first element was read from the device...
  assertDataAbort(m, { far: 0x1_0000_0000n, write: false, dfsc: 0x10 }); // ...the second is above it
  assert.equal(m.x(0), 7n);
  assert.equal(m.x(1), 7n);
});

test("unallocated pair encodings are undefined: opc 11, STGP (opc 01 L 0), LDNP of opc 01", () => {
  for (const w of [0xe9400441, 0x69000441, 0x68400441, 0xec400441]) {
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
    assert.equal(m.cpu.sys.elrEl1Lo, CODE);
  }
});

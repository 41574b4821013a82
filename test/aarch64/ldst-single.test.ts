// LDR/STR and friends on general registers, every addressing mode, from the Arm ARM pseudocode:
// address = (n == 31 ? SP : X[n]) + offset; for post-index the access uses the base and writes back base+imm;
// for pre-index both use base+imm; register offsets are ExtendReg(m, option, shift); loads zero- or
// sign-extend (LDRS* to 32 bits zero the top half of X); register 31 as data is XZR/WZR.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE, DATA, RAM_BASE, TestMachine } from "./harness.js";
import { asm, assertDataAbort, fillRam, machineWith, ramHex, runLines } from "./ldst-asm.js";

const ALL_ONES = 0xffff_ffff_ffff_ffffn;
const RAM_END = RAM_BASE + (1 << 20);

test("LDR (unsigned offset) scales imm12 by the access size and zero-extends", () => {
  const m = runLines(["ldr x0, [x1, #8]", "ldr w2, [x1, #4]", "ldrh w3, [x1, #6]", "ldrb w4, [x1, #4095]", "ldr x5, [x1, #32760]"], (m) => {
    fillRam(m, DATA, 0x9000, 0x80);
    m.setX(1, DATA);
    for (const r of [0, 2, 3, 4, 5]) m.setX(r, ALL_ONES);
  });
  assert.equal(m.x(0), 0x8f8e8d8c8b8a8988n);
  assert.equal(m.x(2), 0x87868584n); // the W form clears bits 63:32
  assert.equal(m.x(3), 0x8786n);
  assert.equal(m.x(4), 0x7fn); // (0x80 + 4095) & 0xff
  assert.equal(m.x(5), 0x7f7e7d7c7b7a7978n); // offset 0x7ff8
  assert.equal(m.x(1), BigInt(DATA));
  assert.equal(m.pc, BigInt(CODE + 20));
});

test("LDRSB/LDRSH/LDRSW sign-extend to 64 bits, or to 32 bits with the top half zero", () => {
  const m = runLines(
    ["ldrsb x0, [x1]", "ldrsb w2, [x1]", "ldrsh x3, [x1, #2]", "ldrsh w4, [x1, #2]", "ldrsw x5, [x1, #4]", "ldrsb x6, [x1, #8]", "ldrsh w7, [x1, #10]", "ldrsw x8, [x1, #12]"],
    (m) => {
      m.write64(DATA, 0x80000000_8000_0080n);
      m.write64(DATA + 8, 0x7fffffff_7fff_007fn);
      m.setX(1, DATA);
      for (const r of [0, 2, 3, 4, 5, 6, 7, 8]) m.setX(r, 0x5555_5555_5555_5555n);
    },
  );
  assert.equal(m.x(0), 0xffff_ffff_ffff_ff80n);
  assert.equal(m.x(2), 0x0000_0000_ffff_ff80n);
  assert.equal(m.x(3), 0xffff_ffff_ffff_8000n);
  assert.equal(m.x(4), 0x0000_0000_ffff_8000n);
  assert.equal(m.x(5), 0xffff_ffff_8000_0000n);
  assert.equal(m.x(6), 0x7fn);
  assert.equal(m.x(7), 0x7fffn);
  assert.equal(m.x(8), 0x7fff_ffffn);
});

test("STR/STRH/STRB store the low bytes of the register only", () => {
  const m = runLines(["str x2, [x1]", "str w2, [x1, #8]", "strh w2, [x1, #16]", "strb w2, [x1, #24]"], (m) => {
    fillRam(m, DATA, 32, 0xa0);
    m.setX(1, DATA).setX(2, 0x1122334455667788n);
  });
  assert.equal(ramHex(m, DATA, 32), "8877665544332211" + "88776655acadaeaf" + "8877b2b3b4b5b6b7" + "88b9babbbcbdbebf");
});

test("LDUR/STUR take a signed, unscaled 9-bit offset (any alignment)", () => {
  const m = runLines(["ldur x0, [x1, #-256]", "ldur w2, [x1, #255]", "ldursh x3, [x1, #-1]", "stur x4, [x1, #-3]"], (m) => {
    fillRam(m, DATA, 0x400, 0);
    m.setX(1, DATA + 0x200).setX(4, 0xdeadbeefcafef00dn);
  });
  // bytes at DATA+0x100.. are 0x00,0x01,... (0x100 mod 256 = 0)
  assert.equal(m.x(0), 0x0706050403020100n);
  // DATA+0x2ff: bytes 0xff, 0x00, 0x01, 0x02
  assert.equal(m.x(2), 0x020100ffn);
  // DATA+0x1ff: 0xff, 0x00 -> 0x00ff, positive
  assert.equal(m.x(3), 0x00ffn);
  assert.equal(ramHex(m, DATA + 0x1fd, 8), "0df0fecaefbeadde");
});

test("pre-index uses and writes back base+imm; post-index uses base and writes back base+imm", () => {
  const m = runLines(["ldr x0, [x1, #-8]!", "ldr x2, [x3], #16", "str w4, [x5, #-4]!", "strb w4, [x6], #-1", "ldrsw x7, [x8, #4]!"], (m) => {
    fillRam(m, DATA, 0x100, 0);
    m.setX(1, DATA + 0x10).setX(3, DATA + 0x20).setX(4, 0xa1b2c3d4).setX(5, DATA + 0x44).setX(6, DATA + 0x50).setX(8, DATA + 0x60);
    m.bus.write32(DATA + 0x64, 0x80000001);
  });
  assert.equal(m.x(0), 0x0f0e0d0c0b0a0908n);
  assert.equal(m.x(1), BigInt(DATA + 0x08));
  assert.equal(m.x(2), 0x2726252423222120n);
  assert.equal(m.x(3), BigInt(DATA + 0x30));
  assert.equal(ramHex(m, DATA + 0x40, 4), "d4c3b2a1");
  assert.equal(m.x(5), BigInt(DATA + 0x40));
  assert.equal(ramHex(m, DATA + 0x50, 1), "d4");
  assert.equal(m.x(6), BigInt(DATA + 0x4f));
  assert.equal(m.x(7), 0xffff_ffff_8000_0001n);
  assert.equal(m.x(8), BigInt(DATA + 0x64));
});

test("register offsets: LSL, UXTW, SXTW and SXTX, with and without scaling", () => {
  const m = runLines(
    [
      "ldr x0, [x1, x2]",
      "ldr x3, [x1, x2, lsl #3]",
      "ldr w4, [x1, w5, uxtw #2]",
      "ldr x6, [x1, w7, sxtw #3]",
      "ldrb w8, [x1, w7, sxtw]",
      "ldrh w9, [x1, x10, sxtx #1]",
      "ldrb w11, [x1, x2, lsl #0]",
      "ldr x12, [x1, w5, uxtw]",
    ],
    (m) => {
      fillRam(m, DATA, 0x400, 0);
      m.setX(1, DATA + 0x200);
      m.setX(2, 8);
      m.setX(5, 0xffff_ffff_0000_0010n); // UXTW ignores bits 63:32
      m.setX(7, 0x1234_5678_ffff_fff0n); // SXTW of 0xfffffff0 = -16
      m.setX(10, -4n); // SXTX
    },
  );
  assert.equal(m.x(0), 0x0f0e0d0c0b0a0908n); // +8
  assert.equal(m.x(3), 0x4746454443424140n); // +64
  assert.equal(m.x(4), 0x43424140n); // +0x10 << 2 = +0x40
  assert.equal(m.x(6), 0x8786858483828180n); // -16 << 3 = -0x80: DATA+0x180
  assert.equal(m.x(8), 0xf0n); // -16: DATA+0x1f0
  assert.equal(m.x(9), 0xf9f8n); // -4 << 1 = -8: DATA+0x1f8
  assert.equal(m.x(11), 0x08n);
  assert.equal(m.x(12), 0x1716151413121110n);
});

test("register offset XZR is zero, and addition carries into the high half", () => {
  const m = runLines(["ldr x0, [x1, xzr, lsl #3]", "ldr x2, [x3, x4]", "ldr x5, [x3, w6, sxtw]"], (m) => {
    m.write64(DATA, 0x1111_2222_3333_4444n);
    m.setX(1, DATA).setSp(0x100);
    m.setX(3, 0x1_0000_0000n).setX(4, BigInt(DATA) - 0x1_0000_0000n); // 0x1_0000_0000 + (-0xbfff0000)
    m.setX(6, 0);
  });
  assert.equal(m.x(0), 0x1111_2222_3333_4444n);
  assert.equal(m.x(2), 0x1111_2222_3333_4444n);
  // The third load goes to 0x1_0000_0000: above RAM, so it aborts with that address.
  assertDataAbort(m, { far: 0x1_0000_0000n, write: false, dfsc: 0x10, insnIndex: 2 });
});

test("effective addresses wrap and carry through 64 bits (seen through FAR)", () => {
  const cases: [string, bigint, bigint, number][] = [
    ["ldr x0, [x1, #16]", 0x0000_0000_ffff_fff8n, 0x1_0000_0008n, 0x10],
    ["ldur x0, [x1, #-8]", 0x1_0000_0000n, 0xffff_fff8n, 0x10],
    ["ldr x0, [x1, #8]", 0xffff_ffff_ffff_fff8n, 0n, 0x10], // wraps to 0
    ["ldr x0, [x1, #-8]!", 0x4n, 0xffff_ffff_ffff_fffcn, 0x00], // borrows to a kernel address: address size fault
    ["ldr x0, [x1, x2, lsl #3]", 0xffff_0000_0000_0000n, 0xffff_0000_0000_0010n, 0x00],
  ];
  for (const [line, base, far, dfsc] of cases) {
    const m = runLines([line], (m) => m.setX(1, base).setX(2, 2).setX(0, 0x77));
    assertDataAbort(m, { far, write: false, dfsc });
    assert.equal(m.x(1), base, `${line}: no writeback`);
    assert.equal(m.x(0), 0x77n, `${line}: Rt untouched`);
  }
});

test("a faulting access leaves every register untouched: no load, no writeback", () => {
  const cases: [string, bigint][] = [
    ["ldr x0, [x1, #8]!", 0x1008n],
    ["ldr x0, [x1], #8", 0x1000n],
    ["ldrsw x0, [x1, #4]!", 0x1004n],
    ["str x0, [x1, #-16]!", 0xff0n],
    ["strb w0, [x1], #1", 0x1000n],
    ["ldr x0, [x1, x2]", 0x1008n],
  ];
  for (const [line, far] of cases) {
    const m = runLines([line], (m) => m.setX(0, 0xabcdn).setX(1, 0x1000).setX(2, 8));
    const store = line.startsWith("st");
    assertDataAbort(m, { far, write: store, dfsc: 0x10 });
    assert.equal(m.x(0), 0xabcdn, line);
    assert.equal(m.x(1), 0x1000n, line);
    assert.equal(m.clock.icount, 1);
  }
});

test("an access straddling the end of RAM faults (FAR = the access address) and changes nothing", () => {
  const m = runLines(["ldr x0, [x1]"], (m) => m.setX(1, RAM_END - 4).setX(0, 5));
  assertDataAbort(m, { far: BigInt(RAM_END - 4), write: false, dfsc: 0x10 });
  assert.equal(m.x(0), 5n);
});

test("register 31 is SP as a base and XZR/WZR as data", () => {
  const m = runLines(["str xzr, [sp, #8]", "strb wzr, [sp, #1]", "ldr x0, [sp, #8]", "ldr xzr, [sp, #16]", "str x1, [sp, #-16]!", "ldr x2, [sp], #16", "ldr wzr, [x3]"], (m) => {
    m.ram.bytes.fill(0xff, DATA - RAM_BASE, DATA - RAM_BASE + 0x40);
    m.setSp(DATA + 0x20).setX(1, 0x1234).setX(3, DATA);
  });
  assert.equal(ramHex(m, DATA + 0x20, 16), "ff00ffffffffffff" + "0000000000000000");
  assert.equal(m.x(0), 0n);
  assert.equal(m.x(2), 0x1234n);
  assert.equal(m.sp, BigInt(DATA + 0x20)); // the XZR loads did not touch SP
  assert.equal(ramHex(m, DATA + 0x10, 8), "3412000000000000");
});

test("a load into XZR still performs (and can fault on) the access", () => {
  const m = runLines(["ldr xzr, [x1]"], (m) => m.setX(1, 0x8));
  assertDataAbort(m, { far: 0x8n, write: false, dfsc: 0x10 });
});

test("Rn == Rt with writeback (CONSTRAINED UNPREDICTABLE): as QEMU, loads keep the written-back address, stores store the old value", () => {
  const m = runLines(["ldr x1, [x1, #8]!", "str x2, [x2], #8", "ldr x3, [x3], #8"], (m) => {
    fillRam(m, DATA, 0x40, 0);
    m.setX(1, DATA).setX(2, DATA + 0x20).setX(3, DATA + 0x30);
  });
  assert.equal(m.x(1), BigInt(DATA + 8));
  assert.equal(m.read64(DATA + 0x20), BigInt(DATA + 0x20));
  assert.equal(m.x(2), BigInt(DATA + 0x28));
  assert.equal(m.x(3), BigInt(DATA + 0x38));
});

test("LDR (literal) is PC-relative, forwards and backwards, with LDRSW sign-extending", () => {
  const m = machineWith("ldr x0, .+16", "ldr w1, .+16", "ldrsw x2, .+16").setX(1, ALL_ONES);
  // Data after the code: CODE+16 = 0x80000001, CODE+20 = 0x7eadbeef, CODE+24 = 0x87654321.
  m.bus.write32(CODE + 16, 0x80000001);
  m.bus.write32(CODE + 20, 0x7eadbeef);
  m.bus.write32(CODE + 24, 0x87654321);
  m.run(3);
  assert.equal(m.x(0), 0x7eadbeef_80000001n);
  assert.equal(m.x(1), 0x7eadbeefn);
  assert.equal(m.x(2), 0xffff_ffff_8765_4321n);
  const back = new TestMachine().code(0, asm("ldr x3, .-4"));
  back.setPc(BigInt(CODE + 4));
  back.bus.write32(CODE, 0x11223344);
  back.run(1);
  assert.equal(back.x(3), 0x11223344n | (BigInt(asm("ldr x3, .-4")) << 32n));
});

test("LDTR/STTR are ordinary accesses with the MMU off, at EL1 and at EL0", () => {
  for (const el of [1, 0]) {
    const m = machineWith("sttr w2, [x1, #4]", "ldtrsh x3, [x1, #4]", "ldtr x4, [x1, #-4]");
    m.cpu.setMode(el, el);
    m.setX(1, DATA + 8).setX(2, 0x1234_8001);
    m.write64(DATA + 4, 0x0102_0304_0506_0708n);
    m.run(3);
    assert.equal(ramHex(m, DATA + 12, 4), "01803412");
    assert.equal(m.x(3), 0xffff_ffff_ffff_8001n);
    assert.equal(m.x(4), 0x0102_0304_0506_0708n);
  }
  // At EL0 an abort is taken from a lower EL (EC 0x24) to the lower-EL vector.
  const m = machineWith("ldtr x0, [x1]");
  m.cpu.setMode(0, 0);
  m.setX(1, 0x10);
  m.run(1);
  assertDataAbort(m, { far: 0x10n, write: false, dfsc: 0x10, ec: 0x24 });
});

test("PRFM in every form is a no-op: no access, no fault, no register change", () => {
  const lines = ["prfm pldl1keep, [x1]", "prfm pstl3strm, [x1, #32760]", "prfm #0x1f, [x1, x2, lsl #3]", "prfum plil2keep, [x1, #-1]", "prfm pldl1keep, .-1048576", "prfm #6, [sp, w2, uxtw]"];
  const m = runLines(lines, (m) => m.setX(1, 0x8).setX(2, 0x1000).setSp(0));
  assert.equal(m.pc, BigInt(CODE + 4 * lines.length));
  assert.equal(m.cpu.sys.esrEl1, 0);
  assert.equal(m.x(1), 8n);
});

test("unallocated encodings in the load/store classes are undefined instructions", () => {
  const words = [
    0xf8630841, // ldr x1, [x2, w3, uxtb]: register offset with option<1> == 0
    0xb8c00041, // ldrs to W with size 10 (opc 11, unscaled)
    0xf8c00041, // size 11 opc 11
    0xf8800c41, // PRFM pre-index (size 11 opc 10, idx 11) is unallocated
    0x3c400841, // LDTR with V = 1
    0x7cc00041, // FP size 01 with opc 1x
    0xf9c00041, // LDR (unsigned offset) size 11 opc 11
    0xdc000041, // LDR (literal) V = 1 opc 11
  ];
  for (const w of words) {
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
    assert.equal(m.cpu.sys.elrEl1Lo, CODE);
  }
});

// Load/store exclusive and load-acquire/store-release, from the Arm ARM pseudocode:
//   LDXR: AArch64.SetExclusiveMonitors(address, size); X[t] = Mem[address, size] (aligned, else alignment fault)
//   STXR: alignment check; if AArch64.ExclusiveMonitorsPass(address, size) then Mem[...] = X[t], status 0,
//         else status 1; the local monitor is cleared either way; an open monitor fails without translating.
//   LDAR/STLR: ordinary accesses that must be naturally aligned.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODE, DATA, TestMachine } from "./harness.js";
import { asm, assertDataAbort, machineWith, runLines } from "./ldst-asm.js";

const OLD = 0x0102_0304_0506_0708n;

function exclusiveMachine(lines: string[]): TestMachine {
  const m = machineWith(...lines);
  m.write64(DATA, OLD);
  m.write64(DATA + 8, 0x1112_1314_1516_1718n);
  m.setX(1, DATA).setX(3, 0xaaaa_bbbb_cccc_ddddn).setX(4, 0x4444n).setX(2, 0x99);
  return m;
}

test("LDXR then STXR to the same address and size succeeds: status 0, memory written, monitor cleared", () => {
  const m = exclusiveMachine(["ldxr x0, [x1]", "stxr w2, x3, [x1]"]);
  m.run(1);
  assert.equal(m.x(0), OLD);
  assert.equal(m.cpu.exclusiveAddr, DATA);
  assert.equal(m.cpu.exclusiveSize, 8);
  m.run(1);
  assert.equal(m.x(2), 0n);
  assert.equal(m.read64(DATA), 0xaaaa_bbbb_cccc_ddddn);
  assert.equal(m.cpu.exclusiveAddr, -1);
});

test("a second STXR after a successful one fails (status 1) and stores nothing", () => {
  const m = exclusiveMachine(["ldxr x0, [x1]", "stxr w2, x3, [x1]", "stxr w5, x4, [x1]"]).run(3);
  assert.equal(m.x(2), 0n);
  assert.equal(m.x(5), 1n);
  assert.equal(m.read64(DATA), 0xaaaa_bbbb_cccc_ddddn);
});

test("STXR with no reservation fails without translating: even an unmapped address does not fault", () => {
  const m = exclusiveMachine(["stxr w2, x3, [x1]", "stxr w5, x3, [x6]"]);
  m.setX(6, 0x1000).setX(5, 0x77);
  m.run(2);
  assert.equal(m.x(2), 1n);
  assert.equal(m.x(5), 1n);
  assert.equal(m.read64(DATA), OLD);
  assert.equal(m.cpu.sys.esrEl1, 0);
  assert.equal(m.pc, BigInt(CODE + 8));
});

test("STXR to another address, or of another size, fails and clears the monitor", () => {
  const other = exclusiveMachine(["ldxr x0, [x1]", "stxr w2, x3, [x6]", "stxr w5, x3, [x1]"]);
  other.setX(6, DATA + 8).run(3);
  assert.equal(other.x(2), 1n);
  assert.equal(other.x(5), 1n); // the failed STXR cleared the reservation on DATA too
  assert.equal(other.read64(DATA), OLD);
  assert.equal(other.read64(DATA + 8), 0x1112_1314_1516_1718n);
  const size = exclusiveMachine(["ldxr w0, [x1]", "stxr w2, x3, [x1]"]).run(2);
  assert.equal(size.x(0), 0x0506_0708n);
  assert.equal(size.x(2), 1n);
  assert.equal(size.read64(DATA), OLD);
  assert.equal(size.cpu.exclusiveAddr, -1);
});

test("taking an exception clears the monitor", () => {
  const m = exclusiveMachine(["ldxr x0, [x1]", "ldr x7, [x6]", "stxr w2, x3, [x1]"]);
  m.setX(6, 0x1000);
  m.run(2); // the LDR aborts
  assert.equal(m.lastEc, 0x25);
  assert.equal(m.cpu.exclusiveAddr, -1);
  m.setPc(BigInt(CODE + 8)).run(1);
  assert.equal(m.x(2), 1n);
  assert.equal(m.read64(DATA), OLD);
});

test("byte, halfword and word exclusives zero-extend and store only their size", () => {
  const m = exclusiveMachine(["ldaxrb w0, [x1]", "stlxrb w2, w3, [x1]", "ldxrh w5, [x6]", "stxrh w7, w3, [x6]", "ldaxr w8, [x9]", "stlxr w10, w3, [x9]"]);
  m.setX(6, DATA + 2).setX(9, DATA + 4);
  m.setX(0, -1n).setX(5, -1n).setX(8, -1n);
  m.run(6);
  assert.equal(m.x(0), 0x08n);
  assert.equal(m.x(5), 0x0506n);
  assert.equal(m.x(8), 0x0102_0304n);
  assert.deepEqual([m.x(2), m.x(7), m.x(10)], [0n, 0n, 0n]);
  assert.equal(m.read64(DATA), 0xcccc_dddd_dddd_07ddn);
});

test("misaligned LDXR takes an alignment fault (DFSC 0x21) at the instruction and sets no reservation", () => {
  for (const [line, addr] of [["ldxr x0, [x1]", DATA + 4], ["ldxr w0, [x1]", DATA + 2], ["ldaxrh w0, [x1]", DATA + 1]] as const) {
    const m = runLines([line], (m) => m.setX(1, addr).setX(0, 0x42));
    assertDataAbort(m, { far: BigInt(addr), write: false, dfsc: 0x21 });
    assert.equal(m.x(0), 0x42n);
    assert.equal(m.cpu.exclusiveAddr, -1);
  }
  // Bytes are always aligned.
  const ok = runLines(["ldxrb w0, [x1]"], (m) => m.setX(1, DATA + 3));
  assert.equal(ok.cpu.exclusiveAddr, DATA + 3);
});

test("misaligned STXR faults (WnR = 1) before checking the monitor: no status written, nothing stored", () => {
  const m = exclusiveMachine(["ldxr x0, [x1]", "stxr w2, x3, [x5]"]);
  m.setX(5, DATA + 4);
  m.run(2);
  assertDataAbort(m, { far: BigInt(DATA + 4), write: true, dfsc: 0x21, insnIndex: 1 });
  assert.equal(m.x(2), 0x99n);
  assert.equal(m.read64(DATA), OLD);
});

test("LDXP/STXP: X pairs are 16-byte aligned, W pairs 8-byte aligned, and store both registers", () => {
  const x = exclusiveMachine(["ldxp x5, x6, [x1]", "stxp w2, x3, x4, [x1]"]).run(2);
  assert.equal(x.x(5), OLD);
  assert.equal(x.x(6), 0x1112_1314_1516_1718n);
  assert.equal(x.x(2), 0n);
  assert.equal(x.read64(DATA), 0xaaaa_bbbb_cccc_ddddn);
  assert.equal(x.read64(DATA + 8), 0x4444n);

  const w = exclusiveMachine(["ldaxp w5, w6, [x1]", "stlxp w2, w3, w4, [x1]"]).run(1);
  assert.equal(w.x(5), 0x0506_0708n);
  assert.equal(w.x(6), 0x0102_0304n);
  assert.equal(w.cpu.exclusiveSize, 8);
  w.run(1);
  assert.equal(w.x(2), 0n);
  assert.equal(w.read64(DATA), 0x0000_4444_cccc_ddddn);

  const mis = runLines(["ldxp x5, x6, [x1]"], (m) => m.setX(1, DATA + 8));
  assertDataAbort(mis, { far: BigInt(DATA + 8), write: false, dfsc: 0x21 });
  const misW = runLines(["stxp w2, w3, w4, [x1]"], (m) => m.setX(1, DATA + 4));
  assertDataAbort(misW, { far: BigInt(DATA + 4), write: true, dfsc: 0x21 });
});

test("an X-register STXR after a W-pair LDXP (same 8 bytes) is a size match; after LDXR W it is not", () => {
  const pairThenX = exclusiveMachine(["ldxp w5, w6, [x1]", "stxr w2, x3, [x1]"]).run(2);
  assert.equal(pairThenX.x(2), 0n);
  const wThenPair = exclusiveMachine(["ldxr w5, [x1]", "stxp w2, w3, w4, [x1]"]).run(2);
  assert.equal(wThenPair.x(2), 1n);
});

test("STXR with Rs == Rt or Rs == Rn (CONSTRAINED UNPREDICTABLE): as QEMU, stores the old value, then the status", () => {
  const m = exclusiveMachine(["ldxr x0, [x1]", "stxr w3, x3, [x1]", "ldxr x0, [x1]", "stxr w1, x4, [x1]"]).run(4);
  assert.equal(m.read64(DATA), 0x4444n);
  assert.equal(m.x(3), 0n);
  assert.equal(m.x(1), 0n);
});

test("LDXP with Rt == Rt2 (CONSTRAINED UNPREDICTABLE): as QEMU, the register holds the higher element", () => {
  const m = exclusiveMachine(["ldxp x5, x5, [x1]"]).run(1);
  assert.equal(m.x(5), 0x1112_1314_1516_1718n);
});

test("WZR as status discards it; XZR as data stores zero; SP as base", () => {
  const m = exclusiveMachine(["ldxr x0, [sp]", "stxr wzr, xzr, [sp]"]);
  m.setSp(DATA);
  m.run(2);
  assert.equal(m.read64(DATA), 0n);
  assert.equal(m.sp, BigInt(DATA));
});

test("LDAR/STLR of every size are plain accesses that must be aligned", () => {
  const m = exclusiveMachine(["ldarb w0, [x1]", "ldarh w5, [x6]", "ldar w7, [x9]", "ldar x8, [x1]", "stlrb w3, [x1]", "stlrh w3, [x6]", "stlr w4, [x9]"]);
  m.setX(6, DATA + 2).setX(9, DATA + 4);
  m.run(7);
  assert.equal(m.x(0), 0x08n);
  assert.equal(m.x(5), 0x0506n);
  assert.equal(m.x(7), 0x0102_0304n);
  assert.equal(m.x(8), OLD);
  assert.equal(m.read64(DATA), 0x0000_4444_dddd_07ddn);
  assert.equal(m.cpu.exclusiveAddr, -1); // not exclusive

  for (const [line, write] of [["ldarh w0, [x1]", false], ["ldar w0, [x1]", false], ["stlr x0, [x1]", true], ["stlrh w0, [x1]", true]] as const) {
    const f = runLines([line], (m) => m.setX(1, DATA + 1).setX(0, 0x42));
    assertDataAbort(f, { far: BigInt(DATA + 1), write, dfsc: 0x21 });
    assert.equal(f.x(0), 0x42n);
  }
});

test("an exclusive load from an unmapped address is a data abort (external abort), registers untouched", () => {
  const m = runLines(["ldaxr x0, [x1]"], (m) => m.setX(1, 0x2000).setX(0, 3));
  assertDataAbort(m, { far: 0x2000n, write: false, dfsc: 0x10 });
  assert.equal(m.x(0), 3n);
  assert.equal(m.cpu.exclusiveAddr, -1);
});

test("the v8.1 encodings of the class (CAS, CASP, LDLAR, STLLR) are undefined on this CPU", () => {
  for (const w of [0x88a07c41 /* cas */, 0x48207c82 /* casp */, 0x88df7c20 /* ldlar */, 0x889f7c20 /* stllr */]) {
    const m = new TestMachine().code(w);
    m.run(1);
    assert.equal(m.lastEc, 0, w.toString(16));
  }
  assert.equal(asm("ldar w0, [x1]"), 0x88dffc20);
});

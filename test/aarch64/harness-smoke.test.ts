import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine, CODE, RAM_BASE } from "./harness.js";

test("an unimplemented encoding raises Undefined Instruction at the EL1 vector and is reported once", () => {
  const m = new TestMachine().code(0x00000000, 0x00000000);
  m.run(1);
  assert.equal(m.lastEc, 0);
  assert.equal(m.cpu.sys.elrEl1Lo, CODE);
  assert.equal(m.pc, BigInt(RAM_BASE + 0x200)); // current EL, SP_ELx, synchronous
  assert.equal(m.undefinedReports.length, 1);
  assert.equal(m.undefinedReports[0].insn, 0);
  assert.equal(m.clock.icount, 1);
});

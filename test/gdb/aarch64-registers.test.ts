import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AARCH64_CPSR_REGNUM,
  AARCH64_FPCR_REGNUM,
  AARCH64_FPSR_REGNUM,
  AARCH64_GDB_REGISTERS,
  AARCH64_PC_REGNUM,
  AARCH64_SP_REGNUM,
  AARCH64_V0_REGNUM,
  RegisterValueError,
  readAarch64Register,
  writeAarch64Register,
} from "../../src/arch/aarch64/gdb-registers.js";
import { buildTargetDescription } from "../../src/gdb/target-xml.js";
import { parseTargetDescription } from "../../src/gdb/rsp-client.js";
import { TestMachine } from "../aarch64/harness.js";

const le = (v: bigint, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};
const val = (b: Uint8Array | undefined) => {
  assert.ok(b);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
};

test("the register list is QEMU's aarch64 numbering, contiguous from 0", () => {
  const names = AARCH64_GDB_REGISTERS.map((r) => r.name);
  assert.equal(names.length, 68);
  assert.deepEqual(names.slice(0, 3), ["x0", "x1", "x2"]);
  assert.deepEqual(names.slice(30, 36), ["x30", "sp", "pc", "cpsr", "v0", "v1"]);
  assert.deepEqual(names.slice(-3), ["v31", "fpsr", "fpcr"]);
  AARCH64_GDB_REGISTERS.forEach((r, i) => assert.equal(r.regnum, i));
  assert.deepEqual([AARCH64_SP_REGNUM, AARCH64_PC_REGNUM, AARCH64_CPSR_REGNUM, AARCH64_V0_REGNUM, AARCH64_FPSR_REGNUM, AARCH64_FPCR_REGNUM], [31, 32, 33, 34, 66, 67]);
});

test("reads come from the CPU state in little-endian order", () => {
  const m = new TestMachine();
  m.setX(0, 0x8877665544332211n).setX(30, 0xffffffffffffffffn).setSp(0x40080000n).setPc(0xffff000012345678n);
  m.cpu.nzcv = 0b1010;
  m.cpu.vregs.set([0x11111111, 0x22222222, 0x33333333, 0x44444444], 4 * 5);
  m.cpu.fpsr = 0x08000010;
  m.cpu.fpcr = 0x03c00000;
  assert.equal(val(readAarch64Register(m.cpu, 0)), 0x8877665544332211n);
  assert.deepEqual([...readAarch64Register(m.cpu, 0)!], [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
  assert.equal(val(readAarch64Register(m.cpu, 30)), 0xffffffffffffffffn);
  assert.equal(val(readAarch64Register(m.cpu, 31)), 0x40080000n);
  assert.equal(val(readAarch64Register(m.cpu, 32)), 0xffff000012345678n);
  assert.equal(val(readAarch64Register(m.cpu, 33)), BigInt(m.cpu.pstate));
  assert.equal(Number(val(readAarch64Register(m.cpu, 33))) >>> 28, 0b1010);
  assert.equal(val(readAarch64Register(m.cpu, 34 + 5)), 0x44444444333333332222222211111111n);
  assert.equal(val(readAarch64Register(m.cpu, 66)), 0x08000010n);
  assert.equal(val(readAarch64Register(m.cpu, 67)), 0x03c00000n);
  assert.equal(readAarch64Register(m.cpu, 68), undefined);
  assert.equal(readAarch64Register(m.cpu, -1), undefined);
  for (const r of AARCH64_GDB_REGISTERS) assert.equal(readAarch64Register(m.cpu, r.regnum)!.length, r.bitsize / 8, r.name);
});

test("writes round-trip through the CPU; sizes are checked", () => {
  const m = new TestMachine();
  const values: [number, bigint, number][] = [
    [3, 0xdeadbeefcafef00dn, 8],
    [31, 0x40070000n, 8],
    [32, 0x40001234n, 8],
    [34 + 31, (0x0123456789abcdefn << 64n) | 0xfedcba9876543210n, 16],
    [66, 0x8000009fn, 4],
    [67, 0x00c00000n, 4],
  ];
  for (const [regnum, v, n] of values) {
    assert.equal(writeAarch64Register(m.cpu, regnum, le(v, n)), true);
    assert.equal(val(readAarch64Register(m.cpu, regnum)), v);
  }
  assert.equal(m.x(3), 0xdeadbeefcafef00dn);
  assert.equal(m.sp, 0x40070000n);
  assert.equal(m.pc, 0x40001234n);
  assert.equal(writeAarch64Register(m.cpu, 3, le(1n, 4)), false);
  assert.equal(writeAarch64Register(m.cpu, 68, le(1n, 8)), false);
});

test("cpsr writes set flags, masks, EL and SPSel (banking the stack pointer); impossible states are refused", () => {
  const m = new TestMachine();
  m.setSp(0x1000n); // EL1, SPSel 1: SP_EL1
  const v = (0b0110 << 28) | (0b0101 << 6) | (0 << 2) | 0; // Z C, D I... EL0t
  assert.equal(writeAarch64Register(m.cpu, 33, le(BigInt(v >>> 0), 4)), true);
  assert.equal(m.cpu.nzcv, 0b0110);
  assert.equal(m.cpu.daif, 0b0101);
  assert.equal(m.cpu.el, 0);
  assert.equal(m.cpu.readSpEl(1)[0], 0x1000); // the EL1 stack pointer was banked
  assert.equal(val(readAarch64Register(m.cpu, 33)), BigInt(v >>> 0));
  assert.throws(() => writeAarch64Register(m.cpu, 33, le(0x3c9n, 4)), RegisterValueError); // EL2
  assert.throws(() => writeAarch64Register(m.cpu, 33, le(0x10n, 4)), RegisterValueError); // AArch32
});

test("the target description built from this list parses back to the same registers", () => {
  const docs = buildTargetDescription("aarch64", AARCH64_GDB_REGISTERS);
  assert.deepEqual([...docs.keys()].sort(), ["aarch64-core.xml", "aarch64-fpu.xml", "target.xml"]);
  const td = parseTargetDescription("target.xml", docs);
  assert.equal(td.architecture, "aarch64");
  assert.deepEqual(
    td.registers.map((r) => [r.name, r.regnum, r.bitsize]),
    AARCH64_GDB_REGISTERS.map((r) => [r.name, r.regnum, r.bitsize]),
  );
  // GDB's own files leave the default type out.
  assert.match(docs.get("aarch64-core.xml")!, /<reg name="x0" bitsize="64"\/>/);
  assert.match(docs.get("aarch64-core.xml")!, /<reg name="cpsr" bitsize="32" type="cpsr_flags"\/>/);
  assert.match(docs.get("aarch64-fpu.xml")!, /<reg name="v0" bitsize="128" type="aarch64v"\/>/);
  assert.equal(buildTargetDescription("x86_64", []).get("target.xml")!.includes("<architecture>i386:x86-64</architecture>"), true);
});

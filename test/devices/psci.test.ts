import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine, CODE } from "../aarch64/harness.js";
import { handlePsciCall, PSCI_FN, PSCI_RET, PSCI_VERSION_1_1 } from "../../src/devices/psci.js";

const MASK64 = (1n << 64n) - 1n;
const ret = (v: number) => BigInt(v) & MASK64; // int32 results are sign-extended into X0

function call(args: (bigint | number)[], setup?: (m: TestMachine) => void) {
  const m = new TestMachine();
  args.forEach((a, i) => m.setX(i, a));
  setup?.(m);
  const actions: string[] = [];
  const handled = handlePsciCall(m.cpu, {
    systemOff: () => actions.push("off"),
    systemReset: () => actions.push("reset"),
    cpuOff: () => actions.push("cpuOff"),
  });
  return { m, actions, handled, x0: m.x(0) };
}

test("PSCI_VERSION reports 1.1 like QEMU 7.2", () => {
  const r = call([PSCI_FN.version]);
  assert.equal(r.handled, true);
  assert.equal(r.x0, BigInt(PSCI_VERSION_1_1));
  assert.equal(r.x0, 0x10001n);
});

test("PSCI_FEATURES: implemented functions succeed, others are not supported", () => {
  for (const f of [
    PSCI_FN.version,
    PSCI_FN.cpuSuspend,
    PSCI_FN.cpuSuspend64,
    PSCI_FN.cpuOff,
    PSCI_FN.cpuOn,
    PSCI_FN.cpuOn64,
    PSCI_FN.affinityInfo,
    PSCI_FN.affinityInfo64,
    PSCI_FN.migrateInfoType,
    PSCI_FN.systemOff,
    PSCI_FN.systemReset,
    PSCI_FN.features,
  ])
    assert.equal(call([PSCI_FN.features, f]).x0, 0n, `feature 0x${f.toString(16)}`);
  for (const f of [PSCI_FN.migrate, PSCI_FN.migrate64, 0x8400_0007, 0x8000_0000 /* SMCCC_VERSION */, 0x1_8400_0000n])
    assert.equal(call([PSCI_FN.features, f]).x0, ret(PSCI_RET.notSupported), `feature 0x${f.toString(16)}`);
});

test("PSCI MIGRATE_INFO_TYPE says no Trusted OS migration is required", () => {
  assert.equal(call([PSCI_FN.migrateInfoType]).x0, 2n);
});

test("PSCI CPU_ON: the only CPU is already on; other targets and bad entry points are invalid", () => {
  for (const id of [PSCI_FN.cpuOn, PSCI_FN.cpuOn64, PSCI_FN.v01CpuOn]) {
    assert.equal(call([id, 0, CODE, 0]).x0, ret(PSCI_RET.alreadyOn));
    assert.equal(call([id, 1, CODE, 0]).x0, ret(PSCI_RET.invalidParameters));
    assert.equal(call([id, 0x100, CODE, 0]).x0, ret(PSCI_RET.invalidParameters));
    assert.equal(call([id, 0, CODE + 2, 0]).x0, ret(PSCI_RET.invalidParameters), "entry point must be aligned");
  }
});

test("PSCI AFFINITY_INFO: CPU 0 is on, unknown CPUs are invalid, higher levels are always on", () => {
  assert.equal(call([PSCI_FN.affinityInfo64, 0, 0]).x0, 0n);
  assert.equal(call([PSCI_FN.affinityInfo, 0, 0]).x0, 0n);
  assert.equal(call([PSCI_FN.affinityInfo64, 1, 0]).x0, ret(PSCI_RET.invalidParameters));
  assert.equal(call([PSCI_FN.affinityInfo64, 7, 1]).x0, 0n);
});

test("PSCI CPU_SUSPEND returns success and waits for an interrupt like WFI", () => {
  const idle = call([PSCI_FN.cpuSuspend64, 0, CODE, 0]);
  assert.equal(idle.x0, 0n);
  assert.equal(idle.m.cpu.halted, true);
  const busy = call([PSCI_FN.cpuSuspend, 0], (m) => (m.cpu.irqLine = true));
  assert.equal(busy.x0, 0n);
  assert.equal(busy.m.cpu.halted, false, "an interrupt is already pending: no sleep");
  const deep = call([PSCI_FN.cpuSuspend64, 1 << 24]); // power level 1 requested
  assert.equal(deep.x0, ret(PSCI_RET.invalidParameters));
  assert.equal(deep.m.cpu.halted, false);
  assert.equal(call([PSCI_FN.v01CpuSuspend, 0]).x0, 0n);
});

test("PSCI SYSTEM_OFF, SYSTEM_RESET and CPU_OFF go to the board and do not return a value", () => {
  for (const [id, action] of [
    [PSCI_FN.systemOff, "off"],
    [PSCI_FN.systemReset, "reset"],
    [PSCI_FN.cpuOff, "cpuOff"],
    [PSCI_FN.v01CpuOff, "cpuOff"],
  ] as const) {
    const r = call([id]);
    assert.deepEqual(r.actions, [action]);
    assert.equal(r.x0, BigInt(id), "X0 untouched");
  }
});

test("PSCI unknown functions, MIGRATE and 64-bit X0 values with high bits return NOT_SUPPORTED", () => {
  const ids = [0x8400_0007, 0x8400_000b, PSCI_FN.migrate, PSCI_FN.migrate64, PSCI_FN.v01Migrate];
  ids.push(0x8000_0000, 0); // SMCCC_VERSION, and an X0 of zero
  for (const id of ids) assert.equal(call([id]).x0, MASK64, `function 0x${id.toString(16)}`);
  assert.equal(call([0x1_8400_0000n]).x0, MASK64, "PSCI_VERSION's ID with X0[63:32] set");
});

test("HVC from the guest reaches PSCI through the CPU hook and resumes after the HVC", () => {
  const m = new TestMachine().code(0xd4000002 /* hvc #0 */, 0xd4000002);
  const offs: string[] = [];
  m.cpu.hooks = {
    ...m.cpu.hooks,
    hvc: (cpu) => handlePsciCall(cpu, { systemOff: () => offs.push("off"), systemReset: () => {}, cpuOff: () => {} }),
  };
  m.setX(0, PSCI_FN.version);
  m.run(1);
  assert.equal(m.x(0), 0x10001n);
  assert.equal(m.pc, BigInt(CODE + 4));
  m.setX(0, PSCI_FN.systemOff);
  m.run(1);
  assert.deepEqual(offs, ["off"]);
});

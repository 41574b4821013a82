// State descriptions (core/vmstate.ts): one description gives save, validated load, versions and names.

import { test } from "node:test";
import assert from "node:assert/strict";
import { StateError } from "../../src/core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../src/core/vmstate.js";
import { newMachine } from "../helpers/sessions.js";
import { loadMachine, saveMachine } from "../../src/core/machine.js";

class Part {
  a = 1;
  b = 2;
  regs = new Uint32Array(4);
  later = 7;
  loaded = 0;
}

const V2: StateDescription<Part> = {
  version: 2,
  fields: [field.u32("a", { max: 100 }), field.u8("b"), field.u32s("regs", 4), field.u32("later", { since: 2, fallback: 42 })],
  validate: (v) => (v.a === v.b ? "a and b may not be equal" : undefined),
  postLoad: (p) => p.loaded++,
};

test("a part saves its described fields and loads them back", () => {
  const p = new Part();
  p.regs[2] = 0xdeadbeef;
  const saved = saveDescribed(V2, p);
  assert.deepEqual(Object.keys(saved), ["a", "b", "regs", "later"]);
  const q = new Part();
  loadDescribed(V2, q, saved, 2, "part");
  assert.equal(q.regs[2], 0xdeadbeef);
  assert.equal(q.loaded, 1);
  assert.notEqual(saved.regs, p.regs, "arrays are saved as copies");
});

test("a state from an older version loads with the newer fields' fallbacks", () => {
  const q = new Part();
  loadDescribed(V2, q, { a: 5, b: 6, regs: new Uint32Array(4) }, 1, "part");
  assert.equal(q.later, 42);
  assert.throws(() => loadDescribed(V2, new Part(), { a: 5, b: 6, regs: new Uint32Array(4) }, 2, "part"), /part: field later is missing/);
});

test("a bad state is refused whole, naming the field, and leaves the part as it was", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ a: 101, b: 6, regs: new Uint32Array(4), later: 0 }, /part\.a must be an integer in 0\.\.100/],
    [{ a: 5, b: 256, regs: new Uint32Array(4), later: 0 }, /part\.b must be an integer in 0\.\.255/],
    [{ a: 5, b: 6, regs: new Uint32Array(3), later: 0 }, /part\.regs must be 4 32-bit words/],
    [{ a: 5, b: 5, regs: new Uint32Array(4), later: 0 }, /part: a and b may not be equal/],
  ];
  for (const [fields, message] of cases) {
    const q = new Part();
    assert.throws(() => loadDescribed(V2, q, fields as never, 2, "part"), (e: unknown) => e instanceof StateError && message.test(e.message));
    assert.deepEqual(saveDescribed(V2, q), saveDescribed(V2, new Part()));
    assert.equal(q.loaded, 0);
  }
});

test("a machine state with a newer part version is refused, naming the part", () => {
  const g = newMachine("hello.elf");
  const bytes = saveMachine(g.machine);
  const timer = g.machine.timer;
  const orig = timer.stateVersion;
  Object.defineProperty(timer, "stateVersion", { value: orig - 1, configurable: true });
  assert.throws(() => loadMachine(g.machine, bytes), /timer state version 1 is newer than this Rewind supports \(0\)/);
  Object.defineProperty(timer, "stateVersion", { value: orig, configurable: true });
  loadMachine(g.machine, bytes);
});

test("the generic timer is a part of its own and its fields are named in divergence digests", async () => {
  const g = newMachine("ticks.elf");
  assert.ok(g.machine.stateParts.some((p) => p.stateName === "timer"));
  const { machineDetailDigests } = await import("../../src/core/machine.js");
  const names = [...machineDetailDigests(g.machine).keys()];
  assert.ok(names.includes("timer.virt"), names.join(" "));
  assert.ok(!names.some((n) => n.startsWith("cpu0.sys.timer")));
});

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeState, diffFields, encodeState, loadSections, saveSections, StateError,
  type StateFields, type Stateful,
} from "../../src/core/state.js";
import { VirtualClock } from "../../src/core/clock.js";
import { machineDetailDigests, machineDigest } from "../../src/core/machine.js";
import { AddressSpace, BusError, DIRTY_ALL, PAGE_SIZE, Ram } from "../../src/core/memory.js";

class Part implements Stateful {
  readonly stateVersion = 1;
  value = 0;
  constructor(readonly stateName: string) {}
  saveState(): StateFields {
    return { value: this.value };
  }
  loadState(f: StateFields): void {
    if (typeof f.value !== "number") throw new StateError(`${this.stateName}: value must be a number`);
    this.value = f.value;
  }
}

test("every value kind survives encode/decode", () => {
  const fields: StateFields = {
    n: 1.5, t: true, f: false, big: 0xffff_ffff_ffff_ffffn, s: "pl011", b: Uint8Array.of(1, 2, 3),
    i: Int32Array.of(-1, 7), u: Uint32Array.of(0xffffffff), list: [1, "x", [2]], obj: { inner: 3 },
  };
  const bytes = encodeState([{ name: "dev", version: 2, fields }]);
  const [s] = decodeState(bytes);
  assert.equal(s.name, "dev");
  assert.equal(s.version, 2);
  assert.deepEqual(s.fields, fields);
});

test("truncated or foreign bytes are rejected with StateError, never another exception", () => {
  const bytes = encodeState([{ name: "dev", version: 1, fields: { a: 1, b: Uint8Array.of(9, 9, 9) } }]);
  for (let len = 0; len < bytes.length; len++) assert.throws(() => decodeState(bytes.subarray(0, len)), StateError);
  let seed = 1;
  for (let i = 0; i < 500; i++) {
    const copy = bytes.slice();
    seed = (seed * 1103515245 + 12345) >>> 0;
    copy[seed % copy.length] ^= 1 << (seed >>> 29);
    try {
      decodeState(copy);
    } catch (e) {
      assert.ok(e instanceof StateError, String(e));
    }
  }
});

test("loadSections names missing and unknown sections", () => {
  const a = new Part("a");
  const b = new Part("b");
  const saved = saveSections([a, b]);
  assert.throws(() => loadSections([a, b, new Part("c")], saved), /no section for c/);
  assert.throws(() => loadSections([a], saved), /does not have: b/);
});

test("diffFields reports the dotted names of differing fields", () => {
  assert.deepEqual(diffFields({ a: 1, s: { x: 1, y: 2 } }, { a: 1, s: { x: 1, y: 3 } }), ["s.y"]);
});

test("timers fire in deadline order at step boundaries and are restored by name", () => {
  const clock = new VirtualClock(7);
  const fired: string[] = [];
  const t1 = clock.createTimer("a", () => fired.push("a"));
  const t2 = clock.createTimer("b", () => fired.push("b"));
  t1.setNs(128 * 10);
  t2.setNs(128 * 5 + 1); // rounds up to tick 6
  clock.icount = 6;
  clock.runDue();
  assert.deepEqual(fired, ["b"]);
  const saved = clock.saveState();
  clock.icount = 20;
  clock.runDue();
  assert.deepEqual(fired, ["b", "a"]);
  clock.loadState(saved, clock.stateVersion);
  assert.equal(t1.deadline, 10);
  assert.equal(clock.nextDeadline, 10);
});

test("WFI idling jumps virtual time to the next deadline without adding steps", () => {
  const clock = new VirtualClock(3);
  clock.createTimer("t", () => {}).setTicks(100);
  clock.icount = 40;
  assert.ok(clock.skipToNextDeadline());
  assert.equal(clock.icount, 40);
  assert.equal(clock.ticks, 100);
  assert.equal(clock.ns, 800);
});

test("RAM writes mark pages dirty and code pages invalidate their decoded cache", () => {
  const ram = new Ram(0x40000000, 4 * PAGE_SIZE);
  const bus = new AddressSpace(ram);
  const dropped: number[] = [];
  ram.onCodeWrite = (p) => dropped.push(p);
  ram.codePages[1] = 1;
  bus.write64(0x40000000 + PAGE_SIZE - 4, 0x11223344, 0x55667788); // straddles pages 0 and 1
  assert.deepEqual([...ram.dirty], [DIRTY_ALL, DIRTY_ALL, 0, 0]);
  assert.deepEqual(dropped, [1]);
  assert.equal(bus.read32(0x40000000 + PAGE_SIZE), 0x55667788);
});

test("unmapped physical accesses raise BusError; RAM state saves sparsely and restores exactly", () => {
  const ram = new Ram(0x40000000, 64 * PAGE_SIZE);
  const bus = new AddressSpace(ram);
  assert.throws(() => bus.read32(0x1000), BusError);
  bus.write32(0x40000000 + 5 * PAGE_SIZE + 8, 0xdeadbeef);
  const saved = ram.saveState();
  assert.equal((saved.data as Uint8Array).length, PAGE_SIZE);
  const other = new Ram(0x40000000, 64 * PAGE_SIZE);
  other.bytes[3] = 7;
  other.loadState(saved);
  assert.deepEqual(other.bytes, ram.bytes);
});

test("digests stay exact with their caches: writes, checkpoint-style rewrites and state loads all show", () => {
  // machineDigest and machineDetailDigests cache per page and per region; every way RAM can change must show.
  const ram = new Ram(0x40000000, 32 << 20);
  const bus = new AddressSpace(ram);
  const m = { stateParts: [ram] } as unknown as Parameters<typeof machineDigest>[0];
  const fresh = () => {
    const copy = new Ram(0x40000000, 32 << 20);
    copy.bytes.set(ram.bytes);
    return { digest: machineDigest({ stateParts: [copy] } as never), details: [...machineDetailDigests({ stateParts: [copy] } as never)] };
  };
  const check = (what: string) => {
    const f = fresh();
    assert.equal(machineDigest(m), f.digest, what);
    assert.deepEqual([...machineDetailDigests(m)], f.details, what);
  };
  check("empty");
  bus.write32(0x40000000 + (17 << 20) + 8, 0xdeadbeef);
  check("a write in the second region");
  bus.write32(0x40000000 + (17 << 20) + 8, 0);
  check("the page back to zeros");
  ram.load(5 << 12, Uint8Array.of(1, 2, 3));
  check("a loader write");
  const saved = ram.saveState();
  bus.write64(0x40001000, 7, 7);
  check("another write");
  ram.loadState(saved);
  check("a state load");
});

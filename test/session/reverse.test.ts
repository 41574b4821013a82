// The reverse engine's contracts (DESIGN.md §2-3): step then reverse-step is bit-identical, seek(n) gives the
// forward run's state at n, reverse-continue lands on the last breakpoint/watchpoint hit before now.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readElfSymbols, Symbolizer } from "../../src/boards/elf-symbols.js";
import { recordSession, replaySession, tempDir, guestPath } from "../helpers/sessions.js";

async function recorded(guest: string): Promise<string> {
  const file = join(tempDir(), "rec.bin");
  const rec = recordSession(guest, file, { digestInterval: 1_000 });
  assert.equal((await rec.session.cont()).kind, "poweroff");
  return file;
}

const symbols = (guest: string) => new Symbolizer(readElfSymbols(readFileSync(guestPath(guest))));

test("seek(n) reproduces the forward run's digest at n, in any order, from checkpoints", async () => {
  const file = await recorded("ticks.elf");
  const forward = replaySession("ticks.elf", file);
  const points = [0, 1, 17, 999, 1000, 2500, 4000, 5300];
  const expected = new Map<number, string>();
  for (const n of points) {
    await forward.session.seek(n); // forward only: always ahead of the previous point
    expected.set(n, forward.session.digest());
  }
  const rep = replaySession("ticks.elf", file, { checkpointInterval: 700 });
  for (const n of [5300, 17, 4000, 0, 2500, 1000, 999, 1]) {
    await rep.session.seek(n);
    assert.equal(rep.session.icount(), n);
    assert.equal(rep.session.digest(), expected.get(n), `digest at ${n}`);
  }
});

test("step then reverse step is bit-identical; reverse step at 0 reports replay-begin", async () => {
  const file = await recorded("ticks.elf");
  const rep = replaySession("ticks.elf", file, { checkpointInterval: 500 });
  assert.deepEqual(await rep.session.reverseStep(), { kind: "replay-begin" });
  for (const n of [0, 3, 499, 500, 501, 2222, 5000]) {
    await rep.session.seek(n);
    const before = rep.session.digest();
    assert.equal((await rep.session.step()).kind, "step");
    assert.equal(rep.session.icount(), n + 1);
    assert.equal((await rep.session.reverseStep()).kind, "step");
    assert.equal(rep.session.icount(), n);
    assert.equal(rep.session.digest(), before, `at ${n}`);
  }
});

test("ten steps forward then ten back visit the same PCs in reverse order", async () => {
  const file = await recorded("hello.elf");
  const rep = replaySession("hello.elf", file);
  const pcs: bigint[] = [];
  for (let i = 0; i < 10; i++) {
    pcs.push(rep.machine.pc());
    await rep.session.step();
  }
  for (const pc of pcs.reverse()) {
    await rep.session.reverseStep();
    assert.equal(rep.machine.pc(), pc);
  }
  assert.equal(rep.session.icount(), 0);
});

test("reverse continue stops at each earlier breakpoint hit, newest first, then at the beginning", async () => {
  const file = await recorded("ticks.elf");
  const handler = symbols("ticks.elf").lookup("handle_irq")!.value;
  // Forward: where are the hits?
  const fwd = replaySession("ticks.elf", file);
  fwd.session.addBreakpoint("hw", handler, 4);
  const hits: number[] = [];
  for (;;) {
    const ev = await fwd.session.cont();
    if (ev.kind !== "breakpoint") break;
    assert.equal(fwd.machine.pc(), handler);
    hits.push(fwd.session.icount());
  }
  assert.equal(hits.length, 10); // ten timer interrupts
  const rep = replaySession("ticks.elf", file, { checkpointInterval: 1_000 });
  await rep.session.seek(rep.session.replayEnd!);
  rep.session.addBreakpoint("hw", handler, 4);
  for (const expected of [...hits].reverse()) {
    const ev = await rep.session.reverseCont();
    assert.deepEqual(ev, { kind: "breakpoint", type: "hw", addr: handler });
    assert.equal(rep.session.icount(), expected);
  }
  assert.deepEqual(await rep.session.reverseCont(), { kind: "replay-begin" });
  assert.equal(rep.session.icount(), 0);
});

test("a write watchpoint finds the store that corrupted buggy.elf's data, forwards and backwards", async () => {
  const file = await recorded("buggy.elf");
  const sym = symbols("buggy.elf");
  const inventory = sym.lookup("inventory")!;
  // inventory[3].id: see guests/aarch64/buggy.c (struct item { int id; ...}, 16-byte records? read its size)
  const itemSize = Number(inventory.size) / 4;
  const id3 = inventory.value + BigInt(3 * itemSize);
  const rep = replaySession("buggy.elf", file, { checkpointInterval: 1_000 });
  await rep.session.seek(rep.session.replayEnd!);
  rep.session.addWatchpoint("write", id3, 4);
  const ev = await rep.session.reverseCont();
  assert.deepEqual(ev, { kind: "watchpoint", type: "write", addr: id3 });
  // The corrupting store is in copy_name (the instruction just before the stop).
  const where = sym.describe(rep.machine.pc() - 4n);
  assert.match(where, /^copy_name\+/);
  const stopAt = rep.session.icount();
  // Forward from the beginning the same watchpoint stops *before* each store (as GDB expects on AArch64):
  // first the legitimate id, last the corrupting store, one instruction before the reverse stop.
  await rep.session.seek(0);
  const first = await rep.session.cont();
  assert.equal(first.kind, "watchpoint");
  assert.ok(rep.session.icount() < stopAt - 1);
  let last = rep.session.icount();
  for (;;) {
    const before = rep.session.digest();
    const e = await rep.session.cont();
    if (e.kind !== "watchpoint") break;
    assert.notEqual(rep.session.digest(), before); // resuming executes the store it stopped before
    last = rep.session.icount();
  }
  assert.equal(last, stopAt - 1);
  await rep.session.seek(last);
  assert.equal(sym.describe(rep.machine.pc()), where);
});

test("bad requests get clear errors and leave the replay unharmed", async () => {
  const file = await recorded("hello.elf");
  const rep = replaySession("hello.elf", file);
  await rep.session.seek(100);
  const before = rep.session.digest();
  await assert.rejects(rep.session.seek(rep.session.replayEnd! + 1), /beyond the end of the recording/);
  await assert.rejects(rep.session.seek(-1), /cannot seek/);
  assert.throws(() => rep.session.writeMemory(0x40000000n, Uint8Array.of(1)), /while replaying/);
  assert.throws(() => rep.session.writeRegister(0, new Uint8Array(8)), /while replaying/);
  assert.throws(() => rep.session.setReplayBreak(50), /in the past/);
  assert.throws(() => rep.session.readMemory(0x1000n, 4), /cannot access memory at 0x1000/);
  rep.session.addBreakpoint("sw", 0xdead0000n, 4); // never reached: continue runs to the end
  assert.equal((await rep.session.cont()).kind, "replay-end");
  await rep.session.seek(100);
  assert.equal(rep.session.digest(), before);
  // Two execution requests at once: the second is refused, the first completes.
  const first = rep.session.cont();
  await assert.rejects(rep.session.step(), /busy/);
  assert.equal((await first).kind, "replay-end");
});

test("reverse execution outside replay is refused", async () => {
  const rec = recordSession("hello.elf", join(tempDir(), "r.bin"));
  await assert.rejects(rec.session.reverseStep(), /only possible while replaying/);
  await assert.rejects(rec.session.reverseCont(), /only possible while replaying/);
  await assert.rejects(rec.session.seek(10), /only possible while replaying/);
  assert.throws(() => rec.session.setReplayBreak(10), /only in play mode/);
});

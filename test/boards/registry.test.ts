// The board registry: boards by name, configurations checked before anything is built, machines built from a
// board-neutral configuration, and the command line's -M lists following the registry.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BoardError, checkBoardConfig, createMachine, findBoard, listBoards, registerBoard, requireBoard, type Board } from "../../src/boards/registry.js";
import { asVirtMachine } from "../../src/boards/virt/board.js";
import { machineDigest } from "../../src/core/machine.js";
import { atIcount } from "../../src/core/position.js";
import { AARCH64_TARGET, parseQemuArgs } from "../../src/cli/qemu-options.js";
import { guestPath } from "../helpers/sessions.js";

const hello = () => ({ name: "hello.elf", bytes: readFileSync(guestPath("hello.elf")) });

test("virt is registered with its CPU, defaults and boot files; aliases find it", () => {
  const virt = requireBoard("virt");
  assert.equal(virt.arch, "aarch64");
  assert.deepEqual(virt.cpus, ["cortex-a53"]);
  assert.equal(virt.defaultCpu, "cortex-a53");
  assert.equal(virt.defaultRamSize, 128 << 20);
  assert.equal(findBoard("virt-7.2"), virt);
  assert.ok(listBoards("aarch64").includes(virt));
  assert.ok(virt.deviceTree!({}).length > 0);
});

test("an unknown board or a configuration the board cannot take is one line naming what is wrong", () => {
  assert.throws(() => requireBoard("pc-q35"), (e: unknown) => e instanceof BoardError && /^unknown board 'pc-q35' \(known boards: virt.*\)$/.test(e.message));
  assert.throws(() => requireBoard("virt", "x86_64"), /unknown board 'virt'/);
  const virt = requireBoard("virt");
  assert.deepEqual(checkBoardConfig(virt, {}), ["no kernel given: the virt board needs a guest to run (try guests/aarch64/hello.elf)"]);
  assert.deepEqual(checkBoardConfig(virt, { cpu: "cortex-a72", kernel: 1, bios: 1 }), [
    "the virt board has no CPU model 'cortex-a72' (it has: cortex-a53)",
    "the virt board takes no bios",
  ]);
  assert.throws(() => createMachine("virt", { icountShift: 7, rtcBootSeconds: 0 }), BoardError);
});

test("createMachine builds the same machine as before: hello.elf runs to power-off with its serial output", () => {
  const out: number[] = [];
  const m = createMachine("virt", { icountShift: 7, rtcBootSeconds: 0, kernel: hello(), serial: [(b) => out.push(b)] });
  assert.equal(m.ram.length, 1);
  assert.equal(m.ram[0].name, "ram");
  assert.equal(m.ram[0].size, 128 << 20);
  assert.equal(m.run(atIcount(Number.MAX_SAFE_INTEGER)), "poweroff");
  assert.match(Buffer.from(out).toString("latin1"), /Hello/i);
  // The typed accessor gives the AArch64 specifics; the same config gives the same machine.
  assert.equal(asVirtMachine(m).cpu.el, 1);
  const again = createMachine("virt-7.2", { icountShift: 7, rtcBootSeconds: 0, kernel: hello() });
  again.run(atIcount(m.clock.icount));
  assert.equal(machineDigest(again), machineDigest(m));
});

test("a registered board shows up for its architecture (and only there)", () => {
  const made: unknown[] = [];
  const fake: Board = {
    name: "fakepc",
    aliases: ["fakepc-7.2"],
    description: "a test board",
    arch: "x86_64",
    cpus: ["qemu64"],
    defaultCpu: "qemu64",
    defaultRamSize: 64 << 20,
    maxRamSize: 4 << 30,
    bootFiles: { bios: {}, kernel: {} },
    create: (c) => {
      made.push(c);
      throw new BoardError("not built in tests");
    },
  };
  registerBoard(fake);
  assert.throws(() => registerBoard(fake), /already registered/);
  assert.deepEqual(listBoards("x86_64").map((b) => b.name), ["pc", "fakepc"]);
  assert.ok(!listBoards("aarch64").includes(fake));
  assert.deepEqual(checkBoardConfig(fake, { bios: 1 }), []);
  assert.throws(() => createMachine("fakepc-7.2", { icountShift: 0, rtcBootSeconds: 0 }), /not built in tests/);
  assert.equal(made.length, 1);
  // The aarch64 command line still offers only the aarch64 boards.
  assert.deepEqual(AARCH64_TARGET.machines.map((m) => m.name), ["virt"]);
  const r = parseQemuArgs(["-M", "help"]);
  assert.equal(r.kind, "info");
  assert.doesNotMatch((r as { text: string }).text, /fakepc/);
});

test("-M help, -cpu help and the defaults come from the registry", () => {
  const help = parseQemuArgs(["-M", "help"]);
  assert.equal(help.kind, "info");
  for (const b of listBoards("aarch64")) assert.match((help as { text: string }).text, new RegExp(`^${b.name} +${b.description}`, "m"));
  assert.deepEqual(AARCH64_TARGET.cpus, ["cortex-a53"]);
  assert.equal(AARCH64_TARGET.defaultCpu, "cortex-a53");
  assert.equal(AARCH64_TARGET.defaultRamMiB, 128);
  assert.throws(() => parseQemuArgs(["-M", "pc"]), /unsupported machine type 'pc' \(supported: virt; '-machine help' lists them\)/);
});

// RAM beyond 4 GiB (one typed array holds at most 4 GiB: the virt board lays RAM out as 2 GiB regions) and
// boot files that cannot be loaded: a device that never ends, a directory, a file larger than the RAM.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { machineDetailDigests, machineDigest } from "../../src/core/machine.js";
import { CheckpointStore } from "../../src/replay/checkpoints.js";
import { asm } from "../aarch64/ldst-asm.js";
import { guestPath, ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const CLI = join(ROOT, "bin/rewind-system-aarch64.js");
const GiB = 2 ** 30;

function virt(ramSize: number): VirtMachine {
  const k = guestPath("hello.elf");
  return new VirtMachine({ ramSize, icountShift: 7, kernel: { name: k, bytes: readFileSync(k) }, rtcBootSeconds: 0, serialOut: () => {}, log: () => {} });
}

test("-m 5G: code in the last gigabyte stores and loads beyond 4 GiB, and checkpoints and digests cover it", () => {
  const m = virt(5 * GiB);
  assert.deepEqual(m.ram.map((r) => [r.name, r.base.toString(16), r.size / GiB]), [
    ["ram", "40000000", 2],
    ["ram1", "c0000000", 2],
    ["ram2", "140000000", 1],
  ]);
  // movz/movk build the address 0x1_6000_0000 (in ram2) in x2; str, ldr, then an endless b . loop.
  const code = 0x1_7000_0000;
  const words = [0xd2ac0002, 0xf2c00022, asm("str x1, [x2]"), asm("ldr x3, [x2, #0]"), 0x14000000];
  words.forEach((w, i) => m.bus.write32(code + 4 * i, w >>> 0));
  m.cpu.pcLo = code >>> 0;
  m.cpu.pcHi = 1;
  m.cpu.xlo[1] = 0x11223344;
  m.cpu.xhi[1] = 0x55667788;
  const store = new CheckpointStore(m.ram, m.nonRamParts, 1 << 30);
  const cp = store.capture(m.clock.icount, m.clock.ticks, 0);
  const before = machineDigest(m);
  m.run({ icount: 5, ticks: 0 });
  assert.equal(m.cpu.xlo[3] >>> 0, 0x11223344);
  assert.equal(m.cpu.xhi[3] >>> 0, 0x55667788);
  assert.equal(m.bus.read32(0x1_6000_0000) >>> 0, 0x11223344);
  const details = machineDetailDigests(m);
  assert.ok(details.has("ram2@0x160000000"), [...details.keys()].filter((k) => k.startsWith("ram2")).slice(0, 3).join(" "));
  store.restore(cp);
  assert.equal(m.bus.read32(0x1_6000_0000), 0);
  assert.equal(machineDigest(m), before);
});

test("-m 4097M and 8G boot hello.elf with the same console output as QEMU", { skip: missingTool("qemu-system-aarch64") }, () => {
  for (const size of ["4097M", "8G"]) {
    const args = ["-M", "virt", "-cpu", "cortex-a53", "-m", size, "-display", "none", "-serial", "stdio", "-net", "none", "-kernel", guestPath("hello.elf")];
    const q = spawnSync("qemu-system-aarch64", args, { encoding: "latin1", timeout: 60_000 });
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "latin1", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, size === "8G" ? /memory: 8192 MiB at 0x40000000/ : /memory: 4097 MiB/);
    assert.equal(r.stdout, q.stdout);
  }
});

test("boot files that cannot be loaded and RAM the board does not take are refused in one line", () => {
  const dir = tempDir();
  const big = join(dir, "big.bin");
  writeFileSync(big, "");
  truncateSync(big, 200 << 20); // sparse
  const cases: [string[], RegExp][] = [
    [["-kernel", "/dev/zero"], /^rewind-system-aarch64: cannot load kernel '\/dev\/zero': not a regular file\n$/],
    [["-kernel", dir], /^rewind-system-aarch64: cannot open kernel '.*': Is a directory\n$/],
    [["-m", "128M", "-kernel", big], /^rewind-system-aarch64: cannot load kernel '.*big\.bin': it is 209715200 bytes, more than the guest's 128 MiB of RAM\n$/],
    [["-kernel", guestPath("hello.elf"), "-initrd", "/dev/zero"], /^rewind-system-aarch64: cannot load initrd '\/dev\/zero': not a regular file\n$/],
    [["-m", "65G", "-kernel", guestPath("hello.elf")], /^rewind-system-aarch64: -m 66560M: the virt board takes at most 64 GiB of RAM\n$/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [CLI, "-M", "virt", "-display", "none", ...args], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

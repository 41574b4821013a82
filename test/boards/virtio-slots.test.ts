// The virt board's 32 virtio-mmio transports as QEMU 7.2 lays them out: 0x200 bytes each from 0x0a000000,
// SPI 16 + n, every slot in the device tree; -device virtio-blk-device fills slots from the top (0x0a003e00 first).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FdtTree } from "../../src/core/fdt.js";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { virtBoard } from "../../src/boards/virt/board.js";
import { saveMachine, loadMachine } from "../../src/core/machine.js";
import { guestPath, tempDir } from "../helpers/sessions.js";

const disk = (fill: number) => {
  const bytes = new Uint8Array(8 * 512).fill(fill);
  return { size: bytes.length, read: (o: number, n: number) => bytes.slice(o, o + n) };
};

function machine() {
  const path = guestPath("hello.elf");
  return new VirtMachine({
    ramSize: 128 << 20, icountShift: 7, kernel: { name: path, bytes: readFileSync(path) }, rtcBootSeconds: 0,
    serialOut: () => {}, log: () => {},
    virtioBlk: [{ id: "a", readOnly: false, backing: disk(1) }, { id: "b", readOnly: true, backing: disk(2) }],
  });
}

test("the first -device takes the top slot; empty slots read DeviceID 0; each slot has its SPI", () => {
  const m = machine();
  const id = (slot: number) => m.bus.read32(0x0a00_0000 + 0x200 * slot + 0x08);
  assert.equal(m.bus.read32(0x0a00_0000), 0x74726976);
  assert.equal(id(31), 2);
  assert.equal(id(30), 2);
  assert.equal(id(29), 0);
  assert.equal(id(0), 0);
  assert.equal(m.disks[0]!.transport.stateName, "virtio-mmio@a003e00");
  assert.equal(m.disks[1]!.transport.stateName, "virtio-mmio@a003c00");
  // Device features word 0: RO (bit 5) only on the read-only drive.
  assert.equal(m.bus.read32(0x0a00_3e10) & 0x20, 0);
  assert.equal(m.bus.read32(0x0a00_3c10) & 0x20, 0x20);
  // Capacity in the config space.
  assert.equal(m.bus.read32(0x0a00_3e00 + 0x100), 8);
  // The disks' transports are saved state (and load back).
  const saved = saveMachine(m);
  loadMachine(machine(), saved);
});

test("the device tree lists all 32 transports as QEMU 7.2's does", { skip: spawnSync("sh", ["-c", "command -v qemu-system-aarch64"]).status !== 0 && "needs qemu-system-aarch64" }, () => {
  const ours = FdtTree.fromDtb(virtBoard.deviceTree!({ ramSize: 128 << 20 }));
  const file = join(tempDir(), "q.dtb");
  const r = spawnSync("qemu-system-aarch64", ["-M", `virt,dumpdtb=${file}`, "-cpu", "cortex-a53", "-m", "128M", "-display", "none"]);
  assert.equal(r.status, 0, String(r.stderr));
  const qemu = FdtTree.fromDtb(readFileSync(file));
  const virtio = (t: FdtTree) => t.root.children.filter((c) => c.name.startsWith("virtio_mmio@")).map((c) => ({
    name: c.name, props: c.props.map((p) => [p.name, Buffer.from(p.value).toString("hex")]),
  }));
  assert.equal(virtio(ours).length, 32);
  assert.deepEqual(virtio(ours), virtio(qemu));
});

test("image drives: opened read-only, committed at the end of a live run, reopened after a snapshot load", () => {
  const file = join(tempDir(), "d.img");
  writeFileSync(file, new Uint8Array(16 * 512).fill(7));
  const path = guestPath("hello.elf");
  const m = new VirtMachine({
    ramSize: 128 << 20, icountShift: 7, kernel: { name: path, bytes: readFileSync(path) }, rtcBootSeconds: 0,
    serialOut: () => {}, log: () => {}, virtioBlk: [{ id: "d0", file, format: "raw", readOnly: false }],
  });
  const blk = m.disks[0]!.blk;
  assert.equal(m.disks[0]!.image!.readOnly, true);
  blk.writeSectors(3, new Uint8Array(512).fill(9));
  assert.deepEqual(m.uncommittedSectors(), { d0: 1 });
  assert.equal(readFileSync(file)[3 * 512], 7, "nothing reaches the file while the machine runs");
  assert.deepEqual(m.commitDisks(["other"]), {});
  assert.deepEqual(m.commitDisks(["d0"]), { d0: 1 });
  assert.equal(readFileSync(file)[3 * 512], 9);
  assert.deepEqual(m.uncommittedSectors(), {});
  // Something else changes the image (a snapshot load reverting it): the board reads it afresh.
  writeFileSync(file, new Uint8Array(16 * 512).fill(4));
  m.reopenDisks();
  assert.equal(blk.readSectors(3, 1)[0], 4);
  m.closeDisks();
});

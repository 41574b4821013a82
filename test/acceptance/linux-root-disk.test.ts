// Linux with its root file system on a disk, as a user runs it: the guest scripts/build-linux-guest.sh builds
// (its initramfs loads the virtio and ext4 modules and switch_roots into root=), root.qcow2 on virtio-blk:
//   -drive file=root.qcow2,if=none,id=d0 -device virtio-blk-device,drive=d0 -initrd initramfs.cpio.gz
//   -append "root=/dev/vda console=ttyAMA0"
// Commands typed on the console write a file on /, `sync`, `poweroff -f`. The same session runs against
// qemu-system-aarch64 and Rewind; the oracles are qemu-img check (the qcow2 image is clean) and e2fsprogs'
// debugfs (the file reached the image: under Rewind, a live run writes its overlay into the image at the end).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const KERNEL = join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const QCOW2 = join(ROOT, ".cache/linux/root.qcow2");
const skip = !(existsSync(KERNEL) && existsSync(INITRD) && existsSync(QCOW2))
  ? "needs the Linux guest: run scripts/build-linux-guest.sh"
  : missingTool("qemu-img") || missingTool("debugfs");
const machine = (img: string) => [
  "-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-net", "none", "-kernel", KERNEL, "-initrd", INITRD,
  "-drive", `file=${img},if=none,id=d0`, "-device", "virtio-blk-device,drive=d0", "-append", "root=/dev/vda console=ttyAMA0 quiet panic=-1",
];
const PROMPT = "/ # ";
const COMMANDS = ["mount | grep ' / '", "echo written-on-$((6*7)) > /hello.txt", "cat /hello.txt", "sync"];

/** Boots `argv`, types each command after the previous prompt, ends with poweroff -f. */
async function shellSession(argv: string[], commands: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let prompts = 0;
  let sent = 0;
  const script = [...commands, "poweroff -f"];
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString("latin1");
    const seen = output.split(PROMPT).length - 1;
    while (prompts < seen) {
      prompts++;
      if (sent < script.length) child.stdin.write(script[sent++] + "\n");
    }
    if (/Kernel panic/.test(output)) setTimeout(() => child.kill("SIGKILL"), 500);
  });
  child.stderr.on("data", (d: Buffer) => (output += d.toString("latin1")));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const status = await new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  clearTimeout(timer);
  return { status, output };
}

async function rootOnDisk(system: string[], timeoutMs: number): Promise<void> {
  const dir = tempDir("rewind-linux-root-");
  const img = join(dir, "root.qcow2");
  copyFileSync(QCOW2, img);
  const run = await shellSession([...system, ...machine(img)], COMMANDS, timeoutMs);
  const tail = run.output.slice(-3000);
  assert.match(run.output, /root \/dev\/vda\./, tail);
  assert.match(run.output, /\/dev\/vda on \/ type ext4 \(rw/, tail);
  assert.match(run.output, /\nwritten-on-42\r?\n/, tail);
  assert.match(run.output, /reboot: Power down/, tail);
  assert.equal(run.status, 0, tail);
  const check = spawnSync("qemu-img", ["check", img], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /No errors were found/);
  const raw = join(dir, "root.raw");
  assert.equal(spawnSync("qemu-img", ["convert", "-O", "raw", img, raw]).status, 0);
  assert.equal(spawnSync("debugfs", ["-R", "cat /hello.txt", raw], { encoding: "latin1" }).stdout, "written-on-42\n");
}

test("QEMU boots the Linux guest with its root on virtio-blk; a file written on / reaches the qcow2 image", { skip: skip || missingTool("qemu-system-aarch64"), timeout: 180_000 }, async () => {
  await rootOnDisk(["qemu-system-aarch64"], 150_000);
});

test("Rewind boots the Linux guest with its root on virtio-blk; a file written on / reaches the qcow2 image", { skip, timeout: 600_000 }, async () => {
  await rootOnDisk([process.execPath, join(ROOT, "bin/rewind-system-aarch64.js")], 540_000);
});

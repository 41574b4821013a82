// Debian's arm64 kernel on an ext4 disk behind virtio-mmio/virtio-blk, QEMU's command line:
//   -drive file=IMG,if=none,id=d0 -device virtio-blk-device,drive=d0 -append "root=/dev/vda console=ttyAMA0"
// Debian builds virtio_mmio, virtio_blk and ext4 as modules, so (on QEMU as on Rewind) root=/dev/vda alone ends in
// "VFS: Unable to mount root fs"; the busybox initramfs from scripts/build-linux-guest.sh loads them. This test
// boots it to its shell (no root=: the disk here is a bare ext4 image, not a root file system; linux-root-disk
// boots one) and types: mount /dev/vda, run the disk's run.sh (prints a file from the disk, writes another),
// unmount it, poweroff -f. Every step prints an "init:" line on the console.
//
// Oracles not written here: QEMU 7.2 on the same command line (its console lines), e2fsprogs (mke2fs builds the
// image, e2fsck and debugfs read what the guest wrote), qemu-img check on the qcow2 image Rewind wrote; and for
// record/replay the recording's own final digest, with a seek back before the guest's writes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseQemuArgs } from "../../src/cli/qemu-options.js";
import { prepareMachine } from "../../src/cli/machine-setup.js";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { ROOT, tempDir } from "../helpers/sessions.js";

const KERNEL = process.env.REWIND_LINUX_KERNEL ?? join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const BIN = join(ROOT, "bin/rewind-system-aarch64.js");
const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const skip = !existsSync(KERNEL)
  ? "needs the Debian arm64 kernel: run scripts/fetch-debian-kernel.sh"
  : !existsSync(INITRD)
  ? "needs the initramfs: run scripts/build-linux-guest.sh"
  : !has("mke2fs") || !has("debugfs") || !has("qemu-img")
  ? "needs e2fsprogs and qemu-img"
  : false;

const APPEND = "console=ttyAMA0 panic=-1";
const common = (img: string, format: string) => [
  "-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-no-reboot", "-kernel", KERNEL, "-initrd", INITRD,
  "-drive", `file=${img},if=none,id=d0,format=${format}`, "-device", "virtio-blk-device,drive=d0", "-append", APPEND,
];
const EXPECTED = [
  "init: mounted /dev/vda",
  "init: hello.txt: hello from the disk",
  "init: log.txt: written by the guest",
  // What the guest negotiated (the low 32 bits; VERSION_1 is bit 32 on a modern transport) and the block layer's limits from the config space: seg_max, geometry, blk_size,
  // flush, topology, config-wce, discard, write-zeroes, indirect descriptors, event index (QEMU 7.2's values).
  "init: features 00101010011101100000000000001100",
  "init: discard 2147483136 512 1 zeroes 2147483136",
  // HDIO_GETGEO: QEMU's geometry guess for a disk without a partition table (16 heads, 63 sectors, size / 1008).
  "init: 32 cylinders, 16 heads, 63 sectors/track",
  // A discard of the file system's free space (QEMU's default discard=ignore keeps the data).
  "init: /newroot: 14394368 bytes trimmed",
  "init: unmounted",
];
const initLines = (out: string) => out.split(/\r?\n/).filter((l) => l.startsWith("init:"));
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

function makeImage(dir: string): string {
  const content = join(dir, "content");
  mkdirSync(content);
  writeFileSync(join(content, "hello.txt"), "hello from the disk\n");
  writeFileSync(join(content, "run.sh"), RUN_SH);
  const img = join(dir, "root.img");
  const r = spawnSync("mke2fs", ["-q", "-t", "ext4", "-d", content, img, "16M"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return img;
}

function debugfsCat(img: string, path: string): string {
  return spawnSync("debugfs", ["-R", `cat ${path}`, img], { encoding: "latin1" }).stdout;
}

const PROMPT = "/ # ";
/** What the console gets typed, each line after a prompt (short lines: the shell's echo does not wrap them). */
const TYPED = ["mount -w -t ext4 /dev/vda /newroot && sh /newroot/run.sh", "umount /newroot && echo init: unmounted", "poweroff -f"];
const RUN_SH = [
  'echo "init: mounted /dev/vda"',
  'echo "init: hello.txt: $(cat /newroot/hello.txt)"',
  'echo "written by the guest" > /newroot/log.txt',
  'echo "init: log.txt: $(cat /newroot/log.txt)"',
  'echo "init: features $(cut -c1-32 /sys/block/vda/device/features)"',
  'q=/sys/block/vda/queue; echo "init: discard $(cat $q/discard_max_bytes) $(cat $q/discard_granularity) $(cat $q/max_discard_segments) zeroes $(cat $q/write_zeroes_max_bytes)"',
  'fdisk -l /dev/vda | grep heads | sed "s/^/init: /"',
  'fstrim -v /newroot | sed "s/^/init: /"',
  "",
].join("\n");

/** Boots, types TYPED line by line after each prompt; stdout and stderr apart. */
async function run(bin: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; out: string }> {
  const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let prompts = 0;
  let sent = 0;
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString("latin1");
    const seen = stdout.split(PROMPT).length - 1;
    while (prompts < seen) {
      prompts++;
      if (sent < TYPED.length) child.stdin.write(TYPED[sent++] + "\n");
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("latin1")));
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const status = await new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  clearTimeout(timer);
  return { status, stdout, stderr, out: stdout + stderr };
}

test("Linux mounts, reads and writes an ext4 disk on virtio-blk, as under QEMU 7.2; qcow2 stays clean", { skip, timeout: 600_000 }, async () => {
  const dir = tempDir("rewind-virtio-");
  const img = makeImage(dir);

  if (has("qemu-system-aarch64")) {
    const q = join(dir, "qemu.img");
    copyFileSync(img, q);
    const r = await run("qemu-system-aarch64", common(q, "raw"));
    assert.deepEqual(initLines(r.out), EXPECTED, r.out);
    assert.match(r.out, /EXT4-fs \(vda\): mounted filesystem/);
  }

  // Rewind, live, on a qcow2 copy: the guest's writes reach the image when the run ends, through the block layer.
  // This run uses virtio-mmio version 2; the others QEMU's default legacy layout.
  const qcow = join(dir, "root.qcow2");
  assert.equal(spawnSync("qemu-img", ["convert", "-O", "qcow2", img, qcow]).status, 0);
  const r = await run(process.execPath, [BIN, ...common(qcow, "qcow2"), "-global", "virtio-mmio.force-legacy=off"]);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(initLines(r.out), EXPECTED, r.out);
  assert.match(r.out, /virtio_blk virtio0: \[vda\] 32768 512-byte logical blocks/);
  assert.match(r.out, /EXT4-fs \(vda\): mounted filesystem with ordered data mode/);
  const check = spawnSync("qemu-img", ["check", qcow], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /No errors were found/);
  const back = join(dir, "back.img");
  assert.equal(spawnSync("qemu-img", ["convert", "-O", "raw", qcow, back]).status, 0);
  assert.equal(debugfsCat(back, "/log.txt"), "written by the guest\n");
  const fsck = spawnSync("e2fsck", ["-fn", back], { encoding: "utf8" });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);

  // A read-only drive: the guest sees it read-only and ext4 refuses the read-write mount.
  const ro = await run(process.execPath, [BIN, ...common(img, "raw").map((a) => (a.startsWith("file=") ? `${a},readonly=on` : a))]);
  assert.match(ro.out, /mount: mounting \/dev\/vda on \/newroot failed/);
  assert.doesNotMatch(ro.out, /init: mounted/);
});

test("the virtio-blk boot records and replays to the same console and final digest; seeking back restores the disk", { skip, timeout: 900_000 }, async () => {
  const dir = tempDir("rewind-virtio-rr-");
  const img = makeImage(dir);
  const before = sha(img);
  const rrfile = join(dir, "boot.rwr");
  const args = [...common(img, "raw"), "-icount", "shift=7,rr=record,rrfile=" + rrfile];
  const rec = await run(process.execPath, [BIN, ...args]);
  assert.equal(rec.status, 0, rec.out);
  assert.deepEqual(initLines(rec.out), EXPECTED, rec.out);
  assert.equal(sha(img), before, "recording leaves the image as it was");
  assert.match(rec.stderr, /drive 'd0': the guest's writes \(\d+ sectors\) stay out of/);

  // Replay through the CLI's own setup, with the session API to seek.
  const outcome = parseQemuArgs(args.map((a) => a.replace("rr=record", "rr=replay")));
  assert.equal(outcome.kind, "run");
  if (outcome.kind !== "run") return;
  const console: number[] = [];
  const p = prepareMachine(outcome.options, { serialOut: (b) => console.push(b), log: () => {} });
  try {
    const m = p.machine as VirtMachine;
    const end = p.replay!.endIcount;
    assert.equal(await p.session.runTo(end), undefined);
    assert.equal(p.session.digest(), p.replay!.finalDigest);
    const text = Buffer.from(console).toString("latin1");
    assert.equal(text, rec.stdout, "same console");
    assert.deepEqual(initLines(text), EXPECTED);
    const blk = m.disks[0]!.blk;
    const written = blk.dirtySectors;
    assert.ok(written > 0, "the guest wrote sectors");
    const superblock = blk.readSectors(2, 2);
    // Back before the kernel ran /init: no sector written yet, the disk reads as the image.
    await p.session.seek(800_000_000);
    assert.equal(blk.dirtySectors, 0);
    assert.deepEqual(blk.readSectors(2, 2), new Uint8Array(readFileSync(img).subarray(1024, 2048)));
    await p.session.seek(end);
    assert.equal(blk.dirtySectors, written);
    assert.deepEqual(blk.readSectors(2, 2), superblock);
    assert.equal(p.session.digest(), p.replay!.finalDigest);
  } finally {
    p.close();
  }
  assert.equal(sha(img), before, "replay leaves the image as it was");
});

// Backing files as qemu-img does them: overlays read unallocated clusters from their backing image (qcow2 or
// raw, recursively), write (with copy-on-write of partial clusters) only to themselves, never modify the
// backing image, and interoperate with qemu-img/qemu-io in both directions.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { missingTool } from "../helpers/tools.js";
import { createImage, openImage, Qcow2Image, ImageError } from "../../src/block/index.js";
import { tmpDir, qemuImg, qemuImgOk, run, rewindImg, sameBytes } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const needQemu = { skip: missingTool("qemu-img", "qemu-io") };

const filled = (count: number, fill: number) => new Uint8Array(count).fill(fill);
const digest = (p: string) => createHash("sha256").update(fs.readFileSync(p)).digest("hex");

function qemuIo(file: string, ...cmds: string[]): string {
  const r = run("qemu-io", [...cmds.flatMap((c) => ["-c", c]), file]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /fail|error/i, cmds.join("; "));
  return r.stdout;
}

function assertQemuCheckClean(p: string): void {
  const r = qemuImg("check", p);
  assert.equal(r.status, 0, `qemu-img check ${p}:\n${r.stdout}${r.stderr}`);
}

/** base.qcow2 (1 MiB of 0xaa at 0, 64 KiB of 0xbb at 10 MiB), 64 MiB. */
function makeBase(dir: string): string {
  const base = path.join(dir, "base.qcow2");
  qemuImgOk("create", "-q", "-f", "qcow2", base, "64M");
  qemuIo(base, "write -P 0xaa 0 1M", "write -P 0xbb 10M 64k");
  return base;
}

test("Rewind reads and writes an overlay qemu-img created; the backing image is never modified", needQemu, () => {
  const dir = tmpDir();
  const base = makeBase(dir);
  const ov = path.join(dir, "ov.qcow2");
  qemuImgOk("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", ov);
  const before = digest(base);
  const img = openImage(ov, { sync: false }) as Qcow2Image;
  assert.equal(img.size, 64 * MiB);
  assert.equal(img.backing?.readOnly, true);
  // Unallocated clusters fall through to the backing image.
  assert.ok(sameBytes(img.read(0, MiB), filled(MiB, 0xaa)));
  assert.ok(sameBytes(img.read(10 * MiB - 1, 2), Uint8Array.of(0, 0xbb)));
  assert.ok(sameBytes(img.read(20 * MiB, 4096), filled(4096, 0)));
  // A partial-cluster write copies the rest of the cluster from the backing image.
  img.write(1000, filled(100, 0xcc));
  img.write(10 * MiB + 65536 - 10, filled(20, 0xdd)); // spans the end of the 0xbb cluster
  img.write(30 * MiB, filled(512, 0xee)); // a cluster the backing image does not have
  const expect = filled(MiB, 0xaa);
  expect.fill(0xcc, 1000, 1100);
  assert.ok(sameBytes(img.read(0, MiB), expect));
  img.close();
  assert.equal(digest(base), before, "the backing image is unchanged");

  assertQemuCheckClean(ov);
  qemuIo(ov, "read -P 0xaa 0 1000", "read -P 0xcc 1000 100", "read -P 0xaa 1100 1047476",
    `read -P 0xbb ${10 * MiB} ${65536 - 10}`, `read -P 0xdd ${10 * MiB + 65536 - 10} 20`,
    `read -P 0 ${10 * MiB + 65536 + 10} 1000`, `read -P 0xee ${30 * MiB} 512`);
  // Only the written clusters are in the overlay.
  const map = JSON.parse(qemuImgOk("map", "--output=json", ov)) as
    { start: number; length: number; depth: number; data: boolean }[];
  const inOverlay = map.filter((m) => m.depth === 0 && m.data);
  assert.deepEqual(inOverlay.map((m) => [m.start, m.length]),
    [[0, 65536], [10 * MiB, 2 * 65536], [30 * MiB, 65536]]);
});

test("chains of any depth, raw at the bottom, and overlays larger than their backing image", needQemu, () => {
  const dir = tmpDir();
  const raw = path.join(dir, "disk.raw");
  fs.writeFileSync(raw, filled(3 * MiB, 0x11));
  qemuImgOk("create", "-q", "-f", "qcow2", "-b", "disk.raw", "-F", "raw", path.join(dir, "mid.qcow2"));
  qemuIo(path.join(dir, "mid.qcow2"), "write -P 0x22 1M 64k");
  // Rewind creates the top with a larger size; the part past the chain reads as zeros.
  const top = path.join(dir, "top.qcow2");
  const r = rewindImg("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top, "8M");
  assert.equal(r.status, 0, r.stderr);
  const img = openImage(top, { sync: false });
  assert.equal(img.size, 8 * MiB);
  assert.ok(sameBytes(img.read(MiB - 1, 2), Uint8Array.of(0x11, 0x22)));
  assert.ok(sameBytes(img.read(3 * MiB - 1, 2), Uint8Array.of(0x11, 0)));
  img.write(3 * MiB - 256, filled(512, 0x33)); // copy-on-write across the end of the backing data
  img.close();
  assertQemuCheckClean(top);
  qemuIo(top, `read -P 0x11 0 ${MiB}`, `read -P 0x22 ${MiB} 65536`, `read -P 0x11 ${3 * MiB - 65536} 65280`,
    `read -P 0x33 ${3 * MiB - 256} 512`, `read -P 0 ${3 * MiB + 256} ${5 * MiB - 256}`);
  const chain = qemuImgOk("info", "--backing-chain", top);
  assert.equal(chain.match(/^image: /gm)?.length, 3);
  assert.equal(fs.statSync(raw).size, 3 * MiB);
});

test("rewind-img create -b: qemu-img's bytes, info output and defaults", needQemu, () => {
  const dir = tmpDir();
  const base = makeBase(dir);
  for (const opts of [[], ["-o", "cluster_size=4096"], ["-o", "compat=0.10,cluster_size=512"]]) {
    const ours = path.join(dir, "ours.qcow2");
    const theirs = path.join(dir, "theirs.qcow2");
    const r = rewindImg("create", "-f", "qcow2", ...opts, "-b", "base.qcow2", "-F", "qcow2", ours);
    const q = qemuImg("create", "-f", "qcow2", ...opts, "-b", "base.qcow2", "-F", "qcow2", theirs);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.replace("ours", "theirs"), q.stdout);
    assert.ok(sameBytes(fs.readFileSync(ours), fs.readFileSync(theirs)), `same bytes with ${opts.join(" ")}`);
    // info from the image's directory and from elsewhere ("actual path"), human and JSON.
    for (const name of [ours, path.relative(process.cwd(), ours)]) {
      assert.equal(rewindImg("info", name).stdout, qemuImgOk("info", name));
      assert.equal(rewindImg("info", "--output=json", name).stdout, qemuImgOk("info", "--output=json", name));
    }
    assert.match(rewindImg("info", ours).stdout, /^backing file: base\.qcow2 \(actual path: .*base\.qcow2\)\nbacking file format: qcow2\n/m);
    assertQemuCheckClean(ours);
    const img = Qcow2Image.open(ours, { readOnly: true });
    const c = img.check();
    img.close();
    assert.equal(c.corruptions + c.leaks + c.checkErrors, 0);
  }
  // An absolute backing name, and a raw backing image.
  const abs = path.join(dir, "abs.qcow2");
  assert.equal(rewindImg("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", abs).status, 0);
  assert.equal(rewindImg("info", abs).stdout, qemuImgOk("info", abs));
  fs.writeFileSync(path.join(dir, "r.img"), filled(4096, 1));
  const ovr = path.join(dir, "ovr.qcow2");
  assert.equal(rewindImg("create", "-q", "-f", "qcow2", "-b", "r.img", "-F", "raw", ovr).status, 0);
  assert.equal(rewindImg("info", "--output=json", ovr).stdout, qemuImgOk("info", "--output=json", ovr));
  assert.match(rewindImg("info", ovr).stdout, /virtual size: 4 KiB \(4096 bytes\)\n.*\n.*\nbacking file: r\.img \(actual path: .*\)\nbacking file format: raw\n/);
});

test("rewind-img create -b refuses what qemu-img refuses", () => {
  const dir = tmpDir();
  const base = path.join(dir, "base.qcow2");
  createImage(base, { format: "qcow2", size: MiB });
  const ov = path.join(dir, "ov.qcow2");
  let r = rewindImg("create", "-f", "qcow2", "-b", "base.qcow2", ov);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Backing file specified without backing format\nrewind-img: Detected format of qcow2\./);
  r = rewindImg("create", "-f", "qcow2", "-b", "nope.qcow2", "-F", "qcow2", ov);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `rewind-img: ${ov}: Could not open backing image: Could not open '${path.join(dir, "nope.qcow2")}': No such file or directory\n`);
  r = rewindImg("create", "-f", "raw", "-b", "base.qcow2", "-F", "qcow2", path.join(dir, "x.raw"), "1M");
  assert.match(r.stderr, /Backing file not supported for file format 'raw'/);
});

test("a missing backing file is a one-line error naming it; info still works", () => {
  const dir = tmpDir();
  const base = path.join(dir, "base.qcow2");
  createImage(base, { format: "qcow2", size: MiB });
  const ov = path.join(dir, "ov.qcow2");
  createImage(ov, { format: "qcow2", backingFile: "base.qcow2", backingFormat: "qcow2" });
  fs.rmSync(base);
  assert.throws(() => openImage(ov), (e: unknown) => e instanceof ImageError &&
    e.message === `Could not open '${ov}': Could not open backing file: Could not open '${base}': No such file or directory`);
  const info = rewindImg("info", ov);
  assert.equal(info.status, 0);
  assert.match(info.stdout, /backing file: base\.qcow2/);
  // A chain that loops back on itself is refused, not followed forever.
  const loop = path.join(dir, "loop.qcow2");
  createImage(loop, { format: "qcow2", size: MiB });
  createImage(loop, { format: "qcow2", backingFile: "loop.qcow2", backingFormat: "qcow2" });
  assert.throws(() => openImage(loop), /backing chain is longer than 64 images/);
});

test("snapshots in an overlay: taken, loaded and read through the backing image", needQemu, () => {
  const dir = tmpDir();
  makeBase(dir);
  const ov = path.join(dir, "ov.qcow2");
  createImage(ov, { format: "qcow2", backingFile: "base.qcow2", backingFormat: "qcow2" });
  const img = Qcow2Image.open(ov, { sync: false });
  img.createSnapshot("s1", { vmState: filled(5000, 7) });
  img.write(0, filled(512, 0x55));
  assert.equal(img.read(512, 1)[0], 0xaa);
  img.loadSnapshot("s1");
  assert.ok(sameBytes(img.read(0, 1024), filled(1024, 0xaa)));
  assert.ok(sameBytes(img.readVmState("s1"), filled(5000, 7)));
  img.close();
  assertQemuCheckClean(ov);
  qemuIo(ov, "read -P 0xaa 0 1M");
});

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
test("rr=record with an overlay drive: rrsnapshot goes into the overlay, replay works",
  { skip: missingTool("qemu-img", "qemu-io") }, () => {
    const dir = tmpDir();
    const base = makeBase(dir);
    const ov = path.join(dir, "ov.qcow2");
    assert.equal(rewindImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", ov).status, 0);
    const before = digest(base);
    const bin = path.join(ROOT, "bin/rewind-system-aarch64.js");
    const args = ["-display", "none", "-serial", "null", "-kernel", path.join(ROOT, "guests/aarch64/hello.elf"),
      "-drive", `file=${ov},if=none`];
    const rr = path.join(dir, "rr.bin");
    for (const mode of ["record", "replay"]) {
      const r = spawnSync(process.execPath, [bin, ...args, "-icount", `shift=7,rr=${mode},rrfile=${rr},rrsnapshot=init`],
        { encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
    }
    assert.equal(digest(base), before);
    assert.match(qemuImgOk("snapshot", "-l", ov), /\binit\b/);
    assertQemuCheckClean(ov);
    qemuIo(ov, "read -P 0xaa 0 1M");
  });

test("rewind-img check on an overlay agrees with qemu-img check", { skip: missingTool("qemu-img", "qemu-io") }, () => {
  const dir = tmpDir("rewind-backing-check-");
  const base = path.join(dir, "base.qcow2");
  const overlay = path.join(dir, "overlay.qcow2");
  qemuImgOk("create", "-f", "qcow2", base, "16M");
  qemuImgOk("create", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay);
  assert.equal(run("qemu-io", ["-c", "write -P 0x5a 0 64k", overlay]).status, 0);
  const q = qemuImg("check", overlay);
  const r = rewindImg("check", overlay);
  assert.equal(r.status, q.status, r.stderr);
  assert.equal(r.stdout, q.stdout);
});

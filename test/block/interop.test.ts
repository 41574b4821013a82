import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { createImage, Qcow2Image } from "../../src/block/index.js";
import { tmpDir, qemuImg, qemuImgOk, run, pattern, sameBytes, rewindImg } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const needQemuImg = { skip: missingTool("qemu-img") };

/** Full guest content according to QEMU (optionally of an internal snapshot). */
function qemuRead(image: string, dir: string, snapshot?: string): Uint8Array {
  const out = path.join(dir, `dump-${Math.random().toString(36).slice(2)}.raw`);
  qemuImgOk("convert", ...(snapshot ? ["-l", `snapshot.name=${snapshot}`] : []), "-O", "raw", image, out);
  const data = new Uint8Array(fs.readFileSync(out));
  fs.rmSync(out);
  return data;
}

function assertQemuCheckClean(p: string, what: string): void {
  const r = qemuImg("check", p);
  assert.equal(r.status, 0, `${what}: qemu-img check:\n${r.stdout}${r.stderr}`);
}

interface QemuInfo {
  "virtual-size": number;
  "cluster-size": number;
  format: string;
  "format-specific": { data: { compat: string; "refcount-bits": number } };
  snapshots?: Array<{ id: string; name: string; "vm-state-size": number; icount?: number;
    "vm-clock-sec": number; "vm-clock-nsec": number; "date-sec": number }>;
}

function qemuInfo(p: string): QemuInfo {
  return JSON.parse(qemuImgOk("info", "--output=json", p)) as QemuInfo;
}

test("new images are byte-identical to qemu-img create's", needQemuImg, () => {
  const dir = tmpDir();
  for (const [opts, size] of [["", "128M"], ["compat=0.10", "1G"], ["cluster_size=512", "1M"],
    ["cluster_size=4096,compat=0.10", "10G"], ["cluster_size=2M", "0"], ["refcount_bits=64", "100G"],
    ["refcount_bits=1,cluster_size=16384", "3G"]] as const) {
    const q = path.join(dir, "q.qcow2");
    const r = path.join(dir, "r.qcow2");
    qemuImgOk("create", "-q", "-f", "qcow2", ...(opts ? ["-o", opts] : []), q, size);
    const res = rewindImg("create", "-q", "-f", "qcow2", ...(opts ? ["-o", opts] : []), r, size);
    assert.equal(res.status, 0, res.stderr);
    assert.ok(sameBytes(fs.readFileSync(r), fs.readFileSync(q)), `-o ${opts} ${size}`);
  }
});

test("images Rewind writes pass qemu-img check and read back identically in QEMU", needQemuImg, () => {
  const dir = tmpDir();
  for (const [clusterSize, version, refcountBits] of [[65536, 3, 16], [512, 3, 16], [4096, 2, 16],
    [2 * MiB, 3, 16], [65536, 3, 64], [4096, 3, 8]] as const) {
    const label = `cluster ${clusterSize} v${version} refcount ${refcountBits}`;
    const p = path.join(dir, `rw-${clusterSize}-${version}-${refcountBits}.qcow2`);
    const size = 6 * MiB;
    createImage(p, { format: "qcow2", size, clusterSize, version, refcountBits });
    assertQemuCheckClean(p, `${label}: fresh`);
    const img = Qcow2Image.open(p);
    const model = new Uint8Array(size);
    const put = (off: number, data: Uint8Array) => {
      img.write(off, data);
      model.set(data, off);
    };
    put(0, pattern(100 * KiB, 1));
    put(3 * MiB - 7, pattern(200 * KiB, 2));
    img.flush();
    assertQemuCheckClean(p, `${label}: after writes`);
    const vm1 = pattern(150 * KiB + 1, 3);
    img.createSnapshot("first", { vmState: vm1, icount: 1_000_000, vmClockNs: 3_723_456_789_123 });
    const firstDisk = model.slice();
    assertQemuCheckClean(p, `${label}: after snapshot`);
    put(50 * KiB, pattern(100 * KiB, 4));
    img.createSnapshot("second", { vmState: pattern(10, 5), icount: 5 });
    put(5 * MiB, pattern(10 * KiB, 6));
    img.createSnapshot("second", { vmState: pattern(20, 7), icount: 6 }); // replace
    assertQemuCheckClean(p, `${label}: after replace`);
    img.close();

    assert.ok(sameBytes(qemuRead(p, dir), model), `${label}: QEMU sees the active disk`);
    assert.ok(sameBytes(qemuRead(p, dir, "first"), firstDisk), `${label}: QEMU sees snapshot 'first'`);
    const info = qemuInfo(p);
    assert.equal(info["virtual-size"], size);
    assert.equal(info["cluster-size"], clusterSize);
    assert.equal(info["format-specific"].data.compat, version === 3 ? "1.1" : "0.10");
    assert.equal(info["format-specific"].data["refcount-bits"], refcountBits);
    assert.deepEqual(info.snapshots!.map((s) => [s.id, s.name, s["vm-state-size"], s.icount]),
      [["1", "first", vm1.length, 1_000_000], ["2", "second", 20, 6]]); // the replacement gets max(id)+1 of the remaining ones
    assert.deepEqual([info.snapshots![0]!["vm-clock-sec"], info.snapshots![0]!["vm-clock-nsec"]],
      [3723, 456_789_123]);

    // QEMU's own snapshot operations keep working on the image.
    qemuImgOk("snapshot", "-d", "second", p);
    qemuImgOk("snapshot", "-a", "first", p);
    assertQemuCheckClean(p, `${label}: after qemu-img snapshot -d/-a`);
    const again = Qcow2Image.open(p);
    assert.ok(sameBytes(again.read(0, size), firstDisk));
    assert.ok(sameBytes(again.readVmState("first"), vm1));
    again.deleteSnapshot("first");
    again.close();
    assertQemuCheckClean(p, `${label}: after delete`);
  }
});

test("VM state is stored where QEMU looks for it (qemu-io read -b)", { skip: missingTool("qemu-img", "qemu-io") },
  () => {
    const dir = tmpDir();
    const p = path.join(dir, "vm.qcow2");
    createImage(p, { format: "qcow2", size: 8 * MiB, clusterSize: 4096 });
    const img = Qcow2Image.open(p);
    img.createSnapshot("s", { vmState: new Uint8Array(70 * KiB).fill(0x4d) });
    img.close();
    qemuImgOk("snapshot", "-a", "s", p); // QEMU copies the whole L1, VM state area included
    const r = run("qemu-io", ["-c", `read -b -P 0x4d 0 ${70 * KiB}`, "-c", `read -b -P 0 ${70 * KiB} 4096`, p]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Pattern verification failed/);
    assertQemuCheckClean(p, "after qemu-img snapshot -a");
  });

test("images QEMU writes (v2, v3, cluster sizes, snapshots, qemu-io data) read correctly", needQemuImg, () => {
  const dir = tmpDir();
  const haveQemuIo = !missingTool("qemu-io");
  for (const [clusterSize, compat] of [[65536, "1.1"], [65536, "0.10"], [512, "1.1"], [4096, "0.10"],
    [2 * MiB, "1.1"]] as const) {
    const label = `qemu ${clusterSize} compat=${compat}`;
    const p = path.join(dir, `q-${clusterSize}-${compat}.qcow2`);
    const size = 8 * MiB;
    qemuImgOk("create", "-q", "-f", "qcow2", "-o", `cluster_size=${clusterSize},compat=${compat}`, p, String(size));
    const writeData = (cmds: string[]) => {
      const r = run("qemu-io", cmds.flatMap((c) => ["-c", c]).concat([p]));
      assert.equal(r.status, 0, r.stdout + r.stderr);
    };
    if (haveQemuIo) {
      writeData(["write -P 0x11 0 256k", "write -P 0x22 1m 64k", "write -z 2m 128k", "write -P 0x33 7m 4k"]);
    } else {
      // No qemu-io: build the content through a raw file and qemu-img convert.
      const raw = path.join(dir, "src.raw");
      const buf = new Uint8Array(size);
      buf.set(pattern(300 * KiB, 1), 12345);
      fs.writeFileSync(raw, buf);
      qemuImgOk("convert", "-f", "raw", "-O", "qcow2", "-o", `cluster_size=${clusterSize},compat=${compat}`, raw, p);
    }
    qemuImgOk("snapshot", "-c", "base", p);
    if (haveQemuIo) writeData(["write -P 0x44 32k 64k", "write -P 0x55 6m 1m"]);
    qemuImgOk("snapshot", "-c", "later", p);
    if (haveQemuIo) writeData(["write -P 0x66 0 4k"]);

    const active = qemuRead(p, dir);
    const base = qemuRead(p, dir, "base");
    const img = Qcow2Image.open(p);
    assert.ok(sameBytes(img.read(0, size), active), `${label}: active disk`);
    assert.deepEqual(img.listSnapshots().map((s) => [s.id, s.name, s.vmStateSize]),
      [["1", "base", 0], ["2", "later", 0]]);
    assert.equal(img.check().corruptions, 0);
    // Rewind writes into QEMU's image, snapshots, loads.
    img.write(100, pattern(200 * KiB, 9));
    active.set(pattern(200 * KiB, 9), 100);
    img.createSnapshot("rewind", { vmState: pattern(5000, 1), icount: 77 });
    const loaded = img.loadSnapshot("base");
    assert.equal(loaded.icount, 0); // qemu-img snapshot -c records icount 0
    assert.ok(sameBytes(img.read(0, size), base), `${label}: snapshot 'base'`);
    img.close();
    assertQemuCheckClean(p, label);
    assert.ok(sameBytes(qemuRead(p, dir), base));
    assert.ok(sameBytes(qemuRead(p, dir, "rewind"), active), `${label}: QEMU reads Rewind's snapshot`);
  }
});

test("compressed clusters (qemu-img convert -c) are read and overwritten correctly", needQemuImg, () => {
  const dir = tmpDir();
  const raw = path.join(dir, "src.raw");
  const size = 4 * MiB;
  const original = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) original.set(pattern(1024, i).map((b) => b & 0x0f), i); // compressible
  fs.writeFileSync(raw, original);
  for (const clusterSize of [65536, 4096]) {
    const content = original.slice();
    const p = path.join(dir, `c-${clusterSize}.qcow2`);
    qemuImgOk("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", `cluster_size=${clusterSize}`, raw, p);
    const img = Qcow2Image.open(p);
    assert.ok(sameBytes(img.read(0, size), content), "compressed read");
    const r = img.check();
    assert.ok(r.compressedClusters > 0, "image really has compressed clusters");
    const patch = pattern(3000, 5);
    img.write(clusterSize - 1000, patch);
    content.set(patch, clusterSize - 1000);
    assert.ok(sameBytes(img.read(0, size), content), "after overwriting compressed clusters");
    img.close();
    assertQemuCheckClean(p, `compressed ${clusterSize}`);
    assert.ok(sameBytes(qemuRead(p, dir), content));
    const rc = rewindImg("check", p);
    const qc = qemuImg("check", p);
    assert.equal(rc.stdout, qc.stdout);
  }
});

test("rewind-img prints what qemu-img prints for info, check and snapshot -l", needQemuImg, () => {
  const dir = tmpDir();
  const images: string[] = [];
  const a = path.join(dir, "a.qcow2");
  createImage(a, { format: "qcow2", size: 128 * MiB });
  const img = Qcow2Image.open(a);
  img.write(0, pattern(300 * KiB, 1));
  img.createSnapshot("rr-start", { vmState: pattern(70000, 2), icount: 0, vmClockNs: 1_500_000_000 });
  img.write(MiB, pattern(64 * KiB, 3));
  img.createSnapshot("a-much-longer-snapshot-name", { vmState: pattern(3 * MiB, 4), icount: 123456789012 });
  img.close();
  images.push(a);
  const b = path.join(dir, "b.qcow2");
  qemuImgOk("create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096", b, "1G");
  qemuImgOk("snapshot", "-c", "qemu-made", b);
  images.push(b);
  const c = path.join(dir, "c.raw");
  fs.writeFileSync(c, pattern(10000, 1));
  images.push(c);
  const leaky = path.join(dir, "leaky.qcow2");
  createImage(leaky, { format: "qcow2", size: MiB });
  const f = fs.openSync(leaky, "r+");
  fs.writeSync(f, new Uint8Array([0, 1]), 0, 2, 65536 * 2 + 4 * 2); // refcount 1 for the unused cluster 4
  fs.writeSync(f, new Uint8Array(65536), 0, 65536, 65536 * 4); // make the file cover cluster 4
  fs.closeSync(f);
  images.push(leaky);
  for (const p of images) {
    for (const args of [["info"], ["info", "--output=json"], ["check"], ["check", "--output=json"],
      ["snapshot", "-l"]]) {
      const q = qemuImg(...args, p);
      const r = rewindImg(...args, p);
      const label = `${args.join(" ")} ${path.basename(p)}`;
      assert.equal(r.stdout, q.stdout, label);
      assert.equal(r.status, q.status, label);
      assert.equal(r.stderr.replaceAll("rewind-img", "qemu-img"), q.stderr, label);
    }
  }
  assert.equal(rewindImg("check", leaky).status, 3);
});

test("snapshots QEMU saves with savevm and rr=record (VM state, icount) load in Rewind",
  { skip: missingTool("qemu-img", "qemu-io", "qemu-system-aarch64") }, () => {
    const dir = tmpDir();
    const p = path.join(dir, "sys.qcow2");
    qemuImgOk("create", "-q", "-f", "qcow2", p, "64M");
    const rrfile = path.join(dir, "rr.bin");
    const script = "sleep 1.5; echo stop; echo 'savevm mid'; sleep 1; echo quit";
    const r = run("sh", ["-c", `(${script}) | timeout 60 qemu-system-aarch64 -M virt -cpu cortex-a57 -m 32 ` +
      `-display none -nodefaults -drive file=${p},if=none,id=d0,format=qcow2 ` +
      `-device virtio-blk-device,drive=d0 -monitor stdio ` +
      `-icount shift=7,rr=record,rrfile=${rrfile},rrsnapshot=init`]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const info = qemuInfo(p);
    const img = Qcow2Image.open(p, { readOnly: true });
    const list = img.listSnapshots();
    assert.deepEqual(list.map((s) => [s.name, s.vmStateSize, s.icount, s.vmClockNs]),
      info.snapshots!.map((s) => [s.name, s["vm-state-size"], s.icount ?? null,
        s["vm-clock-sec"] * 1e9 + s["vm-clock-nsec"]]));
    assert.equal(list[0]!.icount, 0);
    const vm = img.readVmState("mid");
    img.close();
    assert.equal(Buffer.from(vm.subarray(0, 4)).toString("latin1"), "QEVM"); // QEMU's migration stream magic
    // Compare with the bytes QEMU itself reads back as VM state.
    const copy = path.join(dir, "copy.qcow2");
    fs.copyFileSync(p, copy);
    qemuImgOk("snapshot", "-a", "mid", copy);
    const len = Math.ceil(vm.length / 512) * 512;
    const dump = run("qemu-io", ["-c", `read -b -v 0 ${len}`, copy]).stdout;
    const bytes: number[] = [];
    for (const line of dump.split("\n")) {
      const m = /^[0-9a-f]{8}:  ((?:[0-9a-f]{2} ){1,16})/.exec(line);
      if (m) bytes.push(...m[1]!.trim().split(" ").map((h) => parseInt(h, 16)));
    }
    assert.ok(sameBytes(new Uint8Array(bytes.slice(0, vm.length)), vm));
  });

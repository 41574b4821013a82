import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Qcow2Image } from "../../src/block/index.js";
import { missingTool } from "../helpers/tools.js";
import { tmpDir, rewindImg, run, pattern, qemuImg } from "./helpers.js";

/** When qemu-img is installed, it must find nothing wrong (not even leaks) with what rewind-img did. */
function qemuAgrees(p: string): void {
  if (missingTool("qemu-img")) return;
  const r = qemuImg("check", p);
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

test("create: formats, sizes and -o options, with qemu-img's messages", () => {
  const dir = tmpDir();
  const a = path.join(dir, "a.qcow2");
  let r = rewindImg("create", "-f", "qcow2", a, "128M");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `Formatting '${a}', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib ` +
    "size=134217728 lazy_refcounts=off refcount_bits=16\n");
  let img = Qcow2Image.open(a, { readOnly: true });
  assert.deepEqual([img.details().version, img.size, img.clusterSize], [3, 128 * 1024 * 1024, 65536]);
  img.close();

  const b = path.join(dir, "b.qcow2");
  r = rewindImg("create", "-f", "qcow2", "-o", "cluster_size=4k,compat=0.10", b, "1G");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /cluster_size=4096 .* size=1073741824 compat=0\.10 /);
  img = Qcow2Image.open(b, { readOnly: true });
  assert.deepEqual([img.details().version, img.size, img.clusterSize], [2, 1024 ** 3, 4096]);
  img.close();

  const c = path.join(dir, "c.raw");
  r = rewindImg("create", "-f", "raw", c, "512K");
  assert.deepEqual([r.status, r.stdout], [0, `Formatting '${c}', fmt=raw size=524288\n`]);
  assert.equal(fs.statSync(c).size, 512 * 1024);
  r = rewindImg("create", "-q", c, "1000");
  assert.deepEqual([r.status, r.stdout, fs.statSync(c).size], [0, "", 1000]);

  r = rewindImg("create", "-f", "qcow2", "-o", "cluster_size=1000", a, "1M");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^rewind-img: .*Cluster size must be a power of two between 512 and 2048k\n$/m);
  r = rewindImg("create", "-f", "qcow2", a, "12Q");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^rewind-img: Invalid image size specified/);
  r = rewindImg("create", "-f", "qcow2", "-o", "bogus=1", a, "1M");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^rewind-img: unknown option 'bogus'/);
  r = rewindImg("create", "-f", "vmdk", a, "1M");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^rewind-img: Unknown file format 'vmdk'/);
});

test("snapshot -c/-l/-a/-d and info on the result", () => {
  const dir = tmpDir();
  const p = path.join(dir, "s.qcow2");
  assert.equal(rewindImg("create", "-q", "-f", "qcow2", p, "16M").status, 0);
  const img = Qcow2Image.open(p);
  img.write(0, pattern(4096, 1));
  img.createSnapshot("rr", { vmState: pattern(70000, 2), icount: 4242, vmClockNs: 61_001_000_000,
    date: { sec: 0, nsec: 0 } });
  img.write(0, pattern(4096, 3));
  img.close();
  assert.equal(rewindImg("snapshot", "-c", "plain", p).status, 0);
  qemuAgrees(p);
  let r = rewindImg("snapshot", "-l", p);
  assert.equal(r.status, 0);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "Snapshot list:");
  assert.equal(lines[1], "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT");
  assert.equal(lines[2], "1         rr               68.4 KiB 1970-01-01 00:00:00 00:01:01.001       4242");
  assert.match(lines[3]!, /^2         plain                 0 B \d{4}-\d\d-\d\d \d\d:\d\d:\d\d 00:00:00\.000 {11}$/);
  r = rewindImg("snapshot", "-a", "rr", p);
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, "", ""]);
  const after = Qcow2Image.open(p, { readOnly: true });
  assert.deepEqual(after.read(0, 4096), pattern(4096, 1));
  after.close();
  qemuAgrees(p);
  r = rewindImg("snapshot", "-d", "1", p); // by ID
  assert.equal(r.status, 0);
  qemuAgrees(p);
  r = rewindImg("snapshot", "-d", "rr", p);
  assert.deepEqual([r.status, r.stderr], [1, "rewind-img: Could not delete snapshot 'rr': snapshot not found\n"]);
  r = rewindImg("snapshot", "-a", "nope", p);
  assert.deepEqual([r.status, r.stderr], [1, "rewind-img: Could not apply snapshot 'nope': snapshot not found\n"]);
  r = rewindImg("info", p);
  assert.match(r.stdout, /^image: .*\nfile format: qcow2\nvirtual size: 16 MiB \(16777216 bytes\)\ndisk size: .*\ncluster_size: 65536\nSnapshot list:\n/);
  r = rewindImg("info", "--output=json", p);
  const info = JSON.parse(r.stdout) as { snapshots: Array<{ name: string; icount?: number }>; "virtual-size": number };
  assert.equal(info["virtual-size"], 16 * 1024 * 1024);
  assert.deepEqual(info.snapshots.map((s) => [s.name, s.icount]), [["plain", undefined]]);
  r = rewindImg("snapshot", "-l", "-c", "x", p);
  assert.equal(r.status, 1);
});

test("check: exit codes 0, 2 (corruption), 3 (leaks), 63 (raw)", () => {
  const dir = tmpDir();
  const p = path.join(dir, "c.qcow2");
  rewindImg("create", "-q", "-f", "qcow2", p, "1M");
  let r = rewindImg("check", p);
  assert.deepEqual([r.status, r.stdout], [0, "No errors were found on the image.\nImage end offset: 262144\n"]);
  const img = Qcow2Image.open(p);
  img.write(0, pattern(65536, 1));
  img.close();
  // Leak: refcount 1 on an unused cluster (6) inside the file.
  const f = fs.openSync(p, "r+");
  fs.writeSync(f, new Uint8Array(65536), 0, 65536, 6 * 65536);
  fs.writeSync(f, new Uint8Array([0, 1]), 0, 2, 2 * 65536 + 6 * 2);
  r = rewindImg("check", p);
  assert.equal(r.status, 3);
  assert.equal(r.stderr, "Leaked cluster 6 refcount=1 reference=0\n");
  assert.match(r.stdout, /^\n1 leaked clusters were found on the image\.\nThis means waste of disk space, but no harm to data\.\n/);
  r = rewindImg("check", "--output=json", p);
  assert.equal(r.status, 3);
  assert.equal((JSON.parse(r.stdout) as { leaks: number }).leaks, 1);
  // Corruption: the data cluster (5) gets refcount 0.
  fs.writeSync(f, new Uint8Array([0, 0]), 0, 2, 2 * 65536 + 5 * 2);
  fs.closeSync(f);
  r = rewindImg("check", p);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^ERROR cluster 5 refcount=0 reference=1$/m);
  assert.match(r.stderr, /^ERROR OFLAG_COPIED data cluster: l2_entry=8000000000050000 refcount=0$/m);
  assert.match(r.stdout, /^\n2 errors were found on the image\.\nData may be corrupted/);
  const raw = path.join(dir, "r.raw");
  rewindImg("create", "-q", raw, "1M");
  r = rewindImg("check", raw);
  assert.deepEqual([r.status, r.stderr], [63, "rewind-img: This image format does not support checks\n"]);
});

test("bad command lines and unreadable files fail cleanly, without stack traces", () => {
  const dir = tmpDir();
  const cases: Array<[string[], RegExp]> = [
    [["info", "-x", "f"], /^rewind-img: unknown option '-x'\nTry 'rewind-img --help' for more information\n$/],
    [["check", "--bogus", "f"], /^rewind-img: unknown option '--bogus'\n/],
    [["--frobnicate"], /^rewind-img: unknown option '--frobnicate'\n/],
    [["snapshot", "-z", "f"], /^rewind-img: unknown option '-z'\n/],
    [["frob"], /^rewind-img: Command not found: frob\n/],
    [[], /^rewind-img: Not enough arguments\n/],
    [["info"], /^rewind-img: Expecting one image file name\n/],
    [["info", "--output=xml", "f"], /^rewind-img: --output must be used with human or json/],
    [["info", path.join(dir, "missing")], /^rewind-img: Could not open '.*missing': No such file or directory\n$/],
    [["info", dir], /^rewind-img: Could not open '.*': (not a regular file|Is a directory)/],
    [["snapshot", "-l", path.join(dir, "missing")], /^rewind-img: Could not open/],
  ];
  for (const [args, re] of cases) {
    const r = rewindImg(...args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
  const bad = path.join(dir, "bad.qcow2");
  fs.writeFileSync(bad, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(100)]));
  for (const cmd of ["info", "check"]) {
    const r = rewindImg(cmd, bad);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rewind-img: Could not open '.*bad\.qcow2': unsupported cluster size/i);
  }
  const h = rewindImg("--help");
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: rewind-img/);
});

test("bin/rewind-img.js is the two-line launcher", () => {
  const bin = path.resolve(process.cwd(), "bin/rewind-img.js");
  if (!fs.existsSync(bin)) return; // running outside the project tree
  assert.equal(fs.readFileSync(bin, "utf8"), '#!/usr/bin/env node\nimport "../dist/src/cli/rewind-img.js";\n');
  assert.ok((fs.statSync(bin).mode & 0o111) !== 0, "executable");
  if (fs.existsSync(path.resolve(process.cwd(), "dist/src/cli/rewind-img.js"))) {
    const r = run(bin, ["--version"]);
    assert.deepEqual([r.status, r.stdout], [0, "rewind-img version 0.1.0\n"]);
  }
});

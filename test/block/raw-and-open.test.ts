import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createImage, openImage, probeFormat, ImageError, RawImage, Qcow2Image } from "../../src/block/index.js";
import { tmpDir, pattern, sameBytes } from "./helpers.js";

test("raw images: create, read, write, bounds", () => {
  const dir = tmpDir();
  const p = path.join(dir, "d.raw");
  createImage(p, { format: "raw", size: 1024 * 1024 });
  assert.equal(fs.statSync(p).size, 1024 * 1024);
  assert.equal(probeFormat(p), "raw");
  const img = openImage(p);
  assert.ok(img instanceof RawImage);
  assert.equal(img.size, 1024 * 1024);
  img.write(1000, pattern(5000, 1));
  assert.ok(sameBytes(img.read(1000, 5000), pattern(5000, 1)));
  assert.throws(() => img.read(1024 * 1024 - 10, 11), ImageError);
  img.close();
  const ro = openImage(p, { readOnly: true });
  assert.throws(() => ro.write(0, new Uint8Array(1)), /read-only/);
  ro.close();
});

test("openImage probes the qcow2 magic like QEMU and honours a forced format", () => {
  const dir = tmpDir();
  const q = path.join(dir, "d.qcow2");
  createImage(q, { format: "qcow2", size: 1024 * 1024 });
  assert.equal(probeFormat(q), "qcow2");
  const img = openImage(q, { readOnly: true });
  assert.ok(img instanceof Qcow2Image);
  img.close();
  const asRaw = openImage(q, { format: "raw", readOnly: true });
  assert.ok(asRaw instanceof RawImage);
  assert.equal(asRaw.read(0, 4)[0], 0x51); // 'Q'
  asRaw.close();
  const r = path.join(dir, "text.raw");
  fs.writeFileSync(r, "hello");
  assert.throws(() => openImage(r, { format: "qcow2" }), /Image is not in qcow2 format/);
  assert.equal(openImage(r).size, 512); // QEMU rounds raw sizes up to a sector
  assert.throws(() => openImage(path.join(dir, "missing")), /Could not open .*No such file or directory/);
  assert.throws(() => openImage(dir), ImageError);
});

test("opening and reading never modify an image", () => {
  const dir = tmpDir();
  const q = path.join(dir, "d.qcow2");
  createImage(q, { format: "qcow2", size: 1024 * 1024 });
  const w = Qcow2Image.open(q);
  w.write(0, pattern(100000, 1));
  w.createSnapshot("s", { vmState: pattern(1000, 2) });
  w.close();
  const before = fs.readFileSync(q);
  const mtime = fs.statSync(q).mtimeMs;
  const img = Qcow2Image.open(q); // read-write open, but only reads
  img.read(0, 1024 * 1024);
  img.readVmState("s");
  img.listSnapshots();
  img.check();
  img.close();
  assert.ok(sameBytes(fs.readFileSync(q), before));
  assert.equal(fs.statSync(q).mtimeMs, mtime);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createImage, ImageError, Qcow2Image } from "../../src/block/index.js";
import { tmpDir, pattern, sameBytes } from "./helpers.js";

/** Small PRNG so failures reproduce from the printed seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

function makeValid(dir: string, clusterSize: number, version: 2 | 3): string {
  const p = path.join(dir, `valid-${clusterSize}-${version}.qcow2`);
  createImage(p, { format: "qcow2", size: 256 * 1024, clusterSize, version });
  const img = Qcow2Image.open(p);
  img.write(0, pattern(40000, 1));
  img.createSnapshot("a", { vmState: pattern(3000, 2), icount: 5 });
  img.write(100000, pattern(20000, 3));
  img.createSnapshot("b", { vmState: pattern(100, 4) });
  img.write(5000, pattern(3000, 5));
  img.close();
  return p;
}

const stats = { rejectedAtOpen: 0, opened: 0, readFine: 0, corrupt: 0, written: 0 };

/** Everything a user of a damaged image can do; only ImageError may come out. */
function exercise(p: string, writable: boolean): void {
  let img: Qcow2Image;
  try {
    img = Qcow2Image.open(p, { readOnly: !writable });
  } catch (e) {
    assert.ok(e instanceof ImageError, `open threw ${String(e)}`);
    stats.rejectedAtOpen++;
    return;
  }
  stats.opened++;
  const tryOp = (op: () => unknown) => {
    try {
      op();
    } catch (e) {
      assert.ok(e instanceof ImageError, `threw ${(e as Error)?.stack ?? String(e)}`);
    }
  };
  tryOp(() => {
    img.read(0, img.size);
    stats.readFine++;
  });
  for (const s of img.listSnapshots()) tryOp(() => img.readVmState(s.name));
  let corrupt = true;
  tryOp(() => {
    corrupt = img.check().corruptions > 0;
  });
  if (writable) {
    const before = fs.readFileSync(p);
    tryOp(() => img.write(1000, pattern(9000, 9)));
    tryOp(() => img.createSnapshot("new", { vmState: pattern(700, 8) }));
    tryOp(() => img.loadSnapshot("a"));
    if (corrupt) {
      stats.corrupt++;
      assert.ok(sameBytes(fs.readFileSync(p), before), "a corrupt image was written to");
    } else if (!sameBytes(fs.readFileSync(p), before)) stats.written++;
  }
  tryOp(() => img.close());
}

test("fuzzed images (byte flips, truncations) only ever raise ImageError", () => {
  const dir = tmpDir();
  let cases = 0;
  for (const [clusterSize, version] of [[512, 3], [4096, 2], [65536, 3]] as const) {
    const valid = fs.readFileSync(makeValid(dir, clusterSize, version));
    for (let seed = 1; seed <= 120; seed++) {
      const r = rng(seed * 7919 + clusterSize);
      let bytes = new Uint8Array(valid);
      const kind = r(4);
      if (kind === 0) {
        bytes = bytes.slice(0, r(bytes.length));
      } else {
        // Flip a few bytes, mostly in metadata (the first clusters and the table pointers in the header).
        const flips = 1 + r(kind === 3 ? 40 : 4);
        for (let i = 0; i < flips; i++) {
          const where = r(3) === 0 ? r(bytes.length) : r(Math.min(bytes.length, 24 * clusterSize));
          bytes[where] = kind === 2 ? r(256) : bytes[where]! ^ (1 << r(8));
        }
      }
      const p = path.join(dir, `fuzz-${clusterSize}-${seed}.qcow2`);
      fs.writeFileSync(p, bytes);
      try {
        exercise(p, seed % 2 === 0);
      } catch (e) {
        throw new Error(`seed ${seed}, cluster size ${clusterSize}: ${(e as Error).message}`);
      }
      fs.rmSync(p);
      cases++;
    }
  }
  assert.equal(cases, 360);
  // The damage must reach every layer, not just the header checks.
  for (const [k, v] of Object.entries(stats)) assert.ok(v >= 10, `${k}: ${v} (${JSON.stringify(stats)})`);
});

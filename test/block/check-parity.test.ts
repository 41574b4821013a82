import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { tmpDir, run, qemuImg, rewindImg } from "./helpers.js";

/**
 * `rewind-img check` against `qemu-img check` (7.2) on deliberately damaged copies of one qemu-img image:
 * same exit status, same stdout, same per-problem lines on stderr (apart from the program-name prefix of the
 * final error line), and for `-r all` a repaired image that qemu-img finds as clean as its own repair.
 */

const CS = 65536;
const COPIED = 1n << 63n;

interface Layout {
  bytes: Uint8Array;
  l1: number;
  reftable: number;
  refblock: number;
  l2: number;
  snapshots: number;
  snapL1: number;
  /** Index of the L2 entry of guest offset 1M (a normal, unshared data cluster). */
  dataEntry: number;
  dataCluster: number;
  /** Index of the compressed entry (2M). */
  compEntry: number;
}

function buildBase(dir: string): Layout {
  const p = path.join(dir, "base.qcow2");
  const ok = (r: { status: number; stdout: string; stderr: string }) => {
    if (r.status !== 0) throw new Error(r.stdout + r.stderr);
  };
  ok(qemuImg("create", "-q", "-f", "qcow2", p, "64M"));
  ok(run("qemu-io", ["-c", "write -P 0xab 0 64k", "-c", "write -P 0xcd 1M 128k", "-c", "write -c -P 0x22 2M 64k",
    "-c", "write -P 0x11 32M 64k", p]));
  ok(qemuImg("snapshot", "-c", "s1", p));
  ok(run("qemu-io", ["-c", "write -P 0x33 0 4k", p]));
  const bytes = new Uint8Array(fs.readFileSync(p));
  const dv = new DataView(bytes.buffer);
  const u64 = (at: number) => dv.getBigUint64(at);
  const l1 = Number(u64(40));
  const reftable = Number(u64(48));
  const snapshots = Number(u64(64));
  const l2 = Number(u64(l1) & 0x00ff_ffff_ffff_fe00n);
  const dataEntry = (1 << 20) / CS;
  return {
    bytes, l1, reftable, snapshots, refblock: Number(u64(reftable)), l2, snapL1: Number(u64(snapshots)),
    dataEntry, dataCluster: Number((u64(l2 + dataEntry * 8) & 0x00ff_ffff_ffff_fe00n) / BigInt(CS)),
    compEntry: (2 << 20) / CS,
  };
}

type Patch = (b: Uint8Array, dv: DataView, L: Layout) => Uint8Array | void;

const set64 = (dv: DataView, at: number, v: bigint) => dv.setBigUint64(at, BigInt.asUintN(64, v));
const get64 = (dv: DataView, at: number) => dv.getBigUint64(at);
const setRef = (dv: DataView, L: Layout, cluster: number, v: number) => dv.setUint16(L.refblock + cluster * 2, v);

/** Deterministic bit flips (xorshift32) inside [from, to). */
function flips(seed: number, count: number, from: number, to: number): Patch {
  return (b) => {
    let x = seed >>> 0 || 1;
    for (let i = 0; i < count; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      const bit = from * 8 + (x % ((to - from) * 8));
      b[bit >>> 3]! ^= 1 << (bit & 7);
    }
  };
}

const CASES: Array<[string, Patch]> = [
  ["clean", () => {}],
  ["hdr-version-4", (_b, dv) => dv.setUint32(4, 4)],
  ["hdr-cluster-bits-30", (_b, dv) => dv.setUint32(20, 30)],
  ["hdr-l1-offset-unaligned", (_b, dv, L) => set64(dv, 40, BigInt(L.l1 + 8))],
  ["hdr-l1-offset-past-eof", (b, dv) => set64(dv, 40, BigInt(b.length + 100 * CS))],
  ["hdr-l1-size-too-small", (_b, dv) => dv.setUint32(36, 0)],
  ["hdr-l1-size-large", (_b, dv) => dv.setUint32(36, 5000)],
  ["hdr-reftable-past-eof", (b, dv) => set64(dv, 48, BigInt(b.length + 10 * CS))],
  ["hdr-reftable-at-header", (_b, dv) => set64(dv, 48, 0n)],
  ["hdr-reftable-unaligned", (_b, dv, L) => set64(dv, 48, BigInt(L.reftable + 512))],
  ["hdr-reftable-clusters-0", (_b, dv) => dv.setUint32(56, 0)],
  ["hdr-snapshots-unaligned", (_b, dv, L) => set64(dv, 64, BigInt(L.snapshots + 8))],
  ["hdr-nb-snapshots-0", (_b, dv) => dv.setUint32(60, 0)],
  ["hdr-dirty-bit", (_b, dv) => dv.setUint32(76, dv.getUint32(76) | 1)],
  ["hdr-corrupt-bit", (_b, dv) => dv.setUint32(76, dv.getUint32(76) | 2)],
  ["hdr-unknown-incompat", (_b, dv) => dv.setUint32(76, dv.getUint32(76) | 0x100)],
  ["l1-unaligned", (_b, dv, L) => set64(dv, L.l1, get64(dv, L.l1) | 0x200n)],
  ["l1-past-eof", (b, dv, L) => set64(dv, L.l1, COPIED | BigInt(b.length + 16 * CS))],
  ["l1-ffff0000", (_b, dv, L) => set64(dv, L.l1, 0xffff0000n)],
  ["l1-reserved-bit", (_b, dv, L) => set64(dv, L.l1, get64(dv, L.l1) | (1n << 56n))],
  ["l1-at-header", (_b, dv, L) => set64(dv, L.l1, COPIED)],
  ["l1-at-reftable", (_b, dv, L) => set64(dv, L.l1, COPIED | BigInt(L.reftable))],
  ["l1-copied-cleared", (_b, dv, L) => set64(dv, L.l1, get64(dv, L.l1) & ~COPIED)],
  ["l2-past-eof", (b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, COPIED | BigInt(b.length + 20 * CS))],
  ["l2-just-past-eof", (b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, COPIED | BigInt(b.length))],
  ["l2-unaligned", (_b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, get64(dv, L.l2 + L.dataEntry * 8) | 0x200n)],
  ["l2-prealloc-unaligned", (_b, dv, L) =>
    set64(dv, L.l2 + L.dataEntry * 8, get64(dv, L.l2 + L.dataEntry * 8) | 0x201n)],
  ["l2-compressed-bit", (_b, dv, L) =>
    set64(dv, L.l2 + L.dataEntry * 8, get64(dv, L.l2 + L.dataEntry * 8) | (1n << 62n))],
  ["l2-compressed-copied", (_b, dv, L) => set64(dv, L.l2 + L.compEntry * 8, get64(dv, L.l2 + L.compEntry * 8) | COPIED)],
  ["l2-reserved-bit", (_b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, get64(dv, L.l2 + L.dataEntry * 8) | (1n << 57n))],
  ["l2-at-reftable", (_b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, COPIED | BigInt(L.reftable))],
  ["l2-copied-cleared", (_b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, get64(dv, L.l2 + L.dataEntry * 8) & ~COPIED)],
  ["l2-ffffffff", (_b, dv, L) => set64(dv, L.l2 + L.dataEntry * 8, 0xffff_ffff_ffff_ffffn)],
  ["reftable-entry-0", (_b, dv, L) => set64(dv, L.reftable, 0n)],
  ["reftable-unaligned", (_b, dv, L) => set64(dv, L.reftable, BigInt(L.refblock + 0x200))],
  ["reftable-past-eof", (b, dv, L) => set64(dv, L.reftable, BigInt(b.length + 5 * CS))],
  ["reftable-reserved-bits", (_b, dv, L) => set64(dv, L.reftable, BigInt(L.refblock) | 1n)],
  ["reftable-at-l1", (_b, dv, L) => set64(dv, L.reftable, BigInt(L.l1))],
  ["refblock-data-0", (_b, dv, L) => setRef(dv, L, L.dataCluster, 0)],
  ["refblock-data-2", (_b, dv, L) => setRef(dv, L, L.dataCluster, 2)],
  ["refblock-data-3", (_b, dv, L) => setRef(dv, L, L.dataCluster, 3)],
  ["refblock-unused-1", (b, dv, L) => setRef(dv, L, b.length / CS - 0 + 3, 1)],
  ["refblock-header-0", (_b, dv, L) => setRef(dv, L, 0, 0)],
  ["refblock-header-5", (_b, dv, L) => setRef(dv, L, 0, 5)],
  ["refblock-self-2", (_b, dv, L) => setRef(dv, L, L.refblock / CS, 2)],
  ["refblock-l2-2", (_b, dv, L) => setRef(dv, L, L.l2 / CS, 2)],
  ["refblock-shared-low", (_b, dv, L) => {
    // the cluster of guest offset 32M is shared with the snapshot: refcount 2 -> 1
    const e = get64(dv, L.l2 + ((32 << 20) / CS) * 8) & 0x00ff_ffff_ffff_fe00n;
    setRef(dv, L, Number(e / BigInt(CS)), 1);
  }],
  ["snap-l1-unaligned", (_b, dv, L) => set64(dv, L.snapshots, BigInt(L.snapL1 + 8))],
  ["snap-l1-past-eof", (b, dv, L) => set64(dv, L.snapshots, BigInt(b.length + 8 * CS))],
  ["snap-l1-size-huge", (_b, dv, L) => dv.setUint32(L.snapshots + 8, 0x0100_0000)],
  ["snap-extra-huge", (_b, dv, L) => dv.setUint32(L.snapshots + 36, 5000)],
  ["truncated-last-cluster", (b) => b.slice(0, b.length - CS)],
  ["appended-cluster", (b) => { const o = new Uint8Array(b.length + CS); o.set(b); return o; }],
  ["flip-l1-seed1", (b, dv, L) => flips(1, 3, L.l1, L.l1 + 16)(b, dv, L)],
  ["flip-l2-seed2", (b, dv, L) => flips(2, 4, L.l2, L.l2 + 8 * 40)(b, dv, L)],
  ["flip-refblock-seed3", (b, dv, L) => flips(3, 4, L.refblock, L.refblock + 40)(b, dv, L)],
  ["flip-reftable-seed4", (b, dv, L) => flips(4, 1, L.reftable, L.reftable + 8)(b, dv, L)],
  ["flip-header-seed5", (b, dv, L) => flips(5, 1, 36, 72)(b, dv, L)],
  ["flip-metadata-seed6", (b, dv, L) => flips(6, 6, L.l2, L.l2 + 8 * 40)(b, dv, L)],
  ["flip-snapshot-seed7", (b, dv, L) => flips(7, 2, L.snapshots, L.snapshots + 16)(b, dv, L)],
];

/**
 * Known `-r all` differences (the check itself matches): qemu-img's repair fails with an I/O error (exit 1) where
 * Rewind's either repairs (reftable-reserved-bits) or reports the remaining corruption (l1-at-header,
 * snap-l1-size-huge); Rewind does not yet drop incomplete snapshot table entries (flip-header-seed5).
 */
const KNOWN_REPAIR_DIFFERENCES = new Set(["l1-at-header", "reftable-reserved-bits", "snap-l1-size-huge",
  "flip-header-seed5"]);

const verdict = (code: number) =>
  ({ 0: "clean", 1: "failed", 2: "corrupt", 3: "leaks", 63: "unsupported" } as Record<number, string>)[code] ??
  `exit ${code}`;

/** stderr lines that describe the image (drop the final "<prog>: ..." line, which names the program). */
const problemLines = (s: string) => s.split("\n").filter((l) => l && !/^(qemu-img|rewind-img|qcow2):/.test(l));

test("rewind-img check matches qemu-img check on damaged images", { skip: missingTool("qemu-img", "qemu-io") }, (t) => {
  const dir = tmpDir();
  const base = buildBase(dir);
  const rows: string[] = [];
  const failures: string[] = [];
  for (const [name, patch] of CASES) {
    const bytes = base.bytes.slice();
    const out = patch(bytes, new DataView(bytes.buffer), base) ?? bytes;
    const q = path.join(dir, `${name}.q.qcow2`);
    const w = path.join(dir, `${name}.w.qcow2`);
    fs.writeFileSync(q, out);
    fs.writeFileSync(w, out);
    const qr = qemuImg("check", q);
    const wr = rewindImg("check", w);
    let row = `${name.padEnd(26)} qemu-img: ${verdict(qr.status).padEnd(8)} rewind: ${verdict(wr.status).padEnd(8)}`;
    const bad: string[] = [];
    if (qr.status !== wr.status) bad.push("exit status");
    if (qr.stdout !== wr.stdout) bad.push("stdout");
    if (qr.status !== 1 && problemLines(qr.stderr).join("\n") !== problemLines(wr.stderr).join("\n")) bad.push("stderr");
    if (/\n\s+at |TypeError|RangeError|internal error/.test(wr.stderr)) bad.push("internal message");
    assert.ok(sameFile(w, out), `${name}: check without -r must not modify the image`);
    if (qr.status === 2 || qr.status === 3) {
      fs.writeFileSync(q, out);
      const qfix = qemuImg("check", "-r", "all", q);
      const wfix = rewindImg("check", "-r", "all", w);
      const qAfter = qemuImg("check", q).status;
      const wAfter = qemuImg("check", w).status;
      row += ` | -r all: qemu-img ${verdict(qfix.status)}→${verdict(qAfter)}, rewind ${verdict(wfix.status)}→${verdict(wAfter)}`;
      const known = KNOWN_REPAIR_DIFFERENCES.has(name);
      if (known) row += " (known repair difference)";
      if (!known && qfix.status !== wfix.status) bad.push("-r all exit status");
      if (!known && qfix.stdout !== wfix.stdout) bad.push("-r all stdout");
      if (!known && qAfter !== wAfter) bad.push("state after repair");
      if (qAfter === 0 && wAfter !== 0 && !known) bad.push("not clean after repair");
      if (qfix.stdout !== wfix.stdout || qfix.status !== wfix.status) {
        t.diagnostic(`${name} -r all:\n--- qemu-img ---\n${qfix.stdout}${qfix.stderr}--- rewind ---\n${wfix.stdout}${wfix.stderr}`);
      }
    }
    if (bad.length) {
      failures.push(`${name}: ${bad.join(", ")}`);
      t.diagnostic(`${name}:\n--- qemu-img (${qr.status}) ---\n${qr.stdout}${qr.stderr}--- rewind (${wr.status}) ---\n${wr.stdout}${wr.stderr}`);
    }
    rows.push(row + (bad.length ? `  MISMATCH: ${bad.join(", ")}` : ""));
  }
  t.diagnostic("parity table:\n" + rows.join("\n"));
  assert.deepEqual(failures, []);
});

function sameFile(p: string, bytes: Uint8Array): boolean {
  return Buffer.compare(fs.readFileSync(p), Buffer.from(bytes)) === 0;
}

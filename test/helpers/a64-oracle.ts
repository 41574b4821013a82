// The instruction oracle: single A64 instructions run on given registers by another implementation of the
// architecture (test/oracle/a64/driver.c under Debian's qemu-aarch64, built static with the cross compiler) and
// by Rewind's interpreter, and the results compared: general registers x0-x7, vector registers v0-v7, NZCV,
// FPSR, and whether the instruction was undefined.
//
//   const skip = a64OracleUnavailable();
//   test("...", { skip }, () => {
//     const cases = [...];                          // A64Case: insn, fpcr, nzcv, x[8], v[8]
//     assertSameAsOracle(cases, { describe: (c) => ... });
//   });
//
// Instructions under test may use x0-x7 and v0-v7 only (the driver's own registers are x9-x11 and x30).

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./sessions.js";
import { hasTool } from "./tools.js";
import { TestMachine } from "../aarch64/harness.js";

const RECORD = 208;
const DRIVER_SOURCE = join(ROOT, "test/oracle/a64/driver.c");
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;

export interface A64Case {
  insn: number;
  /** FPCR (rounding mode, FZ, DN, AHP...). Default 0. */
  fpcr?: number;
  /** NZCV as bits 3..0 (N, Z, C, V). Default 0. */
  nzcv?: number;
  /** x0..x7 (missing ones are 0). */
  x?: bigint[];
  /** v0..v7, 128 bits each (missing ones are 0). */
  v?: bigint[];
}

export interface A64Result {
  /** "ok": it ran; "undefined": it was UNDEFINED (SIGILL / Rewind took an undefined-instruction exception). */
  status: "ok" | "undefined" | "fault";
  fpsr: number;
  nzcv: number;
  x: bigint[];
  v: bigint[];
}

let driverPath: string | undefined;
let unavailable: string | false | undefined;

/** Why the oracle cannot run here (a skip reason for node:test), or false. Builds the driver on first use. */
export function a64OracleUnavailable(): string | false {
  if (unavailable !== undefined) return unavailable;
  const missing = ["aarch64-linux-gnu-gcc", "qemu-aarch64"].filter((t) => !hasTool(t));
  if (missing.length) return (unavailable = `needs ${missing.join(", ")} (Debian packages gcc-aarch64-linux-gnu, qemu-user)`);
  const source = readFileSync(DRIVER_SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = join(ROOT, ".cache/oracle");
  const path = join(dir, `a64-driver-${hash}`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const r = spawnSync("aarch64-linux-gnu-gcc", ["-O1", "-static", "-o", tmp, DRIVER_SOURCE], { encoding: "utf8" });
    if (r.status !== 0) {
      const reason = /No such file|bits\/|stdio\.h/.test(r.stderr) ? " (the arm64 C library is missing: Debian package libc6-dev-arm64-cross)" : "";
      return (unavailable = `cannot build the A64 oracle driver${reason}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`);
    }
    renameSync(tmp, path);
  }
  driverPath = path;
  return (unavailable = false);
}

function encode(cases: readonly A64Case[]): Buffer {
  const buf = Buffer.alloc(cases.length * RECORD);
  cases.forEach((c, i) => {
    const o = i * RECORD;
    buf.writeUInt32LE(c.insn >>> 0, o);
    buf.writeUInt32LE((c.fpcr ?? 0) >>> 0, o + 4);
    buf.writeUInt32LE(((c.nzcv ?? 0) << 28) >>> 0, o + 8);
    for (let r = 0; r < 8; r++) buf.writeBigUInt64LE((c.x?.[r] ?? 0n) & MASK64, o + 16 + 8 * r);
    for (let r = 0; r < 8; r++) {
      const v = (c.v?.[r] ?? 0n) & MASK128;
      buf.writeBigUInt64LE(v & MASK64, o + 80 + 16 * r);
      buf.writeBigUInt64LE(v >> 64n, o + 88 + 16 * r);
    }
  });
  return buf;
}

function decode(buf: Buffer, count: number): A64Result[] {
  if (buf.length !== count * RECORD) throw new Error(`the oracle driver answered ${buf.length} bytes for ${count} cases`);
  const out: A64Result[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * RECORD;
    const status = buf.readUInt32LE(o);
    const x: bigint[] = [];
    const v: bigint[] = [];
    for (let r = 0; r < 8; r++) x.push(buf.readBigUInt64LE(o + 16 + 8 * r));
    for (let r = 0; r < 8; r++) v.push(buf.readBigUInt64LE(o + 80 + 16 * r) | (buf.readBigUInt64LE(o + 88 + 16 * r) << 64n));
    out.push({ status: status === 0 ? "ok" : status === 1 ? "undefined" : "fault", fpsr: buf.readUInt32LE(o + 4), nzcv: buf.readUInt32LE(o + 8) >>> 28, x, v });
  }
  return out;
}

/** Runs the cases under qemu-aarch64 as a Cortex-A53 (in batches: one process per 50,000 cases). */
export function runOnOracle(cases: readonly A64Case[]): A64Result[] {
  const skip = a64OracleUnavailable();
  if (skip) throw new Error(skip);
  const out: A64Result[] = [];
  for (let i = 0; i < cases.length; i += 50_000) {
    const batch = cases.slice(i, i + 50_000);
    // The CPU model Rewind is: later extensions (FP16, dot product, SQRDMLAH...) are UNDEFINED on both.
    const r = spawnSync("qemu-aarch64", ["-cpu", "cortex-a53", driverPath!], { input: encode(batch), maxBuffer: batch.length * RECORD + 1024 });
    if (r.status !== 0) throw new Error(`qemu-aarch64 ${driverPath} exited with ${r.status ?? r.signal}: ${r.stderr?.toString()}`);
    out.push(...decode(r.stdout, batch.length));
  }
  return out;
}

/** Runs each case as one step of Rewind's interpreter on a fresh CPU state (EL1, FP/SIMD enabled). */
export function runOnRewind(cases: readonly A64Case[]): A64Result[] {
  const m = new TestMachine();
  const c = m.cpu;
  const vectors = BigInt(c.sys.vbarEl1Lo >>> 0);
  return cases.map((k) => {
    m.code(k.insn >>> 0);
    for (let r = 0; r < 8; r++) m.setX(r, k.x?.[r] ?? 0n).setV(r, k.v?.[r] ?? 0n);
    c.fpcr = (k.fpcr ?? 0) >>> 0;
    c.fpsr = 0;
    c.nzcv = k.nzcv ?? 0;
    m.run(1);
    // An exception entry (PC on one of VBAR_EL1's vectors) means it did not run.
    const off = m.pc - vectors;
    const status = off >= 0n && off < 0x800n && off % 0x80n === 0n ? (m.lastEc === 0 ? "undefined" : "fault") : "ok";
    const x: bigint[] = [];
    const v: bigint[] = [];
    for (let r = 0; r < 8; r++) x.push(m.x(r));
    for (let r = 0; r < 8; r++) v.push(m.v(r));
    return { status, fpsr: c.fpsr >>> 0, nzcv: c.nzcv, x, v } satisfies A64Result;
  });
}

const hex = (v: bigint, bits: number) => "0x" + v.toString(16).padStart(bits / 4, "0");

/** What differs between two results, one line per item ("" when they agree). Undefined instructions compare on
 * their status only (their registers are whatever the handler-less state was). */
export function resultDifference(a: A64Result, b: A64Result): string {
  if (a.status !== b.status) return `status: oracle ${a.status}, rewind ${b.status}`;
  if (a.status !== "ok") return "";
  const d: string[] = [];
  for (let r = 0; r < 8; r++) if (a.x[r] !== b.x[r]) d.push(`x${r}: oracle ${hex(a.x[r], 64)}, rewind ${hex(b.x[r], 64)}`);
  for (let r = 0; r < 8; r++) if (a.v[r] !== b.v[r]) d.push(`v${r}: oracle ${hex(a.v[r], 128)}, rewind ${hex(b.v[r], 128)}`);
  if (a.nzcv !== b.nzcv) d.push(`nzcv: oracle ${a.nzcv.toString(2).padStart(4, "0")}, rewind ${b.nzcv.toString(2).padStart(4, "0")}`);
  // FPSR: the cumulative exception flags (IOC DZC OFC UFC IXC IDC) and QC.
  if ((a.fpsr & 0x0800009f) !== (b.fpsr & 0x0800009f)) d.push(`fpsr: oracle ${hex(BigInt(a.fpsr), 32)}, rewind ${hex(BigInt(b.fpsr), 32)}`);
  return d.join("; ");
}

/**
 * Runs the cases on both and throws on the first `limit` (default 10) that differ, each described with its
 * inputs (`describe` names the instruction, e.g. its disassembly). Returns the number of cases compared.
 */
export function assertSameAsOracle(cases: readonly A64Case[], opts: { describe?: (c: A64Case) => string; limit?: number } = {}): number {
  const expected = runOnOracle(cases);
  const actual = runOnRewind(cases);
  const failures: string[] = [];
  for (let i = 0; i < cases.length && failures.length < (opts.limit ?? 10); i++) {
    const diff = resultDifference(expected[i], actual[i]);
    if (diff === "") continue;
    const k = cases[i];
    const inputs = [
      `insn ${hex(BigInt(k.insn >>> 0), 32)}${opts.describe ? ` (${opts.describe(k)})` : ""}`,
      `fpcr ${hex(BigInt((k.fpcr ?? 0) >>> 0), 32)}`,
      `nzcv ${(k.nzcv ?? 0).toString(2).padStart(4, "0")}`,
      ...(k.x ?? []).map((v, r) => `x${r}=${hex(v & MASK64, 64)}`),
      ...(k.v ?? []).map((v, r) => `v${r}=${hex(v & MASK128, 128)}`),
    ];
    failures.push(`case ${i}: ${inputs.join(" ")}\n    ${diff}`);
  }
  if (failures.length) throw new Error(`${failures.length}${failures.length === (opts.limit ?? 10) ? "+" : ""} of ${cases.length} cases differ from qemu-aarch64:\n  ${failures.join("\n  ")}`);
  return cases.length;
}

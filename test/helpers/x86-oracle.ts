// The x86 instruction oracle: single x86-64 instructions run natively on this machine's processor
// (test/oracle/x86/driver.c, built with the host's gcc) on given registers and flags. Only on x86-64 hosts.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import { ROOT } from "./sessions.js";
import { hasTool } from "./tools.js";

const RECORD = 416;
/** Where the driver runs the instruction, and the 256 bytes of memory its operands may use. */
export const CODE_ADDRESS = 0x200000;
export const DATA_ADDRESS = 0x201000;
export const DATA_SIZE = 256;
const SOURCE = join(ROOT, "test/oracle/x86/driver.c");
const MASK64 = (1n << 64n) - 1n;

export interface X86Case {
  /** The instruction's bytes (run at CODE_ADDRESS; memory operands within DATA_ADDRESS..+DATA_SIZE; no rsp). */
  insn: number[];
  /** rax..r15 by register number (rsp's value is ignored). */
  regs: bigint[];
  /** RFLAGS in (CF PF AF ZF SF OF DF are used). */
  rflags: number;
  /** The bytes at DATA_ADDRESS (zeros when absent). */
  memory?: Uint8Array;
}

export interface X86Result {
  /** 0: it ran; otherwise the signal it raised (8 SIGFPE: #DE, 4 SIGILL: #UD...). */
  signal: number;
  regs: bigint[];
  rflags: number;
  memory: Uint8Array;
}

let driver: string | undefined;
let unavailable: string | false | undefined;

/** Why the native oracle cannot run here (a skip reason), or false. */
export function x86OracleUnavailable(): string | false {
  if (unavailable !== undefined) return unavailable;
  if (arch() !== "x64") return (unavailable = "needs an x86-64 host (the oracle runs instructions natively)");
  if (!hasTool("gcc")) return (unavailable = "needs gcc (Debian package gcc)");
  const hash = createHash("sha256").update(readFileSync(SOURCE)).digest("hex").slice(0, 16);
  const dir = join(ROOT, ".cache/oracle");
  const path = join(dir, `x86-driver-${hash}`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const r = spawnSync("gcc", ["-O1", "-o", tmp, SOURCE], { encoding: "utf8" });
    if (r.status !== 0) return (unavailable = `cannot build the x86 oracle driver: ${r.stderr.trim().split("\n").pop()}`);
    renameSync(tmp, path);
  }
  driver = path;
  return (unavailable = false);
}

export function runNative(cases: readonly X86Case[]): X86Result[] {
  const skip = x86OracleUnavailable();
  if (skip) throw new Error(skip);
  const buf = Buffer.alloc(cases.length * RECORD);
  cases.forEach((c, i) => {
    const o = i * RECORD;
    for (let r = 0; r < 16; r++) buf.writeBigUInt64LE((c.regs[r] ?? 0n) & MASK64, o + 8 * r);
    buf.writeBigUInt64LE(BigInt(c.rflags >>> 0), o + 128);
    Buffer.from(c.insn).copy(buf, o + 136);
    buf.writeUInt32LE(c.insn.length, o + 152);
    if (c.memory) Buffer.from(c.memory).copy(buf, o + 160);
  });
  const r = spawnSync(driver!, [], { input: buf, maxBuffer: buf.length + 1024 });
  if (r.status !== 0 || r.stdout.length !== buf.length) throw new Error(`the x86 oracle driver failed (${r.status ?? r.signal}): ${r.stderr}`);
  return cases.map((_, i) => {
    const o = i * RECORD;
    const regs: bigint[] = [];
    for (let k = 0; k < 16; k++) regs.push(r.stdout.readBigUInt64LE(o + 8 * k));
    return { signal: r.stdout.readUInt32LE(o + 152), regs, rflags: Number(r.stdout.readBigUInt64LE(o + 128) & 0xffffffffn), memory: Uint8Array.from(r.stdout.subarray(o + 160, o + 160 + DATA_SIZE)) };
  });
}

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ImageFile } from "../../src/block/file-io.js";

/** A fresh temporary directory, removed when the process exits. */
export function tmpDir(prefix = "rewind-block-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: opts.env });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function qemuImg(...args: string[]): RunResult {
  return run("qemu-img", args, { env: { ...process.env, TZ: "UTC" } });
}

/** Runs qemu-img and fails with its output when it does not exit 0. */
export function qemuImgOk(...args: string[]): string {
  const r = qemuImg(...args);
  if (r.status !== 0) throw new Error(`qemu-img ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Path of the compiled rewind-img CLI module (dist/src/cli/rewind-img.js next to this test's dist dir). */
export function cliModule(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, "../../src/cli/rewind-img.js");
}

export function rewindImg(...args: string[]): RunResult {
  return run(process.execPath, [cliModule(), ...args], { env: { ...process.env, TZ: "UTC" } });
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export class SimulatedCrash extends Error {
  constructor() {
    super("simulated crash");
    this.name = "SimulatedCrash";
  }
}

/** True when `e` is, or was caused by, a SimulatedCrash (the block layer wraps errors in ImageError). */
export function isSimulatedCrash(e: unknown): boolean {
  for (let x: unknown = e; x; x = (x as { cause?: unknown }).cause) if (x instanceof SimulatedCrash) return true;
  return false;
}

/**
 * An ImageFile that dies after `allowedWrites` writes: the next write throws instead of happening, like a
 * process killed between two system calls. Flushes pass through.
 */
export class CrashingFile implements ImageFile {
  writes = 0;
  constructor(readonly inner: ImageFile, private readonly allowedWrites: number) {}
  get path(): string { return this.inner.path; }
  get readOnly(): boolean { return this.inner.readOnly; }
  read(offset: number, length: number): Uint8Array { return this.inner.read(offset, length); }
  write(offset: number, data: Uint8Array): void {
    if (this.writes >= this.allowedWrites) throw new SimulatedCrash();
    this.writes++;
    this.inner.write(offset, data);
  }
  flush(): void { this.inner.flush(); }
  size(): number { return this.inner.size(); }
  allocatedSize(): number { return this.inner.allocatedSize(); }
  truncate(length: number): void {
    if (this.writes >= this.allowedWrites) throw new SimulatedCrash();
    this.writes++;
    this.inner.truncate(length);
  }
  close(): void { this.inner.close(); }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/**
 * The machine configuration stored in a recording: shape validation (for headers read from disk and for the
 * writer's input), the comparison that refuses a mismatched replay, and image hashing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { DriveIdentity, ImageIdentity, RecordingConfig, RecordingError } from "./format-types.js";

const SHA256_RE = /^[0-9a-f]{64}$/;
const IMAGE_KEYS = ["kernel", "initrd", "dtb", "bios"] as const;
type ImageKey = (typeof IMAGE_KEYS)[number];

const IMAGE_LABEL: Record<ImageKey, string> = {
  kernel: "kernel",
  initrd: "initrd",
  dtb: "device tree (-dtb)",
  bios: "firmware (-bios)",
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Checks that `value` has the shape of a RecordingConfig. Returns a description of the first problem
 * ("config.ramSize is not a whole number of bytes"), or undefined when it is well formed. Unknown keys are
 * allowed (a newer writer may add some).
 */
export function configProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "config is not an object";
  const c = value;
  if (typeof c.board !== "string" || c.board === "") return "config.board is not a board name";
  if (typeof c.cpu !== "string") return "config.cpu is not a string";
  if (!isCount(c.ramSize) || c.ramSize === 0) return "config.ramSize is not a whole number of bytes";
  if (!isCount(c.icountShift) || c.icountShift > 62) return "config.icountShift is not an integer from 0 to 62";
  for (const k of IMAGE_KEYS) {
    if (c[k] === undefined) continue;
    const p = imageProblem(c[k]);
    if (p) return `config.${k}${p}`;
  }
  if (typeof c.append !== "string") return "config.append is not a string";
  if (!Array.isArray(c.drives)) return "config.drives is not a list";
  for (let i = 0; i < c.drives.length; i++) {
    const d = c.drives[i] as unknown;
    if (!isObject(d)) return `config.drives[${i}] is not an object`;
    if (typeof d.id !== "string") return `config.drives[${i}].id is not a string`;
    if (typeof d.file !== "string") return `config.drives[${i}].file is not a string`;
    if (typeof d.format !== "string") return `config.drives[${i}].format is not a string`;
    if (!isCount(d.virtualSize)) return `config.drives[${i}].virtualSize is not a whole number of bytes`;
  }
  if (c.snapshot !== undefined && typeof c.snapshot !== "string") return "config.snapshot is not a string";
  if (typeof c.rtcBootSeconds !== "number" || !Number.isFinite(c.rtcBootSeconds)) {
    return "config.rtcBootSeconds is not a number";
  }
  if (c.extra !== undefined && !isObject(c.extra)) return "config.extra is not an object";
  return undefined;
}

function imageProblem(v: unknown): string | undefined {
  if (!isObject(v)) return " is not an image identity";
  if (typeof v.name !== "string") return ".name is not a string";
  if (!isCount(v.size)) return ".size is not a whole number of bytes";
  if (typeof v.sha256 !== "string" || !SHA256_RE.test(v.sha256)) return ".sha256 is not a lower-case hex SHA-256";
  return undefined;
}

// ---- comparison ----

/** "128 MiB", "2 GiB", "1000 bytes". */
export function formatSize(bytes: number): string {
  const units: [number, string][] = [[2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  for (const [size, unit] of units) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return bytes === 1 ? "1 byte" : `${bytes} bytes`;
}

/** Shortest prefixes (at least 12 hex digits) that tell two digests apart. */
function distinctPrefixes(a: string, b: string): [string, string] {
  let n = 12;
  while (n < Math.max(a.length, b.length) && a.slice(0, n) === b.slice(0, n)) n += 4;
  const cut = (s: string) => (s.length > n ? s.slice(0, n) + ".." : s);
  return [cut(a), cut(b)];
}

function describeImage(img: ImageIdentity, shaShown: string): string {
  return `${img.name} (sha256 ${shaShown}, ${formatSize(img.size)})`;
}

/** Canonical JSON (sorted keys) so equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function shown(v: unknown): string {
  const s = canonical(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/**
 * Differences between the configuration a recording was made with and the one this run has, one readable
 * line each; empty when replay may proceed. Image and file *names* are not compared (a moved or renamed
 * image with the same content is fine): images are compared by SHA-256. rtcBootSeconds is an input the
 * recording carries, not a setting, so it is not compared either.
 */
export function compareConfig(recorded: RecordingConfig, current: RecordingConfig): string[] {
  const out: string[] = [];
  if (recorded.board !== current.board) out.push(`board: ${recorded.board} recorded, ${current.board} now`);
  if (recorded.cpu !== current.cpu) out.push(`CPU: ${recorded.cpu} recorded, ${current.cpu} now`);
  if (recorded.ramSize !== current.ramSize) {
    out.push(`RAM size: ${formatSize(recorded.ramSize)} recorded, ${formatSize(current.ramSize)} now`);
  }
  if (recorded.icountShift !== current.icountShift) {
    out.push(`icount shift: ${recorded.icountShift} recorded, ${current.icountShift} now`);
  }
  for (const key of IMAGE_KEYS) {
    const a = recorded[key];
    const b = current[key];
    const label = IMAGE_LABEL[key];
    if (!a && !b) continue;
    if (a && !b) {
      out.push(`${label}: ${describeImage(a, distinctPrefixes(a.sha256, "")[0])} was recorded, this run has none`);
    } else if (!a && b) {
      out.push(`${label}: none was recorded, this run has ${describeImage(b, distinctPrefixes(b.sha256, "")[0])}`);
    } else if (a && b && (a.sha256 !== b.sha256 || a.size !== b.size)) {
      const [sa, sb] = distinctPrefixes(a.sha256, b.sha256);
      const same = a.name === b.name ? " (same name, different content)" : "";
      out.push(`${label}: ${describeImage(a, sa)} was recorded, this run has ${describeImage(b, sb)}${same}`);
    }
  }
  if (recorded.append !== current.append) {
    out.push(`kernel command line: ${JSON.stringify(recorded.append)} recorded, ${JSON.stringify(current.append)} now`);
  }
  out.push(...compareDrives(recorded.drives, current.drives));
  if ((recorded.snapshot ?? "") !== (current.snapshot ?? "")) {
    const s = (v: string | undefined) => (v ? `'${v}'` : "none");
    out.push(`rrsnapshot: ${s(recorded.snapshot)} recorded, ${s(current.snapshot)} now`);
  }
  const ea = recorded.extra ?? {};
  const eb = current.extra ?? {};
  for (const k of [...new Set([...Object.keys(ea), ...Object.keys(eb)])].sort()) {
    const has = (o: Record<string, unknown>) => Object.prototype.hasOwnProperty.call(o, k);
    const va = has(ea) ? canonical(ea[k]) : undefined;
    const vb = has(eb) ? canonical(eb[k]) : undefined;
    if (va === vb) continue;
    out.push(`${k}: ${va === undefined ? "not set" : shown(ea[k])} recorded, ${vb === undefined ? "not set" : shown(eb[k])} now`);
  }
  return out;
}

function compareDrives(recorded: DriveIdentity[], current: DriveIdentity[]): string[] {
  const out: string[] = [];
  const now = new Map(current.map((d) => [d.id, d]));
  const then = new Map(recorded.map((d) => [d.id, d]));
  for (const a of recorded) {
    const b = now.get(a.id);
    if (!b) {
      out.push(`drive '${a.id}' (${a.format}, ${formatSize(a.virtualSize)}) was recorded, this run has no such drive`);
      continue;
    }
    if (a.format !== b.format) out.push(`drive '${a.id}': format ${a.format} recorded, ${b.format} now`);
    if (a.virtualSize !== b.virtualSize) {
      out.push(`drive '${a.id}': size ${formatSize(a.virtualSize)} recorded, ${formatSize(b.virtualSize)} now`);
    }
  }
  for (const b of current) {
    if (!then.has(b.id)) out.push(`drive '${b.id}' (${b.format}, ${formatSize(b.virtualSize)}) is new in this run (not in the recording)`);
  }
  return out;
}

// ---- image hashing ----

const HASH_BLOCK = 1024 * 1024;

function hashError(file: string, e: unknown): RecordingError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err?.code === "ENOENT" ? "no such file" :
    err?.code === "EACCES" || err?.code === "EPERM" ? "permission denied" :
    err?.code === "EISDIR" ? "it is a directory" :
    err?.message ?? String(e);
  return new RecordingError("io", `cannot read '${file}' to identify it for the recording: ${why}`, { cause: e });
}

/** Size and SHA-256 of an image file, read in 1 MiB blocks (synchronous: used while setting up a machine). */
export function hashImageFile(file: string): ImageIdentity {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw hashError(file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    const hash = createHash("sha256");
    const buf = Buffer.allocUnsafe(HASH_BLOCK);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, HASH_BLOCK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
    return { name: path.basename(file), size, sha256: hash.digest("hex") };
  } catch (e) {
    throw hashError(file, e);
  } finally {
    fs.closeSync(fd);
  }
}

/** The same as hashImageFile, streaming without blocking the event loop. */
export async function hashImageFileAsync(file: string): Promise<ImageIdentity> {
  try {
    const st = await fs.promises.stat(file);
    if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    const hash = createHash("sha256");
    let size = 0;
    for await (const block of fs.createReadStream(file, { highWaterMark: HASH_BLOCK })) {
      hash.update(block as Buffer);
      size += (block as Buffer).length;
    }
    return { name: path.basename(file), size, sha256: hash.digest("hex") };
  } catch (e) {
    throw hashError(file, e);
  }
}

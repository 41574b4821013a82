/**
 * Builds a Linux initramfs (a gzip-compressed cpio archive in the "newc" format the kernel unpacks) from a
 * directory, reproducibly: entries in path order, every timestamp 0, owner root, permissions normalised
 * (directories and executables 0755, other files 0644, symlinks 0777), so the same inputs give the same bytes
 * (and a recording of a boot from it stays valid). Device nodes cannot be created without privileges, so the few a
 * boot needs (/dev/console) are added to the archive directly.
 *
 * CLI: node dist/src/tools/initramfs.js DIR OUT.cpio.gz [--dev-console]
 * Exit status: 0 written, 2 error.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

export type CpioEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Uint8Array; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "char"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** One newc header: "070701" and 13 fields of 8 hex digits. */
function header(ino: number, mode: number, nlink: number, size: number, rdevMajor: number, rdevMinor: number, nameSize: number): string {
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return "070701" + [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameSize, 0].map(hex).join("");
}

/** The uncompressed newc archive of `entries` (in the order given), with the TRAILER!!! entry. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  const pad = () => {
    const n = (4 - (offset % 4)) % 4;
    if (n) push(Buffer.alloc(n));
  };
  const add = (ino: number, name: string, mode: number, data: Uint8Array, nlink: number, major = 0, minor = 0) => {
    const nameBytes = Buffer.from(name + "\0");
    push(Buffer.from(header(ino, mode, nlink, data.length, major, minor, nameBytes.length), "ascii"));
    push(nameBytes);
    pad();
    push(Buffer.from(data));
    pad();
  };
  entries.forEach((e, i) => {
    const name = e.path.replace(/^\/+/, "");
    if (name === "" || name.split("/").some((p) => p === ".." || p === "")) throw new Error(`bad archive path ${JSON.stringify(e.path)}`);
    const ino = 721 + i;
    switch (e.kind) {
      case "dir":
        add(ino, name, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), 2);
        break;
      case "file":
        add(ino, name, S_IFREG | (e.mode ?? 0o644), e.data, 1);
        break;
      case "symlink":
        add(ino, name, S_IFLNK | 0o777, Buffer.from(e.target), 1);
        break;
      case "char":
        add(ino, name, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), 1, e.major, e.minor);
        break;
    }
  });
  add(0, "TRAILER!!!", 0, new Uint8Array(0), 1);
  return Buffer.concat(parts);
}

/** The entries for the tree at `dir` (its contents, not itself), in path order, permissions normalised. */
export function entriesFromDirectory(dir: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (rel: string) => {
    const names = readdirSync(join(dir, rel)).sort();
    for (const n of names) {
      const path = rel ? `${rel}/${n}` : n;
      const full = join(dir, path);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out.push({ kind: "symlink", path, target: readlinkSync(full) });
      else if (st.isDirectory()) {
        out.push({ kind: "dir", path });
        walk(path);
      } else if (st.isFile()) out.push({ kind: "file", path, data: readFileSync(full), mode: st.mode & 0o111 ? 0o755 : 0o644 });
      else throw new Error(`${full}: only directories, files and symlinks go into an initramfs`);
    }
  };
  walk("");
  return out;
}

/** gzip with no name and time 0 in its header: the same archive always compresses to the same bytes. */
export function initramfs(entries: readonly CpioEntry[]): Buffer {
  return gzipSync(cpioArchive(entries), { level: 9 });
}

export function main(argv: string[]): number {
  const args = argv.filter((a) => !a.startsWith("--"));
  const flags = argv.filter((a) => a.startsWith("--"));
  const unknown = flags.filter((f) => f !== "--dev-console");
  if (args.length !== 2 || unknown.length) {
    process.stderr.write(`${unknown.length ? `initramfs: unknown option ${unknown[0]}\n` : ""}usage: initramfs DIR OUT.cpio.gz [--dev-console]\n`);
    return 2;
  }
  try {
    const entries = entriesFromDirectory(args[0]);
    if (flags.includes("--dev-console")) {
      if (!entries.some((e) => e.path === "dev")) entries.push({ kind: "dir", path: "dev" });
      entries.push({ kind: "char", path: "dev/console", major: 5, minor: 1 });
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    writeFileSync(args[1], initramfs(entries));
    return 0;
  } catch (e) {
    process.stderr.write(`initramfs: ${(e as Error).message}\n`);
    return 2;
  }
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = main(process.argv.slice(2));

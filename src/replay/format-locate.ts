/**
 * Finding the recording a user named. A recorder writes `F.tmp-<pid>` and renames it to `F` only when the
 * recording is complete (docs/recording-format.md, "Crash-safety argument"), so a recorder that was killed
 * leaves only its temporary file. Opening `F` for replay therefore also looks beside it for such partial
 * recordings: when `F` does not exist, the newest one stands in for it, with a notice naming it; when `F` exists
 * but an unfinished recording newer than `F` lies beside it, a notice says so (and `F` is replayed, as asked).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RecordingReader, type Recording } from "./format-reader.js";
import { RecordingError } from "./format-types.js";

/** A temporary file left by a recorder (`RecordingWriter.tempPath`). */
export interface PartialRecording {
  path: string;
  /** The recorder's process id, from the file name. */
  pid: number;
  /** Last write (host clock): the newest partial recording is the one most recently written to. */
  mtimeMs: number;
  size: number;
}

export interface OpenedRecording {
  recording: Recording;
  /** The file that was read: the one asked for, or a partial recording standing in for it. */
  path: string;
  /** Set when the file asked for does not exist and this partial recording stands in for it. */
  partial?: PartialRecording;
  /** One line each, for the user, to show before replaying. */
  notices: string[];
}

function regexpEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The temporary files a recorder writing to `file` would use (`<file>.tmp-<pid>[-<n>]`), newest first. */
export function findPartialRecordings(file: string): PartialRecording[] {
  // The writer puts its temporary file next to the file it will replace: through a symlink, next to its target.
  // Each place is (directory as shown to the user, file name).
  const places: [string, string][] = [[path.dirname(file), path.basename(file)]];
  try {
    const real = fs.realpathSync(file);
    places.push([path.dirname(real), path.basename(real)]);
  } catch {
    // missing, or a dangling link
  }
  const found = new Map<string, PartialRecording>();
  for (const [dir, base] of places) {
    const name = new RegExp(`^${regexpEscape(base)}\\.tmp-(\\d+)(?:-\\d+)?$`);
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const m = name.exec(entry);
      if (!m) continue;
      const full = path.join(dir, entry);
      try {
        const st = fs.statSync(full);
        const key = fs.realpathSync(full);
        if (st.isFile() && !found.has(key)) found.set(key, { path: full, pid: Number(m[1]), mtimeMs: st.mtimeMs, size: st.size });
      } catch {
        // removed meanwhile (a recorder finishing), or unreadable: not a candidate
      }
    }
  }
  return [...found.values()].sort((a, b) => b.mtimeMs - a.mtimeMs || b.size - a.size || (a.path < b.path ? 1 : -1));
}

/** Whether process `pid` exists on this host (a recorder may still be writing its file). */
function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describeWriter(p: PartialRecording): string {
  return isRunning(p.pid)
    ? `process ${p.pid}, which is still running, may still be writing it`
    : `its recorder (process ${p.pid}) did not finish`;
}

function missing(file: string): boolean {
  try {
    fs.statSync(file);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR";
  }
}

/**
 * Reads the recording `file` for replay (RecordingReader.open), or, when `file` does not exist, the newest
 * partial recording a recorder left in its place. Throws RecordingError only.
 */
export function openRecording(file: string): OpenedRecording {
  if (!missing(file)) {
    const recording = RecordingReader.open(file);
    const notices: string[] = [];
    let mtimeMs: number | undefined;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      // it was just read; if it vanished since, there is nothing to compare
    }
    const newer = mtimeMs === undefined ? [] : findPartialRecordings(file).filter((p) => p.mtimeMs > mtimeMs!);
    if (newer.length > 0) {
      const p = newer[0];
      notices.push(`note: '${p.path}' is a recording newer than '${file}' that was never finished (${describeWriter(p)}); ` +
        `replaying '${file}' as asked (to replay the unfinished one, give rrfile=${p.path})`);
    }
    return { recording, path: file, notices };
  }

  const partials = findPartialRecordings(file);
  if (partials.length === 0) return { recording: RecordingReader.open(file), path: file, notices: [] }; // "no such file"
  const p = partials[0];
  const among = partials.length > 1 ? ` (the newest of ${partials.length} partial recordings beside it)` : "";
  let recording: Recording;
  try {
    recording = RecordingReader.open(p.path);
  } catch (e) {
    if (!(e instanceof RecordingError)) throw e;
    throw new RecordingError(e.code, `'${file}' does not exist, and the partial recording left in its place by a ` +
      `recorder that did not finish cannot be replayed${among}: ${e.message}`, { cause: e });
  }
  const notice = recording.truncated
    ? `'${file}' does not exist; replaying '${p.path}' instead${among}: a partial recording (${describeWriter(p)}), ` +
      `up to its last ${recording.damaged ? "good" : "whole"} chunk`
    : `'${file}' does not exist; replaying '${p.path}' instead${among}: a complete recording that its recorder ` +
      `(process ${p.pid}) did not move into place; rename it to '${file}' to keep it`;
  return { recording, path: p.path, partial: p, notices: [notice] };
}

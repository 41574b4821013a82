/**
 * Writes a recording. Crash safety: everything goes to a temporary file next to the destination; each chunk
 * reaches the file with one write, so a killed writer leaves whole chunks plus at most one partial chunk (which
 * the reader drops); the destination is replaced only by the atomic rename in finish(), after an fsync.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "./crc32.js";
import { configProblem } from "./format-config.js";
import {
  encodeChunk, encodeHeaderPayload, encodeTrailerPayload, IndexEntry, isHexDigest, MAX_END_REASON, RecordsBuilder,
} from "./format-chunks.js";
import {
  ChunkType, DEFAULT_CHUNK_TARGET, DEFAULT_WRITER, DigestMark, FORMAT_VERSION, InputEvent, MAGIC, MAX_DIGEST_BYTES,
  MAX_EVENT_KIND, MAX_EVENT_PAYLOAD, MAX_HEADER_JSON, MAX_PART_NAME, RecordingConfig, RecordingError,
  TimelinePosition, Trailer,
} from "./format-types.js";

/** What create() needs; writer, createdAt and formatVersion default to this Rewind's values. */
export interface NewRecordingHeader {
  config: RecordingConfig;
  writer?: string;
  createdAt?: string;
  formatVersion?: number;
}

export interface RecordingWriterOptions {
  /** Payload size at which a records chunk is written out (default 64 KiB). */
  chunkTarget?: number;
}

/** The oldest reader version that can read what this writer produces. */
const MIN_READER_VERSION = 2;
/** Keeps one digest mark well inside the largest chunk a reader accepts. */
const MAX_DIGEST_PARTS = 65536;

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function systemReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT": return "no such file or directory";
    case "EACCES": case "EPERM": return "permission denied";
    case "ENOSPC": return "no space left on device";
    case "EROFS": return "read-only file system";
    case "EDQUOT": return "disk quota exceeded";
    case "EISDIR": return "is a directory";
    default: return err?.message ?? String(e);
  }
}

export class RecordingWriter {
  private fd: number | undefined;
  private state: "open" | "finished" | "aborted" | "failed" = "open";
  private offset = 0;
  private fileCrc = 0;
  private readonly records = new RecordsBuilder();
  /** Latest position recorded (a record, or a flush() promise that nothing earlier will follow). */
  private last: TimelinePosition = { icount: 0, ticks: 0 };
  private lastChunkEnd: TimelinePosition | undefined;
  private readonly index: IndexEntry[] = [];
  private events = 0;
  private digests = 0;

  private constructor(
    /** The destination, as given. */
    readonly path: string,
    /** The file being written until finish(); after a crash it holds the recording so far (readable as-is). */
    readonly tempPath: string,
    private readonly target: string,
    fd: number,
    private readonly chunkTarget: number,
  ) {
    this.fd = fd;
  }

  /** Starts a recording at `filePath`. An existing file there is left untouched until finish(). */
  static create(filePath: string, header: NewRecordingHeader, options: RecordingWriterOptions = {}): RecordingWriter {
    const headerBytes = encodeNewHeader(header);
    const chunkTarget = options.chunkTarget ?? DEFAULT_CHUNK_TARGET;
    if (!isCount(chunkTarget) || chunkTarget < 1) {
      throw new RecordingError("invalid", `chunkTarget must be a positive integer, got ${chunkTarget}`);
    }
    const { target, mode } = inspectDestination(filePath);
    const { fd, tempPath } = openTemp(filePath, target);
    const w = new RecordingWriter(filePath, tempPath, target, fd, chunkTarget);
    try {
      if (mode !== undefined) fs.fchmodSync(fd, mode); // a replaced recording keeps its permissions
    } catch {
      // not important enough to fail the recording
    }
    const first = new Uint8Array(MAGIC.length + headerBytes.length);
    first.set(MAGIC);
    first.set(headerBytes, MAGIC.length);
    try {
      w.write(first);
    } catch (e) {
      w.abort();
      throw new RecordingError("io", `cannot record to '${filePath}': ${systemReason((e as Error).cause ?? e)}`, { cause: e });
    }
    return w;
  }

  /** Still accepting records: not finished, aborted or failed. */
  get isOpen(): boolean {
    return this.state === "open";
  }

  get eventCount(): number {
    return this.events;
  }

  get digestCount(): number {
    return this.digests;
  }

  /** Bytes in the file so far (excluding records not yet flushed). */
  get bytesWritten(): number {
    return this.offset;
  }

  /** The latest recorded position. */
  get position(): TimelinePosition {
    return { ...this.last };
  }

  /** Records an input. Events and digests must come in time order: icount and ticks never decrease. */
  addEvent(e: InputEvent): void {
    this.assertOpen();
    if (!Number.isInteger(e.kind) || e.kind < 1 || e.kind > MAX_EVENT_KIND) {
      throw new RecordingError("invalid", `event kind must be an integer from 1 to ${MAX_EVENT_KIND}, got ${e.kind}`);
    }
    if (!(e.payload instanceof Uint8Array)) throw new RecordingError("invalid", "event payload must be a Uint8Array");
    if (e.payload.length > MAX_EVENT_PAYLOAD) {
      throw new RecordingError("invalid", `event payload of ${e.payload.length} bytes exceeds ${MAX_EVENT_PAYLOAD}`);
    }
    this.advance("an event", e.icount, e.ticks);
    this.records.addEvent(e);
    this.events++;
    this.maybeFlush();
  }

  /** Records a state digest taken at (icount, ticks). */
  addDigest(m: DigestMark): void {
    this.assertOpen();
    if (!isHexDigest(m.digest)) {
      throw new RecordingError("invalid", `digest must be hex, at most ${MAX_DIGEST_BYTES} bytes: ${String(m.digest)}`);
    }
    if (typeof m.parts !== "object" || m.parts === null) throw new RecordingError("invalid", "digest parts must be an object");
    const parts = Object.entries(m.parts);
    if (parts.length > MAX_DIGEST_PARTS) throw new RecordingError("invalid", `a digest may have at most ${MAX_DIGEST_PARTS} parts`);
    for (const [name, d] of parts) {
      if (name === "" || Buffer.byteLength(name) > MAX_PART_NAME) {
        throw new RecordingError("invalid", `digest part name must be 1 to ${MAX_PART_NAME} bytes: '${name}'`);
      }
      if (!isHexDigest(d)) throw new RecordingError("invalid", `digest of part '${name}' is not hex: ${String(d)}`);
    }
    this.advance("a digest", m.icount, m.ticks);
    this.records.addDigest(m);
    this.digests++;
    this.maybeFlush();
  }

  /**
   * Writes buffered records as a chunk. With `upTo`, also promises that nothing before that position will be
   * added, so a crash after this point still replays up to `upTo` (call it periodically with the machine's
   * current position).
   */
  flush(upTo?: TimelinePosition): void {
    this.assertOpen();
    if (upTo) this.advance("a flush position", upTo.icount, upTo.ticks);
    const end = this.last;
    if (this.records.count === 0) {
      const moved = this.lastChunkEnd
        ? end.icount !== this.lastChunkEnd.icount || end.ticks !== this.lastChunkEnd.ticks
        : upTo !== undefined;
      if (!moved) return;
    }
    const start = this.records.firstPosition ?? end;
    const payload = this.records.finish(end);
    const offset = this.offset;
    this.write(encodeChunk(ChunkType.Records, payload));
    this.index.push({ offset, firstIcount: start.icount });
    this.lastChunkEnd = { ...end };
    this.records.reset();
  }

  /** Forces what has been written to stable storage (costly: call it rarely). */
  sync(): void {
    this.assertOpen();
    try {
      fs.fsyncSync(this.fd!);
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** Writes the trailer, syncs, and atomically moves the recording to its destination. */
  finish(trailer: Trailer): void {
    this.assertOpen();
    if (!isCount(trailer.finalIcount) || !isCount(trailer.finalTicks)) {
      throw new RecordingError("invalid", "trailer finalIcount and finalTicks must be non-negative integers");
    }
    if (trailer.finalIcount < this.last.icount || trailer.finalTicks < this.last.ticks) {
      throw new RecordingError("order", `the recording ends at icount ${trailer.finalIcount} (ticks ` +
        `${trailer.finalTicks}), before icount ${this.last.icount} (ticks ${this.last.ticks}), already recorded`);
    }
    if (!isHexDigest(trailer.finalDigest)) throw new RecordingError("invalid", "trailer finalDigest must be hex");
    if (typeof trailer.endReason !== "string" || Buffer.byteLength(trailer.endReason) > MAX_END_REASON) {
      throw new RecordingError("invalid", `trailer endReason must be a string of at most ${MAX_END_REASON} bytes`);
    }
    if (this.records.count > 0) this.flush();
    const payload = encodeTrailerPayload({
      finalIcount: trailer.finalIcount,
      finalTicks: trailer.finalTicks,
      finalDigest: trailer.finalDigest,
      endReason: trailer.endReason,
      eventCount: this.events,
      digestCount: this.digests,
      index: this.index,
      fileCrc: this.fileCrc,
    });
    this.write(encodeChunk(ChunkType.Trailer, payload));
    try {
      fs.fsyncSync(this.fd!);
      fs.closeSync(this.fd!);
      this.fd = undefined;
    } catch (e) {
      throw this.fail(e);
    }
    try {
      fs.renameSync(this.tempPath, this.target);
    } catch (e) {
      this.state = "failed";
      throw new RecordingError("io", `could not move the finished recording to '${this.path}': ${systemReason(e)}; ` +
        `it is complete in '${this.tempPath}'`, { cause: e });
    }
    this.state = "finished";
    syncDirectory(path.dirname(this.target));
  }

  /** Stops recording and removes the temporary file; the destination is untouched. Safe to call twice. */
  abort(): void {
    if (this.state === "finished" || this.state === "aborted") return;
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already unusable; removing it is what matters
      }
      this.fd = undefined;
    }
    try {
      fs.unlinkSync(this.tempPath);
    } catch {
      // gone already
    }
    this.state = "aborted";
  }

  private advance(what: string, icount: number, ticks: number): void {
    if (!isCount(icount) || !isCount(ticks)) {
      throw new RecordingError("invalid", `${what} needs non-negative integer icount and ticks, got ${icount}, ${ticks}`);
    }
    if (icount < this.last.icount || ticks < this.last.ticks) {
      throw new RecordingError("order", `${what} at icount ${icount} (ticks ${ticks}) comes before icount ` +
        `${this.last.icount} (ticks ${this.last.ticks}), already recorded: events and digests must be added in ` +
        "time order");
    }
    this.last = { icount, ticks };
  }

  private maybeFlush(): void {
    if (this.records.byteLength >= this.chunkTarget) this.flush();
  }

  private assertOpen(): void {
    if (this.state === "open") return;
    const why = this.state === "failed" ? `failed earlier; what was recorded is in '${this.tempPath}'` : `was ${this.state}`;
    throw new RecordingError("state", `the recording '${this.path}' ${why}`);
  }

  private write(bytes: Uint8Array): void {
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(this.fd!, bytes, done, bytes.length - done);
    } catch (e) {
      throw this.fail(e);
    }
    this.fileCrc = crc32(bytes, this.fileCrc);
    this.offset += bytes.length;
  }

  private fail(e: unknown): RecordingError {
    this.state = "failed";
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // ignore
      }
      this.fd = undefined;
    }
    return new RecordingError("io", `writing the recording '${this.path}' failed: ${systemReason(e)}; what was ` +
      `recorded so far is in '${this.tempPath}'`, { cause: e });
  }
}

function encodeNewHeader(h: NewRecordingHeader): Uint8Array {
  if (h.formatVersion !== undefined && h.formatVersion !== FORMAT_VERSION) {
    throw new RecordingError("invalid", `this Rewind writes recording format version ${FORMAT_VERSION}, not ${h.formatVersion}`);
  }
  let json: string;
  try {
    json = JSON.stringify({
      writer: h.writer ?? DEFAULT_WRITER,
      createdAt: h.createdAt ?? new Date().toISOString(),
      config: h.config,
    });
  } catch (e) {
    throw new RecordingError("invalid", `the machine configuration cannot be stored: ${(e as Error).message}`);
  }
  // Check what a reader will see (JSON drops undefined, turns NaN into null).
  const problem = configProblem((JSON.parse(json) as { config: unknown }).config);
  if (problem) throw new RecordingError("invalid", `the machine configuration cannot be stored: ${problem}`);
  if (Buffer.byteLength(json) > MAX_HEADER_JSON) {
    throw new RecordingError("invalid", `the machine configuration is larger than ${MAX_HEADER_JSON} bytes`);
  }
  return encodeChunk(ChunkType.Header, encodeHeaderPayload(FORMAT_VERSION, MIN_READER_VERSION, json));
}

/** Where the finished file goes (through a symlink to its target) and the mode of a file it replaces. */
function inspectDestination(filePath: string): { target: string; mode?: number } {
  let target = filePath;
  try {
    if (fs.lstatSync(filePath).isSymbolicLink()) target = fs.realpathSync(filePath);
  } catch {
    // missing, or a dangling link: the link itself is replaced
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    return { target };
  }
  if (st.isDirectory()) throw new RecordingError("io", `cannot record to '${filePath}': it is a directory`);
  if (!st.isFile()) {
    throw new RecordingError("io", `cannot record to '${filePath}': it exists and is not a regular file; refusing to replace it`);
  }
  return { target, mode: st.mode & 0o7777 };
}

function openTemp(filePath: string, target: string): { fd: number; tempPath: string } {
  for (let n = 0; n < 100; n++) {
    const tempPath = `${target}.tmp-${process.pid}${n ? `-${n}` : ""}`;
    try {
      return { fd: fs.openSync(tempPath, "wx", 0o666), tempPath };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
      const dir = path.dirname(target);
      const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? `the directory '${dir}' does not exist` : systemReason(e);
      throw new RecordingError("io", `cannot record to '${filePath}': ${why}`, { cause: e });
    }
  }
  throw new RecordingError("io", `cannot record to '${filePath}': too many stale temporary files next to it`);
}

/** Makes the rename durable; not every file system lets a directory be fsynced, and that is fine. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

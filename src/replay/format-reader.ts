/**
 * Reads and validates a recording. The rule for damage (docs/recording-format.md, "Damage and truncation"):
 * a file that simply stops -- mid-chunk, without a trailer, or in zero fill -- is an interrupted recording,
 * readable up to its last whole chunk (`truncated: true`). A last chunk that is all there but fails its checksum
 * (a flipped bit in the trailer, say) is damage, not an interruption: still readable up to the last good chunk,
 * but reported as `damaged`. Damage with intact data after it is corruption: a hard RecordingError naming the
 * byte offset, because replaying past a hole would silently drop inputs.
 */
import * as fs from "node:fs";
import { crc32 } from "./crc32.js";
import { configProblem } from "./format-config.js";
import { decodeRecords, decodeTrailer, decodeUtf8, TrailerContent } from "./format-chunks.js";
import { describeForeignFile } from "./format-sniff.js";
import { DecodeError } from "./varint.js";
import {
  CHUNK_OPTIONAL_BIT, CHUNK_OVERHEAD, ChunkType, DigestMark, FORMAT_VERSION, OLDEST_READABLE_VERSION, InputEvent, MAGIC, MAX_CHUNK_PAYLOAD,
  MAX_HEADER_JSON, RecordingConfig, RecordingError, RecordingHeader, TimelinePosition, Trailer,
} from "./format-types.js";

export interface ChunkInfo {
  /** File offset of the chunk's type byte. */
  offset: number;
  type: number;
  /** Whole chunk, framing included. */
  size: number;
}

export interface Recording {
  header: RecordingHeader;
  events: InputEvent[];
  digests: DigestMark[];
  /** Absent when the recording was interrupted or its end is damaged. */
  trailer?: Trailer;
  /** No valid trailer: the recording was interrupted, or (see `damaged`) its end is damaged; events and digests
   * are those of its whole, good chunks. */
  truncated: boolean;
  /**
   * The file ends in damage rather than simply stopping: its last chunk is all there but fails its checksum (or
   * its length field was altered). `offset` is the damaged byte when it can be pinned down (one flipped bit), else
   * the offset of that chunk. Set only with `truncated`; `message` is one line for the user.
   */
  damaged?: { offset: number; chunkOffset: number; message: string };
  /** How far the recording is complete: the trailer's final position, or the end of the last whole chunk. */
  validUpTo: TimelinePosition;
  warnings: string[];
  /** The valid chunks, in file order (the header chunk first). */
  chunks: ChunkInfo[];
  fileSize: number;
}

type Scan =
  | { kind: "ok"; type: number; payload: Uint8Array; end: number }
  | { kind: "eof" }
  | { kind: "torn"; have: number; want?: number } // a chunk cut off by the end of the file
  | { kind: "zeros"; count: number } // zero fill to the end of the file
  | { kind: "zero-tail"; size: number } // the last chunk is cut short by zero fill (host crash)
  | { kind: "damaged-last"; size: number; at: number; what: string; type?: number } // the last chunk is damaged
  // Damage with more data after it. at: the damaged byte, when known; checksum: the chunk fails its checksum, and
  // flip: the byte whose one flipped bit explains that.
  | { kind: "bad"; what: string; at?: number; checksum?: true; flip?: number };

/** Zero fill from a sector boundary to the end of the file: how a host crash loses the end of a file. */
const SECTOR = 512;

function allZero(b: Uint8Array, from: number): boolean {
  for (let i = from; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Whether a last chunk that fails its checksum ends in zero fill that covers its CRC and starts at or before a
 * sector boundary: the data of a write lost in a host crash (the file's size reached the disk, the data did not).
 * Data that merely ends in a few zeros does not qualify: a stored CRC of 0 has odds of 2^-32.
 */
function endsInZeroFill(b: Uint8Array, chunkOff: number): boolean {
  let z = b.length;
  while (z > chunkOff + 5 && b[z - 1] === 0) z--;
  return b.length - z >= 4 && Math.ceil(z / SECTOR) * SECTOR < b.length;
}

/** The chunk at `off` taken to end at the end of the file: does it check out with its length field replaced? */
function checksWithLengthToEof(b: Uint8Array, off: number): boolean {
  return checksWithLength(b, off, b.length - off - CHUNK_OVERHEAD);
}

/** Whether the chunk at `off`, framed with payload length `length`, checks out (and fits in the file). */
function checksWithLength(b: Uint8Array, off: number, length: number): boolean {
  const end = off + CHUNK_OVERHEAD + length;
  if (length > MAX_CHUNK_PAYLOAD || end > b.length) return false;
  const framing = Uint8Array.of(b[off], length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, length >>> 24);
  const crc = crc32(b.subarray(off + 5, end - 4), crc32(framing));
  return crc === new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(end - 4, true);
}

/**
 * A chunk that seems cut off by the end of the file, but whose length with one bit flipped back frames a chunk
 * that checks out, ending before the end of the file: a damaged length field, with data after it. (A killed
 * writer cannot produce this; reading it as an interruption would silently drop the rest of the file.)
 */
function flippedLengthEnd(b: Uint8Array, off: number, length: number): { length: number; at: number } | undefined {
  for (let bit = 0; bit < 32; bit++) {
    const real = (length ^ (1 << bit)) >>> 0;
    if (off + CHUNK_OVERHEAD + real < b.length && checksWithLength(b, off, real)) return { length: real, at: off + 1 + (bit >> 3) };
  }
  return undefined;
}

const CRC_POLY = 0xedb88320;
/** Largest chunk searched for a single flipped bit (8 steps per byte: ~10 ms per MiB). */
const MAX_LOCATE = 1024 * 1024;

/**
 * The file offset of the one flipped bit that explains a chunk's checksum failure, if one does. CRC-32 is
 * linear: a flipped bit changes the CRC by a value that depends only on its distance from the end, so walking
 * the CRC register back from the end finds it (it is unique within 2^32 - 1 bits).
 */
function locateFlippedBit(b: Uint8Array, off: number, end: number): number | undefined {
  const data = b.subarray(off, end - 4);
  if (data.length > MAX_LOCATE) return undefined;
  const syndrome = (crc32(data) ^ new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(end - 4, true)) >>> 0;
  if (syndrome === 0) return undefined;
  if ((syndrome & (syndrome - 1)) === 0) return end - 4 + ((31 - Math.clz32(syndrome)) >> 3); // in the stored CRC
  // A flip of bit j of byte k changes the CRC by step^t(1), t = 8 * (n - k) - j.
  let r = 1;
  for (let t = 1; t <= 8 * data.length; t++) {
    r = r & 1 ? (r >>> 1) ^ CRC_POLY : r >>> 1;
    if (r >>> 0 === syndrome) return off + data.length - Math.ceil(t / 8);
  }
  return undefined;
}

function scanChunk(b: Uint8Array, off: number): Scan {
  const remaining = b.length - off;
  if (remaining === 0) return { kind: "eof" };
  const zeros = () => (allZero(b, off) ? ({ kind: "zeros", count: remaining } as const) : undefined);
  if (remaining < 5) return zeros() ?? { kind: "torn", have: remaining };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[off];
  const length = dv.getUint32(off + 1, true);
  // A last chunk whose length field was damaged: read with the length it must have had, it checks out.
  const damagedLength = (): Scan | undefined => {
    if (!checksWithLengthToEof(b, off)) return undefined;
    const diff = (length ^ (remaining - CHUNK_OVERHEAD)) >>> 0;
    const at = off + 1 + ((diff & (diff - 1)) === 0 ? (31 - Math.clz32(diff)) >> 3 : 0);
    return { kind: "damaged-last", size: remaining, at, type, what: `has a damaged length field (it says ${length} ` +
      `bytes of payload; the chunk holds ${remaining - CHUNK_OVERHEAD})` };
  };
  const misframed = (): Scan | undefined => {
    const real = flippedLengthEnd(b, off, length);
    return real && { kind: "bad", at: real.at, what: `a chunk's length field is damaged (it says ${length} bytes of ` +
      `payload; the chunk, which checks out, holds ${real.length})` };
  };
  if (length > MAX_CHUNK_PAYLOAD) {
    return zeros() ?? damagedLength() ?? misframed() ??
      { kind: "bad", what: `a chunk claims ${length} bytes (at most ${MAX_CHUNK_PAYLOAD} are possible)` };
  }
  const end = off + CHUNK_OVERHEAD + length;
  if (end > b.length) {
    return zeros() ?? damagedLength() ?? misframed() ?? { kind: "torn", have: remaining, want: CHUNK_OVERHEAD + length };
  }
  const stored = dv.getUint32(end - 4, true);
  if (crc32(b.subarray(off, end - 4)) === stored) return { kind: "ok", type, payload: b.subarray(off + 5, end - 4), end };
  if (end === b.length) {
    if (endsInZeroFill(b, off)) return { kind: "zero-tail", size: remaining };
    const at = locateFlippedBit(b, off, end);
    // The type is known only when the damage is elsewhere.
    return { kind: "damaged-last", size: remaining, at: at ?? off, type: at !== undefined && at !== off ? type : undefined,
      what: "fails its checksum" + (at === undefined ? "" : " (one flipped bit)") };
  }
  const zeroFill = zeros();
  if (zeroFill) return zeroFill;
  const flip = locateFlippedBit(b, off, end);
  return damagedLength() ?? misframed() ?? { kind: "bad", checksum: true, flip, what: "a chunk fails its checksum" +
    (flip === undefined ? "" : ` (one flipped bit, at byte offset ${flip})`) };
}

function chunkName(type: number | undefined): string {
  return type === ChunkType.Trailer ? "the trailer" : type === ChunkType.Records ? "a records chunk" :
    type === ChunkType.Header ? "the header" : "a chunk";
}

export class RecordingReader {
  /** Reads and validates the recording at `path`. Throws RecordingError only. */
  static open(path: string): Recording {
    let bytes: Uint8Array;
    try {
      if (fs.statSync(path).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      bytes = fs.readFileSync(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why =
        err?.code === "ENOENT" ? "no such file" :
        err?.code === "EACCES" || err?.code === "EPERM" ? "permission denied" :
        err?.code === "EISDIR" ? "it is a directory" :
        err?.code === "ERR_FS_FILE_TOO_LARGE" ? "it is too large to be a recording" :
        err?.message ?? String(e);
      throw new RecordingError("io", `cannot read the recording '${path}': ${why}`, { cause: e });
    }
    return RecordingReader.fromBytes(bytes, path);
  }

  /** Validates a recording held in memory; `name` is used in messages. Throws RecordingError only. */
  static fromBytes(bytes: Uint8Array, name = "recording"): Recording {
    try {
      // A plain Uint8Array view, so payload slices are Uint8Arrays (not Buffers) whatever the caller passed.
      return parse(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name);
    } catch (e) {
      if (e instanceof RecordingError) throw e;
      // A bug here must still not show a user a stack trace.
      throw new RecordingError("corrupt", `'${name}' could not be read (internal error while reading: ${(e as Error)?.message ?? e})`,
        { cause: e });
    }
  }
}

/** Reads a recording file (the same as RecordingReader.open). */
export function readRecording(path: string): Recording {
  return RecordingReader.open(path);
}

function parse(b: Uint8Array, name: string): Recording {
  const q = `'${name}'`;
  const corrupt = (offset: number, what: string) =>
    new RecordingError("corrupt", `${q} is corrupt at byte offset ${offset}: ${what}`);

  if (b.length === 0) throw new RecordingError("empty", `${q} is empty (0 bytes): it is not a Rewind recording`);
  const magicOk = b.length >= MAGIC.length && MAGIC.every((x, i) => b[i] === x);
  if (!magicOk) {
    if (b.length < MAGIC.length && MAGIC.subarray(0, b.length).every((x, i) => b[i] === x)) {
      throw new RecordingError("truncated-header", `${q} ends after ${b.length} bytes, inside its signature: the ` +
        "recording was interrupted as it started and holds nothing to replay");
    }
    const what = describeForeignFile(b) ?? "not a Rewind recording (it does not start with the Rewind recording signature)";
    throw new RecordingError("not-a-recording", `${q} is ${what}`);
  }

  // ---- header chunk ----
  const chunks: ChunkInfo[] = [];
  const headerScan = scanChunk(b, MAGIC.length);
  if (headerScan.kind === "eof" || headerScan.kind === "torn" || headerScan.kind === "zeros" || headerScan.kind === "zero-tail") {
    throw new RecordingError("truncated-header", `${q} ends after ${b.length} bytes, before its header is complete: ` +
      "the recording was interrupted as it started and holds nothing to replay");
  }
  if (headerScan.kind === "damaged-last") throw corrupt(headerScan.at, `its header chunk ${headerScan.what}`);
  if (headerScan.kind === "bad" && headerScan.checksum) {
    throw corrupt(headerScan.flip ?? MAGIC.length, `its header chunk fails its checksum${headerScan.flip === undefined ? "" : " (one flipped bit)"}`);
  }
  if (headerScan.kind === "bad") throw corrupt(headerScan.at ?? MAGIC.length, `its header chunk is damaged: ${headerScan.what}`);
  if (headerScan.kind !== "ok") throw corrupt(MAGIC.length, "its header chunk fails its checksum");
  if (headerScan.type !== ChunkType.Header) {
    throw corrupt(MAGIC.length, `the first chunk has type ${headerScan.type}, not the header`);
  }
  chunks.push({ offset: MAGIC.length, type: ChunkType.Header, size: headerScan.end - MAGIC.length });
  const { header, newer } = parseHeader(headerScan.payload, q, corrupt);
  const warnings: string[] = [];
  if (newer) {
    warnings.push(`${q} was made by a newer Rewind (${header.writer}, recording format version ` +
      `${header.formatVersion}); parts this Rewind does not know were ignored`);
  }

  // ---- body ----
  const events: InputEvent[] = [];
  const digests: DigestMark[] = [];
  const recordChunks: { offset: number; firstIcount: number }[] = [];
  let lastEnd: TimelinePosition = { icount: 0, ticks: 0 };
  let trailer: TrailerContent | undefined;
  let trailerOffset = 0;
  let stop: string | undefined; // why the body ended early
  let damage: { at: number; chunkOffset: number; what: string } | undefined;
  let off = headerScan.end;

  for (;;) {
    const s = scanChunk(b, off);
    if (s.kind === "eof") {
      stop = `it ends at byte offset ${off} without a trailer`;
      break;
    }
    if (s.kind === "torn") {
      stop = s.want !== undefined
        ? `it ends inside a chunk at byte offset ${off} (${s.have} of its ${s.want} bytes are present)`
        : `it ends inside a chunk header at byte offset ${off}`;
      break;
    }
    if (s.kind === "zeros") {
      stop = `its last ${s.count} bytes, from byte offset ${off}, are zeros (typical after a host crash)`;
      break;
    }
    if (s.kind === "zero-tail") {
      stop = `its last chunk, at byte offset ${off} (${s.size} bytes), ends in zero fill (typical after a host crash) ` +
        "and was ignored";
      break;
    }
    if (s.kind === "damaged-last") {
      damage = { at: s.at, chunkOffset: off, what: `its last chunk, at byte offset ${off} (${chunkName(s.type)}, ` +
        `${s.size} bytes), is all there but ${s.what}` };
      break;
    }
    if (s.kind === "bad") {
      throw corrupt(s.at ?? off, `${s.what}, and ${b.length - off} bytes of the file follow; this is damage inside the ` +
        "recording, not an interrupted one, so it cannot be replayed");
    }
    const payloadOffset = off + 5;
    if (s.type === ChunkType.Records) {
      let decoded;
      try {
        decoded = decodeRecords(s.payload, lastEnd);
      } catch (e) {
        if (e instanceof DecodeError) throw corrupt(payloadOffset + e.offset, e.message);
        throw e;
      }
      for (const e of decoded.events) events.push(e);
      for (const d of decoded.digests) digests.push(d);
      recordChunks.push({ offset: off, firstIcount: decoded.start.icount });
      lastEnd = decoded.end;
    } else if (s.type === ChunkType.Trailer) {
      try {
        trailer = decodeTrailer(s.payload);
      } catch (e) {
        if (e instanceof DecodeError) throw corrupt(payloadOffset + e.offset, e.message);
        throw e;
      }
      trailerOffset = off;
    } else if (s.type === ChunkType.Header) {
      throw corrupt(off, "a second header chunk");
    } else if ((s.type & CHUNK_OPTIONAL_BIT) === 0) {
      const hint = newer ? "it was made by a newer Rewind" : "the file is damaged or was made by a newer Rewind";
      throw new RecordingError(newer ? "newer-version" : "corrupt", `${q} contains a chunk of type ${s.type} at byte ` +
        `offset ${off} that this Rewind does not understand (${hint})`);
    }
    chunks.push({ offset: off, type: s.type, size: s.end - off });
    off = s.end;
    if (trailer) break;
  }

  if (trailer) {
    checkTrailer(trailer, { lastEnd, events: events.length, digests: digests.length, recordChunks,
      fileCrc: crc32(b.subarray(0, trailerOffset)) }, (what) => corrupt(trailerOffset, `the trailer ${what}`));
    if (off < b.length) warnings.push(`${q} has ${b.length - off} unexpected bytes after its trailer; they were ignored`);
  }

  const validUpTo = trailer ? { icount: trailer.finalIcount, ticks: trailer.finalTicks } : { ...lastEnd };
  let damaged: Recording["damaged"];
  if (damage) {
    const message = `${q} is damaged at byte offset ${damage.at}: ${damage.what}. This is damage, not an interrupted ` +
      `recording; only what comes before it can be replayed, up to icount ${validUpTo.icount} ` +
      `(${plural(events.length, "event")} in ${plural(recordChunks.length, "good chunk")})`;
    damaged = { offset: damage.at, chunkOffset: damage.chunkOffset, message };
    warnings.push(message);
  } else if (!trailer) {
    warnings.push(`${q} is incomplete: ${stop}. The recording was interrupted; it replays up to icount ` +
      `${validUpTo.icount} (${plural(events.length, "event")} in ${plural(recordChunks.length, "whole chunk")})`);
  }
  return {
    header,
    events,
    digests,
    trailer: trailer && {
      finalIcount: trailer.finalIcount, finalTicks: trailer.finalTicks, finalDigest: trailer.finalDigest,
      endReason: trailer.endReason,
    },
    truncated: !trailer,
    ...(damaged && { damaged }),
    validUpTo,
    warnings,
    chunks,
    fileSize: b.length,
  };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function parseHeader(p: Uint8Array, q: string, corrupt: (offset: number, what: string) => RecordingError):
  { header: RecordingHeader; newer: boolean } {
  const at = MAGIC.length + 5;
  if (p.length < 4) throw corrupt(at, "the header chunk is too short");
  const formatVersion = p[0] | (p[1] << 8);
  const minReader = p[2] | (p[3] << 8);
  if (formatVersion === 0 || minReader === 0 || minReader > formatVersion) {
    throw corrupt(at, `impossible format version numbers (${formatVersion}, readable from ${minReader})`);
  }
  let json: unknown;
  let jsonError: string | undefined;
  if (p.length - 4 > MAX_HEADER_JSON) {
    jsonError = `the header is ${p.length - 4} bytes (at most ${MAX_HEADER_JSON})`;
  } else {
    try {
      json = JSON.parse(decodeUtf8(p.subarray(4), "the header", 4));
    } catch (e) {
      jsonError = `the header is not valid JSON (${(e as Error).message})`;
    }
  }
  const obj = (typeof json === "object" && json !== null && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
  const writer = typeof obj.writer === "string" ? obj.writer : undefined;
  if (minReader > FORMAT_VERSION) {
    throw new RecordingError("newer-version", `${q} was made by a newer Rewind (${writer ?? "unknown writer"}, ` +
      `recording format version ${formatVersion}); this Rewind reads recording format version ${FORMAT_VERSION}. ` +
      "Replay it with the Rewind that recorded it, or a newer one");
  }
  if (formatVersion < OLDEST_READABLE_VERSION) {
    throw new RecordingError("older-version", `${q} was made by an older Rewind (${writer ?? "unknown writer"}, ` +
      `recording format version ${formatVersion}), whose timing rules differ from this one's (docs/icount.md): ` +
      "it would not replay the same. Record it again, or replay it with the Rewind that made it");
  }
  if (jsonError) throw corrupt(at + 4, jsonError);
  if (json !== obj) throw corrupt(at + 4, "the header is not a JSON object");
  if (writer === undefined) throw corrupt(at + 4, "the header has no writer name");
  if (typeof obj.createdAt !== "string") throw corrupt(at + 4, "the header has no creation time");
  const problem = configProblem(obj.config);
  if (problem) throw corrupt(at + 4, `the header's machine configuration is malformed: ${problem}`);
  return {
    header: { formatVersion, writer, createdAt: obj.createdAt, config: obj.config as RecordingConfig },
    newer: formatVersion > FORMAT_VERSION,
  };
}

interface Observed {
  lastEnd: TimelinePosition;
  events: number;
  digests: number;
  recordChunks: { offset: number; firstIcount: number }[];
  fileCrc: number;
}

function checkTrailer(t: TrailerContent, o: Observed, fail: (what: string) => RecordingError): void {
  if (t.fileCrc !== o.fileCrc) throw fail("checksum over the whole file does not match its contents");
  if (t.finalIcount < o.lastEnd.icount || t.finalTicks < o.lastEnd.ticks) {
    throw fail(`ends the recording at icount ${t.finalIcount} (ticks ${t.finalTicks}), before its last records ` +
      `(icount ${o.lastEnd.icount}, ticks ${o.lastEnd.ticks})`);
  }
  if (t.eventCount !== o.events) throw fail(`counts ${t.eventCount} events, but the file holds ${o.events}`);
  if (t.digestCount !== o.digests) throw fail(`counts ${t.digestCount} digests, but the file holds ${o.digests}`);
  if (t.index.length !== o.recordChunks.length) {
    throw fail(`indexes ${t.index.length} chunks, but the file holds ${o.recordChunks.length}`);
  }
  for (let i = 0; i < t.index.length; i++) {
    const want = t.index[i];
    const got = o.recordChunks[i];
    if (want.offset !== got.offset || want.firstIcount !== got.firstIcount) {
      throw fail(`index entry ${i} names offset ${want.offset} (icount ${want.firstIcount}), but that chunk is at ` +
        `offset ${got.offset} (icount ${got.firstIcount})`);
    }
  }
}

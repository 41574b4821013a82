/**
 * Chunk framing and the payload codecs of the recording format (docs/recording-format.md):
 *
 *   chunk   = type u8 | length u32le | payload[length] | crc32 u32le (over type, length and payload)
 *   header  = formatVersion u16le | minReaderVersion u16le | JSON (UTF-8)
 *   records = start icount, start ticks, span icount, span ticks, count (varints) | records
 *   trailer = final position, final digest, end reason, counts, index | file crc32 u32le
 */
import { crc32 } from "./crc32.js";
import { ByteReader, ByteWriter, DecodeError } from "./varint.js";
import {
  CHUNK_OVERHEAD, DigestMark, InputEvent, MAX_DIGEST_BYTES, MAX_EVENT_KIND, MAX_PART_NAME, TimelinePosition,
  Trailer,
} from "./format-types.js";

/** Frames a payload as one chunk: the exact bytes written to the file with one write. */
export function encodeChunk(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_OVERHEAD + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = type;
  dv.setUint32(1, payload.length, true);
  out.set(payload, 5);
  dv.setUint32(5 + payload.length, crc32(out.subarray(0, 5 + payload.length)), true);
  return out;
}

// ---- hex ----

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function isHexDigest(s: unknown): s is string {
  return typeof s === "string" && s.length <= MAX_DIGEST_BYTES * 2 && HEX_RE.test(s);
}

export function hexToBytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export function decodeUtf8(b: Uint8Array, what: string, at: number): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8`, at);
  }
}

// ---- header ----

export function encodeHeaderPayload(formatVersion: number, minReaderVersion: number, json: string): Uint8Array {
  const w = new ByteWriter(json.length + 8);
  w.u16le(formatVersion);
  w.u16le(minReaderVersion);
  w.bytes(utf8.encode(json));
  return w.view().slice();
}

// ---- records ----

/**
 * Accumulates the records of one chunk. Positions are delta-coded from the previous record (the first from the
 * chunk start, which is its own position), so a serial byte costs 4-6 bytes. Record head = kind << 1 | ticksFlag;
 * kind 0 is a digest mark; ticksFlag says the ticks delta differs from the icount delta (the CPU idled in
 * between) and follows explicitly. Both deltas are unsigned, so any pair of safe integers fits.
 */
export class RecordsBuilder {
  private readonly body = new ByteWriter(4096);
  private start: TimelinePosition | undefined;
  private prev: TimelinePosition = { icount: 0, ticks: 0 };
  private names = new Map<string, number>();
  count = 0;

  get byteLength(): number {
    return this.body.length;
  }

  get firstPosition(): TimelinePosition | undefined {
    return this.start;
  }

  private position(kind: number, icount: number, ticks: number): void {
    if (!this.start) {
      this.start = { icount, ticks };
      this.prev = this.start;
    }
    const dI = icount - this.prev.icount;
    const dT = ticks - this.prev.ticks;
    this.body.varint(kind * 2 + (dT !== dI ? 1 : 0));
    this.body.varint(dI);
    if (dT !== dI) this.body.varint(dT);
    this.prev = { icount, ticks };
    this.count++;
  }

  addEvent(e: InputEvent): void {
    this.position(e.kind, e.icount, e.ticks);
    this.body.blob(e.payload);
  }

  addDigest(m: DigestMark): void {
    this.position(0, m.icount, m.ticks);
    this.body.blob(hexToBytes(m.digest));
    const parts = Object.entries(m.parts);
    this.body.varint(parts.length);
    for (const [name, digest] of parts) {
      // Part names repeat in every mark: the first use in a chunk spells it out (ref 0), later ones refer to it.
      const ref = this.names.get(name);
      if (ref !== undefined) {
        this.body.varint(ref);
      } else {
        this.body.varint(0);
        this.body.blob(utf8.encode(name));
        this.names.set(name, this.names.size + 1);
      }
      this.body.blob(hexToBytes(digest));
    }
  }

  /** The chunk payload, covering [start, end]; `end` is at or after the last record. */
  finish(end: TimelinePosition): Uint8Array {
    const start = this.start ?? end;
    const w = new ByteWriter(this.body.length + 32);
    w.varint(start.icount);
    w.varint(start.ticks);
    w.varint(end.icount - start.icount);
    w.varint(end.ticks - start.ticks);
    w.varint(this.count);
    w.bytes(this.body.view());
    return w.view().slice();
  }

  reset(): void {
    this.body.reset();
    this.start = undefined;
    this.names.clear();
    this.count = 0;
  }
}

export interface DecodedRecords {
  start: TimelinePosition;
  end: TimelinePosition;
  events: InputEvent[];
  digests: DigestMark[];
}

/** Smallest encoded record (head, icount delta, one length byte): bounds the count before allocating. */
const MIN_RECORD_BYTES = 3;

/** Decodes a records payload; `notBefore` is the previous chunk's end. Throws DecodeError. */
export function decodeRecords(payload: Uint8Array, notBefore: TimelinePosition): DecodedRecords {
  const r = new ByteReader(payload);
  const start = { icount: r.varint("the chunk's start icount"), ticks: r.varint("the chunk's start ticks") };
  let at = r.offset;
  const spanI = r.varint("the chunk's icount span");
  const spanT = r.varint("the chunk's ticks span");
  const end = { icount: start.icount + spanI, ticks: start.ticks + spanT };
  if (!Number.isSafeInteger(end.icount) || !Number.isSafeInteger(end.ticks)) {
    throw new DecodeError("the chunk's end position is out of range", at);
  }
  if (start.icount < notBefore.icount || start.ticks < notBefore.ticks) {
    throw new DecodeError(`the chunk starts at icount ${start.icount} (ticks ${start.ticks}), before the previous ` +
      `chunk's end at icount ${notBefore.icount} (ticks ${notBefore.ticks})`, 0);
  }
  at = r.offset;
  const count = r.varint("the record count");
  if (count * MIN_RECORD_BYTES > r.remaining) {
    throw new DecodeError(`the chunk claims ${count} records but holds only ${r.remaining} bytes`, at);
  }
  const events: InputEvent[] = [];
  const digests: DigestMark[] = [];
  let icount = start.icount;
  let ticks = start.ticks;
  const names: string[] = []; // digest part names, defined once per chunk
  for (let i = 0; i < count; i++) {
    const recAt = r.offset;
    const head = r.varint("a record head");
    const kind = Math.floor(head / 2);
    const dI = r.varint("an icount delta");
    const dT = head % 2 === 1 ? r.varint("a ticks delta") : dI;
    icount += dI;
    ticks += dT;
    if (icount > end.icount || ticks > end.ticks) {
      throw new DecodeError(`a record at icount ${icount} (ticks ${ticks}) lies after the chunk's end ` +
        `(icount ${end.icount}, ticks ${end.ticks})`, recAt);
    }
    if (kind === 0) {
      const digest = bytesToHex(r.blob("a state digest", MAX_DIGEST_BYTES));
      const partsAt = r.offset;
      const nParts = r.varint("the number of digest parts");
      if (nParts * 2 > r.remaining) throw new DecodeError(`a digest claims ${nParts} parts`, partsAt);
      const parts: Record<string, string> = {};
      for (let p = 0; p < nParts; p++) {
        const refAt = r.offset;
        const ref = r.varint("a part name reference");
        let name: string;
        if (ref === 0) {
          const nameAt = r.offset;
          name = decodeUtf8(r.blob("a part name", MAX_PART_NAME), "a part name", nameAt);
          names.push(name);
        } else if (ref <= names.length) {
          name = names[ref - 1];
        } else {
          throw new DecodeError(`a digest part refers to name #${ref}, but only ${names.length} are defined`, refAt);
        }
        Object.defineProperty(parts, name, { value: bytesToHex(r.blob("a part digest", MAX_DIGEST_BYTES)),
          enumerable: true, writable: true, configurable: true }); // defineProperty: a part named "__proto__" stays data
      }
      digests.push({ icount, ticks, digest, parts });
    } else {
      if (kind > MAX_EVENT_KIND) throw new DecodeError(`event kind ${kind} is out of range`, recAt);
      const payloadBytes = r.blob("an event payload", payload.length);
      events.push({ icount, ticks, kind, payload: payloadBytes });
    }
  }
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} unexpected bytes follow the last record`, r.offset);
  return { start, end, events, digests };
}

// ---- trailer ----

export interface IndexEntry {
  /** File offset of a records chunk. */
  offset: number;
  /** Its start icount. */
  firstIcount: number;
}

export interface TrailerContent extends Trailer {
  eventCount: number;
  digestCount: number;
  index: IndexEntry[];
  /** CRC-32 of every byte of the file before the trailer chunk. */
  fileCrc: number;
}

export function encodeTrailerPayload(t: TrailerContent): Uint8Array {
  const w = new ByteWriter(64 + t.index.length * 6);
  w.varint(t.finalIcount);
  w.varint(t.finalTicks);
  w.blob(hexToBytes(t.finalDigest));
  w.blob(utf8.encode(t.endReason));
  w.varint(t.eventCount);
  w.varint(t.digestCount);
  w.varint(t.index.length);
  let prevOffset = 0;
  let prevIcount = 0;
  for (const e of t.index) {
    w.varint(e.offset - prevOffset);
    w.varint(e.firstIcount - prevIcount);
    prevOffset = e.offset;
    prevIcount = e.firstIcount;
  }
  w.u32le(t.fileCrc);
  return w.view().slice();
}

export const MAX_END_REASON = 1024;

export function decodeTrailer(payload: Uint8Array): TrailerContent {
  const r = new ByteReader(payload);
  const finalIcount = r.varint("the final icount");
  const finalTicks = r.varint("the final ticks");
  const finalDigest = bytesToHex(r.blob("the final digest", MAX_DIGEST_BYTES));
  const reasonAt = r.offset;
  const endReason = decodeUtf8(r.blob("the end reason", MAX_END_REASON), "the end reason", reasonAt);
  const eventCount = r.varint("the event count");
  const digestCount = r.varint("the digest count");
  const nAt = r.offset;
  const n = r.varint("the index length");
  if (n * 2 > r.remaining) throw new DecodeError(`the index claims ${n} entries`, nAt);
  const index: IndexEntry[] = [];
  let offset = 0;
  let firstIcount = 0;
  for (let i = 0; i < n; i++) {
    offset += r.varint("an index offset");
    firstIcount += r.varint("an index icount");
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(firstIcount)) {
      throw new DecodeError("an index entry is out of range", r.offset);
    }
    index.push({ offset, firstIcount });
  }
  const fileCrc = r.u32le("the file checksum");
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} unexpected bytes follow the file checksum`, r.offset);
  return { finalIcount, finalTicks, finalDigest, endReason, eventCount, digestCount, index, fileCrc };
}

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import {
  compareConfig, DigestMark, EventKind, FORMAT_VERSION, hashImageFile, hashImageFileAsync, InputEvent, MAGIC,
  Recording, RecordingConfig, RecordingError, RecordingReader, RecordingWriter, Trailer,
} from "../../src/replay/format.js";
import { crc32, crc32Portable } from "../../src/replay/crc32.js";
import {
  decodeTrailer, encodeChunk, encodeHeaderPayload, encodeTrailerPayload,
} from "../../src/replay/format-chunks.js";
import { ByteReader, ByteWriter, DecodeError } from "../../src/replay/varint.js";

// ---------- fixtures ----------

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-rr-"));
  tempDirs.push(d);
  return d;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function config(over: Partial<RecordingConfig> = {}): RecordingConfig {
  return {
    board: "virt",
    cpu: "cortex-a57",
    ramSize: 128 * 1024 * 1024,
    icountShift: 7,
    kernel: { name: "hello.elf", size: 4096, sha256: sha("hello") },
    append: "console=ttyAMA0",
    drives: [{ id: "hd0", file: "/images/disk.qcow2", format: "qcow2", virtualSize: 1024 ** 3 }],
    snapshot: "init",
    rtcBootSeconds: 1_700_000_000,
    ...over,
  };
}

const HEADER = { config: config(), createdAt: "2024-05-01T12:00:00.000Z" };

/** A deterministic pseudo-random generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Script {
  events: InputEvent[];
  digests: DigestMark[];
  trailer: Trailer;
}

/** A small timeline with idle time, multi-byte payloads, empty payloads and digests. */
function smallScript(): Script {
  const events: InputEvent[] = [];
  const digests: DigestMark[] = [];
  let icount = 0;
  let idle = 0;
  for (let i = 0; i < 12; i++) {
    icount += 1000 + i * 37;
    if (i % 4 === 3) idle += 50_000; // a WFI wait
    if (i % 5 === 4) {
      digests.push({ icount, ticks: icount + idle, digest: sha(`d${i}`),
        parts: { cpu: sha(`c${i}`), ram: sha(`r${i}`), pl011: sha(`u${i}`).slice(0, 16) } });
    } else {
      const payload = i === 7 ? new Uint8Array(0) : Uint8Array.from({ length: 1 + (i % 3) }, (_, k) => 0x41 + i + k);
      events.push({ icount, ticks: icount + idle, kind: i === 7 ? EventKind.SystemReset : EventKind.SerialRx, payload });
    }
  }
  return { events, digests, trailer: { finalIcount: icount + 10, finalTicks: icount + idle + 10,
    finalDigest: sha("final"), endReason: "poweroff" } };
}

/** Writes a script; records are interleaved in time order. Returns the file path. */
function writeScript(dir: string, s: Script, chunkTarget = 24, name = "rec.rr"): string {
  const file = path.join(dir, name);
  const w = RecordingWriter.create(file, HEADER, { chunkTarget });
  const all = [...s.events.map((e) => ({ t: e.icount, e })), ...s.digests.map((d) => ({ t: d.icount, d }))]
    .sort((a, b) => a.t - b.t);
  for (const x of all) ("e" in x ? w.addEvent(x.e!) : w.addDigest(x.d!));
  w.finish(s.trailer);
  return file;
}

/** Asserts `r` holds exactly a prefix of the script's events and digests (never altered data). */
function assertPrefix(r: Recording, s: Script): void {
  assert.ok(r.events.length <= s.events.length);
  assert.deepEqual(r.events, s.events.slice(0, r.events.length));
  assert.ok(r.digests.length <= s.digests.length);
  assert.deepEqual(r.digests, s.digests.slice(0, r.digests.length));
}

function expectRecordingError(fn: () => unknown, code?: string, re?: RegExp): RecordingError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecordingError, `expected RecordingError, got ${(e as Error)?.stack ?? e}`);
    assert.doesNotMatch(e.message, /internal error/);
    if (code) assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail("expected a RecordingError");
}

// ---------- primitives ----------

test("varints round-trip up to 2^53 - 1 and reject overflow", () => {
  const values = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49 + 5, Number.MAX_SAFE_INTEGER];
  const w = new ByteWriter(4);
  for (const v of values) w.varint(v);
  const r = new ByteReader(w.view());
  for (const v of values) assert.equal(r.varint(), v);
  assert.equal(r.remaining, 0);
  // 2^53 exactly (8 bytes, top bits set) and a 9-byte varint are both refused.
  const big = new ByteWriter();
  big.bytes(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10));
  assert.throws(() => new ByteReader(big.view()).varint(), DecodeError);
  assert.throws(() => new ByteReader(new Uint8Array(9).fill(0x80)).varint(), /overlong/);
  assert.throws(() => new ByteReader(Uint8Array.of(0x80)).varint(), /past the end/);
});

test("the portable CRC-32 matches zlib's (and the standard check value)", () => {
  assert.equal(crc32Portable(new TextEncoder().encode("123456789")), 0xcbf43926);
  const data = randomBytes(10_000);
  assert.equal(crc32Portable(data), crc32(data));
  assert.equal(crc32Portable(data.subarray(5000), crc32Portable(data.subarray(0, 5000))), crc32(data));
});

// ---------- round trip ----------

test("round trip: header, events, digests and trailer", () => {
  const dir = tmpDir();
  const s = smallScript();
  const file = writeScript(dir, s);
  const r = RecordingReader.open(file);
  assert.equal(r.header.formatVersion, FORMAT_VERSION);
  assert.equal(r.header.writer, "rewind 0.1.0");
  assert.equal(r.header.createdAt, HEADER.createdAt);
  assert.deepEqual(r.header.config, config());
  assert.deepEqual(r.events, s.events);
  assert.deepEqual(r.digests, s.digests);
  assert.deepEqual(r.trailer, s.trailer);
  assert.equal(r.truncated, false);
  assert.deepEqual(r.validUpTo, { icount: s.trailer.finalIcount, ticks: s.trailer.finalTicks });
  assert.deepEqual(r.warnings, []);
  assert.ok(r.chunks.filter((c) => c.type === 2).length >= 4, "small chunk target gives several chunks");
  assert.equal(r.fileSize, fs.statSync(file).size);
  assert.ok(r.events.every((e) => Object.getPrototypeOf(e.payload) === Uint8Array.prototype));
  // fromBytes agrees with open, also for a view at a non-zero byteOffset.
  const shifted = Buffer.concat([Buffer.alloc(3), fs.readFileSync(file)]).subarray(3);
  assert.deepEqual(RecordingReader.fromBytes(shifted, "x").events, s.events);
});

test("round trip: extreme values, odd part names, one big event, default chunking", () => {
  const dir = tmpDir();
  const file = path.join(dir, "big.rr");
  const huge = Number.MAX_SAFE_INTEGER - 10;
  const bigPayload = randomBytes(200_000);
  const events: InputEvent[] = [
    { icount: 0, ticks: 0, kind: 1, payload: Uint8Array.of(0) },
    { icount: 0, ticks: 0, kind: 65535, payload: Uint8Array.of(1, 2) }, // same position twice
    { icount: 5, ticks: 2 ** 40, kind: 4, payload: new Uint8Array(bigPayload) },
    { icount: huge, ticks: huge + 1, kind: 2, payload: new TextEncoder().encode("host-signal") },
  ];
  const digests: DigestMark[] = [
    { icount: 5, ticks: 2 ** 40, digest: "", parts: {} },
    { icount: 6, ticks: 2 ** 40 + 1, digest: "00ff", parts: { ["__proto__"]: "aa", "ünïcode part": "bb", cpu: "cc" } },
  ];
  const w = RecordingWriter.create(file, { config: config({ kernel: undefined, drives: [], snapshot: undefined,
    extra: { smp: 1, nested: { a: [1, 2] } } }), writer: "rewind test" });
  w.addEvent(events[0]);
  w.addEvent(events[1]);
  w.addEvent(events[2]);
  w.addDigest(digests[0]);
  w.addDigest(digests[1]);
  w.addEvent(events[3]);
  w.finish({ finalIcount: huge, finalTicks: huge + 1, finalDigest: "", endReason: "signal" });
  const r = RecordingReader.open(file);
  assert.deepEqual(r.events, events);
  assert.equal(r.digests.length, 2);
  assert.deepEqual(Object.entries(r.digests[1].parts), Object.entries(digests[1].parts));
  assert.equal(r.digests[0].digest, "");
  assert.equal(r.header.writer, "rewind test");
  assert.deepEqual(r.header.config.extra, { smp: 1, nested: { a: [1, 2] } });
  assert.equal(r.trailer?.endReason, "signal");
});

test("many digest marks in one chunk share their part names", () => {
  const dir = tmpDir();
  const file = path.join(dir, "digests.rr");
  const w = RecordingWriter.create(file, HEADER); // default 64 KiB chunks: all marks in one chunk
  const marks: DigestMark[] = [];
  for (let i = 1; i <= 20; i++) {
    const parts: Record<string, string> = { cpu: sha(`c${i}`), ram: sha(`r${i}`), "gic-distributor": sha(`g${i}`) };
    if (i % 3 === 0) parts[`extra${i}`] = "01"; // a name that appears once, mid-chunk
    marks.push({ icount: i * 1000, ticks: i * 1000 + (i % 2), digest: sha(`d${i}`), parts });
    w.addDigest(marks[marks.length - 1]);
  }
  w.finish({ finalIcount: 30_000, finalTicks: 30_000, finalDigest: sha("end"), endReason: "quit" });
  const r = RecordingReader.open(file);
  assert.equal(r.chunks.filter((c) => c.type === 2).length, 1);
  assert.deepEqual(r.digests, marks);
  // Per mark: head 1, deltas 2-4, digest 33, part count 1, 3 parts x (ref 1 + 33) = 141 at most, so 2820 for
  // 20 marks, plus ~120 for names and framing. Spelling "cpu", "ram", "gic-distributor" out in every mark would
  // add 20 x 24 = 480 bytes.
  assert.ok(r.chunks[1].size < 3000, `${r.chunks[1].size} bytes`);
});

test("a recording with no events at all", () => {
  const dir = tmpDir();
  const file = path.join(dir, "empty.rr");
  const w = RecordingWriter.create(file, HEADER);
  w.finish({ finalIcount: 1234, finalTicks: 1300, finalDigest: sha("x"), endReason: "quit" });
  const r = RecordingReader.open(file);
  assert.deepEqual(r.events, []);
  assert.equal(r.truncated, false);
  assert.equal(r.trailer?.finalIcount, 1234);
});

// ---------- crash safety ----------

test("truncation at every byte offset: whole chunks read, or a too-short-header error", () => {
  const dir = tmpDir();
  const s = smallScript();
  const full = fs.readFileSync(writeScript(dir, s));
  const complete = RecordingReader.fromBytes(full);
  const headerEnd = complete.chunks[0].offset + complete.chunks[0].size;
  let truncatedReads = 0;
  for (let n = 0; n < full.length; n++) {
    const prefix = full.subarray(0, n);
    if (n < headerEnd) {
      expectRecordingError(() => RecordingReader.fromBytes(prefix, "cut.rr"), n === 0 ? "empty" : "truncated-header");
      continue;
    }
    const r = RecordingReader.fromBytes(prefix, "cut.rr");
    assert.equal(r.truncated, true, `prefix ${n}`);
    assert.equal(r.trailer, undefined);
    // Exactly the chunks that fit whole in the prefix.
    const whole = complete.chunks.filter((c) => c.offset + c.size <= n && c.type !== 3);
    assert.deepEqual(r.chunks, whole, `prefix ${n}`);
    assertPrefix(r, s);
    const expectedEvents = s.events.filter((e) => e.icount <= r.validUpTo.icount).length;
    assert.equal(r.events.length, expectedEvents, `prefix ${n}: every event up to validUpTo`);
    assert.ok(r.warnings.some((w) => /incomplete/.test(w) && /interrupted/.test(w)), r.warnings.join("; "));
    truncatedReads++;
  }
  assert.ok(truncatedReads > 50);
  // The whole file reads complete.
  assert.equal(RecordingReader.fromBytes(full).truncated, false);
});

test("every single-bit flip gives a RecordingError or a read of whole, unaltered chunks", () => {
  const dir = tmpDir();
  const s = smallScript();
  const full = fs.readFileSync(writeScript(dir, s));
  let errors = 0;
  let reads = 0;
  for (let bit = 0; bit < full.length * 8; bit++) {
    const bad = Uint8Array.from(full);
    bad[bit >> 3] ^= 1 << (bit & 7);
    let r: Recording;
    try {
      r = RecordingReader.fromBytes(bad, "flipped.rr");
    } catch (e) {
      assert.ok(e instanceof RecordingError, `bit ${bit}: ${(e as Error).stack}`);
      assert.doesNotMatch(e.message, /internal error/);
      errors++;
      continue;
    }
    reads++;
    assertPrefix(r, s);
    assert.equal(r.truncated, true, `bit ${bit}: a damaged file never reads as complete`);
    assert.ok(r.warnings.length > 0);
  }
  assert.ok(errors > 0 && reads > 0, `${errors} errors, ${reads} reads`);
});

test("random damage (bytes, runs, garbage tails) never escapes as anything but RecordingError", () => {
  const dir = tmpDir();
  const s = smallScript();
  const full = fs.readFileSync(writeScript(dir, s));
  const rand = rng(1234);
  for (let i = 0; i < 3000; i++) {
    let bad: Uint8Array = Uint8Array.from(full);
    const mode = i % 4;
    if (mode === 0) {
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
    } else if (mode === 1) {
      const at = Math.floor(rand() * bad.length);
      bad.fill(Math.floor(rand() * 256), at, at + Math.floor(rand() * 40));
    } else if (mode === 2) {
      const cut = Math.floor(rand() * bad.length);
      const tail = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      bad = Uint8Array.from([...bad.subarray(0, cut), ...tail]);
    } else {
      const a = Math.floor(rand() * bad.length);
      const b = Math.floor(rand() * bad.length);
      bad = Uint8Array.from([...bad.subarray(0, Math.min(a, b)), ...bad.subarray(Math.max(a, b))]);
    }
    try {
      assertPrefix(RecordingReader.fromBytes(bad, "fuzz.rr"), s);
    } catch (e) {
      assert.ok(e instanceof RecordingError, `case ${i}: ${(e as Error).stack}`);
      assert.doesNotMatch(e.message, /internal error/);
    }
  }
});

test("chunks with valid checksums but garbage payloads are refused cleanly", () => {
  const rand = rng(99);
  const headerChunk = encodeChunk(1, encodeHeaderPayload(2, 2, JSON.stringify({ writer: "w", createdAt: "t", config: config() })));
  const randomBytesOf = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  for (let i = 0; i < 4000; i++) {
    const type = [1, 2, 2, 2, 3, 3, 0x10, 0x81][i % 8];
    let payload = randomBytesOf(Math.floor(rand() * 48));
    if (type === 2 && i % 3 === 0) payload[4] = Math.floor(rand() * 4); // small record counts get further
    const parts: Uint8Array[] = [MAGIC];
    if (i % 16 === 0) {
      parts.push(encodeChunk(1, randomBytesOf(Math.floor(rand() * 20)))); // a garbage header
    } else {
      parts.push(headerChunk, encodeChunk(type, payload));
    }
    const file = Buffer.concat(parts);
    try {
      RecordingReader.fromBytes(file, "crafted.rr");
    } catch (e) {
      assert.ok(e instanceof RecordingError, `case ${i}: ${(e as Error).stack}`);
      assert.doesNotMatch(e.message, /internal error/);
    }
  }
});

test("damage in the middle is a hard error naming the offset; damage in the last chunk is a truncation", () => {
  const dir = tmpDir();
  const s = smallScript();
  const full = fs.readFileSync(writeScript(dir, s));
  const { chunks } = RecordingReader.fromBytes(full);
  const middle = chunks[2];
  const bad = Uint8Array.from(full);
  bad[middle.offset + 7] ^= 0x40;
  expectRecordingError(() => RecordingReader.fromBytes(bad, "mid.rr"), "corrupt",
    new RegExp(`^'mid.rr' is corrupt at byte offset ${middle.offset}: a chunk fails its checksum`));

  const last = chunks[chunks.length - 1]; // the trailer
  const badTail = Uint8Array.from(full);
  badTail[last.offset + 6] ^= 0x01;
  const r = RecordingReader.fromBytes(badTail, "tail.rr");
  assert.equal(r.truncated, true);
  assert.deepEqual(r.events, s.events);
  assert.match(r.warnings.join("\n"), new RegExp(`last chunk, at byte offset ${last.offset}.*fails its checksum`));

  // A huge claimed length in the middle is corruption, not a truncation.
  const huge = Uint8Array.from(full);
  new DataView(huge.buffer).setUint32(middle.offset + 1, 0xfffffff0, true);
  expectRecordingError(() => RecordingReader.fromBytes(huge, "huge.rr"), "corrupt", /claims 4294967280 bytes/);
});

test("zero fill at the end (host crash) reads as a truncation", () => {
  const dir = tmpDir();
  const s = smallScript();
  const full = fs.readFileSync(writeScript(dir, s));
  const { chunks } = RecordingReader.fromBytes(full);
  const cut = chunks[3].offset;
  const zeroed = Buffer.concat([full.subarray(0, cut), Buffer.alloc(4096)]);
  const r = RecordingReader.fromBytes(zeroed, "z.rr");
  assert.equal(r.truncated, true);
  assert.deepEqual(r.chunks, chunks.slice(0, 3));
  assert.match(r.warnings[0], /4096 bytes.*are zeros/);
});

test("the trailer's index and counts are checked against the chunks", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(writeScript(dir, smallScript()));
  const { chunks } = RecordingReader.fromBytes(full);
  const t = chunks[chunks.length - 1];
  const body = full.subarray(0, t.offset);
  const trailer = decodeTrailer(full.subarray(t.offset + 5, t.offset + t.size - 4));
  const rebuild = (edit: (x: typeof trailer) => void) => {
    const copy = structuredClone(trailer);
    edit(copy);
    return Buffer.concat([body, encodeChunk(3, encodeTrailerPayload(copy))]);
  };
  assert.equal(RecordingReader.fromBytes(rebuild(() => {})).truncated, false);
  expectRecordingError(() => RecordingReader.fromBytes(rebuild((x) => { x.index[1].offset += 1; })), "corrupt",
    /index entry 1 names offset/);
  expectRecordingError(() => RecordingReader.fromBytes(rebuild((x) => { x.index.pop(); })), "corrupt", /indexes/);
  expectRecordingError(() => RecordingReader.fromBytes(rebuild((x) => { x.eventCount++; })), "corrupt", /counts/);
  expectRecordingError(() => RecordingReader.fromBytes(rebuild((x) => { x.fileCrc ^= 1; })), "corrupt", /whole file/);
  expectRecordingError(() => RecordingReader.fromBytes(rebuild((x) => { x.finalIcount = 0; })), "corrupt", /before its last/);
  // Extra bytes after a valid trailer are reported, not fatal.
  const extra = RecordingReader.fromBytes(Buffer.concat([full, Buffer.from("junk")]));
  assert.equal(extra.truncated, false);
  assert.match(extra.warnings[0], /4 unexpected bytes after its trailer/);
});

test("unknown optional chunks are skipped; unknown required chunks are refused", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(writeScript(dir, smallScript()));
  const { chunks } = RecordingReader.fromBytes(full);
  const t = chunks[chunks.length - 1].offset; // drop the trailer: its file checksum would not cover the insert
  const withOptional = Buffer.concat([full.subarray(0, t), encodeChunk(0x90, Uint8Array.of(1, 2, 3))]);
  const r = RecordingReader.fromBytes(withOptional);
  assert.equal(r.chunks[r.chunks.length - 1].type, 0x90);
  const withRequired = Buffer.concat([full.subarray(0, t), encodeChunk(0x10, Uint8Array.of(1))]);
  expectRecordingError(() => RecordingReader.fromBytes(withRequired, "f.rr"), "corrupt", /chunk of type 16 .* does not understand/);
});

// ---------- versions and foreign files ----------

function fileWithHeader(formatVersion: number, minReader: number, writer = "rewind 9.0.0"): Uint8Array {
  const json = JSON.stringify({ writer, createdAt: "t", config: config() });
  return Buffer.concat([MAGIC, encodeChunk(1, encodeHeaderPayload(formatVersion, minReader, json))]);
}

test("a file from a newer Rewind: refused when it says older readers cannot read it, else a warning", () => {
  expectRecordingError(() => RecordingReader.fromBytes(fileWithHeader(3, 3), "new.rr"), "newer-version",
    /^'new.rr' was made by a newer Rewind \(rewind 9.0.0, recording format version 3\); this Rewind reads recording format version 2/);
  const r = RecordingReader.fromBytes(fileWithHeader(4, 2), "compat.rr");
  assert.match(r.warnings[0], /made by a newer Rewind \(rewind 9.0.0, recording format version 4\)/);
  // Version 1 followed other timing rules (docs/icount.md): refused, saying so.
  expectRecordingError(() => RecordingReader.fromBytes(fileWithHeader(1, 1), "old.rr"), "older-version",
    /^'old.rr' was made by an older Rewind \(rewind 9.0.0, recording format version 1\), whose timing rules differ/);
  expectRecordingError(() => RecordingReader.fromBytes(fileWithHeader(1, 2)), "corrupt", /impossible format version/);
  expectRecordingError(() => RecordingReader.fromBytes(fileWithHeader(0, 0)), "corrupt", /impossible format version/);
});

test("malformed headers are refused with the field named", () => {
  const mk = (obj: unknown) => Buffer.concat([MAGIC, encodeChunk(1, encodeHeaderPayload(2, 2,
    typeof obj === "string" ? obj : JSON.stringify(obj)))]);
  expectRecordingError(() => RecordingReader.fromBytes(mk("{not json")), "corrupt", /not valid JSON/);
  expectRecordingError(() => RecordingReader.fromBytes(mk([1])), "corrupt", /not a JSON object/);
  expectRecordingError(() => RecordingReader.fromBytes(mk({ writer: "w", createdAt: "t", config: { ...config(), ramSize: "big" } })),
    "corrupt", /config.ramSize/);
  expectRecordingError(() => RecordingReader.fromBytes(mk({ writer: "w", createdAt: "t",
    config: { ...config(), kernel: { name: "k", size: 1, sha256: "xyz" } } })), "corrupt", /config.kernel.sha256/);
  expectRecordingError(() => RecordingReader.fromBytes(Buffer.concat([MAGIC, encodeChunk(2, new Uint8Array(5))])),
    "corrupt", /first chunk has type 2/);
});

test("foreign files are named: QEMU replay logs, qcow2, ELF, text, zeros, empty, short", () => {
  // QEMU's replay.bin: big-endian REPLAY_VERSION, an unused 64-bit word, then events.
  const qemuLog = Buffer.from([0x00, 0xe0, 0x20, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 5, 0x0b]);
  expectRecordingError(() => RecordingReader.fromBytes(qemuLog, "replay.bin"), "not-a-recording",
    /^'replay.bin' is a QEMU replay log \(replay version 0xe0200c\), not a Rewind recording/);
  const killedQemu = Buffer.concat([Buffer.alloc(12), Buffer.from([0, 0, 0, 0x20, 0x0b, 3])]);
  expectRecordingError(() => RecordingReader.fromBytes(killedQemu, "r.bin"), "not-a-recording", /12 zero bytes, as a QEMU replay log/);
  const qcow2 = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(100)]);
  expectRecordingError(() => RecordingReader.fromBytes(qcow2, "disk.qcow2"), "not-a-recording",
    /^'disk.qcow2' is a qcow2 disk image, not a Rewind recording/);
  expectRecordingError(() => RecordingReader.fromBytes(Buffer.from("\x7fELF\x02\x01\x01"), "k.elf"), "not-a-recording", /ELF/);
  expectRecordingError(() => RecordingReader.fromBytes(Buffer.from("hello world\n"), "t.txt"), "not-a-recording", /text file/);
  expectRecordingError(() => RecordingReader.fromBytes(Buffer.alloc(100), "z"), "not-a-recording", /only zero bytes/);
  expectRecordingError(() => RecordingReader.fromBytes(Buffer.alloc(0), "e.rr"), "empty", /^'e.rr' is empty/);
  expectRecordingError(() => RecordingReader.fromBytes(randomBytes(3).fill(0xee)), "not-a-recording", /not a Rewind recording/);
  expectRecordingError(() => RecordingReader.fromBytes(MAGIC.subarray(0, 5), "s.rr"), "truncated-header", /interrupted/);
  const textMode = Buffer.concat([Buffer.from([0x89, 0x52, 0x57, 0x52, 0x45, 0x43, 0x0a]), Buffer.alloc(20, 1)]);
  expectRecordingError(() => RecordingReader.fromBytes(textMode, "crlf.rr"), "not-a-recording", /text-mode transfer/);
});

test("open() reports unreadable paths clearly", () => {
  const dir = tmpDir();
  expectRecordingError(() => RecordingReader.open(path.join(dir, "nope.rr")), "io", /cannot read the recording .*no such file/);
  expectRecordingError(() => RecordingReader.open(dir), "io", /it is a directory/);
});

// ---------- writer behaviour ----------

test("an existing file is untouched until finish(); finish replaces it atomically", () => {
  const dir = tmpDir();
  const file = path.join(dir, "keep.rr");
  fs.writeFileSync(file, "previous recording");
  fs.chmodSync(file, 0o640);
  const w = RecordingWriter.create(file, HEADER, { chunkTarget: 8 });
  assert.equal(path.dirname(w.tempPath), dir);
  assert.ok(w.tempPath.startsWith(file + ".tmp-"));
  for (let i = 1; i <= 50; i++) w.addEvent({ icount: i * 10, ticks: i * 10, kind: 1, payload: Uint8Array.of(i) });
  w.flush({ icount: 600, ticks: 600 });
  assert.equal(fs.readFileSync(file, "utf8"), "previous recording");
  assert.ok(fs.statSync(w.tempPath).size > 100);
  w.finish({ finalIcount: 700, finalTicks: 700, finalDigest: "", endReason: "quit" });
  assert.equal(fs.existsSync(w.tempPath), false);
  assert.equal(RecordingReader.open(file).events.length, 50);
  assert.equal(fs.statSync(file).mode & 0o777, 0o640, "a replaced recording keeps its permissions");
  expectRecordingError(() => w.addEvent({ icount: 800, ticks: 800, kind: 1, payload: Uint8Array.of(1) }), "state");
  w.abort(); // no-op after finish
  assert.ok(fs.existsSync(file));
});

test("abort() removes the temporary file and leaves the destination alone", () => {
  const dir = tmpDir();
  const file = path.join(dir, "a.rr");
  fs.writeFileSync(file, "old");
  const w = RecordingWriter.create(file, HEADER);
  w.addEvent({ icount: 1, ticks: 1, kind: 1, payload: Uint8Array.of(1) });
  w.flush();
  assert.ok(fs.existsSync(w.tempPath));
  w.abort();
  w.abort();
  assert.equal(fs.existsSync(w.tempPath), false);
  assert.equal(fs.readFileSync(file, "utf8"), "old");
  assert.deepEqual(fs.readdirSync(dir), ["a.rr"]);
});

test("a killed writer's temporary file replays up to its last flush", () => {
  const dir = tmpDir();
  const file = path.join(dir, "killed.rr");
  const w = RecordingWriter.create(file, HEADER, { chunkTarget: 1 << 20 });
  for (let i = 1; i <= 5; i++) w.addEvent({ icount: i * 100, ticks: i * 100, kind: 1, payload: Uint8Array.of(0x30 + i) });
  w.flush({ icount: 1000, ticks: 1200 }); // the periodic flush promises completeness up to here
  w.addEvent({ icount: 1100, ticks: 1300, kind: 1, payload: Uint8Array.of(0x40) }); // buffered, lost in the "kill"
  // (the process dies here: no finish, no abort)
  assert.equal(fs.existsSync(file), false);
  const r = RecordingReader.open(w.tempPath);
  assert.equal(r.truncated, true);
  assert.equal(r.events.length, 5);
  assert.deepEqual(r.validUpTo, { icount: 1000, ticks: 1200 });
  assert.match(r.warnings[0], /incomplete: it ends at byte offset \d+ without a trailer.*replays up to icount 1000 \(5 events in 1 whole chunk\)/);
  w.abort();
});

test("a writer process killed with SIGKILL leaves a temporary file that reads up to its last whole chunk", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "sigkill.rr");
  const formatModule = new URL("../../src/replay/format.js", import.meta.url).href;
  // The child records 300-byte events as fast as it can, flushing every 50 and reporting each flush.
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    import { RecordingWriter } from ${JSON.stringify(formatModule)};
    import { writeSync } from "node:fs";
    const w = RecordingWriter.create(${JSON.stringify(file)}, ${JSON.stringify(HEADER)}, { chunkTarget: 4096 });
    writeSync(1, "temp " + w.tempPath + "\\n");
    for (let i = 1; i < 2_000_000; i++) {
      w.addEvent({ icount: i * 10, ticks: i * 10, kind: 1, payload: new Uint8Array(300).fill(i & 0xff) });
      if (i % 50 === 0) { w.flush({ icount: i * 10, ticks: i * 10 }); writeSync(1, "flushed " + i + "\\n"); }
    }
    setInterval(() => {}, 1000);
  `], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if ((out.match(/flushed/g) ?? []).length >= 20 && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", () => resolve());
    child.on("error", reject);
  });
  const tempPath = /temp (.*)\n/.exec(out)![1];
  const lastFlushReported = Math.max(...[...out.matchAll(/flushed (\d+)/g)].map((m) => Number(m[1])));
  assert.equal(fs.existsSync(file), false, "the destination never appears without finish()");
  const r = RecordingReader.open(tempPath);
  assert.equal(r.truncated, true);
  assert.ok(r.events.length >= lastFlushReported, `${r.events.length} events, ${lastFlushReported} reported flushed`);
  r.events.forEach((e, i) => {
    assert.equal(e.icount, (i + 1) * 10);
    assert.equal(e.payload[299], (i + 1) & 0xff);
  });
  assert.ok(r.validUpTo.icount >= lastFlushReported * 10);
});

test("events and digests must be added in time order", () => {
  const dir = tmpDir();
  const w = RecordingWriter.create(path.join(dir, "o.rr"), HEADER);
  const ev = (icount: number, ticks: number) => ({ icount, ticks, kind: 1, payload: Uint8Array.of(1) });
  w.addEvent(ev(100, 150));
  w.addEvent(ev(100, 150)); // equal is fine
  expectRecordingError(() => w.addEvent(ev(99, 200)), "order", /icount 99 .* comes before icount 100/);
  expectRecordingError(() => w.addEvent(ev(120, 140)), "order", /ticks 140/);
  expectRecordingError(() => w.addDigest({ icount: 50, ticks: 50, digest: "", parts: {} }), "order");
  w.addDigest({ icount: 100, ticks: 150, digest: "ab", parts: {} });
  w.flush({ icount: 500, ticks: 600 });
  expectRecordingError(() => w.addEvent(ev(400, 600)), "order", /before icount 500/);
  expectRecordingError(() => w.finish({ finalIcount: 499, finalTicks: 600, finalDigest: "", endReason: "quit" }), "order");
  // Malformed input.
  expectRecordingError(() => w.addEvent({ icount: -1, ticks: 0, kind: 1, payload: new Uint8Array(0) }), "invalid");
  expectRecordingError(() => w.addEvent({ icount: 1.5, ticks: 2, kind: 1, payload: new Uint8Array(0) }), "invalid");
  expectRecordingError(() => w.addEvent({ ...ev(600, 700), kind: 0 }), "invalid", /kind/);
  expectRecordingError(() => w.addEvent({ ...ev(600, 700), kind: 70000 }), "invalid", /kind/);
  expectRecordingError(() => w.addDigest({ icount: 600, ticks: 700, digest: "xyz", parts: {} }), "invalid", /hex/);
  expectRecordingError(() => w.addDigest({ icount: 600, ticks: 700, digest: "", parts: { cpu: "q" } }), "invalid", /cpu/);
  w.addEvent(ev(600, 700));
  w.finish({ finalIcount: 600, finalTicks: 700, finalDigest: "", endReason: "quit" });
  const r = RecordingReader.open(path.join(dir, "o.rr"));
  assert.equal(r.events.length, 3);
  assert.equal(r.digests.length, 1);
});

test("create() refuses bad destinations and malformed configurations", () => {
  const dir = tmpDir();
  expectRecordingError(() => RecordingWriter.create(dir, HEADER), "io", /is a directory/);
  expectRecordingError(() => RecordingWriter.create(path.join(dir, "no/such/dir/x.rr"), HEADER), "io", /does not exist/);
  expectRecordingError(() => RecordingWriter.create(path.join(dir, "x.rr"), { config: { ...config(), ramSize: NaN } }),
    "invalid", /config.ramSize/);
  expectRecordingError(() => RecordingWriter.create(path.join(dir, "x.rr"), { ...HEADER, formatVersion: 1 }), "invalid");
  assert.deepEqual(fs.readdirSync(dir), [], "nothing left behind");
});

test("recording through a symlink replaces the link's target, keeping the link", () => {
  const dir = tmpDir();
  const real = path.join(dir, "real.rr");
  const link = path.join(dir, "link.rr");
  fs.writeFileSync(real, "old");
  fs.symlinkSync(real, link);
  const w = RecordingWriter.create(link, HEADER);
  w.finish({ finalIcount: 0, finalTicks: 0, finalDigest: "", endReason: "quit" });
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.equal(RecordingReader.open(real).truncated, false);
});

test("size: 1000 serial bytes cost under 7 bytes each", () => {
  const dir = tmpDir();
  const rand = rng(7);
  const write = (n: number) => {
    const file = path.join(dir, `size-${n}.rr`);
    const w = RecordingWriter.create(file, HEADER);
    let icount = 0;
    for (let i = 0; i < n; i++) {
      icount += 1000 + Math.floor(rand() * 99_000); // a byte every 1k-100k instructions (3-byte deltas)
      w.addEvent({ icount, ticks: icount, kind: EventKind.SerialRx, payload: Uint8Array.of(0x20 + (i % 90)) });
    }
    w.finish({ finalIcount: icount, finalTicks: icount, finalDigest: sha("f"), endReason: "quit" });
    return fs.statSync(file).size;
  };
  const base = write(0);
  const perEvent = (write(1000) - base) / 1000;
  assert.ok(perEvent < 7, `${perEvent} bytes per event`);
  assert.ok(perEvent >= 4, `${perEvent} bytes per event is implausibly small`);
});

// ---------- configuration ----------

test("compareConfig names what differs and ignores paths and names of identical images", () => {
  assert.deepEqual(compareConfig(config(), config()), []);
  const moved = config({
    kernel: { name: "renamed.elf", size: 4096, sha256: sha("hello") },
    drives: [{ id: "hd0", file: "/elsewhere/disk.qcow2", format: "qcow2", virtualSize: 1024 ** 3 }],
    rtcBootSeconds: 1_800_000_000, // an input carried by the recording, not a setting
  });
  assert.deepEqual(compareConfig(config(), moved), []);

  const other = config({
    board: "pc",
    cpu: "max",
    ramSize: 256 * 1024 * 1024,
    icountShift: 3,
    kernel: { name: "ticks.elf", size: 8192, sha256: sha("ticks") },
    dtb: { name: "virt.dtb", size: 100, sha256: sha("dtb") },
    append: "quiet",
    drives: [{ id: "hd0", file: "d", format: "raw", virtualSize: 2 * 1024 ** 3 }, { id: "hd1", file: "e", format: "raw", virtualSize: 1000 }],
    snapshot: undefined,
    extra: { smp: 2 },
  });
  const diffs = compareConfig(config(), other);
  const expectLine = (re: RegExp) => assert.ok(diffs.some((d) => re.test(d)), `${re} in:\n${diffs.join("\n")}`);
  expectLine(/^board: virt recorded, pc now$/);
  expectLine(/^CPU: cortex-a57 recorded, max now$/);
  expectLine(/^RAM size: 128 MiB recorded, 256 MiB now$/);
  expectLine(/^icount shift: 7 recorded, 3 now$/);
  expectLine(new RegExp(`^kernel: hello.elf \\(sha256 ${sha("hello").slice(0, 12)}\\.\\., 4 KiB\\) was recorded, ` +
    `this run has ticks.elf \\(sha256 ${sha("ticks").slice(0, 12)}\\.\\., 8 KiB\\)$`));
  expectLine(/^device tree \(-dtb\): none was recorded, this run has virt.dtb/);
  expectLine(/^kernel command line: "console=ttyAMA0" recorded, "quiet" now$/);
  expectLine(/^drive 'hd0': format qcow2 recorded, raw now$/);
  expectLine(/^drive 'hd0': size 1 GiB recorded, 2 GiB now$/);
  expectLine(/^drive 'hd1' \(raw, 1000 bytes\) is new in this run/);
  expectLine(/^rrsnapshot: 'init' recorded, none now$/);
  expectLine(/^smp: not set recorded, 2 now$/);
  assert.equal(diffs.length, 12);

  // Same name, different content; and digests sharing a long prefix are shown long enough to differ.
  const a = "ab".repeat(32);
  const b = "ab".repeat(10) + "cd".repeat(22);
  const same = compareConfig(config({ kernel: { name: "k", size: 1, sha256: a } }), config({ kernel: { name: "k", size: 1, sha256: b } }));
  assert.equal(same.length, 1);
  assert.match(same[0], /same name, different content/);
  assert.match(same[0], /sha256 abababababababababababab\.\., 1 byte\).*sha256 ababababababababababcdcd\.\./);
  assert.match(compareConfig(config(), config({ kernel: undefined }))[0], /^kernel: hello.elf .* was recorded, this run has none$/);
  assert.match(compareConfig(config({ drives: [] }), config())[0], /^drive 'hd0' .* is new in this run/);
  assert.match(compareConfig(config(), config({ drives: [] }))[0], /^drive 'hd0' .* was recorded, this run has no such drive$/);
  // extra compares values, not key order.
  assert.deepEqual(compareConfig(config({ extra: { o: { x: 1, y: 2 } } }), config({ extra: { o: { y: 2, x: 1 } } })), []);
});

test("hashImageFile streams a SHA-256 and reports unreadable files", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "Image");
  const data = randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(file, data);
  const want = { name: "Image", size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
  assert.deepEqual(hashImageFile(file), want);
  assert.deepEqual(await hashImageFileAsync(file), want);
  expectRecordingError(() => hashImageFile(path.join(dir, "missing")), "io", /cannot read '.*missing' .*: no such file/);
  expectRecordingError(() => hashImageFile(dir), "io", /it is a directory/);
  await assert.rejects(hashImageFileAsync(path.join(dir, "missing")), (e) => e instanceof RecordingError && /no such file/.test(e.message));
});

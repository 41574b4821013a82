// How the end of a recording is classified (an interruption is not damage), and how replaying a recording's name
// finds the partial recording a killed recorder left in its place.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  EventKind, findPartialRecordings, openRecording, RecordingConfig, RecordingError, RecordingReader, RecordingWriter,
} from "../../src/replay/format.js";
import { RecordingSink } from "../../src/replay/recording.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-partial-"));
  dirs.push(d);
  return d;
}

const CONFIG: RecordingConfig = {
  board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 1_700_000_000,
};

/** Three records chunks (the last holding a 2000-byte event, so it spans a sector boundary); a trailer unless `open`. */
function write(file: string, opts: { open?: boolean } = {}): RecordingWriter {
  const w = RecordingWriter.create(file, { config: CONFIG, createdAt: "2024-05-01T12:00:00.000Z" });
  w.addEvent({ icount: 100, ticks: 100, kind: EventKind.SerialRx, payload: Uint8Array.of(0x61) });
  w.flush({ icount: 1000, ticks: 1000 });
  w.addEvent({ icount: 1500, ticks: 1600, kind: EventKind.SerialRx, payload: Uint8Array.of(0x62, 0x63) });
  w.addDigest({ icount: 2000, ticks: 2100, digest: "c0ffee01", parts: { cpu: "0a0b", ram: "0c0d" } });
  w.flush({ icount: 3000, ticks: 3100 });
  w.addEvent({ icount: 4000, ticks: 4100, kind: EventKind.SerialRx, payload: new Uint8Array(2000).fill(0x64) });
  w.flush({ icount: 5000, ticks: 5100 });
  if (!opts.open) w.finish({ finalIcount: 6000, finalTicks: 6100, finalDigest: "deadbeef", endReason: "quit" });
  return w;
}

function flip(b: Uint8Array, bit: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
}

test("every single-bit flip in the trailer is damage at that byte, not an interruption", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(write(path.join(dir, "r.rwr")) && path.join(dir, "r.rwr"));
  const good = RecordingReader.fromBytes(full);
  const trailer = good.chunks[good.chunks.length - 1];
  assert.equal(trailer.type, 3);
  for (let bit = trailer.offset * 8; bit < full.length * 8; bit++) {
    const r = RecordingReader.fromBytes(flip(full, bit), "t.rwr");
    assert.equal(r.trailer, undefined, `bit ${bit}`);
    assert.equal(r.truncated, true);
    assert.ok(r.damaged, `bit ${bit}: reported as damage`);
    assert.equal(r.damaged.offset, bit >> 3, `bit ${bit}: the damaged byte is named`);
    assert.equal(r.damaged.chunkOffset, trailer.offset);
    // Everything before the damage is there.
    assert.deepEqual(r.events, good.events);
    assert.deepEqual(r.validUpTo, { icount: 5000, ticks: 5100 });
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], new RegExp(`^'t.rwr' is damaged at byte offset ${bit >> 3}: its last chunk, at byte offset ${trailer.offset}`));
    assert.doesNotMatch(r.warnings[0], /is incomplete|The recording was interrupted/);
    assert.match(r.warnings[0], /This is damage, not an interrupted recording/);
  }
});

test("no single-bit flip anywhere reads as complete or as merely interrupted", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(write(path.join(dir, "r.rwr")) && path.join(dir, "r.rwr"));
  const good = RecordingReader.fromBytes(full);
  const counts = { refused: 0, damaged: 0 };
  for (let bit = 0; bit < full.length * 8; bit++) {
    let r;
    try {
      r = RecordingReader.fromBytes(flip(full, bit), "f.rwr");
    } catch (e) {
      assert.ok(e instanceof RecordingError, `bit ${bit}: ${(e as Error).stack}`);
      assert.ok(["corrupt", "not-a-recording"].includes(e.code), `bit ${bit}: ${e.code}: ${e.message}`);
      assert.match(e.message, new RegExp(`byte offset ${bit >> 3}\\b|not a Rewind recording|text-mode`), `bit ${bit}: ${e.message}`);
      counts.refused++;
      continue;
    }
    assert.ok(r.damaged, `bit ${bit}: read as ${r.truncated ? "interrupted" : "complete"}: ${r.warnings.join("; ")}`);
    assert.equal(r.damaged.offset, bit >> 3, `bit ${bit}`);
    assert.deepEqual(r.events, good.events.slice(0, r.events.length));
    counts.damaged++;
  }
  assert.ok(counts.refused > 0 && counts.damaged > 0, JSON.stringify(counts));
});

test("a flipped bit in the last records chunk of a killed recording is damage too", () => {
  const dir = tmpDir();
  const w = write(path.join(dir, "k.rwr"), { open: true });
  const bytes = fs.readFileSync(w.tempPath);
  const last = RecordingReader.fromBytes(bytes).chunks.at(-1)!;
  const at = last.offset + 100; // inside the big event
  const r = RecordingReader.fromBytes(flip(bytes, at * 8 + 3), "k.rwr");
  assert.equal(r.damaged?.offset, at);
  assert.match(r.damaged!.message, /a records chunk/);
  assert.equal(r.events.length, 2, "the damaged chunk's event is not replayed");
  assert.deepEqual(r.validUpTo, { icount: 3000, ticks: 3100 });
  w.abort();
});

test("a file that simply stops, anywhere in its last chunk, is an interruption, not damage", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(write(path.join(dir, "r.rwr")) && path.join(dir, "r.rwr"));
  const chunks = RecordingReader.fromBytes(full).chunks;
  const lastRecords = chunks[chunks.length - 2];
  for (let n = lastRecords.offset + 1; n < full.length; n++) {
    const r = RecordingReader.fromBytes(full.subarray(0, n), "cut.rwr");
    assert.equal(r.damaged, undefined, `cut at ${n}`);
    assert.equal(r.truncated, true);
    assert.match(r.warnings.join("\n"), /incomplete.*interrupted/);
  }
});

test("zero fill from a sector boundary to the end (a host crash) is an interruption; other damage is not", () => {
  const dir = tmpDir();
  const w = write(path.join(dir, "z.rwr"), { open: true });
  const bytes = fs.readFileSync(w.tempPath);
  w.abort();
  const last = RecordingReader.fromBytes(bytes).chunks.at(-1)!;
  const sector = Math.ceil((last.offset + 10) / 512) * 512;
  assert.ok(sector < bytes.length - 4, "the last chunk spans a sector boundary");
  const crashed = Uint8Array.from(bytes);
  crashed.fill(0, sector);
  const r = RecordingReader.fromBytes(crashed, "z.rwr");
  assert.equal(r.damaged, undefined);
  assert.equal(r.events.length, 2);
  assert.match(r.warnings[0], /ends in zero fill \(typical after a host crash\).*interrupted/);
  // The same chunk with garbage instead of zeros is damage.
  const garbage = Uint8Array.from(bytes);
  garbage.fill(0x5a, sector);
  assert.equal(RecordingReader.fromBytes(garbage, "g.rwr").damaged?.chunkOffset, last.offset);
});

test("damage with good data after it is still refused outright, naming the offset", () => {
  const dir = tmpDir();
  const full = fs.readFileSync(write(path.join(dir, "r.rwr")) && path.join(dir, "r.rwr"));
  const middle = RecordingReader.fromBytes(full).chunks[2];
  assert.throws(() => RecordingReader.fromBytes(flip(full, (middle.offset + 7) * 8), "m.rwr"),
    (e) => e instanceof RecordingError && e.code === "corrupt" && e.message.includes(`byte offset ${middle.offset}`));
});

test("replaying a name that does not exist finds the newest partial recording and names it", () => {
  const dir = tmpDir();
  const file = path.join(dir, "run.rwr");
  // No recording and no partial one: the plain error.
  assert.throws(() => openRecording(file), (e) => e instanceof RecordingError && /no such file/.test(e.message));

  const older = write(file, { open: true });
  const newer = RecordingWriter.create(file, { config: CONFIG }); // same process: run.rwr.tmp-<pid>-1
  newer.addEvent({ icount: 10, ticks: 10, kind: EventKind.SerialRx, payload: Uint8Array.of(0x7a) });
  newer.flush({ icount: 20, ticks: 20 });
  fs.utimesSync(older.tempPath, new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  fs.utimesSync(newer.tempPath, new Date(1_700_000_100_000), new Date(1_700_000_100_000));
  fs.writeFileSync(path.join(dir, "run.rwr.tmp-notes"), "not a recorder's file");
  fs.writeFileSync(path.join(dir, "other.rwr.tmp-123"), "another recording's");

  assert.deepEqual(findPartialRecordings(file).map((p) => p.path), [newer.tempPath, older.tempPath]);
  const opened = openRecording(file);
  assert.equal(opened.path, newer.tempPath);
  assert.equal(opened.partial?.pid, process.pid);
  assert.equal(opened.recording.events.length, 1);
  assert.equal(opened.notices.length, 1);
  assert.match(opened.notices[0], new RegExp(`^'${file}' does not exist; replaying '${newer.tempPath}' instead ` +
    "\\(the newest of 2 partial recordings beside it\\): a partial recording \\(process \\d+, which is still running"));
  assert.match(opened.notices[0], /up to its last whole chunk$/);

  // Only one left, from a recorder that is gone: said so.
  newer.abort();
  const renamed = path.join(dir, "run.rwr.tmp-999999999");
  fs.renameSync(older.tempPath, renamed);
  const one = openRecording(file);
  assert.equal(one.path, renamed);
  assert.match(one.notices[0], /instead: a partial recording \(its recorder \(process 999999999\) did not finish\)/);
  assert.equal(one.recording.events.length, 3);

  // One that holds nothing: the error names both files.
  fs.writeFileSync(path.join(dir, "run.rwr.tmp-999999998"), fs.readFileSync(renamed).subarray(0, 12));
  assert.throws(() => openRecording(file), (e) => e instanceof RecordingError && e.code === "truncated-header" &&
    e.message.startsWith(`'${file}' does not exist, and the partial recording left in its place by a recorder that did ` +
      "not finish cannot be replayed (the newest of 2 partial recordings beside it): ") &&
    e.message.includes("run.rwr.tmp-999999998"));
});

test("a complete recording that was never moved into place is replayed and the fix is named", () => {
  const dir = tmpDir();
  const file = path.join(dir, "done.rwr");
  write(file);
  fs.renameSync(file, `${file}.tmp-999999997`);
  const opened = openRecording(file);
  assert.equal(opened.recording.truncated, false);
  assert.match(opened.notices[0], /a complete recording that its recorder \(process 999999997\) did not move into place; rename it to/);
});

test("an existing recording is replayed as asked; a newer unfinished one beside it gets a note", () => {
  const dir = tmpDir();
  const file = path.join(dir, "have.rwr");
  write(file);
  const t0 = new Date(1_700_000_000_000);
  fs.utimesSync(file, t0, t0);
  const w = write(file, { open: true }); // a new recording of the same name, killed before it finished
  fs.utimesSync(w.tempPath, new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  assert.deepEqual(openRecording(file).notices, [], "an older leftover is not worth a note");
  fs.utimesSync(w.tempPath, new Date(1_700_000_100_000), new Date(1_700_000_100_000));
  const opened = openRecording(file);
  assert.equal(opened.path, file);
  assert.equal(opened.recording.truncated, false);
  assert.match(opened.notices[0], new RegExp(`^note: '${w.tempPath}' is a recording newer than '${file}' that was never ` +
    `finished .*replaying '${file}' as asked \\(to replay the unfinished one, give rrfile=${w.tempPath}\\)$`));
  w.abort();
});

test("the sink writes out records added just after a flush without waiting for more activity", async () => {
  const dir = tmpDir();
  const w = RecordingWriter.create(path.join(dir, "idle.rwr"), { config: CONFIG });
  let pos = { icount: 1000, ticks: 1000 };
  const sink = new RecordingSink(w, () => pos);
  sink.flush(); // the first flush of a session comes right after create(): skipped, made up later
  sink.addEvent({ icount: 1000, ticks: 1000, kind: EventKind.SerialRx, payload: Uint8Array.of(0x71) });
  pos = { icount: 1200, ticks: 5000 };
  sink.flush(); // the guest goes idle; nothing else will call flush
  for (let i = 0; i < 1000; i++) {
    const r = RecordingReader.open(w.tempPath);
    if (r.events.length === 1) {
      assert.deepEqual(r.validUpTo, { icount: 1200, ticks: 5000 });
      sink.finish({ finalIcount: 1200, finalTicks: 5000, finalDigest: "", endReason: "quit" });
      assert.equal(RecordingReader.open(path.join(dir, "idle.rwr")).events.length, 1);
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail("the buffered event never reached the file");
});

// Glue between the session and the recording format: a RecordSink over RecordingWriter, and a ReplaySource
// from a read recording.

import type { LoggedInput } from "./input.js";
import { RecordingWriter } from "./format-writer.js";
import type { Recording } from "./format-reader.js";
import type { RecordSink, ReplaySource } from "../session/session.js";
import type { DigestMark, Trailer } from "./format-types.js";

/** Flush recorded data to disk at most this often (host time), so a killed recorder loses little. */
const FLUSH_EVERY_MS = 200;

export class RecordingSink implements RecordSink {
  private lastFlush = Date.now();
  constructor(
    readonly writer: RecordingWriter,
    private readonly position: () => { icount: number; ticks: number },
  ) {}

  addEvent(e: LoggedInput): void {
    this.writer.addEvent(e);
  }
  addDigest(mark: DigestMark): void {
    this.writer.addDigest(mark);
  }
  flush(): void {
    const now = Date.now();
    if (now - this.lastFlush < FLUSH_EVERY_MS) return;
    this.lastFlush = now;
    this.writer.flush(this.position());
  }
  finish(trailer: Trailer): void {
    this.writer.finish(trailer);
  }
}

export function replaySource(rec: Recording, filename: string): ReplaySource {
  const end = rec.trailer ? { icount: rec.trailer.finalIcount, ticks: rec.trailer.finalTicks } : rec.validUpTo;
  return {
    filename,
    events: rec.events,
    digests: rec.digests,
    end,
    endReason: rec.trailer ? rec.trailer.endReason : "truncated",
    finalDigest: rec.trailer?.finalDigest || undefined,
  };
}

// Glue between the session and the recording format: a RecordSink over RecordingWriter, and a ReplaySource
// from a read recording.

import type { LoggedInput } from "./input.js";
import { RecordingWriter } from "./format-writer.js";
import type { Recording } from "./format-reader.js";
import type { RecordSink, ReplaySource } from "../session/session.js";
import type { DigestMark, Trailer } from "./format-types.js";

/** Flush recorded data to disk at most this often (host time), so a killed recorder loses little. */
const FLUSH_EVERY_MS = 200;

/**
 * Flushes at most every FLUSH_EVERY_MS. A flush skipped for being too soon is made up by a timer, so records
 * added just before the guest went idle (or a debugger stopped it) do not wait in memory for the next input: a
 * recorder killed while idle loses nothing. The timer runs between slices, when the machine is at a boundary and
 * `position()` is a point nothing earlier will be recorded before.
 */
export class RecordingSink implements RecordSink {
  private lastFlush = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Why a timer's flush failed: thrown at the session's next call, which can report it. */
  private failure: unknown;
  constructor(
    readonly writer: RecordingWriter,
    private readonly position: () => { icount: number; ticks: number },
  ) {}

  get filename(): string {
    return this.writer.path;
  }

  addEvent(e: LoggedInput): void {
    this.throwFailure();
    this.writer.addEvent(e);
  }
  addDigest(mark: DigestMark): void {
    this.throwFailure();
    this.writer.addDigest(mark);
  }
  flush(): void {
    this.throwFailure();
    const wait = this.lastFlush + FLUSH_EVERY_MS - Date.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => this.flushLater(), wait).unref();
      return;
    }
    this.flushNow();
  }
  finish(trailer: Trailer): void {
    this.cancelTimer();
    this.throwFailure();
    this.writer.finish(trailer);
  }

  private flushNow(): void {
    this.cancelTimer();
    this.lastFlush = Date.now();
    this.writer.flush(this.position());
  }

  private flushLater(): void {
    this.timer = undefined;
    if (!this.writer.isOpen) return;
    try {
      this.flushNow();
    } catch (e) {
      this.failure = e; // e.g. the disk is full
    }
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function replaySource(rec: Recording, filename: string): ReplaySource {
  const end = rec.trailer ? { icount: rec.trailer.finalIcount, ticks: rec.trailer.finalTicks } : rec.validUpTo;
  return {
    filename,
    events: rec.events,
    digests: rec.digests,
    end,
    endReason: rec.trailer ? rec.trailer.endReason : rec.damaged ? "damaged" : "truncated",
    finalDigest: rec.trailer?.finalDigest || undefined,
  };
}

/**
 * The data model of a Rewind recording (`rrfile`) and the format's constants. The byte layout is described in
 * docs/recording-format.md; keep the two in step.
 */

/** Everything a replay must match, JSON-serialisable. */
export interface RecordingConfig {
  board: string;
  cpu: string;
  /** Guest RAM in bytes. */
  ramSize: number;
  icountShift: number;
  kernel?: ImageIdentity;
  initrd?: ImageIdentity;
  dtb?: ImageIdentity;
  bios?: ImageIdentity;
  /** Kernel command line (`-append`). */
  append: string;
  /** Disks by id; the file path is informational (a moved image is fine). */
  drives: DriveIdentity[];
  /** `rrsnapshot` name, when the recording starts from an internal snapshot. */
  snapshot?: string;
  /** Host wall clock (seconds since the epoch) at boot: an input, carried here and used as-is on replay. */
  rtcBootSeconds: number;
  /** Room for later additions without a format version bump; compared key by key on replay. */
  extra?: Record<string, unknown>;
  /** How the recording was started (informational, never compared): lets `rewind replay FILE` relaunch it. */
  launch?: { argv: string[]; cwd: string; program: string };
}

export interface ImageIdentity {
  /** File name without directories: informational, never compared. */
  name: string;
  size: number;
  /** Lower-case hex SHA-256 of the whole file. */
  sha256: string;
}

export interface DriveIdentity {
  id: string;
  file: string;
  format: string;
  virtualSize: number;
}

export interface RecordingHeader {
  formatVersion: number;
  /** Program and version that wrote the file, e.g. "rewind 0.1.0". */
  writer: string;
  /** ISO 8601 time of recording: informational only, never used by replay. */
  createdAt: string;
  config: RecordingConfig;
}

/** A position on the recording's timeline. `ticks` = icount + idle ticks (docs/icount.md). */
export interface TimelinePosition {
  icount: number;
  ticks: number;
}

/** An input from outside the machine, delivered at the step boundary before step `icount`. */
export interface InputEvent {
  icount: number;
  ticks: number;
  kind: number;
  payload: Uint8Array;
}

/** A state digest taken while recording; replay compares against it to find the first divergence. */
export interface DigestMark {
  icount: number;
  ticks: number;
  /** Hex digest (normally SHA-256) of the whole machine state. */
  digest: string;
  /** Part name (e.g. "cpu", "ram", "pl011") -> hex digest of that part. */
  parts: Record<string, string>;
}

export interface Trailer {
  finalIcount: number;
  finalTicks: number;
  /** Hex digest of the machine state at the end ("" when none was taken). */
  finalDigest: string;
  /** Why recording stopped: "poweroff", "quit", "signal", ... */
  endReason: string;
}

/**
 * Input event kinds. The number is stored in the file, so a kind is never renumbered or reused. Ranges:
 * 1-63 machine-level inputs defined here; 64-127 device completions (block, network) as they arrive;
 * 128-65535 free for experiments. Kind 0 is not an event (the file uses it for digest marks).
 */
export const EventKind = {
  /** Bytes received on the first serial port (-serial #0). Payload: the bytes, in arrival order (>= 1). */
  SerialRx: 1,
  /** The host asked the machine to stop (QMP quit, a signal, closing the window). Payload: UTF-8 cause. */
  Shutdown: 2,
  /** A reset requested from outside (QMP system_reset). Payload: empty. */
  SystemReset: 3,
  /** Bytes received on another serial port. Payload: u8 port index (1 = -serial #1, ...), then the bytes. */
  SerialRxPort: 4,
  /** A debugger/QMP write to guest memory. Payload: u64 LE guest physical address, then the bytes written. */
  MemoryWrite: 5,
  /** A debugger write to a CPU register. Payload: varint GDB register number, then the value, little-endian. */
  RegisterWrite: 6,
} as const;
export type EventKindName = keyof typeof EventKind;

/** Largest event kind the format accepts. */
export const MAX_EVENT_KIND = 0xffff;

/**
 * The recording format version this code writes, and the newest it reads. Version 2: the run loop's timing
 * rules (docs/icount.md: a deadline armed mid-burst fires at its tick, a halting WFI's wait belongs to its step,
 * the timer's own state section) place inputs and digest marks at other positions than version 1 did, so a
 * version-1 recording cannot replay here and is refused with a message saying so.
 */
export const FORMAT_VERSION = 2;
/** The oldest format version this code reads. */
export const OLDEST_READABLE_VERSION = 2;

/** File signature: 0x89 "RWREC" CR LF. High bit and CR LF catch 7-bit and text-mode transfers (as PNG does). */
export const MAGIC = Uint8Array.of(0x89, 0x52, 0x57, 0x52, 0x45, 0x43, 0x0d, 0x0a);

export const ChunkType = {
  Header: 0x01,
  Records: 0x02,
  Trailer: 0x03,
} as const;
/** Chunk types with this bit set may be skipped by readers that do not know them. */
export const CHUNK_OPTIONAL_BIT = 0x80;

/** type (1) + length (4) before the payload, CRC-32 (4) after. */
export const CHUNK_OVERHEAD = 9;
/** Largest chunk payload a reader accepts; a larger claimed length means corruption. */
export const MAX_CHUNK_PAYLOAD = 64 * 1024 * 1024;
/** Largest event payload the writer accepts (an event must fit in one chunk). */
export const MAX_EVENT_PAYLOAD = 16 * 1024 * 1024;
/** Largest header JSON. */
export const MAX_HEADER_JSON = 1024 * 1024;
/** Largest digest (bytes) and part-name length. */
export const MAX_DIGEST_BYTES = 64;
export const MAX_PART_NAME = 256;
/** Chunk payload size at which the writer starts a new chunk. */
export const DEFAULT_CHUNK_TARGET = 64 * 1024;

export const DEFAULT_WRITER = "rewind 0.1.0";

export type RecordingErrorCode =
  | "io" // the file could not be read or written
  | "empty"
  | "not-a-recording" // wrong signature: another kind of file
  | "truncated-header" // the file ends before its header is complete
  | "newer-version" // made by a newer Rewind
  | "older-version" // made by an older Rewind whose recordings replay differently here
  | "corrupt" // damaged data before the last chunk, or inconsistent structure
  | "invalid" // the caller passed something the format cannot hold
  | "order" // an event or digest before one already written
  | "state"; // writer used after finish/abort/failure

/** The one error type the recording format lets escape; its message is meant for users. */
export class RecordingError extends Error {
  constructor(readonly code: RecordingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecordingError";
  }
}

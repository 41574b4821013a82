/**
 * GDB remote serial protocol (RSP) framing: pure functions shared by the client and the server.
 *
 * Wire format: `$payload#cs`, where `cs` is the two-digit hex sum of the payload bytes (as sent) modulo 256.
 * Inside a payload `}` escapes the next byte (sent XOR 0x20); `#`, `$`, `}` and `*` must be escaped in binary
 * data. Replies may be run-length encoded: `X*c` repeats `X` another `c - 29` times.
 * Outside packets: `+` ack, `-` nack (retransmit), 0x03 interrupt; `%payload#cs` is an async notification.
 *
 * Payloads are handled as `Buffer`s (binary safe) or as latin1 strings (one char per byte).
 */

/** A malformed packet, reply or hex string. The message says what was wrong, for the user. */
export class RspProtocolError extends Error {
  override name = "RspProtocolError";
}

export const ACK = 0x2b; // '+'
export const NACK = 0x2d; // '-'
export const INTERRUPT = 0x03; // ^C
const DOLLAR = 0x24;
const HASH = 0x23;
const PERCENT = 0x25;
const ESCAPE = 0x7d; // '}'
const STAR = 0x2a;
const RLE_BIAS = 29;

/** Largest payload the stream parser accepts before it gives up on a packet (protects against junk). */
export const DEFAULT_MAX_PACKET = 1 << 20;

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "latin1") : data;
}

/** Modulo-256 sum of the bytes, as used after `#`. */
export function checksum(data: Uint8Array | string): number {
  const bytes = toBytes(data);
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum + bytes[i]) & 0xff;
  return sum;
}

function needsEscape(b: number): boolean {
  return b === HASH || b === DOLLAR || b === ESCAPE || b === STAR;
}

/** Escapes `#`, `$`, `}` and `*` as `}` followed by the byte XOR 0x20 (binary data in `X`, qXfer replies...). */
export function escapeBinary(data: Uint8Array | string): Buffer {
  const bytes = toBytes(data);
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) if (needsEscape(bytes[i])) extra++;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (needsEscape(b)) {
      out[j++] = ESCAPE;
      out[j++] = b ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

/** Undoes {@link escapeBinary}. A trailing lone `}` is malformed. */
export function unescapeBinary(data: Uint8Array | string): Buffer {
  const bytes = toBytes(data);
  const out = Buffer.allocUnsafe(bytes.length);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === ESCAPE) {
      if (i + 1 >= bytes.length) throw new RspProtocolError("binary data ends with a lone escape character '}'");
      out[j++] = bytes[++i] ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out.subarray(0, j);
}

/**
 * Expands run-length encoding as GDB does on replies: `X*c` means X followed by `c - 29` more copies of X.
 * Works on the raw (still escaped) payload, like GDB's reader.
 */
export function expandRunLength(data: Uint8Array | string): Buffer {
  const bytes = toBytes(data);
  if (bytes.indexOf(STAR) < 0) return Buffer.from(bytes);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== STAR) {
      out.push(b);
      continue;
    }
    if (out.length === 0) throw new RspProtocolError("run-length marker '*' with no character before it");
    if (i + 1 >= bytes.length) throw new RspProtocolError("run-length marker '*' without a repeat count");
    const count = bytes[++i] - RLE_BIAS;
    if (count < 0 || count > 126 - RLE_BIAS) {
      throw new RspProtocolError(`invalid run-length repeat count character 0x${bytes[i].toString(16)}`);
    }
    const repeated = out[out.length - 1];
    for (let k = 0; k < count; k++) out.push(repeated);
  }
  return Buffer.from(out);
}

/**
 * Run-length encodes a reply payload (for a server). Runs of 4 or more bytes are compressed; counts whose
 * character would be `#` or `$` are avoided (GDB forbids them), and `*` or `}` are never repeated so the result
 * stays unambiguous with escapes.
 */
export function compressRunLength(data: Uint8Array | string): Buffer {
  const bytes = toBytes(data);
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let run = 1;
    while (i + run < bytes.length && bytes[i + run] === b) run++;
    i += run;
    if (b === STAR || b === ESCAPE || b === HASH || b === DOLLAR) {
      for (let k = 0; k < run; k++) out.push(b);
      continue;
    }
    while (run > 0) {
      out.push(b);
      run--;
      // Extra copies encoded in one marker: at most 97; 6 and 7 would give '#' and '$'.
      let extra = Math.min(run, 126 - RLE_BIAS);
      if (extra === 6 || extra === 7) extra = 5;
      if (extra >= 3) {
        out.push(STAR, extra + RLE_BIAS);
        run -= extra;
      }
    }
  }
  return Buffer.from(out);
}

/** Two lowercase hex digits. */
export function hexByte(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

/**
 * Frames a payload as `$payload#cs`. The payload is sent as given: escape binary data first with
 * {@link escapeBinary}. Throws if the payload contains an unescaped `$` or `#`, which would break framing.
 */
export function encodePacket(payload: Uint8Array | string, start: "$" | "%" = "$"): Buffer {
  const bytes = toBytes(payload);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === DOLLAR || bytes[i] === HASH) {
      throw new RspProtocolError(`packet payload contains an unescaped '${String.fromCharCode(bytes[i])}'`);
    }
  }
  const out = Buffer.allocUnsafe(bytes.length + 4);
  out[0] = start.charCodeAt(0);
  out.set(bytes, 1);
  out[bytes.length + 1] = HASH;
  out.write(hexByte(checksum(bytes)), bytes.length + 2, "latin1");
  return out;
}

export interface DecodeOptions {
  /** Expand `X*c` runs (replies from a server may use them; client packets never do). Default true. */
  expandRunLength?: boolean;
}

/**
 * Decodes one complete frame `$payload#cs` (or `%payload#cs`). Verifies the checksum; returns the payload
 * (run-length expanded unless disabled, escapes left in place). Throws {@link RspProtocolError} when malformed.
 */
export function decodePacket(frame: Uint8Array | string, options: DecodeOptions = {}): Buffer {
  const bytes = toBytes(frame);
  if (bytes.length === 0) throw new RspProtocolError("empty packet");
  if (bytes[0] !== DOLLAR && bytes[0] !== PERCENT) {
    throw new RspProtocolError(`packet must start with '$' or '%', got 0x${bytes[0].toString(16)}`);
  }
  const hash = bytes.indexOf(HASH, 1);
  if (hash < 0) throw new RspProtocolError("truncated packet: no '#' before the checksum");
  if (bytes.length < hash + 3) throw new RspProtocolError("truncated packet: checksum needs two hex digits");
  if (bytes.length > hash + 3) throw new RspProtocolError("junk after the packet checksum");
  const payload = bytes.subarray(1, hash);
  if (payload.indexOf(DOLLAR) >= 0) throw new RspProtocolError("packet payload contains an unescaped '$'");
  const sent = parseHexDigits(bytes[hash + 1], bytes[hash + 2]);
  if (sent < 0) throw new RspProtocolError("packet checksum is not two hex digits");
  const actual = checksum(payload);
  if (sent !== actual) {
    throw new RspProtocolError(`packet checksum mismatch: sent ${hexByte(sent)}, computed ${hexByte(actual)}`);
  }
  return options.expandRunLength === false ? Buffer.from(payload) : expandRunLength(payload);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function parseHexDigits(hi: number, lo: number): number {
  const h = hexValue(hi);
  const l = hexValue(lo);
  return h < 0 || l < 0 ? -1 : (h << 4) | l;
}

/** Events produced by {@link RspStreamParser}. */
export type RspEvent =
  | { type: "ack" }
  | { type: "nack" }
  | { type: "interrupt" }
  /** A packet: `payload` is run-length expanded (if enabled) with escapes left in place. */
  | { type: "packet"; payload: Buffer; checksumOk: boolean }
  | { type: "notification"; payload: Buffer; checksumOk: boolean }
  /** Something that is not protocol: bytes between packets, a packet cut short, an oversized packet... */
  | { type: "junk"; reason: string; bytes: Buffer };

/**
 * Incremental parser for a byte stream (either direction). Feed it socket chunks; it returns the events they
 * complete. Never throws on bad input: malformed frames become `junk` events or packets with `checksumOk: false`
 * (which the receiver answers with `-` in ack mode).
 */
export class RspStreamParser {
  private state: "idle" | "payload" | "cs1" | "cs2" = "idle";
  private kind: "packet" | "notification" = "packet";
  private buf: number[] = [];
  private cs1 = 0;
  private readonly maxPacket: number;
  private readonly rle: boolean;

  constructor(options: { maxPacket?: number; expandRunLength?: boolean } = {}) {
    this.maxPacket = options.maxPacket ?? DEFAULT_MAX_PACKET;
    this.rle = options.expandRunLength ?? true;
  }

  /** True while in the middle of a packet. */
  get busy(): boolean {
    return this.state !== "idle";
  }

  push(chunk: Uint8Array): RspEvent[] {
    const events: RspEvent[] = [];
    let junk: number[] = [];
    const flushJunk = () => {
      if (junk.length) events.push({ type: "junk", reason: "bytes outside a packet", bytes: Buffer.from(junk) });
      junk = [];
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      switch (this.state) {
        case "idle":
          if (b === DOLLAR || b === PERCENT) {
            flushJunk();
            this.kind = b === DOLLAR ? "packet" : "notification";
            this.buf = [];
            this.state = "payload";
          } else if (b === ACK) {
            flushJunk();
            events.push({ type: "ack" });
          } else if (b === NACK) {
            flushJunk();
            events.push({ type: "nack" });
          } else if (b === INTERRUPT) {
            flushJunk();
            events.push({ type: "interrupt" });
          } else {
            junk.push(b);
          }
          break;
        case "payload":
          if (b === HASH) {
            this.state = "cs1";
          } else if (b === DOLLAR) {
            // A new packet started before the old one ended: the old one was cut short (GDB restarts too).
            events.push({ type: "junk", reason: "truncated packet (new '$' before '#')", bytes: Buffer.from(this.buf) });
            this.buf = [];
            this.kind = "packet";
          } else if (this.buf.length >= this.maxPacket) {
            events.push({ type: "junk", reason: `packet longer than ${this.maxPacket} bytes`, bytes: Buffer.from(this.buf) });
            this.buf = [];
            this.state = "idle";
          } else {
            this.buf.push(b);
          }
          break;
        case "cs1":
          this.cs1 = b;
          this.state = "cs2";
          break;
        case "cs2": {
          this.state = "idle";
          const raw = Buffer.from(this.buf);
          this.buf = [];
          const sent = parseHexDigits(this.cs1, b);
          let checksumOk = sent >= 0 && sent === checksum(raw);
          let payload: Buffer = raw;
          if (checksumOk && this.rle) {
            try {
              payload = expandRunLength(raw);
            } catch {
              checksumOk = false; // undecodable: ask for a retransmission like a bad checksum
            }
          }
          events.push({ type: this.kind, payload, checksumOk });
          break;
        }
      }
    }
    flushJunk();
    return events;
  }

  reset(): void {
    this.state = "idle";
    this.buf = [];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hex helpers

const HEX_RE = /^[0-9a-fA-F]*$/;

/** True when the string is non-empty, of even length and only hex digits. */
export function isHex(s: string): boolean {
  return s.length > 0 && s.length % 2 === 0 && HEX_RE.test(s);
}

/** Hex string (even length) → bytes. Throws {@link RspProtocolError} on odd length or a non-hex digit. */
export function hexToBytes(hex: string): Buffer {
  if (hex.length % 2 !== 0) throw new RspProtocolError(`hex data has odd length ${hex.length}`);
  if (!HEX_RE.test(hex)) throw new RspProtocolError(`not hex data: ${JSON.stringify(hex.slice(0, 40))}`);
  return Buffer.from(hex, "hex");
}

/** Bytes → lowercase hex. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Text → hex of its UTF-8 bytes (for `qRcmd`, `O` packets). */
export function textToHex(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}

/** Hex → text (UTF-8). */
export function hexToText(hex: string): string {
  return hexToBytes(hex).toString("utf8");
}

/**
 * Decodes a register value sent as target-order little-endian hex (`g`, `p` replies). Returns undefined if the
 * value is unavailable (GDB's `xx...`). Throws on malformed hex.
 */
export function decodeLittleEndian(hex: string): bigint | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) {
    throw new RspProtocolError(`register value has bad hex length ${hex.length}`);
  }
  if (/^[xX]+$/.test(hex)) return undefined;
  if (!HEX_RE.test(hex)) throw new RspProtocolError(`register value is not hex: ${JSON.stringify(hex.slice(0, 40))}`);
  let swapped = "";
  for (let i = hex.length - 2; i >= 0; i -= 2) swapped += hex.substr(i, 2);
  return BigInt("0x" + swapped);
}

/** Encodes a value as `byteLength` bytes of little-endian hex (for `G`, `P`). Throws if it does not fit. */
export function encodeLittleEndian(value: bigint | number, byteLength: number): string {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(byteLength * 8, v);
  if (v >> BigInt(byteLength * 8) !== 0n) {
    throw new RspProtocolError(`value 0x${v.toString(16)} does not fit in ${byteLength} bytes`);
  }
  let out = "";
  for (let i = 0; i < byteLength; i++) {
    out += hexByte(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Parses a hex number as written in packets (`m addr,len`, thread ids, stop reply fields). */
export function parseHexNumber(text: string): bigint {
  if (!/^[0-9a-fA-F]+$/.test(text)) throw new RspProtocolError(`not a hex number: ${JSON.stringify(text.slice(0, 40))}`);
  return BigInt("0x" + text);
}

/** Formats an address or length for a packet: lowercase hex without leading zeros. */
export function formatHexNumber(value: bigint | number): string {
  const v = BigInt(value);
  if (v < 0n) throw new RspProtocolError(`negative number ${v} cannot be sent`);
  return v.toString(16);
}

/**
 * Byte-level encoding for the recording format: unsigned LEB128 varints limited to JavaScript's safe
 * integers (2^53 - 1, enough for any icount) and little-endian fixed-width fields.
 *
 * The reader side never throws anything but `DecodeError` (a bad varint, a read past the end); the recording
 * reader turns that into a RecordingError naming the file and byte offset.
 */

/** A malformed or short field inside a chunk; `offset` is relative to the buffer being decoded. */
export class DecodeError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "DecodeError";
  }
}

/** Longest varint we accept: 8 bytes carry 56 bits, more than the 53 a Number holds exactly. */
export const MAX_VARINT_BYTES = 8;

/** Number of bytes `value` takes as a varint (for size estimates and tests). */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** A growable output buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.len++] = value & 0xff;
  }

  u16le(value: number): void {
    this.ensure(2);
    this.buf[this.len++] = value & 0xff;
    this.buf[this.len++] = (value >>> 8) & 0xff;
  }

  u32le(value: number): void {
    this.ensure(4);
    this.buf[this.len++] = value & 0xff;
    this.buf[this.len++] = (value >>> 8) & 0xff;
    this.buf[this.len++] = (value >>> 16) & 0xff;
    this.buf[this.len++] = (value >>> 24) & 0xff;
  }

  /** Unsigned varint; `value` must be a safe non-negative integer (callers validate first). */
  varint(value: number): void {
    this.ensure(MAX_VARINT_BYTES);
    if (value < 0x80000000) {
      // Fast path with 32-bit operations: icount deltas almost always land here.
      let v = value >>> 0;
      while (v >= 0x80) {
        this.buf[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.len++] = v;
      return;
    }
    let v = value;
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  /** Length-prefixed bytes. */
  blob(data: Uint8Array): void {
    this.varint(data.length);
    this.bytes(data);
  }

  /** The bytes written so far (a view; copy it before writing more if you keep it). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
  }
}

/** A bounds-checked cursor over a byte buffer. */
export class ByteReader {
  private pos: number;

  constructor(private readonly buf: Uint8Array, start = 0, private readonly end = buf.length) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new DecodeError(`${what} runs past the end of its chunk`, this.pos);
    }
  }

  u8(what = "a byte"): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16le(what = "a 16-bit field"): number {
    this.need(2, what);
    const b = this.buf;
    const v = b[this.pos] | (b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }

  u32le(what = "a 32-bit field"): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  varint(what = "a number"): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) throw new DecodeError(`${what} runs past the end of its chunk`, start);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new DecodeError(`${what} is too large (more than 2^53 - 1)`, start);
        }
        return value;
      }
      scale *= 128;
    }
    throw new DecodeError(`${what} is an overlong number (more than ${MAX_VARINT_BYTES} bytes)`, start);
  }

  bytes(n: number, what = "data"): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed bytes, at most `max` long. */
  blob(what: string, max: number): Uint8Array {
    const at = this.pos;
    const n = this.varint(`the length of ${what}`);
    if (n > max) throw new DecodeError(`${what} claims ${n} bytes (at most ${max} allowed)`, at);
    return this.bytes(n, what);
  }
}

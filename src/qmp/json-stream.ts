/**
 * QMP's JSON, both directions, with QEMU 7.2's behaviour where clients can see it.
 *
 * Input: a byte stream with any number of JSON texts, split or concatenated arbitrarily. The lexer works on
 * bytes (QEMU's: single-quoted strings are allowed, `%` interpolation is not), a streamer counts brackets to find
 * where a top-level value ends, and a recursive-descent parser turns its tokens into values. Every problem becomes
 * one error item with QEMU's text ("JSON parse error, ..."), after which the lexer skips to a point where it can
 * resynchronise (a structural character or a control byte), as QEMU does. Nothing here throws on input.
 *
 * Values: integers are bigint (so 64-bit ids echo exactly and `1` and `1.0` stay distinguishable, as QEMU's QNum
 * does), other numbers are number, objects are Map (input order, no prototype keys).
 *
 * Output: QEMU prints object members in the order of its QDict hash table, not in insertion order. Replies that
 * look the same byte for byte help scripts that compare output, so the writer reproduces that order; callers
 * insert members in QAPI schema order, which decides ties within a hash bucket as in QEMU.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/** What the writer accepts: parsed values, plus plain objects (members that are `undefined` are left out). */
export type OutValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly OutValue[]
  | ReadonlyMap<string, OutValue>
  | { readonly [key: string]: OutValue | undefined };

export type StreamItem = { kind: "value"; value: JsonValue } | { kind: "error"; message: string };

/** QEMU's limits (json-streamer.c): per message, and the nesting that recursion must survive. */
export interface JsonLimits {
  maxMessageBytes: number;
  maxTokens: number;
  maxNesting: number;
}

export const QEMU_JSON_LIMITS: Readonly<JsonLimits> = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxTokens: 2 * 1024 * 1024,
  maxNesting: 1024,
};

const enum Tok {
  LCurly,
  RCurly,
  LSquare,
  RSquare,
  Colon,
  Comma,
  String,
  Integer,
  Float,
  Keyword,
}

interface Token {
  type: Tok;
  /** Strings: the raw bytes including both quotes (decoded by the parser, which reports errors in order). */
  bytes?: Uint8Array;
  /** Numbers and keywords. */
  text?: string;
}

const enum St {
  Start,
  DqString,
  DqEscape,
  SqString,
  SqEscape,
  Zero,
  Digits,
  Negative,
  Mantissa,
  MantissaDigits,
  ExpE,
  ExpSign,
  ExpDigits,
  Keyword,
  /** After an error: skip to a structural character or control byte. */
  Recovery,
}

const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;

const STRUCTURAL: Partial<Record<number, Tok>> = {
  0x7b: Tok.LCurly,
  0x7d: Tok.RCurly,
  0x5b: Tok.LSquare,
  0x5d: Tok.RSquare,
  0x3a: Tok.Colon,
  0x2c: Tok.Comma,
};

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
/** Bytes allowed inside a string token (validity of escapes and UTF-8 is the parser's business). */
const isStringByte = (c: number) => c >= 0x20 && c <= 0xfd;

/**
 * Splits a byte stream into top-level JSON values. `feed` may be called with any fragmentation; each complete
 * value or error is handed to `onItem` synchronously, in stream order.
 */
export class JsonStreamParser {
  private state = St.Start;
  private buf = new Uint8Array(64);
  private len = 0;
  private tokens: Token[] = [];
  private tokenBytes = 0;
  private braces = 0;
  private brackets = 0;
  private readonly limits: JsonLimits;

  constructor(
    private readonly onItem: (item: StreamItem) => void,
    limits: Partial<JsonLimits> = {},
  ) {
    this.limits = { ...QEMU_JSON_LIMITS, ...limits };
  }

  /** Forgets any partial input (a new client on the same monitor). */
  reset(): void {
    this.state = St.Start;
    this.len = 0;
    this.resetMessage();
    if (this.buf.length > 1 << 16) this.buf = new Uint8Array(64);
  }

  feed(data: Uint8Array): void {
    let i = 0;
    const n = data.length;
    while (i < n) {
      const c = data[i]!;
      switch (this.state) {
        case St.Start: {
          i++;
          if (isWhitespace(c)) break;
          const structural = STRUCTURAL[c];
          if (structural !== undefined) {
            this.append(c);
            this.token({ type: structural });
          } else if (c === QUOTE) this.begin(c, St.DqString);
          else if (c === APOSTROPHE) this.begin(c, St.SqString);
          else if (c === 0x30) this.begin(c, St.Zero);
          else if (c >= 0x31 && c <= 0x39) this.begin(c, St.Digits);
          else if (c === 0x2d) this.begin(c, St.Negative);
          else if (c >= 0x61 && c <= 0x7a) this.begin(c, St.Keyword);
          else this.stray(c);
          break;
        }
        case St.DqString:
        case St.SqString: {
          const close = this.state === St.DqString ? QUOTE : APOSTROPHE;
          // Copy the run of ordinary bytes in one go: long strings are the common big input.
          let j = i;
          while (j < n) {
            const b = data[j]!;
            if (b === close || b === BACKSLASH || !isStringByte(b)) break;
            j++;
          }
          if (j > i) this.appendRun(data, i, j);
          i = j;
          if (this.len > this.limits.maxMessageBytes) break; // cut off below
          if (i >= n) break;
          const b = data[i++]!;
          if (b === close) {
            this.append(b);
            this.token({ type: Tok.String, bytes: this.buf.slice(0, this.len) });
          } else if (b === BACKSLASH) {
            this.append(b);
            this.state = this.state === St.DqString ? St.DqEscape : St.SqEscape;
          } else this.stray(b);
          break;
        }
        case St.DqEscape:
        case St.SqEscape:
          i++;
          if (!isStringByte(c)) this.stray(c);
          else {
            this.append(c);
            this.state = this.state === St.DqEscape ? St.DqString : St.SqString;
          }
          break;
        case St.Negative:
          i++;
          if (c === 0x30) this.advance(c, St.Zero);
          else if (c >= 0x31 && c <= 0x39) this.advance(c, St.Digits);
          else this.stray(c);
          break;
        case St.Zero:
          // "0" takes no more digits and no exponent (QEMU: "01" is stray, "0e1" is 0 then keyword "e").
          if (isDigit(c)) {
            i++;
            this.stray(c);
          } else if (c === 0x2e) {
            i++;
            this.advance(c, St.Mantissa);
          } else this.finish(Tok.Integer);
          break;
        case St.Digits:
          if (isDigit(c)) {
            i++;
            this.advance(c, St.Digits);
          } else if (c === 0x2e) {
            i++;
            this.advance(c, St.Mantissa);
          } else if (c === 0x65 || c === 0x45) {
            i++;
            this.advance(c, St.ExpE);
          } else this.finish(Tok.Integer);
          break;
        case St.Mantissa:
          i++;
          if (isDigit(c)) this.advance(c, St.MantissaDigits);
          else this.stray(c);
          break;
        case St.MantissaDigits:
          if (isDigit(c)) {
            i++;
            this.advance(c, St.MantissaDigits);
          } else if (c === 0x65 || c === 0x45) {
            i++;
            this.advance(c, St.ExpE);
          } else this.finish(Tok.Float);
          break;
        case St.ExpE:
          i++;
          if (c === 0x2b || c === 0x2d) this.advance(c, St.ExpSign);
          else if (isDigit(c)) this.advance(c, St.ExpDigits);
          else this.stray(c);
          break;
        case St.ExpSign:
          i++;
          if (isDigit(c)) this.advance(c, St.ExpDigits);
          else this.stray(c);
          break;
        case St.ExpDigits:
          if (isDigit(c)) {
            i++;
            this.advance(c, St.ExpDigits);
          } else this.finish(Tok.Float);
          break;
        case St.Keyword:
          if (c >= 0x61 && c <= 0x7a) {
            i++;
            this.advance(c, St.Keyword);
          } else this.finish(Tok.Keyword);
          break;
        case St.Recovery:
          // Structural characters and control bytes (other than tab) are where a client can resynchronise.
          if ((c < 0x20 && c !== 0x09) || c >= 0xfe || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d) this.state = St.Start;
          else i++;
          break;
      }
      if (this.len > this.limits.maxMessageBytes) {
        this.len = 0;
        this.fail("JSON token size limit exceeded");
      }
    }
  }

  // ---- lexer helpers -------------------------------------------------------------------------------------

  private begin(c: number, state: St): void {
    this.len = 0;
    this.append(c);
    this.state = state;
  }

  private advance(c: number, state: St): void {
    this.append(c);
    this.state = state;
  }

  /** A token that ended because the current byte cannot extend it; that byte is looked at again from Start. */
  private finish(type: Tok.Integer | Tok.Float | Tok.Keyword): void {
    this.token({ type, text: latin1(this.buf, 0, this.len) });
  }

  private append(c: number): void {
    if (this.len === this.buf.length) this.grow(this.len + 1);
    this.buf[this.len++] = c;
  }

  private appendRun(data: Uint8Array, from: number, to: number): void {
    const need = this.len + (to - from);
    if (need > this.buf.length) this.grow(need);
    this.buf.set(data.subarray(from, to), this.len);
    this.len = need;
  }

  private grow(min: number): void {
    let size = this.buf.length * 2;
    while (size < min) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A byte that fits nowhere: QEMU reports the token so far, including that byte. */
  private stray(c: number): void {
    this.append(c);
    const text = decodeLenient(this.buf.subarray(0, this.len));
    this.len = 0;
    this.fail(`JSON parse error, stray '${text}'`);
  }

  private fail(message: string): void {
    this.state = St.Recovery;
    this.resetMessage();
    this.onItem({ kind: "error", message });
  }

  // ---- streamer ----------------------------------------------------------------------------------------

  private token(tok: Token): void {
    this.state = St.Start;
    const size = this.len;
    this.len = 0;
    switch (tok.type) {
      case Tok.LCurly:
        this.braces++;
        break;
      case Tok.RCurly:
        this.braces--;
        break;
      case Tok.LSquare:
        this.brackets++;
        break;
      case Tok.RSquare:
        this.brackets--;
        break;
    }
    this.tokens.push(tok);
    this.tokenBytes += size;
    if (this.braces < 0 || this.brackets < 0 || (this.braces === 0 && this.brackets === 0)) {
      const tokens = this.tokens;
      this.resetMessage();
      this.onItem(parseTokens(tokens));
      return;
    }
    let limit: string | undefined;
    if (this.tokenBytes > this.limits.maxMessageBytes) limit = "JSON token size limit exceeded";
    else if (this.tokens.length > this.limits.maxTokens) limit = "JSON token count limit exceeded";
    else if (this.braces + this.brackets > this.limits.maxNesting) limit = "JSON nesting depth limit exceeded";
    if (limit !== undefined) {
      this.resetMessage();
      this.onItem({ kind: "error", message: limit });
    }
  }

  private resetMessage(): void {
    this.tokens = [];
    this.tokenBytes = 0;
    this.braces = 0;
    this.brackets = 0;
  }
}

// ---- parser --------------------------------------------------------------------------------------------

class ParseError {
  constructor(readonly message: string) {}
}

function parseTokens(tokens: Token[]): StreamItem {
  const p = new TokenParser(tokens);
  try {
    return { kind: "value", value: p.value() };
  } catch (e) {
    if (e instanceof ParseError) return { kind: "error", message: `JSON parse error, ${e.message}` };
    throw e;
  }
}

class TokenParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    const t = this.tokens[this.pos];
    if (!t) throw new ParseError("premature EOI");
    return t;
  }

  private pop(): Token {
    const t = this.peek();
    this.pos++;
    return t;
  }

  value(): JsonValue {
    const t = this.peek();
    switch (t.type) {
      case Tok.LCurly:
        return this.object();
      case Tok.LSquare:
        return this.array();
      case Tok.String:
        this.pos++;
        return decodeString(t.bytes!);
      case Tok.Integer:
        this.pos++;
        return parseInteger(t.text!);
      case Tok.Float:
        this.pos++;
        return Number(t.text!);
      case Tok.Keyword:
        this.pos++;
        if (t.text === "true") return true;
        if (t.text === "false") return false;
        if (t.text === "null") return null;
        throw new ParseError(`invalid keyword '${t.text}'`);
      default:
        throw new ParseError("expecting value");
    }
  }

  private object(): JsonObject {
    this.pos++; // {
    const obj: JsonObject = new Map();
    if (this.peek().type === Tok.RCurly) {
      this.pos++;
      return obj;
    }
    for (;;) {
      const key = this.value();
      if (typeof key !== "string") throw new ParseError("key is not a string in object");
      if (this.pop().type !== Tok.Colon) throw new ParseError("missing : in object pair");
      const value = this.value();
      if (obj.has(key)) throw new ParseError("duplicate key");
      obj.set(key, value);
      const sep = this.pop();
      if (sep.type === Tok.RCurly) return obj;
      if (sep.type !== Tok.Comma) throw new ParseError("expected separator in dict");
    }
  }

  private array(): JsonValue[] {
    this.pos++; // [
    const list: JsonValue[] = [];
    if (this.peek().type === Tok.RSquare) {
      this.pos++;
      return list;
    }
    for (;;) {
      list.push(this.value());
      const sep = this.pop();
      if (sep.type === Tok.RSquare) return list;
      if (sep.type !== Tok.Comma) throw new ParseError("expected separator in list");
    }
  }
}

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** As QEMU: int64 if it fits, else uint64, else a double. */
function parseInteger(text: string): bigint | number {
  const v = BigInt(text);
  if (v >= INT64_MIN && v <= UINT64_MAX) return v;
  return Number(text);
}

/** QEMU accepts every code point except surrogates and noncharacters (U+FDD0..FDEF, U+xxFFFE/F). */
function isValidCodePoint(cp: number): boolean {
  if (cp < 0 || cp > 0x10ffff) return false;
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return false;
  return cp < 0xd800 || cp > 0xdfff;
}

function hex4(bytes: Uint8Array, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = bytes[at + k]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/**
 * One UTF-8 sequence as QEMU reads it ("modified UTF-8": C0 80 is NUL; no overlong forms, surrogates or
 * noncharacters). Returns the code point and length, or undefined when invalid.
 */
function utf8At(bytes: Uint8Array, at: number, end: number): { cp: number; len: number } | undefined {
  const c = bytes[at]!;
  let len: number;
  let cp: number;
  let min: number;
  if (c < 0x80) return { cp: c, len: 1 };
  if (c < 0xc0) return undefined;
  if (c < 0xe0) [len, cp, min] = [2, c & 0x1f, 0x80];
  else if (c < 0xf0) [len, cp, min] = [3, c & 0x0f, 0x800];
  else if (c < 0xf8) [len, cp, min] = [4, c & 0x07, 0x10000];
  else return undefined;
  if (at + len > end) return undefined;
  for (let k = 1; k < len; k++) {
    const b = bytes[at + k]!;
    if ((b & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min && !(len === 2 && cp === 0)) return undefined;
  return isValidCodePoint(cp) ? { cp, len } : undefined;
}

const SIMPLE_ESCAPES: Partial<Record<number, string>> = {
  0x22: '"',
  0x27: "'",
  0x5c: "\\",
  0x2f: "/",
  0x62: "\b",
  0x66: "\f",
  0x6e: "\n",
  0x72: "\r",
  0x74: "\t",
};

/** A string token (with its quotes) to its value, with QEMU's error texts. */
function decodeString(bytes: Uint8Array): string {
  const end = bytes.length - 1; // the closing quote
  const parts: string[] = [];
  let i = 1;
  while (i < end) {
    // Plain ASCII runs in one piece.
    let j = i;
    while (j < end && bytes[j]! < 0x80 && bytes[j] !== BACKSLASH) j++;
    if (j > i) {
      parts.push(latin1(bytes, i, j));
      i = j;
      continue;
    }
    const c = bytes[i]!;
    if (c === BACKSLASH) {
      const e = bytes[i + 1]!;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        parts.push(simple);
        i += 2;
        continue;
      }
      if (e !== 0x75) throw new ParseError("invalid escape sequence in string");
      let cp = hex4(bytes, i + 2, end);
      let next = i + 6;
      if (cp >= 0xd800 && cp <= 0xdbff && bytes[next] === BACKSLASH && bytes[next + 1] === 0x75) {
        const low = hex4(bytes, next + 2, end);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp & 0x3ff) << 10) + (low & 0x3ff);
          next += 6;
        } else cp = -1;
      }
      if (!isValidCodePoint(cp)) {
        const shown = latin1(bytes, i, Math.min(next, bytes.length));
        throw new ParseError(`${shown} is not a valid Unicode character`);
      }
      parts.push(String.fromCodePoint(cp));
      i = next;
      continue;
    }
    const u = utf8At(bytes, i, end);
    if (!u) throw new ParseError("invalid UTF-8 sequence in string");
    parts.push(String.fromCodePoint(u.cp));
    i += u.len;
  }
  return parts.join("");
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString("latin1");
}

/** Text for an error message: stops at NUL (C strings), invalid UTF-8 becomes U+FFFD. */
function decodeLenient(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  let out = "";
  for (let i = 0; i < end; ) {
    const u = utf8At(bytes, i, end);
    if (u) {
      out += String.fromCodePoint(u.cp);
      i += u.len;
    } else {
      out += "\ufffd";
      i++;
    }
  }
  return out;
}

// ---- writer --------------------------------------------------------------------------------------------

const QDICT_BUCKETS = 512;
const bucketCache = new Map<string, number>();

/** QEMU's QDict bucket for a key (tdb_hash over the key's bytes, modulo the table size). */
function bucketOf(key: string): number {
  let b = bucketCache.get(key);
  if (b !== undefined) return b;
  const bytes = modifiedUtf8(key);
  let v = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  b = ((Math.imul(1103515243, v) + 12345) >>> 0) % QDICT_BUCKETS;
  if (bucketCache.size < 4096) bucketCache.set(key, b);
  return b;
}

function modifiedUtf8(s: string): Uint8Array {
  const b = Buffer.from(s, "utf8");
  if (!b.includes(0)) return b;
  const out: number[] = [];
  for (const x of b) {
    if (x === 0) out.push(0xc0, 0x80);
    else out.push(x);
  }
  return Uint8Array.from(out);
}

/**
 * The order in which QEMU iterates (and prints) a QDict built by inserting `keys` in this order: by hash bucket,
 * and within a bucket the most recently inserted first.
 */
export function qemuKeyOrder(keys: readonly string[]): string[] {
  return keys
    .map((key, index) => ({ key, index, bucket: bucketOf(key) }))
    .sort((a, b) => a.bucket - b.bucket || b.index - a.index)
    .map((e) => e.key);
}

/** QEMU's JSON text for a value: `{"a": 1, "b": [1, 2]}`, or its pretty form (4-space indents). No newline. */
export function toQmpJson(value: OutValue, pretty = false): string {
  const out: string[] = [];
  write(value, pretty, 0, out);
  return out.join("");
}

function write(value: OutValue, pretty: boolean, level: number, out: string[]): void {
  if (value === null) out.push("null");
  else if (typeof value === "boolean") out.push(value ? "true" : "false");
  else if (typeof value === "bigint") out.push(value.toString());
  else if (typeof value === "number") out.push(formatNumber(value));
  else if (typeof value === "string") out.push(quote(value));
  else if (Array.isArray(value)) {
    const list = value as readonly OutValue[];
    out.push("[");
    list.forEach((item, i) => {
      out.push(separator(i === 0, pretty, level + 1));
      write(item, pretty, level + 1, out);
    });
    out.push(closing(pretty, level), "]");
  } else {
    const entries = value instanceof Map ? [...(value as ReadonlyMap<string, OutValue>)] : Object.entries(value as object);
    const present = new Map<string, OutValue>();
    for (const [k, v] of entries) if (v !== undefined) present.set(k, v as OutValue);
    out.push("{");
    qemuKeyOrder([...present.keys()]).forEach((key, i) => {
      out.push(separator(i === 0, pretty, level + 1), quote(key), ": ");
      write(present.get(key)!, pretty, level + 1, out);
    });
    out.push(closing(pretty, level), "}");
  }
}

function separator(first: boolean, pretty: boolean, level: number): string {
  if (!pretty) return first ? "" : ", ";
  return (first ? "\n" : ",\n") + "    ".repeat(level);
}

/** QEMU's pretty printer puts even an empty container's closing bracket on its own line. */
function closing(pretty: boolean, level: number): string {
  return pretty ? "\n" + "    ".repeat(level) : "";
}

/** QEMU escapes everything outside printable ASCII as \uXXXX (upper-case hex, surrogate pairs beyond the BMP). */
function quote(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(run, i);
    run = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      default: {
        if (c >= 0xd800 && c <= 0xdbff) {
          const low = s.charCodeAt(i + 1);
          if (low >= 0xdc00 && low <= 0xdfff) {
            out += `\\u${hex(c)}\\u${hex(low)}`;
            i++;
            run = i + 1;
            break;
          }
          out += "\\uFFFD";
          break;
        }
        out += c >= 0xdc00 && c <= 0xdfff ? "\\uFFFD" : `\\u${hex(c)}`;
      }
    }
  }
  return out + s.slice(run) + '"';
}

function hex(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * C's "%.17g", which QEMU uses for doubles (integers from our own replies print the same way). Infinities and NaN,
 * which QEMU would print as bare `inf`/`nan` (not JSON), become null so that every client can still parse the line.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return "null";
  if (Object.is(x, -0)) return "-0";
  if (Number.isSafeInteger(x) && Math.abs(x) < 1e17) return String(x);
  const [mant, expText] = x.toExponential(16).split("e") as [string, string];
  const exp = Number(expText);
  const negative = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "").replace(/0+$/, "") || "0";
  let body: string;
  if (exp < -4 || exp >= 17) {
    const frac = digits.slice(1);
    body = `${digits[0]}${frac ? "." + frac : ""}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    body = "0." + "0".repeat(-exp - 1) + digits;
  } else {
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const frac = digits.slice(exp + 1);
    body = frac ? `${int}.${frac}` : int;
  }
  return negative ? "-" + body : body;
}

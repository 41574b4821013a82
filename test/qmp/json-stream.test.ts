import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatNumber, JsonStreamParser, qemuKeyOrder, toQmpJson, type JsonLimits, type JsonValue, type StreamItem } from "../../src/qmp/json-stream.js";

const enc = (s: string) => new TextEncoder().encode(s);

function parseAll(input: Uint8Array | string, limits?: Partial<JsonLimits>): StreamItem[] {
  const items: StreamItem[] = [];
  const p = new JsonStreamParser((i) => items.push(i), limits);
  p.feed(typeof input === "string" ? enc(input) : input);
  return items;
}

/** Items as short strings: values as JSON text, errors as "!message". */
function show(items: StreamItem[]): string[] {
  return items.map((i) => (i.kind === "error" ? `!${i.message}` : toQmpJson(i.value)));
}

describe("JSON input as QEMU 7.2 reads it", () => {
  test("values, QEMU's extensions, and what stays an integer", () => {
    assert.deepEqual(show(parseAll(`{"a": [1, -2, 3.5, 1e2, true, false, null, "x"]} {'b': 'it"s'} [] {}`)), [
      '{"a": [1, -2, 3.5, 100, true, false, null, "x"]}',
      '{"b": "it\\"s"}',
      "[]",
      "{}",
    ]);
    const [item] = parseAll("[1, 1.0, 9223372036854775807, 18446744073709551615, 18446744073709551616, -9223372036854775809]");
    assert.deepEqual((item as { value: JsonValue }).value, [1n, 1, 9223372036854775807n, 18446744073709551615n, 18446744073709551616, -9223372036854775809]);
    // -0 as an integer is 0; as a float it keeps its sign.
    assert.deepEqual(show(parseAll("[-0, -0.0]")), ["[0, -0]"]);
  });

  test("a number at the end of the input waits for the byte that ends it", () => {
    assert.deepEqual(show(parseAll("42")), []);
    assert.deepEqual(show(parseAll("42 ")), ["42"]);
    assert.deepEqual(show(parseAll("0e1 ")), ["0", "!JSON parse error, invalid keyword 'e'", "1"]);
  });

  test("strings: escapes, surrogate pairs, modified UTF-8, and what QEMU rejects", () => {
    const one = (s: string | Uint8Array) => show(parseAll(s))[0];
    assert.equal(one('"\\"\\\\\\/\\b\\f\\n\\r\\t\\\'"'), '"\\"\\\\/\\b\\f\\n\\r\\t\'"');
    assert.equal(one('"\\u00e9\\ud83d\\ude00\\u0000"'), '"\\u00E9\\uD83D\\uDE00\\u0000"');
    assert.equal(one(Uint8Array.from([0x22, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xc0, 0x80, 0x22])), '"\\u00E9\\uD83D\\uDE00\\u0000"');
    const bad: [string | Uint8Array, string][] = [
      ['"\\x"', "!JSON parse error, invalid escape sequence in string"],
      ['"\\u00zz"', "!JSON parse error, \\u00zz is not a valid Unicode character"],
      ['"\\ud800"', "!JSON parse error, \\ud800 is not a valid Unicode character"],
      ['"\\ud83dx"', "!JSON parse error, \\ud83d is not a valid Unicode character"],
      ['"\\ude00"', "!JSON parse error, \\ude00 is not a valid Unicode character"],
      ['"\\uffff"', "!JSON parse error, \\uffff is not a valid Unicode character"],
      ['"\\ufdd0"', "!JSON parse error, \\ufdd0 is not a valid Unicode character"],
      [Uint8Array.from([0x22, 0xc3, 0x28, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
      [Uint8Array.from([0x22, 0xef, 0xbf, 0xbf, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
      [Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
      [Uint8Array.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
      [Uint8Array.from([0x22, 0xc1, 0xbf, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
      [Uint8Array.from([0x22, 0x80, 0x22]), "!JSON parse error, invalid UTF-8 sequence in string"],
    ];
    for (const [input, expected] of bad) assert.equal(one(input), expected, `for ${String(input)}`);
  });

  test("parser errors, first one wins", () => {
    const cases: [string, string][] = [
      ['{"a" 1}', "missing : in object pair"],
      ['{"a":1,}', "expecting value"],
      ["[1,]", "expecting value"],
      ['{"a":1 "b":2}', "expected separator in dict"],
      ["[1 2]", "expected separator in list"],
      ["[1}", "expected separator in list"],
      ["{1:2}", "key is not a string in object"],
      ['{"a":1,"a":2}', "duplicate key"],
      ["{bad}", "invalid keyword 'bad'"],
      ['{"a":]', "expecting value"],
      ["}", "expecting value"],
    ];
    for (const [input, message] of cases) assert.deepEqual(show(parseAll(input)), [`!JSON parse error, ${message}`], `for ${input}`);
  });

  test("lexical errors report the bad token and resynchronise like QEMU", () => {
    assert.deepEqual(show(parseAll("@")), ["!JSON parse error, stray '@'"]);
    assert.deepEqual(show(parseAll("TRUE")), ["!JSON parse error, stray 'T'"]);
    assert.deepEqual(show(parseAll("%d")), ["!JSON parse error, stray '%'"]);
    assert.deepEqual(show(parseAll("01")), ["!JSON parse error, stray '01'"]);
    assert.deepEqual(show(parseAll(Uint8Array.from([0xff]))), ["!JSON parse error, stray '\ufffd'"]);
    assert.deepEqual(show(parseAll(Uint8Array.from([0x00]))), ["!JSON parse error, stray ''"]);
    // The error swallows everything up to a structural character or control byte ...
    assert.deepEqual(show(parseAll('{"id":"a\tb"}\n{"x":1}')), ["!JSON parse error, stray '\"a\t'", "!JSON parse error, expecting value", '{"x": 1}']);
    // ... so the keyword after "1.\n" is skipped up to its newline, as QEMU does.
    assert.deepEqual(show(parseAll("1.\ntru\n[2]")), ["!JSON parse error, stray '1.\n'", "[2]"]);
    assert.deepEqual(show(parseAll('{"a":1}\u0000{"b":2}')), ['{"a": 1}', "!JSON parse error, stray ''", '{"b": 2}']);
    assert.deepEqual(show(parseAll('{"a":1}garbage{"b":2}')), ['{"a": 1}', "!JSON parse error, invalid keyword 'garbage'", '{"b": 2}']);
    // A partial message is dropped with the error; the next one is read normally.
    assert.deepEqual(show(parseAll('{"a": [1, @]} {"ok": true}')), ["!JSON parse error, stray '@'", "!JSON parse error, expecting value", "!JSON parse error, expecting value", '{"ok": true}']);
  });

  test("limits: nesting, token count, message size (QEMU's messages)", () => {
    assert.deepEqual(show(parseAll("[".repeat(1025))), ["!JSON nesting depth limit exceeded"]);
    assert.deepEqual(show(parseAll("[".repeat(1024) + "]".repeat(1024))).length, 1);
    // After a limit error the rest of the text is read afresh (QEMU does not skip it): "5", ",", "6", "]".
    assert.deepEqual(show(parseAll("[1,2,3,4,5,6]", { maxTokens: 8 })), [
      "!JSON token count limit exceeded",
      "5",
      "!JSON parse error, expecting value",
      "6",
      "!JSON parse error, expecting value",
    ]);
    assert.deepEqual(show(parseAll('["aaaa","bbbb"]', { maxMessageBytes: 10 })), ["!JSON token size limit exceeded", "!JSON parse error, expecting value"]);
    // A single oversized token is cut off and the rest of it skipped.
    assert.deepEqual(show(parseAll('"' + "x".repeat(50) + '" [1]', { maxMessageBytes: 20 })), ["!JSON token size limit exceeded", "[1]"]);
  });

  test("any fragmentation gives the same items", () => {
    const stream = enc(
      `{"execute": "query-status", "id": 1}[1, {"a": "b\\u00e9"}]  "str" 12.5e3 {bad} {"x": [true, null]} \u00ff{"y": 'z'}` + "\n",
    );
    const whole = show(parseAll(stream));
    assert.equal(whole.length, 8);
    for (let cut = 1; cut < stream.length; cut++) {
      const items: StreamItem[] = [];
      const p = new JsonStreamParser((i) => items.push(i));
      p.feed(stream.subarray(0, cut));
      p.feed(stream.subarray(cut));
      assert.deepEqual(show(items), whole, `split at ${cut}`);
    }
    const items: StreamItem[] = [];
    const p = new JsonStreamParser((i) => items.push(i));
    for (const b of stream) p.feed(Uint8Array.of(b));
    assert.deepEqual(show(items), whole);
  });

  test("reset forgets a partial message", () => {
    const items: StreamItem[] = [];
    const p = new JsonStreamParser((i) => items.push(i));
    p.feed(enc('{"a": [1, "unfinished'));
    p.reset();
    p.feed(enc('{"b": 2}'));
    assert.deepEqual(show(items), ['{"b": 2}']);
  });
});

/** Order-independent text of a value (maps with sorted keys). */
function canonical(v: JsonValue): string {
  if (v instanceof Map) return `{${[...v.keys()].sort().map((k) => `${JSON.stringify(k)}:${canonical(v.get(k)!)}`).join(",")}}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return typeof v === "bigint" ? `${v}n` : JSON.stringify(v);
}

describe("JSON output as QEMU 7.2 writes it", () => {
  test("members in QDict hash order, ties by reverse insertion", () => {
    assert.deepEqual(qemuKeyOrder(["return", "id"]), ["return", "id"]);
    assert.deepEqual(qemuKeyOrder(["id", "error"]), ["id", "error"]);
    assert.deepEqual(qemuKeyOrder(["error", "id"]), ["id", "error"]);
    assert.deepEqual(qemuKeyOrder(["running", "singlestep", "status"]), ["status", "singlestep", "running"]);
    assert.deepEqual(qemuKeyOrder(["major", "minor", "micro"]), ["micro", "minor", "major"]);
    assert.deepEqual(qemuKeyOrder(["mode", "filename", "icount"]), ["icount", "mode", "filename"]);
    assert.deepEqual(qemuKeyOrder(["event", "data", "timestamp"]), ["timestamp", "event", "data"]);
    assert.deepEqual(qemuKeyOrder(["b", "a", "id", "return"]), ["a", "b", "return", "id"]);
  });

  test("compact and pretty forms; undefined members are left out", () => {
    const v = { return: { status: "running", x: undefined, list: [1, "a", {}], m: new Map([["k", null]]) }, id: [] };
    assert.equal(toQmpJson(v), '{"return": {"list": [1, "a", {}], "status": "running", "m": {"k": null}}, "id": []}');
    assert.equal(toQmpJson({ return: {} }, true), '{\n    "return": {\n    }\n}');
    assert.equal(toQmpJson([1, [2]], true), "[\n    1,\n    [\n        2\n    ]\n]");
  });

  test("strings: everything outside printable ASCII as \\uXXXX", () => {
    assert.equal(toQmpJson('a"b\\c/\b\f\n\r\t\u0001\u007f\u00e9\u{1f600}'), '"a\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u007F\\u00E9\\uD83D\\uDE00"');
    assert.equal(toQmpJson("lone \ud800 \udc00"), '"lone \\uFFFD \\uFFFD"');
  });

  test("numbers as C's %.17g", () => {
    const cases: [number | bigint, string][] = [
      [0, "0"],
      [-0, "-0"],
      [1.5, "1.5"],
      [0.1, "0.10000000000000001"],
      [100000, "100000"],
      [1e20, "1e+20"],
      [1.2345678901234569e23, "1.2345678901234569e+23"],
      [1e-5, "1.0000000000000001e-05"],
      [0.0001, "0.0001"],
      [123456789012345680000, "1.2345678901234568e+20"],
      [-2.5e-7, "-2.4999999999999999e-07"],
      [1e17, "1e+17"],
      [99999999999999984, "99999999999999984"],
      [12345678901234567890n, "12345678901234567890"],
      [Infinity, "null"],
    ];
    for (const [x, text] of cases) assert.equal(typeof x === "bigint" ? toQmpJson(x) : formatNumber(x), text, `for ${x}`);
  });

  test("round trip: random values survive write then read", () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const gen = (depth: number): JsonValue => {
      const k = Math.floor(rand() * (depth > 3 ? 5 : 7));
      switch (k) {
        case 0:
          return null;
        case 1:
          return rand() < 0.5;
        case 2:
          return BigInt(Math.floor((rand() - 0.5) * 2 ** 53)) * (rand() < 0.2 ? 1000n : 1n);
        case 3: {
          // A double that is not integral (an integral one prints, and so reads back, as an integer).
          const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 20);
          return Number.isInteger(x) ? x + 0.5 : x;
        }
        case 4: {
          let s = "";
          const n = Math.floor(rand() * 8);
          for (let i = 0; i < n; i++) {
            const cp = [0x41, 0x22, 0x5c, 0x0a, 0x01, 0x7f, 0xe9, 0x20ac, 0x1f600][Math.floor(rand() * 9)]!;
            s += String.fromCodePoint(cp);
          }
          return s;
        }
        case 5:
          return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
        default: {
          const m = new Map<string, JsonValue>();
          const n = Math.floor(rand() * 4);
          for (let i = 0; i < n; i++) m.set(`k${Math.floor(rand() * 100)}`, gen(depth + 1));
          return m;
        }
      }
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      const pretty = rand() < 0.3;
      const text = toQmpJson(v, pretty) + "\n";
      const items = parseAll(text);
      assert.equal(items.length, 1, text);
      const item = items[0]!;
      assert.equal(item.kind, "value", text);
      // Members that share a hash bucket come out in reverse insertion order (as in QEMU), so compare values.
      assert.equal(canonical((item as { value: JsonValue }).value), canonical(v), text);
    }
  });
});

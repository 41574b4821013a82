import assert from "node:assert/strict";
import { test } from "node:test";
import {
  RspProtocolError,
  RspStreamParser,
  bytesToHex,
  checksum,
  compressRunLength,
  decodeLittleEndian,
  decodePacket,
  encodeLittleEndian,
  encodePacket,
  escapeBinary,
  expandRunLength,
  formatHexNumber,
  hexByte,
  hexToBytes,
  hexToText,
  isHex,
  parseHexNumber,
  textToHex,
  unescapeBinary,
  type RspEvent,
} from "../../src/gdb/rsp-packet.js";

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
function randomBytes(seed: number, length: number): Buffer {
  let x = seed | 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test("checksum is the byte sum modulo 256", () => {
  assert.equal(checksum(""), 0);
  assert.equal(checksum("OK"), 0x9a);
  assert.equal(checksum("g"), 0x67);
  assert.equal(checksum(Buffer.from([0xff, 0xff, 0x03])), 0x01);
  assert.equal(hexByte(checksum("qSupported")), "37");
});

test("encodePacket frames payloads with $ # and two lowercase hex digits", () => {
  assert.equal(latin1(encodePacket("OK")), "$OK#9a");
  assert.equal(latin1(encodePacket("")), "$#00");
  assert.equal(latin1(encodePacket("m40080000,4")), `$m40080000,4#${hexByte(checksum("m40080000,4"))}`);
  assert.equal(latin1(encodePacket("Stop:T05", "%")), `%Stop:T05#${hexByte(checksum("Stop:T05"))}`);
  assert.throws(() => encodePacket("a$b"), RspProtocolError);
  assert.throws(() => encodePacket("a#b"), RspProtocolError);
});

test("decodePacket accepts good frames, including upper-case checksums", () => {
  assert.equal(latin1(decodePacket("$OK#9a")), "OK");
  assert.equal(latin1(decodePacket("$OK#9A")), "OK");
  assert.equal(latin1(decodePacket("$#00")), "");
  assert.equal(latin1(decodePacket(encodePacket("T05thread:01;"))), "T05thread:01;");
});

test("decodePacket rejects malformed frames with a clear error", () => {
  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["OK#9a", /must start/],
    ["$OK", /no '#'/],
    ["$OK#9", /two hex digits/],
    ["$OK#9a+", /junk after/],
    ["$OK#zz", /not two hex digits/],
    ["$OK#00", /mismatch: sent 00, computed 9a/],
    ["$O$K#00", /unescaped '\$'/],
  ];
  for (const [frame, re] of bad) {
    assert.throws(() => decodePacket(frame), (e: unknown) => e instanceof RspProtocolError && re.test(e.message), frame);
  }
});

test("decodePacket expands run-length encoding unless asked not to", () => {
  const frame = encodePacket("0* ");
  assert.equal(latin1(decodePacket(frame)), "0000");
  assert.equal(latin1(decodePacket(frame, { expandRunLength: false })), "0* ");
});

test("escapeBinary escapes exactly # $ } * and round-trips every byte value", () => {
  assert.equal(latin1(escapeBinary("a#b$c}d*e")), "a}\x03b}\x04c}]d}\x0ae");
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const escaped = escapeBinary(all);
  assert.equal(escaped.length, 256 + 4);
  for (const c of ["#", "$", "*"]) assert.ok(!latin1(escaped).includes(c), `unescaped ${c}`);
  assert.deepEqual(unescapeBinary(escaped), all);
  for (let seed = 1; seed < 50; seed++) {
    const data = randomBytes(seed, 300);
    assert.deepEqual(unescapeBinary(escapeBinary(data)), data);
    // An escaped payload is always frameable.
    assert.doesNotThrow(() => encodePacket(escapeBinary(data)));
  }
});

test("unescapeBinary rejects a trailing lone escape", () => {
  assert.throws(() => unescapeBinary("abc}"), /lone escape/);
});

test("expandRunLength follows GDB: X*c repeats X c-29 more times", () => {
  assert.equal(latin1(expandRunLength("0* ")), "0000"); // the example in GDB's manual
  assert.equal(latin1(expandRunLength("a*\x1db")), "ab"); // count 0
  assert.equal(latin1(expandRunLength("ab*~")), "a" + "b".repeat(98)); // '~' (126) is the largest count
  assert.equal(latin1(expandRunLength("x*!y*\"")), "x".repeat(5) + "y".repeat(6));
  assert.equal(latin1(expandRunLength("no runs")), "no runs");
});

test("expandRunLength rejects malformed runs", () => {
  assert.throws(() => expandRunLength("*!"), /no character before/);
  assert.throws(() => expandRunLength("a*"), /without a repeat count/);
  assert.throws(() => expandRunLength("a*\x10"), /invalid run-length/);
  assert.throws(() => expandRunLength("a*\x7f"), /invalid run-length/);
});

test("compressRunLength round-trips and never produces # or $ as a count", () => {
  for (let n = 1; n < 300; n++) {
    const data = "0".repeat(n);
    const packed = compressRunLength(data);
    assert.equal(latin1(expandRunLength(packed)), data, `run of ${n}`);
    assert.ok(!latin1(packed).includes("#") && !latin1(packed).includes("$"), `run of ${n}: ${latin1(packed)}`);
    assert.doesNotThrow(() => encodePacket(packed));
  }
  for (let seed = 1; seed < 40; seed++) {
    // Low-entropy data with long runs, escaped first as a server would.
    const raw = Buffer.from(randomBytes(seed, 400).map((b) => (b < 200 ? 0x30 : b)));
    const escaped = escapeBinary(raw);
    const packed = compressRunLength(escaped);
    assert.ok(packed.length <= escaped.length);
    assert.deepEqual(unescapeBinary(expandRunLength(packed)), raw);
  }
  assert.equal(latin1(compressRunLength("00000000")), "0*\"00"); // 1 + 5 repeats + 1 + 1: a count of 6 would be '#'
});

function collect(parser: RspStreamParser, input: string | Buffer, byteByByte = false): RspEvent[] {
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  if (!byteByByte) return parser.push(bytes);
  const events: RspEvent[] = [];
  for (const b of bytes) events.push(...parser.push(Buffer.from([b])));
  return events;
}

function summary(events: RspEvent[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case "packet":
      case "notification":
        return `${e.type}:${latin1(e.payload)}:${e.checksumOk ? "ok" : "bad"}`;
      case "junk":
        return `junk:${latin1(e.bytes)}`;
      default:
        return e.type;
    }
  });
}

test("stream parser splits a byte stream into acks, packets, notifications and ^C", () => {
  const stream = `+$OK#9a-${latin1(encodePacket("T05thread:01;"))}\x03${latin1(encodePacket("Stop:T05", "%"))}`;
  const expected = ["ack", "packet:OK:ok", "nack", "packet:T05thread:01;:ok", "interrupt", "notification:Stop:T05:ok"];
  assert.deepEqual(summary(collect(new RspStreamParser(), stream)), expected);
  // Same result whatever the chunking.
  assert.deepEqual(summary(collect(new RspStreamParser(), stream, true)), expected);
});

test("stream parser reports bad checksums, junk and truncated packets without throwing", () => {
  const p = new RspStreamParser();
  assert.deepEqual(summary(collect(p, "$OK#00")), ["packet:OK:bad"]);
  assert.deepEqual(summary(collect(p, "hello$OK#9a")), ["junk:hello", "packet:OK:ok"]);
  assert.deepEqual(summary(collect(p, "$trunc$OK#9a")), ["junk:trunc", "packet:OK:ok"]);
  assert.deepEqual(summary(collect(p, "$OK#g1")), ["packet:OK:bad"]);
  assert.equal(p.busy, false);
  collect(p, "$partial");
  assert.equal(p.busy, true);
  p.reset();
  assert.deepEqual(summary(collect(p, "$OK#9a")), ["packet:OK:ok"]);
});

test("stream parser expands RLE in good packets and flags undecodable runs as bad", () => {
  const p = new RspStreamParser();
  assert.deepEqual(summary(collect(p, encodePacket("0* "))), ["packet:0000:ok"]);
  assert.deepEqual(summary(collect(p, encodePacket("*!"))), ["packet:*!:bad"]);
  const raw = new RspStreamParser({ expandRunLength: false });
  assert.deepEqual(summary(collect(raw, encodePacket("0* "))), ["packet:0* :ok"]);
});

test("stream parser drops oversized packets", () => {
  const p = new RspStreamParser({ maxPacket: 8 });
  const events = collect(p, "$0123456789#00+");
  assert.equal(events[0].type, "junk");
  assert.match((events[0] as { reason: string }).reason, /longer than 8/);
  assert.equal(events.at(-1)!.type, "ack");
});

test("stream parser survives random garbage", () => {
  for (let seed = 1; seed < 200; seed++) {
    const p = new RspStreamParser({ maxPacket: 64 });
    const data = randomBytes(seed, 2000);
    assert.doesNotThrow(() => collect(p, data));
    // After garbage, a good packet still gets through once the parser resynchronises on '$'.
    const after = collect(p, "$$OK#9a");
    assert.ok(summary(after).includes("packet:OK:ok"), `seed ${seed}: ${summary(after).join(",")}`);
  }
});

test("hex helpers convert and validate", () => {
  assert.deepEqual(hexToBytes("00ff10"), Buffer.from([0, 255, 16]));
  assert.deepEqual(hexToBytes("ABcd"), Buffer.from([0xab, 0xcd]));
  assert.equal(bytesToHex(Buffer.from([1, 0xab])), "01ab");
  assert.equal(bytesToHex(new Uint8Array([1, 2, 3]).subarray(1)), "0203");
  assert.throws(() => hexToBytes("abc"), /odd length/);
  assert.throws(() => hexToBytes("zz"), /not hex/);
  assert.equal(isHex("00ff"), true);
  assert.equal(isHex(""), false);
  assert.equal(isHex("0"), false);
  assert.equal(isHex("OK"), false);
  assert.equal(textToHex("hi\n"), "68690a");
  assert.equal(hexToText("68690a"), "hi\n");
  assert.equal(parseHexNumber("40080000"), 0x40080000n);
  assert.throws(() => parseHexNumber(""), RspProtocolError);
  assert.throws(() => parseHexNumber("-1"), RspProtocolError);
  assert.equal(formatHexNumber(0x40080000n), "40080000");
  assert.equal(formatHexNumber(0), "0");
  assert.throws(() => formatHexNumber(-1n), RspProtocolError);
});

test("little-endian register values decode and encode", () => {
  assert.equal(decodeLittleEndian("0100000000000000"), 1n);
  assert.equal(decodeLittleEndian("0000084000000000"), 0x40080000n);
  assert.equal(decodeLittleEndian("c5030040"), 0x400003c5n);
  assert.equal(decodeLittleEndian("ffffffffffffffffffffffffffffffff"), (1n << 128n) - 1n);
  assert.equal(decodeLittleEndian("xxxxxxxx"), undefined);
  assert.throws(() => decodeLittleEndian(""), /bad hex length/);
  assert.throws(() => decodeLittleEndian("123"), /bad hex length/);
  assert.throws(() => decodeLittleEndian("zz00"), /not hex/);
  assert.throws(() => decodeLittleEndian("xx00"), /not hex/);
  assert.equal(encodeLittleEndian(0x40080000n, 8), "0000084000000000");
  assert.equal(encodeLittleEndian(0x3c5, 4), "c5030000");
  assert.equal(encodeLittleEndian(-1n, 4), "ffffffff");
  assert.throws(() => encodeLittleEndian(0x1_0000_0000n, 4), /does not fit/);
  for (let seed = 1; seed < 100; seed++) {
    const bytes = randomBytes(seed, 16);
    const v = BigInt("0x" + Buffer.from(bytes).reverse().toString("hex"));
    assert.equal(decodeLittleEndian(encodeLittleEndian(v, 16)), v);
  }
});

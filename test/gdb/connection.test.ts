import assert from "node:assert/strict";
import { test } from "node:test";
import { GdbConnection, type GdbConnectionHandler } from "../../src/gdb/connection.js";
import { encodePacket, escapeBinary } from "../../src/gdb/rsp-packet.js";

/** A connection over an in-memory link, recording everything on both sides. */
function harness(maxPacket = 64, maxRetransmits?: number) {
  const out: string[] = [];
  const events: string[] = [];
  const payloads: Buffer[] = [];
  let ended = 0;
  const conn = new GdbConnection(
    { write: (d) => out.push(Buffer.from(d).toString("latin1")), end: () => ended++ },
    { maxPacket, maxRetransmits },
  );
  const handler: GdbConnectionHandler = {
    packet: (p) => {
      // The ack must already be out when the packet is handled, so replies follow it.
      events.push(`packet:${p.toString("latin1")} after ${JSON.stringify(out.join(""))}`);
      payloads.push(p);
    },
    badPacket: (r) => events.push(`bad:${r}`),
    interrupt: () => events.push("interrupt"),
    closed: () => events.push("closed"),
  };
  conn.setHandler(handler);
  const feed = (s: string | Buffer) => conn.receive(typeof s === "string" ? Buffer.from(s, "latin1") : s);
  return { conn, out, events, payloads, feed, ended: () => ended };
}

test("ack mode: a good packet is acked before it is handled; replies are framed", () => {
  const h = harness();
  h.feed("+$qC#b4");
  assert.deepEqual(h.events, ['packet:qC after "+"']);
  h.conn.send("QC1");
  assert.equal(h.out.join(""), "+$QC1#c5");
});

test("ack mode: a bad checksum is answered with '-' and not handled; the resend is", () => {
  const h = harness();
  h.feed("$qC#00");
  assert.deepEqual(h.events, []);
  assert.equal(h.out.join(""), "-");
  h.feed("$qC#b4");
  assert.equal(h.events.length, 1);
  assert.equal(h.out.join(""), "-+");
});

test("a '-' from the client resends the last reply, a bounded number of times in a row", () => {
  const h = harness(64, 2);
  h.conn.send("OK");
  h.feed("-");
  h.feed("-");
  h.feed("-"); // the third is refused
  assert.deepEqual(h.out, ["$OK#9a", "$OK#9a", "$OK#9a"]);
  h.feed("-");
  assert.equal(h.out.length, 3);
  // A '+' resets the count for the next reply.
  h.conn.send("E22");
  h.feed("+-");
  assert.deepEqual(h.out.slice(3), ["$E22#a9", "$E22#a9"]);
});

test("packets split over chunks and several packets in one chunk", () => {
  const h = harness();
  const frame = encodePacket("qSupported:swbreak+").toString("latin1");
  for (const ch of frame) h.feed(ch);
  h.feed("$g#67$?#3f");
  assert.deepEqual(
    h.payloads.map((p) => p.toString("latin1")),
    ["qSupported:swbreak+", "g", "?"],
  );
  assert.equal(h.out.join(""), "+++");
});

test("^C outside a packet is an interrupt; inside a packet it is data", () => {
  const h = harness();
  h.feed("\x03");
  h.feed(encodePacket(Buffer.from("X1,1:\x03", "latin1")));
  assert.equal(h.events[0], "interrupt");
  assert.equal(h.payloads[0]!.toString("latin1"), "X1,1:\x03");
});

test("junk between packets is ignored", () => {
  const h = harness();
  h.feed("hello\x00\xff world");
  h.feed("$?#3f");
  assert.equal(h.payloads.length, 1);
  assert.equal(h.out.join(""), "+");
});

test("binary payloads keep their escapes and '*' is not expanded", () => {
  const h = harness();
  const data = Buffer.from([0x23, 0x24, 0x7d, 0x2a, 0x00, 0x41, 0x41, 0x41, 0x41]);
  const payload = Buffer.concat([Buffer.from("X40000000,9:", "latin1"), escapeBinary(data)]);
  h.feed(encodePacket(payload));
  assert.deepEqual(h.payloads[0], payload);
  h.feed(encodePacket("m0,*4")); // a star in a client packet is just a byte
  assert.equal(h.payloads[1]!.toString("latin1"), "m0,*4");
});

test("a packet longer than announced gets a bad-packet report (once), and the stream recovers", () => {
  const h = harness(16);
  h.feed(encodePacket("m" + "0".repeat(40) + ",4"));
  assert.deepEqual(h.events.filter((e) => e.startsWith("bad:")).length, 1);
  // Longer than the parser's own limit (1 MiB): reported once, the tail is dropped as junk.
  const huge = Buffer.alloc((1 << 20) + 100, 0x61);
  h.feed(Buffer.concat([Buffer.from("$"), huge, Buffer.from("#00")]));
  assert.equal(h.events.filter((e) => e.startsWith("bad:")).length, 2);
  h.feed("$?#3f");
  assert.equal(h.payloads.length, 1);
});

test("no-ack mode: no acks either way, a corrupt packet becomes a bad-packet report", () => {
  const h = harness();
  h.feed("$QStartNoAckMode#b0");
  h.conn.send("OK");
  h.conn.startNoAckMode();
  assert.equal(h.conn.noAck, true);
  assert.equal(h.out.join(""), "+$OK#9a");
  h.feed("+$qC#b4");
  assert.equal(h.out.join(""), "+$OK#9a"); // no ack for qC
  h.conn.send("QC1");
  h.feed("-"); // no retransmission in no-ack mode
  assert.equal(h.out.join(""), "+$OK#9a$QC1#c5");
  h.feed("$qC#00");
  assert.equal(h.events.at(-1), "bad:bad checksum");
});

test("close ends the link once and reports closed once; nothing flows afterwards", () => {
  const h = harness();
  h.conn.close();
  h.conn.close();
  h.conn.transportClosed();
  assert.equal(h.ended(), 1);
  assert.deepEqual(h.events, ["closed"]);
  h.feed("$?#3f");
  h.conn.send("OK");
  assert.deepEqual(h.payloads, []);
  assert.deepEqual(h.out, []);
});

test("a reply that would break framing is never sent as is", () => {
  const h = harness();
  h.conn.send("bad$reply#");
  assert.equal(h.out.join(""), "$E05#aa");
});

test("random bytes never make the connection throw", () => {
  const h = harness(256);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rand() * 64);
    const chunk = Buffer.alloc(len);
    for (let j = 0; j < len; j++) {
      const r = rand();
      chunk[j] = r < 0.1 ? 0x24 : r < 0.2 ? 0x23 : r < 0.25 ? 0x2d : r < 0.3 ? 0x03 : Math.floor(rand() * 256);
    }
    h.feed(chunk);
    if (rand() < 0.05) h.conn.send("OK");
  }
  // Still in sync afterwards: a clean packet after a clean '#xx' boundary is handled.
  const before = h.payloads.length;
  h.feed("#00$?#3f");
  assert.equal(h.payloads.at(-1)?.toString("latin1"), "?");
  assert.ok(h.payloads.length > before);
});

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { attachQmp } from "../../src/qmp/server.js";
import { JsonStreamParser, type StreamItem } from "../../src/qmp/json-stream.js";
import { FakeSession } from "./fake-session.js";
import { QmpTestClient, removeTmpdirs, tcpChardev, unixChardev, type Msg } from "./qmp-client.js";

after(removeTmpdirs);

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JSONISH = enc('{}[]:,"\'\\0123456789-+.eEtrufalsn \n\tu%');

function enc(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const jsonish = rand() < 0.7;
  for (let i = 0; i < n; i++) out[i] = jsonish && rand() < 0.8 ? JSONISH[Math.floor(rand() * JSONISH.length)]! : Math.floor(rand() * 256);
  return out;
}

/** 0xFF is never valid QMP input: it ends any token or string and resets the bracket count (QEMU's advice). */
const RESYNC = Uint8Array.from([0xff, 0x0a]);

test("the JSON reader never throws on random bytes, and resynchronises after them", () => {
  const rand = prng(1);
  for (let round = 0; round < 3000; round++) {
    const items: StreamItem[] = [];
    const p = new JsonStreamParser((i) => items.push(i), { maxNesting: 64, maxTokens: 10_000 });
    const data = randomBytes(rand, 1 + Math.floor(rand() * 300));
    for (let i = 0; i < data.length; ) {
      const n = 1 + Math.floor(rand() * 40);
      p.feed(data.subarray(i, i + n));
      i += n;
    }
    p.feed(RESYNC);
    items.length = 0;
    p.feed(enc('{"probe": 1}'));
    assert.equal(items.length, 1, `round ${round}`);
    assert.equal(items[0]!.kind, "value", `round ${round}: ${JSON.stringify(items[0])}`);
  }
});

test("random bytes through a socket: every line is JSON and the server keeps answering", async () => {
  const session = new FakeSession({ mode: "play", end: 1000 });
  const { backend, where } = await tcpChardev();
  const monitor = attachQmp(backend, session, { log: () => {} });
  const c = await QmpTestClient.ready(where);
  const rand = prng(2);
  try {
    for (let round = 0; round < 150; round++) {
      const data = randomBytes(rand, 1 + Math.floor(rand() * 600));
      for (let i = 0; i < data.length; ) {
        const n = 1 + Math.floor(rand() * 100);
        c.send(data.subarray(i, i + n));
        i += n;
      }
      c.send(RESYNC);
      c.send(`{"execute": "query-kvm", "id": "probe-${round}"}`);
      const got = await c.until((m) => m.id === `probe-${round}`, 10000);
      for (const m of got.slice(0, -1)) assert.ok(m.error || m.return !== undefined || m.event, `round ${round}: ${JSON.stringify(m)}`);
      assert.deepEqual(got.at(-1).return, { enabled: false, present: false });
    }
  } finally {
    c.close();
    monitor.detach();
    session.pause();
    await backend.close();
  }
});

const COMMANDS = [
  "qmp_capabilities",
  "query-version",
  "query-commands",
  "query-status",
  "query-replay",
  "replay-break",
  "replay-delete-break",
  "replay-seek",
  "stop",
  "cont",
  "system_reset",
  "query-name",
  "query-target",
  "query-kvm",
  "query-cpus-fast",
  "human-monitor-command",
  "no-such-command",
  "",
];
const HMP_LINES = ["info status", "info replay", "help", "replay_break 5", "replay_seek 3", "stop", "c", "info", "x y z", "replay_break (", "help info"];

function randomValue(rand: () => number, depth = 0): unknown {
  const k = Math.floor(rand() * (depth > 2 ? 6 : 8));
  switch (k) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return Math.floor((rand() - 0.3) * 2000);
    case 3:
      return (rand() - 0.5) * 1e6;
    case 4:
      return ["", "oob", "icount", "x\u00e9", "\ud800", "\uffff", "a\u0000b"][Math.floor(rand() * 7)];
    case 5:
      return Number.MAX_SAFE_INTEGER * (rand() < 0.5 ? 1 : -1) * 4;
    case 6:
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) o[["icount", "enable", "command-line", "cpu-index", "foo"][Math.floor(rand() * 5)]!] = randomValue(rand, depth + 1);
      return o;
    }
  }
}

function randomRequest(rand: () => number): unknown {
  if (rand() < 0.1) return randomValue(rand);
  const req: Record<string, unknown> = {};
  if (rand() < 0.95) req.execute = rand() < 0.9 ? COMMANDS[Math.floor(rand() * COMMANDS.length)] : randomValue(rand);
  if (rand() < 0.6) {
    if (req.execute === "human-monitor-command" && rand() < 0.8) req.arguments = { "command-line": HMP_LINES[Math.floor(rand() * HMP_LINES.length)] };
    else if (rand() < 0.5) req.arguments = { icount: Math.floor(rand() * 1500) - 100 };
    else req.arguments = randomValue(rand);
  }
  if (rand() < 0.5) req.id = randomValue(rand);
  if (rand() < 0.05) req[["exec-oob", "control", "arguments"][Math.floor(rand() * 3)]!] = randomValue(rand);
  return req;
}

test("random JSON requests: exactly one reply each, in order, and the session stays usable", async () => {
  const session = new FakeSession({ mode: "play", icount: 0, end: 1000, perTick: 20, seekDelayMs: 1 });
  const { backend, where } = await unixChardev();
  const monitor = attachQmp(backend, session, { log: () => {} });
  const c = await QmpTestClient.ready(where);
  const rand = prng(3);
  try {
    for (let round = 0; round < 400; round++) {
      const req = randomRequest(rand);
      c.send(JSON.stringify(req) + "\n");
      c.send(`{"execute": "query-kvm", "id": "probe-${round}"}`);
      const got = await c.until((m) => m.id === `probe-${round}` && !m.event, 10000);
      const replies = got.slice(0, -1).filter((m: Msg) => !m.event);
      assert.equal(replies.length, 1, `round ${round}: ${JSON.stringify(req)} -> ${JSON.stringify(got)}`);
      const reply = replies[0];
      assert.ok(reply.return !== undefined || (typeof reply.error?.class === "string" && typeof reply.error?.desc === "string"), JSON.stringify(reply));
      if (req && typeof req === "object" && !Array.isArray(req) && "id" in req && reply.error?.desc !== undefined && !reply.error.desc.startsWith("JSON parse error")) {
        assert.ok("id" in reply, `id not echoed for ${JSON.stringify(req)}: ${JSON.stringify(reply)}`);
      }
    }
    session.pause();
    const status = await c.cmd("query-status");
    assert.ok(["paused", "running", "debug"].includes(status.reply.return.status));
  } finally {
    c.close();
    monitor.detach();
    session.pause();
    await backend.close();
  }
});

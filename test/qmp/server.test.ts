import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { attachQmp, type QmpOptions } from "../../src/qmp/server.js";
import type { CharBackend } from "../../src/chardev/index.js";
import { FakeSession, type FakeSessionOptions } from "./fake-session.js";
import { QmpTestClient, removeTmpdirs, sleep, tcpChardev, unixChardev, type Msg } from "./qmp-client.js";

after(removeTmpdirs);

const FIXED_US = 1_700_000_000_123_456;

interface Rig {
  session: FakeSession;
  backend: CharBackend;
  client: QmpTestClient;
  connect(): Promise<QmpTestClient>;
  done(): Promise<void>;
}

/** A fake session, a QMP monitor on a real socket (unix or TCP), and a negotiated client. */
async function rig(o: FakeSessionOptions = {}, opts: QmpOptions = {}, transport: "unix" | "tcp" = "unix", negotiate = true): Promise<Rig> {
  const session = new FakeSession(o);
  const { backend, where } = transport === "unix" ? await unixChardev() : await tcpChardev();
  const monitor = attachQmp(backend, session, { clock: () => FIXED_US, log: () => {}, ...opts });
  const client = negotiate ? await QmpTestClient.ready(where) : await QmpTestClient.connect(where);
  const clients = [client];
  return {
    session,
    backend,
    client,
    async connect() {
      const c = await QmpTestClient.connect(where);
      clients.push(c);
      return c;
    },
    async done() {
      session.pause();
      for (const c of clients) c.close();
      monitor.detach();
      await backend.close();
    },
  };
}

const TIMESTAMP = { seconds: 1_700_000_000, microseconds: 123_456 };

describe("greeting and capability negotiation", () => {
  test("the greeting has QEMU 7.2's exact shape and bytes", async () => {
    const r = await rig({}, {}, "unix", false);
    try {
      await r.client.next();
      assert.equal(
        r.client.raw[0],
        '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": " (Rewind 0.1.0)"}, "capabilities": ["oob"]}}',
      );
    } finally {
      await r.done();
    }
  });

  test("commands before qmp_capabilities are refused with QEMU's hint; negotiation happens once", async () => {
    const r = await rig({ runState: "prelaunch" }, {}, "tcp", false);
    try {
      const c = r.client;
      await c.next();
      const hint = { class: "CommandNotFound", desc: "Expecting capabilities negotiation with 'qmp_capabilities'" };
      assert.deepEqual((await c.cmd("query-status")).reply.error, hint);
      assert.deepEqual((await c.cmd("no-such-command")).reply.error, hint);
      // Envelope errors are not rewritten.
      c.send('{"execute": "qmp_capabilities", "foo": 1, "id": 1}');
      assert.deepEqual(await c.next(), { id: 1, error: { class: "GenericError", desc: "QMP input member 'foo' is unexpected" } });
      assert.deepEqual((await c.cmd("qmp_capabilities", { enable: ["foo"] })).reply.error, {
        class: "GenericError",
        desc: "Parameter 'null' does not accept value 'foo'",
      });
      assert.deepEqual((await c.cmd("qmp_capabilities", { enable: "oob" })).reply.error, {
        class: "GenericError",
        desc: "Invalid parameter type for 'enable', expected: array",
      });
      assert.deepEqual((await c.cmd("qmp_capabilities", { enable: [1] })).reply.error, {
        class: "GenericError",
        desc: "Invalid parameter type for 'enable[0]', expected: string",
      });
      // No events before negotiation.
      r.session.notifyStop();
      const ok = await c.cmd("qmp_capabilities");
      assert.deepEqual(ok.events, []);
      assert.deepEqual(ok.reply.return, {});
      assert.deepEqual((await c.cmd("qmp_capabilities")).reply.error, {
        class: "CommandNotFound",
        desc: "Capabilities negotiation is already complete, command ignored",
      });
      assert.equal((await c.cmd("query-status")).reply.return.status, "prelaunch");
    } finally {
      await r.done();
    }
  });

  test("a new connection gets a new greeting and must negotiate again", async () => {
    const r = await rig();
    try {
      r.client.close();
      const c2 = await r.connect();
      assert.ok((await c2.next()).QMP);
      assert.equal((await c2.cmd("query-status")).reply.error.class, "CommandNotFound");
      await c2.cmd("qmp_capabilities");
      assert.ok((await c2.cmd("query-status")).reply.return);
    } finally {
      await r.done();
    }
  });

  test("oob: exec-oob is unexpected until enabled, then refused for commands without OOB support", async () => {
    const r = await rig({}, {}, "unix", false);
    try {
      const c = r.client;
      await c.next();
      c.send('{"exec-oob": "query-status", "id": 1}');
      assert.deepEqual(await c.next(), { id: 1, error: { class: "GenericError", desc: "QMP input member 'exec-oob' is unexpected" } });
      assert.deepEqual((await c.cmd("qmp_capabilities", { enable: ["oob"] })).reply, { return: {}, id: "t0" });
      c.send('{"exec-oob": "query-status", "id": 2}');
      assert.deepEqual(await c.next(), { id: 2, error: { class: "GenericError", desc: "The command query-status does not support OOB" } });
      c.send('{"exec-oob": "query-status", "execute": "query-status", "id": 3}');
      const clash = await c.next();
      assert.match(clash.error.desc, /^QMP input member '(exec-oob|execute)' clashes with '(execute|exec-oob)'$/);
    } finally {
      await r.done();
    }
  });
});

describe("commands and their reply shapes", () => {
  test("query-version, query-name, query-target, query-kvm, query-cpus-fast", async () => {
    const r = await rig({ arch: "aarch64" }, { name: "guest1", threadId: 4242 }, "tcp");
    try {
      const c = r.client;
      assert.deepEqual((await c.cmd("query-version")).reply.return, { qemu: { micro: 0, minor: 2, major: 7 }, package: " (Rewind 0.1.0)" });
      assert.deepEqual((await c.cmd("query-name")).reply.return, { name: "guest1" });
      assert.deepEqual((await c.cmd("query-target")).reply.return, { arch: "aarch64" });
      assert.deepEqual((await c.cmd("query-kvm")).reply.return, { enabled: false, present: false });
      const cpus = (await c.cmd("query-cpus-fast")).reply.return;
      assert.deepEqual(cpus, [
        {
          "thread-id": 4242,
          props: { "core-id": 0, "thread-id": 0, "socket-id": 0, "cluster-id": 0 },
          "qom-path": "/machine/unattached/device[0]",
          "cpu-index": 0,
          target: "aarch64",
        },
      ]);
      // Key order as QEMU prints it.
      assert.equal(
        c.raw.at(-1),
        '{"return": [{"thread-id": 4242, "props": {"core-id": 0, "thread-id": 0, "socket-id": 0, "cluster-id": 0}, "qom-path": "/machine/unattached/device[0]", "cpu-index": 0, "target": "aarch64"}], "id": "t5"}',
      );
    } finally {
      await r.done();
    }
  });

  test("query-name without -name is an empty object; x86_64 reports its own target and CPU props", async () => {
    const r = await rig({ arch: "x86_64" });
    try {
      assert.deepEqual((await r.client.cmd("query-name")).reply.return, {});
      assert.deepEqual((await r.client.cmd("query-target")).reply.return, { arch: "x86_64" });
      const cpu = (await r.client.cmd("query-cpus-fast")).reply.return[0];
      assert.equal(cpu.target, "x86_64");
      assert.equal(cpu["thread-id"], process.pid);
      assert.deepEqual(Object.keys(cpu.props).sort(), ["core-id", "die-id", "socket-id", "thread-id"]);
    } finally {
      await r.done();
    }
  });

  test("query-commands lists every command, each as {name}", async () => {
    const r = await rig();
    try {
      const list = (await r.client.cmd("query-commands")).reply.return as { name: string }[];
      for (const item of list) assert.deepEqual(Object.keys(item), ["name"]);
      const names = list.map((x) => x.name).sort();
      for (const name of [
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
        "quit",
        "query-name",
        "query-target",
        "query-kvm",
        "query-cpus-fast",
        "human-monitor-command",
      ]) {
        assert.ok(names.includes(name), `query-commands lacks ${name}`);
      }
    } finally {
      await r.done();
    }
  });

  test("query-status follows the run state, with QEMU's member order", async () => {
    const r = await rig({ runState: "prelaunch" });
    try {
      const c = r.client;
      await c.cmd("query-status");
      assert.equal(c.raw.at(-1), '{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": "t1"}');
      await c.cmd("cont");
      assert.deepEqual((await c.cmd("query-status")).reply.return, { status: "running", singlestep: false, running: true });
      await c.cmd("stop");
      assert.deepEqual((await c.cmd("query-status")).reply.return, { status: "paused", singlestep: false, running: false });
      // A debugger stop (GDB step) is QEMU's "debug" state.
      r.session.debuggerStep();
      await c.until((m) => m.event === "STOP");
      assert.equal((await c.cmd("query-status")).reply.return.status, "debug");
      r.session.powerOff();
      await c.until((m) => m.event === "SHUTDOWN");
      assert.deepEqual((await c.cmd("query-status")).reply.return, { status: "shutdown", singlestep: false, running: false });
    } finally {
      await r.done();
    }
  });

  test("query-replay in each mode (filename only when recording or replaying)", async () => {
    for (const [o, expected, text] of [
      [{ mode: "none", icount: 0 }, { icount: 0, mode: "none" }, '{"return": {"icount": 0, "mode": "none"}, "id": "t1"}'],
      [{ mode: "record", icount: 12, filename: "rec.bin" }, { icount: 12, mode: "record", filename: "rec.bin" }, '{"return": {"icount": 12, "mode": "record", "filename": "rec.bin"}, "id": "t1"}'],
      [{ mode: "play", icount: 220414, filename: "replay.bin" }, { icount: 220414, mode: "play", filename: "replay.bin" }, undefined],
    ] as const) {
      const r = await rig(o as FakeSessionOptions);
      try {
        assert.deepEqual((await r.client.cmd("query-replay")).reply.return, expected);
        if (text) assert.equal(r.client.raw.at(-1), text);
      } finally {
        await r.done();
      }
    }
  });
});

describe("record/replay commands", () => {
  test("replay-break: play mode only, not in the past; replay-delete-break", async () => {
    const none = await rig({ mode: "none" });
    try {
      assert.deepEqual((await none.client.cmd("replay-break", { icount: 5 })).reply.error, {
        class: "GenericError",
        desc: "setting the breakpoint is allowed only in play mode",
      });
      assert.deepEqual((await none.client.cmd("replay-delete-break")).reply.error, {
        class: "GenericError",
        desc: "replay breakpoints are allowed only in play mode",
      });
    } finally {
      await none.done();
    }
    const r = await rig({ mode: "play", icount: 100, end: 1000 });
    try {
      const c = r.client;
      assert.deepEqual((await c.cmd("replay-break", { icount: 50 })).reply.error, {
        class: "GenericError",
        desc: "cannot set breakpoint at the instruction in the past",
      });
      assert.deepEqual((await c.cmd("replay-break", { icount: -1 })).reply.error.desc, "cannot set breakpoint at the instruction in the past");
      assert.deepEqual((await c.cmd("replay-break", { icount: 500 })).reply, { return: {}, id: "t3" });
      assert.equal(r.session.replayBreak, 500);
      assert.deepEqual((await c.cmd("replay-break", { icount: 600 })).reply.return, {});
      assert.equal(r.session.replayBreak, 600, "a new replay break replaces the old one");
      assert.deepEqual((await c.cmd("replay-delete-break")).reply.return, {});
      assert.equal(r.session.replayBreak, undefined);
      // Hitting the replay break stops the machine: STOP, as QEMU.
      await c.cmd("replay-break", { icount: 300 });
      const cont = await c.cmd("cont");
      assert.deepEqual(cont.events, [{ timestamp: TIMESTAMP, event: "RESUME" }]);
      const [stop] = await c.until((m) => m.event === "STOP");
      assert.deepEqual(stop, { timestamp: TIMESTAMP, event: "STOP" });
      assert.equal((await c.cmd("query-replay")).reply.return.icount, 300);
      assert.equal((await c.cmd("query-status")).reply.return.status, "paused");
    } finally {
      await r.done();
    }
  });

  test("replay-seek completes before its reply, with RESUME/STOP as QEMU sends them", async () => {
    const r = await rig({ mode: "play", icount: 100, end: 1000, seekDelayMs: 30, seekEmits: "nothing" });
    try {
      const c = r.client;
      const seek = await c.cmd("replay-seek", { icount: 40 });
      assert.deepEqual(seek.reply, { return: {}, id: "t1" });
      assert.deepEqual(seek.events.map((e: Msg) => e.event), ["RESUME", "STOP"]);
      assert.deepEqual(r.session.seeks, [40]);
      assert.equal((await c.cmd("query-replay")).reply.return.icount, 40);
      assert.equal((await c.cmd("query-status")).reply.return.status, "paused");
      // A session that reports its own stop gets no second STOP (but the RESUME QEMU sends first).
      r.session.seekEmits = "stop";
      const fwd = await c.cmd("replay-seek", { icount: 900 });
      assert.deepEqual(fwd.events.map((e: Msg) => e.event), ["RESUME", "STOP"]);
      assert.equal((await c.cmd("query-replay")).reply.return.icount, 900);
      assert.equal((await c.cmd("query-status")).reply.return.status, "paused");
    } finally {
      await r.done();
    }
  });

  test("replay-seek errors: not replaying, negative, past the end of the recording", async () => {
    const none = await rig({ mode: "record" });
    try {
      assert.deepEqual((await none.client.cmd("replay-seek", { icount: 5 })).reply.error, {
        class: "GenericError",
        desc: "replay must be enabled to seek",
      });
    } finally {
      await none.done();
    }
    const r = await rig({ mode: "play", icount: 100, end: 1000 });
    try {
      const c = r.client;
      assert.deepEqual((await c.cmd("replay-seek", { icount: -3 })).reply.error, {
        class: "GenericError",
        desc: "cannot seek to the specified instruction count",
      });
      const past = (await c.cmd("replay-seek", { icount: 5000 })).reply.error;
      assert.equal(past.class, "GenericError");
      assert.match(past.desc, /beyond the end of the recording \(1000\)/);
      assert.equal(r.session.ic, 100, "a refused seek leaves the machine where it was");
      // A session that stops at the end instead of refusing: still a clear error, naming where it stopped.
      r.session.seekPastEnd = "stop-at-end";
      const atEnd = (await c.cmd("replay-seek", { icount: 5000 })).reply.error;
      assert.equal(atEnd.desc, "cannot seek to the specified instruction count: the recording ends at instruction count 1000");
    } finally {
      await r.done();
    }
  });

  test("replay-seek while the machine runs pauses it first; the next command waits for the seek", async () => {
    const r = await rig({ mode: "play", icount: 0, end: 100_000, seekDelayMs: 40, perTick: 1 });
    try {
      const c = r.client;
      await c.cmd("cont");
      // Both sent at once: query-replay is answered only after the seek is done.
      c.send({ execute: "replay-seek", arguments: { icount: 7 }, id: "seek" });
      c.send({ execute: "query-replay", id: "q" });
      const got = await c.until((m) => m.id === "q");
      const ids = got.filter((m: Msg) => !m.event).map((m: Msg) => m.id);
      assert.deepEqual(ids, ["seek", "q"]);
      assert.equal(got.at(-1).return.icount, 7);
      assert.ok(r.session.calls.indexOf("pause") < r.session.calls.indexOf("seek 7"));
    } finally {
      await r.done();
    }
  });
});

describe("run control and events", () => {
  test("cont sends RESUME before its reply; stop sends STOP before its reply; no-ops send nothing", async () => {
    const r = await rig({ runState: "paused", perTick: 1 });
    try {
      const c = r.client;
      const cont = await c.cmd("cont");
      assert.deepEqual(cont.events, [{ timestamp: TIMESTAMP, event: "RESUME" }]);
      assert.deepEqual(cont.reply, { return: {}, id: "t1" });
      assert.equal(r.session.runState(), "running");
      const again = await c.cmd("cont");
      assert.deepEqual(again.events, []);
      assert.deepEqual(again.reply.return, {});
      const stop = await c.cmd("stop");
      assert.deepEqual(stop.events, [{ timestamp: TIMESTAMP, event: "STOP" }]);
      assert.equal(r.session.runState(), "paused");
      const stop2 = await c.cmd("stop");
      assert.deepEqual(stop2.events, []);
      assert.deepEqual(stop2.reply.return, {});
      await sleep(20);
      assert.equal(c.pending(), 0, "no stray events");
    } finally {
      await r.done();
    }
  });

  test("stop in prelaunch changes nothing (QEMU); cont in prelaunch starts the machine", async () => {
    const r = await rig({ runState: "prelaunch" });
    try {
      const stop = await r.client.cmd("stop");
      assert.deepEqual(stop.events, []);
      assert.equal(r.session.runState(), "prelaunch");
      const cont = await r.client.cmd("cont");
      assert.deepEqual(cont.events.map((e: Msg) => e.event), ["RESUME"]);
    } finally {
      await r.done();
    }
  });

  test("cont after shutdown, and cont refused by a busy session, are errors", async () => {
    const r = await rig({ runState: "paused" });
    try {
      r.session.powerOff();
      await r.client.until((m) => m.event === "SHUTDOWN");
      assert.deepEqual((await r.client.cmd("cont")).reply.error, { class: "GenericError", desc: "Resetting the Virtual Machine is required" });
    } finally {
      await r.done();
    }
    const b = await rig({ runState: "paused", mode: "play", seekDelayMs: 200 });
    try {
      // Another front end (GDB) keeps the session busy with a seek.
      const seek = b.session.seek(50);
      const reply = (await b.client.cmd("cont")).reply;
      assert.deepEqual(reply.error, { class: "GenericError", desc: "the machine is busy with another request" });
      await seek;
    } finally {
      await b.done();
    }
  });

  test("system_reset sends RESET (and no STOP); refused during replay", async () => {
    const r = await rig({ runState: "paused" });
    try {
      const reset = await r.client.cmd("system_reset");
      assert.deepEqual(reset.events, [{ timestamp: TIMESTAMP, event: "RESET", data: { guest: false, reason: "host-qmp-system-reset" } }]);
      assert.equal(r.client.raw.at(-2), '{"timestamp": {"seconds": 1700000000, "microseconds": 123456}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}');
      assert.equal(r.session.resets, 1);
      await sleep(20);
      assert.equal(r.client.pending(), 0);
    } finally {
      await r.done();
    }
    const p = await rig({ mode: "play" });
    try {
      assert.deepEqual((await p.client.cmd("system_reset")).reply.error, {
        class: "GenericError",
        desc: "system_reset is not possible while replaying a recording",
      });
    } finally {
      await p.done();
    }
  });

  test("guest power-off: SHUTDOWN with guest true, no STOP", async () => {
    const r = await rig({ runState: "paused" });
    try {
      await r.client.cmd("cont");
      r.session.powerOff();
      const [ev] = await r.client.until((m) => m.event);
      assert.deepEqual(ev, { timestamp: TIMESTAMP, event: "SHUTDOWN", data: { guest: true, reason: "guest-shutdown" } });
      await sleep(20);
      assert.equal(r.client.pending(), 0);
    } finally {
      await r.done();
    }
  });

  test("a debugger step (the session reports only its stop) reaches QMP as RESUME then STOP, as in QEMU", async () => {
    const r = await rig({ runState: "paused" });
    try {
      r.session.debuggerStep();
      r.session.debuggerStep();
      const got = await r.client.until((m) => m.event === "STOP");
      assert.deepEqual(got.map((m: Msg) => m.event), ["RESUME", "STOP"]);
      const again = await r.client.until((m) => m.event === "STOP");
      assert.deepEqual(again.map((m: Msg) => m.event), ["RESUME", "STOP"]);
      assert.equal((await r.client.cmd("query-status")).reply.return.status, "debug");
    } finally {
      await r.done();
    }
  });

  test("events carry the host time as {seconds, microseconds}", async () => {
    const r = await rig({ runState: "paused" }, { clock: undefined });
    try {
      const before = Date.now() / 1000;
      const { events } = await r.client.cmd("cont");
      const after = Date.now() / 1000;
      const ts = events[0].timestamp;
      assert.deepEqual(Object.keys(ts), ["seconds", "microseconds"]);
      assert.ok(Number.isInteger(ts.seconds) && Number.isInteger(ts.microseconds));
      assert.ok(ts.microseconds >= 0 && ts.microseconds < 1_000_000);
      const t = ts.seconds + ts.microseconds / 1e6;
      assert.ok(t >= before - 1 && t <= after + 1, `timestamp ${t} not between ${before} and ${after}`);
    } finally {
      await r.done();
    }
  });

  test("quit: SHUTDOWN, then the reply, then the connection closes (QEMU 7.2's order)", async () => {
    let quitCalls = 0;
    const session = new FakeSession({ runState: "paused", perTick: 1 });
    const a = await unixChardev("a");
    const b = await tcpChardev("b");
    const ma = attachQmp(a.backend, session, { clock: () => FIXED_US, onQuit: () => quitCalls++ });
    const mb = attachQmp(b.backend, session, { clock: () => FIXED_US, onQuit: () => quitCalls++ });
    const ca = await QmpTestClient.ready(a.where);
    const cb = await QmpTestClient.ready(b.where);
    try {
      await ca.cmd("cont");
      await cb.until((m) => m.event === "RESUME");
      ca.send('{"execute": "quit", "id": "bye"}');
      const got = await ca.until((m) => m.id === "bye");
      assert.deepEqual(got, [{ timestamp: TIMESTAMP, event: "SHUTDOWN", data: { guest: false, reason: "host-qmp-quit" } }, { return: {}, id: "bye" }]);
      await ca.eof();
      // The other monitor saw the SHUTDOWN (and no STOP) and is closed too, as when QEMU exits.
      const other = await cb.until((m) => m.event === "SHUTDOWN");
      assert.deepEqual(other.map((m: Msg) => m.event), ["SHUTDOWN"]);
      await cb.eof();
      assert.equal(quitCalls, 1);
      assert.ok(session.calls.includes("quit"));
      assert.equal(session.listenerCount(), 0, "the monitors let go of the session");
    } finally {
      ca.close();
      cb.close();
      ma.detach();
      mb.detach();
      await a.backend.close();
      await b.backend.close();
    }
  });

  test("two monitors (two -qmp options) both get every event", async () => {
    const session = new FakeSession({ runState: "paused", perTick: 1 });
    const a = await unixChardev("a");
    const b = await tcpChardev("b");
    const ma = attachQmp(a.backend, session, { clock: () => FIXED_US });
    const mb = attachQmp(b.backend, session, { clock: () => FIXED_US });
    const ca = await QmpTestClient.ready(a.where);
    const cb = await QmpTestClient.ready(b.where);
    try {
      await ca.cmd("cont");
      await cb.cmd("stop");
      const seenByA = await ca.until((m) => m.event === "STOP");
      assert.deepEqual(seenByA.map((m: Msg) => m.event), ["STOP"]);
      const seenByB = (await cb.cmd("query-status")).events;
      assert.deepEqual(seenByB, []);
      assert.ok(cb.raw.some((l) => l.includes('"event": "RESUME"')));
      assert.ok(cb.raw.some((l) => l.includes('"event": "STOP"')));
      // Detaching one monitor leaves the other working.
      ma.detach();
      const { events } = await cb.cmd("cont");
      assert.deepEqual(events.map((e: Msg) => e.event), ["RESUME"]);
      assert.equal(session.listenerCount(), 3);
      mb.detach();
      assert.equal(session.listenerCount(), 0);
    } finally {
      ca.close();
      cb.close();
      ma.detach();
      mb.detach();
      session.pause();
      await a.backend.close();
      await b.backend.close();
    }
  });
});

describe("ids, errors and framing", () => {
  test("id is echoed on every kind of reply, whatever its JSON type", async () => {
    const r = await rig();
    try {
      const c = r.client;
      const cases: [string, string][] = [
        ['{"execute": "query-kvm", "id": "abc"}', '{"return": {"enabled": false, "present": false}, "id": "abc"}'],
        ['{"execute": "nope", "id": 7}', '{"id": 7, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}'],
        ['{"execute": "replay-break", "id": [1, {"a": null}]}', '{"id": [1, {"a": null}], "error": {"class": "GenericError", "desc": "Parameter \'icount\' is missing"}}'],
        ['{"id": 12345678901234567890}', '{"id": 12345678901234567890, "error": {"class": "GenericError", "desc": "QMP input lacks member \'execute\'"}}'],
        ['{"execute": "query-kvm", "id": 0.1}', '{"return": {"enabled": false, "present": false}, "id": 0.10000000000000001}'],
        ['{"execute": "query-kvm", "id": {"b": 1, "a": 2, "id": 3, "return": 4}}', '{"return": {"enabled": false, "present": false}, "id": {"a": 2, "b": 1, "return": 4, "id": 3}}'],
        ['{"execute": "query-kvm", "id": null}', '{"return": {"enabled": false, "present": false}, "id": null}'],
        ['{"execute": "query-kvm", "id": "\\u00e9\\ud83d\\ude00"}', '{"return": {"enabled": false, "present": false}, "id": "\\u00E9\\uD83D\\uDE00"}'],
        ["{'execute': 'query-kvm', 'id': 'it\"s'}", '{"return": {"enabled": false, "present": false}, "id": "it\\"s"}'],
      ];
      for (const [input, expected] of cases) {
        c.send(input);
        await c.next();
        assert.equal(c.raw.at(-1), expected, `for ${input}`);
      }
    } finally {
      await r.done();
    }
  });

  test("every error path answers in QEMU's words and the connection stays", async () => {
    const r = await rig({ runState: "paused" });
    try {
      const c = r.client;
      const cases: [string, string][] = [
        ["{bad json}", "JSON parse error, invalid keyword 'bad'"],
        ["[1,2]", "QMP input must be a JSON object"],
        ['"str"', "QMP input must be a JSON object"],
        ["{}", "QMP input lacks member 'execute'"],
        ['{"execute": 5}', "QMP input member 'execute' must be a string"],
        ['{"execute": "query-status", "arguments": []}', "QMP input member 'arguments' must be an object"],
        ['{"execute": "query-status", "arguments": null}', "QMP input member 'arguments' must be an object"],
        ['{"execute": "query-status", "arguments": {"a": 1}}', "Parameter 'a' is unexpected"],
        ['{"execute": "query-status", "control": {}}', "QMP input member 'control' is unexpected"],
        ['{"execute": "replay-break"}', "Parameter 'icount' is missing"],
        ['{"execute": "replay-break", "arguments": {"icount": "x"}}', "Invalid parameter type for 'icount', expected: integer"],
        ['{"execute": "replay-break", "arguments": {"icount": 1.5}}', "Invalid parameter type for 'icount', expected: integer"],
        ['{"execute": "replay-break", "arguments": {"icount": 5.0}}', "Invalid parameter type for 'icount', expected: integer"],
        ['{"execute": "replay-break", "arguments": {"icount": 18446744073709551615}}', "Invalid parameter type for 'icount', expected: integer"],
        ['{"execute": "replay-break", "arguments": {"icount": null}}', "Invalid parameter type for 'icount', expected: integer"],
        ['{"execute": "replay-break", "arguments": {"icount": 5, "foo": 1}}', "Parameter 'foo' is unexpected"],
        ['{"execute": "human-monitor-command"}', "Parameter 'command-line' is missing"],
        ['{"execute": "human-monitor-command", "arguments": {"command-line": 1}}', "Invalid parameter type for 'command-line', expected: string"],
        ['{"execute": "human-monitor-command", "arguments": {"command-line": "info status", "cpu-index": 3}}', "Parameter 'cpu-index' expects a CPU number"],
        ['{"a" 1}', "JSON parse error, missing : in object pair"],
        ['{"a":1,}', "JSON parse error, expecting value"],
        ['{"a":1 "b":2}', "JSON parse error, expected separator in dict"],
        ["[1 2]", "JSON parse error, expected separator in list"],
        ["{1:2}", "JSON parse error, key is not a string in object"],
        ['"\\x"', "JSON parse error, invalid escape sequence in string"],
        ['"\\u00zz"', "JSON parse error, \\u00zz is not a valid Unicode character"],
        ['{"execute": "query-status", "execute": "query-name"}', "JSON parse error, duplicate key"],
        ["%d", "JSON parse error, stray '%'"],
        ["01", "JSON parse error, stray '01'"],
        ["@", "JSON parse error, stray '@'"],
        ["}", "JSON parse error, expecting value"],
      ];
      for (const [input, desc] of cases) {
        c.send(input + "\n");
        const m = await c.next();
        assert.deepEqual(m, { error: { class: "GenericError", desc } }, `for ${input}`);
      }
      c.send('{"execute": "QUERY-STATUS"}');
      assert.deepEqual(await c.next(), { error: { class: "CommandNotFound", desc: "The command QUERY-STATUS has not been found" } });
      assert.equal((await c.cmd("query-status")).reply.return.status, "paused");
    } finally {
      await r.done();
    }
  });

  test("split and concatenated documents: byte by byte, and several in one write", async () => {
    const r = await rig();
    try {
      const c = r.client;
      const doc = '{"execute": "query-kvm", "id": "split"}';
      for (const ch of doc) {
        c.send(ch);
        await sleep(1);
      }
      assert.deepEqual(await c.next(), { return: { enabled: false, present: false }, id: "split" });
      c.send('{"execute":"query-name","id":1}{"execute":"query-kvm","id":2} [3] {"execute":"query-target","id":4}');
      const got = [await c.next(), await c.next(), await c.next(), await c.next()];
      assert.deepEqual(got.map((m) => m.id ?? m.error?.desc), [1, 2, "QMP input must be a JSON object", 4]);
    } finally {
      await r.done();
    }
  });

  test("very long input: a 2 MiB string is handled, nesting beyond 1024 is refused", async () => {
    const r = await rig();
    try {
      const c = r.client;
      const big = "x".repeat(2 * 1024 * 1024);
      c.send(`{"execute": "query-kvm", "id": "${big}"}`);
      const m = await c.next(20000);
      assert.equal(m.id, big);
      c.send("[".repeat(1025));
      assert.deepEqual(await c.next(), { error: { class: "GenericError", desc: "JSON nesting depth limit exceeded" } });
      c.send("\n");
      assert.ok((await c.cmd("query-kvm")).reply.return);
    } finally {
      await r.done();
    }
  });

  test("binary junk gets errors, then the server answers again", async () => {
    const r = await rig();
    try {
      const c = r.client;
      c.send(Uint8Array.from([0xff, 0x00, 0x80, 0x41, 0x7b, 0x22, 0x01, 0xfe]));
      c.send("\n");
      const probe = await c.cmd("query-kvm");
      assert.ok(probe.reply.return);
      assert.ok(probe.events.length >= 1);
      for (const e of probe.events) assert.equal(e.error.class, "GenericError");
      assert.equal(probe.events[0].error.desc, "JSON parse error, stray '\ufffd'");
    } finally {
      await r.done();
    }
  });

  test("pretty output (-qmp-pretty) as QEMU indents it, CR LF line ends", async () => {
    const session = new FakeSession({ runState: "prelaunch" });
    const { backend, where } = await unixChardev();
    const m = attachQmp(backend, session, { pretty: true, clock: () => FIXED_US });
    const c = await QmpTestClient.connect(where);
    let text = "";
    c.sock.removeAllListeners("data");
    c.sock.on("data", (d: string) => (text += d));
    try {
      c.send('{"execute":"qmp_capabilities"}{"execute":"query-status","id":[1,{}]}');
      for (let i = 0; i < 200 && !text.includes('"id"'); i++) await sleep(5);
      await sleep(20);
      const expected =
        '{\r\n    "QMP": {\r\n        "version": {\r\n            "qemu": {\r\n                "micro": 0,\r\n                "minor": 2,\r\n                "major": 7\r\n            },\r\n            "package": " (Rewind 0.1.0)"\r\n        },\r\n        "capabilities": [\r\n            "oob"\r\n        ]\r\n    }\r\n}\r\n' +
        '{\r\n    "return": {\r\n    }\r\n}\r\n' +
        '{\r\n    "return": {\r\n        "status": "prelaunch",\r\n        "singlestep": false,\r\n        "running": false\r\n    },\r\n    "id": [\r\n        1,\r\n        {\r\n        }\r\n    ]\r\n}\r\n';
      assert.equal(text, expected);
    } finally {
      c.close();
      m.detach();
      await backend.close();
    }
  });

  test("a client that disconnects in the middle of a command: no crash, the next client is served", async () => {
    const r = await rig({ mode: "play", icount: 10, end: 1000, seekDelayMs: 50 });
    try {
      r.client.send('{"execute": "replay-seek", "arguments": {"icount": 500}, "id": "gone"}{"execute": "query-status"}');
      await sleep(5);
      r.client.close();
      // Also a client that leaves half a document behind.
      const half = await r.connect();
      await half.next();
      half.send('{"execute": "qmp_capabilities"}{"execute": "query-sta');
      await sleep(10);
      half.close();
      const c = await r.connect();
      assert.ok((await c.next()).QMP, "fresh greeting");
      await c.cmd("qmp_capabilities");
      await sleep(80);
      assert.deepEqual(r.session.seeks, [500], "the seek itself completed");
      assert.equal((await c.cmd("query-replay")).reply.return.icount, 500);
    } finally {
      await r.done();
    }
  });

  test("a flood of requests behind a slow one is answered completely and in order", async () => {
    const r = await rig({ mode: "play", icount: 10, end: 100_000, seekDelayMs: 50 });
    try {
      const c = r.client;
      let batch = '{"execute": "replay-seek", "arguments": {"icount": 99}, "id": -1}';
      for (let i = 0; i < 200; i++) batch += `{"execute": "query-replay", "id": ${i}}`;
      c.send(batch);
      const got = await c.until((m) => m.id === 199, 10000);
      const ids = got.filter((m: Msg) => !m.event).map((m: Msg) => m.id);
      assert.deepEqual(ids, [-1, ...Array.from({ length: 200 }, (_, i) => i)]);
      assert.ok(got.filter((m: Msg) => m.id >= 0).every((m: Msg) => m.return.icount === 99));
    } finally {
      await r.done();
    }
  });

  test("exec-oob is answered at once, ahead of in-band commands still waiting", async () => {
    const r = await rig({ mode: "play", icount: 10, end: 1000, seekDelayMs: 100 }, {}, "unix", false);
    try {
      const c = r.client;
      await c.next();
      await c.cmd("qmp_capabilities", { enable: ["oob"] });
      c.send('{"execute": "replay-seek", "arguments": {"icount": 20}, "id": "slow"}{"exec-oob": "query-status", "id": "oob"}');
      const got = await c.until((m) => m.id === "slow");
      const ids = got.filter((m: Msg) => !m.event).map((m: Msg) => m.id);
      assert.deepEqual(ids, ["oob", "slow"]);
    } finally {
      await r.done();
    }
  });
});

describe("human-monitor-command", () => {
  async function hmp(c: QmpTestClient, line: string): Promise<string> {
    const { reply } = await c.cmd("human-monitor-command", { "command-line": line });
    if (reply.error) throw new Error(reply.error.desc);
    return reply.return;
  }

  test("info commands", async () => {
    const r = await rig({ runState: "prelaunch", mode: "play", icount: 77, filename: "replay.bin" }, { name: "vm0", threadId: 99 });
    try {
      const c = r.client;
      assert.equal(await hmp(c, "info status"), "VM status: paused (prelaunch)\r\n");
      assert.equal(await hmp(c, "  info   status  "), "VM status: paused (prelaunch)\r\n");
      assert.equal(await hmp(c, "info replay"), "Replaying execution 'replay.bin': instruction count = 77\r\n");
      assert.equal(await hmp(c, "info name"), "vm0\r\n");
      assert.equal(await hmp(c, "info version"), "7.2.0 (Rewind 0.1.0)\r\n");
      assert.equal(await hmp(c, "info kvm"), "kvm support: not compiled\r\n");
      assert.equal(await hmp(c, "info cpus"), "* CPU #0: thread_id=99\r\n");
      assert.equal(await hmp(c, "info foo"), "unknown command: 'info foo'\r\n");
      assert.equal(
        await hmp(c, "info status extra"),
        'status: extraneous characters at the end of line\r\nTry "help info status" for more information\r\n',
      );
      assert.match(await hmp(c, "info"), /^info cpus {2}-- show infos for each CPU\r\n(info \S+ {2}-- [^\r]+\r\n)+$/);
      await hmp(c, "cont");
      assert.equal(await hmp(c, "info status"), "VM status: running\r\n");
      await hmp(c, "stop");
      assert.equal(await hmp(c, "info status"), "VM status: paused\r\n");
    } finally {
      await r.done();
    }
    const n = await rig({ mode: "none" });
    try {
      assert.equal(await hmp(n.client, "info replay"), "Record/replay is not active\r\n");
      assert.equal(await hmp(n.client, "info name"), "");
      assert.equal(await hmp(n.client, ""), "");
      assert.equal(await hmp(n.client, "foo bar"), "unknown command: 'foo'\r\n");
    } finally {
      await n.done();
    }
  });

  test("replay_break / replay_delete_break / replay_seek, with QEMU's argument errors", async () => {
    const none = await rig({ mode: "none" });
    try {
      const c = none.client;
      assert.equal(await hmp(c, "replay_break 5"), "setting the breakpoint is allowed only in play mode\r\n");
      assert.equal(await hmp(c, "replay_seek 5"), "replay must be enabled to seek\r\n");
      assert.equal(await hmp(c, "replay_delete_break"), "replay breakpoints are allowed only in play mode\r\n");
      const tryHelp = 'Try "help replay_break" for more information\r\n';
      assert.equal(await hmp(c, "replay_break"), "unexpected end of expression\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break abc"), "invalid char 'a' in expression\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break 2*3+(4"), "')' expected\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break 7/0"), "division by zero\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break 99999999999999999999"), "number too large\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break $pc"), "unknown register\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break 5 6"), "replay_break: extraneous characters at the end of line\r\n" + tryHelp);
      assert.equal(await hmp(c, "replay_break 08"), "replay_break: extraneous characters at the end of line\r\n" + tryHelp);
      assert.equal(
        await hmp(c, "replay_delete_break x"),
        'replay_delete_break: extraneous characters at the end of line\r\nTry "help replay_delete_break" for more information\r\n',
      );
    } finally {
      await none.done();
    }
    const r = await rig({ mode: "play", icount: 100, end: 1000 });
    try {
      const c = r.client;
      assert.equal(await hmp(c, "replay_break 0x100 + 2*(3+1)"), "");
      assert.equal(r.session.replayBreak, 0x108);
      assert.equal(await hmp(c, "replay_break 010"), "cannot set breakpoint at the instruction in the past\r\n");
      assert.equal(await hmp(c, "replay_delete_break"), "");
      assert.equal(r.session.replayBreak, undefined);
      const seek = await c.cmd("human-monitor-command", { "command-line": "replay_seek 42" });
      assert.equal(seek.reply.return, "");
      assert.deepEqual(seek.events.map((e: Msg) => e.event), ["RESUME", "STOP"]);
      assert.equal(r.session.ic, 42);
    } finally {
      await r.done();
    }
  });

  test("help texts as QEMU prints them", async () => {
    const r = await rig();
    try {
      const c = r.client;
      assert.equal(await hmp(c, "help replay_break"), "replay_break icount -- set breakpoint at the specified instruction count\r\n");
      assert.equal(await hmp(c, "help replay_seek"), "replay_seek icount -- replay execution to the specified instruction count\r\n");
      assert.equal(await hmp(c, "help replay_delete_break"), "replay_delete_break  -- remove replay breakpoint\r\n");
      assert.equal(await hmp(c, "help info status"), "info status  -- show the current VM status (running|paused)\r\n");
      assert.equal(await hmp(c, "help c"), "cont|c  -- resume emulation\r\n");
      assert.equal(await hmp(c, "help help"), "help|? [cmd] -- show the help\r\n");
      assert.equal(await hmp(c, "help foo"), "unknown command: 'foo'\r\n");
      const all = await hmp(c, "help");
      const lines = all.split("\r\n").filter((l) => l);
      assert.deepEqual(lines, [...lines].sort());
      assert.ok(lines.includes("quit|q  -- quit the emulator"));
      assert.equal(await hmp(c, "?"), all);
    } finally {
      await r.done();
    }
  });
});

// The QMP server over the real MachineSession replaying a recording of busy.elf: query-replay, replay-break,
// replay-seek, replay-delete-break, stop during a long cont, system_reset refused during replay — and a contract
// test running one command sequence against the fake of test/qmp/fake-session.ts and the real session, showing
// that they answer alike (replies, errors and events).
//
// No assertion depends on wall-clock timing: a `stop` is sent once query-replay has shown the run under way, and
// the replay runs in small slices so that a cont spans many event-loop turns. Timeouts only bound a broken run.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { attachQmp } from "../../src/qmp/server.js";
import type { DebugSession } from "../../src/session/api.js";
import { recordSession, replaySession, tempDir } from "../helpers/sessions.js";
import { FakeSession } from "./fake-session.js";
import { QmpTestClient, removeTmpdirs, unixChardev, type Msg } from "./qmp-client.js";

const GUEST = "busy.elf";
const FIXED_US = 1_700_000_000_123_456;

let dir: string;
let recording: string;
let recorded: { output: string; digest: string; end: number };

before(async () => {
  dir = tempDir("rewind-qmp-real-");
  recording = join(dir, "busy.rwr");
  const rec = recordSession(GUEST, recording, { digestInterval: 50_000 });
  assert.equal((await rec.session.cont()).kind, "poweroff");
  recorded = { output: rec.output(), digest: rec.session.digest(), end: rec.session.icount() };
});

after(() => {
  removeTmpdirs();
  rmSync(dir, { recursive: true, force: true });
});

/** A QMP monitor on a unix socket over `session`, and a negotiated client. */
async function monitorOn(session: DebugSession) {
  const { backend, where } = await unixChardev();
  const logs: string[] = [];
  const monitor = attachQmp(backend, session, { clock: () => FIXED_US, log: (l) => logs.push(l) });
  const client = await QmpTestClient.ready(where);
  return {
    client,
    logs,
    async done() {
      session.pause();
      client.close();
      monitor.detach();
      await backend.close();
    },
  };
}

async function replayRig() {
  const rep = replaySession(GUEST, recording, { slice: 2_000, checkpointInterval: 50_000 });
  const m = await monitorOn(rep.session);
  return { ...rep, ...m };
}

const names = (msgs: Msg[]) => msgs.map((m: Msg) => m.event);
const icountOf = async (c: QmpTestClient) => (await c.cmd("query-replay")).reply.return.icount as number;
const statusOf = async (c: QmpTestClient) => (await c.cmd("query-status")).reply.return.status as string;

test("query-replay, then replay-break + cont stops with STOP at exactly that icount", { timeout: 30_000 }, async () => {
  const r = await replayRig();
  try {
    const c = r.client;
    assert.deepEqual((await c.cmd("query-replay")).reply.return, { icount: 0, mode: "play", filename: recording });
    assert.equal(await statusOf(c), "paused");
    assert.deepEqual((await c.cmd("replay-break", { icount: 100_003 })).reply, { return: {}, id: "t3" });
    const cont = await c.cmd("cont");
    assert.deepEqual(names(cont.events), ["RESUME"]);
    assert.deepEqual(cont.reply.return, {});
    const got = await c.until((m) => m.event === "STOP", 20_000);
    assert.deepEqual(names(got), ["STOP"]);
    assert.equal(await icountOf(c), 100_003);
    assert.equal(r.session.icount(), 100_003);
    assert.equal(await statusOf(c), "paused");
    // The machine there is the one a seek to that icount gives.
    const other = replaySession(GUEST, recording);
    await other.session.seek(100_003);
    assert.equal(r.session.digest(), other.session.digest());
    // A break before the current icount is refused with QEMU's words.
    assert.deepEqual((await c.cmd("replay-break", { icount: 100_002 })).reply.error, {
      class: "GenericError",
      desc: "cannot set breakpoint at the instruction in the past",
    });
    assert.deepEqual((await c.cmd("replay-break", { icount: 5 })).reply.error.desc, "cannot set breakpoint at the instruction in the past");
    // The break was used up: the next cont runs to the end of the recording.
    await c.cmd("cont");
    await c.until((m) => m.event === "STOP", 20_000);
    assert.equal(await icountOf(c), recorded.end);
    assert.equal(r.session.digest(), recorded.digest);
    assert.deepEqual(r.logs, []);
  } finally {
    await r.done();
  }
});

test("replay-seek back and forth: RESUME/STOP, query-replay shows the icount, the state is the forward run's", { timeout: 30_000 }, async () => {
  const points = [200_000, 5_000, 5_000, 150_001, 0, 242_000, 1];
  // The digests of a plain forward replay at those icounts.
  const forward = replaySession(GUEST, recording);
  const expected = new Map<number, string>();
  for (const n of [...new Set(points)].sort((a, b) => a - b)) {
    await forward.session.seek(n);
    expected.set(n, forward.session.digest());
  }
  const r = await replayRig();
  try {
    const c = r.client;
    for (const n of points) {
      const seek = await c.cmd("replay-seek", { icount: n }, 20_000);
      assert.deepEqual(seek.reply.return, {}, `replay-seek ${n}`);
      assert.deepEqual(names(seek.events), ["RESUME", "STOP"], `events of replay-seek ${n}`);
      assert.equal(await icountOf(c), n);
      assert.equal(await statusOf(c), "paused");
      assert.equal(r.session.digest(), expected.get(n), `machine state at ${n}`);
    }
    const past = (await c.cmd("replay-seek", { icount: recorded.end + 1 })).reply.error;
    assert.equal(past.class, "GenericError");
    assert.match(past.desc, new RegExp(`beyond the end of the recording \\(${recorded.end}\\)`));
    assert.deepEqual((await c.cmd("replay-seek", { icount: -1 })).reply.error, {
      class: "GenericError",
      desc: "cannot seek to the specified instruction count",
    });
    assert.equal(await icountOf(c), 1, "a refused seek leaves the machine where it was");
    const end = await c.cmd("replay-seek", { icount: recorded.end }, 20_000);
    assert.deepEqual(end.reply.return, {});
    assert.equal(r.session.digest(), recorded.digest);
  } finally {
    await r.done();
  }
});

test("replay-delete-break: the deleted break no longer stops cont", { timeout: 30_000 }, async () => {
  const r = await replayRig();
  try {
    const c = r.client;
    assert.deepEqual((await c.cmd("replay-break", { icount: 50_000 })).reply.return, {});
    assert.deepEqual((await c.cmd("replay-break", { icount: 60_000 })).reply.return, {}); // replaces the first
    assert.deepEqual((await c.cmd("replay-delete-break")).reply.return, {});
    await c.cmd("cont");
    const got = await c.until((m) => m.event === "STOP", 20_000);
    assert.deepEqual(names(got), ["STOP"]);
    assert.equal(await icountOf(c), recorded.end);
    assert.equal(r.output(), recorded.output);
    assert.equal(r.session.digest(), recorded.digest);
    // A second replay-delete-break has nothing to delete and is fine (QEMU).
    assert.deepEqual((await c.cmd("replay-delete-break")).reply.return, {});
  } finally {
    await r.done();
  }
});

test("stop during a long cont: STOP before the reply, paused where it stopped; the replay goes on", { timeout: 30_000 }, async () => {
  const r = await replayRig();
  try {
    const c = r.client;
    const cont = await c.cmd("cont");
    assert.deepEqual(names(cont.events), ["RESUME"]);
    assert.equal(await statusOf(c), "running");
    // Wait (in QMP round trips, not in time) until the run is under way.
    let seen = 0;
    while ((seen = await icountOf(c)) === 0) {
      // query-replay again
    }
    const stop = await c.cmd("stop");
    assert.deepEqual(names(stop.events), ["STOP"]);
    assert.deepEqual(stop.reply.return, {});
    assert.equal(await statusOf(c), "paused");
    const at = await icountOf(c);
    assert.ok(at >= seen && at < recorded.end, `stopped at ${at} (seen running at ${seen})`);
    assert.equal(await icountOf(c), at, "it stays stopped");
    assert.deepEqual((await c.cmd("stop")).events, [], "stop when paused: nothing");
    // The machine is fine: a step back and forth, then cont to the end with the recorded result.
    const digest = r.session.digest();
    const seek = await c.cmd("replay-seek", { icount: at - 1 });
    assert.deepEqual(seek.reply.return, {});
    await c.cmd("replay-seek", { icount: at });
    assert.equal(r.session.digest(), digest);
    await c.cmd("cont");
    await c.until((m) => m.event === "STOP", 20_000);
    assert.equal(await icountOf(c), recorded.end);
    assert.equal(r.session.digest(), recorded.digest);
  } finally {
    await r.done();
  }
});

test("system_reset during replay is refused with QEMU's error class, and changes nothing", { timeout: 30_000 }, async () => {
  const r = await replayRig();
  try {
    const c = r.client;
    await c.cmd("replay-seek", { icount: 30_000 });
    const digest = r.session.digest();
    const reset = await c.cmd("system_reset");
    assert.deepEqual(reset.reply.error, { class: "GenericError", desc: "system_reset is not possible while replaying a recording" });
    assert.deepEqual(reset.events, [], "no RESET event");
    assert.equal(r.session.digest(), digest);
    assert.equal(await icountOf(c), 30_000);
    await c.cmd("cont");
    await c.until((m) => m.event === "STOP", 20_000);
    assert.equal(r.session.digest(), recorded.digest, "the replay is undamaged");
  } finally {
    await r.done();
  }
});

// ---- contract: the fake and the real session answer alike ---------------------------------------------------

interface Plan {
  session: DebugSession;
  end: number;
  /** Increasing icounts inside the recording: a replay break, a seek back, a seek forward, a later break. */
  at: { brk: number; back: number; fwd: number; brk2: number };
  filename: string;
}

/** One command sequence; each reply and the events before it, with icounts named by their role. */
async function qmpTranscript(p: Plan): Promise<string[]> {
  const m = await monitorOn(p.session);
  const out: string[] = [];
  try {
    const c = m.client;
    const roles = new Map<number, string>([
      [0, "0"],
      [p.end, "end"],
      [p.at.brk, "brk"],
      [p.at.back, "back"],
      [p.at.fwd, "fwd"],
      [p.at.brk2, "brk2"],
      [p.at.brk - 1, "brk-1"],
    ]);
    const name = (n: number) => roles.get(n) ?? (n > p.end ? "past-end" : `other(${n})`);
    const clean = (v: unknown): string =>
      JSON.stringify(v, (_k, x) => (typeof x === "number" ? name(x) : x === p.filename ? "FILE" : x))
        .replace(new RegExp(`\\b(${p.end}|${p.end + 1})\\b`, "g"), (s) => name(Number(s)))
        .replace(p.filename, "FILE");
    const run = async (cmd: string, args?: object) => {
      const { reply, events } = await c.cmd(cmd, args, 20_000);
      const shown = reply.error ? { error: reply.error } : { return: reply.return };
      out.push(`${cmd} ${args ? clean(args) : ""} -> ${clean(shown)} [${names(events).join(" ")}]`);
    };
    const stopped = async () => out.push(`until STOP: [${names(await c.until((x) => x.event === "STOP", 20_000)).join(" ")}]`);

    await run("query-replay");
    await run("query-status");
    await run("replay-break", { icount: p.at.brk });
    await run("cont");
    await stopped();
    await run("query-replay");
    await run("query-status");
    await run("replay-break", { icount: p.at.brk - 1 });
    await run("replay-seek", { icount: p.at.back });
    await run("query-replay");
    await run("replay-seek", { icount: p.at.fwd });
    await run("query-replay");
    await run("replay-seek", { icount: p.end + 1 });
    await run("replay-seek", { icount: -1 });
    await run("query-replay");
    await run("system_reset");
    await run("replay-break", { icount: p.at.brk2 });
    await run("replay-delete-break");
    await run("cont");
    await run("stop");
    await run("query-status");
    await run("stop");
    await run("cont");
    await stopped();
    await run("query-replay");
    await run("query-status");
    await run("replay-seek", { icount: 0 });
    await run("human-monitor-command", { "command-line": "info replay" });
    await run("human-monitor-command", { "command-line": "replay_break 0x10" });
    await run("replay-delete-break");
  } finally {
    await m.done();
  }
  return out;
}

test("contract: the fake QMP session and the real session answer one command sequence alike", { timeout: 30_000 }, async () => {
  const fake = new FakeSession({ mode: "play", end: 1000, perTick: 10, seekDelayMs: 1 });
  const fakeAnswers = await qmpTranscript({ session: fake, end: 1000, at: { brk: 300, back: 100, fwd: 600, brk2: 700 }, filename: "replay.bin" });
  const rep = replaySession(GUEST, recording, { slice: 2_000 });
  const realAnswers = await qmpTranscript({
    session: rep.session,
    end: recorded.end,
    at: { brk: 100_000, back: 20_000, fwd: 150_000, brk2: 200_000 },
    filename: recording,
  });
  assert.deepEqual(realAnswers, fakeAnswers);
  assert.deepEqual(realAnswers, [
    'query-replay  -> {"return":{"icount":"0","mode":"play","filename":"FILE"}} []',
    'query-status  -> {"return":{"status":"paused","singlestep":false,"running":false}} []',
    'replay-break {"icount":"brk"} -> {"return":{}} []',
    'cont  -> {"return":{}} [RESUME]',
    'until STOP: [STOP]',
    'query-replay  -> {"return":{"icount":"brk","mode":"play","filename":"FILE"}} []',
    'query-status  -> {"return":{"status":"paused","singlestep":false,"running":false}} []',
    'replay-break {"icount":"brk-1"} -> {"error":{"class":"GenericError","desc":"cannot set breakpoint at the instruction in the past"}} []',
    'replay-seek {"icount":"back"} -> {"return":{}} [RESUME STOP]',
    'query-replay  -> {"return":{"icount":"back","mode":"play","filename":"FILE"}} []',
    'replay-seek {"icount":"fwd"} -> {"return":{}} [RESUME STOP]',
    'query-replay  -> {"return":{"icount":"fwd","mode":"play","filename":"FILE"}} []',
    'replay-seek {"icount":"past-end"} -> {"error":{"class":"GenericError","desc":"icount past-end is beyond the end of the recording (end)"}} []',
    'replay-seek {"icount":"other(-1)"} -> {"error":{"class":"GenericError","desc":"cannot seek to the specified instruction count"}} []',
    'query-replay  -> {"return":{"icount":"fwd","mode":"play","filename":"FILE"}} []',
    'system_reset  -> {"error":{"class":"GenericError","desc":"system_reset is not possible while replaying a recording"}} []',
    'replay-break {"icount":"brk2"} -> {"return":{}} []',
    'replay-delete-break  -> {"return":{}} []',
    'cont  -> {"return":{}} [RESUME]',
    'stop  -> {"return":{}} [STOP]',
    'query-status  -> {"return":{"status":"paused","singlestep":false,"running":false}} []',
    'stop  -> {"return":{}} []',
    'cont  -> {"return":{}} [RESUME]',
    'until STOP: [STOP]',
    'query-replay  -> {"return":{"icount":"end","mode":"play","filename":"FILE"}} []',
    'query-status  -> {"return":{"status":"paused","singlestep":false,"running":false}} []',
    'replay-seek {"icount":"0"} -> {"return":{}} [RESUME STOP]',
    `human-monitor-command {"command-line":"info replay"} -> {"return":"Replaying execution 'FILE': instruction count = 0\\r\\n"} []`,
    'human-monitor-command {"command-line":"replay_break 0x10"} -> {"return":""} []',
    'replay-delete-break  -> {"return":{}} []',
  ]);
});

test(
  "replay-break at the current icount is accepted, as QEMU does (icount >= current)",
  {
    timeout: 30_000,
  },
  async () => {
    const r = await replayRig();
    try {
      const c = r.client;
      await c.cmd("replay-seek", { icount: 1000 });
      assert.deepEqual((await c.cmd("replay-break", { icount: 1000 })).reply, { return: {}, id: "t2" });
      const hmp = await c.cmd("human-monitor-command", { "command-line": "replay_break 1000" });
      assert.equal(hmp.reply.return, "");
    } finally {
      await r.done();
    }
  },
);

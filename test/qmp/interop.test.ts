// The same QMP conversation with real QEMU 7.2 (the reference) and with Rewind's server over a fake session in
// the same state (prelaunch, no record/replay): every message must have the same shape (members, their order,
// value types), errors the same class and text, events the same names and data.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { missingTool } from "../helpers/tools.js";
import { attachQmp } from "../../src/qmp/server.js";
import { FakeSession } from "./fake-session.js";
import { QmpTestClient, removeTmpdirs, sleep, tmpdir, unixChardev, type Msg } from "./qmp-client.js";

after(removeTmpdirs);

interface Step {
  send: string;
  /** Compare replies by shape only (versions, thread ids, timestamps differ between the two). */
  shapeOnly?: boolean;
}

const STEPS: Step[] = [
  // Before negotiation.
  { send: '{"execute": "query-status", "id": 1}' },
  { send: '{"execute": "no-such-command", "id": 2}' },
  { send: '{"execute": "qmp_capabilities", "arguments": {"enable": ["foo"]}, "id": 3}' },
  { send: '{"exec-oob": "query-status", "id": 4}' },
  { send: '{"execute": "qmp_capabilities", "id": 5}' },
  // Negotiated.
  { send: '{"execute": "qmp_capabilities", "id": 6}' },
  { send: '{"execute": "query-status", "id": 7}' },
  { send: '{"execute": "query-replay", "id": 8}' },
  { send: '{"execute": "foo", "id": 9}' },
  { send: "{bad json}\n" },
  { send: '{"execute": "query-version", "id": 10}', shapeOnly: true },
  { send: "[1, 2]" },
  { send: '{"id": 11}' },
  { send: '{"execute": 5}' },
  { send: '{"execute": "query-status", "arguments": [], "id": 12}' },
  { send: '{"execute": "query-status", "foo": 1, "id": 13}' },
  { send: '{"execute": "query-status", "arguments": {"a": 1}, "id": 14}' },
  { send: '{"execute": "replay-break", "id": 15}' },
  { send: '{"execute": "replay-break", "arguments": {"icount": "x"}, "id": 16}' },
  { send: '{"execute": "replay-break", "arguments": {"icount": 5}, "id": 17}' },
  { send: '{"execute": "replay-delete-break", "id": 18}' },
  { send: '{"execute": "replay-seek", "arguments": {"icount": 5}, "id": 19}' },
  { send: '{"execute": "query-name", "id": 20}' },
  { send: '{"execute": "query-target", "id": 21}' },
  { send: '{"execute": "query-kvm", "id": 22}' },
  { send: '{"execute": "query-cpus-fast", "id": 23}', shapeOnly: true },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "info status"}, "id": 24}' },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "info replay"}, "id": 25}' },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "foo bar"}, "id": 26}' },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "replay_break abc"}, "id": 27}' },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "help replay_break"}, "id": 28}' },
  { send: '{"execute": "human-monitor-command", "arguments": {"command-line": "info name"}, "id": 29}' },
  { send: '{"execute": "query-kvm", "id": {"b": 1, "a": [1.5, null, "\\u00e9"], "return": 0.1}}' },
  { send: '{"execute": "stop", "id": 30}' },
  { send: '{"execute": "cont", "id": 31}', shapeOnly: true },
  { send: '{"execute": "query-status", "id": 32}' },
  { send: '{"execute": "stop", "id": 33}', shapeOnly: true },
  { send: '{"execute": "query-status", "id": 34}' },
  { send: '{"execute": "system_reset", "id": 35}', shapeOnly: true },
  { send: "\"\\u00zz\" 01 @\n" },
];

/** Members in order with their value types (what "same shape" means). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === "object") return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return v === null ? "null" : typeof v;
}

/** Runs the conversation; returns, per step, the messages it produced (events and replies). */
async function converse(where: { path: string }): Promise<{ greeting: Msg; steps: Msg[][]; quit: Msg[]; closed: boolean }> {
  const c = await QmpTestClient.connect(where);
  try {
    const greeting = await c.next();
    const steps: Msg[][] = [];
    for (const [i, step] of STEPS.entries()) {
      c.send(step.send);
      // A marker after each step: everything before its reply belongs to the step.
      const sync = `sync-${i}`;
      c.send(`{"execute": "query-kvm", "id": "${sync}"}`);
      const got = await c.until((m) => m.id === sync && !m.event);
      steps.push(got.slice(0, -1));
    }
    c.send('{"execute": "quit", "id": "bye"}');
    const quit = await c.until((m) => m.id === "bye");
    let closed = true;
    try {
      await c.eof(5000);
    } catch {
      closed = false;
    }
    return { greeting, steps, quit, closed };
  } finally {
    c.close();
  }
}

function withoutTimestamps(m: Msg): Msg {
  if (!m.event) return m;
  const { timestamp: _t, ...rest } = m;
  return rest;
}

test("a QMP conversation with QEMU 7.2 and with Rewind: same shapes, errors and events", { skip: missingTool("qemu-system-aarch64") }, async () => {
  const dir = tmpdir();
  const qemuSock = path.join(dir, "qemu.sock");
  const qemu = spawn(
    "qemu-system-aarch64",
    ["-M", "virt", "-display", "none", "-S", "-nodefaults", "-name", "interop", "-qmp", `unix:${qemuSock},server=on,wait=off`],
    { stdio: "ignore" },
  );
  const session = new FakeSession({ arch: "aarch64", runState: "prelaunch", mode: "none", icount: 0 });
  const ours = await unixChardev("rewind");
  const monitor = attachQmp(ours.backend, session, { name: "interop", log: () => {} });
  try {
    for (let i = 0; i < 3000 && !fs.existsSync(qemuSock); i++) await sleep(10); // QEMU may start slowly while other tests load both cores
    assert.ok(fs.existsSync(qemuSock), "QEMU did not create its QMP socket");
    const reference = await converse({ path: qemuSock });
    const rewind = await converse(ours.where as { path: string });

    assert.deepEqual(shape(rewind.greeting), shape(reference.greeting), "greeting");
    for (const [i, step] of STEPS.entries()) {
      const theirs = reference.steps[i]!;
      const mine = rewind.steps[i]!;
      const what = `step ${i}: ${step.send}`;
      assert.deepEqual(mine.map(shape), theirs.map(shape), `${what}\n QEMU:   ${JSON.stringify(theirs)}\n Rewind: ${JSON.stringify(mine)}`);
      assert.deepEqual(mine.map(withoutTimestamps).map((m: Msg) => m.event ?? m.error ?? (step.shapeOnly ? "return" : m.return)), theirs.map(withoutTimestamps).map((m: Msg) => m.event ?? m.error ?? (step.shapeOnly ? "return" : m.return)), what);
      assert.deepEqual(mine.map((m: Msg) => m.id), theirs.map((m: Msg) => m.id), `${what}: ids`);
    }
    // quit: SHUTDOWN, the reply, then the connection closes.
    assert.deepEqual(rewind.quit.map(withoutTimestamps), reference.quit.map(withoutTimestamps));
    assert.equal(rewind.closed, reference.closed);
    assert.ok(reference.closed);
  } finally {
    monitor.detach();
    session.pause();
    await ours.backend.close();
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
  }
});

// The recorder as a user meets it when things go wrong: killed (SIGKILL), interrupted (Ctrl-C, SIGINT), or its
// file damaged afterwards. Each case is driven by what the processes print, never by how long they take.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RecordingReader } from "../../src/replay/format-reader.js";
import { RecordingError } from "../../src/replay/format-types.js";
import { missingTool } from "../helpers/tools.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "bin/rewind-system-aarch64.js");
const REWIND = join(ROOT, "bin/rewind.js");
const guest = (name: string) => join(ROOT, "guests/aarch64", name);
const machine = (name: string) => ["-M", "virt", "-cpu", "cortex-a53", "-nographic", "-kernel", guest(name)];
const record = (file: string) => ["-icount", `shift=7,rr=record,rrfile=${file}`];
const replay = (file: string) => ["-icount", `shift=7,rr=replay,rrfile=${file}`];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function runSync(args: string[], input = "", bin = BIN) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: "latin1", timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once `test` holds (polled); fails the test with the output so far if it never does. */
  until(what: string, test: () => boolean): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(command: string, args: string[]): Running {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
  child.stderr.on("data", (d: Buffer) => (err += d.toString("latin1")));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    async until(what, test) {
      // The bound only turns a hang into a failure with a message; nothing depends on how fast things are.
      for (let i = 0; i < 6000; i++) {
        if (test()) return;
        if (child.exitCode !== null || child.signalCode !== null) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (test()) return;
      child.kill("SIGKILL");
      assert.fail(`never saw ${what}; stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`);
    },
  };
}

const temps = (dir: string, name: string) => readdirSync(dir).filter((f) => f.startsWith(`${name}.tmp-`));

/** What the partial recording in `path` holds so far (undefined while it holds nothing readable). */
function eventsIn(path: string): number | undefined {
  try {
    return RecordingReader.open(path).events.length;
  } catch (e) {
    if (e instanceof RecordingError) return undefined;
    throw e;
  }
}

test("a recorder killed with SIGKILL: replaying the name it was given finds its partial recording and says so", async () => {
  const dir = tempDir("rewind-kill-");
  const file = join(dir, "echo.rwr");
  const rec = start(process.execPath, [BIN, ...machine("echo.elf"), ...record(file)]);
  await rec.until("the guest's prompt", () => rec.stdout().includes("> "));
  rec.child.stdin.write("hello\n");
  await rec.until("the echoed line", () => rec.stdout().includes("1: HELLO"));
  // The guest now idles; the six input bytes reach the file without any further activity.
  await rec.until("the inputs on disk", () => temps(dir, "echo.rwr").some((t) => (eventsIn(join(dir, t)) ?? 0) >= 6));
  rec.child.kill("SIGKILL");
  assert.equal((await rec.exit).signal, "SIGKILL");

  const [temp, ...more] = temps(dir, "echo.rwr");
  assert.equal(more.length, 0);
  assert.equal(existsSync(file), false, "the name is only ever given to a finished recording");
  const notice = new RegExp(`'${escape(file)}' does not exist; replaying '${escape(join(dir, temp))}' instead: a partial ` +
    "recording \\(its recorder \\(process \\d+\\) did not finish\\), up to its last whole chunk\\n");

  const r = runSync([...machine("echo.elf"), ...replay(file)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, notice);
  assert.match(r.stderr, /warning: .* is incomplete: .*The recording was interrupted; it replays up to icount \d+ \(6 events/);
  assert.match(r.stderr, /replayed up to icount \d+: the recording ends there \(its writer was interrupted\)/);
  assert.match(r.stdout, /1: HELLO/, "the inputs of the partial recording were replayed");
  assert.ok(rec.stdout().startsWith(r.stdout), "the replay shows what the recorder showed");

  // The friendly front door finds it the same way.
  const f = runSync(["replay", file], "", REWIND);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stderr, notice);
  assert.match(f.stdout, /1: HELLO/);
});

test("SIGINT while recording finishes the recording under its name, as SIGTERM does", async () => {
  const dir = tempDir("rewind-sigint-");
  const file = join(dir, "compute.rwr");
  // compute-long (~1e9 instructions): the guest is far from done when the signal comes, at any engine speed.
  const rec = start(process.execPath, [BIN, ...machine("compute-long.elf"), ...record(file)]);
  // Mid-computation: the first progress line of 610 rounds.
  await rec.until("the first progress line", () => rec.stdout().includes("round 61/610"));
  rec.child.kill("SIGINT");
  const end = await rec.exit;
  assert.deepEqual(end, { code: 0, signal: null }, rec.stderr());
  assert.match(rec.stderr(), /^rewind-system-aarch64: terminating on signal 2$/m);
  assert.doesNotMatch(rec.stdout(), /checksum:/, "stopped before the guest finished");
  assert.deepEqual(temps(dir, "compute.rwr"), [], "no temporary file is left");
  const r = RecordingReader.open(file);
  assert.equal(r.truncated, false);
  assert.equal(r.trailer?.endReason, "signal");
  assert.ok(r.trailer!.finalIcount > 0);

  const rep = runSync([...machine("compute-long.elf"), ...replay(file)]);
  assert.equal(rep.status, 0, rep.stderr);
  assert.equal(rep.stderr, "", "a finished recording replays without notices");
  assert.equal(rep.stdout, rec.stdout(), "the replay ends where the recording was stopped");
});

test("Ctrl-C typed on the terminal while recording finishes the recording", { skip: missingTool("script") }, async () => {
  const dir = tempDir("rewind-ctrlc-");
  const file = join(dir, "echo.rwr");
  // -serial stdio on a terminal keeps Ctrl-C a signal for Rewind (as QEMU's stdio chardev does).
  const argv = [process.execPath, BIN, "-M", "virt", "-display", "none", "-serial", "stdio", "-kernel", guest("echo.elf"), ...record(file)];
  const command = `${argv.map((a) => `'${a}'`).join(" ")}; echo "STATUS=$?"`;
  const rec = start("script", ["-q", "-e", "-c", command, "/dev/null"]);
  await rec.until("the guest's prompt", () => rec.stdout().includes("> "));
  rec.child.stdin.write("hi\r");
  await rec.until("the echoed line", () => rec.stdout().includes("1: HI"));
  rec.child.stdin.write("\x03");
  await rec.until("the recorder's exit", () => /STATUS=\d+/.test(rec.stdout()));
  assert.match(rec.stdout(), /terminating on signal 2/);
  assert.match(rec.stdout(), /STATUS=0/);
  rec.child.stdin.end();
  await rec.exit;
  assert.deepEqual(temps(dir, "echo.rwr"), []);
  const r = RecordingReader.open(file);
  assert.equal(r.trailer?.endReason, "signal");
  assert.equal(Buffer.from(r.events.flatMap((e) => [...e.payload])).toString("latin1"), "hi\r");
});

test("a flipped bit in the trailer is reported as damage at its offset, and the run fails; a cut-off file does not", () => {
  const dir = tempDir("rewind-flip-");
  const file = join(dir, "echo.rwr");
  const args = ["-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "stdio", "-kernel", guest("echo.elf")];
  const rec = runSync([...args, ...record(file)], "one\ntwo\nquit\n");
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stdout, /2: TWO/);

  const bytes = readFileSync(file);
  const trailer = RecordingReader.open(file).chunks.at(-1)!;
  assert.equal(trailer.type, 3);
  const at = trailer.offset + 7;
  const flipped = Uint8Array.from(bytes);
  flipped[at] ^= 0x10;
  const damaged = join(dir, "damaged.rwr");
  writeFileSync(damaged, flipped);
  const r = runSync([...args, ...replay(damaged)]);
  assert.equal(r.status, 1, "a damaged recording is a failed run");
  assert.match(r.stderr, new RegExp(`warning: '${escape(damaged)}' is damaged at byte offset ${at}: its last chunk, at byte ` +
    `offset ${trailer.offset} \\(the trailer, ${trailer.size} bytes\\), is all there but fails its checksum \\(one flipped bit\\)\\. ` +
    "This is damage, not an interrupted recording"));
  assert.match(r.stderr, new RegExp(`replay stopped at icount \\d+: '${escape(damaged)}' is damaged at byte offset ${at}`));
  assert.doesNotMatch(r.stderr, /interrupted\)/);
  assert.match(r.stdout, /2: TWO/, "what comes before the damage is replayed");
  assert.ok(rec.stdout.startsWith(r.stdout));

  // The same recording cut off before its trailer (a killed recorder) is an interruption: status 0.
  const cut = join(dir, "cut.rwr");
  writeFileSync(cut, bytes.subarray(0, trailer.offset + 3));
  const c = runSync([...args, ...replay(cut)]);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stderr, /is incomplete: it ends inside a chunk header .*The recording was interrupted/);
  assert.match(c.stderr, /replayed up to icount \d+: the recording ends there \(its writer was interrupted\)/);
  assert.doesNotMatch(c.stderr, /damaged/);
});

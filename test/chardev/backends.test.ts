import { after, test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import net from "node:net";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  ChardevError,
  ChardevSet,
  InputPort,
  openChardev,
  type CharBackend,
  type CharEvent,
} from "../../src/chardev/index.js";
import { parseQemuArgs, type MachineOptions } from "../../src/cli/qemu-options.js";
import { missingTool } from "../helpers/tools.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = () => new Promise<void>((r) => setImmediate(r));

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-chardev-"));
  made.push(d);
  return d;
}

function options(cmdline: string[]): MachineOptions {
  const r = parseQemuArgs(cmdline);
  assert.equal(r.kind, "run");
  return (r as { options: MachineOptions }).options;
}

/** Collects what a backend hands over. */
function collect(b: CharBackend): { data: () => string; events: CharEvent[] } {
  const chunks: Uint8Array[] = [];
  const events: CharEvent[] = [];
  b.setReceiver((d) => chunks.push(d), (e) => events.push(e));
  return { data: () => chunks.map(dec).join(""), events };
}

describe("InputPort", () => {
  test("queues until a receiver is attached, then delivers in order on a later turn", async () => {
    const port = new InputPort();
    port.event("opened");
    port.push(enc("ab"));
    const buf = enc("cd");
    port.push(buf);
    buf[0] = 0x7a; // the port copied the bytes
    const got: string[] = [];
    port.attach((d) => got.push(dec(d)), (e) => got.push(`<${e}>`));
    assert.deepEqual(got, [], "never delivers from inside attach");
    await tick();
    assert.deepEqual(got, ["<opened>", "ab", "cd"]);
    port.push(enc("e")); // with nothing queued, delivery is immediate
    assert.deepEqual(got.at(-1), "e");
  });

  test("pause holds data (and later events) and throttles the source", async () => {
    const calls: string[] = [];
    const port = new InputPort({ pause: () => calls.push("pause"), resume: () => calls.push("resume") }, 4);
    const got: string[] = [];
    port.attach((d) => got.push(dec(d)), (e) => got.push(`<${e}>`));
    await tick();
    port.event("opened");
    assert.deepEqual(got, ["<opened>"], "delivered at once when nothing waits ahead");
    port.pause();
    assert.deepEqual(calls, ["pause"]);
    port.push(enc("12"));
    port.event("closed");
    await tick();
    assert.deepEqual(got, ["<opened>"]);
    port.resume();
    await tick();
    assert.deepEqual(got, ["<opened>", "12", "<closed>"]);
    assert.deepEqual(calls, ["pause", "resume"]);
  });

  test("without a consumer the source pauses above the high-water mark", async () => {
    const calls: string[] = [];
    const port = new InputPort({ pause: () => calls.push("pause"), resume: () => calls.push("resume") }, 4);
    port.push(enc("123"));
    assert.deepEqual(calls, []);
    port.push(enc("45"));
    assert.deepEqual(calls, ["pause"]);
    const got: string[] = [];
    port.attach((d) => got.push(dec(d)));
    await tick();
    assert.deepEqual(got, ["123", "45"]);
    assert.deepEqual(calls, ["pause", "resume"]);
  });

  test("a new consumer learns the current state, not the history", async () => {
    const port = new InputPort();
    port.attach(() => {}, () => {});
    port.event("opened");
    port.attach(null);
    port.event("closed");
    port.event("opened");
    const events: CharEvent[] = [];
    port.attach(() => {}, (e) => events.push(e));
    await tick();
    assert.deepEqual(events, ["opened"]);
  });
});

describe("null and file backends", () => {
  test("null discards output and receives nothing", async () => {
    const b = await openChardev({ backend: "null", id: "n", mux: false, logappend: false });
    const c = collect(b);
    b.write(enc("dropped"));
    await tick();
    assert.equal(c.data(), "");
    assert.deepEqual(c.events, ["opened"]);
    assert.equal(b.connected, true);
    assert.equal(b.describe(), "null");
    await b.close();
    await b.close(); // idempotent
  });

  test("file writes bytes, truncates by default (as QEMU), appends with append=on, honours the umask", async () => {
    const dir = tmpdir();
    const file = path.join(dir, "serial.log");
    fs.writeFileSync(file, "old contents\n");
    const b = await openChardev({ backend: "file", id: "f", mux: false, logappend: false, path: file, append: false });
    assert.equal(fs.readFileSync(file, "utf8"), "", "truncated at open");
    b.write(enc("hello "));
    b.write(new Uint8Array([0x00, 0xff, 0x0a]));
    // synchronous: the bytes are in the file before close
    assert.deepEqual([...fs.readFileSync(file)], [...enc("hello "), 0x00, 0xff, 0x0a]);
    await b.close();
    b.write(enc("after close"));
    const a = await openChardev({ backend: "file", id: "f", mux: false, logappend: false, path: file, append: true });
    a.write(enc("more"));
    await a.close();
    assert.deepEqual([...fs.readFileSync(file)], [...enc("hello "), 0x00, 0xff, 0x0a, ...enc("more")]);

    const created = path.join(dir, "new.log");
    const n = await openChardev({ backend: "file", id: "f", mux: false, logappend: false, path: created, append: false });
    await n.close();
    const umask = process.umask();
    assert.equal(fs.statSync(created).mode & 0o777, 0o666 & ~umask);
  });

  test("file input-path is received as input", async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, "in.txt"), "typed input");
    const b = await openChardev({
      backend: "file", id: "f", mux: false, logappend: false, path: path.join(dir, "out"), append: false, inputPath: path.join(dir, "in.txt"),
    });
    const c = collect(b);
    for (let i = 0; i < 50 && !c.events.includes("closed"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.data(), "typed input");
    assert.deepEqual(c.events, ["opened", "closed"]);
    await b.close();
  });

  test("open failures use QEMU's wording", async () => {
    await assert.rejects(
      openChardev({ backend: "file", id: "f", mux: false, logappend: false, path: "/nonexistent-dir/x.log", append: false }),
      (e: unknown) => e instanceof ChardevError && e.message === "Could not open '/nonexistent-dir/x.log': No such file or directory",
    );
    const dir = tmpdir();
    await assert.rejects(
      openChardev({ backend: "file", id: "f", mux: false, logappend: false, path: dir, append: false }),
      (e: unknown) => e instanceof ChardevError && e.message === `Could not open '${dir}': Is a directory`,
    );
  });

  test("logfile= keeps a copy of the output, truncated unless logappend=on", async () => {
    const dir = tmpdir();
    const log = path.join(dir, "copy.log");
    fs.writeFileSync(log, "stale");
    const out = path.join(dir, "out.log");
    const b = await openChardev({ backend: "file", id: "f", mux: false, logfile: log, logappend: false, path: out, append: false });
    b.write(enc("abc"));
    await b.close();
    assert.equal(fs.readFileSync(out, "utf8"), "abc");
    assert.equal(fs.readFileSync(log, "utf8"), "abc");
    const nb = await openChardev({ backend: "null", id: "n", mux: false, logfile: log, logappend: true });
    nb.write(enc("def"));
    await nb.close();
    assert.equal(fs.readFileSync(log, "utf8"), "abcdef");
  });
});

describe("ChardevSet", () => {
  test("opens the parsed chardevs and hands each to one front end", async () => {
    const dir = tmpdir();
    const o = options(["-chardev", `file,id=ser0,path=${path.join(dir, "s.log")}`, "-serial", "chardev:ser0", "-nodefaults"]);
    const set = await ChardevSet.open(o.chardevs);
    const serial = set.frontend(o.serials[0]!, "serial0");
    serial.write(enc("boot\n"));
    assert.throws(() => set.frontend("ser0", "monitor"), (e: unknown) => e instanceof ChardevError && /already in use by serial0/.test(e.message));
    assert.throws(() => set.frontend("nope", "x"), (e: unknown) => e instanceof ChardevError && e.message === "chardev 'nope' not found");
    await set.closeAll();
    assert.equal(fs.readFileSync(path.join(dir, "s.log"), "utf8"), "boot\n");
  });

  test("a failure closes what was already opened and names the chardev", async () => {
    const dir = tmpdir();
    const sock = path.join(dir, "ok.sock");
    const o = options([
      "-chardev", `socket,id=good,path=${sock},server=on,wait=off`,
      "-chardev", "file,id=bad,path=/nonexistent-dir/x",
      "-nodefaults",
    ]);
    await assert.rejects(ChardevSet.open(o.chardevs), (e: unknown) =>
      e instanceof ChardevError && e.message === "chardev 'bad': Could not open '/nonexistent-dir/x': No such file or directory");
    assert.equal(fs.existsSync(sock), false, "the socket opened first was closed and removed");
  });
});

describe("pipe backend", () => {
  test("reads path.in and writes path.out", { skip: missingTool("mkfifo") }, async () => {
    const dir = tmpdir();
    const base = path.join(dir, "p");
    assert.equal(spawnSync("mkfifo", [`${base}.in`, `${base}.out`]).status, 0);
    const b = await openChardev({ backend: "pipe", id: "p", mux: false, logappend: false, path: base });
    const c = collect(b);
    // the other end: write into .in, read from .out (read-write opens never block on a FIFO)
    const inFd = fs.openSync(`${base}.in`, "r+");
    fs.writeSync(inFd, "to guest");
    const reader = new net.Socket({ fd: fs.openSync(`${base}.out`, "r+"), readable: true, writable: false });
    let fromGuest = "";
    reader.on("data", (d: Buffer) => (fromGuest += d.toString()));
    b.write(enc("from guest"));
    for (let i = 0; i < 200 && (c.data() !== "to guest" || fromGuest !== "from guest"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.data(), "to guest");
    assert.equal(fromGuest, "from guest");
    reader.destroy();
    fs.closeSync(inFd);
    await b.close();
  });

  test("refuses something that is not a FIFO", async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, "plain"), "");
    await assert.rejects(
      openChardev({ backend: "pipe", id: "p", mux: false, logappend: false, path: path.join(dir, "plain") }),
      (e: unknown) => e instanceof ChardevError && /is not a named pipe/.test(e.message),
    );
    await assert.rejects(
      openChardev({ backend: "pipe", id: "p", mux: false, logappend: false, path: path.join(dir, "missing") }),
      (e: unknown) => e instanceof ChardevError && /No such file or directory/.test(e.message),
    );
  });
});

import { after, test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { ChardevError, openChardev, SocketBackend, type CharBackend, type CharEvent } from "../../src/chardev/index.js";
import type { SocketChardevSpec } from "../../src/chardev/spec.js";
import { parseQemuArgs, type MachineOptions } from "../../src/cli/qemu-options.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-sock-"));
  made.push(d);
  return d;
}

function spec(address: SocketChardevSpec["address"], server = true, wait = false): SocketChardevSpec {
  return { backend: "socket", id: "s", mux: false, logappend: false, address, server, wait, nodelay: false };
}

function collect(b: CharBackend): { data: () => string; events: CharEvent[] } {
  const chunks: Uint8Array[] = [];
  const events: CharEvent[] = [];
  b.setReceiver((d) => chunks.push(d), (e) => events.push(e));
  return { data: () => chunks.map(dec).join(""), events };
}

/** A real client; collects what it receives. */
async function client(opts: net.NetConnectOpts): Promise<{ sock: net.Socket; got: () => string; closed: () => boolean }> {
  const sock = net.connect(opts);
  let got = "";
  let closed = false;
  sock.on("data", (d) => (got += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  return { sock, got: () => got, closed: () => closed };
}

function tcpPort(b: CharBackend): number {
  return ((b as SocketBackend).localAddress() as { port: number }).port;
}

describe("TCP server", () => {
  test("the parsed -serial tcp::0 listens on 127.0.0.1 only", async () => {
    const r = parseQemuArgs(["-serial", "tcp::0,server=on,wait=off"]);
    const o = (r as { options: MachineOptions }).options;
    const b = await openChardev(o.chardevs[0]!);
    const addr = (b as SocketBackend).localAddress() as { host: string; port: number };
    assert.equal(addr.host, "127.0.0.1");
    assert.ok(addr.port > 0);
    assert.match(b.describe(), /^disconnected:tcp:127\.0\.0\.1:\d+,server=on$/);
    await b.close();
  });

  test("receives and sends bytes with a real client; events on connect and disconnect", async () => {
    const b = await openChardev(spec({ type: "inet", host: "127.0.0.1", port: 0 }));
    const c = collect(b);
    assert.equal(b.connected, false);
    b.write(enc("nobody listens")); // dropped, as QEMU
    const cl = await client({ host: "127.0.0.1", port: tcpPort(b) });
    await until(() => c.events.includes("opened"), "opened");
    assert.equal(b.connected, true);
    assert.match(b.describe(), /^tcp:127\.0\.0\.1:\d+,server=on <-> 127\.0\.0\.1:\d+$/);
    cl.sock.write(Buffer.from([0x00, 0x41, 0xff, 0x0d]));
    await until(() => c.data().length === 4, "client bytes");
    assert.deepEqual([...enc(c.data())].slice(0, 2), [0x00, 0x41]);
    b.write(enc("hello from the guest\r\n"));
    await until(() => cl.got() === "hello from the guest\r\n", "guest bytes at the client");
    cl.sock.end();
    await until(() => c.events.includes("closed"), "closed");
    assert.deepEqual(c.events, ["opened", "closed"]);
    assert.equal(b.connected, false);
    await b.close();
  });

  test("one client at a time; the next one takes over when the first leaves", async () => {
    const b = await openChardev(spec({ type: "inet", host: "127.0.0.1", port: 0 }));
    const c = collect(b);
    const port = tcpPort(b);
    const first = await client({ host: "127.0.0.1", port });
    await until(() => c.events.length === 1, "first opened");
    const second = await client({ host: "127.0.0.1", port });
    second.sock.write("early");
    await sleep(50);
    assert.equal(c.data(), "", "the waiting client is not read yet");
    b.write(enc("to first"));
    await until(() => first.got() === "to first", "first gets output");
    assert.equal(second.got(), "");
    first.sock.destroy();
    await until(() => c.data() === "early", "second client's bytes after takeover");
    assert.deepEqual(c.events, ["opened", "closed", "opened"]);
    b.write(enc("to second"));
    await until(() => second.got() === "to second", "second gets output");
    await b.close();
    await until(() => second.closed(), "client closed by close()");
  });

  test("wait=on holds open until the first client connects", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const messages: string[] = [];
    let opened = false;
    const opening = openChardev(spec({ type: "inet", host: "127.0.0.1", port }, true, true), { info: (m) => messages.push(m) }).then((b) => {
      opened = true;
      return b;
    });
    await sleep(50);
    assert.equal(opened, false);
    assert.deepEqual(messages, [`waiting for connection on: disconnected:tcp:127.0.0.1:${port},server=on`]);
    const cl = await client({ host: "127.0.0.1", port });
    const b = await opening;
    assert.equal(b.connected, true);
    cl.sock.destroy();
    await b.close();
  });

  test("a port in use is reported", async () => {
    const a = await openChardev(spec({ type: "inet", host: "127.0.0.1", port: 0 }));
    const port = tcpPort(a);
    await assert.rejects(openChardev(spec({ type: "inet", host: "127.0.0.1", port })), (e: unknown) =>
      e instanceof ChardevError && e.message === `Failed to bind socket to '127.0.0.1:${port}': Address already in use`);
    await a.close();
  });
});

describe("TCP client", () => {
  test("connects, exchanges bytes, reports refusal", async () => {
    let peer: net.Socket | undefined;
    let got = "";
    const server = net.createServer((s) => {
      peer = s;
      s.on("data", (d) => (got += d.toString()));
      s.write("welcome");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    const b = await openChardev(spec({ type: "inet", host: "127.0.0.1", port }, false));
    const c = collect(b);
    await until(() => c.data() === "welcome", "server bytes");
    b.write(enc("hi"));
    await until(() => got === "hi", "client bytes");
    peer!.destroy();
    await until(() => c.events.includes("closed"), "closed");
    await b.close();
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(openChardev(spec({ type: "inet", host: "127.0.0.1", port }, false)), (e: unknown) =>
      e instanceof ChardevError && e.message === `Failed to connect to '127.0.0.1:${port}': Connection refused`);
  });
});

describe("unix socket server", () => {
  test("receives and sends bytes; the socket file follows the umask and goes away on close", async () => {
    const dir = tmpdir();
    const p = path.join(dir, "qmp.sock");
    const b = await openChardev(spec({ type: "unix", path: p }));
    const st = fs.statSync(p);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o777 & ~process.umask());
    const c = collect(b);
    const cl = await client({ path: p });
    cl.sock.write("{\"execute\":\"qmp_capabilities\"}\n");
    await until(() => c.data() === "{\"execute\":\"qmp_capabilities\"}\n", "bytes from the unix client");
    b.write(enc("{\"return\": {}}\r\n"));
    await until(() => cl.got() === "{\"return\": {}}\r\n", "bytes at the unix client");
    assert.deepEqual(c.events, ["opened"]);
    await b.close();
    assert.equal(fs.existsSync(p), false);
    await until(() => cl.closed(), "client closed");
  });

  test("never replaces a path that exists and is not a socket", async () => {
    const dir = tmpdir();
    const p = path.join(dir, "precious.txt");
    fs.writeFileSync(p, "do not delete");
    await assert.rejects(openChardev(spec({ type: "unix", path: p })), (e: unknown) =>
      e instanceof ChardevError && e.message === `Failed to bind socket to '${p}': the path exists and is not a socket; refusing to replace it`);
    assert.equal(fs.readFileSync(p, "utf8"), "do not delete");
    const d = path.join(dir, "adir");
    fs.mkdirSync(d);
    await assert.rejects(openChardev(spec({ type: "unix", path: d })), ChardevError);
    assert.ok(fs.statSync(d).isDirectory());
    const link = path.join(dir, "link");
    fs.symlinkSync(p, link);
    await assert.rejects(openChardev(spec({ type: "unix", path: link })), ChardevError);
    assert.equal(fs.readFileSync(p, "utf8"), "do not delete");
  });

  test("replaces a stale socket, refuses one somebody listens on", async () => {
    const dir = tmpdir();
    const p = path.join(dir, "stale.sock");
    // A process that dies without cleaning up leaves a stale socket file behind.
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(p)}, () => console.log("up"))`], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    await new Promise<void>((r) => child.stdout.once("data", () => r()));
    await assert.rejects(openChardev(spec({ type: "unix", path: p })), (e: unknown) =>
      e instanceof ChardevError && /Address already in use/.test(e.message));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.ok(fs.statSync(p).isSocket(), "stale socket left behind");
    const b = await openChardev(spec({ type: "unix", path: p }));
    const cl = await client({ path: p });
    b.write(enc("x"));
    await until(() => cl.got() === "x", "works after replacing the stale socket");
    await b.close();
  });

  test("close leaves a socket file alone that is no longer ours", async () => {
    const dir = tmpdir();
    const p = path.join(dir, "s.sock");
    const b = await openChardev(spec({ type: "unix", path: p }));
    fs.unlinkSync(p);
    fs.writeFileSync(p, "someone else's file");
    await b.close();
    assert.equal(fs.readFileSync(p, "utf8"), "someone else's file");
  });

  test("client mode reports a missing socket in QEMU's words", async () => {
    const p = path.join(tmpdir(), "none.sock");
    await assert.rejects(openChardev(spec({ type: "unix", path: p }, false)), (e: unknown) =>
      e instanceof ChardevError && e.message === `Failed to connect to '${p}': No such file or directory`);
  });
});

describe("server limits (used by the GDB listener)", () => {
  test("maxWaiting: clients beyond the waiting limit are turned away; the rest are served in order", async () => {
    const b = await SocketBackend.open(spec({ type: "inet", host: "127.0.0.1", port: 0 }), { info: () => {} }, { maxWaiting: 1 });
    try {
      const port = tcpPort(b);
      const got = collect(b);
      const first = await client({ host: "127.0.0.1", port });
      await until(() => got.events.includes("opened"), "the first client to be served");
      const second = await client({ host: "127.0.0.1", port });
      const third = await client({ host: "127.0.0.1", port });
      await until(() => third.closed(), "the third client to be turned away");
      assert.equal(second.closed(), false);
      first.sock.destroy();
      await until(() => got.events.filter((e) => e === "opened").length === 2, "the waiting client to be served");
      second.sock.write("hi");
      await until(() => got.data() === "hi", "data from the second client");
      second.sock.destroy();
    } finally {
      await b.close();
    }
  });

  test("disconnect() ends the current client and the next one is served", async () => {
    const b = await SocketBackend.open(spec({ type: "inet", host: "127.0.0.1", port: 0 }), { info: () => {} });
    try {
      const got = collect(b);
      const c = await client({ host: "127.0.0.1", port: tcpPort(b) });
      await until(() => got.events.includes("opened"), "the client to be served");
      b.disconnect();
      await until(() => c.closed(), "the client to be disconnected");
      await until(() => got.events.includes("closed"), "the closed event");
    } finally {
      await b.close();
    }
  });
});

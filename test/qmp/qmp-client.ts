// A small QMP client for the tests: a real socket, the server's CR LF-terminated lines parsed as JSON (kept raw
// too), and helpers that send a command and collect the events that arrive before its reply.

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { openChardev, type CharBackend } from "../../src/chardev/index.js";
import type { SocketBackend } from "../../src/chardev/socket.js";
import type { SocketChardevSpec } from "../../src/chardev/spec.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

export class QmpTestClient {
  readonly raw: string[] = [];
  private buffer = "";
  private readonly messages: Msg[] = [];
  private waiter?: () => void;
  closed = false;
  private nextId = 0;

  private constructor(readonly sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf("\r\n")) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 2);
        this.raw.push(line);
        this.messages.push(JSON.parse(line));
      }
      this.waiter?.();
    });
    sock.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on("error", () => {});
  }

  static async connect(opts: net.NetConnectOpts): Promise<QmpTestClient> {
    const sock = net.connect(opts);
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    return new QmpTestClient(sock);
  }

  /** Connects, reads the greeting and negotiates. */
  static async ready(opts: net.NetConnectOpts): Promise<QmpTestClient> {
    const c = await QmpTestClient.connect(opts);
    const greeting = await c.next();
    if (!greeting.QMP) throw new Error(`no greeting: ${JSON.stringify(greeting)}`);
    const r = await c.cmd("qmp_capabilities");
    if (!r.reply.return) throw new Error(`negotiation failed: ${JSON.stringify(r.reply)}`);
    return c;
  }

  send(data: string | Uint8Array | object): void {
    if (typeof data === "string" || data instanceof Uint8Array) this.sock.write(data);
    else this.sock.write(JSON.stringify(data));
  }

  /** The next message (reply or event). */
  async next(ms = 5000): Promise<Msg> {
    const deadline = Date.now() + ms;
    while (this.messages.length === 0) {
      if (this.closed) throw new Error("connection closed");
      if (Date.now() > deadline) throw new Error("timed out waiting for a QMP message");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
    return this.messages.shift();
  }

  /** Messages until (and including) the first that satisfies `pred`. */
  async until(pred: (m: Msg) => boolean, ms = 5000): Promise<Msg[]> {
    const got: Msg[] = [];
    for (;;) {
      const m = await this.next(ms);
      got.push(m);
      if (pred(m)) return got;
    }
  }

  /** Sends a command with a fresh id; returns its reply and the events that came first. */
  async cmd(execute: string, args?: object, ms = 5000): Promise<{ reply: Msg; events: Msg[] }> {
    const id = `t${this.nextId++}`;
    this.send(args === undefined ? { execute, id } : { execute, arguments: args, id });
    const got = await this.until((m) => m.id === id && !m.event, ms);
    return { reply: got[got.length - 1], events: got.slice(0, -1) };
  }

  /** Resolves once the server has closed the connection. */
  async eof(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the server to close");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  pending(): number {
    return this.messages.length;
  }

  close(): void {
    this.sock.destroy();
  }
}

const dirs: string[] = [];
export function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-qmp-"));
  dirs.push(d);
  return d;
}
export function removeTmpdirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

function socketSpec(id: string, address: SocketChardevSpec["address"]): SocketChardevSpec {
  return { backend: "socket", id, mux: false, logappend: false, address, server: true, wait: false, nodelay: true };
}

/** A listening unix-socket chardev (as `-qmp unix:PATH,server=on,wait=off`) and where to connect. */
export async function unixChardev(id = "qmp"): Promise<{ backend: CharBackend; where: net.NetConnectOpts }> {
  const p = path.join(tmpdir(), `${id}.sock`);
  const backend = await openChardev(socketSpec(id, { type: "unix", path: p }), { info: () => {} });
  return { backend, where: { path: p } };
}

/** A listening TCP chardev on loopback with a kernel-chosen port. */
export async function tcpChardev(id = "qmp"): Promise<{ backend: CharBackend; where: net.NetConnectOpts }> {
  const backend = await openChardev(socketSpec(id, { type: "inet", host: "127.0.0.1", port: 0 }), { info: () => {} });
  const a = (backend as SocketBackend).localAddress() as { host: string; port: number };
  return { backend, where: { host: a.host, port: a.port } };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Where GDB clients come from: a TCP or unix socket listener (`startGdbServer`), or a chardev the CLI already
// opened for `-gdb` (`serveGdbOnChardev`, QEMU's way: its gdbstub runs over a chardev).
//
// Who may connect (DESIGN §5): a debugger port controls the machine and reads all its memory, so `tcp::PORT`
// and `-s` listen on 127.0.0.1 (QEMU listens on every interface); another address only when the user names it.
// Unix sockets get the user's umask; a path that exists and is not a stale socket is never replaced.
//
// One client at a time, as QEMU (whose chardev stops accepting while a client is connected): later
// connections wait, accepted but unread, and are served in order when the current client leaves; more than
// `maxWaiting` waiting are closed at once.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { CharBackend } from "../chardev/backend.js";
import { prepareUnixPath } from "../chardev/socket.js";
import type { DebugSession } from "../session/api.js";
import type { GdbConnection } from "./connection.js";
import { GdbServer, type GdbServerOptions } from "./server.js";

/** A listener address: the chardev layer's SocketAddressSpec shape. */
export type GdbListenAddress = { type: "inet"; host: string; port: number } | { type: "unix"; path: string };

/** A listen spec that cannot be used, or a socket that cannot be bound. The message is for the user. */
export class GdbListenError extends Error {
  override name = "GdbListenError";
}

/** Host for `tcp::PORT` and a bare port: loopback (Rewind; QEMU uses every interface). */
export const DEFAULT_GDB_HOST = "127.0.0.1";

/**
 * Parses a `-gdb` device string naming a listener: `tcp::1234`, `tcp:HOST:1234`, `tcp:[::1]:1234`, `1234`,
 * `unix:PATH`. QEMU's socket sub-options that make sense for a GDB listener (server=on, wait=off, nodelay,
 * ipv4, ipv6) are accepted and have no effect; anything else is refused by name.
 */
export function parseGdbListenSpec(text: string): GdbListenAddress {
  const [main = "", ...opts] = text.split(",");
  for (const opt of opts) {
    const [key = "", value = "on"] = opt.split("=", 2);
    const ok = ["server", "wait", "nodelay", "ipv4", "ipv6", "delay"].includes(key);
    if (!ok) throw new GdbListenError(`-gdb ${text}: unsupported option '${key}'`);
    if (key === "server" && !["on", "yes", "true", "y"].includes(value)) {
      throw new GdbListenError(`-gdb ${text}: the GDB server only listens (server=on)`);
    }
    if (key === "wait" && ["on", "yes", "true", "y"].includes(value)) {
      throw new GdbListenError(`-gdb ${text}: wait=on is not supported (start paused with -S instead)`);
    }
  }
  if (/^[0-9]+$/.test(main)) return { type: "inet", host: DEFAULT_GDB_HOST, port: parsePort(main, text) };
  if (main.startsWith("unix:")) {
    const p = main.slice(5);
    if (p === "") throw new GdbListenError(`-gdb ${text}: the unix socket path is empty`);
    return { type: "unix", path: p };
  }
  if (main.startsWith("tcp:")) {
    const rest = main.slice(4);
    const m = /^(?:\[([^\]]*)\]|([^:]*)):([^:]*)$/.exec(rest);
    if (!m) throw new GdbListenError(`-gdb ${text}: expected tcp:[HOST]:PORT`);
    const host = m[1] ?? m[2] ?? "";
    return { type: "inet", host: host === "" ? DEFAULT_GDB_HOST : host, port: parsePort(m[3]!, text) };
  }
  throw new GdbListenError(`-gdb ${text}: expected tcp:[HOST]:PORT, unix:PATH or a port number`);
}

function parsePort(s: string, text: string): number {
  if (!/^[0-9]+$/.test(s) || Number(s) > 65535) throw new GdbListenError(`-gdb ${text}: bad port '${s}'`);
  return Number(s);
}

export interface GdbListenOptions extends GdbServerOptions {
  /** Connections that may wait for the current client to leave. Default 8. */
  maxWaiting?: number;
}

/** A running GDB server. */
export interface GdbServerHandle {
  readonly server: GdbServer;
  /** Where it listens: the bound TCP address (the real port when 0 was asked) or the socket path. */
  readonly address: { host: string; port: number } | { path: string };
  /** "tcp:127.0.0.1:1234" or "unix:/path". */
  describe(): string;
  /** Stops listening, disconnects every client, removes the socket file if it is still ours. */
  close(): Promise<void>;
}

/** Starts a GDB server for `session` listening on `spec` (a `-gdb` string or an address). */
export async function startGdbServer(
  session: DebugSession,
  spec: string | GdbListenAddress,
  options: GdbListenOptions = {},
): Promise<GdbServerHandle> {
  const address = typeof spec === "string" ? parseGdbListenSpec(spec) : spec;
  const gdb = new GdbServer(session, options);
  const listener = new SocketListener(gdb, address.type === "inet", options.maxWaiting ?? 8, gdb.log);
  try {
    await listener.listen(address);
  } catch (e) {
    gdb.dispose();
    throw e;
  }
  return {
    server: gdb,
    address: listener.boundAddress(),
    describe: () => listener.describe(),
    close: async () => {
      await listener.close();
      gdb.dispose();
    },
  };
}

/**
 * Serves GDB over an opened chardev (the CLI's `-gdb` chardev): each "opened" event is a new client, "closed"
 * its end. The chardev decides who may connect and queues later clients (SocketBackend does, as QEMU).
 */
export function serveGdbOnChardev(
  session: DebugSession,
  backend: CharBackend,
  options: GdbServerOptions = {},
): { server: GdbServer; close(): void } {
  const gdb = new GdbServer(session, options);
  let conn: GdbConnection | undefined;
  const drop = () => {
    const c = conn;
    conn = undefined;
    c?.transportClosed();
  };
  backend.setReceiver(
    (data) => {
      if (!conn || conn.closed) return;
      conn.receive(data);
    },
    (event) => {
      if (event === "opened") {
        drop();
        conn = gdb.attach({ write: (d) => backend.write(d), end: () => undefined });
      } else if (event === "closed") {
        drop();
      }
    },
  );
  return {
    server: gdb,
    close: () => {
      backend.setReceiver(null);
      drop();
      gdb.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

/** Output buffered for a client that does not read beyond which we stop reading its input. */
const OUTPUT_HIGH_WATER = 1 << 20;

class SocketListener {
  private readonly server: net.Server;
  private active: net.Socket | undefined;
  private readonly waiting: net.Socket[] = [];
  private closed = false;
  private ownedPath: { path: string; dev: number; ino: number } | undefined;
  private address: GdbListenAddress | undefined;

  constructor(
    private readonly gdb: GdbServer,
    private readonly tcp: boolean,
    private readonly maxWaiting: number,
    private readonly log: (message: string) => void,
  ) {
    this.server = net.createServer({ pauseOnConnect: true }, (sock) => this.accept(sock));
  }

  async listen(address: GdbListenAddress): Promise<void> {
    this.address = address;
    if (address.type === "inet") {
      try {
        await listenOn(this.server, { host: address.host, port: address.port, exclusive: true });
      } catch (e) {
        throw new GdbListenError(`cannot listen for GDB on ${formatHost(address.host)}:${address.port}: ${errText(e)}`);
      }
    } else {
      await this.listenUnix(address.path);
    }
    this.server.on("error", (e) => this.log(`GDB listener: ${e.message}`));
  }

  /**
   * Binding a unix socket never replaces a file (bind fails on an existing path), but Node unlinks the path
   * of a listening socket on close, whatever is there by then. So the socket is bound under a temporary name
   * and hard-linked to its real name (link never replaces either); closing removes the real name only while it
   * is still this socket.
   */
  private async listenUnix(target: string): Promise<void> {
    try {
      await prepareUnixPath(target); // refuses a non-socket path or a live socket; removes a stale socket
    } catch (e) {
      throw new GdbListenError(`cannot listen for GDB on ${target}: ${errText(e).replace(/^Failed to bind socket to '[^']*': /, "")}`);
    }
    const base = path.basename(target);
    const len = Math.max(6, Math.min(base.length, 16));
    const tmp = path.join(path.dirname(target), "." + randomBytes(len).toString("hex").slice(0, len - 1));
    try {
      await listenOn(this.server, { path: tmp });
    } catch (e) {
      throw new GdbListenError(`cannot listen for GDB on ${target}: ${errText(e)}`);
    }
    try {
      fs.linkSync(tmp, target);
      const st = fs.lstatSync(target);
      this.ownedPath = { path: target, dev: st.dev, ino: st.ino };
    } catch (e) {
      this.server.close();
      throw new GdbListenError(`cannot listen for GDB on ${target}: ${errText(e)}`);
    } finally {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }

  boundAddress(): { host: string; port: number } | { path: string } {
    const a = this.address!;
    if (a.type === "unix") return { path: a.path };
    const info = this.server.address() as net.AddressInfo;
    return { host: info.address, port: info.port };
  }

  describe(): string {
    const a = this.boundAddress();
    return "path" in a ? `unix:${a.path}` : `tcp:${formatHost(a.host)}:${a.port}`;
  }

  private accept(sock: net.Socket): void {
    sock.on("error", () => undefined); // a reset is a disconnect; "close" follows
    if (this.closed) {
      sock.destroy();
      return;
    }
    if (this.active) {
      if (this.waiting.length >= this.maxWaiting) {
        this.log("GDB: too many clients waiting; closing a new connection");
        sock.destroy();
        return;
      }
      this.waiting.push(sock);
      sock.once("close", () => {
        const i = this.waiting.indexOf(sock);
        if (i >= 0) this.waiting.splice(i, 1);
      });
      return;
    }
    this.adopt(sock);
  }

  private adopt(sock: net.Socket): void {
    this.active = sock;
    if (this.tcp) sock.setNoDelay(true);
    let conn: GdbConnection;
    try {
      conn = this.gdb.attach({
        write: (data) => {
          if (sock.destroyed) return;
          sock.write(data);
          if (sock.writableLength > OUTPUT_HIGH_WATER) sock.pause(); // the client does not read: stop reading it
        },
        end: () => {
          sock.end();
          setTimeout(() => sock.destroy(), 1000).unref();
        },
      });
    } catch (e) {
      this.log(`GDB: cannot serve a client: ${errText(e)}`);
      this.active = undefined;
      sock.destroy();
      return;
    }
    sock.on("drain", () => sock.resume());
    sock.on("data", (chunk: Buffer) => conn.receive(chunk));
    sock.once("close", () => {
      conn.transportClosed();
      if (this.active !== sock) return;
      this.active = undefined;
      let next: net.Socket | undefined;
      while ((next = this.waiting.shift()) && next.destroyed);
      if (next && !this.closed) this.adopt(next);
    });
    sock.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.waiting.splice(0)) s.destroy();
    this.active?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownedPath) {
      const { path: p, dev, ino } = this.ownedPath;
      this.ownedPath = undefined;
      try {
        const st = fs.lstatSync(p);
        if (st.isSocket() && st.dev === dev && st.ino === ino) fs.unlinkSync(p);
      } catch {
        // already gone
      }
    }
  }
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(options, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function errText(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "EADDRINUSE") return "Address already in use";
  if (code === "EACCES") return "Permission denied";
  return msg;
}

// Where GDB clients come from: a TCP or unix socket server (`startGdbServer`), or a chardev the CLI already
// opened for `-gdb` (`serveGdbOnChardev`, QEMU's way: its gdbstub runs over a chardev). Both are the same thing
// underneath: `startGdbServer` opens a socket chardev (server=on, wait=off, nodelay) and serves GDB over it.
//
// Who may connect (DESIGN §5): a debugger port controls the machine and reads all its memory, so `tcp::PORT`
// and `-s` listen on 127.0.0.1 (QEMU listens on every interface); another address only when the user names it.
// The socket chardev keeps QEMU's rules: one client at a time (later ones wait, accepted but unread, and are
// served in order), unix sockets get the user's umask, and a path that is not a stale socket is never replaced.

import { ChardevError, type CharBackend } from "../chardev/backend.js";
import { SocketBackend } from "../chardev/socket.js";
import { DEFAULT_TCP_HOST, formatHost, type SocketAddressSpec, type SocketChardevSpec } from "../chardev/spec.js";
import type { DebugSession } from "../session/api.js";
import type { GdbConnection } from "./connection.js";
import { GdbServer, type GdbServerOptions } from "./server.js";

/** A listener address: the chardev layer's socket address. */
export type GdbListenAddress = SocketAddressSpec;

/** A listen spec that cannot be used, or a socket that cannot be bound. The message is for the user. */
export class GdbListenError extends Error {
  override name = "GdbListenError";
}

/** Host for `tcp::PORT` and a bare port: loopback (Rewind; QEMU uses every interface). */
export const DEFAULT_GDB_HOST = DEFAULT_TCP_HOST;

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
  /** Connections that may wait for the current client to leave; more are closed at once. Default 8. */
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
  const backend = await openGdbSocket(address, options.maxWaiting ?? 8, options.log ?? (() => undefined));
  let served: ReturnType<typeof serveGdbOnChardev>;
  try {
    served = serveGdbOnChardev(session, backend, options);
  } catch (e) {
    await backend.close();
    throw e;
  }
  const bound = backend.localAddress();
  return {
    server: served.server,
    address: bound,
    describe: () => ("path" in bound ? `unix:${bound.path}` : `tcp:${formatHost(bound.host)}:${bound.port}`),
    close: async () => {
      served.close();
      await backend.close();
    },
  };
}

/** The socket chardev behind a `-gdb` address; its open failures become GdbListenErrors naming the address. */
async function openGdbSocket(address: GdbListenAddress, maxWaiting: number, log: (m: string) => void): Promise<SocketBackend> {
  const spec: SocketChardevSpec = {
    backend: "socket",
    id: "gdb",
    mux: false,
    logappend: false,
    address,
    server: true,
    wait: false,
    nodelay: true,
  };
  try {
    return await SocketBackend.open(spec, { info: log }, { maxWaiting });
  } catch (e) {
    if (!(e instanceof ChardevError)) throw e;
    const where = address.type === "unix" ? address.path : `${formatHost(address.host)}:${address.port}`;
    // "Failed to bind socket to 'WHERE': why" → "cannot listen for GDB on WHERE: why"
    const prefix = `Failed to bind socket to '${where}': `;
    const why = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    throw new GdbListenError(`cannot listen for GDB on ${where}: ${why}`, { cause: e });
  }
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
  // The server ends a connection after `k`; a socket can hang up on its client, other chardevs have none.
  const endClient = backend instanceof SocketBackend ? () => backend.disconnect() : () => undefined;
  backend.setReceiver(
    (data) => {
      if (!conn || conn.closed) return;
      conn.receive(data);
    },
    (event) => {
      if (event === "opened") {
        drop();
        conn = gdb.attach({ write: (d) => backend.write(d), end: endClient });
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

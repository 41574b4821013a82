import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ChardevError, defaultInfo, errnoText, type ChardevEnv, type InputSource } from "./backend.js";
import { BaseBackend } from "./base.js";
import { describeChardev, formatHost, type SocketChardevSpec } from "./spec.js";

/**
 * QEMU's "socket" chardev over TCP or a unix socket, as a server (server=on) or a client.
 *
 * Server: one client at a time, as QEMU: while one is connected, later ones wait (accepted by the kernel,
 * paused here) and take over in order when it leaves. wait=on holds `open` until the first client arrives.
 * Output with no client connected is dropped. Unix sockets: the socket file gets the process umask; a stale
 * socket file (nobody listening) is replaced, but a path that exists and is not a socket, or a socket somebody
 * still listens on, is never touched; the socket file is removed on close only if it is still ours.
 *
 * Client: connects at open (failure is a ChardevError); no reconnection.
 */
export class SocketBackend extends BaseBackend {
  private server?: net.Server;
  private conn?: net.Socket;
  private input?: ClientInput;
  private readonly waiting: net.Socket[] = [];
  /** The unix socket file we created: removed on close only if it is still this inode. */
  private ownedPath?: { path: string; dev: number; ino: number };
  private firstClient?: () => void;

  private constructor(
    private readonly spec: SocketChardevSpec,
    env: ChardevEnv,
    private readonly limits: SocketLimits,
  ) {
    super(spec.id, env);
  }

  static async open(spec: SocketChardevSpec, env: ChardevEnv = {}, limits: SocketLimits = {}): Promise<SocketBackend> {
    const backend = new SocketBackend(spec, env, limits);
    if (spec.server) await backend.listen();
    else await backend.connect();
    return backend;
  }

  /** The bound (server) or local (client) address; for TCP with port=0 this is where to connect. */
  localAddress(): { host: string; port: number } | { path: string } {
    if (this.spec.address.type === "unix") return { path: this.spec.address.path };
    const a = (this.server?.address() ?? this.conn?.address()) as net.AddressInfo | null;
    return { host: a?.address ?? this.spec.address.host, port: a?.port ?? this.spec.address.port };
  }

  write(data: Uint8Array): void {
    const conn = this.conn;
    if (!conn || conn.destroyed || this.isClosed) return;
    try {
      conn.write(Buffer.from(data));
      if (conn.writableLength > OUTPUT_HIGH_WATER) this.input?.update();
    } catch (e) {
      this.reportWriteError(e);
    }
  }

  describe(): string {
    const where = describeChardev(this.spec);
    if (this.spec.address.type === "inet" && this.server) {
      const a = this.localAddress() as { host: string; port: number };
      const listening = `tcp:${formatHost(a.host)}:${a.port},server=on`;
      return this.conn ? `${listening} <-> ${formatPeer(this.conn)}` : `disconnected:${listening}`;
    }
    return this.conn ? where : `disconnected:${where}`;
  }

  /**
   * Ends the current connection (QEMU's qemu_chr_fe_disconnect): output already written goes first; a waiting
   * client then takes over. A peer that never closes its side is cut off after a second.
   */
  disconnect(): void {
    const sock = this.conn;
    if (!sock || sock.destroyed) return;
    sock.end();
    setTimeout(() => sock.destroy(), 1000).unref();
  }

  // --- server ----------------------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const addr = this.spec.address;
    const server = net.createServer({ pauseOnConnect: true }, (sock) => this.accept(sock));
    this.server = server;
    const where = addr.type === "unix" ? `'${addr.path}'` : `'${formatHost(addr.host)}:${addr.port}'`;
    try {
      if (addr.type === "unix") await this.listenUnix(server, addr.path);
      else await listenOn(server, { host: addr.host, port: addr.port, exclusive: true });
    } catch (e) {
      this.server = undefined;
      server.close();
      if (e instanceof ChardevError) throw e;
      throw new ChardevError(`Failed to bind socket to ${where}: ${errnoText(e)}`, { cause: e });
    }
    server.on("error", (e) => (this.env.info ?? defaultInfo)(`chardev '${this.id}': ${errnoText(e)}`));
    if (this.spec.wait) {
      (this.env.info ?? defaultInfo)(`waiting for connection on: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        this.firstClient = resolve;
      });
    }
  }

  /**
   * Node removes a listening unix socket's path on close, whatever is there by then. So the socket is bound
   * under a temporary name in the same directory and hard-linked to its real name (link never replaces an
   * existing file, unlike bind-after-unlink or rename); Node's clean-up then only concerns the temporary name,
   * and ours removes the real name only while it is still this socket.
   */
  private async listenUnix(server: net.Server, target: string): Promise<void> {
    await prepareUnixPath(target);
    const tmp = temporarySibling(target);
    await listenOn(server, { path: tmp });
    try {
      fs.linkSync(tmp, target);
    } catch (e) {
      throw new ChardevError(`Failed to bind socket to '${target}': ${errnoText(e)}`, { cause: e });
    } finally {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // nothing to clean up
      }
    }
    const st = fs.lstatSync(target);
    this.ownedPath = { path: target, dev: st.dev, ino: st.ino };
  }

  private accept(sock: net.Socket): void {
    if (this.isClosed) {
      sock.destroy();
      return;
    }
    sock.on("error", () => {}); // a reset peer is just a disconnect ("close" follows)
    if (this.conn) {
      if (this.waiting.length >= (this.limits.maxWaiting ?? Infinity)) {
        (this.env.info ?? defaultInfo)(`chardev '${this.id}': too many clients waiting; closing a new connection`);
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
    this.conn = sock;
    if (this.spec.nodelay && this.spec.address.type === "inet") sock.setNoDelay(true);
    sock.on("data", (chunk: Buffer) => {
      if (this.conn === sock) this.port.push(chunk);
    });
    sock.once("close", () => this.dropped(sock));
    this.input = new ClientInput(sock);
    sock.resume();
    this.port.setSource(this.input); // after resume(): a consumer that paused input pauses the new client too
    this.port.event("opened");
    const first = this.firstClient;
    this.firstClient = undefined;
    first?.();
  }

  private dropped(sock: net.Socket): void {
    if (this.conn !== sock) return;
    this.conn = undefined;
    this.input = undefined;
    this.port.setSource(undefined);
    if (this.isClosed) return;
    this.port.event("closed");
    let next: net.Socket | undefined;
    while ((next = this.waiting.shift()) && next.destroyed);
    if (next) this.adopt(next);
  }

  // --- client ----------------------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const addr = this.spec.address;
    const sock = addr.type === "unix" ? net.connect({ path: addr.path }) : net.connect({ host: addr.host, port: addr.port });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.once("connect", () => {
          sock.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      sock.destroy();
      const where = addr.type === "unix" ? `'${addr.path}'` : `'${formatHost(addr.host)}:${addr.port}'`;
      throw new ChardevError(`Failed to connect to ${where}: ${errnoText(e)}`, { cause: e });
    }
    sock.on("error", () => {});
    this.adopt(sock);
  }

  // --- close -----------------------------------------------------------------------------------------------------

  protected async release(): Promise<void> {
    const first = this.firstClient;
    this.firstClient = undefined;
    first?.();
    for (const s of this.waiting.splice(0)) s.destroy();
    this.conn?.destroy();
    this.conn = undefined;
    this.input = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.ownedPath) {
      const { path, dev, ino } = this.ownedPath;
      this.ownedPath = undefined;
      try {
        const st = fs.lstatSync(path);
        if (st.isSocket() && st.dev === dev && st.ino === ino) fs.unlinkSync(path);
      } catch {
        // already gone (Node unlinks its listening socket on close)
      }
    }
  }
}

/** Limits a caller may set beyond what `-chardev` says (the GDB listener does). */
export interface SocketLimits {
  /** Server: clients that may wait while one is connected; later ones are closed at once. Default: no limit. */
  maxWaiting?: number;
}

/** Unread output beyond which a client's input is no longer read. */
const OUTPUT_HIGH_WATER = 1 << 20;

/**
 * The connected client's input as the InputPort throttles it, also paused while the client leaves more than
 * OUTPUT_HIGH_WATER of our output unread: a client that sends requests without reading the replies must not
 * make us buffer without bound.
 */
class ClientInput implements InputSource {
  private consumerPaused = false;

  constructor(private readonly sock: net.Socket) {
    sock.on("drain", () => this.update());
  }

  pause(): void {
    this.consumerPaused = true;
    this.update();
  }

  resume(): void {
    this.consumerPaused = false;
    this.update();
  }

  update(): void {
    if (this.consumerPaused || this.sock.writableLength > OUTPUT_HIGH_WATER) this.sock.pause();
    else this.sock.resume();
  }
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** A fresh name next to `target`, no longer than it where possible (unix socket paths are limited to 107 bytes). */
function temporarySibling(target: string): string {
  const base = path.basename(target);
  const len = Math.max(6, Math.min(base.length, 16));
  const name = `.${randomBytes(len).toString("base64url").replace(/[-_]/g, "x").slice(0, len - 1)}`;
  return path.join(path.dirname(target), name);
}

function formatPeer(sock: net.Socket): string {
  return sock.remoteAddress ? `${formatHost(sock.remoteAddress)}:${sock.remotePort}` : "client";
}

/**
 * Makes `path` free for a listening unix socket without ever destroying something that is not a stale socket:
 * missing → fine; a socket nobody accepts on → removed; a live socket → "Address already in use"; anything else
 * (a regular file, a directory, a symlink) → refused.
 */
export async function prepareUnixPath(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return;
    throw new ChardevError(`Failed to bind socket to '${path}': ${errnoText(e)}`, { cause: e });
  }
  if (!st.isSocket()) {
    throw new ChardevError(`Failed to bind socket to '${path}': the path exists and is not a socket; refusing to replace it`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new ChardevError(`Failed to bind socket to '${path}': Address already in use (another process is listening there)`);
  try {
    fs.unlinkSync(path);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") {
      throw new ChardevError(`Failed to bind socket to '${path}': could not remove the stale socket: ${errnoText(e)}`, { cause: e });
    }
  }
}

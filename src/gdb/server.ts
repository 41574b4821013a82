// What GDB's packets mean for a machine (rr's GdbServer): the RSP semantics over a DebugSession. One client at a
// time; the framing lives in GdbConnection, the sockets in listen.ts.
//
// Behaviour (QEMU 7.2's gdbstub unless marked "Rewind:"):
// - A client connecting stops a running machine (QEMU's vm_stop on CHR_EVENT_OPENED).
// - Execution packets (s, c, bs, bc, vCont) await the session; while one runs, ^C calls session.pause(). If the
//   machine is already running for another front end (QMP `cont`), the next stop is reported instead.
// - Stop replies: `T05thread:01;` (step, breakpoint; `swbreak:;`/`hwbreak:;` added only when GDB announced
//   them in qSupported), `T02thread:01;` for ^C/pause and a QMP replay-break, `W00` when the guest powers off
//   or the session ends (QEMU sends W00 from qemu_cleanup). Rewind: `T05watch:ADDR;thread:01;` (rwatch:,
//   awatch:) for watchpoints in both directions (QEMU: a plain T05 backwards), `T05replaylog:begin;` /
//   `T05replaylog:end;` at the ends of a recording (QEMU: E14), so GDB says "No more reverse-execution history".
// - `?` answers `T05thread:01;` (QEMU), or `W00` once the session has shut down.
// - Monitor commands (qRcmd): help, info replay, info status, replay_break, replay_delete_break, replay_seek
//   (Rewind: the seek has finished when the reply comes). Output goes to GDB's console as `O` packets.
// - `D`: removes this client's breakpoints and watchpoints, replies OK and resumes the machine (QEMU's
//   handle_detach continues the VM). `k`/`vKill`: session.quit().
// - A client that disconnects without `D`: the machine keeps its state (a running continue keeps running, as in
//   QEMU). Rewind: the breakpoints and watchpoints that client inserted are removed, since no later client knows
//   about them (QEMU leaves them, and the guest then stops with nobody told why).
// - Error replies (two decimal errno digits, QEMU's convention): E22 malformed arguments or a reverse command
//   outside replay (its reason goes to GDB's console first), E14 unreadable memory / unknown register, E30 (EROFS) a write to guest state refused during
//   replay, E16 (EBUSY) the machine is busy, E01 a corrupt packet in no-ack mode, E00 an unknown qXfer annex,
//   E05 an internal error. Unknown packets get the empty reply.

import {
  ReplayReadOnlyError,
  SessionBusyError,
  SessionError,
  type DebugSession,
  type RegisterInfo,
  type StopEvent,
} from "../session/api.js";
import { GdbConnection, type ByteLink, type GdbConnectionHandler } from "./connection.js";
import { escapeBinary, hexToText, textToHex, unescapeBinary } from "./rsp-packet.js";
import { buildTargetDescription } from "./target-xml.js";

/** Default PacketSize: large enough for every register in one `g` and 8 KiB per memory read. */
export const DEFAULT_PACKET_SIZE = 0x4000;

export interface GdbServerOptions {
  /** The largest packet the server accepts (announced as PacketSize). Default {@link DEFAULT_PACKET_SIZE}. */
  packetSize?: number;
  /** Diagnostics (protocol problems, internal errors) for the user's log. Default: none. */
  log?: (message: string) => void;
  /** How long a connecting client waits for a running machine to stop before it is served anyway. */
  stopOnConnectTimeoutMs?: number;
}

/** Error replies. */
const E_INVALID = "E22";
const E_FAULT = "E14";
const E_READ_ONLY = "E30";
const E_BUSY = "E16";
const E_CORRUPT = "E01";
const E_INTERNAL = "E05";
const E_NO_ANNEX = "E00";

const THREAD = "thread:01;";
/** Packets queued while a command runs; beyond this a client is not GDB (GDB waits for replies) and is ignored. */
const MAX_QUEUED = 4096;

type Reply = string | Buffer | null;

type QueueItem = { kind: "packet"; payload: Buffer } | { kind: "bad"; reason: string };

interface Inserted {
  ztype: number;
  addr: bigint;
  kind: number;
  count: number;
}

/** An execution command waiting for the machine to stop. */
interface PendingRun {
  /** Set when its reply was already sent (W00 on shutdown), so the stop that follows is not reported again. */
  answered: boolean;
}

/** Per-connection state: what this client negotiated and what it changed in the machine. */
class Client implements GdbConnectionHandler {
  swbreak = false;
  hwbreak = false;
  readonly queue: QueueItem[] = [];
  /** The asynchronous operation holding the queue (a token, so a late completion cannot release a newer one). */
  holder: object | undefined;
  run: PendingRun | undefined;
  /** ^C arrived while an execution packet was queued but not started. */
  interruptPending = false;
  readonly inserted = new Map<string, Inserted>();
  closedFlag = false;
  private overflowLogged = false;

  constructor(
    readonly server: GdbServer,
    readonly conn: GdbConnection,
  ) {}

  get busy(): boolean {
    return this.holder !== undefined;
  }

  packet(payload: Buffer): void {
    this.push({ kind: "packet", payload });
  }
  badPacket(reason: string): void {
    this.push({ kind: "bad", reason });
  }
  interrupt(): void {
    this.server.onInterrupt(this);
  }
  closed(): void {
    this.closedFlag = true;
    this.queue.length = 0;
    this.server.onClientClosed(this);
  }

  private push(item: QueueItem): void {
    if (this.queue.length >= MAX_QUEUED) {
      if (!this.overflowLogged) this.server.log(`client sent more than ${MAX_QUEUED} packets without waiting; dropping`);
      this.overflowLogged = true;
      return;
    }
    this.queue.push(item);
    this.server.pump(this);
  }
}

/** Serves GDB clients for one DebugSession. */
export class GdbServer {
  readonly packetSize: number;
  readonly log: (message: string) => void;
  private readonly stopOnConnectTimeoutMs: number;
  private client: Client | undefined;
  private regList: RegisterInfo[] | undefined;
  private tdesc: Map<string, Buffer> | undefined;
  /** The register file `monitor gdb-arch` asked for: served to the next connection. */
  private nextLayout: string | undefined;
  private disposed = false;
  private readonly onShutdown = () => this.sessionShutdown();

  constructor(
    readonly session: DebugSession,
    options: GdbServerOptions = {},
  ) {
    this.packetSize = Math.max(256, Math.floor(options.packetSize ?? DEFAULT_PACKET_SIZE));
    this.log = options.log ?? (() => undefined);
    this.stopOnConnectTimeoutMs = options.stopOnConnectTimeoutMs ?? 5000;
    session.on("shutdown", this.onShutdown);
  }

  /** True while a client is attached. */
  get hasClient(): boolean {
    return this.client !== undefined;
  }

  /**
   * Serves a new client over `link`. Feed the client's bytes to the returned connection's `receive` and tell it
   * `transportClosed()` when the link goes away. One client at a time: the listener queues the others.
   */
  attach(link: ByteLink): GdbConnection {
    if (this.disposed) throw new Error("the GDB server is closed");
    if (this.client) throw new Error("a GDB client is already attached (one at a time)");
    const conn = new GdbConnection(link, { maxPacket: this.packetSize, log: this.log });
    const client = new Client(this, conn);
    conn.setHandler(client);
    this.client = client;
    // A register file chosen with `monitor gdb-arch` is served from this connection on.
    if (this.nextLayout !== undefined) {
      this.session.selectGdbLayout(this.nextLayout);
      this.nextLayout = undefined;
      this.regList = undefined;
      this.tdesc = undefined;
    }
    if (this.session.runState() === "running") {
      // QEMU stops the VM when a debugger connects; packets wait until it has.
      const holder = {};
      client.holder = holder;
      this.session.pause();
      void this.waitForStop(client, this.stopOnConnectTimeoutMs).then(() => this.release(client, holder));
    }
    return conn;
  }

  /** Stops serving: the current client is disconnected; session listeners are removed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.off("shutdown", this.onShutdown);
    this.client?.conn.close();
  }

  // ---- connection events ------------------------------------------------------------------------------------

  /** @internal */
  onClientClosed(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    // The machine keeps running or stays paused; only this client's breakpoints go.
    this.removeInserted(client);
  }

  /** @internal ^C: interrupt the running command, or the next one if it is still queued. */
  onInterrupt(client: Client): void {
    if (client.run) {
      this.session.pause();
    } else if (client.queue.some((q) => q.kind === "packet" && isExecutionPacket(q.payload))) {
      client.interruptPending = true;
    } else if (client.busy && this.session.runState() === "running") {
      this.session.pause();
    }
  }

  private sessionShutdown(): void {
    const c = this.client;
    if (c?.run && !c.run.answered) {
      c.run.answered = true;
      c.conn.send("W00");
      // GDB now thinks the target exited and may ask more: do not let a run that never ends hold the queue.
      this.release(c, c.holder);
    }
  }

  /** Ends the asynchronous operation `holder` (if it still holds the queue) and goes on with the queue. */
  private release(client: Client, holder: object | undefined): void {
    if (holder === undefined || client.holder !== holder) return;
    client.holder = undefined;
    this.pump(client);
  }

  /** @internal Handles queued packets in order; an asynchronous one holds the queue until it has replied. */
  pump(client: Client): void {
    while (!client.busy && !client.closedFlag && client.queue.length > 0) {
      const item = client.queue.shift()!;
      let result: Reply | Promise<Reply>;
      try {
        result = item.kind === "bad" ? this.badPacketReply(item.reason) : this.handle(client, item.payload);
      } catch (e) {
        result = this.internalError(e);
      }
      if (result instanceof Promise) {
        const holder = {};
        client.holder = holder;
        result
          .catch((e: unknown) => this.internalError(e))
          .then((reply) => {
            if (client.holder !== holder) return; // released early (shutdown): its reply was already sent
            if (reply !== null) client.conn.send(reply);
            this.release(client, holder);
          });
        return;
      }
      if (result !== null) client.conn.send(result);
    }
  }

  private badPacketReply(reason: string): Reply {
    this.log(`rejected a packet: ${reason}`);
    return reason === "bad checksum" ? E_CORRUPT : E_INVALID;
  }

  private internalError(e: unknown): string {
    this.log(`internal error in the GDB server: ${e instanceof Error ? e.message : String(e)}`);
    return E_INTERNAL;
  }

  // ---- dispatch -----------------------------------------------------------------------------------------------

  private handle(c: Client, payload: Buffer): Reply | Promise<Reply> {
    if (payload.length === 0) return "";
    // Binary data only follows ':' in X; every other packet is ASCII, read as latin1 (one char per byte).
    if (payload[0] === 0x58 /* X */) return this.writeMemoryBinary(payload);
    const p = payload.toString("latin1");
    switch (p[0]) {
      case "?":
        return p === "?" ? this.haltReason() : "";
      case "g":
        return p === "g" ? this.readAllRegisters() : "";
      case "G":
        return this.writeAllRegisters(p.slice(1));
      case "p":
        return this.readOneRegister(p.slice(1));
      case "P":
        return this.writeOneRegister(p.slice(1));
      case "m":
        return this.readMemoryPacket(p.slice(1));
      case "M":
        return this.writeMemoryHex(p.slice(1));
      case "s":
      case "c":
        return this.resumeAt(c, p[0] === "s" ? "step" : "cont", p.slice(1));
      case "S":
      case "C": {
        // The signal to deliver means nothing to a whole machine (QEMU ignores it too).
        const m = /^[0-9a-fA-F]{2}(?:;(.*))?$/.exec(p.slice(1));
        if (!m) return E_INVALID;
        return this.resumeAt(c, p[0] === "S" ? "step" : "cont", m[1] ?? "");
      }
      case "b":
        if (p === "bs") return this.execute(c, "reverseStep");
        if (p === "bc") return this.execute(c, "reverseCont");
        return "";
      case "Z":
      case "z":
        return this.breakpointPacket(c, p);
      case "H":
        return this.setThread(p);
      case "T":
        return threadMatches(p.slice(1)) === true ? "OK" : E_INVALID;
      case "D":
        return this.detach(c, p);
      case "k":
        if (p !== "k") return "";
        this.kill(c);
        return null; // GDB does not wait for a reply to `k`
      case "q":
        return this.query(c, p);
      case "Q":
        return this.setting(c, p);
      case "v":
        return this.vPacket(c, p);
      default:
        return "";
    }
  }

  private query(c: Client, p: string): Reply | Promise<Reply> {
    if (p === "qSupported" || p.startsWith("qSupported:")) return this.supported(c, p);
    if (p.startsWith("qXfer:")) return this.xfer(p);
    if (p === "qC") return "QC1";
    if (p === "qAttached" || p.startsWith("qAttached:")) return "1";
    if (p === "qfThreadInfo") return "m1";
    if (p === "qsThreadInfo") return "l";
    if (p.startsWith("qThreadExtraInfo,")) {
      if (threadMatches(p.slice("qThreadExtraInfo,".length)) !== true) return E_INVALID;
      return textToHex(`CPU#0 [${this.session.runState()}]`);
    }
    if (p === "qSymbol::" || p.startsWith("qSymbol:")) return "OK"; // nothing to look up
    if (p.startsWith("qRcmd,")) return this.monitor(c, p.slice("qRcmd,".length));
    return ""; // qOffsets (a system emulator has no relocation), qTStatus, qL, qCRC, ...: not supported
  }

  private setting(c: Client, p: string): Reply {
    if (p === "QStartNoAckMode") {
      c.conn.send("OK"); // acked in the old mode, then no more acks
      c.conn.startNoAckMode();
      return null;
    }
    return "";
  }

  private vPacket(c: Client, p: string): Reply | Promise<Reply> {
    if (p === "vCont?") return "vCont;c;C;s;S";
    if (p.startsWith("vCont;")) return this.vCont(c, p.slice("vCont;".length));
    if (p === "vKill" || p.startsWith("vKill;")) {
      c.conn.send("OK");
      this.kill(c);
      return null;
    }
    return ""; // vMustReplyEmpty, vFile, vRun, vAttach, vStopped, vCtrlC...
  }

  // ---- qSupported, target description ------------------------------------------------------------------------

  private supported(c: Client, p: string): Reply {
    const features = p.startsWith("qSupported:") ? p.slice("qSupported:".length).split(";") : [];
    c.swbreak = features.includes("swbreak+");
    c.hwbreak = features.includes("hwbreak+");
    return [
      `PacketSize=${this.packetSize.toString(16)}`,
      "qXfer:features:read+",
      "ReverseStep+",
      "ReverseContinue+",
      "swbreak+",
      "hwbreak+",
      "vContSupported+",
      "QStartNoAckMode+",
    ].join(";");
  }

  private xfer(p: string): Reply {
    // qXfer:object:read:annex:offset,length
    const m = /^qXfer:([^:]*):([^:]*):([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
    if (!m) return p.startsWith("qXfer:features:read:") ? E_INVALID : "";
    const [, object, op, annex, offText, lenText] = m;
    if (object !== "features" || op !== "read") return "";
    const doc = this.targetDescription().get(annex!);
    if (!doc) return E_NO_ANNEX;
    const offset = parseSmallHex(offText!);
    const length = parseSmallHex(lenText!);
    if (offset === undefined || length === undefined) return E_INVALID;
    if (offset >= doc.length) return "l";
    const n = Math.min(length, this.packetSize - 1, doc.length - offset);
    const chunk = escapeBinary(doc.subarray(offset, offset + n));
    return Buffer.concat([Buffer.from(offset + n >= doc.length ? "l" : "m", "latin1"), chunk]);
  }

  private targetDescription(): Map<string, Buffer> {
    if (!this.tdesc) {
      this.tdesc = new Map();
      for (const [name, text] of buildTargetDescription(this.session.arch, this.registerList(), this.session.gdbArchitecture())) {
        this.tdesc.set(name, Buffer.from(text, "utf8"));
      }
    }
    return this.tdesc;
  }

  // ---- registers ----------------------------------------------------------------------------------------------

  private registerList(): RegisterInfo[] {
    this.regList ??= [...this.session.registers()].sort((a, b) => a.regnum - b.regnum);
    return this.regList;
  }

  /** The `g` layout: registers numbered contiguously from 0. */
  private gRegisters(): RegisterInfo[] {
    const out: RegisterInfo[] = [];
    for (const r of this.registerList()) {
      if (r.regnum !== out.length) break;
      out.push(r);
    }
    return out;
  }

  private findRegister(regnum: number): RegisterInfo | undefined {
    return this.registerList().find((r) => r.regnum === regnum);
  }

  private haltReason(): Reply {
    return this.session.runState() === "shutdown" ? "W00" : `T05${THREAD}`;
  }

  private readAllRegisters(): Reply {
    let out = "";
    for (const r of this.gRegisters()) {
      const size = byteSize(r);
      let v: Uint8Array | undefined;
      try {
        v = this.session.readRegister(r.regnum);
      } catch (e) {
        if (!(e instanceof SessionError)) throw e;
        v = undefined;
      }
      out += v && v.length === size ? Buffer.from(v).toString("hex") : "xx".repeat(size);
    }
    return out;
  }

  private writeAllRegisters(hex: string): Reply {
    if (!isEvenHex(hex)) return E_INVALID;
    const values: [RegisterInfo, Buffer][] = [];
    let pos = 0;
    for (const r of this.gRegisters()) {
      if (pos >= hex.length) break;
      const len = byteSize(r) * 2;
      if (pos + len > hex.length) return E_INVALID;
      values.push([r, Buffer.from(hex.slice(pos, pos + len), "hex")]);
      pos += len;
    }
    if (pos !== hex.length) return E_INVALID;
    try {
      for (const [r, v] of values) this.session.writeRegister(r.regnum, v);
    } catch (e) {
      return this.errorReply(e, E_INVALID);
    }
    return "OK";
  }

  private readOneRegister(arg: string): Reply {
    const regnum = parseSmallHex(arg);
    if (regnum === undefined) return E_INVALID;
    const info = this.findRegister(regnum);
    if (!info) return E_FAULT; // QEMU's answer for a register it does not have
    let v: Uint8Array | undefined;
    try {
      v = this.session.readRegister(regnum);
    } catch (e) {
      return this.errorReply(e, E_FAULT);
    }
    if (!v) return E_FAULT;
    return Buffer.from(v).toString("hex");
  }

  private writeOneRegister(arg: string): Reply {
    const eq = arg.indexOf("=");
    if (eq < 0) return E_INVALID;
    const regnum = parseSmallHex(arg.slice(0, eq));
    const hex = arg.slice(eq + 1);
    if (regnum === undefined || !isEvenHex(hex)) return E_INVALID;
    const info = this.findRegister(regnum);
    if (!info) return E_FAULT;
    if (hex.length !== byteSize(info) * 2) return E_INVALID;
    try {
      this.session.writeRegister(regnum, Buffer.from(hex, "hex"));
    } catch (e) {
      return this.errorReply(e, E_INVALID);
    }
    return "OK";
  }

  // ---- memory -------------------------------------------------------------------------------------------------

  private readMemoryPacket(arg: string): Reply {
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(arg);
    if (!m) return E_INVALID;
    const addr = parseAddress(m[1]!);
    let len = parseSmallHex(m[2]!);
    if (addr === undefined || len === undefined) return E_INVALID;
    if (len === 0) return "";
    // A reply holds at most packetSize hex digits; GDB accepts fewer bytes than it asked for.
    len = Math.min(len, Math.floor(this.packetSize / 2));
    const room = (1n << 64n) - addr;
    if (BigInt(len) > room) len = Number(room);
    const data = this.readReadablePrefix(addr, len);
    return data.length === 0 ? E_FAULT : Buffer.from(data).toString("hex");
  }

  /** Reads as much of [addr, addr+len) as is mapped, from the start (GDB accepts a short read). */
  private readReadablePrefix(addr: bigint, len: number): Uint8Array {
    try {
      return this.session.readMemory(addr, len);
    } catch (e) {
      if (!(e instanceof SessionError)) throw e;
    }
    const parts: Uint8Array[] = [];
    let done = 0;
    while (done < len) {
      const a = addr + BigInt(done);
      const n = Math.min(len - done, 0x1000 - Number(a & 0xfffn));
      try {
        parts.push(this.session.readMemory(a, n));
        done += n;
        continue;
      } catch (e) {
        if (!(e instanceof SessionError)) throw e;
      }
      for (let i = 0; i < n; i++) {
        try {
          parts.push(this.session.readMemory(a + BigInt(i), 1));
        } catch (e) {
          if (!(e instanceof SessionError)) throw e;
          return Buffer.concat(parts);
        }
      }
      done += n;
    }
    return Buffer.concat(parts);
  }

  private writeMemoryHex(arg: string): Reply {
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+):([0-9a-fA-F]*)$/.exec(arg);
    if (!m) return E_INVALID;
    const addr = parseAddress(m[1]!);
    const len = parseSmallHex(m[2]!);
    const hex = m[3]!;
    if (addr === undefined || len === undefined || hex.length !== len * 2) return E_INVALID;
    return this.writeMemory(addr, Buffer.from(hex, "hex"));
  }

  private writeMemoryBinary(payload: Buffer): Reply {
    const colon = payload.indexOf(0x3a);
    if (colon < 0) return E_INVALID;
    const m = /^X([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(payload.subarray(0, colon).toString("latin1"));
    if (!m) return E_INVALID;
    const addr = parseAddress(m[1]!);
    const len = parseSmallHex(m[2]!);
    if (addr === undefined || len === undefined) return E_INVALID;
    let data: Buffer;
    try {
      data = unescapeBinary(payload.subarray(colon + 1));
    } catch {
      return E_INVALID;
    }
    if (data.length !== len) return E_INVALID;
    // `X addr,0:` is how GDB probes for X support: nothing to write.
    if (len === 0) return "OK";
    return this.writeMemory(addr, data);
  }

  private writeMemory(addr: bigint, data: Buffer): Reply {
    if (BigInt(data.length) > (1n << 64n) - addr) return E_FAULT;
    if (data.length === 0) return "OK";
    try {
      this.session.writeMemory(addr, data);
    } catch (e) {
      return this.errorReply(e, E_FAULT);
    }
    return "OK";
  }

  // ---- breakpoints --------------------------------------------------------------------------------------------

  private breakpointPacket(c: Client, p: string): Reply {
    // Z type,addr,kind[;cond...]: conditions are not announced, so GDB does not send them; ignore any.
    const m = /^([Zz])([0-4]),([0-9a-fA-F]+),([0-9a-fA-F]+)(?:;.*)?$/.exec(p);
    if (!m) return /^[Zz][0-4]/.test(p) || p.length === 1 ? E_INVALID : "";
    const insert = m[1] === "Z";
    const ztype = Number(m[2]);
    const addr = parseAddress(m[3]!);
    const kind = parseSmallHex(m[4]!);
    if (addr === undefined || kind === undefined) return E_INVALID;
    if (ztype >= 2 && kind === 0) return E_INVALID; // a watchpoint covers at least one byte
    const key = `${ztype},${addr.toString(16)},${kind}`;
    try {
      if (insert) {
        this.insertPoint(ztype, addr, kind);
        const entry = c.inserted.get(key);
        if (entry) entry.count++;
        else c.inserted.set(key, { ztype, addr, kind, count: 1 });
        return "OK";
      }
      if (!this.removePoint(ztype, addr, kind)) return E_INVALID; // as QEMU: nothing there to remove
      const entry = c.inserted.get(key);
      if (entry && --entry.count <= 0) c.inserted.delete(key);
      return "OK";
    } catch (e) {
      return this.errorReply(e, E_INVALID);
    }
  }

  private insertPoint(ztype: number, addr: bigint, kind: number): void {
    const s = this.session;
    if (ztype === 0) s.addBreakpoint("sw", addr, kind);
    else if (ztype === 1) s.addBreakpoint("hw", addr, kind);
    else s.addWatchpoint(ztype === 2 ? "write" : ztype === 3 ? "read" : "access", addr, kind);
  }

  private removePoint(ztype: number, addr: bigint, kind: number): boolean {
    const s = this.session;
    if (ztype === 0) return s.removeBreakpoint("sw", addr, kind);
    if (ztype === 1) return s.removeBreakpoint("hw", addr, kind);
    return s.removeWatchpoint(ztype === 2 ? "write" : ztype === 3 ? "read" : "access", addr, kind);
  }

  /** Removes every breakpoint and watchpoint the client inserted and did not remove. */
  private removeInserted(c: Client): void {
    for (const { ztype, addr, kind, count } of c.inserted.values()) {
      for (let i = 0; i < count; i++) {
        try {
          if (!this.removePoint(ztype, addr, kind)) break;
        } catch (e) {
          this.log(`could not remove a breakpoint of the departed client: ${(e as Error).message}`);
          break;
        }
      }
    }
    c.inserted.clear();
  }

  // ---- threads: one CPU, thread 1 ----------------------------------------------------------------------------

  private setThread(p: string): Reply {
    const op = p[1];
    if (op !== "g" && op !== "c") return "";
    return threadMatches(p.slice(2)) === true ? "OK" : E_INVALID;
  }

  // ---- execution ----------------------------------------------------------------------------------------------

  /** `s`/`c` with an optional resume address (written to the PC first, so refused in replay). */
  private resumeAt(c: Client, what: "step" | "cont", addrText: string): Reply | Promise<Reply> {
    if (addrText !== "") {
      const addr = parseAddress(addrText);
      if (addr === undefined) return E_INVALID;
      const pc = this.registerList().find((r) => r.name === "pc" || r.name === "rip");
      if (!pc) return E_INVALID;
      const bytes = Buffer.alloc(byteSize(pc));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Number((addr >> BigInt(8 * i)) & 0xffn);
      try {
        this.session.writeRegister(pc.regnum, bytes);
      } catch (e) {
        return this.errorReply(e, E_INVALID);
      }
    }
    return this.execute(c, what);
  }

  private vCont(c: Client, actions: string): Reply | Promise<Reply> {
    // vCont;action[:thread];... — the first action that applies to thread 1 decides (GDB lists specific
    // threads before the default).
    for (const part of actions.split(";")) {
      const colon = part.indexOf(":");
      const action = colon < 0 ? part : part.slice(0, colon);
      if (colon >= 0) {
        const matches = threadMatches(part.slice(colon + 1));
        if (matches === undefined) return E_INVALID;
        if (!matches) continue;
      }
      if (action === "c" || /^C[0-9a-fA-F]{2}$/.test(action)) return this.execute(c, "cont");
      if (action === "s" || /^S[0-9a-fA-F]{2}$/.test(action)) return this.execute(c, "step");
      return E_INVALID; // t, r...: not announced in vCont?
    }
    return E_INVALID;
  }

  private async execute(c: Client, what: "step" | "cont" | "reverseStep" | "reverseCont"): Promise<Reply> {
    const s = this.session;
    if (s.runState() === "shutdown") return "W00";
    const run: PendingRun = { answered: false };
    c.run = run;
    let event: StopEvent | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const promise = s[what]();
          if (c.interruptPending) {
            c.interruptPending = false;
            s.pause();
          }
          event = await promise;
          break;
        } catch (e) {
          if (!(e instanceof SessionBusyError) || attempt >= 3) throw e;
          // Running for another front end (QMP cont): report its next stop, as QEMU reports any VM stop.
          if (s.runState() === "running") {
            event = await this.waitForStop(c);
            break;
          }
          // Busy without running (a QMP seek) or stopped in the meantime: try again shortly.
          await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
          if (c.closedFlag) return null;
        }
      }
    } catch (e) {
      if (run.answered || c.closedFlag) return null;
      if (e instanceof SessionError && !(e instanceof SessionBusyError) && !(e instanceof ReplayReadOnlyError)) {
        // Reverse execution outside replay, a step on a machine that cannot run...: say why on GDB's console.
        this.consoleOutput(c, `${e.message}\n`);
        return E_INVALID;
      }
      return this.errorReply(e, E_INVALID);
    } finally {
      if (c.run === run) {
        c.run = undefined;
        c.interruptPending = false;
      }
    }
    if (run.answered || c.closedFlag) return null;
    return this.stopReply(c, event);
  }

  /** The next stop of the machine (or a shutdown, or the client leaving, or the time limit: undefined). */
  private waitForStop(c: Client, timeoutMs = Infinity): Promise<StopEvent | undefined> {
    const s = this.session;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const done = (ev: StopEvent | undefined) => {
        s.off("stop", onStop);
        s.off("shutdown", onShutdown);
        if (timer) clearTimeout(timer);
        if (poll) clearInterval(poll);
        resolve(ev);
      };
      const onStop = (ev: StopEvent) => done(ev);
      const onShutdown = () => done({ kind: "poweroff" });
      s.on("stop", onStop);
      s.on("shutdown", onShutdown);
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => done(undefined), timeoutMs);
      // The client leaving, or the machine stopping without telling (it stopped before we listened), ends it.
      poll = setInterval(() => {
        if (c.closedFlag || s.runState() !== "running") done(undefined);
      }, 50);
    });
  }

  private stopReply(c: Client, ev: StopEvent | undefined): string {
    if (!ev) return `T05${THREAD}`; // stopped without an event we saw (another front end): a plain trap
    switch (ev.kind) {
      case "step":
        return `T05${THREAD}`;
      case "breakpoint": {
        const reason = ev.type === "sw" ? (c.swbreak ? "swbreak:;" : "") : c.hwbreak ? "hwbreak:;" : "";
        return `T05${reason}${THREAD}`;
      }
      case "watchpoint": {
        const name = ev.type === "write" ? "watch" : ev.type === "read" ? "rwatch" : "awatch";
        return `T05${name}:${ev.addr.toString(16)};${THREAD}`;
      }
      case "replay-begin":
        return "T05replaylog:begin;";
      case "replay-end":
        return "T05replaylog:end;";
      case "replay-break":
      case "interrupted":
        return `T02${THREAD}`;
      case "poweroff":
        return "W00";
      case "stuck":
      case "diverged":
        // GDB prints console output while it waits for a stop; then "received signal SIGABRT".
        this.consoleOutput(c, `${ev.kind === "stuck" ? "The guest is stuck" : "Replay diverged"}: ${ev.message}\n`);
        return `T06${THREAD}`;
    }
  }

  /** `D`: QEMU removes the debugger's breakpoints, resumes the machine and says OK. */
  private detach(c: Client, p: string): Reply {
    if (p !== "D" && !/^D;[0-9a-fA-F]+$/.test(p)) return E_INVALID;
    this.removeInserted(c);
    c.conn.send("OK");
    const state = this.session.runState();
    if (state === "paused" || state === "prelaunch") {
      this.session.cont().catch((e: unknown) => this.log(`resuming after detach failed: ${(e as Error).message}`));
    }
    return null;
  }

  private kill(c: Client): void {
    this.removeInserted(c);
    this.session.quit().then(
      () => c.conn.close(),
      (e: unknown) => {
        this.log(`quit requested by GDB failed: ${(e as Error).message}`);
        c.conn.close();
      },
    );
  }

  // ---- monitor commands (qRcmd) -------------------------------------------------------------------------------

  private monitor(c: Client, hex: string): Reply | Promise<Reply> {
    let command: string;
    try {
      command = hexToText(hex).trim();
    } catch {
      return E_INVALID;
    }
    const words = command.split(/\s+/).filter((w) => w !== "");
    const say = (text: string) => this.consoleOutput(c, text);
    const s = this.session;
    const [name, ...args] = words;
    const icountArg = (): number | undefined => {
      const n = args.length === 1 ? parseCount(args[0]!) : undefined;
      if (n === undefined) say(`Error: ${name} needs one instruction count (decimal or 0x hex)\n`);
      return n;
    };
    try {
      switch (name) {
        case undefined:
          return "OK";
        case "help":
        case "?":
          say(MONITOR_HELP);
          return "OK";
        case "info":
          if (args[0] === "replay") {
            const info = s.replayInfo();
            if (info.mode === "none") say("Record/replay is not active\n");
            else {
              const verb = info.mode === "record" ? "Recording" : "Replaying";
              say(`${verb} execution '${info.filename ?? ""}': instruction count = ${info.icount}\n`);
            }
          } else if (args[0] === "status") {
            const state = s.runState();
            say(`VM status: ${state === "running" ? "running" : state === "paused" ? "paused" : `paused (${state})`}\n`);
          } else {
            say(`info: unknown item '${args.join(" ")}' (try: info replay, info status)\n`);
          }
          return "OK";
        case "replay_break": {
          const n = icountArg();
          if (n !== undefined) s.setReplayBreak(n);
          return "OK";
        }
        case "replay_delete_break":
          s.clearReplayBreak();
          return "OK";
        case "gdb-arch": {
          const layouts = s.gdbLayouts();
          if (layouts.length === 0) say("this target has one register layout\n");
          else if (args.length !== 1 || !layouts.includes(args[0]!)) say(`gdb-arch: give one of ${layouts.join(", ")}\n`);
          else {
            this.nextLayout = args[0];
            // GDB keeps the first description it read for the rest of its life: a new GDB must connect.
            say(`The ${args[0]} register layout is served from the next connection. GDB keeps the layout it first read, ` +
              `so quit it and start a new one${args[0] === "i386" ? ' with "set architecture i8086" (or i386) before "target remote"' : ""}; ` +
              `-M pc,gdb-arch=${args[0]} serves it from the start.\n`);
          }
          return "OK";
        }
        case "replay_seek": {
          const n = icountArg();
          if (n === undefined) return "OK";
          return s.seek(n).then(
            () => {
              // GDB does not re-read registers after a monitor command: tell the user how to.
              say(`At instruction count ${s.icount()}. GDB still shows the old state until "maintenance flush register-cache".\n`);
              return "OK";
            },
            (e: unknown) => {
              say(`Error: ${(e as Error).message}\n`);
              return "OK";
            },
          );
        }
        default:
          say(`unknown command: '${name}' (try: monitor help)\n`);
          return "OK";
      }
    } catch (e) {
      if (!(e instanceof SessionError)) throw e;
      say(`Error: ${e.message}\n`);
      return "OK";
    }
  }

  /** Text on GDB's console: `O` packets, split to fit. */
  private consoleOutput(c: Client, text: string): void {
    const bytes = Buffer.from(text, "utf8");
    const per = Math.max(1, Math.floor((this.packetSize - 1) / 2));
    for (let i = 0; i < bytes.length; i += per) c.conn.send("O" + bytes.subarray(i, i + per).toString("hex"));
  }

  private errorReply(e: unknown, fallback: string): string {
    if (e instanceof ReplayReadOnlyError) return E_READ_ONLY;
    if (e instanceof SessionBusyError) return E_BUSY;
    if (e instanceof SessionError) return fallback;
    if (e instanceof Error && e.name === "RegisterValueError") return E_INVALID;
    return this.internalError(e);
  }
}

const MONITOR_HELP = [
  "Rewind monitor commands (monitor COMMAND):",
  "  help                    this list",
  "  info replay             record/replay mode and the current instruction count",
  "  info status             whether the machine runs",
  "  replay_break ICOUNT     stop execution at this instruction count (replay only)",
  "  replay_delete_break     remove the replay breakpoint",
  "  replay_seek ICOUNT      go to this instruction count of the recording (replay only)",
  "  gdb-arch x86_64|i386    x86: the register layout the next connection gets (i386: for set architecture i8086/i386)",
  "",
].join("\n");

// ---- parsing helpers ------------------------------------------------------------------------------------------

function byteSize(r: RegisterInfo): number {
  return Math.ceil(r.bitsize / 8);
}

function isEvenHex(s: string): boolean {
  return s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
}

/** A hex number that fits comfortably in a JS number (register numbers, lengths, offsets): up to 2^32 - 1. */
function parseSmallHex(s: string): number | undefined {
  if (!/^[0-9a-fA-F]+$/.test(s)) return undefined;
  const t = s.replace(/^0+(?=.)/, "");
  if (t.length > 8) return undefined;
  return parseInt(t, 16);
}

/** A 64-bit address in hex. */
function parseAddress(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F]+$/.test(s)) return undefined;
  const t = s.replace(/^0+(?=.)/, "");
  if (t.length > 16) return undefined;
  return BigInt("0x" + t);
}

/** An instruction count typed by a user: decimal or 0x hex. */
function parseCount(s: string): number | undefined {
  let n: number;
  if (/^[0-9]+$/.test(s)) n = Number(s);
  else if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A thread id part (hex, or -1 for all, 0 for any). */
function idMatchesOne(s: string): boolean | undefined {
  if (s === "-1" || s === "0") return true;
  if (!/^[0-9a-fA-F]+$/.test(s) || s.length > 16) return undefined;
  return BigInt("0x" + s) === 1n;
}

/**
 * Whether a thread id (`1`, `-1`, `0`, `p1.1`, `p1`, `p-1.-1`...) designates our only thread. Undefined when
 * it is malformed, false when it names another thread.
 */
function threadMatches(id: string): boolean | undefined {
  if (id.startsWith("p")) {
    const dot = id.indexOf(".");
    const pid = idMatchesOne(dot < 0 ? id.slice(1) : id.slice(1, dot));
    if (pid === undefined) return undefined;
    const tid = dot < 0 ? true : idMatchesOne(id.slice(dot + 1));
    if (tid === undefined) return undefined;
    return pid && tid;
  }
  return idMatchesOne(id);
}

function isExecutionPacket(payload: Buffer): boolean {
  const c = String.fromCharCode(payload[0] ?? 0);
  if ("sScC".includes(c)) return true;
  const p = payload.toString("latin1", 0, Math.min(payload.length, 8));
  return p === "bs" || p === "bc" || p.startsWith("vCont;");
}

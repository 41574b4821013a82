/**
 * A GDB remote serial protocol client: talks to QEMU's gdbstub or Rewind's own server.
 *
 * Usage:
 * ```ts
 * const gdb = await RspClient.connect("127.0.0.1", 1234, { timeoutMs: 5000 });
 * await gdb.qSupported();            // learns PacketSize, qXfer:features:read, ...
 * await gdb.startNoAckMode();        // optional (QEMU 7.2 does not support it: returns false)
 * const regs = await gdb.readRegisters();   // Map name → bigint, laid out by the target description
 * await gdb.step();                  // → StopReply
 * gdb.close();
 * ```
 *
 * Commands are sent one at a time in call order (`cmd`) and each resolves with the reply payload; `pipeline`
 * sends several non-resuming commands at once (no-ack mode, or `pipelineInAckMode` for QEMU) to save round
 * trips. Acks (`+`/`-`), retransmission and checksums are handled here. While the target runs (after
 * `c`/`s`) nothing else is sent except `interrupt()` (^C). Console output packets (`O...`) that arrive while
 * waiting are emitted as `output` events; a stop reply that arrives when nothing waits for it is emitted as `stop`.
 *
 * Errors: {@link RspTimeoutError}, {@link RspConnectionClosedError}, {@link RspCommandError} (the target replied
 * `E..` or did not support a packet), {@link RspProtocolError} (malformed data).
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import {
  RspProtocolError,
  RspStreamParser,
  decodeLittleEndian,
  encodeLittleEndian,
  encodePacket,
  escapeBinary,
  formatHexNumber,
  hexToBytes,
  hexToText,
  isHex,
  textToHex,
  unescapeBinary,
} from "./rsp-packet.js";

export { RspProtocolError } from "./rsp-packet.js";

/** The connection closed while a command waited for its reply (or before it could be sent). */
export class RspConnectionClosedError extends Error {
  override name = "RspConnectionClosedError";
  /** The exit reply (`W..`/`X..`) received just before the close, if any. */
  constructor(message: string, readonly lastStop?: StopReply) {
    super(message);
  }
}

/** No reply (or ack) within the time limit. */
export class RspTimeoutError extends Error {
  override name = "RspTimeoutError";
}

/** The target answered a command with an error (`E..`) or an empty reply (not supported). */
export class RspCommandError extends Error {
  override name = "RspCommandError";
  constructor(message: string, readonly packet: string, readonly reply: string) {
    super(message);
  }
}

export interface RspClientOptions {
  /** Default time limit for a reply, in ms (default 5000). `cont()` waits without a limit unless given one. */
  timeoutMs?: number;
  /** How long `connect` keeps retrying a refused connection (the server may still be starting). Default 0. */
  connectRetryMs?: number;
  /** How many times a packet is resent after a `-` before giving up (ack mode). Default 5. */
  maxRetransmits?: number;
  /**
   * Let `pipeline()` send several packets at once even in ack mode. Strict servers wait for each ack, but
   * QEMU's gdbstub (which has no no-ack mode in 7.2) handles a new `$` right after its reply. Default false.
   */
  pipelineInAckMode?: boolean;
}

export interface CmdOptions {
  /** Overrides the client's default time limit; `Infinity` waits forever. */
  timeoutMs?: number;
}

/** A parsed stop reply (`S`, `T`, `W`, `X`). */
export type StopReply =
  | {
      kind: "signal";
      /** GDB signal number: 5 = SIGTRAP (step, breakpoint), 2 = SIGINT (^C, replay-break). */
      signal: number;
      thread?: string;
      /** Why it stopped, when the server says: `watch`, `rwatch`, `awatch`, `swbreak`, `hwbreak`, `replaylog`... */
      reason?: string;
      /** The value of the reason field (a watch address, `begin`/`end` for replaylog). */
      reasonValue?: string;
      /** Expedited registers `nn:value` by register number (hex value as sent, target byte order). */
      registers: Map<number, string>;
      /** Every `name:value` pair as sent. */
      fields: Map<string, string>;
      raw: string;
    }
  | { kind: "exited"; code: number; raw: string }
  | { kind: "terminated"; signal: number; raw: string }
  | { kind: "other"; raw: string };

const STOP_REASONS = new Set(["watch", "rwatch", "awatch", "swbreak", "hwbreak", "replaylog", "library", "fork", "vfork", "vforkdone", "exec", "create"]);

/** Parses a stop reply; throws {@link RspProtocolError} if it is malformed. */
export function parseStopReply(reply: string): StopReply {
  const c = reply[0];
  if (c === "S" || c === "T") {
    const sig = reply.slice(1, 3);
    if (!/^[0-9a-fA-F]{2}$/.test(sig)) throw new RspProtocolError(`bad signal in stop reply ${JSON.stringify(reply)}`);
    const out: StopReply = { kind: "signal", signal: parseInt(sig, 16), registers: new Map(), fields: new Map(), raw: reply };
    if (c === "T") {
      for (const part of reply.slice(3).split(";")) {
        if (part === "") continue;
        const colon = part.indexOf(":");
        const name = colon < 0 ? part : part.slice(0, colon);
        const value = colon < 0 ? "" : part.slice(colon + 1);
        out.fields.set(name, value);
        if (name === "thread") out.thread = value;
        else if (STOP_REASONS.has(name)) {
          out.reason = name;
          out.reasonValue = value;
        } else if (/^[0-9a-fA-F]+$/.test(name) && out.reason === undefined) {
          out.registers.set(parseInt(name, 16), value);
        }
      }
    }
    return out;
  }
  if (c === "W" || c === "X") {
    const code = reply.slice(1).split(";")[0];
    if (!/^[0-9a-fA-F]{1,2}$/.test(code)) throw new RspProtocolError(`bad exit reply ${JSON.stringify(reply)}`);
    return c === "W"
      ? { kind: "exited", code: parseInt(code, 16), raw: reply }
      : { kind: "terminated", signal: parseInt(code, 16), raw: reply };
  }
  return { kind: "other", raw: reply };
}

function looksLikeStop(reply: string): boolean {
  return /^(S[0-9a-fA-F]{2}$|T[0-9a-fA-F]{2}|[WX][0-9a-fA-F]{1,2}(;|$))/.test(reply);
}

/** Packets after which the target runs until a stop reply. */
function isResume(packet: string): boolean {
  return /^([cs][0-9a-fA-F]*|[CS][0-9a-fA-F]{2}(;[0-9a-fA-F]+)?|b[cs]|vCont;.*)$/.test(packet);
}

/** Packets answered by a stop reply. */
function expectsStopReply(packet: string): boolean {
  return isResume(packet) || packet === "?" || /^v(Attach|Run|Stopped)/.test(packet);
}

/** Commands whose reply can never legitimately start with `O` + hex, so console output is recognisable. */
function acceptsConsoleOutput(packet: string): boolean {
  return isResume(packet) || packet.startsWith("qRcmd,") || packet === "?";
}

// ---------------------------------------------------------------------------------------------------------
// Target descriptions

export interface RegisterInfo {
  name: string;
  /** GDB register number (`p`/`P` packets, expedited registers). */
  regnum: number;
  bitsize: number;
  type?: string;
  group?: string;
  /** Name of the `<feature>` that declares it, e.g. `org.gnu.gdb.aarch64.core`. */
  feature: string;
}

export interface TargetDescription {
  architecture?: string;
  /** All registers, sorted by regnum. */
  registers: RegisterInfo[];
  byName: Map<string, RegisterInfo>;
  byNumber: Map<number, RegisterInfo>;
  features: string[];
  /** The XML documents read: annex → text. */
  documents: Map<string, string>;
}

interface XmlTag {
  name: string;
  closing: boolean;
  selfClosing: boolean;
  attrs: Map<string, string>;
  /** Index just after the tag in the source text. */
  end: number;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case "lt": return "<";
      case "gt": return ">";
      case "amp": return "&";
      case "quot": return '"';
      case "apos": return "'";
      default: return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** The tags of an XML document, in order (comments, declarations and DOCTYPE skipped). Tolerant, not validating. */
function xmlTags(xml: string): XmlTag[] {
  const text = xml.replace(/<!--[\s\S]*?-->/g, "");
  const tags: XmlTag[] = [];
  const re = /<\s*(\/?)\s*([A-Za-z_][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)\s*>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const attrs = new Map<string, string>();
    const attrRe = /([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
    let a: RegExpExecArray | null;
    while ((a = attrRe.exec(m[3])) !== null) attrs.set(a[1], decodeEntities(a[2] ?? a[3] ?? ""));
    tags.push({ name: m[2], closing: m[1] === "/", selfClosing: m[4] === "/", attrs, end: re.lastIndex });
  }
  return tags;
}

function parseIntAttr(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^0x[0-9a-fA-F]+$/.test(value) ? parseInt(value, 16) : /^[0-9]+$/.test(value) ? parseInt(value, 10) : NaN;
  if (!Number.isFinite(n)) throw new RspProtocolError(`target description: bad ${what} ${JSON.stringify(value)}`);
  return n;
}

/**
 * Builds a target description from its root document and the documents it includes (`<xi:include href=..>`,
 * looked up in `documents` by href). Register numbers follow GDB's rule: an explicit `regnum`, else one more
 * than the previous register in document order (includes expanded in place), starting at 0.
 */
export function parseTargetDescription(rootAnnex: string, documents: Map<string, string>): TargetDescription {
  const registers: RegisterInfo[] = [];
  const features: string[] = [];
  let architecture: string | undefined;
  let next = 0;
  const visiting = new Set<string>();

  const walk = (annex: string) => {
    const xml = documents.get(annex);
    if (xml === undefined) throw new RspProtocolError(`target description: document ${annex} was not read`);
    if (visiting.has(annex)) throw new RspProtocolError(`target description: ${annex} includes itself`);
    visiting.add(annex);
    const text = xml.replace(/<!--[\s\S]*?-->/g, "");
    let feature = "";
    for (const tag of xmlTags(text)) {
      if (tag.closing) {
        if (tag.name === "feature") feature = "";
        continue;
      }
      switch (tag.name) {
        case "architecture": {
          const close = text.indexOf("</architecture>", tag.end);
          if (close >= 0) architecture = decodeEntities(text.slice(tag.end, close).trim());
          break;
        }
        case "xi:include": {
          const href = tag.attrs.get("href");
          if (!href) throw new RspProtocolError("target description: xi:include without href");
          walk(href);
          break;
        }
        case "feature":
          feature = tag.attrs.get("name") ?? "";
          features.push(feature);
          break;
        case "reg": {
          const name = tag.attrs.get("name");
          const bitsize = parseIntAttr(tag.attrs.get("bitsize"), "bitsize");
          if (!name || bitsize === undefined || bitsize <= 0) {
            throw new RspProtocolError("target description: <reg> needs a name and a positive bitsize");
          }
          const regnum = parseIntAttr(tag.attrs.get("regnum"), "regnum") ?? next;
          next = regnum + 1;
          registers.push({ name, regnum, bitsize, type: tag.attrs.get("type"), group: tag.attrs.get("group"), feature });
          break;
        }
      }
    }
    visiting.delete(annex);
  };
  walk(rootAnnex);

  registers.sort((a, b) => a.regnum - b.regnum);
  const byName = new Map<string, RegisterInfo>();
  const byNumber = new Map<number, RegisterInfo>();
  for (const r of registers) {
    if (!byName.has(r.name)) byName.set(r.name, r);
    byNumber.set(r.regnum, r);
  }
  return { architecture, registers, byName, byNumber, features, documents };
}

/**
 * Splits a `g` reply into registers using the description: registers are laid out by ascending regnum from 0,
 * each bitsize/8 bytes, until the reply ends (servers such as QEMU put only the core registers in `g`).
 * Unavailable registers (`xx..`) are left out.
 */
export function decodeRegisterBlock(tdesc: TargetDescription, hex: string): Map<string, bigint> {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-FxX]*$/.test(hex)) {
    throw new RspProtocolError(`register block is not hex (length ${hex.length})`);
  }
  // Fast path (the usual case, every lockstep step): no unavailable registers, decode from bytes.
  const bytes = /[xX]/.test(hex) ? undefined : Buffer.from(hex, "hex");
  const out = new Map<string, bigint>();
  let pos = 0;
  let expect = 0;
  for (const r of tdesc.registers) {
    if (pos >= hex.length || r.regnum !== expect) break;
    const len = Math.ceil(r.bitsize / 8) * 2;
    if (pos + len > hex.length) throw new RspProtocolError(`register block ends inside register ${r.name}`);
    let v: bigint | undefined;
    if (bytes && len === 16) v = bytes.readBigUInt64LE(pos / 2);
    else if (bytes && len === 8) v = BigInt(bytes.readUInt32LE(pos / 2));
    else v = decodeLittleEndian(hex.slice(pos, pos + len));
    if (v !== undefined) out.set(r.name, v);
    pos += len;
    expect++;
  }
  return out;
}

/** Registers present in a `g` reply of `hexLength` characters (regnum 0 upwards). */
function registersInBlock(tdesc: TargetDescription, hexLength: number): Set<string> {
  const names = new Set<string>();
  let pos = 0;
  let expect = 0;
  for (const r of tdesc.registers) {
    if (pos >= hexLength || r.regnum !== expect) break;
    names.add(r.name);
    pos += Math.ceil(r.bitsize / 8) * 2;
    expect++;
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------------
// The client

interface Waiter {
  packet: string;
  resolve: (reply: string) => void;
  reject: (err: Error) => void;
}

/** Packets that read a set of registers, and the decoder of their replies (see `planRegisterRead`). */
export interface RegisterReadPlan {
  packets: string[];
  decode(replies: string[]): Map<string, bigint>;
}

export type BreakpointType = 0 | 1 | 2 | 3 | 4; // sw, hw, write watch, read watch, access watch

/**
 * Events: `output` (console text from `O` packets), `stop` (an unsolicited stop reply), `notification`
 * (`%...` packet payload), `unexpected` (a reply nobody asked for), `close`.
 */
export class RspClient extends EventEmitter {
  private readonly parser = new RspStreamParser();
  private ackMode = true;
  private closed = false;
  private closeReason = "connection closed";
  private lastExit: StopReply | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private waiters: Waiter[] = [];
  private unacked: Buffer[] = [];
  private retransmits = 0;
  /** Replies still owed to commands that timed out: dropped when they arrive instead of answering the next. */
  private staleReplies = 0;
  private readonly timeoutMs: number;
  private readonly maxRetransmits: number;
  private readonly pipelineInAckMode: boolean;
  private running = false;

  /** Features from the last `qSupported` (value `true` for `name+`, false for `name-`). */
  features = new Map<string, string | boolean>();
  /** The target description, once read by `readTargetXml()`. */
  tdesc: TargetDescription | undefined;
  /** Largest packet the server accepts (from qSupported PacketSize), default 4096 like QEMU. */
  packetSize = 4096;
  /** Number of hex characters in the last `g` reply (lets `readRegisters` know what `g` covers). */
  private gLength: number | undefined;

  private constructor(private readonly socket: net.Socket, options: RspClientOptions) {
    super();
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxRetransmits = options.maxRetransmits ?? 5;
    this.pipelineInAckMode = options.pipelineInAckMode ?? false;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => {
      this.closeReason = `connection error: ${err.message}`;
    });
    socket.on("close", () => this.onClose());
  }

  /** Connects over TCP. Retries refused connections for `connectRetryMs`. */
  static async connect(host: string, port: number, options: RspClientOptions = {}): Promise<RspClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + (options.connectRetryMs ?? 0);
    for (;;) {
      try {
        const socket = await openSocket(() => net.connect({ host, port }), timeoutMs, `${host}:${port}`);
        return new RspClient(socket, options);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === "ECONNREFUSED" || code === "ECONNRESET") && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        throw err;
      }
    }
  }

  /** Connects to a unix socket (e.g. `-gdb unix:path,server=on`). */
  static async connectPath(path: string, options: RspClientOptions = {}): Promise<RspClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + (options.connectRetryMs ?? 0);
    for (;;) {
      try {
        return new RspClient(await openSocket(() => net.connect({ path }), timeoutMs, path), options);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === "ECONNREFUSED" || code === "ENOENT") && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        throw err;
      }
    }
  }

  /** True once the connection has closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True in no-ack mode (after a successful `QStartNoAckMode`). */
  get noAck(): boolean {
    return !this.ackMode;
  }

  /**
   * Sends one packet and resolves with the reply payload (latin1: one char per byte, run-length expanded,
   * escapes left in place). For `c`/`s`/`vCont;..` the reply is the stop reply.
   */
  cmd(packet: string, options: CmdOptions = {}): Promise<string> {
    return this.enqueue(async () => (await this.exchange([packet], options.timeoutMs))[0]);
  }

  /**
   * Sends several commands that do not resume the target, in one write when in no-ack mode (or with
   * `pipelineInAckMode`), and resolves with their replies in order; otherwise they go one by one.
   * Saves round trips (registers, memory).
   */
  pipeline(packets: string[], options: CmdOptions = {}): Promise<string[]> {
    for (const p of packets) {
      if (isResume(p)) throw new RspProtocolError(`cannot pipeline ${JSON.stringify(p)}: it resumes the target`);
    }
    if (packets.length === 0) return Promise.resolve([]);
    return this.enqueue(() => this.exchange(packets, options.timeoutMs));
  }

  /** Sends ^C: a running target stops and the pending `cont()`/`step()` resolves with its stop reply. */
  interrupt(): void {
    if (!this.closed) this.socket.write(Buffer.from([0x03]));
  }

  /** True between sending a resume packet and receiving its stop reply. */
  get isRunning(): boolean {
    return this.running;
  }

  /** `qSupported`: announces our features, records the server's (also in `features`, `packetSize`). */
  async qSupported(
    ours: string[] = ["multiprocess+", "swbreak+", "hwbreak+", "qRelocInsn+", "fork-events+", "vfork-events+", "exec-events+", "vContSupported+", "QThreadEvents+", "no-resumed+", "xmlRegisters=i386"],
  ): Promise<Map<string, string | boolean>> {
    const reply = await this.cmd(`qSupported:${ours.join(";")}`);
    const features = new Map<string, string | boolean>();
    for (const item of reply.split(";")) {
      if (item === "") continue;
      const eq = item.indexOf("=");
      if (eq >= 0) features.set(item.slice(0, eq), item.slice(eq + 1));
      else if (item.endsWith("+")) features.set(item.slice(0, -1), true);
      else if (item.endsWith("-") || item.endsWith("?")) features.set(item.slice(0, -1), false);
      else features.set(item, true);
    }
    const size = features.get("PacketSize");
    if (typeof size === "string" && /^[0-9a-fA-F]+$/.test(size)) this.packetSize = parseInt(size, 16);
    this.features = features;
    return features;
  }

  /** Switches to no-ack mode if the server agrees (`QStartNoAckMode`). Returns whether it did. */
  async startNoAckMode(): Promise<boolean> {
    return this.enqueue(async () => {
      const [reply] = await this.exchange(["QStartNoAckMode"]);
      if (reply === "OK") {
        this.ackMode = false;
        this.unacked = [];
        return true;
      }
      return false;
    });
  }

  /** Reads a whole `qXfer:<object>:read:<annex>` document, following `m` continuations. */
  async readXfer(object: string, annex: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let offset = 0;
    const chunk = Math.max(64, this.packetSize - 5);
    for (let guard = 0; guard < 100000; guard++) {
      const packet = `qXfer:${object}:read:${annex}:${offset.toString(16)},${chunk.toString(16)}`;
      const reply = await this.cmd(packet);
      if (reply === "") throw new RspCommandError(`the target does not support qXfer:${object}:read`, packet, reply);
      const kind = reply[0];
      if (kind !== "m" && kind !== "l") {
        throw new RspCommandError(`reading ${object} ${annex} failed: ${reply}`, packet, reply);
      }
      const data = unescapeBinary(Buffer.from(reply.slice(1), "latin1"));
      chunks.push(data);
      offset += data.length;
      if (kind === "l") return Buffer.concat(chunks);
      if (data.length === 0) throw new RspProtocolError(`qXfer ${annex}: 'm' reply without data`);
    }
    throw new RspProtocolError(`qXfer ${annex}: document too long`);
  }

  /**
   * Reads and parses the target description (`target.xml` and everything it includes). Stores it in `tdesc`.
   */
  async readTargetXml(annex = "target.xml"): Promise<TargetDescription> {
    const documents = new Map<string, string>();
    const load = async (name: string, depth: number): Promise<void> => {
      if (documents.has(name)) return;
      if (depth > 16) throw new RspProtocolError("target description includes nest too deeply");
      const text = (await this.readXfer("features", name)).toString("utf8");
      documents.set(name, text);
      for (const tag of xmlTags(text)) {
        const href = tag.name === "xi:include" ? tag.attrs.get("href") : undefined;
        if (href) await load(href, depth + 1);
      }
    };
    await load(annex, 0);
    this.tdesc = parseTargetDescription(annex, documents);
    return this.tdesc;
  }

  private async requireTdesc(): Promise<TargetDescription> {
    return this.tdesc ?? (await this.readTargetXml());
  }

  private lookupRegister(tdesc: TargetDescription, reg: number | string): RegisterInfo {
    const info = typeof reg === "number" ? tdesc.byNumber.get(reg) : tdesc.byName.get(reg);
    if (!info) throw new RspProtocolError(`unknown register ${JSON.stringify(reg)} in the target description`);
    return info;
  }

  /** `g`: the register block, decoded with the target description. */
  async readRegisterBlock(): Promise<Map<string, bigint>> {
    const tdesc = await this.requireTdesc();
    const reply = await this.cmd("g");
    if (/^E[0-9a-fA-F]{2}$/.test(reply) || reply === "") throw new RspCommandError(`reading registers failed: ${reply || "not supported"}`, "g", reply);
    this.gLength = reply.length;
    return decodeRegisterBlock(tdesc, reply);
  }

  /**
   * Reads registers into a map name → value. With `names`, reads those (one `g` if any is in the register block,
   * plus pipelined `p` packets for the others); without, every register in the target description.
   * Registers the target cannot read (`E..` or `xx`) are absent from the map.
   */
  async readRegisters(names?: string[]): Promise<Map<string, bigint>> {
    await this.requireTdesc();
    if (this.gLength === undefined) await this.readRegisterBlock();
    const plan = this.planRegisterRead(names);
    return plan.decode(await this.pipeline(plan.packets));
  }

  /**
   * For callers that batch reads with other packets in one `pipeline()`: the packets that read `names` (all
   * registers without) and how to decode their replies. Needs the target description and the `g` layout:
   * call `readRegisters()` once first.
   */
  planRegisterRead(names?: string[]): RegisterReadPlan {
    const tdesc = this.tdesc;
    if (!tdesc || this.gLength === undefined) {
      throw new RspProtocolError("planRegisterRead needs the target description and the g layout: call readRegisters() first");
    }
    const wanted = names ? names.map((n) => this.lookupRegister(tdesc, n)) : tdesc.registers;
    const inBlock = registersInBlock(tdesc, this.gLength);
    const viaP = wanted.filter((r) => !inBlock.has(r.name));
    const needG = wanted.some((r) => inBlock.has(r.name));
    const packets = [...(needG ? ["g"] : []), ...viaP.map((r) => `p${r.regnum.toString(16)}`)];
    const decode = (replies: string[]): Map<string, bigint> => {
      const out = new Map<string, bigint>();
      let i = 0;
      if (needG) {
        const g = replies[i++];
        if (/^E[0-9a-fA-F]{2}$/.test(g) || g === "") throw new RspCommandError(`reading registers failed: ${g || "not supported"}`, "g", g);
        this.gLength = g.length;
        const block = decodeRegisterBlock(tdesc, g);
        for (const r of wanted) {
          const v = block.get(r.name);
          if (v !== undefined) out.set(r.name, v);
        }
      }
      for (const r of viaP) {
        const reply = replies[i++];
        if (reply === undefined || reply === "" || /^E[0-9a-fA-F]{2}$/.test(reply)) continue;
        const v = decodeLittleEndian(reply);
        if (v !== undefined) out.set(r.name, v);
      }
      return out;
    };
    return { packets, decode };
  }

  /**
   * `p n`: one register by number or name. Without a target description the value is decoded from however many
   * bytes the server sends. Throws {@link RspCommandError} if the target cannot read it.
   */
  async readRegister(reg: number | string): Promise<bigint> {
    let regnum: number;
    if (typeof reg === "string") regnum = this.lookupRegister(await this.requireTdesc(), reg).regnum;
    else regnum = reg;
    const packet = `p${regnum.toString(16)}`;
    const reply = await this.cmd(packet);
    if (reply === "" || /^E[0-9a-fA-F]{2}$/.test(reply)) {
      throw new RspCommandError(`reading register ${reg} failed: ${reply || "not supported"}`, packet, reply);
    }
    const v = decodeLittleEndian(reply);
    if (v === undefined) throw new RspCommandError(`register ${reg} is unavailable`, packet, reply);
    return v;
  }

  /** `P n=value`: writes one register (size from the target description, or `byteLength`). */
  async writeRegister(reg: number | string, value: bigint, byteLength?: number): Promise<void> {
    const info = typeof reg === "number" && !this.tdesc ? undefined : this.lookupRegister(await this.requireTdesc(), reg);
    const regnum = info ? info.regnum : (reg as number);
    const bytes = byteLength ?? (info ? Math.ceil(info.bitsize / 8) : 8);
    const packet = `P${regnum.toString(16)}=${encodeLittleEndian(value, bytes)}`;
    this.expectOk(packet, await this.cmd(packet), `writing register ${reg}`);
  }

  /** `m addr,len`: reads memory, split into packets that fit. Throws {@link RspCommandError} on `E..`. */
  async readMemory(addr: bigint | number, length: number): Promise<Buffer> {
    const max = Math.max(16, Math.floor((this.packetSize - 8) / 2));
    const packets: string[] = [];
    const base = BigInt(addr);
    for (let off = 0; off < length; off += max) {
      packets.push(`m${formatHexNumber(base + BigInt(off))},${Math.min(max, length - off).toString(16)}`);
    }
    const replies = await this.pipeline(packets);
    const parts = replies.map((reply, k) => {
      if (reply === "" || /^E[0-9a-fA-F]{2}$/.test(reply) || !isHex(reply)) {
        throw new RspCommandError(`reading memory at ${packets[k].slice(1).split(",")[0]} failed: ${reply || "no data"}`, packets[k], reply);
      }
      return hexToBytes(reply);
    });
    return Buffer.concat(parts);
  }

  /** `M addr,len:hex`: writes memory. */
  async writeMemory(addr: bigint | number, data: Uint8Array): Promise<void> {
    const max = Math.max(16, Math.floor((this.packetSize - 40) / 2));
    const base = BigInt(addr);
    for (let off = 0; off < data.length; off += max) {
      const part = data.subarray(off, Math.min(data.length, off + max));
      const packet = `M${formatHexNumber(base + BigInt(off))},${part.length.toString(16)}:${Buffer.from(part).toString("hex")}`;
      this.expectOk(packet, await this.cmd(packet), "writing memory");
    }
  }

  /** `?`: why the target is stopped. */
  async haltReason(): Promise<StopReply> {
    return parseStopReply(await this.cmd("?"));
  }

  /** `s`: one instruction; resolves with the stop reply (an exit `W..` if the machine powered off). */
  async step(options: CmdOptions = {}): Promise<StopReply> {
    return parseStopReply(await this.cmd("s", options));
  }

  /** `c`: runs until a stop (breakpoint, ^C via `interrupt()`, exit). Waits without a limit by default. */
  async cont(options: CmdOptions = {}): Promise<StopReply> {
    return parseStopReply(await this.cmd("c", { timeoutMs: options.timeoutMs ?? Infinity }));
  }

  /** `bs`: reverse step (record/replay servers). */
  async reverseStep(options: CmdOptions = {}): Promise<StopReply> {
    return parseStopReply(await this.cmd("bs", options));
  }

  /** `bc`: reverse continue. Waits without a limit by default. */
  async reverseCont(options: CmdOptions = {}): Promise<StopReply> {
    return parseStopReply(await this.cmd("bc", { timeoutMs: options.timeoutMs ?? Infinity }));
  }

  /** `Z type,addr,kind` (kind: 4 for an AArch64 instruction, the length for a watchpoint). */
  async setBreakpoint(type: BreakpointType, addr: bigint | number, kind: number): Promise<void> {
    const packet = `Z${type},${formatHexNumber(addr)},${kind.toString(16)}`;
    this.expectOk(packet, await this.cmd(packet), `setting breakpoint type ${type}`);
  }

  /** `z type,addr,kind`. */
  async removeBreakpoint(type: BreakpointType, addr: bigint | number, kind: number): Promise<void> {
    const packet = `z${type},${formatHexNumber(addr)},${kind.toString(16)}`;
    this.expectOk(packet, await this.cmd(packet), `removing breakpoint type ${type}`);
  }

  /** `qRcmd`: a monitor command; resolves with its console output. */
  async monitor(command: string): Promise<string> {
    let text = "";
    const onOutput = (s: string) => (text += s);
    this.on("output", onOutput);
    try {
      const packet = `qRcmd,${textToHex(command)}`;
      const reply = await this.cmd(packet);
      if (reply === "" || /^E[0-9a-fA-F]{2}$/.test(reply)) throw new RspCommandError(`monitor command failed: ${reply || "not supported"}`, packet, reply);
      if (reply !== "OK" && isHex(reply)) text += hexToText(reply);
      return text;
    } finally {
      this.off("output", onOutput);
    }
  }

  /** Closes the connection; pending commands fail with {@link RspConnectionClosedError}. */
  close(): void {
    if (this.closed) return;
    this.closeReason = "connection closed by the client";
    this.socket.destroy();
    this.onClose();
  }

  /** Sends `k` (kill) without waiting for a reply, then closes. */
  kill(): void {
    if (!this.closed) this.socket.write(encodePacket("k"));
    this.close();
  }

  // -------------------------------------------------------------------------------------------------------

  private expectOk(packet: string, reply: string, what: string): void {
    if (reply === "OK") return;
    throw new RspCommandError(`${what} failed: ${reply === "" ? "not supported by the target" : reply}`, packet, reply);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const p = this.chain.then(job);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Writes the packets and waits for their replies (and acks in ack mode, one packet at a time). */
  private async exchange(packets: string[], timeoutMs = this.timeoutMs): Promise<string[]> {
    if (this.closed) throw new RspConnectionClosedError(this.closeReason, this.lastExit);
    if (this.ackMode && packets.length > 1 && !this.pipelineInAckMode) {
      const out: string[] = [];
      for (const p of packets) out.push(...(await this.exchange([p], timeoutMs)));
      return out;
    }
    const frames = packets.map((p) => encodePacket(escapeCommand(p)));
    const replies = packets.map(
      (packet) =>
        new Promise<string>((resolve, reject) => {
          this.waiters.push({ packet, resolve, reject });
        }),
    );
    const resume = packets.length === 1 && isResume(packets[0]);
    if (this.ackMode) {
      // Commands run one at a time, so only this exchange's packets can still be waiting for an ack.
      this.unacked = [...frames];
      this.retransmits = 0;
    }
    if (resume) this.running = true;
    this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(replies);
    try {
      if (!Number.isFinite(timeoutMs)) return await all;
      return await Promise.race([
        all,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // The replies may still come: drop them then, so they do not answer later commands.
            // Only this exchange has waiters (commands run one at a time).
            this.staleReplies += this.waiters.length;
            this.waiters = [];
            this.unacked = [];
            reject(new RspTimeoutError(`no reply to ${describePacket(packets[0])} within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
      if (resume) this.running = false;
    }
  }

  private onData(chunk: Buffer): void {
    // Acks for this chunk's packets go out in one write, before anything the packets trigger.
    let acks = "";
    const flushAcks = () => {
      if (acks && !this.closed) this.socket.write(acks);
      acks = "";
    };
    for (const ev of this.parser.push(chunk)) {
      switch (ev.type) {
        case "ack":
          this.unacked.shift();
          this.retransmits = 0;
          break;
        case "nack": {
          const frame = this.unacked[0];
          if (!frame) break;
          if (++this.retransmits > this.maxRetransmits) {
            this.failAll(new RspProtocolError(`the server rejected a packet ${this.retransmits} times (bad line?)`));
          } else {
            this.socket.write(frame);
          }
          break;
        }
        case "packet":
          if (!ev.checksumOk) {
            if (this.ackMode) acks += "-";
            else this.failAll(new RspProtocolError("received a packet with a bad checksum in no-ack mode"));
            break;
          }
          if (this.ackMode) acks += "+";
          this.onPacket(ev.payload.toString("latin1"));
          break;
        case "notification":
          if (ev.checksumOk) this.emit("notification", ev.payload.toString("latin1"));
          break;
        case "interrupt":
        case "junk":
          break; // a server never sends ^C; stray bytes between packets are ignored like GDB does
      }
    }
    flushAcks();
  }

  private onPacket(payload: string): void {
    const waiter = this.waiters[0];
    if (payload.length > 1 && payload[0] === "O" && isHex(payload.slice(1)) && (!waiter || acceptsConsoleOutput(waiter.packet))) {
      this.emit("output", hexToText(payload.slice(1)));
      return;
    }
    if (/^[WX][0-9a-fA-F]{1,2}(;|$)/.test(payload)) {
      try {
        this.lastExit = parseStopReply(payload);
      } catch {
        /* keep going: the waiter gets the raw text */
      }
    }
    if (waiter && !expectsStopReply(waiter.packet) && looksLikeStop(payload)) {
      // An asynchronous stop (QEMU sends `W00` when the guest powers off, whatever is pending).
      this.emitStop(payload);
      return;
    }
    if (this.staleReplies > 0) {
      this.staleReplies--;
      return;
    }
    if (!waiter) {
      if (looksLikeStop(payload)) this.emitStop(payload);
      else this.emit("unexpected", payload);
      return;
    }
    this.waiters.shift();
    waiter.resolve(payload);
  }

  private emitStop(payload: string): void {
    try {
      this.emit("stop", parseStopReply(payload));
    } catch {
      this.emit("unexpected", payload);
    }
  }

  private failAll(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    this.unacked = [];
    for (const w of waiters) w.reject(err);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const exit = this.lastExit;
    const reason = exit && exit.kind !== "other" ? `the target exited (${exit.raw})` : this.closeReason;
    this.failAll(new RspConnectionClosedError(reason, exit));
    this.emit("close");
  }
}

/** `X addr,len:data` carries binary data: escape it; every other command is plain ASCII. */
function escapeCommand(packet: string): Buffer {
  const colon = packet.startsWith("X") ? packet.indexOf(":") : -1;
  if (colon < 0) return Buffer.from(packet, "latin1");
  return Buffer.concat([
    Buffer.from(packet.slice(0, colon + 1), "latin1"),
    escapeBinary(Buffer.from(packet.slice(colon + 1), "latin1")),
  ]);
}

function describePacket(p: string): string {
  return JSON.stringify(p.length > 40 ? p.slice(0, 40) + "..." : p);
}

function openSocket(make: () => net.Socket, timeoutMs: number, where: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = make();
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          socket.destroy();
          reject(new RspTimeoutError(`could not connect to ${where} within ${timeoutMs} ms`));
        }, timeoutMs)
      : undefined;
    socket.once("connect", () => {
      if (timer) clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
  });
}

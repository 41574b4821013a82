/**
 * `-chardev` and the legacy chardev strings of `-serial`, `-monitor`, `-qmp` and `-gdb` ("stdio", "file:PATH",
 * "tcp:HOST:PORT,server=on", "unix:PATH,...", "mon:stdio"), turned into ChardevSpecs exactly as QEMU's
 * qemu_chr_parse_compat() and qemu_chr_parse_socket() read them.
 *
 * Deliberate difference from QEMU (DESIGN.md §5): a TCP address without a host (`tcp::1234`, `host=`, or a
 * `port=` without `host=`) means 127.0.0.1, not every interface.
 */

import { DEFAULT_TCP_HOST, type ChardevSpec, type SocketAddressSpec } from "../chardev/spec.js";
import { isQemuId, ParamSet, splitParams, type OptParam } from "./option-syntax.js";

/** How the chardev parsers report problems: `fail` throws an OptionError naming the option. */
export interface ChardevParseContext {
  fail(detail: string): never;
  warn(text: string): void;
}

const SUPPORTED_BACKENDS = ["stdio", "file", "socket", "null", "pipe"] as const;

/** Backends QEMU has that Rewind does not: they get "not supported" rather than "not a valid char driver". */
const QEMU_ONLY_BACKENDS = [
  "pty", "vc", "udp", "serial", "tty", "parallel", "parport", "ringbuf", "memory", "msmouse", "wctablet",
  "braille", "testdev", "spicevmc", "spiceport", "qemu-vdagent", "dbus", "console", "mux",
];

/** Every key QEMU's chardev option list knows (QEMU accepts all of them for every backend). */
const CHARDEV_KEYS = [
  "backend", "id", "path", "input-path", "host", "port", "server", "wait", "delay", "nodelay", "mux", "signal",
  "append", "logfile", "logappend",
  // accepted with their harmless values only; see NOT_SUPPORTED_WHEN_ON and the checks below
  "telnet", "tn3270", "websocket", "ipv4", "ipv6", "tight", "abstract",
];

/** Keys QEMU knows that Rewind rejects whatever their value. */
const CHARDEV_UNSUPPORTED_KEYS = [
  "fd", "localaddr", "localport", "to", "reconnect", "reconnect-ms", "tls-creds", "tls-authz", "width",
  "height", "cols", "rows", "name", "debug", "size", "chardev", "mouse", "clipboard",
];

/** Boolean keys that are fine when off but name features Rewind lacks when on. */
const NOT_SUPPORTED_WHEN_ON = ["telnet", "tn3270", "websocket", "abstract", "ipv4", "ipv6"];

/** Parses the text of `-chardev` ("socket,id=x,path=...") into a spec. */
export function parseChardevOption(text: string, ctx: ChardevParseContext): ChardevSpec {
  return buildChardev(splitParams(text, "backend"), ctx);
}

/** Builds a chardev from QemuOpts-style parameters; `forcedId` names chardevs made by legacy options. */
export function buildChardev(params: readonly OptParam[], ctx: ChardevParseContext, forcedId?: string): ChardevSpec {
  const p = new ParamSet(ctx.fail, params, CHARDEV_KEYS, ctx.warn, CHARDEV_UNSUPPORTED_KEYS);
  const backend = p.str("backend");
  if (backend === undefined || backend === "") {
    ctx.fail(`missing backend (one of ${SUPPORTED_BACKENDS.join(", ")})`);
  }
  if (QEMU_ONLY_BACKENDS.includes(backend)) {
    ctx.fail(`chardev backend '${backend}' is not supported by Rewind (supported: ${SUPPORTED_BACKENDS.join(", ")})`);
  }
  if (!(SUPPORTED_BACKENDS as readonly string[]).includes(backend)) {
    ctx.fail(`'${backend}' is not a valid char driver name (supported: ${SUPPORTED_BACKENDS.join(", ")})`);
  }
  const id = forcedId ?? p.str("id");
  if (id === undefined) ctx.fail("no id specified (id=...)");
  if (!isQemuId(id)) {
    ctx.fail(`parameter 'id' expects an identifier (letters, digits, '-', '.', '_', starting with a letter), got '${id}'`);
  }
  for (const key of NOT_SUPPORTED_WHEN_ON) {
    if (p.bool(key, false)) ctx.fail(`parameter '${key}=on' is not supported by Rewind`);
  }
  p.bool("tight");
  const common = { id, mux: p.bool("mux", false), logfile: p.str("logfile"), logappend: p.bool("logappend", false) };
  if (common.logfile === "") ctx.fail("logfile: no filename given");
  if (common.logfile === undefined) delete common.logfile;

  switch (backend) {
    case "stdio":
      return { backend, ...common, signal: p.bool("signal", true) };
    case "null":
      return { backend, ...common };
    case "file": {
      const path = p.str("path");
      if (!path) ctx.fail("file: no filename given (path=...)");
      const inputPath = p.str("input-path");
      if (inputPath === "") ctx.fail("file: empty input-path");
      return { backend, ...common, path, append: p.bool("append", false), ...(inputPath ? { inputPath } : {}) };
    }
    case "pipe": {
      const path = p.str("path");
      if (!path) ctx.fail("pipe: no device path given (path=...)");
      return { backend, ...common, path };
    }
    default:
      return buildSocket(p, common, ctx);
  }
}

function buildSocket(
  p: ParamSet,
  common: { id: string; mux: boolean; logfile?: string; logappend: boolean },
  ctx: ChardevParseContext,
): ChardevSpec {
  const path = p.str("path");
  const host = p.str("host");
  const port = p.str("port");
  if (path !== undefined && host !== undefined) ctx.fail("socket: give either 'path' (unix) or 'host' (TCP), not both");
  let address: SocketAddressSpec;
  if (path !== undefined) {
    if (path === "") ctx.fail("socket: empty unix socket path");
    if (port !== undefined) ctx.fail("socket: 'port' does not apply to a unix socket (path=...)");
    address = { type: "unix", path };
  } else if (port !== undefined) {
    address = { type: "inet", host: host ? host : DEFAULT_TCP_HOST, port: parsePort(port, ctx) };
  } else if (host !== undefined) {
    ctx.fail("socket: no port given (port=...)");
  } else {
    ctx.fail("socket: no address given: use path=PATH (unix) or host=HOST,port=PORT (TCP)");
  }
  const server = p.bool("server", false);
  if (!server && p.has("wait")) ctx.fail("'wait' option is incompatible with socket in client connect mode");
  if (p.has("delay") && p.has("nodelay")) ctx.fail("'delay' and 'nodelay' are mutually exclusive");
  const nodelay = !p.bool("delay", true) || p.bool("nodelay", false);
  return { backend: "socket", ...common, address, server, wait: server ? p.bool("wait", true) : false, nodelay };
}

export function parsePort(text: string, ctx: { fail(detail: string): never }): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    ctx.fail(`invalid port '${text}' (expected a number from 0 to 65535)`);
  }
  return Number(text);
}

/** The outcome of a legacy chardev string: a reference to a -chardev, or new chardev parameters. */
export type CompatChardev = { kind: "ref"; id: string } | { kind: "params"; params: OptParam[] };

/**
 * Reads a legacy string (`-serial`, `-monitor`, `-qmp`, `-gdb`) into chardev parameters, as QEMU's
 * qemu_chr_parse_compat(): "chardev:ID", "mon:" prefix (mux with a monitor; only where `permitMux`),
 * "stdio", "null", "file:PATH" (verbatim, no comma escaping), "pipe:PATH", "tcp:[HOST]:PORT[,opts]",
 * "unix:PATH[,opts]". "none" is handled by the callers, each in its own way.
 */
export function parseCompatChardev(text: string, permitMux: boolean, ctx: ChardevParseContext): CompatChardev {
  if (text.startsWith("chardev:")) {
    const id = text.slice("chardev:".length);
    if (id === "") ctx.fail("'chardev:' needs a chardev id");
    return { kind: "ref", id };
  }
  const params: OptParam[] = [];
  const set = (key: string, value: string) => params.push({ key, value, shortForm: false });
  let rest = text;
  if (rest.startsWith("mon:")) {
    if (!permitMux) ctx.fail("mon: isn't supported in this context");
    rest = rest.slice(4);
    set("mux", "on");
    // A monitor muxed on stdio passes Ctrl-C to the guest (what -nographic has always done).
    if (rest === "stdio") set("signal", "off");
  }
  if (rest === "stdio" || rest === "null") {
    params.unshift({ key: "backend", value: rest, shortForm: false });
    return { kind: "params", params };
  }
  const prefixed = (prefix: string) => (rest.startsWith(prefix) ? rest.slice(prefix.length) : undefined);
  const file = prefixed("file:");
  if (file !== undefined) {
    params.unshift({ key: "backend", value: "file", shortForm: false }, { key: "path", value: file, shortForm: false });
    return { kind: "params", params };
  }
  const pipe = prefixed("pipe:");
  if (pipe !== undefined) {
    params.unshift({ key: "backend", value: "pipe", shortForm: false }, { key: "path", value: pipe, shortForm: false });
    return { kind: "params", params };
  }
  const tcp = prefixed("tcp:");
  if (tcp !== undefined) {
    const m = /^(\[[^\]]*\]|[^:,]*):([^,]*)(?:,(.*))?$/s.exec(tcp);
    if (!m || m[2] === "") ctx.fail(`invalid address '${text}' (expected tcp:[HOST]:PORT)`);
    const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
    params.unshift(
      { key: "backend", value: "socket", shortForm: false },
      { key: "host", value: host, shortForm: false },
      { key: "port", value: m[2]!, shortForm: false },
    );
    if (m[3] !== undefined) params.push(...splitParams(m[3]));
    return { kind: "params", params };
  }
  const unix = prefixed("unix:");
  if (unix !== undefined) {
    params.unshift({ key: "backend", value: "socket", shortForm: false });
    params.push(...splitParams(unix, "path"));
    return { kind: "params", params };
  }
  for (const qemuOnly of ["telnet:", "websocket:", "tn3270:", "udp:", "pty", "vc", "con:", "COM", "/dev/", "msmouse", "braille", "wctablet", "testdev"]) {
    if (rest.startsWith(qemuOnly)) {
      ctx.fail(`character device '${text}' is not supported by Rewind (supported: stdio, null, none, file:PATH, pipe:PATH, tcp:[HOST]:PORT, unix:PATH, chardev:ID, mon:stdio)`);
    }
  }
  ctx.fail(`'${text}' is not a valid char driver`);
}

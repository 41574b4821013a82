/**
 * What a character device is, as parsed from `-chardev` (and from the legacy strings of `-serial`, `-monitor`,
 * `-qmp` and `-gdb`, which become chardevs too, as in QEMU). Pure data: the CLI produces it, `openChardev`
 * turns it into a live backend.
 */

interface ChardevCommon {
  /** Unique id (`id=`); generated for legacy options: "serial0", "compat_monitor0", "gdb". */
  id: string;
  /** Several front ends (serial + monitor) share it through QEMU's mux and its Ctrl-A escapes. */
  mux: boolean;
  /** Copy of everything written to the device (output only, as QEMU). */
  logfile?: string;
  /** Append to `logfile` instead of truncating it. */
  logappend: boolean;
}

export interface StdioChardevSpec extends ChardevCommon {
  backend: "stdio";
  /** Ctrl-C (and Ctrl-\) on a terminal signal Rewind instead of reaching the guest (QEMU `signal=`). */
  signal: boolean;
}

export interface NullChardevSpec extends ChardevCommon {
  backend: "null";
}

export interface FileChardevSpec extends ChardevCommon {
  backend: "file";
  /** Output file: created if missing, truncated unless `append` (QEMU's default is to truncate). */
  path: string;
  append: boolean;
  /** Optional input file whose contents are received once, as QEMU's `input-path`. */
  inputPath?: string;
}

export interface PipeChardevSpec extends ChardevCommon {
  backend: "pipe";
  /** FIFO base name: `path.in` and `path.out` when both exist, else `path` for both directions. */
  path: string;
}

export type SocketAddressSpec = { type: "inet"; host: string; port: number } | { type: "unix"; path: string };

export interface SocketChardevSpec extends ChardevCommon {
  backend: "socket";
  address: SocketAddressSpec;
  /** Listen (server=on) or connect (server=off, QEMU's default for -chardev). */
  server: boolean;
  /** Server only: block start-up until the first client connects (QEMU's default when server=on). */
  wait: boolean;
  /** TCP_NODELAY on the connection. */
  nodelay: boolean;
}

export type ChardevSpec = StdioChardevSpec | NullChardevSpec | FileChardevSpec | PipeChardevSpec | SocketChardevSpec;

export type ChardevBackendName = ChardevSpec["backend"];

/** The default host for a TCP listener or client written without one (`tcp::1234`): loopback, see DESIGN §5. */
export const DEFAULT_TCP_HOST = "127.0.0.1";

/** A short description in QEMU's style, e.g. "tcp:127.0.0.1:1234,server=on" or "unix:/tmp/q.sock". */
export function describeChardev(spec: ChardevSpec): string {
  switch (spec.backend) {
    case "stdio":
    case "null":
      return spec.backend;
    case "file":
      return `file:${spec.path}`;
    case "pipe":
      return `pipe:${spec.path}`;
    case "socket": {
      const a = spec.address;
      const where = a.type === "unix" ? `unix:${a.path}` : `tcp:${formatHost(a.host)}:${a.port}`;
      return spec.server ? `${where},server=on` : where;
    }
  }
}

/** Brackets an IPv6 literal so that "host:port" stays readable. */
export function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

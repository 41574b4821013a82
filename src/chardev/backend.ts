/**
 * The host side of a character device (serial console, monitor, GDB stub link): one small interface over
 * stdio, files, sockets, FIFOs and the null device.
 *
 * Determinism (DESIGN.md §2): a backend never touches the guest. Bytes that arrive from the host are queued in
 * an InputPort and handed, in arrival order, to the one receiver callback. For a guest-facing device that
 * receiver is the machine's input path, which decides at which icount the guest observes them (recording them
 * in record mode) or ignores them (replay mode, where the recorded bytes are delivered instead). Nothing here
 * calls into a device, reads guest state or depends on when the host delivers data.
 */

export type CharEvent =
  /** A peer is there: a client connected to a server socket, a client socket connected, a file opened. */
  | "opened"
  /** The peer went away (client disconnected, end of input). */
  | "closed"
  /** Ctrl-A b on a mux: a serial BREAK (magic SysRq for Linux). */
  | "break"
  /** This front end of a mux got / lost the keyboard (Ctrl-A c). */
  | "mux-in"
  | "mux-out";

export type CharReceiver = (data: Uint8Array) => void;
export type CharEventListener = (event: CharEvent) => void;

export interface CharBackend {
  /** The chardev id this backend serves (mux ports: "<id>/<label>"). */
  readonly id: string;
  /**
   * Sends bytes to the host. Never blocks on a peer and never throws for I/O problems: like QEMU, output with
   * no one connected (a server socket without a client) is dropped, and write errors are reported once through
   * the environment's `info` and then ignored. The bytes are copied; the caller may reuse its buffer.
   */
  write(data: Uint8Array): void;
  /**
   * Sets where received bytes (and events) go. Until a receiver is set, received bytes are queued (reading from
   * the host pauses while more than 64 KiB wait). Queued bytes are delivered on a later turn of the event loop,
   * never from inside this call. If the backend is connected when a listener is set, the listener first gets
   * "opened" (QEMU does the same when a front end attaches). `null` detaches.
   */
  setReceiver(receiver: CharReceiver | null, onEvent?: CharEventListener): void;
  /** Flow control from the consumer: stop handing over bytes (and stop reading the host) until resumeInput. */
  pauseInput(): void;
  resumeInput(): void;
  /** Whether a peer is there (always true for stdio, file, null, pipe). */
  readonly connected: boolean;
  /** QEMU-style description, e.g. "tcp:127.0.0.1:1234,server=on <-> 127.0.0.1:40000". */
  describe(): string;
  /** Releases everything (sockets, files, the terminal mode). Idempotent. */
  close(): Promise<void>;
}

/** An open or I/O failure of a chardev, with a message a user can act on (QEMU's wording where it has one). */
export class ChardevError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChardevError";
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  EEXIST: "File exists",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ENOTFOUND: "Name or service not known",
  EAI_AGAIN: "Temporary failure in name resolution",
  EROFS: "Read-only file system",
  ENOSPC: "No space left on device",
  EPIPE: "Broken pipe",
  ENAMETOOLONG: "File name too long",
  EINVAL: "Invalid argument",
};

/** strerror()-style text for a Node system error. */
export function errnoText(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && ERRNO_TEXT[code]) return ERRNO_TEXT[code]!;
  return e instanceof Error ? e.message : String(e);
}

/** Something that can stop and restart reading from the host (a socket, stdin). */
export interface InputSource {
  pause(): void;
  resume(): void;
}

type QueueItem = Uint8Array | CharEvent;

/**
 * The receive side every backend shares: an ordered queue of received bytes and events, handed to the
 * receiver as soon as it can take them, with back-pressure on the host source.
 */
export class InputPort {
  private queue: QueueItem[] = [];
  private queuedBytes = 0;
  private receiver: CharReceiver | null = null;
  private onEvent: CharEventListener | undefined;
  private consumerPaused = false;
  private sourcePaused = false;
  private flushScheduled = false;
  private delivering = false;
  private isOpen = false;
  private closed = false;

  constructor(
    private source: InputSource | undefined = undefined,
    private readonly highWater = 64 * 1024,
  ) {}

  /** Replaces the source to throttle (a socket server's current client). */
  setSource(source: InputSource | undefined): void {
    this.source = source;
    this.sourcePaused = false;
    this.updateSource();
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** Bytes from the host. Copied, so the caller may reuse its buffer. */
  push(data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    this.enqueue(Uint8Array.prototype.slice.call(data));
  }

  /** An event from the backend ("opened", "closed", "break", ...). */
  event(e: CharEvent): void {
    if (this.closed) return;
    // "opened"/"closed" describe a state: repeating the current one is not news.
    if (e === "opened") {
      if (this.isOpen) return;
      this.isOpen = true;
    }
    if (e === "closed") {
      if (!this.isOpen) return;
      this.isOpen = false;
    }
    if (!this.receiver && !this.onEvent) return; // attach() announces the current state instead
    this.enqueue(e);
  }

  attach(receiver: CharReceiver | null, onEvent?: CharEventListener): void {
    this.receiver = receiver;
    this.onEvent = receiver || onEvent ? onEvent : undefined;
    if (!receiver && !onEvent) return this.updateSource();
    // A new consumer learns the current state first, not the history it missed.
    this.queue = this.queue.filter((item) => typeof item !== "string");
    if (this.isOpen && this.onEvent) this.queue.unshift("opened");
    this.scheduleFlush();
  }

  pause(): void {
    this.consumerPaused = true;
    this.updateSource();
  }

  resume(): void {
    this.consumerPaused = false;
    this.scheduleFlush();
  }

  /** Drops everything and ignores later input. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.receiver = null;
    this.onEvent = undefined;
  }

  private enqueue(item: QueueItem): void {
    if (typeof item !== "string") this.queuedBytes += item.length;
    this.queue.push(item);
    // Deliver synchronously from the I/O callback when nothing is waiting ahead of this item.
    if (this.queue.length === 1 && !this.flushScheduled && !this.delivering) this.flush();
    else this.updateSource();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0]!;
        if (typeof head === "string") {
          this.queue.shift();
          this.onEvent?.(head);
          continue;
        }
        if (!this.receiver || this.consumerPaused) break;
        this.queue.shift();
        this.queuedBytes -= head.length;
        this.receiver(head);
      }
    } finally {
      this.delivering = false;
      this.updateSource();
    }
  }

  private updateSource(): void {
    const shouldPause = !this.closed && (this.consumerPaused || this.queuedBytes > this.highWater);
    if (shouldPause === this.sourcePaused || !this.source) return;
    this.sourcePaused = shouldPause;
    if (shouldPause) this.source.pause();
    else this.source.resume();
  }
}

/** Options every backend may need from its surroundings; tests pass their own streams. */
export interface ChardevEnv {
  /** Default process.stdin. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** Default process.stdout. */
  stdout?: NodeJS.WritableStream;
  /** Informational messages (waiting for a connection, write errors). Default: a line on stderr. */
  info?: (message: string) => void;
  /** Ctrl-A x on a mux, `quit` in the monitor stub. Default: exit the process (the terminal is restored). */
  onQuit?: () => void;
  /** Install exit/signal handlers that restore the terminal (default true; tests may turn it off). */
  handleSignals?: boolean;
}

export function defaultInfo(message: string): void {
  process.stderr.write(`rewind: ${message}\n`);
}

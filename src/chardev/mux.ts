import { InputPort, type CharBackend, type CharEvent, type CharEventListener, type CharReceiver } from "./backend.js";

/** Ctrl-A, QEMU's default escape character. */
export const DEFAULT_ESCAPE_CHAR = 0x01;

export interface MuxHooks {
  /** Ctrl-A x. */
  onQuit(): void;
  /** Ctrl-A s: QEMU commits -snapshot drives; absent = nothing to do. */
  onCommitDisks?(): void;
  escapeChar?: number;
  /** Host time for Ctrl-A t timestamps (display only, never guest-visible). Default Date.now. */
  now?: () => number;
}

/** QEMU's mux_help text, with the escape character filled in. */
export function muxHelpText(escapeChar = DEFAULT_ESCAPE_CHAR): string {
  const esc = escapeChar > 0 && escapeChar < 26 ? `C-${String.fromCharCode(escapeChar - 1 + 97)}` : "Escape-Char";
  const head = escapeChar > 0 && escapeChar < 26 ? "\n\r" : `\n\rEscape-Char set to Ascii: 0x${escapeChar.toString(16).padStart(2, "0")}\n\r\n\r`;
  return (
    head +
    [
      "% h    print this help\n\r",
      "% x    exit emulator\n\r",
      "% s    save disk data back to file (if -snapshot)\n\r",
      "% t    toggle console timestamps\n\r",
      "% b    send break (magic sysrq)\n\r",
      "% c    switch between console and monitor\n\r",
      "% %  sends %\n\r",
    ]
      .join("")
      .replace(/%/g, esc)
  );
}

/**
 * QEMU's mux chardev: several front ends (a serial port, the monitor) share one backend. Output from every
 * front end goes to the backend; input goes to the front end that has the focus, after the escape sequences:
 * Ctrl-A h help, x quit, s commit disks, t timestamps, b break, c next front end, Ctrl-A Ctrl-A a literal
 * Ctrl-A. An unknown key after Ctrl-A is dropped, as in QEMU.
 *
 * Focus follows QEMU: each newly attached front end takes it, so attach the monitor first and the serial
 * port last (QEMU creates the monitor with the chardev and the serial port with the machine).
 */
export class MuxBackend {
  private readonly ports: MuxPort[] = [];
  private focus = -1;
  private gotEscape = false;
  private timestamps = false;
  private timestampsStart = -1;
  private lineStart = false;
  private readonly escapeChar: number;

  constructor(
    readonly base: CharBackend,
    private readonly hooks: MuxHooks,
  ) {
    this.escapeChar = hooks.escapeChar ?? DEFAULT_ESCAPE_CHAR;
    base.setReceiver(
      (data) => this.receive(data),
      (event) => this.baseEvent(event),
    );
  }

  get id(): string {
    return this.base.id;
  }

  /** A new front end; it takes the focus. */
  attach(label: string): MuxPort {
    const port = new MuxPort(this, `${this.base.id}/${label}`);
    this.ports.push(port);
    if (this.base.connected) port.input.event("opened");
    this.setFocus(port);
    return port;
  }

  /** Gives the keyboard to `port` (Ctrl-A c cycles). */
  setFocus(port: MuxPort): void {
    const next = this.ports.indexOf(port);
    if (next < 0 || next === this.focus) return;
    this.ports[this.focus]?.input.event("mux-out");
    this.focus = next;
    this.base.resumeInput(); // a pause belonged to the previous front end
    port.input.event("mux-in");
  }

  focused(): MuxPort | undefined {
    return this.ports[this.focus];
  }

  async close(): Promise<void> {
    for (const p of this.ports) p.input.close();
    await this.base.close();
  }

  /** @internal output from a front end */
  writeFrom(data: Uint8Array): void {
    if (!this.timestamps) return this.base.write(data);
    const now = (this.hooks.now ?? Date.now)();
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (this.lineStart) {
        if (i > start) this.base.write(data.subarray(start, i));
        start = i;
        this.base.write(new TextEncoder().encode(this.stamp(now)));
        this.lineStart = false;
      }
      if (data[i] === 0x0a) this.lineStart = true;
    }
    if (start < data.length) this.base.write(data.subarray(start));
  }

  /** @internal */
  detach(port: MuxPort): void {
    const i = this.ports.indexOf(port);
    if (i < 0) return;
    const hadFocus = i === this.focus;
    this.ports.splice(i, 1);
    if (this.focus > i) this.focus--;
    if (hadFocus) {
      this.focus = -1;
      const next = this.ports[i % Math.max(1, this.ports.length)];
      if (next) this.setFocus(next);
    }
  }

  /** @internal flow control: only the focused front end's pause reaches the backend. */
  pauseFrom(port: MuxPort): void {
    if (this.ports[this.focus] === port) this.base.pauseInput();
  }

  /** @internal */
  resumeFrom(port: MuxPort): void {
    if (this.ports[this.focus] === port) this.base.resumeInput();
  }

  private stamp(now: number): string {
    if (this.timestampsStart < 0) this.timestampsStart = now;
    const t = now - this.timestampsStart;
    const secs = Math.floor(t / 1000);
    const two = (n: number) => String(n).padStart(2, "0");
    return `[${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}.${String(t % 1000).padStart(3, "0")}] `;
  }

  private baseEvent(event: CharEvent): void {
    if (event === "opened" || event === "closed") for (const p of this.ports) p.input.event(event);
    else this.ports[this.focus]?.input.event(event);
  }

  private receive(data: Uint8Array): void {
    let start = 0;
    const flush = (end: number) => {
      if (end > start) this.ports[this.focus]?.input.push(data.subarray(start, end));
    };
    for (let i = 0; i < data.length; i++) {
      const ch = data[i]!;
      if (this.gotEscape) {
        this.gotEscape = false;
        if (ch === this.escapeChar) {
          start = i; // the second escape is sent as a normal byte
          continue;
        }
        start = i + 1;
        this.command(ch);
      } else if (ch === this.escapeChar) {
        flush(i);
        start = i + 1;
        this.gotEscape = true;
      }
    }
    if (!this.gotEscape) flush(data.length);
  }

  private command(ch: number): void {
    switch (String.fromCharCode(ch)) {
      case "?":
      case "h":
        this.base.write(new TextEncoder().encode(muxHelpText(this.escapeChar)));
        break;
      case "x":
        this.base.write(new TextEncoder().encode("QEMU: Terminated\n\r"));
        this.hooks.onQuit();
        break;
      case "s":
        this.hooks.onCommitDisks?.();
        break;
      case "b":
        this.ports[this.focus]?.input.event("break");
        break;
      case "c":
        if (this.ports.length > 0) this.setFocus(this.ports[(this.focus + 1) % this.ports.length]!);
        break;
      case "t":
        this.timestamps = !this.timestamps;
        this.timestampsStart = -1;
        this.lineStart = false;
        break;
      default:
        break; // QEMU drops unknown escapes
    }
  }
}

/** One front end of a mux, usable wherever a CharBackend is. */
export class MuxPort implements CharBackend {
  /** @internal */
  readonly input: InputPort;
  private closed = false;

  constructor(
    private readonly mux: MuxBackend,
    readonly id: string,
  ) {
    this.input = new InputPort({ pause: () => mux.pauseFrom(this), resume: () => mux.resumeFrom(this) });
  }

  get connected(): boolean {
    return this.mux.base.connected;
  }

  /** Whether this front end has the keyboard. */
  get hasFocus(): boolean {
    return this.mux.focused() === this;
  }

  write(data: Uint8Array): void {
    if (!this.closed) this.mux.writeFrom(data);
  }

  setReceiver(receiver: CharReceiver | null, onEvent?: CharEventListener): void {
    this.input.attach(receiver, onEvent);
    // A new listener also learns whether it has the focus.
    if (onEvent && this.hasFocus) this.input.event("mux-in");
  }

  pauseInput(): void {
    this.input.pause();
  }

  resumeInput(): void {
    this.input.resume();
  }

  describe(): string {
    return `mux:${this.mux.base.describe()}`;
  }

  /** Detaches this front end; the shared backend stays open until the mux closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.close();
    this.mux.detach(this);
  }
}

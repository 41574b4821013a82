import { defaultInfo, type ChardevEnv } from "./backend.js";
import { BaseBackend } from "./base.js";

const CTRL_C = 0x03;
const CTRL_BACKSLASH = 0x1c;

const RESTORE_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * QEMU's "stdio" chardev: output to stdout, input from stdin. On a terminal, stdin goes to raw mode (no echo,
 * no line editing, bytes as typed) and is restored on close, at process exit and on fatal signals.
 *
 * `signal=on` (the -chardev default) keeps Ctrl-C and Ctrl-\ as signals for Rewind: Node's raw mode turns the
 * terminal's ISIG off, so those two bytes are turned back into SIGINT/SIGQUIT here instead of reaching the
 * guest. `signal=off` (what `mon:stdio` and -nographic use) passes them to the guest. Ctrl-Z is always passed
 * to the guest in raw mode (stopping the process would leave the terminal raw).
 */
export class StdioBackend extends BaseBackend {
  private readonly stdin: TtyInput;
  private readonly stdout: NodeJS.WritableStream;
  private raw = false;
  private readonly onData = (chunk: Buffer | string) => this.receive(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  private readonly onEnd = () => this.port.event("closed");
  private readonly onStdoutError = (e: unknown) => this.reportWriteError(e);
  private readonly restoreAtExit = () => this.restoreTerminal();
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();

  constructor(
    id: string,
    private readonly signal: boolean,
    env: ChardevEnv = {},
  ) {
    super(id, env);
    this.stdin = env.stdin ?? process.stdin;
    this.stdout = env.stdout ?? process.stdout;
    this.stdout.on("error", this.onStdoutError);
    if (this.stdin.isTTY && typeof this.stdin.setRawMode === "function") {
      this.stdin.setRawMode(true);
      this.raw = true;
      if (env.handleSignals !== false) this.installRestoreHandlers();
    }
    this.port.setSource({ pause: () => this.stdin.pause(), resume: () => this.stdin.resume() });
    this.stdin.on("data", this.onData);
    this.stdin.on("end", this.onEnd);
    this.stdin.on("error", this.onEnd);
    this.stdin.resume();
    this.port.event("opened");
  }

  /** Whether the terminal was put in raw mode. */
  get rawMode(): boolean {
    return this.raw;
  }

  write(data: Uint8Array): void {
    if (this.isClosed) return;
    try {
      this.stdout.write(Buffer.from(data));
    } catch (e) {
      this.reportWriteError(e);
    }
  }

  describe(): string {
    return "stdio";
  }

  private receive(chunk: Uint8Array): void {
    if (!(this.raw && this.signal)) return this.port.push(chunk);
    // Emulate the terminal's ISIG that raw mode removed: these bytes become signals, not guest input.
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== CTRL_C && b !== CTRL_BACKSLASH) continue;
      if (i > start) this.port.push(chunk.subarray(start, i));
      start = i + 1;
      process.kill(process.pid, b === CTRL_C ? "SIGINT" : "SIGQUIT");
    }
    if (start < chunk.length) this.port.push(chunk.subarray(start));
  }

  private installRestoreHandlers(): void {
    process.on("exit", this.restoreAtExit);
    for (const sig of RESTORE_SIGNALS) {
      const handler = () => {
        // Someone else handles this signal (the CLI's orderly shutdown closes us): leave the terminal to them.
        if (process.listenerCount(sig) > 1) return;
        // Otherwise behave as if we were not here: restore the terminal, then die of the signal as usual.
        this.restoreTerminal();
        this.removeRestoreHandlers();
        process.kill(process.pid, sig);
      };
      this.signalHandlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  private removeRestoreHandlers(): void {
    process.off("exit", this.restoreAtExit);
    for (const [sig, handler] of this.signalHandlers) process.off(sig, handler);
    this.signalHandlers.clear();
  }

  private restoreTerminal(): void {
    if (!this.raw) return;
    this.raw = false;
    try {
      this.stdin.setRawMode?.(false);
    } catch (e) {
      (this.env.info ?? defaultInfo)(`could not restore the terminal mode: ${String(e)}`);
    }
  }

  protected async release(): Promise<void> {
    this.restoreTerminal();
    this.removeRestoreHandlers();
    this.stdin.off("data", this.onData);
    this.stdin.off("end", this.onEnd);
    this.stdin.off("error", this.onEnd);
    this.stdin.pause(); // lets the process exit; process.stdin itself must stay usable
    this.stdout.off("error", this.onStdoutError);
  }
}

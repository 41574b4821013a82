import { defaultInfo, errnoText, InputPort, type CharBackend, type CharEventListener, type CharReceiver, type ChardevEnv } from "./backend.js";

/** What every backend shares: the input port, receiver plumbing, and one-time reporting of write errors. */
export abstract class BaseBackend implements CharBackend {
  protected readonly port = new InputPort();
  protected isClosed = false;
  private writeErrorReported = false;

  constructor(
    readonly id: string,
    protected readonly env: ChardevEnv,
  ) {}

  abstract write(data: Uint8Array): void;
  abstract describe(): string;
  protected abstract release(): Promise<void>;

  setReceiver(receiver: CharReceiver | null, onEvent?: CharEventListener): void {
    this.port.attach(receiver, onEvent);
  }

  pauseInput(): void {
    this.port.pause();
  }

  resumeInput(): void {
    this.port.resume();
  }

  get connected(): boolean {
    return this.port.open;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.port.close();
    await this.release();
  }

  /** Output errors are the host's problem, not the guest's: say so once, then drop output quietly. */
  protected reportWriteError(e: unknown): void {
    if (this.writeErrorReported) return;
    this.writeErrorReported = true;
    (this.env.info ?? defaultInfo)(`chardev '${this.id}': write failed (${errnoText(e)}); further output is dropped`);
  }
}

import fs from "node:fs";
import type { CharBackend, CharEventListener, CharReceiver } from "./backend.js";
import { openOutputFile, writeAllSync } from "./file.js";

/**
 * QEMU's `logfile=`: a copy of everything written to the chardev (output only), truncated at open unless
 * `logappend=on`. Best effort, as in QEMU: a failing log never disturbs the device itself.
 */
export class LogfileTee implements CharBackend {
  private fd: number;

  constructor(
    private readonly inner: CharBackend,
    logfile: string,
    logappend: boolean,
  ) {
    this.fd = openOutputFile(logfile, logappend);
  }

  get id(): string {
    return this.inner.id;
  }

  get connected(): boolean {
    return this.inner.connected;
  }

  write(data: Uint8Array): void {
    this.inner.write(data);
    if (this.fd < 0) return;
    try {
      writeAllSync(this.fd, data);
    } catch {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  setReceiver(receiver: CharReceiver | null, onEvent?: CharEventListener): void {
    this.inner.setReceiver(receiver, onEvent);
  }

  pauseInput(): void {
    this.inner.pauseInput();
  }

  resumeInput(): void {
    this.inner.resumeInput();
  }

  describe(): string {
    return this.inner.describe();
  }

  async close(): Promise<void> {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    await this.inner.close();
  }
}

import type { ChardevEnv } from "./backend.js";
import { BaseBackend } from "./base.js";

/** Discards output, never receives anything (QEMU's "null"). */
export class NullBackend extends BaseBackend {
  constructor(id: string, env: ChardevEnv = {}) {
    super(id, env);
    this.port.event("opened");
  }

  write(_data: Uint8Array): void {}

  describe(): string {
    return "null";
  }

  protected async release(): Promise<void> {}
}

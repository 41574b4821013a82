import fs from "node:fs";
import { ChardevError, errnoText, type ChardevEnv } from "./backend.js";
import { BaseBackend } from "./base.js";

/**
 * Output to a file, like QEMU's "file" chardev: created with mode 0666 less the umask, truncated unless
 * append=on (QEMU opens O_WRONLY|O_CREAT and O_TRUNC or O_APPEND). Writes are synchronous so the file is
 * complete even if the emulator is killed. `input-path` is read once and received as input.
 */
export class FileBackend extends BaseBackend {
  private fd: number;
  private input?: fs.ReadStream;

  private constructor(
    id: string,
    env: ChardevEnv,
    private readonly path: string,
    fd: number,
  ) {
    super(id, env);
    this.fd = fd;
  }

  static open(id: string, path: string, append: boolean, inputPath: string | undefined, env: ChardevEnv = {}): FileBackend {
    const fd = openOutputFile(path, append);
    const backend = new FileBackend(id, env, path, fd);
    if (inputPath !== undefined) {
      let inFd: number;
      try {
        inFd = fs.openSync(inputPath, "r");
      } catch (e) {
        fs.closeSync(fd);
        throw new ChardevError(`Could not open '${inputPath}': ${errnoText(e)}`, { cause: e });
      }
      const input = fs.createReadStream(inputPath, { fd: inFd });
      backend.input = input;
      input.on("data", (chunk) => backend.port.push(chunk as Buffer));
      input.on("end", () => backend.port.event("closed"));
      input.on("error", () => backend.port.event("closed"));
    }
    backend.port.event("opened");
    return backend;
  }

  write(data: Uint8Array): void {
    if (this.fd < 0) return;
    try {
      writeAllSync(this.fd, data);
    } catch (e) {
      this.reportWriteError(e);
    }
  }

  describe(): string {
    return `file:${this.path}`;
  }

  protected async release(): Promise<void> {
    this.input?.destroy();
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        fs.closeSync(fd);
      } catch {
        // closing cannot lose data that writeSync already handed to the kernel
      }
    }
  }
}

/** Opens an output file QEMU's way; throws ChardevError with QEMU's "Could not open" wording. */
export function openOutputFile(path: string, append: boolean): number {
  try {
    return fs.openSync(path, append ? "a" : "w", 0o666);
  } catch (e) {
    throw new ChardevError(`Could not open '${path}': ${errnoText(e)}`, { cause: e });
  }
}

export function writeAllSync(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
}

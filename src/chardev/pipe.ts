import fs from "node:fs";
import net from "node:net";
import { ChardevError, errnoText, type ChardevEnv } from "./backend.js";
import { BaseBackend } from "./base.js";

/**
 * QEMU's "pipe" chardev over named pipes (FIFOs): `path.in` (input) and `path.out` (output) when both exist,
 * else `path` for both directions. Opened read-write as QEMU does, so opening never blocks on the other end.
 */
export class PipeBackend extends BaseBackend {
  private readonly input: net.Socket;
  private readonly output: net.Socket;

  private constructor(
    id: string,
    env: ChardevEnv,
    private readonly path: string,
    inFd: number,
    outFd: number,
  ) {
    super(id, env);
    this.input = new net.Socket({ fd: inFd, readable: true, writable: inFd === outFd });
    this.output = inFd === outFd ? this.input : new net.Socket({ fd: outFd, readable: false, writable: true });
    this.input.on("error", () => this.port.event("closed"));
    this.output.on("error", (e) => this.reportWriteError(e));
    this.input.on("data", (chunk: Buffer) => this.port.push(chunk));
    this.port.setSource(this.input);
    this.port.event("opened");
  }

  static open(id: string, path: string, env: ChardevEnv = {}): PipeBackend {
    const inPath = `${path}.in`;
    const outPath = `${path}.out`;
    const split = fs.existsSync(inPath) && fs.existsSync(outPath);
    const fds: number[] = [];
    try {
      for (const p of split ? [inPath, outPath] : [path]) {
        let fd: number;
        try {
          fd = fs.openSync(p, "r+");
        } catch (e) {
          throw new ChardevError(`Could not open '${p}': ${errnoText(e)}`, { cause: e });
        }
        fds.push(fd);
        if (!fs.fstatSync(fd).isFIFO()) throw new ChardevError(`pipe: '${p}' is not a named pipe (create it with mkfifo)`);
      }
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      throw e;
    }
    return new PipeBackend(id, env, path, fds[0]!, fds[fds.length - 1]!);
  }

  write(data: Uint8Array): void {
    if (this.isClosed || this.output.destroyed) return;
    this.output.write(Buffer.from(data));
  }

  describe(): string {
    return `pipe:${this.path}`;
  }

  protected async release(): Promise<void> {
    this.input.destroy();
    this.output.destroy();
  }
}

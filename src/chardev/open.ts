import { ChardevError, defaultInfo, type CharBackend, type ChardevEnv } from "./backend.js";
import { FileBackend } from "./file.js";
import { LogfileTee } from "./logfile.js";
import { MuxBackend } from "./mux.js";
import { NullBackend } from "./null.js";
import { PipeBackend } from "./pipe.js";
import { SocketBackend } from "./socket.js";
import type { ChardevSpec } from "./spec.js";
import { StdioBackend } from "./stdio.js";

/**
 * Opens one chardev's host backend (without mux; see ChardevSet for that). Failures are ChardevErrors in
 * QEMU's words ("Could not open 'x': No such file or directory", "Failed to connect to ...").
 * A socket server with wait=on resolves only once the first client has connected.
 */
export async function openChardev(spec: ChardevSpec, env: ChardevEnv = {}): Promise<CharBackend> {
  let backend: CharBackend;
  switch (spec.backend) {
    case "null":
      backend = new NullBackend(spec.id, env);
      break;
    case "stdio":
      backend = new StdioBackend(spec.id, spec.signal, env);
      break;
    case "file":
      backend = FileBackend.open(spec.id, spec.path, spec.append, spec.inputPath, env);
      break;
    case "pipe":
      backend = PipeBackend.open(spec.id, spec.path, env);
      break;
    case "socket":
      backend = await SocketBackend.open(spec, env);
      break;
  }
  if (spec.logfile === undefined) return backend;
  try {
    return new LogfileTee(backend, spec.logfile, spec.logappend);
  } catch (e) {
    await backend.close();
    throw e;
  }
}

/**
 * Every chardev of a machine, opened in command-line order, and the front ends that use them. A plain
 * chardev serves exactly one front end; a mux=on chardev hands each front end its own port (the last one
 * attached has the keyboard, as in QEMU: attach monitors before serial ports).
 */
export class ChardevSet {
  private readonly plain = new Map<string, { backend: CharBackend; claimedBy?: string }>();
  private readonly muxes = new Map<string, MuxBackend>();

  private constructor(private readonly env: ChardevEnv) {}

  static async open(specs: readonly ChardevSpec[], env: ChardevEnv = {}): Promise<ChardevSet> {
    const set = new ChardevSet(env);
    try {
      for (const spec of specs) {
        if (set.plain.has(spec.id) || set.muxes.has(spec.id)) throw new ChardevError(`duplicate chardev id '${spec.id}'`);
        let backend: CharBackend;
        try {
          backend = await openChardev(spec, env);
        } catch (e) {
          if (e instanceof ChardevError) throw new ChardevError(`chardev '${spec.id}': ${e.message}`, { cause: e });
          throw e;
        }
        if (spec.mux) set.muxes.set(spec.id, new MuxBackend(backend, { onQuit: () => set.quit() }));
        else set.plain.set(spec.id, { backend });
      }
    } catch (e) {
      await set.closeAll();
      throw e;
    }
    return set;
  }

  has(id: string): boolean {
    return this.plain.has(id) || this.muxes.has(id);
  }

  /** The backend for a front end (`label` names it in messages: "serial0", "monitor", "gdb"). */
  frontend(id: string, label: string): CharBackend {
    const mux = this.muxes.get(id);
    if (mux) return mux.attach(label);
    const entry = this.plain.get(id);
    if (!entry) throw new ChardevError(`chardev '${id}' not found`);
    if (entry.claimedBy !== undefined) {
      throw new ChardevError(`chardev '${id}' is already in use by ${entry.claimedBy} (add mux=on to share it)`);
    }
    entry.claimedBy = label;
    return entry.backend;
  }

  /** The mux behind a mux=on chardev (for focus control), or undefined. */
  mux(id: string): MuxBackend | undefined {
    return this.muxes.get(id);
  }

  async closeAll(): Promise<void> {
    const all: Promise<void>[] = [];
    for (const { backend } of this.plain.values()) all.push(backend.close());
    for (const mux of this.muxes.values()) all.push(mux.close());
    this.plain.clear();
    this.muxes.clear();
    await Promise.all(all);
  }

  private quit(): void {
    if (this.env.onQuit) return this.env.onQuit();
    (this.env.info ?? defaultInfo)("terminating on Ctrl-A x");
    process.exit(0);
  }
}

import { spawn, spawnSync } from "node:child_process";

const cache = new Map<string, boolean>();

/** True when an executable is on PATH. */
export function hasTool(name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    ok = spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
    cache.set(name, ok);
  }
  return ok;
}

/** Returns a skip reason for node:test (`{ skip: missingTool("qemu-img") }`), or false when the tool exists. */
export function missingTool(...names: string[]): string | false {
  const missing = names.filter((n) => !hasTool(n));
  return missing.length ? `needs ${missing.join(", ")} (Debian package not installed)` : false;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for emulators started by tests). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs gdb-multiarch with `args` to its end; its stdout and stderr together. A hang fails after `timeoutMs`. */
export function runGdb(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("gdb-multiarch", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gdb-multiarch did not finish; output so far:\n${out}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

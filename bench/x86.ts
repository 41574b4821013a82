// The x86 pc board beside qemu-system-x86_64 in the same run: MIPS on guests/x86/compute.bin, and instructions and
// wall time from the reset vector to SeaBIOS's last debug-log line ("No bootable device." once the chipset is
// complete; whatever it reaches until then). Prints numbers; asserts nothing.

import { readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMachine } from "../src/boards/registry.js";
import { defaultBios } from "../src/boards/pc/board.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SEABIOS_END = "No bootable device.";

interface RewindRun {
  icount: number;
  seconds: number;
  log: string;
  reason: string;
}

/** Runs a BIOS image on the pc board (interpreter) until it exits, stops, or its debug log shows `until`. */
function runRewind(bios: string, until?: string): RewindRun {
  let log = "";
  const m = createMachine("pc", {
    icountShift: 7,
    bios: { name: bios, bytes: readFileSync(bios) },
    isaDevices: [{ driver: "isa-debugcon", iobase: 0x402, readback: 0xe9 }, { driver: "isa-debug-exit", iobase: 0xf4, iosize: 4 }],
    debugcon: [(b) => {
      log += String.fromCharCode(b);
      if (until && log.endsWith(until)) m.requestStop();
    }],
    rtcBootSeconds: 0,
  });
  const t0 = process.hrtime.bigint();
  const reason = m.run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 });
  return { icount: m.clock.icount, seconds: Number(process.hrtime.bigint() - t0) / 1e9, log, reason };
}

/** QEMU's wall time for the same image: to its exit, or until its debug log shows `until` (then it is killed). */
async function timeQemu(bios: string, extra: string[], until?: string): Promise<number | undefined> {
  if (spawnSync("qemu-system-x86_64", ["-version"]).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-x86-"));
  const logPath = join(dir, "debugcon.log");
  const args = ["-M", "pc", "-bios", bios, "-display", "none", "-vga", "none", "-nodefaults", "-debugcon", `file:${logPath}`,
    "-global", "isa-debugcon.iobase=0x402", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", ...extra];
  const t0 = process.hrtime.bigint();
  const proc = spawn("qemu-system-x86_64", args, { stdio: "ignore" });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 60_000;
  while (!done && Date.now() < deadline) {
    if (until && existsSync(logPath) && readFileSync(logPath, "latin1").includes(until)) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  proc.kill("SIGKILL");
  await exited;
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}

export async function benchX86(repeats = 3): Promise<void> {
  const compute = join(ROOT, "guests/x86/compute.bin");
  const runs = Array.from({ length: repeats }, () => runRewind(compute)).sort((a, b) => a.seconds - b.seconds);
  const mid = runs[Math.floor(repeats / 2)];
  const q = await timeQemu(compute, []);
  const qi = await timeQemu(compute, ["-icount", "shift=7"]);
  console.log(`x86 compute.bin (${mid.icount.toLocaleString("en-US")} instructions): Rewind interpreter ${(mid.icount / mid.seconds / 1e6).toFixed(1)} MIPS (${mid.seconds.toFixed(2)} s)` +
    (q !== undefined && qi !== undefined ? `; QEMU 7.2 ${q.toFixed(2)} s TCG, ${qi.toFixed(2)} s -icount shift=7 (start-up included: ${(mid.icount / qi / 1e6).toFixed(0)} MIPS)` : ""));

  const bios = defaultBios();
  if (!bios) return console.log("SeaBIOS: not installed (Debian's seabios package)");
  const s = runRewind(bios, SEABIOS_END);
  const lastLine = s.log.trimEnd().split("\n").pop() ?? "";
  const reached = s.log.includes(SEABIOS_END) ? SEABIOS_END : `'${lastLine}' (then ${s.reason})`;
  const qs = await timeQemu(bios, ["-icount", "shift=7"], SEABIOS_END);
  console.log(`SeaBIOS to ${reached}: Rewind ${s.icount.toLocaleString("en-US")} instructions in ${s.seconds.toFixed(2)} s (${(s.icount / s.seconds / 1e6).toFixed(1)} MIPS)` +
    (qs !== undefined ? `; QEMU 7.2 -icount shift=7 ${qs.toFixed(2)} s to "${SEABIOS_END}" (5,648,885 instructions)` : ""));
}

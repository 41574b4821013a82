// Guest MIPS on the compute guest: Rewind's interpreter beside qemu-system-aarch64 (plain TCG and with
// -icount shift=7) on the same guest, in the same run. Prints numbers; asserts nothing.

import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMachine } from "../src/boards/registry.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface MipsResult {
  guest: string;
  instructions: number;
  rewindSeconds: number;
  rewindMips: number;
  qemu?: { plainSeconds: number; icountSeconds: number; plainMips: number; icountMips: number };
}

function runRewind(kernelPath: string): { icount: number; seconds: number; output: string } {
  let output = "";
  const m = createMachine("virt", {
    ramSize: 128 << 20,
    icountShift: 7,
    kernel: { name: kernelPath, bytes: readFileSync(kernelPath) },
    rtcBootSeconds: 0,
    serial: [(b) => (output += String.fromCharCode(b))],
    log: (l) => process.stderr.write(`rewind: ${l}\n`),
  });
  const t0 = process.hrtime.bigint();
  const reason = m.run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (reason !== "poweroff") throw new Error(`guest stopped: ${reason}`);
  return { icount: m.clock.icount, seconds, output };
}

function timeQemu(kernelPath: string, extra: string[]): number | undefined {
  const args = ["-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "null", ...extra, "-kernel", kernelPath];
  const t0 = process.hrtime.bigint();
  const r = spawnSync("qemu-system-aarch64", args, { stdio: "ignore" });
  if (r.error || r.status !== 0) return undefined;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function benchMips(guest = "compute.elf", repeats = 3): MipsResult {
  const path = join(ROOT, "guests/aarch64", guest);
  runRewind(join(ROOT, "guests/aarch64/compute-small.elf")); // warm up the JIT
  const runs = Array.from({ length: repeats }, () => runRewind(path));
  const seconds = runs.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(repeats / 2)];
  const icount = runs[0].icount;
  const result: MipsResult = { guest, instructions: icount, rewindSeconds: seconds, rewindMips: icount / seconds / 1e6 };
  const plain = timeQemu(path, []);
  const icountRun = timeQemu(path, ["-icount", "shift=7"]);
  if (plain !== undefined && icountRun !== undefined)
    result.qemu = { plainSeconds: plain, icountSeconds: icountRun, plainMips: icount / plain / 1e6, icountMips: icount / icountRun / 1e6 };
  return result;
}

export function printMips(r: MipsResult): void {
  console.log(`guest MIPS (${r.guest}, ${r.instructions.toLocaleString("en-US")} instructions)`);
  console.log(`  rewind interpreter        ${r.rewindMips.toFixed(1).padStart(8)} MIPS  (${r.rewindSeconds.toFixed(2)} s, median of runs)`);
  if (!r.qemu) {
    console.log("  qemu-system-aarch64       not installed: no comparison");
    return;
  }
  const q = r.qemu;
  console.log(`  qemu TCG                  ${q.plainMips.toFixed(1).padStart(8)} MIPS  (${q.plainSeconds.toFixed(2)} s incl. start-up)  rewind/qemu = ${(r.rewindMips / q.plainMips).toFixed(3)}`);
  console.log(`  qemu -icount shift=7      ${q.icountMips.toFixed(1).padStart(8)} MIPS  (${q.icountSeconds.toFixed(2)} s incl. start-up)  rewind/qemu = ${(r.rewindMips / q.icountMips).toFixed(3)}`);
}

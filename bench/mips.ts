// Guest MIPS on the compute guest: Rewind's two execution tiers beside qemu-system-aarch64 (plain TCG and with
// -icount shift=7) on the same guest, in the same run. Prints numbers; asserts nothing.

import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMachine } from "../src/boards/registry.js";
import { ENGINE_KINDS, type EngineKind } from "../src/boards/board.js";
import { asVirtMachine } from "../src/boards/virt/board.js";
import type { BlockEngineStats } from "../src/arch/aarch64/jit/block-engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface TierResult {
  engine: EngineKind;
  /** The fast tier's code: WebAssembly regions, or JavaScript ones (REWIND_WASM=0). */
  label: string;
  seconds: number;
  mips: number;
  /** Fast tier only: blocks compiled, share of steps run compiled, mean compile time per block. */
  blocks?: { compiled: number; compiledShare: number; compileMsPerBlock: number; linkHitRate: number; sourceCharsPerBlock: number; wasmBytesPerBlock: number };
}

export interface MipsResult {
  guest: string;
  instructions: number;
  tiers: TierResult[];
  qemu?: { plainSeconds: number; icountSeconds: number; plainMips: number; icountMips: number };
}

function runRewind(kernelPath: string, engine: EngineKind, wasm = true): { icount: number; seconds: number; output: string; stats?: BlockEngineStats } {
  let output = "";
  // The board reads REWIND_WASM when it builds the machine.
  const saved = process.env.REWIND_WASM;
  if (wasm) delete process.env.REWIND_WASM;
  else process.env.REWIND_WASM = "0";
  const m = createMachine("virt", {
    ramSize: 128 << 20,
    icountShift: 7,
    kernel: { name: kernelPath, bytes: readFileSync(kernelPath) },
    rtcBootSeconds: 0,
    serial: [(b) => (output += String.fromCharCode(b))],
    log: (l) => process.stderr.write(`rewind: ${l}\n`),
    engine,
  });
  if (saved === undefined) delete process.env.REWIND_WASM;
  else process.env.REWIND_WASM = saved;
  const t0 = process.hrtime.bigint();
  const reason = m.run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (reason !== "poweroff") throw new Error(`guest stopped: ${reason}`);
  const stats = engine === "fast" ? { ...asVirtMachine(m).blockStats() } : undefined;
  return { icount: m.clock.icount, seconds, output, stats };
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
  const tiers: TierResult[] = [];
  let icount = 0;
  const variants: { engine: EngineKind; wasm: boolean; label: string }[] = [
    ...ENGINE_KINDS.map((engine) => ({ engine, wasm: true, label: engine })),
    { engine: "fast", wasm: false, label: "fast (JS blocks)" },
  ];
  for (const { engine, wasm, label } of variants) {
    runRewind(join(ROOT, "guests/aarch64/compute-small.elf"), engine, wasm); // warm up the JIT
    const runs = Array.from({ length: repeats }, () => runRewind(path, engine, wasm));
    const mid = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(repeats / 2)];
    icount = runs[0].icount;
    const tier: TierResult = { engine, label, seconds: mid.seconds, mips: icount / mid.seconds / 1e6 };
    const st = mid.stats;
    if (st) {
      const steps = st.compiledSteps + st.interpretedSteps;
      tier.blocks = {
        compiled: st.compiled,
        compiledShare: st.compiledSteps / steps,
        compileMsPerBlock: st.compileMs / Math.max(1, st.compiled),
        linkHitRate: 1 - st.lookups / Math.max(1, st.blockRuns + st.lookups),
        sourceCharsPerBlock: st.sourceChars / Math.max(1, st.compiled),
        wasmBytesPerBlock: st.wasmBytes / Math.max(1, st.compiled),
      };
    }
    tiers.push(tier);
  }
  const result: MipsResult = { guest, instructions: icount, tiers };
  const plain = timeQemu(path, []);
  const icountRun = timeQemu(path, ["-icount", "shift=7"]);
  if (plain !== undefined && icountRun !== undefined)
    result.qemu = { plainSeconds: plain, icountSeconds: icountRun, plainMips: icount / plain / 1e6, icountMips: icount / icountRun / 1e6 };
  return result;
}

export function printMips(r: MipsResult): void {
  console.log(`guest MIPS (${r.guest}, ${r.instructions.toLocaleString("en-US")} instructions)`);
  const interp = r.tiers.find((t) => t.engine === "interp");
  for (const t of r.tiers) {
    const vs = interp && t !== interp ? `  ${(t.mips / interp.mips).toFixed(2)}× the interpreter` : "";
    const vsQemu = r.qemu ? `  rewind/qemu-icount = ${(t.mips / r.qemu.icountMips).toFixed(3)}` : "";
    console.log(`  rewind ${t.label.padEnd(18)} ${t.mips.toFixed(1).padStart(8)} MIPS  (${t.seconds.toFixed(2)} s, median of runs)${vs}${vsQemu}`);
    if (t.blocks)
      console.log(
        `      ${t.blocks.compiled} blocks compiled, ${(t.blocks.compiledShare * 100).toFixed(2)} % of steps ran compiled, ` +
          `${(t.blocks.compileMsPerBlock * 1000).toFixed(0)} µs per block to compile, ${t.blocks.wasmBytesPerBlock > 0 ? `${t.blocks.wasmBytesPerBlock.toFixed(0)} bytes of WebAssembly` : `${t.blocks.sourceCharsPerBlock.toFixed(0)} characters of JavaScript`} per block, ` +
          `${(t.blocks.linkHitRate * 100).toFixed(2)} % of block entries found through links (no lookup)`,
      );
  }
  if (!r.qemu) {
    console.log("  qemu-system-aarch64       not installed: no comparison");
    return;
  }
  const q = r.qemu;
  console.log(`  qemu TCG                  ${q.plainMips.toFixed(1).padStart(8)} MIPS  (${q.plainSeconds.toFixed(2)} s incl. start-up)`);
  console.log(`  qemu -icount shift=7      ${q.icountMips.toFixed(1).padStart(8)} MIPS  (${q.icountSeconds.toFixed(2)} s incl. start-up)`);
}

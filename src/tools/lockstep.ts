/**
 * Lockstep oracle: single-steps a target (Rewind) and a reference (qemu-system-aarch64 through its gdbstub) on
 * the same guest and compares their registers after every step. Reports the first divergence: the step, the
 * instruction (encoding and disassembly), the registers that differ and the PCs before it.
 *
 * CLI:
 *   node dist/src/tools/lockstep.js -kernel guest.elf [-icount shift=N] [--max-steps N] [--compare full|pc-only]
 *        [--ignore x5,cpsr,v*] [--sys VBAR,ESR_EL1] [--against rewind|qemu] [--reference replay|live]
 *        [--sstep 0x1] [--history N] [--record-timeout MS] [--no-adopt-counters] [--no-adopt-exception-flags]
 *        [--engine interp|wasm|js] [--stride N] [--quiet]
 * Exit status: 0 no divergence, 1 divergence, 2 error.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  compareSnapshots,
  describeCpsr,
  formatAddress,
  formatDiffTable,
  makeIgnore,
  comparedNames,
  type CompareMode,
  type RegisterDiff,
} from "./lockstep/compare.js";
import { objdumpDisassemble } from "./lockstep/objdump.js";
import { dumpQemuDtb, QemuTarget, type QemuTargetOptions } from "./lockstep/qemu-target.js";
import { RunAhead, type StepItem } from "./lockstep/run-ahead.js";
import { isExceptionEntryFlagsDifference, type LockstepTarget, type RegisterSnapshot, type RewindTargetOptions, type StepStatus } from "./lockstep/target.js";

export type { LockstepTarget, RegisterSnapshot, StepStatus } from "./lockstep/target.js";
export { QemuTarget } from "./lockstep/qemu-target.js";

/** A usage or setup problem, reported to the user without a stack trace. */
export class LockstepError extends Error {
  override name = "LockstepError";
}

export interface LockstepOptions {
  /** The guest, as for `-kernel`. */
  kernel: string;
  /** `-icount` value (no rr= options). Default "shift=7". */
  icount?: string;
  /** Stop after this many steps; default: until the guest powers off. */
  maxSteps?: number;
  /** "full" (every register both sides provide) or "pc-only". Default "full". */
  compare?: CompareMode;
  /** Registers not compared (timing dependent values...): names, or prefixes ending in `*` ("v*"). */
  ignore?: string[];
  /** System registers to compare too, by QEMU's gdbstub names (the target must provide them in `sys`). */
  sysRegisters?: string[];
  /** The system under test. If absent, `createTarget` is called. */
  target?: LockstepTarget;
  createTarget?: (options: RewindTargetOptions) => LockstepTarget | Promise<LockstepTarget>;
  /** The reference. Default: a `QemuTarget` with `qemu` options. */
  reference?: LockstepTarget;
  /** Options for the default QEMU reference (mode "replay" or "live", sstep flags, binary...). */
  qemu?: Partial<QemuTargetOptions>;
  /** How many PCs before the divergence to report. Default 8. */
  history?: number;
  /** How many steps the reference may run ahead of the comparison. Default 64. */
  window?: number;
  /** Called about every `progressEvery` steps (default 10000). */
  onProgress?: (steps: number, elapsedMs: number) => void;
  progressEvery?: number;
  /** Aborting ends the run at the next step with end "interrupted". */
  signal?: AbortSignal;
  /**
   * When the only difference after a step is the register an `MRS` of a free-running counter (CNTVCT_EL0,
   * CNTPCT_EL0, PMCCNTR_EL0) wrote, let a target that implements `adoptCounterRead` take the reference's
   * value and go on. Default true.
   */
  adoptCounterReads?: boolean;
  /**
   * When a step entered an exception and the only difference is that the reference's NZCV are 0000 (QEMU
   * clears them on AArch64 exception entry; the Arm ARM leaves them unchanged), let a target that implements
   * `adoptExceptionEntryFlags` confirm it entered an exception too, take the reference's flags and go on.
   * Default true.
   */
  adoptExceptionEntryFlags?: boolean;
  /**
   * Run up to this many steps at once on a target that implements `runSteps` (a compiling tier then runs them
   * as compiled code) and compare after them. Only runs of plain steps are taken at once: steps that enter an
   * exception, wait (WFI/WFE) or read a counter are taken one by one, as without a stride. A divergence is
   * then found within a run of steps: `--stride 1` finds its exact step. Default 1.
   */
  stride?: number;
}

export interface Divergence {
  /** 0: the initial state already differs; n: after the n-th step. */
  step: number;
  /** What differs: registers, or one side powered off / failed and the other did not. */
  kind: "registers" | "exit";
  /** PC of the instruction the diverging step executed (the PC before it). */
  pc: bigint;
  /** PCs after the step, on each side. */
  pcAfter: { reference?: bigint; target?: bigint };
  encoding?: number;
  /** From the target's disassembler (objdump's when the target has none). */
  disassembly?: string;
  /** objdump's reading of the encoding, when installed and different from `disassembly`. */
  objdumpDisassembly?: string;
  differences: RegisterDiff[];
  /** The PCs of the steps before (oldest first), not including `pc`. */
  previousPcs: bigint[];
  /** For kind "exit": which side stopped. */
  message?: string;
  /** Full register state of both sides after the step (when both have one). */
  reference?: RegisterSnapshot;
  target?: RegisterSnapshot;
}

export interface LockstepResult {
  /** Steps executed and found equal on both sides. */
  steps: number;
  end: "max-steps" | "powered-off" | "divergence" | "error" | "interrupted";
  divergence?: Divergence;
  /** For end "error": what went wrong. */
  error?: string;
  elapsedMs: number;
  stepsPerSecond: number;
  referenceDescription: string;
  targetDescription: string;
  /** Registers compared after every step, and those skipped (ignored, or provided by one side only). */
  compared: string[];
  skipped: string[];
  serial: { reference?: string; target?: string };
  /** Counter reads whose value the target adopted from the reference (see `adoptCounterReads`). */
  adoptedCounterReads?: number;
  /** Exception entries where the target took the reference's NZCV (see `adoptExceptionEntryFlags`). */
  adoptedExceptionEntryFlags?: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Options for a QEMU started for these lockstep options (the reference, or a QEMU target in self-checks). */
export function qemuOptionsFor(options: LockstepOptions): QemuTargetOptions {
  const maxSteps = options.maxSteps ?? Infinity;
  return {
    kernel: options.kernel,
    icount: options.icount ?? "shift=7",
    registers: options.compare === "pc-only" ? "core" : "full",
    sysRegisters: options.sysRegisters,
    // A replayed recording only needs to cover the steps compared (steps >= instructions retired).
    recordInstructions: Number.isFinite(maxSteps) ? maxSteps + 10000 : undefined,
    ...options.qemu,
  };
}

/** Runs the comparison; resolves with the result (a divergence is a result, not an error). */
export async function runLockstep(options: LockstepOptions): Promise<LockstepResult> {
  const mode = options.compare ?? "full";
  const ignore = makeIgnore(options.ignore ?? []);
  const maxSteps = options.maxSteps ?? Infinity;
  const historyLength = options.history ?? 8;
  const icount = options.icount ?? "shift=7";
  const owned: LockstepTarget[] = [];
  let reference = options.reference;
  let target = options.target;
  let runner: RunAhead | undefined;
  try {
    if (!target) {
      if (!options.createTarget) throw new LockstepError("no target to compare: pass `target` or `createTarget`");
      target = await options.createTarget({ kernel: options.kernel, icount, machine: options.qemu?.machine ?? "virt", cpu: options.qemu?.cpu ?? "cortex-a53" });
      owned.push(target);
    }
    if (!reference) {
      reference = await QemuTarget.start(qemuOptionsFor(options));
      owned.push(reference);
    }
    const ref = reference;
    const tgt = target;

    const start = performance.now();
    let refRegs = await ref.registers();
    let tgtRegs = await tgt.registers();
    const { compared, skipped } = mode === "pc-only" ? { compared: ["pc"], skipped: [] } : comparedNames(refRegs, tgtRegs, ignore);
    const history: bigint[] = [];
    let adoptedFlags = 0;
    const base = {
      referenceDescription: ref.describe(),
      targetDescription: tgt.describe(),
      compared,
      skipped,
    };
    const finish = (steps: number, end: LockstepResult["end"], extra: Partial<LockstepResult> = {}): LockstepResult => {
      const elapsedMs = performance.now() - start;
      return {
        ...base,
        steps,
        end,
        elapsedMs,
        stepsPerSecond: elapsedMs > 0 ? (steps * 1000) / elapsedMs : 0,
        serial: { reference: ref.serialOutput?.(), target: tgt.serialOutput?.() },
        adoptedExceptionEntryFlags: adoptedFlags || undefined,
        ...extra,
      };
    };

    const initial = compareSnapshots(refRegs, tgtRegs, mode, ignore);
    if (initial.length) {
      const divergence: Divergence = { step: 0, kind: "registers", pc: refRegs.pc, pcAfter: { reference: refRegs.pc, target: tgtRegs.pc }, differences: initial, previousPcs: [], reference: refRegs, target: tgtRegs };
      return finish(0, "divergence", { divergence });
    }

    // Only the reference runs ahead: the target steps when the comparison asks (while the reference works in
    // the background), so it can adopt a counter value before its next step.
    const window = Math.max(1, options.window ?? 64);
    runner = new RunAhead(ref, window, maxSteps);
    runner.start();
    const refRunner = runner;
    const progressEvery = options.progressEvery ?? 10000;
    const adopt = options.adoptCounterReads ?? true;
    let adopted = 0;
    const adoptFlags = options.adoptExceptionEntryFlags ?? true;

    const stride = tgt.runSteps ? Math.max(1, Math.floor(options.stride ?? 1)) : 1;
    // A reference step read ahead to decide where a run of plain steps ends; the next one to compare.
    let peeked: StepItem | undefined;
    const nextReference = async (): Promise<StepItem | undefined> => {
      const item = peeked ?? (await refRunner.next());
      peeked = undefined;
      return item;
    };
    let nextProgress = progressEvery;

    for (let step = 1; step <= maxSteps; step++) {
      if (options.signal?.aborted) return finish(step - 1, "interrupted");
      if (options.onProgress && step > nextProgress) {
        options.onProgress(step - 1, performance.now() - start);
        nextProgress += progressEvery;
      }
      if (stride > 1) {
        // The plain steps ahead (up to the stride), as the reference took them: the target runs them at once.
        const expected: RegisterSnapshot[] = [];
        const pcs: bigint[] = [];
        while (expected.length < stride && step + expected.length <= maxSteps) {
          const item = await nextReference();
          if (item === undefined) break;
          if (!isPlainStep(item)) {
            peeked = item;
            break;
          }
          pcs.push(expected.length ? expected[expected.length - 1].pc : refRegs.pc);
          expected.push(item.regs);
        }
        if (expected.length > 0) {
          const last = step + expected.length - 1;
          const range = expected.length > 1 ? `steps ${step}-${last}` : `step ${step}`;
          const after = expected[expected.length - 1];
          let status: StepStatus | void;
          try {
            status = await tgt.runSteps!(expected.length);
          } catch (err) {
            return finish(step - 1, "error", { error: `${range} at ${formatAddress(pcs[0])} failed on the target (${tgt.describe()}): ${message(err)}`, adoptedCounterReads: adopted });
          }
          const regs = status === "exited" ? undefined : await tgt.registers();
          const diffs = regs ? compareSnapshots(after, regs, mode, ignore) : [];
          if (!regs || diffs.length) {
            await refRunner.stop();
            const where = `the target ran ${range} at once (stride ${stride})`;
            const msg = regs
              ? `${where} and differs after them: the first different step is among them (--stride 1 finds it)`
              : `${where} and powered off in them, but the reference kept running`;
            const history_ = [...history, ...pcs.slice(0, -1)];
            const divergence = await describeDivergence(ref, tgt, last, regs ? "registers" : "exit", pcs[pcs.length - 1], history_, historyLength, diffs, after, regs, undefined, msg);
            return finish(step - 1, "divergence", { divergence, adoptedCounterReads: adopted });
          }
          history.push(...pcs);
          history.splice(0, Math.max(0, history.length - historyLength));
          refRegs = after;
          tgtRegs = regs;
          step = last;
          continue;
        }
      }
      const b = await stepTarget(tgt);
      const a = await nextReference();
      // ^C also reaches QEMU (same process group), which then exits: that is not a divergence. The signal may
      // be delivered to us a moment after QEMU's connection closed.
      if (options.signal && (a?.status !== "running" || b.status !== "running") && !options.signal.aborted) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (options.signal?.aborted) return finish(step - 1, "interrupted", { adoptedCounterReads: adopted });
      if (a === undefined) return finish(step - 1, "max-steps", { adoptedCounterReads: adopted });
      const pc = refRegs.pc;
      if (a.status === "error" || b.status === "error") {
        const who = a.status === "error" ? `reference (${ref.describe()})` : `target (${tgt.describe()})`;
        const err = a.status === "error" ? a.error : (b as { error: unknown }).error;
        return finish(step - 1, "error", { error: `step ${step} at ${formatAddress(pc)} failed on the ${who}: ${message(err)}`, adoptedCounterReads: adopted });
      }
      if (a.status === "exited" && b.status === "exited") return finish(step, "powered-off", { adoptedCounterReads: adopted });
      if (a.status === "exited" || b.status === "exited") {
        const msg = a.status === "exited"
          ? "the reference powered off (or its connection ended) but the target kept running"
          : "the target powered off but the reference kept running";
        await refRunner.stop();
        const divergence = await describeDivergence(ref, tgt, step, "exit", pc, history, historyLength, [], stepRegs(a), stepRegs(b), stepInsn(a) ?? stepInsn(b), msg);
        return finish(step - 1, "divergence", { divergence, adoptedCounterReads: adopted });
      }
      let diffs = compareSnapshots(a.regs, b.regs, mode, ignore);
      const insn = a.insn ?? b.insn;
      const counterRead = insn !== undefined ? counterReadRegister(insn) : undefined;
      if (diffs.length === 1 && diffs[0].name === counterRead && adopt && tgt.adoptCounterRead) {
        // A free-running counter: its absolute value is not comparable; the target takes the reference's.
        await tgt.adoptCounterRead(counterRead, diffs[0].reference);
        b.regs = await tgt.registers();
        diffs = compareSnapshots(a.regs, b.regs, mode, ignore);
        if (diffs.length === 0) adopted++;
      }
      if (diffs.length === 1 && diffs[0].name === "cpsr" && adoptFlags && tgt.adoptExceptionEntryFlags && isExceptionEntryFlagsDifference(a.regs, b.regs)) {
        // QEMU's exception entry zeroes NZCV, the architecture keeps them: not a divergence of the target.
        if (await tgt.adoptExceptionEntryFlags(a.regs.cpsr >>> 28)) {
          b.regs = await tgt.registers();
          diffs = compareSnapshots(a.regs, b.regs, mode, ignore);
          if (diffs.length === 0) adoptedFlags++;
        }
      }
      if (diffs.length) {
        await refRunner.stop();
        const note = counterRead && diffs.some((d) => d.name === counterRead)
          ? `${counterRead} was read from a free-running counter: absolute values differ between machines` +
            (tgt.adoptCounterRead ? "" : " (a target that implements adoptCounterRead() takes the reference's value and continues)")
          : undefined;
        const divergence = await describeDivergence(ref, tgt, step, "registers", pc, history, historyLength, diffs, a.regs, b.regs, insn, note);
        return finish(step - 1, "divergence", { divergence, adoptedCounterReads: adopted });
      }
      history.push(pc);
      if (history.length > historyLength) history.shift();
      refRegs = a.regs;
      tgtRegs = b.regs;
    }
    return finish(maxSteps, "max-steps", { adoptedCounterReads: adopted });
  } finally {
    await runner?.stop();
    for (const t of owned.reverse()) {
      try {
        await t.close();
      } catch {
        /* closing is best effort */
      }
    }
  }
}

async function stepTarget(target: LockstepTarget): Promise<StepItem> {
  try {
    const status = await target.step();
    if (status === "exited") return { status: "exited" };
    return { status: "running", regs: await target.registers(), insn: target.lastInstruction?.() };
  } catch (error) {
    return { status: "error", error };
  }
}

/**
 * `MRS Xt, <counter>` for the free-running counters (CNTVCT_EL0, CNTPCT_EL0, their self-synchronised forms,
 * PMCCNTR_EL0): returns "xN", or undefined for anything else (and for XZR).
 */
export function counterReadRegister(insn: number): string | undefined {
  const rt = insn & 31;
  const op = (insn & 0xffffffe0) >>> 0;
  const counters = [0xd53be020, 0xd53be040, 0xd53be0a0, 0xd53be0c0, 0xd53b9d00];
  return counters.includes(op) && rt !== 31 ? `x${rt}` : undefined;
}

const WFI = 0xd503207f;
const WFE = 0xd503205f;

/**
 * A reference step a target may run together with others: it retired an instruction that is not WFI/WFE or a
 * counter read, and it did not end as QEMU ends an exception entry: PC 128-byte aligned (a vector), D, A, I, F
 * masked and NZCV clear. An ordinary instruction that ends like that is merely taken alone. (An entry is also a
 * step that retires nothing when an interrupt is taken, so a run of steps must not contain one.)
 */
function isPlainStep(item: StepItem): item is StepItem & { status: "running" } {
  if (item.status !== "running" || item.insn === undefined) return false;
  const insn = item.insn >>> 0;
  if (insn === WFI || insn === WFE || counterReadRegister(insn) !== undefined) return false;
  const cpsr = item.regs.cpsr >>> 0;
  return (item.regs.pc & 0x7fn) !== 0n || (cpsr & 0x3c0) !== 0x3c0 || cpsr >>> 28 !== 0;
}

function stepRegs(item: StepItem): RegisterSnapshot | undefined {
  return item.status === "running" ? item.regs : undefined;
}

function stepInsn(item: StepItem): number | undefined {
  return item.status === "running" ? item.insn : undefined;
}

async function describeDivergence(
  ref: LockstepTarget,
  tgt: LockstepTarget,
  step: number,
  kind: Divergence["kind"],
  pc: bigint,
  history: bigint[],
  historyLength: number,
  differences: RegisterDiff[],
  refRegs: RegisterSnapshot | undefined,
  tgtRegs: RegisterSnapshot | undefined,
  executed: number | undefined,
  msg?: string,
): Promise<Divergence> {
  // The encoding the reference executed; else as the reference's memory holds it (the target's if the
  // reference is gone: it may have run ahead and powered off).
  let encoding = executed;
  for (const side of [ref, tgt]) {
    if (encoding !== undefined || !side.readMemory) continue;
    try {
      const bytes = Buffer.from(await side.readMemory(pc, 4));
      if (bytes.length === 4) encoding = bytes.readUInt32LE(0);
    } catch {
      /* the side may have exited */
    }
  }
  let disassembly: string | undefined;
  try {
    if (tgt.disassemble) disassembly = await tgt.disassemble(pc, encoding);
  } catch {
    /* fall back below */
  }
  const objdump = encoding !== undefined ? objdumpDisassemble(pc, encoding) : undefined;
  if (!disassembly) disassembly = objdump;
  return {
    step,
    kind,
    pc,
    pcAfter: { reference: refRegs?.pc, target: tgtRegs?.pc },
    encoding,
    disassembly,
    objdumpDisassembly: objdump && objdump !== disassembly ? objdump : undefined,
    differences,
    previousPcs: history.slice(-historyLength),
    message: msg,
    reference: refRegs,
    target: tgtRegs,
  };
}

/** Human-readable report of a result. */
export function formatLockstepResult(r: LockstepResult): string {
  const lines: string[] = [];
  lines.push(`reference: ${r.referenceDescription}`);
  lines.push(`target:    ${r.targetDescription}`);
  lines.push(`compared:  ${r.compared.length} registers${r.skipped.length ? ` (not compared: ${r.skipped.join(", ")})` : ""}`);
  const adopted = (r.adoptedCounterReads ? `, ${r.adoptedCounterReads} counter reads adopted from the reference` : "") +
    (r.adoptedExceptionEntryFlags ? `, NZCV taken from the reference at ${r.adoptedExceptionEntryFlags} exception entries` : "");
  const rate = `${r.steps} steps in ${(r.elapsedMs / 1000).toFixed(2)} s (${Math.round(r.stepsPerSecond)} steps/s${adopted})`;
  switch (r.end) {
    case "max-steps":
      lines.push(`no divergence: ${rate}, stopped at the step limit`);
      break;
    case "powered-off":
      lines.push(`no divergence: ${rate}, both machines powered off`);
      break;
    case "error":
      lines.push(`error after ${rate}: ${r.error}`);
      break;
    case "interrupted":
      lines.push(`interrupted: no divergence in ${rate}`);
      break;
    case "divergence": {
      const d = r.divergence!;
      lines.push(`DIVERGENCE at step ${d.step}${d.step === 0 ? " (initial state)" : ""} after ${rate}`);
      const enc = d.encoding !== undefined ? `  ${d.encoding.toString(16).padStart(8, "0")}` : "";
      if (d.step > 0) lines.push(`  instruction: ${formatAddress(d.pc)}${enc}  ${d.disassembly ?? ""}`.trimEnd());
      if (d.objdumpDisassembly) lines.push(`  objdump reads it as: ${d.objdumpDisassembly}`);
      if (d.message) lines.push(`  ${d.message}`);
      if (d.differences.length) {
        lines.push(...formatDiffTable(d.differences, "reference", "target").split("\n").map((l) => "  " + l));
      }
      const cpsrDiff = d.differences.find((x) => x.name === "cpsr");
      if (cpsrDiff) lines.push(`  cpsr: reference ${describeCpsr(Number(cpsrDiff.reference))}, target ${describeCpsr(Number(cpsrDiff.target))}`);
      if (d.previousPcs.length) lines.push(`  previous PCs: ${d.previousPcs.map((p) => "0x" + p.toString(16)).join(" ")}`);
      break;
    }
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// CLI

interface CliOptions {
  lockstep: LockstepOptions;
  against: "rewind" | "qemu";
  quiet: boolean;
  /** The Rewind target's engine (`--engine`), passed on as `RewindTargetOptions.engine`. */
  engine?: string;
}

const USAGE = `usage: lockstep -kernel FILE [-icount shift=N] [--max-steps N] [--compare full|pc-only]
                [--ignore REG,...] [--sys SYSREG,...] [--against rewind|qemu] [--reference replay|live]
                [--sstep FLAGS] [--history N] [--record-timeout MS] [--no-adopt-counters]
                [--no-adopt-exception-flags] [--engine interp|wasm|js] [--stride N] [--quiet]`;

export function parseLockstepArgs(argv: string[]): CliOptions {
  let kernel: string | undefined;
  const lockstep: Partial<LockstepOptions> = {};
  const qemu: Partial<QemuTargetOptions> = {};
  let against: CliOptions["against"] = "rewind";
  let quiet = false;
  let engine: string | undefined;
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v === "") throw new LockstepError(`option ${name} needs a value\n${USAGE}`);
    return v;
  };
  const count = (text: string, name: string): number => {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) throw new LockstepError(`option ${name}: ${JSON.stringify(text)} is not a number`);
    return Number(text);
  };
  const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "-kernel": case "--kernel": kernel = value(i++, a); break;
      case "-icount": case "--icount": lockstep.icount = value(i++, a); break;
      case "--max-steps": lockstep.maxSteps = count(value(i++, a), a); break;
      case "--compare": {
        const v = value(i++, a);
        if (v !== "full" && v !== "pc-only") throw new LockstepError(`--compare must be full or pc-only, not ${JSON.stringify(v)}`);
        lockstep.compare = v;
        break;
      }
      case "--ignore": lockstep.ignore = [...(lockstep.ignore ?? []), ...list(value(i++, a))]; break;
      case "--sys": lockstep.sysRegisters = [...(lockstep.sysRegisters ?? []), ...list(value(i++, a))]; break;
      case "--history": lockstep.history = count(value(i++, a), a); break;
      case "--against": {
        const v = value(i++, a);
        if (v !== "rewind" && v !== "qemu") throw new LockstepError(`--against must be rewind or qemu, not ${JSON.stringify(v)}`);
        against = v;
        break;
      }
      case "--reference": {
        const v = value(i++, a);
        if (v !== "replay" && v !== "live") throw new LockstepError(`--reference must be replay or live, not ${JSON.stringify(v)}`);
        qemu.mode = v;
        break;
      }
      case "--sstep": qemu.sstep = count(value(i++, a), a); break;
      case "--record-timeout": qemu.recordTimeoutMs = count(value(i++, a), a); break;
      case "--no-adopt-counters": lockstep.adoptCounterReads = false; break;
      case "--no-adopt-exception-flags": lockstep.adoptExceptionEntryFlags = false; break;
      case "--engine": engine = value(i++, a); break;
      case "--stride": lockstep.stride = count(value(i++, a), a); break;
      case "--quiet": case "-q": quiet = true; break;
      case "--help": case "-h": throw new LockstepError(USAGE);
      default: throw new LockstepError(`unknown option ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  if (!kernel) throw new LockstepError(`-kernel is required\n${USAGE}`);
  return { lockstep: { ...lockstep, kernel, qemu }, against, quiet, engine };
}

async function loadRewindTarget(): Promise<(o: RewindTargetOptions) => LockstepTarget | Promise<LockstepTarget>> {
  const path = "./lockstep/rewind-target.js"; // provided by the emulator; not imported statically on purpose
  let mod: { createRewindTarget?: unknown };
  try {
    mod = await import(path);
  } catch {
    throw new LockstepError("Rewind's lockstep target (src/tools/lockstep/rewind-target.ts) is not available yet; use --against qemu to check the oracle itself");
  }
  if (typeof mod.createRewindTarget !== "function") {
    throw new LockstepError("src/tools/lockstep/rewind-target.ts does not export createRewindTarget(options)");
  }
  return mod.createRewindTarget as (o: RewindTargetOptions) => LockstepTarget | Promise<LockstepTarget>;
}

export async function main(argv: string[]): Promise<number> {
  let dtbDir: string | undefined;
  try {
    const cli = parseLockstepArgs(argv);
    const opts = cli.lockstep;
    if (cli.against === "qemu") {
      opts.createTarget = () => QemuTarget.start(qemuOptionsFor(opts));
    } else {
      const create = await loadRewindTarget();
      // Both sides load QEMU's device tree, so guests that read it see the same bytes.
      dtbDir = mkdtempSync(join(tmpdir(), "rewind-lockstep-dtb-"));
      const dtb = dumpQemuDtb(join(dtbDir, "machine.dtb"), opts.qemu ?? {});
      opts.qemu = { ...opts.qemu, extraArgs: [...(opts.qemu?.extraArgs ?? []), "-dtb", dtb] };
      opts.createTarget = (o) => create({ ...o, engine: cli.engine, dtb });
    }
    if (!cli.quiet) {
      opts.onProgress = (steps, ms) => process.stderr.write(`  ${steps} steps, ${Math.round((steps * 1000) / ms)} steps/s\n`);
    }
    // ^C ends the run cleanly (QEMU stopped, temporary files removed) and still prints the summary.
    const abort = new AbortController();
    opts.signal = abort.signal;
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    const result = await runLockstep(opts).finally(() => process.off("SIGINT", onSigint));
    process.stdout.write(formatLockstepResult(result) + "\n");
    return result.end === "divergence" ? 1 : result.end === "error" || result.end === "interrupted" ? 2 : 0;
  } catch (err) {
    process.stderr.write(`lockstep: ${message(err)}\n`);
    return 2;
  } finally {
    if (dtbDir) rmSync(dtbDir, { recursive: true, force: true });
  }
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

// Compiles a planned block to one JavaScript function (new Function; docs/decisions.md says why JavaScript
// and not WebAssembly first).
//
// The compiled function runs the block's instructions in order, calling each instruction's executor (the very
// closures the interpreter runs, so both tiers share one implementation of every instruction), and returns how
// many steps it ran. What the interpreter's loop does around every step is done here only where it can matter:
//   - the PC and the next PC are stored before an instruction that reads them (PC-relative, accesses that may
//     fault, the block's last instruction);
//   - the step count is stored before an access (a device may read the clock) and at the end;
//   - after an access, the block stops early when the access ended the burst, made an unmasked interrupt
//     pending or wrote to a page of code (self-modifying code: the rest of the block may be stale);
//   - a synchronous exception (EXCEPTION_TAKEN) ends the block with the faulting step counted, as the
//     interpreter counts it, and the PC at the vector;
//   - while watchpoints are set, each access's instruction is made undoable first (Cpu.beginWatchedStep), and a
//     watchpoint that stops before it (WATCH_STOP) takes it back and ends the block on it, as the interpreter
//     does; a stop after a device access (Cpu.watchStopLate) ends the block after the instruction.
// The state after a compiled block is therefore the interpreter's state after the same number of steps.

import { EXCEPTION_TAKEN, WATCH_STOP } from "../cpu.js";
import type { Cpu } from "../cpu.js";
import type { VirtualClock } from "../../../core/clock.js";
import { InsnClass, type BlockPlan } from "./block.js";
import { EMITTERS } from "./emit.js";

/** Runs the block (repeatedly, if it loops, within `budget` steps, which is at least its length). */
export type CompiledBlock = (c: Cpu, clock: VirtualClock, budget: number) => number;

/** Rows that may branch back to the block's start, making it a loop the compiled code can run in place. */
const LOOP_BRANCHES = new Set(["B", "B_cond", "CBZ", "CBNZ", "TBZ", "TBNZ"]);

/**
 * The JavaScript source of a block's body. A block whose last instruction branches back to its own start runs
 * again inside the same call while the whole block still fits in `budget` and nothing asks the engine to look
 * (exactly what the engine would do next: look the block up again and run it).
 */
export function blockSource(plan: BlockPlan): string {
  const n = plan.execs.length;
  const loops = LOOP_BRANCHES.has(plan.rows[n - 1]);
  const lines: string[] = [];
  lines.push(
    "const base0 = clock.icount;",
    "const xl = c.xlo, xh = c.xhi;",
    "const pl = c.pcLo >>> 0, ph = c.pcHi;",
    "const g = c.fetchGeneration;",
    "let k = 0, done = 0, base = base0;",
    "try {",
  );
  if (loops) lines.push("for (;;) {");
  for (let i = 0; i < n; i++) {
    const cls = plan.classes[i];
    const last = i === n - 1;
    const inline = EMITTERS[plan.rows[i]]?.(plan.fields[i], { offset: 4 * i });
    const pageEnd = plan.slot + i === 1023; // pc + 4 may carry into the high half only on a page's last word
    if (cls !== InsnClass.Pure || last) {
      lines.push(`  c.pcLo = pl + ${4 * i};`);
      if (pageEnd) lines.push(`  c.nextLo = (pl + ${4 * i + 4}) >>> 0; c.nextHi = pl + ${4 * i + 4} > 0xffffffff ? (ph + 1) >>> 0 : ph;`);
      else lines.push(`  c.nextLo = pl + ${4 * i + 4}; c.nextHi = ph;`);
    }
    if (cls === InsnClass.Access || cls === InsnClass.Last)
      lines.push(`  k = ${i}; clock.icount = base + ${i + 1}; if (c.watchHook !== null) c.beginWatchedStep();`);
    lines.push(inline === undefined ? `  e${i}(c);` : `  ${inline}`);
    if (cls === InsnClass.Access && !last)
      lines.push(
        `  if (c.endBurst || c.fetchGeneration !== g || (c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0)) {`,
        `    c.pcLo = c.nextLo; c.pcHi = c.nextHi; clock.icount = base + ${i + 1}; return done + ${i + 1};`,
        `  }`,
      );
  }
  lines.push(`  done += ${n}; base += ${n};`);
  if (loops) {
    lines.push(
      `  if (c.nextLo !== pl || c.nextHi !== ph || done + ${n} > budget || c.endBurst || c.fetchGeneration !== g ||`,
      `      (c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0)) break;`,
      "}",
    );
  }
  lines.push(
    "  c.pcLo = c.nextLo; c.pcHi = c.nextHi;",
    "  clock.icount = base;",
    "  return done;",
    "} catch (e) {",
    "  if (e === WATCH) {",
    "    // A watchpoint stops before the access's instruction: take it back whole; PC and count stay on it.",
    "    c.undoWatchedStep(); c.debugStop = true; c.endBurst = true;",
    "    c.pcLo = pl + 4 * k; c.pcHi = ph; clock.icount = base + k;",
    "    return done + k;",
    "  }",
    "  if (e !== TAKEN) throw e;",
    "  c.pcLo = c.nextLo; c.pcHi = c.nextHi;",
    "  return done + k + 1;",
    "}",
  );
  return lines.join("\n");
}

/** Builds the block's function; the executors become constants of its closure. */
export function compileBlock(plan: BlockPlan): CompiledBlock {
  const n = plan.execs.length;
  const names = Array.from({ length: n }, (_, i) => `e${i}`);
  const factory = new Function(
    "E",
    "TAKEN",
    "WATCH",
    `const ${names.map((e, i) => `${e} = E[${i}]`).join(", ")};\nreturn function block(c, clock, budget) {\n${blockSource(plan)}\n};`,
  ) as (execs: readonly unknown[], taken: unknown, watch: unknown) => CompiledBlock;
  return factory(plan.execs, EXCEPTION_TAKEN, WATCH_STOP);
}

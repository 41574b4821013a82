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
import { InsnClass, branchOffset, type BlockPlan } from "./block.js";
import { EMITTERS, conditionalTest, jump } from "./emit.js";
import { MEMORY_PRELUDE } from "./emit-memory.js";
import type { Ram } from "../../../core/memory.js";

/** Runs the block (repeatedly, if it loops, within `budget` steps, which is at least its length). */
export type CompiledBlock = (c: Cpu, clock: VirtualClock, budget: number) => number;

/**
 * The JavaScript source of a block's body. A block that branches back to its own start (from its last
 * instruction or a side exit) runs again inside the same call while the whole block still fits in `budget`
 * (exactly what the engine would do next: run the same block again). Nothing else can stop a pass: an access
 * that ends the burst, raises an interrupt or writes code leaves the block right after it.
 */
export function blockSource(plan: BlockPlan): string {
  const n = plan.execs.length;
  const lastRow = plan.rows[n - 1];
  const targetOf = (i: number) => plan.offsets[i] + branchOffset(plan.rows[i], plan.fields[i]);
  const isBranch = (i: number) => plan.classes[i] === InsnClass.CondBranch || ((lastRow === "B" || lastRow === "BL") && i === n - 1);
  const loops = Array.from({ length: n }, (_, i) => i).some((i) => isBranch(i) && targetOf(i) === 0);
  const lines: string[] = [];
  lines.push(
    "const base0 = clock.icount;",
    "const xl = c.xlo, xh = c.xhi;",
    "const pl = c.pcLo >>> 0, ph = c.pcHi;",
    "const g = c.fetchGeneration;",
    MEMORY_PRELUDE,
    "let k = 0, o = 0, done = 0, base = base0;",
    "try {",
  );
  if (loops) lines.push("for (;;) {");
  for (let i = 0; i < n; i++) {
    const cls = plan.classes[i];
    const last = i === n - 1;
    const off = plan.offsets[i];
    const ctx = { offset: off };
    const pageEnd = plan.slots[i] === 1023; // pc + 4 may carry into the high half only on a page's last word
    const storePc = () => {
      lines.push(`  c.pcLo = pl + ${off};`);
      if (pageEnd) lines.push(`  c.nextLo = (pl + ${off + 4}) >>> 0; c.nextHi = pl + ${off + 4} > 0xffffffff ? (ph + 1) >>> 0 : ph;`);
      else lines.push(`  c.nextLo = pl + ${off + 4}; c.nextHi = ph;`);
    };
    if (cls === InsnClass.CondBranch && !last) {
      // A side exit: leave the block when taken (or start the next pass, when it targets the block's start).
      const test = conditionalTest(plan.rows[i], plan.fields[i]);
      const target = targetOf(i);
      const exit = `${jump(ctx, branchOffset(plan.rows[i], plan.fields[i]))} c.pcLo = c.nextLo; c.pcHi = c.nextHi; clock.icount = base + ${i + 1}; return done + ${i + 1};`;
      if (target === 0 && loops)
        lines.push(`  if (${test}) { if (done + ${i + 1 + n} <= budget) { done += ${i + 1}; base += ${i + 1}; continue; } ${exit} }`);
      else lines.push(`  if (${test}) { ${exit} }`);
      continue;
    }
    if (cls === InsnClass.Jump && !last) {
      // Followed within the page: only BL does anything (the return address).
      if (plan.rows[i] === "BL") lines.push(`  { const t = pl + ${off + 4}; xl[30] = t; xh[30] = t > 0xffffffff ? (ph + 1) >>> 0 : ph; }`);
      continue;
    }
    const inline = EMITTERS[plan.rows[i]]?.(plan.fields[i], ctx);
    if (cls !== InsnClass.Pure || last) storePc();
    if (cls === InsnClass.Access || cls === InsnClass.Last || last)
      lines.push(`  k = ${i}; o = ${off}; clock.icount = base + ${i + 1}; if (c.watchHook !== null) c.beginWatchedStep();`);
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
    // The last instruction may branch to the start too (or fall through / branch elsewhere: leave).
    if (isBranch(n - 1) && targetOf(n - 1) === 0)
      lines.push(`  if (c.nextLo === pl && c.nextHi === ph && done + ${n} <= budget) continue;`);
    lines.push("  break;", "}");
  }
  lines.push(
    "  c.pcLo = c.nextLo; c.pcHi = c.nextHi;",
    "  clock.icount = base;",
    "  return done;",
    "} catch (e) {",
    "  if (e === WATCH) {",
    "    // A watchpoint stops before the access's instruction: take it back whole; PC and count stay on it.",
    "    c.undoWatchedStep(); c.debugStop = true; c.endBurst = true;",
    "    c.pcLo = pl + o; c.pcHi = ph; clock.icount = base + k;",
    "    return done + k;",
    "  }",
    "  if (e !== TAKEN) throw e;",
    "  c.pcLo = c.nextLo; c.pcHi = c.nextHi;",
    "  return done + k + 1;",
    "}",
  );
  return lines.join("\n");
}

/** Builds the block's function; the executors and the primary RAM become constants of its closure. */
export function compileBlock(plan: BlockPlan, ram: Ram): { run: CompiledBlock; sourceChars: number } {
  const n = plan.execs.length;
  const names = Array.from({ length: n }, (_, i) => `e${i}`);
  const body = blockSource(plan);
  const factory = new Function(
    "E",
    "TAKEN",
    "WATCH",
    "R",
    `const DV = R.view, RB = R.base, RS = R.size, DIRTY = R.dirty, CODE = R.codePages;\nconst ${names.map((e, i) => `${e} = E[${i}]`).join(", ")};\nreturn function block(c, clock, budget) {\n${body}\n};`,
  ) as (execs: readonly unknown[], taken: unknown, watch: unknown, ram: Ram) => CompiledBlock;
  return { run: factory(plan.execs, EXCEPTION_TAKEN, WATCH_STOP, ram), sourceChars: body.length };
}

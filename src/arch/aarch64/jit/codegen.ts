// Compiles a region — the hot blocks of one code page (block-engine.ts chooses them) — to one JavaScript function
// (new Function; docs/decisions.md says why JavaScript and not WebAssembly first).
//
// Each member block is a `case` of a switch on its page offset, inside a loop: a block that ends with its next
// PC at another member's start goes on there without returning to the engine (loops, if/else, calls and returns
// within the page). The instructions run in order, inline (emit.ts, emit-memory.ts) or through the executor the
// interpreter runs (so both tiers share one implementation of every instruction), and the function returns how
// many steps it ran. What the interpreter's loop does around every step is done here only where it can matter:
//   - the PC and the next PC are stored before an instruction that reads them (PC-relative, accesses that may
//     fault, the block's last instruction); an inline load or store does it only on its slow path, the CPU's
//     accessor (the direct RAM path cannot fault, reach a device or read the clock);
//   - the step count is stored before an access that may reach a device (a device may read the clock), and
//     when leaving;
//   - after an access, the region stops early when the access ended the burst, made an unmasked interrupt
//     pending or wrote to a page of code (self-modifying code: the rest of the block may be stale);
//   - a synchronous exception (EXCEPTION_TAKEN) ends the region with the faulting step counted, as the
//     interpreter counts it, and the PC at the vector;
//   - while watchpoints are set, each access's instruction is made undoable first (Cpu.beginWatchedStep), and a
//     watchpoint that stops before it (WATCH_STOP) takes it back and ends the region on it, as the interpreter
//     does; a stop after a device access (Cpu.watchStopLate) ends the region after the instruction.
// The state after a compiled region is therefore the interpreter's state after the same number of steps.

import { EXCEPTION_TAKEN, WATCH_STOP } from "../cpu.js";
import type { Cpu } from "../cpu.js";
import type { VirtualClock } from "../../../core/clock.js";
import { InsnClass, branchOffset, type BlockPlan } from "./block.js";
import { EMITTERS, conditionalTest, jump } from "./emit.js";
import { DEFERRED_ACCESS_ROWS, MEMORY_PRELUDE } from "./emit-memory.js";
import type { Exec } from "../decoder.js";
import type { Ram } from "../../../core/memory.js";

/**
 * Runs a region from the member block at page offset `at` and on through its members while they fit in
 * `budget` steps (once: only that block, so that the engine sees every block start; it does while breakpoints
 * are set). Returns the steps run; the PC, next PC and step count are the interpreter's after them.
 */
export type CompiledBlock = (c: Cpu, clock: VirtualClock, budget: number, at: number, once: boolean) => number;

/** Statements that leave the region with the PC at the next PC, after `steps` more steps of the current block. */
const exitAfter = (steps: string) => `c.pcLo = c.nextLo; c.pcHi = c.nextHi; clock.icount = base + ${steps}; return done + ${steps};`;
/** Leaves the region at the next PC, between blocks. */
const EXIT = "c.pcLo = c.nextLo; c.pcHi = c.nextHi; clock.icount = base; return done;";
/** The checks after an access: leave right after it when it ended the burst, made an unmasked interrupt pending,
 * or wrote code or changed a translation (fetch generation). */
const ACCESS_CHANGED = "c.endBurst || c.fetchGeneration !== g || (c.irqLine && (c.daif & 2) === 0) || (c.fiqLine && (c.daif & 1) === 0)";
/** Rows that end a block but may go on to another member: branches (the next PC is all they change). */
export const DISPATCHING: ReadonlySet<string> = new Set(["B", "BL", "B_cond", "CBZ", "CBNZ", "TBZ", "TBNZ", "BR", "BLR", "RET"]);

/**
 * The JavaScript source of a region's body: one `case` per member block, keyed by its page offset, in a loop
 * that goes from member to member while the next PC is the start of one (a side exit, a loop's back edge, the
 * fall-through or a register branch within the page). Nothing else can stop between members: an access that
 * ends the burst, raises an interrupt or writes code leaves right after it, a system instruction leaves the
 * region, and each member first checks that it fits in the budget.
 */
export function regionSource(members: readonly BlockPlan[]): string {
  const lines: string[] = [
    "const xl = c.xlo, xh = c.xhi;",
    "const pl = ((c.pcLo >>> 0) - at) >>> 0, ph = c.pcHi;", // the page's first address: offsets are from it
    "const g = c.fetchGeneration;",
    MEMORY_PRELUDE,
    "let k = 0, o = 0, done = 0, base = clock.icount, sl = 0;",
    "c.nextLo = c.pcLo; c.nextHi = c.pcHi;",
    "try {",
    "run: for (;;) {",
    "sw: switch (at) {",
  ];
  let first = 0;
  for (const plan of members) {
    memberSource(plan, first, lines);
    first += plan.execs.length;
  }
  lines.push(
    `default: ${EXIT}`,
    "}",
    // Between members: the next PC is in c.nextLo/nextHi.
    `if (once || c.nextHi !== ph) { ${EXIT} }`,
    "at = (c.nextLo - pl) | 0;",
    "}",
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

/** One member's `case`: its instructions (executors e<first>...), leaving the switch (`break sw`) with the next
 * PC set. */
function memberSource(plan: BlockPlan, first: number, lines: string[]): void {
  const n = plan.execs.length;
  const start = plan.slots[0] * 4;
  lines.push(`case ${start}: {`, `  if (done + ${n} > budget) { c.pcLo = pl + ${start}; c.pcHi = ph; clock.icount = base; return done; }`);
  for (let i = 0; i < n; i++) {
    const cls = plan.classes[i];
    const row = plan.rows[i];
    const last = i === n - 1;
    const off = plan.slots[i] * 4;
    const nextPc =
      plan.slots[i] === 1023 // pc + 4 may carry into the high half only on a page's last word
        ? `c.nextLo = (pl + ${off + 4}) >>> 0; c.nextHi = pl + ${off + 4} > 0xffffffff ? (ph + 1) >>> 0 : ph;`
        : `c.nextLo = pl + ${off + 4}; c.nextHi = ph;`;
    const storePc = `  c.pcLo = pl + ${off}; ${nextPc}`;
    const prologue = `k = ${i}; o = ${off}; clock.icount = base + ${i + 1}; if (c.watchHook !== null) c.beginWatchedStep();`;
    if (cls === InsnClass.CondBranch && !last) {
      // A side exit: leave the block when taken (to another member, or out of the region).
      lines.push(`  if (${conditionalTest(row, plan.fields[i])}) { ${jump({ offset: off }, branchOffset(row, plan.fields[i]))} done += ${i + 1}; base += ${i + 1}; break sw; }`);
      continue;
    }
    if (cls === InsnClass.Jump && !last) {
      // Followed within the page: only BL does anything (the return address).
      if (row === "BL") lines.push(`  { const t = pl + ${off + 4}; xl[30] = t; xh[30] = t > 0xffffffff ? (ph + 1) >>> 0 : ph; }`);
      continue;
    }
    if (cls === InsnClass.Access && DEFERRED_ACCESS_ROWS.has(row)) {
      // An inline load or store: the PC, count and watchpoint set-up are needed only on its slow path (the
      // CPU's accessor), and so are the checks after it.
      const ctx = { offset: off, slow: `c.pcLo = pl + ${off}; ${nextPc} ${prologue}` };
      const inline = EMITTERS[row]?.(plan.fields[i], ctx);
      if (inline !== undefined) {
        if (last) lines.push(`  ${nextPc}`);
        lines.push(`  ${inline}`, `  if (sl !== 0) { sl = 0; if (${ACCESS_CHANGED}) { ${nextPc} ${exitAfter(String(i + 1))} } }`); // (a store to code sets no PC)
        continue;
      }
    }
    const inline = EMITTERS[row]?.(plan.fields[i], { offset: off, slow: "" });
    if (cls !== InsnClass.Pure || last) lines.push(storePc);
    if (cls === InsnClass.Access || cls === InsnClass.Last || last) lines.push(`  ${prologue}`);
    lines.push(inline === undefined ? `  e${first + i}(c);` : `  ${inline}`);
    if (cls === InsnClass.Access && !last) lines.push(`  if (${ACCESS_CHANGED}) { ${exitAfter(String(i + 1))} }`);
  }
  lines.push(`  done += ${n}; base += ${n};`);
  const lastRow = plan.rows[n - 1];
  // After a system instruction (exception return, MSR, WFI, ...) the EL, the MMU or the masks may have changed:
  // back to the engine. Anything else goes on at the next PC.
  if (plan.classes[n - 1] === InsnClass.Last && !DISPATCHING.has(lastRow)) lines.push(`  ${EXIT}`);
  else lines.push("  break sw;");
  lines.push("}");
}

/** Builds a region's function; the executors and the primary RAM become constants of its closure. */
export function compileRegion(members: readonly BlockPlan[], ram: Ram): { run: CompiledBlock; sourceChars: number } {
  const execs = members.flatMap((plan) => plan.execs);
  const names = execs.map((_, i) => `e${i} = E[${i}]`).join(", ");
  const body = regionSource(members);
  const factory = new Function(
    "E",
    "TAKEN",
    "WATCH",
    "R",
    `const DV = R.view, RB = R.base, RS = R.size, DIRTY = R.dirty, CODE = R.codePages;\nconst ${names};\nreturn function region(c, clock, budget, at, once) {\n${body}\n};`,
  ) as (execs: readonly Exec[], taken: unknown, watch: unknown, ram: Ram) => CompiledBlock;
  return { run: factory(execs, EXCEPTION_TAKEN, WATCH_STOP, ram), sourceChars: body.length };
}

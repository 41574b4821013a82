// Block formation: the straight-line run of instructions starting at one physical address, within one page.
//
// A block ends after a branch or a system instruction (exception entry and return, MSR/MRS, barriers, WFI:
// anything that may change the PC, the translation, the masks or the clock's deadlines), before an encoding the
// decoder does not know (the interpreter reports it if it is ever executed), at the end of the page, and after
// MAX_BLOCK instructions. Each instruction is classified by what the compiled code must do around it.

import type { InsnSpec, Exec, Fields } from "../decoder.js";
import type { Ram } from "../../../core/memory.js";
import { PAGE_BITS } from "../../../core/memory.js";
import { DP_IMM } from "../insns/data-processing-imm.js";
import { DP_REG } from "../insns/data-processing-reg.js";
import { BRANCH } from "../insns/branch.js";
import { SYSTEM } from "../insns/system.js";
import type { Interpreter } from "../interpreter.js";

export const MAX_BLOCK = 48;
const WORDS_PER_PAGE = 1 << (PAGE_BITS - 2);

export const enum InsnClass {
  /** Registers and flags only: cannot fault, read the clock, touch memory or change the PC. */
  Pure = 0,
  /** As Pure, but reads the PC (ADR, ADRP). */
  PurePc = 1,
  /** May fault or reach a device (loads, stores, FP/SIMD moves that trap when disabled): the PC, the step
   * count and the exception handling must be exact around it, and the block ends early after it when the
   * access ended the burst, raised an interrupt or wrote code. */
  Access = 2,
  /** Ends the block: branches and system instructions. */
  Last = 3,
}

const classOf = new Map<InsnSpec, InsnClass>();
for (const s of DP_IMM) classOf.set(s, s.name === "ADR" || s.name === "ADRP" ? InsnClass.PurePc : InsnClass.Pure);
for (const s of DP_REG) classOf.set(s, InsnClass.Pure);
for (const s of BRANCH) classOf.set(s, InsnClass.Last);
for (const s of SYSTEM) classOf.set(s, InsnClass.Last);

/** The class of a decoded instruction (anything not listed above is a memory or FP/SIMD access). */
export function insnClass(spec: InsnSpec): InsnClass {
  return classOf.get(spec) ?? InsnClass.Access;
}

export interface BlockPlan {
  /** Slot (word index in the page) of the first instruction. */
  slot: number;
  execs: Exec[];
  classes: InsnClass[];
  /** The decode-table row and fields of each instruction (the code generator's input). */
  rows: string[];
  fields: Fields[];
}

/**
 * Plans the block at `off` in `ram` (code-cache page `page`). An empty plan means the first word is not an
 * implemented instruction.
 */
export function planBlock(interp: Interpreter, ram: Ram, off: number, page: number): BlockPlan {
  const slot = (off >>> 2) & (WORDS_PER_PAGE - 1);
  const plan: BlockPlan = { slot, execs: [], classes: [], rows: [], fields: [] };
  const pageStart = off - slot * 4;
  for (let s = slot; s < WORDS_PER_PAGE && plan.execs.length < MAX_BLOCK; s++) {
    const o = pageStart + s * 4;
    const exec = interp.decodedAt(ram, o, page);
    if (exec === undefined) break;
    const decoded = interp.decoder.decode(ram.view.getUint32(o, true))!;
    const cls = insnClass(decoded.spec);
    plan.execs.push(exec);
    plan.classes.push(cls);
    plan.rows.push(decoded.spec.name);
    plan.fields.push(decoded.fields);
    if (cls === InsnClass.Last) break;
  }
  return plan;
}

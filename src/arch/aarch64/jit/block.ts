// Block formation: the straight-line run of instructions starting at one physical address, within one page.
//
// A block follows execution from its first instruction: on past conditional branches (taken, they leave the
// block: side exits), on at the target of B and BL when it lies in the same page. It ends after a register branch
// or a system instruction (exception entry and return, MSR/MRS, barriers, WFI: anything that may change the PC,
// the translation, the masks or the clock's deadlines) or a jump out of the page, before an encoding the decoder
// does not know (the interpreter reports it if it is ever executed), at the end of the page, when it would
// revisit one of its own instructions, and after MAX_BLOCK instructions. Each instruction is classified by what
// the compiled code must do around it.

import type { InsnSpec, Exec, Fields } from "../decoder.js";
import { sext } from "../decoder.js";
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
  /** Ends the block: register branches, exception entry and return, system instructions. */
  Last = 3,
  /** A conditional branch with a static target (B.cond, CBZ, CBNZ, TBZ, TBNZ): the block leaves when it is
   * taken (a side exit) and goes on when it is not. */
  CondBranch = 4,
  /** B or BL: the block goes on at the target when it lies in the same page (BL writes X30), else ends. */
  Jump = 5,
}

const CONDITIONAL = new Set(["B_cond", "CBZ", "CBNZ", "TBZ", "TBNZ"]);
const classOf = new Map<InsnSpec, InsnClass>();
for (const s of DP_IMM) classOf.set(s, s.name === "ADR" || s.name === "ADRP" ? InsnClass.PurePc : InsnClass.Pure);
for (const s of DP_REG) classOf.set(s, InsnClass.Pure);
for (const s of BRANCH) classOf.set(s, CONDITIONAL.has(s.name) ? InsnClass.CondBranch : s.name === "B" || s.name === "BL" ? InsnClass.Jump : InsnClass.Last);
// System rows: hints (but WFI), barriers and CLREX only touch registers (barriers order nothing in a
// single-threaded emulator); MRS may read the clock and SYS (DC ZVA, TLBI, AT, IC) may write memory, fault or
// drop translations, like an access — the checks after an access end the block when one changed something the
// block depends on. The rest (SVC, HVC, SMC, BRK, HLT, ERET, MSR) end the block.
for (const s of SYSTEM) {
  const cls = ["HINT", "CLREX", "DSB_DMB_ISB"].includes(s.name) ? InsnClass.Pure : ["MRS", "SYS"].includes(s.name) ? InsnClass.Access : InsnClass.Last;
  classOf.set(s, cls);
}

/** The class of a decoded instruction (anything not listed above is a memory or FP/SIMD access). */
export function insnClass(spec: InsnSpec, f: Fields): InsnClass {
  if (spec.name === "HINT" && f.crm === 0 && f.op2 === 3) return InsnClass.Last; // WFI halts the CPU
  return classOf.get(spec) ?? InsnClass.Access;
}

/** The static byte offset a B, BL or conditional branch jumps by. */
export function branchOffset(row: string, f: Fields): number {
  switch (row) {
    case "B":
    case "BL":
      return sext(f.imm26, 26) * 4;
    case "TBZ":
    case "TBNZ":
      return sext(f.imm14, 14) * 4;
    default:
      return sext(f.imm19, 19) * 4;
  }
}

export interface BlockPlan {
  execs: Exec[];
  classes: InsnClass[];
  /** The decode-table row and fields of each instruction (the code generator's input). */
  rows: string[];
  fields: Fields[];
  /** Byte offset of each instruction from the block's first one (negative after a jump backwards). */
  offsets: number[];
  /** Word index in the page of each instruction. */
  slots: number[];
}

/**
 * Plans the block at `off` in `ram` (code-cache page `page`): instructions in execution order, following B and
 * BL within the page and going on past conditional branches (side exits). An empty plan means the first word is
 * not an implemented instruction.
 */
export function planBlock(interp: Interpreter, ram: Ram, off: number, page: number): BlockPlan {
  const first = (off >>> 2) & (WORDS_PER_PAGE - 1);
  const plan: BlockPlan = { execs: [], classes: [], rows: [], fields: [], offsets: [], slots: [] };
  const pageStart = off - first * 4;
  const seen = new Set<number>();
  let s = first;
  while (s < WORDS_PER_PAGE && plan.execs.length < MAX_BLOCK && !seen.has(s)) {
    seen.add(s);
    const o = pageStart + s * 4;
    const exec = interp.decodedAt(ram, o, page);
    if (exec === undefined) break;
    const decoded = interp.decoder.decode(ram.view.getUint32(o, true))!;
    let cls = insnClass(decoded.spec, decoded.fields);
    let next = s + 1;
    if (cls === InsnClass.Jump) {
      const target = s + branchOffset(decoded.spec.name, decoded.fields) / 4;
      if (target >= 0 && target < WORDS_PER_PAGE && !seen.has(target)) next = target;
      else cls = InsnClass.Last; // leaves the page, or loops within the block: the block ends here
    }
    plan.execs.push(exec);
    plan.classes.push(cls);
    plan.rows.push(decoded.spec.name);
    plan.fields.push(decoded.fields);
    plan.offsets.push((s - first) * 4);
    plan.slots.push(s);
    if (cls === InsnClass.Last) break;
    s = next;
  }
  return plan;
}

/**
 * The word slots in the page where execution may go on after the block, as far as the code says statically:
 * jumps (side-exit and branch targets in the page, the return sites of calls: BL, BLR) and the fall-through of a
 * block cut short (length, page end, an unknown encoding next). The engine gathers a region from them.
 */
export function successorSlots(plan: BlockPlan): { jumps: number[]; fallThrough: number[] } {
  const jumps: number[] = [];
  const fallThrough: number[] = [];
  const n = plan.execs.length;
  for (let i = 0; i < n; i++) {
    const row = plan.rows[i];
    const cls = plan.classes[i];
    const s = plan.slots[i];
    const last = i === n - 1;
    // B and BL followed within the block go on in it; as its last instruction they left the page or looped.
    if (cls === InsnClass.CondBranch || (last && (row === "B" || row === "BL"))) jumps.push(s + branchOffset(row, plan.fields[i]) / 4);
    if (row === "BL" || row === "BLR") jumps.push(s + 1);
    if (last && cls !== InsnClass.Last) fallThrough.push(s + 1);
  }
  const inPage = (s: number) => s >= 0 && s < WORDS_PER_PAGE;
  return { jumps: jumps.filter(inPage), fallThrough: fallThrough.filter(inPage) };
}

// WebAssembly for the instructions that dominate real code, one emitter per decode-table row, as jit/emit.ts
// does for JavaScript. Guest registers are i64 locals here (the region loads them on entry and stores them on
// exit, region.ts), so 64-bit arithmetic is one WebAssembly instruction instead of a pair of 32-bit halves. An
// emitter first decides whether it covers the encoding (returning false before emitting anything when it does
// not: the region then calls the row's executor) and then emits code that does exactly what the executor in
// insns/*.ts does; test/jit/differential.test.ts compares both on random instructions of every row.

import { branchOffset } from "../block.js";
import { ValType } from "./encoder.js";
import { loadStoreIndexed, loadStorePair, loadStoreReg, loadStoreUimm, loadStoreUnscaled } from "./emit-memory.js";
import { ALU_EMITTERS } from "./emit-alu.js";
import { branchTaken, jumpTo, type WasmEmitter } from "./context.js";

export { branchTaken, type WasmContext, type WasmEmitter } from "./context.js";

// ---- branches ---------------------------------------------------------------------------------------------

const branch: WasmEmitter = (fl, g) => {
  jumpTo(g, branchOffset("B", fl));
  return true;
};

const branchLink: WasmEmitter = (fl, g) => {
  g.setX(30, () => g.pc(4));
  jumpTo(g, branchOffset("BL", fl));
  return true;
};

function conditionalBranch(row: string): WasmEmitter {
  return (fl, g) => {
    branchTaken(g, row, fl);
    g.f.if();
    jumpTo(g, branchOffset(row, fl));
    g.f.end();
    return true;
  };
}

function branchReg(link: boolean): WasmEmitter {
  return (fl, g) => {
    const f = g.f;
    const t = g.temp(ValType.I64);
    g.x(fl.rn);
    f.set(t);
    if (link) g.setX(30, () => g.pc(4));
    f.get(t).set(g.next);
    return true;
  };
}

const nothing: WasmEmitter = () => true;

/** Row name -> emitter. Rows without one run their executor (region.ts calls out to it). */
export const WASM_EMITTERS: Readonly<Record<string, WasmEmitter>> = {
  ...ALU_EMITTERS,
  LDST_unscaled: loadStoreUnscaled,
  LDST_uimm: loadStoreUimm,
  LDST_reg: loadStoreReg,
  LDST_pre: loadStoreIndexed(true),
  LDST_post: loadStoreIndexed(false),
  LDSTP_off: loadStorePair("off"),
  LDSTP_pre: loadStorePair("pre"),
  LDSTP_post: loadStorePair("post"),
  B: branch,
  BL: branchLink,
  B_cond: conditionalBranch("B_cond"),
  CBZ: conditionalBranch("CBZ"),
  CBNZ: conditionalBranch("CBNZ"),
  TBZ: conditionalBranch("TBZ"),
  TBNZ: conditionalBranch("TBNZ"),
  HINT: (fl) => !(fl.crm === 0 && fl.op2 === 3), // every hint but WFI is a no-op here
  DSB_DMB_ISB: nothing,
  BR: branchReg(false),
  BLR: branchReg(true),
  RET: branchReg(false),
};

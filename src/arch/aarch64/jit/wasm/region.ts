// Compiles a region (the hot blocks of one code page, block-engine.ts) to one WebAssembly function, with the
// same contract as the JavaScript region (jit/codegen.ts: CompiledBlock; the state after it is the
// interpreter's after the same number of steps) and the same structure: a loop around a br_table on the page
// offset, one case per member block, side exits to other members without leaving.
//
// What differs is where the guest state lives while the region runs. The general registers the region uses are
// i64 locals, loaded from the CPU's register halves (which are in the arena's memory, arena.ts) on entry and
// stored back on exit; NZCV are four i32 locals, exchanged through slots. Anything the WebAssembly code cannot do
// itself is a call out to JavaScript:
//   - `exec` runs a row's executor (rows without a WebAssembly emitter, and system instructions): the registers
//     the region wrote are stored first and every register it holds is loaded again after, the flags likewise,
//     and the PC, next PC and step count are set as the JavaScript region sets them;
//   - `load`/`store` are the CPU's accessors, for accesses that are not a plain RAM hit (MMU off without
//     watchpoints: the address; MMU on: a TLB hit probed inline), with the registers stored first (an access may
//     raise an exception, which leaves the region: everything must be in memory by then);
//   - `touch` marks a written page of code (its decoded code is dropped), `changed` asks after an instruction
//     whose access went out whether the region must stop after it (ended burst, pending interrupt, code or
//     translation changed).
// An exception or a watchpoint stop thrown by a call out unwinds the WebAssembly frames; the JavaScript glue
// (calls.ts) catches it and finishes the step as the JavaScript region does, from the steps and offset the code
// stored before the call.

import type { Cpu } from "../../cpu.js";
import type { Ram } from "../../../../core/memory.js";
import { InsnClass, branchOffset, type BlockPlan } from "../block.js";
import type { CompiledBlock } from "../codegen.js";
import { DISPATCHING } from "../codegen.js";
import { DEFERRED_ACCESS_ROWS } from "../emit-memory.js";
import { FunctionBuilder, Op, ValType, encodeModule, type Label } from "./encoder.js";
import { WASM_EMITTERS, branchTaken, type WasmContext } from "./emit.js";
import type { MemoryContext } from "./emit-memory.js";
import { EXEC_CHECK, EXEC_STEP, IMPORTS, Import, instantiate } from "./calls.js";
import { SLOT_CF, SLOT_LOAD_HI, SLOT_NEXT_HI, SLOT_NEXT_LO, SLOT_NF, SLOT_PC_HI, SLOT_PC_LO, SLOT_VF, SLOT_ZF, TLB_PAGE, TLB_PERM, TLB_TAG_HI, TLB_TAG_LO, XHI, XLO, type WasmArena } from "./arena.js";

/** The access rows emitted inline: their PC, count and post-access checks are on the slow path, as for the
 * JavaScript tier's (jit/emit-memory.ts), plus the unscaled offsets. */
const WASM_ACCESS_ROWS: ReadonlySet<string> = new Set([...DEFERRED_ACCESS_ROWS, "LDST_unscaled"]);

const I32 = ValType.I32;
const I64 = ValType.I64;

/** Parameters of the region function. */
const P_BUDGET = 0;
const P_AT = 1;
/** Bit k set: member k holds a breakpoint, so the region leaves before entering it (the engine then stops there
 * or lets the interpreter run up to it). The member the region is entered at never has one. */
const P_STOP = 2;
const P_DIRECT = 3;
const P_TLB = 4;
const P_PSH = 5;
const P_PL_LO = 6;
const P_PL_HI = 7;
const PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32];

interface Registers {
  /** Registers the region reads or writes (held in locals), and those it writes (stored back on exit). */
  used: Set<number>;
  written: Set<number>;
}

/** The WebAssembly function of a region, built in one pass over the members. */
class RegionBuilder {
  readonly f = new FunctionBuilder(PARAMS, [I32]);
  private readonly regLocal = new Map<number, number>();
  readonly nf: number;
  readonly zf: number;
  readonly cf: number;
  readonly vf: number;
  readonly next: number;
  private readonly pcOut: number;
  private readonly ret: number;
  private readonly done: number;
  private readonly atl: number;
  private readonly sl: number;
  private readonly pl: number;
  private readonly off: number;
  private readonly temps: Record<ValType, { locals: number[]; used: number }> = {
    [ValType.I32]: { locals: [], used: 0 },
    [ValType.I64]: { locals: [], used: 0 },
    [ValType.F64]: { locals: [], used: 0 },
  };
  private exitLabel!: Label;
  private switchLabel!: Label;
  /** Registers seen while building (the next build's sets). */
  readonly seen: Registers = { used: new Set(), written: new Set() };

  constructor(
    private readonly members: readonly BlockPlan[],
    private readonly ram: Ram,
    private readonly arena: WasmArena,
    /** The sets from a first build; undefined for the first build itself. */
    private readonly regs: Registers | undefined,
  ) {
    const f = this.f;
    for (const n of regs?.used ?? []) this.regLocal.set(n, f.local(I64));
    this.nf = f.local(I32);
    this.zf = f.local(I32);
    this.cf = f.local(I32);
    this.vf = f.local(I32);
    this.next = f.local(I64);
    this.pcOut = f.local(I64);
    this.ret = f.local(I32);
    this.done = f.local(I32);
    this.atl = f.local(I32);
    this.sl = f.local(I32);
    this.pl = f.local(I64);
    this.off = f.local(I32);
  }

  // ---- registers and flags ------------------------------------------------------------------------------

  private reg(n: number): number {
    let l = this.regLocal.get(n);
    if (l === undefined) {
      l = this.f.local(I64);
      this.regLocal.set(n, l);
    }
    return l;
  }

  private use(n: number, write: boolean): number {
    this.seen.used.add(n);
    if (write) this.seen.written.add(n);
    return this.reg(n);
  }

  /** Pushes the 64-bit value whose halves are the words at `lo` and `hi`. */
  private load64(lo: number, hi: number): void {
    this.f.i32(0).mem(Op.I64Load32U, lo).i32(0).mem(Op.I64Load32U, hi).i64(32).op(Op.I64Shl, Op.I64Or);
  }

  /** Stores i64 local l as the words at `lo` and `hi`. */
  private store64(l: number, lo: number, hi: number): void {
    this.f.i32(0).get(l).op(Op.I32WrapI64).mem(Op.I32Store, lo);
    this.f.i32(0).get(l).i64(32).op(Op.I64ShrU, Op.I32WrapI64).mem(Op.I32Store, hi);
  }

  /** Loads the registers the region holds, and the flags, from memory. */
  private loadState(): void {
    const f = this.f;
    for (const n of this.regs?.used ?? []) {
      this.load64(XLO + 4 * n, XHI + 4 * n);
      f.set(this.reg(n));
    }
    f.i32(0).mem(Op.I32Load, SLOT_NF).set(this.nf);
    f.i32(0).mem(Op.I32Load, SLOT_ZF).set(this.zf);
    f.i32(0).mem(Op.I32Load, SLOT_CF).set(this.cf);
    f.i32(0).mem(Op.I32Load, SLOT_VF).set(this.vf);
  }

  /** Stores the registers the region wrote, and the flags. */
  private storeState(): void {
    const f = this.f;
    for (const n of this.regs?.written ?? []) this.store64(this.reg(n), XLO + 4 * n, XHI + 4 * n);
    f.i32(0).get(this.nf).mem(Op.I32Store, SLOT_NF);
    f.i32(0).get(this.zf).mem(Op.I32Store, SLOT_ZF);
    f.i32(0).get(this.cf).mem(Op.I32Store, SLOT_CF);
    f.i32(0).get(this.vf).mem(Op.I32Store, SLOT_VF);
  }

  // ---- the context emitters see ---------------------------------------------------------------------------

  private context(offset: number, steps: number): WasmContext {
    const f = this.f;
    return {
      f,
      offset,
      x: (n) => {
        if (n === 31) f.i64(0);
        else f.get(this.use(n, false));
      },
      sp: (n) => {
        f.get(this.use(n, false));
      },
      setX: (d, value) => {
        if (d === 31) return;
        value();
        f.set(this.use(d, true));
      },
      setSP: (d, value) => {
        value();
        f.set(this.use(d, true));
      },
      nf: this.nf,
      zf: this.zf,
      cf: this.cf,
      vf: this.vf,
      next: this.next,
      pc: (off = 0) => {
        f.get(this.pl).i64(offset + off).op(Op.I64Add);
      },
      temp: (type) => this.temp(type),
      memory: this.memoryContext(offset, steps),
    };
  }

  /** A scratch local, free again after the instruction. */
  private temp(type: ValType): number {
    const t = this.temps[type];
    if (t.used === t.locals.length) t.locals.push(this.f.local(type));
    return t.locals[t.used++];
  }

  private freeTemps(): void {
    for (const t of Object.values(this.temps)) t.used = 0;
  }

  /** Pushes the steps before the current instruction (done + i). */
  private steps(i: number): void {
    this.f.get(this.done).i32(i).op(Op.I32Add);
  }

  // ---- memory -----------------------------------------------------------------------------------------------

  private memoryContext(offset: number, i: number): MemoryContext {
    const f = this.f;
    const ram = this.ram;
    const arena = this.arena;
    /** off = the access's offset in the primary RAM, or -1 (as jit/emit-memory.ts ramOffset). */
    const ramOffset = (a: number, size: number, write: boolean) => {
      const off = this.off;
      f.i32(-1).set(off);
      f.get(P_DIRECT);
      f.if();
      f.get(a).i64(ram.base).op(Op.I64Sub).i64(ram.size - size).op(Op.I64LeU);
      f.if();
      f.get(a).i64(ram.base).op(Op.I64Sub, Op.I32WrapI64).set(off);
      f.end();
      f.else();
      f.get(P_TLB).get(a).op(Op.I32WrapI64).i32(0xfff).op(Op.I32And).i32(0x1000 - size).op(Op.I32LeU, Op.I32And);
      f.if();
      const al = this.temp(I32);
      const ah = this.temp(I32);
      const ti = this.temp(I32);
      f.get(a).op(Op.I32WrapI64).set(al);
      f.get(a).i64(32).op(Op.I64ShrU, Op.I32WrapI64).set(ah);
      // vpn = al >>> 12; ti = (vpn ^ (vpn >>> 12) ^ ah) & 4095
      f.get(al).i32(12).op(Op.I32ShrU).get(al).i32(24).op(Op.I32ShrU, Op.I32Xor).get(ah).op(Op.I32Xor).i32(4095).op(Op.I32And).set(ti);
      f.get(ti).i32(2).op(Op.I32Shl).mem(Op.I32Load, TLB_TAG_LO).get(al).i32(12).op(Op.I32ShrU).op(Op.I32Eq);
      f.get(ti).i32(2).op(Op.I32Shl).mem(Op.I32Load, TLB_TAG_HI).get(ah).op(Op.I32Eq, Op.I32And);
      f.get(ti).mem(Op.I32Load8U, TLB_PERM).get(P_PSH).op(Op.I32ShrU).i32(write ? 2 : 1).op(Op.I32And).i32(0).op(Op.I32Ne, Op.I32And);
      f.if();
      const o2 = this.temp(I64);
      f.get(ti).i32(3).op(Op.I32Shl).mem(Op.F64Load, TLB_PAGE).op(Op.I64TruncF64U);
      f.get(al).i32(0xfff).op(Op.I32And, Op.I64ExtendI32U, Op.I64Add).i64(ram.base).op(Op.I64Sub).set(o2);
      f.get(o2).i64(ram.size - size).op(Op.I64LeU);
      f.if();
      f.get(o2).op(Op.I32WrapI64).set(off);
      f.end();
      f.end();
      f.end();
      f.end();
    };
    /** The call to the CPU's accessor, with the registers and flags stored first: size, the address's halves,
     * the value's halves for a store, the steps before the instruction, its offset, and whether this is its
     * first access (sl = 2 from then on: the step is set up once). */
    const callOut = (imp: Import, size: number, a: number, v?: number) => {
      this.storeState();
      f.i32(size);
      f.get(a).op(Op.I32WrapI64);
      f.get(a).i64(32).op(Op.I64ShrU, Op.I32WrapI64);
      if (v !== undefined) {
        f.get(v).op(Op.I32WrapI64);
        f.get(v).i64(32).op(Op.I64ShrU, Op.I32WrapI64);
      }
      this.steps(i);
      f.i32(offset);
      f.get(this.sl).i32(2).op(Op.I32Ne);
      f.i32(2).set(this.sl);
      f.call(imp);
    };
    return {
      load: (a, size, v) => {
        ramOffset(a, size, false);
        f.get(this.off).i32(0).op(Op.I32GeS);
        f.if();
        f.get(this.off).mem([Op.I64Load8U, Op.I64Load16U, 0, Op.I64Load32U, 0, 0, 0, Op.I64Load][size - 1], arena.ramOffset).set(v);
        f.else();
        callOut(Import.Load, size, a);
        if (size === 8) f.op(Op.I64ExtendI32U).i32(0).mem(Op.I64Load32U, SLOT_LOAD_HI).i64(32).op(Op.I64Shl, Op.I64Or);
        else f.op(Op.I64ExtendI32U);
        f.set(v);
        f.end();
      },
      store: (a, size, v) => {
        ramOffset(a, size, true);
        f.get(this.off).i32(0).op(Op.I32GeS);
        f.if();
        // Marks the page written first, as the bus does; a page of code (or the end of a page) goes out.
        f.get(this.off).i32(12).op(Op.I32ShrU).mem(Op.I32Load8U, arena.codeOffset);
        f.get(this.off).i32(0xfff).op(Op.I32And).i32(0x1000 - size).op(Op.I32GtU, Op.I32Or);
        f.if();
        f.get(this.off).i32(size).call(Import.Touch);
        f.get(this.sl).op(Op.I32Eqz);
        f.if();
        f.i32(1).set(this.sl);
        f.end();
        f.else();
        f.get(this.off).i32(12).op(Op.I32ShrU).i32(0xff).mem(Op.I32Store8, arena.dirtyOffset);
        f.end();
        f.get(this.off).get(v).mem([Op.I64Store8, Op.I64Store16, 0, Op.I64Store32, 0, 0, 0, Op.I64Store][size - 1], arena.ramOffset);
        f.else();
        callOut(Import.Store, size, a, v);
        f.end();
      },
    };
  }

  // ---- control ------------------------------------------------------------------------------------------------

  /** Leaves the region with the PC at the next PC (pushed value: the steps to return). */
  private exitAtNext(steps: () => void): void {
    this.f.get(this.next).set(this.pcOut);
    steps();
    this.f.set(this.ret).br(this.exitLabel);
  }

  build(): FunctionBuilder {
    const f = this.f;
    // Entry.
    f.get(P_PL_LO).op(Op.I64ExtendI32U).get(P_PL_HI).op(Op.I64ExtendI32U).i64(32).op(Op.I64Shl, Op.I64Or).set(this.pl);
    this.loadState();
    f.get(this.pl).get(P_AT).op(Op.I64ExtendI32U, Op.I64Add).set(this.next);
    f.get(P_AT).set(this.atl);
    this.exitLabel = f.block();
    const run = f.loop();
    this.switchLabel = f.block();
    const otherwise = f.block();
    const cases = this.members.map(() => f.block()).reverse(); // cases[k] is the label of member k
    // Dispatch on the page offset: unaligned or outside the page goes to `otherwise`.
    f.get(this.atl).i32(3).op(Op.I32And).brIf(otherwise);
    // The table covers the members' slots only (from the lowest to the highest first slot): a short table to
    // encode and compile; a slot below wraps around to a large index, out of the table like one above.
    const firsts = this.members.map((plan) => plan.slots[0]);
    const low = Math.min(...firsts);
    const table: Label[] = new Array(Math.max(...firsts) - low + 1).fill(otherwise);
    this.members.forEach((plan, k) => (table[plan.slots[0] - low] = cases[k]));
    f.get(this.atl).i32(2).op(Op.I32ShrU);
    if (low !== 0) f.i32(low).op(Op.I32Sub);
    f.brTable(table, otherwise);
    let first = 0;
    this.members.forEach((plan, k) => {
      f.end(); // member k's block: its code follows
      this.member(plan, first, k);
      first += plan.execs.length;
    });
    f.end(); // otherwise
    this.exitAtNext(() => f.get(this.done));
    f.end(); // switch
    // Between members: on while the next PC is in this page.
    f.get(this.next).i64(32).op(Op.I64ShrU, Op.I32WrapI64).get(P_PL_HI).op(Op.I32Ne);
    f.if();
    this.exitAtNext(() => f.get(this.done));
    f.end();
    f.get(this.next).op(Op.I32WrapI64).get(P_PL_LO).op(Op.I32Sub).set(this.atl);
    f.br(run);
    f.end(); // run
    f.op(Op.Unreachable);
    f.end(); // exit
    // Epilogue.
    this.storeState();
    this.store64(this.pcOut, SLOT_PC_LO, SLOT_PC_HI);
    f.get(this.ret);
    return f;
  }

  /** One member block: its instructions, then on to the next member (br switch) or out. */
  private member(plan: BlockPlan, first: number, k: number): void {
    const f = this.f;
    const n = plan.execs.length;
    const start = plan.slots[0] * 4;
    // Back to the engine, at its start, when it holds a breakpoint or does not fit in the budget (only whole
    // blocks run here).
    f.get(P_STOP).i32(1 << k).op(Op.I32And).i32(0).op(Op.I32Ne);
    f.get(this.done).i32(n).op(Op.I32Add).get(P_BUDGET).op(Op.I32GtS, Op.I32Or);
    f.if();
    f.get(this.pl).i64(start).op(Op.I64Add).set(this.pcOut);
    f.get(this.done).set(this.ret).br(this.exitLabel);
    f.end();
    for (let i = 0; i < n; i++) {
      this.freeTemps();
      const cls = plan.classes[i];
      const row = plan.rows[i];
      const fields = plan.fields[i];
      const last = i === n - 1;
      const off = plan.slots[i] * 4;
      const g = this.context(off, i);
      if (cls === InsnClass.CondBranch && !last) {
        // A side exit: leave the block when taken (to another member, or out of the region).
        branchTaken(g, row, fields);
        f.if();
        g.pc(branchOffset(row, fields));
        f.set(this.next);
        f.get(this.done).i32(i + 1).op(Op.I32Add).set(this.done);
        f.br(this.switchLabel);
        f.end();
        continue;
      }
      if (cls === InsnClass.Jump && !last) {
        // Followed within the page: only BL does anything (the return address).
        if (row === "BL") g.setX(30, () => g.pc(4));
        continue;
      }
      if (last) {
        g.pc(4);
        f.set(this.next);
      }
      const emitter = WASM_EMITTERS[row];
      if (cls === InsnClass.Access && WASM_ACCESS_ROWS.has(row)) {
        if (emitter !== undefined && emitter(fields, g)) {
          // After an access that went out (sl): stop after this instruction if it changed what the region
          // depends on.
          f.get(this.sl);
          f.if();
          f.i32(0).set(this.sl);
          f.call(Import.Changed);
          f.if();
          g.pc(4);
          f.set(this.next);
          this.exitAtNext(() => f.get(this.done).i32(i + 1).op(Op.I32Add));
          f.end();
          f.end();
          continue;
        }
      } else if (emitter !== undefined && cls !== InsnClass.Access && emitter(fields, g)) continue;
      // The executor, as the interpreter runs it.
      const kind = (cls === InsnClass.Access || cls === InsnClass.Last || last ? EXEC_STEP : 0) | (cls === InsnClass.Access && !last ? EXEC_CHECK : 0);
      this.storeState();
      f.i32(first + i);
      this.steps(i);
      f.i32(off).i32(kind).call(Import.Exec);
      this.loadState();
      this.load64(SLOT_NEXT_LO, SLOT_NEXT_HI);
      f.set(this.next);
      if ((kind & EXEC_CHECK) !== 0) {
        f.if();
        this.exitAtNext(() => f.get(this.done).i32(i + 1).op(Op.I32Add));
        f.end();
      } else f.op(Op.Drop);
    }
    f.get(this.done).i32(n).op(Op.I32Add).set(this.done);
    // After a system instruction (exception return, MSR, WFI, ...) the EL, the MMU or the masks may have changed:
    // back to the engine. Anything else goes on at the next PC.
    if (plan.classes[n - 1] === InsnClass.Last && !DISPATCHING.has(plan.rows[n - 1])) this.exitAtNext(() => f.get(this.done));
    else f.br(this.switchLabel);
  }
}

/** Builds a region's WebAssembly function (twice: the first build finds the registers it uses). */
export function compileWasmRegion(
  members: readonly BlockPlan[],
  cpu: Cpu,
  ram: Ram,
  arena: WasmArena,
  breakpoints: () => ReadonlySet<number> | null,
): { run: CompiledBlock; bytes: number } {
  const probe = new RegionBuilder(members, ram, arena, undefined);
  probe.build();
  const regs = probe.seen;
  // A register written is held (and so loaded) too: some exit may come before the write.
  for (const n of regs.written) regs.used.add(n);
  const fn = new RegionBuilder(members, ram, arena, regs).build();
  const bytes = encodeModule(IMPORTS, fn, arena.pages);
  return { run: instantiate(bytes, members, cpu, ram, arena, breakpoints), bytes: bytes.length };
}

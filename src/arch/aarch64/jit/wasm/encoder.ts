// A minimal WebAssembly binary writer: one module with an imported memory, imported functions and one exported
// function, which is all a compiled region needs (WebAssembly Core Specification 2.0, §5 Binary Format). Code is
// written through FunctionBuilder, which keeps the structured control flow's depth so that branches can name
// their targets by label object instead of counting nesting levels by hand.

export const enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F64 = 0x7c,
}

/** Opcodes used by the code generator (§5.4). */
export const enum Op {
  Unreachable = 0x00,
  Block = 0x02,
  Loop = 0x03,
  If = 0x04,
  Else = 0x05,
  End = 0x0b,
  Br = 0x0c,
  BrIf = 0x0d,
  BrTable = 0x0e,
  Return = 0x0f,
  Call = 0x10,
  Drop = 0x1a,
  Select = 0x1b,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  I32Load = 0x28,
  I64Load = 0x29,
  F64Load = 0x2b,
  I32Load8U = 0x2d,
  I32Load16U = 0x2f,
  I64Load8U = 0x31,
  I64Load16U = 0x33,
  I64Load32S = 0x34,
  I64Load32U = 0x35,
  I32Store = 0x36,
  I64Store = 0x37,
  I32Store8 = 0x3a,
  I32Store16 = 0x3b,
  I64Store8 = 0x3c,
  I64Store16 = 0x3d,
  I64Store32 = 0x3e,
  I32Const = 0x41,
  I64Const = 0x42,
  I32Eqz = 0x45,
  I32Eq = 0x46,
  I32Ne = 0x47,
  I32LtS = 0x48,
  I32LtU = 0x49,
  I32GtS = 0x4a,
  I32GtU = 0x4b,
  I32GeS = 0x4e,
  I32LeU = 0x4d,
  I32GeU = 0x4f,
  I64Eqz = 0x50,
  I64Eq = 0x51,
  I64Ne = 0x52,
  I64LtS = 0x53,
  I64LtU = 0x54,
  I64GtS = 0x55,
  I64GtU = 0x56,
  I64LeS = 0x57,
  I64LeU = 0x58,
  I64GeS = 0x59,
  I64GeU = 0x5a,
  I32Clz = 0x67,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32Mul = 0x6c,
  I32And = 0x71,
  I32Or = 0x72,
  I32Xor = 0x73,
  I32Shl = 0x74,
  I32ShrS = 0x75,
  I32ShrU = 0x76,
  I64Clz = 0x79,
  I64Ctz = 0x7a,
  I64Add = 0x7c,
  I64Sub = 0x7d,
  I64Mul = 0x7e,
  I64DivS = 0x7f,
  I64DivU = 0x80,
  I64And = 0x83,
  I64Or = 0x84,
  I64Xor = 0x85,
  I64Shl = 0x86,
  I64ShrS = 0x87,
  I64ShrU = 0x88,
  I64Rotl = 0x89,
  I64Rotr = 0x8a,
  I32WrapI64 = 0xa7,
  I64ExtendI32S = 0xac,
  I64ExtendI32U = 0xad,
  I64TruncF64U = 0xb1,
}

/** Block type "no result" (§5.3.2). */
const EMPTY = 0x40;

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb32(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function sleb64(out: number[], v: bigint): void {
  v = BigInt.asIntN(64, v);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** A branch target: a block, loop or if opened by FunctionBuilder. */
export interface Label {
  readonly depth: number;
}

export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {}

  /** A new local of `type`; its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(...ops: Op[]): this {
    for (const o of ops) this.code.push(o);
    return this;
  }
  get(i: number): this {
    this.code.push(Op.LocalGet);
    uleb(this.code, i);
    return this;
  }
  set(i: number): this {
    this.code.push(Op.LocalSet);
    uleb(this.code, i);
    return this;
  }
  tee(i: number): this {
    this.code.push(Op.LocalTee);
    uleb(this.code, i);
    return this;
  }
  i32(v: number): this {
    this.code.push(Op.I32Const);
    sleb32(this.code, v);
    return this;
  }
  i64(v: bigint | number): this {
    this.code.push(Op.I64Const);
    sleb64(this.code, typeof v === "bigint" ? v : BigInt(v));
    return this;
  }
  /** A load or store with a constant offset (alignment hint 0: accesses may be unaligned). */
  mem(op: Op, offset: number): this {
    this.code.push(op, 0);
    uleb(this.code, offset);
    return this;
  }
  call(fn: number): this {
    this.code.push(Op.Call);
    uleb(this.code, fn);
    return this;
  }

  block(): Label {
    this.code.push(Op.Block, EMPTY);
    return { depth: ++this.depth };
  }
  loop(): Label {
    this.code.push(Op.Loop, EMPTY);
    return { depth: ++this.depth };
  }
  /** `if` on the i32 on the stack. */
  if(): Label {
    this.code.push(Op.If, EMPTY);
    return { depth: ++this.depth };
  }
  else(): this {
    this.code.push(Op.Else);
    return this;
  }
  end(): this {
    this.code.push(Op.End);
    this.depth--;
    return this;
  }
  br(target: Label): this {
    this.code.push(Op.Br);
    uleb(this.code, this.depth - target.depth);
    return this;
  }
  brIf(target: Label): this {
    this.code.push(Op.BrIf);
    uleb(this.code, this.depth - target.depth);
    return this;
  }
  brTable(targets: readonly Label[], otherwise: Label): this {
    this.code.push(Op.BrTable);
    uleb(this.code, targets.length);
    for (const t of targets) uleb(this.code, this.depth - t.depth);
    uleb(this.code, this.depth - otherwise.depth);
    return this;
  }

  /** The function body as the code section holds it (locals, then the expression and its end). */
  body(): number[] {
    const out: number[] = [];
    // Runs of equal types.
    const runs: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(t);
    }
    for (const b of this.code) out.push(b);
    out.push(Op.End);
    const sized: number[] = [];
    uleb(sized, out.length);
    return sized.concat(out);
  }
}

export interface ImportedFunction {
  name: string;
  params: readonly ValType[];
  results: readonly ValType[];
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  for (const b of content) out.push(b);
}

function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function funcType(out: number[], params: readonly ValType[], results: readonly ValType[]): void {
  out.push(0x60);
  uleb(out, params.length);
  for (const p of params) out.push(p);
  uleb(out, results.length);
  for (const r of results) out.push(r);
}

/**
 * A module importing memory "env.memory" (`pages` 64 KiB pages, exactly) and `imports` from "env", and exporting
 * `fn` as "run".
 */
export function encodeModule(imports: readonly ImportedFunction[], fn: FunctionBuilder, pages: number): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(types, imports.length + 1);
  for (const f of imports) funcType(types, f.params, f.results);
  funcType(types, fn.params, fn.results);
  section(out, 1, types);
  const imp: number[] = [];
  uleb(imp, imports.length + 1);
  name(imp, "env");
  name(imp, "memory");
  imp.push(0x02, 0x01); // memory, limits with a maximum
  uleb(imp, pages);
  uleb(imp, pages);
  imports.forEach((f, i) => {
    name(imp, "env");
    name(imp, f.name);
    imp.push(0x00);
    uleb(imp, i);
  });
  section(out, 2, imp);
  const funcs: number[] = [];
  uleb(funcs, 1);
  uleb(funcs, imports.length);
  section(out, 3, funcs);
  const exp: number[] = [];
  uleb(exp, 1);
  name(exp, "run");
  exp.push(0x00);
  uleb(exp, imports.length);
  section(out, 7, exp);
  const code: number[] = [];
  uleb(code, 1);
  for (const b of fn.body()) code.push(b);
  section(out, 10, code);
  return Uint8Array.from(out);
}

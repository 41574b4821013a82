// A tiny machine for per-instruction tests: RAM at 0x40000000, a CPU at EL1, helpers to set and read
// registers as BigInts (tests may use BigInt freely) and to run a few instructions.

import { VirtualClock } from "../../src/core/clock.js";
import { AddressSpace, Ram } from "../../src/core/memory.js";
import { Cpu, type CpuHooks } from "../../src/arch/aarch64/cpu.js";
import { Interpreter } from "../../src/arch/aarch64/interpreter.js";
import { GenericTimer } from "../../src/arch/aarch64/generic-timer.js";
import { IrqLine } from "../../src/core/irq.js";
import { WasmArena } from "../../src/arch/aarch64/jit/wasm/arena.js";

export const RAM_BASE = 0x40000000;
export const CODE = 0x40001000;
export const DATA = 0x40010000;
const MASK64 = (1n << 64n) - 1n;

export class TestMachine {
  readonly ram: Ram;
  readonly bus: AddressSpace;
  /** `wasm`: the registers and RAM live in a WebAssembly arena, for the block engine's WebAssembly tier. */
  readonly arena: WasmArena | undefined;
  readonly clock = new VirtualClock(7);
  readonly undefinedReports: { pc: bigint; insn: number }[] = [];
  hvcCalls: number[] = [];
  readonly cpu: Cpu;
  readonly interp: Interpreter;
  irqLevels = new Map<number, boolean>();

  constructor(opts: { wasm?: boolean } = {}) {
    this.arena = opts.wasm ? WasmArena.create(1 << 20) : undefined;
    if (opts.wasm && this.arena === undefined) throw new Error("no WebAssembly arena on this host");
    this.ram = new Ram(RAM_BASE, 1 << 20, { storage: this.arena?.ramStorage() });
    this.bus = new AddressSpace(this.ram);
    const hooks: CpuHooks = {
      hvc: (_cpu, imm) => {
        this.hvcCalls.push(imm);
        return false;
      },
      reportUndefined: (lo, hi, insn) => this.undefinedReports.push({ pc: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), insn }),
    };
    this.cpu = new Cpu(this.bus, this.clock, hooks, this.arena?.cpuStorage());
    const ctl = { setIrqLevel: (line: number, level: boolean) => this.irqLevels.set(line, level) };
    this.cpu.sys.timer = new GenericTimer(this.clock, new IrqLine(ctl, 30), new IrqLine(ctl, 27));
    this.interp = new Interpreter(this.cpu);
    this.setPc(BigInt(CODE));
    this.cpu.sys.vbarEl1Lo = 0x40000000; // vectors at RAM base (tests check exception entry PCs)
    this.cpu.sys.cpacr = 3 << 20; // FP/SIMD enabled, as guests normally do at boot
  }

  /** Writes instruction words at CODE and points PC there. */
  code(...words: number[]): this {
    words.forEach((w, i) => this.bus.write32(CODE + 4 * i, w >>> 0));
    this.setPc(BigInt(CODE));
    return this;
  }

  run(steps = 1): this {
    for (let i = 0; i < steps; i++) this.interp.runBurst(1);
    return this;
  }

  x(n: number): bigint {
    return (BigInt(this.cpu.xhi[n] >>> 0) << 32n) | BigInt(this.cpu.xlo[n] >>> 0);
  }
  setX(n: number, v: bigint | number): this {
    const b = BigInt(v) & MASK64;
    this.cpu.xlo[n] = Number(b & 0xffffffffn) | 0;
    this.cpu.xhi[n] = Number(b >> 32n) | 0;
    return this;
  }
  /** W register view (low 32 bits). */
  w(n: number): number {
    return this.cpu.xlo[n] >>> 0;
  }
  get sp(): bigint {
    return this.x(31);
  }
  setSp(v: bigint | number): this {
    return this.setX(31, v);
  }
  get pc(): bigint {
    return (BigInt(this.cpu.pcHi >>> 0) << 32n) | BigInt(this.cpu.pcLo >>> 0);
  }
  setPc(v: bigint): this {
    this.cpu.pcLo = Number(v & 0xffffffffn) >>> 0;
    this.cpu.pcHi = Number((v >> 32n) & 0xffffffffn) >>> 0;
    return this;
  }
  /** NZCV as a 4-bit number (N=8, Z=4, C=2, V=1). */
  get nzcv(): number {
    return this.cpu.nzcv;
  }
  setNzcv(v: number): this {
    this.cpu.nzcv = v;
    return this;
  }
  /** V register as a 128-bit BigInt. */
  v(n: number): bigint {
    let r = 0n;
    for (let i = 3; i >= 0; i--) r = (r << 32n) | BigInt(this.cpu.vregs[n * 4 + i] >>> 0);
    return r;
  }
  setV(n: number, val: bigint): this {
    for (let i = 0; i < 4; i++) this.cpu.vregs[n * 4 + i] = Number((val >> BigInt(32 * i)) & 0xffffffffn) | 0;
    return this;
  }
  read64(addr: number): bigint {
    const lo = this.bus.read64(addr);
    return (BigInt(this.bus.hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }
  write64(addr: number, v: bigint): this {
    this.bus.write64(addr, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
    return this;
  }
  /** ESR_EL1.EC of the last exception. */
  get lastEc(): number {
    return this.cpu.sys.esrEl1 >>> 26;
  }
}

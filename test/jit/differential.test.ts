// The block engine against the interpreter on random instruction sequences: both tiers start from the same
// state, run the same random burst lengths, and must agree on every burst's step count, the whole CPU state
// and every byte of RAM after each burst. The sequences are drawn from the decode table itself (every row but
// the few that would rewrite the vectors or the translation regime), with registers pointing into the code
// and data so loads and stores hit RAM, rewrite the running code (self-modifying code), cross pages and fault;
// branches stay near; exceptions go to a handler that skips the faulting instruction, and interrupts arrive at
// random boundaries.

import { test } from "node:test";
import assert from "node:assert/strict";
import { A64_TABLE } from "../../src/arch/aarch64/insns/index.js";
import { compilePattern, type CompiledSpec } from "../../src/arch/aarch64/decoder.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";
import { BlockEngine } from "../../src/arch/aarch64/jit/block-engine.js";
import { WATCH_STOP } from "../../src/arch/aarch64/cpu.js";
import { CODE, DATA, RAM_BASE, TestMachine } from "../aarch64/harness.js";
import { xorshift32 } from "../helpers/random.js";
import { sysregKey, SCTLR_RESET } from "../../src/arch/aarch64/sysregs.js";

/** A seeded generator, so a failure names the seed that reproduces it. */
const rng = (seed: number) => xorshift32(seed >>> 0 || 1);

// Rows left out: writes to arbitrary system registers and maintenance (they would move the vectors, turn
// on the MMU over garbage tables or trap everything). MSR (immediate) stays: DAIF, SPSel and friends.
const EXCLUDED = new Set(["MSR_reg", "SYS"]);
const ROWS: CompiledSpec[] = A64_TABLE.filter((s) => !EXCLUDED.has(s.name)).map(compilePattern);
const decoder = a64Decoder();
const BRANCH_FIELDS: Record<string, number> = { imm26: 26, imm19: 19, imm14: 14 };

/** A random word of a random row (fields random; branch offsets within +-16 instructions). */
function randomInsn(next: () => number): number {
  for (;;) {
    if (next() % 16 === 0) return next(); // any word at all: mostly undefined encodings
    const row = ROWS[next() % ROWS.length];
    let word = (row.value | (next() & ~row.mask)) >>> 0;
    for (const f of row.fields) {
      const width = BRANCH_FIELDS[f.name];
      if (width !== f.width) continue;
      const off = (next() % 33) - 16;
      word = ((word & ~(((1 << f.width) - 1) << f.shift)) | ((off & ((1 << f.width) - 1)) << f.shift)) >>> 0;
    }
    if (decoder.decode(word)?.spec === row.spec) return word;
  }
}

/** The exception handler at every vector: ELR += 4 (skip the faulting or interrupted instruction), ERET. */
const HANDLER = [0xd5384029 /* mrs x9, elr_el1 */, 0x91001129 /* add x9, x9, #4 */, 0xd5184029 /* msr elr_el1, x9 */, 0xd69f03e0 /* eret */];

// With the MMU on (every other program): VA 0x40000000.. maps 1:1 by a 2 MiB block; VA 0x80000000.. maps the
// same RAM again in 4 KiB pages, every third page read-only, so loads and stores through the alias go through
// TLB hits, misses, permission faults and page crossings into differently mapped pages.
const ALIAS = 0x80000000;
const TABLES = RAM_BASE + 0x80000;

function writeDesc(m: TestMachine, at: number, desc: bigint): void {
  m.bus.write32(at, Number(desc & 0xffffffffn));
  m.bus.write32(at + 4, Number(desc >> 32n));
}

function enableMmu(m: TestMachine): void {
  const AF = 1n << 10n;
  const NORMAL = (1n << 2n) | (3n << 8n); // MAIR attr1, inner shareable
  const l1 = TABLES;
  const l2a = TABLES + 0x1000;
  const l2b = TABLES + 0x2000;
  const l3 = TABLES + 0x3000;
  for (let i = 0; i < 0x4000; i += 4) m.bus.write32(TABLES + i, 0);
  writeDesc(m, l1 + 8 * 1, BigInt(l2a) | 3n); // VA 1 GiB.. -> L2a
  writeDesc(m, l1 + 8 * 2, BigInt(l2b) | 3n); // VA 2 GiB.. -> L2b
  writeDesc(m, l2a, BigInt(RAM_BASE) | 1n | AF | NORMAL); // 2 MiB block, identity
  writeDesc(m, l2b, BigInt(l3) | 3n);
  for (let p = 0; p < 256; p++) writeDesc(m, l3 + 8 * p, BigInt(RAM_BASE + p * 0x1000) | 3n | AF | NORMAL | (p % 3 === 2 ? 2n << 6n : 0n));
  const sys = m.cpu.sys;
  const set = (key: number, lo: number, hi = 0) => sys.lookup(key)!.write!(sys, lo, hi);
  set(sysregKey(3, 0, 10, 2, 0), 0x44ff00); // MAIR
  set(sysregKey(3, 0, 2, 0, 2), 25 | (1 << 23) | (2 << 30), 2); // TCR: T0SZ 25, 4K, EPD1, IPS 40 bits
  set(sysregKey(3, 0, 2, 0, 0), l1); // TTBR0
  set(sysregKey(3, 0, 1, 0, 0), SCTLR_RESET | 1); // SCTLR.M
}

function setUp(m: TestMachine, words: number[], next: () => number, mmu = false): void {
  if (mmu) enableMmu(m);
  for (let v = 0; v < 16; v++) HANDLER.forEach((w, i) => m.bus.write32(RAM_BASE + v * 0x80 + 4 * i, w));
  // The program straddles a page boundary, so blocks end at it and accesses cross it.
  const start = CODE + 0x1000 - 4 * Math.floor(words.length / 2);
  words.forEach((w, i) => m.bus.write32(start + 4 * i, w));
  m.bus.write32(start + 4 * words.length, 0x14000000 | ((-words.length) & 0x3ffffff)); // b start
  for (let i = 0; i < 0x4000; i += 4) m.bus.write32(DATA + i, next());
  for (let r = 0; r < 31; r++) {
    const kind = next() % 4;
    let lo = kind === 0 ? next() : kind === 1 ? DATA + (next() % 0x3ff8) : kind === 2 ? start + 4 * (next() % words.length) : next() % 64;
    if (mmu && kind === 1 && next() % 2 === 0) lo = lo - RAM_BASE + ALIAS;
    m.cpu.xlo[r] = lo | 0;
    m.cpu.xhi[r] = kind === 0 ? next() | 0 : 0;
  }
  m.cpu.xlo[31] = DATA + 0x8000; // SP
  m.cpu.nzcv = next() & 0xf;
  m.cpu.daif = 0; // interrupts unmasked
  m.cpu.sys.vbarEl1Lo = RAM_BASE;
  m.setPc(BigInt(start));
}

function cpuState(m: TestMachine): string {
  const s = m.cpu.saveState() as Record<string, unknown>;
  return JSON.stringify(s, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v)) + `|icount=${m.clock.icount}|halted=${m.cpu.halted}`;
}

const PROGRAMS = 1000;
const WORDS = 200;

/** The compiled tiers: regions compiled to JavaScript, and to WebAssembly (registers and RAM in an arena). */
const TIERS = ["js", "wasm"] as const;

for (const tier of TIERS)
test(`block engine (${tier}) = interpreter on ${PROGRAMS * WORDS} random instructions (faults, SMC, page crossings, interrupts, breakpoints, watchpoints, MMU on and off)`, () => {
  let compiled = 0;
  let compiledSteps = 0;
  let watchStops = 0;
  let breakpointStops = 0;
  for (let p = 0; p < PROGRAMS; p++) {
    const seed = 0x9e3779b9 ^ (p * 2654435761);
    const gen = rng(seed);
    const words = Array.from({ length: WORDS }, () => randomInsn(gen));
    const interp = new TestMachine();
    const fast = new TestMachine({ wasm: tier === "wasm" });
    const engine = new BlockEngine(fast.cpu, fast.interp, fast.arena);
    engine.hotAfter = 1 + (p % 3);
    const mmu = p % 2 === 0;
    setUp(interp, words, rng(seed + 1), mmu);
    setUp(fast, words, rng(seed + 1), mmu);
    assert.equal(fast.cpu.sys.mmuEnabled, mmu);
    const bursts = rng(seed + 2);
    // Every other program watches 2 KiB of the data (reads and writes), as a debugger watchpoint would.
    // (every fourth program watches all of it, so accesses stop often).
    const watchLo = p % 4 === 1 ? DATA : DATA + (bursts() % 0x3800);
    const watchLen = p % 4 === 1 ? 0x4000 : 0x800;
    const hook = (lo: number, hi: number, size: number) => {
      if (hi === 0 && (lo >>> 0) < watchLo + watchLen && (lo >>> 0) + size > watchLo) throw WATCH_STOP;
    };
    const watching = p % 2 === 1;
    // Every third program has breakpoints on three of its instructions.
    const start = interp.cpu.pcLo >>> 0;
    const bpList = p % 3 === 2 ? Array.from({ length: 3 }, () => (start + 4 * (bursts() % WORDS)) >>> 0) : [];
    let stepOver = false;
    for (let b = 0; b < 40; b++) {
      // After a debug stop, one step without breakpoints and watchpoints (what the session does to step over).
      const budget: number = stepOver ? 1 : 1 + (bursts() % 150);
      interp.cpu.watchHook = fast.cpu.watchHook = watching && !stepOver ? hook : null;
      for (const m of [interp, fast]) {
        m.interp.breakpoints = bpList.length > 0 && !stepOver ? new Set(bpList) : null;
      }
      // An interrupt line raised or dropped at this boundary (both machines alike).
      const irq = bursts() % 8 === 0;
      interp.cpu.irqLine = fast.cpu.irqLine = irq;
      const a = interp.interp.runBurst(budget);
      const f = engine.runBurst(budget);
      const where: string = `program ${p} (seed ${seed >>> 0}), burst ${b} of ${budget}`;
      assert.equal(f, a, `${where}: steps`);
      const stopA = interp.interp.takeDebugStop();
      assert.equal(engine.takeDebugStop(), stopA, `${where}: watchpoint stop`);
      assert.equal(fast.cpu.watchStopLate, interp.cpu.watchStopLate, `${where}: late watchpoint stop`);
      stepOver = stopA;
      if (stopA && interp.cpu.watchHook !== null && !bpList.includes(interp.cpu.pcLo >>> 0)) watchStops++;
      if (stopA && bpList.includes(interp.cpu.pcLo >>> 0)) breakpointStops++;
      const sa = cpuState(interp);
      const sf = cpuState(fast);
      if (sa !== sf) assert.equal(sf, sa, `${where}: CPU state`);
      assert.ok(Buffer.compare(interp.ram.bytes, fast.ram.bytes) === 0, `${where}: RAM differs`);
      assert.deepEqual(fast.undefinedReports, interp.undefinedReports, `${where}: undefined reports`);
    }
    compiled += engine.stats.compiled;
    compiledSteps += engine.stats.compiledSteps;
    if (tier === "wasm" && engine.stats.compiled > 0) assert.ok(engine.stats.wasmBytes > 0, "the WebAssembly tier compiled nothing");
  }
  // The comparison means something only if compiled code ran a good share of the steps.
  assert.ok(compiled > PROGRAMS, `only ${compiled} blocks compiled`);
  assert.ok(compiledSteps > PROGRAMS * 100, `only ${compiledSteps} steps ran compiled`);
  assert.ok(watchStops > PROGRAMS / 10, `only ${watchStops} watchpoint stops`);
  assert.ok(breakpointStops > PROGRAMS / 10, `only ${breakpointStops} breakpoint stops`);
});

test("self-modifying code: a store rewrites an instruction later in the same compiled block, 500 times", () => {
  // start: str w3, [x4]; add w3, w3, #32; target: movz w1, #k; add x2, x2, x1; strb w6, [x7];
  //        subs x5, x5, #1; b.ne start; b .
  // Each pass patches `target` to movz w1, #(k + 1) before running it: x2 ends as 1 + 2 + ... + 500.
  const words = [0xb9000083, 0x11008063, 0x52800001, 0x8b010042, 0x390000e6, 0xf10004a5, 0x54ffff41, 0x14000000];
  for (const hotAfter of [1, 2, 4]) {
    const results: bigint[] = [];
    for (const engine of ["interp", ...TIERS] as const) {
      const m = new TestMachine({ wasm: engine === "wasm" }).code(...words);
      m.setX(3, 0x52800001 + 32).setX(4, CODE + 8).setX(5, 500).setX(2, 0).setX(6, 0xaa).setX(7, CODE + 0x800);
      const run = engine !== "interp" ? new BlockEngine(m.cpu, m.interp, m.arena) : m.interp;
      if (run instanceof BlockEngine) run.hotAfter = hotAfter;
      const next = rng(hotAfter);
      while (m.pc !== BigInt(CODE + 0x1c)) run.runBurst(1 + (next() % 40));
      results.push(m.x(2));
      // The page is rewritten every pass: only blocks compiled on their first entry ever run compiled.
      if (run instanceof BlockEngine && hotAfter === 1) assert.ok(run.stats.compiledSteps > 1000, `hotAfter ${hotAfter}: ${JSON.stringify(run.stats)}`);
    }
    assert.deepEqual(results, [125250n, 125250n, 125250n], `hotAfter ${hotAfter}`);
  }
});

test("MMU on: a store to a read-only page faults in compiled code after loads put the page in the TLB", () => {
  // loop: ldr x1, [x2]; add x1, x1, #1; str x1, [x2]; subs x5, x5, #1; b.ne loop; b .
  // x2 points into a read-only alias page: every store takes a permission fault (the handler skips it).
  const words = [0xf9400041, 0x91000421, 0xf9000041, 0xf10004a5, 0x54ffff81, 0x14000000];
  const target = RAM_BASE + 0x2000 + 0x10; // page 2 of the alias: read-only
  const states: string[] = [];
  for (const engine of ["interp", ...TIERS] as const) {
    const m = new TestMachine({ wasm: engine === "wasm" });
    setUp(m, [], rng(1), true);
    for (let v = 0; v < 16; v++) HANDLER.forEach((w, i) => m.bus.write32(RAM_BASE + v * 0x80 + 4 * i, w));
    m.code(...words);
    m.bus.write32(target, 0x1234);
    m.bus.write32(target + 4, 0);
    m.setX(2, target - RAM_BASE + ALIAS).setX(5, 300);
    const run = engine !== "interp" ? new BlockEngine(m.cpu, m.interp, m.arena) : m.interp;
    if (run instanceof BlockEngine) run.hotAfter = 2;
    while (m.pc !== BigInt(CODE + 20)) run.runBurst(50);
    assert.equal(m.bus.read32(target), 0x1234, `${engine}: the read-only page was written`);
    assert.equal(m.x(1), 0x1235n);
    if (run instanceof BlockEngine) assert.ok(run.stats.compiledSteps > 500, JSON.stringify(run.stats));
    states.push(cpuState(m));
  }
  assert.equal(states[1], states[0]);
  assert.equal(states[2], states[0]);
});

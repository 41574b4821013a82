// Reference model for the data-processing and branch tests: the Arm ARM pseudocode transcribed with BigInt
// (AddWithCarry, ShiftReg, ExtendReg, DecodeBitMasks, Poly32Mod2, ...), independent of the interpreter's
// lo/hi code. Plus a seeded PRNG, random register files and a runner comparing a TestMachine against the
// model after one instruction.

import assert from "node:assert/strict";
import { CODE, TestMachine } from "./harness.js";

export const MASK64 = (1n << 64n) - 1n;
export const mask = (n: number): bigint => (1n << BigInt(n)) - 1n;

export function sint(x: bigint, n: number): bigint {
  x &= mask(n);
  return x >> BigInt(n - 1) ? x - (1n << BigInt(n)) : x;
}

// ---- pseudocode helpers --------------------------------------------------------------------------------

export interface AwcResult {
  result: bigint;
  nzcv: number;
}

/** AddWithCarry(x, y, carry_in) for N bits. */
export function addWithCarry(x: bigint, y: bigint, carryIn: number, n: number): AwcResult {
  const m = mask(n);
  const unsignedSum = (x & m) + (y & m) + BigInt(carryIn);
  const signedSum = sint(x, n) + sint(y, n) + BigInt(carryIn);
  const result = unsignedSum & m;
  const N = Number(result >> BigInt(n - 1));
  const Z = result === 0n ? 1 : 0;
  const C = result === unsignedSum ? 0 : 1;
  const V = sint(result, n) === signedSum ? 0 : 1;
  return { result, nzcv: (N << 3) | (Z << 2) | (C << 1) | V };
}

export function ror(x: bigint, r: number, n: number): bigint {
  const m = mask(n);
  x &= m;
  r %= n;
  if (r === 0) return x;
  return ((x >> BigInt(r)) | (x << BigInt(n - r))) & m;
}

/** ShiftReg: 0 LSL, 1 LSR, 2 ASR, 3 ROR. */
export function shiftReg(x: bigint, type: number, amount: number, n: number): bigint {
  const m = mask(n);
  x &= m;
  switch (type) {
    case 0:
      return (x << BigInt(amount)) & m;
    case 1:
      return x >> BigInt(amount);
    case 2:
      return (sint(x, n) >> BigInt(amount)) & m;
    default:
      return ror(x, amount, n);
  }
}

/** ExtendReg: extract the low 8/16/32/64 bits, extend, shift left (len = Min(len, N - shift) as in the ARM). */
export function extendReg(x: bigint, type: number, shift: number, n: number): bigint {
  const unsigned = (type & 4) === 0;
  let len = [8, 16, 32, 64][type & 3];
  len = Math.min(len, n - shift);
  const v = (x & mask(len)) << BigInt(shift);
  const width = len + shift;
  return unsigned ? v & mask(n) : sint(v, width) & mask(n);
}

function replicate(elem: bigint, esize: number, m: number): bigint {
  let r = 0n;
  for (let i = 0; i < m; i += esize) r |= elem << BigInt(i);
  return r;
}

/** DecodeBitMasks, literally; undefined where the ARM says UNDEFINED. */
export function decodeBitMasks(immN: number, imms: number, immr: number, immediate: boolean, m: number): { wmask: bigint; tmask: bigint } | undefined {
  const bits = (immN << 6) | (~imms & 0x3f);
  let len = -1;
  for (let i = 6; i >= 0; i--)
    if ((bits >> i) & 1) {
      len = i;
      break;
    }
  if (len < 1) return undefined;
  if (m < 1 << len) return undefined;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return undefined;
  const S = imms & levels;
  const R = immr & levels;
  const diff = (S - R) & 0x3f;
  const esize = 1 << len;
  const d = diff & levels;
  const welem = mask(S + 1);
  const telem = mask(d + 1);
  return { wmask: replicate(ror(welem, R, esize), esize, m), tmask: replicate(telem, esize, m) };
}

export function conditionHolds(cond: number, nzcv: number): boolean {
  const N = (nzcv >> 3) & 1;
  const Z = (nzcv >> 2) & 1;
  const C = (nzcv >> 1) & 1;
  const V = nzcv & 1;
  let r: boolean;
  switch (cond >> 1) {
    case 0: r = Z === 1; break;
    case 1: r = C === 1; break;
    case 2: r = N === 1; break;
    case 3: r = V === 1; break;
    case 4: r = C === 1 && Z === 0; break;
    case 5: r = N === V; break;
    case 6: r = N === V && Z === 0; break;
    default: r = true;
  }
  return (cond & 1) === 1 && cond !== 15 ? !r : r;
}

export function bitReverse(x: bigint, n: number): bigint {
  let r = 0n;
  for (let i = 0; i < n; i++) if ((x >> BigInt(i)) & 1n) r |= 1n << BigInt(n - 1 - i);
  return r;
}

/** CRC32/CRC32C as the ARM pseudocode computes them (Poly32Mod2 over bit strings). */
export function crc32Ref(acc: bigint, val: bigint, size: number, castagnoli: boolean): bigint {
  const poly = castagnoli ? 0x1edc6f41n : 0x04c11db7n;
  const tempacc = bitReverse(acc & mask(32), 32) << BigInt(size);
  const tempval = bitReverse(val & mask(size), size) << 32n;
  let data = tempacc ^ tempval;
  const total = 32 + size;
  for (let i = total - 1; i >= 32; i--) {
    if ((data >> BigInt(i)) & 1n) data ^= (poly | (1n << 32n)) << BigInt(i - 32);
  }
  return bitReverse(data & mask(32), 32);
}

export function clz(x: bigint, n: number): number {
  for (let i = n - 1; i >= 0; i--) if ((x >> BigInt(i)) & 1n) return n - 1 - i;
  return n;
}

/** CountLeadingSignBits(x) = CountLeadingZeroBits(x<N-1:1> EOR x<N-2:0>). */
export function cls(x: bigint, n: number): number {
  x &= mask(n);
  return clz((x >> 1n) ^ (x & mask(n - 1)), n - 1);
}

export function byteSwapChunks(x: bigint, chunkBits: number, n: number): bigint {
  let r = 0n;
  for (let c = 0; c < n; c += chunkBits) {
    const chunk = (x >> BigInt(c)) & mask(chunkBits);
    let s = 0n;
    for (let b = 0; b < chunkBits; b += 8) s |= ((chunk >> BigInt(b)) & 0xffn) << BigInt(chunkBits - 8 - b);
    r |= s << BigInt(c);
  }
  return r;
}

// ---- random numbers ------------------------------------------------------------------------------------

/** mulberry32: small, seeded, reproducible. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const int = (n: number) => next() % n;
  const INTERESTING = [
    0n, 1n, 2n, MASK64, MASK64 - 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn,
    0x8000000000000000n, 0x8000000000000001n, 0xffffffff00000000n, 0x00000000ffffffffn, 0xfffffffe00000001n,
  ];
  const u64 = (): bigint => {
    const k = int(8);
    if (k === 0) return INTERESTING[int(INTERESTING.length)];
    if (k === 1) return BigInt(int(256)); // small
    if (k === 2) return (MASK64 - BigInt(int(256))) & MASK64; // small negative
    return (BigInt(next()) << 32n) | BigInt(next());
  };
  return { next, int, u64, bool: () => (next() & 1) === 1 };
}
export type Rng = ReturnType<typeof rng>;

// ---- machine state -------------------------------------------------------------------------------------

/** Architectural state the tests compare: x[0..30], x[31] = SP, NZCV, PC. */
export interface State {
  x: bigint[];
  nzcv: number;
  pc: bigint;
}

export function randomState(r: Rng): State {
  const x: bigint[] = [];
  for (let i = 0; i < 32; i++) x.push(r.u64());
  return { x, nzcv: r.int(16), pc: BigInt(CODE) };
}

export function cloneState(s: State): State {
  return { x: [...s.x], nzcv: s.nzcv, pc: s.pc };
}

/** Register read: r = 31 is SP when `sp`, else XZR. Width n truncates. */
export function rd(s: State, r: number, n: number, sp = false): bigint {
  if (r === 31 && !sp) return 0n;
  return s.x[r] & mask(n);
}

/** Register write of an N-bit result (W writes zero-extend); r = 31 writes SP when `sp`, else nothing. */
export function wr(s: State, r: number, v: bigint, n: number, sp = false): void {
  if (r === 31 && !sp) return;
  s.x[r] = v & mask(n);
}

let shared: TestMachine | undefined;
export function machine(): TestMachine {
  return (shared ??= new TestMachine());
}

/** Loads `state` into a machine, runs `word` once, returns the machine's resulting state. */
export function execute(word: number, state: State, m = machine()): State {
  m.code(word);
  for (let i = 0; i < 32; i++) m.setX(i, state.x[i]);
  m.setNzcv(state.nzcv);
  m.setPc(state.pc);
  m.cpu.sys.esrEl1 = 0xffffffff;
  m.run(1);
  const x: bigint[] = [];
  for (let i = 0; i < 32; i++) x.push(m.x(i));
  return { x, nzcv: m.nzcv, pc: m.pc };
}

function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

/** Runs `word` on `state` and checks the machine against the model's expected state. */
export function expectSame(word: number, state: State, expected: State, what: string, m = machine()): void {
  const got = execute(word, state, m);
  if (m.cpu.sys.esrEl1 !== 0xffffffff) assert.fail(`${what}: took an exception (ESR 0x${(m.cpu.sys.esrEl1 >>> 0).toString(16)})`);
  for (let i = 0; i < 32; i++) {
    if (got.x[i] !== expected.x[i])
      assert.fail(
        `${what} [${hex(BigInt(word))}]: ${i === 31 ? "SP" : "X" + i} = ${hex(got.x[i])}, expected ${hex(expected.x[i])}` +
          ` (inputs ${state.x.map((v, k) => (k === 31 ? "sp" : "x" + k) + "=" + hex(v)).join(" ")} nzcv=${state.nzcv})`,
      );
  }
  assert.equal(got.nzcv, expected.nzcv, `${what} [${hex(BigInt(word))}]: NZCV`);
  assert.equal(got.pc, expected.pc, `${what} [${hex(BigInt(word))}]: PC`);
}

/** The state after a non-branching instruction that changed nothing: PC + 4. */
export function advanced(s: State): State {
  const t = cloneState(s);
  t.pc += 4n;
  return t;
}

/** Checks that `word` is Undefined Instruction (EC 0) and changes no general register. */
export function expectUndefined(word: number, m = machine()): void {
  const r = rng(word);
  const s = randomState(r);
  const got = execute(word, s, m);
  assert.equal(m.lastEc, 0, `0x${word.toString(16)} should be undefined`);
  assert.equal(m.cpu.sys.elrEl1Lo >>> 0, CODE, "ELR is the faulting instruction");
  for (let i = 0; i < 31; i++) assert.equal(got.x[i], s.x[i], `X${i} unchanged by an undefined instruction`);
}

/**
 * Runs the executor of `word` directly with the CPU's PC set to `pc` (any 64-bit address, no fetch), for
 * PC-relative cases far from the test RAM. Returns the resulting state with pc = the next PC.
 */
export function executeAt(word: number, pc: bigint, state: State, m = machine()): State {
  const d = m.interp.decoder.decode(word);
  assert.ok(d, `0x${word.toString(16)} decodes`);
  const exec = d.spec.build(d.fields, word);
  const c = m.cpu;
  for (let i = 0; i < 32; i++) m.setX(i, state.x[i]);
  m.setNzcv(state.nzcv);
  m.setPc(pc);
  const next = (pc + 4n) & MASK64;
  c.nextLo = Number(next & 0xffffffffn);
  c.nextHi = Number(next >> 32n);
  exec(c);
  const x: bigint[] = [];
  for (let i = 0; i < 32; i++) x.push(m.x(i));
  return { x, nzcv: m.nzcv, pc: (BigInt(c.nextHi >>> 0) << 32n) | BigInt(c.nextLo >>> 0) };
}

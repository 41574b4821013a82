// The 16/32-bit instructions of exec/system.ts that also exist in 64-bit mode, against this machine's processor
// (test/oracle/x86/driver.c): SHLD/SHRD (immediate and CL counts), XADD, CMPXCHG, BSF/BSR on registers with 16-
// and 32-bit operands, and CMPS/SCAS/MOVS-free REP/REPE/REPNE string loops over the oracle's 256-byte buffer (with
// a 67 prefix natively, so both run 32-bit addressing; Rewind steps one iteration at a time as QEMU counts them).

import { test } from "node:test";
import assert from "node:assert/strict";
import { DATA_ADDRESS, DATA_SIZE, runNative, x86OracleUnavailable, type X86Case } from "../helpers/x86-oracle.js";
import { xorshift32 } from "../helpers/random.js";
import { decode } from "../../src/arch/x86/decode/decoder.js";
import { buildSystem } from "../../src/arch/x86/exec/system.js";
import { X86State, type X86Memory } from "../../src/arch/x86/cpu-state.js";
import type { X86Cpu } from "../../src/arch/x86/cpu.js";
import { AF, CF, OF, PF, SF, STATUS_FLAGS, ZF } from "../../src/arch/x86/alu.js";

const skip = x86OracleUnavailable();
const MASK64 = (1n << 64n) - 1n;
const DF = 0x400;

class DataMemory implements X86Memory {
  readonly bytes = new Uint8Array(DATA_SIZE);
  private offset(lo: number, size: number): number {
    const o = lo - DATA_ADDRESS;
    if (o < 0 || o + size > DATA_SIZE) throw new Error(`access outside the oracle's data: ${lo.toString(16)}`);
    return o;
  }
  read(s: X86State, lo: number, _hi: number, size: 1 | 2 | 4 | 8): void {
    const o = this.offset(lo, size);
    const v = new DataView(this.bytes.buffer);
    s.vlo = size === 1 ? this.bytes[o] : size === 2 ? v.getUint16(o, true) : v.getUint32(o, true);
    s.vhi = 0;
  }
  write(_s: X86State, lo: number, _hi: number, size: 1 | 2 | 4 | 8, vlo: number): void {
    const o = this.offset(lo, size);
    const v = new DataView(this.bytes.buffer);
    if (size === 1) this.bytes[o] = vlo;
    else if (size === 2) v.setUint16(o, vlo & 0xffff, true);
    else v.setUint32(o, vlo >>> 0, true);
  }
}

/** The stand-in CPU: the state plus the fields REP loops use. */
class StepState extends X86State {
  nextLo = 0;
  nextHi = 0;
}

function defined(m: string, count: number, w: number): number {
  if (m === "bsf" || m === "bsr") return ZF;
  if (m === "shld" || m === "shrd") return count === 0 ? STATUS_FLAGS : count > w ? 0 : count === 1 ? CF | PF | ZF | SF | OF : CF | PF | ZF | SF;
  return STATUS_FLAGS;
}

test("SHLD/SHRD, XADD, CMPXCHG, BSF/BSR and REP CMPS/SCAS, decoded and executed by Rewind, agree with the processor", { skip }, () => {
  const r = xorshift32(0x5157);
  const value = () => (r() % 6 === 0 ? 0n : r() % 6 === 1 ? BigInt(1 << r() % 32) : (BigInt(r()) << 32n) | BigInt(r()));
  const cases: X86Case[] = [];
  const mine: { bytes: number[]; m: string; count: number; w: number }[] = [];
  const pick = () => {
    for (;;) {
      const n = r() & 7;
      if (n !== 4) return n;
    }
  };
  while (cases.length < 20_000) {
    const kind = r() % 6;
    const o16 = r() % 3 === 0;
    const pre = o16 ? [0x66] : [];
    const regs = Array.from({ length: 16 }, value);
    let memory: Uint8Array | undefined;
    let bytes: number[];
    let native: number[];
    let count = 0;
    if (kind <= 3) {
      const a = pick();
      let b = pick();
      const modrm = 0xc0 | (b << 3) | a;
      const ops = [[0xa4], [0xa5], [0xac], [0xad], [0xc1], [0xb1], [0xbc], [0xbd], [0xc0], [0xb0]];
      const op = ops[kind === 0 ? r() % 4 : kind === 1 ? 4 + (r() % 2) * 4 : kind === 2 ? 5 + (r() % 2) * 4 : 6 + (r() % 2)];
      bytes = [...pre, 0x0f, ...op, modrm];
      if (op[0] === 0xa4 || op[0] === 0xac) bytes.push(r() % 40);
      if (op[0] === 0xa5 || op[0] === 0xad) regs[1] = BigInt(r() % 40);
      // 8-bit XADD/CMPXCHG on registers 4-7 would be AH..BH: keep to AL..BL.
      if ((op[0] === 0xc0 || op[0] === 0xb0) && (a >= 4 || b >= 4)) continue;
      if (op[0] === 0xa5 || op[0] === 0xad) if (a === 1 || b === 1) continue;
      if (op[0] === 0xb1 || op[0] === 0xb0) if (r() % 2) regs[a] = regs[0];
      b = b + 0;
      native = bytes;
      const dd = decode(Uint8Array.from(bytes), 0, 32);
      assert.ok(dd.ok);
      count = op[0] === 0xa4 || op[0] === 0xac ? bytes[bytes.length - 1] & 31 : op[0] === 0xa5 || op[0] === 0xad ? Number(regs[1] & 31n) : 0;
      // 16-bit double shifts by more than 16 are undefined (SDM): processors and QEMU differ.
      if (dd.opsize === 16 && count > 16) continue;
      mine.push({ bytes, m: dd.mnemonic, count, w: dd.opsize });
    } else {
      // REP/REPE/REPNE CMPS or SCAS with DF either way, over the buffer.
      const size = r() % 2 === 0 ? 1 : o16 ? 2 : 4;
      const scas = kind === 5;
      const op = (scas ? 0xae : 0xa6) | (size > 1 ? 1 : 0);
      const rep = [0xf3, 0xf2][r() % 2];
      const n = r() % 24;
      const down = r() % 2 === 1;
      const span = n * size + 8;
      const si = down ? DATA_ADDRESS + span + (r() % 40) : DATA_ADDRESS + (r() % 40);
      const di = down ? DATA_ADDRESS + 100 + span + (r() % 40) : DATA_ADDRESS + 100 + (r() % 40);
      regs[1] = BigInt(n);
      regs[6] = BigInt(si);
      regs[7] = BigInt(di);
      memory = Uint8Array.from({ length: DATA_SIZE }, () => (r() % 4 === 0 ? r() & 0xff : 0x41));
      bytes = [...pre, rep, op];
      native = [0x67, ...bytes];
      const rf = (r() & STATUS_FLAGS) | (down ? DF : 0);
      cases.push({ insn: native, regs, rflags: rf, memory });
      mine.push({ bytes, m: scas ? "scas" : "cmps", count: 0, w: size * 8 });
      continue;
    }
    cases.push({ insn: native, regs, rflags: r() & STATUS_FLAGS, memory });
  }
  const results = runNative(cases);
  const failures: string[] = [];
  const data = new DataMemory();
  const s = new StepState(data);
  let iterations = 0;
  cases.forEach((c, i) => {
    const t = mine[i];
    const d = decode(Uint8Array.from(t.bytes), 0, 32);
    assert.ok(d.ok, t.bytes.join(" "));
    const exec = buildSystem(d, 32);
    assert.ok(exec, `no executor for ${d.mnemonic}`);
    data.bytes.set(c.memory ?? new Uint8Array(DATA_SIZE));
    for (let k = 0; k < 16; k++) {
      s.lo[k] = Number(c.regs[k] & 0xffffffffn) | 0;
      s.hi[k] = Number((c.regs[k] >> 32n) & 0xffffffffn) | 0;
    }
    s.rflags = c.rflags | 2;
    s.ripLo = 0x1000;
    for (let guard = 0; guard < 100; guard++) {
      s.nextLo = 0x1000 + t.bytes.length;
      exec(s as unknown as X86Cpu);
      iterations++;
      if (s.nextLo !== s.ripLo) break;
    }
    const n = results[i];
    const diff: string[] = [];
    if (n.signal !== 0) diff.push(`signal ${n.signal}`);
    for (let k = 0; k < 16; k++) {
      if (k === 4) continue;
      let mineV = ((BigInt(s.hi[k] >>> 0) << 32n) | BigInt(s.lo[k] >>> 0)) & MASK64;
      // 32-bit string addressing in 64-bit mode writes ESI/EDI/ECX (zero-extended): Rewind's 32-bit code has no upper half.
      // The same for 32-bit results (even unchanged ones, e.g. a count of 0): 32-bit code has no upper halves.
      mineV &= 0xffffffffn;
      const theirs = n.regs[k] & 0xffffffffn;
      if (mineV !== theirs) diff.push(`r${k}: cpu ${theirs.toString(16)}, rewind ${mineV.toString(16)}`);
    }
    const def = defined(t.m, t.count, t.w) & ~(t.m === "shld" || t.m === "shrd" ? AF : 0);
    if ((n.rflags & def) !== (s.rflags & def)) diff.push(`flags: cpu ${(n.rflags & def).toString(16)}, rewind ${(s.rflags & def).toString(16)}`);
    if (diff.length && failures.length < 12) failures.push(`${t.m} [${c.insn.map((b) => b.toString(16).padStart(2, "0")).join(" ")}] in ${c.regs.slice(0, 8).map((v) => v.toString(16)).join(",")} fl ${c.rflags.toString(16)}: ${diff.join("; ")}`);
  });
  assert.deepEqual(failures, []);
  assert.ok(iterations > cases.length);
});

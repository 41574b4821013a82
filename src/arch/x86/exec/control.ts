// Executors for what moves the instruction pointer or the stack, the string instructions, port I/O, the flag
// instructions, segment loads (real mode so far), LEA, CPUID and HLT — the rest of what runs before protected
// mode. Built per decoded instruction like exec/integer.ts; they run on X86Cpu, whose nextLo/nextHi the
// interpreter sets to the end of the instruction and jumps overwrite.
//
// REP string instructions do one iteration per step (QEMU's icount counts them so): every iteration keeps RIP on
// the instruction, and a last step finds the count 0 and leaves (QEMU under -icount counts n + 1 for n iterations;
// REPE/REPNE that stop on ZF leave at once, as there).

import { CF } from "../alu.js";
import { Seg } from "../cpu-state.js";
import { cpuidLeaf } from "../cpuid.js";
import type { X86Cpu } from "../cpu.js";
import type { Decoded } from "../decode/decoder.js";
import { buildAddress } from "./address.js";
import { condition } from "./integer.js";

export type CpuExec = (c: X86Cpu) => void;

const DF = 0x400;
const IF = 0x200;
/** RFLAGS bits POPF may change in real mode (no VM/RF here; IOPL and NT as the SDM lets real mode). */
const POPF_MASK = 0x00257fd5;

type Width = 16 | 32 | 64;

/** The instruction pointer's width: IP in 16-bit code, EIP in 32-bit, RIP in 64-bit. */
function setNext(c: X86Cpu, lo: number, hi: number, w: Width): void {
  c.nextLo = w === 16 ? lo & 0xffff : lo >>> 0;
  c.nextHi = w === 64 ? hi >>> 0 : 0;
}

/** Adds a signed displacement to the next RIP, wrapped to the operand size (a 16-bit jump wraps IP). */
function jumpBy(c: X86Cpu, disp: number, w: Width): void {
  const lo = (c.nextLo >>> 0) + disp;
  const hi = c.nextHi + (lo > 0xffffffff ? 1 : lo < 0 ? -1 : 0);
  setNext(c, lo >>> 0, hi, w);
}

// ---- the stack ------------------------------------------------------------------------------------------------

/** Pushes a w-bit value at SS:rSP - w/8 (rSP wraps at the stack's address size). */
export function push(c: X86Cpu, w: Width, lo: number, hi: number): void {
  const bytes = w >> 3;
  const sb = c.stackBits;
  let sp: number;
  let spHi = 0;
  if (sb === 16) sp = ((c.lo[4] & 0xffff) - bytes) & 0xffff;
  else if (sb === 32) sp = ((c.lo[4] >>> 0) - bytes) >>> 0;
  else {
    const l = (c.lo[4] >>> 0) - bytes;
    sp = l >>> 0;
    spHi = (c.hi[4] + (l < 0 ? -1 : 0)) >>> 0;
  }
  const la = ((c.segBaseLo[Seg.SS] >>> 0) + sp) >>> 0;
  c.mem.write(c, sb === 64 ? sp : la, sb === 64 ? spHi : 0, bytes as 2 | 4 | 8, lo, hi);
  if (sb === 16) c.lo[4] = (c.lo[4] & ~0xffff) | sp;
  else if (sb === 32) c.lo[4] = sp | 0;
  else {
    c.lo[4] = sp | 0;
    c.hi[4] = spHi | 0;
  }
}

/** Pops a w-bit value into c.vlo/vhi. */
export function pop(c: X86Cpu, w: Width): void {
  const bytes = w >> 3;
  const sb = c.stackBits;
  const sp = sb === 16 ? c.lo[4] & 0xffff : c.lo[4] >>> 0;
  if (sb === 64) c.mem.read(c, sp, c.hi[4] >>> 0, bytes as 2 | 4 | 8);
  else c.mem.read(c, ((c.segBaseLo[Seg.SS] >>> 0) + sp) >>> 0, 0, bytes as 2 | 4 | 8);
  if (sb === 16) c.lo[4] = (c.lo[4] & ~0xffff) | ((sp + bytes) & 0xffff);
  else if (sb === 32) c.lo[4] = (sp + bytes) | 0;
  else {
    const l = sp + bytes;
    c.lo[4] = l | 0;
    c.hi[4] = (c.hi[4] + (l > 0xffffffff ? 1 : 0)) | 0;
  }
}

// ---- string instructions ---------------------------------------------------------------------------------------

/** rSI/rDI/rCX at the address size, and the linear address of DS:rSI (or its override) / ES:rDI. */
function index(c: X86Cpu, reg: number, aw: Width): number {
  return aw === 16 ? c.lo[reg] & 0xffff : c.lo[reg] >>> 0;
}

function step(c: X86Cpu, reg: number, aw: Width, delta: number): void {
  if (aw === 16) c.lo[reg] = (c.lo[reg] & ~0xffff) | ((c.lo[reg] + delta) & 0xffff);
  else if (aw === 32) {
    c.lo[reg] = (c.lo[reg] + delta) | 0;
    c.hi[reg] = 0;
  } else {
    const l = (c.lo[reg] >>> 0) + delta;
    c.lo[reg] = l | 0;
    c.hi[reg] = (c.hi[reg] + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
  }
}

function stringOp(d: Decoded, kind: "lods" | "stos" | "movs"): CpuExec {
  const size = (d.opcode[0] & 1 ? d.opsize >> 3 : 1) as 1 | 2 | 4 | 8;
  const aw = d.addrsize;
  const rep = d.prefixes.rep !== 0;
  const srcSeg = d.prefixes.segment >= 0 ? d.prefixes.segment : Seg.DS;
  const regW = (size * 8) as 8 | 16 | 32 | 64;
  return (c) => {
    if (rep && index(c, 1, aw) === 0 && (aw !== 64 || c.hi[1] === 0)) return;
    const delta = c.rflags & DF ? -size : size;
    if (kind !== "stos") {
      c.mem.read(c, ((c.segBaseLo[srcSeg] >>> 0) + index(c, 6, aw)) >>> 0, 0, size);
      step(c, 6, aw, delta);
    } else c.readReg(0, regW);
    if (kind === "lods") c.writeReg(0, regW, c.vlo, c.vhi);
    else {
      c.mem.write(c, ((c.segBaseLo[Seg.ES] >>> 0) + index(c, 7, aw)) >>> 0, 0, size, c.vlo, c.vhi);
      step(c, 7, aw, delta);
    }
    if (rep) {
      step(c, 1, aw, -1);
      // The next step runs the instruction again — also when the count just reached 0: that step only finds it
      // 0 and moves on, as QEMU's translation does under icount (n + 1 instructions for n iterations).
      c.nextLo = c.ripLo;
      c.nextHi = c.ripHi;
    }
  };
}

// ---- the table ----------------------------------------------------------------------------------------------------

/** The executor for a control, stack, string, port, flag or segment instruction, or undefined. */
export function buildControl(d: Decoded, mode: 16 | 32 | 64): CpuExec | undefined {
  const m = d.mnemonic;
  const op = d.opcode[d.opcode.length - 1];
  const two = d.opcode.length === 2;
  const w = d.opsize;
  const imm = d.imm[0]?.value ?? 0;
  const ipw: Width = mode === 64 ? 64 : w;

  if (!two && (m === "jmp" || m === "call") && d.operands[0]?.method === "J") {
    const disp = imm;
    if (m === "jmp") return (c) => jumpBy(c, disp, ipw);
    return (c) => {
      push(c, ipw, c.nextLo, c.nextHi);
      jumpBy(c, disp, ipw);
    };
  }
  if ((!two && op >= 0x70 && op <= 0x7f) || (two && op >= 0x80 && op <= 0x8f)) {
    const cc = op & 15;
    return (c) => {
      if (condition(cc, c.rflags)) jumpBy(c, imm, ipw);
    };
  }
  if (!two && op >= 0xe0 && op <= 0xe3) {
    const aw = d.addrsize;
    return (c) => {
      if (op === 0xe3) {
        if (index(c, 1, aw) === 0 && (aw !== 64 || c.hi[1] === 0)) jumpBy(c, imm, ipw);
        return;
      }
      step(c, 1, aw, -1);
      const nonzero = index(c, 1, aw) !== 0 || (aw === 64 && c.hi[1] !== 0);
      const zf = (c.rflags & 0x40) !== 0;
      if (nonzero && (op === 0xe2 || (op === 0xe1 && zf) || (op === 0xe0 && !zf))) jumpBy(c, imm, ipw);
    };
  }
  if (m === "ret" && !two) {
    const extra = op === 0xc2 ? imm & 0xffff : 0;
    return (c) => {
      pop(c, ipw);
      setNext(c, c.vlo, c.vhi, ipw);
      if (extra) step(c, 4, c.stackBits, extra);
    };
  }
  if ((m === "call" || m === "jmp") && op === 0xff && d.modrm) {
    // CALL/JMP r/m: the target from a register or memory.
    const target = d.modrm.mod === 3 ? undefined : buildAddress(d, mode);
    const reg = d.modrm.rm;
    return (c) => {
      if (target) {
        target(c);
        c.mem.read(c, c.alo, c.ahi, (ipw >> 3) as 2 | 4 | 8);
      } else c.readReg(reg, ipw);
      const lo = c.vlo;
      const hi = c.vhi;
      if (m === "call") push(c, ipw, c.nextLo, c.nextHi);
      setNext(c, lo, hi, ipw);
    };
  }
  if (m === "jmpf" && d.operands[0]?.method === "A" && mode === 16) {
    const offset = d.imm[0].value;
    const selector = d.imm[1].value;
    return (c) => {
      c.loadRealSegment(Seg.CS, selector);
      setNext(c, offset, 0, 16);
    };
  }
  // PUSH/POP of general registers, immediates and r/m.
  if (m === "push" && !two && op >= 0x50 && op <= 0x57) {
    const reg = (op & 7) | (d.rex & 1 ? 8 : 0);
    return (c) => {
      c.readReg(reg, w);
      push(c, w, c.vlo, c.vhi);
    };
  }
  if (m === "pop" && !two && op >= 0x58 && op <= 0x5f) {
    const reg = (op & 7) | (d.rex & 1 ? 8 : 0);
    return (c) => {
      pop(c, w);
      c.writeReg(reg, w, c.vlo, c.vhi);
    };
  }
  if (m === "push" && (op === 0x68 || op === 0x6a) && !two)
    return (c) => push(c, w, imm >>> 0, imm < 0 ? -1 : 0);
  // Segment registers: PUSH/POP Sreg, MOV Sreg (real mode: base = selector * 16).
  const segPush: Record<number, number> = { 0x06: Seg.ES, 0x0e: Seg.CS, 0x16: Seg.SS, 0x1e: Seg.DS };
  const segPop: Record<number, number> = { 0x07: Seg.ES, 0x17: Seg.SS, 0x1f: Seg.DS };
  if (!two && op in segPush) {
    const seg = segPush[op];
    return (c) => push(c, w, c.segSel[seg], 0);
  }
  if (two && (op === 0xa0 || op === 0xa8)) {
    const seg = op === 0xa0 ? Seg.FS : Seg.GS;
    return (c) => push(c, w, c.segSel[seg], 0);
  }
  if ((!two && op in segPop) || (two && (op === 0xa1 || op === 0xa9))) {
    const seg = two ? (op === 0xa1 ? Seg.FS : Seg.GS) : segPop[op];
    if (mode !== 16) return undefined; // protected-mode selector loads come with descriptors
    return (c) => {
      pop(c, w);
      c.loadRealSegment(seg, c.vlo);
    };
  }
  if (m === "mov" && !two && (op === 0x8e || op === 0x8c) && d.modrm) {
    const seg = d.modrm.reg & 7;
    if (seg > 5 || (op === 0x8e && seg === Seg.CS)) return undefined;
    const mem = d.modrm.mod === 3 ? undefined : buildAddress(d, mode);
    const reg = d.modrm.rm;
    if (op === 0x8c)
      return (c) => {
        if (mem) {
          mem(c);
          c.mem.write(c, c.alo, c.ahi, 2, c.segSel[seg], 0);
        } else c.writeReg(reg, w === 16 ? 16 : w, c.segSel[seg], 0);
      };
    if (mode !== 16) return undefined;
    return (c) => {
      if (mem) {
        mem(c);
        c.mem.read(c, c.alo, c.ahi, 2);
      } else c.readReg(reg, 16);
      c.loadRealSegment(seg, c.vlo);
    };
  }
  if (m === "lea" && d.modrm) {
    const ea = buildAddress(d, mode, false);
    const reg = d.modrm.reg;
    return (c) => {
      ea(c);
      c.writeReg(reg, w, c.alo, c.ahi);
    };
  }
  // Strings.
  if (/^lods[bwdq]$/.test(m)) return stringOp(d, "lods");
  if (/^stos[bwdq]$/.test(m)) return stringOp(d, "stos");
  if (/^movs[bwdq]$/.test(m) && !two) return stringOp(d, "movs");
  // Port I/O.
  if ((m === "in" || m === "out") && !two) {
    const size = op & 1 ? (w === 16 ? 2 : 4) : 1;
    const port = op === 0xe4 || op === 0xe5 || op === 0xe6 || op === 0xe7 ? imm & 0xff : -1;
    const regW = (size * 8) as 8 | 16 | 32;
    if (m === "in")
      return (c) => {
        const v = c.ports.read(port >= 0 ? port : c.lo[2] & 0xffff, size);
        c.writeReg(0, regW, v, 0);
      };
    return (c) => {
      c.readReg(0, regW);
      c.ports.write(port >= 0 ? port : c.lo[2] & 0xffff, size, c.vlo);
    };
  }
  // Flags.
  const flagOps: Record<string, (c: X86Cpu) => void> = {
    clc: (c) => (c.rflags &= ~CF),
    stc: (c) => (c.rflags |= CF),
    cmc: (c) => (c.rflags ^= CF),
    cld: (c) => (c.rflags &= ~DF),
    std: (c) => (c.rflags |= DF),
    cli: (c) => (c.rflags &= ~IF),
    sti: (c) => (c.rflags |= IF),
    lahf: (c) => c.writeReg(4, 8, (c.rflags & 0xd5) | 2, 0, true),
    sahf: (c) => {
      c.readReg(4, 8, true);
      c.rflags = (c.rflags & ~0xd5) | (c.vlo & 0xd5);
    },
  };
  if (!two && m in flagOps) return flagOps[m];
  if (!two && (op === 0x9c || op === 0x9d)) {
    if (op === 0x9c) return (c) => push(c, w, c.rflags & 0x00fcffff, 0); // VM and RF read as 0
    return (c) => {
      pop(c, w);
      const mask = w === 16 ? POPF_MASK & 0xffff : POPF_MASK;
      c.rflags = ((c.rflags & ~mask) | (c.vlo & mask) | 2) >>> 0;
    };
  }
  if (m === "hlt") return (c) => (c.halted = true);
  if (m === "cpuid")
    return (c) => {
      const [a, b, cx, dx] = cpuidLeaf(c.lo[0] >>> 0);
      c.writeReg(0, 32, a, 0);
      c.writeReg(3, 32, b, 0);
      c.writeReg(1, 32, cx, 0);
      c.writeReg(2, 32, dx, 0);
    };
  return undefined;
}

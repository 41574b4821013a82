// Executors for the system side of the instruction set and for what real mode alone did not need: software
// interrupts and IRET, far transfers, segment loads through descriptors (MOV/POP/LDS.. Sreg), the descriptor-table
// and control registers, MSRs and the TSC, cache and SMM stubs; and the rest of the 16/32-bit integer set SeaBIOS
// uses (CMPS/SCAS/INS/OUTS with REP prefixes, ENTER/LEAVE, PUSHA/POPA, SHLD/SHRD, XADD/CMPXCHG, BSF/BSR, XLAT,
// the decimal adjusts, PUSH/POP r/m). Built per decoded instruction like exec/control.ts; faults are thrown as
// X86Fault (cpu.ts) and delivered by the interpreter.

import { alu, AluOp, STATUS_FLAGS, CF, PF, AF, ZF, SF, OF, type AluResult } from "../alu.js";
import { Seg } from "../cpu-state.js";
import { BP, fault, GP, OFV, UD, type X86Cpu } from "../cpu.js";
import type { Decoded } from "../decode/decoder.js";
import { buildAddress } from "./address.js";
import { pop, push, type CpuExec } from "./control.js";

type Width = 16 | 32 | 64;
const IF = 0x200;
const DF = 0x400;
const res: AluResult = { lo: 0, hi: 0, flags: 0 };

function parity(v: number): number {
  v &= 0xff;
  v ^= v >> 4;
  v ^= v >> 2;
  v ^= v >> 1;
  return v & 1 ? 0 : PF;
}

function szp(v: number, w: number): number {
  const m = w === 32 ? 0xffffffff : (1 << w) - 1;
  v = (v & m) >>> 0;
  return (v === 0 ? ZF : 0) | ((v >>> (w - 1)) & 1 ? SF : 0) | parity(v);
}

function mask(w: number): number {
  return w >= 32 ? 0xffffffff : (1 << w) - 1;
}

function reg(c: X86Cpu, n: number, aw: Width): number {
  return aw === 16 ? c.lo[n] & 0xffff : c.lo[n] >>> 0;
}

function stepReg(c: X86Cpu, n: number, aw: Width, delta: number): void {
  if (aw === 16) c.lo[n] = (c.lo[n] & ~0xffff) | ((c.lo[n] + delta) & 0xffff);
  else c.lo[n] = (c.lo[n] + delta) | 0;
}

/** A memory or register r/m operand: read/write helpers at width w. */
function rm(d: Decoded, mode: 16 | 32 | 64, w: 8 | 16 | 32) {
  const m = d.modrm!;
  const ea = m.mod === 3 ? undefined : buildAddress(d, mode);
  const high = d.rex === 0;
  return {
    mem: ea !== undefined,
    read(c: X86Cpu): number {
      if (ea) {
        ea(c);
        c.mem.read(c, c.alo, c.ahi, (w >> 3) as 1 | 2 | 4);
      } else c.readReg(m.rm, w, high);
      return c.vlo >>> 0;
    },
    /** Writes to the address the last read computed (or the register). */
    write(c: X86Cpu, v: number): void {
      if (ea) c.mem.write(c, c.alo, c.ahi, (w >> 3) as 1 | 2 | 4, v >>> 0, 0);
      else c.writeReg(m.rm, w, v, 0, high);
    },
    address(c: X86Cpu): void {
      if (ea) ea(c);
    },
  };
}

/** Reads a far pointer (offset, then selector) at the operand's address: [offset, selector]. */
function farPointer(c: X86Cpu, ea: (c: X86Cpu) => void, w: Width): [number, number] {
  ea(c);
  const at = c.alo;
  c.mem.read(c, at, 0, w === 16 ? 2 : 4);
  const off = c.vlo >>> 0;
  c.mem.read(c, (at + (w >> 3)) >>> 0, 0, 2);
  return [off, c.vlo & 0xffff];
}

function farJump(c: X86Cpu, sel: number, off: number, w: Width): void {
  off = w === 16 ? off & 0xffff : off >>> 0;
  c.loadCode(sel, false, off);
  c.nextLo = off;
  c.nextHi = 0;
}

function farCall(c: X86Cpu, sel: number, off: number, w: Width): void {
  const cs = c.segSel[Seg.CS];
  const ip = c.nextLo;
  const sp = c.lo[4];
  try {
    push(c, w, cs, 0);
    push(c, w, ip, 0);
    farJump(c, sel, off, w);
  } catch (e) {
    c.lo[4] = sp;
    throw e;
  }
}

// The opcode map names INS and OUTS without a size suffix (their size comes from the operands).
const STRING = /^(cmps|scas|ins|outs)[bwdq]?$/;

function stringOp(d: Decoded, kind: string): CpuExec {
  const size = (d.opcode[0] & 1 ? d.opsize >> 3 : 1) as 1 | 2 | 4;
  const w = (size * 8) as 8 | 16 | 32;
  const aw = d.addrsize;
  const rep = d.prefixes.rep;
  const srcSeg = d.prefixes.segment >= 0 ? d.prefixes.segment : Seg.DS;
  const compare = kind === "cmps" || kind === "scas";
  return (c) => {
    if (rep && reg(c, 1, aw) === 0) return;
    const delta = c.rflags & DF ? -size : size;
    const di = ((c.segBaseLo[Seg.ES] >>> 0) + reg(c, 7, aw)) >>> 0;
    if (kind === "ins") {
      const v = c.ports.read(c.lo[2] & 0xffff, size);
      c.mem.write(c, di, 0, size, v >>> 0, 0);
      stepReg(c, 7, aw, delta);
    } else if (kind === "outs") {
      c.mem.read(c, ((c.segBaseLo[srcSeg] >>> 0) + reg(c, 6, aw)) >>> 0, 0, size);
      c.ports.write(c.lo[2] & 0xffff, size, c.vlo >>> 0);
      stepReg(c, 6, aw, delta);
    } else {
      let a: number;
      if (kind === "cmps") {
        c.mem.read(c, ((c.segBaseLo[srcSeg] >>> 0) + reg(c, 6, aw)) >>> 0, 0, size);
        a = c.vlo;
      } else {
        c.readReg(0, w);
        a = c.vlo;
      }
      c.mem.read(c, di, 0, size);
      alu(AluOp.Cmp, w, a, 0, c.vlo, 0, c.rflags, res);
      c.rflags = (c.rflags & ~STATUS_FLAGS) | res.flags;
      if (kind === "cmps") stepReg(c, 6, aw, delta);
      stepReg(c, 7, aw, delta);
    }
    if (rep) {
      // Again unless REPE/REPNE stops on ZF; a count that reached 0 is found by the next step (QEMU's icount
      // translation: n + 1 instructions for n iterations that run out).
      stepReg(c, 1, aw, -1);
      const again = !compare || (rep === 0xf3 ? (c.rflags & ZF) !== 0 : (c.rflags & ZF) === 0);
      if (again) {
        c.nextLo = c.ripLo;
        c.nextHi = c.ripHi;
      }
    }
  };
}

/** The executor for a system or late integer instruction, or undefined (the other builders then try). */
export function buildSystem(d: Decoded, mode: 16 | 32 | 64): CpuExec | undefined {
  const m = d.mnemonic;
  const two = d.opcode.length === 2;
  const op = d.opcode[d.opcode.length - 1];
  if (mode === 64) {
    // 64-bit mode: IRETQ, and the system instructions whose 32-bit executors are right there too (MOV CRn,
    // LGDT/LIDT with a base below 4 GiB, RDMSR/WRMSR/RDTSC, INVLPG). The rest is not 64-bit ready: undefined.
    if (!two && op === 0xcf) return (c) => c.iretLong(d.opsize === 64 ? 8 : 4);
    if (m === "syscall") return (c) => c.syscall();
    if (m === "sysret") return (c) => c.sysret(d.opsize === 64);
    if (m === "swapgs") return (c) => c.swapgs();
    if (!two && (op === 0xcd || op === 0xcc)) {
      const v = op === 0xcc ? BP : (d.imm[0]?.value ?? 0) & 0xff;
      return (c) => {
        c.deliver(v, -1, c.nextLo, true);
        c.nextLo = c.ripLo;
        c.nextHi = c.ripHi;
      };
    }
    // MOV Sreg and LTR (a 16-byte TSS descriptor whose base is below 4 GiB) work as in 32-bit code.
    const ready = two ? op === 0x20 || op === 0x22 || op === 0x30 || op === 0x31 || op === 0x32 : op === 0x8e;
    if (!ready && m !== "lgdt" && m !== "lidt" && m !== "invlpg" && m !== "ltr") return undefined;
  }
  const w = d.opsize as 16 | 32;
  const imm = d.imm[0]?.value ?? 0;
  const mr = d.modrm;

  // ---- interrupts ----
  if (!two && op === 0xcd) {
    const v = imm & 0xff;
    return (c) => {
      c.deliver(v, -1, c.nextLo, true);
      c.nextLo = c.ripLo;
      c.nextHi = 0;
    };
  }
  if (!two && op === 0xcc)
    return (c) => {
      c.deliver(BP, -1, c.nextLo, true);
      c.nextLo = c.ripLo;
      c.nextHi = 0;
    };
  if (!two && op === 0xce)
    return (c) => {
      if (!(c.rflags & OF)) return;
      c.deliver(OFV, -1, c.nextLo, true);
      c.nextLo = c.ripLo;
      c.nextHi = 0;
    };
  if (!two && op === 0xcf) return (c) => c.iret(w);
  if (two && op === 0x0b) return () => fault(UD, -1, true);
  if (!two && op === 0xfb)
    return (c) => {
      if (!(c.rflags & IF)) c.shadow = true;
      c.rflags |= IF;
    };

  // ---- far transfers ----
  if (!two && (op === 0xea || op === 0x9a)) {
    const off = d.imm[0].value >>> 0;
    const sel = d.imm[1].value & 0xffff;
    if (op === 0xea) return (c) => farJump(c, sel, off, w);
    return (c) => farCall(c, sel, off, w);
  }
  if ((m === "jmpf" || m === "callf") && mr && mr.mod !== 3) {
    const ea = buildAddress(d, mode);
    return (c) => {
      const [off, sel] = farPointer(c, ea, w);
      if (m === "jmpf") farJump(c, sel, off, w);
      else farCall(c, sel, off, w);
    };
  }
  if (!two && (op === 0xca || op === 0xcb)) {
    const extra = op === 0xca ? imm & 0xffff : 0;
    return (c) => {
      const sp = c.lo[4];
      try {
        pop(c, w);
        const ip = c.vlo >>> 0;
        pop(c, w);
        const sel = c.vlo & 0xffff;
        if (c.protectedMode && (sel & 3) !== c.cpl) fault(GP, sel & 0xfffc); // outer-privilege return: not yet
        c.loadCode(sel, true, w === 16 ? ip & 0xffff : ip);
        c.nextLo = w === 16 ? ip & 0xffff : ip;
        c.nextHi = 0;
      } catch (e) {
        c.lo[4] = sp;
        throw e;
      }
      if (extra) stepReg(c, 4, c.stackBits === 32 ? 32 : 16, extra);
    };
  }

  // ---- segment registers ----
  if (!two && op === 0x8e && mr) {
    const seg = mr.reg & 7;
    if (seg > 5 || seg === Seg.CS) return () => fault(UD);
    const src = rm(d, mode, 16);
    return (c) => {
      c.loadSegment(seg, src.read(c) & 0xffff);
      if (seg === Seg.SS) c.shadow = true;
    };
  }
  const segPop: Record<number, number> = { 0x07: Seg.ES, 0x17: Seg.SS, 0x1f: Seg.DS };
  if ((!two && op in segPop) || (two && (op === 0xa1 || op === 0xa9))) {
    const seg = two ? (op === 0xa1 ? Seg.FS : Seg.GS) : segPop[op];
    return (c) => {
      const sp = c.lo[4];
      pop(c, w);
      const v = c.vlo & 0xffff;
      const after = c.lo[4];
      c.lo[4] = sp;
      c.loadSegment(seg, v);
      c.lo[4] = after;
      if (seg === Seg.SS) c.shadow = true;
    };
  }
  const lxs: Record<string, number> = { les: Seg.ES, lds: Seg.DS, lss: Seg.SS, lfs: Seg.FS, lgs: Seg.GS };
  if (m in lxs && mr) {
    if (mr.mod === 3) return () => fault(UD);
    const seg = lxs[m];
    const ea = buildAddress(d, mode);
    const r = mr.reg;
    return (c) => {
      const [off, sel] = farPointer(c, ea, w);
      c.loadSegment(seg, sel);
      c.writeReg(r, w, off, 0);
    };
  }

  // ---- descriptor tables and control registers ----
  if (two && d.opcode[1] === 0x01 && mr && mr.mod !== 3 && (m === "lgdt" || m === "lidt" || m === "sgdt" || m === "sidt")) {
    const ea = buildAddress(d, mode);
    const idt = m.endsWith("idt");
    if (m[0] === "l")
      return (c) => {
        if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
        ea(c);
        const at = c.alo;
        c.mem.read(c, at, 0, 2);
        const limit = c.vlo & 0xffff;
        c.mem.read(c, (at + 2) >>> 0, 0, 4);
        const base = w === 16 ? c.vlo & 0xffffff : c.vlo >>> 0;
        if (idt) {
          c.idtBase = base;
          c.idtLimit = limit;
        } else {
          c.gdtBase = base;
          c.gdtLimit = limit;
        }
      };
    return (c) => {
      ea(c);
      const at = c.alo;
      c.mem.write(c, at, 0, 2, idt ? c.idtLimit : c.gdtLimit, 0);
      // QEMU stores all 32 bits of the base whatever the operand size.
      c.mem.write(c, (at + 2) >>> 0, 0, 4, (idt ? c.idtBase : c.gdtBase) >>> 0, 0);
    };
  }
  if (two && d.opcode[1] === 0x01 && mr && (m === "smsw" || m === "lmsw")) {
    const o = rm(d, mode, 16);
    if (m === "smsw")
      return (c) => {
        if (mr.mod === 3) c.writeReg(mr.rm, w, c.cr0, 0);
        else {
          o.address(c);
          o.write(c, c.cr0 & 0xffff);
        }
      };
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      const v = o.read(c);
      // LMSW sets PE but never clears it, and changes MP, EM, TS.
      c.cr0 = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1);
    };
  }
  if (two && d.opcode[1] === 0x00 && mr && (m === "sldt" || m === "str" || m === "lldt" || m === "ltr")) {
    const o = rm(d, mode, 16);
    if (m === "sldt" || m === "str")
      return (c) => {
        if (!c.protectedMode) fault(UD);
        const v = m === "sldt" ? c.ldtSel : c.trSel;
        if (mr.mod === 3) c.writeReg(mr.rm, w, v, 0);
        else {
          o.address(c);
          o.write(c, v);
        }
      };
    return (c) => {
      if (!c.protectedMode) fault(UD);
      if (c.cpl !== 0) fault(GP, 0);
      const sel = o.read(c) & 0xffff;
      if (m === "lldt" && (sel & 0xfffc) === 0) {
        c.ldtSel = sel;
        c.ldtBase = 0;
        c.ldtLimit = 0;
        return;
      }
      if (sel & 4 || (sel & 0xfffc) === 0) fault(GP, sel & 0xfffc);
      const desc = [0, 0];
      const at = c.readDescriptor(sel, desc);
      const type = (desc[1] >>> 8) & 0x1f;
      if (m === "lldt" ? type !== 2 : type !== 1 && type !== 9) fault(GP, sel & 0xfffc);
      if (!(desc[1] & 0x8000)) fault(0x0b, sel & 0xfffc);
      let limit = (desc[0] & 0xffff) | (desc[1] & 0xf0000);
      if (desc[1] & 0x800000) limit = ((limit << 12) | 0xfff) >>> 0;
      const base = ((desc[0] >>> 16) | ((desc[1] & 0xff) << 16) | (desc[1] & 0xff000000)) >>> 0;
      if (m === "lldt") {
        c.ldtSel = sel;
        c.ldtBase = base;
        c.ldtLimit = limit;
      } else {
        c.trSel = sel;
        c.trBase = base;
        c.trLimit = limit;
        c.writeLinear((at + 5) >>> 0, 1, ((desc[1] >>> 8) | 2) & 0xff); // busy
        c.trAttr = ((desc[1] >>> 8) | 2) & 0xff;
      }
    };
  }
  if (two && (op === 0x20 || op === 0x22) && mr) {
    const n = mr.reg;
    const r = mr.rm;
    if (n === 1 || n > 4) return () => fault(UD);
    if (op === 0x20)
      return (c) => {
        if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
        const v = n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : c.cr4;
        c.writeReg(r, 32, v >>> 0, 0);
      };
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      const v = c.lo[r] >>> 0;
      if (n === 0) {
        if ((v & 0x80000001) === 0x80000000 || (v & 0x60000000) === 0x40000000) fault(GP, 0);
        const enabling = (v & ~c.cr0 & 0x80000000) !== 0;
        // With EFER.LME, PG enters IA-32e mode (LMA; #GP without CR4.PAE); clearing PG leaves it.
        if (enabling && c.efer & 0x100 && !(c.cr4 & 0x20)) fault(GP, 0);
        // Turning PAE paging on (PG with CR4.PAE) loads the PDPTE registers first (#GP before CR0 changes).
        if (enabling && c.cr4 & 0x20 && !(c.efer & 0x100)) c.loadPdptes(c.cr3);
        c.cr0 = (v | 0x10) >>> 0; // ET is hardwired to 1
        if (enabling && c.efer & 0x100) c.efer |= 0x400;
        else if (!(v & 0x80000000)) c.efer &= ~0x400;
      } else if (n === 2) c.cr2 = v;
      else if (n === 3) {
        if (c.cr0 & 0x80000000 && c.cr4 & 0x20 && !(c.efer & 0x400)) c.loadPdptes(v);
        c.cr3 = v;
      } else {
        if (c.efer & 0x400 && !(v & 0x20)) fault(GP, 0); // PAE stays on in IA-32e mode
        // PAE paging with a change of PAE, PSE or PGE reloads the PDPTE registers.
        if (c.cr0 & 0x80000000 && v & 0x20 && (v ^ c.cr4) & 0xb0 && !(c.efer & 0x400)) c.loadPdptes(c.cr3);
        c.cr4 = v;
      }
    };
  }
  if (two && (op === 0x21 || op === 0x23) && mr) {
    const r = mr.rm;
    const n = mr.reg;
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      if (op === 0x21) c.writeReg(r, 32, n === 6 ? 0xffff0ff0 : n === 7 ? 0x400 : 0, 0);
    };
  }
  if (two && (op === 0x30 || op === 0x32)) {
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      const index = c.lo[1] >>> 0;
      if (op === 0x32) {
        const v = readMsr(c, index);
        c.writeReg(0, 32, Number(v & 0xffffffffn), 0);
        c.writeReg(2, 32, Number(v >> 32n), 0);
      } else writeMsr(c, index, (BigInt(c.lo[2] >>> 0) << 32n) | BigInt(c.lo[0] >>> 0));
    };
  }
  if (two && op === 0x31)
    return (c) => {
      const t = BigInt(c.tsc());
      c.writeReg(0, 32, Number(t & 0xffffffffn), 0);
      c.writeReg(2, 32, Number((t >> 32n) & 0xffffffffn), 0);
    };
  if (two && (op === 0x08 || op === 0x09 || op === 0x06))
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      if (op === 0x06) c.cr0 &= ~8; // CLTS
    };
  if (m === "invlpg") {
    const ea = buildAddress(d, mode);
    return (c) => {
      if (c.cpl !== 0 && c.protectedMode) fault(GP, 0);
      ea(c);
      c.pager.tlb.flushPage(c.alo, c.ahi);
    };
  }
  if (two && op === 0xaa) return () => fault(UD); // RSM outside SMM
  if (m === "lfence" || m === "mfence" || m === "sfence" || /^prefetch/.test(m)) return () => {};

  // ---- the rest of the 16/32-bit integer set ----
  if (!two && op >= 0xa0 && op <= 0xa3) {
    // MOV AL/rAX <-> moffs: an absolute offset at the address size in DS (or the override).
    const size = (op & 1 ? w >> 3 : 1) as 1 | 2 | 4;
    const rw = (size * 8) as 8 | 16 | 32;
    const seg = d.prefixes.segment >= 0 ? d.prefixes.segment : Seg.DS;
    const off = (d.addrsize === 16 ? imm & 0xffff : imm) >>> 0;
    return (c) => {
      const a = ((c.segBaseLo[seg] >>> 0) + off) >>> 0;
      if (op < 0xa2) {
        c.mem.read(c, a, 0, size);
        c.writeReg(0, rw, c.vlo, 0);
      } else {
        c.readReg(0, rw);
        c.mem.write(c, a, 0, size, c.vlo, 0);
      }
    };
  }
  const sm = STRING.exec(m);
  if (sm && !two) return stringOp(d, sm[1]);
  if (!two && op === 0x60)
    return (c) => {
      const sp = c.lo[4];
      for (let r = 0; r < 8; r++) {
        c.readReg(r === 4 ? 4 : r, w);
        push(c, w, r === 4 ? (w === 16 ? sp & 0xffff : sp >>> 0) : c.vlo, 0);
      }
    };
  if (!two && op === 0x61)
    return (c) => {
      for (let r = 7; r >= 0; r--) {
        pop(c, w);
        if (r !== 4) c.writeReg(r, w, c.vlo, 0);
      }
    };
  if (!two && op === 0xc9)
    return (c) => {
      if (c.stackBits === 16) c.lo[4] = (c.lo[4] & ~0xffff) | (c.lo[5] & 0xffff);
      else c.lo[4] = c.lo[5];
      pop(c, w);
      c.writeReg(5, w, c.vlo, 0);
    };
  if (!two && op === 0xc8) {
    const size = d.imm[0].value & 0xffff;
    const level = d.imm[1].value & 31;
    return (c) => {
      const sb = c.stackBits === 16 ? 16 : 32;
      c.readReg(5, w);
      push(c, w, c.vlo, 0);
      const frame = reg(c, 4, sb);
      let bp = reg(c, 5, sb);
      for (let i = 1; i < level; i++) {
        bp = (bp - (w >> 3)) & mask(sb);
        c.mem.read(c, ((c.segBaseLo[Seg.SS] >>> 0) + bp) >>> 0, 0, (w >> 3) as 2 | 4);
        push(c, w, c.vlo, 0);
      }
      if (level > 0) push(c, w, frame, 0);
      c.writeReg(5, sb === 16 ? 16 : 32, frame, 0);
      if (sb === 16) c.lo[4] = (c.lo[4] & ~0xffff) | ((c.lo[4] - size) & 0xffff);
      else c.lo[4] = (c.lo[4] - size) | 0;
    };
  }
  if (!two && op === 0x8f && mr) {
    const o = rm(d, mode, w);
    return (c) => {
      pop(c, w);
      const v = c.vlo;
      o.address(c);
      o.write(c, v);
    };
  }
  if (!two && op === 0xff && mr && mr.reg === 6) {
    const o = rm(d, mode, w);
    return (c) => push(c, w, o.read(c), 0);
  }
  if (!two && op === 0xd7) {
    const aw = d.addrsize;
    const seg = d.prefixes.segment >= 0 ? d.prefixes.segment : Seg.DS;
    return (c) => {
      const a = ((c.segBaseLo[seg] >>> 0) + ((reg(c, 3, aw) + (c.lo[0] & 0xff)) & mask(aw))) >>> 0;
      c.mem.read(c, a, 0, 1);
      c.writeReg(0, 8, c.vlo, 0);
    };
  }
  if (two && (op === 0xa4 || op === 0xa5 || op === 0xac || op === 0xad) && mr) {
    const o = rm(d, mode, w);
    const src = mr.reg;
    const left = op <= 0xa5;
    const byCl = (op & 1) === 1;
    return (c) => {
      const count = (byCl ? c.lo[1] : imm) & 31;
      const a = o.read(c);
      if (count === 0) return;
      c.readReg(src, w);
      const b = c.vlo >>> 0;
      let r: number;
      let cf: number;
      if (w === 32) {
        if (left) {
          r = ((a << count) | (b >>> (32 - count))) >>> 0;
          cf = (a >>> (32 - count)) & 1;
        } else {
          r = ((a >>> count) | (b << (32 - count))) >>> 0;
          cf = (a >>> (count - 1)) & 1;
        }
      } else {
        // 16-bit: the 32-bit value a:b (QEMU's, for counts above 16 too) shifted.
        const wide = left ? ((a << 16) | b) >>> 0 : ((b << 16) | a) >>> 0;
        if (left) {
          const x = count < 32 ? wide * 2 ** count : 0;
          const full = x % 2 ** 48;
          r = Math.floor(full / 65536) & 0xffff;
          cf = Math.floor(full / 2 ** 32) & 1;
          if (count > 16) {
            // a:b:a as QEMU concatenates
            const big = (BigInt(a) << 32n) | (BigInt(b) << 16n) | BigInt(a);
            const sh = big << BigInt(count);
            r = Number((sh >> 32n) & 0xffffn);
            cf = Number((sh >> 48n) & 1n);
          }
        } else {
          const big = count > 16 ? (BigInt(a) << 32n) | (BigInt(b) << 16n) | BigInt(a) : BigInt(wide);
          r = Number((big >> BigInt(count)) & 0xffffn);
          cf = Number((big >> BigInt(count - 1)) & 1n);
        }
      }
      o.write(c, r);
      const sign = w - 1;
      const of = (((r >>> sign) ^ (a >>> sign)) & 1) !== 0 ? OF : 0;
      c.rflags = (c.rflags & ~STATUS_FLAGS) | szp(r, w) | (cf ? CF : 0) | of;
    };
  }
  if (two && (op === 0xc0 || op === 0xc1) && mr) {
    const ow = (op === 0xc0 ? 8 : w) as 8 | 16 | 32;
    const o = rm(d, mode, ow);
    const src = mr.reg;
    const high = d.rex === 0;
    return (c) => {
      const a = o.read(c);
      c.readReg(src, ow, high);
      const b = c.vlo;
      alu(AluOp.Add, ow, a, 0, b, 0, c.rflags, res);
      c.writeReg(src, ow, a, 0, high);
      if (o.mem) o.write(c, res.lo);
      else c.writeReg(mr.rm, ow, res.lo, 0, high);
      c.rflags = (c.rflags & ~STATUS_FLAGS) | res.flags;
    };
  }
  if (two && (op === 0xb0 || op === 0xb1) && mr) {
    const ow = (op === 0xb0 ? 8 : w) as 8 | 16 | 32;
    const o = rm(d, mode, ow);
    const src = mr.reg;
    const high = d.rex === 0;
    return (c) => {
      const dst = o.read(c);
      c.readReg(0, ow);
      const acc = c.vlo;
      alu(AluOp.Cmp, ow, acc, 0, dst, 0, c.rflags, res);
      c.rflags = (c.rflags & ~STATUS_FLAGS) | res.flags;
      if (res.flags & ZF) {
        c.readReg(src, ow, high);
        o.write(c, c.vlo);
      } else {
        // The destination is written back with its own value (a locked cycle), then the accumulator loaded.
        if (o.mem) o.write(c, dst);
        c.writeReg(0, ow, dst, 0);
      }
    };
  }
  if (two && (op === 0xbc || op === 0xbd) && mr && d.prefixes.rep === 0) {
    const o = rm(d, mode, w);
    const dst = mr.reg;
    return (c) => {
      const v = o.read(c) & mask(w);
      if (v === 0) {
        c.rflags = (c.rflags & ~STATUS_FLAGS) | ZF;
        return;
      }
      const n = op === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
      c.writeReg(dst, w, n, 0);
      c.rflags = (c.rflags & ~STATUS_FLAGS) | 0;
    };
  }
  if (!two && (op === 0x27 || op === 0x2f || op === 0x37 || op === 0x3f || op === 0xd4 || op === 0xd5))
    return (c) => decimal(c, op, imm & 0xff);
  return undefined;
}

/** DAA, DAS, AAA, AAS, AAM, AAD as the SDM's pseudocode gives them (undefined flags as QEMU leaves them). */
function decimal(c: X86Cpu, op: number, base: number): void {
  const f = c.rflags;
  let al = c.lo[0] & 0xff;
  let ah = (c.lo[0] >>> 8) & 0xff;
  let cf = f & CF;
  let af = f & AF;
  switch (op) {
    case 0x27:
    case 0x2f: {
      const oldAl = al;
      const oldCf = cf;
      cf = 0;
      const sub = op === 0x2f;
      if ((al & 0xf) > 9 || af) {
        al = sub ? al - 6 : al + 6;
        cf = oldCf || (sub ? oldAl < 6 : al > 0xff) ? CF : 0;
        al &= 0xff;
        af = AF;
      } else af = 0;
      if (oldAl > 0x99 || oldCf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        cf = CF;
      }
      c.lo[0] = (c.lo[0] & ~0xff) | al;
      c.rflags = (f & ~STATUS_FLAGS) | szp(al, 8) | cf | af;
      return;
    }
    case 0x37:
    case 0x3f: {
      if ((al & 0xf) > 9 || af) {
        if (op === 0x37) {
          const ax = ((c.lo[0] & 0xffff) + 0x106) & 0xffff;
          al = ax & 0xff;
          ah = ax >>> 8;
        } else {
          const ax = ((c.lo[0] & 0xffff) - 6) & 0xffff;
          al = ax & 0xff;
          ah = ((ax >>> 8) - 1) & 0xff;
        }
        af = AF;
        cf = CF;
      } else {
        af = 0;
        cf = 0;
      }
      al &= 0xf;
      c.lo[0] = (c.lo[0] & ~0xffff) | (ah << 8) | al;
      c.rflags = (f & ~STATUS_FLAGS) | (f & (SF | ZF | PF | OF)) | af | cf;
      return;
    }
    case 0xd4: {
      if (base === 0) fault(0);
      ah = Math.floor(al / base);
      al = al % base;
      c.lo[0] = (c.lo[0] & ~0xffff) | (ah << 8) | al;
      c.rflags = (f & ~STATUS_FLAGS) | szp(al, 8);
      return;
    }
    default: {
      al = (al + ah * base) & 0xff;
      c.lo[0] = (c.lo[0] & ~0xffff) | al;
      c.rflags = (f & ~STATUS_FLAGS) | szp(al, 8);
    }
  }
}

const MTRR_FIXED = new Set([0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f]);

function knownMsr(i: number): boolean {
  return (
    i === 0x10 || i === 0x1b || i === 0x3a || i === 0x8b || i === 0xfe || (i >= 0x174 && i <= 0x176) || i === 0x179 || i === 0x17a ||
    i === 0x1a0 || (i >= 0x200 && i <= 0x20f) || MTRR_FIXED.has(i) || i === 0x277 || i === 0x2ff || i === 0x9e ||
    i === 0xc0000080 || (i >= 0xc0000081 && i <= 0xc0000084) || (i >= 0xc0000100 && i <= 0xc0000103)
  );
}

// MSRs QEMU 7.2's TCG keeps; others read as 0 and ignore writes (QEMU raises no #GP for them: guests/x86/pmode.S
// reads MSR 0x12345 under it).
function readMsr(c: X86Cpu, i: number): bigint {
  if (!knownMsr(i)) return 0n;
  if (i === 0x10) return BigInt(c.tsc());
  // FS.base and GS.base are the segment caches' bases.
  if (i === 0xc0000100 || i === 0xc0000101) {
    const seg = i === 0xc0000100 ? Seg.FS : Seg.GS;
    return (BigInt(c.segBaseHi[seg] >>> 0) << 32n) | BigInt(c.segBaseLo[seg] >>> 0);
  }
  if (i === 0xc0000080) return BigInt(c.efer);
  if (i === 0xfe) return 0x508n; // MTRRcap: 8 variable ranges, fixed ranges, write-combining
  if (i === 0x1b) return c.msrs.get(i) ?? 0xfee00900n; // APIC base: enabled, BSP
  if (i === 0x277) return c.msrs.get(i) ?? 0x0007040600070406n;
  if (i === 0x1a0) return c.msrs.get(i) ?? 1n;
  return c.msrs.get(i) ?? 0n;
}

function writeMsr(c: X86Cpu, i: number, v: bigint): void {
  if (!knownMsr(i) || i === 0xfe) return;
  // EFER.LMA is the CPU's (set by CR0.PG with LME); WRMSR keeps it.
  if (i === 0xc0000100 || i === 0xc0000101) {
    const seg = i === 0xc0000100 ? Seg.FS : Seg.GS;
    c.segBaseLo[seg] = Number(v & 0xffffffffn) | 0;
    c.segBaseHi[seg] = Number((v >> 32n) & 0xffffffffn) | 0;
    return;
  }
  if (i === 0xc0000080) c.efer = (Number(v & 0x901n) | (c.efer & 0x400)) >>> 0;
  else c.msrs.set(i, v);
}

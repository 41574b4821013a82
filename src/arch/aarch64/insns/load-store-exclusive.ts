// A64 load/store exclusive and load-acquire/store-release (ARMv8.0): LDXR/LDAXR, STXR/STLXR (B/H/W/X),
// LDXP/LDAXP, STXP/STLXP (W/X pairs), LDAR and STLR (B/H/W/X). The v8.1 encodings that share the class (CAS,
// CASP, LDLAR, STLLR) are left unallocated, as on a Cortex-A53.
//
// One CPU and no weaker-than-program-order memory: acquire/release semantics need nothing beyond doing the
// accesses in order. What remains is the architecture's checks and the local exclusive monitor:
//   - every access of this class must be naturally aligned (pairs: to the size of the pair), else an
//     alignment fault (DFSC 0x21), whatever SCTLR_EL1.A says;
//   - a load-exclusive marks the physical address and size in cpu.exclusiveAddr/exclusiveSize;
//   - a store-exclusive passes only when the monitor holds the same physical address and size; pass or fail,
//     it clears the monitor. With the monitor already open it fails without translating the address (no
//     fault), as AArch64.ExclusiveMonitorsPass does. Status: 0 = stored, 1 = not stored.
//
// CONSTRAINED UNPREDICTABLE cases, resolved as QEMU 7.2 does: STXR with Rs == Rt or Rs == Rn stores the old
// register values and then writes the status; LDXP with Rt == Rt2 leaves the element from the higher address.
// The should-be-one Rs/Rt2 fields of the non-pair forms are ignored.

import { AccessKind, type Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { type Access, baseName, gprName, regOp } from "./load-store-common.js";

const ALIGNMENT_FAULT = 0x21;

const SIZE_SUFFIX = ["b", "h", "", ""];

function ldxrExec(size: number, t: number, n: number): Exec {
  const bytes = 1 << size;
  const op = regOp(size, 0, 1)!;
  const acc: Access = t === 31 ? op.accZr : op.acc;
  return (c) => {
    const lo = c.xlo[n] >>> 0;
    const hi = c.xhi[n];
    if ((lo & (bytes - 1)) !== 0) c.abort(lo, hi, AccessKind.Read, ALIGNMENT_FAULT);
    const pa = c.translate(lo, hi, AccessKind.Read);
    acc(c, t, lo, hi);
    c.exclusiveAddr = pa;
    c.exclusiveSize = bytes;
  };
}

/**
 * Checks the monitor for a store-exclusive at (lo, hi) of `bytes`. The caller has checked alignment and clears
 * the monitor after the store: until the store has happened the instruction has changed nothing, so a
 * watchpoint that stops before it leaves the reservation in place.
 */
function monitorPass(c: Cpu, lo: number, hi: number, bytes: number): boolean {
  if (c.exclusiveAddr === -1) return false;
  const pa = c.translate(lo, hi, AccessKind.Write);
  return pa === c.exclusiveAddr && c.exclusiveSize === bytes;
}

function stxrExec(size: number, s: number, t: number, n: number): Exec {
  const bytes = 1 << size;
  return (c) => {
    const lo = c.xlo[n] >>> 0;
    const hi = c.xhi[n];
    const vlo = t === 31 ? 0 : c.xlo[t];
    const vhi = t === 31 ? 0 : c.xhi[t];
    if ((lo & (bytes - 1)) !== 0) c.abort(lo, hi, AccessKind.Write, ALIGNMENT_FAULT);
    let status = 1;
    if (monitorPass(c, lo, hi, bytes)) {
      if (size === 3) c.write64(lo, hi, vlo, vhi);
      else if (size === 2) c.write32(lo, hi, vlo >>> 0);
      else if (size === 1) c.write16(lo, hi, vlo & 0xffff);
      else c.write8(lo, hi, vlo & 0xff);
      status = 0;
    }
    c.exclusiveAddr = -1;
    if (s !== 31) {
      c.xlo[s] = status;
      c.xhi[s] = 0;
    }
  };
}

function ldxpExec(sz: number, t: number, t2: number, n: number): Exec {
  const bytes = 8 << sz;
  return (c) => {
    const lo = c.xlo[n] >>> 0;
    const hi = c.xhi[n];
    if ((lo & (bytes - 1)) !== 0) c.abort(lo, hi, AccessKind.Read, ALIGNMENT_FAULT);
    const pa = c.translate(lo, hi, AccessKind.Read);
    let alo: number, ahi: number, blo: number, bhi: number;
    if (sz === 0) {
      // One single-copy-atomic doubleword: Rt from the low word, Rt2 from the high word.
      alo = c.read64(lo, hi);
      blo = c.hi;
      ahi = bhi = 0;
    } else {
      alo = c.read64(lo, hi);
      ahi = c.hi;
      const s = lo + 8;
      blo = c.read64(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
      bhi = c.hi;
    }
    if (t !== 31) {
      c.xlo[t] = alo;
      c.xhi[t] = ahi;
    }
    if (t2 !== 31) {
      c.xlo[t2] = blo;
      c.xhi[t2] = bhi;
    }
    c.exclusiveAddr = pa;
    c.exclusiveSize = bytes;
  };
}

function stxpExec(sz: number, s: number, t: number, t2: number, n: number): Exec {
  const bytes = 8 << sz;
  return (c) => {
    const lo = c.xlo[n] >>> 0;
    const hi = c.xhi[n];
    const alo = t === 31 ? 0 : c.xlo[t];
    const ahi = t === 31 ? 0 : c.xhi[t];
    const blo = t2 === 31 ? 0 : c.xlo[t2];
    const bhi = t2 === 31 ? 0 : c.xhi[t2];
    if ((lo & (bytes - 1)) !== 0) c.abort(lo, hi, AccessKind.Write, ALIGNMENT_FAULT);
    let status = 1;
    if (monitorPass(c, lo, hi, bytes)) {
      if (sz === 0) c.write64(lo, hi, alo, blo);
      else {
        c.write64(lo, hi, alo, ahi);
        const sum = lo + 8;
        c.write64(sum >>> 0, sum > 0xffffffff ? hi + 1 : hi, blo, bhi);
      }
      status = 0;
    }
    c.exclusiveAddr = -1;
    if (s !== 31) {
      c.xlo[s] = status;
      c.xhi[s] = 0;
    }
  };
}

/** LDAR (load = true) / STLR: an ordinary access that must be aligned. */
function orderedExec(size: number, load: boolean, t: number, n: number): Exec {
  const bytes = 1 << size;
  const op = regOp(size, 0, load ? 1 : 0)!;
  const acc: Access = t === 31 ? op.accZr : op.acc;
  const kind = load ? AccessKind.Read : AccessKind.Write;
  return (c) => {
    const lo = c.xlo[n] >>> 0;
    const hi = c.xhi[n];
    if ((lo & (bytes - 1)) !== 0) c.abort(lo, hi, kind, ALIGNMENT_FAULT);
    acc(c, t, lo, hi);
  };
}

const dataReg = (size: number, r: number) => gprName(size === 3 ? "x" : "w", r);
const mem = (f: Fields) => `[${baseName(f.rn)}]`;

export const LOAD_STORE_EXCLUSIVE: InsnSpec[] = [
  {
    name: "STXR",
    pattern: "size:2 001000 0 0 0 rs:5 o0:1 rt2:5 rn:5 rt:5",
    build: (f) => stxrExec(f.size, f.rs, f.rt, f.rn),
    disasm: (f) =>
      `st${f.o0 ? "l" : ""}xr${SIZE_SUFFIX[f.size]}\t${gprName("w", f.rs)}, ${dataReg(f.size, f.rt)}, ${mem(f)}`,
  },
  {
    name: "LDXR",
    pattern: "size:2 001000 0 1 0 rs:5 o0:1 rt2:5 rn:5 rt:5",
    build: (f) => ldxrExec(f.size, f.rt, f.rn),
    disasm: (f) => `ld${f.o0 ? "a" : ""}xr${SIZE_SUFFIX[f.size]}\t${dataReg(f.size, f.rt)}, ${mem(f)}`,
  },
  {
    name: "STXP",
    pattern: "1 sz:1 001000 0 0 1 rs:5 o0:1 rt2:5 rn:5 rt:5",
    build: (f) => stxpExec(f.sz, f.rs, f.rt, f.rt2, f.rn),
    disasm: (f) =>
      `st${f.o0 ? "l" : ""}xp\t${gprName("w", f.rs)}, ${dataReg(2 + f.sz, f.rt)}, ${dataReg(2 + f.sz, f.rt2)}, ${mem(f)}`,
  },
  {
    name: "LDXP",
    pattern: "1 sz:1 001000 0 1 1 rs:5 o0:1 rt2:5 rn:5 rt:5",
    build: (f) => ldxpExec(f.sz, f.rt, f.rt2, f.rn),
    disasm: (f) => `ld${f.o0 ? "a" : ""}xp\t${dataReg(2 + f.sz, f.rt)}, ${dataReg(2 + f.sz, f.rt2)}, ${mem(f)}`,
  },
  {
    name: "STLR",
    pattern: "size:2 001000 1 0 0 rs:5 1 rt2:5 rn:5 rt:5",
    build: (f) => orderedExec(f.size, false, f.rt, f.rn),
    disasm: (f) => `stlr${SIZE_SUFFIX[f.size]}\t${dataReg(f.size, f.rt)}, ${mem(f)}`,
  },
  {
    name: "LDAR",
    pattern: "size:2 001000 1 1 0 rs:5 1 rt2:5 rn:5 rt:5",
    build: (f) => orderedExec(f.size, true, f.rt, f.rn),
    disasm: (f) => `ldar${SIZE_SUFFIX[f.size]}\t${dataReg(f.size, f.rt)}, ${mem(f)}`,
  },
];

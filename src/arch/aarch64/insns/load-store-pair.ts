// A64 load/store pair: LDP/STP (W, X, S, D, Q), LDPSW, LDNP/STNP; signed offset, pre- and post-index.
//
// Both accesses happen before any register is written, so a fault on the second one (e.g. a pair straddling
// the end of RAM) leaves the registers and the base untouched. A store pair whose second access faults may
// already have written the first element, which the architecture allows (QEMU does the same).
//
// CONSTRAINED UNPREDICTABLE cases, resolved as QEMU 7.2 does:
//   - LDP/LDNP/LDPSW with Rt == Rt2 (general registers): Rt gets the element at the lower address.
//   - LDP/LDNP of FP/SIMD registers with Rt == Rt2: the register gets the element at the higher address.
//   - Writeback with Rn == Rt or Rn == Rt2: a load leaves the written-back address in Rn; a store stores the
//     registers' values from before the writeback.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { sext } from "../decoder.js";
import { addSigned, baseImm, ea } from "../address.js";
import { baseName, gprName, setVLow } from "./load-store-common.js";

/** Transfers a pair at (lo, hi); lo unsigned, hi int32. */
type PairAccess = (c: Cpu, t: number, t2: number, lo: number, hi: number) => void;

const ldpW: PairAccess = (c, t, t2, lo, hi) => {
  const a = c.read32(lo, hi);
  const s = lo + 4;
  const b = c.read32(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
  if (t2 !== 31) {
    c.xlo[t2] = b;
    c.xhi[t2] = 0;
  }
  if (t !== 31) {
    c.xlo[t] = a;
    c.xhi[t] = 0;
  }
};
const ldpSW: PairAccess = (c, t, t2, lo, hi) => {
  const a = c.read32(lo, hi) | 0;
  const s = lo + 4;
  const b = c.read32(s >>> 0, s > 0xffffffff ? hi + 1 : hi) | 0;
  if (t2 !== 31) {
    c.xlo[t2] = b;
    c.xhi[t2] = b >> 31;
  }
  if (t !== 31) {
    c.xlo[t] = a;
    c.xhi[t] = a >> 31;
  }
};
const ldpX: PairAccess = (c, t, t2, lo, hi) => {
  const a = c.read64(lo, hi);
  const ah = c.hi;
  const s = lo + 8;
  const b = c.read64(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
  if (t2 !== 31) {
    c.xlo[t2] = b;
    c.xhi[t2] = c.hi;
  }
  if (t !== 31) {
    c.xlo[t] = a;
    c.xhi[t] = ah;
  }
};
const stpW: PairAccess = (c, t, t2, lo, hi) => {
  const a = t === 31 ? 0 : c.xlo[t] >>> 0;
  const b = t2 === 31 ? 0 : c.xlo[t2] >>> 0;
  c.write32(lo, hi, a);
  const s = lo + 4;
  c.write32(s >>> 0, s > 0xffffffff ? hi + 1 : hi, b);
};
const stpX: PairAccess = (c, t, t2, lo, hi) => {
  const alo = t === 31 ? 0 : c.xlo[t];
  const ahi = t === 31 ? 0 : c.xhi[t];
  const blo = t2 === 31 ? 0 : c.xlo[t2];
  const bhi = t2 === 31 ? 0 : c.xhi[t2];
  c.write64(lo, hi, alo, ahi);
  const s = lo + 8;
  c.write64(s >>> 0, s > 0xffffffff ? hi + 1 : hi, blo, bhi);
};

const ldpS: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const a = c.read32(lo, hi);
  const s = lo + 4;
  const b = c.read32(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
  setVLow(c, t, a, 0);
  setVLow(c, t2, b, 0);
};
const ldpD: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const a = c.read64(lo, hi);
  const ah = c.hi;
  const s = lo + 8;
  const b = c.read64(s >>> 0, s > 0xffffffff ? hi + 1 : hi);
  setVLow(c, t, a, ah);
  setVLow(c, t2, b, c.hi);
};
const ldpQ: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const w0 = c.read64(lo, hi);
  const w1 = c.hi;
  let s = lo + 8;
  let l2 = s >>> 0;
  let h2 = s > 0xffffffff ? hi + 1 : hi;
  const w2 = c.read64(l2, h2);
  const w3 = c.hi;
  s = l2 + 8;
  l2 = s >>> 0;
  h2 = s > 0xffffffff ? h2 + 1 : h2;
  const w4 = c.read64(l2, h2);
  const w5 = c.hi;
  s = l2 + 8;
  const w6 = c.read64(s >>> 0, s > 0xffffffff ? h2 + 1 : h2);
  const r = c.vregs;
  let i = t << 2;
  r[i] = w0;
  r[i + 1] = w1;
  r[i + 2] = w2;
  r[i + 3] = w3;
  i = t2 << 2;
  r[i] = w4;
  r[i + 1] = w5;
  r[i + 2] = w6;
  r[i + 3] = c.hi;
};
const stpS: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const r = c.vregs;
  c.write32(lo, hi, r[t << 2] >>> 0);
  const s = lo + 4;
  c.write32(s >>> 0, s > 0xffffffff ? hi + 1 : hi, r[t2 << 2] >>> 0);
};
const stpD: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const r = c.vregs;
  c.write64(lo, hi, r[t << 2], r[(t << 2) + 1]);
  const s = lo + 8;
  c.write64(s >>> 0, s > 0xffffffff ? hi + 1 : hi, r[t2 << 2], r[(t2 << 2) + 1]);
};
const stpQ: PairAccess = (c, t, t2, lo, hi) => {
  c.checkFpEnabled();
  const r = c.vregs;
  let l = lo;
  let h = hi;
  for (let k = 0; k < 4; k++) {
    const i = ((k < 2 ? t : t2) << 2) + ((k & 1) << 1);
    c.write64(l, h, r[i], r[i + 1]);
    const s = l + 8;
    l = s >>> 0;
    if (s > 0xffffffff) h++;
  }
};

interface PairOp {
  mnemonic: "ldp" | "stp" | "ldpsw" | "ldnp" | "stnp";
  reg: "w" | "x" | "s" | "d" | "q";
  scale: number;
  acc: PairAccess;
}

/** The pair operation for opc (31:30), V (26) and L (22); undefined when unallocated. */
function pairOp(opc: number, v: number, l: number, nonTemporal: boolean): PairOp | undefined {
  const ld = l === 1;
  const mn = nonTemporal ? (ld ? "ldnp" : "stnp") : ld ? "ldp" : "stp";
  if (v === 0) {
    if (opc === 0) return { mnemonic: mn, reg: "w", scale: 2, acc: ld ? ldpW : stpW };
    if (opc === 2) return { mnemonic: mn, reg: "x", scale: 3, acc: ld ? ldpX : stpX };
    // opc 01: LDPSW (L = 1); STGP (L = 0) is ARMv8.5-MemTag and there is no non-temporal LDPSW.
    if (opc === 1 && ld && !nonTemporal) return { mnemonic: "ldpsw", reg: "x", scale: 2, acc: ldpSW };
    return undefined;
  }
  if (opc === 0) return { mnemonic: mn, reg: "s", scale: 2, acc: ld ? ldpS : stpS };
  if (opc === 1) return { mnemonic: mn, reg: "d", scale: 3, acc: ld ? ldpD : stpD };
  if (opc === 2) return { mnemonic: mn, reg: "q", scale: 4, acc: ld ? ldpQ : stpQ };
  return undefined;
}

const enum Mode {
  NonTemporal = 0,
  Post = 1,
  Offset = 2,
  Pre = 3,
}

function opOf(f: Fields, mode: Mode): PairOp | undefined {
  return pairOp(f.opc, f.v, f.l, mode === Mode.NonTemporal);
}

function buildPair(f: Fields, mode: Mode): Exec {
  const op = opOf(f, mode)!;
  const { rt: t, rt2: t2, rn: n } = f;
  const off = sext(f.imm7, 7) << op.scale;
  const acc = op.acc;
  if (mode === Mode.Post)
    return (c) => {
      const lo = c.xlo[n];
      const hi = c.xhi[n];
      acc(c, t, t2, lo >>> 0, hi);
      addSigned(lo, hi, off);
      c.xlo[n] = ea.lo;
      c.xhi[n] = ea.hi;
    };
  if (mode === Mode.Pre)
    return (c) => {
      baseImm(c, n, off);
      const lo = ea.lo;
      const hi = ea.hi;
      acc(c, t, t2, lo, hi);
      c.xlo[n] = lo;
      c.xhi[n] = hi;
    };
  return (c) => {
    baseImm(c, n, off);
    acc(c, t, t2, ea.lo, ea.hi);
  };
}

function pairText(f: Fields, mode: Mode): string {
  const op = opOf(f, mode)!;
  const r = (x: number) => (op.reg === "w" || op.reg === "x" ? gprName(op.reg, x) : `${op.reg}${x}`);
  const off = sext(f.imm7, 7) << op.scale;
  const base = baseName(f.rn);
  let mem: string;
  if (mode === Mode.Post) mem = `[${base}], #${off}`;
  else if (mode === Mode.Pre) mem = `[${base}, #${off}]!`;
  else mem = off === 0 ? `[${base}]` : `[${base}, #${off}]`;
  return `${op.mnemonic}\t${r(f.rt)}, ${r(f.rt2)}, ${mem}`;
}

function pairRow(name: string, mode: Mode): InsnSpec {
  return {
    name,
    pattern: `opc:2 101 v:1 0 ${mode.toString(2).padStart(2, "0")} l:1 imm7:7 rt2:5 rn:5 rt:5`,
    guard: (f) => opOf(f, mode) !== undefined,
    build: (f) => buildPair(f, mode),
    disasm: (f) => pairText(f, mode),
  };
}

export const LOAD_STORE_PAIR: InsnSpec[] = [
  pairRow("LDSTNP", Mode.NonTemporal),
  pairRow("LDSTP_post", Mode.Post),
  pairRow("LDSTP_off", Mode.Offset),
  pairRow("LDSTP_pre", Mode.Pre),
];

// Inline loads and stores of general registers (LDR/STR/LDRB/STRB/LDRSW with an unsigned immediate or a
// register offset, pre/post index, pairs). The compiled block computes the address as the executor does; when no
// watchpoint is set, the physical address is known without the CPU's help (MMU off: the address; MMU on: a TLB
// hit, probed inline) and the access lies in the board's primary RAM, it reads or writes the RAM's bytes directly, marking the page
// dirty (every DirtyBit) and dropping decoded code as the bus does; anything else (translation, devices, other regions, faults)
// goes through the CPU's accessor, exactly as the executor would. Mirrors insns/load-store.ts.

import type { Fields } from "../decoder.js";
import { sext } from "../decoder.js";
import { regOp } from "../insns/load-store-common.js";

type Emitter = (f: Fields, ctx: { slow: string }) => string | undefined;

/** The rows emitted here: their PC, count and post-access checks are on the slow path (codegen.ts). */
export const DEFERRED_ACCESS_ROWS: ReadonlySet<string> = new Set(["LDST_uimm", "LDST_reg", "LDST_pre", "LDST_post", "LDSTP_off", "LDSTP_pre", "LDSTP_post"]);

/**
 * What the block function has in scope for memory: `direct` (MMU off, no watchpoint), `tlb` (MMU on, no
 * watchpoint: probe the TLB inline), the TLB's arrays, the permission shift for the EL (fixed for the block: only
 * exception entry, ERET and MSR change the EL or the MMU, and they end blocks), and the primary RAM as R, DV, RB,
 * RS, DIRTY, CODE.
 */
export const MEMORY_PRELUDE =
  "const direct = !c.sys.mmuEnabled && c.watchHook === null; const tlb = c.sys.mmuEnabled && c.watchHook === null;" +
  " const TL = c.mmu.tagLo, TH = c.mmu.tagHi, TP = c.mmu.perm, TPG = c.mmu.page; const psh = c.el === 0 ? 3 : 0;";

/**
 * `let off = ...`: the offset in the primary RAM of the access at (al, ah), or -1 when it must go through the
 * CPU's accessor. MMU off: the address itself. MMU on: a TLB hit with the permission (as Mmu.translate checks
 * it), an access that does not cross its page (the accessor splits those), in the primary RAM.
 */
function ramOffset(size: number, write: boolean): string {
  const bit = write ? 2 : 1;
  return (
    `let off = -1; if (direct) { if (ah === 0 && ((al - RB) >>> 0) <= RS - ${size}) off = al - RB; }` +
    ` else if (tlb && (al & 0xfff) <= ${0x1000 - size}) { const vpn = al >>> 12; const ti = (vpn ^ (vpn >>> 12) ^ ah) & 4095;` +
    ` if (TL[ti] === vpn && TH[ti] === ah && ((TP[ti] >> psh) & ${bit}) !== 0) { const o2 = TPG[ti] + (al & 0xfff) - RB; if (o2 >= 0 && o2 <= RS - ${size}) off = o2; } }`
  );
}

interface Access {
  /** log2 of the size. */
  scale: number;
  load: boolean;
  /** Load sign-extends a word into X (LDRSW). */
  signedWord: boolean;
}

/** The accesses inlined: W and X loads and stores, byte loads and stores (zero-extending), LDRSW. */
function accessOf(f: Fields): Access | undefined {
  if (f.v !== 0 || f.rt === 31) return undefined;
  const op = regOp(f.size, f.v, f.opc);
  if (op === undefined) return undefined;
  if (op.suffix === "" && (op.reg === "x" || op.reg === "w")) return { scale: op.scale, load: op.dir === "ld", signedWord: false };
  if (op.suffix === "b") return { scale: 0, load: op.dir === "ld", signedWord: false };
  if (op.suffix === "sw") return { scale: 2, load: true, signedWord: true };
  return undefined;
}

/** Statements loading the access at address (al, ah) — al an unsigned low half, ah an int32 high half — into
 * the locals vl/vh (already declared). */
function loadSource(a: Access, vl: string, vh: string, slow: string): string {
  const size = 1 << a.scale;
  const fast = ramOffset(size, false);
  const s = slowPath(slow);
  switch (a.scale) {
    case 3:
      return `{ ${fast} if (off >= 0) { ${vl} = DV.getUint32(off, true); ${vh} = DV.getUint32(off + 4, true); } else { ${s} ${vl} = c.read64(al, ah); ${vh} = c.hi; } }`;
    case 2:
      if (a.signedWord) return `{ ${fast} if (off >= 0) ${vl} = DV.getInt32(off, true); else { ${s} ${vl} = c.read32(al, ah) | 0; } ${vh} = ${vl} >> 31; }`;
      return `{ ${fast} if (off >= 0) ${vl} = DV.getUint32(off, true); else { ${s} ${vl} = c.read32(al, ah); } ${vh} = 0; }`;
    default:
      return `{ ${fast} if (off >= 0) ${vl} = DV.getUint8(off); else { ${s} ${vl} = c.read8(al, ah); } ${vh} = 0; }`;
  }
}

/** Before the CPU's accessor: the PC, next PC and count, once per instruction (sl = 2; codegen.ts checks after
 * the instruction whether the access changed anything the region depends on while sl !== 0). */
const slowPath = (slow: string) => `if (sl !== 2) { sl = 2; ${slow} }`;

/** Statements storing vl/vh (expressions) as the access at address (al, ah). The page (and the next, for an
 * access across the page end) is marked written first, as the bus does. */
function storeSource(a: Access, vl: string, vh: string, slow: string): string {
  const size = 1 << a.scale;
  const fast = ramOffset(size, true);
  const s = slowPath(slow);
  // A store to a page of code drops its decoded code (a new fetch generation): checked after the instruction.
  const touch = (size === 1 ? `R.touch(off);` : `R.touch(off); if ((off & 0xfff) > ${0x1000 - size}) R.touch(off + ${size - 1});`) + " if (sl === 0) sl = 1;";
  const mark = `const p = off >>> 12; if (CODE[p] !== 0 || (off & 0xfff) > ${0x1000 - size}) { ${touch} } else DIRTY[p] = 0xff;`;
  switch (a.scale) {
    case 3:
      return `{ ${fast} if (off >= 0) { ${mark} DV.setUint32(off, ${vl}, true); DV.setUint32(off + 4, ${vh}, true); } else { ${s} c.write64(al, ah, ${vl}, ${vh}); } }`;
    case 2:
      return `{ ${fast} if (off >= 0) { ${mark} DV.setUint32(off, ${vl}, true); } else { ${s} c.write32(al, ah, ${vl} >>> 0); } }`;
    default:
      return `{ ${fast} if (off >= 0) { ${mark} DV.setUint8(off, ${vl} & 0xff); } else { ${s} c.write8(al, ah, ${vl} & 0xff); } }`;
  }
}

/** The single-register access at (al, ah) for register t (not 31). */
function accessSource(a: Access, t: number, slow: string): string {
  if (a.load) return `{ let vl = 0, vh = 0; ${loadSource(a, "vl", "vh", slow)} xl[${t}] = vl; xh[${t}] = vh; }`;
  return storeSource(a, `xl[${t}]`, `xh[${t}]`, slow);
}

/** `const al = ..., ah = ...` for Xn|SP + off (|off| < 2^31, signed), as address.ts baseImm. */
function baseImmSource(n: number, off: number): string {
  return `const s = (xl[${n}] >>> 0) + ${off}; const al = s >>> 0, ah = (xh[${n}] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;`;
}

/** LDR/STR Rt, [Xn|SP, #imm]! and LDR/STR Rt, [Xn|SP], #imm: the access, then the base written back. */
export function loadStoreIndexed(pre: boolean): Emitter {
  return (f, { slow }) => {
    const a = accessOf(f);
    if (a === undefined) return undefined;
    const off = sext(f.imm9, 9);
    const n = f.rn;
    if (pre) return `{ ${baseImmSource(n, off)} ${accessSource(a, f.rt, slow)} xl[${n}] = al; xh[${n}] = ah; }`;
    return `{ const bl = xl[${n}], bh = xh[${n}]; { const al = bl >>> 0, ah = bh | 0; ${accessSource(a, f.rt, slow)} } const s = (bl >>> 0) + ${off}; xl[${n}] = s; xh[${n}] = (bh + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0; }`;
  };
}

/** LDP/STP of W or X registers, signed offset, pre- or post-index (load-store-pair.ts). */
export function loadStorePair(mode: "off" | "pre" | "post"): Emitter {
  return (f, { slow }) => {
    if (f.v !== 0 || (f.opc !== 0 && f.opc !== 2)) return undefined;
    const scale = f.opc === 2 ? 3 : 2;
    const a: Access = { scale, load: f.l === 1, signedWord: false };
    const size = 1 << scale;
    const { rt: t, rt2: t2, rn: n } = f;
    const off = sext(f.imm7, 7) << scale;
    // Both accesses before any register is written; the second element follows the first.
    const second = (body: string) => `{ const s2 = al + ${size}; const al2 = s2 >>> 0, ah2 = s2 > 0xffffffff ? (ah + 1) | 0 : ah; { const al = al2, ah = ah2; ${body} } }`;
    let body: string;
    if (a.load) {
      const writes = (t2 === 31 ? "" : `xl[${t2}] = bl; xh[${t2}] = bh; `) + (t === 31 ? "" : `xl[${t}] = vl; xh[${t}] = vh;`);
      body = `let vl = 0, vh = 0, bl = 0, bh = 0; ${loadSource(a, "vl", "vh", slow)} ${second(loadSource(a, "bl", "bh", slow))} ${writes}`;
    } else {
      const v = (r: number) => (r === 31 ? ["0", "0"] : [`xl[${r}]`, `xh[${r}]`]);
      const [al1, ah1] = v(t);
      const [bl1, bh1] = v(t2);
      body = `const vl = ${al1}, vh = ${ah1}, bl = ${bl1}, bh = ${bh1}; ${storeSource(a, "vl", "vh", slow)} ${second(storeSource(a, "bl", "bh", slow))}`;
    }
    if (mode === "off") return `{ ${baseImmSource(n, off)} ${body} }`;
    if (mode === "pre") return `{ ${baseImmSource(n, off)} { ${body} } xl[${n}] = al; xh[${n}] = ah; }`;
    return `{ const bl0 = xl[${n}], bh0 = xh[${n}]; { const al = bl0 >>> 0, ah = bh0 | 0; ${body} } const s = (bl0 >>> 0) + ${off}; xl[${n}] = s; xh[${n}] = (bh0 + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0; }`;
  };
}

/** LDR/STR Rt, [Xn|SP, #imm] (unsigned, scaled). */
export const loadStoreUimm: Emitter = (f, { slow }) => {
  const a = accessOf(f);
  if (a === undefined) return undefined;
  const off = f.imm12 << a.scale;
  const n = f.rn;
  return `{ const s = (xl[${n}] >>> 0) + ${off}; const al = s >>> 0, ah = (s > 0xffffffff ? xh[${n}] + 1 : xh[${n}]) | 0; ${accessSource(a, f.rt, slow)} }`;
};

/** LDR/STR Rt, [Xn|SP, Rm{, extend {#amount}}]. */
export const loadStoreReg: Emitter = (f, { slow }) => {
  const a = accessOf(f);
  if (a === undefined || f.rm === 31) return undefined;
  const { rn: n, rm: m, option } = f;
  const sh = f.s ? a.scale : 0;
  let ext: string;
  if (option === 2) ext = `let ml = xl[${m}], mh = 0;`; // UXTW
  else if (option === 6) ext = `let ml = xl[${m}], mh = ml >> 31;`; // SXTW
  else ext = `let ml = xl[${m}], mh = xh[${m}];`; // LSL (UXTX), SXTX
  if (sh !== 0) ext += ` mh = (mh << ${sh}) | (ml >>> ${32 - sh}); ml <<= ${sh};`;
  return `{ ${ext} const s = (xl[${n}] >>> 0) + (ml >>> 0); const al = s >>> 0, ah = (xh[${n}] + mh + (s > 0xffffffff ? 1 : 0)) | 0; ${accessSource(a, f.rt, slow)} }`;
};

// Advanced SIMD load/store single structure: LD1-LD4 / ST1-ST4 of one lane ({Vt.S}[i]...) and the replicating
// LD1R-LD4R, no offset and post-index (immediate = the transfer size, or a register). The multiple-structure
// forms are in load-store-simd.ts.
//
// Loads read every element first and then write the registers, so a fault leaves the registers and the base
// untouched; a lane load keeps the rest of its register (both halves, whatever Q is); LDnR writes the whole
// register (zeroing the top half when Q = 0). Register numbers wrap modulo 32.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { addSigned, ea } from "../address.js";
import { baseName, gprName } from "./load-store-common.js";
import { postIndexed } from "./load-store-simd.js";
import { bytesOf, lanesOf, wordsOf } from "./simd-int-lanes.js";

interface Layout {
  selem: number;
  /** log2 of the element size in bytes. */
  scale: number;
  index: number;
  replicate: boolean;
}

export function singleLayout(f: Fields): Layout | undefined {
  const selem = (((f.opcode & 1) << 1) | f.r) + 1;
  let scale = f.opcode >> 1;
  let index = 0;
  let replicate = false;
  switch (scale) {
    case 3:
      if (f.l === 0 || f.s === 1) return undefined;
      scale = f.size;
      replicate = true;
      break;
    case 0:
      index = (f.q << 3) | (f.s << 2) | f.size;
      break;
    case 1:
      if (f.size & 1) return undefined;
      index = (f.q << 2) | (f.s << 1) | (f.size >> 1);
      break;
    default:
      if (f.size & 2) return undefined;
      if ((f.size & 1) === 0) index = (f.q << 1) | f.s;
      else {
        if (f.s) return undefined;
        index = f.q;
        scale = 3;
      }
  }
  return { selem, scale, index, replicate };
}

const loLoaded = new Float64Array(4);
const hiLoaded = new Float64Array(4);

function readElem(c: Cpu, lo: number, hi: number, scale: number, k: number): void {
  switch (scale) {
    case 0:
      loLoaded[k] = c.read8(lo, hi);
      break;
    case 1:
      loLoaded[k] = c.read16(lo, hi);
      break;
    case 2:
      loLoaded[k] = c.read32(lo, hi) >>> 0;
      break;
    default:
      loLoaded[k] = c.read64(lo, hi) >>> 0;
      hiLoaded[k] = c.hi >>> 0;
  }
}

function transfer(f: Fields): (c: Cpu, lo: number, hi: number) => void {
  const { selem, scale, index, replicate } = singleLayout(f)!;
  const load = f.l === 1;
  const t = f.rt;
  const ebytes = 1 << scale;
  const q = f.q;
  return (c, lo, hi) => {
    c.checkFpEnabled();
    if (load) {
      let l = lo;
      let h = hi;
      for (let k = 0; k < selem; k++) {
        readElem(c, l, h, scale, k);
        addSigned(l, h, ebytes);
        l = ea.lo;
        h = ea.hi;
      }
      const v = c.vregs;
      for (let k = 0; k < selem; k++) {
        const r = (t + k) & 31;
        if (scale === 3) {
          const W = wordsOf(v);
          if (replicate) {
            W[r * 4] = W[r * 4 + 2] = loLoaded[k];
            W[r * 4 + 1] = W[r * 4 + 3] = hiLoaded[k];
            if (!q) W[r * 4 + 2] = W[r * 4 + 3] = 0;
          } else {
            W[r * 4 + 2 * index] = loLoaded[k];
            W[r * 4 + 2 * index + 1] = hiLoaded[k];
          }
        } else {
          const A = lanesOf(v, scale);
          const per = 16 >> scale;
          if (replicate) {
            const lanes = (q ? 16 : 8) >> scale;
            for (let i = 0; i < per; i++) A[r * per + i] = i < lanes ? loLoaded[k] : 0;
          } else A[r * per + index] = loLoaded[k];
        }
      }
      return;
    }
    const B = bytesOf(c.vregs);
    let l = lo;
    let h = hi;
    for (let k = 0; k < selem; k++) {
      const r = (t + k) & 31;
      const o = r * 16 + index * ebytes;
      switch (scale) {
        case 0:
          c.write8(l, h, B[o]);
          break;
        case 1:
          c.write16(l, h, B[o] | (B[o + 1] << 8));
          break;
        case 2:
          c.write32(l, h, c.vregs[(o >> 2)]);
          break;
        default:
          c.write64(l, h, c.vregs[o >> 2], c.vregs[(o >> 2) + 1]);
      }
      addSigned(l, h, ebytes);
      l = ea.lo;
      h = ea.hi;
    }
  };
}

const ARR = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];
const ELEM = ["b", "h", "s", "d"];

function listText(f: Fields): string {
  const { selem, scale, index, replicate } = singleLayout(f)!;
  const regs = Array.from({ length: selem }, (_, k) => `v${(f.rt + k) & 31}.${replicate ? ARR[(scale << 1) | f.q] : ELEM[scale]}`);
  const list = selem > 2 && f.rt + selem - 1 <= 31 ? `{${regs[0]}-${regs[selem - 1]}}` : `{${regs.join(", ")}}`;
  return `${f.l ? "ld" : "st"}${selem}${replicate ? "r" : ""}\t${list}${replicate ? "" : `[${index}]`}`;
}

const valid = (f: Fields) => singleLayout(f) !== undefined;

export const LOAD_STORE_SIMD_SINGLE: InsnSpec[] = [
  {
    name: "LDST_single",
    pattern: "0 q:1 0011010 l:1 r:1 00000 opcode:3 s:1 size:2 rn:5 rt:5",
    guard: valid,
    build: (f) => {
      const run = transfer(f);
      const n = f.rn;
      return (c) => run(c, c.xlo[n] >>> 0, c.xhi[n]);
    },
    disasm: (f) => `${listText(f)}, [${baseName(f.rn)}]`,
  },
  {
    name: "LDST_single_post",
    pattern: "0 q:1 0011011 l:1 r:1 rm:5 opcode:3 s:1 size:2 rn:5 rt:5",
    guard: valid,
    build: (f) => {
      const run = transfer(f);
      const n = f.rn;
      const m = f.rm;
      const { selem, scale } = singleLayout(f)!;
      return postIndexed(run, n, m, selem << scale);
    },
    disasm: (f) => {
      const { selem, scale } = singleLayout(f)!;
      return `${listText(f)}, [${baseName(f.rn)}], ${f.rm === 31 ? `#${selem << scale}` : gprName("x", f.rm)}`;
    },
  },
];

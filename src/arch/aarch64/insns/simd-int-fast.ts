// Fast paths for the AdvSIMD integer forms glibc's string functions run in their inner loops (CMEQ, CMTST,
// ADD, SUB on bytes/halfwords/words, UMAXP/UMINP and UMAXV/UMINV on bytes, SHRN from halfwords). The generic
// executors call one element function per lane through a shared (megamorphic) call site; these are separate
// function literals working on whole 32-bit words (SWAR) or typed-array lanes directly. Same results as the
// generic code (the oracle tests run both: the encodings they draw include these).

import type { Exec } from "../decoder.js";
import { bytesOf, clearAbove, lanesOf } from "./simd-int-lanes.js";

const H8 = 0x80808080 | 0;
const L8 = 0x7f7f7f7f;
const H16 = 0x80008000 | 0;
const L16 = 0x7fff7fff;

/** 0xff (0xffff) in each byte (halfword) of x that is zero. */
const zeroBytes = (x: number) => ((((((x & L8) + L8) | x) & H8) ^ H8) >>> 7) * 0xff;
const zeroHalves = (x: number) => ((((((x & L16) + L16) | x) & H16) ^ H16) >>> 15) * 0xffff;

type WordOp = "eq" | "tst" | "add" | "sub" | "eq0";

function wordKernel(op: WordOp, size: number, words: number, rd: number, rn: number, rm: number): Exec {
  const d = rd << 2;
  const n = rn << 2;
  const m = rm << 2;
  const full = words === 4;
  switch (op) {
    case "eq0":
      if (size === 0)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = zeroBytes(v[n]);
          const r1 = zeroBytes(v[n + 1]);
          const r2 = full ? zeroBytes(v[n + 2]) : 0;
          const r3 = full ? zeroBytes(v[n + 3]) : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      break;
    case "eq":
      if (size === 0)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = zeroBytes(v[n] ^ v[m]);
          const r1 = zeroBytes(v[n + 1] ^ v[m + 1]);
          const r2 = full ? zeroBytes(v[n + 2] ^ v[m + 2]) : 0;
          const r3 = full ? zeroBytes(v[n + 3] ^ v[m + 3]) : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      if (size === 1)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = zeroHalves(v[n] ^ v[m]);
          const r1 = zeroHalves(v[n + 1] ^ v[m + 1]);
          const r2 = full ? zeroHalves(v[n + 2] ^ v[m + 2]) : 0;
          const r3 = full ? zeroHalves(v[n + 3] ^ v[m + 3]) : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      break;
    case "tst":
      if (size === 0)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = ~zeroBytes(v[n] & v[m]);
          const r1 = ~zeroBytes(v[n + 1] & v[m + 1]);
          const r2 = full ? ~zeroBytes(v[n + 2] & v[m + 2]) : 0;
          const r3 = full ? ~zeroBytes(v[n + 3] & v[m + 3]) : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      break;
    case "add": {
      const hi = size === 0 ? H8 : H16;
      const lo = size === 0 ? L8 : L16;
      if (size === 2)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = (v[n] + v[m]) | 0;
          const r1 = (v[n + 1] + v[m + 1]) | 0;
          const r2 = full ? (v[n + 2] + v[m + 2]) | 0 : 0;
          const r3 = full ? (v[n + 3] + v[m + 3]) | 0 : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      const add = (a: number, b: number) => ((a & lo) + (b & lo)) ^ ((a ^ b) & hi);
      return (c) => {
        c.checkFpEnabled();
        const v = c.vregs;
        const r0 = add(v[n], v[m]);
        const r1 = add(v[n + 1], v[m + 1]);
        const r2 = full ? add(v[n + 2], v[m + 2]) : 0;
        const r3 = full ? add(v[n + 3], v[m + 3]) : 0;
        v[d] = r0;
        v[d + 1] = r1;
        v[d + 2] = r2;
        v[d + 3] = r3;
      };
    }
    case "sub": {
      const hi = size === 0 ? H8 : H16;
      const lo = size === 0 ? L8 : L16;
      if (size === 2)
        return (c) => {
          c.checkFpEnabled();
          const v = c.vregs;
          const r0 = (v[n] - v[m]) | 0;
          const r1 = (v[n + 1] - v[m + 1]) | 0;
          const r2 = full ? (v[n + 2] - v[m + 2]) | 0 : 0;
          const r3 = full ? (v[n + 3] - v[m + 3]) | 0 : 0;
          v[d] = r0;
          v[d + 1] = r1;
          v[d + 2] = r2;
          v[d + 3] = r3;
        };
      const sub = (a: number, b: number) => ((a | hi) - (b & lo)) ^ ((a ^ ~b) & hi);
      return (c) => {
        c.checkFpEnabled();
        const v = c.vregs;
        const r0 = sub(v[n], v[m]);
        const r1 = sub(v[n + 1], v[m + 1]);
        const r2 = full ? sub(v[n + 2], v[m + 2]) : 0;
        const r3 = full ? sub(v[n + 3], v[m + 3]) : 0;
        v[d] = r0;
        v[d + 1] = r1;
        v[d + 2] = r2;
        v[d + 3] = r3;
      };
    }
  }
  return undefined as unknown as Exec;
}

/** A fast executor for a vector three-same form, or undefined. */
export function fastThreeSame(u: number, opcode: number, size: number, q: number, rd: number, rn: number, rm: number): Exec | undefined {
  const words = q ? 4 : 2;
  const key = (u << 5) | opcode;
  if (key === 0b110001 && size <= 1) return wordKernel("eq", size, words, rd, rn, rm); // CMEQ
  if (key === 0b010001 && size === 0) return wordKernel("tst", size, words, rd, rn, rm); // CMTST
  if (key === 0b010000 && size <= 2) return wordKernel("add", size, words, rd, rn, rm); // ADD
  if (key === 0b110000 && size <= 2) return wordKernel("sub", size, words, rd, rn, rm); // SUB
  if (size === 0 && (key === 0b110100 || key === 0b110101)) return bytePairwise(key === 0b110100, q, rd, rn, rm); // UMAXP, UMINP
  return undefined;
}

/** CMEQ #0 on bytes, or undefined. */
export function fastMisc(u: number, opcode: number, size: number, q: number, rd: number, rn: number): Exec | undefined {
  if (u === 0 && opcode === 0b01001 && size === 0) return wordKernel("eq0", 0, q ? 4 : 2, rd, rn, rn);
  return undefined;
}

const pairScratch = new Uint8Array(16);

function bytePairwise(max: boolean, q: number, rd: number, rn: number, rm: number): Exec {
  const lanes = q ? 16 : 8;
  const half = lanes >> 1;
  const d0 = rd << 4;
  const n0 = rn << 4;
  const m0 = rm << 4;
  if (max)
    return (c) => {
      c.checkFpEnabled();
      const B = bytesOf(c.vregs);
      for (let i = 0; i < half; i++) {
        const a = B[n0 + 2 * i];
        const b = B[n0 + 2 * i + 1];
        const x = B[m0 + 2 * i];
        const y = B[m0 + 2 * i + 1];
        pairScratch[i] = a > b ? a : b;
        pairScratch[half + i] = x > y ? x : y;
      }
      for (let i = 0; i < lanes; i++) B[d0 + i] = pairScratch[i];
      if (!q) clearAbove(c.vregs, rd, 8);
    };
  return (c) => {
    c.checkFpEnabled();
    const B = bytesOf(c.vregs);
    for (let i = 0; i < half; i++) {
      const a = B[n0 + 2 * i];
      const b = B[n0 + 2 * i + 1];
      const x = B[m0 + 2 * i];
      const y = B[m0 + 2 * i + 1];
      pairScratch[i] = a < b ? a : b;
      pairScratch[half + i] = x < y ? x : y;
    }
    for (let i = 0; i < lanes; i++) B[d0 + i] = pairScratch[i];
    if (!q) clearAbove(c.vregs, rd, 8);
  };
}

/** UMAXV/UMINV on bytes, or undefined. */
export function fastAcross(u: number, opcode: number, size: number, q: number, rd: number, rn: number): Exec | undefined {
  if (u !== 1 || size !== 0 || (opcode !== 0b01010 && opcode !== 0b11010)) return undefined;
  const lanes = q ? 16 : 8;
  const n0 = rn << 4;
  const d = rd << 2;
  if (opcode === 0b01010)
    return (c) => {
      c.checkFpEnabled();
      const B = bytesOf(c.vregs);
      let r = 0;
      for (let i = 0; i < lanes; i++) {
        const x = B[n0 + i];
        if (x > r) r = x;
      }
      const v = c.vregs;
      v[d] = r;
      v[d + 1] = 0;
      v[d + 2] = 0;
      v[d + 3] = 0;
    };
  return (c) => {
    c.checkFpEnabled();
    const B = bytesOf(c.vregs);
    let r = 255;
    for (let i = 0; i < lanes; i++) {
      const x = B[n0 + i];
      if (x < r) r = x;
    }
    const v = c.vregs;
    v[d] = r;
    v[d + 1] = 0;
    v[d + 2] = 0;
    v[d + 3] = 0;
  };
}

const narrowScratch = new Uint8Array(8);

/** SHRN/SHRN2 Vd.8B/16B, Vn.8H, #shift. */
export function fastShrnHalves(shift: number, q: number, rd: number, rn: number): Exec {
  const d0 = (rd << 4) + (q ? 8 : 0);
  const n0 = rn << 3;
  return (c) => {
    c.checkFpEnabled();
    const Hv = lanesOf(c.vregs, 1);
    for (let i = 0; i < 8; i++) narrowScratch[i] = Hv[n0 + i] >>> shift;
    const B = bytesOf(c.vregs);
    for (let i = 0; i < 8; i++) B[d0 + i] = narrowScratch[i];
    if (!q) clearAbove(c.vregs, rd, 8);
  };
}

// A64 Advanced SIMD load/store multiple structures: LD1-LD4 / ST1-ST4, no offset and post-index (immediate =
// the transfer size, or a register). The single-structure forms (LD1 {v.s}[1], LD1R, ...) are in simd-ldst-single.ts.
//
// The whole transfer (at most 64 bytes) goes through a module scratch buffer: loads read all memory first and
// then write the registers, so a fault leaves every register and the base untouched; stores gather the
// registers first. Memory is accessed in 8-byte chunks in ascending address order; element boundaries do not
// matter to a little-endian guest with no alignment checking. Register numbers wrap modulo 32.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { addSigned, ea } from "../address.js";
import { baseName, gprName } from "./load-store-common.js";

// Typed-array views share the host's byte order; guest vectors are little-endian, so insist on that host.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("Rewind needs a little-endian host");

/** Memory image of the transfer (up to 4 registers of 16 bytes). */
const memWords = new Int32Array(16);
const memBytes = new Uint8Array(memWords.buffer);
/** The registers' bytes, in register order (structures de-interleaved). */
const regWords = new Int32Array(16);
const regBytes = new Uint8Array(regWords.buffer);

/** opcode (bits 15:12) → [registers, elements per structure]; absent = unallocated. */
const LAYOUT: Record<number, [number, number]> = {
  0b0000: [4, 4], // LD4/ST4
  0b0010: [4, 1], // LD1/ST1, 4 registers
  0b0100: [3, 3], // LD3/ST3
  0b0110: [3, 1], // LD1/ST1, 3 registers
  0b0111: [1, 1], // LD1/ST1, 1 register
  0b1000: [2, 2], // LD2/ST2
  0b1010: [2, 1], // LD1/ST1, 2 registers
};

function readChunks(c: Cpu, lo: number, hi: number, chunks: number): void {
  let l = lo;
  let h = hi;
  for (let k = 0; k < chunks; k++) {
    memWords[2 * k] = c.read64(l, h);
    memWords[2 * k + 1] = c.hi;
    const s = l + 8;
    l = s >>> 0;
    if (s > 0xffffffff) h++;
  }
}

function writeChunks(c: Cpu, lo: number, hi: number, chunks: number): void {
  let l = lo;
  let h = hi;
  for (let k = 0; k < chunks; k++) {
    c.write64(l, h, memWords[2 * k], memWords[2 * k + 1]);
    const s = l + 8;
    l = s >>> 0;
    if (s > 0xffffffff) h++;
  }
}

/** Builds the transfer for one encoding; returns a function of the base address. */
function transfer(load: boolean, q: number, size: number, opcode: number, t: number): (c: Cpu, lo: number, hi: number) => void {
  const [regs, selem] = LAYOUT[opcode];
  const regBytesLen = q ? 16 : 8;
  const wordsPerReg = regBytesLen >> 2;
  const chunks = (regs * regBytesLen) >> 3;
  const ebytes = 1 << size;
  const elements = regBytesLen / ebytes;
  const interleaved = selem > 1;

  // Scratch index of byte b of element e of register r (structure order in memory).
  const deinterleave = () => {
    for (let e = 0; e < elements; e++)
      for (let s = 0; s < selem; s++)
        for (let b = 0; b < ebytes; b++) regBytes[s * 16 + e * ebytes + b] = memBytes[(e * selem + s) * ebytes + b];
  };
  const interleave = () => {
    for (let e = 0; e < elements; e++)
      for (let s = 0; s < selem; s++)
        for (let b = 0; b < ebytes; b++) memBytes[(e * selem + s) * ebytes + b] = regBytes[s * 16 + e * ebytes + b];
  };

  if (load)
    return (c, lo, hi) => {
      c.checkFpEnabled();
      readChunks(c, lo, hi, chunks);
      const v = c.vregs;
      if (interleaved) {
        deinterleave();
        for (let r = 0; r < regs; r++) {
          const d = ((t + r) & 31) << 2;
          for (let w = 0; w < 4; w++) v[d + w] = w < wordsPerReg ? regWords[r * 4 + w] : 0;
        }
      } else {
        for (let r = 0; r < regs; r++) {
          const d = ((t + r) & 31) << 2;
          for (let w = 0; w < 4; w++) v[d + w] = w < wordsPerReg ? memWords[r * wordsPerReg + w] : 0;
        }
      }
    };
  return (c, lo, hi) => {
    c.checkFpEnabled();
    const v = c.vregs;
    if (interleaved) {
      for (let r = 0; r < regs; r++) {
        const d = ((t + r) & 31) << 2;
        for (let w = 0; w < 4; w++) regWords[r * 4 + w] = v[d + w];
      }
      interleave();
    } else {
      for (let r = 0; r < regs; r++) {
        const d = ((t + r) & 31) << 2;
        for (let w = 0; w < wordsPerReg; w++) memWords[r * wordsPerReg + w] = v[d + w];
      }
    }
    writeChunks(c, lo, hi, chunks);
  };
}

const valid = (f: Fields) => {
  const layout = LAYOUT[f.opcode];
  // The .1d arrangement exists only for LD1/ST1.
  return layout !== undefined && !(f.size === 3 && f.q === 0 && layout[1] > 1);
};

const ARRANGEMENTS = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"];

function listText(f: Fields): string {
  const [regs, selem] = LAYOUT[f.opcode];
  const arr = ARRANGEMENTS[(f.size << 1) | f.q];
  const names = Array.from({ length: regs }, (_, i) => `v${(f.rt + i) & 31}.${arr}`);
  const name = `${f.l ? "ld" : "st"}${selem}`;
  // objdump writes three or four ascending registers as a range.
  const list = regs > 2 && f.rt + regs - 1 <= 31 ? `${names[0]}-${names[regs - 1]}` : names.join(", ");
  return `${name}\t{${list}}`;
}

/**
 * A structure transfer at [Xn] followed by the post-index write-back of the base: Xn += the transfer size
 * (`total`) when m is 31, else Xn += Xm. The transfer runs first, so a fault leaves the base as it was.
 */
export function postIndexed(run: (c: Cpu, lo: number, hi: number) => void, n: number, m: number, total: number): Exec {
  if (m === 31)
    return (c) => {
      const lo = c.xlo[n];
      const hi = c.xhi[n];
      run(c, lo >>> 0, hi);
      addSigned(lo, hi, total);
      c.xlo[n] = ea.lo;
      c.xhi[n] = ea.hi;
    };
  return (c) => {
    const lo = c.xlo[n];
    const hi = c.xhi[n];
    run(c, lo >>> 0, hi);
    const s = (lo >>> 0) + (c.xlo[m] >>> 0);
    c.xlo[n] = s;
    c.xhi[n] = hi + c.xhi[m] + (s > 0xffffffff ? 1 : 0);
  };
}

export const LOAD_STORE_MULTIPLE: InsnSpec[] = [
  {
    name: "LDST_multiple",
    pattern: "0 q:1 0011000 l:1 000000 opcode:4 size:2 rn:5 rt:5",
    guard: valid,
    build: (f) => {
      const run = transfer(f.l === 1, f.q, f.size, f.opcode, f.rt);
      const n = f.rn;
      return (c) => run(c, c.xlo[n] >>> 0, c.xhi[n]);
    },
    disasm: (f) => `${listText(f)}, [${baseName(f.rn)}]`,
  },
  {
    name: "LDST_multiple_post",
    pattern: "0 q:1 0011001 l:1 0 rm:5 opcode:4 size:2 rn:5 rt:5",
    guard: valid,
    build: (f) => {
      const run = transfer(f.l === 1, f.q, f.size, f.opcode, f.rt);
      const n = f.rn;
      const m = f.rm;
      return postIndexed(run, n, m, LAYOUT[f.opcode][0] * (f.q ? 16 : 8));
    },
    disasm: (f) => {
      const total = LAYOUT[f.opcode][0] * (f.q ? 16 : 8);
      return `${listText(f)}, [${baseName(f.rn)}], ${f.rm === 31 ? `#${total}` : gprName("x", f.rm)}`;
    },
  },
];

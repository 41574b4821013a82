// Advanced SIMD permutes: UZP1/UZP2, TRN1/TRN2, ZIP1/ZIP2, EXT, and the table lookups TBL/TBX (1-4 table
// registers). The permutes and EXT are byte maps computed once in build: destination byte j comes from byte
// map[j] of the 32-byte concatenation Vn (0-15) : Vm (16-31).

import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { bytesOf, clearAbove, arr } from "./simd-int-lanes.js";

const scratch = new Uint8Array(16);

function byteMap(map: Uint8Array, rd: number, rn: number, rm: number): Exec {
  const bytes = map.length;
  const d0 = rd << 4;
  const n0 = rn << 4;
  const m0 = rm << 4;
  const src = Int32Array.from(map, (k) => (k < 16 ? n0 + k : m0 + k - 16));
  return (c) => {
    c.checkFpEnabled();
    const B = bytesOf(c.vregs);
    for (let j = 0; j < bytes; j++) scratch[j] = B[src[j]];
    for (let j = 0; j < bytes; j++) B[d0 + j] = scratch[j];
    clearAbove(c.vregs, rd, bytes);
  };
}

const PERM_NAMES: Record<number, string> = { 1: "uzp1", 2: "trn1", 3: "zip1", 5: "uzp2", 6: "trn2", 7: "zip2" };

/** The byte map of a permute: element e of the result from (register 0 = Vn / 1 = Vm, element). */
function permuteMap(opcode: number, size: number, q: number): Uint8Array {
  const eb = 1 << size;
  const lanes = (q ? 16 : 8) >> size;
  const part = opcode >> 2; // 0: the "1" forms, 1: the "2" forms
  const map = new Uint8Array(lanes * eb);
  for (let e = 0; e < lanes; e++) {
    let reg: number;
    let idx: number;
    switch (opcode & 3) {
      case 1: {
        // UZP: even (odd) elements of Vn:Vm
        const k = 2 * e + part;
        reg = k < lanes ? 0 : 1;
        idx = k < lanes ? k : k - lanes;
        break;
      }
      case 2: // TRN
        reg = e & 1;
        idx = (e & ~1) + part;
        break;
      default: // ZIP: interleave the low (high) halves
        reg = e & 1;
        idx = (e >> 1) + part * (lanes >> 1);
    }
    for (let b = 0; b < eb; b++) map[e * eb + b] = reg * 16 + idx * eb + b;
  }
  return map;
}

function extMap(q: number, imm4: number): Uint8Array {
  const bytes = q ? 16 : 8;
  const map = new Uint8Array(bytes);
  for (let j = 0; j < bytes; j++) {
    const k = j + imm4;
    map[j] = k < bytes ? k : 16 + k - bytes;
  }
  return map;
}

function buildTable(f: Fields): Exec {
  const bytes = f.q ? 16 : 8;
  const regs = f.len + 1;
  const limit = regs * 16;
  const tbx = f.op === 1;
  const d0 = f.rd << 4;
  const m0 = f.rm << 4;
  const base = Int32Array.from({ length: 4 }, (_, k) => ((f.rn + k) & 31) << 4);
  const rd = f.rd;
  return (c) => {
    c.checkFpEnabled();
    const B = bytesOf(c.vregs);
    for (let j = 0; j < bytes; j++) {
      const idx = B[m0 + j];
      scratch[j] = idx < limit ? B[base[idx >> 4] + (idx & 15)] : tbx ? B[d0 + j] : 0;
    }
    for (let j = 0; j < bytes; j++) B[d0 + j] = scratch[j];
    clearAbove(c.vregs, rd, bytes);
  };
}

export const SIMD_PERMUTE: InsnSpec[] = [
  {
    name: "SIMD_permute",
    pattern: "0 q:1 001110 size:2 0 rm:5 0 opcode:3 10 rn:5 rd:5",
    guard: (f) => PERM_NAMES[f.opcode] !== undefined && !(f.size === 3 && f.q === 0),
    build: (f) => byteMap(permuteMap(f.opcode, f.size, f.q), f.rd, f.rn, f.rm),
    disasm: (f) => {
      const a = arr(f.size, f.q);
      return `${PERM_NAMES[f.opcode]}\tv${f.rd}.${a}, v${f.rn}.${a}, v${f.rm}.${a}`;
    },
  },
  {
    name: "EXT",
    pattern: "0 q:1 101110 00 0 rm:5 0 imm4:4 0 rn:5 rd:5",
    guard: (f) => f.q === 1 || f.imm4 < 8,
    build: (f) => byteMap(extMap(f.q, f.imm4), f.rd, f.rn, f.rm),
    disasm: (f) => {
      const a = f.q ? "16b" : "8b";
      return `ext\tv${f.rd}.${a}, v${f.rn}.${a}, v${f.rm}.${a}, #${f.imm4}`;
    },
  },
  {
    name: "TBL_TBX",
    pattern: "0 q:1 001110 00 0 rm:5 0 len:2 op:1 00 rn:5 rd:5",
    build: buildTable,
    disasm: (f) => {
      const a = f.q ? "16b" : "8b";
      const list = Array.from({ length: f.len + 1 }, (_, k) => `v${(f.rn + k) & 31}.16b`);
      // objdump writes three or four ascending registers as a range.
      const text = f.len >= 2 && f.rn + f.len <= 31 ? `${list[0]}-${list[f.len]}` : list.join(", ");
      return `${f.op ? "tbx" : "tbl"}\tv${f.rd}.${a}, {${text}}, v${f.rm}.${a}`;
    },
  },
];

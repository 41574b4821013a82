// Effective addresses (Intel SDM Vol. 1 §3.7.5, Vol. 2 §2.1.5): the ModRM/SIB forms of 16-bit addressing
// (BX+SI, BP+DI, ...), of 32- and 64-bit addressing (base + index * scale + displacement, RIP-relative in 64-bit
// mode), wrapped to the address size, plus the segment's base (SS by default for BP/SP-based forms, DS otherwise,
// or the override). Built once per decoded instruction into a closure that leaves the linear address in
// state.alo/ahi.

import type { Decoded } from "../decode/decoder.js";
import { Seg, type X86State } from "../cpu-state.js";

export type AddressFn = (s: X86State) => void;

/** 16-bit forms by ModRM.rm: base and index registers (-1: none). */
const FORMS16: readonly [number, number][] = [
  [3, 6], // BX + SI
  [3, 7], // BX + DI
  [5, 6], // BP + SI
  [5, 7], // BP + DI
  [6, -1], // SI
  [7, -1], // DI
  [5, -1], // BP (disp16 alone with mod 0)
  [3, -1], // BX
];

/**
 * The address of the instruction's memory operand (`withBase` false: the offset alone, as LEA wants it). `nextLo/nextHi`-relative forms (RIP-relative) take the
 * instruction's end address, which the closure reads from state.ripLo/ripHi plus the instruction's length (RIP is
 * advanced after execution), so pass the length.
 */
export function buildAddress(d: Decoded, mode: 16 | 32 | 64, withBase = true): AddressFn {
  const m = d.modrm!;
  const override = d.prefixes.segment;
  const disp = d.disp;
  if (d.addrsize === 16) {
    const rm = m.rm & 7;
    const [base, index] = m.mod === 0 && rm === 6 ? [-1, -1] : FORMS16[rm];
    const seg = override >= 0 ? override : base === 5 ? Seg.SS : Seg.DS;
    return (s) => {
      let ea = disp;
      if (base >= 0) ea += s.lo[base];
      if (index >= 0) ea += s.lo[index];
      const sum = (ea & 0xffff) + (withBase ? s.segBaseLo[seg] >>> 0 : 0);
      s.alo = sum >>> 0;
      s.ahi = 0;
    };
  }
  let base = -1;
  let index = -1;
  let scale = 0;
  if (d.sib) {
    base = (d.sib.base & 7) === 5 && m.mod === 0 ? -1 : d.sib.base;
    index = d.sib.index === 4 ? -1 : d.sib.index;
    scale = d.sib.scale;
  } else if (!(m.mod === 0 && (m.rm & 7) === 5)) base = m.rm;
  const rip = d.ripRelative;
  const length = d.length;
  // In 64-bit mode only FS and GS have bases; elsewhere SS for rBP/rSP-based forms, DS otherwise.
  const seg = override >= 0 ? override : (base & 7) === 4 || (base & 7) === 5 ? Seg.SS : Seg.DS;
  const useBase = withBase && (mode !== 64 || seg === Seg.FS || seg === Seg.GS);
  if (d.addrsize === 32) {
    return (s) => {
      let ea = rip ? s.ripLo + length + disp : disp;
      if (base >= 0) ea += s.lo[base];
      if (index >= 0) ea += s.lo[index] << scale;
      ea >>>= 0;
      if (mode === 64) {
        // 32-bit addressing in 64-bit mode: the address is zero-extended, then the FS/GS base added.
        const lo = ea + (useBase ? s.segBaseLo[seg] >>> 0 : 0);
        s.alo = lo >>> 0;
        s.ahi = useBase ? (s.segBaseHi[seg] + (lo > 0xffffffff ? 1 : 0)) >>> 0 : 0;
      } else {
        s.alo = (ea + (useBase ? s.segBaseLo[seg] >>> 0 : 0)) >>> 0;
        s.ahi = 0;
      }
    };
  }
  // 64-bit addressing.
  const dispHi = disp < 0 ? -1 : 0;
  return (s) => {
    let lo: number;
    let hi: number;
    if (rip) {
      lo = (s.ripLo >>> 0) + length;
      hi = (s.ripHi + (lo > 0xffffffff ? 1 : 0)) | 0;
      lo >>>= 0;
    } else {
      lo = 0;
      hi = 0;
    }
    lo += disp >>> 0;
    hi += dispHi + (lo > 0xffffffff ? 1 : 0);
    lo >>>= 0;
    if (base >= 0) {
      lo += s.lo[base] >>> 0;
      hi += s.hi[base] + (lo > 0xffffffff ? 1 : 0);
      lo >>>= 0;
    }
    if (index >= 0) {
      let il = s.lo[index] >>> 0;
      let ih = s.hi[index];
      if (scale) {
        ih = (ih << scale) | (il >>> (32 - scale));
        il = (il << scale) >>> 0;
      }
      lo += il;
      hi += ih + (lo > 0xffffffff ? 1 : 0);
      lo >>>= 0;
    }
    if (useBase) {
      lo += s.segBaseLo[seg] >>> 0;
      hi += s.segBaseHi[seg] + (lo > 0xffffffff ? 1 : 0);
      lo >>>= 0;
    }
    s.alo = lo;
    s.ahi = hi >>> 0;
  };
}

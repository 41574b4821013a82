// AArch64 registers in GDB's numbering (QEMU's: x0..x30 = 0..30, sp = 31, pc = 32, cpsr = 33, then the fpu
// feature: v0..v31 = 34..65, fpsr = 66, fpcr = 67), read and written as little-endian bytes.

import type { RegisterInfo } from "../../session/api.js";
import type { Cpu } from "./cpu.js";
import type { RegisterFile } from "./debug.js";

const CORE = "org.gnu.gdb.aarch64.core";
const FPU = "org.gnu.gdb.aarch64.fpu";

export const AARCH64_REGISTERS: readonly RegisterInfo[] = [
  ...Array.from({ length: 31 }, (_, i) => ({ name: `x${i}`, bitsize: 64, regnum: i, type: "int", feature: CORE })),
  { name: "sp", bitsize: 64, regnum: 31, type: "data_ptr", feature: CORE },
  { name: "pc", bitsize: 64, regnum: 32, type: "code_ptr", feature: CORE },
  { name: "cpsr", bitsize: 32, regnum: 33, type: "cpsr_flags", feature: CORE },
  ...Array.from({ length: 32 }, (_, i) => ({ name: `v${i}`, bitsize: 128, regnum: 34 + i, type: "aarch64v", group: "vector", feature: FPU })),
  { name: "fpsr", bitsize: 32, regnum: 66, type: "fpsr_flags", group: "float", feature: FPU },
  { name: "fpcr", bitsize: 32, regnum: 67, type: "fpcr_flags", group: "float", feature: FPU },
];

function le32(words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}

function words(value: Uint8Array, count: number): number[] | undefined {
  if (value.length !== count * 4) return undefined;
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return Array.from({ length: count }, (_, i) => dv.getUint32(i * 4, true));
}

export const AARCH64_REGISTER_FILE: RegisterFile = {
  registers: () => AARCH64_REGISTERS,

  read(c: Cpu, n: number): Uint8Array | undefined {
    if (n >= 0 && n <= 31) return le32([c.xlo[n], c.xhi[n]]);
    if (n === 32) return le32([c.pcLo, c.pcHi]);
    if (n === 33) return le32([c.pstate]);
    if (n >= 34 && n < 66) {
      const b = (n - 34) * 4;
      return le32([c.vregs[b], c.vregs[b + 1], c.vregs[b + 2], c.vregs[b + 3]]);
    }
    if (n === 66) return le32([c.fpsr]);
    if (n === 67) return le32([c.fpcr]);
    return undefined;
  },

  write(c: Cpu, n: number, value: Uint8Array): boolean {
    if (n >= 0 && n <= 32) {
      const w = words(value, 2);
      if (!w) return false;
      if (n === 32) {
        c.pcLo = w[0];
        c.pcHi = w[1];
      } else {
        c.xlo[n] = w[0] | 0;
        c.xhi[n] = w[1] | 0;
      }
      return true;
    }
    if (n === 33) {
      const w = words(value, 1);
      if (!w) return false;
      const m = w[0] & 0x1f;
      if (m !== 0 && m !== 4 && m !== 5) return false; // only EL0t, EL1t, EL1h exist on this CPU
      c.nzcv = w[0] >>> 28;
      c.daif = (w[0] >>> 6) & 0xf;
      c.setMode(m >>> 2, m & 1);
      return true;
    }
    if (n >= 34 && n < 66) {
      const w = words(value, 4);
      if (!w) return false;
      for (let i = 0; i < 4; i++) c.vregs[(n - 34) * 4 + i] = w[i] | 0;
      return true;
    }
    if (n === 66 || n === 67) {
      const w = words(value, 1);
      if (!w) return false;
      if (n === 66) c.fpsr = w[0];
      else c.fpcr = w[0];
      return true;
    }
    return false;
  },
};

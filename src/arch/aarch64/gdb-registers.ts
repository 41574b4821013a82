// The AArch64 registers as GDB sees them, in QEMU's numbering (the numbers GDB uses in `p`/`P` and the order of
// `g`): x0..x30 = 0..30, sp = 31, pc = 32, cpsr = 33 (32-bit), then the fpu feature: v0..v31 = 34..65 (128-bit),
// fpsr = 66, fpcr = 67. Names, sizes and types are those of GDB's aarch64-core.xml and aarch64-fpu.xml, which
// GDB checks by name when it builds its aarch64 architecture.
//
// Values are little-endian byte arrays (the target byte order on the wire). The session implementation calls
// readAarch64Register / writeAarch64Register; the GDB server never touches the CPU.

import type { RegisterInfo } from "../../session/api.js";
import type { Cpu } from "./cpu.js";

export const AARCH64_CORE_FEATURE = "org.gnu.gdb.aarch64.core";
export const AARCH64_FPU_FEATURE = "org.gnu.gdb.aarch64.fpu";

export const AARCH64_SP_REGNUM = 31;
export const AARCH64_PC_REGNUM = 32;
export const AARCH64_CPSR_REGNUM = 33;
export const AARCH64_V0_REGNUM = 34;
export const AARCH64_FPSR_REGNUM = 66;
export const AARCH64_FPCR_REGNUM = 67;
export const AARCH64_REGISTER_COUNT = 68;

function buildRegisterList(): RegisterInfo[] {
  const core = AARCH64_CORE_FEATURE;
  const fpu = AARCH64_FPU_FEATURE;
  const regs: RegisterInfo[] = [];
  // "int" is what GDB assumes for a <reg> without a type attribute (an integer of the register's size).
  for (let n = 0; n <= 30; n++) regs.push({ name: `x${n}`, bitsize: 64, regnum: n, type: "int", feature: core });
  regs.push({ name: "sp", bitsize: 64, regnum: AARCH64_SP_REGNUM, type: "data_ptr", feature: core });
  regs.push({ name: "pc", bitsize: 64, regnum: AARCH64_PC_REGNUM, type: "code_ptr", feature: core });
  regs.push({ name: "cpsr", bitsize: 32, regnum: AARCH64_CPSR_REGNUM, type: "cpsr_flags", feature: core });
  for (let n = 0; n < 32; n++) {
    regs.push({ name: `v${n}`, bitsize: 128, regnum: AARCH64_V0_REGNUM + n, type: "aarch64v", feature: fpu });
  }
  regs.push({ name: "fpsr", bitsize: 32, regnum: AARCH64_FPSR_REGNUM, type: "fpsr_flags", feature: fpu });
  regs.push({ name: "fpcr", bitsize: 32, regnum: AARCH64_FPCR_REGNUM, type: "fpcr_flags", feature: fpu });
  return regs;
}

/** Every register GDB is told about, by ascending regnum (contiguous from 0: the `g` packet layout). */
export const AARCH64_GDB_REGISTERS: readonly RegisterInfo[] = Object.freeze(buildRegisterList());

/** Byte size of a register, or undefined for a number GDB does not know. */
export function aarch64RegisterSize(regnum: number): number | undefined {
  const r = AARCH64_GDB_REGISTERS[regnum];
  return r ? r.bitsize / 8 : undefined;
}

/** A value GDB asked to write that the CPU cannot hold (e.g. a PSTATE with an exception level Rewind lacks). */
export class RegisterValueError extends Error {
  override name = "RegisterValueError";
}

function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

function get32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) | 0;
}

/** Little-endian bytes of register `regnum`, or undefined for an unknown number. */
export function readAarch64Register(cpu: Cpu, regnum: number): Uint8Array | undefined {
  if (!Number.isInteger(regnum) || regnum < 0 || regnum >= AARCH64_REGISTER_COUNT) return undefined;
  if (regnum <= AARCH64_SP_REGNUM) {
    // Slot 31 holds the current stack pointer, which is what GDB's "sp" means.
    const out = new Uint8Array(8);
    put32(out, 0, cpu.xlo[regnum]);
    put32(out, 4, cpu.xhi[regnum]);
    return out;
  }
  if (regnum === AARCH64_PC_REGNUM) {
    const out = new Uint8Array(8);
    put32(out, 0, cpu.pcLo);
    put32(out, 4, cpu.pcHi);
    return out;
  }
  if (regnum === AARCH64_CPSR_REGNUM) {
    const out = new Uint8Array(4);
    put32(out, 0, cpu.pstate);
    return out;
  }
  if (regnum < AARCH64_FPSR_REGNUM) {
    const base = (regnum - AARCH64_V0_REGNUM) * 4;
    const out = new Uint8Array(16);
    for (let w = 0; w < 4; w++) put32(out, w * 4, cpu.vregs[base + w]);
    return out;
  }
  const out = new Uint8Array(4);
  put32(out, 0, regnum === AARCH64_FPSR_REGNUM ? cpu.fpsr : cpu.fpcr);
  return out;
}

/**
 * Writes register `regnum` from little-endian bytes. Returns false for an unknown number or a value of the
 * wrong size (the caller turns that into its own error). Throws {@link RegisterValueError} for a CPSR the CPU
 * cannot be in: an exception level other than EL0/EL1, or AArch32 state (nRW).
 *
 * CPSR: N, Z, C, V, D, A, I, F, EL and SPSel are taken from the value (changing EL or SPSel banks the stack
 * pointer as an exception entry would); the other bits are not modelled and are ignored.
 */
export function writeAarch64Register(cpu: Cpu, regnum: number, value: Uint8Array): boolean {
  const size = aarch64RegisterSize(regnum);
  if (size === undefined || value.length !== size) return false;
  if (regnum <= AARCH64_SP_REGNUM) {
    cpu.xlo[regnum] = get32(value, 0);
    cpu.xhi[regnum] = get32(value, 4);
    return true;
  }
  if (regnum === AARCH64_PC_REGNUM) {
    cpu.pcLo = get32(value, 0) >>> 0;
    cpu.pcHi = get32(value, 4) >>> 0;
    return true;
  }
  if (regnum === AARCH64_CPSR_REGNUM) {
    const v = get32(value, 0) >>> 0;
    const el = (v >>> 2) & 3;
    if ((v >>> 4) & 1) throw new RegisterValueError("cpsr: AArch32 state (nRW = 1) is not supported");
    if (el > 1) throw new RegisterValueError(`cpsr: exception level EL${el} is not implemented (only EL0 and EL1)`);
    cpu.nzcv = v >>> 28;
    cpu.daif = (v >>> 6) & 0xf;
    cpu.setMode(el, v & 1);
    return true;
  }
  if (regnum < AARCH64_FPSR_REGNUM) {
    const base = (regnum - AARCH64_V0_REGNUM) * 4;
    for (let w = 0; w < 4; w++) cpu.vregs[base + w] = get32(value, w * 4);
    return true;
  }
  if (regnum === AARCH64_FPSR_REGNUM) cpu.fpsr = get32(value, 0) >>> 0;
  else cpu.fpcr = get32(value, 0) >>> 0;
  return true;
}

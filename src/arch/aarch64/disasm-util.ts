// Formatting shared by the A64 disassembly of the instruction tables, in the style of GNU objdump
// (`add x0, x1, #0x10`, `b.ne 0x40001020`) minus its comments and symbol names.

const MASK64 = (1n << 64n) - 1n;

export const COND_NAMES = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];
export const SHIFT_NAMES = ["lsl", "lsr", "asr", "ror"];
export const EXTEND_NAMES = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

/** General register name; register 31 is the stack pointer when `sp` is set, the zero register otherwise. */
export function reg(n: number, is64: boolean | number, sp = false): string {
  if (n === 31) return is64 ? (sp ? "sp" : "xzr") : sp ? "wsp" : "wzr";
  return (is64 ? "x" : "w") + n;
}

/** `#0x..` for a non-negative number or bigint. */
export function imm(v: number | bigint): string {
  return "#0x" + v.toString(16);
}

/** Unsigned 64-bit value of lo/hi halves as a bigint (disassembly only). */
export function u64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/**
 * A PC-relative target: the absolute address when the instruction's own address is known (`0x40001020`),
 * otherwise relative to it (`.+0x20`, `.-0x8`), which assemblers accept too.
 */
export function target(pc: bigint | undefined, offset: number | bigint): string {
  const off = BigInt(offset);
  if (pc === undefined) return off < 0n ? ".-0x" + (-off).toString(16) : ".+0x" + off.toString(16);
  return "0x" + ((pc + off) & MASK64).toString(16);
}

/** `mnemonic op1, op2, ...` (objdump puts a tab after the mnemonic; diagnostics read better with a space). */
export function insn(mnemonic: string, ...operands: string[]): string {
  return operands.length ? `${mnemonic} ${operands.join(", ")}` : mnemonic;
}

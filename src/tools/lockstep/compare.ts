/** Register comparison and divergence reports for the lockstep oracle. */
import { registerBits, snapshotToMap, type RegisterSnapshot } from "./target.js";

export type CompareMode = "full" | "pc-only";

export interface RegisterDiff {
  name: string;
  /** The reference's value (QEMU). */
  reference: bigint;
  /** The target's value (Rewind). */
  target: bigint;
}

/**
 * Names to skip: exact names ("x5", "cpsr", "CNTVCT_EL0") or a trailing `*` as a prefix pattern ("v*").
 */
export function makeIgnore(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith("*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/**
 * Compares two snapshots. Registers only one side provides are not compared (see {@link comparedNames}).
 * Returns the differing registers in x0..x30, sp, pc, cpsr, v.., fpsr, fpcr, sys order.
 */
export function compareSnapshots(
  reference: RegisterSnapshot,
  target: RegisterSnapshot,
  mode: CompareMode,
  ignore: (name: string) => boolean = () => false,
): RegisterDiff[] {
  if (mode === "pc-only") {
    return reference.pc === target.pc ? [] : [{ name: "pc", reference: reference.pc, target: target.pc }];
  }
  const diffs: RegisterDiff[] = [];
  const add = (name: string, rv: bigint, tv: bigint) => {
    if (!ignore(name)) diffs.push({ name, reference: rv, target: tv });
  };
  for (let i = 0; i < 31; i++) if (reference.x[i] !== target.x[i]) add(`x${i}`, reference.x[i], target.x[i]);
  if (reference.sp !== target.sp) add("sp", reference.sp, target.sp);
  if (reference.pc !== target.pc) add("pc", reference.pc, target.pc);
  if (reference.cpsr !== target.cpsr) add("cpsr", BigInt(reference.cpsr >>> 0), BigInt(target.cpsr >>> 0));
  if (reference.v && target.v) {
    for (let i = 0; i < 32; i++) if (reference.v[i] !== target.v[i]) add(`v${i}`, reference.v[i], target.v[i]);
  }
  if (reference.fpsr !== undefined && target.fpsr !== undefined && reference.fpsr !== target.fpsr) {
    add("fpsr", BigInt(reference.fpsr >>> 0), BigInt(target.fpsr >>> 0));
  }
  if (reference.fpcr !== undefined && target.fpcr !== undefined && reference.fpcr !== target.fpcr) {
    add("fpcr", BigInt(reference.fpcr >>> 0), BigInt(target.fpcr >>> 0));
  }
  if (reference.sys && target.sys) {
    for (const [name, rv] of Object.entries(reference.sys)) {
      const tv = target.sys[name];
      if (tv !== undefined && tv !== rv) add(name, rv, tv);
    }
  }
  return diffs;
}

/** The register names both snapshots provide (what a full comparison covers). */
export function comparedNames(reference: RegisterSnapshot, target: RegisterSnapshot, ignore: (name: string) => boolean): { compared: string[]; skipped: string[] } {
  const r = snapshotToMap(reference);
  const t = snapshotToMap(target);
  const compared: string[] = [];
  const skipped: string[] = [];
  for (const name of new Set([...r.keys(), ...t.keys()])) {
    if (r.has(name) && t.has(name) && !ignore(name)) compared.push(name);
    else skipped.push(name);
  }
  return { compared, skipped };
}

/** `0x` + zero-padded hex at the register's width. */
export function formatValue(name: string, v: bigint): string {
  const digits = registerBits(name) / 4;
  const hex = BigInt.asUintN(registerBits(name), v).toString(16).padStart(digits, "0");
  return registerBits(name) === 128 ? `0x${hex.slice(0, 16)}_${hex.slice(16)}` : `0x${hex}`;
}

export function formatAddress(v: bigint): string {
  return `0x${v.toString(16).padStart(16, "0")}`;
}

/** A table: register, reference value, target value, XOR (which bits differ). */
export function formatDiffTable(diffs: readonly RegisterDiff[], referenceLabel = "QEMU", targetLabel = "target"): string {
  const rows = diffs.map((d) => [d.name, formatValue(d.name, d.reference), formatValue(d.name, d.target), formatValue(d.name, d.reference ^ d.target)]);
  const header = ["register", referenceLabel, targetLabel, "xor"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** NZCV and the exception level / SP select of a PSTATE value, for humans. */
export function describeCpsr(cpsr: number): string {
  const flags = ["N", "Z", "C", "V"].map((f, i) => ((cpsr >>> (31 - i)) & 1 ? f : f.toLowerCase())).join("");
  const daif = ["D", "A", "I", "F"].map((f, i) => ((cpsr >>> (9 - i)) & 1 ? f : f.toLowerCase())).join("");
  const el = (cpsr >>> 2) & 3;
  const sp = cpsr & 1 ? "h" : "t";
  return `${flags} ${daif} EL${el}${sp}`;
}

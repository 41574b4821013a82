// System registers of the Cortex-A53 as Rewind's virt board presents it (EL0/EL1 only, like QEMU's virt without
// virtualization=on / secure=on). Registers are one table keyed by the MRS/MSR encoding
// (op0, op1, CRn, CRm, op2); an encoding not in the table is UNDEFINED, as on hardware.

import { field, type StateDescription } from "../../core/vmstate.js";
import type { Cpu } from "./cpu.js";
import type { GenericTimer } from "./generic-timer.js";
import { COUNTER_FREQ_HZ } from "./generic-timer.js";
import { Pmu, PMU_STATE, pmuRegisters } from "./pmu.js";
import { TranslationFlag } from "./translation-summary.js";
import { BREAKPOINTS, WATCHPOINTS, debugRegIndex } from "./self-debug.js";

/** The 16-bit key of an encoding: op0[1:0]:op1:CRn:CRm:op2, i.e. bits [20:5] of MRS/MSR. */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return ((op0 & 3) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

export function sysregKeyText(key: number): string {
  return `S${(key >> 14) & 3}_${(key >> 11) & 7}_C${(key >> 7) & 15}_C${(key >> 3) & 15}_${key & 7}`;
}

/** The Cortex-A53 has 6 breakpoint and 4 watchpoint register pairs; slots 0..5 hold both kinds. */
const DEBUG_SLOTS = 6;

/** op0=3, op1=0, CRn=0, CRm=1..7: the ID register space, where unallocated encodings read as zero. */
function isReservedIdRegister(key: number): boolean {
  return (key & 0xff80) === sysregKey(3, 0, 0, 0, 0) && ((key >> 3) & 0xf) >= 1 && ((key >> 3) & 0xf) <= 7;
}
const RAZ_ID: SysregDef = { name: "ID_RAZ", key: -1, minEl: 1, read: (s) => ((s.hi = 0), 0) };

/**
 * DBGBVR/BCR (6) and DBGWVR/WCR (4), plus the debug registers Linux touches while setting up. They read back as
 * written, as QEMU 7.2 keeps them, except DBGBCR.BAS bits 6 and 8 (copies of 5 and 7) and DBGWVR[1:0] (RES0);
 * every write re-arms self-hosted debug (self-debug.ts).
 */
function debugRegisters(): SysregDef[] {
  const k = sysregKey;
  const out: SysregDef[] = [];
  const reg = (name: string, key: number, at: number, fix: (lo: number) => number): SysregDef => ({
    name, key, minEl: 1,
    read: (s) => ((s.hi = s.debugRegs[at + 1]), s.debugRegs[at]),
    write: (s, lo, hi) => {
      s.debugRegs[at] = fix(lo) >>> 0;
      s.debugRegs[at + 1] = hi >>> 0;
      s.cpu.selfDebug.update();
    },
  });
  const asWritten = (lo: number) => lo;
  const basCopies = (lo: number) => (lo & ~0x140) | ((lo & 0xa0) << 1);
  for (let n = 0; n < BREAKPOINTS; n++) {
    out.push(reg(`DBGBVR${n}_EL1`, k(2, 0, 0, n, 4), debugRegIndex(n, 0), asWritten));
    out.push(reg(`DBGBCR${n}_EL1`, k(2, 0, 0, n, 5), debugRegIndex(n, 1), basCopies));
  }
  for (let n = 0; n < WATCHPOINTS; n++) {
    out.push(reg(`DBGWVR${n}_EL1`, k(2, 0, 0, n, 6), debugRegIndex(n, 2), (lo) => lo & ~3));
    out.push(reg(`DBGWCR${n}_EL1`, k(2, 0, 0, n, 7), debugRegIndex(n, 3), asWritten));
  }
  out.push(
    { name: "MDRAR_EL1", key: k(2, 0, 1, 0, 0), minEl: 1, read: (s) => ((s.hi = 0), 0) },
    { name: "DBGPRCR_EL1", key: k(2, 0, 1, 4, 4), minEl: 1, read: (s) => ((s.hi = 0), 0), write: () => {} },
    { name: "DBGCLAIMSET_EL1", key: k(2, 0, 7, 8, 6), minEl: 1, read: (s) => ((s.hi = 0), 0xff), write: () => {} },
    { name: "DBGCLAIMCLR_EL1", key: k(2, 0, 7, 9, 6), minEl: 1, read: (s) => ((s.hi = 0), 0), write: () => {} },
    { name: "DBGAUTHSTATUS_EL1", key: k(2, 0, 7, 14, 6), minEl: 1, read: (s) => ((s.hi = 0), 0xaa) },
    { name: "MDCCINT_EL1", key: k(2, 0, 0, 2, 0), minEl: 1, read: (s) => ((s.hi = 0), 0), write: () => {} },
  );
  return out;
}

interface SysregDef {
  name: string;
  key: number;
  /** Minimum EL for access (0 = EL0 allowed). EL0 access to an EL1 register is UNDEFINED. */
  minEl: number;
  /** Returns the low half; the high half goes to sys.hi. Absent: write-only. */
  read?: (s: SystemRegisters) => number;
  /** Absent: read-only (MSR is UNDEFINED). */
  write?: (s: SystemRegisters, lo: number, hi: number) => void;
}

// Cortex-A53 identification, as QEMU 7.2 reports it with EL2 and EL3 disabled.
const ID = {
  midr: 0x410fd034,
  mpidr: 0x80000000,
  ctr: 0x84448004,
  dczid: 0x4,
  clidr: 0x0a200023,
  aa64pfr0: 0x00000022,
  aa64dfr0: 0x10305106,
  aa64isar0: 0x00011120,
  aa64mmfr0: 0x00001122,
  // AArch32 ID registers are readable from AArch64 (Linux probes them).
  pfr0: 0x00000131,
  pfr1: 0x00011011,
  dfr0: 0x03010066,
  mmfr0: 0x10101105,
  mmfr1: 0x40000000,
  mmfr2: 0x01260000,
  mmfr3: 0x02102211,
  isar0: 0x02101110,
  isar1: 0x13112111,
  isar2: 0x21232042,
  isar3: 0x01112131,
  isar4: 0x00011142,
  isar5: 0x00011121,
  mvfr0: 0x10110222,
  mvfr1: 0x12111111,
  mvfr2: 0x00000043,
};

/** SCTLR_EL1 reset value for the Cortex-A53 (RES1 bits and the architectural resets). */
export const SCTLR_RESET = 0x00c50838;

export class SystemRegisters {
  hi = 0;

  sctlr = SCTLR_RESET;
  actlr = 0;
  cpacr = 0;
  vbarEl1Lo = 0;
  vbarEl1Hi = 0;
  elrEl1Lo = 0;
  elrEl1Hi = 0;
  spsrEl1 = 0;
  esrEl1 = 0;
  farEl1Lo = 0;
  farEl1Hi = 0;
  parLo = 0;
  parHi = 0;
  tcrLo = 0;
  tcrHi = 0;
  ttbr0Lo = 0;
  ttbr0Hi = 0;
  ttbr1Lo = 0;
  ttbr1Hi = 0;
  mairLo = 0;
  mairHi = 0;
  amairLo = 0;
  amairHi = 0;
  contextidr = 0;
  tpidrEl0Lo = 0;
  tpidrEl0Hi = 0;
  tpidrroEl0Lo = 0;
  tpidrroEl0Hi = 0;
  tpidrEl1Lo = 0;
  tpidrEl1Hi = 0;
  mdscr = 0;
  oslsr = 0xa;
  csselr = 0;
  afsr0 = 0;
  afsr1 = 0;

  timer: GenericTimer | null = null;
  readonly pmu: Pmu;
  /** Debug breakpoint and watchpoint registers (DBGBVR, DBGBCR, DBGWVR, DBGWCR per slot, each as lo, hi). */
  readonly debugRegs = new Uint32Array(DEBUG_SLOTS * 4 * 2);
  private readonly table = new Map<number, SysregDef>();
  /** Encodings already reported as unimplemented (each is reported once). */
  readonly reported = new Set<number>();

  constructor(readonly cpu: Cpu) {
    this.pmu = new Pmu(cpu.clock);
    for (const d of [...buildTable(), ...(pmuRegisters() as unknown as SysregDef[]), ...debugRegisters()]) {
      if (this.table.has(d.key)) throw new Error(`duplicate system register ${d.name}`);
      this.table.set(d.key, d);
    }
  }

  reset(): void {
    this.sctlr = SCTLR_RESET;
    this.actlr = this.cpacr = 0;
    this.vbarEl1Lo = this.vbarEl1Hi = 0;
    this.elrEl1Lo = this.elrEl1Hi = this.spsrEl1 = this.esrEl1 = 0;
    this.farEl1Lo = this.farEl1Hi = this.parLo = this.parHi = 0;
    this.tcrLo = this.tcrHi = this.ttbr0Lo = this.ttbr0Hi = this.ttbr1Lo = this.ttbr1Hi = 0;
    this.mairLo = this.mairHi = this.amairLo = this.amairHi = this.contextidr = 0;
    this.tpidrEl0Lo = this.tpidrEl0Hi = this.tpidrroEl0Lo = this.tpidrroEl0Hi = this.tpidrEl1Lo = this.tpidrEl1Hi = 0;
    this.mdscr = 0;
    this.oslsr = 0xa;
    this.csselr = this.afsr0 = this.afsr1 = 0;
    this.pmu.reset();
    this.debugRegs.fill(0);
  }

  /** An MMU control register changed (SCTLR, TCR, MAIR): every cached translation is stale (TLB, fetch cache). */
  translationChanged(): void {
    this.cpu.mmu.flushAll();
  }

  /** A TTBR write may switch tables or ASID: non-global translations are stale. */
  ttbrChanged(): void {
    this.cpu.mmu.flushNonGlobal();
  }

  get mmuEnabled(): boolean {
    return (this.sctlr & 1) !== 0;
  }

  lookup(key: number): SysregDef | undefined {
    return this.table.get(key) ?? (isReservedIdRegister(key) ? RAZ_ID : undefined);
  }

  get names(): string[] {
    return [...this.table.values()].map((d) => d.name);
  }

  /** Reads a register by name (debugger, tests); undefined when absent or write-only. */
  readByName(name: string): bigint | undefined {
    for (const d of this.table.values()) {
      if (d.name === name && d.read) {
        const lo = d.read(this) >>> 0;
        return (BigInt(this.hi >>> 0) << 32n) | BigInt(lo);
      }
    }
    return undefined;
  }
}

const SAVED = [
  "sctlr",
  "actlr",
  "cpacr",
  "vbarEl1Lo",
  "vbarEl1Hi",
  "elrEl1Lo",
  "elrEl1Hi",
  "spsrEl1",
  "esrEl1",
  "farEl1Lo",
  "farEl1Hi",
  "parLo",
  "parHi",
  "tcrLo",
  "tcrHi",
  "ttbr0Lo",
  "ttbr0Hi",
  "ttbr1Lo",
  "ttbr1Hi",
  "mairLo",
  "mairHi",
  "amairLo",
  "amairHi",
  "contextidr",
  "tpidrEl0Lo",
  "tpidrEl0Hi",
  "tpidrroEl0Lo",
  "tpidrroEl0Hi",
  "tpidrEl1Lo",
  "tpidrEl1Hi",
  "mdscr",
  "oslsr",
  "csselr",
  "afsr0",
  "afsr1",
] as const satisfies readonly (keyof SystemRegisters)[];

/** The system registers' state (a section of the CPU's). The generic timer saves its own. */
export const SYSREG_STATE: StateDescription<SystemRegisters> = {
  version: 1,
  fields: [
    ...SAVED.map((k) => field.u32<SystemRegisters>(k)),
    field.section<SystemRegisters, Pmu>("pmu", (s) => s.pmu, PMU_STATE),
    field.u32s<SystemRegisters>("debugRegs", DEBUG_SLOTS * 4 * 2),
  ],
};

type NumKey = (typeof SAVED)[number];

/** A 64-bit register stored as two fields named `${base}Lo` / `${base}Hi`. */
function pair(name: string, key: number, minEl: number, base: string, writeMask = 0xffffffff, writeMaskHi = 0xffffffff): SysregDef {
  const loK = `${base}Lo` as NumKey;
  const hiK = `${base}Hi` as NumKey;
  return {
    name,
    key,
    minEl,
    read: (s) => {
      s.hi = s[hiK] as number;
      return s[loK] as number;
    },
    write: (s, lo, hi) => {
      (s as unknown as Record<string, number>)[loK] = (lo & writeMask) >>> 0;
      (s as unknown as Record<string, number>)[hiK] = (hi & writeMaskHi) >>> 0;
    },
  };
}

/** A 32-bit register (upper half RES0). */
function word(name: string, key: number, minEl: number, field: NumKey, writeMask = 0xffffffff): SysregDef {
  return {
    name,
    key,
    minEl,
    read: (s) => {
      s.hi = 0;
      return s[field] as number;
    },
    write: (s, lo) => {
      (s as unknown as Record<string, number>)[field] = (lo & writeMask) >>> 0;
    },
  };
}

/** A register whose writes invalidate cached translations. */
function flushing(def: SysregDef, flush: (s: SystemRegisters) => void): SysregDef {
  const write = def.write!;
  return {
    ...def,
    write: (s, lo, hi) => {
      write(s, lo, hi);
      flush(s);
    },
  };
}

/** A register whose writes may arm or disarm self-hosted debug. */
function rearming(def: SysregDef): SysregDef {
  return flushing(def, (s) => s.cpu.selfDebug.update());
}

/** TTBRn_EL1.BADDR, bits [47:1] (the ASID above it and CnP below it do not move a translation). */
const TTBR_BADDR: [number, number] = [0xfffffffe, 0xffff];

/** A write to a 64-bit register `${base}Lo/Hi` that changes a bit of `mask` notes `flag` for the interval
 * summaries (translation-summary.ts says what each flag means). */
function noting(def: SysregDef, base: "ttbr0" | "ttbr1" | "tcr", mask: [number, number], flag: TranslationFlag): SysregDef {
  const write = def.write!;
  return {
    ...def,
    write: (s, lo, hi) => {
      const oldLo = s[`${base}Lo`];
      const oldHi = s[`${base}Hi`];
      write(s, lo, hi);
      if (((oldLo ^ s[`${base}Lo`]) & mask[0]) !== 0 || ((oldHi ^ s[`${base}Hi`]) & mask[1]) !== 0) s.cpu.intervalFlags.note(flag);
    },
  };
}

function constant(name: string, key: number, value: number, minEl = 1): SysregDef {
  return {
    name,
    key,
    minEl,
    read: (s) => {
      s.hi = 0;
      return value >>> 0;
    },
  };
}

function split(v: number, s: SystemRegisters): number {
  s.hi = Math.floor(v / 4294967296) >>> 0;
  return v >>> 0;
}

function buildTable(): SysregDef[] {
  const k = sysregKey;
  const t: SysregDef[] = [
    // identification
    constant("MIDR_EL1", k(3, 0, 0, 0, 0), ID.midr),
    constant("MPIDR_EL1", k(3, 0, 0, 0, 5), ID.mpidr),
    constant("REVIDR_EL1", k(3, 0, 0, 0, 6), 0),
    constant("ID_PFR0_EL1", k(3, 0, 0, 1, 0), ID.pfr0),
    constant("ID_PFR1_EL1", k(3, 0, 0, 1, 1), ID.pfr1),
    constant("ID_DFR0_EL1", k(3, 0, 0, 1, 2), ID.dfr0),
    constant("ID_AFR0_EL1", k(3, 0, 0, 1, 3), 0),
    constant("ID_MMFR0_EL1", k(3, 0, 0, 1, 4), ID.mmfr0),
    constant("ID_MMFR1_EL1", k(3, 0, 0, 1, 5), ID.mmfr1),
    constant("ID_MMFR2_EL1", k(3, 0, 0, 1, 6), ID.mmfr2),
    constant("ID_MMFR3_EL1", k(3, 0, 0, 1, 7), ID.mmfr3),
    constant("ID_ISAR0_EL1", k(3, 0, 0, 2, 0), ID.isar0),
    constant("ID_ISAR1_EL1", k(3, 0, 0, 2, 1), ID.isar1),
    constant("ID_ISAR2_EL1", k(3, 0, 0, 2, 2), ID.isar2),
    constant("ID_ISAR3_EL1", k(3, 0, 0, 2, 3), ID.isar3),
    constant("ID_ISAR4_EL1", k(3, 0, 0, 2, 4), ID.isar4),
    constant("ID_ISAR5_EL1", k(3, 0, 0, 2, 5), ID.isar5),
    constant("ID_MMFR4_EL1", k(3, 0, 0, 2, 6), 0),
    constant("MVFR0_EL1", k(3, 0, 0, 3, 0), ID.mvfr0),
    constant("MVFR1_EL1", k(3, 0, 0, 3, 1), ID.mvfr1),
    constant("MVFR2_EL1", k(3, 0, 0, 3, 2), ID.mvfr2),
    constant("ID_AA64PFR0_EL1", k(3, 0, 0, 4, 0), ID.aa64pfr0),
    constant("ID_AA64PFR1_EL1", k(3, 0, 0, 4, 1), 0),
    constant("ID_AA64ZFR0_EL1", k(3, 0, 0, 4, 4), 0),
    constant("ID_AA64DFR0_EL1", k(3, 0, 0, 5, 0), ID.aa64dfr0),
    constant("ID_AA64DFR1_EL1", k(3, 0, 0, 5, 1), 0),
    constant("ID_AA64AFR0_EL1", k(3, 0, 0, 5, 4), 0),
    constant("ID_AA64AFR1_EL1", k(3, 0, 0, 5, 5), 0),
    constant("ID_AA64ISAR0_EL1", k(3, 0, 0, 6, 0), ID.aa64isar0),
    constant("ID_AA64ISAR1_EL1", k(3, 0, 0, 6, 1), 0),
    constant("ID_AA64ISAR2_EL1", k(3, 0, 0, 6, 2), 0),
    constant("ID_AA64MMFR0_EL1", k(3, 0, 0, 7, 0), ID.aa64mmfr0),
    constant("ID_AA64MMFR1_EL1", k(3, 0, 0, 7, 1), 0),
    constant("ID_AA64MMFR2_EL1", k(3, 0, 0, 7, 2), 0),
    constant("CTR_EL0", k(3, 3, 0, 0, 1), ID.ctr, 0),
    constant("DCZID_EL0", k(3, 3, 0, 0, 7), ID.dczid, 0),
    constant("CLIDR_EL1", k(3, 1, 0, 0, 1), ID.clidr),
    {
      name: "CCSIDR_EL1",
      key: k(3, 1, 0, 0, 0),
      minEl: 1,
      // L1 D 32K 4-way 64B lines, L1 I 32K 2-way, L2 1M 16-way (Cortex-A53 TRM values QEMU uses).
      read: (s) => {
        s.hi = 0;
        return [0x700fe01a, 0x201fe01a, 0x707fe07a, 0][Math.min(s.csselr & 0xf, 3)] >>> 0;
      },
    },
    word("CSSELR_EL1", k(3, 2, 0, 0, 0), 1, "csselr", 0xf),

    // control
    {
      name: "SCTLR_EL1",
      key: k(3, 0, 1, 0, 0),
      minEl: 1,
      read: (s) => {
        s.hi = 0;
        return s.sctlr;
      },
      write: (s, lo) => {
        if (((s.sctlr ^ lo) & 1) !== 0) s.cpu.intervalFlags.note(TranslationFlag.Control);
        s.sctlr = lo >>> 0;
        s.translationChanged();
      },
    },
    word("ACTLR_EL1", k(3, 0, 1, 0, 1), 1, "actlr"),
    word("CPACR_EL1", k(3, 0, 1, 0, 2), 1, "cpacr", 0x00300000),
    noting(flushing(pair("TTBR0_EL1", k(3, 0, 2, 0, 0), 1, "ttbr0"), (s) => s.ttbrChanged()), "ttbr0", TTBR_BADDR, TranslationFlag.Ttbr0),
    noting(flushing(pair("TTBR1_EL1", k(3, 0, 2, 0, 1), 1, "ttbr1"), (s) => s.ttbrChanged()), "ttbr1", TTBR_BADDR, TranslationFlag.Ttbr1),
    noting(flushing(pair("TCR_EL1", k(3, 0, 2, 0, 2), 1, "tcr"), (s) => s.translationChanged()), "tcr", [0xffffffff, 0xffffffff], TranslationFlag.Control),
    word("AFSR0_EL1", k(3, 0, 5, 1, 0), 1, "afsr0"),
    word("AFSR1_EL1", k(3, 0, 5, 1, 1), 1, "afsr1"),
    word("ESR_EL1", k(3, 0, 5, 2, 0), 1, "esrEl1"),
    pair("FAR_EL1", k(3, 0, 6, 0, 0), 1, "farEl1"),
    pair("PAR_EL1", k(3, 0, 7, 4, 0), 1, "par"),
    flushing(pair("MAIR_EL1", k(3, 0, 10, 2, 0), 1, "mair"), (s) => s.translationChanged()),
    pair("AMAIR_EL1", k(3, 0, 10, 3, 0), 1, "amair"),
    pair("VBAR_EL1", k(3, 0, 12, 0, 0), 1, "vbarEl1", 0xfffff800),
    constant("ISR_EL1", k(3, 0, 12, 1, 0), 0),
    word("CONTEXTIDR_EL1", k(3, 0, 13, 0, 1), 1, "contextidr"),
    pair("TPIDR_EL1", k(3, 0, 13, 0, 4), 1, "tpidrEl1"),
    pair("TPIDR_EL0", k(3, 3, 13, 0, 2), 0, "tpidrEl0"),
    {
      ...pair("TPIDRRO_EL0", k(3, 3, 13, 0, 3), 0, "tpidrroEl0"),
      // Writable only from EL1.
      write: (s, lo, hi) => {
        s.tpidrroEl0Lo = lo >>> 0;
        s.tpidrroEl0Hi = hi >>> 0;
      },
    },

    // exception state
    word("SPSR_EL1", k(3, 0, 4, 0, 0), 1, "spsrEl1", 0xf03003ff),
    pair("ELR_EL1", k(3, 0, 4, 0, 1), 1, "elrEl1"),

    // debug (enough for firmware and Linux to probe and park it)
    rearming(word("MDSCR_EL1", k(2, 0, 0, 2, 2), 1, "mdscr")),
    // OSLAR_EL1.OSLK sets and clears the OS lock (OSLSR_EL1.OSLK); Linux clears it at boot.
    rearming({ name: "OSLAR_EL1", key: k(2, 0, 1, 0, 4), minEl: 1, write: (s, lo) => void (s.oslsr = (s.oslsr & ~2) | ((lo & 1) << 1)) }),
    word("OSLSR_EL1", k(2, 0, 1, 1, 4), 1, "oslsr", 0),
    { name: "OSDLR_EL1", key: k(2, 0, 1, 3, 4), minEl: 1, read: (s) => ((s.hi = 0), 0), write: () => {} },
    { name: "MDCCSR_EL0", key: k(2, 3, 0, 1, 0), minEl: 0, read: (s) => ((s.hi = 0), 0) },
  ];
  t.push(...timerRegisters());
  return t;
}

function needTimer(s: SystemRegisters): GenericTimer {
  if (!s.timer) throw new Error("generic timer not attached");
  return s.timer;
}

function timerRegisters(): SysregDef[] {
  const k = sysregKey;
  const out: SysregDef[] = [
    constant("CNTFRQ_EL0", k(3, 3, 14, 0, 0), COUNTER_FREQ_HZ, 0),
    { name: "CNTPCT_EL0", key: k(3, 3, 14, 0, 1), minEl: 0, read: (s) => split(needTimer(s).counter.count(), s) },
    { name: "CNTVCT_EL0", key: k(3, 3, 14, 0, 2), minEl: 0, read: (s) => split(needTimer(s).counter.count(), s) },
    {
      name: "CNTKCTL_EL1",
      key: k(3, 0, 14, 1, 0),
      minEl: 1,
      read: (s) => ((s.hi = 0), needTimer(s).cntkctl),
      write: (s, lo) => void (needTimer(s).cntkctl = lo & 0x3ff),
    },
  ];
  for (const [ch, crm] of [
    ["phys", 2],
    ["virt", 3],
  ] as const) {
    const prefix = ch === "phys" ? "CNTP" : "CNTV";
    out.push(
      {
        name: `${prefix}_TVAL_EL0`,
        key: k(3, 3, 14, crm, 0),
        minEl: 0,
        read: (s) => ((s.hi = 0), needTimer(s)[ch].readTval()),
        write: (s, lo) => needTimer(s)[ch].writeTval(lo),
      },
      {
        name: `${prefix}_CTL_EL0`,
        key: k(3, 3, 14, crm, 1),
        minEl: 0,
        read: (s) => ((s.hi = 0), needTimer(s)[ch].readCtl()),
        write: (s, lo) => needTimer(s)[ch].writeCtl(lo),
      },
      {
        name: `${prefix}_CVAL_EL0`,
        key: k(3, 3, 14, crm, 2),
        minEl: 0,
        read: (s) => {
          const c = needTimer(s)[ch];
          s.hi = c.cvalHi;
          return c.cvalLo;
        },
        write: (s, lo, hi) => needTimer(s)[ch].writeCval(lo, hi),
      },
    );
  }
  return out;
}

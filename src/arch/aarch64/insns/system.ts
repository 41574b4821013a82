// System instructions: exception generation and return, MRS/MSR, PSTATE access, hints, barriers and the
// SYS space (cache and TLB maintenance, address translation).

import type { Cpu } from "../cpu.js";
import { EC } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import { sysregKey, sysregKeyText } from "../sysregs.js";

const hex = (v: number) => `#0x${v.toString(16)}`;

// ---- exception generation -------------------------------------------------------------------------------

const exceptionGeneration: InsnSpec[] = [
  {
    name: "SVC",
    pattern: "11010100 000 imm16:16 000 01",
    build: (f) => (c) => c.syncException(EC.Svc64, f.imm16, true),
    disasm: (f) => `svc ${hex(f.imm16)}`,
  },
  {
    name: "HVC",
    pattern: "11010100 000 imm16:16 000 10",
    build: (f) => (c) => {
      if (c.el === 0) c.undefinedInstruction();
      // No EL2: HVC is only meaningful as the PSCI conduit, which the board emulates like QEMU does.
      if (!c.hooks.hvc(c, f.imm16)) c.undefinedInstruction();
    },
    disasm: (f) => `hvc ${hex(f.imm16)}`,
  },
  {
    name: "SMC",
    pattern: "11010100 000 imm16:16 000 11",
    // No EL3 on this CPU, and PSCI uses the HVC conduit: SMC is UNDEFINED (as in QEMU).
    build: () => (c) => c.undefinedInstruction(),
    disasm: (f) => `smc ${hex(f.imm16)}`,
  },
  {
    name: "BRK",
    pattern: "11010100 001 imm16:16 000 00",
    build: (f) => (c) => c.syncException(EC.Brk, f.imm16, false),
    disasm: (f) => `brk ${hex(f.imm16)}`,
  },
  {
    name: "HLT",
    pattern: "11010100 010 imm16:16 000 00",
    // Halting debug is not enabled, so HLT is UNDEFINED.
    build: () => (c) => c.undefinedInstruction(),
    disasm: (f) => `hlt ${hex(f.imm16)}`,
  },
];

// ---- exception return ---------------------------------------------------------------------------------

function eret(c: Cpu): void {
  if (c.el === 0) c.undefinedInstruction();
  const spsr = c.sys.spsrEl1 >>> 0;
  const m = spsr & 0x1f;
  c.exclusiveAddr = -1;
  // Legal returns: EL0t (0b00000), EL1t (0b00100), EL1h (0b00101). Anything else (AArch32, EL2/EL3) is an
  // illegal exception return: PC still comes from ELR, PSTATE.IL would be set and the mode is unchanged.
  const legal = m === 0 || m === 4 || m === 5;
  // PSTATE.SS from SPSR.SS, when the return enables software step (self-debug.ts); decided in the source state.
  const ss = c.selfDebugArmed ? c.selfDebug.returnSs(spsr, legal ? m >>> 2 : c.el) : 0;
  if (legal) {
    c.nzcv = spsr >>> 28;
    c.daif = (spsr >>> 6) & 0xf;
    c.setMode(m >>> 2, m & 1);
  }
  c.ss = ss;
  c.nextLo = c.sys.elrEl1Lo >>> 0;
  c.nextHi = c.sys.elrEl1Hi >>> 0;
}

const exceptionReturn: InsnSpec[] = [
  { name: "ERET", pattern: "1101011 0100 11111 000000 11111 00000", build: () => eret, disasm: () => "eret" },
];

// ---- MRS / MSR ------------------------------------------------------------------------------------------

const K_NZCV = sysregKey(3, 3, 4, 2, 0);
const K_DAIF = sysregKey(3, 3, 4, 2, 1);
const K_CURRENTEL = sysregKey(3, 0, 4, 2, 2);
const K_SPSEL = sysregKey(3, 0, 4, 2, 0);
const K_SP_EL0 = sysregKey(3, 0, 4, 1, 0);
const K_SP_EL1 = sysregKey(3, 4, 4, 1, 0);
const K_FPCR = sysregKey(3, 3, 4, 4, 0);
const K_FPSR = sysregKey(3, 3, 4, 4, 1);

const SCTLR_UMA = 1 << 9;
const FPCR_MASK = 0x07f79f00; // AHP, DN, FZ, RMode, Stride, Len, IDE..IXE as on ARMv8.0
const FPSR_MASK = 0xf800009f;

/** Reads a special-purpose register handled outside the table, or returns undefined if `key` is not one. */
function readSpecial(c: Cpu, key: number): number | undefined {
  switch (key) {
    case K_NZCV:
      c.hi = 0;
      return c.nzcv << 28;
    case K_DAIF:
      if (c.el === 0 && (c.sys.sctlr & SCTLR_UMA) === 0) c.undefinedInstruction();
      c.hi = 0;
      return c.daif << 6;
    case K_CURRENTEL:
      if (c.el === 0) c.undefinedInstruction();
      c.hi = 0;
      return c.el << 2;
    case K_SPSEL:
      if (c.el === 0) c.undefinedInstruction();
      c.hi = 0;
      return c.spsel;
    case K_SP_EL0: {
      if (c.el === 0 || c.spsel === 0) c.undefinedInstruction();
      const [lo, hi] = c.readSpEl(0);
      c.hi = hi;
      return lo;
    }
    case K_SP_EL1:
      return c.undefinedInstruction(); // only accessible from EL2 and above
    case K_FPCR:
      c.checkFpEnabled();
      c.hi = 0;
      return c.fpcr;
    case K_FPSR:
      c.checkFpEnabled();
      c.hi = 0;
      return c.fpsr;
  }
  return undefined;
}

function writeSpecial(c: Cpu, key: number, lo: number, hi: number): boolean {
  switch (key) {
    case K_NZCV:
      c.nzcv = lo >>> 28;
      return true;
    case K_DAIF:
      if (c.el === 0 && (c.sys.sctlr & SCTLR_UMA) === 0) c.undefinedInstruction();
      c.daif = (lo >>> 6) & 0xf;
      return true;
    case K_CURRENTEL:
      return c.undefinedInstruction();
    case K_SPSEL:
      if (c.el === 0) c.undefinedInstruction();
      c.setMode(c.el, lo & 1);
      return true;
    case K_SP_EL0:
      if (c.el === 0 || c.spsel === 0) c.undefinedInstruction();
      c.writeSpEl(0, lo, hi);
      return true;
    case K_SP_EL1:
      return c.undefinedInstruction();
    case K_FPCR:
      c.checkFpEnabled();
      c.fpcr = (lo & FPCR_MASK) >>> 0;
      return true;
    case K_FPSR:
      c.checkFpEnabled();
      c.fpsr = (lo & FPSR_MASK) >>> 0;
      return true;
  }
  return false;
}

function buildMrs(f: Fields, insn: number): Exec {
  const key = (insn >>> 5) & 0xffff;
  const rt = f.rt;
  return (c) => {
    let lo = readSpecial(c, key);
    if (lo === undefined) {
      const def = c.sys.lookup(key);
      if (!def || !def.read || c.el < def.minEl) {
        reportSysreg(c, key, insn);
        return c.undefinedInstruction();
      }
      lo = def.read(c.sys);
      c.hi = c.sys.hi;
    }
    if (rt !== 31) {
      c.xlo[rt] = lo | 0;
      c.xhi[rt] = c.hi | 0;
    }
  };
}

function buildMsr(f: Fields, insn: number): Exec {
  const key = (insn >>> 5) & 0xffff;
  const rt = f.rt;
  return (c) => {
    const lo = rt === 31 ? 0 : c.xlo[rt] >>> 0;
    const hi = rt === 31 ? 0 : c.xhi[rt] >>> 0;
    if (writeSpecial(c, key, lo, hi)) return;
    const def = c.sys.lookup(key);
    if (!def || !def.write || c.el < def.minEl) {
      reportSysreg(c, key, insn);
      return c.undefinedInstruction();
    }
    def.write(c.sys, lo, hi);
  };
}

/** An access to a system register Rewind does not implement is reported once (by encoding) and is UNDEFINED. */
function reportSysreg(c: Cpu, key: number, insn: number): void {
  if (c.sys.lookup(key) || c.sys.reported.has(key)) return;
  c.sys.reported.add(key);
  c.hooks.reportUndefined(c.pcLo, c.pcHi, insn);
}

function sysregName(key: number): string {
  const names: Record<number, string> = {
    [K_NZCV]: "nzcv",
    [K_DAIF]: "daif",
    [K_CURRENTEL]: "currentel",
    [K_SPSEL]: "spsel",
    [K_SP_EL0]: "sp_el0",
    [K_SP_EL1]: "sp_el1",
    [K_FPCR]: "fpcr",
    [K_FPSR]: "fpsr",
  };
  return names[key] ?? (KNOWN_NAMES.get(key) ?? sysregKeyText(key)).toLowerCase();
}
let KNOWN_NAMES = new Map<number, string>();
/** Lets the disassembler print table names (filled by the board once a CPU exists). */
export function registerSysregNames(names: Map<number, string>): void {
  KNOWN_NAMES = names;
}

const xr = (n: number) => (n === 31 ? "xzr" : `x${n}`);

const moveSystemRegister: InsnSpec[] = [
  {
    name: "MRS",
    pattern: "1101010100 1 1 o0:1 op1:3 crn:4 crm:4 op2:3 rt:5",
    build: buildMrs,
    disasm: (f, insn) => `mrs ${xr(f.rt)}, ${sysregName((insn >>> 5) & 0xffff)}`,
  },
  {
    name: "MSR_reg",
    pattern: "1101010100 0 1 o0:1 op1:3 crn:4 crm:4 op2:3 rt:5",
    build: buildMsr,
    disasm: (f, insn) => `msr ${sysregName((insn >>> 5) & 0xffff)}, ${xr(f.rt)}`,
  },
  {
    name: "MSR_imm",
    pattern: "1101010100000 op1:3 0100 crm:4 op2:3 11111",
    guard: (f) => (f.op1 === 0 && f.op2 === 5) || (f.op1 === 3 && (f.op2 === 6 || f.op2 === 7)),
    build: (f) => {
      const imm = f.crm;
      if (f.op1 === 0)
        return (c) => {
          if (c.el === 0) c.undefinedInstruction();
          c.setMode(c.el, imm & 1);
        };
      const set = f.op2 === 6;
      return (c) => {
        if (c.el === 0 && (c.sys.sctlr & SCTLR_UMA) === 0) c.undefinedInstruction();
        c.daif = set ? c.daif | imm : c.daif & ~imm;
      };
    },
    disasm: (f) => `msr ${f.op1 === 0 ? "spsel" : f.op2 === 6 ? "daifset" : "daifclr"}, #${f.crm}`,
  },
];

// ---- hints and barriers -----------------------------------------------------------------------------------

function wfi(c: Cpu): void {
  // WFI completes at once if an interrupt is pending (masked or not); otherwise the CPU sleeps until one is.
  if (!c.irqLine && !c.fiqLine) c.halted = true;
}

const HINT_NAMES = ["nop", "yield", "wfe", "wfi", "sev", "sevl"];

const hintsAndBarriers: InsnSpec[] = [
  {
    name: "HINT",
    pattern: "11010101000000110010 crm:4 op2:3 11111",
    build: (f) => (f.crm === 0 && f.op2 === 3 ? wfi : nop),
    disasm: (f) => (f.crm === 0 && f.op2 < HINT_NAMES.length ? HINT_NAMES[f.op2] : `hint #${(f.crm << 3) | f.op2}`),
  },
  {
    name: "CLREX",
    pattern: "11010101000000110011 crm:4 010 11111",
    build: () => (c) => {
      c.exclusiveAddr = -1;
    },
    disasm: () => "clrex",
  },
  {
    // Memory is sequentially consistent in a single-threaded emulator, so barriers have nothing to order.
    name: "DSB_DMB_ISB",
    pattern: "11010101000000110011 crm:4 1 opc:2 11111",
    guard: (f) => f.opc !== 3,
    build: () => nop,
    disasm: (f) => `${["dsb", "dmb", "isb"][f.opc - 0]} #${f.crm}`,
  },
];

function nop(_c: Cpu): void {}

// ---- SYS: cache and TLB maintenance, address translation ------------------------------------------------

const DC_ZVA = sysregKey(1, 3, 7, 4, 1);
const ZVA_BYTES = 64;

function buildSys(f: Fields, insn: number): Exec {
  const key = (insn >>> 5) & 0xffff;
  const { op1, crn, crm, op2, rt } = f;
  if (key === DC_ZVA)
    return (c) => {
      const lo = (rt === 31 ? 0 : c.xlo[rt] >>> 0) & ~(ZVA_BYTES - 1);
      const hi = rt === 31 ? 0 : c.xhi[rt] >>> 0;
      for (let i = 0; i < ZVA_BYTES; i += 8) c.write64((lo + i) >>> 0, hi, 0, 0);
    };
  if (crn === 7) {
    // AT S1E1R/W, S1E0R/W (op2 bit 0: write, bit 1: EL0 permissions): a stage 1 walk whose result or fault goes
    // to PAR_EL1; AT never raises an exception.
    if (op1 === 0 && crm === 8 && op2 <= 3) {
      const write = (op2 & 1) !== 0;
      const el0 = (op2 & 2) !== 0;
      return (c) => {
        if (c.el === 0) c.undefinedInstruction();
        const lo = rt === 31 ? 0 : c.xlo[rt] >>> 0;
        const hi = rt === 31 ? 0 : c.xhi[rt] >>> 0;
        c.mmu.addressTranslate(lo, hi, write, el0);
      };
    }
    // IC and DC maintenance: caches are not modelled (decoded code is invalidated on store instead).
    // EL0 may only use IC IVAU and DC CVAU/CVAC/CIVAC/ZVA, and only when SCTLR_EL1.UCI allows it.
    const el0Ok = op1 === 3;
    return (c) => {
      if (c.el === 0 && (!el0Ok || (c.sys.sctlr & (1 << 26)) === 0)) c.undefinedInstruction();
    };
  }
  if (crn === 8 && op1 === 0)
    // TLBI VMALLE1(IS), VAE1(IS), ASIDE1(IS), VAAE1(IS), VALE1(IS), VAALE1(IS): every form drops the whole TLB
    // (allowed: a TLB may always hold fewer entries). The EL2/EL3 forms (op1 4, 6) are UNDEFINED below.
    return (c) => {
      if (c.el === 0) c.undefinedInstruction();
      c.mmu.flushAll();
    };
  return (c) => {
    reportSysreg(c, key, insn);
    c.undefinedInstruction();
  };
}

const sysInstructions: InsnSpec[] = [
  {
    name: "SYS",
    pattern: "1101010100 0 01 op1:3 crn:4 crm:4 op2:3 rt:5",
    build: buildSys,
    disasm: (f, insn) => {
      const key = (insn >>> 5) & 0xffff;
      return key === DC_ZVA ? `dc zva, ${xr(f.rt)}` : `sys #${f.op1}, c${f.crn}, c${f.crm}, #${f.op2}, ${xr(f.rt)}`;
    },
  },
];

export const SYSTEM: InsnSpec[] = [
  ...exceptionGeneration,
  ...exceptionReturn,
  ...moveSystemRegister,
  ...hintsAndBarriers,
  ...sysInstructions,
];

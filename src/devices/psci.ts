// PSCI firmware calls over the HVC conduit, answered as QEMU 7.2's target/arm/psci.c does for one AArch64 CPU.
//
// QEMU 7.2 treats every HVC as an SMCCC call once the conduit is HVC: known PSCI functions are handled, any
// other function ID (including SMCCC_VERSION) returns NOT_SUPPORTED. The version reported is PSCI 1.1. The
// function ID is compared as the full 64-bit X0; arguments are the full X1..X3 even for SMC32 IDs (QEMU
// zero-extends nothing away). Results are int32 values sign-extended into X0. SYSTEM_OFF, SYSTEM_RESET and
// CPU_OFF never return to the caller, so X0 is left untouched for them.
//
// No state: the only CPU is always on (until CPU_OFF, after which it never runs again).

import type { Cpu } from "../arch/aarch64/cpu.js";

export const PSCI_VERSION_1_1 = 0x0001_0001;

export const PSCI_RET = {
  success: 0,
  notSupported: -1,
  invalidParameters: -2,
  denied: -3,
  alreadyOn: -4,
} as const;

const FN_BASE = 0x8400_0000;
const FN64 = 0x4000_0000;
const fn = (n: number): number => FN_BASE + n;
const fn64 = (n: number): number => FN_BASE + FN64 + n;

/** PSCI 0.1 function IDs, QEMU's private choice (published in its device tree). */
const FN01_BASE = 0x95c1_ba5e;

export const PSCI_FN = {
  version: fn(0),
  cpuSuspend: fn(1),
  cpuSuspend64: fn64(1),
  cpuOff: fn(2),
  cpuOn: fn(3),
  cpuOn64: fn64(3),
  affinityInfo: fn(4),
  affinityInfo64: fn64(4),
  migrate: fn(5),
  migrate64: fn64(5),
  migrateInfoType: fn(6),
  systemOff: fn(8),
  systemReset: fn(9),
  features: fn(10),
  v01CpuSuspend: FN01_BASE,
  v01CpuOff: FN01_BASE + 1,
  v01CpuOn: FN01_BASE + 2,
  v01Migrate: FN01_BASE + 3,
} as const;

/** MIGRATE_INFO_TYPE result: no Trusted OS, migration not required. */
const TOS_MIGRATION_NOT_REQUIRED = 2;
/** The only CPU's MPIDR affinity value (Aff0 = 0 in cluster 0). */
const CPU0_AFFINITY = 0;

/** Functions PSCI_FEATURES reports as implemented (QEMU's list; MIGRATE is answered but not supported). */
const FEATURES = new Set<number>([
  PSCI_FN.version,
  PSCI_FN.migrateInfoType,
  PSCI_FN.affinityInfo,
  PSCI_FN.affinityInfo64,
  PSCI_FN.systemReset,
  PSCI_FN.systemOff,
  PSCI_FN.v01CpuOn,
  PSCI_FN.cpuOn,
  PSCI_FN.cpuOn64,
  PSCI_FN.v01CpuOff,
  PSCI_FN.cpuOff,
  PSCI_FN.v01CpuSuspend,
  PSCI_FN.cpuSuspend,
  PSCI_FN.cpuSuspend64,
  PSCI_FN.features,
]);

/** What the board does for calls that leave the guest. None of them return to the caller. */
export interface PsciActions {
  systemOff(): void;
  systemReset(): void;
  /** The calling (only) CPU powers down: it must never execute again. */
  cpuOff(): void;
}

/** X<n> as an unsigned 64-bit value split in halves; returns the low half, or -1 if the high half is not zero. */
function low32Only(cpu: Cpu, n: number): number {
  return cpu.xhi[n] === 0 ? cpu.xlo[n] >>> 0 : -1;
}

function isZero(cpu: Cpu, n: number): boolean {
  return cpu.xlo[n] === 0 && cpu.xhi[n] === 0;
}

function setResult(cpu: Cpu, ret: number): void {
  cpu.xlo[0] = ret | 0;
  cpu.xhi[0] = ret < 0 ? -1 : 0;
}

/**
 * Handles the SMCCC call in X0..X3 made by `HVC #imm` (the immediate is ignored, as in QEMU). Writes the result
 * to X0 and returns true: with the HVC conduit every HVC is a firmware call. CPU_SUSPEND behaves like WFI and
 * returns success.
 */
export function handlePsciCall(cpu: Cpu, actions: PsciActions): boolean {
  const id = low32Only(cpu, 0);
  switch (id) {
    case PSCI_FN.version:
      setResult(cpu, PSCI_VERSION_1_1);
      break;
    case PSCI_FN.migrateInfoType:
      setResult(cpu, TOS_MIGRATION_NOT_REQUIRED);
      break;
    case PSCI_FN.affinityInfo:
    case PSCI_FN.affinityInfo64:
      // Level 0 asks about one CPU (ours is ON = 0); every higher affinity level is always on.
      if (!isZero(cpu, 2)) setResult(cpu, 0);
      else setResult(cpu, isZero(cpu, 1) ? 0 : PSCI_RET.invalidParameters);
      break;
    case PSCI_FN.systemOff:
      actions.systemOff();
      break;
    case PSCI_FN.systemReset:
      actions.systemReset();
      break;
    case PSCI_FN.v01CpuOn:
    case PSCI_FN.cpuOn:
    case PSCI_FN.cpuOn64:
      // QEMU checks the entry point alignment first, then that the target exists, then that it is off.
      if (cpu.xlo[2] & 3) setResult(cpu, PSCI_RET.invalidParameters);
      else if (low32Only(cpu, 1) !== CPU0_AFFINITY) setResult(cpu, PSCI_RET.invalidParameters);
      else setResult(cpu, PSCI_RET.alreadyOn);
      break;
    case PSCI_FN.v01CpuOff:
    case PSCI_FN.cpuOff:
      actions.cpuOff();
      break;
    case PSCI_FN.v01CpuSuspend:
    case PSCI_FN.cpuSuspend:
    case PSCI_FN.cpuSuspend64:
      // Only the power-state bits QEMU accepts: a non-zero affinity level (bits 31:17 of W1) is refused.
      if ((cpu.xlo[1] >>> 0) & 0xfffe0000) {
        setResult(cpu, PSCI_RET.invalidParameters);
        break;
      }
      setResult(cpu, PSCI_RET.success);
      // Powerdown is not supported: the CPU waits for an interrupt as WFI does, then returns success.
      if (!cpu.irqLine && !cpu.fiqLine) cpu.halted = true;
      break;
    case PSCI_FN.features:
      setResult(cpu, cpu.xhi[1] === 0 && FEATURES.has(cpu.xlo[1] >>> 0) ? PSCI_RET.success : PSCI_RET.notSupported);
      break;
    default:
      // MIGRATE, unknown PSCI functions and any other SMCCC service.
      setResult(cpu, PSCI_RET.notSupported);
      break;
  }
  return true;
}

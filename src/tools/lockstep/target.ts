/**
 * What the lockstep oracle needs from a machine: single-step it and read its AArch64 registers.
 *
 * Two implementations: `QemuTarget` (qemu-system-aarch64 through its gdbstub, the reference) and Rewind's own
 * machine (the system under test, implemented by the emulator; the CLI loads it from
 * `src/tools/lockstep/rewind-target.ts`, which must export
 * `createRewindTarget(options: RewindTargetOptions): LockstepTarget | Promise<LockstepTarget>`).
 *
 * Methods may be synchronous or return promises.
 *
 * What one step is must match QEMU's gdbstub single step: one instruction retires; or an instruction faults or
 * traps (SVC/HVC/SMC, undefined, abort) and the step ends at the exception vector before the handler's first
 * instruction; or a pending interrupt is taken at the boundary and the step ends at the vector without executing
 * anything. A step that powers the machine off (PSCI SYSTEM_OFF) returns "exited".
 */

export type MaybePromise<T> = T | Promise<T>;

/** After a step: still running, or the machine powered off / the connection to it ended. */
export type StepStatus = "running" | "exited";

/** AArch64 register state. 64-bit values are bigint (this is a diagnostic tool, not a hot path). */
export interface RegisterSnapshot {
  /** x0..x30 */
  x: bigint[];
  sp: bigint;
  pc: bigint;
  /** PSTATE as GDB shows it (32 bits: NZCV, DAIF, EL/SP select...). */
  cpsr: number;
  /** v0..v31, 128 bits each. Optional: a target that leaves it out is not compared on it. */
  v?: bigint[];
  fpsr?: number;
  fpcr?: number;
  /** System registers by QEMU's gdbstub name (e.g. "VBAR", "ESR_EL1", "ELR_EL1"), when asked for. */
  sys?: Record<string, bigint>;
}

export interface LockstepTarget {
  /** One line for reports, e.g. "QEMU 7.2.x (replay of a recorded run)". */
  describe(): string;
  /** Executes one step. Returns "exited" if the machine powered off during it (void means "running"). */
  step(): MaybePromise<StepStatus | void>;
  /**
   * The registers now. Must return a fresh object (or one never mutated afterwards): the oracle may queue
   * snapshots while the other side catches up.
   */
  registers(): MaybePromise<RegisterSnapshot>;
  /** The encoding of the instruction the last step executed (or tried to), when known. Optional. */
  lastInstruction?(): number | undefined;
  /** Disassembles the instruction at `pc` (its encoding is passed when known). Optional. */
  disassemble?(pc: bigint, encoding?: number): MaybePromise<string>;
  /** Reads guest memory at a virtual address (used to show the diverging instruction's encoding). Optional. */
  readMemory?(addr: bigint, length: number): MaybePromise<Uint8Array>;
  /**
   * The reference read another value from a free-running counter (CNTVCT_EL0, CNTPCT_EL0, PMCCNTR_EL0) in the
   * step just executed: set `register` ("xN") to `value`, and ideally shift the counter so later reads (and
   * timer deadlines computed from them) agree. Absolute counter values differ between machines (QEMU's starts
   * at an offset that varies from run to run), so without this any guest that reads the time diverges there.
   * Optional.
   */
  adoptCounterRead?(register: string, value: bigint): MaybePromise<void>;
  /**
   * The reference's step just entered an exception and its PSTATE.{N,Z,C,V} differ from the target's only
   * because QEMU clears them on AArch64 exception entry (`arm_cpu_do_interrupt_aarch64` writes PSTATE =
   * DAIF | mode), whereas the Arm ARM's AArch64.TakeException leaves them unchanged. If the target's last step
   * did enter an exception, set its NZCV to `nzcv` (bits 3..0 = N,Z,C,V) and return true; otherwise change
   * nothing and return false (the difference is then a real divergence). Optional.
   */
  adoptExceptionEntryFlags?(nzcv: number): MaybePromise<boolean>;
  /**
   * Executes `n` steps at once, at the target's full speed (a fast tier runs them as compiled code). The oracle
   * only asks for steps the reference showed to be plain: no exception entry, no WFI/WFE, no counter read, so
   * the result must equal `n` calls of `step`. Optional: without it every step is taken one by one.
   */
  runSteps?(n: number): MaybePromise<StepStatus | void>;
  /** Everything the guest wrote to its first serial port so far. Optional. */
  serialOutput?(): string;
  close(): MaybePromise<void>;
}

/** Options the CLI passes to `createRewindTarget`. */
export interface RewindTargetOptions {
  kernel: string;
  /** The `-icount` value as given (e.g. "shift=7"). */
  icount: string;
  machine: string;
  cpu: string;
  /** A device tree file both sides load (`-dtb`), so guests that read it see the same bytes. */
  dtb?: string;
  /** What runs the target's guest code: its interpreter (the default) or a compiling tier, by the target's name. */
  engine?: string;
}

/**
 * Whether the only difference after a step is QEMU's clearing of NZCV on exception entry: the reference's CPSR
 * differs from the target's in N, Z, C, V alone, its NZCV is 0000 and D, A, I, F are all masked (as on entry to
 * any exception vector). Whether the step really entered an exception is for the target to confirm.
 */
export function isExceptionEntryFlagsDifference(reference: RegisterSnapshot, target: RegisterSnapshot): boolean {
  const xor = (reference.cpsr ^ target.cpsr) >>> 0;
  return xor !== 0 && (xor & 0x0fffffff) === 0 && reference.cpsr >>> 28 === 0 && (reference.cpsr & 0x3c0) === 0x3c0;
}

/** Register names in comparison order: x0..x30, sp, pc, cpsr, v0..v31, fpsr, fpcr, then system registers. */
export const CORE_REGISTER_NAMES: readonly string[] = [...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp", "pc", "cpsr"];
export const FPU_REGISTER_NAMES: readonly string[] = [...Array.from({ length: 32 }, (_, i) => `v${i}`), "fpsr", "fpcr"];

/** Bit width of a register name, for formatting. */
export function registerBits(name: string): number {
  if (name === "cpsr" || name === "fpsr" || name === "fpcr") return 32;
  if (/^v\d+$/.test(name)) return 128;
  return 64;
}

/** Flattens a snapshot into name → value (only what it contains). */
export function snapshotToMap(s: RegisterSnapshot): Map<string, bigint> {
  const m = new Map<string, bigint>();
  s.x.forEach((v, i) => m.set(`x${i}`, v));
  m.set("sp", s.sp);
  m.set("pc", s.pc);
  m.set("cpsr", BigInt(s.cpsr >>> 0));
  s.v?.forEach((v, i) => m.set(`v${i}`, v));
  if (s.fpsr !== undefined) m.set("fpsr", BigInt(s.fpsr >>> 0));
  if (s.fpcr !== undefined) m.set("fpcr", BigInt(s.fpcr >>> 0));
  if (s.sys) for (const [k, v] of Object.entries(s.sys)) m.set(k, v);
  return m;
}

/** Builds a snapshot from name → value (as read over GDB). Throws if a core register is missing. */
export function snapshotFromMap(m: Map<string, bigint>, sysNames: readonly string[] = []): RegisterSnapshot {
  const need = (name: string): bigint => {
    const v = m.get(name);
    if (v === undefined) throw new Error(`register ${name} was not read`);
    return v;
  };
  const snap: RegisterSnapshot = {
    x: Array.from({ length: 31 }, (_, i) => need(`x${i}`)),
    sp: need("sp"),
    pc: need("pc"),
    cpsr: Number(need("cpsr")),
  };
  if (m.has("v0")) snap.v = Array.from({ length: 32 }, (_, i) => need(`v${i}`));
  if (m.has("fpsr")) snap.fpsr = Number(m.get("fpsr"));
  if (m.has("fpcr")) snap.fpcr = Number(m.get("fpcr"));
  if (sysNames.length) {
    snap.sys = {};
    for (const n of sysNames) {
      const v = m.get(n);
      if (v !== undefined) snap.sys[n] = v;
    }
  }
  return snap;
}

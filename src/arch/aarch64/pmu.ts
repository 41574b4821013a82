// The Cortex-A53's performance monitors (PMUv3) as QEMU models them: six event counters and the cycle
// counter, counting the events QEMU supports — SW_INCR, INST_RETIRED (the icount) and CPU_CYCLES (virtual ns
// at 1 GHz, as QEMU derives cycles from the virtual clock). Linux programs these at boot; guests read them.
// Overflow interrupts are not wired (no PMU interrupt in the device tree, as with QEMU's virt without KVM).

import type { VirtualClock } from "../../core/clock.js";
import { field, type StateDescription } from "../../core/vmstate.js";
import { sysregKey } from "./sysregs.js";

const COUNTERS = 6;
/** IMP = Arm, IDCODE = 0x03 (Cortex-A53), N = 6 counters: QEMU's reset value for the A53. */
export const PMCR_RESET = 0x41033000;
const PMCR_WRITABLE = 0x7f; // E, P, C, D, X, DP, LC
const EVENT_SW_INCR = 0x00;
const EVENT_INST_RETIRED = 0x08;
const EVENT_CPU_CYCLES = 0x11;
/** Events implemented: bits 0 (SW_INCR), 8 (INST_RETIRED), 17 (CPU_CYCLES). */
const PMCEID0 = (1 << EVENT_SW_INCR) | (1 << EVENT_INST_RETIRED) | (1 << EVENT_CPU_CYCLES);
const CYCLE_BIT = 31;
const TWO32 = 4294967296;

export const PMU_STATE: StateDescription<Pmu> = {
  version: 1,
  fields: [
    field.u32("pmcr"),
    field.u32("cntenset"),
    field.u32("intenset"),
    field.u32("ovsset"),
    field.u32("selr", { max: 0x1f }),
    field.u32("userenr", { max: 0xf }),
    field.u32("ccfiltr"),
    field.u32s("evtyper", COUNTERS),
    field.numbers("evcntr", COUNTERS),
    field.number("ccntr", { check: (v: number) => (v < 0 ? "a count cannot be negative" : undefined) }),
  ],
  preSave: (pmu) => pmu.sync(),
  postLoad: (pmu) => pmu.resync(),
};

export class Pmu {
  pmcr = PMCR_RESET;
  cntenset = 0;
  intenset = 0;
  ovsset = 0;
  selr = 0;
  userenr = 0;
  ccfiltr = 0;
  readonly evtyper = new Uint32Array(COUNTERS);
  /** Counter values as of the last sync (event counters 32-bit; the cycle counter 64-bit, exact up to 2^53). */
  readonly evcntr = new Float64Array(COUNTERS);
  ccntr = 0;
  private lastIcount = 0;
  private lastNs = 0;

  constructor(private readonly clock: VirtualClock) {}

  reset(): void {
    this.pmcr = PMCR_RESET;
    this.cntenset = this.intenset = this.ovsset = this.selr = this.userenr = this.ccfiltr = 0;
    this.evtyper.fill(0);
    this.evcntr.fill(0);
    this.ccntr = 0;
    this.lastIcount = this.clock.icount;
    this.lastNs = this.clock.ns;
  }

  private counting(bit: number): boolean {
    return (this.pmcr & 1) !== 0 && (this.cntenset & (1 << bit)) !== 0;
  }

  /** Brings every enabled counter up to now (called before any access and any change of what counts). */
  sync(): void {
    const icount = this.clock.icount;
    const ns = this.clock.ns;
    const dI = icount - this.lastIcount;
    const dNs = ns - this.lastNs;
    this.lastIcount = icount;
    this.lastNs = ns;
    if ((this.pmcr & 1) === 0) return;
    if (this.counting(CYCLE_BIT)) {
      // PMCR.D: count every 64th cycle.
      const cycles = (this.pmcr & 8) !== 0 ? Math.floor(dNs / 64) : dNs;
      const next = this.ccntr + cycles;
      if (next >= TWO32 * TWO32 || ((this.pmcr & 0x40) === 0 && Math.floor(next / TWO32) !== Math.floor(this.ccntr / TWO32))) this.ovsset |= 1 << CYCLE_BIT;
      this.ccntr = next % (TWO32 * TWO32);
    }
    for (let i = 0; i < COUNTERS; i++) {
      if (!this.counting(i)) continue;
      const ev = this.evtyper[i] & 0xffff;
      const delta = ev === EVENT_INST_RETIRED ? dI : ev === EVENT_CPU_CYCLES ? dNs : 0;
      if (delta === 0) continue;
      const next = this.evcntr[i] + delta;
      if (next >= TWO32) this.ovsset |= 1 << i;
      this.evcntr[i] = next % TWO32;
    }
  }

  writePmcr(v: number): void {
    this.sync();
    if (v & 2) this.evcntr.fill(0); // P: reset event counters
    if (v & 4) this.ccntr = 0; // C: reset the cycle counter
    this.pmcr = ((this.pmcr & ~PMCR_WRITABLE) | (v & PMCR_WRITABLE)) >>> 0;
  }

  swinc(mask: number): void {
    this.sync();
    for (let i = 0; i < COUNTERS; i++) {
      if ((mask & (1 << i)) === 0 || !this.counting(i) || (this.evtyper[i] & 0xffff) !== EVENT_SW_INCR) continue;
      const next = this.evcntr[i] + 1;
      if (next >= TWO32) this.ovsset |= 1 << i;
      this.evcntr[i] = next % TWO32;
    }
  }

  /** After a load: the saved values are as of the saved clock, which the machine restores before the CPU. */
  resync(): void {
    this.lastIcount = this.clock.icount;
    this.lastNs = this.clock.ns;
  }
}

/** A system register of the PMU, in the shape of the system-register table (see sysregs.ts). */
export interface PmuRegister {
  name: string;
  key: number;
  minEl: number;
  read?: (s: { hi: number; pmu: Pmu }) => number;
  write?: (s: { pmu: Pmu }, lo: number, hi: number) => void;
}

const lo32 = (s: { hi: number }, v: number) => ((s.hi = 0), v >>> 0);

export function pmuRegisters(): PmuRegister[] {
  const k = sysregKey;
  const selected = (p: Pmu) => p.selr & 0x1f;
  const regs: PmuRegister[] = [
    { name: "PMCR_EL0", key: k(3, 3, 9, 12, 0), minEl: 0, read: (s) => lo32(s, s.pmu.pmcr), write: (s, v) => s.pmu.writePmcr(v) },
    { name: "PMCNTENSET_EL0", key: k(3, 3, 9, 12, 1), minEl: 0, read: (s) => lo32(s, s.pmu.cntenset), write: (s, v) => (s.pmu.sync(), (s.pmu.cntenset = (s.pmu.cntenset | (v & 0x8000003f)) >>> 0)) },
    { name: "PMCNTENCLR_EL0", key: k(3, 3, 9, 12, 2), minEl: 0, read: (s) => lo32(s, s.pmu.cntenset), write: (s, v) => (s.pmu.sync(), (s.pmu.cntenset = (s.pmu.cntenset & ~v) >>> 0)) },
    { name: "PMOVSCLR_EL0", key: k(3, 3, 9, 12, 3), minEl: 0, read: (s) => (s.pmu.sync(), lo32(s, s.pmu.ovsset)), write: (s, v) => (s.pmu.sync(), (s.pmu.ovsset = (s.pmu.ovsset & ~v) >>> 0)) },
    { name: "PMSWINC_EL0", key: k(3, 3, 9, 12, 4), minEl: 0, write: (s, v) => s.pmu.swinc(v) },
    { name: "PMSELR_EL0", key: k(3, 3, 9, 12, 5), minEl: 0, read: (s) => lo32(s, s.pmu.selr), write: (s, v) => void (s.pmu.selr = v & 0x1f) },
    { name: "PMCEID0_EL0", key: k(3, 3, 9, 12, 6), minEl: 0, read: (s) => lo32(s, PMCEID0) },
    { name: "PMCEID1_EL0", key: k(3, 3, 9, 12, 7), minEl: 0, read: (s) => lo32(s, 0) },
    {
      name: "PMCCNTR_EL0", key: k(3, 3, 9, 13, 0), minEl: 0,
      read: (s) => (s.pmu.sync(), (s.hi = Math.floor(s.pmu.ccntr / TWO32) >>> 0), s.pmu.ccntr >>> 0),
      write: (s, lo, hi) => (s.pmu.sync(), (s.pmu.ccntr = (hi >>> 0) * TWO32 + (lo >>> 0))),
    },
    {
      name: "PMXEVTYPER_EL0", key: k(3, 3, 9, 13, 1), minEl: 0,
      read: (s) => lo32(s, selected(s.pmu) === 31 ? s.pmu.ccfiltr : s.pmu.evtyper[selected(s.pmu)] ?? 0),
      write: (s, v) => {
        s.pmu.sync();
        const n = selected(s.pmu);
        if (n === 31) s.pmu.ccfiltr = v >>> 0;
        else if (n < COUNTERS) s.pmu.evtyper[n] = v >>> 0;
      },
    },
    {
      name: "PMXEVCNTR_EL0", key: k(3, 3, 9, 13, 2), minEl: 0,
      read: (s) => (s.pmu.sync(), lo32(s, s.pmu.evcntr[selected(s.pmu)] ?? 0)),
      write: (s, v) => {
        s.pmu.sync();
        const n = selected(s.pmu);
        if (n < COUNTERS) s.pmu.evcntr[n] = v >>> 0;
      },
    },
    { name: "PMUSERENR_EL0", key: k(3, 3, 9, 14, 0), minEl: 0, read: (s) => lo32(s, s.pmu.userenr), write: (s, v) => void (s.pmu.userenr = v & 0xf) },
    { name: "PMINTENSET_EL1", key: k(3, 0, 9, 14, 1), minEl: 1, read: (s) => lo32(s, s.pmu.intenset), write: (s, v) => void (s.pmu.intenset = (s.pmu.intenset | (v & 0x8000003f)) >>> 0) },
    { name: "PMINTENCLR_EL1", key: k(3, 0, 9, 14, 2), minEl: 1, read: (s) => lo32(s, s.pmu.intenset), write: (s, v) => void (s.pmu.intenset = (s.pmu.intenset & ~v) >>> 0) },
    { name: "PMOVSSET_EL0", key: k(3, 3, 9, 14, 3), minEl: 0, read: (s) => (s.pmu.sync(), lo32(s, s.pmu.ovsset)), write: (s, v) => (s.pmu.sync(), (s.pmu.ovsset = (s.pmu.ovsset | (v & 0x8000003f)) >>> 0)) },
    { name: "PMCCFILTR_EL0", key: k(3, 3, 14, 15, 7), minEl: 0, read: (s) => lo32(s, s.pmu.ccfiltr), write: (s, v) => (s.pmu.sync(), (s.pmu.ccfiltr = v >>> 0)) },
  ];
  for (let n = 0; n < COUNTERS; n++) {
    regs.push(
      {
        name: `PMEVCNTR${n}_EL0`, key: k(3, 3, 14, 8 + (n >> 3), n & 7), minEl: 0,
        read: (s) => (s.pmu.sync(), lo32(s, s.pmu.evcntr[n])),
        write: (s, v) => (s.pmu.sync(), (s.pmu.evcntr[n] = v >>> 0)),
      },
      {
        name: `PMEVTYPER${n}_EL0`, key: k(3, 3, 14, 12 + (n >> 3), n & 7), minEl: 0,
        read: (s) => lo32(s, s.pmu.evtyper[n]),
        write: (s, v) => (s.pmu.sync(), (s.pmu.evtyper[n] = v >>> 0)),
      },
    );
  }
  return regs;
}

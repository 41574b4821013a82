// ACPI power-management timer (PM_TMR, 24 bits at 3.579545 MHz), as QEMU 7.2's hw/acpi/core.c
// (acpi_pm_tmr_get_clock, acpi_pm_tmr_read): value = floor(virtual_ns · 3579545 / 1e9) mod 2^24, counted from
// virtual time 0, exact (BigInt muldiv64). The register is 32 bits wide and only 4-byte reads are valid; the
// PIIX4 PM function maps it at PMBASE + 8 (0x608 with SeaBIOS's PMBASE 0x600). It has no state of its own.
// Not modelled here: the overflow status/SCI (TMR_STS/TMR_EN live in PM1a_EVT, owned by the PM function;
// `nextOverflowNs` gives it the deadline QEMU's acpi_pm_tmr_update computes).

import type { VirtualClock } from "../../core/clock.js";
import type { PortHandler } from "../../core/ports.js";
import { muldiv64 } from "./i8254.js";

export const PM_TIMER_FREQUENCY = 3579545;
const NS = 1_000_000_000;

export class AcpiPmTimer {
  readonly ports: PortHandler;

  constructor(private readonly clock: VirtualClock) {
    this.ports = {
      read: (off, size) => (off === 0 && size === 4 ? this.value() : size === 4 ? 0xffffffff : (1 << (8 * size)) - 1),
      write: () => {}, // read-only
    };
  }

  /** PM1_TMR value now. */
  value(): number {
    return muldiv64(this.clock.ns, PM_TIMER_FREQUENCY, NS) % 0x1000000;
  }

  /** Virtual ns of the next 2^23 boundary (bit 23 toggle: TMR_STS), as acpi_pm_tmr_update. */
  nextOverflowNs(): number {
    const d = muldiv64(this.clock.ns, PM_TIMER_FREQUENCY, NS);
    const next = (Math.floor(d / 0x800000) + 1) * 0x800000;
    return muldiv64(next, NS, PM_TIMER_FREQUENCY);
  }
}

// The PC's legacy devices that SeaBIOS touches, and where a pc board maps them (QEMU 7.2's port map).
// Construction and IRQ wiring stay with the board; `mapPcLegacyPorts` only maps the port ranges.

import type { PortSpace } from "../../core/ports.js";
import type { AcpiPmTimer } from "./acpi-pm-timer.js";
import type { FwCfg } from "./fw-cfg.js";
import type { I8042 } from "./i8042.js";
import type { I8254 } from "./i8254.js";
import type { I8259Pair } from "./i8259.js";
import type { Mc146818 } from "./mc146818.js";
import type { Port92 } from "./port92.js";

export { AcpiPmTimer, PM_TIMER_FREQUENCY } from "./acpi-pm-timer.js";
export * from "./fw-cfg.js";
export { addPcFwCfgItems, e820Bytes, E820_RAM, E820_RESERVED, type E820Entry, type PcFwCfgConfig } from "./fw-cfg-pc.js";
export { I8042, type I8042Callbacks } from "./i8042.js";
export { I8254, PIT_FREQ, muldiv64 } from "./i8254.js";
export { I8259Pair } from "./i8259.js";
export { Mc146818, pcCmosDefaults, type Mc146818Options, type PcCmosConfig } from "./mc146818.js";
export { Port92, type Port92Callbacks } from "./port92.js";
export { ISA_SERIAL, Uart16550, UART_BAUD_BASE, UART_PORTS } from "./uart16550.js";

/** ISA IRQ numbers of the devices here. */
export const PC_IRQ = { pit: 0, keyboard: 1, rtc: 8, mouse: 12 } as const;

export interface PcLegacyDevices {
  pic: I8259Pair;
  pit: I8254;
  rtc: Mc146818;
  fwCfg: FwCfg;
  port92: Port92;
  i8042: I8042;
  /** Mapped at PMBASE + 8 by the PIIX4 PM function once the guest sets PMBASE; `pmTimerPort` maps it fixed. */
  pmTimer?: AcpiPmTimer;
  pmTimerPort?: number;
}

export function mapPcLegacyPorts(ports: PortSpace, d: PcLegacyDevices): void {
  ports.map("pic-master", 0x20, 2, d.pic.masterPorts);
  ports.map("pic-slave", 0xa0, 2, d.pic.slavePorts);
  ports.map("elcr", 0x4d0, 2, d.pic.elcrPorts);
  ports.map("pit", 0x40, 4, d.pit.ports);
  ports.map("pcspk", 0x61, 1, d.pit.port61);
  ports.map("i8042-data", 0x60, 1, d.i8042.dataPort);
  ports.map("i8042-cmd", 0x64, 1, d.i8042.commandPort);
  ports.map("rtc", 0x70, 2, d.rtc.ports);
  ports.map("port92", 0x92, 1, d.port92.ports);
  ports.map("fw_cfg", 0x510, 2, d.fwCfg.ports);
  ports.map("fw_cfg-dma", 0x514, 8, d.fwCfg.dmaPorts);
  if (d.pmTimer && d.pmTimerPort !== undefined) ports.map("acpi-pm-timer", d.pmTimerPort, 4, d.pmTimer.ports);
}

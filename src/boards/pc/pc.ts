// The x86 `pc` board, first slice (issue 9): RAM, the BIOS image at the top of the first megabyte and of the
// 4 GiB space as QEMU maps it, the QEMU test devices a bare-metal guest needs (isa-debugcon, isa-debug-exit), and
// the core run loop over the x86 interpreter. The i440FX/PIIX3 chipset, interrupt controllers, timers, fw_cfg and
// the rest of what SeaBIOS touches come next; this machine runs the bundled guests in guests/x86.

import { VirtualClock } from "../../core/clock.js";
import { AddressSpace, Ram } from "../../core/memory.js";
import { PortSpace } from "../../core/ports.js";
import { RunLoop } from "../../core/run-loop.js";
import type { Machine, StopReason } from "../../core/machine.js";
import type { Position } from "../../core/position.js";
import type { Stateful } from "../../core/state.js";
import { X86Cpu } from "../../arch/x86/cpu.js";
import { X86Interpreter } from "../../arch/x86/interpreter.js";
import { IrqLine } from "../../core/irq.js";
import { createPcChipset, type PcChipset } from "./chipset.js";
import { addPcFirmwareFiles } from "./firmware-files.js";
import { addPcFwCfgItems, E820_RAM, E820_RESERVED, FwCfg, I8042, I8254, I8259Pair, mapPcLegacyPorts, Mc146818, pcCmosDefaults, PC_IRQ, Port92 } from "../../devices/pc/index.js";

export interface PcConfig {
  /** Guest RAM in bytes (at 0, with the ISA hole at 640 KiB - 1 MiB). */
  ramSize: number;
  icountShift: number;
  /** The BIOS image (64 KiB to 16 MiB, a multiple of 64 KiB), e.g. SeaBIOS's bios-256k.bin or a bundled guest. */
  bios: Uint8Array;
  /** isa-debugcon's output (port `debugconPort`, 0x402 as SeaBIOS and the issue use it). */
  debugcon?: (byte: number) => void;
  debugconPort?: number;
  /** isa-debug-exit: iobase and iosize (QEMU's -device isa-debug-exit,iobase=0xf4,iosize=0x4). */
  debugExit?: { iobase: number; iosize: number };
  /** Host wall-clock seconds at boot for the RTC: an input (recorded, replayed), never read by the board. */
  rtcBootSeconds?: number;
  log?: (line: string) => void;
  /** Option ROMs for fw_cfg's genroms/ (QEMU gives every pc guest kvmvapic.bin: /usr/share/qemu/kvmvapic.bin). */
  optionRoms?: readonly { name: string; data: Uint8Array }[];
}

const LOW_RAM = 0xa0000;
const MiB = 1 << 20;

export class PcMachine implements Machine {
  readonly clock: VirtualClock;
  readonly bus: AddressSpace;
  readonly ports = new PortSpace();
  readonly cpu: X86Cpu;
  readonly interp: X86Interpreter;
  readonly stateParts: readonly Stateful[];
  /** isa-debug-exit's status ((value << 1) | 1), once the guest wrote it. */
  exitCode: number | undefined;
  /** Why the machine stopped with "stuck". */
  stuckReason: string | undefined;
  private readonly loop: RunLoop;
  /** The 8259 pair (tests raise ISA IRQs through it). */
  readonly pic: I8259Pair;
  readonly chipset: PcChipset;

  constructor(config: PcConfig) {
    const bios = config.bios;
    if (bios.length < 0x10000 || bios.length % 0x10000 !== 0 || bios.length > 16 * MiB)
      throw new RangeError(`a BIOS image must be a multiple of 64 KiB up to 16 MiB, not ${bios.length} bytes`);
    if (config.ramSize < 2 * MiB || config.ramSize % MiB !== 0) throw new RangeError("pc RAM must be a multiple of 1 MiB, at least 2 MiB");
    this.clock = new VirtualClock(config.icountShift);
    const low = new Ram(0, LOW_RAM, { name: "ram" });
    this.bus = new AddressSpace(low, { unassigned: "all-ones" });
    const high = new Ram(MiB, Math.min(config.ramSize, 0xe0000000) - MiB, { name: "ram-high" });
    this.bus.addRam(high);
    // The BIOS: its last 128 KiB (or all of a smaller image) below 1 MiB, and the whole image below 4 GiB.
    const isaSize = Math.min(bios.length, 0x20000);
    const isaBios = new Ram(MiB - isaSize, isaSize, { name: "isa-bios", readOnly: true });
    isaBios.bytes.set(bios.subarray(bios.length - isaSize));
    const topBios = new Ram(2 ** 32 - bios.length, bios.length, { name: "bios", readOnly: true });
    topBios.bytes.set(bios);
    this.bus.addRam(isaBios, { mapped: false }); // the i440FX's PAM routes it
    this.bus.addRam(topBios);
    this.chipset = createPcChipset({ bus: this.bus, ports: this.ports, clock: this.clock, ramSize: config.ramSize, isaBios, codeAddress: () => this.pc32(), requestReset: () => this.loop.stopAtBoundary("reset") });

    const out = config.debugcon ?? (() => {});
    this.ports.map("isa-debugcon", config.debugconPort ?? 0x402, 1, { read: () => 0xe9, write: (_o, _s, v) => out(v & 0xff) });
    if (config.debugExit) {
      this.ports.map("isa-debug-exit", config.debugExit.iobase, config.debugExit.iosize, {
        read: () => 0xffffffff,
        write: (_o, _s, v) => {
          this.exitCode = ((v << 1) | 1) >>> 0;
          this.loop.stopAtBoundary("poweroff");
        },
      });
    }
    this.cpu = new X86Cpu(this.bus, this.ports);
    // The legacy devices SeaBIOS programs (src/devices/pc), on the 8259 pair that drives the CPU's INTR.
    const belowFourGiB = Math.min(config.ramSize, 0xe0000000);
    const pic = new I8259Pair();
    const pit = new I8254(this.clock, new IrqLine(pic, PC_IRQ.pit));
    const rtc = new Mc146818(this.clock, new IrqLine(pic, PC_IRQ.rtc), {
      bootSeconds: config.rtcBootSeconds ?? 0,
      cmos: pcCmosDefaults({ belowFourGiB }),
    });
    const bus = this.bus;
    const fwCfg = new FwCfg({
      read: (addr, len) => (bus.ramAt(addr, len) ? bus.readBytes(addr, len) : undefined),
      write: (addr, data) => {
        if (!bus.ramAt(addr, data.length)) return false;
        bus.writeBytes(addr, data);
        return true;
      },
    });
    addPcFwCfgItems(fwCfg, {
      ramSize: config.ramSize,
      // As QEMU 7.2's pc_memory_init, in its order: qemu64 (AMD, 40 physical address bits) gets the
      // HyperTransport range below 1 TiB reserved, then one RAM entry from 0 (the legacy hole included).
      e820: [
        { address: 0xfd00000000, length: 0x300000000, type: E820_RESERVED },
        { address: 0, length: belowFourGiB, type: E820_RAM },
      ],
    });
    addPcFirmwareFiles(fwCfg, { ramSize: config.ramSize, optionRoms: config.optionRoms });
    // A20 is not masked yet (the gate is kept for the guest to read back); a reset request stops the machine.
    const a20 = { setA20: () => {}, requestReset: () => this.loop.stopAtBoundary("reset") };
    const port92 = new Port92(a20);
    const i8042 = new I8042(new IrqLine(pic, PC_IRQ.keyboard), new IrqLine(pic, PC_IRQ.mouse), a20);
    mapPcLegacyPorts(this.ports, { pic, pit, rtc, fwCfg, port92, i8042 });
    this.cpu.intr = { pending: () => pic.intrPending(), acknowledge: () => pic.acknowledge() };
    this.pic = pic;
    this.stateParts = [this.clock, this.cpu, low, high, isaBios, topBios, pic, pit, rtc, fwCfg, port92, i8042, ...this.chipset.stateParts];
    this.interp = new X86Interpreter(this.cpu, this.clock, (reason) => {
      this.stuckReason = reason;
      config.log?.(reason);
      this.loop.stopAtBoundary("stuck");
    });
    this.loop = new RunLoop(this.clock, this.interp, { guestReset: () => false });
  }

  run(until: Position): StopReason {
    return this.loop.run(until);
  }

  requestStop(): void {
    this.loop.stopAtBoundary("stopped");
  }

  pc(): bigint {
    return BigInt((this.cpu.segBaseLo[1] >>> 0) + (this.cpu.ripLo >>> 0));
  }

  private pc32(): number {
    return ((this.cpu.segBaseLo[1] >>> 0) + (this.cpu.ripLo >>> 0)) >>> 0;
  }
}

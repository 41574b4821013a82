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
import { enterMultiboot, planMultibootBoot, seabiosMemoryMap, type MultibootBoot, type MultibootFile } from "./multiboot.js";
import { ISA_SERIAL, Uart16550, UART_PORTS } from "../../devices/pc/uart16550.js";
import { addPcFwCfgItems, E820_RAM, FwCfg, I8042, I8254, I8259Pair, mapPcLegacyPorts, Mc146818, pcCmosDefaults, PC_IRQ, Port92 } from "../../devices/pc/index.js";

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
  /** 16550A UARTs (isa-serial): entry i is COM(i+1)'s transmit output (0x3f8 IRQ 4, 0x2f8 IRQ 3, ...). */
  serial?: ((byte: number) => void)[];
  /** A Multiboot kernel (-kernel), started directly in the state the spec defines (src/boards/pc/multiboot.ts). */
  kernel?: MultibootFile;
  /** -append: the kernel's command line after its file name. */
  append?: string;
  /** -initrd: Multiboot modules. */
  modules?: MultibootFile[];
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
  /** The 16550A UARTs, COM1 first (as many as PcConfig.serial has outputs). */
  readonly serialPorts: readonly Uart16550[];
  /** The Multiboot kernel's placement and entry (a system reset re-applies it: writes, then enterMultiboot). */
  readonly kernelBoot: MultibootBoot | undefined;

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
    this.bus.addRam(isaBios);
    this.bus.addRam(topBios);

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
      e820: [
        { address: 0, length: LOW_RAM, type: E820_RAM },
        { address: MiB, length: belowFourGiB - MiB, type: E820_RAM },
      ],
    });
    // A20 is not masked yet (the gate is kept for the guest to read back); a reset request stops the machine.
    const a20 = { setA20: () => {}, requestReset: () => this.loop.stopAtBoundary("reset") };
    const port92 = new Port92(a20);
    const i8042 = new I8042(new IrqLine(pic, PC_IRQ.keyboard), new IrqLine(pic, PC_IRQ.mouse), a20);
    mapPcLegacyPorts(this.ports, { pic, pit, rtc, fwCfg, port92, i8042 });
    this.cpu.intr = { pending: () => pic.intrPending(), acknowledge: () => pic.acknowledge() };
    this.pic = pic;
    if ((config.serial?.length ?? 0) > ISA_SERIAL.length) throw new RangeError(`the pc board has ${ISA_SERIAL.length} COM ports, not ${config.serial!.length}`);
    this.serialPorts = (config.serial ?? []).map((out, i) => {
      const { iobase, irq } = ISA_SERIAL[i];
      const uart = new Uart16550(this.clock, new IrqLine(pic, irq), out, `serial@${iobase.toString(16)}`);
      this.ports.map(`serial${i}`, iobase, UART_PORTS, uart.ports);
      return uart;
    });
    this.stateParts = [this.clock, this.cpu, low, high, isaBios, topBios, pic, pit, rtc, fwCfg, port92, i8042, ...this.serialPorts];
    const ram = [low, high].map((r) => ({ base: r.base, size: r.size }));
    const mb = config.kernel && { kernel: config.kernel, append: config.append, modules: config.modules, ram, memoryMap: seabiosMemoryMap(belowFourGiB) };
    this.kernelBoot = mb ? planMultibootBoot(mb) : undefined;
    if (this.kernelBoot) {
      for (const w of this.kernelBoot.writes) this.bus.writeBytes(w.addr, w.bytes);
      enterMultiboot(this.cpu, this.kernelBoot);
    }
    this.interp = new X86Interpreter(this.cpu, this.clock, (reason) => {
      this.stuckReason = reason;
      config.log?.(reason);
      this.loop.stopAtBoundary("stuck");
    });
    this.loop = new RunLoop(this.clock, this.interp, { guestReset: () => false });
  }

  /** COM1, where the session's serial input goes. */
  get serial0(): Uart16550 | undefined {
    return this.serialPorts[0];
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
}

// The x86 `pc` board (QEMU 7.2's `-M pc`): RAM, the BIOS image at the top of the first megabyte and of the
// 4 GiB space as QEMU maps it, the legacy devices SeaBIOS programs, the QEMU test devices bare-metal guests use
// (isa-debugcon, isa-debug-exit), and the core run loop over the x86 interpreter. It is a SessionMachine: record,
// replay, checkpoints and the debugger work on it as on virt.

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
import { ExecutedPages, type IntervalFlags } from "../../core/exec-summary.js";
import { X86Debug } from "../../arch/x86/debug.js";
import { EventKind } from "../../replay/format-types.js";
import type { InputChannel } from "../../replay/input.js";
import type { SessionMachine } from "../../session/target.js";
import type { IsaTestDevice } from "../board.js";
import { enterMultiboot, planMultibootBoot, seabiosMemoryMap, type MultibootBoot, type MultibootFile } from "./multiboot.js";
import { ISA_SERIAL, Uart16550, UART_PORTS } from "../../devices/pc/uart16550.js";
import { createPcChipset, type PcChipset } from "./chipset.js";
import { addPcFirmwareFiles } from "./firmware-files.js";
import { addPcFwCfgItems, E820_RAM, E820_RESERVED, FwCfg, I8042, I8254, I8259Pair, mapPcLegacyPorts, Mc146818, pcCmosDefaults, PC_IRQ, Port92 } from "../../devices/pc/index.js";

export interface PcConfig {
  /** Guest RAM in bytes (at 0, with the ISA hole at 640 KiB - 1 MiB). */
  ramSize: number;
  icountShift: number;
  /** The BIOS image (64 KiB to 16 MiB, a multiple of 64 KiB), e.g. SeaBIOS's bios-256k.bin or a bundled guest. */
  bios: Uint8Array;
  /** Shorthand for tests: an isa-debugcon at `debugconPort` (0x402, where SeaBIOS writes) with this output. */
  debugcon?: (byte: number) => void;
  debugconPort?: number;
  /** Shorthand for tests: an isa-debug-exit (QEMU's -device isa-debug-exit,iobase=0xf4,iosize=0x4). */
  debugExit?: { iobase: number; iosize: number };
  /** QEMU's ISA test devices as -device gives them; debugconOut[n] takes the n-th isa-debugcon's bytes. */
  isaDevices?: readonly IsaTestDevice[];
  debugconOut?: readonly ((byte: number) => void)[];
  /** -no-reboot: a guest reset (triple fault, port 0x92/0xcf9/i8042 reset) stops the machine instead. */
  noReboot?: boolean;
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
  /** Option ROMs for fw_cfg's genroms/ (QEMU gives every pc guest kvmvapic.bin: /usr/share/qemu/kvmvapic.bin). */
  optionRoms?: readonly { name: string; data: Uint8Array }[];
}

const LOW_RAM = 0xa0000;
/** IA32_APIC_BASE: the reset value (0xFEE00000, enabled, BSP) and its global enable bit. */
const MSR_APIC_BASE = 0x1b;
const APIC_BASE_RESET = 0xfee00900n;
const APIC_BASE_ENABLE = 0x800n;
const MiB = 1 << 20;

export class PcMachine implements Machine, SessionMachine {
  readonly clock: VirtualClock;
  readonly bus: AddressSpace;
  readonly ports = new PortSpace();
  readonly cpu: X86Cpu;
  readonly interp: X86Interpreter;
  readonly stateParts: readonly Stateful[];
  /** isa-debug-exit's status ((value << 1) | 1), once the guest wrote it. */
  exitCode: number | undefined;
  /** Why the machine stopped with "stuck". */
  stuckReason = "";
  readonly ram: readonly Ram[];
  readonly nonRamParts: readonly Stateful[];
  readonly executedPages = new ExecutedPages();
  readonly intervalFlags: IntervalFlags;
  readonly debug: X86Debug;
  private readonly loop: RunLoop;
  /** The 8259 pair (tests raise ISA IRQs through it). */
  readonly pic: I8259Pair;
  /** The 16550A UARTs, COM1 first (as many as PcConfig.serial has outputs). */
  readonly serialPorts: readonly Uart16550[];
  /** The Multiboot kernel's placement and entry (a system reset re-applies it: writes, then enterMultiboot). */
  readonly kernelBoot: MultibootBoot | undefined;
  readonly chipset: PcChipset;

  constructor(config: PcConfig) {
    const bios = config.bios;
    if (bios.length < 0x10000 || bios.length % 0x10000 !== 0 || bios.length > 16 * MiB)
      throw new RangeError(`a BIOS image must be a multiple of 64 KiB up to 16 MiB, not ${bios.length} bytes`);
    if (config.ramSize < 2 * MiB || config.ramSize % MiB !== 0) throw new RangeError("pc RAM must be a multiple of 1 MiB, at least 2 MiB");
    this.clock = new VirtualClock(config.icountShift);
    // The RAM above 1 MiB is the bus's primary region (its fast path): SeaBIOS, like any 32-bit code, runs there.
    const low = new Ram(0, LOW_RAM, { name: "ram" });
    const high = new Ram(MiB, Math.min(config.ramSize, 0xe0000000) - MiB, { name: "ram-high" });
    this.bus = new AddressSpace(high, { unassigned: "all-ones" });
    this.bus.addRam(low);
    // The BIOS: its last 128 KiB (or all of a smaller image) below 1 MiB, and the whole image below 4 GiB.
    const isaSize = Math.min(bios.length, 0x20000);
    const isaBios = new Ram(MiB - isaSize, isaSize, { name: "isa-bios", readOnly: true });
    isaBios.bytes.set(bios.subarray(bios.length - isaSize));
    const topBios = new Ram(2 ** 32 - bios.length, bios.length, { name: "bios", readOnly: true });
    topBios.bytes.set(bios);
    this.bus.addRam(isaBios, { mapped: false }); // the i440FX's PAM routes it
    this.bus.addRam(topBios);
    this.chipset = createPcChipset({
      bus: this.bus, ports: this.ports, clock: this.clock, ramSize: config.ramSize, isaBios, codeAddress: () => Number(this.debug.pc()),
      requestReset: () => this.loop.stopAtBoundary("reset"), com1: (config.serial?.length ?? 0) > 0,
    });

    this.mapIsaTestDevices(config);
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
    // The 8259 drives INTR through the local APIC's LINT0 (lapic.ts): the APIC check runs only when the PIC has
    // something, so the boundary check stays one call when nothing is pending.
    const lapic = this.chipset.lapic;
    const cpu = this.cpu;
    const apicEnabled = () => ((cpu.msrs.get(MSR_APIC_BASE) ?? APIC_BASE_RESET) & APIC_BASE_ENABLE) !== 0n;
    this.cpu.intr = { pending: () => pic.intrPending() && lapic.acceptsPicInterrupt(apicEnabled()), acknowledge: () => pic.acknowledge() };
    this.pic = pic;
    if ((config.serial?.length ?? 0) > ISA_SERIAL.length) throw new RangeError(`the pc board has ${ISA_SERIAL.length} COM ports, not ${config.serial!.length}`);
    this.serialPorts = (config.serial ?? []).map((out, i) => {
      const { iobase, irq } = ISA_SERIAL[i];
      const uart = new Uart16550(this.clock, new IrqLine(pic, irq), out, `serial@${iobase.toString(16)}`);
      this.ports.map(`serial${i}`, iobase, UART_PORTS, uart.ports);
      return uart;
    });
    this.ram = [low, high, isaBios, topBios, ...this.chipset.ram];
    this.nonRamParts = [this.clock, this.cpu, pic, pit, rtc, fwCfg, port92, i8042, ...this.serialPorts, ...this.chipset.stateParts];
    this.stateParts = [...this.nonRamParts, ...this.ram];
    this.resettable = [pic, pit, rtc, port92, i8042, ...this.serialPorts, this.chipset];
    const ram = [low, high].map((r) => ({ base: r.base, size: r.size }));
    const mb = config.kernel && { kernel: config.kernel, append: config.append, modules: config.modules, ram, memoryMap: seabiosMemoryMap(belowFourGiB) };
    this.kernelBoot = mb ? planMultibootBoot(mb) : undefined;
    this.loadKernel();
    this.interp = new X86Interpreter(
      this.cpu,
      this.clock,
      (reason) => {
        this.stuckReason = reason;
        this.loop.stopAtBoundary("stuck");
      },
      // The shutdown cycle, which the pc's chipset turns into a reset (QEMU: a reset request; with -no-reboot the
      // run ends).
      (where) => {
        config.log?.(`triple fault at ${where}: the machine resets${config.noReboot ? " (-no-reboot: the run ends)" : ""}`);
        this.loop.stopAtBoundary("reset");
      },
    );
    this.loop = new RunLoop(this.clock, this.interp, {
      guestReset: () => {
        if (config.noReboot) return false;
        this.systemReset();
        return true;
      },
    });
    this.interp.executed = this.executedPages;
    this.intervalFlags = this.cpu.intervalFlags;
    this.debug = new X86Debug(this.cpu, this.interp);
  }

  /** -device isa-debugcon / isa-debug-exit (and the tests' shorthands) on their ports. */
  private mapIsaTestDevices(config: PcConfig): void {
    const devices: IsaTestDevice[] = [...(config.isaDevices ?? [])];
    const outs = [...(config.debugconOut ?? [])];
    if (config.debugcon) {
      devices.push({ driver: "isa-debugcon", iobase: config.debugconPort ?? 0x402, readback: 0xe9 });
      outs[devices.filter((d) => d.driver === "isa-debugcon").length - 1] = config.debugcon;
    }
    if (config.debugExit) devices.push({ driver: "isa-debug-exit", ...config.debugExit });
    let debugcons = 0;
    for (const d of devices) {
      if (d.driver === "isa-debugcon") {
        const out = outs[debugcons++] ?? (() => {});
        this.ports.map("isa-debugcon", d.iobase, 1, { read: () => d.readback & 0xff, write: (_o, _s, v) => out(v & 0xff) });
      } else {
        // QEMU's debug_exit_write: exit((val << 1) | 1) — the run ends at this instruction's boundary.
        this.ports.map("isa-debug-exit", d.iobase, d.iosize, {
          read: () => 0xffffffff,
          write: (_o, _s, v) => {
            this.exitCode = ((v << 1) | 1) >>> 0;
            this.loop.stopAtBoundary("poweroff");
          },
        });
      }
    }
  }

  /** The exit status the guest asked for through isa-debug-exit. */
  get exitStatus(): number | undefined {
    return this.exitCode;
  }

  private readonly resettable: readonly { reset(): void }[];

  /** System reset (a guest's reset request without -no-reboot, QMP system_reset): the CPU and the devices go
   * back to their power-on state; RAM keeps its contents, as on QEMU's pc. */
  systemReset(): void {
    for (const d of this.resettable) d.reset();
    this.cpu.reset();
    this.loadKernel();
  }

  /** A Multiboot -kernel: its images in RAM and the CPU in the entry state (power-on and every reset). */
  private loadKernel(): void {
    if (!this.kernelBoot) return;
    for (const w of this.kernelBoot.writes) this.bus.writeBytes(w.addr, w.bytes);
    enterMultiboot(this.cpu, this.kernelBoot);
    // Under QEMU SeaBIOS runs before the kernel and leaves LINT0 in ExtINT mode, so the 8259's interrupts arrive.
    this.chipset.lapic.programVirtualWire();
  }

  inputChannels(): InputChannel[] {
    const com1 = this.serial0;
    return [
      {
        kind: EventKind.SerialRx,
        name: "serial0 (16550 receive)",
        // Without COM1 (-nodefaults, no -serial) typed bytes have nowhere to go: they wait, as with a full FIFO.
        ready: () => com1?.canReceive() ?? false,
        deliver: (payload) => {
          for (const b of payload) com1?.receive(b);
        },
      },
      { kind: EventKind.SystemReset, name: "system reset request", ready: () => true, deliver: () => this.systemReset() },
    ];
  }

  readPhysical(pa: number, length: number): Uint8Array {
    return this.bus.readBytes(pa, length);
  }

  writePhysical(pa: number, data: Uint8Array): void {
    this.bus.writeMemoryBytes(pa, data);
  }

  isRam(pa: number, length: number): boolean {
    return this.bus.isMemory(pa, length);
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

  /** The linear PC (CS base + IP; RIP in 64-bit code), as the debugger sees it. */
  pc(): bigint {
    return this.debug.pc();
  }

}

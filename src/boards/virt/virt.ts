// The AArch64 `virt` board: RAM, a Cortex-A53, GICv2, the generic timer, PL011, PL031 and PSCI, wired as
// QEMU 7.2's `-M virt -cpu cortex-a53` without EL2/EL3, booting an ELF, a Linux Image or a raw image.

import { VirtualClock } from "../../core/clock.js";
import { IrqLine } from "../../core/irq.js";
import type { StopReason } from "../../core/machine.js";
import type { Position } from "../../core/position.js";
import { RunLoop } from "../../core/run-loop.js";
import { AddressSpace, Ram } from "../../core/memory.js";
import type { Stateful } from "../../core/state.js";
import { Cpu, type CpuHooks } from "../../arch/aarch64/cpu.js";
import { GenericTimer } from "../../arch/aarch64/generic-timer.js";
import { Interpreter } from "../../arch/aarch64/interpreter.js";
import { BlockEngine, type BlockEngineStats } from "../../arch/aarch64/jit/block-engine.js";
import type { ExecutionEngine } from "../../core/engine.js";
import { ExecutedPages, type IntervalFlags } from "../../core/exec-summary.js";
import { WasmArena } from "../../arch/aarch64/jit/wasm/arena.js";
import type { BlockDrive, CompilerKind, DiskOwner, EngineKind } from "../board.js";
import { openImage } from "../../block/open-image.js";
import type { BlockDevice } from "../../block/block-device.js";
import { VirtioMmio } from "../../devices/virtio/mmio.js";
import { VirtioBlk, type BlkBacking } from "../../devices/virtio/blk.js";
import { GicV2 } from "../../devices/gicv2.js";
import { Pl011, PL011_MMIO_SIZE } from "../../devices/pl011.js";
import { Pl031 } from "../../devices/pl031.js";
import { handlePsciCall } from "../../devices/psci.js";
import { planBoot, type BootPlan } from "../loaders.js";
import { Aarch64Debug } from "../../arch/aarch64/debug.js";
import { AARCH64_GDB_REGISTERS, readAarch64Register, writeAarch64Register } from "../../arch/aarch64/gdb-registers.js";
import { EventKind } from "../../replay/format-types.js";
import type { InputChannel } from "../../replay/input.js";
import type { SessionMachine } from "../../session/target.js";
import { buildVirtDtb, prepareUserDtb, qemuVirtioMmioTransports, VIRT_MEMMAP, type VirtDevice } from "./dtb.js";

/** The optional devices of Rewind's virt tree: the PL031 and QEMU's 32 virtio-mmio transports. */
export const VIRT_DEVICES: readonly VirtDevice[] = [{ kind: "pl031" }, ...qemuVirtioMmioTransports()];

/** A virtio-blk disk: an image the board opens read-only, or (tests) the sectors themselves. */
export type VirtDisk = BlockDrive | { id: string; readOnly: boolean; backing: BlkBacking };

/** One virtio-blk-device: its drive, transport and device. */
export interface VirtBlkSlot {
  drive: VirtDisk;
  transport: VirtioMmio;
  blk: VirtioBlk;
  /** The image the board opened (absent for a test's backing). */
  image?: BlockDevice;
}

export interface VirtConfig {
  ramSize: number;
  icountShift: number;
  kernel: { name: string; bytes: Uint8Array };
  initrd?: { name: string; bytes: Uint8Array };
  /** A user-supplied device tree (-dtb). */
  dtb?: { name: string; bytes: Uint8Array };
  /**
   * Load `dtb` byte for byte, without setting /memory, /chosen bootargs and the initrd range. Only the QEMU oracles
   * use it, to give the guest the very blob QEMU's dumpdtb shows (QEMU's edits leave its own NOP layout).
   */
  dtbVerbatim?: boolean;
  append?: string;
  /** virtio-blk-device disks, in -device order: the first takes the top slot (0x0a003e00, SPI 47), as QEMU. */
  virtioBlk?: readonly VirtDisk[];
  /** virtio-mmio version 2 instead of QEMU's default legacy layout (QEMU: -global virtio-mmio.force-legacy=false). */
  virtioModern?: boolean;
  /** Host wall-clock seconds at boot for the RTC: an input (recorded, replayed), never read by the board. */
  rtcBootSeconds: number;
  /** The system counter's value at virtual time 0 (default 0). Only the QEMU oracles set it, to QEMU's. */
  counterStart?: number;
  /** Where the UART's transmitted bytes go. */
  serialOut: (byte: number) => void;
  /** Diagnostics (unimplemented instructions, boot warnings): one line each. */
  log: (line: string) => void;
  /** The execution engine ("fast" when absent). */
  engine?: EngineKind;
  /** Jumps to an address before the fast engine compiles the block there (tests lower it; default HOT_AFTER). */
  jitThreshold?: number;
  /** What the fast engine compiles to (REWIND_WASM=0 in the environment means "js" when absent). */
  compiler?: CompilerKind;
}

// Interrupt numbers (GIC INTIDs): SPI n is 32 + n; the timer PPIs are fixed by the architecture.
const INTID_UART = 32 + VIRT_MEMMAP.uart.irq;
const INTID_RTC = 32 + VIRT_MEMMAP.rtc.irq;
const INTID_VTIMER = 27;
const INTID_PTIMER = 30;

/** The largest RAM region; larger RAM is several contiguous regions. */
const RAM_REGION_MAX = 2 ** 31;
/** QEMU's virt puts RAM at 1 GiB and allows up to 255 GiB with highmem; Rewind allows 64 GiB (host memory). */
export const VIRT_MAX_RAM = 64 * 2 ** 30;

/** Where the kernel, initrd and device tree go for a configuration, and the tree itself (no machine needed). */
export function planVirtBoot(c: Pick<VirtConfig, "ramSize" | "kernel" | "initrd" | "dtb" | "dtbVerbatim" | "append">): BootPlan {
  const ram = { base: VIRT_MEMMAP.ram.base, size: c.ramSize };
  return planBoot({
    kernel: c.kernel.bytes,
    kernelName: c.kernel.name,
    initrd: c.initrd?.bytes,
    initrdName: c.initrd?.name,
    ram,
    makeDtb: ({ initrd }) => {
      const params = { ramBase: ram.base, ramSize: ram.size, bootargs: c.append, initrd };
      if (c.dtb) return c.dtbVerbatim ? c.dtb.bytes : prepareUserDtb(c.dtb.bytes, params);
      return buildVirtDtb({ ...params, devices: VIRT_DEVICES });
    },
  });
}

export class VirtMachine implements SessionMachine, DiskOwner {
  readonly clock: VirtualClock;
  /** The board's one RAM region (at 0x4000_0000). */
  readonly mainRam: Ram;
  /** Every RAM region: mainRam, then one more per further 2 GiB (QEMU's flash at 0 is not modelled). */
  readonly ram: readonly Ram[];
  readonly bus: AddressSpace;
  readonly cpu: Cpu;
  readonly interp: Interpreter;
  /** What runs guest code: the block engine over the interpreter, or the interpreter alone. */
  readonly engine: ExecutionEngine;
  readonly gic: GicV2;
  readonly uart: Pl011;
  readonly rtc: Pl031;
  readonly timer: GenericTimer;
  /** The 32 virtio-mmio transports, slot 0 (0x0a000000) first. */
  readonly virtio: readonly VirtioMmio[];
  /** The virtio-blk devices in -device order. */
  readonly disks: readonly VirtBlkSlot[];
  readonly stateParts: readonly Stateful[];
  readonly nonRamParts: readonly Stateful[];
  readonly boot: BootPlan;
  readonly debug: Aarch64Debug;
  readonly loop: RunLoop;
  readonly executedPages = new ExecutedPages();
  readonly intervalFlags: IntervalFlags;

  /** -no-reboot: a guest reset stops the machine instead of rebooting it. */
  noReboot = false;
  /** Why the guest is stuck, when run() returned "stuck". */
  stuckReason = "";
  private readonly reportedUndefined = new Set<string>();

  constructor(readonly config: VirtConfig) {
    this.clock = new VirtualClock(config.icountShift);
    // One typed array holds at most 4 GiB, and RAM page arithmetic is 32-bit: RAM is laid out as contiguous
    // regions of at most 2 GiB ("ram", then "ram1", "ram2", ...). The first is the bus's fast path.
    if (!Number.isSafeInteger(config.ramSize) || config.ramSize <= 0 || config.ramSize > VIRT_MAX_RAM)
      throw new RangeError(`RAM size ${config.ramSize} is out of range for virt (at most ${VIRT_MAX_RAM / 2 ** 30} GiB)`);
    const base = VIRT_MEMMAP.ram.base;
    const mainSize = Math.min(config.ramSize, RAM_REGION_MAX);
    // The fast tier compiles to WebAssembly when the registers and the primary RAM can live in its memory.
    const compiler = config.compiler ?? (process.env.REWIND_WASM === "0" ? "js" : "wasm");
    const arena = config.engine !== "interp" && compiler === "wasm" ? WasmArena.create(mainSize) : undefined;
    this.mainRam = new Ram(base, mainSize, { storage: arena?.ramStorage() });
    const ram = [this.mainRam];
    this.bus = new AddressSpace(this.mainRam);
    for (let off = RAM_REGION_MAX, n = 1; off < config.ramSize; off += RAM_REGION_MAX, n++) {
      const region = new Ram(base + off, Math.min(RAM_REGION_MAX, config.ramSize - off), { name: `ram${n}` });
      this.bus.addRam(region);
      ram.push(region);
    }
    this.ram = ram;
    const hooks: CpuHooks = {
      hvc: (cpu) =>
        handlePsciCall(cpu, {
          systemOff: () => this.stopAtBoundary("poweroff"),
          systemReset: () => this.stopAtBoundary("reset"),
          cpuOff: () => this.stopAtBoundary("poweroff"),
        }),
      reportUndefined: (lo, hi, insn) => this.reportUndefined(lo, hi, insn),
      guestStuck: (reason) => {
        if (this.loop.stopPending) return;
        this.stuckReason = reason;
        this.stopAtBoundary("stuck");
      },
    };
    this.cpu = new Cpu(this.bus, this.clock, hooks, arena?.cpuStorage());
    this.intervalFlags = this.cpu.intervalFlags;
    this.interp = new Interpreter(this.cpu);
    this.interp.executed = this.executedPages;
    if (config.engine === "interp") this.engine = this.interp;
    else {
      const blocks = new BlockEngine(this.cpu, this.interp, arena);
      if (config.jitThreshold !== undefined) blocks.hotAfter = config.jitThreshold;
      this.engine = blocks;
    }
    this.loop = new RunLoop(this.clock, this.engine, {
      guestReset: () => {
        if (this.noReboot) return false;
        this.systemReset();
        return true;
      },
    });
    this.gic = new GicV2((irq, fiq) => {
      this.cpu.irqLine = irq;
      this.cpu.fiqLine = fiq;
    });
    this.bus.map("gic-distributor", VIRT_MEMMAP.gicDist.base, VIRT_MEMMAP.gicDist.size, this.gic.distributor);
    this.bus.map("gic-cpu-interface", VIRT_MEMMAP.gicCpu.base, VIRT_MEMMAP.gicCpu.size, this.gic.cpuInterface);
    this.timer = new GenericTimer(this.clock, new IrqLine(this.gic, INTID_PTIMER), new IrqLine(this.gic, INTID_VTIMER), config.counterStart);
    this.cpu.sys.timer = this.timer;
    this.uart = new Pl011(new IrqLine(this.gic, INTID_UART), config.serialOut);
    this.bus.map("pl011", VIRT_MEMMAP.uart.base, PL011_MMIO_SIZE, this.uart);
    this.rtc = new Pl031(this.clock, new IrqLine(this.gic, INTID_RTC), config.rtcBootSeconds);
    this.bus.map("pl031", VIRT_MEMMAP.rtc.base, VIRT_MEMMAP.rtc.size, this.rtc);
    const disks = config.virtioBlk ?? [];
    const mm = VIRT_MEMMAP.virtioMmio;
    if (disks.length > mm.count) throw new RangeError(`the virt board has ${mm.count} virtio-mmio slots, not ${disks.length}`);
    const slots: VirtBlkSlot[] = [];
    const transports: VirtioMmio[] = [];
    for (let i = 0; i < mm.count; i++) {
      // QEMU plugs -device virtio-*-device into the last free transport first.
      const k = mm.count - 1 - i;
      const disk = k < disks.length ? disks[k] : undefined;
      const base = mm.base + i * mm.size;
      const name = `virtio-mmio@${base.toString(16)}`;
      let blk: VirtioBlk | undefined;
      let image: BlockDevice | undefined;
      if (disk) {
        image = "backing" in disk ? undefined : openImage(disk.file, { format: disk.format, readOnly: true });
        blk = new VirtioBlk("backing" in disk ? disk.backing : image!, disk.readOnly, `${name}.blk`);
      }
      const t = new VirtioMmio(this.bus, new IrqLine(this.gic, 32 + mm.irq + i), blk, name, !config.virtioModern, config.log);
      this.bus.map(name, base, mm.size, t);
      transports.push(t);
      if (disk && blk) slots[k] = { drive: disk, transport: t, blk, image };
    }
    this.virtio = transports;
    this.disks = slots;
    this.nonRamParts = [this.clock, this.cpu, this.timer, this.gic, this.uart, this.rtc, ...slots.map((s) => s.transport)];
    this.stateParts = [...this.nonRamParts, ...this.ram];
    this.debug = new Aarch64Debug(this.cpu, this.interp, {
      registers: () => AARCH64_GDB_REGISTERS,
      read: readAarch64Register,
      write: writeAarch64Register,
    });

    this.boot = this.planBoot();
    for (const w of this.boot.warnings) config.log(`warning: ${w}`);
    this.loadBootImages();
  }

  private planBoot(): BootPlan {
    return planVirtBoot(this.config);
  }

  /** Writes the boot blobs into RAM and sets the boot registers (power-on and system reset). */
  private loadBootImages(): void {
    for (const b of this.boot.blobs) {
      if (!b.inRam) continue; // QEMU would put it in flash at 0, which this board does not model
      this.bus.writeBytes(b.addr, b.bytes);
    }
    const r = this.boot.regs;
    const cpu = this.cpu;
    cpu.reset();
    cpu.pcLo = r.pc >>> 0;
    cpu.pcHi = Math.floor(r.pc / 4294967296) >>> 0;
    const x = [r.x0, r.x1, r.x2, r.x3];
    x.forEach((v, i) => {
      cpu.xlo[i] = v >>> 0;
      cpu.xhi[i] = Math.floor(v / 4294967296) >>> 0;
    });
    // QEMU's reset leaves PSTATE = 0x400003c5: EL1h, DAIF masked and the Z flag set.
    cpu.nzcv = 0b0100;
  }

  /** The block engine's counters (zeros when the interpreter runs alone). */
  blockStats(): BlockEngineStats {
    return this.engine instanceof BlockEngine ? this.engine.stats : { compiled: 0, interpretedSteps: 0, compiledSteps: 0, compileMs: 0, blockRuns: 0, lookups: 0, sourceChars: 0, wasmBytes: 0 };
  }

  /** System reset (PSCI SYSTEM_RESET without -no-reboot, QMP system_reset): as QEMU, reload the images and
   * reset the CPU and the GIC; the PL011 and PL031 have no reset in QEMU 7.2 and keep their state. */
  systemReset(): void {
    this.gic.reset();
    for (const t of this.virtio) t.reset();
    this.loadBootImages();
  }

  /**
   * Writes each disk's overlay into its image (a live run's end): the image is reopened writable, written
   * through the block layer, flushed and closed. Returns the sectors written per drive id.
   */
  commitDisks(ids: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of this.disks) {
      if ("backing" in d.drive || d.drive.readOnly || d.blk.dirtySectors === 0 || !ids.includes(d.drive.id)) continue;
      const image = openImage(d.drive.file, { format: d.drive.format });
      try {
        out[d.drive.id] = d.blk.commitOverlay(image);
      } finally {
        image.close();
      }
    }
    return out;
  }

  uncommittedSectors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of this.disks) if (d.blk.dirtySectors > 0) out[d.drive.id] = d.blk.dirtySectors;
    return out;
  }

  reopenDisks(): void {
    for (const d of this.disks) {
      if ("backing" in d.drive) continue;
      d.image?.close();
      d.image = openImage(d.drive.file, { format: d.drive.format, readOnly: true });
      d.blk.replaceBacking(d.image);
    }
  }

  /** Closes the images the board opened (read-only). */
  closeDisks(): void {
    for (const d of this.disks) {
      d.image?.close();
      d.image = undefined;
    }
  }

  private stopAtBoundary(reason: StopReason): void {
    this.loop.stopAtBoundary(reason);
  }

  requestStop(): void {
    this.stopAtBoundary("stopped");
  }

  /** Inputs from outside the machine, each delivered only through the session's input router. */
  inputChannels(): InputChannel[] {
    return [
      {
        kind: EventKind.SerialRx,
        name: "serial0 (PL011 receive)",
        ready: () => this.uart.canReceive(),
        deliver: (payload) => {
          for (const b of payload) this.uart.receive(b);
        },
      },
      {
        kind: EventKind.SystemReset,
        name: "system reset request",
        ready: () => true,
        deliver: () => this.systemReset(),
      },
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

  pc(): bigint {
    return (BigInt(this.cpu.pcHi >>> 0) << 32n) | BigInt(this.cpu.pcLo >>> 0);
  }

  run(until: Position): StopReason {
    return this.loop.run(until);
  }

  private reportUndefined(lo: number, hi: number, insn: number): void {
    const pcValue = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    const pc = `0x${pcValue.toString(16)}`;
    const key = `${insn}`;
    if (this.reportedUndefined.has(key)) return;
    this.reportedUndefined.add(key);
    const word = (insn >>> 0).toString(16).padStart(8, "0");
    this.config.log(`unimplemented instruction ${word} (${this.interp.decoder.disassemble(insn, pcValue)}) at ${pc}: raised as Undefined Instruction in the guest`);
  }
}

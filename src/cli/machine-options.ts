/**
 * The typed result of parsing a QEMU-style command line, and the per-target description the parser reads.
 * Pure data; see qemu-options.ts for the parser and qemu-targets.ts for the targets.
 */

import type { ChardevSpec } from "../chardev/spec.js";
import type { ParamSet } from "./option-syntax.js";
import type { EngineKind } from "../boards/board.js";

export type TargetArch = "aarch64" | "x86_64";

// ---------------------------------------------------------------------------------------------------------------
// The parsed result

/** The aarch64 `virt` board and its properties (`-M virt,gic-version=2,...`). */
export interface VirtMachine {
  type: "virt";
  /** Only GICv2 is emulated. */
  gicVersion: 2;
  /** EL2 (virtualization=on) is not emulated. */
  virtualization: false;
  /** EL3/TrustZone (secure=on) is not emulated. */
  secure: false;
  highmem: boolean;
  /** Write the generated device tree to this file and exit (QEMU's dumpdtb=). */
  dumpdtb?: string;
  /**
   * QEMU puts random kaslr-seed/rng-seed values into the device tree unless dtb-randomness=off. They are a
   * host input: the board must take them from the recorded input stream, or leave them out when this is false.
   */
  dtbRandomness: boolean;
  /** Every property as given, for diagnostics. */
  props: Readonly<Record<string, string>>;
}

/** The x86_64 `pc` board (QEMU's i440FX + PIIX3 machine) and its properties (`-M pc,smm=off,...`). */
export interface PcMachine {
  type: "pc";
  /** The register file the GDB stub serves (gdb-arch=): QEMU's qemu-system-x86_64 one, or qemu-system-i386's. */
  gdbArch: "x86_64" | "i386";
  /** Every property as given, for diagnostics. */
  props: Readonly<Record<string, string>>;
}

/** The board. */
export type MachineSelection = VirtMachine | PcMachine;

export interface MonitorSpec {
  /** Id of the chardev (in MachineOptions.chardevs) the monitor talks on. */
  chardev: string;
  /** "control" is QMP; "readline" is QEMU's human monitor (HMP), which Rewind only stubs. */
  mode: "control" | "readline";
  pretty: boolean;
}

export interface IcountSpec {
  /** Guest ns per instruction = 2^shift; "auto" is QEMU's adaptive mode (the caller decides what it means). */
  shift: number | "auto";
  align: boolean;
  sleep: boolean;
}

export interface ReplaySpec {
  mode: "none" | "record" | "replay";
  /** rrfile=; always present when mode is not "none". */
  file?: string;
  /** rrsnapshot=: the internal snapshot (in a qcow2 drive) that record creates and replay loads. */
  snapshot?: string;
}

export type DriveInterface = "none" | "virtio" | "ide" | "scsi" | "floppy" | "pflash" | "mtd" | "sd" | "xen";

export interface DriveSpec {
  /** Given id, or QEMU's generated one ("none0", "virtio0", "ide0-hd0"). */
  id: string;
  file: string;
  interface: DriveInterface;
  /** Undefined: probe the image (QEMU's default). */
  format?: "qcow2" | "raw";
  /** Writes go to a temporary overlay (QEMU's snapshot=on). */
  snapshot: boolean;
  readOnly: boolean;
  media: "disk" | "cdrom";
  index?: number;
  /** Accepted and recorded but without effect in Rewind (cache=, aio=, discard=, ...). */
  ignored: Readonly<Record<string, string>>;
}

/** -device virtio-blk-device: a virtio-mmio disk (virt). */
export interface VirtioBlkDeviceSpec {
  driver: "virtio-blk-device";
  /** The -drive id it uses. */
  drive: string;
  id?: string;
}

/** -device isa-debug-exit (pc): a write of V to its ports ends the run with exit status (V << 1) | 1. */
export interface IsaDebugExitSpec {
  driver: "isa-debug-exit";
  iobase: number;
  iosize: number;
  id?: string;
}

/** -device isa-debugcon (pc), or -debugcon: bytes written to the port go to a chardev; reads give `readback`. */
export interface IsaDebugconSpec {
  driver: "isa-debugcon";
  iobase: number;
  /** The chardev (in MachineOptions.chardevs) the output goes to. */
  chardev: string;
  readback: number;
  id?: string;
}

/** A -device, in command-line order. */
export type DeviceSpec = VirtioBlkDeviceSpec | IsaDebugExitSpec | IsaDebugconSpec;

/** -global DRIVER.PROP=VALUE: a default for every device of that driver. */
export interface GlobalSpec {
  driver: string;
  prop: string;
  value: string;
}

export interface RtcSpec {
  /** "utc"/"localtime" read the host clock at boot (a recorded input); a date is a fixed start. */
  base: "utc" | "localtime" | { date: string; epochMs: number };
  clock: "host" | "rt" | "vm";
  driftfix: "none" | "slew";
}

export interface MachineOptions {
  target: TargetArch;
  program: string;
  machine: MachineSelection;
  cpu: string;
  /** Guest RAM in bytes (rounded up to 8 KiB as QEMU does). */
  ramBytes: number;
  smp: 1;
  kernel?: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  bios?: string;
  /** Rewind has no graphical display: always "none". */
  display: "none";
  nographic: boolean;
  /** Every chardev, unique ids: -chardev ones first, then those made by -monitor/-qmp, -serial, -gdb. */
  chardevs: ChardevSpec[];
  /** Serial ports in order (serial0 first): chardev ids. */
  serials: string[];
  monitors: MonitorSpec[];
  /** The GDB stub's chardev, if any. */
  gdb?: { chardev: string };
  /** -S: do not start the CPU; wait for a debugger or QMP `cont`. */
  startPaused: boolean;
  /** -icount; undefined when not given. */
  icount?: IcountSpec;
  replay: ReplaySpec;
  drives: DriveSpec[];
  /** -global virtio-mmio.force-legacy=off: virtio-mmio version 2 (QEMU's default, and absent here, is legacy). */
  virtioModern?: boolean;
  /** -global properties of the board's own devices (TargetSpec.boardGlobals), last one per property. */
  boardGlobals: GlobalSpec[];
  /** -device options in order (virt plugs the first virtio-blk-device into the top virtio-mmio slot), with
   * -debugcon's isa-debugcon and the -global defaults applied. */
  devices: DeviceSpec[];
  network: "none";
  accel: "tcg";
  /** Which execution engine runs guest code (-accel tcg,engine=... or one-insn-per-tb=on for the interpreter). */
  engine: EngineKind;
  nodefaults: boolean;
  noReboot: boolean;
  noShutdown: boolean;
  /** -d items and -D file, recorded for diagnostics. */
  log: { items: string[]; file?: string };
  rtc: RtcSpec;
  name?: string;
  /** QEMU-style warnings to print (deprecated short-form booleans, ...). */
  warnings: string[];
}

export type ParseOutcome =
  | { kind: "run"; options: MachineOptions }
  /** -h, -version, `-M help`, `-cpu help`, `-d help`, ...: print `text` and exit 0. */
  | { kind: "info"; text: string };

// ---------------------------------------------------------------------------------------------------------------
// Targets

export interface MachinePropDef {
  name: string;
  /** Returns an error detail for a value Rewind cannot honour, or undefined. */
  check?: (value: string) => string | undefined;
  bool?: boolean;
  help: string;
}

export interface MachineDef {
  name: string;
  /** Other accepted names (versioned aliases such as "virt-7.2"). */
  aliases: string[];
  description: string;
  props: MachinePropDef[];
  /** Builds the selection from the merged properties (already checked against `props`). */
  build(props: ParamSet): MachineSelection;
}

/** A target-only option (x86_64 adds its own); `apply` edits the draft in place. */
export interface OptionDef {
  /** Names without the dash; the first is the canonical one. */
  names: string[];
  /** Placeholder for the help text; absent for an option without argument. */
  arg?: string;
  help: string;
  apply(ctx: OptionContext, arg: string | undefined): void;
}

export interface OptionContext {
  readonly options: MachineOptions;
  fail(detail: string): never;
  warn(text: string): void;
}

/** A -device driver a target offers and how its properties become a DeviceSpec. */
export interface DeviceDef {
  driver: string;
  /** -device help: its bus ("virtio-bus", "ISA"). */
  bus: string;
  /** -device DRIVER,help: property lines. */
  help: string[];
  /** The properties it takes (plus "driver" and "id"), and QEMU's that it accepts without effect. */
  props: string[];
  ignored?: string[];
  /**
   * Builds the spec from the merged properties: the command line's, over the -global defaults for this driver.
   * `chardev` resolves a chardev= reference.
   */
  build(p: DeviceProps): DeviceSpec;
}

/** A -global property of a device the board always has. */
export interface BoardGlobalDef {
  driver: string;
  prop: string;
  help: string;
  /** Returns an error detail for a value Rewind cannot honour, or undefined. */
  check(value: string): string | undefined;
}

/** What DeviceDef.build reads: each property as given (strings), typed accessors, and the failure path. */
export interface DeviceProps {
  str(key: string): string | undefined;
  /** An integer property (decimal or 0x hex), `dflt` when absent. */
  uint(key: string, dflt: number, max: number): number;
  fail(detail: string): never;
}

export interface TargetSpec {
  arch: TargetArch;
  program: string;
  machines: MachineDef[];
  defaultMachine: string;
  cpus: string[];
  defaultCpu: string;
  defaultRamMiB: number;
  driveInterfaces: DriveInterface[];
  defaultDriveInterface: DriveInterface;
  /** The -device drivers of this target. */
  devices: DeviceDef[];
  /** -global properties of the board's built-in devices (not -device drivers), e.g. x86's apic.vapic. */
  boardGlobals: BoardGlobalDef[];
  extraOptions: OptionDef[];
}

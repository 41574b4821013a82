// What a board offers the layers above it: a name, its CPU models and defaults, and a factory from a
// board-neutral configuration to a running SessionMachine. Boards register in registry.ts; the CLI, the
// benchmarks and the tools pick them from there by name and never construct a board class themselves.

import type { Arch } from "../core/debug.js";
import type { SessionMachine } from "../session/target.js";

/** A disk behind a virtio-blk-device: the board opens the image read-only (see devices/virtio/blk.ts). */
export interface BlockDrive {
  /** The -drive id. */
  id: string;
  file: string;
  format: "raw" | "qcow2";
  /** The guest sees a read-only disk (VIRTIO_BLK_F_RO). */
  readOnly: boolean;
}

/** A machine with virtio-blk disks: their overlays reach the images only through commitDisks (a live run's end). */
export interface DiskOwner {
  /** Writes the overlays of the drives with these ids into their images; returns sectors written per id. */
  commitDisks(ids: readonly string[]): Record<string, number>;
  /** Sectors written by the guest and not in the image, per drive id (drives with none are left out). */
  uncommittedSectors(): Record<string, number>;
  /** Closes the images the board opened. */
  closeDisks(): void;
  /** Reopens them (after something else changed an image's contents, e.g. loading an internal snapshot). */
  reopenDisks(): void;
}

export function isDiskOwner(m: object): m is DiskOwner {
  return typeof (m as Partial<DiskOwner>).commitDisks === "function" && typeof (m as Partial<DiskOwner>).closeDisks === "function" &&
    typeof (m as Partial<DiskOwner>).uncommittedSectors === "function" &&
    typeof (m as Partial<DiskOwner>).reopenDisks === "function";
}

/** QEMU's ISA test devices (pc): -device isa-debug-exit, and isa-debugcon (-debugcon). */
export type IsaTestDevice =
  | { driver: "isa-debug-exit"; iobase: number; iosize: number }
  | { driver: "isa-debugcon"; iobase: number; readback: number };

/** A file handed to the board: its name (for messages) and content. */
export interface BootFile {
  name: string;
  bytes: Uint8Array;
}

export type BootFileKind = "kernel" | "initrd" | "dtb" | "bios";

/** Everything a board may be built from. Fields a board does not take must be absent (see Board.bootFiles). */
export interface BoardConfig {
  /** CPU model; the board's default when absent. */
  cpu?: string;
  /** Guest RAM in bytes (a multiple of 4 KiB); the board's default when absent. */
  ramSize?: number;
  /** Guest time per instruction: ns = icount << icountShift. */
  icountShift: number;
  kernel?: BootFile;
  initrd?: BootFile;
  dtb?: BootFile;
  bios?: BootFile;
  /** Kernel command line. */
  append?: string;
  /** virtio-blk-device disks in -device order (virt: the first takes the top virtio-mmio slot, as QEMU). */
  virtioBlk?: readonly BlockDrive[];
  /** virtio-mmio version 2 ("modern") instead of QEMU's default legacy layout. */
  virtioModern?: boolean;
  /** Host wall-clock seconds at boot for the RTC: an input (recorded, replayed), never read by a board. */
  rtcBootSeconds: number;
  /** serial[n] receives the bytes serial port n transmits (serial0 first); a port without one drops them. */
  serial?: readonly ((byte: number) => void)[];
  /** ISA test devices in -device order (boards with `isaTestDevices`). */
  isaDevices?: readonly IsaTestDevice[];
  /** -global properties of the board's own devices, "driver.prop" -> value (pc: "apic.vapic"). */
  globals?: Readonly<Record<string, string>>;
  /** debugcon[n] receives the bytes written to the n-th isa-debugcon of isaDevices. */
  debugcon?: readonly ((byte: number) => void)[];
  /** Diagnostics (unimplemented instructions, boot warnings): one line each. */
  log?: (line: string) => void;
  /** -no-reboot: a guest reset stops the machine ("reset") instead of rebooting it. */
  noReboot?: boolean;
  /** Which execution engine runs guest code (both give the same state after every step); "fast" by default. */
  engine?: EngineKind;
  /** Fast engine: jumps to an address before the code there is compiled (the engine's default when absent). A
   * machine that only replays short stretches of already-hot code (a scan worker) compiles sooner. */
  hotAfter?: number;
  /** Fast engine: what it compiles to. WebAssembly unless the environment says REWIND_WASM=0 (or the host
   * cannot give the memory); oracles that test one tier name it. */
  compiler?: CompilerKind;
}

/** What the fast engine compiles regions to. */
export type CompilerKind = "wasm" | "js";

/** "fast": compiled blocks over the interpreter; "interp": the interpreter alone (for comparison). */
export type EngineKind = "fast" | "interp";
export const ENGINE_KINDS: readonly EngineKind[] = ["fast", "interp"];

/** How a board takes one kind of boot file; a kind a board does not list is not supported on it. */
export interface BootFileUse {
  /** Present when the file is required: why, for the message when it is missing. */
  required?: string;
  /** The file used when none is given (a firmware the board finds where it is installed), or undefined. */
  defaultFile?: () => string | undefined;
}

export interface Board {
  /** The -M name ("virt"). */
  readonly name: string;
  /** Other accepted names (QEMU's versioned machine types, "virt-7.2"). */
  readonly aliases: readonly string[];
  /** One line, as `-M help` shows it. */
  readonly description: string;
  /** The CPU architecture: which rewind-system-<arch> offers the board. */
  readonly arch: Arch;
  readonly cpus: readonly string[];
  readonly defaultCpu: string;
  readonly defaultRamSize: number;
  /** The most RAM the board takes, in bytes. */
  readonly maxRamSize: number;
  readonly bootFiles: Readonly<Partial<Record<BootFileKind, BootFileUse>>>;
  /** Builds the machine at power-on. Throws BoardError for a configuration it cannot build. */
  create(config: BoardConfig): SessionMachine;
  /**
   * The device tree the guest gets for a configuration (QEMU's `-M ...,dumpdtb=FILE`), if the board has one: with a
   * kernel, as loaded for it (a -dtb file prepared, the initrd's range in /chosen), as QEMU dumps it.
   */
  deviceTree?(config: Pick<BoardConfig, "ramSize" | "append" | "kernel" | "initrd" | "dtb">): Uint8Array;
  /** The most virtio-blk-device disks the board takes (none when absent). */
  readonly maxVirtioBlk?: number;
  /** The board takes QEMU's ISA test devices (isa-debug-exit, isa-debugcon). */
  readonly isaTestDevices?: boolean;
}

/** A configuration a board cannot build (unknown board or CPU, a missing or unsupported boot file). One line. */
export class BoardError extends Error {
  override name = "BoardError";
}

/**
 * The targets Rewind's QEMU-style binaries emulate: their machines (with the properties Rewind honours), CPUs,
 * defaults, -device drivers and target-only options.
 *
 * The machines of a target are the boards registered for its architecture (src/boards/registry.ts): their
 * names, aliases, descriptions, CPUs and default RAM come from there; this file adds only what is the command
 * line's business, each board's QEMU `-machine` properties (QEMU_MACHINE_PROPS).
 */

import { listBoards, type Board } from "../boards/registry.js";
import type { DeviceDef, MachineDef, TargetArch, TargetSpec } from "./machine-options.js";

const offOnly = (what: string) => (v: string) =>
  v === "off" || v === "no" || v === "false" || v === "n" ? undefined : `${what} is not supported by Rewind`;

/** A board's `-machine` properties and how they become the parsed selection. */
type MachineProps = Pick<MachineDef, "props" | "build">;

const VIRT_MACHINE: MachineProps = {
  props: [
    { name: "gic-version", help: "GIC version (only 2)", check: (v) => (v === "2" ? undefined : gicVersionError(v)) },
    { name: "virtualization", bool: true, help: "EL2 (only off)", check: offOnly("virtualization=on (EL2)") },
    { name: "secure", bool: true, help: "EL3/TrustZone (only off)", check: offOnly("secure=on (EL3/TrustZone)") },
    { name: "mte", bool: true, help: "memory tagging (only off)", check: offOnly("mte=on") },
    { name: "its", bool: true, help: "GICv3 ITS (no effect with GICv2)" },
    { name: "highmem", bool: true, help: "address space above 4 GiB" },
    { name: "iommu", help: "IOMMU (only none)", check: (v) => (v === "none" ? undefined : `iommu=${v} is not supported by Rewind`) },
    { name: "ras", bool: true, help: "RAS (only off)", check: offOnly("ras=on") },
    { name: "acpi", help: "ACPI tables (only off)", check: (v) => (v === "off" || v === "auto" ? undefined : "acpi=on is not supported by Rewind") },
    { name: "usb", bool: true, help: "USB (no effect)" },
    { name: "graphics", bool: true, help: "graphics (no effect)" },
    { name: "dump-guest-core", bool: true, help: "(no effect)" },
    { name: "mem-merge", bool: true, help: "(no effect)" },
    { name: "suppress-vmdesc", bool: true, help: "(no effect)" },
    { name: "dtb-randomness", bool: true, help: "random seeds in the device tree (default on)" },
    { name: "dtb-kaslr-seed", bool: true, help: "deprecated synonym of dtb-randomness" },
    { name: "dumpdtb", help: "write the device tree to a file and exit" },
    { name: "accel", help: "accelerator (only tcg)" },
    { name: "kernel", help: "same as -kernel" },
    { name: "initrd", help: "same as -initrd" },
    { name: "append", help: "same as -append" },
    { name: "dtb", help: "same as -dtb" },
    { name: "firmware", help: "same as -bios" },
  ],
  build(p) {
    const randomness = p.bool("dtb-randomness") ?? p.bool("dtb-kaslr-seed") ?? true;
    const props: Record<string, string> = {};
    for (const k of p.keys()) if (k !== "type") props[k] = p.str(k)!;
    const dumpdtb = p.str("dumpdtb");
    return {
      type: "virt",
      gicVersion: 2,
      virtualization: false,
      secure: false,
      highmem: p.bool("highmem", true),
      ...(dumpdtb !== undefined ? { dumpdtb } : {}),
      dtbRandomness: randomness,
      props,
    };
  },
};

function gicVersionError(v: string): string {
  if (["3", "4", "host", "max"].includes(v)) return `gic-version=${v} is not supported by Rewind (supported: 2)`;
  return `invalid gic-version value '${v}' (valid values are 2, 3, 4, host, max; Rewind supports 2)`;
}

const noEffect = (name: string, help: string) => ({ name, bool: true, help: `${help} (no effect)` });

/**
 * QEMU 7.2's pc-i440fx machine properties. SMM is not emulated: SeaBIOS behaves as with smm=off (QEMU's own log is
 * byte-identical then); the HPET, vmport and the rest are not devices Rewind has, and the firmware does not miss them.
 */
const PC_MACHINE: MachineProps = {
  props: [
    { name: "smm", help: "System Management Mode (not emulated: on, off and auto all run as smm=off)", check: (v) => (["on", "off", "auto"].includes(v) ? undefined : `smm: invalid value '${v}' (on, off, auto)`) },
    { name: "acpi", help: "ACPI (on, off, auto)", check: (v) => (["on", "off", "auto"].includes(v) ? undefined : `acpi: invalid value '${v}' (on, off, auto)`) },
    { name: "hpet", bool: true, help: "HPET (not emulated; SeaBIOS does not use it)" },
    { name: "vmport", help: "VMware port (only off or auto)", check: (v) => (v === "off" || v === "auto" ? undefined : "vmport=on is not supported by Rewind") },
    { name: "kernel-irqchip", help: "(no effect with tcg)" },
    noEffect("pit", "in-kernel PIT"),
    noEffect("pic", "in-kernel PIC"),
    noEffect("i8042", "i8042 (always present)"),
    noEffect("smbus", "SMBus"),
    noEffect("sata", "SATA"),
    noEffect("usb", "USB"),
    noEffect("graphics", "graphics"),
    noEffect("dump-guest-core", "guest core dumps"),
    noEffect("mem-merge", "memory merging"),
    noEffect("suppress-vmdesc", "vmdesc"),
    noEffect("default-bus-bypass-iommu", "IOMMU bypass"),
    {
      name: "gdb-arch",
      help: "Rewind: the GDB stub's register layout, x86_64 (qemu-system-x86_64's, default) or i386 (qemu-system-i386's: for GDB's set architecture i8086 or i386)",
      check: (v) => (v === "x86_64" || v === "i386" ? undefined : `gdb-arch: '${v}' is not x86_64 or i386`),
    },
    { name: "accel", help: "accelerator (only tcg)" },
    { name: "kernel", help: "same as -kernel" },
    { name: "initrd", help: "same as -initrd" },
    { name: "append", help: "same as -append" },
    { name: "firmware", help: "same as -bios" },
  ],
  build(p) {
    const props: Record<string, string> = {};
    for (const k of p.keys()) if (k !== "type") props[k] = p.str(k)!;
    return { type: "pc", gdbArch: p.str("gdb-arch") === "i386" ? "i386" : "x86_64", props };
  },
};

/** The `-machine` properties of every registered board, by board name. */
const QEMU_MACHINE_PROPS: Readonly<Record<string, MachineProps>> = { virt: VIRT_MACHINE, pc: PC_MACHINE };

const VIRTIO_BLK_DEVICE: DeviceDef = {
  driver: "virtio-blk-device",
  bus: "virtio-bus",
  help: ["drive=<str>            - Node name or ID of a block device to use as a backend"],
  props: ["drive"],
  ignored: ["serial", "logical_block_size", "physical_block_size", "num-queues", "queue-size", "write-cache", "discard", "bus"],
  build(p) {
    const drive = p.str("drive");
    if (drive === undefined || drive === "") return p.fail("virtio-blk-device: drive property not set");
    const id = p.str("id");
    return { driver: "virtio-blk-device", drive, ...(id !== undefined ? { id } : {}) };
  },
};

/** QEMU's isa-debug-exit (hw/misc/debugexit.c): the bare-metal test suites' way out, iobase 0x501 by default. */
const ISA_DEBUG_EXIT: DeviceDef = {
  driver: "isa-debug-exit",
  bus: "ISA",
  help: ["iobase=<uint32>        - (default: 1281)", "iosize=<uint32>        - (default: 2)"],
  props: ["iobase", "iosize"],
  build(p) {
    const iobase = p.uint("iobase", 0x501, 0xffff);
    const iosize = p.uint("iosize", 2, 4);
    if (![1, 2, 4].includes(iosize)) p.fail(`isa-debug-exit.iosize must be 1, 2 or 4, not ${iosize}`);
    const id = p.str("id");
    return { driver: "isa-debug-exit", iobase, iosize, ...(id !== undefined ? { id } : {}) };
  },
};

/** QEMU's isa-debugcon (hw/char/debugcon.c): port 0xe9 by default; reads give readback (0xe9). */
const ISA_DEBUGCON: DeviceDef = {
  driver: "isa-debugcon",
  bus: "ISA",
  help: ["chardev=<str>          - ID of a chardev to use as a backend", "iobase=<uint32>        - (default: 233)", "readback=<uint32>      - (default: 233)"],
  props: ["chardev", "iobase", "readback"],
  build(p) {
    const chardev = p.str("chardev");
    if (chardev === undefined || chardev === "") return p.fail("isa-debugcon: Property 'chardev' is required (-device isa-debugcon,chardev=ID or -debugcon DEV)");
    const id = p.str("id");
    return { driver: "isa-debugcon", iobase: p.uint("iobase", 0xe9, 0xffff), readback: p.uint("readback", 0xe9, 0xffffffff), chardev, ...(id !== undefined ? { id } : {}) };
  },
};

function machineDef(board: Board): MachineDef {
  const cli = QEMU_MACHINE_PROPS[board.name];
  if (!cli) throw new Error(`board '${board.name}' is registered but qemu-targets.ts gives it no -machine properties`);
  return { name: board.name, aliases: [...board.aliases], description: board.description, ...cli };
}

/**
 * The target-level lists come from the registered boards when asked (so a board registered later shows up):
 * machines, the CPUs of them all, and the default machine's CPU and RAM.
 */
function registeredTarget(arch: TargetArch, fixed: Omit<TargetSpec, "arch" | "machines" | "cpus" | "defaultCpu" | "defaultRamMiB">): TargetSpec {
  const boards = () => listBoards(arch);
  const defaultBoard = () => boards().find((b) => b.name === fixed.defaultMachine) ?? boards()[0];
  return {
    arch,
    ...fixed,
    get machines() {
      return boards().map(machineDef);
    },
    get cpus() {
      return [...new Set(boards().flatMap((b) => b.cpus))];
    },
    get defaultCpu() {
      return defaultBoard().defaultCpu;
    },
    get defaultRamMiB() {
      return defaultBoard().defaultRamSize / (1 << 20);
    },
  };
}

export const AARCH64_TARGET: TargetSpec = registeredTarget("aarch64", {
  program: "rewind-system-aarch64",
  defaultMachine: "virt",
  driveInterfaces: ["none", "virtio"],
  defaultDriveInterface: "virtio",
  devices: [VIRTIO_BLK_DEVICE],
  boardGlobals: [],
  extraOptions: [],
});

/** x86_64: the pc board. Drives are -drive if=none only (the snapshot holder; no IDE disks yet). */
export const X86_64_TARGET: TargetSpec = registeredTarget("x86_64", {
  program: "rewind-system-x86_64",
  defaultMachine: "pc",
  driveInterfaces: ["none"],
  defaultDriveInterface: "ide",
  devices: [ISA_DEBUG_EXIT, ISA_DEBUGCON],
  boardGlobals: [
    {
      // QEMU's kvmvapic option ROM (the TPR patching of the "apic" device); QEMU's reverse-debugging test needs it off.
      driver: "apic",
      prop: "vapic",
      help: "the kvmvapic option ROM (on by default, as QEMU)",
      check: (v) => (["on", "off", "yes", "no", "true", "false"].includes(v) ? undefined : `Parameter 'vapic' expects 'on' or 'off'`),
    },
  ],
  extraOptions: [],
});

/** The target of a `rewind-system-<arch>` program. */
export function targetFor(arch: TargetArch): TargetSpec {
  return arch === "aarch64" ? AARCH64_TARGET : X86_64_TARGET;
}

/**
 * The targets Rewind's QEMU-style binaries emulate: their machines (with the properties Rewind honours), CPUs,
 * defaults and target-only options. The x86_64 binary adds its TargetSpec here.
 *
 * The machines of a target are the boards registered for its architecture (src/boards/registry.ts): their
 * names, aliases, descriptions, CPUs and default RAM come from there; this file adds only what is the command
 * line's business, each board's QEMU `-machine` properties (QEMU_MACHINE_PROPS).
 */

import { listBoards, type Board } from "../boards/registry.js";
import type { MachineDef, TargetArch, TargetSpec } from "./machine-options.js";

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

/** The `-machine` properties of every registered board, by board name. */
const QEMU_MACHINE_PROPS: Readonly<Record<string, MachineProps>> = { virt: VIRT_MACHINE };

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
  extraOptions: [],
});

// The `pc` board's registry entry: QEMU 7.2's i440FX machine with one qemu64 CPU, booting the BIOS (SeaBIOS by
// default, found where Debian's seabios or QEMU package installs it, else Rewind's copy in pc-bios/).

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BoardError, type Board, type BoardConfig } from "../board.js";
import type { SessionMachine } from "../../session/target.js";
import { PcMachine } from "./pc.js";

/** The most RAM the board takes: below the PCI hole (3.5 GiB), as this board has no RAM above 4 GiB yet. */
const PC_MAX_RAM = 0xe0000000;

/** Rewind's own copy of SeaBIOS (pc-bios/README.md says what it is and under which licence). */
export const BUNDLED_BIOS = fileURLToPath(new URL("../../../../pc-bios/bios-256k.bin", import.meta.url));

/** Where the BIOS comes from without -bios: the installed SeaBIOS that qemu-system-x86_64 also uses, else ours. */
export const BIOS_SEARCH_PATH: readonly string[] = ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/bios-256k.bin", BUNDLED_BIOS];

export function defaultBios(): string | undefined {
  return BIOS_SEARCH_PATH.find((p) => existsSync(p));
}

/** QEMU's kvmvapic option ROM, which its pc gives every guest (fw_cfg genroms/) unless apic.vapic=off. */
const KVMVAPIC_SEARCH_PATH: readonly string[] = ["/usr/share/qemu/kvmvapic.bin", fileURLToPath(new URL("../../../../pc-bios/kvmvapic.bin", import.meta.url))];

function kvmvapicRom(): { name: string; data: Uint8Array }[] {
  const path = KVMVAPIC_SEARCH_PATH.find((p) => existsSync(p));
  return path ? [{ name: "kvmvapic.bin", data: readFileSync(path) }] : [];
}

export const pcBoard: Board = {
  name: "pc",
  aliases: ["pc-i440fx-7.2"],
  description: "Standard PC (i440FX + PIIX, 1996), as QEMU 7.2's pc-i440fx-7.2",
  arch: "x86_64",
  cpus: ["qemu64"],
  defaultCpu: "qemu64",
  defaultRamSize: 128 << 20,
  maxRamSize: PC_MAX_RAM,
  bootFiles: {
    bios: { required: "the pc board needs a BIOS (Debian's seabios package, or -bios FILE)", defaultFile: defaultBios },
    // A Multiboot kernel starts in its entry state directly (src/boards/pc/multiboot.ts); -initrd is one module.
    kernel: {},
    initrd: {},
  },
  isaTestDevices: true,
  create(c: BoardConfig): PcMachine {
    if (!c.bios) throw new BoardError("the pc board needs a BIOS image (-bios FILE)");
    const ramSize = c.ramSize ?? pcBoard.defaultRamSize;
    if (ramSize % (1 << 20) !== 0) throw new BoardError(`pc: RAM must be a whole number of MiB (got ${ramSize} bytes)`);
    if (ramSize < 2 << 20 || ramSize > PC_MAX_RAM) throw new BoardError(`pc: RAM must be from 2 MiB to ${PC_MAX_RAM / (1 << 20)} MiB`);
    const bios = c.bios.bytes;
    if (bios.length < 0x10000 || bios.length % 0x10000 !== 0 || bios.length > 16 << 20)
      throw new BoardError(`'${c.bios.name}' cannot be a pc BIOS: its size (${bios.length} bytes) is not a multiple of 64 KiB up to 16 MiB`);
    return new PcMachine({
      ramSize,
      icountShift: c.icountShift,
      bios,
      isaDevices: c.isaDevices,
      serial: c.serial?.length ? [...c.serial] : undefined,
      kernel: c.kernel,
      append: c.append,
      modules: c.initrd ? [{ name: c.initrd.name, bytes: c.initrd.bytes }] : undefined,
      debugconOut: c.debugcon,
      rtcBootSeconds: c.rtcBootSeconds,
      noReboot: c.noReboot,
      optionRoms: ["off", "no", "false"].includes(c.globals?.["apic.vapic"] ?? "on") ? [] : kvmvapicRom(),
      log: c.log,
    });
  },
};

/** The pc machine behind a SessionMachine the registry built for "pc" (throws for any other board). */
export function asPcMachine(m: SessionMachine): PcMachine {
  if (!(m instanceof PcMachine)) throw new BoardError("this needs a machine of the pc board");
  return m;
}

// The `virt` board's registry entry, and the typed accessor for callers that need AArch64 specifics (the
// lockstep oracle's registers, the demo's disassembly and frame-pointer walk).

import { BoardError, type Board, type BoardConfig } from "../board.js";
import type { SessionMachine } from "../../session/target.js";
import { buildVirtDtb, VIRT_MEMMAP } from "./dtb.js";
import { planVirtBoot, VIRT_DEVICES, VIRT_MAX_RAM, VirtMachine } from "./virt.js";

export const virtBoard: Board = {
  name: "virt",
  aliases: ["virt-7.2"],
  description: "QEMU 7.2 ARM Virtual Machine",
  arch: "aarch64",
  cpus: ["cortex-a53"],
  defaultCpu: "cortex-a53",
  defaultRamSize: 128 << 20,
  maxRamSize: VIRT_MAX_RAM,
  bootFiles: {
    kernel: { required: "the virt board needs a guest to run (try guests/aarch64/hello.elf)" },
    initrd: {},
    dtb: {},
  },
  create(c: BoardConfig): VirtMachine {
    if (!c.kernel) throw new BoardError("the virt board needs a kernel (an ELF file, a Linux Image or a raw image)");
    const machine = new VirtMachine({
      ramSize: c.ramSize ?? virtBoard.defaultRamSize,
      icountShift: c.icountShift,
      kernel: c.kernel,
      initrd: c.initrd,
      dtb: c.dtb,
      append: c.append,
      virtioBlk: c.virtioBlk,
      virtioModern: c.virtioModern,
      rtcBootSeconds: c.rtcBootSeconds,
      serialOut: c.serial?.[0] ?? (() => {}),
      log: c.log ?? (() => {}),
      engine: c.engine,
      jitThreshold: c.hotAfter,
      compiler: c.compiler,
    });
    machine.noReboot = c.noReboot ?? false;
    return machine;
  },
  deviceTree: (c) => {
    const ramSize = c.ramSize ?? virtBoard.defaultRamSize;
    if (!c.kernel) return buildVirtDtb({ ramSize, bootargs: c.append, devices: VIRT_DEVICES });
    // With a kernel, the tree as loaded for it: the initrd's range in /chosen, a -dtb file prepared.
    const dtb = planVirtBoot({ ramSize, kernel: c.kernel, initrd: c.initrd, dtb: c.dtb, append: c.append }).blobs.find((b) => b.what === "dtb");
    if (!dtb) throw new BoardError("the device tree does not fit in RAM below the kernel");
    return dtb.bytes;
  },
  maxVirtioBlk: VIRT_MEMMAP.virtioMmio.count,
};

/** The virt machine behind a SessionMachine the registry built for "virt" (throws for any other board). */
export function asVirtMachine(m: SessionMachine): VirtMachine {
  if (!(m instanceof VirtMachine)) throw new BoardError("this needs a machine of the virt board");
  return m;
}

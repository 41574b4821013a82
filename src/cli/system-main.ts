// `rewind-system-<arch>`: QEMU's command line in front of a Rewind machine.

import { writeFileSync } from "node:fs";
import { ChardevSet, ChardevError, type CharBackend } from "../chardev/index.js";
import { startMonitorStub } from "../chardev/monitor-stub.js";
import { BootError } from "../boards/elf.js";
import { readBootFile } from "../boards/loaders.js";
import { VirtMachine } from "../boards/virt/virt.js";
import { buildVirtDtb } from "../boards/virt/dtb.js";
import { FdtError } from "../core/fdt.js";
import { OptionError, parseQemuArgs } from "./qemu-options.js";
import type { MachineOptions } from "./machine-options.js";

/** Instructions per slice between host event-loop turns (~10 ms of guest time at interpreter speed). */
const SLICE = 200_000;
/** Virtual time per instruction when no -icount is given (QEMU's `shift=auto` would adapt; Rewind is fixed). */
const DEFAULT_SHIFT = 3;

export class UsageError extends Error {
  override name = "UsageError";
}

/** Features whose options parse but whose implementation lands in a later milestone. */
function refuseUnimplemented(o: MachineOptions): void {
  const later = (what: string) => {
    throw new UsageError(`${what} is not supported yet by this version of Rewind`);
  };
  if (o.replay.mode !== "none") later(`-icount rr=${o.replay.mode}`);
  if (o.gdb) later("-gdb/-s (the GDB server)");
  if (o.monitors.some((m) => m.mode === "control")) later("-qmp/-mon mode=control (QMP)");
  if (o.bios) later("-bios on the virt board");
}

export async function systemMain(argv: readonly string[]): Promise<number> {
  const program = "rewind-system-aarch64";
  let options: MachineOptions;
  try {
    const outcome = parseQemuArgs(argv);
    if (outcome.kind === "info") {
      process.stdout.write(outcome.text.endsWith("\n") ? outcome.text : outcome.text + "\n");
      return 0;
    }
    options = outcome.options;
    for (const w of options.warnings) process.stderr.write(`${program}: warning: ${w}\n`);
    refuseUnimplemented(options);
  } catch (e) {
    if (e instanceof OptionError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${program}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  if (options.machine.dumpdtb) {
    try {
      writeFileSync(options.machine.dumpdtb, buildVirtDtb({ ramSize: options.ramBytes, bootargs: options.append, devices: [{ kind: "pl031" }] }));
      return 0;
    } catch (e) {
      process.stderr.write(`${program}: cannot write device tree: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (!options.kernel) {
    process.stderr.write(`${program}: no -kernel given: the virt board needs a guest to run (try guests/aarch64/hello.elf)\n`);
    return 1;
  }

  let machine: VirtMachine;
  const log = (line: string) => process.stderr.write(`${program}: ${line}\n`);
  const serialBytes: number[] = [];
  try {
    const kernel = { name: options.kernel, bytes: readBootFile(options.kernel, "kernel") };
    const initrd = options.initrd ? { name: options.initrd, bytes: readBootFile(options.initrd, "initrd") } : undefined;
    const dtb = options.dtb ? { name: options.dtb, bytes: readBootFile(options.dtb, "dtb") } : undefined;
    machine = new VirtMachine({
      ramSize: options.ramBytes,
      icountShift: typeof options.icount?.shift === "number" ? options.icount.shift : DEFAULT_SHIFT,
      kernel,
      initrd,
      dtb,
      append: options.append,
      rtcBootSeconds: Math.floor(Date.now() / 1000),
      serialOut: (b) => serialBytes.push(b),
      log,
    });
    machine.noReboot = options.noReboot;
  } catch (e) {
    if (e instanceof BootError || e instanceof FdtError) {
      process.stderr.write(`${program}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  let quit = false;
  let wake: (() => void) | undefined;
  const serialIn: number[] = [];
  let chardevs: ChardevSet;
  try {
    chardevs = await ChardevSet.open(options.chardevs, {
      onQuit: () => {
        quit = true;
        wake?.();
      },
    });
  } catch (e) {
    if (e instanceof ChardevError) {
      process.stderr.write(`${program}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  // Monitors attach before serial ports so that, on a mux, the serial port ends up with the keyboard.
  for (const mon of options.monitors) startMonitorStub(chardevs.frontend(mon.chardev, "monitor"), { onQuit: () => ((quit = true), wake?.()) });
  const serial: CharBackend | undefined = options.serials[0] !== undefined ? chardevs.frontend(options.serials[0], "serial0") : undefined;
  serial?.setReceiver((data) => {
    for (const b of data) serialIn.push(b);
    wake?.();
  });

  const flushSerial = () => {
    if (serialBytes.length === 0) return;
    serial?.write(Uint8Array.from(serialBytes));
    serialBytes.length = 0;
  };

  let status = 0;
  try {
    if (options.startPaused) {
      log("started paused (-S) with no debugger or monitor to resume it; waiting until terminated");
      await new Promise<void>((resolve) => (wake = resolve));
    }
    for (;;) {
      if (quit) break;
      // Host input reaches the guest only here, between slices (record/replay will log it at this icount).
      while (serialIn.length > 0 && machine.uart.canReceive()) machine.uart.receive(serialIn.shift()!);
      const reason = machine.run(machine.clock.icount + SLICE);
      flushSerial();
      if (reason === "poweroff" || reason === "reset") break;
      if (reason === "stuck") {
        log(`guest stopped making progress at icount ${machine.clock.icount}: ${machine.stuckReason}`);
        status = 1;
        break;
      }
      if (reason === "idle") {
        if (serialIn.length === 0 && !quit) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (e) {
    flushSerial();
    log(`internal error at icount ${machine.clock.icount}, pc 0x${machine.pc().toString(16)}: ${(e as Error).stack ?? e}`);
    status = 2;
  } finally {
    await chardevs.closeAll();
  }
  return status;
}

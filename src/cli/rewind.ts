// `rewind`: the friendly front door over the same machinery as rewind-system-aarch64.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isAbsolute, join, resolve } from "node:path";
import { createMachine } from "../boards/registry.js";
import { ENGINE_KINDS, type EngineKind } from "../boards/board.js";
import { machineDigest } from "../core/machine.js";
import { RecordingReader } from "../replay/format-reader.js";
import { openRecording } from "../replay/format-locate.js";
import { RecordingError } from "../replay/format-types.js";
import { REWIND_VERSION } from "./qemu-options.js";
import { systemMain } from "./system-main.js";
import { demo } from "./demo.js";
import { demoX86 } from "./demo-x86.js";

/** Bundled guests, found relative to this module (dist/src/cli -> repository root). */
export const GUESTS_DIR = fileURLToPath(new URL("../../../guests/aarch64/", import.meta.url));

const HELP = `usage: rewind <command> [options]

commands:
  demo                      record the bundled buggy guest, then go back in time to the store that corrupted it
  demo linux                record a Linux session: Debian's arm64 kernel to a busybox shell on this terminal
                            ('poweroff -f' ends it); build the guest first with scripts/build-linux-guest.sh
  demo x86                  record SeaBIOS booting an x86 pc, then find the store that set its memory size
  run GUEST                 run a guest (a bundled name or an ELF/Image path) and describe the run
  record GUEST [-o FILE]    record a guest's execution (console on this terminal; Ctrl-A x stops)
         [--shift N] [-- QEMU-OPTIONS...]
  replay FILE [--gdb PORT]  replay a recording; with --gdb, wait paused for gdb-multiarch on 127.0.0.1:PORT
  run, record and replay take --engine fast|interp: compiled blocks (the default) or the interpreter alone;
  both give the same state at every instruction, so a recording made with one replays with the other
  guests                    list the bundled guests
  help, version

The QEMU-compatible emulators are 'rewind-system-aarch64' and 'rewind-system-x86_64' (try: rewind-system-x86_64 -h).
`;

const GUESTS: Record<string, string> = {
  hello: "greets, prints CPU and device-tree facts, powers off",
  compute: "integer workload (~300M instructions) ending in a checksum; the benchmark",
  "compute-small": "the compute workload with 4 rounds (~6.7M instructions)",
  "compute-long": "the compute workload with 610 rounds (~1.0G instructions; reverse-debugging depths)",
  ticks: "GICv2 + architected timer interrupts, WFI between ten ticks",
  busy: "computes while timer interrupts (re-armed with TVAL) arrive; prints the work done between them",
  "busy-gic": "counts the instructions between an MMIO/MSR write and the interrupt it makes pending",
  echo: "interactive: echoes the lines you type, uppercased; 'quit' powers off",
  buggy: "a C program with a memory-corruption bug, built with debug info (the demo)",
};

class CliError extends Error {}

const engineArgs = (engine: EngineKind | undefined) => (engine === undefined ? [] : ["-accel", `tcg,engine=${engine}`]);

function guestFile(name: string): string {
  if (name in GUESTS) return join(GUESTS_DIR, `${name}.elf`);
  if (existsSync(name)) return resolve(name);
  throw new CliError(`no guest '${name}': give a bundled guest (${Object.keys(GUESTS).join(", ")}) or a file`);
}

/** Takes `--engine fast|interp` out of args (the last one wins); undefined when absent. */
function takeEngine(args: string[], command: string): EngineKind | undefined {
  let engine: EngineKind | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] !== "--engine") continue;
    const v = args[i + 1];
    if (v === undefined || !(ENGINE_KINDS as readonly string[]).includes(v))
      throw new CliError(`${command}: --engine takes ${ENGINE_KINDS.join(" or ")}${v === undefined ? "" : `, not '${v}'`}`);
    engine = v as EngineKind;
    args.splice(i, 2);
    i--;
  }
  return engine;
}

function run(args: string[]): number {
  args = [...args];
  const engine = takeEngine(args, "run");
  const [name, ...rest] = args;
  if (!name || rest.length) throw new CliError("usage: rewind run GUEST [--engine fast|interp]");
  const path = guestFile(name);
  const out: number[] = [];
  const machine = createMachine("virt", {
    ramSize: 128 << 20,
    icountShift: 7,
    kernel: { name: path, bytes: readFileSync(path) },
    rtcBootSeconds: 0,
    serial: [
      (b) => {
        out.push(b);
        if (b === 10) flush();
      },
    ],
    log: (line) => process.stderr.write(`rewind: ${line}\n`),
    engine,
  });
  const flush = () => {
    if (out.length) process.stdout.write("  | " + Buffer.from(out).toString("latin1").replace(/\r/g, ""));
    out.length = 0;
  };
  process.stdout.write(`Rewind ${REWIND_VERSION}: ${name} on an emulated AArch64 'virt' machine (Cortex-A53, 128 MiB)\n`);
  const t0 = process.hrtime.bigint();
  const reason = machine.run({ icount: Number.MAX_SAFE_INTEGER, ticks: 0 });
  flush();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const icount = machine.clock.icount;
  const how = reason === "poweroff" ? "powered off (PSCI SYSTEM_OFF)" : reason === "idle" ? "waits for input (use rewind-system-aarch64 or rewind record to type)" : `stopped (${reason})`;
  process.stdout.write(`\nthe guest ${how} after ${icount.toLocaleString("en-US")} instructions\n`);
  process.stdout.write(`virtual time ${(machine.clock.ns / 1e6).toFixed(3)} ms; host time ${ms.toFixed(1)} ms (${(icount / ms / 1000).toFixed(1)} guest MIPS)\n`);
  process.stdout.write(`final pc 0x${machine.pc().toString(16)}; machine state digest ${machineDigest(machine).slice(0, 16)}\n`);
  return reason === "poweroff" || reason === "idle" ? 0 : 1;
}

async function record(args: string[]): Promise<number> {
  args = [...args];
  const engine = takeEngine(args, "record");
  let output = "recording.rwr";
  let shift = "7";
  let guest: string | undefined;
  const extra: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      extra.push(...args.slice(i + 1));
      break;
    }
    if (a === "-o" || a === "--output") output = args[++i] ?? "";
    else if (a === "--shift") shift = args[++i] ?? "";
    else if (a.startsWith("-")) throw new CliError(`record: unknown option '${a}'`);
    else if (guest === undefined) guest = a;
    else throw new CliError(`record: more than one guest given ('${guest}', '${a}')`);
  }
  if (!guest) throw new CliError("usage: rewind record GUEST [-o FILE] [--shift N] [-- QEMU-OPTIONS...]");
  if (!output) throw new CliError("record: -o needs a file name");
  if (!/^\d+$/.test(shift)) throw new CliError(`record: --shift needs a number, not '${shift}'`);
  // The console is this terminal unless the extra QEMU options say where it goes.
  const console = extra.some((a) => ["-serial", "-display", "-nographic", "-chardev"].includes(a)) ? [] : ["-nographic"];
  const argv = ["-M", "virt", "-cpu", "cortex-a53", ...console, "-kernel", guestFile(guest), "-icount", `shift=${shift},rr=record,rrfile=${output}`, ...engineArgs(engine), ...extra];
  process.stderr.write(`rewind: recording to ${output} (Ctrl-A x stops the recording)\n`);
  const status = await systemMain(argv);
  if (status === 0 && existsSync(output)) {
    const r = RecordingReader.open(output);
    process.stderr.write(`rewind: recorded ${(r.trailer?.finalIcount ?? 0).toLocaleString("en-US")} instructions (${r.events.length} inputs) in ${output}; replay it with: rewind replay ${output}\n`);
  }
  return status;
}

/** Where scripts/build-linux-guest.sh puts the Linux guest (relative to the repository root). */
const LINUX_GUEST = fileURLToPath(new URL("../../../.cache/", import.meta.url));

/** `rewind demo linux`: records Debian's kernel booting the busybox initramfs, with its shell on this terminal. */
async function linuxDemo(_args: string[]): Promise<number> {
  const kernel = join(LINUX_GUEST, "kernels/vmlinuz-arm64");
  const initrd = join(LINUX_GUEST, "linux/initramfs.cpio.gz");
  const missing = [kernel, initrd].filter((f) => !existsSync(f));
  if (missing.length) throw new CliError(`the Linux guest is not built (${missing.join(", ")} missing): run scripts/build-linux-guest.sh (it fetches Debian's arm64 kernel and busybox-static)`);
  process.stderr.write("rewind: booting Debian's arm64 Linux with a busybox shell; type commands, 'poweroff -f' ends the session\n");
  return record([kernel, "-o", "linux.rwr", "--", "-m", "512", "-initrd", initrd, "-append", "console=ttyAMA0 quiet panic=-1"]);
}

async function replay(args: string[]): Promise<number> {
  args = [...args];
  const engine = takeEngine(args, "replay");
  let file: string | undefined;
  let gdbPort: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--gdb") gdbPort = args[++i] ?? "";
    else if (a.startsWith("-")) throw new CliError(`replay: unknown option '${a}'`);
    else if (file === undefined) file = a;
    else throw new CliError("replay: give one recording");
  }
  if (!file) throw new CliError("usage: rewind replay FILE [--gdb PORT]");
  if (gdbPort !== undefined && !/^\d+$/.test(gdbPort)) throw new CliError(`replay: --gdb needs a port number, not '${gdbPort}'`);
  // FILE, or when a killed recorder left only its temporary file, that file: systemMain finds it again from FILE
  // and says which file it replays, and why.
  const rec = openRecording(file).recording;
  const launch = rec.header.config.launch;
  if (!launch) throw new CliError(`'${file}' does not say how it was started; replay it with rewind-system-aarch64 and the options it was recorded with`);
  const abs = isAbsolute(file) ? file : resolve(file);
  // The recorded command line, with the recording switched to replay of this file; paths are relative to where
  // it was recorded.
  const argv = launch.argv.map((a) =>
    /(^|,)rr=record(,|$)/.test(a) ? a.replace(/rr=record/, "rr=replay").replace(/rrfile=(([^,]|,,)*)/, `rrfile=${abs.replace(/,/g, ",,")}`) : a,
  );
  if (gdbPort !== undefined) argv.push("-gdb", `tcp::${gdbPort}`, "-S");
  argv.push(...engineArgs(engine));
  if (existsSync(launch.cwd)) process.chdir(launch.cwd);
  if (gdbPort !== undefined) process.stderr.write(`rewind: replaying ${file}; waiting for GDB on 127.0.0.1:${gdbPort} (target remote :${gdbPort})\n`);
  return systemMain(argv, launch.program === "rewind-system-x86_64" ? "x86_64" : "aarch64");
}

export async function rewindMain(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "demo":
        if (rest.length === 1 && rest[0] === "linux") return await linuxDemo(rest.slice(1));
        if (rest.length === 1 && rest[0] === "x86") return await demoX86();
        if (rest.length) throw new CliError("demo takes no arguments but 'linux' or 'x86' (to run another guest: rewind run GUEST)");
        return await demo(GUESTS_DIR);
      case "run":
        return run(rest);
      case "record":
        return await record(rest);
      case "replay":
        return await replay(rest);
      case "guests":
        for (const [g, what] of Object.entries(GUESTS)) process.stdout.write(`  ${g.padEnd(14)} ${what}\n`);
        return 0;
      case undefined:
      case "help":
      case "-h":
      case "--help":
        process.stdout.write(HELP);
        return 0;
      case "version":
      case "--version":
        process.stdout.write(`rewind ${REWIND_VERSION}\n`);
        return 0;
      default:
        process.stderr.write(`rewind: unknown command '${cmd}'\n${HELP}`);
        return 1;
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof RecordingError) {
      process.stderr.write(`rewind: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

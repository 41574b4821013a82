// `rewind`: the friendly front door. Subcommands grow with the product (record, replay, debug...).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { VirtMachine } from "../boards/virt/virt.js";
import { machineDigest } from "../core/machine.js";
import { REWIND_VERSION } from "./qemu-options.js";

/** Bundled guests, found relative to this module (dist/src/cli -> repository root). */
export const GUESTS_DIR = fileURLToPath(new URL("../../../guests/aarch64/", import.meta.url));

const HELP = `usage: rewind <command> [options]

commands:
  demo [GUEST]     run a bundled guest (default: buggy) and explain what happened
  guests           list the bundled guests
  help             this text
  version          print the version

The QEMU-compatible emulator is 'rewind-system-aarch64' (try: rewind-system-aarch64 -h).
`;

const GUESTS: Record<string, string> = {
  hello: "greets, prints CPU and device-tree facts, powers off",
  compute: "integer workload (~300M instructions) ending in a checksum; the benchmark",
  "compute-small": "the compute workload with 4 rounds (~6.7M instructions)",
  ticks: "GICv2 + architected timer interrupts, WFI between ten ticks",
  echo: "interactive: echoes lines you type, uppercased (needs a terminal: use rewind-system-aarch64)",
  buggy: "a C program with a memory-corruption bug, built with debug info",
};

function demo(args: string[]): number {
  const name = args[0] ?? "buggy";
  if (!(name in GUESTS) || name === "echo") {
    process.stderr.write(`rewind demo: unknown guest '${name}' (choose one of: ${Object.keys(GUESTS).filter((g) => g !== "echo").join(", ")})\n`);
    return 1;
  }
  const path = join(GUESTS_DIR, `${name}.elf`);
  const out: number[] = [];
  const machine = new VirtMachine({
    ramSize: 128 << 20,
    icountShift: 7,
    kernel: { name: path, bytes: readFileSync(path) },
    rtcBootSeconds: 0,
    serialOut: (b) => {
      out.push(b);
      if (b === 10) flush();
    },
    log: (line) => process.stderr.write(`rewind: ${line}\n`),
  });
  const flush = () => {
    if (out.length) process.stdout.write("  | " + Buffer.from(out).toString("latin1").replace(/\r/g, ""));
    out.length = 0;
  };
  process.stdout.write(`Rewind ${REWIND_VERSION}: booting guests/aarch64/${name}.elf on an emulated AArch64 'virt' machine (Cortex-A53, 128 MiB)\n`);
  process.stdout.write(`guest console:\n`);
  const t0 = process.hrtime.bigint();
  let reason = machine.run(Number.MAX_SAFE_INTEGER);
  flush();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (reason === "idle") reason = "idle";
  const icount = machine.clock.icount;
  process.stdout.write(`\nwhat happened:\n`);
  process.stdout.write(`  the guest ${reason === "poweroff" ? "powered the machine off (PSCI SYSTEM_OFF)" : `stopped (${reason})`} after ${icount.toLocaleString("en-US")} instructions\n`);
  process.stdout.write(`  virtual time: ${(machine.clock.ns / 1e6).toFixed(3)} ms (icount shift 7: 128 ns per instruction)\n`);
  process.stdout.write(`  host time: ${ms.toFixed(1)} ms (${(icount / ms / 1000).toFixed(1)} guest MIPS)\n`);
  process.stdout.write(`  final pc: 0x${machine.pc().toString(16)}; machine state digest: ${machineDigest(machine).slice(0, 16)}\n`);
  process.stdout.write(`  run it again and the digest is the same: execution is a pure function of the guest and its inputs.\n`);
  if (name === "buggy")
    process.stdout.write(`\n  The guest found its own data corrupted. Reverse debugging (coming next) will walk back in time\n  to the store that did it: see guests/aarch64/buggy.c.\n`);
  return reason === "poweroff" ? 0 : 1;
}

export function rewindMain(argv: string[]): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "demo":
      return demo(rest);
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
}

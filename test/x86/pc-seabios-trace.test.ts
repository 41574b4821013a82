// SeaBIOS on the pc board runs its first 477,000 instructions at the addresses QEMU 7.2 (-M pc,smm=off) runs
// them, in the same order: through the shadowing of the BIOS (PAM), fw_cfg, the e820 table, PCI enumeration and
// BAR allocation, PIIX3/PIIX4 and IDE setup, the LAPIC and SMP probe, MPTABLE and SMBIOS, up to where SeaBIOS
// checksums the ACPI tables (whose contents are the board's own, docs/x86-seabios-log.md).
//
// The oracle is QEMU's one-instruction trace, run here (`-singlestep -d exec,nochain`). QEMU logs a block
// again when it left it at an icount deadline without executing it; such a repeated line is skipped when
// Rewind's next instruction is elsewhere (a REP loop repeats its address legitimately and still matches).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const SEABIOS = "/usr/share/seabios/bios-256k.bin";
const KVMVAPIC = "/usr/share/qemu/kvmvapic.bin";
const COUNT = 477_000;
/** QEMU's trace lines take about 80 bytes: this is comfortably more than COUNT of them. */
const TRACE_BYTES = 60 << 20;

const missing = missingTool("qemu-system-x86_64") || (!existsSync(SEABIOS) && `needs ${SEABIOS} (Debian package seabios)`) || (!existsSync(KVMVAPIC) && `needs ${KVMVAPIC} (Debian package qemu-system-data)`);

async function qemuTrace(): Promise<number[]> {
  const dir = tempDir("rewind-seabios-trace-");
  const file = join(dir, "exec.log");
  const q = spawn("qemu-system-x86_64", ["-M", "pc,smm=off", "-display", "none", "-vga", "none", "-nodefaults", "-debugcon", "file:/dev/null", "-global", "isa-debugcon.iobase=0x402",
    "-icount", "shift=7,sleep=off", "-singlestep", "-d", "exec,nochain", "-D", file], { stdio: "ignore" });
  try {
    for (let i = 0; i < 600 && !(existsSync(file) && statSync(file).size >= TRACE_BYTES); i++) await sleep(100);
  } finally {
    q.kill("SIGKILL");
  }
  const text = readFileSync(file, "latin1");
  rmSync(dir, { recursive: true, force: true });
  const pcs: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("Trace")) continue;
    const m = /\[[0-9a-f]+\/([0-9a-f]+)\//.exec(line);
    if (m) pcs.push(parseInt(m[1], 16));
  }
  return pcs;
}

test("pc: SeaBIOS's first 477,000 instructions run where QEMU (smm=off) runs them", { skip: missing }, async () => {
  const trace = await qemuTrace();
  assert.ok(trace.length > COUNT + 1000, `QEMU's trace has only ${trace.length} instructions`);
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(SEABIOS), debugcon: () => {}, optionRoms: [{ name: "kvmvapic.bin", data: readFileSync(KVMVAPIC) }] });
  const c = m.cpu;
  let at = 0;
  let repeats = 0;
  for (let i = 0; i < COUNT; i++) {
    // Taking an interrupt is a step of Rewind's own (docs/icount.md) that QEMU's trace has no line for.
    if (!c.shadow && (c.rflags & 0x200) !== 0 && c.intr?.pending()) assert.equal(m.run(atIcount(m.clock.icount + 1)), "limit");
    const ip = c.codeBits === 16 ? c.ripLo & 0xffff : c.ripLo >>> 0;
    const pc = ((c.segBaseLo[1] >>> 0) + ip) >>> 0;
    while (trace[at] !== pc && at > 0 && trace[at] === trace[at - 1]) {
      at++;
      repeats++;
    }
    if (trace[at] !== pc) assert.fail(`instruction ${i}: Rewind at 0x${pc.toString(16)}, QEMU at 0x${trace[at].toString(16)}`);
    at++;
    assert.equal(m.run(atIcount(m.clock.icount + 1)), "limit", m.stuckReason);
  }
  // A handful of blocks QEMU logged twice at icount deadlines, no more.
  assert.ok(repeats < 100, `${repeats} QEMU trace lines skipped`);
});

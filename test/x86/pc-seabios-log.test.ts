// SeaBIOS 1.16 (Debian's bios-256k.bin) on Rewind's pc board runs to "No bootable device." and its debug log
// (isa-debugcon at 0x402) is QEMU 7.2's for the same configuration, line for line (docs/x86-seabios-log.md lists
// the lines allowed to differ and why: none at present). QEMU is run here with the reference command; the board
// gets QEMU's kvmvapic.bin option ROM as QEMU gives it to the guest.
//
// And the run is deterministic: split into random host chunks it reaches the same state (digest) as one run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";
import { decodeState, digestBytes, encodeState, loadSections, saveSections } from "../../src/core/state.js";
import { xorshift32 } from "../helpers/random.js";
import { tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const SEABIOS = "/usr/share/seabios/bios-256k.bin";
const KVMVAPIC = "/usr/share/qemu/kvmvapic.bin";
const FINAL = "No bootable device.\n";
/** A bound on the run (QEMU takes 5.65 M instructions): far past it, something is wrong. */
const LIMIT = 20_000_000;
/** Lines that differ from QEMU's on purpose (docs/x86-seabios-log.md): none. */
const INTENDED_DIFFERENCES: readonly RegExp[] = [];

const missing = missingTool("qemu-system-x86_64") || (!existsSync(SEABIOS) && `needs ${SEABIOS} (Debian package seabios)`) || (!existsSync(KVMVAPIC) && `needs ${KVMVAPIC} (Debian package qemu-system-data)`);

interface Run {
  machine: PcMachine;
  log: string;
  /** The instruction that wrote the final newline. */
  finalIcount: number;
}

/** Boots SeaBIOS; with `until`, runs to exactly that icount (in chunks from `chunk`, or in one call), else in
 * chunks until the final message is out. */
function boot(chunk?: () => number, until?: number): Run {
  let log = "";
  let finalIcount = -1;
  const machine: PcMachine = new PcMachine({
    ramSize: 128 << 20,
    icountShift: 7,
    bios: readFileSync(SEABIOS),
    optionRoms: [{ name: "kvmvapic.bin", data: readFileSync(KVMVAPIC) }],
    debugcon: (b) => {
      log += String.fromCharCode(b);
      if (finalIcount < 0 && log.endsWith(FINAL)) finalIcount = machine.clock.icount;
    },
  });
  const end = until ?? LIMIT;
  while (machine.clock.icount < end && (until !== undefined || finalIcount < 0)) {
    const step = chunk ? chunk() : end - machine.clock.icount;
    const reason = machine.run(atIcount(Math.min(end, machine.clock.icount + step)));
    if (reason !== "limit") assert.fail(`stopped (${reason}: ${machine.stuckReason}) at icount ${machine.clock.icount}`);
  }
  return { machine, log, finalIcount };
}

async function qemuLog(): Promise<string> {
  const file = join(tempDir("rewind-seabios-"), "qemu.log");
  const q = spawn("qemu-system-x86_64", ["-M", "pc", "-display", "none", "-vga", "none", "-nodefaults", "-debugcon", `file:${file}`, "-global", "isa-debugcon.iobase=0x402", "-icount", "shift=7"], { stdio: "ignore" });
  try {
    // QEMU never exits by itself: wait until the log is complete (bounded by a generous number of polls).
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      if (existsSync(file) && readFileSync(file, "latin1").endsWith(FINAL)) break;
    }
  } finally {
    q.kill("SIGKILL");
  }
  return readFileSync(file, "latin1");
}

test("pc: SeaBIOS runs to \"No bootable device.\" with QEMU 7.2's debug log, line for line", { skip: missing }, async () => {
  const expected = await qemuLog();
  assert.ok(expected.endsWith(FINAL), "QEMU's log is complete");
  const r = boot(() => 1_000_000);
  assert.ok(r.finalIcount > 0, `SeaBIOS did not finish; its log ends with: ${r.log.slice(-300)}`);
  const ours = r.log.slice(0, r.log.indexOf(FINAL) + FINAL.length).split("\n");
  const theirs = expected.split("\n");
  const differing: string[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    if (ours[i] === theirs[i]) continue;
    if (ours[i] !== undefined && INTENDED_DIFFERENCES.some((re) => re.test(ours[i]))) continue;
    differing.push(`line ${i + 1}: rewind ${JSON.stringify(ours[i])} qemu ${JSON.stringify(theirs[i])}`);
  }
  assert.deepEqual(differing, []);
  assert.equal(ours.length, theirs.length);
});

test("pc: SeaBIOS's run does not depend on how the host chunks it (state digest)", { skip: missing }, () => {
  const first = boot(() => 1_000_000);
  assert.ok(first.finalIcount > 0);
  const target = first.finalIcount;
  const whole = boot(undefined, target);
  const rnd = xorshift32(20261202);
  const chunked = boot(() => 1 + (rnd() % 40_000), target);
  assert.equal(whole.machine.clock.icount, target);
  assert.equal(chunked.machine.clock.icount, target);
  assert.equal(whole.finalIcount, target);
  assert.equal(chunked.log, whole.log);
  assert.equal(chunked.finalIcount, target);
  const digest = (m: PcMachine) => digestBytes(encodeState(saveSections(m.stateParts)));
  assert.equal(digest(chunked.machine), digest(whole.machine));
  // A state saved mid-boot (shadowed BIOS, PCI set up, PMBASE moved) and loaded into a fresh machine goes on to
  // the same end state.
  const mid = boot(undefined, 3_000_000);
  const saved = encodeState(saveSections(mid.machine.stateParts));
  const resumed = boot(undefined, 0);
  loadSections(resumed.machine.stateParts, decodeState(saved));
  assert.equal(resumed.machine.run(atIcount(target)), "limit");
  assert.equal(digest(resumed.machine), digest(whole.machine));
});

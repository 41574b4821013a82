// Real gdb-multiarch debugging a Rewind recording of buggy.elf backwards and forwards: every reverse command,
// breakpoints, hardware breakpoints and all three watchpoint kinds, with the answers a GDB user expects.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, missingTool } from "../helpers/tools.js";
import { ROOT, guestPath, tempDir } from "../helpers/sessions.js";

const BIN = join(ROOT, "bin/rewind-system-aarch64.js");
const skip = missingTool("gdb-multiarch");

const BASE = ["-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "null", "-kernel", guestPath("buggy.elf")];

function record(dir: string): string {
  const file = join(dir, "buggy.bin");
  const r = spawnSync(process.execPath, [BIN, ...BASE, "-icount", `shift=7,rr=record,rrfile=${file}`], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

/** Replays under the GDB stub and runs a gdb batch script against it; returns GDB's output. */
async function gdb(recording: string, commands: string[]): Promise<string> {
  const port = await freePort();
  const emu: ChildProcess = spawn(process.execPath, [BIN, ...BASE, "-icount", `shift=7,rr=replay,rrfile=${recording}`, "-gdb", `tcp::${port}`, "-S"], { stdio: "ignore" });
  try {
    const script = join(tempDir(), "cmds.gdb");
    writeFileSync(script, ["set pagination off", "set confirm off", `target remote 127.0.0.1:${port}`, ...commands, "kill", ""].join("\n"));
    // Run from the guest folder so GDB finds the sources by their relative names.
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync("gdb-multiarch", ["-q", "-batch", "-x", script, "buggy.elf"], { cwd: join(ROOT, "guests/aarch64"), encoding: "utf8", timeout: 120_000 });
      const out = r.stdout + r.stderr;
      if (/Connection refused/.test(out) && attempt < 50) {
        await new Promise((res) => setTimeout(res, 100));
        continue;
      }
      return out;
    }
  } finally {
    emu.kill();
  }
}

/** Asserts that the patterns appear in this order in GDB's output. */
function inOrder(out: string, patterns: RegExp[]): void {
  let at = 0;
  for (const p of patterns) {
    const m = new RegExp(p.source, p.flags.replace("g", "") + "g");
    m.lastIndex = at;
    const found = m.exec(out);
    assert.ok(found, `expected ${p} after offset ${at} in GDB output:\n${out}`);
    at = found.index + found[0].length;
  }
}

test("reverse-stepi at the start: No more reverse-execution history", { skip, timeout: 180_000 }, async () => {
  const rec = record(tempDir());
  const out = await gdb(rec, ["reverse-stepi", "stepi", "info registers pc", "reverse-stepi", "info registers pc", "reverse-continue"]);
  inOrder(out, [/No more reverse-execution history\./, /pc\s+0x40200040/, /pc\s+0x40200000/, /No more reverse-execution history\./]);
});

test("watch + reverse-continue finds the corrupting store; reverse-stepi/finish/next/step navigate back", { skip, timeout: 180_000 }, async () => {
  const rec = record(tempDir());
  const out = await gdb(rec, [
    "break check_inventory",
    "continue",
    "watch inventory[3].id",
    "reverse-continue",
    "print i",
    "reverse-stepi",
    "reverse-finish",
    "print slot",
    "reverse-next",
    "reverse-step",
    "next",
    "step",
    "finish",
  ]);
  inOrder(out, [
    /Breakpoint 1, check_inventory \(\) at \.\/buggy\.c:87/,
    /Hardware watchpoint 2: inventory\[3\]\.id/,
    // Going backwards GDB shows the values swapped: the store changed 1004 into 768.
    /Old value = 768\s+New value = 1004/,
    /copy_name \(dst=.*\) at \.\/buggy\.c:60\s+60\s+dst\[i\] = '\\0';/,
    /\$1 = 8/,
    /60\s+dst\[i\] = '\\0';/,
    // reverse-finish: back in the caller, at the call.
    /rename_item \(slot=2, name=.*"cucumber"\) at \.\/buggy\.c:73/,
    /\$2 = 2/,
    /73\s+copy_name\(inventory\[slot\]\.name, name\);/,
    // Forward again over the same code: the watchpoint triggers on the bad store, now 1004 -> 768.
    /Old value = 1004\s+New value = 768/,
  ]);
});

test("hbreak/break in both directions; rwatch and awatch", { skip, timeout: 180_000 }, async () => {
  const rec = record(tempDir());
  const out = await gdb(rec, [
    "break print_inventory",
    "continue",
    "hbreak add_item",
    "reverse-continue",
    "print slot",
    "reverse-continue",
    "print slot",
    "continue",
    "print slot",
    "delete",
    "rwatch inventory[1].qty",
    "continue",
    "awatch inventory[0].qty",
    "reverse-continue",
    "delete",
    "break main",
    "reverse-continue",
    "reverse-continue",
  ]);
  inOrder(out, [
    /Breakpoint 1, print_inventory \(\)/,
    /Hardware assisted breakpoint 2 at/,
    /Breakpoint 2, add_item \(slot=3, qty=3, name=.*"damson"\)/,
    /\$1 = 3/,
    /Breakpoint 2, add_item \(slot=2, qty=30, name=.*"cherry"\)/,
    /\$2 = 2/,
    /Breakpoint 2, add_item \(slot=3/,
    /\$3 = 3/,
    /Hardware read watchpoint 3: inventory\[1\]\.qty\s+Value = 7/,
    /Hardware access \(read\/write\) watchpoint 4: inventory\[0\]\.qty\s+Value = 12/,
    /Breakpoint 5, main \(\)/,
    /No more reverse-execution history\./,
  ]);
});

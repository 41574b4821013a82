// `rewind demo`: records the bundled buggy guest, replays it, and walks back in time with a reverse watchpoint
// to the store that corrupted its data, saying what it found in terms of the program (symbols, source line,
// call stack). Everything goes through the session API, as GDB would.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMachine } from "../boards/registry.js";
import { asVirtMachine } from "../boards/virt/board.js";
import type { VirtMachine } from "../boards/virt/virt.js";
import { readElfSymbols, Symbolizer } from "../boards/elf-symbols.js";
import { RecordingWriter } from "../replay/format-writer.js";
import { RecordingReader } from "../replay/format-reader.js";
import { RecordingSink, replaySource } from "../replay/recording.js";
import { MachineSession } from "../session/session.js";
import { hashImageFile } from "../replay/format-config.js";
import type { RecordingConfig } from "../replay/format-types.js";

const out = (s = "") => process.stdout.write(s + "\n");
const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/** The demo's guest is an AArch64 program: a virt machine (its CPU registers give the call stack). */
function newMachine(kernel: string, onByte: (b: number) => void): VirtMachine {
  const m = createMachine("virt", {
    ramSize: 128 << 20,
    icountShift: 7,
    kernel: { name: kernel, bytes: readFileSync(kernel) },
    rtcBootSeconds: 0,
    serial: [onByte],
    log: (l) => process.stderr.write(`rewind: ${l}\n`),
  });
  return asVirtMachine(m);
}

/** "buggy.c:60" from the cross toolchain's addr2line when it is installed; undefined otherwise. */
function sourceLine(elf: string, addr: bigint): string | undefined {
  const r = spawnSync("aarch64-linux-gnu-addr2line", ["-e", elf, hex(addr)], { encoding: "utf8" });
  if (r.status !== 0 || !r.stdout || r.stdout.startsWith("??")) return undefined;
  return r.stdout.trim().replace(/^.*\//, "");
}

function readU64(session: MachineSession, addr: bigint): bigint {
  const b = session.readMemory(addr, 8);
  return new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
}

function readU32(session: MachineSession, addr: bigint): number {
  const b = session.readMemory(addr, 4);
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
}

export async function demo(guestsDir: string): Promise<number> {
  const kernel = join(guestsDir, "buggy.elf");
  const symbols = new Symbolizer(readElfSymbols(readFileSync(kernel), kernel));
  const dir = mkdtempSync(join(tmpdir(), "rewind-demo-"));
  const file = join(dir, "buggy.rwr");
  try {
    // 1. Record.
    out("Rewind demo: debugging a memory corruption backwards in time");
    out("");
    out("1. Recording guests/aarch64/buggy.elf on an emulated AArch64 'virt' machine (Cortex-A53):");
    let line: number[] = [];
    const console = (b: number) => {
      if (b === 10) {
        out("   | " + Buffer.from(line).toString("latin1").replace(/\r/g, ""));
        line = [];
      } else line.push(b);
    };
    const rm = newMachine(kernel, console);
    const config: RecordingConfig = {
      board: "virt", cpu: "cortex-a53", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 0,
      kernel: hashImageFile(kernel),
    };
    const writer = RecordingWriter.create(file, { config });
    const recorder = new MachineSession({
      machine: rm, mode: "record",
      record: new RecordingSink(writer, () => ({ icount: rm.clock.icount, ticks: rm.clock.ticks })),
    });
    const end = await recorder.cont();
    if (end.kind !== "poweroff") throw new Error(`the guest stopped unexpectedly (${end.kind})`);
    const total = recorder.icount();
    out(`   recorded ${total.toLocaleString("en-US")} instructions into ${statSync(file).size} bytes`);
    out("");

    // 2. Replay to the end, where the damage is visible.
    const m = newMachine(kernel, () => {});
    const session = new MachineSession({ machine: m, mode: "replay", replay: replaySource(RecordingReader.open(file), file) });
    await session.seek(total);
    const inventory = symbols.lookup("inventory");
    if (!inventory) throw new Error("buggy.elf has no 'inventory' symbol");
    const itemSize = inventory.size / 4n;
    const id3 = inventory.value + 3n * itemSize;
    const now = readU32(session, id3);
    out(`2. Replaying. At the end (instruction ${total.toLocaleString("en-US")}) inventory[3].id holds ${now}, but add_item() set it to 1004.`);
    out(`   Who wrote it? Set a watchpoint on inventory[3].id (${hex(id3)}) and run backwards.`);
    out("");

    // 3. Reverse continue to the last write, then one reverse step onto the store itself.
    let t0 = process.hrtime.bigint();
    session.addWatchpoint("write", id3, 4);
    const hit = await session.reverseCont();
    const bcMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (hit.kind !== "watchpoint") throw new Error(`reverse continue ended with ${hit.kind}`);
    const after = readU32(session, id3);
    t0 = process.hrtime.bigint();
    await session.reverseStep();
    const bsMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const before = readU32(session, id3);
    const pc = m.pc();
    const insn = readU32(session, pc);
    out(`3. Found it: instruction ${session.icount().toLocaleString("en-US")} changes inventory[3].id from ${before} to ${after}.`);
    out(`   pc ${hex(pc)} <${symbols.describe(pc)}>   ${m.interp.decoder.disassemble(insn, pc)}`);
    const src = sourceLine(kernel, pc);
    if (src) {
      const [f, n] = src.split(":");
      const text = (() => {
        try {
          return readFileSync(join(guestsDir, f), "utf8").split("\n")[Number(n) - 1]?.trim();
        } catch {
          return undefined;
        }
      })();
      out(`   source ${src}${text ? `:   ${text}` : ""}`);
    }
    // The call stack, from the frame-pointer chain (the guest is built with frame pointers at -O0).
    // copy_name is a leaf (no frame record of its own), so its caller is in the link register.
    const lr = BigInt.asUintN(64, (BigInt(m.cpu.xhi[30] >>> 0) << 32n) | BigInt(m.cpu.xlo[30] >>> 0));
    const frames = [symbols.describe(pc), symbols.describe(lr - 4n)];
    let fp = BigInt.asUintN(64, (BigInt(m.cpu.xhi[29] >>> 0) << 32n) | BigInt(m.cpu.xlo[29] >>> 0));
    for (let i = 0; i < 8 && fp !== 0n; i++) {
      try {
        const ret = readU64(session, fp + 8n);
        if (ret === 0n) break;
        if (ret !== lr) frames.push(symbols.describe(ret - 4n));
        fp = readU64(session, fp);
      } catch {
        break;
      }
    }
    out(`   call stack: ${frames.join("  <-  ")}`);
    out(`   The store writes the terminating NUL one byte past item.name: the 8-character name "cucumber"`);
    out(`   fills the field, so dst[8] is the first byte of the next item's id.`);
    out("");
    out(`4. Cost: reverse continue over the whole run took ${bcMs.toFixed(0)} ms, one reverse step ${bsMs.toFixed(1)} ms.`);
    out("");
    out("Try it with a real debugger:");
    out("   npx rewind record buggy -o buggy.rwr");
    out("   npx rewind replay buggy.rwr --gdb 1234          # waits for the debugger");
    out("   # in a second terminal:");
    out("   cd guests/aarch64 && gdb-multiarch buggy.elf -ex 'target remote :1234' \\");
    out("       -ex 'break check_inventory' -ex continue -ex 'watch inventory[3].id' -ex reverse-continue");
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

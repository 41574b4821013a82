// `rewind demo x86`: records SeaBIOS booting the x86_64 `pc` machine to "No bootable device.", replays it, and
// walks back in time with a reverse watchpoint to the instruction that set the BIOS data area's memory size —
// everything through the session API, as GDB would (the demo ends with the GDB commands for the same).

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMachine } from "../boards/registry.js";
import { asPcMachine, defaultBios } from "../boards/pc/board.js";
import type { PcMachine } from "../boards/pc/pc.js";
import { Seg } from "../arch/x86/cpu-state.js";
import { RecordingWriter } from "../replay/format-writer.js";
import { RecordingReader } from "../replay/format-reader.js";
import { RecordingSink, replaySource } from "../replay/recording.js";
import { MachineSession } from "../session/session.js";
import { hashImageFile } from "../replay/format-config.js";
import type { RecordingConfig } from "../replay/format-types.js";

const out = (s = "") => process.stdout.write(s + "\n");
const hex = (v: number, width = 0) => v.toString(16).padStart(width, "0");
const END = "No bootable device.";
/** The BIOS data area's base memory size in KiB (40:13). */
const BDA_MEM_KB = 0x413;

function newMachine(bios: string, onByte: (b: number) => void): PcMachine {
  return asPcMachine(createMachine("pc", {
    icountShift: 7,
    bios: { name: bios, bytes: readFileSync(bios) },
    isaDevices: [{ driver: "isa-debugcon", iobase: 0x402, readback: 0xe9 }],
    debugcon: [onByte],
    rtcBootSeconds: 0,
    log: (l) => process.stderr.write(`rewind: ${l}\n`),
  }));
}

/** CS:EIP and the mode, as a BIOS engineer reads them. */
function where(m: PcMachine): string {
  const c = m.cpu;
  const mode = c.codeBits === 16 ? ((c.cr0 & 1) === 0 ? "real mode" : "16-bit protected mode") : c.codeBits === 32 ? "32-bit protected mode" : "64-bit mode";
  return `${hex(c.segSel[Seg.CS], 4)}:${hex(c.ripLo >>> 0, 8)} (linear 0x${m.pc().toString(16)}, ${mode})`;
}

function readU16(session: MachineSession, addr: number): number {
  const b = session.readMemory(BigInt(addr), 2);
  return b[0] | (b[1] << 8);
}

export async function demoX86(): Promise<number> {
  const bios = defaultBios();
  if (!bios) throw new Error("no SeaBIOS image (install Debian's seabios package, or keep pc-bios/bios-256k.bin)");
  const dir = mkdtempSync(join(tmpdir(), "rewind-demo-x86-"));
  const file = join(dir, "seabios.rwr");
  try {
    out("Rewind demo (x86): SeaBIOS on an emulated pc, recorded and walked back in time");
    out("");
    out(`1. Recording ${bios} on the x86_64 'pc' machine (i440FX, qemu64) to "${END}":`);
    const lines: { icount: number; text: string }[] = [];
    let line: number[] = [];
    let lineStart = 0;
    let recorder: MachineSession | undefined;
    const rm = newMachine(bios, (b) => {
      if (line.length === 0) lineStart = rm.clock.icount;
      if (b !== 10) return void line.push(b);
      const text = Buffer.from(line).toString("latin1");
      lines.push({ icount: lineStart, text });
      line = [];
      if (text === END) recorder?.pause();
    });
    const config: RecordingConfig = {
      board: "pc", cpu: "qemu64", ramSize: 128 << 20, icountShift: 7, append: "", drives: [], rtcBootSeconds: 0,
      bios: hashImageFile(bios), extra: { devices: ["isa-debugcon,iobase=0x402,readback=0xe9"], serialPorts: "0" },
    };
    const writer = RecordingWriter.create(file, { config });
    recorder = new MachineSession({
      machine: rm, mode: "record",
      record: new RecordingSink(writer, () => ({ icount: rm.clock.icount, ticks: rm.clock.ticks })),
    });
    const end = await recorder.cont();
    if (end.kind !== "interrupted" || lines.at(-1)?.text !== END) throw new Error(`SeaBIOS stopped before '${END}' (${end.kind})`);
    recorder.finishRecording("quit");
    const total = recorder.icount();
    const show = (l: { icount: number; text: string }) => out(`   | ${l.text.padEnd(58)} @${l.icount.toLocaleString("en-US")}`);
    lines.slice(0, 3).forEach(show);
    out(`   | ... (${lines.length - 5} more lines)`);
    lines.slice(-2).forEach(show);
    out(`   recorded ${total.toLocaleString("en-US")} instructions into ${statSync(file).size} bytes (@N: the instruction that printed the line)`);
    out("");

    // 2. Replay to the end and ask the question.
    const m = newMachine(bios, () => {});
    const session = new MachineSession({ machine: m, mode: "replay", replay: replaySource(RecordingReader.open(file), file) });
    await session.seek(total);
    const kb = readU16(session, BDA_MEM_KB);
    out(`2. Replaying. At the end the BIOS data area says ${kb} KiB of base memory (the word at 0x${BDA_MEM_KB.toString(16)}).`);
    out(`   Which instruction wrote it? A write watchpoint there, and reverse continue from the end:`);
    out("");

    // 3. Reverse continue onto the store (x86: the stop is on the writing instruction, the old value in memory).
    let t0 = process.hrtime.bigint();
    session.addWatchpoint("write", BigInt(BDA_MEM_KB), 2);
    const hit = await session.reverseCont();
    const bcMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (hit.kind !== "watchpoint") throw new Error(`reverse continue ended with ${hit.kind}`);
    const before = readU16(session, BDA_MEM_KB);
    const storeAt = session.icount();
    out(`3. Found it: instruction ${(storeAt + 1).toLocaleString("en-US")} stores ${kb} over ${before}, at ${where(m)}:`);
    out(`   SeaBIOS's POST code, relocated to the top of RAM, filling in the BIOS data area.`);
    const trail: string[] = [];
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 3; i++) {
      await session.reverseStep();
      trail.push(`0x${m.pc().toString(16)}`);
    }
    const bsMs = Number(process.hrtime.bigint() - t0) / 1e6 / 3;
    out(`   the three instructions before it: ${trail.reverse().join(", ")}`);
    out("");
    out(`4. Cost: reverse continue over ${total.toLocaleString("en-US")} instructions took ${bcMs.toFixed(0)} ms, one reverse step ${bsMs.toFixed(1)} ms.`);
    out("");
    out("Try it with a real debugger (QEMU's command line):");
    out("   npx rewind-img create -f qcow2 disk.qcow2 128M");
    out("   npx rewind-system-x86_64 -M pc -display none -nodefaults -debugcon file:bios.log -global isa-debugcon.iobase=0x402 \\");
    out("       -icount shift=7,rr=record,rrfile=bios.rr,rrsnapshot=init -drive file=disk.qcow2,if=none   # Ctrl-C after the log's last line");
    out("   npx rewind-system-x86_64 -M pc -display none -nodefaults -debugcon file:bios.log -global isa-debugcon.iobase=0x402 \\");
    out("       -icount shift=7,rr=replay,rrfile=bios.rr,rrsnapshot=init -drive file=disk.qcow2,if=none -s -S");
    out("   gdb-multiarch -ex 'target remote :1234' -ex 'watch *(unsigned short*)0x413' -ex continue -ex continue -ex reverse-continue");
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Oracle for a real kernel's interrupt timing: Debian's arm64 Linux boots under QEMU 7.2 (the replay of its own
// `-icount shift=7,sleep=off` recording, stopped only at hardware breakpoints on the kernel's IRQ vectors) and
// under Rewind (a live session with the same breakpoints). At every interrupt entry — from EL1 (VBAR+0x280) and
// from EL0 (VBAR+0x480) — the general registers, SP, PC and PSTATE must be the same: the interrupt was taken
// after the same instruction, in the same state, however each side split its run. Both machines see the same
// inputs: one device tree — the tree Rewind's board generates, compact, given to QEMU with -dtb, and to Rewind as
// the exact blob QEMU then loads (its dumpdtb: QEMU rewrites the memory node and leaves NOPs, and the kernel's
// pointers into the tree, hashed into its early random state, see that layout); QEMU's own tree lists devices this
// board does not have (fw-cfg, PCIe, PL061, flash), and QEMU 7.2 does not boot this kernel with a 1 MiB -dtb. The
// PL031 at the same date on the virtual clock (`-rtc base=...,clock=vm`), the same initramfs.
//
// QEMU's system counter does not start at 0: its virtual clock has run for QEMU's setup time (~8 ms, different in
// every QEMU run) when the guest starts. The kernel's first counter read (an early random_get_entropy) therefore
// reads another value under QEMU, its random state differs, and so would registers at interrupts. The oracle reads
// that first value on both sides and starts Rewind's counter at QEMU's (VirtConfig.counterStart); everything after
// — every later read, every timer deadline — must then agree by itself.
//
// The kernel takes its first interrupt ~103 M instructions in, then one every ~33,000 (the 250 Hz tick at 128 ns
// per instruction). By default the first 130 M instructions (~800 interrupts); REWIND_LINUX_ENTRIES_INSNS=1000000000
// goes on through the boot (and takes minutes). PSTATE is compared without NZCV: QEMU 7.2 clears it on exception entry, the
// Arm ARM (and Rewind) keep it; the interrupted code's flags are in SPSR_EL1 either way.

import { test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QemuTarget } from "../../src/tools/lockstep/qemu-target.js";
import { MachineSession } from "../../src/session/session.js";
import { VirtMachine } from "../../src/boards/virt/virt.js";
import { FdtTree } from "../../src/core/fdt.js";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const KERNEL = process.env.REWIND_LINUX_KERNEL ?? join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const skip = missingTool("qemu-system-aarch64")
  || (!existsSync(KERNEL) || !existsSync(INITRD) ? "needs the Linux guest: run scripts/fetch-debian-kernel.sh and scripts/build-linux-guest.sh" : false);
const INSTRUCTIONS = Number(process.env.REWIND_LINUX_ENTRIES_INSNS ?? 130_000_000);
const RAM = 512 << 20;
const APPEND = "console=ttyAMA0 panic=-1";
const RTC_SECONDS = 1_767_225_600; // 2026-01-01T00:00:00Z
const NAMES = [...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp", "pc", "cpsr"];
const PSTATE_WITHOUT_NZCV = 0x0fffffffn;

function value(name: string, v: bigint): string {
  return `${name}=${(name === "cpsr" ? v & PSTATE_WITHOUT_NZCV : v).toString(16)}`;
}

function littleEndian(v: Uint8Array): bigint {
  let n = 0n;
  for (let i = v.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(v[i]!);
  return n;
}

function rewindMachine(dtb?: Uint8Array, counterStart = 0): VirtMachine {
  return new VirtMachine({
    ...(dtb ? { dtb: { name: "virt.dtb", bytes: dtb }, dtbVerbatim: true } : {}),
    counterStart,
    ramSize: RAM,
    icountShift: 7,
    kernel: { name: KERNEL, bytes: readFileSync(KERNEL) },
    initrd: { name: INITRD, bytes: readFileSync(INITRD) },
    append: APPEND,
    rtcBootSeconds: RTC_SECONDS,
    serialOut: () => {},
    log: () => {},
  });
}

/** The kernel's VBAR_EL1 once it has set it (it is not randomised: no kaslr-seed reaches the kernel). */
function kernelVectors(): bigint {
  const m = rewindMachine();
  for (let i = 1; i <= 40 && m.cpu.sys.vbarEl1Hi === 0; i++) m.run({ icount: i * 1_000_000, ticks: 0 });
  assert.notEqual(m.cpu.sys.vbarEl1Hi, 0, "the kernel did not set VBAR_EL1 in its first 40 M instructions");
  return (BigInt(m.cpu.sys.vbarEl1Hi >>> 0) << 32n) | BigInt(m.cpu.sys.vbarEl1Lo >>> 0);
}

/** Where the kernel's text runs: its link address (no kaslr-seed in the tree, so no randomisation). */
const KERNEL_VA = 0xffff800008000000n;

/** The instruction after every `mrs xN, cntvct_el0` / `cntpct_el0` in the kernel's text, with its N. */
function counterReadSites(m: VirtMachine): { after: bigint; rt: number }[] {
  const k = m.boot.kernel;
  const text = m.readPhysical(k.low, k.high - k.low);
  const words = new DataView(text.buffer, text.byteOffset, text.byteLength);
  const sites: { after: bigint; rt: number }[] = [];
  for (let off = 0; off + 4 <= text.length; off += 4) {
    const w = words.getUint32(off, true);
    const op = (w & ~0x1f) >>> 0;
    if (op === 0xd53be040 || op === 0xd53be020) sites.push({ after: KERNEL_VA + BigInt(off) + 4n, rt: w & 0x1f });
  }
  assert.ok(sites.length > 0, "no counter reads found in the kernel's text");
  return sites;
}

interface Entry {
  vector: bigint;
  regs: string;
}

const QEMU_MACHINE = ["-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-kernel", KERNEL, "-initrd", INITRD, "-append", APPEND];

/** The board's own device tree, compact (the file QEMU gets with -dtb), and the blob QEMU loads from it. */
function deviceTrees(dir: string): { file: string; loaded: Uint8Array } {
  const dtb = rewindMachine().boot.blobs.find((b) => b.what === "dtb");
  assert.ok(dtb, "the board loads a device tree");
  const file = join(dir, "virt.dtb");
  writeFileSync(file, FdtTree.fromDtb(dtb.bytes).toDtb());
  const dumped = join(dir, "loaded.dtb");
  const [m, machine, ...rest] = QEMU_MACHINE;
  const r = spawnSync("qemu-system-aarch64", [m!, `${machine},dumpdtb=${dumped}`, ...rest, "-dtb", file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return { file, loaded: readFileSync(dumped) };
}

async function qemuEntries(vectors: bigint[], dtbFile: string, sites: { after: bigint; rt: number }[]): Promise<{ firstCount: bigint; entries: Entry[] }> {
  const qemu = await QemuTarget.start({
    kernel: KERNEL,
    extraArgs: ["-m", "512", "-dtb", dtbFile, "-initrd", INITRD, "-append", APPEND, "-rtc", `base=${new Date(RTC_SECONDS * 1000).toISOString().slice(0, 19)},clock=vm`],
    mode: "replay",
    icount: "shift=7,sleep=off",
    registers: "core",
    recordInstructions: INSTRUCTIONS,
    recordTimeoutMs: 120_000,
    timeoutMs: 60_000,
  });
  const out: Entry[] = [];
  let firstCount = -1n;
  try {
    const client = qemu.client;
    // The first counter read (before the first interrupt): software breakpoints after every read site.
    for (const site of sites) await client.setBreakpoint(0, site.after, 4);
    const first = await client.cont({ timeoutMs: 120_000 });
    assert.equal(first.kind, "signal", "QEMU stops after the kernel's first counter read");
    const pc = (await client.readRegisters(["pc"])).get("pc")!;
    const site = sites.find((s) => s.after === pc);
    assert.ok(site, `QEMU stopped at ${pc.toString(16)}, not after a counter read`);
    firstCount = (await client.readRegisters([`x${site.rt}`])).get(`x${site.rt}`)!;
    for (const s of sites) await client.removeBreakpoint(0, s.after, 4);
    for (const v of vectors) await client.setBreakpoint(1, v, 4);
    for (;;) {
      const stop = await client.cont({ timeoutMs: 120_000 });
      if (stop.kind !== "signal" || stop.reason === "replaylog") break;
      const regs = await client.readRegisters(NAMES);
      const pc = regs.get("pc")!;
      out.push({ vector: pc, regs: NAMES.map((n) => value(n, regs.get(n)!)).join(" ") });
      // Off the breakpoint (QEMU would report it again at once): on to the vector's second instruction;
      // interrupts are masked on entry, so nothing comes in between.
      await client.removeBreakpoint(1, pc, 4);
      await client.setBreakpoint(1, pc + 4n, 4);
      const next = await client.cont({ timeoutMs: 60_000 });
      if (next.kind !== "signal" || next.reason === "replaylog") break;
      await client.removeBreakpoint(1, pc + 4n, 4);
      await client.setBreakpoint(1, pc, 4);
    }
  } finally {
    await qemu.close();
  }
  return { firstCount, entries: out };
}

/** Rewind's value of the kernel's first counter read, with the counter starting at 0. */
async function rewindFirstCount(dtb: Uint8Array, sites: { after: bigint; rt: number }[]): Promise<bigint> {
  const session = new MachineSession({ machine: rewindMachine(dtb), mode: "live" });
  for (const site of sites) session.addBreakpoint("sw", site.after, 4);
  const ev = await session.cont();
  assert.equal(ev.kind, "breakpoint");
  const regnum = new Map(session.registers().map((r) => [r.name, r.regnum]));
  const pc = littleEndian(session.readRegister(regnum.get("pc")!)!);
  const site = sites.find((s) => s.after === pc)!;
  return littleEndian(session.readRegister(regnum.get(`x${site.rt}`)!)!);
}

async function rewindEntries(vectors: bigint[], dtb: Uint8Array, counterStart: number, count: number): Promise<Entry[]> {
  const session = new MachineSession({ machine: rewindMachine(dtb, counterStart), mode: "live" });
  const regnum = new Map(session.registers().map((r) => [r.name, r.regnum]));
  for (const v of vectors) session.addBreakpoint("hw", v, 4);
  const out: Entry[] = [];
  while (out.length < count) {
    const ev = await session.cont();
    if (ev.kind !== "breakpoint") break;
    const regs = NAMES.map((n) => value(n, littleEndian(session.readRegister(regnum.get(n)!)!)));
    out.push({ vector: littleEndian(session.readRegister(regnum.get("pc")!)!), regs: regs.join(" ") });
  }
  return out;
}

test(`Linux boot: every interrupt entry in the first ${INSTRUCTIONS.toLocaleString("en-US")} instructions matches QEMU -icount shift=7`, { skip, timeout: 1_800_000 }, async (t) => {
  const vbar = kernelVectors();
  const vectors = [vbar + 0x280n, vbar + 0x480n];
  const trees = deviceTrees(tempDir("rewind-linux-entries-"));
  const dtb = trees.loaded;
  const sites = counterReadSites(rewindMachine(dtb));
  const qemu = await qemuEntries(vectors, trees.file, sites);
  const fromQemu = qemu.entries;
  assert.ok(fromQemu.length >= 100, `QEMU took ${fromQemu.length} interrupts`);
  const start = qemu.firstCount - (await rewindFirstCount(dtb, sites));
  assert.ok(start >= 0n && start < 1n << 40n, `QEMU's counter started at ${start}`);
  const fromRewind = await rewindEntries(vectors, dtb, Number(start), fromQemu.length);
  const el0 = fromQemu.filter((e) => e.vector === vectors[1]).length;
  t.diagnostic(`${fromQemu.length} interrupt entries (${el0} from EL0), QEMU's counter started at ${start}`);
  for (let i = 0; i < fromQemu.length; i++) assert.equal(fromRewind[i]?.regs, fromQemu[i]!.regs, `interrupt ${i + 1} of ${fromQemu.length} (${el0} from EL0)`);
});

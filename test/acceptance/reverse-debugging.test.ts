// A TypeScript port of QEMU's reverse-debugging acceptance test (../shared/reference): record while polling
// query-replay, replay under the GDB stub, 10 steps forward saving PCs, 10 reverse steps checking them,
// replay-break near the end, continue, hardware breakpoints at the saved PCs, reverse-continue onto the last.
// It runs against Rewind and, when installed, against qemu-system-aarch64/x86_64 themselves, proving the port
// faithful: AArch64 on virt (a bundled guest and the Debian kernel), x86_64 on pc with only the BIOS (SeaBIOS).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RspClient } from "../../src/gdb/rsp-client.js";
import { QmpTestClient } from "../qmp/qmp-client.js";
import { freePort, missingTool } from "../helpers/tools.js";
import { ROOT, guestPath, tempDir } from "../helpers/sessions.js";

const STEPS = 10;
/** The Linux kernel keeps running: its recordings go well past the steps (echo.elf idles after ~4,000). */
const LINUX_RECORD = 1_000_000;

interface Emulator {
  name: string;
  system: string[];
  img: string[];
}

/** What differs between the reference's two cases: the machine's options and how the test reads the PC. */
interface Guest {
  /** Options after the common ones (machine, CPU, boot files). */
  args: string[];
  /** The PC as the reference computes it from the registers. */
  pc(g: RspClient): Promise<bigint>;
  /** The architecture the target description names. */
  xml: RegExp;
}

const REWIND_IMG = [process.execPath, join(ROOT, "bin/rewind-img.js")];
const REWIND: Emulator = { name: "rewind", system: [process.execPath, join(ROOT, "bin/rewind-system-aarch64.js")], img: REWIND_IMG };
const QEMU: Emulator = { name: "qemu", system: ["qemu-system-aarch64"], img: ["qemu-img"] };
const REWIND_X86: Emulator = { name: "rewind-x86", system: [process.execPath, join(ROOT, "bin/rewind-system-x86_64.js")], img: REWIND_IMG };
const QEMU_X86: Emulator = { name: "qemu-x86", system: ["qemu-system-x86_64"], img: ["qemu-img"] };

const reg = async (g: RspClient, n: number) => pcOf(await g.cmd(`p${n.toString(16)}`));

/** AArch64 virt: PC is register 32. */
const aarch64 = (kernel: string): Guest => ({
  args: ["-machine", "virt", "-cpu", "cortex-a53", "-kernel", kernel],
  pc: (g) => reg(g, 32),
  xml: /aarch64/,
});

/** x86_64 pc with the BIOS only: PC = rip (register 16) + cs (register 18) * 16, as the reference computes it. */
const X86_PC: Guest = {
  args: ["-machine", "pc"],
  pc: async (g) => (await reg(g, 0x10)) + (await reg(g, 0x12)) * 16n,
  xml: /i386:x86-64/,
};

async function waitFor(path: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function launch(emu: Emulator, dir: string, record: boolean, guest: Guest, extra: string[], gdbPort?: number): { proc: ChildProcess; qmpPath: string; stderr: () => string } {
  const qmpPath = join(dir, record ? "qmp-rec.sock" : "qmp-rep.sock");
  const args = [
    ...emu.system.slice(1),
    ...guest.args, "-display", "none", "-vga", "none",
    "-chardev", `file,id=ser0,path=${join(dir, record ? "serial-rec.log" : "serial-rep.log")}`, "-serial", "chardev:ser0",
    "-qmp", `unix:${qmpPath},server=on,wait=off`,
    "-icount", `shift=7,rr=${record ? "record" : "replay"},rrfile=${join(dir, "replay.bin")},rrsnapshot=init`,
    "-net", "none", "-drive", `file=${join(dir, "disk.qcow2")},if=none`,
    ...extra,
  ];
  if (!record) args.push("-gdb", `tcp:127.0.0.1:${gdbPort}`, "-S");
  const proc = spawn(emu.system[0], args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  return { proc, qmpPath, stderr: () => err };
}

async function shutdown(proc: ChildProcess, qmp: QmpTestClient): Promise<void> {
  const exited = new Promise((r) => proc.once("exit", r));
  try {
    await qmp.cmd("quit");
  } catch {
    /* the emulator may close first */
  }
  qmp.close();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (proc.exitCode === null) proc.kill("SIGKILL");
}

const pcOf = (reply: string) => {
  let n = 0n;
  for (let i = reply.length - 2; i >= 0; i -= 2) n = (n << 8n) | BigInt(parseInt(reply.slice(i, i + 2), 16));
  return n;
};

/**
 * The seed flow on `emu`. The recording runs until more than `recordAtLeast` instructions ran (at least STEPS):
 * the reference polls and then quits, so an emulator starved of CPU by other tests may record barely past the
 * threshold, and QEMU replays the recorded quit and exits ("W00") at the end of its log.
 */
async function reverseDebugging(emu: Emulator, guest: Guest, recordAtLeast = STEPS, extra: string[] = []): Promise<void> {
  const dir = tempDir(`rewind-acceptance-${emu.name}-`);
  const img = spawnSync(emu.img[0], [...emu.img.slice(1), "create", "-f", "qcow2", join(dir, "disk.qcow2"), "128M"], { encoding: "utf8" });
  assert.equal(img.status, 0, img.stderr);

  // Record, polling query-replay until more than recordAtLeast instructions ran.
  const rec = launch(emu, dir, true, guest, extra);
  await waitFor(rec.qmpPath);
  const qmp = await QmpTestClient.ready({ path: rec.qmpPath });
  let lastIcount = 0;
  const deadline = Date.now() + 30_000;
  while ((lastIcount = (await qmp.cmd("query-replay")).reply.return.icount) <= Math.max(STEPS, recordAtLeast)) {
    assert.ok(Date.now() < deadline, `icount stuck at ${lastIcount}: ${rec.stderr()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const info = (await qmp.cmd("query-replay")).reply.return;
  assert.equal(info.mode, "record");
  await shutdown(rec.proc, qmp);

  // Replay under the GDB stub.
  const port = await freePort();
  const rep = launch(emu, dir, false, guest, extra, port);
  await waitFor(rep.qmpPath);
  const vm = await QmpTestClient.ready({ path: rep.qmpPath });
  assert.equal((await vm.cmd("query-replay")).reply.return.mode, "play");
  const g = await RspClient.connect("127.0.0.1", port, { timeoutMs: 30_000 });
  try {
    const features = await g.cmd("qSupported");
    if (features.includes("qXfer:features:read+")) assert.match(await g.cmd("qXfer:features:read:target.xml:0,ffb"), guest.xml);
    assert.match(features, /ReverseStep\+/);
    assert.match(features, /ReverseContinue\+/);

    const steps: bigint[] = [];
    for (let i = 0; i < STEPS; i++) {
      steps.push(await guest.pc(g));
      assert.equal(await g.cmd("s"), "T05thread:01;");
    }
    for (const addr of [...steps].reverse()) {
      assert.equal(await g.cmd("bs"), "T05thread:01;");
      assert.equal(await guest.pc(g), addr);
    }

    // Seek towards the end with a replay breakpoint: continue returns with SIGINT.
    const br = (await vm.cmd("replay-break", { icount: lastIcount - 1 })).reply;
    assert.deepEqual(br, { return: {}, id: br.id });
    assert.equal(await g.cmd("c"), "T02thread:01;");

    for (const addr of steps) assert.equal(await g.cmd(`Z1,${addr.toString(16)},1`), "OK");
    assert.equal(await g.cmd("bc"), "T05thread:01;");
    assert.equal(await guest.pc(g), steps[STEPS - 1]);
  } finally {
    g.close();
    await shutdown(rep.proc, vm);
  }
}

/**
 * The QEMU runs are the reference, not the system under test, and QEMU 7.2's replay is known to fail now and
 * then under load (on the Linux kernel its gdbstub sometimes exits, "W00", twice in a row while the other test
 * file ran beside it; see qemu-facts.md for others): up to three attempts.
 */
async function withRetries(run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run();
      return;
    } catch (e) {
      if (attempt === 3) throw e;
      process.stderr.write(`# QEMU reference run failed (attempt ${attempt}), retrying: ${(e as Error).message}\n`);
    }
  }
}

// echo.elf waits for input in WFI after its prompt: a recording that stays alive until QMP quit.
const BUNDLED = aarch64(guestPath("echo.elf"));

test("seed flow against Rewind on a bundled guest", { timeout: 120_000 }, () => reverseDebugging(REWIND, BUNDLED));

// The Debian arm64 kernel, as the reference boots Fedora's: scripts/fetch-debian-kernel.sh puts it here.
const LINUX = process.env.REWIND_LINUX_KERNEL ?? join(ROOT, ".cache/kernels/vmlinuz-arm64");
const LINUX_GUEST = aarch64(LINUX);
const noLinux = existsSync(LINUX) ? false : "needs the Debian arm64 kernel: run scripts/fetch-debian-kernel.sh";

test("seed flow against Rewind on the Debian arm64 Linux kernel", { skip: noLinux, timeout: 300_000 }, () => reverseDebugging(REWIND, LINUX_GUEST, LINUX_RECORD));

test("seed flow against qemu-system-aarch64 on the Debian arm64 Linux kernel", { skip: noLinux || missingTool("qemu-system-aarch64", "qemu-img"), timeout: 300_000 }, () =>
  withRetries(() => reverseDebugging(QEMU, LINUX_GUEST, LINUX_RECORD)),
);

test("seed flow against qemu-system-aarch64 on the same guest (the port is faithful)", { skip: missingTool("qemu-system-aarch64", "qemu-img"), timeout: 120_000 }, () =>
  withRetries(() => reverseDebugging(QEMU, BUNDLED)),
);

// The x86_64 case: `-machine pc` with SeaBIOS only. The issue asks for every run to pass: 20 in a row, counted.
const X86_RUNS = 20;
test(`seed flow against Rewind on x86_64 pc (SeaBIOS), ${X86_RUNS} runs in a row`, { timeout: 900_000 }, async () => {
  let passed = 0;
  const failures: string[] = [];
  for (let i = 0; i < X86_RUNS; i++) {
    try {
      await reverseDebugging(REWIND_X86, X86_PC);
      passed++;
    } catch (e) {
      failures.push(`run ${i + 1}: ${(e as Error).message}`);
    }
  }
  assert.equal(passed, X86_RUNS, failures.join("\n"));
});

// QEMU 7.2 deadlocks in reverse-continue on pc unless the kvmvapic option ROM is off (qemu-facts.md).
test("seed flow against qemu-system-x86_64 with -global apic.vapic=off (the port is faithful)", { skip: missingTool("qemu-system-x86_64", "qemu-img"), timeout: 120_000 }, () =>
  withRetries(() => reverseDebugging(QEMU_X86, X86_PC, STEPS, ["-global", "apic.vapic=off"])),
);

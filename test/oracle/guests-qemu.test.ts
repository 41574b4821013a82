// The bundled AArch64 demo guests, run under the real qemu-system-aarch64: this pins down
// what each guest prints on the reference emulator, so the same expectations can be
// used for Rewind, and catches stale or broken guest binaries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { missingTool } from "../helpers/tools.js";

const QEMU = "qemu-system-aarch64";
const skip = missingTool(QEMU);

/** guests/aarch64, found by walking up from this file (it runs from test/ or dist/test/). */
function guestDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "guests", "aarch64");
    if (existsSync(path.join(candidate, "hello.elf"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("guests/aarch64/hello.elf not found above " + import.meta.url);
    dir = parent;
  }
}

interface QemuRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Console output with the guest's "\r\n" turned into "\n". */
  output: string;
  stderr: string;
}

/**
 * Boots `kernel` on QEMU's virt board the way the guests' README says, feeds `input` to
 * the serial port (then closes stdin), and waits for QEMU to exit.
 */
function runGuest(
  kernel: string,
  opts: { icount?: boolean | string; input?: string; timeoutMs?: number } = {},
): Promise<QemuRun> {
  // -net none: QEMU's default network card needs efi-virtio.rom (Debian's ipxe-qemu, only recommended).
  const args = ["-M", "virt", "-cpu", "cortex-a53", "-m", "128M", "-nographic", "-no-reboot", "-net", "none"];
  if (opts.icount) args.push("-icount", typeof opts.icount === "string" ? opts.icount : "shift=7");
  args.push("-kernel", path.join(guestDir(), kernel));

  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {}); // QEMU may exit before reading everything
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({
        status,
        signal,
        timedOut,
        output: Buffer.concat(out).toString("latin1").replace(/\r\n/g, "\n"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** The run ended by PSCI SYSTEM_OFF (QEMU exits 0) without the runtime's failure markers. */
function assertCleanExit(run: QemuRun): void {
  assert.equal(run.timedOut, false, `QEMU timed out; output so far:\n${run.output}`);
  assert.equal(run.status, 0, `QEMU exit status ${run.status} (signal ${run.signal}); stderr:\n${run.stderr}`);
  assert.doesNotMatch(run.output, /\*\*\*/, "the guest reported a failure");
}

const lines = (...l: string[]) => l.map((s) => s + "\n").join("");

const HELLO_HEAD = lines(
  "Hello from Rewind guest!",
  "CurrentEL: EL1  MIDR_EL1: 0x410fd034 (implementer 0x41, part 0xd03, r0p4)",
);
const HELLO_TAIL = lines("memory: 128 MiB at 0x40000000", "PSCI method: hvc", "Bye.");

const COMPUTE_SMALL = lines(
  "compute: 4 rounds over a 64 KiB buffer",
  "round 1/4: crc 0x1d9b267a",
  "round 2/4: crc 0x6617e112",
  "round 3/4: crc 0x06eee35e",
  "round 4/4: crc 0x6b88fd70",
  "checksum: 0x6b88fd70",
);

const COMPUTE = lines(
  "compute: 180 rounds over a 64 KiB buffer",
  "round 18/180: crc 0xa82e63f9",
  "round 36/180: crc 0x07e501d7",
  "round 54/180: crc 0x59e9c1af",
  "round 72/180: crc 0x56ffaca2",
  "round 90/180: crc 0x35b569e9",
  "round 108/180: crc 0x06d6e1f9",
  "round 126/180: crc 0xb09967af",
  "round 144/180: crc 0x8852c0f6",
  "round 162/180: crc 0x5f7d918e",
  "round 180/180: crc 0xc5292bf4",
  "checksum: 0xc5292bf4",
);

const TICKS = lines(
  "ticks: virtual timer, CNTFRQ_EL0 = 62500000 Hz, one tick every 6250000 counts (100 ms)",
  ...Array.from({ length: 10 }, (_, i) => `tick ${i + 1}`),
  "done: 10 ticks",
);

const BUGGY = lines(
  "inventory:",
  "  #0 id 1001 qty  12 apple",
  "  #1 id 1002 qty   7 banana",
  "  #2 id 1003 qty  30 cucumber",
  "  #3 id  768 qty   3 damson",
  "check: item 3 has id 768, expected 1004: memory corruption!",
);

for (const icount of [false, true]) {
  const mode = icount ? " (-icount shift=7)" : "";

  test(`qemu: hello.elf greets, finds the device tree at the base of RAM${mode}`, { skip }, async () => {
    const run = await runGuest("hello.elf", { icount });
    assertCleanExit(run);
    assert.equal(
      run.output,
      HELLO_HEAD + lines("device tree: at 0x40000000 (base of RAM), x0 = 0x0") + HELLO_TAIL,
    );
  });

  test(`qemu: compute-small.elf prints the known checksums${mode}`, { skip }, async () => {
    const run = await runGuest("compute-small.elf", { icount });
    assertCleanExit(run);
    assert.equal(run.output, COMPUTE_SMALL);
  });

  test(`qemu: ticks.elf takes ten timer interrupts${mode}`, { skip }, async () => {
    const run = await runGuest("ticks.elf", { icount });
    assertCleanExit(run);
    assert.equal(run.output, TICKS);
  });

  test(`qemu: echo.elf answers lines read through the UART interrupt${mode}`, { skip }, async () => {
    const run = await runGuest("echo.elf", { icount, input: "hello\nRewind 42\nquit\n" });
    assertCleanExit(run);
    assert.equal(
      run.output,
      lines(
        'echo: type a line; "quit" or Ctrl-D powers off',
        "> hello",
        "1: HELLO",
        "> Rewind 42",
        "2: REWIND 42",
        "> quit",
        "bye after 2 lines",
      ),
    );
  });

  test(`qemu: buggy.elf shows the corrupted id${mode}`, { skip }, async () => {
    const run = await runGuest("buggy.elf", { icount });
    assertCleanExit(run);
    assert.equal(run.output, BUGGY);
  });
}

test("qemu: hello.bin boots as a raw Image and gets the device tree in x0", { skip }, async () => {
  const run = await runGuest("hello.bin");
  assertCleanExit(run);
  // For a raw Image QEMU puts the device tree after the (absent) initrd, at RAM base +
  // min(RAM / 2, 128 MiB), and enters through its boot stub with x0 pointing at it.
  assert.equal(
    run.output,
    HELLO_HEAD + lines("device tree: at 0x44000000 (passed in x0), x0 = 0x44000000") + HELLO_TAIL,
  );
});

test("qemu: echo.elf handles CR LF, backspace and Ctrl-D", { skip }, async () => {
  const run = await runGuest("echo.elf", { icount: true, input: "ab\x7fc\r\nxyz\r\x04" });
  assertCleanExit(run);
  assert.equal(
    run.output,
    lines(
      'echo: type a line; "quit" or Ctrl-D powers off',
      "> ab\b \bc",
      "1: AC",
      "> xyz",
      "2: XYZ",
      "> ^D",
      "bye after 2 lines",
    ),
  );
});

// busy.elf's output is a function of the instruction count alone, so with icount it is the same on every run;
// but only with sleep=off (under sleep=on virtual time partly follows the host clock).
test("qemu: busy.elf takes its interrupts at the same instructions on every run (icount, sleep=off)", { skip }, async () => {
  const runs: QemuRun[] = [];
  for (let i = 0; i < 3; i++) runs.push(await runGuest("busy.elf", { icount: "shift=7,sleep=off" }));
  for (const run of runs) assertCleanExit(run);
  const out = runs[0]!.output;
  assert.equal(runs[1]!.output, out);
  assert.equal(runs[2]!.output, out);
  const l = out.split("\n");
  assert.equal(l[0], "busy: 100 timer ticks while computing, each 4000 + (0..4095) counts after the last (TVAL)");
  assert.equal(l[1], "tick 1: 7 iterations, counter 26160 (deadline + 312), pc 0x40202154");
  const tick = /^tick \d+: \d+ iterations, counter \d+ \(deadline \+ \d+\), pc 0x[0-9a-f]+$/;
  assert.equal(l.filter((x) => tick.test(x)).length, 100);
  assert.deepEqual(l.slice(101), [
    "rx: 0 bytes",
    "iterations: 1292, hash 0xf952b07021be40f6",
    "checksum: 0xda48191d9e90d669",
    "",
  ]);
});

test("qemu: busy-gic.elf takes each interrupt right after its trigger (-icount shift=7,sleep=off)", { skip }, async () => {
  const run = await runGuest("busy-gic.elf", { icount: "shift=7,sleep=off" });
  assertCleanExit(run);
  assert.equal(
    run.output,
    lines(
      "busy-gic: instructions run after each trigger before its interrupt is taken",
      "GICD_SGIR store, SGI 1 to this CPU, 8 times: +0 +0 +0 +0 +0 +0 +0 +0",
      "SGI sent while PSTATE.I is set, then msr daifclr: +0",
      "SGI pending behind GICC_PMR = 0, then a GICC_PMR store of 0xff: +0",
      "expired timer at a disabled INTID, then a GICD_ISENABLER store: +0",
      "expired timer with CNTV_CTL.IMASK set, then msr cntv_ctl_el0 clearing it: +0",
      "msr cntv_cval_el0 with 0 (already expired): +0",
      "msr cntv_tval_el0 with 0..7: +0 +1 +1 +1 +1 +1 +1 +1",
      "msr cntv_tval_el0 with 8..15: +1 +2 +2 +2 +2 +2 +2 +2",
      "msr cntv_tval_el0 with 16..23: +2 +3 +3 +3 +3 +3 +3 +3",
      "msr cntv_tval_el0 with 24..31: +3 +4 +4 +4 +4 +4 +4 +4",
      "done: 45 interrupts",
    ),
  );
});

test("qemu: compute.elf (about 300 million instructions) prints the known checksums", { skip }, async () => {
  const run = await runGuest("compute.elf", { timeoutMs: 120_000 });
  assertCleanExit(run);
  assert.equal(run.output, COMPUTE);
});

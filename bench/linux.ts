// Linux to a shell beside QEMU in the same run: Debian's arm64 kernel with the busybox initramfs that
// scripts/build-linux-guest.sh builds, a scripted shell session typed after each prompt, `poweroff -f`. For each
// emulator and mode (QEMU plain / -icount shift=7 / rr=record; Rewind live / record / replay) it prints the wall
// time to the first shell prompt and to the end, and for recordings the file size and size per minute of guest
// time. Prints numbers; asserts nothing.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RecordingReader } from "../src/replay/format-reader.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const KERNEL = join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const MACHINE = ["-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-net", "none", "-kernel", KERNEL, "-initrd", INITRD, "-append", "console=ttyAMA0 quiet panic=-1"];
const PROMPT = "/ # ";
const COMMANDS = ["echo hello-$((6*7))", "ls /bin | wc -l", "cat /proc/cpuinfo | grep -c processor", "uname -a", "dmesg | tail -3"];

interface SessionTimes {
  /** Seconds from spawn to the first shell prompt. */
  prompt: number;
  /** Seconds from spawn to exit. */
  total: number;
  status: number | null;
  output: string;
}

/** Runs one emulator command line as a user would: each command typed after the previous prompt, then poweroff -f. */
function shellSession(argv: string[], interactive: boolean): Promise<SessionTimes> {
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  const script = [...COMMANDS, "poweroff -f"];
  let output = "";
  let prompts = 0;
  let prompt = NaN;
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString("latin1");
    const seen = output.split(PROMPT).length - 1;
    while (prompts < seen) {
      if (prompts === 0) prompt = since();
      prompts++;
      if (interactive && prompts <= script.length) child.stdin.write(script[prompts - 1] + "\n");
    }
  });
  child.stderr.on("data", (d: Buffer) => (output += d.toString("latin1")));
  const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
  return new Promise((resolve) => child.once("exit", (status) => {
    clearTimeout(timer);
    resolve({ prompt, total: since(), status, output });
  }));
}

function row(name: string, t: SessionTimes, extra = ""): void {
  const ok = /reboot: Power down/.test(t.output) && t.status === 0 ? "" : `  (status ${t.status}; last output: ${JSON.stringify(t.output.slice(-200))})`;
  console.log(`  ${name.padEnd(34)} prompt ${t.prompt.toFixed(2).padStart(6)} s   end ${t.total.toFixed(2).padStart(6)} s${extra}${ok}`);
}

export async function benchLinux(): Promise<void> {
  console.log("\nLinux to a busybox shell (Debian arm64 kernel, scripted session, poweroff -f)");
  if (!existsSync(KERNEL) || !existsSync(INITRD)) {
    console.log("  skipped: needs the Linux guest (bash scripts/build-linux-guest.sh)");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-linux-"));
  try {
    const haveQemu = spawnSync("qemu-system-aarch64", ["-version"]).status === 0;
    if (haveQemu) {
      row("QEMU 7.2 TCG", await shellSession(["qemu-system-aarch64", ...MACHINE], true));
      row("QEMU -icount shift=7", await shellSession(["qemu-system-aarch64", ...MACHINE, "-icount", "shift=7"], true));
      const qrec = join(dir, "qemu.rr");
      const q = await shellSession(["qemu-system-aarch64", ...MACHINE, "-icount", `shift=7,rr=record,rrfile=${qrec}`], true);
      row("QEMU -icount shift=7,rr=record", q, `   ${(statSync(qrec).size / 1024).toFixed(0)} KiB`);
    } else console.log("  (qemu-system-aarch64 missing: QEMU rows skipped)");

    const rewind = [process.execPath, join(ROOT, "bin/rewind-system-aarch64.js"), ...MACHINE];
    row("Rewind live (fast tier)", await shellSession(rewind, true));
    const rec = join(dir, "linux.rwr");
    const r = await shellSession([...rewind, "-icount", `shift=7,rr=record,rrfile=${rec}`], true);
    const reader = RecordingReader.open(rec);
    const icount = reader.trailer?.finalIcount ?? 0;
    const guestMinutes = (icount * 128) / 1e9 / 60;
    const bytes = statSync(rec).size;
    row("Rewind record", r, `   ${(bytes / 1024).toFixed(0)} KiB, ${(icount / 1e6).toFixed(0)} M insns, ${guestMinutes.toFixed(2)} guest min, ${(bytes / 1024 / guestMinutes).toFixed(0)} KiB/guest min, ${reader.events.length} inputs`);
    const p = await shellSession([...rewind, "-icount", `shift=7,rr=replay,rrfile=${rec}`], false);
    row("Rewind replay", p, `   ${(icount / 1e6 / p.total).toFixed(0)} MIPS over the whole run`);
    if (p.output.replace(/\r/g, "").includes(r.output.replace(/\r/g, "").slice(-400))) console.log("  replay console ends as the recording's");
    else console.log("  WARNING: the replay's console does not end as the recorded session's");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

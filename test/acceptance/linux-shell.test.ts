// Linux to a shell, as a user tries it: Debian's arm64 kernel with the busybox initramfs that
// scripts/build-linux-guest.sh builds, `-nographic`, commands typed on the console, a pasted 200-character line,
// `poweroff -f` ending the run with status 0. The same session runs against qemu-system-aarch64 (which checks the
// guest the script builds) and against Rewind.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const KERNEL = join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const guestMissing = existsSync(KERNEL) && existsSync(INITRD) ? false : "needs the Linux guest: run scripts/build-linux-guest.sh";
const MACHINE = ["-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-net", "none", "-kernel", KERNEL, "-initrd", INITRD, "-append", "console=ttyAMA0 quiet panic=-1"];
const PROMPT = "/ # ";
/** 200 characters that the shell echoes back unchanged (no quoting or expansion). */
const LONG_LINE = Array.from({ length: 200 }, (_, i) => "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7) % 36]).join("");

interface ShellRun {
  status: number | null;
  output: string;
}

/** Boots `argv`, waits for the prompt, types each command after the previous prompt, ends with poweroff -f. */
async function shellSession(argv: string[], commands: string[], timeoutMs: number): Promise<ShellRun> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let prompts = 0;
  let sent = 0;
  const script = [...commands, "poweroff -f"];
  const onData = (d: Buffer) => {
    output += d.toString("latin1");
    // Each new prompt takes the next command (typed at once, as a paste).
    const seen = output.split(PROMPT).length - 1;
    while (prompts < seen) {
      prompts++;
      if (sent < script.length) child.stdin.write(script[sent++] + "\n");
    }
    if (/Kernel panic/.test(output)) setTimeout(() => child.kill("SIGKILL"), 500);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", (d: Buffer) => (output += d.toString("latin1")));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const status = await new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  clearTimeout(timer);
  return { status, output };
}

const COMMANDS = ["echo hello-$((6*7))", `echo ${LONG_LINE}`, "cat /proc/cpuinfo | grep -c processor", "uname -m"];

function checkSession(run: ShellRun): void {
  const tail = run.output.slice(-3000);
  assert.match(run.output, /hello-42/, tail);
  assert.ok(run.output.includes(`\n${LONG_LINE}`) || run.output.includes(`\r\n${LONG_LINE}\r\n`), `the 200-character line did not come back intact:\n${tail}`);
  assert.match(run.output, /\n1\r?\n/, "one processor");
  assert.match(run.output, /aarch64/);
  assert.match(run.output, /reboot: Power down/);
  assert.equal(run.status, 0, tail);
}

test("QEMU boots the Linux guest to a busybox shell: commands, a pasted 200-character line, poweroff -f", { skip: guestMissing || missingTool("qemu-system-aarch64"), timeout: 180_000 }, async () => {
  checkSession(await shellSession(["qemu-system-aarch64", ...MACHINE], COMMANDS, 150_000));
});

test("Rewind boots the Linux guest to a busybox shell: commands, a pasted 200-character line, poweroff -f", { skip: guestMissing, timeout: 600_000 }, async () => {
  checkSession(await shellSession([process.execPath, join(ROOT, "bin/rewind-system-aarch64.js"), ...MACHINE], COMMANDS, 540_000));
});

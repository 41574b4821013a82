// rewind-system-aarch64 as a user runs it: QEMU's command line, the guest's console, exit statuses and errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FdtTree } from "../../src/core/fdt.js";
import { missingTool } from "../helpers/tools.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "bin/rewind-system-aarch64.js");
const REWIND = join(ROOT, "bin/rewind.js");
const guest = (name: string) => join(ROOT, "guests/aarch64", name);

function run(args: string[], input = "", bin = BIN) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: "latin1", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("hello.elf prints its greeting and exits 0 when the guest powers off", () => {
  const r = run(["-M", "virt", "-cpu", "cortex-a53", "-nographic", "-kernel", guest("hello.elf")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Hello from Rewind guest!/);
  assert.match(r.stdout, /MIDR_EL1: 0x410fd034/);
  assert.equal(r.stderr, "");
});

test("a raw Linux-style Image gets the device tree in x0 through QEMU's boot stub", () => {
  const r = run(["-nographic", "-kernel", guest("hello.bin")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /device tree: at 0x44000000 \(passed in x0\)/);
});

test("-serial file: sends the console to a file", () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const out = join(dir, "serial.log");
  const r = run(["-display", "none", "-serial", `file:${out}`, "-kernel", guest("ticks.elf")]);
  assert.equal(r.status, 0, r.stderr);
  const text = spawnSync("cat", [out], { encoding: "latin1" }).stdout;
  assert.match(text, /tick 10/);
  assert.match(text, /done: 10 ticks/);
});

test("serial input reaches the interactive guest through its RX interrupt", () => {
  const r = run(["-display", "none", "-serial", "stdio", "-kernel", guest("echo.elf")], "hello world\nquit\n");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /1: HELLO WORLD/);
  assert.match(r.stdout, /bye after 1 line/);
});

test("-M dumpdtb writes the generated device tree and exits", () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const out = join(dir, "virt.dtb");
  const r = run(["-M", `virt,dumpdtb=${out}`]);
  assert.equal(r.status, 0, r.stderr);
  const head = spawnSync("od", ["-An", "-tx1", "-N4", out], { encoding: "latin1" }).stdout.trim();
  assert.equal(head, "d0 0d fe ed");
});

test("-M dumpdtb with a kernel and an initrd writes the tree the guest gets, /chosen as QEMU 7.2 dumps it", { skip: missingTool("qemu-system-aarch64") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const initrd = join(dir, "initrd.bin");
  writeFileSync(initrd, Buffer.alloc(123_457, 0x5a));
  // A Linux Image header (arm64 booting.rst) with nothing behind it: QEMU and Rewind place it, the initrd and the
  // tree without running it. (An ELF kernel is not Linux to QEMU: no initrd range in its tree.)
  const image = Buffer.alloc(64 * 1024);
  image.writeBigUInt64LE(0n, 8); // text_offset
  image.writeBigUInt64LE(BigInt(image.length), 16); // image_size
  image.writeBigUInt64LE(0xan, 24); // flags: little-endian, 4K pages, anywhere
  image.write("ARM\x64", 56, "latin1");
  const kernel = join(dir, "Image");
  writeFileSync(kernel, image);
  const args = ["-cpu", "cortex-a53", "-m", "256", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyAMA0"];
  const ours = join(dir, "ours.dtb");
  const theirs = join(dir, "qemu.dtb");
  const r = run(["-M", `virt,dumpdtb=${ours}`, ...args]);
  assert.equal(r.status, 0, r.stderr);
  const q = spawnSync("qemu-system-aarch64", ["-M", `virt,dtb-randomness=off,dumpdtb=${theirs}`, "-nographic", ...args], { encoding: "utf8" });
  assert.equal(q.status, 0, q.stderr);
  const chosen = (file: string) => FdtTree.fromDtb(readFileSync(file)).find("/chosen")!;
  for (const prop of ["linux,initrd-start", "linux,initrd-end"]) assert.deepEqual(chosen(ours).getCells(prop), chosen(theirs).getCells(prop), prop);
  assert.equal(chosen(ours).getString("bootargs"), "console=ttyAMA0");
});

test("-drive with QEMU's default if=virtio warns that the board has no PCI bus for it, once, and runs", () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const disk = join(dir, "disk.raw");
  writeFileSync(disk, Buffer.alloc(1 << 20));
  const r = run(["-nographic", "-kernel", guest("hello.elf"), "-drive", `file=${disk},format=raw`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^rewind-system-aarch64: -drive: warning: the guest does not see this drive: the board has no PCI bus for if=virtio .*-device virtio-blk-device,drive=ID$/m);
  assert.equal(r.stderr.match(/warning/g)?.length, 1, r.stderr);
});

test("bad input gets one clear line and a non-zero status, never a stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const junk = join(dir, "junk.bin");
  writeFileSync(junk, Buffer.alloc(4096, 0xff));
  const cases: [string[], RegExp][] = [
    [["-kernel", "/nonexistent/k.elf"], /cannot open kernel '\/nonexistent\/k.elf': No such file or directory/],
    [["-kernel", "/bin/true"], /x86-64 ELF, expected AArch64/],
    [["-frobnicate"], /-frobnicate: invalid option/],
    [["-cpu", "cortex-a72", "-kernel", guest("hello.elf")], /cortex-a72/],
    [["-m", "lots", "-kernel", guest("hello.elf")], /-m/],
    [["-nographic"], /no -kernel given/],
    // Guest code that faults on its own vectors can never run again: say so and stop instead of spinning.
    [["-nographic", "-kernel", junk], /guest stopped making progress .* cannot fetch the exception vector/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.notEqual(r.status, 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, re, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace for ${args.join(" ")}`);
  }
});

test("-h lists the options and -version names Rewind", () => {
  assert.match(run(["-h"]).stdout, /-kernel/);
  assert.match(run(["-version"]).stdout, /Rewind/);
});

test("rewind demo records the buggy guest and walks back to the corrupting store", () => {
  const r = run(["demo"], "", REWIND);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /memory corruption!/);
  assert.match(r.stdout, /changes inventory\[3\]\.id from 1004 to 768/);
  assert.match(r.stdout, /<copy_name\+0x[0-9a-f]+>\s+strb\s+wzr, \[x0\]/);
  assert.match(r.stdout, /call stack: copy_name\+0x[0-9a-f]+ {2}<- {2}rename_item/);
});

test("rewind run describes a run; the digest is the same every time", () => {
  const a = run(["run", "hello"], "", REWIND);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /powered off \(PSCI SYSTEM_OFF\) after [\d,]+ instructions/);
  const digest = /digest ([0-9a-f]{16})/.exec(a.stdout)?.[1];
  assert.ok(digest);
  assert.equal(/digest ([0-9a-f]{16})/.exec(run(["run", "hello"], "", REWIND).stdout)?.[1], digest);
});

test("rewind record then rewind replay FILE: the recording carries its configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const file = join(dir, "echo.rwr");
  const rec = run(["record", "echo", "-o", file, "--", "-serial", "stdio", "-display", "none"], "one\ntwo\nquit\n", REWIND);
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stderr, /recorded [\d,]+ instructions \(\d+ inputs\)/);
  const rep = run(["replay", file], "", REWIND);
  assert.equal(rep.status, 0, rep.stderr);
  assert.equal(rep.stdout, rec.stdout);
  assert.match(rep.stdout, /2: TWO/);
});

test("rewind rejects unknown commands and guests clearly", () => {
  assert.match(run(["frob"], "", REWIND).stderr, /unknown command 'frob'/);
  assert.match(run(["run", "nope"], "", REWIND).stderr, /no guest 'nope'/);
  assert.match(run(["demo", "extra"], "", REWIND).stderr, /demo takes no arguments but .linux. or .x86./);
  assert.match(run(["replay", "/nonexistent.rwr"], "", REWIND).stderr, /nonexistent\.rwr/);
});

test("a recording whose writer was killed replays up to its last whole chunk and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cli-"));
  const file = join(dir, "killed.bin");
  // compute-long: ~1e9 instructions, so the guest is still running when the recorder is killed.
  const args = ["-display", "none", "-serial", "null", "-kernel", guest("compute-long.elf")];
  const { spawn } = await import("node:child_process");
  const { readdirSync } = await import("node:fs");
  const child = spawn(process.execPath, [BIN, ...args, "-icount", `shift=7,rr=record,rrfile=${file}`], { stdio: "ignore" });
  const exited = new Promise((r) => child.once("exit", r));
  // Kill it without warning as soon as it has flushed a chunk after its header (data is flushed every 200 ms).
  // Waiting for the file rather than for a fixed time keeps the test independent of the host's speed.
  const { statSync } = await import("node:fs");
  const tempSize = (): number => {
    const name = readdirSync(dir).find((f) => f.startsWith("killed.bin.tmp-"));
    return name === undefined ? 0 : statSync(join(dir, name)).size;
  };
  const until = async (done: () => boolean, what: string): Promise<void> => {
    for (let waited = 0; !done(); waited += 20) {
      assert.ok(waited < 120_000 && child.exitCode === null, `the recorder exited or stalled before ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => tempSize() > 0, "writing its header");
  const headerSize = tempSize();
  await until(() => tempSize() > headerSize, "flushing a chunk");
  assert.equal(child.exitCode, null, "the recorder is still running when it is killed");
  child.kill("SIGKILL");
  await exited;
  const temp = readdirSync(dir).find((f) => f.startsWith("killed.bin.tmp-"));
  assert.ok(temp, "the killed recorder leaves its temporary file");
  assert.equal(readdirSync(dir).includes("killed.bin"), false, "the destination is only written by a finished recording");
  const r = run([...args, "-icount", `shift=7,rr=replay,rrfile=${join(dir, temp!)}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /replayed up to icount \d+: the recording ends there \(its writer was interrupted\)/);
});

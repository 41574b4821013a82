// Reverse debugging inside a Linux session with real gdb-multiarch. One recording of the busybox guest
// (scripts/build-linux-guest.sh) under -icount shift=7,rr=record: boot, one command, poweroff -f. Then a replay with
// -gdb tcp:...,-S, and gdb-multiarch (batch, with a little Python) drives it:
// - break at start_kernel and continue to it;
// - a write watchpoint on jiffies_64, two writes forward, two reverse-continues back onto them (the store in the
//   timer tick code, with the value before it), PCs checked against symbol ranges;
// - a breakpoint on the EL1 IRQ handler (el1h_64_irq), reverse-stepi back through the exception vector into the
//   interrupted code, stepi forward again through the same PCs.
//
// Symbols: Debian's linux-image package ships a placeholder System.map (the real one is in the -dbg package) and
// the kernel has no KALLSYMS_ALL (no data symbols), so the recorded session itself prints the text symbols it needs
// from /proc/kallsyms (grep -A1 gives each one's end, the next symbol) and jiffies_64's address is read by gdb's
// own disassembler from do_timer (`jiffies_64 += ticks`: adrp + ldr). Rewind gives the kernel no kaslr-seed, so it
// runs at its link addresses ("KASLR disabled due to lack of seed"); the addresses come from the run itself anyway.
// Oracles not written here: gdb-multiarch (its disassembler, watchpoint value reports), the kernel's kallsyms.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/sessions.js";
import { freePort, missingTool } from "../helpers/tools.js";

const KERNEL = join(ROOT, ".cache/kernels/vmlinuz-arm64");
const INITRD = join(ROOT, ".cache/linux/initramfs.cpio.gz");
const BIN = join(ROOT, "bin/rewind-system-aarch64.js");
const skip = !(existsSync(KERNEL) && existsSync(INITRD)) ? "needs the Linux guest: run scripts/build-linux-guest.sh" : missingTool("gdb-multiarch");
const MACHINE = ["-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-nographic", "-net", "none", "-kernel", KERNEL, "-initrd", INITRD, "-append", "console=ttyAMA0 quiet panic=-1"];
const SYMBOLS = ["start_kernel", "do_timer", "tick_do_update_jiffies64", "vectors", "el1h_64_irq"] as const;
const PROMPT = "/ # ";
/** reverse-stepi count from el1h_64_irq: the vector entry is 7 instructions, so this reaches the interrupted code. */
const STEPS = 12;

/** Boots `argv`, types each command after the previous prompt, ends with poweroff -f. */
async function shellSession(argv: string[], commands: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let prompts = 0;
  let sent = 0;
  const script = [...commands, "poweroff -f"];
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString("latin1");
    const seen = output.split(PROMPT).length - 1;
    while (prompts < seen) {
      prompts++;
      if (sent < script.length) child.stdin.write(script[sent++] + "\n");
    }
  });
  child.stderr.on("data", (d: Buffer) => (output += d.toString("latin1")));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const status = await new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  clearTimeout(timer);
  return { status, output };
}

type Range = { start: bigint; end: bigint };

/** [start, next symbol) of each wanted symbol, from `grep -A1` over /proc/kallsyms (which lists vmlinux sorted). */
function symbolRanges(console: string): Record<(typeof SYMBOLS)[number], Range> {
  const lines = console.split(/\r?\n/).map((l) => /^([0-9a-f]{16}) [tT] (\S+)$/.exec(l.trim()));
  const out: Partial<Record<string, Range>> = {};
  lines.forEach((m, i) => {
    const next = lines[i + 1];
    if (m && (SYMBOLS as readonly string[]).includes(m[2]) && next && out[m[2]] === undefined) out[m[2]] = { start: BigInt("0x" + m[1]), end: BigInt("0x" + next[1]) };
  });
  for (const s of SYMBOLS) assert.ok(out[s] && out[s]!.end > out[s]!.start, `no range for ${s} in:\n${console.slice(-3000)}`);
  return out as Record<(typeof SYMBOLS)[number], Range>;
}

const inRange = (pc: bigint, r: Range) => pc >= r.start && pc < r.end;
const hex = (n: bigint) => "0x" + n.toString(16);

function gdbScript(port: number, sym: Record<(typeof SYMBOLS)[number], Range>, reverse = true): string {
  const forward = `set pagination off
set confirm off
set tcp connect-timeout 60
target remote 127.0.0.1:${port}
break *${hex(sym.start_kernel.start)}
continue
printf "AT %lx\\n", $pc
delete
python
import re
t = gdb.execute("x/12i ${hex(sym.do_timer.start)}", to_string=True)
a = re.search(r"adrp\\s+(x\\d+), 0x([0-9a-f]+)", t)
l = re.search(r"ldr\\s+x\\d+, \\[" + a.group(1) + r", #(\\d+)\\]", t)
addr = int(a.group(2), 16) + int(l.group(1))
gdb.execute("set $j = %d" % addr)
gdb.execute("watch *(unsigned long *) %#x" % addr)
end
printf "J0 %lx %lx\\n", $pc, *(unsigned long *)$j
printf "JIFFIES %lx\\n", $j
continue
printf "FWD1 %lx %lx\\n", $pc, *(unsigned long *)$j
continue
printf "FWD2 %lx %lx\\n", $pc, *(unsigned long *)$j
`;
  if (!reverse) return forward + `printf "DONE\\n"\n`;
  return forward + `reverse-continue
printf "REV1 %lx %lx\\n", $pc, *(unsigned long *)$j
reverse-continue
printf "REV2 %lx %lx\\n", $pc, *(unsigned long *)$j
delete
break *${hex(sym.el1h_64_irq.start)}
continue
printf "IRQ %lx\\n", $pc
delete
python
for i in range(${STEPS}):
    gdb.execute("reverse-stepi", to_string=True)
    print("RSTEP %x" % int(gdb.parse_and_eval("(unsigned long) $pc")))
for i in range(${STEPS}):
    gdb.execute("stepi", to_string=True)
    print("STEP %x" % int(gdb.parse_and_eval("(unsigned long) $pc")))
end
printf "DONE\\n"
`;
}

/** What the Rewind test saw going forward, for the QEMU test to compare with. */
let rewindForward: { start: bigint; j0: bigint; fwd: { pc: bigint; value: bigint | undefined }[] } | undefined;

interface Debugged {
  sym: Record<(typeof SYMBOLS)[number], Range>;
  out: string;
  ctx: string;
  field: (name: string) => { pc: bigint; value: bigint | undefined };
}

/** Records the session on `system`, replays it under its GDB stub and runs the gdb script against it. */
async function recordAndDebug(system: string[], dir: string, extra: string, extraArgs: string[], reverse: boolean): Promise<Debugged> {
  const rrfile = join(dir, "linux.rwr");
  const grep = `grep -A1 -E ' (${SYMBOLS.join("|")})$' /proc/kallsyms`;
  const t0 = Date.now();
  const rec = await shellSession([...system, ...MACHINE, ...extraArgs, "-icount", `shift=7,rr=record,rrfile=${rrfile}${extra}`], [grep], 420_000);
  assert.equal(rec.status, 0, rec.output.slice(-3000));
  assert.match(rec.output, /reboot: Power down/);
  const sym = symbolRanges(rec.output);
  const recordMs = Date.now() - t0;

  const port = await freePort();
  const replay = spawn(system[0], [...system.slice(1), ...MACHINE, ...extraArgs, "-icount", `shift=7,rr=replay,rrfile=${rrfile}${extra}`, "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: ["ignore", "ignore", "pipe"] });
  let replayErr = "";
  replay.stderr!.on("data", (d) => (replayErr += d));
  const script = join(dir, "session.gdb");
  writeFileSync(script, gdbScript(port, sym, reverse));
  let g;
  try {
    g = spawnSync("gdb-multiarch", ["-nx", "-batch", "-x", script], { encoding: "utf8", timeout: 240_000 });
  } finally {
    replay.kill("SIGKILL");
  }
  const out = g.stdout + g.stderr;
  const ctx = `${out}\n--- ${system.join(" ")} stderr:\n${replayErr}\n(recording took ${recordMs} ms)`;
  assert.match(out, /^DONE$/m, ctx);
  const field = (name: string) => {
    const m = new RegExp(`^${name} ([0-9a-f]+)(?: ([0-9a-f]+))?$`, "m").exec(out);
    assert.ok(m, `no ${name} line:\n${ctx}`);
    return { pc: BigInt("0x" + m[1]), value: m[2] === undefined ? undefined : BigInt("0x" + m[2]) };
  };
  assert.equal(field("AT").pc, sym.start_kernel.start, ctx);
  return { sym, out, ctx, field };
}

const tickCode = (sym: Debugged["sym"]) => (pc: bigint) => inRange(pc, sym.do_timer) || inRange(pc, sym.tick_do_update_jiffies64);

test("reverse debugging a Linux session with gdb-multiarch: start_kernel, a jiffies watchpoint backwards, reverse-stepi through an IRQ entry", { skip, timeout: 600_000 }, async () => {
  const { sym, out, ctx, field } = await recordAndDebug([process.execPath, BIN], tempDir("rewind-linux-gdb-"), "", [], true);
  // No kaslr-seed in Rewind's device tree: the kernel runs where it is linked (arm64: _text at 0xffff800008000000).
  assert.ok(sym.start_kernel.start >> 28n === 0xffff80000n, `start_kernel at ${hex(sym.start_kernel.start)}`);

  // jiffies_64: two ticks forward, then back onto each store, seeing the value before it.
  const j0 = field("J0").value!;
  const [fwd1, fwd2, rev1, rev2] = ["FWD1", "FWD2", "REV1", "REV2"].map(field);
  const tick = tickCode(sym);
  rewindForward = { start: sym.start_kernel.start, j0, fwd: [fwd1, fwd2] };
  for (const [name, f] of [["FWD1", fwd1], ["FWD2", fwd2], ["REV1", rev1], ["REV2", rev2]] as const) {
    assert.ok(tick(f.pc), `${name} stopped at ${hex(f.pc)}, outside do_timer/tick_do_update_jiffies64\n${ctx}`);
  }
  assert.ok(fwd1.value! > j0 && fwd2.value! > fwd1.value!, ctx);
  assert.equal(rev1.value, fwd1.value, "the first reverse-continue stops on the store that made FWD2, before it");
  assert.equal(rev2.value, j0, "the second on the store that made FWD1");
  // Forward, GDB reports after the store (it steps over it); backwards, Rewind stops on the store itself.
  assert.equal(rev1.pc + 4n, fwd2.pc, ctx);
  assert.equal(rev2.pc + 4n, fwd1.pc, ctx);
  assert.match(out, new RegExp(`Old value = ${fwd2.value}\\s+New value = ${fwd1.value}`), "GDB saw the value go back");

  // IRQ entry: back from el1h_64_irq through the EL1h IRQ vector (vectors + 0x280) into the interrupted code.
  assert.equal(field("IRQ").pc, sym.el1h_64_irq.start, ctx);
  const back = [...out.matchAll(/^RSTEP ([0-9a-f]+)$/gm)].map((m) => BigInt("0x" + m[1]));
  const forth = [...out.matchAll(/^STEP ([0-9a-f]+)$/gm)].map((m) => BigInt("0x" + m[1]));
  assert.equal(back.length, STEPS, ctx);
  assert.equal(forth.length, STEPS, ctx);
  const entry = back.indexOf(sym.vectors.start + 0x280n);
  assert.ok(entry > 0 && entry < STEPS - 1, `the IRQ vector entry is not among the reverse steps: ${back.map(hex).join(" ")}`);
  for (const pc of back.slice(0, entry)) assert.ok(pc > sym.vectors.start + 0x280n && pc < sym.vectors.start + 0x300n, `${hex(pc)} not in the vector`);
  const interrupted = back[entry + 1];
  assert.ok(!inRange(interrupted, { start: sym.vectors.start, end: sym.vectors.start + 0x800n }), `before the vector: ${hex(interrupted)}`);
  // Forward again through the same PCs, the interrupt taken at the same instruction, back at el1h_64_irq.
  assert.deepEqual(forth, [...back.slice(0, -1).reverse(), sym.el1h_64_irq.start], `back ${back.map(hex).join(" ")}\nforth ${forth.map(hex).join(" ")}`);
});

// QEMU 7.2 on the same session (rrsnapshot on a blank qcow2 drive, as its reverse debugging needs): the forward
// part agrees with Rewind's, relative to start_kernel (QEMU gives the kernel a kaslr-seed, so its addresses move).
// Its reverse-continue with a watchpoint is not compared: it stops after the store, at the previous forward stop
// (plain T05), and the next one runs back to the start of the recording without seeing the first tick's store.
test("QEMU on the same Linux session: start_kernel and the jiffies watchpoint forward agree with Rewind's", { skip: skip || missingTool("qemu-system-aarch64", "qemu-img"), timeout: 600_000 }, async () => {
  const dir = tempDir("rewind-linux-gdb-qemu-");
  const disk = join(dir, "snapshots.qcow2");
  assert.equal(spawnSync("qemu-img", ["create", "-f", "qcow2", disk, "64M"]).status, 0);
  const { sym, ctx, field } = await recordAndDebug(["qemu-system-aarch64"], dir, ",rrsnapshot=init", ["-drive", `file=${disk},if=none`], false);
  const j0 = field("J0").value!;
  const fwd = ["FWD1", "FWD2"].map(field);
  for (const f of fwd) assert.ok(tickCode(sym)(f.pc), `stopped at ${hex(f.pc)}, outside the tick code\n${ctx}`);
  assert.ok(fwd[0].value! > j0 && fwd[1].value! > fwd[0].value!, ctx);
  if (rewindForward) {
    const shift = sym.start_kernel.start - rewindForward.start;
    assert.equal(j0, rewindForward.j0, ctx);
    assert.deepEqual(fwd.map((f) => ({ pc: f.pc - shift, value: f.value })), rewindForward.fwd, ctx);
  }
});

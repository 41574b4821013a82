/**
 * The lockstep oracle, QEMU side: QEMU against QEMU must agree step for step; a guest with one changed
 * instruction must be reported at the right step with the right register.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { counterReadRegister, formatLockstepResult, parseLockstepArgs, qemuOptionsFor, runLockstep, type LockstepOptions } from "../../src/tools/lockstep.js";
import { QemuTarget, touchesFpState, type QemuTargetOptions } from "../../src/tools/lockstep/qemu-target.js";
import { missingTool } from "../helpers/tools.js";

const MSG = "lockstep ok\n";

// A few dozen instructions: PL011 output, integer and FP arithmetic, PSCI SYSTEM_OFF over HVC.
// Variants change one instruction (-D...), or never power off.
const HELLO = `
    .global _start
    .text
_start:
    mov x9, #(3 << 20)          // FP/SIMD on (CPACR_EL1.FPEN): QEMU starts bare ELFs with it off
    msr cpacr_el1, x9
    isb
    ldr x1, =0x09000000         // PL011 data register
    adr x2, msg
1:  ldrb w3, [x2], #1
    cbz w3, 2f
    str w3, [x1]
    b 1b
2:  mov x5, #7
perturb_x6:
#ifdef PERTURB_X6
    add x6, x5, #36
#else
    add x6, x5, #35
#endif
perturb_x7:
#ifdef PERTURB_X7
    mov x7, #2                  // x7 is never used again
#else
    mov x7, #1
#endif
    scvtf d0, x6
perturb_fp:
#ifdef PERTURB_FP
    fmul d1, d0, d0
#else
    fadd d1, d0, d0
#endif
    fcvtzs x8, d1
    cmp x8, #84
    cset x10, eq
    mul x11, x6, x5
    subs x12, x11, #294
    csinc x13, x5, x6, ne
    ldr x0, =0x84000008         // PSCI SYSTEM_OFF
poweroff:
#ifdef NO_POWEROFF
    nop
#else
    hvc #0
#endif
3:  b 3b
msg: .asciz "${MSG.replace("\n", "\\n")}"
`;

// Virtual timer interrupt through the GICv2, taken while the guest spins; the handler prints "I" and the
// guest powers off. Needs interrupts delivered while single-stepping.
const TIMER_IRQ = `
    .global _start
    .text
_start:
    adr x0, vectors
    msr vbar_el1, x0
    isb
    ldr x1, =0x08000000         // GICD
    mov w2, #1
    str w2, [x1]                // GICD_CTLR
    mov w2, #(1 << 27)
    str w2, [x1, #0x100]        // GICD_ISENABLER0: PPI 27, the virtual timer
    ldr x3, =0x08010000         // GICC
    mov w2, #1
    str w2, [x3]                // GICC_CTLR
    mov w2, #0xff
    str w2, [x3, #4]            // GICC_PMR
    mov x2, #2000
    msr cntv_tval_el0, x2
    mov x2, #1
    msr cntv_ctl_el0, x2
    mov x10, #0
    msr daifclr, #2
    mov x4, #0
1:  add x4, x4, #1
    cbz x10, 1b
    ldr x1, =0x09000000
    mov w3, #'I'
    str w3, [x1]
    ldr x0, =0x84000008
    hvc #0
2:  b 2b

    .balign 2048
vectors:
    .skip 0x280                 // IRQ, current EL with SP_ELx
    ldr x3, =0x08010000
    ldr w5, [x3, #0xc]          // GICC_IAR
    mov x2, #0
    msr cntv_ctl_el0, x2
    str w5, [x3, #0x10]         // GICC_EOIR
    mov x10, #1
    eret
`;

// Two reads of the virtual counter and their difference: the absolute values differ between QEMU runs, the
// difference does not (live mode with timers masked while stepping: 8 ticks per instruction at shift=7).
const COUNTER = `
    .global _start
    .text
_start:
    mrs x3, cntvct_el0
    mov x1, #0
1:  add x1, x1, #1
    cmp x1, #20
    b.ne 1b
    mrs x4, cntvct_el0
    sub x5, x4, x3
    ldr x0, =0x84000008
    hvc #0
2:  b 2b
`;

const skip = missingTool("qemu-system-aarch64", "aarch64-linux-gnu-gcc");

let dir = "";
const guests: Record<string, string> = {};
const symbols: Record<string, bigint> = {};

function build(name: string, source: string, defines: string[] = []): string {
  const src = join(dir, `${name}.S`);
  const elf = join(dir, `${name}.elf`);
  writeFileSync(src, source);
  const r = spawnSync(
    "aarch64-linux-gnu-gcc",
    ["-nostdlib", "-static", "-x", "assembler-with-cpp", "-Wl,-Ttext=0x40080000", "-Wl,--build-id=none", ...defines.map((d) => `-D${d}`), "-o", elf, src],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, `building ${name}: ${r.stderr}`);
  return elf;
}

function readSymbols(elf: string): void {
  const r = spawnSync("aarch64-linux-gnu-nm", [elf], { encoding: "utf8" });
  for (const line of (r.stdout ?? "").split("\n")) {
    const m = /^([0-9a-f]+) \w (\w+)$/.exec(line.trim());
    if (m) symbols[m[2]] = BigInt("0x" + m[1]);
  }
}

/** Steps before `perturb_x6` executes: 5 setup instructions, 4 per message byte, 2 at the NUL, then mov x5. */
const STEP_X6 = 5 + 4 * MSG.length + 2 + 2;
const STEP_X7 = STEP_X6 + 1;
const STEP_FP = STEP_X6 + 3;

function qemu(kernel: string, extra: Partial<QemuTargetOptions> = {}): Promise<QemuTarget> {
  return QemuTarget.start({ kernel, ...extra });
}

async function compare(referenceKernel: string, targetKernel: string, options: Partial<LockstepOptions> = {}, qemuOptions: Partial<QemuTargetOptions> = {}) {
  const reference = await qemu(referenceKernel, qemuOptions);
  let target: QemuTarget | undefined;
  try {
    target = await qemu(targetKernel, qemuOptions);
    return await runLockstep({ kernel: referenceKernel, reference, target, ...options });
  } finally {
    await target?.close();
    await reference.close();
  }
}

describe("lockstep against QEMU", { skip }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "lockstep-test-"));
    guests.hello = build("hello", HELLO);
    guests.x6 = build("x6", HELLO, ["PERTURB_X6"]);
    guests.x7 = build("x7", HELLO, ["PERTURB_X7"]);
    guests.fp = build("fp", HELLO, ["PERTURB_FP"]);
    guests.noOff = build("nooff", HELLO, ["NO_POWEROFF"]);
    guests.irq = build("irq", TIMER_IRQ);
    guests.counter = build("counter", COUNTER);
    readSymbols(guests.hello);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("QEMU replaying against QEMU replaying: no divergence until power-off", async () => {
    const r = await compare(guests.hello, guests.hello);
    assert.equal(r.end, "powered-off", formatLockstepResult(r));
    assert.equal(r.divergence, undefined);
    // Every step up to and including the HVC that powers off.
    assert.equal(r.steps, STEP_X6 + 11);
    assert.equal(r.serial.reference, MSG);
    assert.equal(r.serial.target, MSG);
    assert.equal(r.compared.length, 68, "x0-x30 sp pc cpsr v0-v31 fpsr fpcr");
    assert.match(formatLockstepResult(r), /no divergence: \d+ steps .* both machines powered off/);
  });

  test("live QEMU against live QEMU agree too (no timers involved)", async () => {
    const r = await compare(guests.hello, guests.hello, {}, { mode: "live" });
    assert.equal(r.end, "powered-off", formatLockstepResult(r));
    assert.equal(r.steps, STEP_X6 + 11);
  });

  test("one changed instruction is reported at its step with the register that differs", async () => {
    const r = await compare(guests.hello, guests.x6, { history: 4 });
    assert.equal(r.end, "divergence", formatLockstepResult(r));
    const d = r.divergence!;
    assert.equal(d.step, STEP_X6);
    assert.equal(r.steps, STEP_X6 - 1);
    assert.equal(d.kind, "registers");
    assert.equal(d.pc, symbols.perturb_x6);
    assert.equal(d.encoding, 0x91008ca6); // add x6, x5, #35 as QEMU's memory holds it (the reference)
    assert.match(d.disassembly ?? "", /add\s+x6, x5, #0x23/);
    assert.deepEqual(d.differences.map((x) => [x.name, x.reference, x.target]), [["x6", 42n, 43n]]);
    assert.equal(d.previousPcs.length, 4);
    assert.equal(d.previousPcs.at(-1), symbols.perturb_x6 - 4n);
    const text = formatLockstepResult(r);
    assert.match(text, new RegExp(`DIVERGENCE at step ${STEP_X6}`));
    assert.match(text, /x6\s+0x000000000000002a\s+0x000000000000002b/);
  });

  test("FP/SIMD registers are compared: fadd changed to fmul shows in v1", async () => {
    const r = await compare(guests.hello, guests.fp);
    assert.equal(r.end, "divergence", formatLockstepResult(r));
    const d = r.divergence!;
    assert.equal(d.step, STEP_FP);
    assert.equal(d.pc, symbols.perturb_fp);
    assert.deepEqual(d.differences.map((x) => x.name), ["v1"]);
    assert.equal(d.differences[0].reference, 0x4055000000000000n); // 84.0
    assert.equal(d.differences[0].target, 0x409b900000000000n); // 1764.0
  });

  test("pc-only mode and ignored registers", async () => {
    const full = await compare(guests.hello, guests.x7);
    assert.equal(full.divergence?.step, STEP_X7);
    assert.deepEqual(full.divergence?.differences.map((x) => x.name), ["x7"]);
    const pcOnly = await compare(guests.hello, guests.x7, { compare: "pc-only" }, { registers: "core" });
    assert.equal(pcOnly.end, "powered-off", formatLockstepResult(pcOnly));
    assert.deepEqual(pcOnly.compared, ["pc"]);
    const ignored = await compare(guests.hello, guests.x7, { ignore: ["x7"] });
    assert.equal(ignored.end, "powered-off", formatLockstepResult(ignored));
    assert.ok(ignored.skipped.includes("x7"));
  });

  test("a target that keeps running after the reference powered off diverges at that step", async () => {
    const r = await compare(guests.hello, guests.noOff, {}, { mode: "live" });
    assert.equal(r.end, "divergence", formatLockstepResult(r));
    assert.equal(r.divergence!.kind, "exit");
    assert.equal(r.divergence!.step, STEP_X6 + 11);
    assert.equal(r.divergence!.pc, symbols.poweroff);
    assert.match(formatLockstepResult(r), /reference powered off/);
  });

  test("a step limit ends the run early", async () => {
    const r = await compare(guests.hello, guests.hello, { maxSteps: 10 }, { mode: "live" });
    assert.equal(r.end, "max-steps");
    assert.equal(r.steps, 10);
  });

  test("a guest that never powers off is compared for N steps in replay mode", { timeout: 60000 }, async () => {
    // The recording must end by itself once it covers the steps (QMP query-replay), not at the record timeout.
    const options: LockstepOptions = { kernel: guests.noOff, maxSteps: 500, qemu: { recordTimeoutMs: 600000 } };
    options.createTarget = () => QemuTarget.start(qemuOptionsFor(options));
    const r = await runLockstep(options);
    assert.equal(r.end, "max-steps", formatLockstepResult(r));
    assert.equal(r.steps, 500);
    assert.equal(r.serial.reference, MSG);
  });

  test("counter reads: the target adopts the reference's value, or the divergence says why", async () => {
    const live: Partial<QemuTargetOptions> = { mode: "live", sstep: 0x7 };
    const r = await compare(guests.counter, guests.counter, {}, live);
    assert.equal(r.end, "powered-off", formatLockstepResult(r));
    assert.equal(r.adoptedCounterReads, 2);
    assert.match(formatLockstepResult(r), /2 counter reads adopted/);
    const strict = await compare(guests.counter, guests.counter, { adoptCounterReads: false }, live);
    assert.equal(strict.end, "divergence", formatLockstepResult(strict));
    assert.equal(strict.divergence!.step, 1);
    assert.deepEqual(strict.divergence!.differences.map((d) => d.name), ["x3"]);
    assert.match(strict.divergence!.message ?? "", /free-running counter/);
    assert.match(strict.divergence!.disassembly ?? "", /mrs\s+x3, cntvct_el0/);
  });

  test("replayed runs deliver the timer interrupt at the same step on both sides", async () => {
    const reference = await qemu(guests.irq);
    const target = await qemu(guests.irq);
    try {
      assert.equal(reference.sstepFlags, "0x1", "replay mode steps with interrupts and timers enabled");
      let vectorSteps = 0;
      const r = await runLockstep({
        kernel: guests.irq,
        reference,
        target: {
          describe: () => target.describe(),
          step: () => target.step(),
          registers: () => {
            const regs = target.registers();
            if ((regs.pc & 0x7ffn) === 0x280n) vectorSteps++;
            return regs;
          },
          close: () => target.close(),
        },
      });
      assert.equal(r.end, "powered-off", formatLockstepResult(r));
      assert.equal(vectorSteps, 1, "the IRQ vector was entered once");
      assert.equal(r.serial.reference, "I");
    } finally {
      await target.close();
      await reference.close();
    }
  });

  test("the CLI runs QEMU against QEMU and exits 0", () => {
    const cli = fileURLToPath(new URL("../../src/tools/lockstep.js", import.meta.url));
    const r = spawnSync(process.execPath, [cli, "-kernel", guests.hello, "-icount", "shift=7", "--against", "qemu", "--quiet"], { encoding: "utf8", timeout: 60000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /no divergence/);
    const bad = spawnSync(process.execPath, [cli, "-kernel", guests.hello, "--against", "qemu", "--bogus"], { encoding: "utf8", timeout: 60000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option "--bogus"/);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, "no stack trace");
  });
});

test("lockstep command line parsing", () => {
  const o = parseLockstepArgs(["-kernel", "k.elf", "-icount", "shift=5", "--max-steps", "100", "--compare", "pc-only", "--ignore", "x5,v*", "--reference", "live", "--sstep", "0x7", "--against", "qemu"]);
  assert.equal(o.lockstep.kernel, "k.elf");
  assert.equal(o.lockstep.icount, "shift=5");
  assert.equal(o.lockstep.maxSteps, 100);
  assert.equal(o.lockstep.compare, "pc-only");
  assert.deepEqual(o.lockstep.ignore, ["x5", "v*"]);
  assert.equal(o.lockstep.qemu?.mode, "live");
  assert.equal(o.lockstep.qemu?.sstep, 7);
  assert.equal(o.against, "qemu");
  const fast = parseLockstepArgs(["-kernel", "k.elf", "--engine", "wasm", "--stride", "64"]);
  assert.equal(fast.engine, "wasm");
  assert.equal(fast.lockstep.stride, 64);
  assert.throws(() => parseLockstepArgs([]), /-kernel is required/);
  assert.throws(() => parseLockstepArgs(["-kernel"]), /needs a value/);
  assert.throws(() => parseLockstepArgs(["-kernel", "k", "--max-steps", "many"]), /not a number/);
  assert.throws(() => parseLockstepArgs(["-kernel", "k", "--compare", "some"]), /full or pc-only/);
});

test("counter reads are recognised by encoding", () => {
  assert.equal(counterReadRegister(0xd53be043), "x3"); // mrs x3, cntvct_el0
  assert.equal(counterReadRegister(0xd53be020), "x0"); // mrs x0, cntpct_el0
  assert.equal(counterReadRegister(0xd53b9d05), "x5"); // mrs x5, pmccntr_el0
  assert.equal(counterReadRegister(0xd53be05f), undefined); // mrs xzr, cntvct_el0
  assert.equal(counterReadRegister(0xd53be000), undefined); // mrs x0, cntfrq_el0: a constant
  assert.equal(counterReadRegister(0x91008ca6), undefined);
});

test("FP/SIMD instruction classification used to skip re-reading v0-v31", () => {
  assert.equal(touchesFpState(0x1e602801), true); // fadd d1, d0, d0
  assert.equal(touchesFpState(0x9e6700c0), true); // fmov d0, x6
  assert.equal(touchesFpState(0x3dc00000), true); // ldr q0, [x0]
  assert.equal(touchesFpState(0xad000000 | 0), true); // stp q0, q0, [x0]
  assert.equal(touchesFpState(0xd51b4400), true); // msr fpcr, x0
  assert.equal(touchesFpState(0xd51b4421), true); // msr fpsr, x1
  assert.equal(touchesFpState(0x91008ca6), false); // add x6, x5, #35
  assert.equal(touchesFpState(0xb9000023), false); // str w3, [x1]
  assert.equal(touchesFpState(0x38401443), false); // ldrb w3, [x2], #1
  assert.equal(touchesFpState(0xd4000002), false); // hvc #0
  assert.equal(touchesFpState(0xd53b4400), false); // mrs x0, fpcr
});

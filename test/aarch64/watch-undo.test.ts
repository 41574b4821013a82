// A forward watchpoint stop "before the access" must leave the machine exactly as it was before the
// instruction, so that resuming gives the same result as if no watchpoint had been set (DESIGN.md §3): the
// exclusive monitor, base-register writeback, registers loaded by an earlier element of the same instruction and
// its earlier stores are all taken back. An instruction that already reached a device cannot be taken back:
// it completes and the stop comes after it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { WATCH_STOP } from "../../src/arch/aarch64/cpu.js";
import { saveSections, encodeState } from "../../src/core/state.js";
import { DATA, type TestMachine } from "./harness.js";
import { machineWith, ramHex } from "./ldst-asm.js";
import { Aarch64Debug } from "../../src/arch/aarch64/debug.js";

function cpuState(m: TestMachine): string {
  return Buffer.from(encodeState(saveSections([m.cpu]))).toString("hex");
}

/** Runs `lines` with a hook that stops before the access matching `hit`, and checks nothing happened. */
function stopsCleanly(lines: string[], setup: (m: TestMachine) => void, hit: (addr: number, isWrite: boolean) => boolean, steps = lines.length) {
  // The same program without a watchpoint: the reference result.
  const plain = machineWith(...lines);
  setup(plain);
  plain.run(steps);

  const m = machineWith(...lines);
  setup(m);
  m.run(steps - 1); // up to the watched instruction
  const before = cpuState(m);
  const ramBefore = ramHex(m, DATA, 64);
  const icount = m.clock.icount;
  let hits = 0;
  m.cpu.watchHook = (lo, _hi, _size, isWrite) => {
    if (hit(lo >>> 0, isWrite)) {
      hits++;
      throw WATCH_STOP;
    }
  };
  assert.equal(m.interp.runBurst(1), 0);
  assert.equal(m.interp.takeDebugStop(), true);
  assert.equal(hits, 1);
  assert.equal(m.clock.icount, icount, "the stopped instruction is not counted");
  assert.equal(cpuState(m), before, "registers, flags, SP and exclusive monitor as before the instruction");
  assert.equal(ramHex(m, DATA, 64), ramBefore, "no store of the instruction remains");
  // Resume without the watchpoint: the same result as never having stopped.
  m.cpu.watchHook = null;
  m.run(1);
  assert.equal(cpuState(m), cpuState(plain));
  assert.equal(ramHex(m, DATA, 64), ramHex(plain, DATA, 64));
  return m;
}

const setData = (m: TestMachine) => {
  m.setX(0, BigInt(DATA));
  m.setX(1, 0x1111222233334444n);
  m.setX(2, 0x5555666677778888n);
};

test("watched STXR: the reservation survives the stop, and the resumed store succeeds", () => {
  const m = stopsCleanly(["ldxr x3, [x0]", "stxr w4, x1, [x0]"], setData, (_a, w) => w);
  assert.equal(m.x(4), 0n, "status 0: stored");
  assert.equal(m.cpu.exclusiveAddr, -1, "the monitor is cleared after the store");
});

test("watched STXP: the reservation survives the stop", () => {
  const m = stopsCleanly(["ldxp x3, x5, [x0]", "stxp w4, x1, x2, [x0]"], setData, (_a, w) => w);
  assert.equal(m.x(4), 0n);
});

test("watched second half of STP: the first half is not stored and the writeback is undone", () => {
  stopsCleanly(["stp x1, x2, [x0, #16]!"], setData, (a, w) => w && a === DATA + 24);
});

test("watched store with post-index writeback: base register unchanged", () => {
  stopsCleanly(["str x1, [x0], #8"], setData, (_a, w) => w);
});

test("watched second load of LDP: the first destination register keeps its old value", () => {
  stopsCleanly(["ldp x1, x2, [x0]"], (m) => {
    setData(m);
    m.bus.write64(DATA, 0xaaaa, 0);
    m.bus.write64(DATA + 8, 0xbbbb, 0);
  }, (a, w) => !w && a === DATA + 8);
});

test("watched second register of LD1 {v0.16b, v1.16b}: v0 keeps its old value", () => {
  stopsCleanly(["ld1 {v0.16b, v1.16b}, [x0]"], setData, (a, w) => !w && a >= DATA + 16);
});

test("an instruction that already reached a device completes, and the stop comes after it", () => {
  const reads: number[] = [];
  const m = machineWith("ldp w1, w2, [x0]");
  m.bus.map("fifo", 0x09000000, 0x1000, {
    read: (off) => {
      reads.push(off);
      return 0x40 + reads.length;
    },
    write: () => {},
  });
  m.setX(0, 0x09000000n);
  m.cpu.watchHook = (lo) => {
    if ((lo >>> 0) === 0x09000004) throw WATCH_STOP;
  };
  assert.equal(m.interp.runBurst(1), 1, "the instruction ran");
  assert.equal(m.interp.takeDebugStop(), true);
  assert.equal(m.cpu.watchStopLate, true);
  assert.deepEqual(reads, [0, 4], "each device register read once, not replayed");
  assert.equal(m.x(1), 0x41n);
  assert.equal(m.x(2), 0x42n);
});

// With the watched ranges given (CpuDebug.setWatchHook's second argument), the CPU checks only accesses on the
// watched pages and the page before each: an instruction whose first access lies on the page before still gets
// its undo bookkeeping when a later access hits.
test("watched ranges: STP across a page end into a watched page takes back its first half", () => {
  const base = DATA + 0x1000 - 8; // x1 goes to the end of one page, x2 to the start of the next (watched)
  const m = machineWith("stp x1, x2, [x0]");
  setData(m);
  m.setX(0, BigInt(base));
  const debug = new Aarch64Debug(m.cpu, m.interp, undefined as never);
  const seen: bigint[] = [];
  debug.setWatchHook((addr) => {
    seen.push(addr);
    if (addr === BigInt(DATA + 0x1000)) throw WATCH_STOP;
  }, [{ addr: BigInt(DATA + 0x1000), length: 1 }]);
  const before = cpuState(m);
  assert.equal(m.interp.runBurst(1), 0);
  assert.equal(m.interp.takeDebugStop(), true);
  assert.deepEqual(seen, [BigInt(base), BigInt(DATA + 0x1000)], "both halves checked");
  assert.equal(cpuState(m), before);
  assert.equal(ramHex(m, base, 16), "00".repeat(16), "the first half was taken back");
});

test("watched ranges: accesses two pages away from every watched range skip the hook; on the page before, not", () => {
  for (const [watched, expected] of [[DATA + 0x2000, 0], [DATA + 0x1000, 2]] as const) {
    const m = machineWith("str x1, [x0]", "ldr x2, [x0]");
    setData(m);
    const debug = new Aarch64Debug(m.cpu, m.interp, undefined as never);
    let calls = 0;
    debug.setWatchHook(() => void calls++, [{ addr: BigInt(watched), length: 8 }]);
    m.run(2);
    assert.equal(calls, expected, `watch at 0x${watched.toString(16)}`);
    assert.equal(m.x(2), 0x1111222233334444n);
  }
});

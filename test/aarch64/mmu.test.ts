// Stage 1 translation (EL1&0 regime) with expected values from the Arm ARM: D5.2 (VMSAv8-64 translation table
// format, starting level from TxSZ and the granule), D5.4 (AP[2:1], UXN/PXN, WXN, hierarchical table attributes,
// the Access flag), D5.10 / ESR_ELx ISS encoding for Data and Instruction Aborts (DFSC/IFSC: Address size
// 0b0000LL, Translation 0b0001LL, Access flag 0b0010LL, Permission 0b0011LL, External abort on walk 0b0101LL),
// C5.2 PAR_EL1, C5.5 AT and TLBI. Page tables are built in the TestMachine's RAM by the tiny builder below.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMachine, CODE, DATA, RAM_BASE } from "./harness.js";
import { sysregKey, SCTLR_RESET } from "../../src/arch/aarch64/sysregs.js";
import { EXCEPTION_TAKEN } from "../../src/arch/aarch64/cpu.js";
import { Aarch64Debug, type RegisterFile } from "../../src/arch/aarch64/debug.js";

// ---- instruction encodings ----------------------------------------------------------------------------------

const u32 = (v: number) => v >>> 0;
const mrs = (rt: number, key: number) => u32(0xd5300000 | ((key & 0x7fff) << 5) | rt);
const msr = (key: number, rt: number) => u32(0xd5100000 | ((key & 0x7fff) << 5) | rt);
const ldrX = (t: number, n: number, imm = 0) => u32(0xf9400000 | ((imm / 8) << 10) | (n << 5) | t);
const strX = (t: number, n: number) => u32(0xf9000000 | (n << 5) | t);
const ldrW = (t: number, n: number) => u32(0xb9400000 | (n << 5) | t);
const strW = (t: number, n: number) => u32(0xb9000000 | (n << 5) | t);
const br = (n: number) => u32(0xd61f0000 | (n << 5));
const movz = (d: number, imm: number) => u32(0xd2800000 | (imm << 5) | d);
const sys = (op1: number, crn: number, crm: number, op2: number, rt: number) =>
  u32(0xd5080000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt);
const ISB = 0xd5033fdf;
const NOP = 0xd503201f;
const AT_S1E1R = (rt: number) => sys(0, 7, 8, 0, rt);
const AT_S1E1W = (rt: number) => sys(0, 7, 8, 1, rt);
const AT_S1E0R = (rt: number) => sys(0, 7, 8, 2, rt);
const AT_S1E0W = (rt: number) => sys(0, 7, 8, 3, rt);
const TLBI_VMALLE1 = sys(0, 8, 7, 0, 31);
const TLBI_VAE1 = (rt: number) => sys(0, 8, 7, 1, rt);

const K = {
  SCTLR: sysregKey(3, 0, 1, 0, 0),
  TTBR0: sysregKey(3, 0, 2, 0, 0),
  TTBR1: sysregKey(3, 0, 2, 0, 1),
  TCR: sysregKey(3, 0, 2, 0, 2),
  MAIR: sysregKey(3, 0, 10, 2, 0),
  PAR: sysregKey(3, 0, 7, 4, 0),
};

// ---- descriptors ----------------------------------------------------------------------------------------------

const PAGE = 3n; // level 3 page (and table at levels 0-2)
const BLOCK = 1n;
const AF = 1n << 10n;
const NG = 1n << 11n;
const SH_INNER = 3n << 8n;
const ATTR_DEVICE = 0n << 2n; // MAIR attr0 = 0x00 Device-nGnRnE
const ATTR_NORMAL = 1n << 2n; // MAIR attr1 = 0xff Normal write-back
const ATTR_NC = 2n << 2n; // MAIR attr2 = 0x44 Normal non-cacheable
const MAIR = 0x44ff00n;
const AP_RW_EL1 = 0n << 6n;
const AP_RW_ALL = 1n << 6n;
const AP_RO_EL1 = 2n << 6n;
const AP_RO_ALL = 3n << 6n;
const PXN = 1n << 53n;
const UXN = 1n << 54n;
const PXN_TABLE = 1n << 59n;
const AP_TABLE_NO_EL0 = 1n << 61n;
const AP_TABLE_RO = 2n << 61n;

/** A normal-memory leaf with AF set; `extra` adds AP/XN/nG bits (or removes AF via `noAf`). */
function leaf(type: bigint, pa: number | bigint, extra = 0n, noAf = false): bigint {
  return BigInt(pa) | type | (noAf ? 0n : AF) | ATTR_NORMAL | SH_INNER | extra;
}
const page = (pa: number | bigint, extra = 0n) => leaf(PAGE, pa, extra);
const block = (pa: number | bigint, extra = 0n) => leaf(BLOCK, pa, extra);

/** Builds translation tables in RAM for one TTBR: tables are allocated from `area`, one granule each. */
class Tables {
  private next: number;
  readonly root: number;
  readonly stride: number;
  readonly startLevel: number;

  constructor(
    private readonly m: TestMachine,
    readonly granuleBits = 12,
    readonly inputSize = 39,
    area = 0x40080000,
  ) {
    this.next = area;
    this.stride = granuleBits - 3;
    this.startLevel = 4 - Math.floor((inputSize - 4) / this.stride);
    this.root = this.alloc();
  }

  private alloc(): number {
    const a = this.next;
    this.next += 1 << this.granuleBits;
    this.m.ram.bytes.fill(0, a - RAM_BASE, a - RAM_BASE + (1 << this.granuleBits));
    return a;
  }

  private index(va: bigint, level: number): number {
    const bottom = (3 - level) * this.stride + this.granuleBits;
    const bits = level === this.startLevel ? this.inputSize - bottom : this.stride;
    return Number((va >> BigInt(bottom)) & ((1n << BigInt(bits)) - 1n));
  }

  /** Address of the descriptor for `va` at `level`, creating the tables above it (with `tableBits` on new ones). */
  slot(va: bigint, level: number, tableBits = 0n): number {
    let table = this.root;
    for (let l = this.startLevel; l < level; l++) {
      const at = table + 8 * this.index(va, l);
      let desc = this.m.read64(at);
      if ((desc & 3n) !== 3n) {
        desc = BigInt(this.alloc()) | 3n | tableBits;
        this.m.write64(at, desc);
      }
      table = Number(desc & 0xfffffffff000n & ~((1n << BigInt(this.granuleBits)) - 1n));
    }
    return table + 8 * this.index(va, level);
  }

  /** Writes a leaf (or any) descriptor for `va` at `level` (3 = page). */
  map(va: bigint | number, desc: bigint, level = 3, tableBits = 0n): this {
    this.m.write64(this.slot(BigInt(va), level, tableBits), desc);
    return this;
  }
}

// ---- machine set-up -------------------------------------------------------------------------------------------

/** Writes a system register through its MSR path (so the TLB maintenance of the write happens). */
function setReg(m: TestMachine, key: number, value: bigint): void {
  const def = m.cpu.sys.lookup(key)!;
  def.write!(m.cpu.sys, Number(value & 0xffffffffn), Number(value >> 32n));
}
function readReg(m: TestMachine, key: number): bigint {
  const lo = m.cpu.sys.lookup(key)!.read!(m.cpu.sys) >>> 0;
  return (BigInt(m.cpu.sys.hi >>> 0) << 32n) | BigInt(lo);
}

interface TcrFields {
  t0sz?: number;
  tg0?: number;
  t1sz?: number;
  tg1?: number;
  epd0?: boolean;
  epd1?: boolean;
  ips?: number;
  tbi0?: boolean;
}
function tcr(f: TcrFields = {}): bigint {
  return (
    BigInt(f.t0sz ?? 25) |
    (BigInt(f.epd0 ? 1 : 0) << 7n) |
    (BigInt(f.tg0 ?? 0) << 14n) |
    (BigInt(f.t1sz ?? 25) << 16n) |
    (BigInt(f.epd1 ?? true ? 1 : 0) << 23n) |
    (BigInt(f.tg1 ?? 2) << 30n) |
    (BigInt(f.ips ?? 2) << 32n) |
    (BigInt(f.tbi0 ? 1 : 0) << 37n)
  );
}

/** Turns the MMU on with the given TCR and tables (TTBR0 and optionally TTBR1). */
function enable(m: TestMachine, t: bigint, ttbr0: number, ttbr1 = 0, sctlrExtra = 0): void {
  setReg(m, K.MAIR, MAIR);
  setReg(m, K.TCR, t);
  setReg(m, K.TTBR0, BigInt(ttbr0));
  setReg(m, K.TTBR1, BigInt(ttbr1));
  setReg(m, K.SCTLR, BigInt(SCTLR_RESET | 1 | sctlrExtra));
}

/** A machine with 4K tables (T0SZ = 25: 39-bit VAs, walks start at level 1) and the code and vector page mapped. */
function machine4k(inputSize = 39): { m: TestMachine; t: Tables } {
  const m = new TestMachine();
  const t = new Tables(m, 12, inputSize);
  t.map(RAM_BASE, page(RAM_BASE)); // vectors
  t.map(CODE, page(CODE));
  return { m, t };
}

function abortInfo(m: TestMachine) {
  const esr = m.cpu.sys.esrEl1 >>> 0;
  return {
    ec: esr >>> 26,
    fsc: esr & 0x3f,
    wnr: (esr >>> 6) & 1,
    far: (BigInt(m.cpu.sys.farEl1Hi >>> 0) << 32n) | BigInt(m.cpu.sys.farEl1Lo >>> 0),
  };
}

const P1 = 0x40030000;
const P2 = 0x40020000;
const P3 = 0x40040000;

function fill(m: TestMachine, pa: number, value: bigint): void {
  for (let i = 0; i < 0x1000; i += 8) m.write64(pa + i, value + BigInt(i));
}

// ---- tests --------------------------------------------------------------------------------------------------

test("MSR SCTLR_EL1 turns the MMU on; identity-mapped code keeps running and a 4K page maps elsewhere", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  fill(m, P1, 0x1111_0000n);
  m.setX(0, BigInt(SCTLR_RESET | 1)).setX(2, 0x50000008n).setX(3, MAIR).setX(4, tcr()).setX(5, BigInt(t.root));
  m.code(msr(K.MAIR, 3), msr(K.TCR, 4), msr(K.TTBR0, 5), ISB, msr(K.SCTLR, 0), ISB, ldrX(1, 2), NOP);
  m.run(8);
  assert.equal(m.cpu.sys.mmuEnabled, true);
  assert.equal(m.x(1), 0x1111_0008n);
  assert.equal(m.pc, BigInt(CODE + 32));
  assert.equal(m.undefinedReports.length, 0);
});

test("a 2M block at level 2 maps VA offsets inside it, for loads and stores", () => {
  const { m, t } = machine4k();
  t.map(0x60000000, block(RAM_BASE), 2);
  enable(m, tcr(), t.root);
  m.write64(DATA + 0x10, 0x1234_5678_9abc_def0n);
  m.setX(2, 0x60000000n + BigInt(DATA - RAM_BASE) + 0x10n).setX(3, 0x60000000n + BigInt(DATA - RAM_BASE) + 0x18n);
  m.setX(4, 0x77n);
  m.code(ldrX(1, 2), strX(4, 3));
  m.run(2);
  assert.equal(m.x(1), 0x1234_5678_9abc_def0n);
  assert.equal(m.read64(DATA + 0x18), 0x77n);
});

test("TTBR1 maps the top of the address space: code executes at 0xffffff80_00001000", () => {
  const { m, t } = machine4k();
  const high = new Tables(m, 12, 39, 0x400c0000);
  const CODE2 = 0x40005000;
  high.map(0xffffff8000001000n, page(CODE2));
  high.map(0xffffff8000200000n, page(P1));
  fill(m, P1, 0x3300n);
  [movz(0, 0x77), ldrX(6, 7, 8), NOP].forEach((w, i) => m.bus.write32(CODE2 + 4 * i, w));
  enable(m, tcr({ epd1: false }), t.root, high.root);
  m.setX(3, 0xffffff8000001000n).setX(7, 0xffffff8000200000n);
  m.code(br(3));
  m.run(3);
  assert.equal(m.x(0), 0x77n);
  assert.equal(m.x(6), 0x3308n);
  assert.equal(m.pc, 0xffffff8000001008n);
  assert.equal(m.undefinedReports.length, 0);
});

test("64K granule: TG0 = 0b01, walks start at level 2 for 39-bit VAs; 64K pages and 512M blocks", () => {
  const m = new TestMachine();
  const t = new Tables(m, 16, 39, 0x400a0000);
  assert.equal(t.startLevel, 2);
  t.map(RAM_BASE, page(RAM_BASE)); // one 64K page holds vectors and code
  t.map(0x70000000, page(P1 & ~0xffff));
  t.map(0x20000000, block(RAM_BASE), 2);
  m.write64(P1 + 0x238, 0x64_64n);
  m.write64(DATA + 8, 0x512n);
  enable(m, tcr({ tg0: 1 }), t.root);
  m.setX(2, BigInt(0x70000000 + (P1 & 0xffff) + 0x238)).setX(3, 0x20000000n + BigInt(DATA - RAM_BASE) + 8n);
  m.code(ldrX(1, 2), ldrX(4, 3));
  m.run(2);
  assert.equal(m.x(1), 0x64_64n);
  assert.equal(m.x(4), 0x512n);
});

test("16K granule: the Cortex-A53 does not implement it (TGran16 = 0) so TG0 = 0b10 walks 4K tables, as QEMU", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  fill(m, P1, 0x1600n);
  enable(m, tcr({ tg0: 2 }), t.root);
  m.setX(2, 0x50000010n).code(ldrX(1, 2));
  m.run(1);
  assert.equal(m.x(1), 0x1610n);
});

test("16K granule walk (with the granule switched on): start level 1 for 39-bit VAs, 16K pages", () => {
  const m = new TestMachine();
  m.cpu.mmu.has16k = true;
  const t = new Tables(m, 14, 39, 0x40080000);
  assert.equal(t.startLevel, 1);
  t.map(RAM_BASE, page(RAM_BASE));
  t.map(0x70004000, page(P3 & ~0x3fff));
  m.write64(P3 + 0x10, 0x16_16n);
  enable(m, tcr({ tg0: 2 }), t.root);
  m.setX(2, 0x70004010n + BigInt(P3 & 0x3fff)).code(ldrX(1, 2));
  m.run(1);
  assert.equal(m.x(1), 0x16_16n);
  assert.equal(m.cpu.mmu.debugTranslate(0x70004010, 0), P3 + 0x10);
});

test("translation faults report the level that had no valid descriptor (DFSC 0b0001LL), WnR and FAR", () => {
  // T0SZ = 16: 48-bit VAs, walks start at level 0.
  const { m, t } = machine4k(48);
  enable(m, tcr({ t0sz: 16 }), t.root);
  const cases: [bigint, number][] = [
    [0x0000_8000_0000_0000n, 0x04], // level 0 entry 256 empty
    [0x0000_0040_0000_0000n, 0x05], // level 1 entry 256 empty
    [0x0000_0000_4040_0000n, 0x06], // level 2 entry 2 empty
    [0x0000_0000_4000_3008n, 0x07], // level 3 entry 3 empty
  ];
  for (const [va, fsc] of cases) {
    for (const store of [false, true]) {
      m.setX(2, va).code(store ? strX(1, 2) : ldrX(1, 2));
      m.run(1);
      const a = abortInfo(m);
      assert.deepEqual(a, { ec: 0x25, fsc, wnr: store ? 1 : 0, far: va }, `${va.toString(16)} store=${store}`);
      assert.equal(m.pc, BigInt(RAM_BASE + 0x200));
      assert.equal(m.cpu.sys.elrEl1Lo, CODE);
    }
  }
});

test("an instruction fetch from an unmapped page is an Instruction Abort with IFSC translation level 3", () => {
  const { m, t } = machine4k();
  enable(m, tcr(), t.root);
  m.setX(3, 0x40003000n).code(br(3));
  m.run(2);
  assert.deepEqual(abortInfo(m), { ec: 0x21, fsc: 0x07, wnr: 0, far: 0x40003000n });
  assert.equal(m.cpu.sys.elrEl1Lo, 0x40003000);
});

test("VAs in neither TTBR range, TxSZ out of range and EPD0/EPD1 give level 0 translation faults", () => {
  const { m, t } = machine4k();
  enable(m, tcr(), t.root);
  for (const va of [0x0000_0080_0000_0000n, 0x8000_0000_4000_0000n, 0xffff_ffff_ffff_f000n /* EPD1 */]) {
    m.setX(2, va).code(ldrX(1, 2));
    m.run(1);
    assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x04, wnr: 0, far: va }, va.toString(16));
  }
  // EPD0 = 1 also disables walks for fetches: the next instruction cannot be fetched.
  setReg(m, K.TCR, tcr({ epd0: true }));
  m.code(NOP);
  m.run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x21, fsc: 0x04, wnr: 0, far: BigInt(CODE) });
  // T0SZ = 40 (beyond the ARMv8.0 maximum of 39): level 0 translation fault, as QEMU.
  assert.equal(m.cpu.mmu.walk(CODE, 0, false), 0x04);
  setReg(m, K.TCR, tcr({ t0sz: 40 }));
  assert.equal(m.cpu.mmu.walk(CODE, 0, false), 0x04);
  setReg(m, K.TCR, tcr({ t0sz: 15 }));
  assert.equal(m.cpu.mmu.walk(CODE, 0, false), 0x04);
});

test("Access flag = 0 faults (no hardware AF update in ARMv8.0): DFSC 0b0010LL with the level", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, leaf(PAGE, P1, 0n, true));
  t.map(0x60000000, leaf(BLOCK, RAM_BASE, 0n, true), 2);
  enable(m, tcr(), t.root);
  m.setX(2, 0x50000000n).setX(3, 0x60000040n).code(ldrX(1, 2));
  m.run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x0b, wnr: 0, far: 0x50000000n });
  m.code(strX(1, 3));
  m.run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x0a, wnr: 1, far: 0x60000040n });
});

test("permission faults: EL1 write to read-only, EL0 access to EL1-only pages, EL0 write to read-only", () => {
  const { m, t } = machine4k();
  const EL0_CODE = 0x40004000;
  t.map(EL0_CODE, page(EL0_CODE, AP_RO_ALL | PXN));
  t.map(0x50000000, page(P1, AP_RO_EL1));
  t.map(0x50001000, page(P2, AP_RW_EL1));
  t.map(0x50002000, page(P3, AP_RW_ALL | UXN | PXN));
  t.map(0x50003000, page(P3, AP_RO_ALL));
  enable(m, tcr(), t.root);
  m.write64(P3, 0x33n);

  // EL1: read of a read-only page is fine, a write is a level 3 permission fault with WnR.
  m.setX(2, 0x50000000n).code(ldrX(1, 2), strX(1, 2));
  m.run(2);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x0f, wnr: 1, far: 0x50000000n });

  // EL0 runs from an EL0-readable, executable page.
  const el0 = (...words: number[]) => {
    words.forEach((w, i) => m.bus.write32(EL0_CODE + 4 * i, w));
    m.cpu.setMode(0, 0);
    m.setPc(BigInt(EL0_CODE));
  };
  el0(ldrX(1, 2));
  m.setX(2, 0x50001000n).run(1);
  assert.equal(m.cpu.el, 1);
  assert.deepEqual(abortInfo(m), { ec: 0x24, fsc: 0x0f, wnr: 0, far: 0x50001000n });
  assert.equal(m.pc, BigInt(RAM_BASE + 0x400));

  el0(ldrX(1, 2), strX(1, 2), strX(1, 3));
  m.setX(2, 0x50002000n).setX(3, 0x50003000n).setX(1, 0n);
  m.run(3);
  assert.equal(m.x(1), 0x33n);
  assert.equal(m.read64(P3), 0x33n);
  assert.deepEqual(abortInfo(m), { ec: 0x24, fsc: 0x0f, wnr: 1, far: 0x50003000n });
});

test("execute-never: PXN at EL1, UXN at EL0, EL0-writable memory at EL1 and WXN give permission Instruction Aborts", () => {
  const { m, t } = machine4k();
  const X = 0x40004000;
  t.map(0x50000000, page(X, PXN));
  t.map(0x50001000, page(X, AP_RO_ALL | UXN));
  t.map(0x50002000, page(X, AP_RW_ALL));
  t.map(0x50003000, page(X, AP_RW_EL1));
  t.map(0x50004000, page(X, AP_RO_EL1));
  m.bus.write32(X, NOP);
  enable(m, tcr(), t.root);
  const fetchAt = (va: number, el: 0 | 1) => {
    m.cpu.setMode(el, el);
    m.setPc(BigInt(va));
    m.run(1);
    return m.cpu.el === 1 && m.pc === BigInt(RAM_BASE + (el === 0 ? 0x400 : 0x200)) ? abortInfo(m) : undefined;
  };
  assert.deepEqual(fetchAt(0x50000000, 1), { ec: 0x21, fsc: 0x0f, wnr: 0, far: 0x50000000n });
  assert.equal(fetchAt(0x50000000, 0), undefined, "PXN does not stop EL0"); // AP = 00 still lets EL0 execute
  assert.deepEqual(fetchAt(0x50001000, 0), { ec: 0x20, fsc: 0x0f, wnr: 0, far: 0x50001000n });
  assert.equal(fetchAt(0x50001000, 1), undefined, "UXN does not stop EL1");
  assert.deepEqual(fetchAt(0x50002000, 1), { ec: 0x21, fsc: 0x0f, wnr: 0, far: 0x50002000n });
  assert.equal(fetchAt(0x50002000, 0), undefined);
  assert.equal(fetchAt(0x50003000, 1), undefined);
  // SCTLR_EL1.WXN (bit 19): writable memory is execute-never; read-only memory still executes.
  setReg(m, K.SCTLR, BigInt(SCTLR_RESET | 1 | (1 << 19)));
  assert.deepEqual(fetchAt(0x50003000, 1), { ec: 0x21, fsc: 0x0f, wnr: 0, far: 0x50003000n });
  assert.equal(fetchAt(0x50004000, 1), undefined);
});

test("hierarchical attributes: APTable read-only and no-EL0, PXNTable apply to everything below the table", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1, AP_RW_ALL), 3, AP_TABLE_RO); // the new level 3 table's descriptor: APTable = 0b10
  t.map(0x60000000, page(P1, AP_RW_ALL), 3, AP_TABLE_NO_EL0);
  t.map(0x70000000, page(0x40004000), 3, PXN_TABLE);
  m.bus.write32(0x40004000, NOP);
  enable(m, tcr(), t.root);
  m.setX(2, 0x50000000n).code(ldrX(1, 2), strX(1, 2));
  m.run(2);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x0f, wnr: 1, far: 0x50000000n });
  m.code(ldrX(1, 3), strX(1, 3), AT_S1E0R(3));
  m.setX(3, 0x60000000n).run(3);
  assert.equal(m.pc, BigInt(CODE + 12), "EL1 keeps read/write access");
  assert.equal(readReg(m, K.PAR), 0x81fn, "EL0 has no access: AT S1E0R reports a level 3 permission fault");
  m.setPc(0x70000000n).run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x21, fsc: 0x0f, wnr: 0, far: 0x70000000n });
});

test("output addresses beyond TCR.IPS / the 40-bit PARange are Address size faults; bad tables are walk aborts", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(0x100_4000_0000n)); // bit 40: beyond PARange
  t.map(0x50001000, page(0x1_0000_0000n)); // fine with IPS = 40 bits, not with IPS = 32 bits
  t.map(0x52000000, 0x0800_0000n | 3n, 2); // level 2 table descriptor pointing at unmapped physical space
  enable(m, tcr(), t.root);
  assert.equal(m.cpu.mmu.walk(0x50000000, 0, false), 0x03);
  assert.equal(m.cpu.mmu.walk(0x50001000, 0, false), -1);
  assert.equal(m.cpu.mmu.walkPa, 0x1_0000_0000);
  m.setX(2, 0x52000000n).code(ldrX(1, 2));
  m.run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x17, wnr: 0, far: 0x52000000n }, "external abort on walk, level 3");
  setReg(m, K.TCR, tcr({ ips: 0 }));
  assert.equal(m.cpu.mmu.walk(0x50001000, 0, false), 0x03);
  // A TTBR beyond the output size is an Address size fault at level 0 (T0SZ 25 starts at level 1, still 0).
  setReg(m, K.TTBR1, 0x1_0000_0000n);
  setReg(m, K.TCR, tcr({ ips: 0, epd1: false }));
  assert.equal(m.cpu.mmu.walk(0x0, 0xffffff80, false), 0x00);
  // A TTBR pointing at unmapped physical space: external abort on the first walk access (level 1).
  setReg(m, K.TTBR1, 0x1000n);
  assert.equal(m.cpu.mmu.walk(0x0, 0xffffff80, false), 0x15);
});

test("reserved descriptors: a block at level 3 or level 0 (4K) is a translation fault", () => {
  const { m, t } = machine4k(48);
  t.map(0x50000000, leaf(BLOCK, P1)); // 0b01 at level 3
  t.map(0x0000_0080_0000_0000n, leaf(BLOCK, 0n), 0);
  enable(m, tcr({ t0sz: 16 }), t.root);
  assert.equal(m.cpu.mmu.walk(0x50000000, 0, false), 0x07);
  assert.equal(m.cpu.mmu.walk(0, 0x80, false), 0x04);
});

test("the TLB keeps a translation until TLBI: a changed descriptor is used only after TLBI VMALLE1 / VAE1", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  fill(m, P1, 0x1000n);
  fill(m, P2, 0x2000n);
  enable(m, tcr(), t.root);
  m.setX(2, 0x50000000n).setX(5, 0x50000000n >> 12n);
  m.code(ldrX(1, 2), ldrX(3, 2), TLBI_VMALLE1, ISB, ldrX(4, 2), ldrX(6, 2), TLBI_VAE1(5), ldrX(7, 2));
  m.run(1);
  assert.equal(m.x(1), 0x1000n);
  t.map(0x50000000, page(P2)); // no TLBI yet: the cached translation persists
  m.run(1);
  assert.equal(m.x(3), 0x1000n);
  m.run(3);
  assert.equal(m.x(4), 0x2000n);
  t.map(0x50000000, page(P3));
  fill(m, P3, 0x3000n);
  m.run(3);
  assert.equal(m.x(6), 0x2000n);
  assert.equal(m.x(7), 0x3000n);
  assert.equal(m.undefinedReports.length, 0);
});

test("TTBR writes drop non-global (nG) translations and may keep global ones; MAIR/TCR/SCTLR writes drop all", () => {
  const { m, t } = machine4k();
  const other = new Tables(m, 12, 39, 0x400c0000);
  t.map(0x50000000, page(P1, NG));
  t.map(0x50001000, page(P1));
  other.map(RAM_BASE, page(RAM_BASE));
  other.map(CODE, page(CODE));
  other.map(0x50000000, page(P2, NG));
  other.map(0x50001000, page(P2));
  fill(m, P1, 0x1000n);
  fill(m, P2, 0x2000n);
  enable(m, tcr(), t.root);
  m.setX(2, 0x50000000n).setX(3, 0x50001000n).setX(4, BigInt(other.root));
  m.code(ldrX(1, 2), ldrX(1, 3), msr(K.TTBR0, 4), ISB, ldrX(5, 2), ldrX(6, 3));
  m.run(6);
  assert.equal(m.x(5), 0x2000n, "nG entry re-walked with the new tables (an ASID switch)");
  assert.equal(m.x(6), 0x1000n, "global entry kept, as an ASID-tagged TLB does");
  const gen = m.cpu.fetchGeneration;
  const before = m.cpu.mmu.tlbEntries;
  assert.ok(before > 0);
  for (const key of [K.MAIR, K.TCR, K.SCTLR]) {
    setReg(m, key, readReg(m, key));
    assert.equal(m.cpu.mmu.tlbEntries, 0);
    m.setX(2, 0x50000000n).code(ldrX(1, 2));
    m.run(1);
  }
  assert.ok(m.cpu.fetchGeneration > gen);
});

test("AT S1E1R/W and S1E0R/W fill PAR_EL1 with PA and attributes, or F=1 and the fault status, never an exception", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1, AP_RO_EL1));
  t.map(0x50001000, leaf(PAGE, 0x0900_0000, AP_RW_ALL) & ~ATTR_NORMAL); // Device-nGnRnE
  t.map(0x50002000, (page(P2) & ~ATTR_NORMAL) | ATTR_NC);
  t.map(0x50003000, leaf(PAGE, P3, 0n, true));
  enable(m, tcr(), t.root);
  const esr = m.cpu.sys.esrEl1;
  const at = (insn: number, va: bigint): bigint => {
    m.setX(1, va).code(insn, mrs(0, K.PAR));
    m.run(2);
    assert.equal(m.pc, BigInt(CODE + 8), "no exception");
    return m.x(0);
  };
  // PA[47:12] | ATTR << 56 | NS (bit 9) | SH << 7 | bit 11 (RES1).
  assert.equal(at(AT_S1E1R(1), 0x50000abcn), 0xff00_0000_4003_0b80n);
  assert.equal(at(AT_S1E1W(1), 0x50000abcn), 0x81fn, "write to read-only: permission fault, level 3");
  assert.equal(at(AT_S1E0R(1), 0x50000abcn), 0x81fn, "EL0 read of EL1-only");
  assert.equal(at(AT_S1E0W(1), 0x50001000n), 0x0000_0000_0900_0b00n, "Device memory reports SH = 0b10");
  assert.equal(at(AT_S1E1R(1), 0x50002000n), 0x4400_0000_4002_0b00n, "Normal non-cacheable reports SH = 0b10");
  assert.equal(at(AT_S1E1R(1), 0x50003000n), 0x817n, "access flag fault, level 3");
  assert.equal(at(AT_S1E1R(1), 0x50005000n), 0x80fn, "translation fault, level 3");
  assert.equal(at(AT_S1E1R(1), 0x0000_0080_0000_0000n), 0x809n, "translation fault, level 0");
  assert.equal(m.cpu.sys.esrEl1, esr);
  // With the MMU off: flat, Device-nGnRnE, Outer Shareable; beyond 40 bits an Address size fault.
  setReg(m, K.SCTLR, BigInt(SCTLR_RESET));
  assert.equal(at(AT_S1E1R(1), 0x4001_0123n), 0x4001_0b00n);
  assert.equal(at(AT_S1E1R(1), 0x100_0000_0000n), 0x801n);
  // EL0 cannot execute AT.
  m.cpu.setMode(0, 0);
  m.setPc(BigInt(CODE));
  m.run(1);
  assert.equal(abortInfo(m).ec, 0);
});

test("the debugger's translate walks without side effects: no exception, no TLB fill, undefined when unmapped", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1, AP_RW_EL1 | UXN | PXN));
  t.map(0x50001000, leaf(PAGE, P2, 0n, true)); // AF = 0: readable for the debugger all the same
  t.map(0x52000000, 0x0800_0000n | 3n, 2); // table outside RAM
  const regs: RegisterFile = { registers: () => [], read: () => undefined, write: () => false };
  const dbg = new Aarch64Debug(m.cpu, m.interp, regs);
  assert.equal(dbg.translate(0x4001_0000n), 0x4001_0000, "MMU off: flat");
  assert.equal(dbg.translate(0x100_0000_0000n), undefined);
  enable(m, tcr(), t.root);
  m.cpu.setMode(0, 0); // EL0: permissions do not matter to the debugger
  const state = JSON.stringify([m.cpu.sys.esrEl1, m.cpu.sys.farEl1Lo, m.cpu.pcLo, m.cpu.el, m.cpu.mmu.tlbEntries]);
  assert.equal(dbg.translate(0x50000123n), P1 + 0x123);
  assert.equal(dbg.translate(0x50001008n), P2 + 8);
  assert.equal(dbg.translate(0x50002000n), undefined);
  assert.equal(dbg.translate(0x52000000n), undefined);
  assert.equal(dbg.translate(0xffff_ffff_ffff_0000n), undefined);
  assert.equal(JSON.stringify([m.cpu.sys.esrEl1, m.cpu.sys.farEl1Lo, m.cpu.pcLo, m.cpu.el, m.cpu.mmu.tlbEntries]), state);
});

test("an access crossing a page boundary translates both pages; a fault on the second writes nothing", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  t.map(0x50001000, page(P2));
  enable(m, tcr(), t.root);
  m.write64(P1 + 0xff8, 0x8877_6655_4433_2211n);
  m.write64(P2, 0xffee_ddcc_bbaa_9988n);
  m.setX(2, 0x50000ffcn).setX(3, 0x50000ffen).setX(6, 0x50001ffen).setX(4, 0x0102_0304_0506_0708n);
  m.code(ldrX(1, 2), strW(4, 3), ldrW(5, 3), strX(4, 6));
  m.run(3);
  assert.equal(m.x(1), 0xbbaa_9988_8877_6655n);
  assert.equal(m.x(5), 0x0506_0708n);
  assert.equal(m.read64(P1 + 0xff8), 0x0708_6655_4433_2211n);
  assert.equal(m.read64(P2), 0xffee_ddcc_bbaa_0506n);
  const before = m.read64(P2 + 0xff8);
  m.run(1); // second page (0x50002000) unmapped
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x07, wnr: 1, far: 0x50002000n });
  assert.equal(m.read64(P2 + 0xff8), before);
});

test("TCR_EL1.TBI0 ignores the top byte of TTBR0 addresses; without it a tagged VA is a level 0 fault", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  fill(m, P1, 0x7a00n);
  enable(m, tcr({ tbi0: true }), t.root);
  m.setX(2, 0x5a00_0000_5000_0010n).code(ldrX(1, 2), ldrX(3, 2));
  m.run(1);
  assert.equal(m.x(1), 0x7a10n);
  setReg(m, K.TCR, tcr());
  m.run(1);
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x04, wnr: 0, far: 0x5a00_0000_5000_0010n });
  // MMU off: TBI also lets a tagged address through the flat mapping.
  setReg(m, K.SCTLR, BigInt(SCTLR_RESET));
  setReg(m, K.TCR, tcr({ tbi0: true }));
  m.write64(DATA, 0x99n);
  m.setX(2, 0x3300_0000_0000_0000n + BigInt(DATA)).code(ldrX(1, 2));
  m.run(1);
  assert.equal(m.x(1), 0x99n);
});

test("unprivileged accesses (LDTR/STTR at EL1) are checked with EL0 permissions", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1, AP_RW_EL1));
  t.map(0x50001000, page(P2, AP_RW_ALL));
  m.write64(P2, 0x42n);
  enable(m, tcr(), t.root);
  m.cpu.unprivileged = true;
  assert.equal(m.cpu.read64(0x50001000, 0), 0x42);
  assert.throws(() => m.cpu.read64(0x50000000, 0), (e) => e === EXCEPTION_TAKEN);
  m.cpu.unprivileged = false;
  assert.deepEqual(abortInfo(m), { ec: 0x25, fsc: 0x0f, wnr: 0, far: 0x50000000n });
  assert.equal(m.cpu.read64(0x50000000, 0), 0);
});

test("loading a CPU state flushes the TLB and bumps the fetch generation", () => {
  const { m, t } = machine4k();
  t.map(0x50000000, page(P1));
  enable(m, tcr(), t.root);
  m.setX(2, 0x50000000n).code(ldrX(1, 2));
  m.run(1);
  assert.ok(m.cpu.mmu.tlbEntries >= 2);
  const saved = m.cpu.saveState();
  const gen = m.cpu.fetchGeneration;
  m.cpu.loadState(saved, m.cpu.stateVersion);
  assert.equal(m.cpu.mmu.tlbEntries, 0);
  assert.ok(m.cpu.fetchGeneration > gen);
  m.setX(2, 0x50000008n).code(ldrX(1, 2));
  m.run(1);
  assert.equal(m.pc, BigInt(CODE + 4));
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { StateError } from "../../src/core/state.js";
import { GicV2, GIC_SPURIOUS } from "../../src/devices/gicv2.js";
import { encoded, savedThroughBytes } from "./helpers.js";

// Distributor offsets
const CTLR = 0x000,
  TYPER = 0x004,
  IIDR = 0x008,
  IGROUPR = 0x080,
  ISENABLER = 0x100,
  ICENABLER = 0x180,
  ISPENDR = 0x200,
  ICPENDR = 0x280,
  ISACTIVER = 0x300,
  ICACTIVER = 0x380,
  IPRIORITYR = 0x400,
  ITARGETSR = 0x800,
  ICFGR = 0xc00,
  SGIR = 0xf00,
  CPENDSGIR = 0xf10,
  SPENDSGIR = 0xf20;
// CPU interface offsets
const C_CTLR = 0x00,
  PMR = 0x04,
  BPR = 0x08,
  IAR = 0x0c,
  EOIR = 0x10,
  RPR = 0x14,
  HPPIR = 0x18,
  ABPR = 0x1c,
  AIAR = 0x20,
  APR0 = 0xd0,
  C_IIDR = 0xfc,
  DIR = 0x1000;

const VTIMER = 27;
const SPI = (n: number) => 32 + n;

function setup() {
  const out = { irq: false, fiq: false, calls: 0 };
  const gic = new GicV2((irq, fiq) => {
    out.irq = irq;
    out.fiq = fiq;
    out.calls++;
  });
  const d = gic.distributor;
  const c = gic.cpuInterface;
  const t = {
    gic,
    out,
    dr: (off: number) => d.read(off, 4) >>> 0,
    dw: (off: number, v: number) => d.write(off, 4, v >>> 0),
    db: (off: number, v: number) => d.write(off, 1, v),
    cr: (off: number) => c.read(off, 4) >>> 0,
    cw: (off: number, v: number) => c.write(off, 4, v >>> 0),
    bitOf: (base: number, irq: number) => (d.read(base + 4 * (irq >> 5), 4) >>> (irq & 31)) & 1,
    enable: (irq: number) => d.write(ISENABLER + 4 * (irq >> 5), 4, (1 << (irq & 31)) >>> 0),
    setPrio: (irq: number, p: number) => d.write(IPRIORITYR + irq, 1, p),
    setEdge: (irq: number) => {
      const reg = ICFGR + 4 * (irq >> 4);
      d.write(reg, 4, (d.read(reg, 4) | (2 << ((irq & 15) * 2))) >>> 0);
    },
  };
  return t;
}

/** Distributor and CPU interface on, Group 0 signalling IRQ, priority mask fully open. */
function enabled() {
  const t = setup();
  t.dw(CTLR, 1);
  t.cw(C_CTLR, 1);
  t.cw(PMR, 0xff);
  return t;
}

test("GIC identification and reset values match QEMU's GICv2 with 288 interrupts", () => {
  const t = setup();
  assert.equal(t.dr(TYPER), 8, "ITLinesNumber 8 (288 interrupts), CPUNumber 0, no security extensions");
  assert.equal(t.dr(IIDR), 0x43b);
  assert.equal(t.cr(C_IIDR), 0x0002043b);
  const ids = [];
  for (let off = 0xfd0; off < 0x1000; off += 4) ids.push(t.dr(off));
  assert.deepEqual(ids, [0x04, 0, 0, 0, 0x90, 0xb4, 0x2b, 0, 0x0d, 0xf0, 0x05, 0xb1]);
  assert.equal(t.dr(ISENABLER), 0x0000ffff, "SGIs are always enabled");
  assert.equal(t.dr(ICFGR), 0xaaaaaaaa, "SGIs are edge-triggered");
  assert.equal(t.dr(ICFGR + 4), 0, "PPIs reset level-sensitive");
  assert.equal(t.dr(IGROUPR), 0, "everything resets to Group 0");
  assert.equal(t.cr(RPR), 0xff, "idle");
  assert.equal(t.cr(BPR), 0);
  assert.equal(t.cr(ABPR), 1);
  assert.equal(t.cr(PMR), 0);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  // Past the last interrupt and in reserved space, reads are zero.
  assert.equal(t.dr(ISENABLER + 4 * 9), 0);
  assert.equal(t.dr(0x40), 0);
  assert.equal(t.dr(0x2000), 0);
  assert.equal(t.out.irq, false);
});

test("GIC ITARGETSR is RAZ/WI on a uniprocessor GIC, as in QEMU", () => {
  const t = setup();
  t.dw(ITARGETSR + 32, 0x01010101);
  assert.equal(t.dr(ITARGETSR), 0);
  assert.equal(t.dr(ITARGETSR + 32), 0);
});

test("GIC edge SPI: pending, enable, acknowledge, EOI, then spurious", () => {
  const t = enabled();
  const irq = SPI(1);
  t.setEdge(irq);
  t.setPrio(irq, 0xa0);
  t.gic.setIrqLevel(irq, true);
  t.gic.setIrqLevel(irq, false); // a pulse is latched
  assert.equal(t.bitOf(ISPENDR, irq), 1);
  assert.equal(t.out.irq, false, "not enabled yet");
  assert.equal(t.cr(HPPIR), GIC_SPURIOUS);
  t.enable(irq);
  assert.equal(t.bitOf(ISENABLER, irq), 1);
  assert.equal(t.out.irq, true);
  assert.equal(t.cr(HPPIR), irq);
  assert.equal(t.cr(IAR), irq);
  assert.equal(t.out.irq, false);
  assert.equal(t.bitOf(ISACTIVER, irq), 1);
  assert.equal(t.bitOf(ISPENDR, irq), 0, "acknowledging an edge interrupt clears its pending state");
  assert.equal(t.cr(RPR), 0xa0);
  assert.equal(t.cr(APR0 + 8), 1 << (0x50 - 64), "active priority bit for preemption level 0x50");
  t.cw(EOIR, irq);
  assert.equal(t.bitOf(ISACTIVER, irq), 0);
  assert.equal(t.cr(RPR), 0xff);
  assert.equal(t.cr(APR0 + 8), 0);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.cw(EOIR, GIC_SPURIOUS); // ignored
  assert.equal(t.cr(RPR), 0xff);
});

test("GIC ICENABLER disables and ICPENDR clears a latched interrupt", () => {
  const t = enabled();
  const irq = SPI(40);
  t.setEdge(irq);
  t.enable(irq);
  t.gic.setIrqLevel(irq, true);
  assert.equal(t.out.irq, true);
  t.dw(ICENABLER + 4 * (irq >> 5), 1 << (irq & 31));
  assert.equal(t.out.irq, false);
  assert.equal(t.bitOf(ISPENDR, irq), 1, "still pending while disabled");
  t.dw(ICPENDR + 4 * (irq >> 5), 1 << (irq & 31));
  assert.equal(t.bitOf(ISPENDR, irq), 0);
  t.enable(irq);
  assert.equal(t.out.irq, false);
  t.dw(ISPENDR + 4 * (irq >> 5), 1 << (irq & 31)); // software can make it pending
  assert.equal(t.cr(IAR), irq);
});

test("GIC signals nothing unless both the distributor and the CPU interface are enabled", () => {
  const t = setup();
  t.cw(PMR, 0xff);
  t.enable(SPI(2));
  t.dw(ISPENDR + 4, 1 << 2);
  assert.equal(t.out.irq, false);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.dw(CTLR, 1);
  assert.equal(t.out.irq, false);
  t.cw(C_CTLR, 1);
  assert.equal(t.out.irq, true);
  t.dw(CTLR, 0);
  assert.equal(t.out.irq, false);
  assert.equal(t.cr(HPPIR), GIC_SPURIOUS);
});

test("GIC picks the highest priority (lowest value, then lowest INTID) and PMR masks", () => {
  const t = enabled();
  for (const [irq, p] of [
    [SPI(3), 0x80],
    [SPI(4), 0x40],
    [SPI(5), 0x40],
  ] as const) {
    t.setPrio(irq, p);
    t.enable(irq);
    t.dw(ISPENDR + 4, 1 << (irq - 32));
  }
  t.cw(PMR, 0x40);
  assert.equal(t.out.irq, false, "priority must be strictly higher than the mask");
  assert.equal(t.cr(HPPIR), GIC_SPURIOUS);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.cw(PMR, 0x41);
  assert.equal(t.out.irq, true);
  assert.equal(t.cr(IAR), SPI(4));
  t.cw(EOIR, SPI(4));
  assert.equal(t.cr(IAR), SPI(5));
  t.cw(EOIR, SPI(5));
  assert.equal(t.cr(IAR), GIC_SPURIOUS, "0x80 is masked by PMR 0x41");
  t.cw(PMR, 0xf0);
  assert.equal(t.cr(IAR), SPI(3));
  t.cw(EOIR, SPI(3));
  // PMR keeps all eight bits (QEMU's default num-priority-bits).
  t.cw(PMR, 0x1ab);
  assert.equal(t.cr(PMR), 0xab);
});

test("GIC preemption uses the group priority selected by BPR", () => {
  // A is active at priority 0x8e; B pending at 0x85.
  const run = (bpr: number) => {
    const t = enabled();
    t.cw(BPR, bpr);
    const a = SPI(6),
      b = SPI(7);
    t.setPrio(a, 0x8e);
    t.setPrio(b, 0x85);
    t.enable(a);
    t.enable(b);
    t.dw(ISPENDR + 4, 1 << 6);
    assert.equal(t.cr(IAR), a);
    t.dw(ISPENDR + 4, 1 << 7);
    return t;
  };
  // BPR 0: group priority bits [7:1], running priority 0x8e: 0x85 preempts.
  const fine = run(0);
  assert.equal(fine.cr(RPR), 0x8e);
  assert.equal(fine.out.irq, true);
  assert.equal(fine.cr(IAR), SPI(7));
  assert.equal(fine.cr(RPR), 0x84);
  fine.cw(EOIR, SPI(7));
  assert.equal(fine.cr(RPR), 0x8e, "back to the interrupted handler's priority");
  fine.cw(EOIR, SPI(6));
  assert.equal(fine.cr(RPR), 0xff);
  // BPR 3: group priority bits [7:4], running priority 0x80: 0x85 is in the same group and cannot preempt.
  const coarse = run(3);
  assert.equal(coarse.cr(RPR), 0x80);
  assert.equal(coarse.out.irq, false);
  assert.equal(coarse.cr(HPPIR), SPI(7), "pending and above the mask, just not preempting");
  assert.equal(coarse.cr(IAR), GIC_SPURIOUS);
  coarse.cw(EOIR, SPI(6));
  assert.equal(coarse.out.irq, true);
  assert.equal(coarse.cr(IAR), SPI(7));
});

test("GIC level-triggered PPI stays pending while the line is high and re-fires after EOI", () => {
  const t = enabled();
  t.enable(VTIMER);
  t.setPrio(VTIMER, 0x20);
  t.gic.setIrqLevel(VTIMER, true);
  assert.equal(t.out.irq, true);
  assert.equal(t.cr(IAR), VTIMER);
  assert.equal(t.bitOf(ISPENDR, VTIMER), 1, "line still high: active and pending");
  assert.equal(t.bitOf(ISACTIVER, VTIMER), 1);
  assert.equal(t.out.irq, false, "an active interrupt is not signalled again");
  // Clearing the pending latch does not clear a level that is still asserted.
  t.dw(ICPENDR, 1 << VTIMER);
  assert.equal(t.bitOf(ISPENDR, VTIMER), 1);
  t.cw(EOIR, VTIMER);
  assert.equal(t.out.irq, true, "re-pends after EOI while the line stays high");
  assert.equal(t.cr(IAR), VTIMER);
  t.gic.setIrqLevel(VTIMER, false);
  assert.equal(t.bitOf(ISPENDR, VTIMER), 0);
  t.cw(EOIR, VTIMER);
  assert.equal(t.out.irq, false);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  // A level interrupt that was never acknowledged simply goes away with its line.
  t.gic.setIrqLevel(VTIMER, true);
  assert.equal(t.out.irq, true);
  t.gic.setIrqLevel(VTIMER, false);
  assert.equal(t.out.irq, false);
});

test("GIC edge interrupt re-triggered while active becomes active and pending", () => {
  const t = enabled();
  const irq = SPI(8);
  t.setEdge(irq);
  t.enable(irq);
  t.gic.setIrqLevel(irq, true);
  assert.equal(t.cr(IAR), irq);
  t.gic.setIrqLevel(irq, false);
  t.gic.setIrqLevel(irq, true); // second edge during the handler
  assert.equal(t.bitOf(ISPENDR, irq), 1);
  assert.equal(t.bitOf(ISACTIVER, irq), 1);
  assert.equal(t.out.irq, false);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.cw(EOIR, irq);
  assert.equal(t.out.irq, true);
  assert.equal(t.cr(IAR), irq);
  t.cw(EOIR, irq);
  assert.equal(t.cr(IAR), GIC_SPURIOUS, "a level held high does not re-trigger an edge interrupt");
});

test("GIC SGIs: GICD_SGIR to self, SPENDSGIR sources, CPENDSGIR, permanently enabled", () => {
  const t = enabled();
  t.dw(SGIR, (2 << 24) | 5); // filter 2: this CPU
  assert.equal(t.out.irq, true);
  assert.equal(t.dr(SPENDSGIR + 4) & 0xff00, 0x0100, "SGI 5 pending from CPU 0");
  assert.equal(t.cr(IAR), 5);
  t.cw(EOIR, 5);
  t.dw(SGIR, (0 << 24) | (0x02 << 16) | 6); // target list names only CPU 1, which does not exist
  t.dw(SGIR, (1 << 24) | 7); // all but self
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.dw(SGIR, (0 << 24) | (0x01 << 16) | 9);
  assert.equal(t.cr(IAR), 9);
  t.cw(EOIR, 9);
  // Byte writes to GICD_SGIR are ignored.
  t.db(SGIR, 3);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  // SPENDSGIR names source CPUs; the acknowledge reports the lowest one in bits [12:10].
  t.db(SPENDSGIR + 3, 0x05);
  assert.equal(t.cr(IAR), 3);
  t.cw(EOIR, 3);
  assert.equal(t.cr(IAR), 3 | (2 << 10));
  t.cw(EOIR, 3);
  assert.equal(t.cr(IAR), GIC_SPURIOUS);
  t.db(SPENDSGIR + 4, 0x81);
  t.db(CPENDSGIR + 4, 0x01);
  assert.equal(t.dr(CPENDSGIR + 4) & 0xff, 0x80);
  t.db(CPENDSGIR + 4, 0x80);
  assert.equal(t.bitOf(ISPENDR, 4), 0);
  // SGIs can be neither disabled nor made pending through ISPENDR.
  t.dw(ICENABLER, 0xffffffff);
  assert.equal(t.dr(ISENABLER) & 0xffff, 0xffff);
  t.dw(ISPENDR, 0xffff);
  assert.equal(t.dr(ISPENDR) & 0xffff, 0);
  t.dw(ICFGR, 0);
  assert.equal(t.dr(ICFGR), 0xaaaaaaaa);
});

test("GIC ISACTIVER/ICACTIVER set and clear the active state", () => {
  const t = enabled();
  const irq = SPI(9);
  t.enable(irq);
  t.dw(ISACTIVER + 4, 1 << 9);
  t.dw(ISPENDR + 4, 1 << 9);
  assert.equal(t.out.irq, false, "active interrupts are not signalled");
  t.dw(ICACTIVER + 4, 1 << 9);
  assert.equal(t.out.irq, true);
});

test("GIC IPRIORITYR is byte-accessible and packs four interrupts per word", () => {
  const t = setup();
  t.setPrio(SPI(8), 0xa0);
  t.setPrio(SPI(9), 0xb0);
  t.gic.distributor.write(IPRIORITYR + SPI(10), 2, 0xd0c0);
  assert.equal(t.dr(IPRIORITYR + SPI(8)), 0xd0c0b0a0);
  assert.equal(t.gic.distributor.read(IPRIORITYR + SPI(9), 1), 0xb0);
  t.dw(IPRIORITYR + 4, 0x44332211);
  assert.equal(t.gic.distributor.read(IPRIORITYR + 6, 1), 0x33);
});

test("GIC groups: Group 1 needs AckCtl to be acknowledged; Group 0 with FIQEn signals FIQ", () => {
  const t = setup();
  t.dw(CTLR, 3);
  t.cw(PMR, 0xff);
  const g1 = SPI(10),
    g0 = SPI(11);
  t.dw(IGROUPR + 4, 1 << 10);
  assert.equal(t.dr(IGROUPR + 4), 1 << 10);
  t.enable(g1);
  t.enable(g0);
  t.setPrio(g0, 0x80);
  t.setPrio(g1, 0x40);
  t.dw(ISPENDR + 4, (1 << 10) | (1 << 11));
  t.cw(C_CTLR, 0b00011); // both groups on, no AckCtl, no FIQEn
  assert.equal(t.out.irq, true);
  assert.equal(t.cr(HPPIR), 1022);
  assert.equal(t.cr(IAR), 1022, "Group 1 interrupt hidden without AckCtl");
  assert.equal(t.bitOf(ISACTIVER, g1), 0);
  t.cw(C_CTLR, 0b00111); // AckCtl
  assert.equal(t.cr(IAR), g1);
  t.cw(EOIR, g1);
  t.cw(C_CTLR, 0b01011); // FIQEn: Group 0 goes to FIQ
  assert.deepEqual([t.out.irq, t.out.fiq], [false, true]);
  assert.equal(t.cr(IAR), g0);
  assert.deepEqual([t.out.irq, t.out.fiq], [false, false]);
  t.cw(EOIR, g0);
  // Group 1 uses ABPR for its group priority unless CBPR is set.
  t.cw(ABPR, 0);
  assert.equal(t.cr(ABPR), 1, "ABPR has a minimum of 1");
  // A disabled group does not signal.
  t.cw(C_CTLR, 0b00101);
  t.dw(ISPENDR + 4, 1 << 10);
  assert.equal(t.out.irq, false);
  // AIAR and the other aliases are not implemented by QEMU: RAZ/WI.
  assert.equal(t.cr(AIAR), 0);
});

test("GIC EOImode 1 splits priority drop (EOIR) from deactivation (DIR)", () => {
  const t = setup();
  t.dw(CTLR, 1);
  t.cw(PMR, 0xff);
  t.cw(C_CTLR, 1 | (1 << 9));
  assert.equal(t.cr(C_CTLR), 0x201);
  const irq = SPI(12);
  t.enable(irq);
  t.dw(ISPENDR + 4, 1 << 12);
  assert.equal(t.cr(IAR), irq);
  t.cw(EOIR, irq);
  assert.equal(t.cr(RPR), 0xff, "priority dropped");
  assert.equal(t.bitOf(ISACTIVER, irq), 1, "still active");
  t.dw(ISPENDR + 4, 1 << 12);
  assert.equal(t.out.irq, false, "active: cannot be signalled again yet");
  t.cw(DIR, irq);
  assert.equal(t.bitOf(ISACTIVER, irq), 0);
  assert.equal(t.out.irq, true);
  // With EOImode 0, DIR is ignored.
  t.cw(C_CTLR, 1);
  assert.equal(t.cr(IAR), irq);
  t.cw(DIR, irq);
  assert.equal(t.bitOf(ISACTIVER, irq), 1);
});

test("GIC rejects inputs that are not PPIs or SPIs", () => {
  const t = setup();
  assert.throws(() => t.gic.setIrqLevel(5, true), RangeError);
  assert.throws(() => t.gic.setIrqLevel(288, true), RangeError);
  t.gic.setIrqLevel(287, true);
  assert.equal(t.bitOf(ISPENDR, 287), 1, "level-sensitive: pending while high");
});

function busyGic() {
  const t = enabled();
  t.cw(BPR, 2);
  t.dw(IGROUPR + 4, 1 << 20);
  t.setPrio(VTIMER, 0x10);
  t.setPrio(SPI(1), 0x60);
  t.setPrio(SPI(20), 0x90);
  t.setEdge(SPI(1));
  t.enable(VTIMER);
  t.enable(SPI(1));
  t.enable(SPI(20));
  t.gic.setIrqLevel(SPI(1), true);
  assert.equal(t.cr(IAR), SPI(1)); // active
  t.gic.setIrqLevel(VTIMER, true); // preempts: line high
  t.dw(SGIR, (2 << 24) | 3);
  t.db(SPENDSGIR + 3, 0x04);
  t.dw(ISPENDR + 4, 1 << 20);
  return t;
}

test("GIC state round-trips: save, mutate, load gives identical state, outputs and behaviour", () => {
  const a = busyGic();
  assert.equal(a.out.irq, true);
  const before = encoded(a.gic);
  const saved = savedThroughBytes(a.gic);

  // Mutate everything reachable, then restore.
  a.cr(IAR);
  a.cw(EOIR, VTIMER);
  a.gic.setIrqLevel(VTIMER, false);
  a.dw(CTLR, 0);
  a.cw(PMR, 0);
  assert.equal(a.out.irq, false);
  a.gic.loadState(saved, 1);
  assert.deepEqual(encoded(a.gic), before);
  assert.equal(a.out.irq, true, "the CPU's IRQ line is driven from the restored state");

  const b = setup();
  b.gic.loadState(saved, 1);
  assert.deepEqual(encoded(b.gic), before);
  assert.equal(b.out.irq, true);
  const sequence = (t: ReturnType<typeof setup>) => {
    const acks: number[] = [];
    for (let i = 0; i < 6; i++) {
      const v = t.cr(IAR);
      acks.push(v);
      if (v === GIC_SPURIOUS) break;
      if ((v & 0x3ff) === VTIMER) t.gic.setIrqLevel(VTIMER, false);
      t.cw(EOIR, v);
    }
    return acks;
  };
  const seqA = sequence(a);
  assert.deepEqual(sequence(b), seqA);
  assert.ok(seqA.includes(VTIMER) && seqA.includes(3) && seqA.includes(3 | (2 << 10)));
});

test("GIC loadState rejects impossible values", () => {
  const t = busyGic();
  const good = t.gic.saveState();
  const mut = (k: string, v: unknown) => ({ ...good, [k]: v }) as typeof good;
  assert.throws(() => t.gic.loadState(mut("runningPriority", 0x101), 1), StateError);
  assert.throws(() => t.gic.loadState(mut("priority", new Uint8Array(100)), 1), StateError);
  assert.throws(() => t.gic.loadState(mut("cpuCtlr", 0x400), 1), StateError);
  assert.throws(() => t.gic.loadState(mut("abpr", 0), 1), StateError);
  const enabledBits = Uint32Array.from(good.enabled as Uint32Array);
  enabledBits[0] &= ~1;
  assert.throws(() => t.gic.loadState(mut("enabled", enabledBits), 1), StateError, "SGI 0 disabled");
  const noSources = mut("sgiPending", new Uint8Array(16));
  assert.throws(() => t.gic.loadState(noSources, 1), StateError, "pending SGIs without a source");
  assert.throws(() => t.gic.loadState(mut("level", new Uint32Array(8)), 1), StateError);
  // A rejected load leaves the device as it was.
  assert.deepEqual(t.gic.saveState(), good);
});

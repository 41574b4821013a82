// The devices together on a PortSpace, driven the way SeaBIOS 1.16 drives them under QEMU 7.2 (the facts in
// /work/shared/reference/qemu-pc-seabios-facts.md): PIC init, PIT 18.2 Hz, CMOS reads, fw_cfg signature/ID and
// a DMA read, A20, i8042 self-test; then a save/restore of every part in the middle and an identical future.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock } from "../../src/core/clock.js";
import { IrqLine } from "../../src/core/irq.js";
import { PortSpace } from "../../src/core/ports.js";
import { decodeState, encodeState, loadSections, saveSections } from "../../src/core/state.js";
import {
  AcpiPmTimer,
  FW_CFG_DMA_CTL_READ,
  FW_CFG_DMA_CTL_SELECT,
  FwCfg,
  I8042,
  I8254,
  I8259Pair,
  Mc146818,
  mapPcLegacyPorts,
  pcCmosDefaults,
  PC_IRQ,
  Port92,
} from "../../src/devices/pc/index.js";

const BOOT = Date.UTC(2026, 11, 2, 7, 0, 0) / 1000;

function machine() {
  const clock = new VirtualClock(7);
  const ram = new Uint8Array(1 << 20);
  const pic = new I8259Pair();
  const pit = new I8254(clock, new IrqLine(pic, PC_IRQ.pit));
  const rtc = new Mc146818(clock, new IrqLine(pic, PC_IRQ.rtc), { bootSeconds: BOOT, cmos: pcCmosDefaults({ belowFourGiB: 128 << 20 }) });
  const fwCfg = new FwCfg({
    read: (a, n) => (a + n <= ram.length ? ram.slice(a, a + n) : undefined),
    write: (a, d) => (a + d.length <= ram.length ? (ram.set(d, a), true) : false),
  });
  fwCfg.addFile("etc/boot-fail-wait", new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  let a20 = false;
  const port92 = new Port92({ setA20: (e) => (a20 = e), requestReset: () => {} });
  const i8042 = new I8042(new IrqLine(pic, PC_IRQ.keyboard), new IrqLine(pic, PC_IRQ.mouse), { setA20: (e) => (a20 = e), requestReset: () => {} });
  const pm = new AcpiPmTimer(clock);
  const ports = new PortSpace();
  mapPcLegacyPorts(ports, { pic, pit, rtc, fwCfg, port92, i8042, pmTimer: pm, pmTimerPort: 0x608 });
  const parts = [clock, pic, pit, rtc, fwCfg, port92, i8042];
  const outb = (p: number, v: number) => ports.write(p, 1, v);
  const inb = (p: number) => ports.read(p, 1);
  /** Runs to `ticks`, taking interrupts (INTA + EOI) as a CPU with IF=1 would; returns the vectors. */
  const run = (ticks: number, vectors: number[]) => {
    while (clock.icount < ticks) {
      clock.icount = Math.min(ticks, Math.max(clock.icount + 1, clock.nextDeadline));
      clock.runDue();
      while (pic.intrPending()) {
        vectors.push(pic.acknowledge());
        outb(0x20, 0x20);
      }
    }
  };
  return { clock, ram, pic, pit, rtc, fwCfg, ports, parts, outb, inb, run, pm, a20: () => a20 };
}

function seabiosInit(m: ReturnType<typeof machine>) {
  const { outb, inb, ports, ram } = m;
  for (const [p, v] of [[0x20, 0x11], [0xa0, 0x11], [0x21, 0x08], [0xa1, 0x70], [0x21, 0x04], [0xa1, 0x02], [0x21, 0x01], [0xa1, 0x01], [0x21, 0xfb], [0xa1, 0xff]])
    outb(p, v);
  ports.write(0x510, 2, 0);
  const sig = [0, 1, 2, 3].map(() => inb(0x511));
  ports.write(0x510, 2, 1);
  const id = ports.read(0x511, 1);
  // DMA read of the directory count (4 bytes) into 0x7000 via a descriptor at 0x6000.
  const dv = new DataView(ram.buffer);
  dv.setUint32(0x6000, (0x19 << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, false);
  dv.setUint32(0x6004, 4, false);
  dv.setBigUint64(0x6008, 0x7000n, false);
  ports.write(0x518, 4, 0x00600000); // cpu_to_be32(0x6000)
  outb(0x92, inb(0x92) | 2);
  outb(0x64, 0xaa);
  const selfTest = inb(0x64) & 1 ? inb(0x60) : -1;
  outb(0x70, 0x8a);
  outb(0x71, 0x26);
  outb(0x70, 0x8b);
  outb(0x71, 0x02);
  outb(0x43, 0x34);
  outb(0x40, 0);
  outb(0x40, 0);
  outb(0x21, 0xfa); // enable IRQ0
  const cmos = [0x10, 0x32, 0x38, 0x3d, 0x5f].map((i) => (outb(0x70, 0x80 | i), inb(0x71)));
  return { sig: String.fromCharCode(...sig), id, dirCount: dv.getUint32(0x7000, false), ctrl: dv.getUint32(0x6000, false), selfTest, cmos };
}

test("SeaBIOS-style bring-up over the port space, three IRQ0s, and a mid-run checkpoint that replays identically", () => {
  const a = machine();
  const r = seabiosInit(a);
  assert.deepEqual(r, { sig: "QEMU", id: 3, dirCount: 1, ctrl: 0, selfTest: 0x55, cmos: [0x00, 0x20, 0x30, 0x12, 0x00] });
  assert.equal(a.a20(), true);
  assert.equal(a.inb(0x1234), 0xff, "nothing mapped");
  assert.equal(a.ports.read(0x608, 4), 0);
  const vectors: number[] = [];
  a.run(1_000_000, vectors);
  // Checkpoint between IRQ0 #2 and #3, restore into a fresh machine, run both on.
  const state = encodeState(saveSections(a.parts));
  const b = machine();
  loadSections(b.parts, decodeState(state));
  const va: number[] = [];
  const vb: number[] = [];
  a.run(1_400_000, va);
  b.run(1_400_000, vb);
  assert.deepEqual([...vectors, ...va], [0x08, 0x08, 0x08], "three IRQ0s by 1.4 M ticks (~179 ms)");
  assert.deepEqual(vb, va);
  assert.deepEqual(encodeState(saveSections(b.parts)), encodeState(saveSections(a.parts)));
  assert.equal(b.ports.read(0x608, 4), a.ports.read(0x608, 4));
});

// The x86 CPU's interrupt entry points on the pc board with a hand-assembled real-mode BIOS: INTR (cpu.intr, the
// hook the 8259 will drive) is taken only with IF = 1, not in the instruction after STI, at an instruction
// boundary of any slicing, and wakes HLT; cpu.interrupt(vector) delivers through the IVT; an undefined opcode is
// a #UD in the guest (vector 6), not a stopped machine.

import { test } from "node:test";
import assert from "node:assert/strict";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";

const HANDLER = 0x40;
/** IVT[0x20] and IVT[6] -> F000:HANDLER (INC BX; IRET); STI; NOP; NOP; HLT; UD2-free #UD: 0F 0B after; HLT. */
const PROGRAM = [
  0x31, 0xc0, // xor ax, ax
  0x8e, 0xd0, // mov ss, ax
  0xbc, 0x00, 0x70, // mov sp, 0x7000
  0x8e, 0xd8, // mov ds, ax
  0xc7, 0x06, 0x80, 0x00, HANDLER, 0x00, // mov word [0x80], HANDLER
  0xc7, 0x06, 0x82, 0x00, 0x00, 0xf0, // mov word [0x82], 0xf000
  0xc7, 0x06, 0x18, 0x00, HANDLER + 2, 0x00, // mov word [0x18], HANDLER + 2 (#UD: skips the 2-byte UD2)
  0xc7, 0x06, 0x1a, 0x00, 0x00, 0xf0, // mov word [0x1a], 0xf000
  0x90, // nop (IF = 0: INTR waits)        @ 0x21
  0xfb, // sti                              @ 0x22
  0x90, // nop (the STI shadow)             @ 0x23
  0x90, // nop                              @ 0x24
  0xf4, // hlt                              @ 0x25
  0x0f, 0x0b, // ud2                        @ 0x26
  0xf4, // hlt                              @ 0x28
];

function machine(): PcMachine {
  const bios = new Uint8Array(0x10000);
  bios.set(PROGRAM, 0);
  // HANDLER: inc bx; iret. HANDLER + 2: #UD: add word [ss:sp], 2 (bp-free: push bp; mov bp, sp; add word [bp+2], 2; pop bp); iret
  bios.set([0x43, 0xcf], HANDLER);
  bios.set([0x55, 0x89, 0xe5, 0x83, 0x46, 0x02, 0x02, 0x5d, 0x46, 0xcf], HANDLER + 2); // ..., inc si, iret
  bios.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0);
  return new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios });
}

test("INTR waits for IF and the STI shadow, wakes HLT, and #UD is delivered through the IVT", () => {
  const m = machine();
  const c = m.cpu;
  let pending = true;
  const taken: { icount: number; ip: number }[] = [];
  c.intr = {
    pending: () => pending,
    acknowledge: () => {
      pending = false;
      taken.push({ icount: m.clock.icount, ip: c.ripLo & 0xffff });
      return 0x20;
    },
  };
  // Instructions one at a time: the interrupt is taken at the same boundary however the run is sliced.
  for (let i = 0; i < 13; i++) m.run(atIcount(m.clock.icount + 1));
  assert.deepEqual(taken, [{ icount: 12, ip: 0x24 }], "taken after the NOP in STI's shadow, not before");
  // Taking it was step 13 of its own (docs/icount.md): the position after it is the handler's first instruction,
  // not yet run, with virtual time where it was after step 12.
  assert.equal(c.ripLo, HANDLER);
  assert.equal(c.lo[3] & 0xffff, 0);
  assert.equal(m.clock.ticks, 12);
  m.run(atIcount(m.clock.icount + 1));
  assert.equal(c.lo[3] & 0xffff, 1);
  // Run to the HLT: halted, waiting. (Step by step: a run to a later icount would wait at the HLT for ever, the
  // board's PIT ticking, as this test's INTR hook stands in for the PIC.)
  for (let i = 0; i < 10 && !c.halted; i++) m.run(atIcount(m.clock.icount + 1));
  assert.equal(c.halted, true);
  assert.equal(m.interp.waitingForInterrupt(), true);
  pending = true;
  assert.equal(m.interp.waitingForInterrupt(), false);
  m.run(atIcount(m.clock.icount + 3));
  assert.equal(taken.length, 2);
  assert.equal(taken[1].ip, 0x26, "HLT resumes after itself");
  assert.equal(c.lo[3] & 0xffff, 2);
  // UD2 -> #UD -> the handler skips it and counts in SI; then HLT (IF = 1 again after IRET: waiting).
  for (let i = 0; i < 20 && !c.halted; i++) m.run(atIcount(m.clock.icount + 1));
  assert.equal(c.lo[6] & 0xffff, 1);
  assert.equal(c.halted, true);
  assert.equal(m.stuckReason, "");
  // cpu.interrupt(): delivery through the IVT at the current IP.
  c.interrupt(0x20);
  assert.equal(c.halted, false);
  assert.equal(c.segSel[1], 0xf000);
  assert.equal(c.ripLo, HANDLER);
});

test("with IF = 0, INTR is never taken", () => {
  const m = machine();
  let acks = 0;
  m.cpu.intr = { pending: () => true, acknowledge: () => (acks++, 0x20) };
  for (let i = 0; i < 9; i++) m.run(atIcount(m.clock.icount + 1));
  assert.equal(acks, 0);
  assert.equal(m.clock.icount, 9);
});

test("LOCK: accepted on a read-modify-write memory destination, #UD (counted, through the IVT) elsewhere", () => {
  const bios = new Uint8Array(0x10000);
  // xor ax, ax; mov ds, ax; IVT[6] = F000:0100; mov bx, 0x500; lock add [bx], ax; lock add ax, [bx]; hlt
  bios.set([0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x18, 0x00, 0x00, 0x01, 0xc7, 0x06, 0x1a, 0x00, 0x00, 0xf0, 0xbb, 0x00, 0x05, 0xf0, 0x01, 0x07, 0xf0, 0x03, 0x07, 0xf4], 0);
  bios.set([0x46, 0xf4], 0x100); // #UD handler: inc si; hlt
  bios.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0);
  const m = new PcMachine({ ramSize: 2 << 20, icountShift: 7, bios });
  assert.equal(m.run(atIcount(100)), "stuck");
  assert.match(m.stuckReason ?? "", /HLT with interrupts disabled/);
  assert.equal(m.cpu.lo[6], 1, "one #UD");
  assert.equal(m.cpu.ripLo, 0x102, "in the handler, after its HLT");
  // jmp, 4 setup instructions, mov bx, two LOCKed ones, inc si, hlt: the #UD counts as a step and in virtual time.
  assert.equal(m.clock.icount, 10);
  assert.equal(m.clock.ticks, 10);
});

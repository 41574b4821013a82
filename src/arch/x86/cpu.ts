// The x86 CPU: X86State plus what the system layer adds — segment registers with their descriptor caches, the
// control registers, the current code and stack sizes, the halted state, and the memory and port buses. This
// first slice runs real mode (and will grow protected and long mode: the descriptor caches are already what
// those need). Reset state as the Intel SDM Vol. 3 §9.1.1 gives it and QEMU's pc sets it: CS.selector F000 with
// base FFFF0000, IP FFF0, CR0 60000010, EFLAGS 2, EDX the processor signature.

import type { AddressSpace } from "../../core/memory.js";
import type { PortSpace } from "../../core/ports.js";
import { RFLAGS_FIXED, Seg, X86State, type X86Memory } from "./cpu-state.js";
import { QEMU64_SIGNATURE } from "./cpuid.js";

/** Linear accesses without paging: linear = physical, through the board's address space. */
class PhysicalMemory implements X86Memory {
  constructor(private readonly bus: AddressSpace) {}
  read(s: X86State, lo: number, _hi: number, size: 1 | 2 | 4 | 8): void {
    const bus = this.bus;
    const pa = lo >>> 0;
    if (size === 1) s.vlo = bus.read8(pa);
    else if (size === 2) s.vlo = bus.read16(pa);
    else if (size === 4) s.vlo = bus.read32(pa) >>> 0;
    else {
      s.vlo = bus.read64(pa) >>> 0;
      s.vhi = bus.hi >>> 0;
      return;
    }
    s.vhi = 0;
  }
  write(_s: X86State, lo: number, _hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): void {
    const bus = this.bus;
    const pa = lo >>> 0;
    if (size === 1) bus.write8(pa, vlo & 0xff);
    else if (size === 2) bus.write16(pa, vlo & 0xffff);
    else if (size === 4) bus.write32(pa, vlo >>> 0);
    else bus.write64(pa, vlo >>> 0, vhi >>> 0);
  }
}

export class X86Cpu extends X86State {
  /** Segment selectors and the cached limits and access rights, by Seg (bases are in X86State). */
  readonly segSel = new Uint16Array(6);
  readonly segLimit = new Uint32Array(6);
  readonly segAttr = new Uint16Array(6);
  cr0 = 0;
  /** The default operand/address size of the code segment and the stack's address size. */
  codeBits: 16 | 32 | 64 = 16;
  stackBits: 16 | 32 | 64 = 16;
  /** HLT: waiting for an interrupt. */
  halted = false;
  /** Next RIP: set to the end of the instruction before it runs; jumps change it. */
  nextLo = 0;
  nextHi = 0;

  constructor(
    readonly bus: AddressSpace,
    readonly ports: PortSpace,
  ) {
    super(new PhysicalMemory(bus));
    this.reset();
  }

  reset(): void {
    this.lo.fill(0);
    this.hi.fill(0);
    this.lo[2] = QEMU64_SIGNATURE; // EDX: the processor signature (CPUID.1:EAX)
    this.rflags = RFLAGS_FIXED;
    this.cr0 = 0x60000010;
    for (let s = 0; s < 6; s++) this.loadRealSegment(s, 0);
    this.segSel[Seg.CS] = 0xf000;
    this.segBaseLo[Seg.CS] = 0xffff0000 | 0;
    this.ripLo = 0xfff0;
    this.ripHi = 0;
    this.codeBits = 16;
    this.stackBits = 16;
    this.halted = false;
  }

  /** MOV/POP to a segment register in real mode: base = selector * 16, limit and rights unchanged. */
  loadRealSegment(seg: number, selector: number): void {
    this.segSel[seg] = selector & 0xffff;
    this.segBaseLo[seg] = (selector & 0xffff) << 4;
    this.segBaseHi[seg] = 0;
    this.segLimit[seg] = 0xffff;
    this.segAttr[seg] = 0x93; // present, data, read/write, accessed (CS: the code rights come with protected mode)
  }
}

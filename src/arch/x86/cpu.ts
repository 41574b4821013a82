// The x86 CPU: X86State plus what the system layer adds — segment registers with their descriptor caches, the
// descriptor-table registers (GDTR, IDTR, LDTR, TR), CR0/2/3/4, EFER and the other MSRs, the current code and
// stack sizes (CS.D, SS.B, CS.L), the privilege level, the halted state and the interrupt shadow, and the memory
// and port buses. Real mode, protected mode with segmentation, paging (paging.ts, tlb.ts: the memory
// implementation is swapped when CR0.PG changes, so the unpaged path stays as fast as before; the CPU's own
// accesses to descriptor tables, the IDT and interrupt stacks are linear too) and IA-32e mode (EFER.LMA from
// CR0.PG with LME; 64-bit and compatibility code segments; 16-byte IDT gates with the 64-bit frame, RSP0/IST
// stacks from the 64-bit TSS, IRETQ; SYSCALL/SYSRET, SWAPGS). Segment loads with the SDM's checks (real mode sets
// only selector and base, so hidden limits survive: big real mode); legacy interrupt and exception delivery
// through the IVT or IDT interrupt/trap gates at the same privilege, IRET. Reset state as the Intel SDM Vol. 3
// §9.1.1 gives it and QEMU's pc sets it: CS.selector F000 with base FFFF0000, IP FFF0, CR0 60000010, EFLAGS 2, EDX
// the processor signature. Not yet: legacy privilege changes (32-bit TSS stack switches, call gates, outer-level
// returns outside IA-32e mode: #GP), task switches, VM86, data segment limit checks (QEMU's TCG has none).

import type { AddressSpace } from "../../core/memory.js";
import type { PortSpace } from "../../core/ports.js";
import { RFLAGS_FIXED, Seg, X86State, type X86Memory } from "./cpu-state.js";
import { QEMU64_SIGNATURE } from "./cpuid.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";
import { IntervalFlags } from "../../core/exec-summary.js";
import { X86IntervalFlag } from "./translation.js";
import { FETCH, PagedMemory, PagingUnit, type ReadResult } from "./paging.js";

/** The MSRs the CPU keeps (exec/system.ts), in saved-state order. */
export const KEPT_MSRS: readonly number[] = [
  0x1b, 0x3a, 0x8b, 0x9e, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x1a0, ...Array.from({ length: 16 }, (_, i) => 0x200 + i),
  0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, 0x277, 0x2ff,
  0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
];

/** An exception raised by an instruction: the vector and the error code (-1: none). The interpreter delivers it. */
export class X86Fault {
  constructor(
    readonly vector: number,
    readonly code = -1,
    /**
     * Raised where QEMU raises it when translating (an undefined opcode, UD2): the instruction counts in QEMU's
     * icount. Faults QEMU raises while running the instruction (#DE, #GP from a segment load...) give its count
     * back, so virtual time does not advance for them (see the interpreter).
     */
    readonly atTranslation = false,
  ) {}
}

export function fault(vector: number, code = -1, atTranslation = false): never {
  throw new X86Fault(vector, code, atTranslation);
}

export const DE = 0, DB = 1, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, DF_ = 8, TS = 10, NP = 11, SS_ = 12, GP = 13, PF_ = 14;
/** Exceptions that push an error code in protected mode. */
const HAS_CODE = (1 << DF_) | (1 << TS) | (1 << NP) | (1 << SS_) | (1 << GP) | (1 << PF_) | (1 << 17);

/** The interrupt controller seen from the CPU (the 8259 pair): INTR and the acknowledge cycle. */
export interface InterruptLine {
  pending(): boolean;
  /** The vector of the interrupt being taken. */
  acknowledge(): number;
}

/** segAttr layout: the descriptor's access byte (type, S, DPL, P) in bits 0-7, its AVL/L/D-B/G flags in 8-11. */
export const ATTR_P = 0x80;
export const ATTR_S = 0x10;
export const ATTR_DB = 0x400;
const ATTR_G = 0x800;

const LMA = 0x400;
const IF_ = 0x200, TF_ = 0x100, NT_ = 0x4000, RF_ = 0x10000, VM_ = 0x20000, AC_ = 0x40000, ID_ = 0x200000, IOPL_ = 0x3000;

/** A data access as a watchpoint sees it: linear address (lo, hi), size in bytes, write or read. */
export type X86WatchHook = (lo: number, hi: number, size: number, isWrite: boolean) => void;

/** The CPU's memory while a watch hook is set: every data access is shown to the hook first. */
class WatchedMemory implements X86Memory {
  constructor(
    private readonly inner: X86Memory,
    private readonly hook: X86WatchHook,
  ) {}
  read(s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8): void {
    this.hook(lo, hi, size, false);
    this.inner.read(s, lo, hi, size);
  }
  write(s: X86State, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): void {
    this.hook(lo, hi, size, true);
    this.inner.write(s, lo, hi, size, vlo, vhi);
  }
}

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

export class X86Cpu extends X86State implements Stateful {
  readonly stateName = "cpu0";
  readonly stateVersion = 2;
  /** Segment selectors and the cached limits and access rights, by Seg (bases are in X86State). */
  readonly segSel = new Uint16Array(6);
  readonly segLimit = new Uint32Array(6);
  readonly segAttr = new Uint16Array(6);
  // CR0, CR3, CR4 and EFER note the Paging interval flag when a change may move linear addresses.
  private cr0Value = 0;
  cr2 = 0;
  private cr3Value = 0;
  private cr4Value = 0;
  private eferValue = 0;
  /** What this CPU did that may move addresses (X86IntervalFlag), for the replay's interval summaries. */
  readonly intervalFlags = new IntervalFlags();
  /**
   * Called before data accesses while set (debug.ts): instruction operands and stacks through `mem`, and the
   * CPU's own accesses QEMU's watchpoints also see (interrupt frames, IVT/IDT entries, descriptors and their
   * accessed bits). Not instruction fetch, nor page-table reads (physical).
   */
  watchHook: X86WatchHook | null = null;
  /** The memory without the watch hook (mem is this one, or a WatchedMemory around it while a hook is set). */
  plainMem: X86Memory;
  private readonly physicalMem: X86Memory;
  /** The page walker and its TLB, and the memory that uses them while CR0.PG = 1. */
  readonly pager = new PagingUnit(this);
  private readonly pagedMem = new PagedMemory(this.pager, this);
  /** CR0.PG: linear addresses go through the pager. */
  pagingOn = false;
  /** The PAE PDPTE registers, (low, high) per entry: loaded by MOV CR3 (and CR0/CR4 writes) with PAE paging. */
  readonly pdpte = new Uint32Array(8);
  private readonly scratch: ReadResult = { vlo: 0, vhi: 0 };
  /** Model-specific registers other than EFER (MTRRs, PAT, APIC base, TSC...), by index. */
  readonly msrs = new Map<number, bigint>();
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0xffff;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trAttr = 0;
  /** The current privilege level. */
  cpl = 0;
  /** The instruction just run blocks interrupts before the next one (STI, MOV SS, POP SS). */
  shadow = false;
  /** INTR: the board wires the interrupt controller here. */
  intr: InterruptLine | undefined;
  /** The time-stamp counter (the board's clock: virtual ns, as QEMU's icount gives it). */
  tsc: () => number = () => 0;
  /** Where the current instruction started (faults return there). */
  faultLo = 0;
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
    const plain = new PhysicalMemory(bus);
    super(plain);
    this.plainMem = this.physicalMem = plain;
    this.reset();
  }

  get cr0(): number {
    return this.cr0Value;
  }
  set cr0(v: number) {
    if ((v ^ this.cr0Value) & 0x80010001) {
      // PG, WP (and PE, as QEMU): every translation may change.
      this.intervalFlags.note(X86IntervalFlag.Paging);
      this.pager.tlb.flushAll();
    }
    this.cr0Value = v;
    if (((v & 0x80000000) !== 0) !== this.pagingOn) this.selectMemory();
  }
  get cr3(): number {
    return this.cr3Value;
  }
  set cr3(v: number) {
    if (v !== this.cr3Value) this.intervalFlags.note(X86IntervalFlag.Paging);
    this.cr3Value = v;
    // Every MOV to CR3 flushes the non-global translations, even with the same value.
    this.pager.tlb.flushNonGlobal();
  }
  get cr4(): number {
    return this.cr4Value;
  }
  set cr4(v: number) {
    if (v !== this.cr4Value) this.intervalFlags.note(X86IntervalFlag.Paging);
    // PSE, PAE, PGE (and SMEP, SMAP, PKE, LA57): the TLB as a whole.
    if ((v ^ this.cr4Value) & 0x7010b0) this.pager.tlb.flushAll();
    this.cr4Value = v;
  }
  get efer(): number {
    return this.eferValue;
  }
  set efer(v: number) {
    if (v !== this.eferValue) this.intervalFlags.note(X86IntervalFlag.Paging);
    if ((v ^ this.eferValue) & 0xc00) this.pager.tlb.flushAll(); // NXE, LMA
    this.eferValue = v;
  }

  /** Installs or removes the watch hook (see watchHook). */
  setWatchHook(hook: X86WatchHook | null): void {
    this.watchHook = hook;
    this.mem = hook === null ? this.plainMem : new WatchedMemory(this.plainMem, hook);
  }

  /** Picks the memory implementation for CR0.PG (rather than testing PG on every access). */
  private selectMemory(): void {
    this.pagingOn = (this.cr0Value & 0x80000000) !== 0;
    this.plainMem = this.pagingOn ? this.pagedMem : this.physicalMem;
    this.setWatchHook(this.watchHook);
  }

  /**
   * Loads the PAE PDPTE registers from the table at `cr3` (bits 31:5), as MOV to CR3, or a CR0/CR4 write that
   * enables PAE paging, does outside IA-32e mode (SDM Vol. 3 §4.4.1): #GP(0) if a present entry has reserved bits
   * set, before anything changes. QEMU's TCG reads them at each walk instead; guests do not tell the two apart
   * unless they edit the PDPT without reloading CR3.
   */
  loadPdptes(cr3: number): void {
    const at = (cr3 & 0xffffffe0) >>> 0;
    const e = new Uint32Array(8);
    for (let i = 0; i < 8; i++) e[i] = this.bus.read32(at + 4 * i) >>> 0;
    for (let i = 0; i < 4; i++) if (e[2 * i] & 1 && (e[2 * i] & 0x1e6 || e[2 * i + 1] & 0xffffff00)) fault(GP, 0);
    this.pdpte.set(e);
    this.pager.tlb.flushAll();
  }

  /** The physical address of the fetch at linear (lo, hi) (paging on): #PF if not executable. */
  fetchPhysical(lo: number, hi: number): number {
    return this.pager.translate(lo, hi, FETCH, this.cpl === 3);
  }

  /** The CPU's own reads (descriptor tables, IVT/IDT, interrupt stacks) at linear `la`; `user`: a CPL 3 access. */
  readLinear(la: number, size: 1 | 2 | 4, user = false): number {
    if (!this.pagingOn) return size === 1 ? this.bus.read8(la) : size === 2 ? this.bus.read16(la) : this.bus.read32(la) >>> 0;
    this.pagedMem.readAs(this.scratch, la, 0, size, user);
    return this.scratch.vlo;
  }

  writeLinear(la: number, size: 1 | 2 | 4, v: number, user = false): void {
    if (!this.pagingOn) {
      if (size === 1) this.bus.write8(la, v & 0xff);
      else if (size === 2) this.bus.write16(la, v & 0xffff);
      else this.bus.write32(la, v >>> 0);
    } else this.pagedMem.writeAs(la, 0, size, v, 0, user);
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
    this.cr2 = this.cr3 = this.cr4 = this.efer = 0;
    this.msrs.clear();
    this.pdpte.fill(0);
    this.pager.tlb.flushAll();
    this.gdtBase = this.idtBase = 0;
    this.gdtLimit = this.idtLimit = 0xffff;
    this.ldtSel = this.ldtBase = this.ldtLimit = 0;
    this.trSel = this.trBase = 0;
    this.trLimit = 0xffff;
    this.trAttr = 0x8b;
    this.ldtLimit = 0xffff;
    this.segAttr[Seg.CS] = 0x9b;
    this.cpl = 0;
    this.shadow = false;
  }

  private describe(): StateDescription<X86Cpu> {
    const u32 = (name: string) => field.u32<X86Cpu>(name);
    return {
      version: 2,
      fields: [
        field.i32s("lo", 16),
        field.i32s("hi", 16),
        field.int("ripLo"),
        field.int("ripHi"),
        u32("rflags"),
        field.i32s("segBaseLo", 6),
        field.i32s("segBaseHi", 6),
        field.u32s("segSel", 6, { max: 0xffff }),
        field.u32s("segLimit", 6),
        field.u32s("segAttr", 6, { max: 0xffff }),
        ...["cr0", "cr2", "cr3", "cr4", "efer", "gdtBase", "gdtLimit", "idtBase", "idtLimit", "ldtSel", "ldtBase", "ldtLimit", "trSel", "trBase", "trLimit", "trAttr"].map(u32),
        field.u8("cpl", { max: 3 }),
        field.u8("codeBits", { max: 64, check: (v: number) => (v === 16 || v === 32 || v === 64 ? undefined : "16, 32 or 64") }),
        field.u8("stackBits", { max: 64, check: (v: number) => (v === 16 || v === 32 || v === 64 ? undefined : "16, 32 or 64") }),
        field.bool("halted"),
        field.bool("shadow"),
        // Per kept MSR: written (1) or at its reset value (0), then the low and high halves.
        field.u32s("msrs", KEPT_MSRS.length * 3, {
          get: (c) => {
            const out = new Uint32Array(KEPT_MSRS.length * 3);
            KEPT_MSRS.forEach((i, k) => {
              const v = c.msrs.get(i);
              if (v === undefined) return;
              out[3 * k] = 1;
              out[3 * k + 1] = Number(v & 0xffffffffn);
              out[3 * k + 2] = Number(v >> 32n);
            });
            return out;
          },
          set: (c, v: Uint32Array) => {
            c.msrs.clear();
            KEPT_MSRS.forEach((i, k) => {
              if (v[3 * k]) c.msrs.set(i, (BigInt(v[3 * k + 2]) << 32n) | BigInt(v[3 * k + 1]));
            });
          },
        }),
        field.u32s("pdpte", 8, { since: 2, fallback: new Array(8).fill(0) }),
        // The TLB is saved: a stale entry (a table edited without INVLPG) is guest-visible, and a loaded state
        // must translate as the run it came from did.
        field.u32s("tlb", this.pager.tlb.save().length, {
          since: 2,
          fallback: new Array(this.pager.tlb.save().length).fill(0),
          get: (c) => c.pager.tlb.save(),
          set: (c, v: Uint32Array) => c.pager.tlb.load(v),
        }),
      ],
      postLoad: (c) => c.selectMemory(),
    };
  }

  saveState(): StateFields {
    return saveDescribed(this.describe(), this);
  }

  loadState(f: StateFields, version: number): void {
    loadDescribed(this.describe(), this, f, version, this.stateName);
  }

  get protectedMode(): boolean {
    return (this.cr0 & 1) !== 0;
  }

  /** Reads the 8-byte descriptor of `selector` from the GDT or LDT into (lo, hi); #GP(selector) past the limit. */
  readDescriptor(selector: number, out: number[]): number {
    const ldt = (selector & 4) !== 0;
    const base = ldt ? this.ldtBase : this.gdtBase;
    const limit = ldt ? this.ldtLimit : this.gdtLimit;
    const index = selector & ~7;
    if (index + 7 > limit) fault(GP, selector & 0xfffc);
    const at = (base + index) >>> 0;
    if (this.watchHook !== null) this.watchHook(at, 0, 8, false);
    out[0] = this.readLinear(at, 4);
    out[1] = this.readLinear((at + 4) >>> 0, 4);
    return at;
  }

  /** Loads a segment's cache from a descriptor's two words. */
  setCache(seg: number, selector: number, dlo: number, dhi: number): void {
    this.intervalFlags.note(X86IntervalFlag.Segments);
    let limit = (dlo & 0xffff) | (dhi & 0xf0000);
    if (dhi & 0x800000) limit = ((limit << 12) | 0xfff) >>> 0;
    this.segSel[seg] = selector & 0xffff;
    this.segBaseLo[seg] = ((dlo >>> 16) | ((dhi & 0xff) << 16) | (dhi & 0xff000000)) | 0;
    this.segBaseHi[seg] = 0;
    this.segLimit[seg] = limit;
    this.segAttr[seg] = ((dhi >>> 8) & 0xff) | ((dhi >>> 12) & 0xf00);
    if (seg === Seg.CS) {
      // IA-32e mode: L = 1 is 64-bit mode (its stack is 64-bit whatever SS says); else compatibility mode.
      if (this.eferValue & LMA && dhi & 0x200000) {
        this.codeBits = 64;
        this.stackBits = 64;
      } else {
        this.codeBits = dhi & 0x400000 ? 32 : 16;
        if (this.stackBits === 64) this.stackBits = this.segAttr[Seg.SS] & ATTR_DB ? 32 : 16;
      }
      this.cpl = selector & 3;
    } else if (seg === Seg.SS && this.codeBits !== 64) this.stackBits = dhi & 0x400000 ? 32 : 16;
  }

  private readonly desc = [0, 0];

  /** Sets the accessed bit of the descriptor at `at` as the processor does on a load. */
  private touchDescriptor(at: number, dhi: number): void {
    if (dhi & 0x100) return;
    if (this.watchHook !== null) this.watchHook((at + 5) >>> 0, 0, 1, true);
    this.writeLinear((at + 5) >>> 0, 1, ((dhi >>> 8) | 1) & 0xff);
  }

  /**
   * MOV/POP/LDS.. to a data or stack segment register: real mode (and VM86) set the selector and base only (the
   * limit and rights stay: big real mode); protected mode loads the descriptor with the SDM's checks.
   */
  loadSegment(seg: number, selector: number): void {
    selector &= 0xffff;
    if (!this.protectedMode || this.rflags & VM_) {
      this.intervalFlags.note(X86IntervalFlag.Segments);
      this.segSel[seg] = selector;
      this.segBaseLo[seg] = selector << 4;
      this.segBaseHi[seg] = 0;
      return;
    }
    const rpl = selector & 3;
    if ((selector & 0xfffc) === 0) {
      // A null SS is allowed in 64-bit mode below CPL 3.
      if (seg === Seg.SS && !(this.codeBits === 64 && this.cpl < 3)) fault(GP, 0);
      this.segSel[seg] = selector;
      this.segBaseLo[seg] = 0;
      this.segLimit[seg] = 0;
      this.segAttr[seg] = 0;
      return;
    }
    const d = this.desc;
    const at = this.readDescriptor(selector, d);
    const dhi = d[1];
    const type = (dhi >>> 8) & 0xf;
    const dpl = (dhi >>> 13) & 3;
    const code = (type & 8) !== 0;
    if (!(dhi & 0x1000)) fault(GP, selector & 0xfffc);
    if (seg === Seg.SS) {
      if (code || !(type & 2) || rpl !== this.cpl || dpl !== this.cpl) fault(GP, selector & 0xfffc);
      if (!(dhi & 0x8000)) fault(SS_, selector & 0xfffc);
    } else {
      if (code && !(type & 2)) fault(GP, selector & 0xfffc);
      // Data and non-conforming code: DPL >= max(CPL, RPL).
      if ((!code || !(type & 4)) && dpl < Math.max(this.cpl, rpl)) fault(GP, selector & 0xfffc);
      if (!(dhi & 0x8000)) fault(NP, selector & 0xfffc);
    }
    this.touchDescriptor(at, dhi);
    this.setCache(seg, selector, d[0], dhi | 0x100);
  }

  /**
   * A far transfer's new CS (JMP, CALL, RET, IRET, interrupts): real mode sets selector and base; protected mode
   * checks a code descriptor at the same privilege (call gates and task switches raise #GP: not needed at CPL 0
   * by SeaBIOS).
   */
  loadCode(selector: number, ret = false, offset = 0, outer = false): void {
    selector &= 0xffff;
    if (!this.protectedMode || this.rflags & VM_) {
      this.intervalFlags.note(X86IntervalFlag.Segments);
      this.segSel[Seg.CS] = selector;
      this.segBaseLo[Seg.CS] = selector << 4;
      this.segBaseHi[Seg.CS] = 0;
      return;
    }
    if ((selector & 0xfffc) === 0) fault(GP, 0);
    const d = this.desc;
    const at = this.readDescriptor(selector, d);
    const dhi = d[1];
    const type = (dhi >>> 8) & 0xf;
    const dpl = (dhi >>> 13) & 3;
    const rpl = selector & 3;
    if (!(dhi & 0x1000) || !(type & 8)) fault(GP, selector & 0xfffc);
    if (type & 4) {
      if (dpl > this.cpl) fault(GP, selector & 0xfffc);
    } else if (ret ? (outer ? rpl < this.cpl : rpl !== this.cpl) || dpl !== rpl : rpl > this.cpl || dpl !== this.cpl) fault(GP, selector & 0xfffc);
    if (!(dhi & 0x8000)) fault(NP, selector & 0xfffc);
    // The new EIP must lie within the new code segment's limit (checked before anything changes, as QEMU does).
    let limit = (d[0] & 0xffff) | (dhi & 0xf0000);
    if (dhi & 0x800000) limit = ((limit << 12) | 0xfff) >>> 0;
    if (offset >>> 0 > limit && !(this.eferValue & LMA && dhi & 0x200000)) fault(GP, ret ? selector & 0xfffc : 0);
    this.touchDescriptor(at, dhi);
    const cpl = ret && outer ? rpl : this.cpl;
    this.setCache(Seg.CS, (selector & 0xfffc) | cpl, d[0], dhi | 0x100);
  }

  // ---- the stack, for interrupts (the current SS at its B size) -------------------------------------------------

  pushW(bytes: 2 | 4, v: number): void {
    const mask = this.stackBits === 16 ? 0xffff : 0xffffffff;
    const sp = ((this.lo[4] >>> 0) - bytes) & mask;
    const la = ((this.segBaseLo[Seg.SS] >>> 0) + (sp >>> 0)) >>> 0;
    if (this.watchHook !== null) this.watchHook(la, 0, bytes, true);
    this.writeLinear(la, bytes, v, this.cpl === 3);
    this.lo[4] = mask === 0xffff ? (this.lo[4] & ~0xffff) | sp : sp | 0;
  }

  popW(bytes: 2 | 4): number {
    const mask = this.stackBits === 16 ? 0xffff : 0xffffffff;
    const sp = (this.lo[4] >>> 0) & mask;
    const la = ((this.segBaseLo[Seg.SS] >>> 0) + sp) >>> 0;
    if (this.watchHook !== null) this.watchHook(la, 0, bytes, false);
    const v = this.readLinear(la, bytes, this.cpl === 3);
    const nsp = (sp + bytes) & mask;
    this.lo[4] = mask === 0xffff ? (this.lo[4] & ~0xffff) | nsp : nsp | 0;
    return v;
  }

  /**
   * Delivers interrupt or exception `vector` (real mode through the IVT, protected mode through IDT interrupt and
   * trap gates at the same privilege). `returnTo`: the IP pushed (the next instruction for INT n and external
   * interrupts, the faulting one for faults). `software`: INT n/INT3/INTO (the gate's DPL is checked).
   */
  deliver(vector: number, code: number, returnTo: number, software: boolean): void {
    this.halted = false;
    if (!this.protectedMode) {
      if (vector * 4 + 3 > this.idtLimit) fault(GP, vector * 8 + 2);
      const at = (this.idtBase + vector * 4) >>> 0;
      if (this.watchHook !== null) this.watchHook(at, 0, 4, false);
      const offset = this.readLinear(at, 2);
      const selector = this.readLinear((at + 2) >>> 0, 2);
      // QEMU pushes with a 16-bit stack pointer in real mode whatever SS's size.
      const sb = this.stackBits;
      this.stackBits = 16;
      this.pushW(2, this.rflags);
      this.pushW(2, this.segSel[Seg.CS]);
      this.pushW(2, returnTo);
      this.stackBits = sb;
      this.rflags &= ~(IF_ | TF_ | AC_ | RF_);
      this.intervalFlags.note(X86IntervalFlag.Segments);
      this.segSel[Seg.CS] = selector;
      this.segBaseLo[Seg.CS] = selector << 4;
      this.ripLo = offset;
      this.ripHi = 0;
      return;
    }
    const ext = software ? 0 : 1;
    if (this.eferValue & LMA) return this.deliverLong(vector, code, returnTo, ext);
    if (vector * 8 + 7 > this.idtLimit) fault(GP, vector * 8 + 2 + ext);
    const at = (this.idtBase + vector * 8) >>> 0;
    if (this.watchHook !== null) this.watchHook(at, 0, 8, false);
    const glo = this.readLinear(at, 4);
    const ghi = this.readLinear((at + 4) >>> 0, 4);
    const type = (ghi >>> 8) & 0x1f;
    if (type !== 6 && type !== 7 && type !== 14 && type !== 15) fault(GP, vector * 8 + 2 + ext);
    if (software && ((ghi >>> 13) & 3) < this.cpl) fault(GP, vector * 8 + 2);
    if (!(ghi & 0x8000)) fault(NP, vector * 8 + 2 + ext);
    const selector = glo >>> 16;
    const offset = type & 8 ? ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0 : glo & 0xffff;
    if ((selector & 0xfffc) === 0) fault(GP, ext);
    const d = this.desc;
    this.readDescriptor(selector, d);
    const dhi = d[1];
    if (!(dhi & 0x1000) || !(dhi & 0x800) || ((dhi >>> 13) & 3) > this.cpl) fault(GP, (selector & 0xfffc) + ext);
    if (!(dhi & 0x8000)) fault(NP, (selector & 0xfffc) + ext);
    if (!(dhi & 0x400) && ((dhi >>> 13) & 3) < this.cpl) fault(GP, (selector & 0xfffc) + ext); // inner privilege: not yet
    const bytes = type & 8 ? 4 : 2;
    const flags = this.rflags;
    const oldCs = this.segSel[Seg.CS];
    this.pushW(bytes, flags);
    this.pushW(bytes, oldCs);
    this.pushW(bytes, returnTo);
    if (code >= 0) this.pushW(bytes, code);
    const cpl = this.cpl;
    this.setCache(Seg.CS, (selector & 0xfffc) | cpl, d[0], dhi);
    this.rflags &= ~(TF_ | VM_ | RF_ | NT_);
    if (!(type & 1)) this.rflags &= ~IF_;
    this.ripLo = offset | 0;
    this.ripHi = 0;
  }

  /**
   * IA-32e delivery (SDM Vol. 3 §6.14): a 16-byte interrupt or trap gate to a 64-bit code segment; RSP aligned
   * to 16, then SS, RSP, RFLAGS, CS, RIP and the error code pushed as quadwords. To the same privilege, or
   * from CPL 3 to an inner one on the 64-bit TSS's RSPn stack with a null SS; the gate's IST picks ISTn. The
   * return RIP's high half is the current instruction's (an instruction that crosses a 4 GiB boundary is not
   * handled).
   */
  private deliverLong(vector: number, code: number, returnTo: number, ext: number): void {
    if (vector * 16 + 15 > this.idtLimit) fault(GP, vector * 8 + 2 + ext);
    const at = (this.idtBase + vector * 16) >>> 0;
    if (this.watchHook !== null) this.watchHook(at, 0, 16, false);
    const glo = this.readLinear(at, 4);
    const ghi = this.readLinear((at + 4) >>> 0, 4);
    const offHi = this.readLinear((at + 8) >>> 0, 4);
    const type = (ghi >>> 8) & 0x1f;
    if (type !== 14 && type !== 15) fault(GP, vector * 8 + 2 + ext);
    if (!ext && ((ghi >>> 13) & 3) < this.cpl) fault(GP, vector * 8 + 2);
    if (!(ghi & 0x8000)) fault(NP, vector * 8 + 2 + ext);
    const selector = glo >>> 16;
    if ((selector & 0xfffc) === 0) fault(GP, ext);
    const d = this.desc;
    this.readDescriptor(selector, d);
    const dhi = d[1];
    if (!(dhi & 0x1000) || !(dhi & 0x800) || !(dhi & 0x200000) || dhi & 0x400000) fault(GP, (selector & 0xfffc) + ext);
    if (!(dhi & 0x8000)) fault(NP, (selector & 0xfffc) + ext);
    const dpl = (dhi >>> 13) & 3;
    if (dpl > this.cpl) fault(GP, (selector & 0xfffc) + ext);
    const retHi = this.codeBits === 64 ? this.ripHi : 0;
    const oldSs = this.segSel[Seg.SS];
    const oldCpl = this.cpl;
    let spLo = this.lo[4] >>> 0;
    let spHi = this.stackBits === 64 ? this.hi[4] >>> 0 : 0;
    const frameSpLo = spLo;
    const frameSpHi = spHi;
    // To an inner privilege (non-conforming code): the stack is the 64-bit TSS's RSPn, SS the null selector.
    // A gate's IST index (1-7) picks the TSS's ISTn stack whatever the privilege.
    const inner = dpl < oldCpl && !(dhi & 0x400);
    const ist = ghi & 7;
    if (inner || ist) {
      const at = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * dpl;
      if (this.trLimit < at + 7) fault(TS, this.trSel & 0xfffc);
      spLo = this.readLinear((this.trBase + at) >>> 0, 4);
      spHi = this.readLinear((this.trBase + at + 4) >>> 0, 4);
    }
    const frame = [oldSs, 0, frameSpLo, frameSpHi, this.rflags >>> 0, 0, this.segSel[Seg.CS], 0, returnTo >>> 0, retHi];
    if (code >= 0) frame.push(code >>> 0, 0);
    // The new RSP: aligned down to 16, below the frame; all written before RSP changes (a fault leaves it).
    let lo = (spLo & ~0xf) >>> 0;
    let hi = spHi;
    const newCpl = inner ? dpl : oldCpl;
    for (let i = 0; i < frame.length; i += 2) {
      if (lo < 8) hi = (hi - 1) >>> 0;
      lo = (lo - 8) >>> 0;
      this.writeLinear64(lo, hi, frame[i], frame[i + 1], newCpl === 3);
    }
    this.lo[4] = lo | 0;
    this.hi[4] = hi | 0;
    if (inner) {
      this.segSel[Seg.SS] = newCpl;
      this.segBaseLo[Seg.SS] = this.segBaseHi[Seg.SS] = 0;
      this.segAttr[Seg.SS] = 0;
      this.cpl = newCpl;
    }
    this.setCache(Seg.CS, (selector & 0xfffc) | newCpl, d[0], dhi);
    this.rflags &= ~(TF_ | VM_ | RF_ | NT_);
    if (!(type & 1)) this.rflags &= ~IF_;
    this.ripLo = ((glo & 0xffff) | (ghi & 0xffff0000)) | 0;
    this.ripHi = offHi | 0;
  }

  /** A quadword the CPU itself writes at a 64-bit linear address (interrupt frames). */
  private writeLinear64(lo: number, hi: number, vlo: number, vhi: number, user: boolean): void {
    if (this.watchHook !== null) this.watchHook(lo, hi, 8, true);
    if (this.pagingOn) this.pagedMem.writeAs(lo, hi, 8, vlo, vhi, user);
    else this.bus.write64(lo, vlo, vhi);
  }

  private readLinear64(lo: number, hi: number): void {
    if (this.watchHook !== null) this.watchHook(lo, hi, 8, false);
    if (this.pagingOn) this.pagedMem.readAs(this.scratch, lo, hi, 8, this.cpl === 3);
    else {
      this.scratch.vlo = this.bus.read64(lo) >>> 0;
      this.scratch.vhi = this.bus.hi >>> 0;
    }
  }

  /**
   * IRET in IA-32e mode (IRETQ with REX.W, else 4-byte slots; SDM Vol. 2 IRET): RIP, CS, RFLAGS, RSP and SS are
   * all popped. To the same or an outer privilege (CPL 0 to 3); a null SS is kept as the null selector (allowed
   * in 64-bit mode below CPL 3).
   */
  iretLong(bytes: 4 | 8): void {
    if (this.rflags & NT_) fault(GP, 0);
    const slots: number[] = [];
    let lo = this.lo[4] >>> 0;
    let hi = this.stackBits === 64 ? this.hi[4] >>> 0 : 0;
    for (let i = 0; i < 5; i++) {
      this.readLinear64(lo, hi);
      slots.push(this.scratch.vlo, bytes === 8 ? this.scratch.vhi : 0);
      lo += bytes;
      if (lo > 0xffffffff) {
        lo >>>= 0;
        hi = (hi + 1) >>> 0;
      }
    }
    const cs = slots[2] & 0xffff;
    const ss = slots[8] & 0xffff;
    if ((cs & 3) < this.cpl) fault(GP, cs & 0xfffc);
    const oldCpl = this.cpl;
    this.loadCode(cs, true, slots[0], true);
    let mask = TF_ | AC_ | ID_ | RF_ | NT_ | 0xd5 | 0x400 | 0x800;
    if (oldCpl === 0) mask |= IOPL_ | IF_;
    this.rflags = ((this.rflags & ~mask) | (slots[4] & mask) | 2) >>> 0;
    if ((ss & 0xfffc) === 0 && this.codeBits === 64 && this.cpl < 3) {
      this.segSel[Seg.SS] = ss;
      this.segBaseLo[Seg.SS] = 0;
      this.segAttr[Seg.SS] = 0;
    } else this.loadSegment(Seg.SS, ss);
    this.lo[4] = slots[6] | 0;
    this.hi[4] = this.codeBits === 64 ? slots[7] | 0 : 0;
    this.nextLo = slots[0] >>> 0;
    this.nextHi = this.codeBits === 64 ? slots[1] >>> 0 : 0;
  }

  /** A flat segment cache as SYSCALL/SYSRET load it (no descriptor read): attr is the access byte and flags. */
  private flatSegment(seg: number, selector: number, attr: number): void {
    this.intervalFlags.note(X86IntervalFlag.Segments);
    this.segSel[seg] = selector;
    this.segBaseLo[seg] = this.segBaseHi[seg] = 0;
    this.segLimit[seg] = 0xffffffff;
    this.segAttr[seg] = attr;
  }

  private msrHalf(index: number, high: boolean): number {
    const v = this.msrs.get(index) ?? 0n;
    return Number(high ? (v >> 32n) & 0xffffffffn : v & 0xffffffffn);
  }

  /**
   * SYSCALL from 64-bit mode (SDM Vol. 2): RCX = the next RIP, R11 = RFLAGS, RIP = LSTAR, RFLAGS &= ~SFMASK,
   * CS = STAR[47:32] and SS = that + 8 as flat CPL 0 segments. #UD without EFER.SCE (compatibility mode, CSTAR:
   * not supported, #UD too).
   */
  syscall(): void {
    if (!(this.eferValue & 1) || this.codeBits !== 64) fault(UD);
    this.lo[1] = this.nextLo | 0;
    this.hi[1] = this.nextHi | 0;
    this.lo[11] = this.rflags | 0;
    this.hi[11] = 0;
    const sel = this.msrHalf(0xc0000081, true) & 0xffff;
    this.flatSegment(Seg.CS, sel & 0xfffc, 0xa9b);
    this.flatSegment(Seg.SS, (sel + 8) & 0xfffc, 0xc93);
    this.cpl = 0;
    this.codeBits = this.stackBits = 64;
    this.rflags = ((this.rflags & ~this.msrHalf(0xc0000084, false)) & ~RF_ | 2) >>> 0;
    this.nextLo = this.msrHalf(0xc0000082, false);
    this.nextHi = this.msrHalf(0xc0000082, true);
  }

  /** SYSRET to CPL 3: RIP = RCX, RFLAGS = R11; CS = STAR[63:48] + 16 (REX.W, 64-bit) or + 0 (32-bit), SS = + 8. */
  sysret(to64: boolean): void {
    if (!(this.eferValue & 1) || this.codeBits !== 64) fault(UD);
    if (this.cpl !== 0) fault(GP, 0);
    const top = (this.hi[1] >>> 15) & 0x1ffff;
    if (to64 && top !== 0 && top !== 0x1ffff) fault(GP, 0);
    const sel = this.msrHalf(0xc0000081, true) >>> 16;
    this.rflags = ((this.lo[11] & 0x3c7fd7) | 2) >>> 0;
    this.flatSegment(Seg.CS, ((sel + (to64 ? 16 : 0)) & 0xfffc) | 3, to64 ? 0xafb : 0xcfb);
    this.flatSegment(Seg.SS, ((sel + 8) & 0xfffc) | 3, 0xcf3);
    this.cpl = 3;
    this.codeBits = to64 ? 64 : 32;
    this.stackBits = to64 ? 64 : 32;
    this.nextLo = this.lo[1] >>> 0;
    this.nextHi = to64 ? this.hi[1] >>> 0 : 0;
  }

  /** SWAPGS: exchanges GS.base with IA32_KERNEL_GS_BASE (CPL 0 only). */
  swapgs(): void {
    if (this.cpl !== 0) fault(GP, 0);
    const k = this.msrs.get(0xc0000102) ?? 0n;
    this.msrs.set(0xc0000102, (BigInt(this.segBaseHi[Seg.GS] >>> 0) << 32n) | BigInt(this.segBaseLo[Seg.GS] >>> 0));
    this.segBaseLo[Seg.GS] = Number(k & 0xffffffffn) | 0;
    this.segBaseHi[Seg.GS] = Number(k >> 32n) | 0;
  }

  /** Takes external interrupt `vector` now (at an instruction boundary; IF is the caller's business). */
  interrupt(vector: number): void {
    this.deliver(vector, -1, this.ripLo, false);
  }

  /** Delivers an exception raised by the instruction at faultLo (a fault: the return address is its start). */
  exception(f: X86Fault): void {
    const code = this.protectedMode && (HAS_CODE >>> f.vector) & 1 ? (f.code < 0 ? 0 : f.code) : -1;
    this.deliver(f.vector, code, this.faultLo, false);
  }

  /** IRET at operand size w. */
  iret(w: 16 | 32): void {
    const bytes = w === 16 ? 2 : 4;
    if (!this.protectedMode) {
      const sb = this.stackBits;
      this.stackBits = 16;
      const ip = this.popW(bytes);
      const cs = this.popW(bytes) & 0xffff;
      const fl = this.popW(bytes);
      this.stackBits = sb;
      let mask = TF_ | AC_ | ID_ | IF_ | IOPL_ | RF_ | NT_ | 0xd5 | 0x400 | 0x800;
      if (w === 16) mask &= 0xffff;
      this.rflags = ((this.rflags & ~mask) | (fl & mask) | 2) >>> 0;
      this.loadCode(cs);
      this.nextLo = ip;
      this.nextHi = 0;
      return;
    }
    if (this.rflags & NT_) fault(GP, 0); // task return: not supported
    const sp = this.lo[4];
    const ip = this.popW(bytes);
    const cs = this.popW(bytes) & 0xffff;
    const fl = this.popW(bytes);
    if ((cs & 3) !== this.cpl) {
      this.lo[4] = sp;
      fault(GP, cs & 0xfffc); // outer-privilege return: not yet
    }
    try {
      this.loadCode(cs, true, w === 16 ? ip & 0xffff : ip);
    } catch (e) {
      this.lo[4] = sp;
      throw e;
    }
    let mask = TF_ | AC_ | ID_ | RF_ | NT_ | 0xd5 | 0x400 | 0x800;
    if (this.cpl === 0) mask |= IOPL_ | IF_;
    if (w === 16) mask &= 0xffff;
    this.rflags = ((this.rflags & ~mask) | (fl & mask) | 2) >>> 0;
    this.nextLo = ip;
    this.nextHi = 0;
  }

  /** A segment register as reset leaves it: base = selector * 16, limit 64 KiB, a read/write data segment. */
  loadRealSegment(seg: number, selector: number): void {
    this.segSel[seg] = selector & 0xffff;
    this.segBaseLo[seg] = (selector & 0xffff) << 4;
    this.segBaseHi[seg] = 0;
    this.segLimit[seg] = 0xffff;
    this.segAttr[seg] = 0x93; // present, data, read/write, accessed (CS: the code rights come with protected mode)
  }
}

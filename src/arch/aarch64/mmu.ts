// Stage 1 address translation for the EL1&0 regime (VMSAv8-64 as ARMv8.0 / the Cortex-A53 defines it: Arm ARM
// D5 and the AArch64.TranslationTableWalk / AArch64.CheckPermission pseudocode), plus a software TLB.
//
// Addresses arrive as lo/hi int32 pairs; physical addresses are Numbers below 2^40 (ID_AA64MMFR0.PARange = 40
// bits), so nothing here allocates a BigInt. The walk itself is the slow path: it runs on a TLB miss, for AT and
// for the debugger. Choices where the architecture leaves freedom follow QEMU 7.2 (Rewind is a drop-in for it):
//   - TxSZ outside 16..39 is a level 0 Translation fault (FEAT_TTST is not implemented);
//   - a granule the CPU does not implement (16K on the A53, or a reserved TGx encoding) behaves as 4K;
//   - no hardware Access flag update (FEAT_HAFDBS is ARMv8.1), no PAN, no alignment check on Device memory;
//   - SCTLR_EL1.EE (big-endian descriptors) is not modelled: Rewind's data accesses are little-endian only.

import { BusError } from "../../core/memory.js";
import type { Cpu } from "./cpu.js";
import { AccessKind } from "./cpu.js";
import type { SystemRegisters } from "./sysregs.js";

/** Fault status codes (ESR DFSC/IFSC, PAR_EL1.FST). The lookup level goes in the low two bits. */
export const enum Fsc {
  AddressSize = 0x00,
  Translation = 0x04,
  AccessFlag = 0x08,
  Permission = 0x0c,
  /** Synchronous External abort (not on a walk): an access to an unmapped physical address. */
  External = 0x10,
  /** Synchronous External abort on a translation table walk, level n. */
  WalkExternal = 0x14,
}

// Permission bits of a walk result / TLB entry: bit (access + 3 * unprivileged), access = Read 0, Write 1, Fetch 2.
const P_R1 = 1;
const P_W1 = 2;
const P_X1 = 4;
const P_R0 = 8;
const P_W0 = 16;
const P_X0 = 32;
/** The entry came from a global (nG = 0) descriptor: it survives a TTBR write (an ASID change). */
const P_GLOBAL = 64;

/**
 * Direct-mapped, 4096 entries of 4 KiB (blocks and big pages are cached per 4K). The index mixes VA bits
 * [23:12] with [31:24] and the high word, so code and data 16 MiB apart (or user and kernel) do not collide.
 */
const TLB_BITS = 12;
export const TLB_SIZE = 1 << TLB_BITS;

/** The TLB's arrays (TLB_SIZE entries each). */
export interface TlbStorage {
  tagLo: Int32Array;
  tagHi: Int32Array;
  perm: Uint8Array;
  page: Float64Array;
}
const TLB_MASK = TLB_SIZE - 1;

const TWO32 = 4294967296;
const POW2: number[] = Array.from({ length: 54 }, (_, i) => 2 ** i);

/** PARange of the Cortex-A53 (ID_AA64MMFR0_EL1.PARange = 0b0010). */
const PA_BITS = 40;
/** TCR_EL1.IPS → output address size, capped at PARange as the architecture requires. */
const IPS_BITS = [32, 36, 40, 40, 40, 40, 40, 40];

/** MAIR attribute 0x00 (Device-nGnRnE): what data accesses get with stage 1 disabled. */
const ATTR_DEVICE_NGNRNE = 0x00;

export class Mmu {
  // ---- TLB: tags (VA page), permissions and the physical page; `used` lists the valid slots -----------------
  // Read (never written) by compiled blocks, which probe the TLB inline before calling translate (jit/emit-memory.ts).
  readonly tagLo: Int32Array;
  readonly tagHi: Int32Array;
  readonly perm: Uint8Array;
  readonly page: Float64Array;
  private readonly used = new Int32Array(TLB_SIZE);
  private usedCount = 0;

  /**
   * Whether the 16K granule is implemented. The Cortex-A53 has none (ID_AA64MMFR0_EL1.TGran16 = 0), so a TGx
   * that selects it behaves as 4K, as in QEMU; tests switch it on to exercise the 16K walk.
   */
  has16k = false;

  // ---- result of the last successful walk (scratch fields, so the walk allocates nothing) ---------------------
  /** Physical address of the translated VA. */
  walkPa = 0;
  walkPerm = 0;
  walkLevel = 0;
  /** The MAIR_EL1 attribute byte selected by AttrIndx. */
  walkAttr = 0;
  /** Descriptor SH[1:0]. */
  walkSh = 0;

  private readonly sys: SystemRegisters;

  constructor(
    private readonly cpu: Cpu,
    /** Where the TLB's arrays live, when not in arrays of their own (jit/wasm/arena.ts; zeroed, TLB_SIZE long). */
    storage?: TlbStorage,
  ) {
    this.sys = cpu.sys;
    this.tagLo = storage?.tagLo ?? new Int32Array(TLB_SIZE);
    this.tagHi = storage?.tagHi ?? new Int32Array(TLB_SIZE);
    this.perm = storage?.perm ?? new Uint8Array(TLB_SIZE);
    this.page = storage?.page ?? new Float64Array(TLB_SIZE);
    this.tagLo.fill(-1);
  }

  // ---- the per-access path ---------------------------------------------------------------------------------

  /** Translates with SCTLR_EL1.M = 1: a TLB lookup, a walk on a miss. Faults enter the abort and throw. */
  translate(lo: number, hi: number, access: AccessKind, unprivileged: boolean): number {
    const vpn = lo >>> 12;
    const i = (vpn ^ (vpn >>> 12) ^ hi) & TLB_MASK;
    if (this.tagLo[i] === vpn && this.tagHi[i] === (hi | 0) && (this.perm[i] & (1 << (unprivileged ? access + 3 : access))) !== 0)
      return this.page[i] + (lo & 0xfff);
    return this.miss(lo, hi, access, unprivileged);
  }

  private miss(lo: number, hi: number, access: AccessKind, unprivileged: boolean): number {
    const fsc = this.walk(lo, hi, false);
    if (fsc >= 0) return this.cpu.abort(lo, hi, access, fsc);
    const perm = this.walkPerm;
    if ((perm & (1 << (unprivileged ? access + 3 : access))) === 0)
      return this.cpu.abort(lo, hi, access, Fsc.Permission | this.walkLevel);
    const vpn = lo >>> 12;
    const i = (vpn ^ (vpn >>> 12) ^ hi) & TLB_MASK;
    if (this.tagLo[i] === -1) this.used[this.usedCount++] = i;
    this.tagLo[i] = vpn;
    this.tagHi[i] = hi | 0;
    this.perm[i] = perm;
    this.page[i] = this.walkPa - (lo & 0xfff);
    return this.walkPa;
  }

  /**
   * SCTLR_EL1.M = 0 and VA bits [63:40] not all zero: with TBI the top byte is ignored, otherwise (or when bits
   * [55:40] are set) it is an Address size fault, level 0.
   */
  untranslatedHigh(lo: number, hi: number, access: AccessKind): number {
    const pa = this.flat(lo, hi);
    if (pa < 0) return this.cpu.abort(lo, hi, access, Fsc.AddressSize);
    return pa;
  }

  /** Stage 1 disabled: the physical address, or -1 for an Address size fault (AArch64.TranslateAddressS1Off). */
  private flat(lo: number, hi: number): number {
    hi >>>= 0;
    const tbi = (this.sys.tcrHi >>> (5 + ((hi >>> 23) & 1))) & 1;
    const significant = tbi ? hi & 0x00ffffff : hi;
    if (significant > 0xff) return -1;
    return significant * TWO32 + (lo >>> 0);
  }

  // ---- TLB maintenance -------------------------------------------------------------------------------------

  /** Drops every cached translation (TLBI, SCTLR/TCR/MAIR writes, reset, state load). */
  flushAll(): void {
    const tag = this.tagLo;
    const used = this.used;
    for (let k = 0; k < this.usedCount; k++) tag[used[k]] = -1;
    this.usedCount = 0;
    this.cpu.fetchGeneration++;
  }

  /**
   * A TTBR write may change the ASID or the tables: drop the non-global entries. Global ones may be kept, as a
   * TLB tagged by ASID keeps them (software changing global mappings must use TLBI).
   */
  flushNonGlobal(): void {
    const tag = this.tagLo;
    const used = this.used;
    let kept = 0;
    for (let k = 0; k < this.usedCount; k++) {
      const i = used[k];
      if ((this.perm[i] & P_GLOBAL) !== 0) used[kept++] = i;
      else tag[i] = -1;
    }
    this.usedCount = kept;
    this.cpu.fetchGeneration++;
  }

  /** Number of valid TLB entries (tests, diagnostics). */
  get tlbEntries(): number {
    return this.usedCount;
  }

  // ---- AT and the debugger ----------------------------------------------------------------------------------

  /**
   * AT S1E1R/S1E1W/S1E0R/S1E0W: a real walk whose result goes to PAR_EL1 (never an exception, never the TLB).
   * Success: PA[47:12], ATTR (MAIR byte) in [63:56], SH in [8:7], NS (bit 9: this CPU is Non-secure), bit 11 RES1.
   * Failure: F (bit 0) with FST in [6:1], bit 11 RES1.
   */
  addressTranslate(lo: number, hi: number, write: boolean, unprivileged: boolean): void {
    const s = this.sys;
    let fsc = -1;
    let pa: number;
    let attr: number;
    let sh: number;
    if (!s.mmuEnabled) {
      pa = this.flat(lo, hi);
      if (pa < 0) fsc = Fsc.AddressSize;
      attr = ATTR_DEVICE_NGNRNE;
      sh = 2;
    } else {
      fsc = this.walk(lo, hi, false);
      pa = this.walkPa;
      attr = this.walkAttr;
      sh = this.walkSh;
      const bit = 1 << ((write ? AccessKind.Write : AccessKind.Read) + (unprivileged ? 3 : 0));
      if (fsc < 0 && (this.walkPerm & bit) === 0) fsc = Fsc.Permission | this.walkLevel;
    }
    if (fsc >= 0) {
      s.parLo = (1 | (fsc << 1) | (1 << 11)) >>> 0;
      s.parHi = 0;
      return;
    }
    // PAREncodeShareability: Device and Normal Non-cacheable memory report Outer Shareable.
    if ((attr & 0xf0) === 0 || attr === 0x44) sh = 2;
    const paHi = Math.floor(pa / TWO32);
    s.parLo = ((pa & 0xfffff000) | (1 << 11) | (1 << 9) | (sh << 7)) >>> 0;
    s.parHi = ((paHi & 0xffff) | (attr << 24)) >>> 0;
  }

  /**
   * The debugger's translation: a walk that reads page tables from RAM only, raises nothing and caches nothing.
   * Access flag and permissions are not checked (GDB reads kernel memory from EL0 and plants breakpoints in
   * read-only code); undefined when the walk itself faults.
   */
  debugTranslate(lo: number, hi: number): number | undefined {
    if (!this.sys.mmuEnabled) {
      const pa = this.flat(lo, hi);
      return pa < 0 ? undefined : pa;
    }
    return this.walk(lo, hi, true) >= 0 ? undefined : this.walkPa;
  }

  // ---- the walk --------------------------------------------------------------------------------------------

  /**
   * Walks the EL1&0 stage 1 tables for a VA. Returns -1 on success (results in the walk* fields; permissions are
   * computed for every access class, not checked) or the fault status code. `debug`: read tables from RAM only
   * and skip the Access flag check.
   */
  walk(lo: number, hi: number, debug: boolean): number {
    const s = this.sys;
    lo >>>= 0;
    hi >>>= 0;
    const tcrLo = s.tcrLo;
    const tcrHi = s.tcrHi;
    // Bit 55 selects the TTBR whether or not the top byte is ignored; with TBI0/1 = 0 bits [63:56] must match it.
    const select = (hi >>> 23) & 1;
    const tbi = (tcrHi >>> (5 + select)) & 1;
    let tsz: number;
    let epd: number;
    let granuleBits: number;
    let ttbrLo: number;
    let ttbrHi: number;
    if (select === 0) {
      tsz = tcrLo & 0x3f;
      epd = (tcrLo >>> 7) & 1;
      const tg0 = (tcrLo >>> 14) & 3; // 00 4K, 01 64K, 10 16K
      granuleBits = tg0 === 1 ? 16 : tg0 === 2 ? 14 : 12;
      ttbrLo = s.ttbr0Lo;
      ttbrHi = s.ttbr0Hi;
    } else {
      tsz = (tcrLo >>> 16) & 0x3f;
      epd = (tcrLo >>> 23) & 1;
      const tg1 = (tcrLo >>> 30) & 3; // 01 16K, 10 4K, 11 64K
      granuleBits = tg1 === 3 ? 16 : tg1 === 1 ? 14 : 12;
      ttbrLo = s.ttbr1Lo;
      ttbrHi = s.ttbr1Hi;
    }
    if (granuleBits === 14 && !this.has16k) granuleBits = 12;

    if (tsz < 16 || tsz > 39) return Fsc.Translation;
    const inputSize = 64 - tsz;
    if (!topBitsMatch(lo, hi, inputSize, tbi ? 55 : 63, select)) return Fsc.Translation;
    if (epd) return Fsc.Translation;

    const stride = granuleBits - 3;
    const startLevel = 4 - Math.floor((inputSize - 4) / stride);
    const outLimit = POW2[IPS_BITS[tcrHi & 7]];
    let base = (ttbrHi & 0xffff) * TWO32 + (ttbrLo >>> 0);
    if (base >= outLimit) return Fsc.AddressSize;
    // The first table is aligned to its own size; TTBR bits below that are RES0 and ignored.
    const firstBottom = (3 - startLevel) * stride + granuleBits;
    const firstTableAlign = POW2[inputSize - firstBottom + 3];
    base -= base % firstTableAlign;

    const va = (hi & 0xffff) * TWO32 + lo; // bits [47:0]; indexing ignores bits above inputSize
    const oaMask = -(1 << granuleBits); // descriptor output address bits [31:granuleBits]
    const bus = this.cpu.bus;
    let apTable = 0;
    let uxnTable = 0;
    let pxnTable = 0;
    for (let level = startLevel; ; level++) {
      const bottom = (3 - level) * stride + granuleBits;
      const indexBits = level === startLevel ? inputSize - bottom : stride;
      const index = Math.floor(va / POW2[bottom]) % POW2[indexBits];
      const descPa = base + index * 8;
      let dlo: number;
      let dhi: number;
      if (debug) {
        const ram = bus.ramAt(descPa, 8);
        if (ram === undefined) return Fsc.WalkExternal | level;
        dlo = ram.view.getUint32(descPa - ram.base, true);
        dhi = ram.view.getUint32(descPa - ram.base + 4, true);
      } else {
        try {
          dlo = bus.read64(descPa);
          dhi = bus.hi;
        } catch (e) {
          if (e instanceof BusError) return Fsc.WalkExternal | level;
          throw e;
        }
      }
      if ((dlo & 1) === 0) return Fsc.Translation | level;
      const isTable = (dlo & 2) !== 0 && level < 3;
      // Block descriptors exist at levels 1-2 with 4K and at level 2 with 16K/64K (no 52-bit PA in ARMv8.0);
      // 0b01 at level 3 is reserved.
      if ((dlo & 2) === 0 && !(level === 2 || (level === 1 && granuleBits === 12))) return Fsc.Translation | level;
      const oa = (dhi & 0xffff) * TWO32 + ((dlo & oaMask) >>> 0);
      if (oa >= outLimit) return Fsc.AddressSize | level;
      if (isTable) {
        apTable |= (dhi >>> 29) & 3; // APTable[1:0] = bits [62:61]
        uxnTable |= (dhi >>> 28) & 1; // UXNTable, bit 60
        pxnTable |= (dhi >>> 27) & 1; // PXNTable, bit 59
        base = oa;
        continue;
      }
      // Block or page: no hardware Access flag management in ARMv8.0, so AF = 0 faults.
      if (!debug && (dlo & 0x400) === 0) return Fsc.AccessFlag | level;
      const size = POW2[bottom];
      this.walkPa = oa - (oa % size) + (va % size);
      this.walkLevel = level;
      this.walkPerm = permissions(dlo, dhi, apTable, uxnTable, pxnTable, (s.sctlr >>> 19) & 1);
      const attrIndx = (dlo >>> 2) & 7;
      this.walkAttr = (attrIndx < 4 ? s.mairLo >>> (attrIndx * 8) : s.mairHi >>> ((attrIndx - 4) * 8)) & 0xff;
      this.walkSh = (dlo >>> 8) & 3;
      return -1;
    }
  }
}

/** VA bits [top:inputSize] must all equal bit 55 (`select`), else the VA is in neither range. inputSize is 25..48. */
function topBitsMatch(lo: number, hi: number, inputSize: number, top: number, select: number): boolean {
  const want = select ? -1 : 0;
  let hiMask = top === 63 ? -1 : 0x00ffffff;
  if (inputSize > 32) hiMask &= -1 << (inputSize - 32);
  if (((hi ^ want) & hiMask) !== 0) return false;
  return inputSize >= 32 || ((lo ^ want) & (-1 << inputSize)) === 0;
}

/**
 * Stage 1 permissions of a block/page descriptor for every access class (AArch64.CheckPermission, ARMv8.0, EL1&0
 * regime) after the hierarchical table limits. EL1 may always read; EL1 never executes EL0-writable memory; WXN
 * makes writable memory execute-never.
 */
function permissions(dlo: number, dhi: number, apTable: number, uxnTable: number, pxnTable: number, wxn: number): number {
  let ap = (dlo >>> 6) & 3; // AP[2:1]: bit 1 = read-only, bit 0 = EL0 access
  if (apTable & 2) ap |= 2; // APTable[1]: no writes at any EL
  if (apTable & 1) ap &= ~1; // APTable[0]: no EL0 access
  const uxn = ((dhi >>> 22) & 1) | uxnTable;
  const pxn = ((dhi >>> 21) & 1) | pxnTable;
  const privW = (ap & 2) === 0;
  const userR = (ap & 1) !== 0;
  const userW = ap === 1;
  let p = P_R1;
  if (privW) p |= P_W1;
  if (!pxn && !userW && !(privW && wxn)) p |= P_X1;
  if (userR) p |= P_R0;
  if (userW) p |= P_W0;
  if (!uxn && !(userW && wxn)) p |= P_X0;
  if ((dlo & 0x800) === 0) p |= P_GLOBAL;
  return p;
}

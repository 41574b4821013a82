// The memory WebAssembly regions work in: one WebAssembly.Memory that holds everything compiled code reads and
// writes without calling out — the general registers, a few exchange slots, the TLB, and the primary RAM with its
// dirty and code-page bytes. The CPU, its MMU and the RAM are built over views of it (CpuStorage, RAM storage), so
// the interpreter, the JavaScript tier and the devices see the same bytes as the WebAssembly code, with no copies.
// The memory never grows (growing would detach every view), so it is sized for the RAM when the board is built.

import { PAGE_SIZE } from "../../../../core/memory.js";
import type { CpuStorage } from "../../cpu.js";
import { TLB_SIZE } from "../../mmu.js";
import { CRC32C_TABLE, CRC32_TABLE } from "../../alu.js";

const WASM_PAGE = 65536;

/** Byte offsets of the fixed part. */
export const XLO = 0;
export const XHI = 128;
/** NZCV, one i32 each (the CPU's flags live here): the region loads them on entry and after a call out, and
 * stores them on exit and before one. */
export const SLOT_NF = 256;
export const SLOT_ZF = 260;
export const SLOT_CF = 264;
export const SLOT_VF = 268;
/** Where the region left the PC (low, high), on every exit. */
export const SLOT_PC_LO = 272;
export const SLOT_PC_HI = 276;
/** Before every call out: the steps run before the current instruction, and its page offset. */
export const SLOT_STEPS = 280;
export const SLOT_OFFSET = 284;
/** The next PC as an executor left it (low, high). */
export const SLOT_NEXT_LO = 288;
export const SLOT_NEXT_HI = 292;
/** The high word of a 64-bit load through the CPU's accessor. */
export const SLOT_LOAD_HI = 296;
/** The CRC32 and CRC32C byte tables (256 words each), for the CRC32* rows. */
export const CRC32_TABLE_OFF = 1024;
export const CRC32C_TABLE_OFF = 2048;
export const TLB_TAG_LO = 4096;
export const TLB_TAG_HI = TLB_TAG_LO + TLB_SIZE * 4;
export const TLB_PERM = TLB_TAG_HI + TLB_SIZE * 4;
export const TLB_PAGE = TLB_PERM + TLB_SIZE; // 8-aligned: TLB_SIZE is a multiple of 8
const FIXED_END = TLB_PAGE + TLB_SIZE * 8;

export class WasmArena {
  readonly memory: WebAssembly.Memory;
  /** Size in 64 KiB pages (initial = maximum). */
  readonly pages: number;
  /** Where the primary RAM's dirty bytes, code-page bytes and bytes start. */
  readonly dirtyOffset: number;
  readonly codeOffset: number;
  readonly ramOffset: number;

  private constructor(readonly ramSize: number) {
    const ramPages = ramSize / PAGE_SIZE;
    this.dirtyOffset = FIXED_END;
    this.codeOffset = this.dirtyOffset + ramPages;
    this.ramOffset = Math.ceil((this.codeOffset + ramPages) / PAGE_SIZE) * PAGE_SIZE;
    this.pages = Math.ceil((this.ramOffset + ramSize) / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial: this.pages, maximum: this.pages });
    const words = new Int32Array(this.memory.buffer);
    words.set(CRC32_TABLE, CRC32_TABLE_OFF / 4);
    words.set(CRC32C_TABLE, CRC32C_TABLE_OFF / 4);
  }

  /** An arena for a primary RAM of `ramSize` bytes, or undefined when the host cannot give that much
   * WebAssembly memory (32-bit memories end at 4 GiB): the board then works without one. */
  static create(ramSize: number): WasmArena | undefined {
    try {
      const a = new WasmArena(ramSize);
      return a.ramOffset + ramSize <= 2 ** 32 ? a : undefined;
    } catch {
      return undefined;
    }
  }

  cpuStorage(): CpuStorage {
    const b = this.memory.buffer;
    return {
      xlo: new Int32Array(b, XLO, 32),
      xhi: new Int32Array(b, XHI, 32),
      flags: new Int32Array(b, SLOT_NF, 4),
      tlb: {
        tagLo: new Int32Array(b, TLB_TAG_LO, TLB_SIZE),
        tagHi: new Int32Array(b, TLB_TAG_HI, TLB_SIZE),
        perm: new Uint8Array(b, TLB_PERM, TLB_SIZE),
        page: new Float64Array(b, TLB_PAGE, TLB_SIZE),
      },
    };
  }

  ramStorage(): { bytes: Uint8Array; dirty: Uint8Array; codePages: Uint8Array } {
    const b = this.memory.buffer;
    const pages = this.ramSize / PAGE_SIZE;
    return {
      bytes: new Uint8Array(b, this.ramOffset, this.ramSize),
      dirty: new Uint8Array(b, this.dirtyOffset, pages),
      codePages: new Uint8Array(b, this.codeOffset, pages),
    };
  }

  /** 32-bit view of the whole memory (the exchange slots). */
  words(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
}

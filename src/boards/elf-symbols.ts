// ELF64 symbol tables, for naming guest addresses in diagnostics and the demo ("copy_name+0x1c").

import { BootError, isElf } from "./elf.js";

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  /** STT_FUNC = 2, STT_OBJECT = 1, ... */
  type: number;
}

const SHT_SYMTAB = 2;

export function readElfSymbols(bytes: Uint8Array, name = "ELF file"): ElfSymbol[] {
  if (!isElf(bytes) || bytes.length < 64 || bytes[4] !== 2 || bytes[5] !== 1) throw new BootError(`${name}: not a little-endian ELF64 file`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  if (shoff === 0 || shnum === 0) return [];
  if (shentsize < 64 || shoff + shnum * shentsize > bytes.length) throw new BootError(`${name}: section headers lie outside the file`);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      type: dv.getUint32(at + 4, true),
      offset: Number(dv.getBigUint64(at + 24, true)),
      size: Number(dv.getBigUint64(at + 32, true)),
      link: dv.getUint32(at + 40, true),
      entsize: Number(dv.getBigUint64(at + 56, true)),
    };
  };
  const out: ElfSymbol[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB || s.entsize < 24) continue;
    if (s.link >= shnum) throw new BootError(`${name}: symbol table links to a missing string table`);
    const str = section(s.link);
    if (s.offset + s.size > bytes.length || str.offset + str.size > bytes.length) throw new BootError(`${name}: symbol table lies outside the file`);
    for (let at = s.offset; at + 24 <= s.offset + s.size; at += s.entsize) {
      const nameOff = dv.getUint32(at, true);
      if (nameOff === 0 || nameOff >= str.size) continue;
      let end = str.offset + nameOff;
      while (end < str.offset + str.size && bytes[end] !== 0) end++;
      out.push({
        name: Buffer.from(bytes.subarray(str.offset + nameOff, end)).toString("latin1"),
        value: dv.getBigUint64(at + 8, true),
        size: dv.getBigUint64(at + 16, true),
        type: bytes[at + 4] & 0xf,
      });
    }
  }
  return out;
}

/** Names addresses as `symbol+0xoff` using function and object symbols. */
export class Symbolizer {
  private readonly sorted: ElfSymbol[];
  constructor(symbols: ElfSymbol[]) {
    this.sorted = symbols.filter((s) => (s.type === 1 || s.type === 2) && s.value !== 0n).sort((a, b) => (a.value < b.value ? -1 : 1));
  }
  lookup(name: string): ElfSymbol | undefined {
    return this.sorted.find((s) => s.name === name);
  }
  describe(addr: bigint): string {
    let best: ElfSymbol | undefined;
    for (const s of this.sorted) {
      if (s.value > addr) break;
      if (addr < s.value + (s.size > 0n ? s.size : 1n)) best = s;
    }
    if (!best) return `0x${addr.toString(16)}`;
    const off = addr - best.value;
    return off === 0n ? best.name : `${best.name}+0x${off.toString(16)}`;
  }
}

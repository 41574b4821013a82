// The x86 decoder against GNU objdump (binutils, the host's): instruction lengths and mnemonics on compiled code
// and on random instructions in 16-, 32- and 64-bit mode. Instructions the qemu64 CPU does not have (VEX/EVEX,
// SSSE3 and later 0F 38 / 0F 3A maps, 3DNow!, VMX...) are undefined for Rewind and left out of the comparison.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, type Mode } from "../../src/arch/x86/decode/decoder.js";
import { missingTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/sessions.js";
import { xorshift32 } from "../helpers/random.js";

const skip = missingTool("objdump", "objcopy", "gcc");
const MACHINE: Record<Mode, string[]> = { 16: ["-m", "i8086"], 32: ["-m", "i386"], 64: ["-m", "i386:x86-64"] };
const PREFIX_BYTES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36];

interface ObjdumpLine {
  bytes: number;
  mnemonic: string;
}

/** objdump's reading of a raw binary: byte count and mnemonic (prefix words dropped) per instruction address. */
function objdump(file: string, mode: Mode): Map<number, ObjdumpLine> {
  const r = spawnSync("objdump", ["-D", "-b", "binary", ...MACHINE[mode], "-M", mode === 64 ? "intel,intel64" : "intel", "--insn-width=16", file], { encoding: "utf8", maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<number, ObjdumpLine>();
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(.*)$/.exec(line);
    if (!m) continue;
    const words = m[3].trim().split(/\s+/);
    // Prefixes objdump prints as words of their own (rep, lock, data16, addr32, cs, ds, bnd, notrack, rex...).
    while (words.length > 1 && PREFIX_WORD.test(words[0])) words.shift();
    out.set(parseInt(m[1], 16), { bytes: m[2].trim().split(" ").length, mnemonic: words[0] });
  }
  return out;
}

const PREFIX_WORD = /^(rep[nz]?|repn?[ze]|lock|data(16|32)|addr(16|32)|[c-gs]s|bnd|notrack|rex(\.[WRXB]+)?|xacquire|xrelease)$/;

/** objdump's instruction at `at`, with the prefixes it printed on lines of their own before it (a REX followed by a
 * legacy prefix, which the CPU ignores but still reads) counted in. */
function joined(theirs: Map<number, ObjdumpLine>, at: number): ObjdumpLine | undefined {
  let extra = 0;
  let t = theirs.get(at);
  while (t !== undefined && PREFIX_WORD.test(t.mnemonic) && extra < 15) {
    extra += t.bytes;
    t = theirs.get(at + extra);
  }
  return t && { bytes: t.bytes + extra, mnemonic: t.mnemonic };
}

/** objdump's names for ours where they name the same instruction differently. */
const ALIASES: Record<string, string[]> = {
  movsb: ["movs"], movsw: ["movs"], movsd: ["movs", "movsd"], movsq: ["movs"],
  cmpsb: ["cmps"], cmpsw: ["cmps"], cmpsd: ["cmps", "cmpsd"], cmpsq: ["cmps"],
  stosb: ["stos"], stosw: ["stos"], stosd: ["stos"], stosq: ["stos"],
  lodsb: ["lods"], lodsw: ["lods"], lodsd: ["lods"], lodsq: ["lods"],
  scasb: ["scas"], scasw: ["scas"], scasd: ["scas"], scasq: ["scas"],
  ins: ["insb", "insw", "insd", "ins"], outs: ["outsb", "outsw", "outsd", "outs"],
  xlat: ["xlatb"], callf: ["call", "lcall"], jmpf: ["jmp", "ljmp"], retf: ["lret"],
  iret: ["iretw"], int1: ["icebp"], fwait: ["wait"], pushf: ["pushfw"], popf: ["popfw"], pusha: ["pushaw"], popa: ["popaw"],
  mov: ["movabs"], sal: ["shl"], nop: ["xchg"], xchg: ["nop"], movsxd: ["movslq"], fnstenv: ["fstenv"], sysret: ["sysretd"],
  bsf: ["tzcnt"], bsr: ["lzcnt"], enter: ["enterw"], leave: ["leavew"], wbinvd: ["wbnoinvd"],
};

/** objdump marks an operand size it thinks unusual with a suffix (retd, pushw, lgdtd, iretw...), and names
 * 32-bit PUSHAD/POPAD/IRETD without it: compare without one trailing w/d/q. */
const unsized = (m: string) => m.replace(/^(.{3,}?)[wdq]$/, "$1");

function sameMnemonic(ours: string, theirs: string): boolean {
  // CMPPS/CMPPD/CMPSS/CMPSD with a predicate immediate: objdump names the predicate (cmpltps, cmpnlesd...).
  if (/^cmp(ps|pd|ss|sd)$/.test(ours) && theirs.startsWith("cmp") && theirs.endsWith(ours.slice(3))) return true;
  if (ours === theirs || (ALIASES[ours] ?? []).includes(theirs) || theirs.startsWith(ours + ",")) return true;
  return unsized(ours) === unsized(theirs) && !/^(movs|cmps|stos|lods|scas|movs[xs])/.test(ours);
}

/** Decodes each case with ours, lays them out with NOP padding (objdump resynchronises on it) and compares. */
function compareWithObjdump(cases: Uint8Array[], mode: Mode): { compared: number; failures: string[] } {
  const chunks: Buffer[] = [];
  const slots: { at: number; bytes: Uint8Array; length: number; mnemonic: string }[] = [];
  let at = 0;
  for (const bytes of cases) {
    const d = decode(bytes, 0, mode);
    if (!d.ok) continue;
    const insn = Buffer.from(bytes.subarray(0, d.length));
    slots.push({ at, bytes: insn, length: d.length, mnemonic: d.mnemonic });
    chunks.push(insn, Buffer.alloc(16, 0x90));
    at += d.length + 16;
  }
  const file = join(tempDir("rewind-x86-"), `insns-${mode}.bin`);
  writeFileSync(file, Buffer.concat(chunks));
  const theirs = objdump(file, mode);
  const failures: string[] = [];
  let skipped = 0;
  for (const s of slots) {
    const t = joined(theirs, s.at);
    const hex = Buffer.from(s.bytes).toString("hex").replace(/(..)/g, "$1 ").trim();
    if (t === undefined) failures.push(`${hex}: ours ${s.mnemonic} (${s.length} bytes); objdump starts no instruction there`);
    else if (t.mnemonic === "(bad)") skipped++; // objdump rejects some prefix combinations the CPU accepts
    else if (t.bytes !== s.length || !sameMnemonic(s.mnemonic, t.mnemonic)) failures.push(`${hex}: ours ${s.mnemonic} (${s.length} bytes), objdump ${t.mnemonic} (${t.bytes} bytes)`);
  }
  return { compared: slots.length - skipped, failures };
}

/** Random instructions: sometimes a few prefixes (and a REX), an opcode (one byte or 0F xx), random bytes. */
function randomCases(seed: number, count: number, mode: Mode): Uint8Array[] {
  const r = xorshift32(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const b: number[] = [];
    const n = r() % 4 === 0 ? 1 + (r() % 2) : 0;
    for (let k = 0; k < n; k++) b.push(PREFIX_BYTES[r() % PREFIX_BYTES.length]);
    if (mode === 64 && r() % 2 === 0) b.push(0x40 | (r() & 15));
    if (r() % 3 === 0) b.push(0x0f);
    while (b.length < 16) b.push(r() & 0xff);
    out.push(Uint8Array.from(b));
  }
  return out;
}

/** Byte sequences objdump decodes that qemu64 does not have (0F 38 / 0F 3A maps, 3DNow!, VMX): left out. */
function beyondQemu64(bytes: Uint8Array): boolean {
  let i = 0;
  let rex = 0;
  while (PREFIX_BYTES.includes(bytes[i]) || (bytes[i] & 0xf0) === 0x40) if ((bytes[i++] & 0xf0) === 0x40) rex++;
  // Two REX bytes in a row (the CPU uses the last; objdump reads them otherwise) and F3 REX.B 90 (XCHG R8, as
  // QEMU decodes it; objdump reads PAUSE) are left out too.
  if (rex > 1 || (bytes[i] === 0x90 && (bytes[i - 1] & 0xf1) === 0x41)) return true;
  // 0F 1A-1E are hint NOPs on qemu64 (objdump reads MPX and CLDEMOTE there).
  return bytes[i] === 0x0f && [0x38, 0x3a, 0x0f, 0x78, 0x79, 0x7a, 0x7b, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e].includes(bytes[i + 1]);
}

for (const mode of [16, 32, 64] as Mode[]) {
  test(`x86 decoder: ${mode}-bit random instructions have objdump's length and mnemonic`, { skip }, () => {
    const cases = randomCases(0x1234 + mode, 20_000, mode).filter((c) => !beyondQemu64(c));
    const { compared, failures } = compareWithObjdump(cases, mode);
    assert.ok(compared > 8_000, `only ${compared} compared`);
    if (process.env.X86_ALL) console.log(failures.join("\n"));
    assert.deepEqual(failures.slice(0, 25), [], `${failures.length} of ${compared} differ`);
  });
}

test("x86 decoder: gcc-compiled 64-bit code decodes as objdump reads it, instruction by instruction", { skip }, () => {
  const dir = tempDir("rewind-x86-cc-");
  const src = join(dir, "code.c");
  writeFileSync(src, `
    #include <string.h>
    struct node { struct node *next; long key; double w; };
    long walk(struct node *n, long k) { long s = 0; while (n) { if (n->key > k) s += n->key * 7; else s ^= n->key >> 3; n = n->next; } return s; }
    double mix(double *a, float *b, int n) { double s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i] + (i & 1 ? a[i] / 3.0 : (double)b[i]); return s; }
    unsigned hash(const char *p) { unsigned h = 2166136261u; while (*p) { h ^= (unsigned char)*p++; h *= 16777619u; } return h; }
    void copy(char *d, const char *s, unsigned long n) { memcpy(d, s, n); memset(d + n, 0, 16); }
    int sw(int x) { switch (x) { case 0: return 5; case 1: return 9; case 2: return 17; case 3: return 33; case 7: return 1; default: return -1; } }
    long long divs(long long a, long long b, unsigned long long c) { return a / b + a % b + (long long)(c / 7) + __builtin_popcountll(c) + __builtin_clzll(c | 1); }
  `);
  const obj = join(dir, "code.o");
  for (const opt of ["-O2", "-Os", "-O0"]) {
    const cc = spawnSync("gcc", [opt, "-c", "-fno-asynchronous-unwind-tables", "-o", obj, src], { encoding: "utf8" });
    assert.equal(cc.status, 0, cc.stderr);
    const text = join(dir, "text.bin");
    assert.equal(spawnSync("objcopy", ["-O", "binary", "--only-section=.text", obj, text]).status, 0);
    const bytes = readFileSync(text);
    const theirs = objdump(text, 64);
    let at = 0;
    let count = 0;
    while (at < bytes.length) {
      const d = decode(bytes, at, 64);
      const t = theirs.get(at);
      assert.ok(t, `${opt}: objdump has no instruction at ${at.toString(16)}`);
      assert.ok(d.ok, `${opt}: at ${at.toString(16)}: ours ${d.ok ? "" : d.reason}, objdump ${t.mnemonic}`);
      assert.equal(d.length, t.bytes, `${opt}: at ${at.toString(16)}: ${t.mnemonic}`);
      assert.ok(sameMnemonic(d.mnemonic, t.mnemonic), `${opt}: at ${at.toString(16)}: ours ${d.mnemonic}, objdump ${t.mnemonic}`);
      at += d.length;
      count++;
    }
    assert.ok(count > 40, `${opt}: only ${count} instructions`);
  }
});

// Disassembly of the data-processing and branch rows, and their decode boundaries, checked against GNU
// objdump: random words from the three encoding groups, random fills of every row and the single-bit
// neighbours of every row must decode exactly when objdump knows them as ARMv8.0 instructions of these
// groups, and print the same text (objdump's comments and tab aside).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { missingTool } from "../helpers/tools.js";
import { Decoder } from "../../src/arch/aarch64/decoder.js";
import { DP_IMM } from "../../src/arch/aarch64/insns/data-processing-imm.js";
import { DP_REG } from "../../src/arch/aarch64/insns/data-processing-reg.js";
import { BRANCH } from "../../src/arch/aarch64/insns/branch.js";
import * as A from "./dp-asm.js";
import { rng } from "./dp-ref.js";

const decoder = new Decoder([...DP_IMM, ...DP_REG, ...BRANCH]);
type PcDisasm = (f: Record<string, number>, insn: number, pc?: bigint) => string;

function disasm(word: number, pc?: bigint): string | undefined {
  const d = decoder.decode(word);
  return d && (d.spec.disasm as PcDisasm)(d.fields, word, pc);
}

const X = 1;
const W = 0;

test("disassembly of representative encodings (objdump's spelling)", () => {
  const pc = 0x40001000n;
  const cases: [number, string][] = [
    [0x91004020, "add x0, x1, #0x10"],
    [0x91400420, "add x0, x1, #0x1, lsl #12"],
    [0x9100003f, "mov sp, x1"],
    [0xf1000c3f, "cmp x1, #0x3"],
    [0x31000c3f, "cmn w1, #0x3"],
    [0x92401c20, "and x0, x1, #0xff"],
    [0xb2089fe0, "mov x0, #0xff00ff00ff00ff00"],
    [0x32001fe0, "orr w0, wzr, #0xff"],
    [0xf240001f, "tst x0, #0x1"],
    [0xd2a24680, "mov x0, #0x12340000"],
    [0xd2a00000, "movz x0, #0x0, lsl #16"],
    [0x92800020, "mov x0, #0xfffffffffffffffe"],
    [0x12800020, "mov w0, #0xfffffffe"],
    [0xf2c00240, "movk x0, #0x12, lsl #32"],
    [0x93401c20, "sxtb x0, w1"],
    [0xd3440c20, "lsl x0, x1, #60"],
    [0x53047c20, "lsr w0, w1, #4"],
    [0x9344fc20, "asr x0, x1, #4"],
    [0xb37c0c20, "bfi x0, x1, #4, #4"],
    [0xb3432820, "bfxil x0, x1, #3, #8"],
    [0xd3432820, "ubfx x0, x1, #3, #8"],
    [0x937c0c20, "sbfiz x0, x1, #4, #4"],
    [0x93c21420, "extr x0, x1, x2, #5"],
    [0x93c11420, "ror x0, x1, #5"],
    [0x8a020c20, "and x0, x1, x2, lsl #3"],
    [0xaa0203e0, "mov x0, x2"],
    [0xaa2203e0, "mvn x0, x2"],
    [0xeac20c3f, "tst x1, x2, ror #3"],
    [0xcb0203e0, "neg x0, x2"],
    [0xeb02003f, "cmp x1, x2"],
    [0x8b214be0, "add x0, sp, w1, uxtw #2"],
    [0x8b216840, "add x0, x2, x1, uxtx #2"],
    [0x8b21605f, "add sp, x2, x1"],
    [0x0b2147e0, "add w0, wsp, w1, lsl #1"],
    [0xeb2163ff, "cmp sp, x1"],
    [0xda0203e0, "ngc x0, x2"],
    [0xfa421024, "ccmp x1, x2, #0x4, ne"],
    [0x3a45e820, "ccmn w1, #0x5, #0x0, al"],
    [0x9a9f17e0, "cset x0, eq"],
    [0xda81b420, "cneg x0, x1, ge"],
    [0x9ac20820, "udiv x0, x1, x2"],
    [0x9ac22020, "lsl x0, x1, x2"],
    [0x9ac25c20, "crc32cx w0, w1, x2"],
    [0xdac00820, "rev32 x0, x1"],
    [0x5ac00820, "rev w0, w1"],
    [0x9b027c20, "mul x0, x1, x2"],
    [0x9b227c20, "smull x0, w1, w2"],
    [0x9ba28c20, "umsubl x0, w1, w2, x3"],
    [0x9b427c20, "smulh x0, x1, x2"],
    [0xd61f0020, "br x1"],
    [0xd65f03c0, "ret"],
    [0xd65f0060, "ret x3"],
  ];
  for (const [word, text] of cases) assert.equal(disasm(word, pc), text, `0x${word.toString(16)}`);
});

test("PC-relative operands: absolute with the instruction's address, relative without", () => {
  assert.equal(disasm(A.b(0x100), 0x40001000n), "b 0x40001100");
  assert.equal(disasm(A.b(0x100)), "b .+0x100");
  assert.equal(disasm(A.bl(-4)), "bl .-0x4");
  assert.equal(disasm(A.bcond(A.COND.NE, 8), 0x40001004n), "b.ne 0x4000100c");
  assert.equal(disasm(A.cbz(W, 0, 8), 0xfffffffcn), "cbz w0, 0x100000004");
  assert.equal(disasm(A.tbnz(3, 40, -8), 0x40001000n), "tbnz x3, #40, 0x40000ff8");
  assert.equal(disasm(A.tbz(3, 4, 8)), "tbz w3, #4, .+0x8");
  assert.equal(disasm(A.adr(0, 0x20), 0x40001014n), "adr x0, 0x40001034");
  assert.equal(disasm(A.adrp(0, 0x2000), 0x40001abcn), "adrp x0, 0x40003000");
  assert.equal(disasm(A.adrp(0, -0x1000)), "adrp x0, .-0x1000");
  assert.equal(disasm(A.b(-8), 0n), "b 0xfffffffffffffff8");
});

// ---- against objdump -----------------------------------------------------------------------------------

/** Mnemonics of the ARMv8.0 instructions (and aliases) these tables implement. */
const OURS = new Set(
  (
    "adr adrp add adds sub subs cmp cmn mov and orr eor ands tst movn movz movk sbfm bfm ubfm asr lsl lsr sbfiz " +
    "sbfx sxtb sxth sxtw ubfiz ubfx uxtb uxth bfi bfxil bfc extr ror bic orn eon bics mvn neg negs adc adcs sbc " +
    "sbcs ngc ngcs ccmp ccmn csel csinc csinv csneg cset csetm cinc cinv cneg udiv sdiv lslv lsrv asrv rorv " +
    "crc32b crc32h crc32w crc32x crc32cb crc32ch crc32cw crc32cx rbit rev16 rev32 rev clz cls madd msub mul " +
    "mneg smaddl smsubl smull smnegl umaddl umsubl umull umnegl smulh umulh b bl cbz cbnz tbz tbnz br blr ret"
  ).split(" "),
);

interface ObjdumpLine {
  addr: bigint;
  word: number;
  text: string;
}

function objdump(words: number[], dir: string): ObjdumpLine[] {
  const buf = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => buf.writeUInt32LE(w >>> 0, i * 4));
  const file = join(dir, "words.bin");
  writeFileSync(file, buf);
  const out = execFileSync(
    "aarch64-linux-gnu-objdump",
    ["-D", "-b", "binary", "-m", "aarch64", "--adjust-vma=0x40000000", file],
    { maxBuffer: 1 << 28 },
  ).toString();
  const lines: ObjdumpLine[] = [];
  for (const l of out.split("\n")) {
    const m = /^\s+([0-9a-f]+):\t([0-9a-f]{8}) \t(.*)$/.exec(l);
    if (!m) continue;
    const text = m[3]
      .replace(/\s*\/\/.*$/, "")
      .replace(/\s*<.*>$/, "")
      .replace("\t", " ")
      .trimEnd();
    lines.push({ addr: BigInt("0x" + m[1]), word: parseInt(m[2], 16), text });
  }
  return lines;
}

function compareWithObjdump(words: number[]): { decoded: number; rejected: number } {
  const dir = mkdtempSync(join(tmpdir(), "rewind-dp-"));
  try {
    const lines = objdump(words, dir);
    assert.equal(lines.length, words.length, "objdump printed one line per word");
    let decoded = 0;
    let rejected = 0;
    const problems: string[] = [];
    for (const { addr, word, text } of lines) {
      const ours = disasm(word, addr);
      const hex = word.toString(16).padStart(8, "0");
      const objUndefined = text.startsWith(".inst") || text.includes("undefined");
      if (ours === undefined) {
        rejected++;
        const [mnemonic, operands = ""] = text.split(" ");
        // A register operand form of one of our mnemonics means we rejected a valid ARMv8.0 encoding.
        if (!objUndefined && OURS.has(mnemonic) && /^(x|w|sp|wsp|0x|$)/.test(operands))
          problems.push(`${hex}: rejected, objdump says "${text}"`);
        continue;
      }
      decoded++;
      if (objUndefined) problems.push(`${hex}: decoded as "${ours}", objdump says undefined`);
      else if (ours !== text) problems.push(`${hex}: "${ours}", objdump "${text}"`);
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} disagreements with objdump`);
    return { decoded, rejected };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("random words of the three encoding groups agree with objdump", { skip: missingTool("aarch64-linux-gnu-objdump") }, () => {
  const r = rng(31337);
  const words: number[] = [];
  for (let i = 0; i < 60000; i++) {
    const w = r.next();
    const group = i % 3;
    if (group === 0) words.push(((w & ~(7 << 26)) | (4 << 26)) >>> 0); // op0 = 100x: data processing (immediate)
    else if (group === 1) words.push(((w & ~(7 << 25)) | (5 << 25)) >>> 0); // x101: data processing (register)
    else words.push(((w & ~(7 << 26)) | (5 << 26)) >>> 0); // 101x: branches, exceptions, system
  }
  const { decoded } = compareWithObjdump(words);
  assert.ok(decoded > 20000, `only ${decoded} words decoded`);
});

test("every row: random fields and single-bit neighbours agree with objdump", { skip: missingTool("aarch64-linux-gnu-objdump") }, () => {
  const r = rng(4242);
  const words: number[] = [];
  for (const c of decoder.specs) {
    for (let i = 0; i < 200; i++) words.push(((r.next() & ~c.mask) | c.value) >>> 0);
    for (let bit = 0; bit < 32; bit++) {
      if (((c.mask >>> bit) & 1) === 0) continue;
      for (let i = 0; i < 4; i++) words.push((((r.next() & ~c.mask) | c.value) ^ (1 << bit)) >>> 0);
    }
  }
  const { decoded, rejected } = compareWithObjdump(words);
  assert.ok(decoded > 0 && rejected > 0);
});

// Disassembly of the Advanced SIMD integer rows against aarch64-linux-gnu-objdump: every opcode/size/Q of each
// encoding class (random registers) prints objdump's text when Rewind decodes it, and what objdump does not
// know as an instruction Rewind does not decode either (objdump knows later extensions too, so the other
// direction is the oracle tests' business).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingTool } from "../helpers/tools.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";
import { exhaustive, field } from "../oracle/simd-cases.js";

const skip = missingTool("aarch64-linux-gnu-objdump");
const MINE = /^(SIMD_(three|scalar|two|across|shift|by|permute)|ADDP_scalar|EXT|TBL_TBX|LDST_single)/;

function classWords(): number[] {
  return [
    ...exhaustive(1, 0x0e200400, [field(30, 1), field(29, 1), field(22, 2), field(11, 5)], [0, 5, 16]),
    ...exhaustive(4, 0x5e200400, [field(29, 1), field(22, 2), field(11, 5)], [0, 5, 16]),
    ...exhaustive(6, 0x0e200800, [field(30, 1), field(29, 1), field(22, 2), field(12, 5)], [0, 5]),
    ...exhaustive(7, 0x5e200800, [field(29, 1), field(22, 2), field(12, 5)], [0, 5]),
    ...exhaustive(9, 0x0e300800, [field(30, 1), field(29, 1), field(22, 2), field(12, 5)], [0, 5]),
    ...exhaustive(10, 0x5e300800, [field(29, 1), field(22, 2), field(12, 5)], [0, 5]),
    ...exhaustive(1, 0x0f000400, [field(30, 1), field(29, 1), field(19, 4), field(16, 3), field(11, 5)], [0, 5]),
    ...exhaustive(3, 0x5f000400, [field(29, 1), field(19, 4), field(16, 3), field(11, 5)], [0, 5]),
    ...exhaustive(10, 0x0e200000, [field(30, 1), field(29, 1), field(22, 2), field(12, 4)], [0, 5, 16]),
    ...exhaustive(20, 0x5e200000, [field(29, 1), field(22, 2), field(12, 4)], [0, 5, 16]),
    ...exhaustive(30, 0x0f000000, [field(30, 1), field(29, 1), field(22, 2), field(21, 1), field(20, 1), field(12, 4), field(11, 1)], [0, 5, 16]),
    ...exhaustive(40, 0x5f000000, [field(29, 1), field(22, 2), field(21, 1), field(20, 1), field(12, 4), field(11, 1)], [0, 5, 16]),
    ...exhaustive(1, 0x0e000800, [field(30, 1), field(22, 2), field(12, 3)], [0, 5, 16]),
    ...exhaustive(5, 0x2e000000, [field(30, 1), field(11, 4)], [0, 5, 16]),
    ...exhaustive(10, 0x0e000000, [field(30, 1), field(13, 2), field(12, 1)], [0, 5, 16]),
    // Load/store single structure, no offset and post-index: Q, post, L, R, opcode, S, size.
    ...exhaustive(11, 0x0d000000, [field(30, 1), field(23, 1), field(22, 1), field(21, 1), field(13, 3), field(12, 1), field(10, 2)], [0, 5, 16]),
  ];
}

test("AdvSIMD integer rows disassemble as objdump does; objdump's undefined words do not decode", { skip }, (t) => {
  const decoder = a64Decoder();
  const words = classWords();
  const dir = mkdtempSync(join(tmpdir(), "rewind-simd-"));
  try {
    const buf = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => buf.writeUInt32LE(w >>> 0, i * 4));
    writeFileSync(join(dir, "w.bin"), buf);
    const out = execFileSync("aarch64-linux-gnu-objdump", ["-D", "-b", "binary", "-m", "aarch64", join(dir, "w.bin")], { maxBuffer: 1 << 28 }).toString();
    const lines = out.split("\n").flatMap((l) => {
      const m = /^\s+[0-9a-f]+:\t([0-9a-f]{8}) \t(.*)$/.exec(l);
      return m ? [m[2].replace(/\s*\/\/.*$/, "").replace(/\s*;.*$/, "").replace("\t", " ").trimEnd()] : [];
    });
    assert.equal(lines.length, words.length);
    const bad: string[] = [];
    let compared = 0;
    words.forEach((w, i) => {
      const d = decoder.decode(w);
      const hex = w.toString(16).padStart(8, "0");
      if (lines[i].startsWith(".inst")) {
        if (d && MINE.test(d.spec.name)) bad.push(`${hex}: objdump undefined, rewind ${d.spec.name}`);
        return;
      }
      if (!d || !MINE.test(d.spec.name)) return;
      compared++;
      const text = decoder.disassemble(w).replace("\t", " ");
      if (text !== lines[i]) bad.push(`${hex}: objdump '${lines[i]}', rewind '${text}'`);
    });
    assert.deepEqual(bad.slice(0, 10), []);
    t.diagnostic(`${compared} words compared`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Every Advanced SIMD integer instruction (and SIMD load/store) in the cross toolchain's static glibc (libc.a,
// libm.a: the code a static busybox links) decodes. The FP instructions (F*, SCVTF, UCVTF: the FP rows'
// business) and the crypto extension are left out.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { missingTool } from "../helpers/tools.js";
import { a64Decoder } from "../../src/arch/aarch64/insns/index.js";

const LIBS = ["/usr/aarch64-linux-gnu/lib/libc.a", "/usr/aarch64-linux-gnu/lib/libm.a"];
const skip = missingTool("aarch64-linux-gnu-objdump") || (existsSync(LIBS[0]) ? false : "needs libc6-dev-arm64-cross");
const NOT_MINE = /^(f|scvtf|ucvtf|bf|aes|sha|sm3|sm4|eor3|rax1|xar|bcax)/;

test("the AdvSIMD integer instructions of static glibc all decode", { skip }, (t) => {
  const decoder = a64Decoder();
  const missing = new Map<string, string>();
  let seen = 0;
  for (const lib of LIBS.filter(existsSync)) {
    const out = execFileSync("aarch64-linux-gnu-objdump", ["-d", lib], { maxBuffer: 1 << 30 }).toString();
    for (const line of out.split("\n")) {
      const m = /^\s+[0-9a-f]+:\t([0-9a-f]{8}) \t(\S+)\t?(.*)$/.exec(line);
      if (!m) continue;
      const w = parseInt(m[1], 16);
      const op0 = (w >>> 25) & 0xf;
      // Data processing - SIMD & FP (op0 x111) and SIMD loads/stores (op0 x1x0 with V = 1).
      if (!((op0 & 7) === 7 || ((op0 & 5) === 4 && ((w >>> 26) & 1) === 1))) continue;
      if (NOT_MINE.test(m[2])) continue;
      seen++;
      if (!decoder.decode(w)) missing.set(m[2], `${m[1]} ${m[2]} ${m[3]}`);
    }
  }
  assert.deepEqual([...missing.values()], []);
  t.diagnostic(`${seen} instructions`);
});

// The tests' own encoder (dp-asm.ts) against GNU as: the same instructions written as assembly text must
// produce the same words. This pins the encoder independently of the decoder under test.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { missingTool } from "../helpers/tools.js";
import * as A from "./dp-asm.js";

const W = 0;
const X = 1;

const CASES: [string, number][] = [
  ["adr x3, .+0x20", A.adr(3, 0x20)],
  ["adr x3, .-0x100000", A.adr(3, -0x100000)],
  ["add x0, x1, #0x10", A.addImm(X, 0, 1, 0x10)],
  ["adds w0, w1, #0xfff, lsl #12", A.addsImm(W, 0, 1, 0xfff, 1)],
  ["sub sp, sp, #0x10", A.subImm(X, 31, 31, 0x10)],
  ["subs xzr, x1, #3", A.subsImm(X, 31, 1, 3)],
  ["and x0, x1, #0xff", A.logImm(X, 0, 0, 1, 0xffn)],
  ["orr w2, wzr, #0x55555555", A.logImm(W, 1, 2, 31, 0x55555555n)],
  ["eor x3, x4, #0x8000000000000001", A.logImm(X, 2, 3, 4, 0x8000000000000001n)],
  ["ands x5, x6, #0xfffffffffffffffe", A.logImm(X, 3, 5, 6, 0xfffffffffffffffen)],
  ["and sp, x1, #0xfffffff0", A.logImm(X, 0, 31, 1, 0xfffffff0n)],
  ["eor w1, w2, #0x3c3c3c3c", A.logImm(W, 2, 1, 2, 0x3c3c3c3cn)],
  ["movz x0, #0x1234, lsl #48", A.movz(X, 0, 0x1234, 3)],
  ["movn w0, #0xffff, lsl #16", A.movn(W, 0, 0xffff, 1)],
  ["movk x7, #0xbeef, lsl #32", A.movk(X, 7, 0xbeef, 2)],
  ["sbfm x0, x1, #4, #63", A.sbfm(X, 0, 1, 4, 63)],
  ["bfm w0, w1, #28, #3", A.bfm(W, 0, 1, 28, 3)],
  ["ubfm x0, x1, #60, #59", A.ubfm(X, 0, 1, 60, 59)],
  ["extr x0, x1, x2, #63", A.extr(X, 0, 1, 2, 63)],
  ["extr w0, w1, w2, #31", A.extr(W, 0, 1, 2, 31)],
  ["and x0, x1, x2, lsl #3", A.logReg(X, 0, 0, 0, 1, 2, A.SHIFT.LSL, 3)],
  ["bic w0, w1, w2, ror #31", A.logReg(W, 0, 1, 0, 1, 2, A.SHIFT.ROR, 31)],
  ["orn x0, xzr, x2, asr #63", A.logReg(X, 1, 1, 0, 31, 2, A.SHIFT.ASR, 63)],
  ["eon x0, x1, x2, lsr #1", A.logReg(X, 2, 1, 0, 1, 2, A.SHIFT.LSR, 1)],
  ["bics xzr, x1, x2", A.logReg(X, 3, 1, 31, 1, 2)],
  ["add x0, x1, x2, lsl #63", A.addSubShifted(X, 0, 0, 0, 1, 2, A.SHIFT.LSL, 63)],
  ["subs w0, wzr, w2, asr #31", A.addSubShifted(W, 1, 1, 0, 31, 2, A.SHIFT.ASR, 31)],
  ["add x0, sp, w1, uxtw #2", A.addSubExt(X, 0, 0, 0, 31, 1, A.EXT.UXTW, 2)],
  ["sub sp, x2, x1, sxtx #4", A.addSubExt(X, 1, 0, 31, 2, 1, A.EXT.SXTX, 4)],
  ["adds w0, w2, w1, sxth #1", A.addSubExt(W, 0, 1, 0, 2, 1, A.EXT.SXTH, 1)],
  ["adc x0, x1, x2", A.addSubCarry(X, 0, 0, 0, 1, 2)],
  ["sbcs w0, w1, w2", A.addSubCarry(W, 1, 1, 0, 1, 2)],
  ["ccmp x1, x2, #4, ne", A.condCmpReg(X, 1, 1, 2, 4, A.COND.NE)],
  ["ccmn w1, #31, #15, lt", A.condCmpImm(W, 0, 1, 31, 15, A.COND.LT)],
  ["csel x0, x1, x2, eq", A.condSel(X, 0, 0, 0, 1, 2, A.COND.EQ)],
  ["csinc w0, w1, w2, hi", A.condSel(W, 0, 1, 0, 1, 2, A.COND.HI)],
  ["csinv x0, x1, x2, le", A.condSel(X, 1, 0, 0, 1, 2, A.COND.LE)],
  ["csneg x0, x1, x2, vs", A.condSel(X, 1, 1, 0, 1, 2, A.COND.VS)],
  ["udiv w0, w1, w2", A.dp2(W, A.DP2.UDIV, 0, 1, 2)],
  ["sdiv x0, x1, x2", A.dp2(X, A.DP2.SDIV, 0, 1, 2)],
  ["rorv x0, x1, x2", A.dp2(X, A.DP2.RORV, 0, 1, 2)],
  ["asrv w0, w1, w2", A.dp2(W, A.DP2.ASRV, 0, 1, 2)],
  ["crc32h w0, w1, w2", A.dp2(W, A.DP2.CRC32H, 0, 1, 2)],
  ["crc32cx w0, w1, x2", A.dp2(X, A.DP2.CRC32CX, 0, 1, 2)],
  ["rbit w0, w1", A.dp1(W, A.DP1.RBIT, 0, 1)],
  ["rev16 x0, x1", A.dp1(X, A.DP1.REV16, 0, 1)],
  ["rev32 x0, x1", A.dp1(X, A.DP1.REV32, 0, 1)],
  ["rev x0, x1", A.dp1(X, A.DP1.REV, 0, 1)],
  ["rev w0, w1", A.dp1(W, 2, 0, 1)],
  ["clz x0, x1", A.dp1(X, A.DP1.CLZ, 0, 1)],
  ["cls w0, w1", A.dp1(W, A.DP1.CLS, 0, 1)],
  ["madd w0, w1, w2, w3", A.dp3(W, A.DP3.MADD, 0, 1, 2, 3)],
  ["msub x0, x1, x2, x3", A.dp3(X, A.DP3.MSUB, 0, 1, 2, 3)],
  ["smaddl x0, w1, w2, x3", A.dp3(X, A.DP3.SMADDL, 0, 1, 2, 3)],
  ["smsubl x0, w1, w2, x3", A.dp3(X, A.DP3.SMSUBL, 0, 1, 2, 3)],
  ["umaddl x0, w1, w2, x3", A.dp3(X, A.DP3.UMADDL, 0, 1, 2, 3)],
  ["umsubl x0, w1, w2, x3", A.dp3(X, A.DP3.UMSUBL, 0, 1, 2, 3)],
  ["smulh x0, x1, x2", A.dp3(X, A.DP3.SMULH, 0, 1, 2, 31)],
  ["umulh x0, x1, x2", A.dp3(X, A.DP3.UMULH, 0, 1, 2, 31)],
  ["b .+0x7fffffc", A.b(0x7fffffc)],
  ["bl .-0x8000000", A.bl(-0x8000000)],
  ["b.ne .+8", A.bcond(A.COND.NE, 8)],
  ["b.nv .-0x100000", A.bcond(A.COND.NV, -0x100000)],
  ["cbz w0, .+0xffffc", A.cbz(W, 0, 0xffffc)],
  ["cbnz x30, .-4", A.cbnz(X, 30, -4)],
  ["tbz w3, #4, .+0x7ffc", A.tbz(3, 4, 0x7ffc)],
  ["tbnz x3, #63, .-0x8000", A.tbnz(3, 63, -0x8000)],
  ["br x1", A.br(1)],
  ["blr x30", A.blr(30)],
  ["ret", A.ret()],
  ["ret x3", A.ret(3)],
  ["nop", A.NOP],
];

test(
  "the test encoder matches GNU as",
  { skip: missingTool("aarch64-linux-gnu-as", "aarch64-linux-gnu-objcopy") },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-asm-"));
    try {
      writeFileSync(join(dir, "t.s"), CASES.map(([text]) => text).join("\n") + "\n");
      execFileSync("aarch64-linux-gnu-as", ["-march=armv8-a+crc", "-o", join(dir, "t.o"), join(dir, "t.s")]);
      execFileSync("aarch64-linux-gnu-objcopy", ["-O", "binary", "-j", ".text", join(dir, "t.o"), join(dir, "t.bin")]);
      const bin = readFileSync(join(dir, "t.bin"));
      assert.equal(bin.length, CASES.length * 4);
      CASES.forEach(([text, word], i) => {
        const want = bin.readUInt32LE(i * 4);
        assert.equal(word.toString(16), want.toString(16), text);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

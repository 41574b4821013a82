// SeaBIOS 1.16.2 (Debian's /usr/share/seabios/bios-256k.bin, what QEMU 7.2's pc runs) on Rewind's pc board:
// its first 19,750 instructions — the reset vector, real mode, the switch to 32-bit protected mode, the relocation
// code — run at the same addresses, in the same order, as under qemu-system-x86_64 (up to its first PCI
// configuration read; the whole boot is compared by its debug log in pc-seabios-log.test.ts, and
// docs/x86-seabios-log.md says how far the instruction traces agree).
//
// The oracle is the sequence of CS.base + EIP of QEMU's one-instruction trace, reduced to a digest:
//   qemu-system-x86_64 -M pc -bios bios-256k.bin -display none -vga none -nodefaults -icount shift=7,sleep=off \
//       -singlestep -d exec,nochain -D log      (stopped after a second or two)
//   grep -a ^Trace log | head -19750 | sed -E 's/.*\[[0-9a-f]+\/([0-9a-f]+)\/.*/\1/' | sha256sum
// (one 16-digit hex PC per line, each line ending in "\n").

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { PcMachine } from "../../src/boards/pc/pc.js";
import { atIcount } from "../../src/core/position.js";

const SEABIOS = "/usr/share/seabios/bios-256k.bin";
const COUNT = 19_750;
const QEMU_DIGEST = "1148f18e96a91b1f260f3ded68968b4b68f9f0ef8fb7e44e61871c6bd6325bf0";
const SEABIOS_SHA256 = (() => (existsSync(SEABIOS) ? createHash("sha256").update(readFileSync(SEABIOS)).digest("hex") : ""))();

test("pc: SeaBIOS's first 19,750 instructions run where QEMU runs them", { skip: existsSync(SEABIOS) ? false : `needs ${SEABIOS} (Debian package seabios)` }, () => {
  const m = new PcMachine({ ramSize: 128 << 20, icountShift: 7, bios: readFileSync(SEABIOS) });
  const c = m.cpu;
  const hash = createHash("sha256");
  for (let i = 0; i < COUNT; i++) {
    const ip = c.codeBits === 16 ? c.ripLo & 0xffff : c.ripLo >>> 0;
    hash.update(((c.segBaseLo[1] >>> 0) + ip >>> 0).toString(16).padStart(16, "0") + "\n");
    assert.equal(m.run(atIcount(m.clock.icount + 1)), "limit", m.stuckReason);
  }
  assert.equal(hash.digest("hex"), QEMU_DIGEST, `SeaBIOS image ${SEABIOS_SHA256}`);
  // And it is in 32-bit protected mode by then.
  assert.equal(c.cr0 & 1, 1);
  assert.equal(c.codeBits, 32);
});

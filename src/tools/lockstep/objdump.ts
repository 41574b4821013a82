/** Fallback disassembly of one A64 instruction with binutils' objdump, when it is installed. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CANDIDATES = ["aarch64-linux-gnu-objdump", "aarch64-none-elf-objdump", "objdump"];

/** Disassembles `encoding` as if at `pc`; undefined when no AArch64-capable objdump is available. */
export function objdumpDisassemble(pc: bigint, encoding: number): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "rewind-objdump-"));
  try {
    const file = join(dir, "insn.bin");
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(encoding >>> 0);
    writeFileSync(file, bytes);
    for (const tool of CANDIDATES) {
      const r = spawnSync(tool, ["-D", "-b", "binary", "-m", "aarch64", `--adjust-vma=0x${pc.toString(16)}`, file], { encoding: "utf8" });
      if (r.status !== 0 || !r.stdout) continue;
      // "  40080010:	b9000023 	str	w3, [x1]"
      const line = r.stdout.split("\n").find((l) => /^\s*[0-9a-f]+:\s+[0-9a-f]{8}\s/.test(l));
      if (!line) continue;
      const text = line.replace(/^\s*[0-9a-f]+:\s+[0-9a-f]{8}\s+/, "").replace(/\s+/g, " ").trim();
      if (text) return text;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

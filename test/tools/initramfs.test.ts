// The initramfs writer (src/tools/initramfs.ts) read back by GNU cpio: names, types, modes, a device node, a
// symlink and file contents as written; the same tree always gives the same bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { cpioArchive, entriesFromDirectory, initramfs, main } from "../../src/tools/initramfs.js";
import { missingTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/sessions.js";

function tree(): string {
  const dir = tempDir("rewind-initramfs-");
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "etc"));
  writeFileSync(join(dir, "bin/tool"), "#!/bin/sh\necho hi\n", { mode: 0o700 });
  writeFileSync(join(dir, "etc/hostname"), "rewind\n", { mode: 0o600 });
  writeFileSync(join(dir, "odd"), Buffer.from([1, 2, 3])); // a length that needs padding
  symlinkSync("tool", join(dir, "bin/sh"));
  return dir;
}

test("GNU cpio lists and extracts what the initramfs writer wrote", { skip: missingTool("cpio") }, () => {
  const out = join(tempDir("rewind-initramfs-out-"), "initrd.cpio.gz");
  assert.equal(main([tree(), out, "--dev-console"]), 0);
  const archive = gunzipSync(readFileSync(out));
  const list = spawnSync("cpio", ["-itv", "--quiet"], { input: archive, encoding: "utf8" });
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split("\n").map((l) => l.replace(/\s+/g, " "));
  const at = (name: string) => lines.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `));
  assert.match(at("bin") ?? "", /^drwxr-xr-x 2 root root 0 /);
  assert.match(at("bin/tool") ?? "", /^-rwxr-xr-x 1 root root 18 /);
  assert.match(at("etc/hostname") ?? "", /^-rw-r--r-- 1 root root 7 /);
  assert.match(at("bin/sh") ?? "", /^lrwxrwxrwx .* bin\/sh -> tool$/);
  assert.match(at("dev/console") ?? "", /^crw------- 1 root root 5, 1 /);
  assert.deepEqual(lines.map((l) => l.replace(/ -> .*$/, "").split(" ").pop()), ["bin", "bin/sh", "bin/tool", "dev", "dev/console", "etc", "etc/hostname", "odd"]);
  // Extracted, the files hold what was written.
  const x = tempDir("rewind-initramfs-x-");
  const ex = spawnSync("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], { input: archive, cwd: x, encoding: "utf8" });
  // (Making /dev/console needs privileges cpio may lack: only that entry may fail.)
  assert.ok(ex.status === 0 || /dev\/console/.test(ex.stderr), ex.stderr);
  assert.equal(readFileSync(join(x, "bin/tool"), "utf8"), "#!/bin/sh\necho hi\n");
  assert.deepEqual([...readFileSync(join(x, "odd"))], [1, 2, 3]);
  assert.equal(readlinkSync(join(x, "bin/sh")), "tool");
  assert.equal(statSync(join(x, "etc/hostname")).mtimeMs, 0);
});

test("the same tree gives the same initramfs bytes; bad paths and options are refused", () => {
  const dir = tree();
  const a = initramfs(entriesFromDirectory(dir));
  const b = initramfs(entriesFromDirectory(dir));
  assert.deepEqual(a, b);
  assert.equal(cpioArchive([]).length % 4, 0);
  assert.throws(() => cpioArchive([{ kind: "dir", path: "../x" }]), /bad archive path/);
  assert.equal(main([dir]), 2);
  assert.equal(main([dir, join(dir, "out"), "--frob"]), 2);
});

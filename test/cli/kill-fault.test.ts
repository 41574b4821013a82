// Fault test: the recorder is killed (SIGKILL) at seeded random moments — while it starts, while it writes the
// rrsnapshot into the qcow2 image, while it records. Whatever the moment, the image stays clean for real
// `qemu-img check` (leaks allowed, as after QEMU itself is killed; never corruption), and the recording the
// user named replays (complete, or its partial file up to its last whole chunk). The kill moments are random;
// no assertion depends on timing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { guestPath, prng, ROOT, tempDir } from "../helpers/sessions.js";
import { missingTool } from "../helpers/tools.js";

const SYSTEM = join(ROOT, "bin/rewind-system-aarch64.js");
const IMG = join(ROOT, "bin/rewind-img.js");
const RUNS = 10;

function machine(disk: string, rr: string): string[] {
  return ["-M", "virt", "-cpu", "cortex-a53", "-display", "none", "-serial", "null", "-net", "none", "-kernel", guestPath("compute-long.elf"),
    "-icount", `shift=7,${rr},rrsnapshot=init`, "-drive", `file=${disk},if=none`];
}

test(`the recorder killed at ${RUNS} random moments: the image stays clean and the recording replays`, { skip: missingTool("qemu-img"), timeout: 600_000 }, async (t) => {
  const rnd = prng(0xdead);
  const outcomes: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    const dir = tempDir("rewind-kill-");
    const disk = join(dir, "disk.qcow2");
    const file = join(dir, "rec.rwr");
    assert.equal(spawnSync(process.execPath, [IMG, "create", "-f", "qcow2", disk, "64M"]).status, 0);
    // Run 0 also has an earlier snapshot to replace (record creates or replaces rrsnapshot=init).
    if (run % 3 === 0) assert.equal(spawnSync(process.execPath, [IMG, "snapshot", "-c", "init", disk]).status, 0);
    // The first runs die while the process starts and writes the snapshot, the rest while it records.
    const delay = Math.floor(rnd() * (run < 4 ? 400 : 1500));
    const child = spawn(process.execPath, [SYSTEM, ...machine(disk, `rr=record,rrfile=${file}`)], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
    setTimeout(() => child.kill("SIGKILL"), delay);
    const signal = await exited;

    const check = spawnSync("qemu-img", ["check", disk], { encoding: "utf8" });
    assert.ok(check.status === 0 || check.status === 3, `run ${run} (killed after ${delay} ms): qemu-img check exit ${check.status}\n${check.stdout}${check.stderr}`);

    const partial = readdirSync(dir).filter((f) => f.startsWith("rec.rwr.tmp-"));
    if (!existsSync(file) && partial.length === 0) {
      outcomes.push(`run ${run}: killed after ${delay} ms before recording began (image check ${check.status})`);
      continue;
    }
    const replay = spawnSync(process.execPath, [SYSTEM, ...machine(disk, `rr=replay,rrfile=${file}`)], { encoding: "utf8", timeout: 300_000 });
    assert.equal(replay.status, 0, `run ${run} (killed after ${delay} ms, ${signal}): replay failed\n${replay.stderr}`);
    if (partial.length > 0) assert.match(replay.stderr, /partial recording/, `run ${run}`);
    outcomes.push(`run ${run}: killed after ${delay} ms, ${partial.length ? "partial recording replayed" : "complete recording replayed"} (image check ${check.status})`);
  }
  for (const o of outcomes) t.diagnostic(o);
  assert.ok(outcomes.some((o) => o.includes("partial recording replayed")), outcomes.join("\n"));
});

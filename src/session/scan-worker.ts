// A scan worker (scan-pool.ts): a replay session of the same recording on a machine of the same configuration,
// replaying the checkpoint intervals the main thread hands it and answering with the hits it collected.

import { parentPort } from "node:worker_threads";
import { createMachine, type BoardConfig } from "../boards/registry.js";
import { MachineSession } from "./session.js";
import type { ScanJob, WorkerMessage, WorkerReply } from "./scan-pool.js";

/** Jumps before the worker's engine compiles code (HOT_AFTER, 20,000, is tuned for whole boots). */
const WORKER_HOT_AFTER = 500;

const port = parentPort;
if (port === null) throw new Error("scan-worker.js runs as a worker thread");

let session: MachineSession | undefined;
/** Jobs run one at a time; a cancel names the running one. */
let cancelled = -1;
const queue: ScanJob[] = [];
let running = false;

const reply = (m: WorkerReply) => port.postMessage(m);

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    while (queue.length > 0) {
      const job = queue.shift()!;
      const r = await session!.scanInterval(job, () => cancelled === job.id);
      reply({ type: "result", reply: { id: job.id, ...r } });
    }
  } catch (e) {
    reply({ type: "error", message: e instanceof Error ? e.message : String(e) });
  } finally {
    running = false;
  }
}

port.on("message", (m: WorkerMessage) => {
  try {
    if (m.type === "init") {
      // Intervals are short and their code is hot already (the main thread found it so): compile it sooner.
      const config = { hotAfter: WORKER_HOT_AFTER, ...(m.spec.config as unknown as BoardConfig), serial: [], log: () => {} };
      // Checkpoints come from the main thread: this session never takes its own after the first.
      session = new MachineSession({ machine: createMachine(m.spec.board, config), mode: "replay", replay: m.source, checkpointInterval: Number.MAX_SAFE_INTEGER });
    } else if (m.type === "job") {
      queue.push(m.job);
      void drain();
    } else if (m.type === "cancel") cancelled = m.id;
  } catch (e) {
    reply({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
});

/**
 * Steps one side of the lockstep comparison ahead of the consumer, up to a window of snapshots, so a slow
 * side (QEMU: two socket round trips per step) works while the other side steps and the comparison runs.
 */
import type { LockstepTarget, RegisterSnapshot } from "./target.js";

export type StepItem =
  /** `insn`: the encoding the step executed, if the target knows it (see `lastInstruction`). */
  | { status: "running"; regs: RegisterSnapshot; insn?: number }
  | { status: "exited" }
  | { status: "error"; error: unknown };

export class RunAhead {
  private readonly queue: StepItem[] = [];
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;
  private stopped = false;
  private finished = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly target: LockstepTarget,
    private readonly window: number,
    private readonly maxSteps: number,
  ) {}

  start(): void {
    this.loop ??= this.produce();
  }

  /** The next step's outcome, or undefined once `maxSteps` were produced (or after `stop`). */
  async next(): Promise<StepItem | undefined> {
    while (this.queue.length === 0) {
      if (this.finished) return undefined;
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
    const item = this.queue.shift()!;
    this.wake("producer");
    return item;
  }

  /** Stops stepping; resolves once the step in flight (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake("producer");
    await this.loop;
  }

  private wake(who: "producer" | "consumer"): void {
    const f = who === "producer" ? this.wakeProducer : this.wakeConsumer;
    if (who === "producer") this.wakeProducer = undefined;
    else this.wakeConsumer = undefined;
    f?.();
  }

  private async produce(): Promise<void> {
    try {
      for (let n = 0; n < this.maxSteps && !this.stopped; n++) {
        while (this.queue.length >= this.window && !this.stopped) await new Promise<void>((r) => (this.wakeProducer = r));
        if (this.stopped) break;
        let item: StepItem;
        try {
          const status = await this.target.step();
          item = status === "exited"
            ? { status: "exited" }
            : { status: "running", regs: await this.target.registers(), insn: this.target.lastInstruction?.() };
        } catch (error) {
          item = { status: "error", error };
        }
        this.queue.push(item);
        this.wake("consumer");
        if (item.status !== "running") break;
      }
    } finally {
      this.finished = true;
      this.wake("consumer");
    }
  }
}

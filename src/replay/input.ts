// The one path by which anything from outside the machine reaches the guest.
//
// A board exposes input *channels* (a serial port's receiver, later a disk's completion queue). Host sources
// (a terminal, a socket) only queue bytes on a channel; the run loop calls `pump()` at a step boundary and the
// router decides what the guest sees there:
//   - live and record: queued input is delivered as far as the device can take it; in record mode every
//     delivery is logged as (icount, ticks, kind, payload);
//   - replay: host input is ignored; logged events are delivered at exactly their (icount, ticks).
// Nothing else may call a channel's deliver().

import type { VirtualClock } from "../core/clock.js";

export interface InputChannel {
  /** Event kind in recordings (see docs/recording-format.md). */
  readonly kind: number;
  readonly name: string;
  /** Whether the device can take one more unit of input now (e.g. the UART's RX FIFO has room). */
  ready(): boolean;
  /** Delivers one unit of input to the device. */
  deliver(payload: Uint8Array): void;
}

export interface LoggedInput {
  icount: number;
  ticks: number;
  kind: number;
  payload: Uint8Array;
}

export type InputMode = "live" | "record" | "replay";

export class ReplayDivergence extends Error {
  override name = "ReplayDivergence";
}

export class InputRouter {
  private readonly channels = new Map<number, InputChannel>();
  private readonly queues = new Map<number, Uint8Array[]>();
  /** Replay: the events still to deliver, in order, and the index of the next one. */
  private events: readonly LoggedInput[] = [];
  private next = 0;
  /** Record: where each delivered event goes. */
  onLogged: (e: LoggedInput) => void = () => {};
  /** Count of host inputs dropped because the machine is replaying. */
  ignoredWhileReplaying = 0;

  constructor(
    private readonly clock: VirtualClock,
    readonly mode: InputMode,
  ) {}

  addChannel(ch: InputChannel): void {
    if (this.channels.has(ch.kind)) throw new Error(`input kind ${ch.kind} registered twice`);
    this.channels.set(ch.kind, ch);
    this.queues.set(ch.kind, []);
  }

  /** Host side: queue input on a channel (each unit delivered separately, e.g. one byte). */
  submit(kind: number, units: Uint8Array[]): void {
    if (this.mode === "replay") {
      this.ignoredWhileReplaying += units.length;
      return;
    }
    const q = this.queues.get(kind);
    if (!q) throw new Error(`no input channel of kind ${kind}`);
    q.push(...units);
  }

  /** Host input waiting for the device to have room (live and record). */
  get pendingLive(): boolean {
    for (const q of this.queues.values()) if (q.length > 0) return true;
    return false;
  }

  /** Replay: the events to deliver (from the recording). */
  setReplayEvents(events: readonly LoggedInput[]): void {
    this.events = events;
    this.next = 0;
  }

  /** Replay: the next event to deliver, if any. */
  peekReplay(): LoggedInput | undefined {
    return this.events[this.next];
  }

  /** Replay: continue delivery from event index `index` (a position saved with a checkpoint). */
  seekReplayIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index > this.events.length) throw new Error(`bad replay position ${index}`);
    this.next = index;
  }

  /** Index of the next replay event (saved with checkpoints). */
  get replayPosition(): number {
    return this.next;
  }

  /**
   * Live and record: delivers one unit now, at the current step boundary (the machine is stopped there), and
   * logs it while recording. For host actions that must take effect at once: debugger writes, resets.
   */
  inject(kind: number, payload: Uint8Array): void {
    if (this.mode === "replay") throw new Error("host input cannot change a replayed machine");
    const ch = this.channels.get(kind);
    if (!ch) throw new Error(`no input channel of kind ${kind}`);
    ch.deliver(payload);
    if (this.mode === "record") this.onLogged({ icount: this.clock.icount, ticks: this.clock.ticks, kind, payload });
  }

  /** Delivers what the guest sees at this step boundary. Call after the machine stopped at a boundary. */
  pump(): void {
    if (this.mode === "replay") return this.pumpReplay();
    for (const [kind, q] of this.queues) {
      if (q.length === 0) continue;
      const ch = this.channels.get(kind)!;
      while (q.length > 0 && ch.ready()) {
        const payload = q.shift()!;
        ch.deliver(payload);
        if (this.mode === "record") this.onLogged({ icount: this.clock.icount, ticks: this.clock.ticks, kind, payload });
      }
    }
  }

  private pumpReplay(): void {
    const icount = this.clock.icount;
    const ticks = this.clock.ticks;
    while (this.next < this.events.length) {
      const e = this.events[this.next];
      if (e.icount > icount || (e.icount === icount && e.ticks > ticks)) return;
      if (e.icount < icount || e.ticks < ticks)
        throw new ReplayDivergence(
          `input event ${this.next} was recorded at icount ${e.icount} (time ${e.ticks}) but replay passed it (now icount ${icount}, time ${ticks})`,
        );
      const ch = this.channels.get(e.kind);
      if (!ch) throw new ReplayDivergence(`the recording has an input of kind ${e.kind}, which this machine does not have`);
      if (!ch.ready())
        throw new ReplayDivergence(`${ch.name} cannot take recorded input at icount ${icount}: the guest state differs from the recording`);
      ch.deliver(e.payload);
      this.next++;
    }
  }
}

// The seam between the run loop and whatever executes guest code (the interpreter today, a block compiler next).
//
// The run loop owns time: deadlines, the WFI time jump, when to stop. An engine owns the CPU: it executes steps
// (docs/icount.md) and counts them on the clock. The contract that keeps execution independent of how the host
// splits it into bursts:
//   - run at most `budget` steps and return exactly how many ran;
//   - at every step boundary inside the burst, take a pending unmasked interrupt before the next instruction,
//     exactly as a burst of one step would;
//   - end the burst after any step during which endBurst() was called (the clock calls it when a deadline moves
//     earlier; devices and the board call it for stops) — so an engine that runs several instructions without
//     looking at the CPU's flags (compiled code) must end its block at device and system-register accesses,
//     exception returns and mask changes, and look then;
//   - return 0 without executing anything when the CPU is halted (WFI) with nothing pending, or when a
//     breakpoint is on the next instruction.

export interface ExecutionEngine {
  runBurst(budget: number): number;
  /** Ends the running burst after the current step (no effect on the machine state). */
  endBurst(): void;
  /** Whether the last burst ended on a breakpoint or watchpoint; reading it clears it. */
  takeDebugStop(): boolean;
  /** The CPU is halted (WFI) and nothing pending would wake it: only time or outside input can. */
  waitingForInterrupt(): boolean;
}

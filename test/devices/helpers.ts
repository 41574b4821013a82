// Small fixtures shared by the device tests.

import type { IrqController } from "../../src/core/irq.js";
import { decodeState, encodeState, type StateFields, type Stateful } from "../../src/core/state.js";

/** An interrupt controller that only remembers the last level of each line. */
export class RecordingController implements IrqController {
  readonly levels = new Map<number, boolean>();
  changes = 0;
  setIrqLevel(line: number, level: boolean): void {
    this.levels.set(line, level);
    this.changes++;
  }
  level(line: number): boolean {
    return this.levels.get(line) ?? false;
  }
}

/** A device's saved state encoded canonically (what snapshots and digests see). */
export function encoded(dev: Stateful): Uint8Array {
  return encodeState([{ name: dev.stateName, version: dev.stateVersion, fields: dev.saveState() }]);
}

/** Saves a device and returns its fields after a trip through the binary encoding. */
export function savedThroughBytes(dev: Stateful): StateFields {
  return decodeState(encoded(dev))[0].fields;
}

// System control port A (port 0x92, "fast A20 and reset"), as QEMU 7.2's port92 device (hw/i386/pc.c,
// port92_write/read/reset): bit 1 drives the A20 gate, a 0 -> 1 transition of bit 0 requests a machine reset;
// the port reads back the last value written. Reset clears bit 0 only.

import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

const PORT92_STATE: StateDescription<Port92> = { version: 1, fields: [field.u8("outport")] };

export interface Port92Callbacks {
  /** The A20 gate output (true: A20 enabled). Called on every write, as QEMU sets its line on each write. */
  setA20(enabled: boolean): void;
  /** A guest-requested machine reset (QEMU qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET)). */
  requestReset(): void;
}

/** Map `ports` at 0x92 (1 port). */
export class Port92 implements Stateful {
  readonly stateVersion = PORT92_STATE.version;
  outport = 0;
  readonly ports: PortHandler;

  constructor(
    private readonly cb: Port92Callbacks,
    readonly stateName = "port92",
  ) {
    this.ports = {
      read: (off, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= (off + i === 0 ? this.outport : 0xff) << (8 * i);
        return v >>> 0;
      },
      write: (off, _size, v) => {
        if (off === 0) this.write(v & 0xff);
      },
    };
  }

  private write(val: number): void {
    const old = this.outport;
    this.outport = val;
    this.cb.setA20(((val >> 1) & 1) === 1);
    if (val & 1 && !(old & 1)) this.cb.requestReset();
  }

  /** Machine reset (QEMU port92_reset). */
  reset(): void {
    this.outport &= ~1;
  }

  saveState(): StateFields {
    return saveDescribed(PORT92_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(PORT92_STATE, this, f, version, this.stateName);
  }
}

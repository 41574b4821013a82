// QEMU's kvmvapic device as TCG runs it (hw/i386/kvmvapic.c, 7.2), for its option ROM genroms/kvmvapic.bin:
// the ROM's init code reports itself with a 16-bit OUT to port 0x7e whose value is the offset of its state
// block; QEMU then rewrites the ROM's hypercalls (`mov $1, %eax; vmcall` or AMD's vmmcall) into
// `mov $1, %eax; nop; out %eax, $0x7e`, which is all that changes guest memory before an OS writes the TPR.
// Not modelled: TPR access reporting and instruction patching for Windows XP guests (nothing here reads the
// TPR through the vapic), byte and dword writes (reactivation, IRQ polling).

import type { AddressSpace } from "../../core/memory.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

const ROM_BLOCK = 512;
const VMCALL = [0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x01]; // then 0xc1 (vmcall) or 0xd9 (vmmcall)
const OUTL = [0x90, 0xe7, 0x7e];

const STATE: StateDescription<KvmVapic> = { version: 1, fields: [field.bool("standby"), field.int("romStatePaddr", { max: 0xffffffff })] };

export class KvmVapic implements Stateful {
  readonly stateName = "kvmvapic";
  readonly stateVersion = STATE.version;
  standby = false;
  romStatePaddr = 0;
  readonly ports: PortHandler;

  constructor(
    private readonly bus: AddressSpace,
    /** CS.base + EIP of the instruction doing the OUT. */
    private readonly codeAddress: () => number,
  ) {
    this.ports = { read: () => 0xffffffff, write: (_o, size, v) => size === 2 && this.announce(v) };
  }

  private announce(offset: number): void {
    if (!this.standby) {
      this.romStatePaddr = ((this.codeAddress() & ~(ROM_BLOCK - 1)) >>> 0) + offset;
      this.standby = true;
    }
    const romPaddr = this.romStatePaddr & ~(ROM_BLOCK - 1);
    if (!this.bus.isMemory(romPaddr, 3)) return;
    const size = this.bus.readBytes(romPaddr + 2, 1)[0] * ROM_BLOCK;
    if (size === 0 || !this.bus.isMemory(romPaddr, size)) return;
    const rom = this.bus.readBytes(romPaddr, size);
    for (let pos = 0; pos < size - 8; pos++) {
      if (VMCALL.every((b, i) => rom[pos + i] === b) && (rom[pos + 7] === 0xc1 || rom[pos + 7] === 0xd9)) this.bus.writeBytes(romPaddr + pos + 5, Uint8Array.from(OUTL));
    }
  }

  saveState(): StateFields {
    return saveDescribed(STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(STATE, this, f, version, this.stateName);
  }
}

// Minimal Intel 8042 keyboard controller (data 0x60, status/command 0x64) with a PS/2 keyboard and mouse that
// answer commands but never produce input, following QEMU 7.2's hw/input/pckbd.c (kbd_write_command,
// kbd_write_data, kbd_read_data/status, kbd_update_irq with extended_state) and hw/input/ps2.c
// (ps2_write_keyboard; the mouse is simplified).
//
// What SeaBIOS does with it: controller self-test 0xaa -> 0x55, keyboard interface test 0xab -> 0x00, command
// byte reads/writes (0x20/0x60), port enables/disables (0xad/0xae/0xa7/0xa8) and keyboard reset 0xff ->
// 0xfa 0xaa. The output buffer holds one byte; controller replies take precedence over device bytes, and a
// disabled port's device bytes wait until it is enabled (kbd_pending). OBF only marks the source; the byte is
// taken from it when port 0x60 is read (kbd_read_data), as in QEMU. OBF drives IRQ1 (keyboard, command-byte
// bit 0) or IRQ12 (mouse, bit 1). The output port's A20 bit and reset pulses go to callbacks, as port 0x92's.
// Differences from QEMU: no key/mouse input or typematic; the mouse answers 0xff with fa aa 00, 0xf2 with fa 00,
// 0xe9 with fa 00 02 64, everything else with fa; the PS/2 queues are 16 bytes and a new command drops unread
// replies (ps2_cqueue_reset); the keyboard throttle timer (off on pc) is not modelled.

import type { IrqLine } from "../../core/irq.js";
import type { PortHandler } from "../../core/ports.js";
import type { StateFields, Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";

const STAT_OBF = 0x01;
const STAT_SELFTEST = 0x04;
const STAT_CMD = 0x08;
const STAT_UNLOCKED = 0x10;
const STAT_MOUSE_OBF = 0x20;

const MODE_KBD_INT = 0x01;
const MODE_MOUSE_INT = 0x02;
const MODE_DISABLE_KBD = 0x10;
const MODE_DISABLE_MOUSE = 0x20;
const MODE_KCC = 0x40;

const OUT_RESET = 0x01;
const OUT_A20 = 0x02;
const OUT_OBF = 0x10;
const OUT_MOUSE_OBF = 0x20;
const OUT_ONES = 0xcc;

const PENDING_KBD = MODE_DISABLE_KBD; // 0x10: matches the disable bit, as QEMU
const PENDING_AUX = MODE_DISABLE_MOUSE; // 0x20
const PENDING_CTRL_KBD = 0x04;
const PENDING_CTRL_AUX = 0x08;

const OBSRC_KBD = 0x01;
const OBSRC_MOUSE = 0x02;
const OBSRC_CTRL = 0x04;

const QUEUE_SIZE = 16;
const TRANSLATE_TABLE = [0x43, 0x41, 0x3f, 0x3d];

export interface I8042Callbacks {
  setA20(enabled: boolean): void;
  requestReset(): void;
}

/** A PS/2 device's reply queue (QEMU PS2Queue). */
class Ps2Queue {
  data = new Uint8Array(QUEUE_SIZE);
  rptr = 0;
  count = 0;
  /** -1: no command waiting for its parameter byte. */
  writeCmd = -1;
  push(...bytes: number[]): void {
    for (const b of bytes) {
      if (this.count >= QUEUE_SIZE) return;
      this.data[(this.rptr + this.count) % QUEUE_SIZE] = b & 0xff;
      this.count++;
    }
  }
  pop(): number {
    if (this.count === 0) return this.data[(this.rptr + QUEUE_SIZE - 1) % QUEUE_SIZE]; // QEMU: last byte again
    const b = this.data[this.rptr];
    this.rptr = (this.rptr + 1) % QUEUE_SIZE;
    this.count--;
    return b;
  }
  clear(): void {
    this.rptr = 0;
    this.count = 0;
  }
}

const QUEUE_STATE: StateDescription<Ps2Queue> = {
  version: 1,
  fields: [
    field.u8s("data", QUEUE_SIZE),
    field.u8("rptr", { max: QUEUE_SIZE - 1 }),
    field.u8("count", { max: QUEUE_SIZE }),
    field.int("writeCmd", { check: (v: number) => (v < -1 || v > 0xff ? "a command byte or -1" : undefined) }),
  ],
};

const I8042_STATE: StateDescription<I8042> = {
  version: 1,
  fields: [
    field.u8("writeCmd"),
    field.u8("status"),
    field.u8("mode"),
    field.u8("outport"),
    field.u8("pending"),
    field.u8("obdata"),
    field.u8("cbdata"),
    field.u8("obsrc"),
    field.bool("kbdScanEnabled"),
    field.u8("kbdScancodeSet", { max: 3 }),
    field.bool("kbdTranslate"),
    field.u8("kbdLeds"),
    field.section<I8042, Ps2Queue>("kbdQueue", (k) => k.kbd, QUEUE_STATE),
    field.section<I8042, Ps2Queue>("mouseQueue", (k) => k.mouse, QUEUE_STATE),
    field.bool("irqKbdLevel", { get: (k) => k.irqKbd.high, set: (k, v: boolean) => k.irqKbd.restore(v) }),
    field.bool("irqMouseLevel", { get: (k) => k.irqMouse.high, set: (k, v: boolean) => k.irqMouse.restore(v) }),
  ],
};

/** Map `dataPort` at 0x60 and `commandPort` at 0x64 (1 port each). IRQ1 and IRQ12 are ISA lines. */
export class I8042 implements Stateful {
  readonly stateVersion = I8042_STATE.version;
  writeCmd = 0;
  status = STAT_CMD | STAT_UNLOCKED;
  mode = MODE_KBD_INT | MODE_MOUSE_INT;
  outport = OUT_RESET | OUT_A20 | OUT_ONES;
  pending = 0;
  obdata = 0;
  cbdata = 0;
  obsrc = 0;
  kbdScanEnabled = true;
  kbdScancodeSet = 2;
  kbdTranslate = false;
  kbdLeds = 0;
  readonly kbd = new Ps2Queue();
  readonly mouse = new Ps2Queue();
  readonly dataPort: PortHandler;
  readonly commandPort: PortHandler;

  constructor(
    readonly irqKbd: IrqLine,
    readonly irqMouse: IrqLine,
    private readonly cb: I8042Callbacks,
    readonly stateName = "i8042",
  ) {
    const onePort = (rd: () => number, wr: (v: number) => void): PortHandler => ({
      read: (off, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= (off + i === 0 ? rd() : 0xff) << (8 * i);
        return v >>> 0;
      },
      write: (off, _size, v) => {
        if (off === 0) wr(v & 0xff);
      },
    });
    this.dataPort = onePort(
      () => this.readData(),
      (v) => this.writeData(v),
    );
    this.commandPort = onePort(
      () => this.status,
      (v) => this.writeCommand(v),
    );
  }

  /** Machine reset (QEMU kbd_reset + ps2 resets). */
  reset(): void {
    this.mode = MODE_KBD_INT | MODE_MOUSE_INT;
    this.status = STAT_CMD | STAT_UNLOCKED;
    this.outport = OUT_RESET | OUT_A20 | OUT_ONES;
    this.pending = 0;
    this.writeCmd = 0;
    this.obsrc = 0;
    this.resetKeyboard();
    this.kbd.writeCmd = -1;
    this.mouse.clear();
    this.mouse.writeCmd = -1;
    this.updateIrqLines();
  }

  private resetKeyboard(): void {
    this.kbdScanEnabled = true;
    this.kbdScancodeSet = 2;
    this.kbd.clear();
    this.kbdLeds = 0;
  }

  /** Which sources have a byte and are not disabled (QEMU kbd_pending). */
  private pendingNow(): number {
    return this.pending & (~this.mode & (PENDING_KBD | PENDING_AUX) | PENDING_CTRL_KBD | PENDING_CTRL_AUX);
  }

  private updateIrqLines(): void {
    let kbd = false;
    let mouse = false;
    if (this.status & STAT_OBF) {
      if (this.status & STAT_MOUSE_OBF) mouse = (this.mode & MODE_MOUSE_INT) !== 0;
      else kbd = (this.mode & MODE_KBD_INT) !== 0 && !(this.mode & MODE_DISABLE_KBD);
    }
    this.irqKbd.set(kbd);
    this.irqMouse.set(mouse);
  }

  /** Marks the output buffer full for the highest-priority pending source (QEMU kbd_update_irq); the byte
   * itself is taken from that source when the guest reads port 0x60 (kbd_read_data). */
  private updateIrq(): void {
    const pending = this.pendingNow();
    this.status &= ~(STAT_OBF | STAT_MOUSE_OBF);
    this.outport &= ~(OUT_OBF | OUT_MOUSE_OBF);
    if (pending) {
      this.status |= STAT_OBF;
      this.outport |= OUT_OBF;
      if (pending & PENDING_CTRL_KBD) {
        this.obsrc = OBSRC_CTRL;
      } else if (pending & PENDING_CTRL_AUX) {
        this.status |= STAT_MOUSE_OBF;
        this.outport |= OUT_MOUSE_OBF;
        this.obsrc = OBSRC_CTRL;
      } else if (pending & PENDING_KBD) {
        this.obsrc = OBSRC_KBD;
      } else {
        this.status |= STAT_MOUSE_OBF;
        this.outport |= OUT_MOUSE_OBF;
        this.obsrc = OBSRC_MOUSE;
      }
    }
    this.updateIrqLines();
  }

  /** Only refill when the output buffer is empty (QEMU kbd_safe_update_irq). */
  private safeUpdateIrq(): void {
    if (this.status & STAT_OBF) return;
    if (this.pending) this.updateIrq();
  }

  /** A PS/2 device's queue changed (QEMU kbd_update_kbd_irq / kbd_update_aux_irq). */
  private devicesChanged(): void {
    this.pending = (this.pending & ~(PENDING_KBD | PENDING_AUX)) | (this.kbd.count ? PENDING_KBD : 0) | (this.mouse.count ? PENDING_AUX : 0);
    this.safeUpdateIrq();
  }

  private queueCtrl(b: number, aux: boolean): void {
    this.cbdata = b & 0xff;
    this.pending &= ~(PENDING_CTRL_KBD | PENDING_CTRL_AUX);
    this.pending |= aux ? PENDING_CTRL_AUX : PENDING_CTRL_KBD;
    this.safeUpdateIrq();
  }

  private setOutport(val: number): void {
    this.outport = val;
    this.cb.setA20(((val >> 1) & 1) === 1);
    if (!(val & 1)) this.cb.requestReset();
  }

  private writeCommand(val: number): void {
    switch (val) {
      case 0x20: // read command byte
        this.queueCtrl(this.mode, false);
        break;
      case 0x60:
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.writeCmd = val;
        break;
      case 0xa7:
        this.mode |= MODE_DISABLE_MOUSE;
        break;
      case 0xa8:
        this.mode &= ~MODE_DISABLE_MOUSE;
        this.safeUpdateIrq();
        break;
      case 0xa9: // test mouse port
        this.queueCtrl(0x00, false);
        break;
      case 0xaa: // self-test
        this.status |= STAT_SELFTEST;
        this.queueCtrl(0x55, false);
        break;
      case 0xab: // keyboard interface test
        this.queueCtrl(0x00, false);
        break;
      case 0xad:
        this.mode |= MODE_DISABLE_KBD;
        break;
      case 0xae:
        this.mode &= ~MODE_DISABLE_KBD;
        this.safeUpdateIrq();
        break;
      case 0xc0: // read input port
        this.queueCtrl(0x80, false);
        break;
      case 0xd0: // read output port
        this.queueCtrl(this.outport, false);
        break;
      case 0xdd:
        this.outport &= ~OUT_A20;
        this.cb.setA20(false);
        break;
      case 0xdf:
        this.outport |= OUT_A20;
        this.cb.setA20(true);
        break;
      default:
        if (val >= 0xf0) {
          if (!(val & 1)) this.cb.requestReset(); // pulse output bit 0 (0xfe: reset)
        }
        break; // unimplemented commands are ignored (QEMU logs them)
    }
  }

  private writeData(val: number): void {
    switch (this.writeCmd) {
      case 0:
        this.keyboardWrite(val);
        this.mode &= ~MODE_DISABLE_KBD; // writing to the keyboard re-enables its interface
        this.safeUpdateIrq();
        break;
      case 0x60:
        this.kbdTranslate = (val & MODE_KCC) !== 0;
        this.mode = val;
        this.safeUpdateIrq();
        this.updateIrqLines();
        break;
      case 0xd1:
        this.setOutport(val);
        break;
      case 0xd2:
        this.queueCtrl(val, false);
        break;
      case 0xd3:
        this.queueCtrl(val, true);
        break;
      case 0xd4:
        this.mouseWrite(val);
        this.mode &= ~MODE_DISABLE_MOUSE;
        this.safeUpdateIrq();
        break;
      default:
        break;
    }
    this.writeCmd = 0;
  }

  /** QEMU ps2_write_keyboard. */
  private keyboardWrite(val: number): void {
    const q = this.kbd;
    q.clear(); // ps2_cqueue_reset: unread replies to an earlier command are dropped
    const ACK = 0xfa;
    const RESEND = 0xfe;
    switch (q.writeCmd) {
      case 0xfb: // set make/break parameter
      case 0xf3: // set rate parameter
        q.push(ACK);
        q.writeCmd = -1;
        break;
      case 0xf0: // scancode set parameter
        if (val === 0) q.push(ACK, this.kbdTranslate ? TRANSLATE_TABLE[this.kbdScancodeSet] : this.kbdScancodeSet);
        else if (val >= 1 && val <= 3) {
          this.kbdScancodeSet = val;
          q.push(ACK);
        } else q.push(RESEND);
        q.writeCmd = -1;
        break;
      case 0xed: // LEDs parameter
        this.kbdLeds = val;
        q.push(ACK);
        q.writeCmd = -1;
        break;
      default:
        switch (val) {
          case 0x00:
            q.push(ACK);
            break;
          case 0x05:
            q.push(RESEND);
            break;
          case 0xf2:
            q.push(ACK, 0xab, this.kbdTranslate ? 0x41 : 0x83);
            break;
          case 0xee:
            q.push(0xee);
            break;
          case 0xf4:
            this.kbdScanEnabled = true;
            q.push(ACK);
            break;
          case 0xf0:
          case 0xed:
          case 0xf3:
          case 0xfb:
            q.writeCmd = val;
            q.push(ACK);
            break;
          case 0xf5:
            this.resetKeyboard();
            this.kbdScanEnabled = false;
            q.push(ACK);
            break;
          case 0xf6:
            this.resetKeyboard();
            q.push(ACK);
            break;
          case 0xff:
            this.resetKeyboard();
            q.push(ACK, 0xaa);
            break;
          case 0xfa:
            q.push(ACK);
            break;
          default:
            q.push(RESEND);
            break;
        }
    }
    this.devicesChanged();
  }

  private mouseWrite(val: number): void {
    const q = this.mouse;
    q.clear();
    if (q.writeCmd !== -1) {
      q.push(0xfa);
      q.writeCmd = -1;
    } else if (val === 0xff) q.push(0xfa, 0xaa, 0x00);
    else if (val === 0xf2) q.push(0xfa, 0x00);
    else if (val === 0xe9) q.push(0xfa, 0x00, 0x02, 0x64);
    else {
      if (val === 0xe8 || val === 0xf3) q.writeCmd = val;
      q.push(0xfa);
    }
    this.devicesChanged();
  }

  /** QEMU kbd_read_data: the byte comes from the source that filled the buffer, which then refills it. */
  private readData(): number {
    if (this.status & STAT_OBF) {
      this.status &= ~(STAT_OBF | STAT_MOUSE_OBF); // kbd_deassert_irq
      this.outport &= ~(OUT_OBF | OUT_MOUSE_OBF);
      this.updateIrqLines();
      if (this.obsrc & OBSRC_KBD) {
        this.obdata = this.kbd.pop();
        this.devicesChanged();
      } else if (this.obsrc & OBSRC_MOUSE) {
        this.obdata = this.mouse.pop();
        this.devicesChanged();
      } else if (this.obsrc & OBSRC_CTRL) {
        this.obdata = this.cbdata; // kbd_dequeue
        this.pending &= ~(PENDING_CTRL_KBD | PENDING_CTRL_AUX);
        if (this.pending) this.updateIrq();
      }
    }
    return this.obdata;
  }

  saveState(): StateFields {
    return saveDescribed(I8042_STATE, this);
  }
  loadState(f: StateFields, version: number): void {
    loadDescribed(I8042_STATE, this, f, version, this.stateName);
  }
}

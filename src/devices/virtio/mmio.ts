// The virtio-mmio transport (virtio 1.x §4.2), as QEMU 7.2's hw/virtio/virtio-mmio.c presents it on `virt`.
//
// QEMU's virt board creates 32 transports of 0x200 bytes at 0x0a000000 (SPI 16 + n) and, by default, in the
// legacy layout (version 1: `force-legacy=true`, guest page size and queue PFN registers); version 2 ("modern":
// queue addresses, QueueReady, 64-bit features with VIRTIO_F_VERSION_1) is the same class with `legacy: false`.
// A slot without a device answers the magic value, the version and the vendor and reads 0 elsewhere, so the guest
// sees DeviceID 0 and skips it. Interrupt: level = (InterruptStatus != 0), as in QEMU.
//
// Determinism: a QueueNotify write processes the queue's available requests at once, inside the guest's store
// instruction, and the completion interrupt is raised there; nothing depends on host timing.

import type { IrqLine } from "../../core/irq.js";
import type { AddressSpace, MmioHandler } from "../../core/memory.js";
import { StateError, type StateFields, type Stateful } from "../../core/state.js";
import { field, loadDescribed, saveDescribed, type StateDescription } from "../../core/vmstate.js";
import { VirtioError, VirtQueue, VIRTQUEUE_MAX_SIZE, VIRTQUEUE_STATE, type Chain } from "./virtqueue.js";

export const VIRTIO_MMIO_SIZE = 0x200;
const MAGIC = 0x74726976; // "virt"
const VENDOR_QEMU = 0x554d4551; // "QEMU"

// Register offsets.
const R = {
  magic: 0x000, version: 0x004, deviceId: 0x008, vendorId: 0x00c,
  deviceFeatures: 0x010, deviceFeaturesSel: 0x014, driverFeatures: 0x020, driverFeaturesSel: 0x024,
  guestPageSize: 0x028, queueSel: 0x030, queueNumMax: 0x034, queueNum: 0x038, queueAlign: 0x03c, queuePfn: 0x040,
  queueReady: 0x044, queueNotify: 0x050, interruptStatus: 0x060, interruptAck: 0x064, status: 0x070,
  queueDescLow: 0x080, queueDescHigh: 0x084, queueDriverLow: 0x090, queueDriverHigh: 0x094,
  queueDeviceLow: 0x0a0, queueDeviceHigh: 0x0a4, shmSel: 0x0ac, shmLenLow: 0x0b0, shmLenHigh: 0x0b4,
  shmBaseLow: 0x0b8, shmBaseHigh: 0x0bc, configGeneration: 0x0fc, config: 0x100,
} as const;

export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

export const ISR_USED = 1;
export const ISR_CONFIG = 2;

// Transport feature bits.
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_RING_INDIRECT_DESC = 28;
export const VIRTIO_F_RING_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** 64 feature bits as two 32-bit words. */
export type Features = [lo: number, hi: number];
export const hasFeature = (f: Features, bit: number): boolean => ((f[bit >> 5] >>> (bit & 31)) & 1) === 1;
export const featureBits = (...bits: number[]): Features => {
  const f: Features = [0, 0];
  for (const b of bits) f[b >> 5] = (f[b >> 5] | (1 << (b & 31))) >>> 0;
  return f;
};

/** What a device tells its transport: a few calls, the TinyEMU way. */
export interface VirtioHost {
  readonly bus: AddressSpace;
  /** Negotiated features. */
  readonly features: Features;
  /** Completes a chain: puts it on the used ring (the transport interrupts once per batch). */
  complete(queue: number, chain: Chain, written: number): void;
}

/** A device behind a transport (virtio-blk, ...). */
export interface VirtioDevice extends Stateful {
  readonly deviceId: number;
  /** Feature bits offered, device and transport ones (VERSION_1 is added by a modern transport). */
  readonly hostFeatures: Features;
  readonly queueSizes: readonly number[];
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** The driver kicked `queue`: take its chains with `pop` and complete each through the host. */
  process(queue: number, pop: () => Chain | undefined, host: VirtioHost): void;
  /** Device reset (status 0): back to power-on, except media contents. */
  reset(): void;
}

interface TransportRegs {
  status: number;
  isr: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeaturesLo: number;
  driverFeaturesHi: number;
  guestPageSize: number;
  queueSel: number;
  configGeneration: number;
  broken: boolean;
}

export class VirtioMmio implements MmioHandler, Stateful, VirtioHost {
  readonly stateVersion = 1;
  readonly queues: VirtQueue[];
  private readonly regs: TransportRegs = {
    status: 0, isr: 0, deviceFeaturesSel: 0, driverFeaturesSel: 0, driverFeaturesLo: 0, driverFeaturesHi: 0,
    guestPageSize: 4096, queueSel: 0, configGeneration: 0, broken: false,
  };
  /** Set when a malformed queue stopped the device (for diagnostics). */
  lastError = "";
  private readonly description: StateDescription<VirtioMmio>;

  constructor(
    readonly bus: AddressSpace,
    private readonly irq: IrqLine,
    readonly device: VirtioDevice | undefined,
    readonly stateName: string,
    readonly legacy = true,
    private readonly log: (line: string) => void = () => {},
  ) {
    // QEMU answers QueueNumMax with VIRTQUEUE_MAX_SIZE for every queue a device has, whatever its queue-size.
    this.queues = (device?.queueSizes ?? []).map(() => new VirtQueue(VIRTQUEUE_MAX_SIZE));
    const regs: StateDescription<TransportRegs> = {
      version: 1,
      fields: [
        field.u8("status"), field.u32("isr", { max: 3 }), field.u32("deviceFeaturesSel"), field.u32("driverFeaturesSel"),
        field.u32("driverFeaturesLo"), field.u32("driverFeaturesHi"), field.u32("guestPageSize"), field.u32("queueSel"),
        field.u32("configGeneration"), field.bool("broken"),
      ],
    };
    this.description = {
      version: 1,
      fields: [
        field.section<VirtioMmio, TransportRegs>("regs", (t) => t.regs, regs),
        ...this.queues.map((_, i) => field.section<VirtioMmio, VirtQueue>(`queue${i}`, (t) => t.queues[i]!, VIRTQUEUE_STATE)),
      ],
      postLoad: (t) => t.irq.restore(t.regs.isr !== 0),
    };
  }

  get features(): Features {
    return [this.regs.driverFeaturesLo, this.regs.driverFeaturesHi];
  }

  /** The features offered: the device's, plus VERSION_1 for a modern transport (never for a legacy one). */
  private offered(): Features {
    const f = this.device!.hostFeatures;
    return this.legacy ? [f[0], 0] : [f[0], (f[1] | 1) >>> 0];
  }

  private get queue(): VirtQueue | undefined {
    return this.queues[this.regs.queueSel];
  }

  read(offset: number, size: number): number {
    const r = this.regs;
    const dev = this.device;
    if (offset >= R.config) {
      return dev ? dev.readConfig(offset - R.config, size) >>> 0 : 0;
    }
    if (size !== 4) return 0; // QEMU: registers are 32-bit only
    if (offset === R.magic) return MAGIC;
    if (offset === R.version) return this.legacy ? 1 : 2;
    if (offset === R.vendorId) return VENDOR_QEMU;
    if (!dev) return 0;
    const q = this.queue;
    switch (offset) {
      case R.deviceId:
        return dev.deviceId;
      case R.deviceFeatures:
        if (this.legacy) return r.deviceFeaturesSel === 0 ? this.offered()[0] : 0;
        return r.deviceFeaturesSel < 2 ? this.offered()[r.deviceFeaturesSel]! : 0;
      case R.queueNumMax:
        return q ? q.maxSize : 0;
      case R.queuePfn:
        return this.legacy && q ? q.pfn : 0;
      case R.queueReady:
        return !this.legacy && q ? (q.ready ? 1 : 0) : 0;
      case R.interruptStatus:
        return r.isr;
      case R.status:
        return r.status;
      case R.configGeneration:
        return this.legacy ? 0 : r.configGeneration;
      case R.queueDescLow: return !this.legacy && q ? q.descAddr >>> 0 : 0;
      case R.queueDescHigh: return !this.legacy && q ? Math.floor(q.descAddr / 2 ** 32) : 0;
      case R.queueDriverLow: return !this.legacy && q ? q.availAddr >>> 0 : 0;
      case R.queueDriverHigh: return !this.legacy && q ? Math.floor(q.availAddr / 2 ** 32) : 0;
      case R.queueDeviceLow: return !this.legacy && q ? q.usedAddr >>> 0 : 0;
      case R.queueDeviceHigh: return !this.legacy && q ? Math.floor(q.usedAddr / 2 ** 32) : 0;
      case R.shmLenLow:
      case R.shmLenHigh:
      case R.shmBaseLow:
      case R.shmBaseHigh:
        return 0xffffffff; // no shared memory regions
      default:
        return 0; // write-only and reserved registers
    }
  }

  write(offset: number, size: number, value: number): void {
    const dev = this.device;
    if (!dev) return;
    value >>>= 0;
    const r = this.regs;
    if (offset >= R.config) {
      dev.writeConfig(offset - R.config, size, value);
      return;
    }
    if (size !== 4) return;
    const q = this.queue;
    const hi = value * 2 ** 32;
    switch (offset) {
      case R.deviceFeaturesSel:
        r.deviceFeaturesSel = value;
        break;
      case R.driverFeaturesSel:
        r.driverFeaturesSel = value;
        break;
      case R.driverFeatures: {
        if (r.status & STATUS_FEATURES_OK) break; // frozen once accepted
        const sel = r.driverFeaturesSel;
        if (sel === 0) r.driverFeaturesLo = (value & this.offered()[0]) >>> 0;
        else if (sel === 1 && !this.legacy) r.driverFeaturesHi = (value & this.offered()[1]) >>> 0;
        break;
      }
      case R.guestPageSize:
        // QEMU keeps the shift of the lowest set bit (0 when none).
        if (this.legacy) r.guestPageSize = value === 0 ? 1 : 2 ** (31 - Math.clz32(value & -value));
        for (const vq of this.queues) if (vq.pfn) vq.setLegacyLayout(r.guestPageSize);
        break;
      case R.queueSel:
        r.queueSel = value;
        break;
      case R.queueNum:
        if (!q) break;
        q.num = value;
        if (this.legacy) q.setLegacyLayout(r.guestPageSize);
        break;
      case R.queueAlign:
        if (!q || !this.legacy) break;
        q.align = value;
        q.setLegacyLayout(r.guestPageSize);
        break;
      case R.queuePfn:
        if (!q || !this.legacy) break;
        if (value === 0) this.reset(); // as QEMU: a zero PFN resets the whole device
        else {
          q.pfn = value;
          q.setLegacyLayout(r.guestPageSize);
        }
        break;
      case R.queueReady:
        if (q && !this.legacy) q.ready = (value & 1) === 1;
        break;
      case R.queueDescLow: if (q && !this.legacy) q.descAddr = Math.floor(q.descAddr / 2 ** 32) * 2 ** 32 + value; break;
      case R.queueDescHigh: if (q && !this.legacy) q.descAddr = hi + (q.descAddr >>> 0); break;
      case R.queueDriverLow: if (q && !this.legacy) q.availAddr = Math.floor(q.availAddr / 2 ** 32) * 2 ** 32 + value; break;
      case R.queueDriverHigh: if (q && !this.legacy) q.availAddr = hi + (q.availAddr >>> 0); break;
      case R.queueDeviceLow: if (q && !this.legacy) q.usedAddr = Math.floor(q.usedAddr / 2 ** 32) * 2 ** 32 + value; break;
      case R.queueDeviceHigh: if (q && !this.legacy) q.usedAddr = hi + (q.usedAddr >>> 0); break;
      case R.queueNotify:
        this.notify(value & 0xffff);
        break;
      case R.interruptAck:
        r.isr = (r.isr & ~value) >>> 0;
        this.updateIrq();
        break;
      case R.status:
        this.setStatus(value & 0xff);
        break;
      default:
        break;
    }
  }

  private setStatus(value: number): void {
    const r = this.regs;
    if (value === 0) {
      this.reset();
      return;
    }
    if (!this.legacy && value & STATUS_FEATURES_OK && !(r.status & STATUS_FEATURES_OK)) {
      // A modern driver must accept VERSION_1; otherwise FEATURES_OK does not stick (the driver reads it back).
      if (!hasFeature(this.features, VIRTIO_F_VERSION_1)) value &= ~STATUS_FEATURES_OK;
    }
    r.status = value;
  }

  /** Device reset: registers, queues and the device's own state; the interrupt line drops. */
  reset(): void {
    const r = this.regs;
    r.status = r.isr = r.deviceFeaturesSel = r.driverFeaturesSel = r.driverFeaturesLo = r.driverFeaturesHi = 0;
    r.queueSel = 0;
    r.broken = false;
    r.guestPageSize = 4096;
    for (const q of this.queues) q.reset();
    this.device?.reset();
    this.updateIrq();
  }

  private notify(index: number): void {
    const r = this.regs;
    const q = this.queues[index];
    const dev = this.device!;
    if (!q || r.broken || !(r.status & STATUS_DRIVER_OK) || !q.ready) return;
    const opts = {
      eventIdx: hasFeature(this.features, VIRTIO_F_RING_EVENT_IDX),
      indirect: hasFeature(this.features, VIRTIO_F_RING_INDIRECT_DESC),
    };
    const before = q.usedIdx;
    try {
      dev.process(index, () => q.pop(this.bus, opts), this);
    } catch (e) {
      if (!(e instanceof VirtioError)) throw e;
      this.fail(e.message);
    }
    if (q.usedIdx !== before && q.shouldNotify(this.bus, opts.eventIdx)) this.raise(ISR_USED);
  }

  complete(queue: number, chain: Chain, written: number): void {
    this.queues[queue]!.push(this.bus, chain.head, written);
  }

  /** virtio_error: the device stops; a modern driver is told through NEEDS_RESET and a config interrupt. */
  private fail(message: string): void {
    const r = this.regs;
    r.broken = true;
    this.lastError = message;
    this.log(`${this.stateName}: ${message}; the device stops until the driver resets it`);
    if (!this.legacy) {
      r.status |= STATUS_NEEDS_RESET;
      r.configGeneration = (r.configGeneration + 1) >>> 0;
      this.raise(ISR_CONFIG);
    }
  }

  get broken(): boolean {
    return this.regs.broken;
  }
  get status(): number {
    return this.regs.status;
  }

  private raise(bits: number): void {
    this.regs.isr |= bits;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.irq.set(this.regs.isr !== 0);
  }

  saveState(): StateFields {
    const f = saveDescribed(this.description, this);
    if (this.device) {
      f.device = this.device.saveState();
      f.deviceVersion = this.device.stateVersion;
    }
    return f;
  }

  loadState(f: StateFields, version: number): void {
    const dev = f.device;
    if (this.device && (typeof dev !== "object" || dev === null || Array.isArray(dev) || ArrayBuffer.isView(dev)))
      throw new StateError(`${this.stateName}: field device is missing`);
    const devVersion = f.deviceVersion;
    if (this.device && (typeof devVersion !== "number" || devVersion < 1 || devVersion > this.device.stateVersion))
      throw new StateError(`${this.stateName}: device state version ${String(devVersion)} is not one this build loads`);
    loadDescribed(this.description, this, f, version, this.stateName);
    if (this.device) this.device.loadState(dev as StateFields, devVersion as number);
  }
}

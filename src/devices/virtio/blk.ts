// virtio-blk (virtio 1.x §5.2), as QEMU 7.2's virtio-blk-device: one request queue (queue-size 256 sets seg_max;
// the transport offers up to 1024 entries, as QEMU's QueueNumMax does), 512-byte
// sectors, read, write, flush and get-id; read-only drives offer VIRTIO_BLK_F_RO and fail writes.
//
// Determinism and writes. The guest's disk is a function of the machine's initial state and inputs, never of
// when the host got around to an I/O:
//   - requests complete synchronously in the QueueNotify store that kicks the queue (see mmio.ts), so their
//     completion is at a fixed position, in live, record and replay runs alike;
//   - the image file is never written while the machine runs. Every sector the guest writes goes to an
//     in-memory overlay (sector -> 512 bytes) that is part of this device's saved state, so checkpoints,
//     snapshots and digests carry it: a reverse debugger that seeks back before a write restores the overlay of
//     that point and the guest reads the old data again. Reads take the overlay first, then the image.
//   - The image is opened read-only for the whole run. `commitOverlay` writes the overlay into it when a live
//     run ends (the CLI reopens it writable then); record and replay runs never write the image, so a recording
//     replays against the same disk it was made with (and a killed run leaves the image as it was).
// Disk data therefore never enters the recording, and the image is only changed through the block layer.

import type { BlockDevice } from "../../block/block-device.js";
import { StateError, type StateFields, type StateValue } from "../../core/state.js";
import { featureBits, VIRTIO_F_ANY_LAYOUT, VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_INDIRECT_DESC, type VirtioDevice, type VirtioHost } from "./mmio.js";
import { gather, scatter, totalLength, VirtioError, type Chain } from "./virtqueue.js";

export const VIRTIO_ID_BLOCK = 2;
export const SECTOR = 512;
const QUEUE_SIZE = 256;

export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
const VIRTIO_BLK_T_BARRIER = 0x8000_0000;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
const ID_BYTES = 20;
/** The most data one request may move (a bigger one fails with IOERR rather than allocating without bound). */
const MAX_REQUEST_BYTES = 64 << 20;

/** Sectors the disk reads from when the overlay does not have them: a BlockDevice, or anything shaped like one. */
export type BlkBacking = Pick<BlockDevice, "size" | "read">;

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly stateVersion = 1;
  readonly queueSizes = [QUEUE_SIZE];
  readonly hostFeatures;
  /** Capacity in 512-byte sectors. */
  readonly sectors: number;
  /** Written sectors not in the image (see the header). */
  private overlay = new Map<number, Uint8Array>();
  /** The saved form of the overlay, kept until the next write (checkpoints save often, write rarely). */
  private savedOverlay: { sectors: number[]; data: Uint8Array } | undefined;
  private writeback = 1;

  constructor(
    private backing: BlkBacking,
    readonly readOnly: boolean,
    readonly stateName = "virtio-blk",
  ) {
    this.sectors = Math.floor(backing.size / SECTOR);
    const bits = [VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE,
      VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_ANY_LAYOUT, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX];
    if (readOnly) bits.push(VIRTIO_BLK_F_RO);
    this.hostFeatures = featureBits(...bits);
  }

  /** The image was reopened (its content is what the guest should see from here on, e.g. after a snapshot load). */
  replaceBacking(backing: BlkBacking): void {
    if (Math.floor(backing.size / SECTOR) !== this.sectors) throw new RangeError(`${this.stateName}: the image changed size`);
    this.backing = backing;
  }

  /** Sectors written since the image was opened (or last committed). */
  get dirtySectors(): number {
    return this.overlay.size;
  }

  private config(): Uint8Array {
    const c = new Uint8Array(60);
    const v = new DataView(c.buffer);
    v.setUint32(0, this.sectors >>> 0, true);
    v.setUint32(4, Math.floor(this.sectors / 2 ** 32), true);
    v.setUint32(12, QUEUE_SIZE - 2, true); // seg_max, as QEMU
    v.setUint32(20, SECTOR, true); // blk_size
    c[32] = this.writeback;
    v.setUint16(34, 1, true); // num_queues
    return c;
  }

  readConfig(offset: number, size: number): number {
    const c = this.config();
    if (offset + size > c.length) return 0;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + c[offset + i]!;
    return v;
  }

  writeConfig(offset: number, size: number, value: number): void {
    if (offset === 32 && size === 1) this.writeback = value & 1;
  }

  reset(): void {
    this.writeback = 1;
  }

  process(queue: number, pop: () => Chain | undefined, host: VirtioHost): void {
    if (queue !== 0) return;
    for (let chain = pop(); chain; chain = pop()) {
      const written = this.request(chain, host);
      host.complete(0, chain, written);
    }
  }

  /** Handles one request; returns the bytes written into the guest's buffers. */
  private request(chain: Chain, host: VirtioHost): number {
    const bus = host.bus;
    const inLen = totalLength(chain.writable);
    if (totalLength(chain.readable) < 16 || inLen < 1) throw new VirtioError("virtio-blk request without its header or status byte");
    const hdr = gather(bus, chain.readable, 16);
    const dv = new DataView(hdr.buffer);
    const type = (dv.getUint32(0, true) & ~VIRTIO_BLK_T_BARRIER) >>> 0;
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
    const dataIn = inLen - 1;
    const status = (s: number, n = 0) => {
      scatter(bus, chain.writable, Uint8Array.of(s), inLen - 1);
      return n + 1;
    };
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (!this.rangeOk(sector, dataIn)) return status(VIRTIO_BLK_S_IOERR);
        let data: Uint8Array;
        try {
          data = this.readSectors(sector, dataIn / SECTOR);
        } catch {
          return status(VIRTIO_BLK_S_IOERR);
        }
        scatter(bus, chain.writable, data);
        return status(VIRTIO_BLK_S_OK, dataIn);
      }
      case VIRTIO_BLK_T_OUT: {
        const len = totalLength(chain.readable) - 16;
        if (this.readOnly || !this.rangeOk(sector, len)) return status(VIRTIO_BLK_S_IOERR);
        const data = gather(bus, chain.readable, 16 + len).subarray(16);
        this.writeSectors(sector, data);
        return status(VIRTIO_BLK_S_OK);
      }
      case VIRTIO_BLK_T_FLUSH:
        return status(VIRTIO_BLK_S_OK); // the overlay is the write cache; the image is written when the run ends
      case VIRTIO_BLK_T_GET_ID: {
        const n = Math.min(ID_BYTES, dataIn);
        scatter(bus, chain.writable, new Uint8Array(n)); // QEMU without serial=: an empty, zero-filled id
        return status(VIRTIO_BLK_S_OK, n);
      }
      default:
        return status(VIRTIO_BLK_S_UNSUPP);
    }
  }

  private rangeOk(sector: number, bytes: number): boolean {
    return bytes % SECTOR === 0 && bytes <= MAX_REQUEST_BYTES && sector + bytes / SECTOR <= this.sectors;
  }

  /** The disk's contents (overlay over image) at sectors [sector, sector + count). */
  readSectors(sector: number, count: number): Uint8Array {
    const out = new Uint8Array(count * SECTOR);
    let runStart = -1;
    const flushRun = (end: number) => {
      if (runStart < 0) return;
      out.set(this.backing.read((sector + runStart) * SECTOR, (end - runStart) * SECTOR), runStart * SECTOR);
      runStart = -1;
    };
    for (let i = 0; i < count; i++) {
      const o = this.overlay.get(sector + i);
      if (o) {
        flushRun(i);
        out.set(o, i * SECTOR);
      } else if (runStart < 0) runStart = i;
    }
    flushRun(count);
    return out;
  }

  writeSectors(sector: number, data: Uint8Array): void {
    for (let i = 0; i * SECTOR < data.length; i++) this.overlay.set(sector + i, data.slice(i * SECTOR, (i + 1) * SECTOR));
    if (data.length) this.savedOverlay = undefined;
  }

  /** Writes the overlay into `image` (contiguous sectors at once), flushes it and empties the overlay. */
  commitOverlay(image: Pick<BlockDevice, "write" | "flush">): number {
    const sectors = [...this.overlay.keys()].sort((a, b) => a - b);
    for (let i = 0; i < sectors.length; ) {
      let j = i + 1;
      while (j < sectors.length && sectors[j] === sectors[j - 1]! + 1 && j - i < 2048) j++;
      const buf = new Uint8Array((j - i) * SECTOR);
      for (let k = i; k < j; k++) buf.set(this.overlay.get(sectors[k]!)!, (k - i) * SECTOR);
      image.write(sectors[i]! * SECTOR, buf);
      i = j;
    }
    image.flush();
    this.overlay.clear();
    this.savedOverlay = undefined;
    return sectors.length;
  }

  saveState(): StateFields {
    if (!this.savedOverlay) {
      const sectors = [...this.overlay.keys()].sort((a, b) => a - b);
      const data = new Uint8Array(sectors.length * SECTOR);
      sectors.forEach((s, i) => data.set(this.overlay.get(s)!, i * SECTOR));
      this.savedOverlay = { sectors, data };
    }
    // The arrays are shared between saves until the next write; nothing mutates a saved state.
    return { writeback: this.writeback, overlaySectors: this.savedOverlay.sectors, overlayData: this.savedOverlay.data };
  }

  loadState(f: StateFields, _version: number): void {
    const where = this.stateName;
    const wb = f.writeback;
    const sectors = f.overlaySectors as StateValue;
    const data = f.overlayData;
    if (wb !== 0 && wb !== 1) throw new StateError(`${where}.writeback must be 0 or 1`);
    if (!Array.isArray(sectors) || !sectors.every((s, i) => typeof s === "number" && Number.isInteger(s) && s >= 0 && s < this.sectors && (i === 0 || s > (sectors[i - 1] as number))))
      throw new StateError(`${where}.overlaySectors must be increasing sector numbers below ${this.sectors}`);
    if (!(data instanceof Uint8Array) || data.length !== sectors.length * SECTOR)
      throw new StateError(`${where}.overlayData must hold ${sectors.length} sectors`);
    this.writeback = wb;
    this.overlay = new Map((sectors as number[]).map((s, i) => [s, data.slice(i * SECTOR, (i + 1) * SECTOR)]));
    this.savedOverlay = { sectors: [...(sectors as number[])], data };
  }
}

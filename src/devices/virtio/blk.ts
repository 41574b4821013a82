// virtio-blk (virtio 1.x §5.2), as QEMU 7.2's virtio-blk-device: one request queue (queue-size 256 sets seg_max;
// the transport offers up to 1024 entries, as QEMU's QueueNumMax does), 512-byte
// sectors, read, write, flush, get-id, discard and write-zeroes; read-only drives offer VIRTIO_BLK_F_RO and fail
// writes. The geometry is QEMU's guess from the image's first sector (hd-geometry.c), as Linux's HDIO_GETGEO shows.
// Discard leaves the data as it was, as QEMU's default -drive discard=ignore does; write-zeroes zeroes the sectors
// (in the overlay, where a zeroed sector is one shared entry, so a large request costs no sector buffers).
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
export const VIRTIO_BLK_F_GEOMETRY = 4;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
/** QEMU's BDRV_REQUEST_MAX_SECTORS (INT_MAX >> 9, rounded down to whole sectors): the discard and write-zeroes limits. */
const MAX_DISCARD_SECTORS = 0x3fffff;
const VIRTIO_BLK_T_BARRIER = 0x8000_0000;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
const ID_BYTES = 20;
/** The most data one request may move (a bigger one fails with IOERR rather than allocating without bound). */
const MAX_REQUEST_BYTES = 64 << 20;

/** Sectors the disk reads from when the overlay does not have them: a BlockDevice, or anything shaped like one. */
export type BlkBacking = Pick<BlockDevice, "size" | "read">;

/** The overlay's entry for a sector that write-zeroes cleared (shared; never written through). */
const ZERO_SECTOR = new Uint8Array(SECTOR);

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

/**
 * QEMU's hd_geometry_guess for a disk without a probed geometry: from an MS-DOS partition table whose first used
 * entry ends on a cylinder boundary (when that gives at most 16 heads), otherwise 16 heads and 63 sectors per
 * track with the cylinders the size gives, clamped to 2..16383.
 */
export function guessGeometry(totalSectors: number, firstSector: Uint8Array): DiskGeometry {
  const forSize = (): DiskGeometry => ({ cylinders: Math.min(16383, Math.max(2, Math.floor(totalSectors / (16 * 63)))), heads: 16, sectors: 63 });
  if (firstSector.length < SECTOR || firstSector[510] !== 0x55 || firstSector[511] !== 0xaa) return forSize();
  const v = new DataView(firstSector.buffer, firstSector.byteOffset, SECTOR);
  for (let i = 0; i < 4; i++) {
    const p = 0x1be + 16 * i;
    const endHead = firstSector[p + 5]!;
    const nrSects = v.getUint32(p + 12, true);
    if (nrSects === 0 || endHead === 0) continue;
    const heads = endHead + 1;
    const sectors = firstSector[p + 6]! & 63;
    if (sectors === 0) continue;
    const cylinders = Math.floor(totalSectors / (heads * sectors));
    if (cylinders < 1 || cylinders > 16383) continue;
    // A guess with more than 16 heads means the BIOS translated: QEMU then uses the standard physical geometry.
    return heads > 16 ? forSize() : { cylinders, heads, sectors };
  }
  return forSize();
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  /** 2: the overlay's zeroed sectors as runs (overlayZeroRuns). */
  readonly stateVersion = 2;
  readonly queueSizes = [QUEUE_SIZE];
  readonly hostFeatures;
  /** Capacity in 512-byte sectors. */
  readonly sectors: number;
  /** Written sectors not in the image (see the header). */
  private overlay = new Map<number, Uint8Array>();
  /** The saved form of the overlay, kept until the next write (checkpoints save often, write rarely). */
  private savedOverlay: { sectors: number[]; data: Uint8Array; zeroRuns: number[] } | undefined;
  private writeback = 1;
  readonly geometry: DiskGeometry;

  constructor(
    private backing: BlkBacking,
    readonly readOnly: boolean,
    readonly stateName = "virtio-blk",
  ) {
    this.sectors = Math.floor(backing.size / SECTOR);
    // QEMU guesses once, when the device is created: from the image as the machine starts.
    this.geometry = guessGeometry(this.sectors, this.sectors > 0 ? backing.read(0, SECTOR) : new Uint8Array(0));
    const bits = [VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY,
      VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
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
    v.setUint16(16, this.geometry.cylinders, true);
    c[18] = this.geometry.heads;
    c[19] = this.geometry.sectors;
    v.setUint32(20, SECTOR, true); // blk_size
    c[32] = this.writeback;
    v.setUint16(34, 1, true); // num_queues
    v.setUint32(36, MAX_DISCARD_SECTORS, true); // max_discard_sectors
    v.setUint32(40, 1, true); // max_discard_seg: one segment per request, as QEMU
    v.setUint32(44, 1, true); // discard_sector_alignment: the block size in sectors
    v.setUint32(48, MAX_DISCARD_SECTORS, true); // max_write_zeroes_sectors
    v.setUint32(52, 1, true); // max_write_zeroes_seg
    c[56] = 1; // write_zeroes_may_unmap
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
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES:
        return status(this.discardOrZero(chain, host, type === VIRTIO_BLK_T_WRITE_ZEROES));
      default:
        return status(VIRTIO_BLK_S_UNSUPP);
    }
  }

  /** A discard or write-zeroes request (one 16-byte segment: sector, num_sectors, flags), as QEMU 7.2 checks it. */
  private discardOrZero(chain: Chain, host: VirtioHost, zero: boolean): number {
    const outLen = totalLength(chain.readable) - 16;
    if (outLen > 16) return VIRTIO_BLK_S_UNSUPP; // more than one segment
    if (outLen < 16) throw new VirtioError("virtio-blk discard/write_zeroes header too short");
    const seg = new DataView(gather(host.bus, chain.readable, 32).buffer, 16);
    const sector = seg.getUint32(0, true) + seg.getUint32(4, true) * 2 ** 32;
    const count = seg.getUint32(8, true);
    const flags = seg.getUint32(12, true);
    if (count > MAX_DISCARD_SECTORS || sector > this.sectors || count > this.sectors - sector) return VIRTIO_BLK_S_IOERR;
    if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return VIRTIO_BLK_S_UNSUPP;
    if (!zero) return flags !== 0 ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_OK; // discard=ignore: the data stays
    if (this.readOnly) return VIRTIO_BLK_S_IOERR;
    for (let i = 0; i < count; i++) this.overlay.set(sector + i, ZERO_SECTOR);
    if (count) this.savedOverlay = undefined;
    return VIRTIO_BLK_S_OK;
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
      const all = [...this.overlay.keys()].sort((a, b) => a - b);
      const sectors = all.filter((s) => this.overlay.get(s) !== ZERO_SECTOR);
      const data = new Uint8Array(sectors.length * SECTOR);
      sectors.forEach((s, i) => data.set(this.overlay.get(s)!, i * SECTOR));
      // Zeroed sectors as [first, count] runs: write-zeroes may clear gigabytes.
      const zeroRuns: number[] = [];
      for (const s of all) {
        if (this.overlay.get(s) !== ZERO_SECTOR) continue;
        const n = zeroRuns.length;
        if (n > 0 && zeroRuns[n - 2]! + zeroRuns[n - 1]! === s) zeroRuns[n - 1]!++;
        else zeroRuns.push(s, 1);
      }
      this.savedOverlay = { sectors, data, zeroRuns };
    }
    // The arrays are shared between saves until the next write; nothing mutates a saved state.
    const o = this.savedOverlay;
    return { writeback: this.writeback, overlaySectors: o.sectors, overlayData: o.data, ...(o.zeroRuns.length ? { overlayZeroRuns: o.zeroRuns } : {}) };
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
    const runs = f.overlayZeroRuns ?? [];
    if (!Array.isArray(runs) || runs.length % 2 !== 0 || !runs.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)
      || !runs.every((x, i) => i % 2 === 1 || (x as number) + (runs[i + 1] as number) <= this.sectors))
      throw new StateError(`${where}.overlayZeroRuns must be [first, count] sector runs on the disk`);
    this.writeback = wb;
    const overlay = new Map<number, Uint8Array>();
    for (let i = 0; i < runs.length; i += 2) for (let k = 0; k < (runs[i + 1] as number); k++) overlay.set((runs[i] as number) + k, ZERO_SECTOR);
    (sectors as number[]).forEach((s, i) => overlay.set(s, data.slice(i * SECTOR, (i + 1) * SECTOR)));
    this.overlay = overlay;
    this.savedOverlay = { sectors: [...(sectors as number[])], data, zeroRuns: runs as number[] };
  }
}

import type { ImageFile } from "../file-io.js";
import { u32 } from "../be.js";
import { parseHeader, type Qcow2Header } from "./header.js";
import { Refcounts, maxRefcount } from "./refcounts.js";
import { readSnapshotTable, snapshotId, snapshotName } from "./snapshot-table.js";
import { decodeL2, l1Offset, l1Reserved, rawHi, rawLo } from "./entries.js";
import { MAX_L1_BYTES } from "./constants.js";

/** What `qemu-img check` reports, with the same counting rules. */
export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  /** Per-problem lines, in the order qemu-img prints them to stderr. */
  messages: string[];
  imageEndOffset: number;
  totalClusters: number;
  allocatedClusters: number;
  fragmentedClusters: number;
  compressedClusters: number;
}

const hex = (n: number) => n.toString(16);
const entryHex = (t: Uint8Array, i: number) =>
  (BigInt(rawHi(t, i)) << 32n | BigInt(rawLo(t, i))).toString(16);

/**
 * Checks a qcow2 image the way QEMU's qcow2_check_refcounts() does: recount every reference (header, L1/L2
 * tables, data clusters of the active image and every snapshot, snapshot table, refcount table and blocks),
 * compare with the stored refcounts (stored < counted: corruption; stored > counted: leak), then verify the
 * COPIED flags of the active tables against the stored refcounts. Never modifies the image.
 */
export function checkQcow2(file: ImageFile): CheckResult {
  const fileSize = file.size();
  const first = file.read(0, Math.min(fileSize, 2 * 1024 * 1024));
  const h = parseHeader(first, fileSize);
  return new Checker(file, h).run();
}

class Checker {
  private readonly cs: number;
  private readonly cb: number;
  private readonly fileClusters: number;
  private counted: Uint32Array;
  private countedBeyond = new Map<number, number>();
  private readonly refMax: number;
  private readonly r: CheckResult;
  private refcounts: Refcounts;
  private nextContiguous = 0;

  constructor(private readonly file: ImageFile, private readonly h: Qcow2Header) {
    this.cb = h.clusterBits;
    this.cs = 2 ** h.clusterBits;
    this.fileClusters = Math.ceil(file.size() / this.cs);
    this.counted = new Uint32Array(this.fileClusters);
    this.refMax = maxRefcount(h.refcountOrder);
    this.refcounts = Refcounts.load(file, h.clusterBits, h.refcountOrder, h.refcountTableOffset,
      h.refcountTableClusters, false);
    this.r = {
      corruptions: 0, leaks: 0, checkErrors: 0, messages: [], imageEndOffset: 0,
      totalClusters: Math.ceil(h.size / this.cs), allocatedClusters: 0, fragmentedClusters: 0,
      compressedClusters: 0,
    };
  }

  run(): CheckResult {
    const { h, cs } = this;
    this.inc(0, cs);
    this.checkL1(h.l1TableOffset, h.l1Size, true);
    const table = readSnapshotTable(this.file, h.snapshotsOffset, h.nbSnapshots, cs, false);
    for (const sn of table.entries) {
      const label = `snapshot ${snapshotId(sn)} (${snapshotName(sn)})`;
      if (!Number.isFinite(sn.l1Offset) || sn.l1Offset % cs !== 0) {
        this.corrupt(`ERROR ${label} l1_offset=${Number.isFinite(sn.l1Offset) ? "0x" + hex(sn.l1Offset) : "(huge)"}: L1 table is not cluster aligned; snapshot table entry corrupted`);
        continue;
      }
      if (sn.l1Size * 8 > MAX_L1_BYTES) {
        this.corrupt(`ERROR ${label} l1_size=0x${hex(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`);
        continue;
      }
      this.checkL1(sn.l1Offset, sn.l1Size, false);
    }
    if (h.nbSnapshots > 0) this.inc(h.snapshotsOffset, table.size);
    this.inc(h.refcountTableOffset, h.refcountTableClusters * cs);
    this.checkRefblocks();
    this.compare();
    this.checkCopiedFlags();
    return this.r;
  }

  private corrupt(msg: string): void {
    this.r.corruptions++;
    this.r.messages.push(msg);
  }

  private getCounted(c: number): number {
    return c < this.counted.length ? this.counted[c]! : this.countedBeyond.get(c) ?? 0;
  }

  /** Counts one reference to every cluster overlapping [offset, offset+size). */
  private inc(offset: number, size: number): void {
    if (size <= 0 || !Number.isFinite(offset)) return;
    const firstC = Math.floor(offset / this.cs);
    const lastC = Math.floor((offset + size - 1) / this.cs);
    for (let c = firstC; c <= lastC; c++) {
      const n = this.getCounted(c);
      if (n >= this.refMax) {
        this.corrupt(`ERROR: overflow cluster offset=0x${hex(c * this.cs)}`);
        continue;
      }
      if (c < this.counted.length) this.counted[c] = n + 1;
      else this.countedBeyond.set(c, n + 1);
    }
  }

  private checkL1(offset: number, size: number, active: boolean): void {
    if (size === 0) return;
    this.inc(offset, size * 8);
    const l1 = this.file.read(offset, size * 8);
    for (let i = 0; i < size; i++) {
      if (l1Reserved(l1, i) !== 0) this.corrupt(`ERROR found L1 entry with reserved bits set: ${entryHex(l1, i)}`);
      const l2 = l1Offset(l1, i);
      if (l2 === 0) continue;
      this.inc(l2, this.cs);
      if (l2 % this.cs !== 0) {
        this.corrupt(`ERROR l2_offset=${hex(l2)}: Table is not cluster aligned; L1 entry corrupted`);
        continue;
      }
      this.checkL2(this.file.read(l2, this.cs), active);
    }
  }

  private checkL2(t: Uint8Array, active: boolean): void {
    this.nextContiguous = 0; // QEMU tracks contiguity per L2 table
    for (let j = 0; j < this.cs / 8; j++) {
      const e = decodeL2(t, j, this.cb);
      if (e.reserved !== 0) this.corrupt(`ERROR found L2 entry with reserved bits set: ${entryHex(t, j)}`);
      if (e.kind === "compressed") {
        if (e.copied) {
          this.corrupt(`ERROR: coffset=0x${hex(e.offset)}: copied flag must never be set for compressed clusters`);
        }
        if (active) {
          this.r.allocatedClusters++;
          this.r.compressedClusters++;
          this.r.fragmentedClusters++; // compressed clusters are fragmented by nature (QEMU counts them so)
        }
        this.inc(e.offset, e.compressedBytes);
      } else if (e.kind === "normal" || e.kind === "zero-alloc") {
        if (e.offset % this.cs !== 0) {
          this.corrupt(e.kind === "normal"
            ? `ERROR offset=${hex(e.offset)}: Data cluster is not properly aligned; L2 entry corrupted.`
            : `ERROR offset=${hex(e.offset)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`);
        }
        if (active) {
          this.r.allocatedClusters++;
          if (this.nextContiguous && e.offset !== this.nextContiguous) this.r.fragmentedClusters++;
          this.nextContiguous = e.offset + this.cs;
        }
        this.inc(e.offset, this.cs);
      }
    }
  }

  private checkRefblocks(): void {
    const t = this.refcounts.table;
    for (let i = 0; i < t.length; i++) {
      const off = t[i]!;
      if (off === 0) continue;
      if (!Number.isFinite(off) || off % this.cs !== 0) {
        this.corrupt(`ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`);
        continue;
      }
      if (off / this.cs >= this.fileClusters) {
        this.corrupt(`ERROR refcount block ${i} is outside image`);
        continue;
      }
      this.inc(off, this.cs);
      const n = this.getCounted(off / this.cs);
      if (n !== 1) this.corrupt(`ERROR refcount block ${i} refcount=${n}`);
    }
  }

  /** Stored refcount, or null (with a check error) when its refcount block cannot be read. */
  private stored(c: number, report: boolean): number | null {
    const b = this.refcounts.blockIndex(c);
    const off = b < this.refcounts.table.length ? this.refcounts.table[b]! : 0;
    if (off === 0) return 0;
    if (!Number.isFinite(off) || off % this.cs !== 0 || off >= this.file.size()) {
      if (report) {
        this.r.checkErrors++;
        this.r.messages.push(`Can't get refcount for cluster ${c}: Input/output error`);
      }
      return null;
    }
    return this.refcounts.get(c);
  }

  private compare(): void {
    // Clusters inside the file, then referenced clusters past its end (never a loop over a huge bogus range).
    const beyond = [...this.countedBeyond.keys()].sort((a, b) => a - b);
    const clusters = function* (n: number) {
      for (let c = 0; c < n; c++) yield c;
      yield* beyond;
    };
    let highest = -1;
    for (const c of clusters(this.fileClusters)) {
      const stored = this.stored(c, true);
      if (stored === null) continue;
      const counted = this.getCounted(c);
      if (stored > 0 || counted > 0) highest = c;
      if (stored !== counted) {
        const kind = stored < counted ? "ERROR" : "Leaked";
        this.r.messages.push(`${kind} cluster ${c} refcount=${stored} reference=${counted}`);
        if (stored < counted) this.r.corruptions++;
        else this.r.leaks++;
      }
    }
    this.r.imageEndOffset = (highest + 1) * this.cs;
  }

  private checkCopiedFlags(): void {
    const { h, cs } = this;
    if (h.l1Size === 0) return;
    const l1 = this.file.read(h.l1TableOffset, h.l1Size * 8);
    for (let i = 0; i < h.l1Size; i++) {
      const l2 = l1Offset(l1, i);
      if (l2 === 0) continue;
      const rc = this.stored(Math.floor(l2 / cs), false);
      if (rc === null) continue;
      const copied = (u32(l1, i * 8) & 0x8000_0000) !== 0;
      if ((rc === 1) !== copied) {
        this.corrupt(`ERROR OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${entryHex(l1, i)} refcount=${rc}`);
      }
      if (l2 % cs !== 0) continue;
      const t = this.file.read(l2, cs);
      for (let j = 0; j < cs / 8; j++) {
        const e = decodeL2(t, j, this.cb);
        if (e.kind !== "normal" && e.kind !== "zero-alloc") continue;
        const drc = this.stored(Math.floor(e.offset / cs), false);
        if (drc === null) continue;
        if ((drc === 1) !== e.copied) {
          this.corrupt(`ERROR OFLAG_COPIED data cluster: l2_entry=${entryHex(t, j)} refcount=${drc}`);
        }
      }
    }
  }
}


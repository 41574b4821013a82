import type { ImageFile } from "../file-io.js";
import { ImageError } from "../errors.js";
import { u16, u32 } from "../be.js";
import { getRefEntry, maxRefcount } from "./refcounts.js";
import { rebuildRefcounts, fixL2EntryByZero, markCleanAndConsistent } from "./repair.js";

/** What `qemu-img check` reports, with the same counting rules. */
export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  /** Per-problem lines, in the order qemu-img prints them to stderr. */
  messages: string[];
  imageEndOffset: number;
  totalClusters: number;
  allocatedClusters: number;
  fragmentedClusters: number;
  compressedClusters: number;
  /** Set when the check itself failed (qemu-img prints no summary, only "Check failed: <reason>"). */
  failure?: string;
}

/** `qemu-img check -r` modes (BDRV_FIX_LEAKS, BDRV_FIX_ERRORS). */
export const FIX_LEAKS = 1;
export const FIX_ERRORS = 2;

// Entry masks of QEMU's qcow2.h, as BigInts (entries are 64-bit; offsets may exceed 2^53 in damaged images).
const L1E_OFFSET_MASK = 0x00ff_ffff_ffff_fe00n;
const L1E_RESERVED_MASK = 0x7f00_0000_0000_01ffn;
const L2E_OFFSET_MASK = 0x00ff_ffff_ffff_fe00n;
const L2E_STD_RESERVED_MASK = 0x3f00_0000_0000_01fen;
const REFT_OFFSET_MASK = 0xffff_ffff_ffff_fe00n;
const REFT_RESERVED_MASK = 0x1ffn;
const OFLAG_COPIED = 1n << 63n;
/** A refcount-table slot with no block. */
const EMPTY = new Uint8Array(0);
const OFLAG_COMPRESSED = 1n << 62n;
const OFLAG_ZERO = 1n;
const MAX_L1_SIZE = 0x200_0000; // bytes
const MAX_REFTABLE_SIZE = 0x80_0000;
const MAX_SNAPSHOTS = 65536;
const SNAPSHOT_HEADER_SIZE = 40;
const MAX_SNAPSHOT_EXTRA_DATA = 1024;
const MAX_SNAPSHOTS_SIZE = MAX_SNAPSHOTS * 1024;
const INT64_MAX = (1n << 63n) - 1n;
const KNOWN_INCOMPAT = 0x1fn;

const hx = (n: bigint | number) => n.toString(16);
const be64 = (b: Uint8Array, at: number) => (BigInt(u32(b, at)) << 32n) | BigInt(u32(b, at + 4));
const toNum = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));

interface SnapshotInfo {
  id: string;
  name: string;
  l1Offset: bigint;
  l1Size: number;
}

/** The image state qcow2_do_open() builds, read the way QEMU reads it (past the end of the file reads zeros). */
export interface CheckState {
  version: number;
  clusterBits: number;
  clusterSize: number;
  size: bigint;
  refcountOrder: number;
  incompatible: bigint;
  l1Size: number;
  l1Offset: bigint;
  l1: bigint[];
  reftableOffset: bigint;
  reftableClusters: number;
  reftable: bigint[];
  snapshotsOffset: bigint;
  snapshotsSize: number;
  snapshots: SnapshotInfo[];
  /** Snapshot entries that lie entirely inside the file (the rest are "incomplete"). */
  completeSnapshots: number;
}

/** qcow2_do_open()'s validation in QEMU 7.2 (for a check); throws ImageError where qemu-img cannot open. */
export function openForCheck(file: ImageFile): CheckState {
  const fileSize = file.size();
  const hdr = file.read(0, 104);
  if (u32(hdr, 0) !== 0x514649fb) throw new ImageError("Image is not in qcow2 format");
  const version = u32(hdr, 4);
  if (version < 2 || version > 3) throw new ImageError(`Unsupported qcow2 version ${version}`);
  const clusterBits = u32(hdr, 20);
  if (clusterBits < 9 || clusterBits > 21) throw new ImageError(`Unsupported cluster size: 2^${clusterBits}`);
  const cs = 2 ** clusterBits;
  let headerLength = 72;
  let refcountOrder = 4;
  let incompatible = 0n;
  if (version === 3) {
    headerLength = u32(hdr, 100);
    if (headerLength < 104) throw new ImageError("qcow2 header too short");
    if (headerLength > cs) throw new ImageError("qcow2 header exceeds cluster size");
    incompatible = be64(hdr, 72);
    refcountOrder = u32(hdr, 96);
  }
  const backingOffset = be64(hdr, 8);
  if (backingOffset > BigInt(cs)) throw new ImageError("Invalid backing file offset");
  const first = file.read(0, cs);
  // Header extensions (qcow2_read_extensions): only their framing matters here.
  const extEnd = backingOffset !== 0n ? Number(backingOffset) : cs;
  let at = headerLength;
  while (at < extEnd) {
    if (at + 8 > extEnd) throw new ImageError(`qcow2_read_extension: ERROR: Header extension too large`);
    const type = u32(first, at);
    const len = u32(first, at + 4);
    at += 8;
    if (len > extEnd - at) throw new ImageError("Header extension too large");
    if (type === 0) break;
    if (type === 0x0537be77) throw new ImageError("encrypted qcow2 images are not supported");
    if (type === 0x44415441) throw new ImageError("qcow2 images with an external data file are not supported");
    at += Math.ceil(len / 8) * 8;
  }
  if (incompatible & ~KNOWN_INCOMPAT) {
    const bits: string[] = [];
    for (let b = 0n; b < 64n; b++) if ((incompatible >> b) & 1n && !((KNOWN_INCOMPAT >> b) & 1n)) bits.push(`Unknown incompatible feature: ${1n << b}`);
    throw new ImageError(`Unsupported qcow2 feature(s): ${bits.join(", ")}`);
  }
  if (incompatible & 0x4n) throw new ImageError("qcow2 images with an external data file are not supported");
  if (incompatible & 0x10n) throw new ImageError("qcow2 extended L2 entries are not supported");
  if (refcountOrder > 6) throw new ImageError("Reference count entry width too large; may not exceed 64 bits");
  const crypt = u32(hdr, 32);
  if (crypt > 2) throw new ImageError(`Unsupported encryption method: ${crypt}`);
  if (crypt !== 0) throw new ImageError("encrypted qcow2 images are not supported");
  const compression = headerLength > 104 ? first[104]! : 0;
  if (compression !== 0) throw new ImageError(`qcow2: unknown compression type: ${compression}`);
  if (incompatible & 0x8n) throw new ImageError("qcow2: Compression type incompatible feature bit must not be set");

  const reftableOffset = be64(hdr, 48);
  const reftableClusters = u32(hdr, 56);
  const refblockBits = clusterBits + 3 - refcountOrder;
  // qcow2_max_refcount_clusters(): enough refcount table for 2^64 bytes, capped at QEMU's limit.
  const maxRefClusters = Math.min(Math.floor(MAX_REFTABLE_SIZE / cs),
    2 ** Math.max(0, 64 - clusterBits - refblockBits - (clusterBits - 3)));
  if (reftableClusters > maxRefClusters) throw new ImageError("Reference count table too large");
  validateTable(reftableOffset, BigInt(reftableClusters), BigInt(cs), MAX_REFTABLE_SIZE, cs, "Reference count table");
  const nbSnapshots = u32(hdr, 60);
  const snapshotsOffset = be64(hdr, 64);
  validateTable(snapshotsOffset, BigInt(nbSnapshots), 40n, MAX_SNAPSHOTS * 40, cs, "Snapshot table");
  const l1Size = u32(hdr, 36);
  if (l1Size > MAX_L1_SIZE / 8) throw new ImageError("Active L1 table too large");
  const size = be64(hdr, 24);
  const l2Bits = clusterBits - 3;
  const shift = BigInt(clusterBits + l2Bits);
  const l1VmStateIndex = (size + (1n << shift) - 1n) >> shift;
  if (l1VmStateIndex > 0x7fff_ffffn) throw new ImageError("Image is too big");
  if (BigInt(l1Size) < l1VmStateIndex) throw new ImageError("L1 table is too small");
  const l1Offset = be64(hdr, 40);
  if (l1Size > 0) validateTable(l1Offset, BigInt(l1Size), 8n, MAX_L1_SIZE, cs, "Active L1 table");
  if (backingOffset !== 0n) {
    const len = u32(hdr, 16);
    if (len > 1023 || len >= cs) throw new ImageError("Backing file name too long");
    // The name lies in the header cluster; refcounts and mappings do not involve the backing image.
  }

  const l1 = readEntries(file, l1Offset, l1Size);
  const reftable = readEntries(file, reftableOffset, reftableClusters * (cs / 8));
  // qcow2_read_snapshots()
  const snapshots: SnapshotInfo[] = [];
  let off = snapshotsOffset;
  let complete = nbSnapshots;
  for (let i = 0; i < nbSnapshots; i++) {
    off = (off + 7n) & ~7n;
    const h = readAt(file, off, SNAPSHOT_HEADER_SIZE);
    off += BigInt(SNAPSHOT_HEADER_SIZE);
    const idSize = u16(h, 12);
    const nameSize = u16(h, 14);
    const extra = u32(h, 36);
    if (extra > MAX_SNAPSHOT_EXTRA_DATA) {
      throw new ImageError(`Too much extra metadata in snapshot table entry ${i}\n` +
        "You can force-remove this extra metadata with qemu-img check -r all");
    }
    off += BigInt(extra);
    const id = Buffer.from(readAt(file, off, idSize)).toString("utf8");
    off += BigInt(idSize);
    const name = Buffer.from(readAt(file, off, nameSize)).toString("utf8");
    off += BigInt(nameSize);
    if (off - snapshotsOffset > BigInt(MAX_SNAPSHOTS_SIZE)) throw new ImageError("Snapshot table is too big");
    snapshots.push({ id, name, l1Offset: be64(h, 0), l1Size: u32(h, 8) });
    if (off > BigInt(fileSize) && complete === nbSnapshots) complete = i;
  }
  return {
    version, clusterBits, clusterSize: cs, size, refcountOrder, incompatible, l1Size, l1Offset, l1,
    reftableOffset, reftableClusters, reftable, snapshotsOffset, snapshotsSize: Number(off - snapshotsOffset),
    snapshots, completeSnapshots: complete,
  };
}

/** qcow2_validate_table(). */
function validateTable(offset: bigint, entries: bigint, entryLen: bigint, maxBytes: number, cs: number,
  name: string): void {
  if (entries > BigInt(maxBytes) / entryLen) throw new ImageError(`${name} too large`);
  if (INT64_MAX - entries * entryLen < offset || offset % BigInt(cs) !== 0n) {
    throw new ImageError(`${name} offset invalid`);
  }
}

/** Reads like bdrv_pread: bytes past the end of the file (or at absurd offsets) are zeros. */
function readAt(file: ImageFile, offset: bigint, length: number): Uint8Array {
  if (length <= 0) return new Uint8Array(0);
  if (offset >= BigInt(file.size())) return new Uint8Array(length);
  return file.read(Number(offset), length);
}

function readEntries(file: ImageFile, offset: bigint, count: number): bigint[] {
  const b = readAt(file, offset, count * 8);
  const out: bigint[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = be64(b, i * 8);
  return out;
}

/**
 * Checks a qcow2 image exactly as QEMU 7.2's qcow2_check_refcounts() does (same messages, same counting):
 * recount every reference, compare with the stored refcounts (stored < counted: corruption; stored > counted:
 * leak), verify the COPIED flags of the active tables. With `fix` (FIX_LEAKS, FIX_ERRORS) it repairs what
 * QEMU repairs; otherwise it never writes. Throws ImageError where qemu-img cannot open the image.
 */
export function checkQcow2(file: ImageFile, fix = 0): CheckResult {
  const s = openForCheck(file);
  return new Checker(file, s, fix).run();
}

/** A failed bdrv_pread (offset beyond what the block layer accepts): qemu-img aborts the check. */
class CheckAbort extends Error {}
const BDRV_MAX_LENGTH = (1n << 63n) - (1n << 32n);

export class Checker {
  readonly cs: number;
  readonly cb: number;
  readonly refMax: number;
  readonly refblockBits: number;
  /** The in-memory refcount table (IMRT); its length is QEMU's nb_clusters. */
  imrt: number[] = [];
  readonly r: CheckResult;
  private blocks = new Map<bigint, Uint8Array>();
  /** Per refcount-table index: its block, EMPTY (no block: refcount 0), or null (misaligned); the hot path of a
   * check that looks up every cluster's refcount (a BigInt mask and map lookup per cluster cost 10x). */
  private blockByIndex: (Uint8Array | null | undefined)[] = [];
  rebuild = false;
  private snapshotTableChecked = false;

  constructor(readonly file: ImageFile, readonly s: CheckState, readonly fix: number) {
    this.cb = s.clusterBits;
    this.cs = s.clusterSize;
    this.refMax = maxRefcount(s.refcountOrder);
    this.refblockBits = s.clusterBits + 3 - s.refcountOrder;
    this.r = newResult();
    this.r.totalClusters = Number((((s.size / 512n) * 512n) + BigInt(this.cs) - 1n) / BigInt(this.cs));
  }

  run(): CheckResult {
    const nbClusters = Math.ceil(this.file.size() / this.cs);
    if (nbClusters > 0x7fff_ffff) {
      this.r.checkErrors++;
      return this.r;
    }
    this.imrt = new Array(nbClusters).fill(0);
    try {
      this.calculate(this.fix);
    } catch (e) {
      if (!(e instanceof CheckAbort)) throw e;
      this.r.checkErrors++;
      this.r.failure = "Input/output error";
      return this.r;
    }
    const pre = { ...this.r, messages: [] as string[] };
    let highest = this.compare(0);
    if (this.rebuild && (this.fix & FIX_ERRORS)) {
      highest = rebuildRefcounts(this, highest);
    } else if (this.fix) {
      if (this.rebuild) {
        this.msg("ERROR need to rebuild refcount structures");
        this.r.checkErrors++;
        this.r.failure = "Input/output error";
        return this.r;
      }
      if (this.r.leaks || this.r.corruptions) {
        const msgs = this.r.messages;
        Object.assign(this.r, pre, { messages: msgs });
        highest = this.compare(this.fix);
      }
    }
    this.checkCopied(this.fix);
    this.r.imageEndOffset = (highest + 1) * this.cs;
    if (this.fix && this.r.checkErrors === 0 && this.r.corruptions === 0) markCleanAndConsistent(this);
    return this.r;
  }

  clearBlockCache(): void {
    this.blocks.clear();
    this.blockByIndex = [];
  }

  msg(m: string): void {
    this.r.messages.push(m);
  }

  /** calculate_refcounts(). */
  calculate(fix: number): void {
    const { s, cs } = this;
    if (s.completeSnapshots < s.snapshots.length && !this.snapshotTableChecked) {
      // qcow2_check_read_snapshot_table()
      this.snapshotTableChecked = true;
      this.msg(`ERROR snapshot table entry ${s.completeSnapshots} is incomplete`);
      this.r.corruptions++;
    }
    this.inc(0n, cs);
    this.checkL1(s.l1Offset, s.l1Size, true, fix);
    for (const sn of s.snapshots.slice(0, this.s.completeSnapshots)) {
      if (sn.l1Offset % BigInt(cs) !== 0n) {
        this.msg(`ERROR snapshot ${sn.id} (${sn.name}) l1_offset=0x${hx(sn.l1Offset)}: L1 table is not cluster aligned; snapshot table entry corrupted`);
        this.r.corruptions++;
        continue;
      }
      if (sn.l1Size > MAX_L1_SIZE / 8) {
        this.msg(`ERROR snapshot ${sn.id} (${sn.name}) l1_size=0x${hx(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`);
        this.r.corruptions++;
        continue;
      }
      this.checkL1(sn.l1Offset, sn.l1Size, false, fix);
    }
    this.inc(s.snapshotsOffset, s.snapshotsSize);
    this.inc(s.reftableOffset, s.reftable.length * 8);
    this.checkRefblocks(fix);
  }

  /** qcow2_inc_refcounts_imrt(). */
  inc(offset: bigint, size: number): void {
    if (size <= 0) return;
    const cs = BigInt(this.cs);
    if (offset + BigInt(size) - BigInt(this.file.size()) >= cs) {
      this.msg(`ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${hx(offset)} size 0x${hx(size)}`);
      this.r.corruptions++;
      return;
    }
    const first = Number(offset / cs);
    const last = Number((offset + BigInt(size) - 1n) / cs);
    for (let k = first; k <= last; k++) {
      while (k >= this.imrt.length) this.imrt.push(0);
      const n = this.imrt[k]!;
      if (n >= this.refMax) {
        this.msg(`ERROR: overflow cluster offset=0x${hx(BigInt(k) * cs)}`);
        this.msg("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if the image cannot be opened for writing");
        this.r.corruptions++;
        continue;
      }
      this.imrt[k] = n + 1;
    }
  }

  private checkL1(offset: bigint, size: number, active: boolean, fix: number): void {
    if (size === 0) return;
    this.inc(offset, size * 8);
    if (offset + BigInt(size * 8) > BDRV_MAX_LENGTH) {
      this.msg("ERROR: I/O error in check_refcounts_l1");
      throw new CheckAbort();
    }
    const l1 = readEntries(this.file, offset, size);
    for (let i = 0; i < size; i++) {
      const e = l1[i]!;
      if (e === 0n) continue;
      if (e & L1E_RESERVED_MASK) {
        this.msg(`ERROR found L1 entry with reserved bits set: ${hx(e)}`);
        this.r.corruptions++;
      }
      const l2 = e & L1E_OFFSET_MASK;
      this.inc(l2, this.cs);
      if (l2 % BigInt(this.cs) !== 0n) {
        this.msg(`ERROR l2_offset=${hx(l2)}: Table is not cluster aligned; L1 entry corrupted`);
        this.r.corruptions++;
      }
      this.checkL2(l2, active, fix);
    }
  }

  private checkL2(l2Offset: bigint, active: boolean, fix: number): void {
    const { cs, cb } = this;
    const n = cs / 8;
    const raw = readAt(this.file, l2Offset, cs);
    let nextContiguous = 0n;
    for (let i = 0; i < n; i++) {
      const e = be64(raw, i * 8);
      const type = clusterType(e);
      if (type !== "compressed" && (e & L2E_STD_RESERVED_MASK)) {
        this.msg(`ERROR found l2 entry with reserved bits set: ${hx(e)}`);
        this.r.corruptions++;
      }
      if (type === "compressed") {
        let entry = e;
        if (entry & OFLAG_COPIED) {
          const offMask = (1n << BigInt(62 - (cb - 8))) - 1n;
          this.msg(`ERROR: coffset=0x${hx(entry & offMask)}: copied flag must never be set for compressed clusters`);
          entry &= ~OFLAG_COPIED;
          this.r.corruptions++;
        }
        const x = BigInt(62 - (cb - 8));
        const coffset = entry & ((1n << x) - 1n);
        const nbCsectors = Number((entry >> x) & ((1n << BigInt(cb - 8)) - 1n)) + 1;
        const csize = nbCsectors * 512 - Number(coffset & 511n);
        this.inc(coffset, csize);
        if (active) {
          this.r.allocatedClusters++;
          this.r.compressedClusters++;
          this.r.fragmentedClusters++;
        }
      } else if (type === "normal" || type === "zero-alloc") {
        const offset = e & L2E_OFFSET_MASK;
        if (offset % BigInt(cs) !== 0n) {
          this.r.corruptions++;
          if (e & OFLAG_ZERO) {
            const repairing = (fix & FIX_ERRORS) !== 0;
            this.msg(`${repairing ? "Repairing" : "ERROR"} offset=${hx(offset)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`);
            if (repairing && fixL2EntryByZero(this, l2Offset, i)) continue;
          } else {
            this.msg(`ERROR offset=${hx(offset)}: Data cluster is not properly aligned; L2 entry corrupted.`);
          }
        }
        if (active) {
          this.r.allocatedClusters++;
          if (nextContiguous && offset !== nextContiguous) this.r.fragmentedClusters++;
          nextContiguous = offset + BigInt(cs);
        }
        this.inc(offset, cs);
      }
    }
  }

  /** check_refblocks(). */
  private checkRefblocks(fix: number): void {
    const t = this.s.reftable;
    for (let i = 0; i < t.length; i++) {
      const offset = t[i]! & REFT_OFFSET_MASK;
      const cluster = offset >> BigInt(this.cb);
      if (t[i]! & REFT_RESERVED_MASK) {
        this.msg(`ERROR refcount table entry ${i} has reserved bits set`);
        this.r.corruptions++;
        this.rebuild = true;
        continue;
      }
      if (offset % BigInt(this.cs) !== 0n) {
        this.msg(`ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`);
        this.r.corruptions++;
        this.rebuild = true;
        continue;
      }
      if (cluster >= BigInt(this.imrt.length)) {
        this.r.corruptions++;
        const repairing = (fix & FIX_ERRORS) !== 0;
        this.msg(`${repairing ? "Repairing" : "ERROR"} refcount block ${i} is outside image`);
        if (repairing) {
          if (offset <= BigInt(Number.MAX_SAFE_INTEGER) - BigInt(this.cs) && offset < 1n << 50n) {
            this.file.truncate(Number(offset) + this.cs);
            const newNb = Math.ceil(this.file.size() / this.cs);
            while (this.imrt.length < newNb) this.imrt.push(0);
            this.blocks.delete(offset);
            this.r.corruptions--;
            this.r.corruptionsFixed++;
            this.inc(offset, this.cs);
            continue;
          }
          this.rebuild = true;
          this.msg("ERROR could not resize image: Invalid argument");
        }
        continue;
      }
      if (offset !== 0n) {
        this.inc(offset, this.cs);
        const c = Number(cluster);
        if (this.imrt[c] !== 1) {
          this.msg(`ERROR refcount block ${i} refcount=${this.imrt[c]}`);
          this.r.corruptions++;
          this.rebuild = true;
        }
      }
    }
  }

  /** qcow2_get_refcount() on the stored structures: a number, or null for -EIO (unaligned refcount block). */
  storedRefcount(cluster: number): number | null {
    const idx = Math.floor(cluster / 2 ** this.refblockBits);
    let blk = this.blockByIndex[idx];
    if (blk === undefined) {
      blk = this.loadBlock(idx);
      this.blockByIndex[idx] = blk;
    }
    if (blk === null) return null;
    if (blk === EMPTY) return 0;
    return getRefEntry(blk, cluster - idx * 2 ** this.refblockBits, this.s.refcountOrder);
  }

  private loadBlock(idx: number): Uint8Array | null {
    const t = this.s.reftable;
    if (idx >= t.length) return EMPTY;
    const off = t[idx]! & REFT_OFFSET_MASK;
    if (off === 0n) return EMPTY;
    if (off % BigInt(this.cs) !== 0n) return null;
    let blk = this.blocks.get(off);
    if (!blk) {
      blk = readAt(this.file, off, this.cs);
      this.blocks.set(off, blk);
    }
    return blk;
  }

  /** update_refcount() of one cluster by `delta`, in place; false when it cannot (no block, overflow). */
  private adjustRefcount(cluster: number, delta: number): boolean {
    const idx = Math.floor(cluster / 2 ** this.refblockBits);
    const off = idx < this.s.reftable.length ? this.s.reftable[idx]! & REFT_OFFSET_MASK : 0n;
    if (off === 0n || off % BigInt(this.cs) !== 0n) return false;
    const cur = this.storedRefcount(cluster)!;
    const v = cur + delta;
    if (v < 0 || v > this.refMax) return false;
    const blk = this.blocks.get(off)!;
    const i = cluster - idx * 2 ** this.refblockBits;
    writeRefEntry(blk, i, this.s.refcountOrder, v);
    const [a, b] = refEntryRange(i, this.s.refcountOrder);
    this.file.write(Number(off) + a, blk.slice(a, b));
    return true;
  }

  /** compare_refcounts(); returns the highest cluster in use. */
  compare(fix: number): number {
    let highest = 0;
    const nb = this.imrt.length;
    for (let i = 0; i < nb; i++) {
      const r1 = this.storedRefcount(i);
      if (r1 === null) {
        this.msg(`Can't get refcount for cluster ${i}: Input/output error`);
        this.r.checkErrors++;
        continue;
      }
      const r2 = this.imrt[i]!;
      if (r1 > 0 || r2 > 0) highest = i;
      if (r1 === r2) continue;
      let fixed: "leaksFixed" | "corruptionsFixed" | null = null;
      if (r1 === 0) this.rebuild = true;
      else if (r1 > r2 && (fix & FIX_LEAKS)) fixed = "leaksFixed";
      else if (r1 < r2 && (fix & FIX_ERRORS)) fixed = "corruptionsFixed";
      this.msg(`${fixed ? "Repairing" : r1 < r2 ? "ERROR" : "Leaked"} cluster ${i} refcount=${r1} reference=${r2}`);
      if (fixed && this.adjustRefcount(i, r2 - r1)) {
        this.r[fixed]++;
        continue;
      }
      if (r1 < r2) this.r.corruptions++;
      else this.r.leaks++;
    }
    return highest;
  }

  /** check_oflag_copied(). */
  private checkCopied(fix: number): void {
    const { s, cs } = this;
    const repair = (fix & FIX_ERRORS) !== 0 ||
      ((fix & FIX_LEAKS) !== 0 && !this.r.checkErrors && !this.r.corruptions && !this.r.leaks);
    for (let i = 0; i < s.l1Size; i++) {
      const l1e = s.l1[i]!;
      const l2 = l1e & L1E_OFFSET_MASK;
      if (l2 === 0n) continue;
      const rc = this.storedRefcount(toNum(l2 >> BigInt(this.cb)));
      if (rc === null) continue;
      if ((rc === 1) !== ((l1e & OFLAG_COPIED) !== 0n)) {
        this.r.corruptions++;
        this.msg(`${repair ? "Repairing" : "ERROR"} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${hx(l1e)} refcount=${rc}`);
        if (repair) {
          s.l1[i] = rc === 1 ? l1e | OFLAG_COPIED : l1e & ~OFLAG_COPIED;
          this.file.write(Number(s.l1Offset) + i * 8, encode64(s.l1[i]!));
          this.r.corruptions--;
          this.r.corruptionsFixed++;
        }
      }
      const t = readAt(this.file, l2, cs);
      let dirty = 0;
      for (let j = 0; j < cs / 8; j++) {
        const e = be64(t, j * 8);
        const type = clusterType(e);
        if (type !== "normal" && type !== "zero-alloc") continue;
        const drc = this.storedRefcount(toNum((e & L2E_OFFSET_MASK) >> BigInt(this.cb)));
        if (drc === null) continue;
        if ((drc === 1) !== ((e & OFLAG_COPIED) !== 0n)) {
          this.r.corruptions++;
          this.msg(`${repair ? "Repairing" : "ERROR"} OFLAG_COPIED data cluster: l2_entry=${hx(e)} refcount=${drc}`);
          if (repair) {
            t.set(encode64(drc === 1 ? e | OFLAG_COPIED : e & ~OFLAG_COPIED), j * 8);
            dirty++;
          }
        }
      }
      if (dirty > 0) {
        if (l2 % BigInt(cs) !== 0n || l2 + BigInt(cs) > BigInt(this.file.size())) {
          this.msg("ERROR: Could not write L2 table; metadata overlap check failed: Input/output error");
          this.r.checkErrors++;
          this.r.failure = "Input/output error";
          return;
        }
        this.file.write(Number(l2), t);
        this.r.corruptions -= dirty;
        this.r.corruptionsFixed += dirty;
      }
    }
  }
}

export function newResult(): CheckResult {
  return {
    corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, messages: [],
    imageEndOffset: 0, totalClusters: 0, allocatedClusters: 0, fragmentedClusters: 0, compressedClusters: 0,
  };
}

type Kind = "compressed" | "zero-alloc" | "zero-plain" | "unallocated" | "normal";

/** qcow2_get_cluster_type() for images without subclusters or an external data file. */
function clusterType(e: bigint): Kind {
  if (e & OFLAG_COMPRESSED) return "compressed";
  if (e & OFLAG_ZERO) return e & L2E_OFFSET_MASK ? "zero-alloc" : "zero-plain";
  if (!(e & L2E_OFFSET_MASK)) return "unallocated";
  return "normal";
}

export function encode64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v));
  return b;
}

export function writeRefEntry(block: Uint8Array, i: number, order: number, v: number): void {
  if (order <= 2) {
    const bits = 1 << order;
    const bit = i * bits;
    const mask = ((1 << bits) - 1) << (bit & 7);
    block[bit >>> 3] = (block[bit >>> 3]! & ~mask) | ((v << (bit & 7)) & mask);
  } else {
    const w = 1 << (order - 3);
    let x = BigInt(v);
    for (let k = w - 1; k >= 0; k--) {
      block[i * w + k] = Number(x & 0xffn);
      x >>= 8n;
    }
  }
}

function refEntryRange(i: number, order: number): [number, number] {
  if (order <= 3) {
    const at = (i << order) >>> 3;
    return [at, at + 1];
  }
  const w = 1 << (order - 3);
  return [i * w, i * w + w];
}


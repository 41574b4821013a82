import { ImageError, guard, toImageError, withContext } from "../errors.js";
import { NodeFile, type ImageFile } from "../file-io.js";
import type { BlockDevice } from "../block-device.js";
import { hasBit, parseHeader } from "./header.js";
import { Refcounts } from "./refcounts.js";
import { readSnapshotTable, snapshotId, snapshotName, ICOUNT_NONE, type SnapshotEntry } from "./snapshot-table.js";
import { MetadataMap } from "./metadata-map.js";
import { L2Cache } from "./l2-cache.js";
import { rebuildMetadataMap, readSnapshotL1 } from "./metadata-scan.js";
import { readThrough } from "./mapping.js";
import { writeGuest } from "./writer.js";
import { checkQcow2, type CheckResult } from "./check.js";
import { createSnapshot, deleteSnapshot, gotoSnapshot, findByIdOrName, findByName } from "./snapshots.js";
import { CountingFile } from "./counting-file.js";
import type { Qcow2State } from "./state.js";
import { INCOMPAT_CORRUPT, INCOMPAT_DIRTY, HDR_AUTOCLEAR } from "./constants.js";
import { openBacking } from "../backing.js";
import { openImage } from "../open-image.js";

/** No snapshot has the requested name or ID. */
export class SnapshotNotFoundError extends ImageError {
  constructor(readonly snapshot: string) {
    super(`snapshot '${snapshot}' not found`);
    this.name = "SnapshotNotFoundError";
  }
}

/** A snapshot as the emulator and the CLI see it. */
export interface SnapshotInfo {
  id: string;
  name: string;
  /** Bytes of saved VM state (0 for a disk-only snapshot). */
  vmStateSize: number;
  dateSec: number;
  dateNsec: number;
  /** Guest clock (vm_clock) when the snapshot was taken, in nanoseconds. */
  vmClockNs: number;
  /** Instruction count when the snapshot was taken; null when not recorded (QEMU writes -1). */
  icount: number | null;
  /** Virtual disk size when the snapshot was taken. */
  diskSize: number;
}

export interface LoadedSnapshot extends SnapshotInfo {
  vmState: Uint8Array;
}

export interface CreateSnapshotOptions {
  vmState?: Uint8Array;
  icount?: number | bigint | null;
  vmClockNs?: number | bigint;
  /** Snapshot time; defaults to now. */
  date?: { sec: number; nsec: number };
  /** Replace existing snapshots with the same name in the same atomic update (default true). */
  replace?: boolean;
}

export interface Qcow2OpenOptions {
  readOnly?: boolean;
  /**
   * Before the first write, check the whole image (like `qemu-img check`) and refuse to write if it has any
   * corruption. Default true: writing through wrong refcounts would destroy data.
   */
  verifyBeforeWrite?: boolean;
  /**
   * Call fdatasync at the ordering points of each update (default true). False keeps the crash-safe write
   * order against a killed process but not against power loss, for throwaway images (QEMU's cache=unsafe).
   */
  sync?: boolean;
  /**
   * Open the backing image named in the header (default true), read-only: unallocated clusters read from it.
   * False reads them as zeros (for tools that only look at this image's metadata, like `info`).
   */
  openBacking?: boolean;
  /** Internal: position in a backing chain (limits chains that loop back on themselves). */
  backingDepth?: number;
}

export interface Qcow2Details {
  version: 2 | 3;
  clusterSize: number;
  refcountBits: number;
  lazyRefcounts: boolean;
  corrupt: boolean;
  dirty: boolean;
  virtualSize: number;
  actualSize: number;
  compressionType: "zlib";
  extendedL2: false;
  /** Backing file name as stored in the header, or null. */
  backingFile: string | null;
  /** Backing format from the header extension, or null when the image does not record one. */
  backingFormat: string | null;
}

function toInfo(e: SnapshotEntry, imageSize: number): SnapshotInfo {
  return {
    id: snapshotId(e),
    name: snapshotName(e),
    vmStateSize: Number(e.vmStateSize),
    dateSec: e.dateSec,
    dateNsec: e.dateNsec,
    vmClockNs: Number(e.vmClockNs),
    icount: e.icount === null || e.icount === ICOUNT_NONE ? null : Number(e.icount),
    diskSize: e.diskSize === null ? imageSize : Number(e.diskSize),
  };
}

/** A qcow2 v2/v3 image: guest reads/writes, internal snapshots, consistency check. */
export class Qcow2Image implements BlockDevice {
  readonly format = "qcow2" as const;
  private readonly counter: CountingFile;
  private readonly st: Qcow2State;
  private readonly verify: boolean;
  private writable = false;
  private poisoned: string | null = null;

  private constructor(st: Qcow2State, counter: CountingFile, verify: boolean) {
    this.st = st;
    this.counter = counter;
    this.verify = verify;
  }

  static open(path: string, opts: Qcow2OpenOptions = {}): Qcow2Image {
    const file = NodeFile.open(path, opts.readOnly ?? false);
    try {
      return Qcow2Image.fromFile(file, opts);
    } catch (e) {
      file.close();
      throw withContext(`Could not open '${path}'`, e);
    }
  }

  /** Opens an image on any ImageFile (tests use fault-injecting ones). Reads only; never writes. */
  static fromFile(inner: ImageFile, opts: Qcow2OpenOptions = {}): Qcow2Image {
    return guard(`Could not open '${inner.path}'`, () => {
      const file = new CountingFile(inner);
      const fileSize = file.size();
      const header = parseHeader(file.read(0, Math.min(fileSize, 2 * 1024 * 1024)), fileSize);
      const cb = header.clusterBits;
      const cs = 2 ** cb;
      const refcounts = Refcounts.load(file, cb, header.refcountOrder, header.refcountTableOffset,
        header.refcountTableClusters, true);
      const snaps = readSnapshotTable(file, header.snapshotsOffset, header.nbSnapshots, cs, true);
      const meta = new MetadataMap(cs);
      const l2Entries = cs / 8;
      const st: Qcow2State = {
        file,
        readOnly: inner.readOnly || (opts.readOnly ?? false),
        header,
        clusterBits: cb,
        clusterSize: cs,
        l2Entries,
        bytesPerL2: cs * l2Entries,
        vmStateL1Index: Math.ceil(header.size / (cs * l2Entries)),
        l1: file.read(header.l1TableOffset, header.l1Size * 8),
        refcounts,
        snapshots: snaps.entries,
        snapshotTableSize: snaps.size,
        meta,
        l2cache: new L2Cache(file, cs, meta),
        freeHint: 1,
        sync: opts.sync ?? true,
        backing: null,
      };
      rebuildMetadataMap(st);
      if (header.backingFile !== null && (opts.openBacking ?? true)) {
        st.backing = openBacking(inner.path, header.backingFile, header.backingFormat, opts.backingDepth ?? 0,
          (f, o) => openImage(f, { format: o.format, readOnly: true, backingDepth: o.depth }));
      }
      return new Qcow2Image(st, file, opts.verifyBeforeWrite ?? true);
    });
  }

  /** The backing image (read-only), or null when there is none or it was not opened. */
  get backing(): BlockDevice | null { return this.st.backing; }

  get size(): number { return this.st.header.size; }
  get readOnly(): boolean { return this.st.readOnly; }
  get path(): string { return this.st.file.path; }
  get clusterSize(): number { return this.st.clusterSize; }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length, "read");
    this.ensureUsable();
    return guard(`${this.path}: read failed`, () => {
      const out = new Uint8Array(length);
      readThrough(this.st, this.st.l1, this.st.header.l1Size, offset, length, out, 0, "read", this.st.backing);
      return out;
    });
  }

  write(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length, "write");
    this.mutate("write", () => writeGuest(this.st, offset, data));
  }

  flush(): void {
    this.ensureUsable();
    guard(`${this.path}: flush failed`, () => this.st.file.flush());
  }

  close(): void {
    guard(`${this.path}: close failed`, () => {
      try {
        if (!this.st.readOnly && !this.poisoned) this.st.file.flush();
        this.st.file.close();
      } finally {
        this.st.backing?.close();
      }
    });
  }

  listSnapshots(): SnapshotInfo[] {
    return this.st.snapshots.map((e) => toInfo(e, this.size));
  }

  /**
   * Saves a snapshot of the current disk plus `vmState` (stored where QEMU stores VM state) and the
   * instruction count. With `replace` (default) existing snapshots of that name are removed in the same
   * atomic update, so the image always has either the old or the new snapshot.
   */
  createSnapshot(name: string, opts: CreateSnapshotOptions = {}): SnapshotInfo {
    return this.mutate("snapshot create", () => {
      const e = createSnapshot(this.st, {
        name,
        vmState: opts.vmState ?? new Uint8Array(0),
        icount: opts.icount === undefined || opts.icount === null ? null : BigInt(opts.icount),
        vmClockNs: opts.vmClockNs === undefined ? 0n : BigInt(opts.vmClockNs),
        dateSec: opts.date?.sec,
        dateNsec: opts.date?.nsec,
        replace: opts.replace ?? true,
      });
      return toInfo(e, this.size);
    });
  }

  /** Reverts the disk to snapshot `name` (by name, then by ID) and returns its VM state and metadata. */
  loadSnapshot(name: string): LoadedSnapshot {
    const sn = this.find(name, false);
    const vmState = this.readVmStateOf(sn);
    this.mutate("snapshot load", () => gotoSnapshot(this.st, sn));
    return { ...toInfo(sn, this.size), vmState };
  }

  /** Reverts the disk to a snapshot found by ID, then name (`qemu-img snapshot -a`). */
  applySnapshot(idOrName: string): SnapshotInfo {
    const sn = this.find(idOrName, true);
    this.mutate("snapshot apply", () => gotoSnapshot(this.st, sn));
    return toInfo(sn, this.size);
  }

  /** Deletes a snapshot found by ID, then name (`qemu-img snapshot -d`). */
  deleteSnapshot(idOrName: string): void {
    const sn = this.find(idOrName, true);
    this.mutate("snapshot delete", () => deleteSnapshot(this.st, sn));
  }

  /** The VM state of a snapshot without changing the disk. */
  readVmState(name: string): Uint8Array {
    return this.readVmStateOf(this.find(name, false));
  }

  check(): CheckResult {
    this.ensureUsable();
    return guard(`${this.path}: check failed`, () => checkQcow2(this.st.file));
  }

  details(): Qcow2Details {
    const h = this.st.header;
    return {
      version: h.version,
      clusterSize: this.st.clusterSize,
      refcountBits: 2 ** h.refcountOrder,
      lazyRefcounts: hasBit(h.compatible, 0),
      corrupt: hasBit(h.incompatible, INCOMPAT_CORRUPT),
      dirty: hasBit(h.incompatible, INCOMPAT_DIRTY),
      virtualSize: h.size,
      actualSize: guard(`${this.path}: stat failed`, () => this.st.file.allocatedSize()),
      compressionType: "zlib",
      extendedL2: false,
      backingFile: h.backingFile,
      backingFormat: h.backingFormat,
    };
  }

  private find(nameOrId: string, idFirst: boolean): SnapshotEntry {
    const sn = idFirst ? findByIdOrName(this.st, nameOrId)
      : findByName(this.st, nameOrId) ?? findByIdOrName(this.st, nameOrId);
    if (!sn) throw new SnapshotNotFoundError(nameOrId);
    return sn;
  }

  private readVmStateOf(sn: SnapshotEntry): Uint8Array {
    this.ensureUsable();
    return guard(`${this.path}: reading the VM state of snapshot '${snapshotName(sn)}' failed`, () => {
      if (sn.vmStateSize > 0xffff_ffffn) throw new ImageError(`VM state too large (${sn.vmStateSize} bytes)`);
      const size = Number(sn.vmStateSize);
      const out = new Uint8Array(size);
      const l1 = readSnapshotL1(this.st, sn);
      readThrough(this.st, l1, sn.l1Size, this.st.vmStateL1Index * this.st.bytesPerL2, size, out, 0,
        `VM state of snapshot '${snapshotName(sn)}'`);
      return out;
    });
  }

  private checkRange(offset: number, length: number, op: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
      offset + length > this.size) {
      throw new ImageError(`${op} of ${length} bytes at offset ${offset} is outside the ${this.size}-byte disk`);
    }
  }

  private ensureUsable(): void {
    if (this.poisoned) throw new ImageError(this.poisoned);
  }

  /** Runs a modifying operation; if it fails after writing, the in-memory state is no longer trusted. */
  private mutate<T>(what: string, fn: () => T): T {
    this.ensureUsable();
    this.prepareForWrites();
    const before = this.counter.writes;
    try {
      return fn();
    } catch (e) {
      if (this.counter.writes !== before) {
        this.poisoned = `${this.path}: an earlier ${what} failed part way; close and reopen the image`;
      }
      throw toImageError(`${this.path}: ${what} failed`, e);
    }
  }

  /** First write: refuse images that are read-only, dirty, marked corrupt or actually corrupt. */
  private prepareForWrites(): void {
    if (this.writable) return;
    const h = this.st.header;
    if (this.st.readOnly) throw new ImageError(`${this.path}: image is opened read-only`);
    if (hasBit(h.incompatible, INCOMPAT_DIRTY)) {
      throw new ImageError(`${this.path}: image was not closed cleanly (dirty bit set; lazy refcounts are not supported): run 'qemu-img check -r all' first`);
    }
    if (hasBit(h.incompatible, INCOMPAT_CORRUPT)) {
      throw new ImageError(`${this.path}: image is marked corrupt: run 'qemu-img check -r all' first`);
    }
    if (this.verify) {
      const r = guard(`${this.path}: checking the image failed`, () => checkQcow2(this.st.file));
      if (r.corruptions > 0 || r.checkErrors > 0) {
        throw new ImageError(`${this.path}: image is corrupt (${r.corruptions + r.checkErrors} errors found); refusing to write. Run 'rewind-img check' for details`);
      }
    }
    if (h.autoclear.hi !== 0 || h.autoclear.lo !== 0) {
      // Autoclear features (e.g. persistent bitmaps) become stale once we write: clear them first, as the
      // format requires of programs that do not maintain them.
      guard(`${this.path}: updating the header failed`, () => {
        this.st.file.write(HDR_AUTOCLEAR, new Uint8Array(8));
        this.st.file.flush();
      });
      h.autoclear = { hi: 0, lo: 0 };
      h.raw.fill(0, HDR_AUTOCLEAR, HDR_AUTOCLEAR + 8);
    }
    this.writable = true;
  }
}

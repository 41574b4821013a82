import { ImageError, hex } from "../errors.js";
import type { ImageFile } from "../file-io.js";
import { u16, u32, u64, u64big, putU16, putU32, putU64, putU64big } from "../be.js";
import { MAX_L1_BYTES, MAX_SNAPSHOT_EXTRA_DATA, MAX_SNAPSHOT_TABLE_BYTES } from "./constants.js";

/**
 * One entry of the snapshot table (docs/interop/qcow2.txt, "Snapshots"):
 *
 *    0 -  7  l1_table_offset          24 - 31  vm_clock_nsec
 *    8 - 11  l1_size                  32 - 35  vm_state_size (0 if it does not fit in 32 bits)
 *   12 - 13  id_str_size              36 - 39  extra_data_size
 *   14 - 15  name_size                40 - ..  extra data:  40-47 vm_state_size_large
 *   16 - 19  date_sec                                       48-55 disk_size
 *   20 - 23  date_nsec                                      56-63 icount (-1: not recorded; QEMU >= 5.2)
 *   then id_str, name (no terminators), padded so the next entry starts 8-byte aligned.
 *
 * 64-bit fields that are not offsets stay BigInt so rewriting the table never changes another tool's values.
 */
export interface SnapshotEntry {
  l1Offset: number;
  l1Size: number;
  idBytes: Uint8Array;
  nameBytes: Uint8Array;
  dateSec: number;
  dateNsec: number;
  vmClockNs: bigint;
  /** VM state size in bytes (vm_state_size_large when present). */
  vmStateSize: bigint;
  /** Virtual disk size when the snapshot was taken; null when the entry does not record it. */
  diskSize: bigint | null;
  /** Instruction count; null when the entry has no icount field. 2^64-1 means "icount was disabled". */
  icount: bigint | null;
  /** Extra data as stored, so fields this code does not know survive a rewrite. */
  extraData: Uint8Array;
}

export const ICOUNT_NONE = 0xffff_ffff_ffff_ffffn;
const FIXED = 40;
const OUR_EXTRA = 24;

export function snapshotId(e: SnapshotEntry): string {
  return Buffer.from(e.idBytes).toString("utf8");
}
export function snapshotName(e: SnapshotEntry): string {
  return Buffer.from(e.nameBytes).toString("utf8");
}

export interface ParsedSnapshotTable {
  entries: SnapshotEntry[];
  /** Bytes the table occupies, as QEMU computes it (no padding after the last entry). */
  size: number;
}

/** Reads and validates `count` entries at `offset`. */
export function readSnapshotTable(file: ImageFile, offset: number, count: number, clusterSize: number,
  strict: boolean): ParsedSnapshotTable {
  const fileSize = file.size();
  const entries: SnapshotEntry[] = [];
  let at = offset;
  const need = (pos: number, len: number, what: string) => {
    if (pos + len - offset > MAX_SNAPSHOT_TABLE_BYTES) throw new ImageError("snapshot table is too large");
    if (pos + len > fileSize) throw new ImageError(`snapshot table is truncated: ${what} runs past the end of the file`);
    return file.read(pos, len);
  };
  for (let i = 0; i < count; i++) {
    at = Math.ceil(at / 8) * 8;
    const h = need(at, FIXED, `entry ${i}`);
    const l1Offset = u64(h, 0);
    const l1Size = u32(h, 8);
    const idSize = u16(h, 12);
    const nameSize = u16(h, 14);
    const extraSize = u32(h, 36);
    if (extraSize > MAX_SNAPSHOT_EXTRA_DATA) {
      throw new ImageError(`snapshot table entry ${i} has too much extra data (${extraSize} bytes)`);
    }
    const rest = need(at + FIXED, extraSize + idSize + nameSize, `entry ${i}`);
    const extra = rest.slice(0, extraSize);
    const e: SnapshotEntry = {
      l1Offset,
      l1Size,
      idBytes: rest.slice(extraSize, extraSize + idSize),
      nameBytes: rest.slice(extraSize + idSize, extraSize + idSize + nameSize),
      dateSec: u32(h, 16),
      dateNsec: u32(h, 20),
      vmClockNs: u64big(h, 24),
      vmStateSize: extraSize >= 8 ? u64big(extra, 0) : BigInt(u32(h, 32)),
      diskSize: extraSize >= 16 ? u64big(extra, 8) : null,
      icount: extraSize >= 24 ? u64big(extra, 16) : null,
      extraData: extra,
    };
    if (strict) validateEntry(e, i, clusterSize, fileSize);
    entries.push(e);
    at += FIXED + extraSize + idSize + nameSize;
  }
  return { entries, size: at - offset };
}

function validateEntry(e: SnapshotEntry, i: number, clusterSize: number, fileSize: number): void {
  const label = `snapshot ${i + 1} ('${snapshotName(e)}')`;
  if (e.l1Size * 8 > MAX_L1_BYTES) throw new ImageError(`${label}: L1 table too large (${e.l1Size} entries)`);
  if (!Number.isFinite(e.l1Offset) || e.l1Offset % clusterSize !== 0 || (e.l1Size > 0 && e.l1Offset === 0)) {
    throw new ImageError(`${label}: L1 table offset ${Number.isFinite(e.l1Offset) ? hex(e.l1Offset) : "(huge)"} is invalid (not cluster aligned)`);
  }
  if (e.l1Size > 0 && e.l1Offset + e.l1Size * 8 > fileSize) {
    throw new ImageError(`${label}: L1 table at ${hex(e.l1Offset)} extends beyond the end of the file`);
  }
}

/** Serializes entries the way QEMU 7.2 does: extra data of at least 24 bytes, unknown extra bytes kept. */
export function encodeSnapshotTable(entries: SnapshotEntry[], imageSize: number): Uint8Array {
  let size = 0;
  for (const e of entries) {
    size = Math.ceil(size / 8) * 8;
    size += FIXED + Math.max(OUR_EXTRA, e.extraData.length) + e.idBytes.length + e.nameBytes.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const e of entries) {
    at = Math.ceil(at / 8) * 8;
    const extraSize = Math.max(OUR_EXTRA, e.extraData.length);
    putU64(out, at, e.l1Offset);
    putU32(out, at + 8, e.l1Size);
    putU16(out, at + 12, e.idBytes.length);
    putU16(out, at + 14, e.nameBytes.length);
    putU32(out, at + 16, e.dateSec);
    putU32(out, at + 20, e.dateNsec);
    putU64big(out, at + 24, e.vmClockNs);
    // Older readers treat a too-large state as "no state" rather than truncating it.
    putU32(out, at + 32, e.vmStateSize <= 0xffff_ffffn ? Number(e.vmStateSize) : 0);
    putU32(out, at + 36, extraSize);
    const x = at + FIXED;
    out.set(e.extraData, x);
    putU64big(out, x, e.vmStateSize);
    putU64big(out, x + 8, e.diskSize ?? BigInt(imageSize));
    putU64big(out, x + 16, e.icount ?? ICOUNT_NONE);
    out.set(e.idBytes, x + extraSize);
    out.set(e.nameBytes, x + extraSize + e.idBytes.length);
    at = x + extraSize + e.idBytes.length + e.nameBytes.length;
  }
  return out;
}

/** QEMU's find_new_snapshot_id(): one more than the largest numeric id. */
export function nextSnapshotId(entries: SnapshotEntry[]): string {
  let max = 0n;
  for (const e of entries) {
    const m = /^\s*[+]?(\d+)/.exec(snapshotId(e));
    if (m) {
      const v = BigInt(m[1]!);
      if (v > max) max = v;
    }
  }
  return String(max + 1n);
}

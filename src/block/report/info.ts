import { sizeToStr } from "../sizes.js";
import type { SnapshotInfo, Qcow2Details } from "../qcow2/image.js";
import { formatSnapshotList } from "./snapshot-list.js";
import { qemuJson, type JsonValue } from "./qemu-json.js";

export interface ImageSummary {
  filename: string;
  format: "raw" | "qcow2";
  virtualSize: number;
  actualSize: number;
  qcow2?: Qcow2Details;
  snapshots: SnapshotInfo[];
  /** Backing file as stored, as combined with the image's name (QEMU's full-backing-filename), its format. */
  backing?: { filename: string; full: string; format: string | null };
}

/** `qemu-img info` human output. */
export function formatInfoText(s: ImageSummary): string {
  let out = `image: ${s.filename}\nfile format: ${s.format}\n` +
    `virtual size: ${sizeToStr(s.virtualSize)} (${s.virtualSize} bytes)\n` +
    `disk size: ${sizeToStr(s.actualSize)}\n`;
  const q = s.qcow2;
  if (q) {
    out += `cluster_size: ${q.clusterSize}\n`;
    if (q.dirty) out += "cleanly shut down: no\n";
  }
  const b = s.backing;
  if (b) {
    out += `backing file: ${b.filename}${b.full !== b.filename ? ` (actual path: ${b.full})` : ""}\n`;
    if (b.format !== null) out += `backing file format: ${b.format}\n`;
  }
  out += formatSnapshotList(s.snapshots);
  if (q) {
    out += "Format specific information:\n";
    if (q.version === 3) {
      out += "    compat: 1.1\n    compression type: zlib\n" +
        `    lazy refcounts: ${q.lazyRefcounts}\n    refcount bits: ${q.refcountBits}\n` +
        `    corrupt: ${q.corrupt}\n    extended l2: false\n`;
    } else {
      out += `    compat: 0.10\n    compression type: zlib\n    refcount bits: ${q.refcountBits}\n`;
    }
  }
  return out;
}

function snapshotJson(sn: SnapshotInfo): JsonValue {
  const o: { [k: string]: JsonValue } = {
    "id": sn.id,
    "name": sn.name,
    "vm-state-size": sn.vmStateSize,
    "date-sec": sn.dateSec,
    "date-nsec": sn.dateNsec,
    "vm-clock-sec": Math.floor(sn.vmClockNs / 1e9),
    "vm-clock-nsec": sn.vmClockNs % 1e9,
  };
  if (sn.icount !== null) o["icount"] = sn.icount;
  return o;
}

/** `qemu-img info --output=json`. Keys are inserted in QAPI order; qemuJson orders them as QEMU prints. */
export function formatInfoJson(s: ImageSummary): string {
  const o: { [k: string]: JsonValue } = {
    "filename": s.filename,
    "format": s.format,
    "dirty-flag": s.qcow2?.dirty ?? false,
    "actual-size": s.actualSize,
    "virtual-size": s.virtualSize,
  };
  const q = s.qcow2;
  if (q) o["cluster-size"] = q.clusterSize;
  if (s.backing) {
    o["backing-filename"] = s.backing.filename;
    o["full-backing-filename"] = s.backing.full;
    if (s.backing.format !== null) o["backing-filename-format"] = s.backing.format;
  }
  if (s.snapshots.length) o["snapshots"] = s.snapshots.map(snapshotJson);
  if (q) {
    const data: { [k: string]: JsonValue } = q.version === 3
      ? {
        "compat": "1.1", "extended-l2": false, "lazy-refcounts": q.lazyRefcounts, "corrupt": q.corrupt,
        "refcount-bits": q.refcountBits, "compression-type": "zlib",
      }
      : { "compat": "0.10", "refcount-bits": q.refcountBits, "compression-type": "zlib" };
    o["format-specific"] = { "type": "qcow2", "data": data };
  }
  return qemuJson(o) + "\n";
}

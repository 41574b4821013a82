import { sizeToStr } from "../sizes.js";
import type { SnapshotInfo } from "../qcow2/image.js";

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local time as "%Y-%m-%d %H:%M:%S" (QEMU formats snapshot dates in local time). */
export function formatLocalDate(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** QEMU's VM CLOCK column: hours:minutes:seconds.milliseconds. */
export function formatVmClock(ns: number): string {
  const secs = Math.floor(ns / 1e9);
  const ms = Math.floor(ns / 1e6) % 1000;
  return `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}.${String(ms).padStart(3, "0")}`;
}

const left = (s: string, w: number) => s.padEnd(w);
const right = (s: string, w: number) => s.padStart(w);

export function snapshotHeaderLine(): string {
  return left("ID", 10) + left("TAG", 17) + right("VM SIZE", 8) + right("DATE", 20) + right("VM CLOCK", 13) +
    right("ICOUNT", 11);
}

export function snapshotLine(s: SnapshotInfo): string {
  return left(s.id, 9) + " " + left(s.name, 16) + " " + right(sizeToStr(s.vmStateSize), 8) +
    right(formatLocalDate(s.dateSec), 20) + right(formatVmClock(s.vmClockNs), 13) +
    right(s.icount === null ? "" : String(s.icount), 11);
}

/** The "Snapshot list:" block of `qemu-img snapshot -l` and `qemu-img info` (empty when there are none). */
export function formatSnapshotList(list: SnapshotInfo[]): string {
  if (list.length === 0) return "";
  return ["Snapshot list:", snapshotHeaderLine(), ...list.map(snapshotLine)].join("\n") + "\n";
}

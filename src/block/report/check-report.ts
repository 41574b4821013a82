import type { CheckResult } from "../qcow2/check.js";
import { qemuJson, type JsonValue } from "./qemu-json.js";

/** `qemu-img check` human summary (stdout; the per-cluster lines go to stderr). */
export function formatCheckText(r: CheckResult): string {
  let out = "";
  if (r.corruptions === 0 && r.leaks === 0 && r.checkErrors === 0) {
    out += "No errors were found on the image.\n";
  } else {
    if (r.corruptions) {
      out += `\n${r.corruptions} errors were found on the image.\n` +
        "Data may be corrupted, or further writes to the image may corrupt it.\n";
    }
    if (r.leaks) {
      out += `\n${r.leaks} leaked clusters were found on the image.\n` +
        "This means waste of disk space, but no harm to data.\n";
    }
    if (r.checkErrors) out += `\n${r.checkErrors} internal errors have occurred during the check.\n`;
  }
  if (r.totalClusters !== 0 && r.allocatedClusters !== 0) {
    const pct = (n: number, d: number) => ((n * 100) / d).toFixed(2);
    out += `${r.allocatedClusters}/${r.totalClusters} = ${pct(r.allocatedClusters, r.totalClusters)}% allocated, ` +
      `${pct(r.fragmentedClusters, r.allocatedClusters)}% fragmented, ` +
      `${pct(r.compressedClusters, r.allocatedClusters)}% compressed clusters\n`;
  }
  if (r.imageEndOffset) out += `Image end offset: ${r.imageEndOffset}\n`;
  return out;
}

/** `qemu-img check --output=json`: zero-valued optional fields are left out, as QEMU does. */
export function formatCheckJson(r: CheckResult, filename: string): string {
  const o: { [k: string]: JsonValue } = { "filename": filename, "format": "qcow2", "check-errors": r.checkErrors };
  const opt = (k: string, v: number) => { if (v !== 0) o[k] = v; };
  opt("image-end-offset", r.imageEndOffset);
  opt("corruptions", r.corruptions);
  opt("leaks", r.leaks);
  opt("corruptions-fixed", r.corruptionsFixed ?? 0);
  opt("leaks-fixed", r.leaksFixed ?? 0);
  opt("total-clusters", r.totalClusters);
  opt("allocated-clusters", r.allocatedClusters);
  opt("fragmented-clusters", r.fragmentedClusters);
  opt("compressed-clusters", r.compressedClusters);
  return qemuJson(o) + "\n";
}

/** qemu-img's exit status: 0 clean, 2 corruptions, 3 leaks only (1 when the check itself failed). */
export function checkExitCode(r: CheckResult): number {
  if (r.checkErrors) return 1;
  if (r.corruptions) return 2;
  if (r.leaks) return 3;
  return 0;
}

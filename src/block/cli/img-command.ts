import { ImageError, toImageError, withContext } from "../errors.js";
import { UsageError } from "./getopt.js";
import { openImage, probeFormat } from "../open-image.js";
import { parse, formatOption, outputOption, onlyFile, helpRequested, PROG, type Output } from "./common.js";
import { cmdCreate } from "./create-command.js";
import { Qcow2Image, SnapshotNotFoundError } from "../qcow2/image.js";
import { RawImage } from "../raw-image.js";
import { checkQcow2, FIX_LEAKS, FIX_ERRORS } from "../qcow2/check.js";
import { NodeFile } from "../file-io.js";
import { backingPath } from "../backing.js";
import { formatInfoJson, formatInfoText, type ImageSummary } from "../report/info.js";
import { formatCheckJson, formatCheckText, checkExitCode } from "../report/check-report.js";
import { formatSnapshotList } from "../report/snapshot-list.js";

export type { Output } from "./common.js";

const VERSION = "0.1.0";

const USAGE = `usage: ${PROG} [--help | --version] command [command options]
Rewind's disk image tool (qemu-img compatible subset).

Commands:
  create [-q] [-f fmt] [-b backing_file -F backing_fmt] [-o options] filename [size]
  info [-f fmt] [--output=ofmt] [-U] filename
  check [-q] [-f fmt] [--output=ofmt] [-r leaks | -r all] [-U] filename
  snapshot [-q] [-f fmt] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] filename

  fmt      qcow2 or raw
  ofmt     human or json
  size     bytes, or a number with a k, M, G, T, P or E suffix (powers of 1024)
  options  for qcow2: cluster_size=N (512..2M, power of two), compat=0.10|1.1, refcount_bits=N,
           backing_file=FILE, backing_fmt=FMT (comma separated; also size=SIZE)
  size defaults to the backing image's virtual size when a backing file is given

Exit status of check: 0 no problems, 2 corruptions, 3 leaked clusters only, 1 check failed, 63 not supported.
`;

/** Runs one rewind-img command line; returns the exit status. Never throws. */
export function runImgCommand(argv: string[], out: Output): number {
  try {
    return dispatch(argv, out);
  } catch (e) {
    const err = e instanceof ImageError ? e : toImageError("internal error", e);
    for (const line of err.message.split("\n")) out.stderr(`${PROG}: ${line}\n`);
    if (err instanceof UsageError) out.stderr(`Try '${PROG} --help' for more information\n`);
    return 1;
  }
}

function dispatch(argv: string[], out: Output): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      throw new UsageError("Not enough arguments");
    case "-h": case "--help": case "help":
      out.stdout(USAGE);
      return 0;
    case "-V": case "--version":
      out.stdout(`${PROG} version ${VERSION}\n`);
      return 0;
    case "create": return cmdCreate(rest, out, USAGE);
    case "info": return cmdInfo(rest, out);
    case "check": return cmdCheck(rest, out);
    case "snapshot": return cmdSnapshot(rest, out);
    default:
      if (cmd.startsWith("-")) throw new UsageError(`unknown option '${cmd}'`);
      throw new UsageError(`Command not found: ${cmd}`);
  }
}

// ---- info ----

function cmdInfo(argv: string[], out: Output): number {
  const { opts, positional } = parse(argv, { short: "hf:U", long: { output: true, "force-share": false } });
  if (helpRequested(opts, out, USAGE)) return 0;
  const output = outputOption(opts.get("output"));
  const file = onlyFile(positional);
  // Like qemu-img info, only this image is opened, not its backing chain.
  const img = openImage(file, { format: formatOption(opts.get("f")), readOnly: true, openBacking: false });
  let summary: ImageSummary;
  try {
    if (img instanceof Qcow2Image) {
      const d = img.details();
      summary = { filename: file, format: "qcow2", virtualSize: d.virtualSize, actualSize: d.actualSize,
        qcow2: d, snapshots: img.listSnapshots() };
      if (d.backingFile !== null) {
        summary.backing = { filename: d.backingFile, full: backingPath(file, d.backingFile),
          format: d.backingFormat };
      }
    } else {
      summary = { filename: file, format: "raw", virtualSize: img.size,
        actualSize: (img as RawImage).actualSize(), snapshots: [] };
    }
  } finally {
    img.close();
  }
  out.stdout(output === "json" ? formatInfoJson(summary) : formatInfoText(summary));
  return 0;
}

// ---- check ----

function cmdCheck(argv: string[], out: Output): number {
  const { opts, positional } = parse(argv, { short: "hf:qr:U", long: { output: true, "force-share": false } });
  if (helpRequested(opts, out, USAGE)) return 0;
  const output = outputOption(opts.get("output"));
  let fix = 0;
  if (opts.has("r")) {
    const v = opts.get("r");
    if (v === "leaks") fix = FIX_LEAKS;
    else if (v === "all") fix = FIX_LEAKS | FIX_ERRORS;
    else throw new ImageError(`Unknown option value for -r (expecting 'leaks' or 'all'): ${v}`);
  }
  const file = onlyFile(positional);
  const fmt = formatOption(opts.get("f")) ?? probeFormat(file);
  if (fmt === "raw") {
    out.stderr(`${PROG}: This image format does not support checks\n`);
    return 63;
  }
  if (probeFormat(file) !== "qcow2") throw new ImageError(`Could not open '${file}': Image is not in qcow2 format`);
  const quiet = opts.has("q");
  const f = NodeFile.open(file, fix === 0);
  let r;
  try {
    const once = (mode: number) => {
      let res;
      try {
        res = checkQcow2(f, mode);
      } catch (e) {
        throw withContext(`Could not open '${file}'`, e);
      }
      for (const m of res.messages) out.stderr(m + "\n");
      return res;
    };
    r = once(fix);
    if (!r.failure && (r.corruptionsFixed || r.leaksFixed)) {
      if (output === "human" && !quiet) {
        out.stdout("The following inconsistencies were found and repaired:\n\n" +
          `    ${r.leaksFixed} leaked clusters\n    ${r.corruptionsFixed} corruptions\n\n` +
          "Double checking the fixed image now...\n");
      }
      const again = once(0);
      again.leaksFixed = r.leaksFixed;
      again.corruptionsFixed = r.corruptionsFixed;
      r = again;
    }
  } finally {
    f.close();
  }
  if (r.failure) {
    out.stderr(`${PROG}: Check failed: ${r.failure}\n`);
    return 1;
  }
  if (!quiet) out.stdout(output === "json" ? formatCheckJson(r, file) : formatCheckText(r));
  const code = checkExitCode(r);
  if (code === 1) out.stderr(`${PROG}: Check failed\n`);
  return code;
}

// ---- snapshot ----

function cmdSnapshot(argv: string[], out: Output): number {
  const { opts, positional, all } = parse(argv, { short: "hf:la:c:d:qU", long: { "force-share": false } });
  if (helpRequested(opts, out, USAGE)) return 0;
  const actions = all.filter(([k]) => "lacd".includes(k));
  if (actions.length === 0) throw new UsageError("Expecting one of -l, -a, -c or -d");
  if (actions.length > 1) throw new UsageError("Cannot mix -l, -a, -c and -d; give exactly one");
  const [action, name] = actions[0]!;
  const file = onlyFile(positional);
  const img = openImage(file, { format: formatOption(opts.get("f")), readOnly: action === "l" });
  try {
    if (!(img instanceof Qcow2Image)) {
      if (action === "l") return 0;
      throw new ImageError(`Could not ${verb(action)} snapshot '${name}': snapshots are not supported by raw images`);
    }
    switch (action) {
      case "l":
        out.stdout(formatSnapshotList(img.listSnapshots()));
        return 0;
      case "c":
        wrap(action, name!, () => img.createSnapshot(name!, { replace: false }));
        return 0;
      case "a":
        wrap(action, name!, () => img.applySnapshot(name!));
        return 0;
      default:
        wrap(action, name!, () => img.deleteSnapshot(name!));
        return 0;
    }
  } finally {
    img.close();
  }
}

function verb(action: string): string {
  return action === "c" ? "create" : action === "a" ? "apply" : "delete";
}

function wrap(action: string, name: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    const why = e instanceof SnapshotNotFoundError ? "snapshot not found" : (e as Error).message;
    throw new ImageError(`Could not ${verb(action)} snapshot '${name}': ${why}`);
  }
}

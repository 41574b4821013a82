import { ImageError } from "../errors.js";
import { UsageError } from "./getopt.js";
import { parseSize } from "../sizes.js";
import { createImage, openImage } from "../open-image.js";
import { backingPath } from "../backing.js";
import { parse, formatOption, helpRequested, type Output } from "./common.js";

const QCOW2_CREATE_KEYS = ["cluster_size", "compat", "refcount_bits", "size", "lazy_refcounts", "extended_l2",
  "compression_type", "preallocation", "backing_file", "backing_fmt"];

/** `create [-q] [-f fmt] [-b backing [-F backing_fmt]] [-o options] FILE [SIZE]` with qemu-img's messages. */
export function cmdCreate(argv: string[], out: Output, usage: string): number {
  const { opts, positional, all } = parse(argv, { short: "hf:o:qb:F:" });
  if (helpRequested(opts, out, usage)) return 0;
  const fmt = formatOption(opts.get("f")) ?? "raw";
  const o = new Map<string, string>();
  for (const [k, v] of all) {
    if (k !== "o") continue;
    for (const item of v!.split(",")) {
      if (item === "") continue;
      const eq = item.indexOf("=");
      if (eq < 0) throw new ImageError(`Invalid option list: '${item}' has no value`);
      o.set(item.slice(0, eq), item.slice(eq + 1));
    }
  }
  if (positional.length === 0) throw new UsageError("Expecting image file name");
  if (positional.length > 2) throw new UsageError(`Unexpected argument '${positional[2]}'`);
  const file = positional[0]!;
  const allowed = fmt === "qcow2" ? QCOW2_CREATE_KEYS : ["size", "preallocation"];
  for (const k of o.keys()) {
    if (!allowed.includes(k)) throw new UsageError(`unknown option '${k}' for format '${fmt}' (in -o)`);
  }
  const backingFile = opts.get("b") ?? o.get("backing_file");
  const backingFmt = opts.get("F") ?? o.get("backing_fmt");
  if (backingFile !== undefined && fmt !== "qcow2") {
    throw new ImageError(`${file}: Backing file not supported for file format '${fmt}'`);
  }
  if (backingFmt !== undefined && backingFile === undefined) {
    throw new ImageError(`${file}: Backing format cannot be used without backing file`);
  }
  const sizeText = positional[1] ?? o.get("size");
  if (sizeText === undefined && backingFile === undefined) {
    throw new ImageError(`${file}: Image creation needs a size parameter`);
  }
  let size = sizeText === undefined ? 0 : parseSizeArg(sizeText);
  if (backingFile !== undefined) {
    // qemu-img opens the backing image first: to check it exists, for its size, and to insist on a format.
    const where = backingPath(file, backingFile);
    let backing;
    try {
      backing = openImage(where, { format: formatOption(backingFmt), readOnly: true, openBacking: false });
    } catch (e) {
      throw new ImageError(`${file}: Could not open backing image: ${(e as Error).message}`);
    }
    try {
      if (backingFmt === undefined) {
        throw new ImageError(`${file}: Backing file specified without backing format\nDetected format of ${backing.format}.`);
      }
      if (sizeText === undefined) size = backing.size;
    } finally {
      backing.close();
    }
  }
  const backingShown = backingFile === undefined ? "" : ` backing_file=${backingFile} backing_fmt=${backingFmt}`;
  if (o.has("preallocation") && o.get("preallocation") !== "off") {
    throw new ImageError(`preallocation '${o.get("preallocation")}' is not supported (only off)`);
  }
  if (fmt === "raw") {
    createImage(file, { format: "raw", size });
    if (!opts.has("q")) out.stdout(`Formatting '${file}', fmt=raw size=${size}\n`);
    return 0;
  }
  const compat = o.get("compat");
  const clusterSizeText = o.get("cluster_size");
  const refcountBitsText = o.get("refcount_bits");
  // qemu-img announces the image before validating the options.
  if (!opts.has("q")) {
    let shownClusterSize = clusterSizeText ?? "65536";
    try {
      shownClusterSize = String(parseSize(shownClusterSize));
    } catch { /* shown as given; rejected below */ }
    out.stdout(`Formatting '${file}', fmt=qcow2 cluster_size=${shownClusterSize} extended_l2=off ` +
      `compression_type=zlib size=${size}${compat !== undefined ? ` compat=${compat}` : ""}${backingShown} ` +
      `lazy_refcounts=off refcount_bits=${refcountBitsText ?? 16}\n`);
  }
  for (const [k, ok] of [["lazy_refcounts", "off"], ["extended_l2", "off"], ["compression_type", "zlib"]] as const) {
    if (o.has(k) && o.get(k) !== ok) throw new ImageError(`${file}: ${k}=${o.get(k)} is not supported (only ${ok})`);
  }
  let version: 2 | 3 = 3;
  if (compat !== undefined) {
    if (compat === "0.10" || compat === "v2") version = 2;
    else if (compat === "1.1" || compat === "v3") version = 3;
    else throw new ImageError(`${file}: Parameter 'version' does not accept value '${compat}'`);
  }
  let clusterSize = 65536;
  if (clusterSizeText !== undefined) {
    try {
      clusterSize = parseSize(clusterSizeText, "cluster size");
    } catch {
      throw new ImageError(`${file}: Parameter 'cluster_size' expects a size`);
    }
  }
  const refcountBits = refcountBitsText !== undefined ? Number(refcountBitsText) : 16;
  if (!Number.isInteger(refcountBits)) throw new ImageError(`${file}: Parameter 'refcount_bits' expects a number`);
  try {
    // qcow2 stores whole sectors: qemu-img rounds the size up to 512 bytes.
    createImage(file, { format: "qcow2", size: Math.ceil(size / 512) * 512, clusterSize, version, refcountBits,
      backingFile, backingFormat: backingFmt });
  } catch (e) {
    throw new ImageError(`${file}: ${(e as Error).message}`);
  }
  return 0;
}

function parseSizeArg(text: string): number {
  try {
    return parseSize(text);
  } catch {
    throw new ImageError("Invalid image size specified. You may use k, M, G, T, P or E suffixes for\n" +
      "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
  }
}

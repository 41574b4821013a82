import { ImageError } from "../errors.js";
import { getopt, UsageError, type OptionSpec } from "./getopt.js";
import type { ImageFormat } from "../open-image.js";

/** Where the command writes; tests capture it, the CLI passes process streams. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const PROG = "rewind-img";

/** getopt plus --help for every command; options as a map (last one wins) and in order. */
export function parse(argv: string[], spec: OptionSpec) {
  const p = getopt(argv, { ...spec, long: { help: false, ...spec.long } });
  const opts = new Map<string, string | undefined>();
  for (const [k, v] of p.options) opts.set(k, v);
  return { opts, positional: p.positional, all: p.options };
}

export function formatOption(v: string | undefined): ImageFormat | undefined {
  if (v === undefined) return undefined;
  if (v === "qcow2" || v === "raw") return v;
  throw new ImageError(`Unknown file format '${v}'`);
}

export function outputOption(v: string | undefined): "human" | "json" {
  if (v === undefined || v === "human") return "human";
  if (v === "json") return "json";
  throw new ImageError(`--output must be used with human or json as argument.`);
}

export function onlyFile(positional: string[]): string {
  if (positional.length === 0) throw new UsageError("Expecting one image file name");
  if (positional.length > 1) throw new UsageError(`Expecting one image file name (extra argument '${positional[1]}')`);
  return positional[0]!;
}

export function helpRequested(opts: Map<string, string | undefined>, out: Output, usage: string): boolean {
  if (!opts.has("help") && !opts.has("h")) return false;
  out.stdout(usage);
  return true;
}

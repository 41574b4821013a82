import { ImageError } from "../errors.js";

/** A command line mistake (unknown option, missing argument): reported with a pointer to --help. */
export class UsageError extends ImageError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface OptionSpec {
  /** Short options, getopt style: "f:o:q" (a colon means "takes an argument"). */
  short: string;
  /** Long options and whether they take an argument. */
  long?: Record<string, boolean>;
}

export interface ParsedArgs {
  options: Array<[name: string, value: string | undefined]>;
  positional: string[];
}

/** GNU getopt_long semantics: options may follow operands, "-fqcow2" and "--output=json" forms, "--" ends. */
export function getopt(argv: string[], spec: OptionSpec): ParsedArgs {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < spec.short.length; i++) {
    const c = spec.short[i]!;
    if (c === ":") continue;
    takesArg.set(c, spec.short[i + 1] === ":");
  }
  const out: ParsedArgs = { options: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const has = spec.long?.[name];
      if (has === undefined) throw new UsageError(`unknown option '--${name}'`);
      if (has) {
        let v = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (v === undefined) throw new UsageError(`option '--${name}' requires an argument`);
        out.options.push([name, v]);
      } else {
        if (eq >= 0) throw new UsageError(`option '--${name}' doesn't allow an argument`);
        out.options.push([name, undefined]);
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const has = takesArg.get(c);
        if (has === undefined) throw new UsageError(`unknown option '-${c}'`);
        if (!has) {
          out.options.push([c, undefined]);
          continue;
        }
        const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`option '-${c}' requires an argument`);
        out.options.push([c, v]);
        break;
      }
      continue;
    }
    out.positional.push(a);
  }
  return out;
}

/**
 * QEMU's sub-option syntax (QemuOpts): `first,key=value,key=value,flag`.
 *  - `,,` inside a value stands for one literal comma;
 *  - the first element may omit its key when the option has an implied key (`-chardev socket,...` is
 *    `backend=socket`, `-icount 7` is `shift=7`);
 *  - a later element without `=` is a short-form boolean: `server` is `server=on`, `nowait` is `wait=off`
 *    (QEMU deprecates that form and warns; so do we, through the warnings list);
 *  - a key given twice keeps its last value (QEMU's qemu_opt_get returns the last one).
 */

/** The one error the option parser lets escape; its message names the option, QEMU style. */
export class OptionError extends Error {
  /**
   * @param program  the binary's name, e.g. "rewind-system-aarch64"
   * @param option   the option as written, with its dash, e.g. "-m" (empty for errors not tied to one option)
   * @param detail   what is wrong, e.g. "invalid size 'abc'"
   */
  constructor(
    readonly program: string,
    readonly option: string,
    readonly detail: string,
  ) {
    super(option ? `${program}: ${option}: ${detail}` : `${program}: ${detail}`);
    this.name = "OptionError";
  }
}

/** One `key=value` element; `shortForm` marks a bare flag (`server`, `nowait`). */
export interface OptParam {
  key: string;
  value: string;
  shortForm: boolean;
  /** For a short form, the word as written ("nowait"), for QEMU's warning. */
  written?: string;
}

/** Reads a value up to the next single comma; `,,` becomes `,`. Returns the value and the index after it. */
function readValue(text: string, start: number): [string, number] {
  let out = "";
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ",") {
      if (text[i + 1] === ",") {
        out += ",";
        i += 2;
        continue;
      }
      break;
    }
    out += c;
    i++;
  }
  return [out, i];
}

/** Splits a QemuOpts string into its elements (see the file comment). Never throws. */
export function splitParams(text: string, impliedKey?: string): OptParam[] {
  const params: OptParam[] = [];
  let i = 0;
  let first = true;
  while (i < text.length) {
    let stop = i;
    while (stop < text.length && text[stop] !== "=" && text[stop] !== ",") stop++;
    if (text[stop] === "=") {
      const key = text.slice(i, stop);
      const [value, end] = readValue(text, stop + 1);
      params.push({ key, value, shortForm: false });
      i = end;
    } else if (first && impliedKey !== undefined) {
      const [value, end] = readValue(text, i);
      params.push({ key: impliedKey, value, shortForm: false });
      i = end;
    } else {
      const name = text.slice(i, stop);
      if (name.startsWith("no") && name.length > 2) {
        params.push({ key: name.slice(2), value: "off", shortForm: true, written: name });
      } else if (name !== "") {
        params.push({ key: name, value: "on", shortForm: true, written: name });
      }
      i = stop;
    }
    first = false;
    if (text[i] === ",") i++;
  }
  return params;
}

/** QEMU's boolean spellings (qapi_bool_parse). */
export function parseBool(value: string): boolean | undefined {
  switch (value) {
    case "on":
    case "yes":
    case "true":
    case "y":
      return true;
    case "off":
    case "no":
    case "false":
    case "n":
      return false;
    default:
      return undefined;
  }
}

/** Is `s` a QEMU identifier (letters, digits, '-', '.', '_', starting with a letter)? */
export function isQemuId(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]*$/.test(s);
}

/** Is `value` QEMU's request for help (`help` or `?`)? */
export function isHelpValue(value: string | undefined): boolean {
  return value === "help" || value === "?";
}

/**
 * A parsed sub-option string checked against the keys an option accepts. Errors become OptionErrors that
 * name the option; short-form booleans add QEMU's deprecation warning.
 */
export class ParamSet {
  private readonly values = new Map<string, string>();

  constructor(
    private readonly fail: (detail: string) => never,
    params: readonly OptParam[],
    allowedKeys: readonly string[],
    warn: (text: string) => void,
    /** Keys QEMU knows but Rewind does not implement: a clear "not supported" instead of "invalid". */
    unsupportedKeys: readonly string[] = [],
  ) {
    for (const p of params) {
      if (unsupportedKeys.includes(p.key)) fail(`parameter '${p.key}' is not supported by Rewind`);
      if (!allowedKeys.includes(p.key)) fail(`invalid parameter '${p.key}'`);
      if (p.shortForm) {
        warn(`short-form boolean option '${p.written ?? p.key}' deprecated\nPlease use ${p.key}=${p.value} instead`);
      }
      this.values.set(p.key, p.value);
    }
  }

  /** Merges in later values (QEMU merges repeated -machine, -icount, -m, ...). */
  mergeFrom(other: ParamSet): void {
    for (const [k, v] of other.values) this.values.set(k, v);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  str(key: string): string | undefined {
    return this.values.get(key);
  }

  bool(key: string): boolean | undefined;
  bool(key: string, fallback: boolean): boolean;
  bool(key: string, fallback?: boolean): boolean | undefined {
    const v = this.values.get(key);
    if (v === undefined) return fallback;
    const b = parseBool(v);
    if (b === undefined) this.fail(`parameter '${key}' expects 'on' or 'off' (got '${v}')`);
    return b;
  }

  /** A non-negative decimal (or 0x hex) integer. */
  uint(key: string): number | undefined {
    const v = this.values.get(key);
    if (v === undefined) return undefined;
    if (!/^(?:[0-9]+|0[xX][0-9a-fA-F]+)$/.test(v) || !Number.isSafeInteger(Number(v))) {
      this.fail(`parameter '${key}' expects a non-negative integer (got '${v}')`);
    }
    return Number(v);
  }

  /** One of `choices`; the message lists them. */
  choice<T extends string>(key: string, choices: readonly T[]): T | undefined {
    const v = this.values.get(key);
    if (v === undefined) return undefined;
    if (!(choices as readonly string[]).includes(v)) {
      this.fail(`parameter '${key}' does not accept value '${v}' (valid: ${choices.join(", ")})`);
    }
    return v as T;
  }
}

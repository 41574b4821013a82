/**
 * QEMU's size syntax (`qemu_strtosz`) for command-line options such as `-m`:
 *   decimal integer, optionally with a fraction ("1.5G"), or hex ("0x8000000");
 *   an optional one-letter suffix b/B (bytes), k/K, m/M, g/G, t/T, p/P, e/E (powers of 1024);
 *   without a suffix the option's default unit applies (MiB for -m, bytes elsewhere);
 *   a fraction needs a unit larger than a byte and is rounded to the nearest byte (half up).
 * Sizes are returned as Numbers; anything above 2^53 is reported as too large (no board can use it anyway).
 * BigInt is fine here: this runs once per option, not on a hot path.
 */

const SUFFIX_SHIFT: Readonly<Record<string, number>> = { b: 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };

export type SizeUnit = "B" | "K" | "M" | "G" | "T";

export type SizeParse = { ok: true; bytes: number } | { ok: false; reason: "invalid" | "too-large" };

/** Parses `text` as a QEMU size; `defaultUnit` applies when there is no suffix. Never throws. */
export function parseQemuSize(text: string, defaultUnit: SizeUnit = "B"): SizeParse {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|([0-9]+)(?:\.([0-9]*))?)([bBkKmMgGtTpPeE]?)$/.exec(text);
  if (!m) return { ok: false, reason: "invalid" };
  const [, hexDigits, intDigits, fracDigits, suffix] = m;
  const shift = SUFFIX_SHIFT[(suffix || defaultUnit).toLowerCase()]!;
  const mul = 1n << BigInt(shift);
  let bytes: bigint;
  if (hexDigits !== undefined) {
    bytes = BigInt("0x" + hexDigits) * mul;
  } else {
    bytes = BigInt(intDigits!) * mul;
    if (fracDigits !== undefined && /[1-9]/.test(fracDigits)) {
      if (shift === 0) return { ok: false, reason: "invalid" }; // "1.5B": a fraction of a byte
      const scale = 10n ** BigInt(fracDigits.length);
      const num = BigInt(fracDigits) * mul;
      bytes += num / scale + ((num % scale) * 2n >= scale ? 1n : 0n);
    }
  }
  if (bytes >= 1n << 64n) return { ok: false, reason: "invalid" }; // QEMU: "below 2^64"
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: "too-large" };
  return { ok: true, bytes: Number(bytes) };
}

/** "134217728" → "128 MiB"; exact binary units only, for messages. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = bytes;
  while (i < units.length - 1 && v >= 1024 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}

import { ImageError } from "./errors.js";

const SUFFIX_SHIFT: Record<string, number> = { "": 0, b: 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };

/**
 * Parses a size the way qemu-img does: a number with an optional k/K, M, G, T, P or E suffix (powers of 1024),
 * "b"/"B" or no suffix for bytes, and a fraction allowed with a suffix ("1.5G").
 */
export function parseSize(text: string, what = "size"): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([bBkKmMgGtTpPeE]?)\s*$/.exec(text);
  if (!m) {
    throw new ImageError(
      `Invalid ${what} '${text}': use a number of bytes, optionally with a k, M, G, T, P or E suffix`,
    );
  }
  const shift = SUFFIX_SHIFT[m[2]!.toLowerCase()]!;
  if (m[1]!.includes(".") && shift === 0) throw new ImageError(`Invalid ${what} '${text}': fractional bytes`);
  const value = Number(m[1]) * 2 ** shift;
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) {
    throw new ImageError(`Invalid ${what} '${text}': too large`);
  }
  return Math.floor(value);
}

/**
 * QEMU's size_to_str(): binary units with three significant digits, switching to the next unit once the
 * integer part would reach 1000 ("1000 B" prints as "0.977 KiB").
 */
export function sizeToStr(value: number): string {
  const suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
  // frexp(value / (1000/1024)) gives exponent e with 2^(e-1) <= x < 2^e.
  const x = value / (1000 / 1024);
  let e = 0;
  if (x !== 0) e = Math.floor(Math.log2(x)) + 1;
  // Guard against floating-point edge cases of log2 at exact powers of two.
  if (x !== 0 && 2 ** (e - 1) > x) e--;
  if (x !== 0 && 2 ** e <= x) e++;
  let i = Math.trunc((e - 1) / 10);
  if (i < 0) i = 0;
  if (i >= suffixes.length) i = suffixes.length - 1;
  return `${formatG3(value / 2 ** (i * 10))} ${suffixes[i]}B`;
}

/** C's printf("%0.3g"). */
export function formatG3(v: number): string {
  if (v === 0) return "0";
  const rounded = Number(v.toPrecision(3));
  const rexp = Math.floor(Math.log10(Math.abs(rounded)));
  if (rexp < -4 || rexp >= 3) {
    // exponent form: d.dde+XX with trailing zeros removed
    const [mant, ex] = rounded.toExponential(2).split("e");
    const m = stripZeros(mant!);
    const n = Number(ex);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return stripZeros(rounded.toFixed(Math.max(0, 2 - rexp)));
}

function stripZeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}

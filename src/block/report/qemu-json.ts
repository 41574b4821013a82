/**
 * JSON output byte-compatible with qemu-img --output=json. QEMU builds a QDict (a hash table with 512 buckets,
 * newest entry first within a bucket) and prints it in bucket order, so the key order looks random but is
 * fixed: reproduce QDict's tdb_hash to get the same order. Keys must be given in QAPI visit order (it decides
 * the order inside a bucket).
 */

export type JsonValue = string | number | bigint | boolean | JsonValue[] | { [key: string]: JsonValue };

function tdbHash(key: string): number {
  const b = Buffer.from(key, "utf8");
  let v = Math.imul(0x238f13af, b.length) >>> 0;
  for (let i = 0; i < b.length; i++) v = (v + ((b[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return (Math.imul(1103515243, v) + 12345) >>> 0;
}

/** Key order of a QDict filled with `keys` in that order. */
export function qdictOrder(keys: string[]): string[] {
  const buckets = new Map<number, string[]>();
  for (const k of keys) {
    const h = tdbHash(k) % 512;
    const list = buckets.get(h) ?? [];
    list.unshift(k);
    buckets.set(h, list);
  }
  return [...buckets.keys()].sort((a, b) => a - b).flatMap((h) => buckets.get(h)!);
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    else if (cp > 0x7f) {
      if (cp > 0xffff) {
        const v = cp - 0x10000;
        out += `\\u${(0xd800 + (v >> 10)).toString(16).toUpperCase()}\\u${(0xdc00 + (v & 0x3ff)).toString(16).toUpperCase()}`;
      } else out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    } else out += ch;
  }
  return out + '"';
}

/** Pretty-prints like QEMU's qobject_to_json_pretty (4-space indent). */
export function qemuJson(v: JsonValue, indent = 0): string {
  const pad = " ".repeat(indent + 4);
  const end = " ".repeat(indent);
  if (typeof v === "string") return quote(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[\n" + end + "]";
    return "[\n" + v.map((x) => pad + qemuJson(x, indent + 4)).join(",\n") + "\n" + end + "]";
  }
  const keys = qdictOrder(Object.keys(v));
  if (keys.length === 0) return "{\n" + end + "}";
  return "{\n" + keys.map((k) => `${pad}${quote(k)}: ${qemuJson(v[k]!, indent + 4)}`).join(",\n") + "\n" + end + "}";
}

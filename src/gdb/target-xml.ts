// GDB target descriptions (qXfer:features:read): a root `target.xml` naming the architecture and including one
// document per feature, as QEMU serves them. The registers come from the session (DebugSession.registers());
// the type definitions a feature's registers refer to (flags, vectors, unions) live in FEATURE_TYPES below, one
// entry per feature, copied in content from GDB's own feature files so GDB shows the registers as it does for
// its native targets: AArch64's core and fpu; x86-64's i386 core, sse and segments (with the control registers'
// flag types, which GDB has no feature for, as QEMU's i386-64bit.xml defines them).

import type { RegisterInfo } from "../session/api.js";

export type TargetArch = "aarch64" | "x86_64";

/** The `<architecture>` GDB expects for each of Rewind's targets. */
export const GDB_ARCHITECTURE: Readonly<Record<TargetArch, string>> = {
  aarch64: "aarch64",
  x86_64: "i386:x86-64",
};

interface FeatureInfo {
  /** Annex (document name) the feature is served under, QEMU's file name. */
  file: string;
  /** XML type definitions the feature's registers use, placed before the registers. */
  types: string;
}

const flags = (id: string, fields: [string, number, number][], size = 4): string =>
  `  <flags id="${id}" size="${size}">\n` +
  fields.map(([name, start, end]) => `    <field name="${name}" start="${start}" end="${end}"/>\n`).join("") +
  `  </flags>\n`;

const AARCH64_CPSR_FLAGS = flags("cpsr_flags", [
  ["SP", 0, 0],
  ["EL", 2, 3],
  ["nRW", 4, 4],
  ["F", 6, 6],
  ["I", 7, 7],
  ["A", 8, 8],
  ["D", 9, 9],
  ["BTYPE", 10, 11],
  ["SSBS", 12, 12],
  ["IL", 20, 20],
  ["SS", 21, 21],
  ["PAN", 22, 22],
  ["UAO", 23, 23],
  ["DIT", 24, 24],
  ["TCO", 25, 25],
  ["V", 28, 28],
  ["C", 29, 29],
  ["Z", 30, 30],
  ["N", 31, 31],
]);

// The vector views of a V register (v0.d.f[1], v0.s.u[3], v0.b.s[15], v0.q.u[0]...). GDB 11+ adds a bfloat16
// view to "vnh"; it is left out so older GDBs, which do not know the bfloat16 type, still accept the description.
const AARCH64_VECTOR_TYPES = [
  `  <vector id="v2d" type="ieee_double" count="2"/>`,
  `  <vector id="v2u" type="uint64" count="2"/>`,
  `  <vector id="v2i" type="int64" count="2"/>`,
  `  <vector id="v4f" type="ieee_single" count="4"/>`,
  `  <vector id="v4u" type="uint32" count="4"/>`,
  `  <vector id="v4i" type="int32" count="4"/>`,
  `  <vector id="v8f" type="ieee_half" count="8"/>`,
  `  <vector id="v8u" type="uint16" count="8"/>`,
  `  <vector id="v8i" type="int16" count="8"/>`,
  `  <vector id="v16u" type="uint8" count="16"/>`,
  `  <vector id="v16i" type="int8" count="16"/>`,
  `  <vector id="v1u" type="uint128" count="1"/>`,
  `  <vector id="v1i" type="int128" count="1"/>`,
].join("\n") + "\n";

const union = (id: string, fields: [string, string][]): string =>
  `  <union id="${id}">\n` + fields.map(([name, type]) => `    <field name="${name}" type="${type}"/>\n`).join("") + `  </union>\n`;

const AARCH64_FPU_TYPES =
  AARCH64_VECTOR_TYPES +
  union("vnd", [["f", "v2d"], ["u", "v2u"], ["s", "v2i"]]) +
  union("vns", [["f", "v4f"], ["u", "v4u"], ["s", "v4i"]]) +
  union("vnh", [["f", "v8f"], ["u", "v8u"], ["s", "v8i"]]) +
  union("vnb", [["u", "v16u"], ["s", "v16i"]]) +
  union("vnq", [["u", "v1u"], ["s", "v1i"]]) +
  union("aarch64v", [["d", "vnd"], ["s", "vns"], ["h", "vnh"], ["b", "vnb"], ["q", "vnq"]]) +
  flags("fpsr_flags", [
    ["IOC", 0, 0],
    ["DZC", 1, 1],
    ["OFC", 2, 2],
    ["UFC", 3, 3],
    ["IXC", 4, 4],
    ["IDC", 7, 7],
    ["QC", 27, 27],
    ["V", 28, 28],
    ["C", 29, 29],
    ["Z", 30, 30],
    ["N", 31, 31],
  ]) +
  flags("fpcr_flags", [
    ["FIZ", 0, 0],
    ["AH", 1, 1],
    ["NEP", 2, 2],
    ["IOE", 8, 8],
    ["DZE", 9, 9],
    ["OFE", 10, 10],
    ["UFE", 11, 11],
    ["IXE", 12, 12],
    ["IDE", 15, 15],
    ["FZ16", 19, 19],
    ["RMode", 22, 23],
    ["FZ", 24, 24],
    ["DN", 25, 25],
    ["AHP", 26, 26],
  ]);

// x86-64, from GDB's features/i386/64bit-core.xml and 64bit-sse.xml (the bfloat16 view of vec128, GDB 11+, left
// out as for AArch64), and the control registers' flags from QEMU 7.2's gdb-xml/i386-64bit.xml.
const I386_EFLAGS = flags("i386_eflags", [
  ["CF", 0, 0],
  ["", 1, 1],
  ["PF", 2, 2],
  ["AF", 4, 4],
  ["ZF", 6, 6],
  ["SF", 7, 7],
  ["TF", 8, 8],
  ["IF", 9, 9],
  ["DF", 10, 10],
  ["OF", 11, 11],
  ["NT", 14, 14],
  ["RF", 16, 16],
  ["VM", 17, 17],
  ["AC", 18, 18],
  ["VIF", 19, 19],
  ["VIP", 20, 20],
  ["ID", 21, 21],
]);

const X64_CONTROL_FLAGS =
  flags("x64_cr0", [
    ["PG", 31, 31],
    ["CD", 30, 30],
    ["NW", 29, 29],
    ["AM", 18, 18],
    ["WP", 16, 16],
    ["NE", 5, 5],
    ["ET", 4, 4],
    ["TS", 3, 3],
    ["EM", 2, 2],
    ["MP", 1, 1],
    ["PE", 0, 0],
  ], 8) +
  flags("x64_cr3", [
    ["PDBR", 12, 63],
    ["PCID", 0, 11],
  ], 8) +
  flags("x64_cr4", [
    ["PKE", 22, 22],
    ["SMAP", 21, 21],
    ["SMEP", 20, 20],
    ["OSXSAVE", 18, 18],
    ["PCIDE", 17, 17],
    ["FSGSBASE", 16, 16],
    ["SMXE", 14, 14],
    ["VMXE", 13, 13],
    ["LA57", 12, 12],
    ["UMIP", 11, 11],
    ["OSXMMEXCPT", 10, 10],
    ["OSFXSR", 9, 9],
    ["PCE", 8, 8],
    ["PGE", 7, 7],
    ["MCE", 6, 6],
    ["PAE", 5, 5],
    ["PSE", 4, 4],
    ["DE", 3, 3],
    ["TSD", 2, 2],
    ["PVI", 1, 1],
    ["VME", 0, 0],
  ], 8) +
  flags("x64_efer", [
    ["TCE", 15, 15],
    ["FFXSR", 14, 14],
    ["LMSLE", 13, 13],
    ["SVME", 12, 12],
    ["NXE", 11, 11],
    ["LMA", 10, 10],
    ["LME", 8, 8],
    ["SCE", 0, 0],
  ], 8);

const I386_SSE_TYPES =
  [
    `  <vector id="v8h" type="ieee_half" count="8"/>`,
    `  <vector id="v4f" type="ieee_single" count="4"/>`,
    `  <vector id="v2d" type="ieee_double" count="2"/>`,
    `  <vector id="v16i8" type="int8" count="16"/>`,
    `  <vector id="v8i16" type="int16" count="8"/>`,
    `  <vector id="v4i32" type="int32" count="4"/>`,
    `  <vector id="v2i64" type="int64" count="2"/>`,
  ].join("\n") +
  "\n" +
  union("vec128", [
    ["v8_half", "v8h"],
    ["v4_float", "v4f"],
    ["v2_double", "v2d"],
    ["v16_int8", "v16i8"],
    ["v8_int16", "v8i16"],
    ["v4_int32", "v4i32"],
    ["v2_int64", "v2i64"],
    ["uint128", "uint128"],
  ]) +
  flags("i386_mxcsr", [
    ["IE", 0, 0],
    ["DE", 1, 1],
    ["ZE", 2, 2],
    ["OE", 3, 3],
    ["UE", 4, 4],
    ["PE", 5, 5],
    ["DAZ", 6, 6],
    ["IM", 7, 7],
    ["DM", 8, 8],
    ["ZM", 9, 9],
    ["OM", 10, 10],
    ["UM", 11, 11],
    ["PM", 12, 12],
    ["FZ", 15, 15],
  ]);

/** Known features: where they are served and the types their registers need. */
const FEATURE_TYPES: ReadonlyMap<string, FeatureInfo> = new Map([
  ["org.gnu.gdb.aarch64.core", { file: "aarch64-core.xml", types: AARCH64_CPSR_FLAGS }],
  ["org.gnu.gdb.aarch64.fpu", { file: "aarch64-fpu.xml", types: AARCH64_FPU_TYPES }],
  ["org.gnu.gdb.i386.core", { file: "64bit-core.xml", types: I386_EFLAGS + X64_CONTROL_FLAGS }],
  ["org.gnu.gdb.i386.sse", { file: "64bit-sse.xml", types: I386_SSE_TYPES }],
  ["org.gnu.gdb.i386.segments", { file: "64bit-segments.xml", types: "" }],
]);

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** A file name for a feature nobody described: "org.example.foo" → "org.example.foo.xml". */
function fallbackFile(feature: string): string {
  return feature.replace(/[^A-Za-z0-9_.-]/g, "_") + ".xml";
}

function registerXml(r: RegisterInfo, explicitNumber: boolean): string {
  let attrs = `name="${escapeXml(r.name)}" bitsize="${r.bitsize}"`;
  // "int" is GDB's default (an integer of bitsize bits): GDB's own files leave it out.
  if (r.type && r.type !== "int") attrs += ` type="${escapeXml(r.type)}"`;
  if (explicitNumber) attrs += ` regnum="${r.regnum}"`;
  if (r.group) attrs += ` group="${escapeXml(r.group)}"`;
  return `  <reg ${attrs}/>\n`;
}

/**
 * Builds the documents GDB reads with qXfer:features:read: "target.xml" plus one per feature. Registers keep
 * their numbers: a register gets an explicit `regnum` whenever it does not follow the previous one.
 */
export function buildTargetDescription(arch: TargetArch, registers: readonly RegisterInfo[], architecture = GDB_ARCHITECTURE[arch]): Map<string, string> {
  const sorted = [...registers].sort((a, b) => a.regnum - b.regnum);
  const features: string[] = [];
  const byFeature = new Map<string, RegisterInfo[]>();
  for (const r of sorted) {
    let list = byFeature.get(r.feature);
    if (!list) {
      list = [];
      byFeature.set(r.feature, list);
      features.push(r.feature);
    }
    list.push(r);
  }
  const docs = new Map<string, string>();
  let includes = "";
  // GDB numbers registers in document order (includes expanded in place), so the expected next number runs on
  // across features.
  let next = 0;
  for (const feature of features) {
    const info = FEATURE_TYPES.get(feature);
    const file = info?.file ?? fallbackFile(feature);
    let body = "";
    for (const r of byFeature.get(feature)!) {
      body += registerXml(r, r.regnum !== next);
      next = r.regnum + 1;
    }
    docs.set(
      file,
      `<?xml version="1.0"?>\n<!DOCTYPE feature SYSTEM "gdb-target.dtd">\n` +
        `<feature name="${escapeXml(feature)}">\n${info?.types ?? ""}${body}</feature>\n`,
    );
    includes += `  <xi:include href="${escapeXml(file)}"/>\n`;
  }
  docs.set(
    "target.xml",
    `<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target>\n` +
      `  <architecture>${architecture}</architecture>\n${includes}</target>\n`,
  );
  return docs;
}

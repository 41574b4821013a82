import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FdtError, FdtNode, FdtTree } from "../../src/core/fdt.js";
import {
  applyBootParams, buildVirtDtb, buildVirtTree, prepareUserDtb, qemuVirtioMmioTransports, VIRT_DTB_SIZE, type VirtDevice,
} from "../../src/boards/virt/dtb.js";
import { missingTool } from "../helpers/tools.js";

const MiB = 1024 * 1024;

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "rewind-fdt-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], input?: Uint8Array): { stdout: Buffer; stderr: string } {
  const r = spawnSync(cmd, args, { input, maxBuffer: 64 * MiB });
  if (r.status !== 0) assert.fail(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr?.toString()}`);
  return { stdout: r.stdout, stderr: r.stderr.toString() };
}

const dtcToDts = (blob: Uint8Array): string => run("dtc", ["-q", "-I", "dtb", "-O", "dts", "-"], blob).stdout.toString();
const dtcDtsToDtb = (dts: string): Uint8Array => new Uint8Array(run("dtc", ["-q", "-I", "dts", "-O", "dtb", "-"], Buffer.from(dts)).stdout);

/** Flattens a tree to path -> ordered [name, hex value] pairs, for exact comparisons with readable diffs. */
function flatten(tree: FdtTree): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  const walk = (n: FdtNode, path: string): void => {
    out.set(path, n.props.map((p) => [p.name, Buffer.from(p.value).toString("hex")]));
    for (const c of n.children) walk(c, path === "/" ? `/${c.name}` : `${path}/${c.name}`);
  };
  walk(tree.root, "/");
  return out;
}

function sampleTree(): FdtTree {
  const t = new FdtTree();
  t.memReserve.push({ address: 0x4800_0000n, size: 0x1000n });
  t.root.setU32("#address-cells", 2).setU32("#size-cells", 2).setString("compatible", "rewind,test");
  const intc = t.root.addChild("intc@8000000");
  const ph = t.phandleOf(intc);
  intc.setEmpty("interrupt-controller").setU64("reg", [0x0800_0000, 0x1_0000, 0x1_2345_6789_abcdn, 0x10]);
  const dev = t.root.addChild("dev@1000");
  dev.setStrings("compatible", ["vendor,dev", "generic"]).setU32("interrupt-parent", ph);
  dev.setBytes("mac", new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
  dev.setString("status", "okay").setString("label", "compatible"); // value equals a name: still just a value
  dev.addChild("sub").setU32("cells", [1, 2, 0xffff_ffff]);
  return t;
}

test("serialize: header, layout, alignment and string deduplication", () => {
  const blob = sampleTree().toDtb();
  const dv = new DataView(blob.buffer, blob.byteOffset);
  const h = (i: number): number => dv.getUint32(i * 4, false);
  assert.equal(h(0), 0xd00dfeed);
  assert.equal(h(1), blob.length);
  assert.equal(blob.length % 8, 0);
  assert.equal(h(5), 17);
  assert.equal(h(6), 16);
  assert.equal(h(4), 0x30, "reservation block where libfdt puts it");
  assert.equal(h(2), 0x30 + 2 * 16, "struct block after one entry and the terminator");
  assert.equal(h(2) % 4, 0);
  assert.equal(h(3), h(2) + h(9), "strings block right after the struct block");
  assert.equal(dv.getBigUint64(0x30, false), 0x4800_0000n);
  const strings = Buffer.from(blob.subarray(h(3), h(3) + h(8))).toString("latin1");
  assert.equal(strings.split("\0").filter((s) => s === "compatible").length, 1, "compatible stored once");
  assert.equal(strings.split("\0").filter((s) => s === "phandle").length, 1);
  const padded = sampleTree().toDtb({ minTotalSize: 0x10000 });
  assert.equal(padded.length, 0x10000);
  assert.equal(new DataView(padded.buffer).getUint32(4, false), 0x10000);
});

test("parse(serialize(tree)) gives back the same tree and typed values", () => {
  const t = FdtTree.fromDtb(sampleTree().toDtb());
  assert.deepEqual(flatten(t), flatten(sampleTree()));
  assert.deepEqual(t.memReserve, [{ address: 0x4800_0000n, size: 0x1000n }]);
  const dev = t.find("/dev@1000")!;
  assert.deepEqual(dev.getStrings("compatible"), ["vendor,dev", "generic"]);
  assert.equal(dev.getString("status"), "okay");
  assert.equal(dev.getU32("interrupt-parent"), 1);
  assert.deepEqual(t.find("/dev@1000/sub")!.getCells("cells"), [1, 2, 0xffff_ffff]);
  assert.deepEqual(t.find("/intc@8000000")!.getCells("reg"), [0, 0x0800_0000, 0, 0x1_0000, 0x1_2345, 0x6789_abcd, 0, 0x10]);
  assert.equal(t.find("/intc@8000000")!.getU64("phandle"), 1n);
  assert.throws(() => dev.getU32("compatible"), FdtError);
  assert.throws(() => dev.getString("compatible"), FdtError);
  assert.throws(() => dev.getU32("missing"), /has no property 'missing'/);
  assert.equal(t.find("/nope"), undefined);
});

test("phandles: sequential from the first value, never reusing one present in the tree", () => {
  const t = new FdtTree({ firstPhandle: 0x8000 });
  assert.equal(t.allocPhandle(), 0x8000);
  const a = t.root.addChild("a");
  assert.equal(t.phandleOf(a), 0x8001);
  assert.equal(t.phandleOf(a), 0x8001, "a node keeps its phandle");
  t.root.addChild("b").setU32("phandle", 0x8002);
  assert.equal(t.allocPhandle(), 0x8003);
  const parsed = FdtTree.fromDtb(sampleTree().toDtb());
  assert.equal(parsed.allocPhandle(), 2, "a parsed tree allocates above its existing phandle 1");
});

test("builder rejects what a blob cannot hold", () => {
  const n = new FdtNode("x");
  assert.throws(() => n.setU32("a", 0x1_0000_0000), FdtError);
  assert.throws(() => n.setU32("a", -1), FdtError);
  assert.throws(() => n.setString("a", "nul\0inside"), FdtError);
  assert.throws(() => n.setU64("a", 2 ** 60), FdtError);
  assert.throws(() => n.addChild("a/b"), FdtError);
  assert.throws(() => n.addChild(""), FdtError);
  n.addChild("c");
  assert.throws(() => n.addChild("c"), /already has a child named 'c'/);
  assert.throws(() => n.set("", new Uint8Array()), FdtError);
});

test("dtc decompiles our blob and its own re-encoding parses back identically", { skip: missingTool("dtc") }, () => {
  const blob = sampleTree().toDtb();
  const dts = dtcToDts(blob);
  assert.match(dts, /\/memreserve\/\s+0x0*48000000 0x0*1000;/);
  assert.match(dts, /compatible = "vendor,dev\\0generic";/);
  assert.match(dts, /reg = <0x00 0x8000000 0x00 0x10000 0x12345 0x6789abcd 0x00 0x10>;/);
  assert.match(dts, /mac = \[52 54 00 12 34 56\];/);
  assert.match(dts, /cells = <0x01 0x02 0xffffffff>;/);
  assert.match(dts, /interrupt-controller;/);
  const again = FdtTree.fromDtb(new Uint8Array(run("dtc", ["-q", "-I", "dtb", "-O", "dtb", "-"], blob).stdout));
  assert.deepEqual(flatten(again), flatten(sampleTree()));
  assert.deepEqual(again.memReserve, sampleTree().memReserve);
});

test("parses what dtc compiles (labels, references, /bits/ 64, byte strings)", { skip: missingTool("dtc") }, () => {
  const blob = dtcDtsToDtb(`/dts-v1/;
/memreserve/ 0x10000000 0x2000;
/ {
  #address-cells = <2>; #size-cells = <2>;
  gic: intc { interrupt-controller; };
  dev@0 { interrupt-parent = <&gic>; wide = /bits/ 64 <0x1122334455667788>; raw = [de ad be ef];
          names = "a", "bc", ""; empty; };
};`);
  const t = FdtTree.fromDtb(blob);
  const ph = t.find("/intc")!.getU32("phandle");
  const dev = t.find("/dev@0")!;
  assert.equal(dev.getU32("interrupt-parent"), ph);
  assert.equal(dev.getU64("wide"), 0x1122334455667788n);
  assert.deepEqual([...dev.get("raw")!], [0xde, 0xad, 0xbe, 0xef]);
  assert.deepEqual(dev.getStrings("names"), ["a", "bc", ""]);
  assert.equal(dev.get("empty")!.length, 0);
  assert.deepEqual(t.memReserve, [{ address: 0x1000_0000n, size: 0x2000n }]);
  assert.equal(t.allocPhandle(), ph + 1);
});

// --- malformed blobs ---

function mutate(blob: Uint8Array, f: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = Uint8Array.from(blob);
  f(new DataView(b.buffer), b);
  return b;
}

test("parser rejects malformed blobs with a clear FdtError", () => {
  const good = sampleTree().toDtb();
  const dv = new DataView(good.buffer);
  const offStruct = dv.getUint32(8, false);
  const sizeStruct = dv.getUint32(36, false);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /too short for a header/],
    ["bad magic", mutate(good, (d) => d.setUint32(0, 0x7f454c46)), /bad magic 0x7f454c46/],
    ["truncated", good.subarray(0, good.length - 8), /header says \d+ bytes but only \d+ are present/],
    ["old version", mutate(good, (d) => d.setUint32(20, 3)), /version 3 is too old/],
    ["future version", mutate(good, (d) => d.setUint32(24, 18)), /version 18/],
    ["struct outside", mutate(good, (d) => d.setUint32(8, 0x10000)), /struct block .* outside/],
    ["misaligned struct", mutate(good, (d) => d.setUint32(8, offStruct + 2)), /not 4-byte aligned/],
    ["first token not a node", mutate(good, (d) => d.setUint32(offStruct, 3)), /outside any node|past the struct/],
    ["unknown token", mutate(good, (d) => d.setUint32(offStruct, 0x77)), /unknown token 0x77/],
    ["no END", mutate(good, (d) => d.setUint32(offStruct + sizeStruct - 4, 4)), /ends without an END token/],
    ["root named", mutate(good, (d, b) => { b[offStruct + 4] = 0x61; }), /root node is named 'a'/],
    ["string name out of range", mutate(good, (d) => d.setUint32(offStruct + 8 + 8, 0x7fff_ffff)), /name offset .* outside the strings block/],
    ["property length too big", mutate(good, (d) => d.setUint32(offStruct + 8 + 4, 0x100000)), /runs past the struct block/],
    ["strings size too big", mutate(good, (d) => d.setUint32(32, 0x100000)), /strings block .* outside/],
  ];
  for (const [what, blob, msg] of cases) {
    assert.throws(() => FdtTree.fromDtb(blob), (e: unknown) => {
      assert.ok(e instanceof FdtError, `${what}: threw ${String(e)}`);
      assert.match((e as Error).message, /^invalid device tree blob: /, what);
      assert.match((e as Error).message, msg, what);
      return true;
    });
  }
  // Our serializer refuses duplicates, so make them by renaming in the blob: child "b" -> "a", property "y" -> "x".
  const two = new FdtTree();
  two.root.addChild("a");
  two.root.addChild("b");
  const blob2 = two.toDtb();
  blob2[Buffer.from(blob2).indexOf(Buffer.from([0, 0, 0, 1, 0x62, 0])) + 4] = 0x61; // BEGIN_NODE "b"
  assert.throws(() => FdtTree.fromDtb(blob2), /two children named 'a'/);
  const props = new FdtTree();
  props.root.setU32("x", 1).setU32("y", 2);
  const blob3 = props.toDtb();
  const s3 = new DataView(blob3.buffer).getUint32(12, false);
  blob3[s3 + 2] = 0x78; // strings block is "x\0y\0"
  assert.throws(() => FdtTree.fromDtb(blob3), /has property 'x' twice/);
});

test("fuzz: truncations and bit flips only ever raise FdtError", () => {
  const good = sampleTree().toDtb();
  let seed = 0x1234_5678;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const check = (blob: Uint8Array, what: string): void => {
    try {
      const t = FdtTree.fromDtb(blob);
      t.toDtb(); // whatever parsed must serialize again
    } catch (e) {
      if (!(e instanceof FdtError)) assert.fail(`${what}: ${String(e)}`);
    }
  };
  for (let len = 0; len < good.length; len++) check(good.subarray(0, len), `truncated to ${len}`);
  for (let i = 0; i < 4000; i++) {
    const b = Uint8Array.from(good);
    const flips = 1 + rand(4);
    for (let k = 0; k < flips; k++) b[rand(b.length)]! ^= 1 << rand(8);
    check(b, `bit flips #${i}`);
  }
  for (let i = 0; i < 500; i++) {
    const b = Uint8Array.from(good);
    new DataView(b.buffer).setUint32(rand(b.length >> 2) * 4, rand(2) ? rand(16) : rand(0x1_0000) << 16 | rand(0x1_0000));
    check(b, `word smash #${i}`);
  }
});

// --- the virt board tree against QEMU ---

const ALL_DEVICES: VirtDevice[] = [
  { kind: "pl031" }, { kind: "fw-cfg" }, ...qemuVirtioMmioTransports(), { kind: "pl061" }, { kind: "gicv2m" },
  { kind: "flash" },
];
/** Nodes in QEMU's tree that Rewind's virt board does not have (no PCIe, no dynamic sysbus devices). */
const QEMU_ONLY_NODES = ["/platform-bus@c000000", "/pcie@10000000"];

function qemuDtb(args: string[]): Uint8Array {
  return withTmp((dir) => {
    const kernel = join(dir, "kernel.bin");
    writeFileSync(kernel, new Uint8Array(64));
    const out = join(dir, "qemu.dtb");
    const r = spawnSync("qemu-system-aarch64", [
      "-M", "virt,dtb-randomness=off", "-cpu", "cortex-a53", "-nographic", "-kernel", kernel,
      "-machine", `dumpdtb=${out}`, ...args,
    ], { encoding: "utf8" });
    if (r.status !== 0) assert.fail(`qemu failed: ${r.stderr}`);
    return new Uint8Array(readFileSync(out));
  });
}

/** Compares node by node, property by property (values and order), tolerating only the listed QEMU-only nodes. */
function assertSameTree(ours: FdtTree, qemu: FdtTree, qemuOnly: string[]): void {
  const a = flatten(ours);
  const b = flatten(qemu);
  for (const path of qemuOnly) assert.ok(b.delete(path), `QEMU no longer has ${path}; update the list`);
  assert.deepEqual([...a.keys()], [...b.keys()], "same nodes in the same order");
  for (const [path, props] of b) assert.deepEqual(a.get(path), props, `properties of ${path}`);
}

test("virt tree matches QEMU 7.2's dumpdtb for the same machine (all devices, -append)", { skip: missingTool("qemu-system-aarch64") }, () => {
  const qemuBlob = qemuDtb(["-m", "128M", "-append", "console=ttyAMA0 earlycon"]);
  const ours = buildVirtDtb({ ramSize: 128 * MiB, bootargs: "console=ttyAMA0 earlycon", pmu: true, devices: ALL_DEVICES });
  assertSameTree(FdtTree.fromDtb(ours), FdtTree.fromDtb(qemuBlob), QEMU_ONLY_NODES);
  // Same blob geometry: 1 MiB total, reservation block at 0x30, struct block at 0x40.
  const hdr = (b: Uint8Array): number[] => [1, 2, 4, 5, 6].map((i) => new DataView(b.buffer, b.byteOffset).getUint32(i * 4));
  assert.deepEqual(hdr(ours), hdr(qemuBlob));
  assert.equal(ours.length, VIRT_DTB_SIZE);
});

test("virt tree matches QEMU with 2 CPUs, 3 GiB RAM, no -append", { skip: missingTool("qemu-system-aarch64") }, () => {
  const qemu = FdtTree.fromDtb(qemuDtb(["-m", "3G", "-smp", "2"]));
  const ours = FdtTree.fromDtb(buildVirtDtb({ ramSize: 3 * 1024 * MiB, cpus: 2, pmu: true, devices: ALL_DEVICES }));
  assertSameTree(ours, qemu, QEMU_ONLY_NODES);
  assert.equal(ours.find("/cpus/cpu@1")!.getString("enable-method"), "psci");
  assert.deepEqual(ours.find("/timer")!.getCells("interrupts").slice(0, 3), [1, 13, 0x304]);
});

test("minimal virt board (no optional devices) is QEMU's tree minus those devices", { skip: missingTool("qemu-system-aarch64") }, () => {
  const qemu = FdtTree.fromDtb(qemuDtb(["-m", "256M", "-append", "x"]));
  const ours = FdtTree.fromDtb(buildVirtDtb({ ramSize: 256 * MiB, bootargs: "x", devices: [{ kind: "pl031" }] }));
  const q = flatten(qemu);
  const mine = flatten(ours);
  for (const [path, props] of mine) assert.deepEqual(props, q.get(path), `node ${path} identical to QEMU's`);
  assert.deepEqual([...mine.keys()], [...q.keys()].filter((k) => mine.has(k)), "same relative order");
  assert.deepEqual([...mine.keys()], [
    "/", "/psci", "/memory@40000000", "/pl031@9010000", "/pl011@9000000", "/intc@8000000", "/cpus", "/cpus/cpu-map",
    "/cpus/cpu-map/socket0", "/cpus/cpu-map/socket0/cluster0", "/cpus/cpu-map/socket0/cluster0/core0", "/cpus/cpu@0",
    "/timer", "/apb-pclk", "/chosen",
  ]);
});

test("virt tree: required properties, initrd and seeds", () => {
  const t = FdtTree.fromDtb(buildVirtDtb({
    ramSize: 512 * MiB, bootargs: "root=/dev/vda", initrd: { start: 0x4800_0000, end: 0x4812_3456 },
    randomness: { kaslrSeed: new Uint8Array(8).fill(7), rngSeed: new Uint8Array(32).fill(9) },
  }));
  const r = t.root;
  assert.deepEqual([r.getU32("#address-cells"), r.getU32("#size-cells")], [2, 2]);
  assert.equal(r.getString("compatible"), "linux,dummy-virt");
  const gic = t.find("/intc@8000000")!;
  assert.equal(r.getU32("interrupt-parent"), gic.getU32("phandle"));
  assert.deepEqual(gic.getCells("reg"), [0, 0x0800_0000, 0, 0x1_0000, 0, 0x0801_0000, 0, 0x1_0000]);
  assert.deepEqual(t.find("/memory@40000000")!.getCells("reg"), [0, 0x4000_0000, 0, 512 * MiB]);
  const uart = t.find("/pl011@9000000")!;
  assert.deepEqual(uart.getCells("interrupts"), [0, 1, 4]);
  assert.deepEqual(uart.getStrings("clock-names"), ["uartclk", "apb_pclk"]);
  assert.equal(t.find("/apb-pclk")!.getU32("clock-frequency"), 24_000_000);
  assert.equal(t.find("/pl031@9010000"), undefined, "no RTC unless the board lists it");
  assert.equal(t.find("/psci")!.getString("method"), "hvc");
  assert.deepEqual(t.find("/timer")!.getCells("interrupts"), [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104]);
  const chosen = t.find("/chosen")!;
  assert.deepEqual(chosen.props.map((p) => p.name),
    ["linux,initrd-end", "linux,initrd-start", "bootargs", "stdout-path", "rng-seed", "kaslr-seed"]);
  assert.equal(chosen.getU32("linux,initrd-start"), 0x4800_0000);
  assert.equal(chosen.getU32("linux,initrd-end"), 0x4812_3456);
  assert.equal(chosen.getString("stdout-path"), "/pl011@9000000");
  assert.deepEqual([...chosen.get("kaslr-seed")!], new Array(8).fill(7));
  // Above 4 GiB a single cell cannot hold the address (QEMU 7.2 would truncate); we use two cells.
  const hi = FdtTree.fromDtb(buildVirtDtb({ ramSize: 8 * 1024 * MiB, initrd: { start: 0x1_2000_0000, end: 0x1_2000_1000 } }));
  assert.equal(hi.find("/chosen")!.getU64("linux,initrd-start"), 0x1_2000_0000n);
  assert.equal(hi.find("/chosen")!.has("bootargs"), false, "no bootargs without -append");
});

test("custom devices join the tree with the GIC and clock phandles", () => {
  const t = FdtTree.fromDtb(buildVirtDtb({
    ramSize: 128 * MiB,
    devices: [{
      kind: "custom",
      build: (ctx) => {
        const n = ctx.root.addChild("widget@a100000");
        n.setU32("interrupts", ctx.spi(40)).setU32("clocks", ctx.clockPhandle).setU32("interrupt-parent", ctx.gicPhandle);
      },
    }],
  }));
  const w = t.find("/widget@a100000")!;
  assert.deepEqual(w.getCells("interrupts"), [0, 40, 4]);
  assert.equal(w.getU32("interrupt-parent"), t.find("/intc@8000000")!.getU32("phandle"));
  assert.equal(t.root.children.findIndex((c) => c.name === "widget@a100000"), 2, "after /psci and /memory");
});

test("applyBootParams refuses trees it cannot describe RAM in", () => {
  const t = new FdtTree();
  assert.throws(() => applyBootParams(t, { ramBase: 0x4000_0000, ramSize: MiB }), /no #address-cells/);
  t.root.setU32("#address-cells", 1).setU32("#size-cells", 1);
  assert.throws(() => applyBootParams(t, { ramBase: 0x4000_0000, ramSize: 5 * 1024 * MiB }), /RAM size > 4GB/);
  t.root.setU32("#size-cells", 0);
  assert.throws(() => applyBootParams(t, { ramBase: 0x4000_0000, ramSize: MiB }), /#size-cells 0/);
  assert.ok(buildVirtTree({}).find("/chosen"));
});

test("-dtb FILE gets the same edits QEMU makes", { skip: missingTool("qemu-system-aarch64", "dtc") }, () => {
  const user = dtcDtsToDtb(`/dts-v1/;
/ {
  #address-cells = <2>; #size-cells = <2>; compatible = "linux,dummy-virt"; interrupt-parent = <&gic>;
  memory@80000000 { device_type = "memory"; reg = <0 0x80000000 0 0x1000>; };
  memory { device_type = "memory"; reg = <0 0x90000000 0 0x1000>; };
  psci { compatible = "arm,psci"; method = "smc"; cpu_on = <0x95c1ba5e>; };
  chosen { bootargs = "old"; };
  gic: intc@8000000 { compatible = "arm,cortex-a15-gic"; interrupt-controller; #interrupt-cells = <3>;
    reg = <0 0x8000000 0 0x10000 0 0x8010000 0 0x10000>; };
  pl011@9000000 { compatible = "arm,pl011", "arm,primecell"; reg = <0 0x9000000 0 0x1000>; interrupts = <0 1 4>; };
};`);
  const qemuBlob = withTmp((dir) => {
    const file = join(dir, "user.dtb");
    writeFileSync(file, user);
    return qemuDtb(["-m", "128M", "-dtb", file, "-append", "new args"]);
  });
  const ours = prepareUserDtb(user, { ramBase: 0x4000_0000, ramSize: 128 * MiB, bootargs: "new args" });
  assertSameTree(FdtTree.fromDtb(ours), FdtTree.fromDtb(qemuBlob), []);
  assert.equal(ours.length, (user.length + 10000) * 2);
  assert.equal(qemuBlob.length, ours.length, "QEMU pads a user DTB the same way");
  assert.throws(() => prepareUserDtb(user.subarray(0, 50), { ramBase: 0x4000_0000, ramSize: MiB }), FdtError);
});

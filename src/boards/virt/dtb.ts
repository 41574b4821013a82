/**
 * The device tree of the AArch64 `virt` board, as QEMU 7.2 generates it for `-M virt -cpu cortex-a53` (no EL2,
 * no EL3, GICv2), plus the boot-time edits QEMU's arm_load_dtb() makes to any tree (generated or `-dtb FILE`).
 *
 * Node and property order follow QEMU's final blob. libfdt inserts every new node and property at the *front*
 * of its parent, so QEMU's output is its creation order reversed; we list things directly in output order, which
 * makes `dtc -I dtb -O dts` of our blob read the same as QEMU's. Phandles are allocated from 0x8000 in QEMU's
 * creation order (clock, CPUs from last to first, GIC, v2m, GPIO), so their values match too.
 *
 * Only devices the board actually has appear: the fixed core (CPUs, timer, GIC, PL011, clock) is always there;
 * everything else is listed in `devices` by the board, so adding a device later needs no edit here.
 */
import { FdtError, FdtNode, FdtTree } from "../../core/fdt.js";

/** QEMU's virt memory map and interrupt numbers (hw/arm/virt.c base_memmap / a15irqmap). */
export const VIRT_MEMMAP = {
  flash: { base: 0x0000_0000, size: 0x0800_0000 },
  gicDist: { base: 0x0800_0000, size: 0x1_0000 },
  gicCpu: { base: 0x0801_0000, size: 0x1_0000 },
  gicV2m: { base: 0x0802_0000, size: 0x1000 },
  uart: { base: 0x0900_0000, size: 0x1000, irq: 1 },
  rtc: { base: 0x0901_0000, size: 0x1000, irq: 2 },
  fwCfg: { base: 0x0902_0000, size: 0x18 },
  gpio: { base: 0x0903_0000, size: 0x1000, irq: 7 },
  virtioMmio: { base: 0x0a00_0000, size: 0x200, irq: 16, count: 32 },
  ram: { base: 0x4000_0000 },
} as const;

/** QEMU's size for the generated blob (FDT_MAX_SIZE): the guest gets room to edit the tree in place. */
export const VIRT_DTB_SIZE = 0x10_0000;
/** QEMU's qemu_fdt_alloc_phandle() starts here. */
const FIRST_PHANDLE = 0x8000;

// GIC device tree interrupt specifiers (include/hw/arm/fdt.h).
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_EDGE_RISING = 1;
const IRQ_LEVEL_HIGH = 4;
// Architected timer PPIs in the order the binding lists them: secure, non-secure, virtual, hypervisor.
const TIMER_PPIS = [13, 14, 11, 10];
const PMU_PPI = 7;
const KEY_POWEROFF = 116;

/** PSCI function IDs QEMU implements (SMC64 calling convention for the 64-bit ones). */
export const PSCI_FN = { cpuSuspend: 0xc400_0001, cpuOff: 0x8400_0002, cpuOn: 0xc400_0003, migrate: 0xc400_0005 } as const;

export type PsciConduit = "hvc" | "smc" | "none";

/** What a `custom` device's builder gets: the tree, the phandles it may reference, interrupt encoders. */
export interface VirtDtbContext {
  tree: FdtTree;
  root: FdtNode;
  gicPhandle: number;
  clockPhandle: number;
  /** `interrupts` cells for shared peripheral interrupt `n` (level-high unless told). */
  spi(n: number, flags?: number): number[];
  /** `interrupts` cells for private peripheral interrupt `n`, with the GICv2 CPU mask as QEMU sets it. */
  ppi(n: number, flags?: number): number[];
}

/** Optional devices, each producing the node(s) QEMU would. Omitted fields take QEMU's addresses. */
export type VirtDevice =
  | { kind: "pl031"; base?: number; size?: number; irq?: number }
  | { kind: "fw-cfg"; base?: number; size?: number }
  | { kind: "virtio-mmio"; base: number; size?: number; irq: number }
  /** PL061 GPIO plus QEMU's gpio-keys node wiring line 3 to the power button. */
  | { kind: "pl061"; base?: number; size?: number; irq?: number }
  /** GICv2m MSI frame, a child of the GIC node. */
  | { kind: "gicv2m"; base?: number; size?: number }
  /** The two 64 MiB CFI flash banks at 0. */
  | { kind: "flash"; base?: number; bankSize?: number }
  /** Anything else; its nodes go ahead of the built-in devices, where QEMU puts devices it creates last. */
  | { kind: "custom"; build: (ctx: VirtDtbContext) => void };

export interface VirtDtbConfig {
  ramSize: number;
  ramBase?: number;
  /** Number of CPUs (default 1). */
  cpus?: number;
  cpuCompatible?: string;
  /** How the guest calls PSCI (default "hvc", QEMU's choice without EL2/EL3). */
  psci?: PsciConduit;
  /** Add the PMU node (only if the emulated CPU implements the PMU). */
  pmu?: boolean;
  uart?: { base: number; size: number; irq: number };
  devices?: readonly VirtDevice[];
  /** Kernel command line (-append); an empty string adds nothing, as in QEMU. */
  bootargs?: string;
  initrd?: { start: number; end: number };
  /**
   * QEMU fills /chosen kaslr-seed and rng-seed from the host RNG unless `dtb-randomness=off`. Rewind never reads
   * host randomness: the board passes seeds it derived deterministically (and recorded), or nothing.
   */
  randomness?: { kaslrSeed: Uint8Array; rngSeed: Uint8Array };
}

/** QEMU's 32 virtio-mmio transports in the order its blob lists them (ascending addresses). */
export function qemuVirtioMmioTransports(count: number = VIRT_MEMMAP.virtioMmio.count): VirtDevice[] {
  const m = VIRT_MEMMAP.virtioMmio;
  return Array.from({ length: count }, (_, i) => ({
    kind: "virtio-mmio" as const, base: m.base + i * m.size, size: m.size, irq: m.irq + i,
  }));
}

const hexName = (prefix: string, base: number): string => `${prefix}@${base.toString(16)}`;

/** `reg` for two address cells and two size cells. */
function setReg(node: FdtNode, ...ranges: [number, number][]): FdtNode {
  return node.setU64("reg", ranges.flat());
}

/**
 * The board tree before boot parameters, as virt.c builds it (no /memory, /psci or bootargs yet; see
 * applyBootParams). Returns the tree so a caller can add more before serializing.
 */
export function buildVirtTree(cfg: Omit<VirtDtbConfig, "ramSize" | "ramBase" | "bootargs" | "initrd">): FdtTree {
  const cpuCount = cfg.cpus ?? 1;
  if (!Number.isInteger(cpuCount) || cpuCount < 1 || cpuCount > 512) throw new FdtError(`invalid CPU count ${cpuCount}`);
  const devices = cfg.devices ?? [];
  const of = <K extends VirtDevice["kind"]>(kind: K) =>
    devices.filter((d): d is Extract<VirtDevice, { kind: K }> => d.kind === kind);
  const uart = cfg.uart ?? VIRT_MEMMAP.uart;

  const tree = new FdtTree({ firstPhandle: FIRST_PHANDLE });
  // Phandles in QEMU's allocation order.
  const clockPhandle = tree.allocPhandle();
  const cpuPhandles: number[] = [];
  for (let i = cpuCount - 1; i >= 0; i--) cpuPhandles[i] = tree.allocPhandle();
  const gicPhandle = tree.allocPhandle();
  for (const kind of ["gicv2m", "pl061", "fw-cfg"] as const) {
    if (of(kind).length > 1) throw new FdtError(`the virt board has at most one ${kind}`);
  }
  const v2m = of("gicv2m")[0];
  const msiPhandle = v2m ? tree.allocPhandle() : 0;
  const gpio = of("pl061")[0];
  const gpioPhandle = gpio ? tree.allocPhandle() : 0;

  // GICv2 PPIs carry a mask of the CPUs they go to (bits 8..15), truncated to 8 bits as QEMU's deposit32 does.
  const cpuMask = ((1 << Math.min(cpuCount, 8)) - 1) << 8;
  const spi = (n: number, flags = IRQ_LEVEL_HIGH): number[] => [GIC_SPI, n, flags];
  const ppi = (n: number, flags = IRQ_LEVEL_HIGH): number[] => [GIC_PPI, n, flags | cpuMask];

  const root = tree.root;
  root.setU32("interrupt-parent", gicPhandle);
  root.setString("model", "linux,dummy-virt");
  root.setU32("#size-cells", 2);
  root.setU32("#address-cells", 2);
  root.setString("compatible", "linux,dummy-virt");

  const ctx: VirtDtbContext = { tree, root, gicPhandle, clockPhandle, spi, ppi };
  for (const d of of("custom")) d.build(ctx);

  for (const d of of("fw-cfg")) {
    const node = root.addChild(hexName("fw-cfg", d.base ?? VIRT_MEMMAP.fwCfg.base));
    node.setEmpty("dma-coherent");
    setReg(node, [d.base ?? VIRT_MEMMAP.fwCfg.base, d.size ?? VIRT_MEMMAP.fwCfg.size]);
    node.setString("compatible", "qemu,fw-cfg-mmio");
  }

  for (const d of of("virtio-mmio")) {
    const node = root.addChild(hexName("virtio_mmio", d.base));
    node.setEmpty("dma-coherent");
    node.setU32("interrupts", spi(d.irq, IRQ_EDGE_RISING));
    setReg(node, [d.base, d.size ?? VIRT_MEMMAP.virtioMmio.size]);
    node.setString("compatible", "virtio,mmio");
  }

  if (gpio) {
    const keys = root.addChild("gpio-keys");
    keys.setString("compatible", "gpio-keys");
    const off = keys.addChild("poweroff");
    off.setU32("gpios", [gpioPhandle, 3, 0]);
    off.setU32("linux,code", KEY_POWEROFF);
    off.setString("label", "GPIO Key Poweroff");
    const base = gpio.base ?? VIRT_MEMMAP.gpio.base;
    const node = root.addChild(hexName("pl061", base));
    node.setU32("phandle", gpioPhandle);
    node.setString("clock-names", "apb_pclk");
    node.setU32("clocks", clockPhandle);
    node.setU32("interrupts", spi(gpio.irq ?? VIRT_MEMMAP.gpio.irq));
    node.setEmpty("gpio-controller");
    node.setU32("#gpio-cells", 2);
    node.setStrings("compatible", ["arm,pl061", "arm,primecell"]);
    setReg(node, [base, gpio.size ?? VIRT_MEMMAP.gpio.size]);
  }

  for (const d of of("pl031")) {
    const base = d.base ?? VIRT_MEMMAP.rtc.base;
    const node = root.addChild(hexName("pl031", base));
    node.setString("clock-names", "apb_pclk");
    node.setU32("clocks", clockPhandle);
    node.setU32("interrupts", spi(d.irq ?? VIRT_MEMMAP.rtc.irq));
    setReg(node, [base, d.size ?? VIRT_MEMMAP.rtc.size]);
    node.setStrings("compatible", ["arm,pl031", "arm,primecell"]);
  }

  const uartNode = root.addChild(hexName("pl011", uart.base));
  uartNode.setStrings("clock-names", ["uartclk", "apb_pclk"]);
  uartNode.setU32("clocks", [clockPhandle, clockPhandle]);
  uartNode.setU32("interrupts", spi(uart.irq));
  setReg(uartNode, [uart.base, uart.size]);
  uartNode.setStrings("compatible", ["arm,pl011", "arm,primecell"]);

  if (cfg.pmu) {
    const node = root.addChild("pmu");
    node.setU32("interrupts", ppi(PMU_PPI));
    node.setString("compatible", "arm,armv8-pmuv3");
  }

  const gic = root.addChild(hexName("intc", VIRT_MEMMAP.gicDist.base));
  gic.setU32("phandle", gicPhandle);
  setReg(gic, [VIRT_MEMMAP.gicDist.base, VIRT_MEMMAP.gicDist.size], [VIRT_MEMMAP.gicCpu.base, VIRT_MEMMAP.gicCpu.size]);
  gic.setString("compatible", "arm,cortex-a15-gic"); // the binding's name for GICv2
  gic.setEmpty("ranges");
  gic.setU32("#size-cells", 2);
  gic.setU32("#address-cells", 2);
  gic.setEmpty("interrupt-controller");
  gic.setU32("#interrupt-cells", 3);
  if (v2m) {
    const base = v2m.base ?? VIRT_MEMMAP.gicV2m.base;
    const node = gic.addChild(hexName("v2m", base));
    node.setU32("phandle", msiPhandle);
    setReg(node, [base, v2m.size ?? VIRT_MEMMAP.gicV2m.size]);
    node.setEmpty("msi-controller");
    node.setString("compatible", "arm,gic-v2m-frame");
  }

  for (const d of of("flash")) {
    const base = d.base ?? VIRT_MEMMAP.flash.base;
    const bank = d.bankSize ?? VIRT_MEMMAP.flash.size / 2;
    const node = root.addChild(hexName("flash", base));
    node.setU32("bank-width", 4);
    setReg(node, [base, bank], [base + bank, bank]);
    node.setString("compatible", "cfi-flash");
  }

  const cpus = root.addChild("cpus");
  cpus.setU32("#size-cells", 0);
  cpus.setU32("#address-cells", 1);
  const cluster = cpus.addChild("cpu-map").addChild("socket0").addChild("cluster0");
  for (let i = 0; i < cpuCount; i++) cluster.addChild(`core${i}`).setU32("cpu", cpuPhandles[i]!);
  for (let i = 0; i < cpuCount; i++) {
    const cpu = cpus.addChild(`cpu@${i.toString(16)}`);
    cpu.setU32("phandle", cpuPhandles[i]!);
    cpu.setU32("reg", i);
    // QEMU names the enable method only when there are secondaries to start.
    if (cpuCount > 1 && cfg.psci !== "none") cpu.setString("enable-method", "psci");
    cpu.setString("compatible", cfg.cpuCompatible ?? "arm,cortex-a53");
    cpu.setString("device_type", "cpu");
  }

  const timer = root.addChild("timer");
  timer.setU32("interrupts", TIMER_PPIS.flatMap((n) => ppi(n)));
  timer.setEmpty("always-on");
  timer.setStrings("compatible", ["arm,armv8-timer", "arm,armv7-timer"]);

  const clock = root.addChild("apb-pclk");
  clock.setU32("phandle", clockPhandle);
  clock.setString("clock-output-names", "clk24mhz");
  clock.setU32("clock-frequency", 24_000_000);
  clock.setU32("#clock-cells", 0);
  clock.setString("compatible", "fixed-clock");

  const chosen = root.addChild("chosen");
  chosen.setString("stdout-path", `/${uartNode.name}`);
  if (cfg.randomness) {
    const { rngSeed, kaslrSeed } = cfg.randomness;
    if (rngSeed.length !== 32 || kaslrSeed.length !== 8) throw new FdtError("rng-seed must be 32 bytes and kaslr-seed 8");
    chosen.setBytes("rng-seed", rngSeed);
    chosen.setBytes("kaslr-seed", kaslrSeed);
  }
  return tree;
}

export interface BootParams {
  ramBase: number;
  ramSize: number;
  /** Set as /chosen/bootargs when non-empty. */
  bootargs?: string;
  initrd?: { start: number; end: number };
  psci?: PsciConduit;
}

function fitsCells(value: number, cells: number): boolean {
  return cells >= 2 || value < 0x1_0000_0000;
}

function sizedCells(values: [number, number][]): number[] {
  const out: number[] = [];
  for (const [v, cells] of values) {
    if (cells === 1) out.push(v);
    else out.push(Math.floor(v / 0x1_0000_0000), v >>> 0);
  }
  return out;
}

/**
 * What QEMU's arm_load_dtb() does to every tree before the guest sees it: replace root /memory nodes with one
 * for the RAM, make sure /chosen exists, set bootargs and the initrd range, and replace /psci with QEMU's own.
 * New nodes and properties go to the front, as libfdt puts them.
 */
export function applyBootParams(tree: FdtTree, p: BootParams): void {
  const root = tree.root;
  const cellsOf = (name: string): number => {
    if (!root.has(name)) throw new FdtError(`device tree root has no ${name} property`);
    return root.getU32(name);
  };
  const acells = cellsOf("#address-cells");
  const scells = cellsOf("#size-cells");
  if (acells === 0 || scells === 0) throw new FdtError("dtb file invalid (#address-cells or #size-cells 0)");
  if (acells > 2 || scells > 2) throw new FdtError(`unsupported #address-cells ${acells} / #size-cells ${scells} at the root`);
  if (scells < 2 && p.ramSize >= 0x1_0000_0000) throw new FdtError("dtb file not compatible with RAM size > 4GB");
  if (!fitsCells(p.ramBase, acells) || !fitsCells(p.ramSize, scells)) {
    throw new FdtError("RAM base or size does not fit the tree's #address-cells/#size-cells");
  }

  for (const c of [...root.children]) {
    if (c.name === "memory" || c.name.startsWith("memory@")) root.removeChild(c.name);
  }
  const memory = root.addChild(`memory@${p.ramBase.toString(16)}`, "front");
  memory.setU32("reg", sizedCells([[p.ramBase, acells], [p.ramSize, scells]]));
  memory.setString("device_type", "memory");

  const chosen = root.child("chosen") ?? root.addChild("chosen", "front");
  if (p.bootargs) chosen.setString("bootargs", p.bootargs, "front");
  if (p.initrd) {
    // QEMU 7.2 writes single cells (it would truncate above 4 GiB); we use two cells only when one cannot hold it.
    const cells = p.initrd.end > 0xffff_ffff ? 2 : 1;
    chosen.setU32("linux,initrd-start", sizedCells([[p.initrd.start, cells]]), "front");
    chosen.setU32("linux,initrd-end", sizedCells([[p.initrd.end, cells]]), "front");
  }

  const conduit = p.psci ?? "hvc";
  if (conduit !== "none") {
    root.removeChild("psci"); // a pre-existing node may name function IDs QEMU does not implement
    const psci = root.addChild("psci", "front");
    psci.setU32("migrate", PSCI_FN.migrate);
    psci.setU32("cpu_on", PSCI_FN.cpuOn);
    psci.setU32("cpu_off", PSCI_FN.cpuOff);
    psci.setU32("cpu_suspend", PSCI_FN.cpuSuspend);
    psci.setString("method", conduit);
    psci.setStrings("compatible", ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]);
  }
}

/** The complete virt DTB handed to the guest (padded to 1 MiB like QEMU's). */
export function buildVirtDtb(cfg: VirtDtbConfig): Uint8Array {
  const tree = buildVirtTree(cfg);
  applyBootParams(tree, {
    ramBase: cfg.ramBase ?? VIRT_MEMMAP.ram.base,
    ramSize: cfg.ramSize,
    bootargs: cfg.bootargs,
    initrd: cfg.initrd,
    psci: cfg.psci,
  });
  return tree.toDtb({ minTotalSize: VIRT_DTB_SIZE });
}

/**
 * A user's `-dtb FILE`: validated, given the same boot edits, and padded as QEMU's load_device_tree() does
 * ((file size + 10000) * 2) so the guest has room to edit it.
 */
export function prepareUserDtb(blob: Uint8Array, p: BootParams): Uint8Array {
  const tree = FdtTree.fromDtb(blob);
  applyBootParams(tree, p);
  return tree.toDtb({ minTotalSize: (blob.length + 10000) * 2 });
}

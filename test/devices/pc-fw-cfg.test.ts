// fw_cfg (I/O flavour): expected behaviour from QEMU 7.2's hw/nvram/fw_cfg.c (fw_cfg_select, fw_cfg_data_read,
// fw_cfg_comb_valid, fw_cfg_dma_mem_read/write, fw_cfg_dma_transfer, fw_cfg_add_file_callback's sorted
// insertion) and the way SeaBIOS 1.16 drives it (src/fw/paravirt.c: qemu_cfg_read_entry, qemu_cfg_dma_transfer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { StateError } from "../../src/core/state.js";
import {
  FW_CFG_DMA_CTL_ERROR,
  FW_CFG_DMA_CTL_READ,
  FW_CFG_DMA_CTL_SELECT,
  FW_CFG_DMA_CTL_SKIP,
  FW_CFG_DMA_CTL_WRITE,
  FW_CFG_E820_TABLE,
  FW_CFG_NB_CPUS,
  FwCfg,
  type DmaBus,
} from "../../src/devices/pc/fw-cfg.js";
import { addPcFwCfgItems, E820_RAM } from "../../src/devices/pc/fw-cfg-pc.js";
import { savedThroughBytes } from "./helpers.js";

function setup() {
  const ram = new Uint8Array(0x10000);
  const bus: DmaBus = {
    read: (a, n) => (a + n <= ram.length ? ram.slice(a, a + n) : undefined),
    write: (a, d) => {
      if (a + d.length > ram.length) return false;
      ram.set(d, a);
      return true;
    },
  };
  const fw = new FwCfg(bus);
  const select = (key: number) => fw.ports.write(0, 2, key);
  const readBytes = (n: number) => Array.from({ length: n }, () => fw.ports.read(1, 1));
  const dv = new DataView(ram.buffer);
  /** SeaBIOS qemu_cfg_dma_transfer: descriptor at 0x100, big-endian fields; only the low address is written. */
  const dma = (control: number, length: number, address: number, desc = 0x100) => {
    dv.setUint32(desc, control, false);
    dv.setUint32(desc + 4, length, false);
    dv.setBigUint64(desc + 8, BigInt(address), false);
    const be = ((desc & 0xff) << 24) | ((desc & 0xff00) << 8) | ((desc >>> 8) & 0xff00) | (desc >>> 24);
    fw.dmaPorts.write(4, 4, be >>> 0);
    return dv.getUint32(desc, false);
  };
  return { fw, ram, dv, select, readBytes, dma };
}

test("fw_cfg signature, ID with the DMA bit, DMA signature registers", () => {
  const { fw, select, readBytes } = setup();
  select(0x0000);
  assert.equal(String.fromCharCode(...readBytes(4)), "QEMU");
  assert.deepEqual(readBytes(2), [0, 0], "reads past the end give 0");
  select(0x0001);
  assert.deepEqual(readBytes(4), [3, 0, 0, 0]);
  select(0x0000);
  assert.equal(fw.ports.read(0, 1), 0x51, "0x510 reads data too (fw_cfg_comb_read)");
  assert.equal(fw.dmaPorts.read(0, 4), 0x554d4551, "'QEMU' in port order");
  assert.equal(fw.dmaPorts.read(4, 4), 0x47464320, "' CFG'");
  select(0x0005);
  assert.deepEqual(readBytes(2), [0, 0], "absent item reads 0");
  select(0x7fff);
  assert.deepEqual(readBytes(1), [0], "invalid key");
});

test("fw_cfg items SeaBIOS reads and the sorted file directory at 0x19", () => {
  const { fw, select, readBytes } = setup();
  fw.addU16(FW_CFG_NB_CPUS, 1);
  fw.addItem(FW_CFG_E820_TABLE, new Uint8Array([0, 0, 0, 0]));
  fw.addFile("etc/e820", new Uint8Array(40).fill(1));
  fw.addFile("bootorder", new Uint8Array(0));
  fw.addFile("etc/boot-fail-wait", new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  fw.addFile("bios-geometry", new Uint8Array(0));
  assert.deepEqual(
    fw.fileList.map((f) => [f.name, f.key, f.size]),
    [["bios-geometry", 0x20, 0], ["bootorder", 0x21, 0], ["etc/boot-fail-wait", 0x22, 4], ["etc/e820", 0x23, 40]],
  );
  select(FW_CFG_NB_CPUS);
  assert.deepEqual(readBytes(2), [1, 0]);
  select(0x8003);
  assert.deepEqual(readBytes(4), [0, 0, 0, 0]);
  select(0x19);
  assert.deepEqual(readBytes(4), [0, 0, 0, 4], "be32 count");
  const ent = readBytes(64 * 2);
  assert.deepEqual(ent.slice(0, 8), [0, 0, 0, 0, 0, 0x20, 0, 0]);
  assert.equal(String.fromCharCode(...ent.slice(8, 8 + 13)), "bios-geometry");
  assert.deepEqual(ent.slice(64, 72), [0, 0, 0, 0, 0, 0x21, 0, 0]);
  select(0x22);
  assert.deepEqual(readBytes(4), [0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => fw.addFile("etc/e820", new Uint8Array(1)));
  assert.throws(() => fw.addItem(0x20, new Uint8Array(1)));
});

test("fw_cfg DMA: select+read, partial read zero-fills, skip, write to writable, errors", () => {
  const { fw, ram, dma } = setup();
  fw.addFile("etc/acpi/rsdp", new Uint8Array(20).map((_, i) => i + 1));
  fw.addFile("etc/tpm/log", new Uint8Array(8), { writable: true });
  const rsdp = fw.fileList.find((f) => f.name === "etc/acpi/rsdp")!.key;
  // Read 8 bytes with select.
  assert.equal(dma((rsdp << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 8, 0x1000), 0, "control 0: done");
  assert.deepEqual(Array.from(ram.subarray(0x1000, 0x1008)), [1, 2, 3, 4, 5, 6, 7, 8]);
  // Skip 4 then read past the end: the 8 remaining bytes, then zeros.
  assert.equal(dma(FW_CFG_DMA_CTL_SKIP, 4, 0), 0);
  ram.fill(0xee, 0x2000, 0x2010);
  assert.equal(dma(FW_CFG_DMA_CTL_READ, 16, 0x2000), 0);
  assert.deepEqual(Array.from(ram.subarray(0x2000, 0x2010)), [13, 14, 15, 16, 17, 18, 19, 20, 0, 0, 0, 0, 0, 0, 0, 0]);
  // Write to a read-only file: error.
  assert.equal(dma((rsdp << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x1000), FW_CFG_DMA_CTL_ERROR);
  // Write to a writable file.
  const tpm = fw.fileList.find((f) => f.name === "etc/tpm/log")!.key;
  ram.set([9, 8, 7, 6], 0x3000);
  assert.equal(dma((tpm << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x3000), 0);
  fw.ports.write(0, 2, tpm);
  assert.deepEqual([0, 1, 2, 3, 4].map(() => fw.ports.read(1, 1)), [9, 8, 7, 6, 0]);
  // Read into memory that does not exist: error; control 0 (no op): nothing moves.
  assert.equal(dma((rsdp << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 8, 0xfffffff0), FW_CFG_DMA_CTL_ERROR);
  assert.equal(dma(0, 8, 0x1000), 0);
  // The high address half, then the low half; a descriptor outside RAM cannot be read (nothing to write back).
  fw.dmaPorts.write(0, 4, 0x01000000);
  fw.dmaPorts.write(4, 4, 0);
  assert.equal(fw.dmaAddrHi, 0, "the address resets after each transfer");
});

test("fw_cfg state round-trips mid-item (selector, offset, writable contents); bad input never throws", () => {
  const a = setup();
  a.fw.addFile("etc/tpm/log", new Uint8Array(4), { writable: true });
  a.fw.addFile("etc/x", new Uint8Array([5, 6, 7]));
  a.ram.set([1, 2, 3, 4], 0x3000);
  a.dma((0x20 << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x3000);
  a.select(0x21);
  a.readBytes(1);
  const saved = savedThroughBytes(a.fw);
  const b = setup();
  b.fw.addFile("etc/tpm/log", new Uint8Array(4), { writable: true });
  b.fw.addFile("etc/x", new Uint8Array([5, 6, 7]));
  b.fw.loadState(saved, 1);
  assert.deepEqual(savedThroughBytes(b.fw), saved);
  assert.deepEqual(b.readBytes(2), [6, 7]);
  b.select(0x20);
  assert.deepEqual(b.readBytes(4), [1, 2, 3, 4]);
  assert.throws(() => b.fw.loadState({ ...saved, writableData: new Uint8Array(3) }, 1), StateError);
  for (let v = 0; v < 0x10000; v += 0x101) {
    b.fw.ports.write(0, 2, v);
    b.fw.ports.write(1, 1, v & 0xff);
    b.fw.ports.read(0, 2);
    b.fw.ports.read(1, 4);
    b.fw.dmaPorts.write(4, 4, v * 0x10001);
    b.fw.dmaPorts.read(2, 2);
  }
});

test("fw_cfg pc items (fw_cfg_arch_create, fw_cfg_reboot) for the keys SeaBIOS reads", () => {
  const { fw, select, readBytes } = setup();
  addPcFwCfgItems(fw, { ramSize: 128 << 20, e820: [{ address: 0, length: 128 << 20, type: E820_RAM }] });
  const rd = (key: number, n: number) => (select(key), readBytes(n));
  assert.deepEqual(rd(0x05, 2), [1, 0], "NB_CPUS");
  assert.deepEqual(rd(0x0f, 2), [1, 0], "MAX_CPUS = APIC ID limit");
  assert.deepEqual(rd(0x03, 8), [0, 0, 0, 8, 0, 0, 0, 0], "RAM size 128 MiB");
  assert.deepEqual(rd(0x04, 2), [0, 0]);
  assert.deepEqual(rd(0x0e, 2), [0, 0]);
  assert.deepEqual(rd(0x0d, 8), [0, 0, 0, 0, 0, 0, 0, 0], "no NUMA nodes");
  assert.deepEqual(rd(0x8000, 2), [0, 0], "no -acpitable blobs");
  assert.deepEqual(rd(0x8002, 4), [1, 0, 0, 0]);
  assert.deepEqual(rd(0x8003, 4), [0, 0, 0, 0]);
  assert.deepEqual(fw.fileList.map((f) => [f.name, f.size]), [["etc/boot-fail-wait", 4], ["etc/e820", 20]]);
  assert.deepEqual(rd(0x20, 4), [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(rd(0x21, 20), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 1, 0, 0, 0]);
});

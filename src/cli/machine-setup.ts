// From parsed QEMU options to a ready session: boot files, the recording (written or read and checked),
// the rrsnapshot in the first drive, and the session in the right mode.

import { basename } from "node:path";
import { BoardError, createMachine, requireBoard } from "../boards/registry.js";
import { isDiskOwner, type BlockDrive, type IsaTestDevice } from "../boards/board.js";
import { readBootFile } from "../boards/loaders.js";
import { loadMachine, saveMachine } from "../core/machine.js";
import { openImage, Qcow2Image, probeFormat, ImageError } from "../block/index.js";
import type { BlockDevice } from "../block/index.js";
import { RecordingWriter } from "../replay/format-writer.js";
import { openRecording, type OpenedRecording } from "../replay/format-locate.js";
import { compareConfig, hashImageFile } from "../replay/format-config.js";
import type { DriveIdentity, RecordingConfig } from "../replay/format-types.js";
import { RecordingSink, replaySource } from "../replay/recording.js";
import { MachineSession } from "../session/session.js";
import type { SessionMachine } from "../session/target.js";
import type { DeviceSpec, MachineOptions, VirtioBlkDeviceSpec } from "./machine-options.js";

/** Virtual time per instruction when no -icount is given (QEMU's `shift=auto` adapts; Rewind is fixed). */
export const DEFAULT_SHIFT = 3;

export class SetupError extends Error {
  override name = "SetupError";
}

export interface PreparedMachine {
  machine: SessionMachine;
  session: MachineSession;
  /** Record mode: the writer (to finish or abort). */
  writer?: RecordingWriter;
  /** Replay mode: what the recording says about its end. */
  replay?: {
    /** The file read: rrfile, or the partial recording a killed recorder left in its place. */
    file: string;
    endIcount: number;
    endReason: string;
    finalDigest?: string;
    truncated: boolean;
    /** The recording ends in damage (not an interruption): replay stops before it and the run fails. */
    damaged?: { offset: number; message: string };
    /** Lines to show before replaying: which file stands in for rrfile, and why. */
    notices: string[];
    warnings: string[];
  };
  drives: BlockDevice[];
  close(): void;
}

export interface SetupHooks {
  serialOut: (byte: number) => void;
  /** Output of the n-th isa-debugcon device in MachineOptions.devices. */
  debugconOut?: (index: number, byte: number) => void;
  log: (line: string) => void;
}

export function prepareMachine(o: MachineOptions, hooks: SetupHooks, argv: readonly string[] = []): PreparedMachine {
  const board = requireBoard(o.machine.type);
  for (const kind of ["kernel", "initrd", "dtb", "bios"] as const) {
    const required = board.bootFiles[kind]?.required;
    if (!o[kind] && required !== undefined && board.bootFiles[kind]?.defaultFile?.() === undefined) throw new SetupError(`no -${kind} given: ${required}`);
  }
  const shift = typeof o.icount?.shift === "number" ? o.icount.shift : DEFAULT_SHIFT;
  const mode = o.replay.mode === "none" ? "live" : o.replay.mode;
  if (mode !== "live" && typeof o.icount?.shift !== "number") throw new SetupError("-icount: record/replay needs a fixed shift=N");

  const file = (path: string | undefined, what: string) => (path ? { name: path, bytes: readBootFile(path, what, o.ramBytes) } : undefined);
  const kernel = file(o.kernel, "kernel");
  const initrd = file(o.initrd, "initrd");
  const dtb = file(o.dtb, "dtb");
  // A board's firmware default (pc: SeaBIOS where Debian's seabios package puts it, or Rewind's copy).
  const biosPath = o.bios ?? board.bootFiles.bios?.defaultFile?.();
  const bios = file(biosPath, "bios");

  const drives: BlockDevice[] = [];
  const closeDrives = () => drives.forEach((d) => d.close());
  try {
    for (const d of o.drives) {
      const format = d.format ?? probeFormat(d.file);
      drives.push(openImage(d.file, { format, readOnly: d.readOnly || d.snapshot }));
    }

    const config: RecordingConfig = {
      board: board.name,
      cpu: o.cpu,
      ramSize: o.ramBytes,
      icountShift: shift,
      kernel: o.kernel ? identity(o.kernel) : undefined,
      initrd: o.initrd ? identity(o.initrd) : undefined,
      dtb: o.dtb ? identity(o.dtb) : undefined,
      bios: biosPath ? identity(biosPath) : undefined,
      append: o.append ?? "",
      drives: o.drives.map((d, i): DriveIdentity => ({ id: d.id, file: d.file, format: drives[i].format, virtualSize: drives[i].size })),
      snapshot: o.replay.snapshot,
      rtcBootSeconds: Math.floor(Date.now() / 1000),
      launch: { argv: [...argv], cwd: process.cwd(), program: o.program },
    };

    if (o.devices.length) config.extra = { ...config.extra, devices: o.devices.map(describeDevice) };
    if (o.boardGlobals.length) config.extra = { ...config.extra, globals: o.boardGlobals.map((g) => `${g.driver}.${g.prop}=${g.value}`) };
    // Which serial ports exist is part of the machine on pc (-nodefaults without -serial: none); one is the norm.
    if (o.serials.length !== 1) config.extra = { ...config.extra, serialPorts: String(o.serials.length) };
    if (o.virtioModern) config.extra = { ...config.extra, virtioMmio: "modern" };

    let opened: OpenedRecording | undefined;
    if (mode === "replay") {
      // rrfile, or when a killed recorder left only its temporary file, that file (with a notice).
      opened = openRecording(o.replay.file!);
      const diffs = compareConfig(opened.recording.header.config, config);
      if (diffs.length)
        throw new SetupError(`'${opened.path}' was recorded with a different machine configuration:\n  ${diffs.join("\n  ")}`);
      config.rtcBootSeconds = opened.recording.header.config.rtcBootSeconds;
    }

    // -device virtio-blk-device: the board opens each image read-only; guest writes stay in the device's
    // overlay (machine state) and reach the image only when a live run ends (see devices/virtio/blk.ts).
    const blkDevices = o.devices.filter((d): d is VirtioBlkDeviceSpec => d.driver === "virtio-blk-device");
    const virtioBlk: BlockDrive[] = blkDevices.map((dev) => {
      const i = o.drives.findIndex((d) => d.id === dev.drive);
      const d = o.drives[i]!;
      return { id: d.id, file: d.file, format: drives[i]!.format, readOnly: d.readOnly };
    });
    const maxBlk = board.maxVirtioBlk ?? 0;
    if (virtioBlk.length > maxBlk)
      throw new SetupError(maxBlk === 0 ? `the ${board.name} board has no virtio-mmio transports for -device virtio-blk-device`
        : `the ${board.name} board has ${maxBlk} virtio-mmio transports; ${virtioBlk.length} virtio-blk-device given`);
    const isaDevices: IsaTestDevice[] = o.devices.flatMap((d): IsaTestDevice[] =>
      d.driver === "isa-debug-exit" ? [{ driver: d.driver, iobase: d.iobase, iosize: d.iosize }]
        : d.driver === "isa-debugcon" ? [{ driver: d.driver, iobase: d.iobase, readback: d.readback }] : []);
    if (isaDevices.length && !board.isaTestDevices) throw new SetupError(`the ${board.name} board has no ISA bus for ${isaDevices[0]!.driver}`);
    const debugconOut = isaDevices.filter((d) => d.driver === "isa-debugcon").map((_d, i) => (b: number) => hooks.debugconOut?.(i, b));

    // Everything the board is built from but the host callbacks: scan workers build the same machine from it.
    const boardConfig = {
      cpu: o.cpu,
      ramSize: o.ramBytes,
      icountShift: shift,
      kernel,
      initrd,
      dtb,
      bios,
      append: o.append,
      ...(virtioBlk.length ? { virtioBlk } : {}),
      ...(o.virtioModern ? { virtioModern: true } : {}),
      ...(isaDevices.length ? { isaDevices } : {}),
      ...(o.boardGlobals.length ? { globals: Object.fromEntries(o.boardGlobals.map((g) => [`${g.driver}.${g.prop}`, g.value])) } : {}),
      rtcBootSeconds: config.rtcBootSeconds,
      noReboot: o.noReboot,
      engine: o.engine,
    };
    let machine: SessionMachine;
    try {
      machine = createMachine(board.name, { ...boardConfig, serial: o.serials.length ? [hooks.serialOut] : [], debugcon: debugconOut, log: hooks.log });
    } catch (e) {
      if (e instanceof BoardError) throw new SetupError(e.message);
      throw e;
    }

    // rrsnapshot: the initial machine state lives in the first snapshot-capable drive, as in QEMU.
    const snapshotName = o.replay.snapshot;
    if (snapshotName && mode !== "live") {
      const image = drives.find((d): d is Qcow2Image => d instanceof Qcow2Image && !d.readOnly);
      if (!image) throw new SetupError(`rrsnapshot=${snapshotName}: no writable qcow2 -drive to hold the snapshot (add -drive file=disk.qcow2,if=none)`);
      if (mode === "record") image.createSnapshot(snapshotName, { vmState: saveMachine(machine), icount: 0, vmClockNs: 0 });
      else {
        let loaded;
        try {
          loaded = image.loadSnapshot(snapshotName);
        } catch (e) {
          throw new SetupError(`rrsnapshot=${snapshotName}: ${(e as Error).message}`);
        }
        try {
          loadMachine(machine, loaded.vmState);
        } catch (e) {
          throw new SetupError(`rrsnapshot=${snapshotName} in '${image.path}' is not a state this machine can load: ${(e as Error).message}`);
        }
      }
    }
    // Loading the snapshot reverted the image's disk (as QEMU's loadvm does): the board reads it afresh.
    if (snapshotName && mode === "replay" && isDiskOwner(machine)) machine.reopenDisks();

    let writer: RecordingWriter | undefined;
    if (mode === "record") writer = RecordingWriter.create(o.replay.file!, { config });
    const session = new MachineSession({
      machine,
      mode,
      record: writer ? new RecordingSink(writer, () => ({ icount: machine.clock.icount, ticks: machine.clock.ticks })) : undefined,
      replay: opened ? replaySource(opened.recording, opened.path) : undefined,
      replica: { board: board.name, config: boardConfig },
    });
    // A live run's disk writes go to the images when it ends (not snapshot=on drives); record and replay runs
    // leave the images as they were, so a recording replays against the disks it was made with.
    const commitIds = mode === "live" ? blkDevices.map((d) => o.drives.find((x) => x.id === d.drive)!).filter((d) => !d.snapshot && !d.readOnly).map((d) => d.id) : [];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      closeDrives();
      if (!isDiskOwner(machine)) return;
      try {
        if (commitIds.length) machine.commitDisks(commitIds);
        else if (mode === "record") {
          for (const [id, n] of Object.entries(machine.uncommittedSectors())) {
            const file = o.drives.find((d) => d.id === id)?.file;
            hooks.log(`drive '${id}': the guest's writes (${n} sectors) stay out of '${file}': a recording leaves its disks as they were, so that it replays`);
          }
        }
      } catch (e) {
        hooks.log(`cannot write the guest's disk writes into the image: ${(e as Error).message}`);
      } finally {
        machine.closeDisks();
      }
    };
    const prepared: PreparedMachine = { machine, session, writer, drives, close };
    if (opened) {
      const src = replaySource(opened.recording, opened.path);
      const { truncated, damaged, warnings } = opened.recording;
      prepared.replay = {
        file: opened.path, endIcount: src.end.icount, endReason: src.endReason, finalDigest: src.finalDigest, truncated,
        damaged, notices: opened.notices, warnings,
      };
    }
    return prepared;
  } catch (e) {
    closeDrives();
    if (e instanceof ImageError) throw new SetupError(e.message);
    throw e;
  }
}

/** A device as the recording's configuration names it (what the guest sees; not where its output goes). */
function describeDevice(d: DeviceSpec): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (d.driver) {
    case "virtio-blk-device":
      return `${d.driver},drive=${d.drive}`;
    case "isa-debug-exit":
      return `${d.driver},iobase=${hex(d.iobase)},iosize=${hex(d.iosize)}`;
    case "isa-debugcon":
      return `${d.driver},iobase=${hex(d.iobase)},readback=${hex(d.readback)}`;
  }
}

function identity(path: string) {
  const id = hashImageFile(path);
  return { ...id, name: basename(path) };
}

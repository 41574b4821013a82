// From parsed QEMU options to a ready session: boot files, the recording (written or read and checked),
// the rrsnapshot in the first drive, and the session in the right mode.

import { basename } from "node:path";
import { VirtMachine } from "../boards/virt/virt.js";
import { readBootFile } from "../boards/loaders.js";
import { loadMachine, saveMachine } from "../core/machine.js";
import { openImage, Qcow2Image, probeFormat, ImageError } from "../block/index.js";
import type { BlockDevice } from "../block/index.js";
import { RecordingWriter } from "../replay/format-writer.js";
import { RecordingReader } from "../replay/format-reader.js";
import { compareConfig, hashImageFile } from "../replay/format-config.js";
import type { DriveIdentity, RecordingConfig } from "../replay/format-types.js";
import { RecordingSink, replaySource } from "../replay/recording.js";
import { MachineSession } from "../session/session.js";
import type { MachineOptions } from "./machine-options.js";

/** Virtual time per instruction when no -icount is given (QEMU's `shift=auto` adapts; Rewind is fixed). */
export const DEFAULT_SHIFT = 3;

export class SetupError extends Error {
  override name = "SetupError";
}

export interface PreparedMachine {
  machine: VirtMachine;
  session: MachineSession;
  /** Record mode: the writer (to finish or abort). */
  writer?: RecordingWriter;
  /** Replay mode: what the recording says about its end. */
  replay?: { endIcount: number; endReason: string; finalDigest?: string; truncated: boolean; warnings: string[] };
  drives: BlockDevice[];
  close(): void;
}

export interface SetupHooks {
  serialOut: (byte: number) => void;
  log: (line: string) => void;
}

export function prepareMachine(o: MachineOptions, hooks: SetupHooks, argv: readonly string[] = []): PreparedMachine {
  if (!o.kernel) throw new SetupError("no -kernel given: the virt board needs a guest to run (try guests/aarch64/hello.elf)");
  const shift = typeof o.icount?.shift === "number" ? o.icount.shift : DEFAULT_SHIFT;
  const mode = o.replay.mode === "none" ? "live" : o.replay.mode;
  if (mode !== "live" && typeof o.icount?.shift !== "number") throw new SetupError("-icount: record/replay needs a fixed shift=N");

  const kernel = { name: o.kernel, bytes: readBootFile(o.kernel, "kernel") };
  const initrd = o.initrd ? { name: o.initrd, bytes: readBootFile(o.initrd, "initrd") } : undefined;
  const dtb = o.dtb ? { name: o.dtb, bytes: readBootFile(o.dtb, "dtb") } : undefined;

  const drives: BlockDevice[] = [];
  const closeDrives = () => drives.forEach((d) => d.close());
  try {
    for (const d of o.drives) {
      const format = d.format ?? probeFormat(d.file);
      drives.push(openImage(d.file, { format, readOnly: d.readOnly || d.snapshot }));
    }

    const config: RecordingConfig = {
      board: "virt",
      cpu: o.cpu,
      ramSize: o.ramBytes,
      icountShift: shift,
      kernel: identity(o.kernel),
      initrd: o.initrd ? identity(o.initrd) : undefined,
      dtb: o.dtb ? identity(o.dtb) : undefined,
      append: o.append ?? "",
      drives: o.drives.map((d, i): DriveIdentity => ({ id: d.id, file: d.file, format: drives[i].format, virtualSize: drives[i].size })),
      snapshot: o.replay.snapshot,
      rtcBootSeconds: Math.floor(Date.now() / 1000),
      launch: { argv: [...argv], cwd: process.cwd(), program: o.program },
    };

    let reading: ReturnType<typeof RecordingReader.open> | undefined;
    if (mode === "replay") {
      reading = RecordingReader.open(o.replay.file!);
      const diffs = compareConfig(reading.header.config, config);
      if (diffs.length)
        throw new SetupError(`'${o.replay.file}' was recorded with a different machine configuration:\n  ${diffs.join("\n  ")}`);
      config.rtcBootSeconds = reading.header.config.rtcBootSeconds;
    }

    const machine = new VirtMachine({
      ramSize: o.ramBytes,
      icountShift: shift,
      kernel,
      initrd,
      dtb,
      append: o.append,
      rtcBootSeconds: config.rtcBootSeconds,
      serialOut: hooks.serialOut,
      log: hooks.log,
    });
    machine.noReboot = o.noReboot;

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

    let writer: RecordingWriter | undefined;
    if (mode === "record") writer = RecordingWriter.create(o.replay.file!, { config });
    const session = new MachineSession({
      machine,
      mode,
      record: writer ? new RecordingSink(writer, () => ({ icount: machine.clock.icount, ticks: machine.clock.ticks })) : undefined,
      replay: reading ? replaySource(reading, o.replay.file!) : undefined,
    });
    const prepared: PreparedMachine = { machine, session, writer, drives, close: closeDrives };
    if (reading) {
      const src = replaySource(reading, o.replay.file!);
      prepared.replay = { endIcount: src.end.icount, endReason: src.endReason, finalDigest: src.finalDigest, truncated: reading.truncated, warnings: reading.warnings };
    }
    return prepared;
  } catch (e) {
    closeDrives();
    if (e instanceof ImageError) throw new SetupError(e.message);
    throw e;
  }
}

function identity(path: string) {
  const id = hashImageFile(path);
  return { ...id, name: basename(path) };
}

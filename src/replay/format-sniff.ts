/**
 * Names the kind of a file that is not a Rewind recording, so `rr=replay,rrfile=F` given the wrong file says
 * what it got ("a QEMU replay log", "a qcow2 disk image") rather than only "bad magic".
 */
import { MAGIC } from "./format-types.js";

function startsWith(b: Uint8Array, sig: ArrayLike<number>, at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/**
 * QEMU's replay log (replay/replay.c) starts with a big-endian 32-bit REPLAY_VERSION, 0xe020NN for every
 * release so far, followed by an unused 64-bit word. QEMU writes the version only when recording finishes,
 * so a log from a killed QEMU starts with 12 zero bytes instead.
 */
function qemuReplayVersion(b: Uint8Array): number | undefined {
  if (b.length >= 4 && b[0] === 0x00 && b[1] === 0xe0 && b[2] === 0x20) return 0xe02000 | b[3];
  return undefined;
}

/** A phrase completing "'F' is ...", or undefined when the file is not recognised. */
export function describeForeignFile(b: Uint8Array): string | undefined {
  const qemu = qemuReplayVersion(b);
  if (qemu !== undefined) {
    return `a QEMU replay log (replay version 0x${qemu.toString(16)}), not a Rewind recording; ` +
      "Rewind cannot replay QEMU's logs: record the guest again with Rewind";
  }
  if (startsWith(b, [0x51, 0x46, 0x49, 0xfb])) {
    return "a qcow2 disk image, not a Rewind recording (rrfile= names the recording; disks go in -drive)";
  }
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) return "an ELF executable, not a Rewind recording";
  if (startsWith(b, [0x1f, 0x8b])) return "gzip-compressed data, not a Rewind recording";
  if (startsWith(b, [0xd0, 0x0d, 0xfe, 0xed])) return "a device tree blob, not a Rewind recording";
  if (startsWith(b, ascii("ARM\x64"), 0x38)) return "a Linux kernel Image, not a Rewind recording";
  if (startsWith(b, ascii("QEVM"))) return "a QEMU saved VM state, not a Rewind recording";
  if (startsWith(b, MAGIC.subarray(1, 6), 1)) {
    return "damaged at its very start (the Rewind signature is altered, as a text-mode transfer that changes " +
      "line endings does); copy the recording again in binary mode";
  }
  if (b.every((x) => x === 0)) return "not a Rewind recording (it holds only zero bytes)";
  if (b.length > 12 && b.subarray(0, 12).every((x) => x === 0)) {
    return "not a Rewind recording (it starts with 12 zero bytes, as a QEMU replay log whose recording was " +
      "interrupted does)";
  }
  const lead = b.subarray(0, Math.min(b.length, 64));
  if (lead.length > 0 && lead.every((x) => x === 0x09 || x === 0x0a || x === 0x0d || (x >= 0x20 && x < 0x7f))) {
    return "a text file, not a Rewind recording";
  }
  return undefined;
}

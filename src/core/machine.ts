// What every board offers the layers above it (session, replay, front ends): a clock, its state parts, and a
// run loop that stops at an exact position. Nothing here knows an architecture.

import type { VirtualClock } from "./clock.js";
import type { Position } from "./position.js";
import type { Stateful } from "./state.js";
import { createHash } from "node:crypto";
import { DirtyBit, PAGE_SIZE, Ram } from "./memory.js";
import { decodeState, digestBytes, encodeState, loadSections, saveSections, type StateFields, type StateValue } from "./state.js";

export type StopReason =
  /** Reached the position given to run(). */
  | "limit"
  /** The guest powered the machine off (PSCI SYSTEM_OFF, ACPI, ...). */
  | "poweroff"
  /** The guest asked for a reset and the machine was asked not to reboot (-no-reboot). */
  | "reset"
  /** The CPU waits for an interrupt and no timer is armed: only outside input can wake it. */
  | "idle"
  /** A breakpoint or watchpoint hit (see the machine's debug state for which). */
  | "debug"
  /** requestStop() was called. */
  | "stopped"
  /** The guest can never make progress again (e.g. its exception vectors are unmapped). */
  | "stuck";

export interface Machine {
  readonly clock: VirtualClock;
  /** Every guest-visible part, in a fixed order (the order of saved sections). */
  readonly stateParts: readonly Stateful[];
  /**
   * Runs until the first step boundary at or after `until` (due timers at that boundary have fired), or until
   * something stops it first (core/run-loop.ts).
   */
  run(until: Position): StopReason;
  /** Asks a running run() to return at the next step boundary. */
  requestStop(): void;
  /** The guest program counter, for front ends (as an unsigned 64-bit value). */
  pc(): bigint;
}

/** The whole machine state as bytes (snapshots, checkpoints). */
export function saveMachine(m: Machine): Uint8Array {
  return encodeState(saveSections(m.stateParts));
}

export function loadMachine(m: Machine, bytes: Uint8Array): void {
  loadSections(m.stateParts, decodeState(bytes));
}

/**
 * A digest of the whole guest-visible state: equal digests mean bit-identical machines. RAM is hashed where it
 * lies, in runs of non-zero pages (with their positions), instead of being encoded into a copy first: a digest of
 * a 512 MiB guest then costs one pass over its memory and no allocation of its size.
 */
export function machineDigest(m: Machine): string {
  const hash = createHash("sha256");
  const where = new DataView(new ArrayBuffer(12));
  for (const part of m.stateParts) {
    if (!(part instanceof Ram)) {
      hash.update(encodeState(saveSections([part])));
      continue;
    }
    hash.update(`${part.stateName}\0${part.stateVersion}\0${part.size}\0`);
    const zero = zeroPages(part);
    let runStart = -1;
    const flush = (end: number) => {
      where.setUint32(0, runStart, true);
      where.setUint32(4, end - runStart, true);
      hash.update(new Uint8Array(where.buffer, 0, 8));
      hash.update(part.bytes.subarray(runStart * PAGE_SIZE, end * PAGE_SIZE));
      runStart = -1;
    };
    for (let p = 0; p < part.pageCount; p++) {
      if (zero[p] === 0 && runStart < 0) runStart = p;
      else if (zero[p] !== 0 && runStart >= 0) flush(p);
    }
    if (runStart >= 0) flush(part.pageCount);
  }
  return hash.digest("hex");
}

/** Which pages of a RAM region are all zeros (1) or not (0): rescanned only where written since the last call. */
const zeroCache = new WeakMap<Ram, Uint8Array>();
function zeroPages(ram: Ram): Uint8Array {
  let zero = zeroCache.get(ram);
  const fresh = zero === undefined;
  if (zero === undefined) zeroCache.set(ram, (zero = new Uint8Array(ram.pageCount)));
  const words = new Uint32Array(ram.bytes.buffer, ram.bytes.byteOffset, ram.bytes.byteLength >>> 2);
  const wordsPerPage = PAGE_SIZE >>> 2;
  const dirty = ram.dirty;
  for (let p = 0; p < ram.pageCount; p++) {
    if (!fresh && (dirty[p] & DirtyBit.ZeroScan) === 0) continue;
    let z = 1;
    for (let i = p * wordsPerPage, end = i + wordsPerPage; i < end; i++)
      if (words[i] !== 0) {
        z = 0;
        break;
      }
    zero[p] = z;
  }
  ram.clearDirty(DirtyBit.ZeroScan);
  return zero;
}

/** RAM regions digested separately in divergence digests, so a report can say where memory differs. */
const RAM_REGION = 16 << 20;
/** Detail digests are truncated: they only locate a difference; the whole-machine digest stays full SHA-256. */
const DETAIL_HEX = 16;

/** The 16 MiB region digests of a RAM region, recomputed only for regions written since the last call. */
const regionCache = new WeakMap<Ram, string[]>();
function regionDigests(ram: Ram): string[] {
  let cached = regionCache.get(ram);
  const fresh = cached === undefined;
  if (cached === undefined) regionCache.set(ram, (cached = []));
  const pagesPerRegion = RAM_REGION / PAGE_SIZE;
  const dirty = ram.dirty;
  for (let i = 0, off = 0; off < ram.bytes.length; i++, off += RAM_REGION) {
    let stale = fresh;
    for (let p = i * pagesPerRegion, end = Math.min(p + pagesPerRegion, ram.pageCount); !stale && p < end; p++) stale = (dirty[p] & DirtyBit.Detail) !== 0;
    if (stale) cached[i] = digestBytes(ram.bytes.subarray(off, Math.min(off + RAM_REGION, ram.bytes.length))).slice(0, DETAIL_HEX);
  }
  ram.clearDirty(DirtyBit.Detail);
  return cached;
}

/**
 * Digests fine enough to say *what* differs when two machines diverge: every non-RAM part, its top-level
 * fields ("cpu0.xlo", "gic@8000000.pending"), and every RAM or ROM region per 16 MiB, named by the region and
 * the physical address ("ram@0x41000000", "bios@0xfffc0000"), each truncated to 64 bits. Keys are stable for a
 * given machine, so recordings can store them per chunk once.
 */
export function machineDetailDigests(m: Machine): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of m.stateParts) {
    if (part instanceof Ram) {
      // RAM is located per region only: encoding the whole section as well would hash it twice.
      const regions = regionDigests(part);
      regions.forEach((d, i) => out.set(`${part.name}@0x${(part.base + i * RAM_REGION).toString(16)}`, d));
      continue;
    }
    const [section] = saveSections([part]);
    out.set(section.name, digestBytes(encodeState([section])).slice(0, DETAIL_HEX));
    addFieldDigests(out, section.name, section.fields, 0);
  }
  return out;
}

function addFieldDigests(out: Map<string, string>, prefix: string, fields: StateFields, depth: number): void {
  for (const [k, v] of Object.entries(fields)) {
    const name = `${prefix}.${k}`;
    out.set(name, digestBytes(encodeState([{ name, version: 0, fields: { v } }])).slice(0, DETAIL_HEX));
    if (depth > 0 && isFieldSet(v)) addFieldDigests(out, name, v, depth - 1);
  }
}

function isFieldSet(v: StateValue): v is StateFields {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** The most specific names whose digests differ (a field rather than its part, a RAM MiB rather than "ram"). */
export function differingDetails(recorded: Record<string, string>, now: Map<string, string>): string[] {
  const differ = [...now].filter(([k, d]) => recorded[k] !== undefined && recorded[k] !== d).map(([k]) => k);
  return differ.filter((k) => !differ.some((other) => other !== k && (other.startsWith(k + ".") || other.startsWith(k + "@"))));
}

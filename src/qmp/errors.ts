/**
 * QMP errors: QEMU's error classes and, for everything a client can trigger, QEMU 7.2's exact `desc` text
 * (scripts match on them). Messages that are Rewind's own say so by being plain English sentences.
 */

export type QmpErrorClass = "GenericError" | "CommandNotFound" | "DeviceNotActive" | "DeviceNotFound" | "KVMMissingCap";

export class QmpError extends Error {
  override name = "QmpError";
  constructor(
    readonly errorClass: QmpErrorClass,
    readonly desc: string,
  ) {
    super(desc);
  }
}

export function genericError(desc: string): QmpError {
  return new QmpError("GenericError", desc);
}

/** QEMU's wording, by the situation it describes. */
export const qmpErrors = {
  // The envelope (qapi/qmp-dispatch.c).
  notAnObject: () => genericError("QMP input must be a JSON object"),
  memberMustBeString: (member: string) => genericError(`QMP input member '${member}' must be a string`),
  memberClash: (member: string, other: string) => genericError(`QMP input member '${member}' clashes with '${other}'`),
  argumentsMustBeObject: () => genericError("QMP input member 'arguments' must be an object"),
  memberUnexpected: (member: string) => genericError(`QMP input member '${member}' is unexpected`),
  lacksExecute: () => genericError("QMP input lacks member 'execute'"),
  commandNotFound: (name: string) => new QmpError("CommandNotFound", `The command ${name} has not been found`),
  noOob: (name: string) => genericError(`The command ${name} does not support OOB`),

  // Capability negotiation (monitor/qmp.c, monitor/qmp-cmds-control.c).
  expectingNegotiation: "Expecting capabilities negotiation with 'qmp_capabilities'",
  alreadyNegotiated: () => new QmpError("CommandNotFound", "Capabilities negotiation is already complete, command ignored"),
  capabilityUnavailable: (cap: string) => genericError(`Capability '${cap}' not available`),

  // Arguments (qapi/qobject-input-visitor.c).
  paramMissing: (name: string) => genericError(`Parameter '${name}' is missing`),
  paramType: (name: string, expected: string) => genericError(`Invalid parameter type for '${name}', expected: ${expected}`),
  paramUnexpected: (name: string) => genericError(`Parameter '${name}' is unexpected`),
  /** Enum members inside a list are named 'null' by QEMU 7.2's visitor; kept for identical text. */
  paramEnumValue: (name: string | undefined, value: string) => genericError(`Parameter '${name ?? "null"}' does not accept value '${value}'`),
  paramExpects: (name: string, what: string) => genericError(`Parameter '${name}' expects ${what}`),

  // Run state (softmmu/runstate.c, monitor/qmp-cmds.c).
  resetRequired: () => genericError("Resetting the Virtual Machine is required"),

  // Record/replay (replay/replay-debugging.c).
  breakOnlyInPlay: () => genericError("setting the breakpoint is allowed only in play mode"),
  breakInPast: () => genericError("cannot set breakpoint at the instruction in the past"),
  deleteBreakOnlyInPlay: () => genericError("replay breakpoints are allowed only in play mode"),
  seekNeedsReplay: () => genericError("replay must be enabled to seek"),
  seekImpossible: () => genericError("cannot seek to the specified instruction count"),
} as const;

// -device, -global and -debugcon: the devices a command line adds, as QEMU takes them. Each -device is kept as
// given and built once every option is read, its properties over the -global defaults for its driver (QEMU applies
// globals when the device is created, whatever the order on the command line). The target's DeviceDefs
// (qemu-targets.ts) say which drivers exist and how their properties become a DeviceSpec.

import { isQemuId, ParamSet, splitParams } from "./option-syntax.js";
import type { DeviceDef, DeviceProps, DeviceSpec, GlobalSpec, MachineOptions, TargetSpec } from "./machine-options.js";

/** What the parser lends: the target, the options being built, and its failure and parameter helpers. */
export interface DeviceOptionContext {
  readonly target: TargetSpec;
  readonly options: MachineOptions;
  /** The option being parsed ("-global"), for messages. */
  option(): string;
  fail(detail: string): never;
  failAt(option: string, detail: string): never;
  params(arg: string, implied: string | undefined, keys: readonly string[], unsupported?: readonly string[]): ParamSet;
}

/** Properties -global names for a driver: everything but the references to other objects. */
const globalProps = (d: DeviceDef) => d.props.filter((k) => k !== "drive" && k !== "chardev");

export class DeviceOptions {
  /** -device options as given. */
  private readonly given: { def: DeviceDef; params: ParamSet; opt: string }[] = [];
  private readonly globals: { spec: GlobalSpec; opt: string }[] = [];
  /** The last -debugcon (QEMU keeps the last one). */
  debugconText?: { text: string; opt: string };

  constructor(private readonly ctx: DeviceOptionContext) {}

  global(arg: string): void {
    const { ctx } = this;
    const o = ctx.options;
    const m = /^([^.=,]+)\.([^=,]+)=(.*)$/.exec(arg) ?? /^driver=([^,]+),property=([^,]+),value=(.*)$/.exec(arg);
    if (!m) ctx.fail(`invalid format '${arg}' (expected DRIVER.PROPERTY=VALUE)`);
    const [, driver, prop, value] = m as unknown as [string, string, string, string];
    if (driver === "virtio-mmio" && prop === "force-legacy") {
      const on = ["on", "yes", "true", "y"].includes(value);
      if (!on && !["off", "no", "false", "n"].includes(value)) ctx.fail(`Parameter 'force-legacy' expects 'on' or 'off'`);
      o.virtioModern = !on;
      return;
    }
    const own = ctx.target.boardGlobals.find((g) => g.driver === driver && g.prop === prop);
    if (own) {
      const problem = own.check(value);
      if (problem) ctx.fail(problem);
      o.boardGlobals = [...o.boardGlobals.filter((g) => g.driver !== driver || g.prop !== prop), { driver, prop, value }];
      return;
    }
    const def = ctx.target.devices.find((d) => d.driver === driver);
    if (!def || !globalProps(def).includes(prop)) {
      const offered = [
        "virtio-mmio.force-legacy",
        ...ctx.target.boardGlobals.map((g) => `${g.driver}.${g.prop}`),
        ...ctx.target.devices.flatMap((d) => globalProps(d).map((k) => `${d.driver}.${k}`)),
      ];
      ctx.fail(`${driver}.${prop} is not supported by Rewind (it takes: ${offered.join(", ")})`);
    }
    this.globals.push({ spec: { driver, prop, value }, opt: ctx.option() });
  }

  device(arg: string, opt: string): void {
    const { ctx } = this;
    const driver = splitParams(arg, "driver")[0]?.value ?? "";
    if (driver === "") ctx.fail("parameter 'driver' is missing");
    const def = ctx.target.devices.find((d) => d.driver === driver);
    if (!def) {
      const names = ctx.target.devices.map((d) => d.driver).join(", ");
      return ctx.fail(`'${driver}' is not a device Rewind emulates (supported: ${names}; '-device help' lists them)`);
    }
    const params = ctx.params(arg, "driver", ["driver", "id", ...def.props], def.ignored ?? []);
    const id = params.str("id");
    if (id !== undefined && !isQemuId(id)) ctx.fail(`parameter 'id' expects an identifier, got '${id}'`);
    this.given.push({ def, params, opt });
  }

  debugcon(arg: string, opt: string): void {
    const { ctx } = this;
    if (!ctx.target.devices.some((d) => d.driver === "isa-debugcon")) ctx.fail(`not supported on ${ctx.target.program} (isa-debugcon is an x86 ISA device)`);
    this.debugconText = { text: arg, opt };
  }

  /** The chardev= references of the -device options (resolved with the other chardev users). */
  chardevReferences(): { id: string; opt: string }[] {
    return this.given.flatMap((d) => {
      const id = d.params.str("chardev");
      return id === undefined ? [] : [{ id, opt: d.opt }];
    });
  }

  /**
   * Builds every -device (and -debugcon's isa-debugcon, on `debugconChardev`) into options.devices, then checks
   * that every virtio-blk-device names a -drive (given before or after it) that no other device uses, as QEMU.
   */
  finish(debugconChardev: string | undefined): void {
    const { ctx } = this;
    const o = ctx.options;
    const devices: { spec: DeviceSpec; opt: string }[] = this.given.map((d) => ({ spec: this.build(d.def, d.params, d.opt), opt: d.opt }));
    if (debugconChardev !== undefined && this.debugconText) {
      const { opt } = this.debugconText;
      const def = ctx.target.devices.find((d) => d.driver === "isa-debugcon")!;
      const params = new ParamSet((d) => ctx.failAt(opt, d), [{ key: "chardev", value: debugconChardev, shortForm: false }], ["chardev"], () => {});
      devices.push({ spec: this.build(def, params, opt), opt });
    }
    o.devices = devices.map((d) => d.spec);
    const users = new Map<string, number>();
    devices.forEach(({ spec: d, opt }, i) => {
      if (d.id !== undefined && devices.some((x, j) => j < i && x.spec.id === d.id)) ctx.failAt(opt, `Duplicate device ID '${d.id}'`);
      if (d.driver !== "virtio-blk-device") return;
      const drive = o.drives.find((x) => x.id === d.drive);
      if (!drive) return ctx.failAt(opt, `Property '${d.driver}.drive' can't find value '${d.drive}'`);
      if (users.has(d.drive)) ctx.failAt(opt, `Property '${d.driver}.drive' can't take value '${d.drive}', it's in use`);
      if (drive.interface !== "none") ctx.failAt(opt, `drive '${d.drive}' has if=${drive.interface}: a drive for -device needs if=none`);
      users.set(d.drive, i);
    });
  }

  /** One device from its properties, each taken from the command line or else from the last -global for it. */
  private build(def: DeviceDef, params: ParamSet, opt: string): DeviceSpec {
    const fail = (d: string): never => this.ctx.failAt(opt, d);
    const value = (key: string): string | undefined =>
      params.str(key) ?? this.globals.filter((g) => g.spec.driver === def.driver && g.spec.prop === key).pop()?.spec.value;
    const props: DeviceProps = {
      str: value,
      fail,
      uint(key, dflt, max) {
        const v = value(key);
        if (v === undefined) return dflt;
        const n = /^(?:[0-9]+|0[xX][0-9a-fA-F]+)$/.test(v) ? Number(v) : NaN;
        if (!(n >= 0 && n <= max)) fail(`${def.driver}.${key}: '${v}' is not an integer from 0 to 0x${max.toString(16)}`);
        return n;
      },
    };
    return def.build(props);
  }
}

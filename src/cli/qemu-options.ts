/**
 * The QEMU command-line subset of `rewind-system-*`: QEMU's spelling (one dash, or two as QEMU also accepts;
 * `-opt value`; comma sub-options with `,,` escapes and an implied first key), QEMU's defaults, and errors that
 * name the option. The result is a typed MachineOptions; nothing here touches files, sockets or the terminal.
 *
 * Per target: a TargetSpec lists the machines, CPUs, drive interfaces and any target-only options, so the
 * x86_64 binary adds its machine and options without touching the common ones.
 *
 * Deliberate differences from QEMU are marked "Rewind:" below; the main ones:
 *   - `-s` and `tcp::PORT` listen on 127.0.0.1, not on every interface (DESIGN.md §5);
 *   - `-gdb unix:PATH` listens (server=on,wait=off) unless told otherwise, like `-gdb tcp:` does in QEMU;
 *   - without -M the machine is the target's only board (QEMU aarch64 has no default machine), and without
 *     -cpu the CPU is the one Rewind emulates (QEMU's virt default, cortex-a15, is 32-bit only);
 *   - there is no graphical console: where QEMU would put serial/monitor on a "vc", they go to a null device.
 */

import { describeChardev, type ChardevSpec } from "../chardev/spec.js";
import { buildChardev, parseChardevOption, parseCompatChardev, type ChardevParseContext } from "./chardev-options.js";
import { isHelpValue, isQemuId, OptionError, ParamSet, splitParams, type OptParam } from "./option-syntax.js";
import { parseQemuSize } from "./sizes.js";
import { ENGINE_KINDS } from "../boards/board.js";
import type {
  DriveInterface,
  DriveSpec,
  MachineDef,
  MachineOptions,
  MachineSelection,
  MonitorSpec,
  OptionContext,
  ParseOutcome,
  TargetSpec,
} from "./machine-options.js";
import { AARCH64_TARGET } from "./qemu-targets.js";
import { DeviceOptions } from "./device-options.js";

export { OptionError } from "./option-syntax.js";
export * from "./machine-options.js";
export { AARCH64_TARGET, X86_64_TARGET, targetFor } from "./qemu-targets.js";

export const REWIND_VERSION = "0.1.0";
/** The QEMU release whose options, defaults and behaviour Rewind follows. */
export const QEMU_COMPAT_VERSION = "7.2.0";

// ---------------------------------------------------------------------------------------------------------------
// Option table

interface Opt {
  names: string[];
  arg?: string;
  help: string;
  /** Hidden from -help (aliases documented elsewhere, rejections). */
  hidden?: boolean;
  apply(p: Parser, arg: string | undefined, opt: string): void;
}

/** QEMU log items accepted by -d (recorded only). */
const LOG_ITEMS = [
  "out_asm", "in_asm", "op", "op_opt", "op_ind", "int", "exec", "cpu", "fpu", "mmu", "pcall", "cpu_reset",
  "unimp", "guest_errors", "page", "nochain", "plugin", "strace", "tid",
];

/** QEMU options Rewind does not implement; `true` = takes an argument. Named so the error says so. */
const QEMU_UNSUPPORTED: Readonly<Record<string, boolean>> = {
  object: true, netdev: true, blockdev: true, hda: true, hdb: true, hdc: true,
  hdd: true, cdrom: true, fda: true, fdb: true, sd: true, pflash: true, mtdblock: true, boot: true,
  usbdevice: true, audiodev: true, vnc: true, spice: true, k: true, numa: true, "add-fd": true, set: true,
  incoming: true, loadvm: true, pidfile: true, runas: true, chroot: true, sandbox: true, trace: true,
  plugin: true, L: true, fw_cfg: true, smbios: true, "semihosting-config": true, "watchdog-action": true,
  parallel: true, virtfs: true, msg: true, overcommit: true, "mem-path": true, fsdev: true, tpmdev: true,
  action: true, echr: true, iscsi: true, "option-rom": true, g: true, "prom-env": true, acpitable: true,
  "xen-domid": true, "run-with": true, compat: true, rotate: true,
  snapshot: false, usb: false, sdl: false, curses: false, "full-screen": false, "no-hpet": false,
  "no-acpi": false, semihosting: false, "mem-prealloc": false, preconfig: false, "only-migratable": false,
  "no-user-config": false, nodefconfig: false, "no-fd-bootchk": false, "alt-grab": false, "ctrl-grab": false,
  "win2k-hack": false, "enable-sync-profile": false, "no-quit": false,
};

const COMMON_OPTIONS: Opt[] = [
  { names: ["h", "help"], help: "display this help and exit", apply: () => {} },
  { names: ["version"], help: "display version information and exit", apply: () => {} },
  {
    names: ["machine", "M"],
    arg: "[type=]name[,prop[=value][,...]]",
    help: "select the machine ('-machine help' for the list, '-machine virt,help' for properties)",
    apply: (p, arg) => p.machineOpt(arg!),
  },
  { names: ["cpu"], arg: "cpu", help: "select the CPU model ('-cpu help' for the list)", apply: (p, arg) => p.cpuOpt(arg!) },
  {
    names: ["accel"],
    arg: "[accel=]tcg[,one-insn-per-tb=on|off][,engine=fast|interp][,prop=value...]",
    help:
      "select the accelerator (only tcg); Rewind's execution engine is 'fast' (compiled blocks) unless " +
      "one-insn-per-tb=on or engine=interp selects the interpreter (both give the same state at every step)",
    apply: (p, arg) => p.accelOpt(arg!),
  },
  {
    names: ["m"],
    arg: "[size=]megs[,slots=n,maxmem=size]",
    help: "guest RAM size; a number is MiB, suffixes k, M, G, T (default 128M)",
    apply: (p, arg) => p.memoryOpt(arg!),
  },
  { names: ["smp"], arg: "[cpus=]n[,...]", help: "number of CPUs (only 1)", apply: (p, arg) => p.smpOpt(arg!) },
  {
    names: ["name"],
    arg: "[guest=]name[,process=name][,debug-threads=on|off]",
    help: "name the guest",
    apply: (p, arg) => p.nameOpt(arg!),
  },
  {
    names: ["drive"],
    arg: "file=FILE[,if=none|virtio][,format=qcow2|raw][,id=ID][,snapshot=on|off][,readonly=on|off]",
    help: "use FILE as a drive image",
    apply: (p, arg) => p.driveOpt(arg!),
  },
  {
    names: ["device"],
    arg: "driver[,prop=value][,...]",
    help: "add a device ('-device help' lists the drivers this target emulates, '-device DRIVER,help' their properties)",
    apply: (p, arg, opt) => p.deviceOpt(arg!, opt),
  },
  {
    names: ["global"],
    arg: "driver.property=value",
    help: "a default property for every device of a driver: virtio-mmio.force-legacy=on|off (off: virtio-mmio version 2), and the properties of this target's -device drivers (e.g. isa-debugcon.iobase=0x402)",
    apply: (p, arg) => p.globalOpt(arg!),
  },
  {
    names: ["debugcon"],
    arg: "dev",
    help: "an isa-debugcon device (port 0xe9 unless -global isa-debugcon.iobase=...) writing to a chardev string: file:PATH, stdio, null, ...",
    apply: (p, arg, opt) => p.debugconOpt(arg!, opt),
  },
  { names: ["kernel"], arg: "bzImage", help: "use 'bzImage' as the kernel image", apply: (p, arg) => (p.o.kernel = arg!) },
  { names: ["append"], arg: "cmdline", help: "use 'cmdline' as the kernel command line", apply: (p, arg) => (p.o.append = arg!) },
  { names: ["initrd"], arg: "file", help: "use 'file' as the initial ram disk", apply: (p, arg) => (p.o.initrd = arg!) },
  { names: ["dtb"], arg: "file", help: "use 'file' as the device tree image", apply: (p, arg) => (p.o.dtb = arg!) },
  { names: ["bios"], arg: "file", help: "set the filename for the BIOS/firmware", apply: (p, arg) => (p.o.bios = arg!) },
  { names: ["nographic"], help: "no graphics; serial and monitor muxed on stdio (Ctrl-A h for help)", apply: (p) => (p.o.nographic = true) },
  { names: ["display"], arg: "none", help: "display type (only none)", apply: (p, arg) => p.displayOpt(arg!) },
  { names: ["vga"], arg: "none", help: "video card (only none)", apply: (p, arg) => p.vgaOpt(arg!) },
  {
    names: ["serial"],
    arg: "dev",
    help: "redirect the next serial port to a chardev: stdio, null, none, file:PATH, pipe:PATH, chardev:ID, mon:stdio, tcp:[HOST]:PORT[,server=on,wait=off], unix:PATH[,server=on,wait=off]",
    apply: (p, arg, opt) => p.serialOpt(arg!, opt),
  },
  {
    names: ["chardev"],
    arg: "backend,id=ID[,...]",
    help: "a character device: stdio[,signal=on|off] | null | file,path=PATH[,append=on|off] | pipe,path=PATH | socket,path=PATH|host=HOST,port=PORT[,server=on|off][,wait=on|off][,nodelay=on|off]; all take mux=on|off, logfile=PATH, logappend=on|off",
    apply: (p, arg, opt) => p.chardevOpt(arg!, opt),
  },
  {
    names: ["mon"],
    arg: "[chardev=]ID[,mode=readline|control][,pretty=on|off]",
    help: "a monitor on a chardev (mode=control is QMP)",
    apply: (p, arg, opt) => p.monOpt(arg!, opt),
  },
  {
    names: ["qmp"],
    arg: "dev",
    help: "a QMP monitor on a chardev string, e.g. unix:PATH,server=on,wait=off or tcp:HOST:PORT,server=on,wait=off",
    apply: (p, arg, opt) => p.compatMonitorOpt(arg!, opt, "control", false),
  },
  { names: ["qmp-pretty"], arg: "dev", help: "like -qmp, with pretty-printed JSON", apply: (p, arg, opt) => p.compatMonitorOpt(arg!, opt, "control", true) },
  {
    names: ["monitor"],
    arg: "dev",
    help: "the human monitor on a chardev string (Rewind only stubs it; use QMP)",
    apply: (p, arg, opt) => p.compatMonitorOpt(arg!, opt, "readline", false),
  },
  {
    names: ["gdb"],
    arg: "dev",
    help: "GDB stub on tcp::PORT (127.0.0.1), tcp:HOST:PORT, unix:PATH, chardev:ID or none",
    apply: (p, arg, opt) => p.gdbOpt(arg!, opt),
  },
  { names: ["s"], help: "shorthand for -gdb tcp::1234 (listens on 127.0.0.1)", apply: (p, _arg, opt) => p.gdbOpt("tcp::1234", opt) },
  { names: ["S"], help: "do not start the CPU at startup (use 'c' in GDB or QMP 'cont')", apply: (p) => (p.o.startPaused = true) },
  {
    names: ["icount"],
    arg: "[shift=N|auto][,align=on|off][,sleep=on|off][,rr=record|replay,rrfile=FILE[,rrsnapshot=NAME]]",
    help:
      "count instructions: virtual time is 2^N ns per instruction; rr= records or replays the run; " +
      "sleep=on|off is accepted, but Rewind always behaves as sleep=off: a CPU idle in WFI jumps virtual time " +
      "to the next timer deadline, it never waits for the host clock",
    apply: (p, arg, opt) => p.icountOpt(arg!, opt),
  },
  { names: ["net"], arg: "none", help: "networking (only none)", apply: (p, arg) => p.netOpt(arg!) },
  { names: ["nic"], arg: "none", help: "networking (only none)", apply: (p, arg) => p.netOpt(arg!) },
  { names: ["nodefaults"], help: "create no default devices (serial, monitor)", apply: (p) => (p.o.nodefaults = true) },
  { names: ["no-reboot"], help: "exit instead of rebooting", apply: (p) => (p.o.noReboot = true) },
  { names: ["no-shutdown"], help: "stop instead of exiting when the guest shuts down", apply: (p) => (p.o.noShutdown = true) },
  { names: ["d"], arg: "item1,...", help: "record log items for diagnostics ('-d help' for the list)", apply: (p, arg) => p.logOpt(arg!) },
  { names: ["D"], arg: "logfile", help: "log file for -d", apply: (p, arg) => (p.o.log.file = arg!) },
  {
    names: ["rtc"],
    arg: "[base=utc|localtime|DATE][,clock=host|rt|vm][,driftfix=none|slew]",
    help: "RTC start (DATE is 2006-06-17T16:01:21 or 2006-06-17) and clock",
    apply: (p, arg) => p.rtcOpt(arg!),
  },
  {
    names: ["daemonize"],
    help: "",
    hidden: true,
    apply: (p) => p.fail("not supported by Rewind (run it in the background from your shell or service manager)"),
  },
  { names: ["enable-kvm"], help: "", hidden: true, apply: (p) => p.fail("KVM is not supported by Rewind (it emulates with TCG-style translation only)") },
];

// ---------------------------------------------------------------------------------------------------------------
// The parser

class Parser implements OptionContext {
  readonly o: MachineOptions;
  private option = "";
  private machineName?: { name: string; opt: string };
  private machineProps?: ParamSet;
  private memory?: ParamSet;
  private icountParams?: ParamSet;
  private icountOptText = "-icount";
  private userChardevs: { spec: ChardevSpec; opt: string }[] = [];
  private compatMonitors: { text: string; opt: string; mode: MonitorSpec["mode"]; pretty: boolean }[] = [];
  private monOptions: { params: ParamSet; opt: string }[] = [];
  private serialTexts: { text: string; opt: string }[] = [];
  private gdbText?: { text: string; opt: string };
  private defaultMonitor = true;
  /** -device, -global and -debugcon (device-options.ts). */
  private readonly devices: DeviceOptions;

  constructor(readonly target: TargetSpec) {
    this.o = {
      target: target.arch,
      program: target.program,
      machine: undefined as unknown as MachineSelection,
      cpu: target.defaultCpu,
      ramBytes: target.defaultRamMiB * 1024 * 1024,
      smp: 1,
      display: "none",
      nographic: false,
      chardevs: [],
      serials: [],
      monitors: [],
      startPaused: false,
      replay: { mode: "none" },
      drives: [],
      devices: [],
      boardGlobals: [],
      network: "none",
      accel: "tcg",
      engine: "fast",
      nodefaults: false,
      noReboot: false,
      noShutdown: false,
      log: { items: [] },
      rtc: { base: "utc", clock: "host", driftfix: "none" },
      warnings: [],
    };
    this.devices = new DeviceOptions({
      target,
      options: this.o,
      option: () => this.option,
      fail: (d) => this.fail(d),
      failAt: (o, d) => this.failAt(o, d),
      params: (arg, implied, keys, unsupported) => this.params(arg, implied, keys, unsupported),
    });
  }

  get options(): MachineOptions {
    return this.o;
  }

  fail(detail: string): never {
    throw new OptionError(this.target.program, this.option, detail);
  }

  failAt(option: string, detail: string): never {
    throw new OptionError(this.target.program, option, detail);
  }

  warn(text: string): void {
    this.o.warnings.push(this.option ? `${this.option}: warning: ${text}` : `warning: ${text}`);
  }

  private ctxFor(option: string): ChardevParseContext {
    return { fail: (d) => this.failAt(option, d), warn: (t) => this.warn(t) };
  }

  private params(arg: string, implied: string | undefined, keys: readonly string[], unsupported: readonly string[] = []): ParamSet {
    return new ParamSet((d) => this.fail(d), splitParams(arg, implied), keys, (t) => this.warn(t), unsupported);
  }

  run(argv: readonly string[]): ParseOutcome {
    const table = new Map<string, Opt>();
    const extra: Opt[] = this.target.extraOptions.map((d) => ({
      names: d.names,
      arg: d.arg,
      help: d.help,
      apply: (_p: Parser, arg: string | undefined) => d.apply(this, arg),
    }));
    for (const opt of [...COMMON_OPTIONS, ...extra]) for (const n of opt.names) table.set(n, opt);

    for (let i = 0; i < argv.length; i++) {
      const word = argv[i]!;
      if (!word.startsWith("-") || word === "-") {
        this.option = word;
        this.positionalDrive(word);
        continue;
      }
      const name = word.startsWith("--") ? word.slice(2) : word.slice(1);
      this.option = word;
      const opt = table.get(name);
      if (!opt) {
        if (name in QEMU_UNSUPPORTED) this.fail(`not supported by Rewind (${this.target.program} -help lists the supported options)`);
        this.fail("invalid option");
      }
      let arg: string | undefined;
      if (opt.arg !== undefined) {
        if (i + 1 >= argv.length) this.fail("requires an argument");
        arg = argv[++i]!;
        this.option = word; // messages say "-m: ...", QEMU's own wording is "-m abc: ..."
      }
      if (opt.names[0] === "h") return { kind: "info", text: formatUsage(this.target) };
      if (opt.names[0] === "version") return { kind: "info", text: formatVersion(this.target) };
      const info = this.helpRequest(opt.names[0]!, arg);
      if (info !== undefined) return { kind: "info", text: info };
      opt.apply(this, arg, word);
    }
    this.option = "";
    this.finish();
    return { kind: "run", options: this.o };
  }

  /** `-M help`, `-M virt,help`, `-cpu help`, `-chardev help`, `-d help`, ...: the text to print, or undefined. */
  private helpRequest(name: string, arg: string | undefined): string | undefined {
    if (arg === undefined) return undefined;
    const parts = arg.split(",");
    switch (name) {
      case "machine": {
        if (isHelpValue(parts[0])) {
          const lines = this.target.machines.map(
            (m) => `${m.name.padEnd(20)} ${m.description}${m.name === this.target.defaultMachine ? " (default)" : ""}`,
          );
          return `Supported machines are:\n${lines.join("\n")}\n`;
        }
        if (!parts.slice(1).some(isHelpValue)) return undefined;
        const m = this.findMachine(parts[0]!.replace(/^type=/, "")) ??
          this.fail(`unsupported machine type '${parts[0]}' (supported: ${this.machineNames()})`);
        return `${m.name} machine options:\n${m.props.map((p) => `  ${p.name.padEnd(20)} - ${p.help}`).join("\n")}\n`;
      }
      case "cpu":
        return isHelpValue(parts[0]) ? `Available CPUs:\n${this.target.cpus.map((c) => `  ${c}`).join("\n")}\n` : undefined;
      case "chardev":
        return isHelpValue(parts[0]) ? "Available chardev backend types: \n  stdio\n  file\n  socket\n  null\n  pipe\n" : undefined;
      case "d":
        return isHelpValue(arg) ? `Log items (comma separated; Rewind records them for diagnostics):\n${LOG_ITEMS.join("\n")}\n` : undefined;
      case "display":
        return isHelpValue(parts[0]) ? "Available display backend types:\nnone\n" : undefined;
      case "vga":
        return isHelpValue(arg) ? "none                 no graphic card\n" : undefined;
      case "device": {
        if (isHelpValue(parts[0])) return `Devices:\n${this.target.devices.map((d) => `name "${d.driver}", bus ${d.bus}`).join("\n")}\n`;
        const def = this.target.devices.find((d) => d.driver === parts[0]);
        if (def && parts.slice(1).some(isHelpValue)) return `${def.driver} options:\n${def.help.map((h) => `  ${h}`).join("\n")}\n`;
        return undefined;
      }
      case "accel":
        return isHelpValue(parts[0]) ? "Accelerators supported in Rewind:\ntcg\n" : undefined;
      default:
        return undefined;
    }
  }

  private findMachine(name: string): MachineDef | undefined {
    return this.target.machines.find((m) => m.name === name || m.aliases.includes(name));
  }

  private machineNames(): string {
    return this.target.machines.map((m) => m.name).join(", ");
  }

  // --- individual options --------------------------------------------------------------------------------------

  machineOpt(arg: string): void {
    // Properties are checked against the chosen machine once every -machine has been merged (finishMachine).
    const params = splitParams(arg, "type");
    const set = this.params(arg, "type", params.map((p) => p.key));
    const type = set.str("type");
    if (type !== undefined) this.machineName = { name: type, opt: this.option };
    if (this.machineProps) this.machineProps.mergeFrom(set);
    else this.machineProps = set;
  }

  cpuOpt(arg: string): void {
    const [model, ...props] = arg.split(",");
    if (!this.target.cpus.includes(model!)) {
      this.fail(`CPU model '${model}' is not supported (supported: ${this.target.cpus.join(", ")})`);
    }
    if (props.length > 0) this.fail(`CPU properties are not supported by Rewind ('${props.join(",")}')`);
    this.o.cpu = model!;
  }

  accelOpt(arg: string): void {
    const p = this.params(arg, "accel", ["accel", "thread", "tb-size", "split-wx", "one-insn-per-tb", "engine"]);
    const accel = p.str("accel");
    if (accel !== "tcg") this.fail(`invalid accelerator ${accel ?? "(none)"} (Rewind supports tcg only)`);
    p.choice("thread", ["single", "multi"]);
    p.bool("split-wx");
    const oneInsn = p.bool("one-insn-per-tb");
    const engine = p.choice("engine", ENGINE_KINDS);
    if (oneInsn === true && engine === "fast") this.fail("one-insn-per-tb=on and engine=fast contradict each other");
    if (engine !== undefined) this.o.engine = engine;
    else if (oneInsn !== undefined) this.o.engine = oneInsn ? "interp" : "fast";
  }

  memoryOpt(arg: string): void {
    const p = this.params(arg, "size", ["size"], ["slots", "maxmem"]);
    if (this.memory) this.memory.mergeFrom(p);
    else this.memory = p;
  }

  smpOpt(arg: string): void {
    const keys = ["cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads"];
    const p = this.params(arg, "cpus", keys);
    for (const k of keys) {
      const v = p.str(k);
      if (v === undefined) continue;
      if (!/^[0-9]+$/.test(v)) this.fail(`parameter '${k}' expects an integer (got '${v}')`);
      if (Number(v) !== 1) this.fail(`only 1 CPU is supported by Rewind (${k}=${v})`);
    }
  }

  nameOpt(arg: string): void {
    const p = this.params(arg, "guest", ["guest", "process", "debug-threads"]);
    p.bool("debug-threads");
    const guest = p.str("guest");
    if (guest !== undefined) this.o.name = guest;
  }

  displayOpt(arg: string): void {
    const type = splitParams(arg, "type")[0]?.value ?? "";
    const known = ["gtk", "sdl", "vnc", "curses", "egl-headless", "spice-app", "dbus", "cocoa", "default"];
    if (known.includes(type)) this.fail(`display '${type}' is not supported (Rewind has no graphical display; use -display none or -nographic)`);
    if (type !== "none") this.fail(`parameter 'type' does not accept value '${type}'`);
    this.params(arg, "type", ["type"]);
  }

  vgaOpt(arg: string): void {
    if (arg === "none") return;
    const known = ["std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio", "ati", "bochs"];
    if (known.includes(arg)) this.fail(`video card '${arg}' is not supported (Rewind has no graphical display; use -vga none)`);
    this.fail(`unknown vga type: ${arg}`);
  }

  netOpt(arg: string): void {
    const type = splitParams(arg, "type")[0]?.value ?? "";
    if (type === "none") {
      this.params(arg, "type", ["type"]);
      return;
    }
    const known = ["nic", "user", "tap", "bridge", "socket", "vde", "l2tpv3", "stream", "dgram", "vhost-user", "vhost-vdpa", "hubport", "netmap", "dump"];
    if (known.includes(type) || /^(virtio-net|e1000|rtl8139)/.test(type)) this.fail(`networking is not supported by Rewind (only 'none')`);
    this.fail(`parameter 'type' does not accept value '${type}'`);
  }

  driveOpt(arg: string): void {
    const ignoredKeys = ["cache", "aio", "discard", "detect-zeroes", "werror", "rerror", "copy-on-read"];
    const p = this.params(
      arg,
      undefined,
      ["file", "if", "format", "id", "index", "media", "snapshot", "readonly", "read-only", ...ignoredKeys],
      ["bus", "unit", "node-name", "driver", "encrypt.key-secret", "serial", "addr"],
    );
    const file = p.str("file");
    if (file === undefined || file === "") this.fail("a file is required (file=PATH)");
    const allInterfaces: DriveInterface[] = ["none", "virtio", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "xen"];
    const iface = (p.str("if") ?? this.target.defaultDriveInterface) as DriveInterface;
    if (!allInterfaces.includes(iface)) this.fail(`unsupported bus type '${iface}'`);
    if (!this.target.driveInterfaces.includes(iface)) {
      this.fail(`if=${iface} is not supported on this machine (supported: ${this.target.driveInterfaces.join(", ")})`);
    }
    // QEMU's virt puts an if=virtio drive on its PCIe bus (virtio-blk-pci); this board has virtio-mmio only.
    if (iface === "virtio") this.warn("the guest does not see this drive: the board has no PCI bus for if=virtio (QEMU's virtio-blk-pci); use if=none,id=ID with -device virtio-blk-device,drive=ID");
    const format = p.str("format");
    if (format !== undefined && format !== "qcow2" && format !== "raw") {
      this.fail(`unknown driver '${format}' (Rewind supports qcow2 and raw)`);
    }
    const media = p.choice("media", ["disk", "cdrom"]) ?? "disk";
    const index = p.uint("index");
    const readOnly = p.bool("readonly") ?? p.bool("read-only") ?? media === "cdrom";
    const snapshot = p.bool("snapshot", false);
    let id = p.str("id");
    if (id !== undefined && !isQemuId(id)) this.fail(`parameter 'id' expects an identifier, got '${id}'`);
    id ??= this.generatedDriveId(iface, media, index);
    if (this.o.drives.some((d) => d.id === id)) this.fail(`duplicate ID '${id}' for drive`);
    const ignored: Record<string, string> = {};
    for (const k of ignoredKeys) if (p.has(k)) ignored[k] = p.str(k)!;
    this.o.drives.push({
      id,
      file,
      interface: iface,
      ...(format !== undefined ? { format } : {}),
      snapshot,
      readOnly,
      media,
      ...(index !== undefined ? { index } : {}),
      ignored,
    });
  }

  globalOpt(arg: string): void {
    this.devices.global(arg);
  }

  deviceOpt(arg: string, opt: string): void {
    this.devices.device(arg, opt);
  }

  debugconOpt(arg: string, opt: string): void {
    this.devices.debugcon(arg, opt);
  }

  /** QEMU's names for drives without id=: "none0", "virtio1", "ide0-hd0", "ide1-cd0". */
  private generatedDriveId(iface: DriveInterface, media: "disk" | "cdrom", index: number | undefined): string {
    const sameBus = this.o.drives.filter((d) => d.interface === iface).length;
    const unit = index ?? sameBus;
    if (iface === "ide") return `ide${Math.floor(unit / 2)}-${media === "cdrom" ? "cd" : "hd"}${unit % 2}`;
    return `${iface}${unit}`;
  }

  private positionalDrive(file: string): void {
    // QEMU: a bare argument is hda, i.e. drive index 0 on the machine's default interface.
    this.driveOpt(`file=${file.replace(/,/g, ",,")},index=0,media=disk`);
  }

  chardevOpt(arg: string, opt: string): void {
    const spec = parseChardevOption(arg, this.ctxFor(opt));
    this.userChardevs.push({ spec, opt });
  }

  serialOpt(arg: string, opt: string): void {
    this.serialTexts.push({ text: arg, opt });
    if (arg.startsWith("mon:")) this.defaultMonitor = false; // that serial port brings the monitor (QEMU)
  }

  monOpt(arg: string, opt: string): void {
    const p = this.params(arg, "chardev", ["chardev", "mode", "pretty", "default"]);
    p.choice("mode", ["readline", "control"]);
    p.bool("pretty");
    if (!p.str("chardev")) this.fail("parameter 'chardev' is missing");
    this.monOptions.push({ params: p, opt });
    this.defaultMonitor = false;
  }

  compatMonitorOpt(arg: string, opt: string, mode: MonitorSpec["mode"], pretty: boolean): void {
    this.defaultMonitor = false;
    if (arg === "none") return;
    this.compatMonitors.push({ text: arg, opt, mode, pretty });
  }

  gdbOpt(arg: string, opt: string): void {
    this.gdbText = { text: arg, opt }; // QEMU keeps the last -gdb/-s
  }

  icountOpt(arg: string, opt: string): void {
    const p = this.params(arg, "shift", ["shift", "align", "sleep", "rr", "rrfile", "rrsnapshot"]);
    this.icountOptText = opt;
    if (this.icountParams) this.icountParams.mergeFrom(p);
    else this.icountParams = p;
  }

  logOpt(arg: string): void {
    for (const item of arg.split(",")) {
      if (item === "") continue;
      if (!LOG_ITEMS.includes(item) && !item.startsWith("trace:")) this.fail(`unknown log item '${item}' ('-d help' lists them)`);
      if (!this.o.log.items.includes(item)) this.o.log.items.push(item);
    }
  }

  rtcOpt(arg: string): void {
    const p = this.params(arg, undefined, ["base", "clock", "driftfix"]);
    const base = p.str("base");
    if (base === "utc" || base === "localtime") this.o.rtc.base = base;
    else if (base !== undefined) {
      const epochMs = parseRtcDate(base);
      if (epochMs === undefined) {
        this.fail(`invalid datetime format '${base}' (valid formats: '2006-06-17T16:01:21' or '2006-06-17')`);
      }
      this.o.rtc.base = { date: base, epochMs };
    }
    const clock = p.str("clock");
    if (clock !== undefined) {
      if (clock !== "host" && clock !== "rt" && clock !== "vm") this.fail(`invalid clock '${clock}' (valid: host, rt, vm)`);
      this.o.rtc.clock = clock;
    }
    this.o.rtc.driftfix = p.choice("driftfix", ["none", "slew"]) ?? this.o.rtc.driftfix;
  }

  // --- after the last argument ---------------------------------------------------------------------------------

  private finish(): void {
    this.finishMachine();
    this.finishMemory();
    this.finishIcount();
    if (this.o.append !== undefined && this.o.kernel === undefined) this.failAt("-append", "only allowed with -kernel option");
    if (this.o.initrd !== undefined && this.o.kernel === undefined) this.failAt("-initrd", "only allowed with -kernel option");
    const debugcon = this.finishChardevs();
    this.devices.finish(debugcon);
  }

  private finishMachine(): void {
    const name = this.machineName?.name ?? this.target.defaultMachine;
    const def = this.findMachine(name);
    this.option = this.machineName?.opt ?? (this.machineProps ? "-machine" : "");
    if (!def) this.fail(`unsupported machine type '${name}' (supported: ${this.machineNames()}; '-machine help' lists them)`);
    const props = this.machineProps ?? new ParamSet((d) => this.fail(d), [], [], () => {});
    for (const key of props.keys()) {
      if (key === "type") continue;
      const pd = def.props.find((p) => p.name === key);
      if (!pd) this.fail(`property '${key}' not found for machine type '${def.name}' ('-machine ${def.name},help' lists them)`);
      if (pd.bool) props.bool(key);
      const problem = pd.check?.(props.str(key)!);
      if (problem) this.fail(problem);
    }
    const accel = props.str("accel");
    if (accel !== undefined && !accel.split(":").includes("tcg")) {
      this.fail(`invalid accelerator ${accel} (Rewind supports tcg only)`);
    }
    this.o.kernel ??= props.str("kernel");
    this.o.initrd ??= props.str("initrd");
    this.o.append ??= props.str("append");
    this.o.dtb ??= props.str("dtb");
    this.o.bios ??= props.str("firmware");
    for (const k of ["kernel", "initrd", "append", "dtb", "bios"] as const) if (this.o[k] === undefined) delete this.o[k];
    this.o.machine = def.build(props);
  }

  private finishMemory(): void {
    const size = this.memory?.str("size");
    if (size === undefined) return;
    const r = parseQemuSize(size, "M");
    if (!r.ok) this.failAt("-m", r.reason === "too-large" ? `size '${size}' is too large` : `invalid size '${size}'`);
    if (r.bytes === 0) this.failAt("-m", `invalid size '${size}' (RAM size must be greater than 0)`);
    this.o.ramBytes = Math.ceil(r.bytes / 8192) * 8192; // QEMU aligns RAM to 8 KiB
  }

  private finishIcount(): void {
    const p = this.icountParams;
    if (!p) return;
    const opt = this.icountOptText;
    this.option = opt;
    const fail = (d: string): never => this.fail(d);
    const shiftText = p.str("shift");
    const sleep = p.bool("sleep", true);
    const align = p.bool("align", false);
    if (shiftText === undefined) {
      if (p.has("align")) fail("Please specify shift option when using align");
    } else {
      if (align && !sleep) fail("align=on and sleep=off are incompatible");
      let shift: number | "auto";
      if (shiftText === "auto") {
        if (align) fail("shift=auto and align=on are incompatible");
        if (!sleep) fail("shift=auto and sleep=off are incompatible");
        shift = "auto";
      } else {
        const n = /^(?:[0-9]+|0[xX][0-9a-fA-F]+)$/.test(shiftText) ? Number(shiftText) : NaN;
        if (!(n >= 0 && n <= 10)) fail(`invalid shift value '${shiftText}' (0 to 10, or auto)`);
        shift = n;
      }
      this.o.icount = { shift, align, sleep };
    }
    const rr = p.str("rr");
    if (rr === undefined || rr === "off") {
      if (p.has("rrfile") || p.has("rrsnapshot")) this.o.warnings.push(`${opt}: warning: rrfile/rrsnapshot have no effect without rr=record or rr=replay`);
      return;
    }
    if (rr !== "record" && rr !== "replay") fail(`invalid icount rr option: ${rr} (valid: record, replay, off)`);
    const file = p.str("rrfile");
    if (!file) fail(`rr=${rr} needs a file: rrfile=FILE (QEMU: File name not specified for replay)`);
    if (!this.o.icount) fail("record/replay needs icount: give shift=N (QEMU's test uses shift=7)");
    const snapshot = p.str("rrsnapshot");
    if (snapshot === "") fail("empty rrsnapshot name");
    this.o.replay = { mode: rr as "record" | "replay", file, ...(snapshot !== undefined ? { snapshot } : {}) };
  }

  /** Builds the chardevs and returns the id of -debugcon's, if any. */
  private finishChardevs(): string | undefined {
    const chardevs: { spec: ChardevSpec; opt: string }[] = [...this.userChardevs];
    const add = (spec: ChardevSpec, opt: string) => {
      const clash = chardevs.find((c) => c.spec.id === spec.id);
      if (clash) this.failAt(opt, `duplicate ID '${spec.id}' for chardev (first defined by ${clash.opt})`);
      chardevs.push({ spec, opt });
    };
    for (let i = 0; i < this.userChardevs.length; i++) {
      const { spec, opt } = this.userChardevs[i]!;
      const first = this.userChardevs.findIndex((c) => c.spec.id === spec.id);
      if (first !== i) this.failAt(opt, `duplicate ID '${spec.id}' for chardev`);
    }
    // Who uses which chardev: a non-mux chardev takes exactly one front end.
    const users = new Map<string, string>();
    const use = (id: string, opt: string) => {
      const c = chardevs.find((x) => x.spec.id === id);
      if (!c) this.failAt(opt, `chardev '${id}' not found`);
      const prev = users.get(id);
      if (prev !== undefined && !c.spec.mux) {
        this.failAt(opt, `chardev '${id}' is already in use by ${prev} (add mux=on to share it)`);
      }
      users.set(id, opt);
    };

    // Defaults, as QEMU's qemu_create_default_devices().
    const defaultSerial = !this.o.nodefaults && this.serialTexts.length === 0;
    const defaultMonitor = !this.o.nodefaults && this.defaultMonitor;
    const serials = [...this.serialTexts];
    const compatMonitors = [...this.compatMonitors];
    if (this.o.nographic) {
      if (defaultSerial && defaultMonitor) serials.push({ text: "mon:stdio", opt: "-nographic" });
      else {
        if (defaultSerial) serials.push({ text: "stdio", opt: "-nographic" });
        if (defaultMonitor) compatMonitors.push({ text: "stdio", opt: "-nographic", mode: "readline", pretty: false });
      }
    } else if (defaultSerial) {
      // Rewind: QEMU would use a graphical "vc" console, which Rewind does not have.
      serials.push({ text: "null", opt: "-serial (default)" });
    }

    // Monitors first (QEMU creates them before the serial ports), then serial ports, then the GDB stub.
    const pendingMonitors: { chardev: string; mode: MonitorSpec["mode"]; pretty: boolean; opt: string }[] = [];
    for (const m of this.monOptions) {
      pendingMonitors.push({
        chardev: m.params.str("chardev")!,
        mode: (m.params.str("mode") as MonitorSpec["mode"] | undefined) ?? "readline",
        pretty: m.params.bool("pretty", false),
        opt: m.opt,
      });
    }
    let monitorIndex = 0;
    for (const m of compatMonitors) {
      const id = this.compatChardev(m.text, m.opt, `compat_monitor${monitorIndex++}`, true, add);
      pendingMonitors.push({ chardev: id, mode: m.mode, pretty: m.pretty, opt: m.opt });
    }
    const serialIds: { id: string; opt: string }[] = [];
    let serialIndex = 0;
    for (const s of serials) {
      if (s.text === "none") continue;
      const label = `serial${serialIndex}`;
      const id = this.compatChardev(s.text, s.opt, label, true, add, (spec) => {
        // "mon:" also puts the human monitor on that chardev, as QEMU does.
        pendingMonitors.push({ chardev: spec.id, mode: "readline", pretty: false, opt: s.opt });
      });
      serialIndex++;
      serialIds.push({ id, opt: s.opt });
    }
    let debugcon: { id: string; opt: string } | undefined;
    const debugconText = this.devices.debugconText;
    if (debugconText && debugconText.text !== "none") {
      debugcon = { id: this.compatChardev(debugconText.text, debugconText.opt, "debugcon", true, add), opt: debugconText.opt };
    }
    // -device ...,chardev=ID references (isa-debugcon) resolve like the others.
    const deviceChardevs = this.devices.chardevReferences();
    let gdb: { id: string; opt: string } | undefined;
    if (this.gdbText && this.gdbText.text !== "none") {
      const { text, opt } = this.gdbText;
      gdb = { id: this.compatChardev(text, opt, "gdb", false, add, undefined, gdbDefaults), opt };
    }

    // References resolve against every chardev, wherever it was defined on the command line.
    for (const m of pendingMonitors) use(m.chardev, m.opt);
    for (const s of serialIds) use(s.id, s.opt);
    if (gdb) use(gdb.id, gdb.opt);
    if (debugcon) use(debugcon.id, debugcon.opt);
    for (const d of deviceChardevs) use(d.id, d.opt);

    const stdio = chardevs.filter((c) => c.spec.backend === "stdio");
    if (stdio.length > 1) this.failAt(stdio[1]!.opt, "cannot use stdio by multiple character devices");

    this.o.chardevs = chardevs.map((c) => c.spec);
    this.o.serials = serialIds.map((s) => s.id);
    this.o.monitors = pendingMonitors.map(({ chardev, mode, pretty }) => ({ chardev, mode, pretty }));
    if (gdb) this.o.gdb = { chardev: gdb.id };
    return debugcon?.id;
  }

  /** Turns a legacy chardev string into a chardev (or a reference to one); returns its id. */
  private compatChardev(
    text: string,
    opt: string,
    label: string,
    permitMux: boolean,
    add: (spec: ChardevSpec, opt: string) => void,
    onMonitorMux?: (spec: ChardevSpec) => void,
    adjust?: (params: OptParam[]) => void,
  ): string {
    const ctx = this.ctxFor(opt);
    const r = parseCompatChardev(text, permitMux, ctx);
    if (r.kind === "ref") return r.id;
    adjust?.(r.params);
    const spec = buildChardev(r.params, ctx, label);
    add(spec, opt);
    if (spec.mux && text.startsWith("mon:")) onMonitorMux?.(spec);
    return spec.id;
  }
}

/**
 * The GDB stub's socket settings. tcp: as QEMU's gdbserver_start (it appends wait=off,nodelay=on,server=on,
 * overriding the user's). unix: Rewind listens by default (QEMU would connect as a client unless server=on).
 */
function gdbDefaults(params: OptParam[]): void {
  const backend = params.find((p) => p.key === "backend")?.value;
  if (backend !== "socket") return;
  const set = (key: string, value: string) => params.push({ key, value, shortForm: false });
  const given = (key: string) => params.some((p) => p.key === key);
  if (params.some((p) => p.key === "host" || p.key === "port")) {
    set("wait", "off");
    if (!given("delay") && !given("nodelay")) set("nodelay", "on");
    set("server", "on");
    return;
  }
  if (!given("server")) set("server", "on");
  const server = params.filter((p) => p.key === "server").pop()!.value;
  if (!given("wait") && ["on", "yes", "true", "y"].includes(server)) set("wait", "off");
}

/** Parses an RTC start date: "2006-06-17T16:01:21" or "2006-06-17", read as UTC (QEMU uses mktimegm). */
function parseRtcDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h = "0", mi = "0", s = "0"] = m.slice(1);
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms);
  if (back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return undefined;
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/**
 * Parses `argv` (without the program name) for `target`. Returns the options to run with, or text to print
 * for -h/-version/`help` values. Throws only OptionError.
 */
export function parseQemuArgs(argv: readonly string[], target: TargetSpec = AARCH64_TARGET): ParseOutcome {
  return new Parser(target).run(argv);
}

/** -h / -help / --help text: every supported option, QEMU's layout. */
export function formatUsage(target: TargetSpec = AARCH64_TARGET): string {
  const lines = [
    `usage: ${target.program} [options] [disk_image]`,
    "",
    `Rewind: a deterministic ${target.arch} system emulator with record/replay and reverse debugging,`,
    `accepting QEMU ${QEMU_COMPAT_VERSION}'s options (the subset below). Network listeners (-s, -gdb tcp::PORT,`,
    "tcp::PORT chardevs) bind to 127.0.0.1 unless a host is given.",
    "",
    "'disk_image' is a drive image on the machine's default interface",
    "",
  ];
  const extra: Opt[] = target.extraOptions.map((d) => ({ ...d, apply: () => {} }));
  for (const opt of [...COMMON_OPTIONS, ...extra]) {
    if (opt.hidden) continue;
    const names = opt.names[0] === "h" ? "-h or -help" : opt.names.map((n) => `-${n}`).join(" or ");
    const head = opt.arg ? `${names} ${opt.arg}` : names;
    const help = wrap(opt.help, 100 - 16).join(`\n${" ".repeat(16)}`);
    lines.push(head.length < 16 ? `${head.padEnd(16)}${help}` : `${head}\n${" ".repeat(16)}${help}`);
  }
  lines.push(
    "",
    "During emulation with -nographic (or a mux=on stdio chardev), these keys work:",
    "C-a h    print this help",
    "C-a x    exit emulator",
    "C-a s    save disk data back to file (if -snapshot)",
    "C-a t    toggle console timestamps",
    "C-a b    send break (magic sysrq)",
    "C-a c    switch between console and monitor",
    "C-a C-a  sends C-a",
    "",
  );
  return lines.join("\n");
}

/** Splits text into lines of at most `width` characters at spaces (a longer word keeps its own line). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/**
 * -version text. The first line keeps QEMU's "QEMU emulator version X.Y.Z" shape because tools (libvirt,
 * avocado) parse it; the parenthesis says what is really running.
 */
export function formatVersion(target: TargetSpec = AARCH64_TARGET): string {
  return (
    `QEMU emulator version ${QEMU_COMPAT_VERSION} (Rewind ${REWIND_VERSION}, ${target.program})\n` +
    "Rewind is not QEMU: it accepts a subset of QEMU's command line for record/replay and reverse debugging.\n"
  );
}

/**
 * The drives that may hold the rrsnapshot internal snapshot: writable, not throw-away (snapshot=off), and not
 * declared raw. QEMU requires a qcow2 one; the caller probes the format (undefined here) before checking.
 */
export function snapshotCapableDrives(options: MachineOptions): DriveSpec[] {
  return options.drives.filter((d) => !d.readOnly && !d.snapshot && d.format !== "raw");
}

/** The chardev with `id`, or undefined. */
export function findChardev(options: MachineOptions, id: string): ChardevSpec | undefined {
  return options.chardevs.find((c) => c.id === id);
}

/** Every listening socket the options ask for, described for a start-up message ("tcp:127.0.0.1:1234,server=on"). */
export function describeListeners(options: MachineOptions): string[] {
  return options.chardevs.filter((c) => c.backend === "socket" && c.server).map(describeChardev);
}

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AARCH64_TARGET,
  describeListeners,
  findChardev,
  formatUsage,
  formatVersion,
  OptionError,
  parseQemuArgs,
  snapshotCapableDrives,
  type MachineOptions,
} from "../../src/cli/qemu-options.js";
import { parseBool, splitParams } from "../../src/cli/option-syntax.js";
import { parseQemuSize } from "../../src/cli/sizes.js";
import type { SocketChardevSpec } from "../../src/chardev/spec.js";

const PROG = "rewind-system-aarch64";

function parse(cmdline: string | string[]): MachineOptions {
  const argv = typeof cmdline === "string" ? cmdline.split(" ").filter((w) => w !== "") : cmdline;
  const r = parseQemuArgs(argv);
  assert.equal(r.kind, "run", "expected options, got help text");
  return (r as { kind: "run"; options: MachineOptions }).options;
}

function info(cmdline: string): string {
  const r = parseQemuArgs(cmdline.split(" "));
  assert.equal(r.kind, "info");
  return (r as { kind: "info"; text: string }).text;
}

/** Asserts that parsing fails with an OptionError whose message is exactly `${PROG}: ${expected}` or matches. */
function rejects(cmdline: string | string[], expected: string | RegExp): OptionError {
  const argv = typeof cmdline === "string" ? cmdline.split(" ").filter((w) => w !== "") : cmdline;
  let caught: unknown;
  try {
    parseQemuArgs(argv);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof OptionError, `expected an OptionError for ${argv.join(" ")}, got ${String(caught)}`);
  if (typeof expected === "string") assert.equal(caught.message, `${PROG}: ${expected}`);
  else assert.match(caught.message, expected);
  assert.ok(caught.message.startsWith(`${PROG}: `));
  return caught;
}

function socket(o: MachineOptions, id: string): SocketChardevSpec {
  const c = findChardev(o, id);
  assert.ok(c && c.backend === "socket", `chardev ${id} should be a socket`);
  return c as SocketChardevSpec;
}

describe("sub-option syntax", () => {
  test("key=value pairs, implied first key and ,, escapes", () => {
    assert.deepEqual(splitParams("socket,id=x,path=/tmp/a,,b", "backend"), [
      { key: "backend", value: "socket", shortForm: false },
      { key: "id", value: "x", shortForm: false },
      { key: "path", value: "/tmp/a,b", shortForm: false },
    ]);
    assert.deepEqual(splitParams("a,,b,c=d", "first"), [
      { key: "first", value: "a,b", shortForm: false },
      { key: "c", value: "d", shortForm: false },
    ]);
    // with '=' in the first element there is no implied key
    assert.deepEqual(splitParams("shift=7", "shift"), [{ key: "shift", value: "7", shortForm: false }]);
    // values may contain '='
    assert.deepEqual(splitParams("x=a=b"), [{ key: "x", value: "a=b", shortForm: false }]);
    assert.deepEqual(splitParams(""), []);
    assert.deepEqual(splitParams("a=1,"), [{ key: "a", value: "1", shortForm: false }]);
  });

  test("short-form booleans: flag means on, noflag means off", () => {
    assert.deepEqual(splitParams("x,server,nowait", "backend"), [
      { key: "backend", value: "x", shortForm: false },
      { key: "server", value: "on", shortForm: true, written: "server" },
      { key: "wait", value: "off", shortForm: true, written: "nowait" },
    ]);
  });

  test("QEMU's boolean spellings", () => {
    for (const t of ["on", "yes", "true", "y"]) assert.equal(parseBool(t), true);
    for (const f of ["off", "no", "false", "n"]) assert.equal(parseBool(f), false);
    assert.equal(parseBool("maybe"), undefined);
    assert.equal(parseBool("ON"), undefined);
  });
});

describe("sizes", () => {
  const MiB = 1024 * 1024;
  test("suffixes, default unit, fractions, hex", () => {
    assert.deepEqual(parseQemuSize("128M", "M"), { ok: true, bytes: 128 * MiB });
    assert.deepEqual(parseQemuSize("1G", "M"), { ok: true, bytes: 1024 * MiB });
    assert.deepEqual(parseQemuSize("1g", "M"), { ok: true, bytes: 1024 * MiB });
    assert.deepEqual(parseQemuSize("512", "M"), { ok: true, bytes: 512 * MiB });
    assert.deepEqual(parseQemuSize("512"), { ok: true, bytes: 512 });
    assert.deepEqual(parseQemuSize("4096b", "M"), { ok: true, bytes: 4096 });
    assert.deepEqual(parseQemuSize("128K", "M"), { ok: true, bytes: 128 * 1024 });
    assert.deepEqual(parseQemuSize("1.5G", "M"), { ok: true, bytes: 1536 * MiB });
    assert.deepEqual(parseQemuSize("0.5k"), { ok: true, bytes: 512 });
    assert.deepEqual(parseQemuSize("1.0005k"), { ok: true, bytes: 1025 }); // 1024.512 rounds to nearest
    assert.deepEqual(parseQemuSize("1.", "M"), { ok: true, bytes: MiB });
    assert.deepEqual(parseQemuSize("0x100", "M"), { ok: true, bytes: 256 * MiB });
    assert.deepEqual(parseQemuSize("0x10"), { ok: true, bytes: 16 });
    assert.deepEqual(parseQemuSize("1T", "M"), { ok: true, bytes: 2 ** 40 });
  });

  test("invalid and too large", () => {
    for (const bad of ["abc", "", "-1", "1X", "1.5B", "1.5b", "0x1.5", "1e3", " 1", "1 M", "1MB"]) {
      assert.deepEqual(parseQemuSize(bad, "M"), { ok: false, reason: "invalid" }, bad);
    }
    assert.deepEqual(parseQemuSize("1.5"), { ok: false, reason: "invalid" }); // fraction of a byte
    assert.deepEqual(parseQemuSize("1E"), { ok: false, reason: "too-large" });
    assert.deepEqual(parseQemuSize("16E"), { ok: false, reason: "invalid" }); // not below 2^64
  });
});

describe("the seed test's command lines", () => {
  const common =
    "-machine virt -cpu cortex-a53 -display none -vga none -chardev file,id=ser0,path=serial.log -serial chardev:ser0 " +
    "-qmp unix:qmp.sock,server=on,wait=off -net none -drive file=disk.qcow2,if=none -kernel vmlinuz -append console=ttyAMA0";

  test("record", () => {
    const o = parse(`${common} -icount shift=7,rr=record,rrfile=replay.bin,rrsnapshot=init`);
    assert.equal(o.machine.type, "virt");
    assert.equal(o.cpu, "cortex-a53");
    assert.equal(o.ramBytes, 128 * 1024 * 1024);
    assert.equal(o.kernel, "vmlinuz");
    assert.equal(o.append, "console=ttyAMA0");
    assert.deepEqual(o.serials, ["ser0"]);
    assert.deepEqual(findChardev(o, "ser0"), { backend: "file", id: "ser0", mux: false, logappend: false, path: "serial.log", append: false });
    assert.deepEqual(o.monitors, [{ chardev: "compat_monitor0", mode: "control", pretty: false }]);
    const qmp = socket(o, "compat_monitor0");
    assert.deepEqual(qmp.address, { type: "unix", path: "qmp.sock" });
    assert.equal(qmp.server, true);
    assert.equal(qmp.wait, false);
    assert.deepEqual(o.icount, { shift: 7, align: false, sleep: true });
    assert.deepEqual(o.replay, { mode: "record", file: "replay.bin", snapshot: "init" });
    assert.equal(o.drives.length, 1);
    assert.equal(o.drives[0]!.interface, "none");
    assert.equal(o.drives[0]!.id, "none0");
    assert.equal(o.gdb, undefined);
    assert.equal(o.startPaused, false);
    assert.deepEqual(o.warnings, []);
    assert.deepEqual(snapshotCapableDrives(o).map((d) => d.file), ["disk.qcow2"]);
  });

  test("replay with -s -S and with an explicit gdb host", () => {
    const o = parse(`${common} -icount shift=7,rr=replay,rrfile=replay.bin,rrsnapshot=init -s -S`);
    assert.equal(o.replay.mode, "replay");
    assert.equal(o.startPaused, true);
    assert.deepEqual(o.gdb, { chardev: "gdb" });
    const gdb = socket(o, "gdb");
    assert.deepEqual(gdb.address, { type: "inet", host: "127.0.0.1", port: 1234 });
    assert.equal(gdb.server, true);
    assert.equal(gdb.wait, false);
    assert.equal(gdb.nodelay, true);
    const explicit = parse(`${common} -icount shift=7,rr=replay,rrfile=replay.bin -gdb tcp:127.0.0.1:1234 -S`);
    assert.deepEqual(socket(explicit, "gdb").address, { type: "inet", host: "127.0.0.1", port: 1234 });
  });
});

describe("option spelling", () => {
  test("unknown options name themselves, with one or two dashes", () => {
    rejects("-foo", "-foo: invalid option");
    rejects("--foo", "--foo: invalid option");
    rejects("-object memory-backend-ram,id=m", /^rewind-system-aarch64: -object: not supported by Rewind/);
    rejects("-snapshot", /-snapshot: not supported by Rewind/);
  });

  test("double dashes work like single ones", () => {
    const o = parse("--m 1G --nographic --machine virt");
    assert.equal(o.ramBytes, 2 ** 30);
    assert.equal(o.nographic, true);
  });

  test("a missing argument is reported", () => {
    rejects("-m", "-m: requires an argument");
    rejects("-kernel", "-kernel: requires an argument");
    rejects("-M virt -chardev", "-chardev: requires an argument");
  });

  test("help and version", () => {
    for (const h of ["-h", "-help", "--help"]) {
      const text = info(h);
      assert.match(text, /^usage: rewind-system-aarch64 \[options\]/);
      for (const opt of ["-machine", "-cpu", "-m ", "-smp", "-kernel", "-initrd", "-append", "-dtb", "-bios", "-nographic",
        "-display", "-vga", "-serial", "-chardev", "-mon", "-qmp", "-monitor", "-gdb", "-s ", "-S ", "-icount", "-drive",
        "-net", "-nic", "-nodefaults", "-no-reboot", "-no-shutdown", "-d ", "-D ", "-rtc", "-name", "-version"]) {
        assert.ok(text.includes(`\n${opt}`), `help lists ${opt}`);
      }
      assert.ok(!text.includes("-daemonize"));
    }
    assert.equal(formatUsage(AARCH64_TARGET), info("-h"));
    const v = info("-version");
    assert.match(v, /^QEMU emulator version 7\.2\.0 \(Rewind \d+\.\d+\.\d+, rewind-system-aarch64\)\n/);
    assert.equal(v, formatVersion());
    // help stops parsing where it appears, as in QEMU
    assert.equal(parseQemuArgs(["-h", "-foo"]).kind, "info");
  });

  test("'help' values list what is supported", () => {
    assert.match(info("-M help"), /virt +QEMU 7\.2 ARM Virtual Machine \(default\)/);
    assert.match(info("-machine virt,help"), /gic-version/);
    assert.match(info("-cpu help"), /cortex-a53/);
    assert.match(info("-chardev help"), /socket/);
    assert.match(info("-d help"), /in_asm/);
  });

  test("a bare argument is a disk image on the default interface", () => {
    const o = parse(["disk,1.img"]);
    assert.deepEqual(o.drives.map((d) => [d.file, d.interface, d.index, d.id]), [["disk,1.img", "virtio", 0, "virtio0"]]);
  });
});

describe("-machine", () => {
  test("virt and its properties", () => {
    const o = parse("-machine virt,gic-version=2,virtualization=off,secure=off,dumpdtb=out.dtb,highmem=off,dtb-randomness=off");
    assert.equal(o.machine.type, "virt");
    assert.equal(o.machine.gicVersion, 2);
    assert.equal(o.machine.virtualization, false);
    assert.equal(o.machine.secure, false);
    assert.equal(o.machine.dumpdtb, "out.dtb");
    assert.equal(o.machine.highmem, false);
    assert.equal(o.machine.dtbRandomness, false);
    assert.deepEqual(o.machine.props, {
      "gic-version": "2", virtualization: "off", secure: "off", dumpdtb: "out.dtb", highmem: "off", "dtb-randomness": "off",
    });
  });

  test("defaults, aliases, type= and merging of repeated -machine", () => {
    const d = parse("");
    assert.equal(d.machine.type, "virt");
    assert.equal(d.machine.dtbRandomness, true);
    assert.equal(d.machine.dumpdtb, undefined);
    assert.equal(parse("-M virt-7.2").machine.type, "virt");
    assert.equal(parse("-M type=virt").machine.type, "virt");
    const merged = parse("-M virt -M dumpdtb=a.dtb -M virt,accel=tcg");
    assert.equal(merged.machine.type === "virt" && merged.machine.dumpdtb, "a.dtb");
    assert.equal(parse("-M virt,accel=kvm:tcg").accel, "tcg");
  });

  test("kernel, initrd, append, dtb and firmware as machine properties", () => {
    const o = parse("-M virt,kernel=Image,initrd=rd.img,append=console=ttyAMA0,dtb=x.dtb,firmware=fw.bin");
    assert.equal(o.kernel, "Image");
    assert.equal(o.initrd, "rd.img");
    assert.equal(o.append, "console=ttyAMA0");
    assert.equal(o.dtb, "x.dtb");
    assert.equal(o.bios, "fw.bin");
  });

  test("unsupported machines and values are rejected clearly", () => {
    rejects("-M pc", "-M: unsupported machine type 'pc' (supported: virt; '-machine help' lists them)");
    rejects("-machine virt-6.0", /-machine: unsupported machine type 'virt-6.0'/);
    rejects("-M virt,gic-version=3", "-M: gic-version=3 is not supported by Rewind (supported: 2)");
    rejects("-M virt,gic-version=9", /-M: invalid gic-version value '9'/);
    rejects("-M virt,virtualization=on", "-M: virtualization=on (EL2) is not supported by Rewind");
    rejects("-M virt,secure=on", "-M: secure=on (EL3/TrustZone) is not supported by Rewind");
    rejects("-M virt,secure=maybe", "-M: parameter 'secure' expects 'on' or 'off' (got 'maybe')");
    rejects("-M virt,foo=bar", "-M: property 'foo' not found for machine type 'virt' ('-machine virt,help' lists them)");
    rejects("-M virt,accel=kvm", "-M: invalid accelerator kvm (Rewind supports tcg only)");
  });
});

describe("-cpu, -smp, -m, -accel", () => {
  test("-cpu", () => {
    assert.equal(parse("-cpu cortex-a53").cpu, "cortex-a53");
    assert.equal(parse("").cpu, "cortex-a53");
    rejects("-cpu cortex-a72", "-cpu: CPU model 'cortex-a72' is not supported (supported: cortex-a53)");
    rejects("-cpu max", "-cpu: CPU model 'max' is not supported (supported: cortex-a53)");
    rejects("-cpu cortex-a53,pmu=off", /-cpu: CPU properties are not supported/);
  });

  test("-smp", () => {
    assert.equal(parse("-smp 1").smp, 1);
    assert.equal(parse("-smp cpus=1,sockets=1,cores=1,threads=1,maxcpus=1").smp, 1);
    rejects("-smp 2", "-smp: only 1 CPU is supported by Rewind (cpus=2)");
    rejects("-smp 1,cores=2", "-smp: only 1 CPU is supported by Rewind (cores=2)");
    rejects("-smp x", "-smp: parameter 'cpus' expects an integer (got 'x')");
    rejects("-smp 1,foo=1", "-smp: invalid parameter 'foo'");
  });

  test("-m forms", () => {
    const MiB = 1024 * 1024;
    assert.equal(parse("-m 128M").ramBytes, 128 * MiB);
    assert.equal(parse("-m 1G").ramBytes, 1024 * MiB);
    assert.equal(parse("-m 512").ramBytes, 512 * MiB);
    assert.equal(parse("-m size=128M").ramBytes, 128 * MiB);
    assert.equal(parse("-m 1.5G").ramBytes, 1536 * MiB);
    assert.equal(parse("-m 1001K").ramBytes, 1032192); // rounded up to 8 KiB as QEMU does
    assert.equal(parse("-m 128M -m 256M").ramBytes, 256 * MiB);
    assert.equal(parse("").ramBytes, 128 * MiB);
  });

  test("-m errors", () => {
    rejects("-m abc", "-m: invalid size 'abc'");
    rejects("-m size=abc", "-m: invalid size 'abc'");
    rejects("-m -1", "-m: invalid size '-1'");
    rejects("-m 0", "-m: invalid size '0' (RAM size must be greater than 0)");
    rejects("-m 1E", "-m: size '1E' is too large");
    rejects("-m 128M,slots=2", "-m: parameter 'slots' is not supported by Rewind");
    rejects("-m 128M,foo=1", "-m: invalid parameter 'foo'");
  });

  test("-accel", () => {
    assert.equal(parse("-accel tcg").accel, "tcg");
    assert.equal(parse("-accel tcg,thread=single").accel, "tcg");
    rejects("-accel kvm", "-accel: invalid accelerator kvm (Rewind supports tcg only)");
    rejects("-enable-kvm", /-enable-kvm: KVM is not supported/);
  });
});

describe("boot files and display", () => {
  test("-kernel, -initrd, -append, -dtb, -bios", () => {
    const o = parse(["-kernel", "Image", "-initrd", "rd", "-append", "console=ttyAMA0 root=/dev/vda rw", "-dtb", "b.dtb", "-bios", "fw.bin"]);
    assert.equal(o.kernel, "Image");
    assert.equal(o.initrd, "rd");
    assert.equal(o.append, "console=ttyAMA0 root=/dev/vda rw");
    assert.equal(o.dtb, "b.dtb");
    assert.equal(o.bios, "fw.bin");
    const none = parse("");
    for (const k of ["kernel", "initrd", "append", "dtb", "bios"]) assert.ok(!(k in none), `${k} absent`);
    rejects("-append x", "-append: only allowed with -kernel option");
    rejects("-initrd rd", "-initrd: only allowed with -kernel option");
  });

  test("-display, -vga, -nographic", () => {
    assert.equal(parse("-display none").display, "none");
    assert.equal(parse("-vga none").display, "none");
    assert.equal(parse("-nographic").nographic, true);
    rejects("-display gtk", /-display: display 'gtk' is not supported \(Rewind has no graphical display/);
    rejects("-display foo", "-display: parameter 'type' does not accept value 'foo'");
    rejects("-display none,foo=1", "-display: invalid parameter 'foo'");
    rejects("-vga std", /-vga: video card 'std' is not supported/);
    rejects("-vga foo", "-vga: unknown vga type: foo");
  });
});

describe("serial ports, chardevs, monitors", () => {
  test("-serial forms", () => {
    const o = parse("-serial stdio -serial file:out,,x.log -serial null -serial none -serial tcp::4444,server=on,wait=off -serial unix:/tmp/s,server=on,wait=off");
    assert.deepEqual(o.serials, ["serial0", "serial1", "serial2", "serial3", "serial4"]);
    assert.deepEqual(findChardev(o, "serial0"), { backend: "stdio", id: "serial0", mux: false, logappend: false, signal: true });
    // file: is taken verbatim, as QEMU does (no comma escaping)
    assert.equal((findChardev(o, "serial1") as { path: string }).path, "out,,x.log");
    assert.equal(findChardev(o, "serial2")!.backend, "null");
    assert.deepEqual(socket(o, "serial3").address, { type: "inet", host: "127.0.0.1", port: 4444 });
    assert.deepEqual(socket(o, "serial4").address, { type: "unix", path: "/tmp/s" });
    assert.deepEqual(o.monitors, []);
  });

  test("-serial chardev:ID resolves wherever the chardev is defined", () => {
    const o = parse("-serial chardev:ser0 -chardev null,id=ser0");
    assert.deepEqual(o.serials, ["ser0"]);
    rejects("-serial chardev:ser0", "-serial: chardev 'ser0' not found");
    rejects("-serial chardev:", "-serial: 'chardev:' needs a chardev id");
  });

  test("-serial mon:stdio muxes the monitor and passes Ctrl-C to the guest", () => {
    const o = parse("-serial mon:stdio");
    assert.deepEqual(findChardev(o, "serial0"), { backend: "stdio", id: "serial0", mux: true, logappend: false, signal: false });
    assert.deepEqual(o.monitors, [{ chardev: "serial0", mode: "readline", pretty: false }]);
  });

  test("-serial errors", () => {
    rejects("-serial foo", /^rewind-system-aarch64: -serial: 'foo' is not a valid char driver$/);
    rejects("-serial pty", /-serial: character device 'pty' is not supported by Rewind/);
    rejects("-serial vc", /-serial: character device 'vc' is not supported by Rewind/);
    rejects("-serial tcp:localhost", "-serial: invalid address 'tcp:localhost' (expected tcp:[HOST]:PORT)");
    rejects("-serial tcp::99999,server=on", "-serial: invalid port '99999' (expected a number from 0 to 65535)");
  });

  test("-nographic: serial and monitor muxed on stdio, unless something else was asked", () => {
    const o = parse("-nographic");
    assert.deepEqual(o.serials, ["serial0"]);
    assert.deepEqual(o.chardevs, [{ backend: "stdio", id: "serial0", mux: true, logappend: false, signal: false }]);
    assert.deepEqual(o.monitors, [{ chardev: "serial0", mode: "readline", pretty: false }]);
    rejects("-nographic -serial stdio", "-serial: cannot use stdio by multiple character devices");
    const noMon = parse("-nographic -monitor none -serial stdio");
    assert.deepEqual(noMon.monitors, []);
    assert.equal(findChardev(noMon, "serial0")!.mux, false);
    const qmp = parse("-nographic -qmp tcp::4444,server=on,wait=off -serial stdio");
    assert.deepEqual(qmp.monitors, [{ chardev: "compat_monitor0", mode: "control", pretty: false }]);
    const ser = parse("-nographic -serial null");
    assert.deepEqual(ser.monitors, [{ chardev: "compat_monitor0", mode: "readline", pretty: false }]);
    assert.equal(findChardev(ser, "compat_monitor0")!.backend, "stdio");
    const mon = parse("-nographic -serial mon:stdio");
    assert.deepEqual(mon.monitors, [{ chardev: "serial0", mode: "readline", pretty: false }]);
    rejects("-nographic -monitor stdio", "-nographic: cannot use stdio by multiple character devices");
    rejects("-nographic -qmp stdio", "-nographic: cannot use stdio by multiple character devices");
    const nd = parse("-nographic -nodefaults");
    assert.deepEqual([nd.serials, nd.monitors, nd.chardevs], [[], [], []]);
  });

  test("without -nographic the default serial port goes nowhere (no graphical console)", () => {
    const o = parse("-display none");
    assert.deepEqual(o.chardevs, [{ backend: "null", id: "serial0", mux: false, logappend: false }]);
    assert.deepEqual(o.monitors, []);
    assert.deepEqual(parse("-nodefaults").serials, []);
  });

  test("-chardev backends", () => {
    const o = parse([
      "-chardev", "stdio,id=con,signal=off,mux=on,logfile=/tmp/con.log,logappend=on",
      "-chardev", "file,id=f,path=/tmp/a,,b.log,append=on",
      "-chardev", "null,id=n",
      "-chardev", "pipe,id=p,path=/tmp/fifo",
      "-chardev", "socket,id=u,path=/tmp/u.sock,server=on,wait=off",
      "-chardev", "socket,id=t,host=10.0.0.1,port=5555",
      "-chardev", "file,id=fi,path=out,input-path=in",
    ]);
    assert.deepEqual(o.chardevs.slice(0, 7), [
      { backend: "stdio", id: "con", mux: true, logfile: "/tmp/con.log", logappend: true, signal: false },
      { backend: "file", id: "f", mux: false, logappend: false, path: "/tmp/a,b.log", append: true },
      { backend: "null", id: "n", mux: false, logappend: false },
      { backend: "pipe", id: "p", mux: false, logappend: false, path: "/tmp/fifo" },
      { backend: "socket", id: "u", mux: false, logappend: false, address: { type: "unix", path: "/tmp/u.sock" }, server: true, wait: false, nodelay: false },
      { backend: "socket", id: "t", mux: false, logappend: false, address: { type: "inet", host: "10.0.0.1", port: 5555 }, server: false, wait: false, nodelay: false },
      { backend: "file", id: "fi", mux: false, logappend: false, path: "out", append: false, inputPath: "in" },
    ]);
  });

  test("-chardev socket: QEMU's defaults and legacy flags", () => {
    const legacy = parse("-chardev socket,id=a,path=/tmp/x,server,nowait");
    assert.equal(socket(legacy, "a").server, true);
    assert.equal(socket(legacy, "a").wait, false);
    assert.deepEqual(legacy.warnings, [
      "-chardev: warning: short-form boolean option 'server' deprecated\nPlease use server=on instead",
      "-chardev: warning: short-form boolean option 'nowait' deprecated\nPlease use wait=off instead",
    ]);
    // server=on waits for a client by default, as QEMU
    assert.equal(socket(parse("-chardev socket,id=a,path=/tmp/x,server=on"), "a").wait, true);
    assert.equal(socket(parse("-chardev socket,id=a,port=1,host=h,nodelay=on"), "a").nodelay, true);
    assert.equal(socket(parse("-chardev socket,id=a,port=1,host=h,nodelay"), "a").nodelay, true);
    assert.equal(socket(parse("-chardev socket,id=a,port=1,host=h,delay=off"), "a").nodelay, true);
    assert.equal(socket(parse("-chardev socket,id=a,port=1,host=h,telnet=off"), "a").server, false);
  });

  test("TCP without a host means 127.0.0.1; an explicit host is used as given", () => {
    assert.equal(socket(parse("-chardev socket,id=a,port=5555,server=on,wait=off"), "a").address.type, "inet");
    assert.deepEqual(socket(parse("-chardev socket,id=a,port=5555,server=on,wait=off"), "a").address, { type: "inet", host: "127.0.0.1", port: 5555 });
    assert.deepEqual(socket(parse("-chardev socket,id=a,host=,port=5555,server=on,wait=off"), "a").address, { type: "inet", host: "127.0.0.1", port: 5555 });
    assert.deepEqual(socket(parse("-chardev socket,id=a,host=0.0.0.0,port=5555,server=on"), "a").address, { type: "inet", host: "0.0.0.0", port: 5555 });
    assert.deepEqual(socket(parse("-chardev socket,id=a,host=::1,port=5555,server=on"), "a").address, { type: "inet", host: "::1", port: 5555 });
    assert.deepEqual(socket(parse("-serial tcp::4444,server=on,wait=off"), "serial0").address, { type: "inet", host: "127.0.0.1", port: 4444 });
    assert.deepEqual(socket(parse("-qmp tcp::4445,server=on,wait=off"), "compat_monitor0").address, { type: "inet", host: "127.0.0.1", port: 4445 });
    assert.deepEqual(socket(parse("-serial tcp:localhost:4444,server=on"), "serial0").address, { type: "inet", host: "localhost", port: 4444 });
  });

  test("-chardev errors name the option", () => {
    rejects("-chardev socket", "-chardev: no id specified (id=...)");
    rejects("-chardev id=x", "-chardev: missing backend (one of stdio, file, socket, null, pipe)");
    rejects("-chardev foo,id=x", "-chardev: 'foo' is not a valid char driver name (supported: stdio, file, socket, null, pipe)");
    rejects("-chardev pty,id=x", "-chardev: chardev backend 'pty' is not supported by Rewind (supported: stdio, file, socket, null, pipe)");
    rejects("-chardev null,id=1a", /-chardev: parameter 'id' expects an identifier/);
    rejects("-chardev null,id=a -chardev null,id=a", "-chardev: duplicate ID 'a' for chardev");
    rejects("-chardev null,id=serial0 -serial stdio", "-serial: duplicate ID 'serial0' for chardev (first defined by -chardev)");
    rejects("-chardev null,id=serial0", "-serial (default): duplicate ID 'serial0' for chardev (first defined by -chardev)");
    rejects("-chardev file,id=x", "-chardev: file: no filename given (path=...)");
    rejects("-chardev pipe,id=x", "-chardev: pipe: no device path given (path=...)");
    rejects("-chardev socket,id=x", "-chardev: socket: no address given: use path=PATH (unix) or host=HOST,port=PORT (TCP)");
    rejects("-chardev socket,id=x,host=localhost", "-chardev: socket: no port given (port=...)");
    rejects("-chardev socket,id=x,host=h,port=http", "-chardev: invalid port 'http' (expected a number from 0 to 65535)");
    rejects("-chardev socket,id=x,path=/a,host=h,port=1", /-chardev: socket: give either 'path' \(unix\) or 'host' \(TCP\)/);
    rejects("-chardev socket,id=x,host=h,port=1,wait=off", "-chardev: 'wait' option is incompatible with socket in client connect mode");
    rejects("-chardev socket,id=x,host=h,port=1,delay=on,nodelay=on", "-chardev: 'delay' and 'nodelay' are mutually exclusive");
    rejects("-chardev socket,id=x,host=h,port=1,server=maybe", "-chardev: parameter 'server' expects 'on' or 'off' (got 'maybe')");
    rejects("-chardev socket,id=x,host=h,port=1,telnet=on", "-chardev: parameter 'telnet=on' is not supported by Rewind");
    rejects("-chardev socket,id=x,host=h,port=1,tls-creds=t", "-chardev: parameter 'tls-creds' is not supported by Rewind");
    rejects("-chardev stdio,id=x,foo=1", "-chardev: invalid parameter 'foo'");
    rejects("-chardev stdio,id=x,mux=maybe", "-chardev: parameter 'mux' expects 'on' or 'off' (got 'maybe')");
    rejects("-chardev stdio,id=a -chardev stdio,id=b", "-chardev: cannot use stdio by multiple character devices");
    rejects("-nographic -chardev stdio,id=x", "-nographic: cannot use stdio by multiple character devices");
  });

  test("-mon", () => {
    const o = parse("-chardev socket,id=q,path=/tmp/q,server=on,wait=off -mon chardev=q,mode=control,pretty=on");
    assert.deepEqual(o.monitors, [{ chardev: "q", mode: "control", pretty: true }]);
    assert.deepEqual(parse("-chardev null,id=m -mon m").monitors, [{ chardev: "m", mode: "readline", pretty: false }]);
    rejects("-mon chardev=zz", "-mon: chardev 'zz' not found");
    rejects("-chardev null,id=m -mon chardev=m,mode=xx", "-mon: parameter 'mode' does not accept value 'xx' (valid: readline, control)");
    rejects("-mon mode=control", "-mon: parameter 'chardev' is missing");
  });

  test("a chardev serves one front end unless mux=on", () => {
    rejects("-chardev null,id=x -serial chardev:x -mon chardev=x", "-serial: chardev 'x' is already in use by -mon (add mux=on to share it)");
    rejects("-chardev null,id=x -mon chardev=x -mon chardev=x", "-mon: chardev 'x' is already in use by -mon (add mux=on to share it)");
    rejects("-chardev null,id=x -serial chardev:x -gdb chardev:x", "-gdb: chardev 'x' is already in use by -serial (add mux=on to share it)");
    const o = parse("-chardev stdio,id=x,mux=on,signal=off -serial chardev:x -mon chardev=x");
    assert.deepEqual(o.serials, ["x"]);
    assert.deepEqual(o.monitors, [{ chardev: "x", mode: "readline", pretty: false }]);
  });

  test("-qmp and -monitor", () => {
    const o = parse("-qmp unix:/tmp/q1,server=on,wait=off -qmp-pretty tcp:127.0.0.1:4444,server=on,wait=off -monitor null");
    assert.deepEqual(o.monitors, [
      { chardev: "compat_monitor0", mode: "control", pretty: false },
      { chardev: "compat_monitor1", mode: "control", pretty: true },
      { chardev: "compat_monitor2", mode: "readline", pretty: false },
    ]);
    assert.deepEqual(socket(o, "compat_monitor1").address, { type: "inet", host: "127.0.0.1", port: 4444 });
    assert.deepEqual(parse("-monitor none").monitors, []);
    assert.deepEqual(parse("-chardev null,id=q -qmp chardev:q").monitors, [{ chardev: "q", mode: "control", pretty: false }]);
    rejects("-qmp foo", "-qmp: 'foo' is not a valid char driver");
    rejects("-qmp chardev:nope", "-qmp: chardev 'nope' not found");
  });
});

describe("-gdb, -s, -S", () => {
  test("forms", () => {
    assert.deepEqual(socket(parse("-gdb tcp::1234"), "gdb").address, { type: "inet", host: "127.0.0.1", port: 1234 });
    assert.deepEqual(socket(parse("-gdb tcp:0.0.0.0:1234"), "gdb").address, { type: "inet", host: "0.0.0.0", port: 1234 });
    assert.deepEqual(socket(parse("-gdb tcp:[::1]:1235"), "gdb").address, { type: "inet", host: "::1", port: 1235 });
    const forced = socket(parse("-gdb tcp::1234,server=off"), "gdb");
    assert.deepEqual([forced.server, forced.wait, forced.nodelay], [true, false, true]); // QEMU appends server=on
    const unix = socket(parse("-gdb unix:/tmp/gdb.sock"), "gdb");
    assert.deepEqual([unix.address, unix.server, unix.wait], [{ type: "unix", path: "/tmp/gdb.sock" }, true, false]);
    const client = socket(parse("-gdb unix:/tmp/gdb.sock,server=off"), "gdb");
    assert.deepEqual([client.server, client.wait], [false, false]);
    assert.deepEqual(parse("-chardev socket,id=g,port=3333,server=on,wait=off -gdb chardev:g").gdb, { chardev: "g" });
    assert.equal(parse("-gdb none").gdb, undefined);
    assert.equal(parse("-s -gdb none").gdb, undefined);
    assert.equal(parse("-gdb stdio -nodefaults").chardevs[0]!.backend, "stdio");
    assert.equal(socket(parse("-gdb tcp::1 -s"), "gdb").address.type, "inet");
    assert.deepEqual(socket(parse("-s -gdb tcp::2345"), "gdb").address, { type: "inet", host: "127.0.0.1", port: 2345 });
  });

  test("-s is -gdb tcp::1234 on loopback; -S starts paused", () => {
    const o = parse("-s -S");
    assert.deepEqual(socket(o, "gdb"), {
      backend: "socket", id: "gdb", mux: false, logappend: false,
      address: { type: "inet", host: "127.0.0.1", port: 1234 }, server: true, wait: false, nodelay: true,
    });
    assert.equal(o.startPaused, true);
    assert.deepEqual(describeListeners(o), ["tcp:127.0.0.1:1234,server=on"]);
    assert.equal(parse("").startPaused, false);
  });

  test("errors", () => {
    rejects("-gdb 1234", "-gdb: '1234' is not a valid char driver");
    rejects("-gdb tcp:1234", "-gdb: invalid address 'tcp:1234' (expected tcp:[HOST]:PORT)");
    rejects("-gdb chardev:g", "-gdb: chardev 'g' not found");
    rejects("-gdb mon:stdio", "-gdb: mon: isn't supported in this context");
  });
});

describe("-icount", () => {
  test("shift forms", () => {
    assert.deepEqual(parse("-icount shift=7").icount, { shift: 7, align: false, sleep: true });
    assert.deepEqual(parse("-icount 7").icount, { shift: 7, align: false, sleep: true });
    assert.deepEqual(parse("-icount 0x3").icount, { shift: 3, align: false, sleep: true });
    assert.deepEqual(parse("-icount shift=auto").icount, { shift: "auto", align: false, sleep: true });
    assert.deepEqual(parse("-icount shift=0,sleep=off").icount, { shift: 0, align: false, sleep: false });
    assert.deepEqual(parse("-icount shift=10,align=on").icount, { shift: 10, align: true, sleep: true });
    assert.equal(parse("").icount, undefined);
    assert.deepEqual(parse("-icount sleep=off").icount, undefined); // QEMU: no shift, no icount
    assert.deepEqual(parse("-icount 3 -icount 7").icount!.shift, 7);
  });

  test("record/replay settings", () => {
    assert.deepEqual(parse("-icount shift=7,rr=record,rrfile=r.bin").replay, { mode: "record", file: "r.bin" });
    assert.deepEqual(parse("-icount shift=7,rr=replay,rrfile=r.bin,rrsnapshot=init").replay, { mode: "replay", file: "r.bin", snapshot: "init" });
    assert.deepEqual(parse("-icount shift=7,rr=off").replay, { mode: "none" });
    assert.deepEqual(parse("-icount 7 -icount rr=record,rrfile=x").replay, { mode: "record", file: "x" });
    assert.deepEqual(parse("").replay, { mode: "none" });
  });

  test("errors", () => {
    rejects("-icount shift=x", "-icount: invalid shift value 'x' (0 to 10, or auto)");
    rejects("-icount shift=11", "-icount: invalid shift value '11' (0 to 10, or auto)");
    rejects("-icount shift=-1", "-icount: invalid shift value '-1' (0 to 10, or auto)");
    rejects("-icount align=on", "-icount: Please specify shift option when using align");
    rejects("-icount shift=7,align=on,sleep=off", "-icount: align=on and sleep=off are incompatible");
    rejects("-icount shift=auto,align=on", "-icount: shift=auto and align=on are incompatible");
    rejects("-icount shift=auto,sleep=off", "-icount: shift=auto and sleep=off are incompatible");
    rejects("-icount shift=7,sleep=maybe", "-icount: parameter 'sleep' expects 'on' or 'off' (got 'maybe')");
    rejects("-icount shift=7,foo=1", "-icount: invalid parameter 'foo'");
    rejects("-icount shift=7,rr=foo,rrfile=x", "-icount: invalid icount rr option: foo (valid: record, replay, off)");
    rejects("-icount shift=7,rr=record", /^rewind-system-aarch64: -icount: rr=record needs a file: rrfile=FILE/);
    rejects("-icount rr=replay", /-icount: rr=replay needs a file/);
    rejects("-icount rr=record,rrfile=x", /^rewind-system-aarch64: -icount: record\/replay needs icount: give shift=N/);
  });
});

describe("-device", () => {
  test("virtio-blk-device takes a drive with if=none, given before or after it, in order", () => {
    const o = parse("-device virtio-blk-device,drive=b -drive file=a.img,if=none,id=a -drive file=b.img,if=none,id=b -device driver=virtio-blk-device,drive=a,id=disk1");
    assert.deepEqual(o.devices, [{ driver: "virtio-blk-device", drive: "b" }, { driver: "virtio-blk-device", drive: "a", id: "disk1" }]);
    assert.deepEqual(parse("-drive file=a.img,if=none").devices, []);
  });

  test("errors name the option in one line, as QEMU's", () => {
    rejects("-device virtio-blk-device,drive=x", "-device: Property 'virtio-blk-device.drive' can't find value 'x'");
    rejects("-drive file=a,if=none,id=d -device virtio-blk-device,drive=d -device virtio-blk-device,drive=d",
      "-device: Property 'virtio-blk-device.drive' can't take value 'd', it's in use");
    rejects("-device virtio-blk-device", "-device: virtio-blk-device: drive property not set");
    rejects("-device e1000,netdev=n", /^rewind-system-aarch64: -device: 'e1000' is not a device Rewind emulates \(supported: virtio-blk-device/);
    rejects("-drive file=a,id=d -device virtio-blk-device,drive=d", "-device: drive 'd' has if=virtio: a drive for -device needs if=none");
    rejects("-drive file=a,if=none,id=d -device virtio-blk-device,drive=d,frob=1", /-device: .*frob/);
  });

  test("-global virtio-mmio.force-legacy=off selects virtio-mmio version 2; nothing else is taken", () => {
    assert.equal(parse("-global virtio-mmio.force-legacy=off").virtioModern, true);
    assert.equal(parse("-global driver=virtio-mmio,property=force-legacy,value=on").virtioModern, false);
    assert.equal(parse("-m 128").virtioModern, undefined);
    rejects("-global e1000.mac=x", /-global: e1000.mac is not supported by Rewind/);
    rejects("-global virtio-mmio.force-legacy=maybe", /-global: Parameter 'force-legacy' expects 'on' or 'off'/);
  });

  test("help lists the one device", () => {
    const r = parseQemuArgs(["-device", "help"]);
    assert.equal(r.kind, "info");
    assert.match((r as { text: string }).text, /virtio-blk-device/);
  });
});

describe("-drive", () => {
  test("keys and defaults", () => {
    const o = parse("-drive file=d.qcow2,if=none,format=qcow2,id=d0,snapshot=on,readonly=on,cache=none -drive file=r.img,format=raw -drive file=x.img,if=none");
    assert.deepEqual(o.drives, [
      { id: "d0", file: "d.qcow2", interface: "none", format: "qcow2", snapshot: true, readOnly: true, media: "disk", ignored: { cache: "none" } },
      { id: "virtio0", file: "r.img", interface: "virtio", format: "raw", snapshot: false, readOnly: false, media: "disk", ignored: {} },
      { id: "none1", file: "x.img", interface: "none", snapshot: false, readOnly: false, media: "disk", ignored: {} },
    ]);
    assert.deepEqual(snapshotCapableDrives(o).map((d) => d.id), ["none1"]);
    assert.equal(parse("-drive file=a,,b.img,if=none").drives[0]!.file, "a,b.img");
    assert.equal(parse("-drive file=c.iso,if=none,media=cdrom").drives[0]!.readOnly, true);
  });

  test("errors", () => {
    rejects("-drive if=none", "-drive: a file is required (file=PATH)");
    rejects("-drive file=x,if=xx", "-drive: unsupported bus type 'xx'");
    rejects("-drive file=x,if=ide", "-drive: if=ide is not supported on this machine (supported: none, virtio)");
    rejects("-drive file=x,format=vmdk", "-drive: unknown driver 'vmdk' (Rewind supports qcow2 and raw)");
    rejects("-drive file=x,readonly=maybe", "-drive: parameter 'readonly' expects 'on' or 'off' (got 'maybe')");
    rejects("-drive file=x,id=a -drive file=y,id=a", "-drive: duplicate ID 'a' for drive");
    rejects("-drive file=x,foo=1", "-drive: invalid parameter 'foo'");
    rejects("-drive file=x,bus=0", "-drive: parameter 'bus' is not supported by Rewind");
  });
});

describe("the remaining options", () => {
  test("-net / -nic none", () => {
    assert.equal(parse("-net none -nic none").network, "none");
    rejects("-net user", "-net: networking is not supported by Rewind (only 'none')");
    rejects("-nic user,model=virtio", "-nic: networking is not supported by Rewind (only 'none')");
    rejects("-net foo", "-net: parameter 'type' does not accept value 'foo'");
  });

  test("flags", () => {
    const o = parse("-nodefaults -no-reboot -no-shutdown -S");
    assert.deepEqual([o.nodefaults, o.noReboot, o.noShutdown, o.startPaused], [true, true, true, true]);
    const d = parse("");
    assert.deepEqual([d.nodefaults, d.noReboot, d.noShutdown], [false, false, false]);
  });

  test("-d and -D are recorded", () => {
    const o = parse("-d in_asm,int,guest_errors,trace:pl011* -D /tmp/rewind.log");
    assert.deepEqual(o.log, { items: ["in_asm", "int", "guest_errors", "trace:pl011*"], file: "/tmp/rewind.log" });
    rejects("-d foo", "-d: unknown log item 'foo' ('-d help' lists them)");
  });

  test("-rtc", () => {
    assert.deepEqual(parse("").rtc, { base: "utc", clock: "host", driftfix: "none" });
    assert.deepEqual(parse("-rtc base=localtime,clock=vm,driftfix=slew").rtc, { base: "localtime", clock: "vm", driftfix: "slew" });
    assert.deepEqual(parse("-rtc base=2006-06-17T16:01:21").rtc.base, { date: "2006-06-17T16:01:21", epochMs: Date.UTC(2006, 5, 17, 16, 1, 21) });
    assert.deepEqual(parse("-rtc base=2006-06-17").rtc.base, { date: "2006-06-17", epochMs: Date.UTC(2006, 5, 17) });
    rejects("-rtc base=xx", "-rtc: invalid datetime format 'xx' (valid formats: '2006-06-17T16:01:21' or '2006-06-17')");
    rejects("-rtc base=2006-02-30", /-rtc: invalid datetime format '2006-02-30'/);
    rejects("-rtc clock=xx", "-rtc: invalid clock 'xx' (valid: host, rt, vm)");
    rejects("-rtc foo=1", "-rtc: invalid parameter 'foo'");
  });

  test("-name", () => {
    assert.equal(parse("-name guest1").name, "guest1");
    assert.equal(parse("-name guest=g,debug-threads=on").name, "g");
    assert.equal(parse("-name a,,b").name, "a,b");
    rejects("-name a,b", "-name: invalid parameter 'b'");
  });

  test("-daemonize is refused", () => {
    rejects("-daemonize", /^rewind-system-aarch64: -daemonize: not supported by Rewind/);
  });

  test("random command lines fail only with OptionErrors", () => {
    const options = ["-M", "-machine", "-cpu", "-m", "-smp", "-kernel", "-append", "-serial", "-chardev", "-mon", "-qmp",
      "-monitor", "-gdb", "-s", "-S", "-icount", "-drive", "-net", "-nic", "-d", "-rtc", "-name", "-nographic", "-display",
      "-vga", "-accel", "-nodefaults", "--m", "-x", "disk"];
    const values = ["", ",", ",,", "=", "virt", "help", "none", "stdio", "mon:stdio", "null", "chardev:a", "tcp::1", "tcp:[::1]:2",
      "unix:/s,server=on", "socket,id=a,port=1", "stdio,id=a,mux=on", "file,id=b,path=x", "shift=7,rr=record,rrfile=f",
      "7", "auto", "1G", "0x10", "chardev=a", "file=d,if=none", "base=2006-06-17", "a,b", "id=a", "rr=replay", "server,nowait",
      "foo=bar", "-", "1.5"];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let round = 0; round < 3000; round++) {
      const argv: string[] = [];
      const words = 1 + rand(8);
      for (let i = 0; i < words; i++) argv.push(rand(2) ? options[rand(options.length)]! : values[rand(values.length)]!);
      try {
        parseQemuArgs(argv);
      } catch (e) {
        assert.ok(e instanceof OptionError, `${JSON.stringify(argv)}: ${String(e)}`);
      }
    }
  });

  test("every failure is an OptionError, never a raw error", () => {
    const nasty = [
      [","], ["-M", ","], ["-M", "=,=,"], ["-chardev", ","], ["-chardev", "=x"], ["-icount", ",,,,"], ["-m", ""],
      ["-serial", ""], ["-gdb", ""], ["-qmp", ""], ["-drive", "file="], ["-rtc", "base="], ["-mon", ""], ["-smp", ""],
      ["-chardev", "socket,id=x,path="], ["-serial", "unix:"], ["-serial", "tcp:"], ["-serial", "mon:"],
    ];
    for (const argv of nasty) {
      try {
        parseQemuArgs(argv);
      } catch (e) {
        assert.ok(e instanceof OptionError, `${argv.join(" ")}: ${String(e)}`);
      }
    }
  });
});

describe("execution engine", () => {
  test("-accel tcg selects the fast engine; engine=interp or one-insn-per-tb=on the interpreter", () => {
    assert.equal(parse("-accel tcg").engine, "fast");
    assert.equal(parse("-accel tcg,engine=interp").engine, "interp");
    assert.equal(parse("-accel tcg,one-insn-per-tb=on").engine, "interp");
    assert.equal(parse("-accel tcg,one-insn-per-tb=off").engine, "fast");
    rejects("-accel tcg,engine=slow", "-accel: parameter 'engine' does not accept value 'slow' (valid: fast, interp)");
    rejects("-accel tcg,engine=fast,one-insn-per-tb=on", "-accel: one-insn-per-tb=on and engine=fast contradict each other");
  });
});

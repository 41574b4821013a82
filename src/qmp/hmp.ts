/**
 * A minimal human monitor (HMP) behind QMP's `human-monitor-command`: the commands a record/replay user needs,
 * parsed and answered with QEMU 7.2's texts (command lookup, argument expressions, "extraneous characters",
 * "Try \"help ...\"", "unknown command: '...'"). Output lines end in "\r\n", as QEMU's monitor writes them.
 */

import type { CommandContext } from "./commands.js";
import { cont, queryStatus, quit, replayBreak, replayDeleteBreak, replaySeek, stop, systemReset, toQmpError, QEMU_VERSION } from "./commands.js";

interface HmpCommand {
  /** Name with aliases, as QEMU prints it: "cont|c". */
  name: string;
  params: string;
  help: string;
  /** Takes one integer expression (QEMU's "l" argument). */
  takesIcount?: boolean;
  sub?: readonly HmpCommand[];
  run?(ctx: CommandContext, out: (text: string) => void, icount: bigint | undefined): void | Promise<void>;
}

class HmpArgError {
  constructor(readonly message: string) {}
}

const INFO: readonly HmpCommand[] = [
  {
    name: "cpus",
    params: "",
    help: "show infos for each CPU",
    run: (ctx, out) => out(`* CPU #0: thread_id=${ctx.info.threadId}\n`),
  },
  { name: "kvm", params: "", help: "show KVM information", run: (_ctx, out) => out("kvm support: not compiled\n") },
  {
    name: "name",
    params: "",
    help: "show the current VM name",
    run: (ctx, out) => {
      if (ctx.info.name !== undefined) out(`${ctx.info.name}\n`);
    },
  },
  {
    name: "replay",
    params: "",
    help: "show record/replay information",
    run: (ctx, out) => {
      const r = ctx.session.replayInfo();
      if (r.mode === "none") out("Record/replay is not active\n");
      else out(`${r.mode === "record" ? "Recording" : "Replaying"} execution '${r.filename ?? ""}': instruction count = ${r.icount}\n`);
    },
  },
  {
    name: "status",
    params: "",
    help: "show the current VM status (running|paused)",
    run: (ctx, out) => {
      const s = queryStatus(ctx) as { running: boolean; status: string };
      out(`VM status: ${s.running ? "running" : "paused"}${!s.running && s.status !== "paused" ? ` (${s.status})` : ""}\n`);
    },
  },
  {
    name: "version",
    params: "",
    help: "show the version of QEMU",
    run: (ctx, out) => out(`${QEMU_VERSION.major}.${QEMU_VERSION.minor}.${QEMU_VERSION.micro}${ctx.info.packageString}\n`),
  },
];

function makeTable(closeConnections: () => void): readonly HmpCommand[] {
  return [
    { name: "cont|c", params: "", help: "resume emulation", run: (ctx) => cont(ctx) },
    { name: "help|?", params: "[cmd]", help: "show the help" },
    { name: "info", params: "[subcommand]", help: "show various information about the system state", sub: INFO },
    { name: "quit|q", params: "", help: "quit the emulator", run: (ctx) => quit(ctx, closeConnections) },
    {
      name: "replay_break",
      params: "icount",
      help: "set breakpoint at the specified instruction count",
      takesIcount: true,
      run: (ctx, _out, icount) => replayBreak(ctx, icount!),
    },
    { name: "replay_delete_break", params: "", help: "remove replay breakpoint", run: (ctx) => replayDeleteBreak(ctx) },
    {
      name: "replay_seek",
      params: "icount",
      help: "replay execution to the specified instruction count",
      takesIcount: true,
      run: (ctx, _out, icount) => replaySeek(ctx, icount!),
    },
    { name: "stop|s", params: "", help: "stop emulation", run: (ctx) => stop(ctx) },
    { name: "system_reset", params: "", help: "reset the system", run: (ctx) => systemReset(ctx) },
  ];
}

const isSpace = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);

function skipSpace(s: string, i: number): number {
  while (isSpace(s[i])) i++;
  return i;
}

function matches(cmd: HmpCommand, word: string): boolean {
  return cmd.name.split("|").includes(word);
}

function helpLine(cmd: HmpCommand, prefix: string): string {
  return `${prefix}${cmd.name} ${cmd.params} -- ${cmd.help}\n`;
}

function helpText(table: readonly HmpCommand[], words: string[], prefix = ""): string {
  if (words.length === 0) {
    return [...table]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => helpLine(c, prefix))
      .join("");
  }
  const cmd = table.find((c) => matches(c, words[0]!));
  if (!cmd) return `unknown command: '${prefix}${words[0]}'\n`;
  if (cmd.sub && words.length > 1) return helpText(cmd.sub, words.slice(1), `${prefix}${cmd.name} `);
  if (cmd.sub && prefix === "") return helpText(cmd.sub, [], `${cmd.name} `);
  return helpLine(cmd, prefix);
}

/** Runs one HMP command line; returns what the monitor would have printed. */
export async function runHmp(ctx: CommandContext, line: string, closeConnections: () => void): Promise<string> {
  let text = "";
  const out = (s: string) => (text += s);
  await dispatch(ctx, makeTable(closeConnections), line, 0, "", out);
  return text.replace(/\r?\n/g, "\r\n");
}

async function dispatch(
  ctx: CommandContext,
  table: readonly HmpCommand[],
  line: string,
  pos: number,
  prefix: string,
  out: (text: string) => void,
): Promise<void> {
  let i = skipSpace(line, pos);
  const start = i;
  while (i < line.length && line[i] !== "/" && !isSpace(line[i])) i++;
  const word = line.slice(start, i);
  if (word === "") {
    // "info" alone lists its subcommands; an empty line does nothing.
    if (prefix !== "") out(helpText(table, [], prefix));
    return;
  }
  const cmd = table.find((c) => matches(c, word));
  if (!cmd) {
    out(`unknown command: '${prefix}${word}'\n`);
    return;
  }
  if (cmd.sub) return dispatch(ctx, cmd.sub, line, i, `${prefix}${cmd.name} `, out);
  const fullName = `${prefix}${cmd.name.split("|")[0]}`;
  const tryHelp = () => out(`Try "help ${fullName}" for more information\n`);

  let icount: bigint | undefined;
  if (cmd.name === "help|?") {
    out(helpText(makeTable(() => {}), line.slice(i).split(/[ \t\n\v\f\r]+/).filter((w) => w !== "")));
    return;
  }
  if (cmd.takesIcount) {
    try {
      const e = new Expression(line, skipSpace(line, i));
      icount = e.parse();
      i = e.pos;
    } catch (err) {
      if (!(err instanceof HmpArgError)) throw err;
      out(`${err.message}\n`);
      tryHelp();
      return;
    }
  }
  if (skipSpace(line, i) < line.length) {
    out(`${cmd.name.split("|")[0]}: extraneous characters at the end of line\n`);
    tryHelp();
    return;
  }
  try {
    await cmd.run!(ctx, out, icount);
  } catch (e) {
    out(`${toQmpError(e, ctx.log).desc}\n`);
  }
}

/**
 * QEMU's monitor expressions: + - * / % & | ^ ~, parentheses, 'c' character constants, numbers as strtoull
 * reads them (0x hex, leading-0 octal), 64-bit two's-complement results. Registers ($pc) are not available.
 */
class Expression {
  constructor(
    private readonly s: string,
    public pos: number,
  ) {}

  parse(): bigint {
    return this.sum();
  }

  private get ch(): string | undefined {
    return this.s[this.pos];
  }

  /** Past the current character and any spaces after it. */
  private next(): void {
    if (this.pos < this.s.length) this.pos = skipSpace(this.s, this.pos + 1);
  }

  private sum(): bigint {
    let v = this.prod();
    for (;;) {
      const op = this.ch;
      if (op !== "+" && op !== "-") return v;
      this.next();
      const w = this.prod();
      v = BigInt.asIntN(64, op === "+" ? v + w : v - w);
    }
  }

  private prod(): bigint {
    let v = this.logic();
    for (;;) {
      const op = this.ch;
      if (op !== "*" && op !== "/" && op !== "%") return v;
      this.next();
      const w = this.logic();
      if (op === "*") v = BigInt.asIntN(64, v * w);
      else {
        if (w === 0n) throw new HmpArgError("division by zero");
        v = BigInt.asIntN(64, op === "/" ? v / w : v % w);
      }
    }
  }

  private logic(): bigint {
    let v = this.unary();
    for (;;) {
      const op = this.ch;
      if (op !== "&" && op !== "|" && op !== "^") return v;
      this.next();
      const w = this.unary();
      v = BigInt.asIntN(64, op === "&" ? v & w : op === "|" ? v | w : v ^ w);
    }
  }

  private unary(): bigint {
    const c = this.ch;
    switch (c) {
      case "+":
        this.next();
        return this.unary();
      case "-":
        this.next();
        return BigInt.asIntN(64, -this.unary());
      case "~":
        this.next();
        return BigInt.asIntN(64, ~this.unary());
      case "(": {
        this.next();
        const v = this.sum();
        if (this.ch !== ")") throw new HmpArgError("')' expected");
        this.next();
        return v;
      }
      case "'": {
        this.pos++;
        const k = this.ch;
        if (k === undefined) throw new HmpArgError("character constant expected");
        this.pos++;
        if (this.ch !== "'") throw new HmpArgError("missing terminating ' character");
        this.next();
        return BigInt(Buffer.from(k, "utf8")[0]!);
      }
      case "$":
        throw new HmpArgError("unknown register");
      case undefined:
        throw new HmpArgError("unexpected end of expression");
      default:
        return this.number();
    }
  }

  private number(): bigint {
    const rest = this.s.slice(this.pos);
    const m = /^0[xX][0-9a-fA-F]+/.exec(rest) ?? /^0[0-7]*/.exec(rest) ?? /^[1-9][0-9]*/.exec(rest);
    if (!m) throw new HmpArgError(`invalid char '${this.ch}' in expression`);
    const text = m[0];
    const value = /^0[xX]/.test(text) ? BigInt(text) : text.length > 1 && text[0] === "0" ? BigInt("0o" + text.slice(1)) : BigInt(text);
    if (value >= 1n << 64n) throw new HmpArgError("number too large");
    this.pos = skipSpace(this.s, this.pos + text.length);
    return BigInt.asIntN(64, value);
  }
}

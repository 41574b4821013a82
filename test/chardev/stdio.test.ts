import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { missingTool } from "../helpers/tools.js";

const chardevIndex = fileURLToPath(new URL("../../src/chardev/index.js", import.meta.url));
const cliIndex = fileURLToPath(new URL("../../src/cli/qemu-options.js", import.meta.url));

/**
 * A child Rewind-like process: parses `cmdline`, opens its chardevs, attaches the serial port, and answers
 * every received chunk with "[hex bytes]". It reports its terminal mode, and closes on "q".
 */
function childScript(cmdline: string[], extra = ""): string {
  return `
    import { ChardevSet } from ${JSON.stringify(chardevIndex)};
    import { parseQemuArgs } from ${JSON.stringify(cliIndex)};
    const o = parseQemuArgs(${JSON.stringify(cmdline)}).options;
    const set = await ChardevSet.open(o.chardevs, { onQuit: () => { console.log("QUIT"); process.exit(3); } });
    const serial = set.frontend(o.serials[0], "serial0");
    ${extra}
    serial.setReceiver(async (d) => {
      serial.write(new TextEncoder().encode("[" + Buffer.from(d).toString("hex") + "]"));
      if (d.includes(0x71)) {
        await set.closeAll();
        console.log("CLOSED raw=" + (process.stdin.isRaw ?? "n/a"));
      }
    });
    console.log("READY raw=" + (process.stdin.isRaw ?? "n/a"));
  `;
}

interface Run {
  type(bytes: string): void;
  waitFor(text: string | RegExp): Promise<void>;
  output(): string;
  done: Promise<number | null>;
  end(): void;
}

function run(command: string, args: string[]): Run {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
  child.stderr.on("data", (d: Buffer) => (out += d.toString("latin1")));
  const done = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    type: (bytes) => child.stdin.write(Buffer.from(bytes, "latin1")),
    output: () => out,
    end: () => child.stdin.end(),
    done,
    waitFor: async (text) => {
      for (let i = 0; i < 500; i++) {
        if (typeof text === "string" ? out.includes(text) : text.test(out)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.fail(`timed out waiting for ${String(text)}; output so far: ${JSON.stringify(out)}`);
    },
  };
}

/** Runs `node -e script` inside a pseudo-terminal (util-linux `script`), then prints the terminal's mode. */
function runInPty(script: string): Run {
  const node = `${JSON.stringify(process.execPath)} --input-type=module -e ${shellQuote(script)}`;
  return run("script", ["-q", "-e", "-c", `${node}; echo "STATUS=$?"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'`, "/dev/null"]);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe("stdio backend", () => {
  test("without a terminal: bytes pass through unchanged, Ctrl-C included", async () => {
    const r = run(process.execPath, ["--input-type=module", "-e", childScript(["-serial", "stdio", "-nodefaults"])]);
    await r.waitFor("READY raw=n/a");
    r.type("ab\x03");
    await r.waitFor("[616203]");
    r.type("q");
    await r.waitFor("CLOSED");
    r.end();
    assert.equal(await r.done, 0, "the process exits on its own once the chardev is closed");
  });

  test("on a terminal: raw mode (no echo), restored on close", { skip: missingTool("script", "stty") }, async () => {
    const r = runInPty(childScript(["-serial", "stdio", "-nodefaults"]));
    await r.waitFor("READY raw=true");
    r.type("hi\r");
    await r.waitFor("[68690d]");
    assert.ok(!r.output().includes("hi\r\n"), "the terminal did not echo or line-buffer the input");
    r.type("q");
    await r.waitFor("CLOSED raw=false");
    await r.waitFor(/STATUS=0/);
    await r.waitFor(/\bicanon\b/);
    assert.ok(!/-icanon/.test(r.output()), "terminal back in canonical mode");
    r.end();
    await r.done;
  });

  test("signal=on: Ctrl-C is a signal for Rewind, and the terminal is restored when it kills us", { skip: missingTool("script", "stty") }, async () => {
    const r = runInPty(childScript(["-chardev", "stdio,id=con", "-serial", "chardev:con", "-nodefaults"]));
    await r.waitFor("READY raw=true");
    r.type("x\x03");
    await r.waitFor(/STATUS=130/); // died of SIGINT
    assert.ok(r.output().includes("[78]"), "bytes before Ctrl-C reached the guest");
    await r.waitFor(/\bicanon\b/);
    assert.ok(!/-icanon/.test(r.output()), "terminal restored before dying of the signal");
    r.end();
    await r.done;
  });

  test("signal=on with a SIGINT handler of the application: it decides", { skip: missingTool("script", "stty") }, async () => {
    const extra = `process.on("SIGINT", async () => { console.log("APP-SIGINT"); await set.closeAll(); process.exit(0); });`;
    const r = runInPty(childScript(["-chardev", "stdio,id=con", "-serial", "chardev:con", "-nodefaults"], extra));
    await r.waitFor("READY raw=true");
    r.type("\x03");
    await r.waitFor("APP-SIGINT");
    await r.waitFor(/STATUS=0/);
    await r.waitFor(/\bicanon\b/);
    assert.ok(!/-icanon/.test(r.output()));
    r.end();
    await r.done;
  });

  test("-nographic: Ctrl-C goes to the guest, Ctrl-A x quits, the terminal is restored at exit", { skip: missingTool("script", "stty") }, async () => {
    const r = runInPty(childScript(["-nographic"]));
    await r.waitFor("READY raw=true");
    r.type("\x03");
    await r.waitFor("[03]");
    r.type("\x01x");
    await r.waitFor("QEMU: Terminated");
    await r.waitFor("QUIT");
    await r.waitFor(/STATUS=3/);
    await r.waitFor(/\bicanon\b/);
    assert.ok(!/-icanon/.test(r.output()), "restored by the exit handler");
    r.end();
    await r.done;
  });
});

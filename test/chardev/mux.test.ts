import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  InputPort,
  MuxBackend,
  muxHelpText,
  startMonitorStub,
  type CharBackend,
  type CharEvent,
  type CharEventListener,
  type CharReceiver,
} from "../../src/chardev/index.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = () => new Promise<void>((r) => setImmediate(r));

/** A backend double: `type()` is the user typing, `output` is what reached the terminal. */
class FakeTerminal implements CharBackend {
  readonly id = "con";
  output = "";
  closed = false;
  private readonly port = new InputPort();
  constructor() {
    this.port.event("opened");
  }
  type(text: string | number[]): void {
    this.port.push(typeof text === "string" ? enc(text) : new Uint8Array(text));
  }
  write(data: Uint8Array): void {
    this.output += dec(data);
  }
  setReceiver(r: CharReceiver | null, e?: CharEventListener): void {
    this.port.attach(r, e);
  }
  pauseInput(): void {
    this.port.pause();
  }
  resumeInput(): void {
    this.port.resume();
  }
  get connected(): boolean {
    return this.port.open;
  }
  describe(): string {
    return "fake";
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function listen(b: CharBackend): { data: () => string; events: CharEvent[] } {
  const chunks: string[] = [];
  const events: CharEvent[] = [];
  b.setReceiver((d) => chunks.push(dec(d)), (e) => events.push(e));
  return { data: () => chunks.join(""), events };
}

const CTRL_A = 0x01;

describe("mux (Ctrl-A escapes)", () => {
  test("input goes to the focused front end; the last attached has the focus", async () => {
    const term = new FakeTerminal();
    const mux = new MuxBackend(term, { onQuit: () => {} });
    const monitor = mux.attach("monitor");
    const serial = mux.attach("serial0");
    const m = listen(monitor);
    const s = listen(serial);
    await tick();
    term.type("ls\r");
    assert.equal(s.data(), "ls\r");
    assert.equal(m.data(), "");
    assert.ok(serial.hasFocus);
    // output from every front end reaches the terminal
    serial.write(enc("guest "));
    monitor.write(enc("(qemu) "));
    assert.equal(term.output, "guest (qemu) ");
  });

  test("Ctrl-A c switches between console and monitor", async () => {
    const term = new FakeTerminal();
    const mux = new MuxBackend(term, { onQuit: () => {} });
    const monitor = mux.attach("monitor");
    const serial = mux.attach("serial0");
    const m = listen(monitor);
    const s = listen(serial);
    await tick();
    term.type([0x61, CTRL_A, 0x63, 0x62]); // "a", C-a c, "b"
    assert.equal(s.data(), "a");
    assert.equal(m.data(), "b");
    assert.ok(monitor.hasFocus);
    await tick();
    assert.deepEqual(s.events, ["opened", "mux-in", "mux-out"]);
    assert.deepEqual(m.events, ["opened", "mux-in"]);
    term.type([CTRL_A, 0x63, 0x7a]);
    assert.equal(s.data(), "az");
  });

  test("Ctrl-A Ctrl-A sends Ctrl-A; unknown escapes are dropped; escapes may span reads", async () => {
    const term = new FakeTerminal();
    const mux = new MuxBackend(term, { onQuit: () => {} });
    const s = listen(mux.attach("serial0"));
    await tick();
    term.type([0x31, CTRL_A, CTRL_A, 0x32, CTRL_A, 0x71, 0x33]);
    assert.deepEqual([...enc(s.data())], [0x31, CTRL_A, 0x32, 0x33]);
    term.type([0x34, CTRL_A]);
    term.type([CTRL_A, 0x35]);
    assert.deepEqual([...enc(s.data())], [0x31, CTRL_A, 0x32, 0x33, 0x34, CTRL_A, 0x35]);
  });

  test("Ctrl-A h prints QEMU's help; Ctrl-A x says so and quits", async () => {
    const term = new FakeTerminal();
    let quits = 0;
    const mux = new MuxBackend(term, { onQuit: () => quits++ });
    const s = listen(mux.attach("serial0"));
    await tick();
    term.type([CTRL_A, 0x68]);
    assert.equal(term.output, muxHelpText());
    assert.ok(term.output.includes("C-a x    exit emulator\n\r"));
    assert.ok(term.output.includes("C-a C-a  sends C-a\n\r"));
    term.output = "";
    term.type([CTRL_A, 0x78]);
    assert.equal(term.output, "QEMU: Terminated\n\r");
    assert.equal(quits, 1);
    assert.equal(s.data(), "");
  });

  test("Ctrl-A b sends a break to the focused front end; Ctrl-A t timestamps output lines", async () => {
    const term = new FakeTerminal();
    let now = 5000;
    const mux = new MuxBackend(term, { onQuit: () => {}, now: () => now });
    const serial = mux.attach("serial0");
    const s = listen(serial);
    await tick();
    term.type([CTRL_A, 0x62]);
    assert.deepEqual(s.events, ["opened", "mux-in", "break"]);
    term.type([CTRL_A, 0x74]);
    serial.write(enc("one\ntw"));
    now = 5000 + 3_723_456;
    serial.write(enc("o\nthree\n"));
    assert.equal(term.output, "one\n[00:00:00.000] tw" + "o\n[01:02:03.456] three\n");
  });

  test("the monitor stub greets when it gets the keyboard and understands quit", async () => {
    const term = new FakeTerminal();
    let quits = 0;
    const mux = new MuxBackend(term, { onQuit: () => quits++ });
    startMonitorStub(mux.attach("monitor"), { onQuit: () => quits++ });
    listen(mux.attach("serial0"));
    await tick();
    assert.equal(term.output, "", "no banner while the console has the keyboard");
    term.type([CTRL_A, 0x63]);
    await tick();
    assert.match(term.output, /Rewind has no human monitor \(HMP\); use QMP/);
    assert.ok(term.output.endsWith("(qemu) "));
    term.output = "";
    term.type("info xy\x7f\x7fregs\r");
    assert.equal(term.output, "info xy\b \b\b \bregs\r\nunknown command: 'info' (this stub knows help and quit; use QMP)\r\n(qemu) ");
    term.type("quit\r");
    assert.equal(quits, 1);
  });

  test("closing the mux closes the shared backend once", async () => {
    const term = new FakeTerminal();
    const mux = new MuxBackend(term, { onQuit: () => {} });
    const a = mux.attach("a");
    const b = mux.attach("b");
    await a.close();
    assert.ok(b.hasFocus);
    assert.equal(term.closed, false);
    await mux.close();
    assert.equal(term.closed, true);
  });
});

import type { CharBackend, CharEvent } from "./backend.js";
import { MuxPort } from "./mux.js";

const PROMPT = "(qemu) ";
const BANNER =
  "Rewind has no human monitor (HMP); use QMP (-qmp) to control the machine.\r\n" +
  "This stub knows: help, quit. Ctrl-A c switches back to the console.\r\n";

/**
 * Stands in for QEMU's human monitor on `-monitor`, `-mon mode=readline` and the Ctrl-A c side of
 * -nographic: prints what is missing and understands `help` and `quit`. It echoes and edits its own line
 * (the terminal is in raw mode). It never touches the guest.
 */
export function startMonitorStub(port: CharBackend, hooks: { onQuit(): void }): void {
  const enc = new TextEncoder();
  const say = (text: string) => port.write(enc.encode(text));
  let line = "";
  const greet = () => {
    line = "";
    say(`\r\n${BANNER}${PROMPT}`);
  };
  // On a mux the stub speaks when it gets the keyboard; elsewhere when a peer is there.
  const greetOn: CharEvent = port instanceof MuxPort ? "mux-in" : "opened";
  port.setReceiver(
    (data) => {
      for (const b of data) {
        if (b === 0x0d || b === 0x0a) {
          say("\r\n");
          const cmd = line.trim();
          line = "";
          if (cmd === "quit" || cmd === "q") {
            hooks.onQuit();
            return;
          }
          if (cmd === "help" || cmd === "?" || cmd === "h") say("help|? -- show this help\r\nquit|q -- quit the emulator\r\n");
          else if (cmd !== "") say(`unknown command: '${cmd.split(/\s+/)[0]}' (this stub knows help and quit; use QMP)\r\n`);
          say(PROMPT);
        } else if (b === 0x7f || b === 0x08) {
          if (line.length > 0) {
            line = line.slice(0, -1);
            say("\b \b");
          }
        } else if (b === 0x03 || b === 0x15) {
          line = "";
          say(`\r\n${PROMPT}`);
        } else if (b >= 0x20 && b < 0x7f) {
          line += String.fromCharCode(b);
          say(String.fromCharCode(b));
        }
      }
    },
    (event) => {
      // A queued mux-in may be stale by now (the serial port attached after us and took the keyboard).
      if (event === greetOn && (!(port instanceof MuxPort) || port.hasFocus)) greet();
    },
  );
}

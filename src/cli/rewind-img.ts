/** rewind-img: qemu-img-compatible image tool (create, info, check, snapshot). */
import { runImgCommand } from "../block/cli/img-command.js";

process.exitCode = runImgCommand(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});

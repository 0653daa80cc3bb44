/** Process entry: runs the CLI with the real process streams and sets the exit code. */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n"),
  stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : text + "\n"),
  cwd: process.cwd(),
  interactive: process.stdin.isTTY === true,
});

/** What the CLI talks to: output streams, the working folder, and whether it may prompt. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  /** Whether prompts may be shown (stdin is a terminal). */
  interactive: boolean;
}

/** The sha256 of a text, hex: the manifest's file hashes and the template lock's (src/write, src/eject). */
import { createHash } from "node:crypto";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

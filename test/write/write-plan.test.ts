/**
 * The write stage is all or nothing: when applying fails half-way (here: the third file's name is
 * too long for the file system, after two files were already staged), every file is back as it
 * was, byte for byte, and no temporary or backup file is left behind.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyWritePlan, planWrites } from "../../src/write/write-plan.js";
import { snapshotTree, tempProject } from "../support/project.js";

describe("applying a write plan", () => {
  it("writes new files, then a failure mid-way restores the previous output exactly", async () => {
    const out = path.join(tempProject(), "out");
    const first = await planWrites(out, [{ path: "a.ts", content: "a1\n" }, { path: "b.ts", content: "b1\n" }], "0.0.0", "out");
    if (!first.ok) throw new Error("plan failed");
    await applyWritePlan(first.value);
    const before = snapshotTree(out);
    expect(Object.keys(before).sort()).toEqual([".sync-patterns-manifest.json", "a.ts", "b.ts"]);

    const tooLong = `${"c".repeat(300)}.ts`;
    const second = await planWrites(out, [{ path: "a.ts", content: "a2\n" }, { path: "b.ts", content: "b2\n" }, { path: tooLong, content: "c2\n" }], "0.0.0", "out");
    if (!second.ok) throw new Error("plan failed");
    expect(second.value.update.map((f) => f.path)).toEqual(["a.ts", "b.ts"]);
    await expect(applyWritePlan(second.value)).rejects.toThrow(/ENAMETOOLONG/);
    expect(snapshotTree(out)).toEqual(before);
  });

  it("a folder where a generated file should go is an error, not a rename", async () => {
    const out = path.join(tempProject(), "out");
    fs.mkdirSync(path.join(out, "c.ts", "inside"), { recursive: true });
    const plan = await planWrites(out, [{ path: "c.ts", content: "c\n" }], "0.0.0", "out");
    expect(plan.ok).toBe(false);
    expect(plan.diagnostics.map((d) => d.code)).toEqual(["write/not-a-file"]);
  });

  it("refuses to plan over a file it does not own, and never lists it for deletion", async () => {
    const out = path.join(tempProject({ "out/mine.ts": "// mine\n" }), "out");
    const plan = await planWrites(out, [{ path: "mine.ts", content: "generated\n" }], "0.0.0", "out");
    expect(plan.ok).toBe(false);
    expect(plan.diagnostics.map((d) => d.code)).toEqual(["write/unowned-file"]);
  });
});

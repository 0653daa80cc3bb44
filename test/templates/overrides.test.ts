/** Per-entity override names, and where an override may come from. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { entityOverride } from "../../src/plan/artifacts.js";
import { LayeredEta } from "../../src/render/templates.js";
import { tempProject } from "../support/project.js";

describe("entityOverride", () => {
  const cases: [string, string, string | undefined][] = [
    ["collections/entity.ts.eta", "contact", "collections/contact.ts.eta"],
    ["schema/entity.sql.eta", "line-item", "schema/line-item.sql.eta"],
    ["forms/entity.tsx.eta", "contact", "forms/contact.tsx.eta"],
    ["entity.ts.eta", "contact", "contact.ts.eta"],
    ["api/group.ts.eta", "contact", undefined],
    ["forms/my-entity.ts.eta", "contact", undefined],
  ];
  it.each(cases)("%s for %s → %s", (template, kebab, want) => {
    expect(entityOverride(template, kebab)).toBe(want);
  });
});

describe("LayeredEta.locateOverride", () => {
  it("finds overrides in the project's folder only, never under a built-in template's name", () => {
    const project = tempProject({ "schema/contact.sql.eta": "x", "schema/shared.sql.eta": "y" });
    const builtin = tempProject({ "schema/entity.sql.eta": "e", "schema/shared.sql.eta": "s", "hooks/other.ts.eta": "o" });
    const eta = new LayeredEta([project, builtin]);
    expect(eta.locateOverride("schema/contact.sql.eta")).toBe(path.join(project, "schema/contact.sql.eta"));
    // An entity called `shared` does not take the project's copy of the shared template as its override.
    expect(eta.locateOverride("schema/shared.sql.eta")).toBeUndefined();
    // Nor a built-in file.
    expect(eta.locateOverride("hooks/other.ts.eta")).toBeUndefined();
    expect(fs.existsSync(path.join(project, "schema/account.sql.eta"))).toBe(false);
    expect(eta.locateOverride("schema/account.sql.eta")).toBeUndefined();
  });
});

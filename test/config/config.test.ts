import { describe, expect, it } from "vitest";
import { parseConfig, withEntity, type ResolvedConfig } from "../../src/config/config.js";

const ROOT = "/projects/app";
const FILE = "sync-patterns.config.yaml";

describe("parseConfig accepts", () => {
  const cases: [string, { given: string; want: Partial<ResolvedConfig> }][] = [
    [
      "a minimal config, filling in every default",
      { given: "spec: ./openapi.yaml\n", want: { root: ROOT, file: FILE, spec: "./openapi.yaml", output: "src/generated", templates: "sync-patterns/templates", format: "none", entities: {} } },
    ],
    [
      "every setting",
      {
        given: [
          "spec: https://api.example.com/openapi.json",
          "output: web/src/api",
          "templates: tpl",
          "format: prettier",
          "apiUrl: http://localhost:3000",
          "electricUrl: http://localhost:3001/v1/shape",
          "entities:",
          "  contact: { mode: local-first, table: people }",
          "  account:",
          "",
        ].join("\n"),
        want: {
          spec: "https://api.example.com/openapi.json",
          output: "web/src/api",
          templates: "tpl",
          format: "prettier",
          apiUrl: "http://localhost:3000",
          electricUrl: "http://localhost:3001/v1/shape",
          entities: { contact: { mode: "local-first", table: "people" }, account: {} },
        },
      },
    ],
    ["an output path that normalizes to a folder inside the project", { given: "spec: a.yaml\noutput: ./src/../src/gen/\n", want: { output: "src/gen" } }],
    ["an output folder whose name starts with two dots", { given: "spec: a.yaml\noutput: ..generated\n", want: { output: "..generated" } }],
  ];
  for (const [name, { given, want }] of cases) {
    it(name, () => {
      const r = parseConfig(given, ROOT, FILE);
      if (!r.ok) return expect.fail(r.diagnostics.map((d) => `${d.code} ${d.location?.pointer}`).join("\n"));
      expect(r.value).toMatchObject(want);
    });
  }
});

describe("parseConfig rejects", () => {
  interface Want {
    code: string;
    pointer?: string;
    line?: number;
    hint?: string;
  }
  const cases: [string, { given: string; want: Want }][] = [
    ["an unknown key, suggesting the close one", { given: "spec: ./openapi.yaml\noutptu: src/gen\n", want: { code: "config/unknown-key", pointer: "/outptu", line: 2, hint: "`output`" } }],
    ["a number where a path belongs", { given: "spec: ./openapi.yaml\noutput: 5\n", want: { code: "config/wrong-type", pointer: "/output", line: 2 } }],
    ["an output folder above the project", { given: "spec: ./openapi.yaml\noutput: ../x\n", want: { code: "config/path-outside-project", pointer: "/output", line: 2 } }],
    ["an absolute output folder elsewhere", { given: "spec: ./openapi.yaml\noutput: /etc\n", want: { code: "config/path-outside-project", pointer: "/output", line: 2 } }],
    ["a templates folder above the project", { given: "spec: ./openapi.yaml\n\ntemplates: ../../shared\n", want: { code: "config/path-outside-project", pointer: "/templates", line: 3 } }],
    ["an unknown entity mode", { given: "spec: ./openapi.yaml\nentities:\n  contact:\n    mode: offline\n", want: { code: "config/wrong-value", pointer: "/entities/contact/mode", line: 4 } }],
    ["an unknown entity setting, suggesting the close one", { given: "spec: ./openapi.yaml\nentities:\n  contact:\n    mdoe: confirmed\n", want: { code: "config/unknown-key", pointer: "/entities/contact/mdoe", line: 4, hint: "`mode`" } }],
    ["entities that are not a mapping", { given: "spec: ./openapi.yaml\nentities: [contact]\n", want: { code: "config/wrong-type", pointer: "/entities", line: 2 } }],
    ["an unknown formatter", { given: "spec: ./openapi.yaml\nformat: eslint\n", want: { code: "config/wrong-value", pointer: "/format", line: 2 } }],
    ["an apiUrl that is not a URL", { given: "spec: ./openapi.yaml\napiUrl: localhost:3000\n", want: { code: "config/wrong-type", pointer: "/apiUrl", line: 2 } }],
    ["a config without spec", { given: "output: src/gen\n", want: { code: "config/missing-key", line: 1 } }],
    ["a YAML syntax error, at its line", { given: "spec: ./openapi.yaml\nformat: none\noutput: src: generated\n", want: { code: "config/syntax", line: 3 } }],
    ["a duplicate key, at the duplicate", { given: "spec: ./openapi.yaml\noutput: a\noutput: b\n", want: { code: "config/syntax", line: 3 } }],
    ["an empty file", { given: "", want: { code: "config/not-an-object", line: 1 } }],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const r = parseConfig(given, ROOT, FILE);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual([want.code]);
    const { code: _code, hint, ...location } = want;
    expect(r.diagnostics[0]!.location).toMatchObject({ file: FILE, ...location });
    if (hint) expect(r.diagnostics[0]!.hint).toContain(hint);
  });
});

describe("withEntity", () => {
  const base = "# Project config\nspec: ./openapi.yaml # the API\noutput: src/generated\n";
  const cases: [string, { given: { text: string; name: string; entity: { mode?: "local-first" | "confirmed"; table?: string } }; want: { entities: Record<string, object>; keeps: string[] } }][] = [
    [
      "adds an entities section, keeping comments",
      { given: { text: base, name: "contact", entity: { mode: "local-first" } }, want: { entities: { contact: { mode: "local-first" } }, keeps: ["# Project config", "# the API"] } },
    ],
    [
      "adds an entity next to existing ones, keeping their comments",
      {
        given: { text: `${base}entities:\n  # synced read-only\n  account: { mode: confirmed }\n`, name: "contact", entity: { mode: "local-first", table: "people" } },
        want: { entities: { account: { mode: "confirmed" }, contact: { mode: "local-first", table: "people" } }, keeps: ["# Project config", "# synced read-only"] },
      },
    ],
    [
      "updates an existing entity",
      {
        given: { text: `${base}entities:\n  contact:\n    mode: local-first\n`, name: "contact", entity: { mode: "confirmed" } },
        want: { entities: { contact: { mode: "confirmed" } }, keeps: ["# Project config", "# the API"] },
      },
    ],
  ];
  it.each(cases)("%s", (_name, { given, want }) => {
    const text = withEntity(given.text, given.name, given.entity);
    for (const comment of want.keeps) expect(text).toContain(comment);
    const r = parseConfig(text, ROOT, FILE);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => d.code).join(", "));
    expect(r.value.entities).toEqual(want.entities);
    expect(r.value.spec).toBe("./openapi.yaml");
  });
});

describe("artifacts (extra templates of the project)", () => {
  it("accepts per-entity, per-group and once artifacts, defaulting `each` to once", () => {
    const r = parseConfig(
      [
        "spec: ./openapi.yaml",
        "artifacts:",
        '  - { template: forms/entity.tsx.eta, output: "forms/{entity}.tsx", each: entity }',
        '  - { template: ./api/extra.ts.eta, output: "api/{group}.extra.ts", each: group }',
        "  - template: routes.ts.eta",
        "    output: routes.ts",
        "",
      ].join("\n"),
      ROOT,
      FILE,
    );
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => `${d.code} ${d.location?.pointer}`).join("\n"));
    expect(r.value.artifacts.map(({ template, output, each }) => ({ template, output, each }))).toEqual([
      { template: "forms/entity.tsx.eta", output: "forms/{entity}.tsx", each: "entity" },
      { template: "api/extra.ts.eta", output: "api/{group}.extra.ts", each: "group" },
      { template: "routes.ts.eta", output: "routes.ts", each: "once" },
    ]);
    expect(r.value.artifacts[2]!.location).toMatchObject({ file: FILE, pointer: "/artifacts/2", line: 5 });
  });

  const cases: [string, { given: string; want: { code: string; pointer: string; line: number } }][] = [
    ["not a list", { given: "artifacts: { template: a.ts.eta }", want: { code: "config/wrong-type", pointer: "/artifacts", line: 2 } }],
    ["an entry that is not a mapping", { given: "artifacts:\n  - forms.ts.eta", want: { code: "config/wrong-type", pointer: "/artifacts/0", line: 3 } }],
    ["a missing output", { given: "artifacts:\n  - { template: a.ts.eta }", want: { code: "config/missing-key", pointer: "/artifacts/0", line: 3 } }],
    ["an unknown key, suggesting the close one", { given: "artifacts:\n  - { template: a.ts.eta, output: a.ts, eahc: entity }", want: { code: "config/unknown-key", pointer: "/artifacts/0/eahc", line: 3 } }],
    ["an unknown `each`", { given: "artifacts:\n  - { template: a.ts.eta, output: a.ts, each: schema }", want: { code: "config/wrong-value", pointer: "/artifacts/0/each", line: 3 } }],
    ["an output outside the output folder", { given: "artifacts:\n  - { template: a.ts.eta, output: ../../src/a.ts }", want: { code: "config/path-outside-folder", pointer: "/artifacts/0/output", line: 3 } }],
    ["an absolute output", { given: "artifacts:\n  - { template: a.ts.eta, output: /etc/a.ts }", want: { code: "config/path-outside-folder", pointer: "/artifacts/0/output", line: 3 } }],
    ["a template outside the template folder", { given: "artifacts:\n  - { template: ../a.ts.eta, output: a.ts }", want: { code: "config/path-outside-folder", pointer: "/artifacts/0/template", line: 3 } }],
    ["an output that is not a code file", { given: "artifacts:\n  - { template: a.json.eta, output: a.json }", want: { code: "config/wrong-value", pointer: "/artifacts/0/output", line: 3 } }],
    ["each: entity without {entity} in the output", { given: "artifacts:\n  - { template: a.ts.eta, output: forms.ts, each: entity }", want: { code: "config/wrong-value", pointer: "/artifacts/0/output", line: 3 } }],
    ["{entity} in an output rendered once", { given: "artifacts:\n  - { template: a.ts.eta, output: \"{entity}.ts\" }", want: { code: "config/wrong-value", pointer: "/artifacts/0/output", line: 3 } }],
  ];
  it.each(cases)("rejects %s, at its line", (_name, { given, want }) => {
    const r = parseConfig(`spec: ./openapi.yaml\n${given}\n`, ROOT, FILE);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual([want.code]);
    expect(r.diagnostics[0]!.location).toMatchObject({ file: FILE, pointer: want.pointer, line: want.line });
  });
});

import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel } from "../../src/model/build.js";
import { loadSpec } from "../../src/spec/load.js";
import { resolvePointer } from "../../src/spec/pointer.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const FIXTURES = "test/fixtures/specs";
const PETSTORE_2 = "node_modules/@readme/oas-examples/2.0/json/petstore.json";

interface Want {
  code: string;
  pointer?: string;
  line?: number;
  column?: number;
  /** A substring of the hint. */
  hint?: string;
}

describe("loadSpec failures", () => {
  const cases: [string, { given: string; want: Want }][] = [
    ["reports broken YAML with its line and column", { given: "broken/syntax.yaml", want: { code: "spec/syntax", line: 4, column: 16 } }],
    ["reports broken JSON with its line and column", { given: "broken/syntax.json", want: { code: "spec/syntax", line: 3, column: 3 } }],
    [
      "reports a dangling $ref at the $ref, suggesting the close name",
      { given: "broken/dangling-ref.yaml", want: { code: "spec/unresolved-ref", pointer: "/paths/~1api~1contacts/get/responses/200/content/application~1json/schema/$ref", line: 16, hint: "#/components/schemas/Contact" } },
    ],
    ["reports a schema violation at its pointer and line", { given: "broken/invalid-parameter-in.yaml", want: { code: "spec/invalid", pointer: "/paths/~1api~1contacts/get/parameters/0/in", line: 12 } }],
    ["reports a missing info.version at info", { given: "broken/missing-info-version.yaml", want: { code: "spec/missing-info-version", pointer: "/info", line: 2 } }],
    ["rejects a document without an openapi field", { given: "broken/no-openapi-field.yaml", want: { code: "spec/missing-version", pointer: "" } }],
    ["rejects an unknown OpenAPI version at the version", { given: "broken/unsupported-version.yaml", want: { code: "spec/unsupported-version", pointer: "/openapi", line: 1 } }],
    [
      "reports an external $ref to a missing file at the $ref",
      { given: "broken/missing-external/openapi.yaml", want: { code: "spec/unresolved-ref", pointer: "/paths/~1api~1contacts/get/responses/200/content/application~1json/schema/$ref", line: 16 } },
    ],
    ["rejects a file that is not UTF-8", { given: "broken/latin1.yaml", want: { code: "spec/not-utf8" } }],
    ["rejects an empty file", { given: "broken/empty.yaml", want: { code: "spec/empty" } }],
    ["reports a missing file", { given: "does-not-exist.yaml", want: { code: "spec/not-found" } }],
  ];
  for (const [name, { given, want }] of cases) {
    it(name, async () => {
      const file = `${FIXTURES}/${given}`;
      const r = await loadSpec(file, REPO);
      expect(r.ok).toBe(false);
      expect(r.diagnostics.map((d) => d.code)).toEqual([want.code]);
      const d = r.diagnostics[0]!;
      expect(d.severity).toBe("error");
      const { code: _code, hint, ...location } = want;
      expect(d.location).toMatchObject({ file, ...location });
      if (hint) expect(d.hint).toContain(hint);
    });
  }
});

describe("loadSpec successes", () => {
  const cases: [string, { given: string; want: { sourceVersion: string; schemas: string[] } }][] = [
    ["loads OpenAPI 3.0", { given: `${FIXTURES}/openapi-3.0.yaml`, want: { sourceVersion: "3.0", schemas: ["Note"] } }],
    ["loads OpenAPI 3.1", { given: `${FIXTURES}/openapi-3.1.yaml`, want: { sourceVersion: "3.1", schemas: ["Note"] } }],
    ["loads a self-referencing component schema", { given: `${FIXTURES}/cyclic-schema.yaml`, want: { sourceVersion: "3.1", schemas: ["TreeNode"] } }],
    ["upgrades Swagger 2.0 to OpenAPI 3 with components.schemas", { given: PETSTORE_2, want: { sourceVersion: "2.0", schemas: ["ApiResponse", "Category", "Order", "Pet", "Tag", "User"] } }],
  ];
  it.each(cases)("%s", async (_name, { given, want }) => {
    const r = await loadSpec(given, REPO);
    if (!r.ok) expect.fail(r.diagnostics.map((d) => `${d.code} ${d.location?.pointer}`).join("\n"));
    expect(r.value.sourceVersion).toBe(want.sourceVersion);
    expect(r.value.file).toBe(given);
    expect(String(r.value.document.openapi)).toMatch(/^3\.[01]\./);
    const components = r.value.document.components as { schemas?: Record<string, unknown> } | undefined;
    expect(Object.keys(components?.schemas ?? {}).sort()).toEqual(want.schemas);
  });

  it("builds a model of the Swagger 2.0 petstore with its schema refs rewritten", async () => {
    const r = await loadSpec(PETSTORE_2, REPO);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => d.code).join(", "));
    expect(JSON.stringify(r.value.document)).not.toContain("#/definitions/");
    const m = buildModel({ document: r.value.document, locate: r.value.locate });
    expect(m.ok).toBe(true);
  });

  it("builds a model of a self-referencing component schema", async () => {
    const r = await loadSpec(`${FIXTURES}/cyclic-schema.yaml`, REPO);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => d.code).join(", "));
    const m = buildModel({ document: r.value.document, locate: r.value.locate });
    expect(m.ok && m.value.schemas.map((s) => s.name)).toEqual(["TreeNode"]);
  });
});

describe("locate", () => {
  const file = `${FIXTURES}/percent-in-path.yaml`;
  // JSON pointers built with pointerJoin are plain (RFC 6901), not URI fragments: `%41` is three characters.
  const cases: [string, { given: string; want: { line: number } }][] = [
    ["locates a path key", { given: "/paths/~1api~1A", want: { line: 13 } }],
    ["locates a path key containing %41 literally, not as A", { given: "/paths/~1api~1%41", want: { line: 7 } }],
    ["locates a path key ending in a lone %", { given: "/paths/~1api~1stock%", want: { line: 19 } }],
  ];
  for (const [name, { given, want }] of cases) {
    it(name, async () => {
      const r = await loadSpec(file, REPO);
      if (!r.ok) return expect.fail(r.diagnostics.map((d) => d.code).join(", "));
      expect(r.value.locate(given)).toMatchObject({ file, pointer: given, line: want.line });
    });
  }
});

describe("loadSpec with a spec split in two files", () => {
  const file = `${FIXTURES}/split/openapi.yaml`;
  const itemsPointer = "/paths/~1api~1contacts/get/responses/200/content/application~1json/schema/items";

  it("bundles the external $ref so its schema is reachable from the document", async () => {
    const r = await loadSpec(file, REPO);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    const items = resolvePointer(r.value.document, itemsPointer) as { $ref: string };
    expect(items.$ref.startsWith("#/")).toBe(true);
    const contact = resolvePointer(r.value.document, items.$ref.slice(1)) as { properties?: Record<string, unknown> };
    expect(Object.keys(contact.properties ?? {})).toEqual(["id", "nickname"]);
  });

  it("locates pointers into the bundled schema in the external file", async () => {
    const r = await loadSpec(file, REPO);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    const items = resolvePointer(r.value.document, itemsPointer) as { $ref: string };
    expect(r.value.locate(items.$ref.slice(1)).file).toBe(`${FIXTURES}/split/schemas.yaml`);
  });
});

describe("loadSpec over HTTP", () => {
  const spec = fs.readFileSync(path.join(REPO, FIXTURES, "openapi-3.1.yaml"));
  let server: http.Server;
  let base: string;
  let closedPort: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/openapi.yaml") {
        res.writeHead(200, { "content-type": "application/yaml" });
        res.end(spec);
      } else {
        res.writeHead(404);
        res.end("not found");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port that was just free: nothing listens there any more.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("loads a spec from a URL and names the URL as its file", async () => {
    const url = `${base}/openapi.yaml`;
    const r = await loadSpec(url, REPO);
    if (!r.ok) return expect.fail(r.diagnostics.map((d) => d.code).join(", "));
    expect({ file: r.value.file, sourceVersion: r.value.sourceVersion }).toEqual({ file: url, sourceVersion: "3.1" });
    expect(r.value.locate("/info").file).toBe(url);
  });

  const failures: [string, { given: () => string; want: { code: string } }][] = [
    ["reports an HTTP error status", { given: () => `${base}/missing.yaml`, want: { code: "spec/url-status" } }],
    ["reports a refused connection", { given: () => `http://127.0.0.1:${closedPort}/openapi.yaml`, want: { code: "spec/url-unreachable" } }],
  ];
  it.each(failures)("%s", async (_name, { given, want }) => {
    const url = given();
    const r = await loadSpec(url, REPO);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual([want.code]);
    expect(r.diagnostics[0]!.location?.file).toBe(url);
  });
});

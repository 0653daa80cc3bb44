/**
 * Hostile spec input gets a bounded, clear error: documents nested too deeply, remote refs to
 * a server that never answers, URLs that redirect, and a spec URL that hangs.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../../src/spec/load.js";
import { cli, tempProject } from "../support/project.js";

const minimal = (extra = "") => `openapi: 3.1.0\ninfo: { title: t, version: "1" }\npaths: {}\n${extra}`;
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/hang.yaml") return; // never answers
    if (req.url === "/moved.yaml") return void res.writeHead(302, { location: "/spec.yaml" }).end();
    if (req.url === "/spec.yaml") return void res.writeHead(200, { "content-type": "application/yaml" }).end(minimal());
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("hostile spec input", () => {
  it("a document nested thousands of levels deep is refused with spec/too-deep, not a stack overflow", async () => {
    const depth = 20_000;
    const text = `{"openapi":"3.1.0","info":{"title":"d","version":"1"},"paths":{},"components":{"schemas":{"Deep":${'{"type":"object","properties":{"a":'.repeat(depth)}{"type":"string"}${"}}".repeat(depth)}}}}`;
    const dir = tempProject({ "deep.json": text });
    const r = await loadSpec("deep.json", dir);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["spec/too-deep"]);
  });

  it("a spec URL that redirects is followed", async () => {
    const r = await loadSpec(`${base}/moved.yaml`, process.cwd());
    expect(r.ok).toBe(true);
  });

  it("a spec URL that never answers times out with a clear error (CLI exit 1)", async () => {
    const dir = tempProject();
    const { execa } = await import("execa");
    const { BIN } = await import("../support/project.js");
    const start = Date.now();
    const r = await execa("node", [BIN, "init", "--yes", "--spec", `${base}/hang.yaml`], { cwd: dir, reject: false, env: { SYNC_PATTERNS_URL_TIMEOUT_MS: "1500" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("[spec/url-timeout]");
    expect(Date.now() - start).toBeLessThan(15_000);
  });

  it("a remote $ref to a server that never answers is bounded too", async () => {
    const dir = tempProject({
      "openapi.yaml": minimal(`components:\n  schemas:\n    X: { $ref: "${base}/hang.yaml#/X" }\n`),
    });
    const { execa } = await import("execa");
    const { BIN } = await import("../support/project.js");
    const start = Date.now();
    const r = await execa("node", [BIN, "init", "--yes"], { cwd: dir, reject: false, env: { SYNC_PATTERNS_URL_TIMEOUT_MS: "1500" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/spec\/unresolved-ref|spec\/bundle-failed/);
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  it("a missing spec file names the file and exits 1", async () => {
    const r = await cli(tempProject(), "init", "--yes", "--spec", "nope.yaml");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Spec file not found: nope.yaml");
  });
});

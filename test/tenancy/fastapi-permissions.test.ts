/**
 * The FastAPI example's role checks (examples/fastapi/permissions.py) against the rules every
 * other part runs (permission-rules.ts, through sync-patterns/server's findRefusal), over the
 * generated server/permissions.json of the roles tests' spec: every role (of role_permissions, one
 * the spec does not know, none) × create / update / delete × every field group × x-owner-only,
 * values set and null, and moves of the scope column to a household of every role. The Python is
 * a transcription; this keeps it from drifting: same refusal (reason, field, role, op, entity,
 * message) or none, case by case. permissions.py is plain Python: no FastAPI needed.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findRefusal, type Refusal, type SpecPermissions, type WriteOp } from "../../src/server/index.js";
import { FASTAPI_EXAMPLE } from "../support/fastapi.js";
import { generateClient } from "../support/generated.js";
import { FIELD_CASES, ROLE_CASES, ROLES_SPEC } from "../roles/spec.js";

interface Check {
  op: WriteOp;
  row: Record<string, unknown>;
  values: Record<string, unknown>;
  /** household → the caller's role there. */
  roles: Record<string, string>;
}

const household = (role: string | null) => `h-${role ?? "none"}`;

function cases(): Check[] {
  const roles = Object.fromEntries(ROLE_CASES.filter((r) => r.role !== null).map((r) => [household(r.role), r.role!]));
  const out: Check[] = [];
  for (const { role } of ROLE_CASES) {
    const row = { id: "00000000-0000-4000-8000-000000000001", household_id: household(role) };
    out.push({ op: "delete", row, values: {}, roles });
    out.push({ op: "create", row, values: {}, roles });
    out.push({ op: "update", row, values: {}, roles });
    for (const f of FIELD_CASES) {
      for (const value of ["x", 5, null]) {
        out.push({ op: "create", row, values: { id: row.id, household_id: row.household_id, [f.field]: value }, roles });
        out.push({ op: "update", row, values: { [f.field]: value }, roles });
        out.push({ op: "update", row, values: { notes: "n", [f.field]: value }, roles });
      }
    }
    for (const { role: target } of ROLE_CASES) {
      out.push({ op: "update", row, values: { household_id: household(target) }, roles });
      out.push({ op: "update", row, values: { household_id: household(target), name: "moved" }, roles });
    }
  }
  return out;
}

const PYTHON = `
import json, sys
sys.path.insert(0, sys.argv[1])
import permissions
rules = permissions.load(sys.argv[2])
out = []
for c in json.load(sys.stdin):
    out.append(permissions.find_refusal(rules, "contacts", c["op"], c["row"], c["values"], lambda h: c["roles"].get(h)))
json.dump(out, sys.stdout)
`;

describe("examples/fastapi/permissions.py decides as permission-rules.ts", () => {
  let file = "";
  let rules: SpecPermissions;

  beforeAll(async () => {
    const out = await generateClient("fastapi-permissions", ROLES_SPEC);
    file = path.join(out, "server/permissions.json");
    rules = JSON.parse(fs.readFileSync(file, "utf8")) as SpecPermissions;
  }, 120_000);

  it("the same refusal, or none, for every role × operation × field group × x-owner-only × move", async () => {
    const checks = cases();
    const python = spawnSync("/usr/bin/python3", ["-c", PYTHON, FASTAPI_EXAMPLE, file], { input: JSON.stringify(checks), encoding: "utf8" });
    expect(python.stderr).toBe("");
    expect(python.status).toBe(0);
    const theirs = JSON.parse(python.stdout) as (Refusal | null)[];
    expect(theirs).toHaveLength(checks.length);
    const ours = await Promise.all(checks.map((c) => findRefusal(rules, { entity: "contacts", op: c.op, row: c.row, values: c.values, roleOf: (h) => c.roles[String(h)] ?? null })));
    for (const [i, c] of checks.entries()) expect(theirs[i], JSON.stringify(c)).toEqual(ours[i]);
    // The table covers every reason.
    expect(new Set(ours.map((r) => r?.reason ?? "allowed"))).toEqual(new Set(["allowed", "no-role", "read-only", "op", "owner-only", "field-group", "move"]));
  });

  it("an entity permissions.json does not know is an error; an unprotected one is allowed", () => {
    const python = spawnSync(
      "/usr/bin/python3",
      ["-c", `import sys; sys.path.insert(0, sys.argv[1]); import permissions\nr = permissions.load(sys.argv[2])\nprint(permissions.find_refusal(r, "household_members", "create", {}, {}, lambda h: None))\ntry:\n    permissions.find_refusal(r, "nope", "create", {}, {}, lambda h: None)\nexcept KeyError as e:\n    print(e)`, FASTAPI_EXAMPLE, file],
      { encoding: "utf8" },
    );
    expect(python.stdout.trim().split("\n")).toEqual(["None", `'permissions.json has no entity "nope"'`]);
  });
});

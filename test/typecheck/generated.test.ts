/**
 * Generated code must compile: the example spec and every fixture of @readme/oas-examples
 * (circular refs, discriminators, polymorphism, enums, additional properties, read/write
 * visibility, parameter styles, Swagger 2.0 …) are generated and type-checked with tsc in
 * strict mode plus exactOptionalPropertyTypes, noUncheckedIndexedAccess and noUnused*, with
 * both TypeScripts users run (5.9 and 7); the other checks use the suite's faster TypeScript 7.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { generate } from "../../src/generate.js";
import { COMPILERS, EXAMPLE_SPEC, REPO, tempProject, typecheck } from "../support/project.js";
import { ROLES_SPEC } from "../roles/spec.js";

const OAS = path.join(REPO, "node_modules/@readme/oas-examples");
const fixtures = ["2.0", "3.0", "3.1"].flatMap((v) =>
  fs
    .readdirSync(path.join(OAS, v, "json"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => path.join(OAS, v, "json", f)),
);

async function generateInto(root: string, name: string, spec: string): Promise<void> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = parseConfig(`spec: ${JSON.stringify(spec)}\noutput: out\n`, dir, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  const result = await generate(config.value, "write", dir);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors, `${name}: ${JSON.stringify(errors, null, 1)}`).toEqual([]);
}

describe("generated code type-checks in strict mode", () => {
  it.each(COMPILERS)("the finance-tracker example, with TypeScript %s", async (_version, tsc) => {
    const root = tempProject();
    await generateInto(root, "finance", EXAMPLE_SPEC);
    const result = await typecheck(root, tsc);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it.each(COMPILERS)(`all ${fixtures.length} @readme/oas-examples fixtures, with TypeScript %s`, async (_version, tsc) => {
    expect(fixtures.length).toBeGreaterThan(50);
    const root = tempProject();
    for (const spec of fixtures) await generateInto(root, path.relative(OAS, spec).replace(/[/.]/g, "_"), spec);
    const result = await typecheck(root, tsc);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 240_000);

  it("an app's use of the client: insert without the read-only _sync_status, hooks in TanStack DB's current useLiveQuery form", async () => {
    const root = tempProject();
    await generateInto(root, "finance", EXAMPLE_SPEC);
    fs.writeFileSync(
      path.join(root, "finance/usage.ts"),
      `import { eq } from "@tanstack/react-db";
import { createContactsCollection, createDatabase, useContacts } from "./out/index.js";

const db = await createDatabase();
const contacts = createContactsCollection(db);
contacts.insert({ id: "0190a4b2-0000-7000-8000-000000000001", first_name: "Ada", last_name: "Lovelace", created_at: "", updated_at: "" });
// @ts-expect-error _sync_status is read-only: the local database sets it
contacts.insert({ id: "0190a4b2-0000-7000-8000-000000000002", first_name: "Ada", last_name: "Lovelace", created_at: "", updated_at: "", _sync_status: "synced" });
const status: "synced" | "pending" | "syncing" | "failed" | undefined = contacts.get("x")?._sync_status;

export function useByCompany(company: string) {
  void status;
  return useContacts((q) => q.where(({ contact }) => eq(contact.company, company)));
}
`,
    );
    const result = await typecheck(root);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
    // The dependency-array form warns on every page load ("deprecated and will be removed in 1.0").
    for (const hooks of fs.readdirSync(path.join(root, "finance/out/hooks"))) {
      const text = fs.readFileSync(path.join(root, "finance/out/hooks", hooks), "utf8");
      for (const call of text.matchAll(/useLiveQuery\(/g)) expect(text.slice(call.index, call.index + 14), hooks).toBe("useLiveQuery({");
    }
  });

  it.each(COMPILERS)("a spec with roles (x-rbac.roles): the permission hooks typed from the spec, with TypeScript %s", async (_version, tsc) => {
    const root = tempProject();
    fs.mkdirSync(path.join(root, "roles"), { recursive: true });
    fs.writeFileSync(path.join(root, "roles/openapi.yaml"), ROLES_SPEC);
    await generateInto(root, "roles", path.join(root, "roles/openapi.yaml"));
    fs.writeFileSync(
      path.join(root, "roles/usage.ts"),
      `import { PermissionError, useCan, useContacts, usePermissions, useUpdateContact, type ContactRow, type FieldOf } from "./out/index.js";

export function useControls(contact: ContactRow) {
  const { can, editableFields, role, ready } = usePermissions("contacts");
  const fields: FieldOf<"contacts">[] = editableFields(contact);
  const showEdit: boolean = can(contact, "edit");
  const showCredit: boolean = useCan("contacts", contact, "edit", "credit_limit");
  const mayCreateHere: boolean = can({ household_id: contact.household_id }, "create");
  // @ts-expect-error a field the entity does not have
  can(contact, "edit", "nope");
  // @ts-expect-error household_members has no roles of its own
  usePermissions("household_members");
  const update = useUpdateContact();
  update.mutateAsync({ id: contact.id, changes: { credit_limit: 1 } }).catch((e: unknown) => {
    if (e instanceof PermissionError) console.log(e.entity, e.field, e.role, e.reason);
  });
  return { fields, showEdit, showCredit, mayCreateHere, role: role(contact), ready, list: useContacts() };
}
`,
    );
    const result = await typecheck(root, tsc);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("a type error in generated code is caught (the check can fail)", async () => {
    const root = tempProject();
    await generateInto(root, "finance", EXAMPLE_SPEC);
    fs.appendFileSync(path.join(root, "finance/out/index.ts"), "export const broken: number = 'text';\n");
    const result = await typecheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("TS2322");
  });
});

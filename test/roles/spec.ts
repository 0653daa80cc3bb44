/**
 * The spec of the roles tests: contacts shared by households, and the user's own memberships
 * (`household_members`, scoped to the user) that give the caller's role on each contact.
 * Fields cover every combination of field group (none, basic, financial) × x-owner-only.
 */
export const ROLES_SPEC = `openapi: 3.1.0
info: { title: Roles, version: "1" }
paths:
  /household_members:
    x-sync: { local_first: true, scope: user_id }
    get:
      operationId: listMembers
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Member" } } } } }
  /contacts:
    x-sync: { local_first: true, scope: household_id }
    x-rbac:
      roles: household_members
      field_groups:
        basic: [name, nickname]
        financial: [budget, credit_limit]
      role_permissions:
        viewer: []
        editor: [basic]
        accountant: [financial]
        owner: [basic, financial]
      delete: [owner]
    get:
      operationId: listContacts
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Contact" } } } } }
    post:
      operationId: createContact
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Contact" } } } }
      responses: { "201": { description: ok } }
  /contacts/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string, format: uuid } }]
    patch:
      operationId: updateContact
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Contact" } } } }
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteContact
      responses: { "204": { description: ok } }
components:
  schemas:
    Member:
      type: object
      required: [id, user_id, household_id, role]
      properties:
        id: { type: string, format: uuid }
        user_id: { type: string }
        household_id: { type: string }
        role: { type: string }
    Contact:
      type: object
      required: [id, household_id]
      properties:
        id: { type: string, format: uuid }
        household_id: { type: string }
        notes: { type: [string, "null"] }
        secret_note: { type: [string, "null"], x-owner-only: true }
        name: { type: [string, "null"] }
        nickname: { type: [string, "null"], x-owner-only: true }
        budget: { type: [integer, "null"] }
        credit_limit: { type: [integer, "null"], x-owner-only: true }
`;

/** The fields of a contact a role may write, with their group and x-owner-only. */
export const FIELD_CASES: { field: string; group: "none" | "basic" | "financial"; ownerOnly: boolean }[] = [
  { field: "notes", group: "none", ownerOnly: false },
  { field: "secret_note", group: "none", ownerOnly: true },
  { field: "name", group: "basic", ownerOnly: false },
  { field: "nickname", group: "basic", ownerOnly: true },
  { field: "budget", group: "financial", ownerOnly: false },
  { field: "credit_limit", group: "financial", ownerOnly: true },
];

/** Roles: those of role_permissions, one the spec does not know, and none. */
export const ROLE_CASES: { role: string | null; groups: string[] | null }[] = [
  { role: "owner", groups: ["basic", "financial"] },
  { role: "editor", groups: ["basic"] },
  { role: "accountant", groups: ["financial"] },
  { role: "viewer", groups: [] },
  { role: "guest", groups: null },
  { role: null, groups: null },
];

/** The expected answer, written independently of the generated code: may `role` set `field`? */
export function expectedEdit(role: string | null, groups: string[] | null, f: (typeof FIELD_CASES)[number]): boolean {
  if (role === null || groups === null || groups.length === 0) return false;
  if (f.ownerOnly && role !== "owner") return false;
  return f.group === "none" || groups.includes(f.group);
}

/** May `role` create / delete (x-rbac.delete: [owner]; create defaults to the roles with a group)? */
export function expectedOp(role: string | null, groups: string[] | null, op: "create" | "delete"): boolean {
  if (role === null || groups === null || groups.length === 0) return false;
  return op === "create" ? true : role === "owner";
}

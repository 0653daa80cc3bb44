/**
 * Query/mutation options factories and typed per-operation errors (issue 12, item 10): what the
 * model names, what the API modules contain, that `useQuery(listContactsOptions(…))` and error
 * narrowing type-check in strict mode, and that a real server's error answer arrives as an
 * ApiError whose `documented` names the spec's response.
 */
import { printModel } from "../../src/plan/print/index.js";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { buildModel } from "../../src/model/build.js";
import { generate } from "../../src/generate.js";
import { loadSpec } from "../../src/spec/load.js";
import { generateClient } from "../support/generated.js";
import { REPO, tempProject, typecheck } from "../support/project.js";

const SPEC = path.join(REPO, "test/fixtures/specs/error-responses.yaml");
const COLLISIONS = path.join(REPO, "test/fixtures/specs/derived-name-collisions.yaml");

async function model(spec: string) {
  const loaded = await loadSpec(spec, REPO);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const built = buildModel({ document: loaded.value.document, locate: loaded.value.locate });
  if (!built.ok) throw new Error(JSON.stringify(built.diagnostics));
  return { model: built.value, diagnostics: built.diagnostics };
}

describe("the model names the options factories and error types", () => {
  it("derives hook, key, options and error names from the function name", async () => {
    const { model: m, diagnostics } = await model(SPEC);
    expect(diagnostics).toEqual([]);
    expect(Object.fromEntries(m.operations.map((o) => [o.fnName, o.names]))).toEqual({
      createContact: { hook: "useCreateContactMutation", queryKey: "", options: "createContactMutation", error: "CreateContactError" },
      deleteContact: { hook: "useDeleteContactMutation", queryKey: "", options: "deleteContactMutation", error: "DeleteContactError" },
      getContact: { hook: "useGetContact", queryKey: "getContactQueryKey", options: "getContactOptions", error: "GetContactError" },
      listContacts: { hook: "useListContacts", queryKey: "listContactsQueryKey", options: "listContactsOptions", error: "ListContactsError" },
    });
  });

  it("types each documented error response's body, grouped by type", async () => {
    const { model: m } = await model(SPEC);
    // As templates see them: the body type and the keys printed (src/plan/print).
    const errors = Object.fromEntries(printModel(m).operations.map((o) => [o.fnName, { errors: o.errors.map(({ responses, documented, bodyType }) => ({ responses, documented, bodyType })), responses: o.errorResponses }]));
    expect(errors).toEqual({
      createContact: {
        errors: [
          { responses: ["422"], documented: '"422"', bodyType: "T.ValidationProblem" },
          { responses: ["default"], documented: '"default"', bodyType: "T.Problem" },
        ],
        responses: ["422", "default"],
      },
      deleteContact: { errors: [{ responses: ["404"], documented: '"404"', bodyType: "unknown" }], responses: ["404"] },
      getContact: {
        errors: [
          { responses: ["404"], documented: '"404"', bodyType: "T.NotFound" },
          { responses: ["422"], documented: '"422"', bodyType: "T.ValidationProblem" },
          { responses: ["5XX"], documented: '"5XX"', bodyType: "string" },
        ],
        responses: ["404", "422", "5XX"],
      },
      listContacts: { errors: [{ responses: ["4XX"], documented: '"4XX"', bodyType: "T.Problem" }], responses: ["4XX"] },
    });
  });

  it("derives from the suffixed function name of a keyword operationId", async () => {
    const { model: m } = await model(path.join(REPO, "test/fixtures/specs/operation-names.yaml"));
    expect(m.operations.find((o) => o.id === "delete")?.names).toEqual({ hook: "useDeleteMutation", queryKey: "", options: "delete_Mutation", error: "DeleteError" });
  });

  it("numbers a derived name another operation or a schema already has, with a located warning", async () => {
    const { model: m, diagnostics } = await model(COLLISIONS);
    const byFn = Object.fromEntries(m.operations.map((o) => [o.fnName, o.names]));
    // The operation getContactOptions keeps its own name; getContact's options factory gets the 2.
    expect(byFn.getContact!.options).toBe("getContactOptions2");
    expect(byFn.getContactOptions!.options).toBe("getContactOptionsOptions");
    // The schema CreateContactError keeps its name; the operation's error type gets the 2.
    expect(m.schemas.map((s) => s.name)).toContain("CreateContactError");
    expect(byFn.createContact!.error).toBe("CreateContactError2");
    expect(diagnostics.map((d) => [d.code, d.location?.pointer, d.message])).toEqual([
      ["model/name-collision", "/paths/~1contacts/post", "The error type of createContact would be named CreateContactError, which is taken by CreateContactError; it is named CreateContactError2."],
      ["model/name-collision", "/paths/~1contacts~1{id}/get", "The query options factory of getContact would be named getContactOptions, which is taken by getContactOptions; it is named getContactOptions2."],
    ]);
  });
});

async function generateInto(root: string, spec: string): Promise<string> {
  const config = parseConfig(`spec: ${JSON.stringify(spec)}\noutput: out\n`, root, "sync-patterns.config.yaml");
  if (!config.ok) throw new Error(JSON.stringify(config.diagnostics));
  const result = await generate(config.value, "write", root);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return path.join(root, "out");
}

describe("the generated API module", () => {
  it("has an error type per operation (api/), an options factory per operation and hooks built on the factories (queries/)", async () => {
    const out = await generateInto(tempProject(), SPEC);
    const api = fs.readFileSync(path.join(out, "api/contacts.ts"), "utf8");
    const queries = fs.readFileSync(path.join(out, "queries/contacts.ts"), "utf8");
    // The API module has no framework: a Node script imports it without TanStack Query installed.
    expect(api).not.toContain("@tanstack");
    expect(queries).toContain('from "@tanstack/react-query"');
    const text = api + queries;
    expect(text).toContain(
      [
        "export type GetContactError =",
        '  | ApiError<T.NotFound, "404">',
        '  | ApiError<T.ValidationProblem, "422">',
        '  | ApiError<string, "5XX">',
        "  | ApiError<unknown, undefined>;",
      ].join("\n"),
    );
    expect(text).toContain('      errors: ["404", "422", "5XX"],');
    expect(text).toContain(
      [
        "export function getContactOptions(args: { path: { id: string } }, options?: RequestOptions) {",
        "  return queryOptions<T.Contact, GetContactError, T.Contact, ReturnType<typeof getContactQueryKey>>({",
        "    queryKey: getContactQueryKey(args),",
        "    queryFn: ({ signal }) => getContact(args, { ...options, signal }),",
        "  });",
        "}",
      ].join("\n"),
    );
    expect(text).toContain(
      [
        "export function createContactMutation(options?: RequestOptions) {",
        "  return mutationOptions<T.Contact, CreateContactError, { body: T.Contact }>({",
        '    mutationKey: ["contacts", "createContact"],',
        "    mutationFn: (args) => createContact(args, options),",
        "  });",
        "}",
      ].join("\n"),
    );
    expect(text).toContain("  return useQuery({ ...getContactOptions(args), ...options });");
    expect(text).toContain("  return useMutation({ ...createContactMutation(), ...options });");
    // One request per operation: the factories and hooks call the fetch functions, no copies.
    expect(api.match(/request</g)).toHaveLength(4);
    expect(queries).not.toContain("request");
  });

  it("type-checks in strict mode with useQuery(xOptions(…)), useQueries, fetchQuery and error narrowing", async () => {
    const root = tempProject();
    await generateInto(root, SPEC);
    fs.writeFileSync(path.join(root, "usage.ts"), USAGE);
    const result = await typecheck(root);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 120_000);

  it("the usage check fails when narrowing is wrong (the check can fail)", async () => {
    const root = tempProject();
    await generateInto(root, SPEC);
    // A 404's body has no `errors`: only the 422 body does.
    fs.writeFileSync(path.join(root, "usage.ts"), `${USAGE}\nexport const wrong = (e: GetContactError) => (e.documented === "404" ? e.body.errors : []);\n`);
    const result = await typecheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("TS2339");
  }, 120_000);
});

const USAGE = `
import { QueryClient, useMutation, useQueries, useQuery } from "@tanstack/react-query";
import {
  ApiError,
  createContactMutation,
  getContactOptions,
  listContactsOptions,
  useGetContact,
  type Contact,
  type CreateContactError,
  type GetContactError,
  type ListContactsError,
} from "./out/index.js";

export function useScreen(search: string, ids: string[]) {
  const list = useQuery(listContactsOptions({ query: { q: search } }));
  const rows: Contact[] | undefined = list.data;
  const listError: ListContactsError | null = list.error;
  const one = useQuery({ ...getContactOptions({ path: { id: "1" } }), staleTime: 60_000 });
  const oneError: GetContactError | null = one.error;
  const many = useQueries({ queries: ids.map((id) => getContactOptions({ path: { id } })) });
  const manyData: (Contact | undefined)[] = many.map((q) => q.data);
  const hook = useGetContact({ path: { id: "1" } }, { enabled: ids.length > 0 });
  const hookError: GetContactError | null = hook.error;
  const create = useMutation({ ...createContactMutation({ headers: { "x-trace": "1" } }), onError: (e) => createMessage(e) });
  const save = () => create.mutate({ body: { id: "2", name: "Ada" } });
  return { rows, listError, oneError, manyData, hookError, save };
}

export function getMessage(error: GetContactError): string {
  switch (error.documented) {
    case "404":
      return \`no contact \${error.body.id}\`;
    case "422":
      return error.body.errors.map((e) => \`\${e.field}: \${e.message}\`).join("; ");
    case "5XX":
      return error.body.toUpperCase();
    case undefined:
      // @ts-expect-error an undocumented answer's body is unknown
      return error.body.title;
  }
}

export function createMessage(error: CreateContactError): string {
  if (error.documented === "422") return error.body.errors.length + " invalid fields";
  if (error.documented === "default") return error.body.title;
  return \`HTTP \${error.status}\`;
}

// @ts-expect-error "418" is not a documented response of getContact
export const teapot = (e: GetContactError) => e.documented === "418";

export async function prefetch(client: QueryClient): Promise<string> {
  const options = getContactOptions({ path: { id: "1" } });
  const contact: Contact = await client.fetchQuery(options);
  const cached: Contact | undefined = client.getQueryData(options.queryKey);
  return contact.name + (cached?.name ?? "");
}

export function fromUnknown(error: unknown): number | undefined {
  return error instanceof ApiError ? error.status : undefined;
}
`;

describe("errors at run time", () => {
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it("rejects with an ApiError whose documented response and parsed body match the answer", async () => {
    const out = await generateClient("options-errors", fs.readFileSync(SPEC, "utf8"));
    const answers: Record<string, [number, string, string]> = {
      "/contacts/gone": [404, "application/problem+json", JSON.stringify({ title: "Not found", id: "gone" })],
      "/contacts/bad": [422, "application/problem+json", JSON.stringify({ title: "Invalid", errors: [{ field: "id", message: "too short" }] })],
      "/contacts/down": [503, "text/plain", "maintenance"],
      "/contacts/teapot": [418, "text/plain", "short and stout"],
      "/contacts/ok": [200, "application/json", JSON.stringify({ id: "ok", name: "Ada" })],
    };
    const server = http.createServer((req, res) => {
      const [status, type, body] = answers[req.url ?? ""] ?? [500, "text/plain", "unexpected"];
      res.writeHead(status, { "content-type": type }).end(body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = await import(path.join(out, "index.ts"));
    client.configureClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const { QueryClient } = await import("@tanstack/react-query");
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });

    expect(await queryClient.fetchQuery(client.getContactOptions({ path: { id: "ok" } }))).toEqual({ id: "ok", name: "Ada" });
    const failure = async (id: string) => {
      const e = await queryClient.fetchQuery(client.getContactOptions({ path: { id } })).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(client.ApiError);
      const error = e as { status: number; documented: unknown; body: unknown };
      return { status: error.status, documented: error.documented, body: error.body };
    };
    expect(await failure("gone")).toEqual({ status: 404, documented: "404", body: { title: "Not found", id: "gone" } });
    expect(await failure("bad")).toEqual({ status: 422, documented: "422", body: { title: "Invalid", errors: [{ field: "id", message: "too short" }] } });
    expect(await failure("down")).toEqual({ status: 503, documented: "5XX", body: "maintenance" });
    expect(await failure("teapot")).toEqual({ status: 418, documented: undefined, body: "short and stout" });
  });
});

/**
 * The one describer of server error bodies (templates/runtime/error-text.ts), used by the API
 * client's ApiError and by the change writer's `last_error` (toasts, errors panel).
 */
import { describe, expect, it } from "vitest";
import { describeErrorBody } from "../../templates/runtime/error-text.js";

describe("describeErrorBody", () => {
  it("problem+json: title, detail and the field errors as text", () => {
    const body = {
      type: "/problems/validation",
      title: "Unprocessable content",
      status: 422,
      detail: "The request body does not match the schema.",
      errors: { amount: ["must not be zero"], "lines.0.price": ["must be a number", "is required"] },
    };
    expect(describeErrorBody(body)).toBe(
      "Unprocessable content: The request body does not match the schema. — amount: must not be zero; lines.0.price: must be a number, is required",
    );
    // The same from the raw text the change writer reads.
    expect(describeErrorBody(JSON.stringify(body))).toBe(describeErrorBody(body));
  });

  it("problem+json errors as a list of { detail, pointer }", () => {
    expect(describeErrorBody({ title: "Bad request", errors: [{ detail: "is too long", pointer: "/name" }] })).toBe("Bad request — /name: is too long");
  });

  it("a title and a detail that say the same thing say it once", () => {
    expect(describeErrorBody({ title: "Not found", detail: "Not Found" })).toBe("Not found");
  });

  it("FastAPI's 422: detail is a list of { loc, msg }, the loc without its 'body' prefix", () => {
    const body = {
      detail: [
        { type: "missing", loc: ["body", "name"], msg: "Field required", input: {} },
        { type: "greater_than", loc: ["body", "lines", 0, "amount"], msg: "Input should be greater than 0", input: -1, ctx: { gt: 0 } },
      ],
    };
    expect(describeErrorBody(JSON.stringify(body))).toBe("name: Field required; lines.0.amount: Input should be greater than 0");
    expect(describeErrorBody({ detail: "Item not found" })).toBe("Item not found");
  });

  it("{ message } and { error } bodies", () => {
    expect(describeErrorBody({ message: "Quota exceeded" })).toBe("Quota exceeded");
    expect(describeErrorBody({ error: "invalid_grant" })).toBe("invalid_grant");
    expect(describeErrorBody({ error: { message: "Token expired" } })).toBe("Token expired");
  });

  it("plain text, whitespace folded, long text cut", () => {
    expect(describeErrorBody("  name is\n required ")).toBe("name is required");
    const long = describeErrorBody("x".repeat(1000))!;
    expect(long.length).toBeLessThanOrEqual(300);
    expect(long.endsWith("…")).toBe(true);
  });

  it("an HTML error page gives its title, not its markup", () => {
    const page = `<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head><body><h1>Bad Gateway</h1><p>nginx</p></body></html>`;
    expect(describeErrorBody(page)).toBe("502 Bad Gateway");
    expect(describeErrorBody(`<html><body><h1>Service &amp; API down</h1></body></html>`)).toBe("Service & API down");
  });

  it("nothing readable: undefined (the caller falls back to the status text)", () => {
    expect(describeErrorBody("")).toBeUndefined();
    expect(describeErrorBody("   ")).toBeUndefined();
    expect(describeErrorBody(undefined)).toBeUndefined();
    expect(describeErrorBody(null)).toBeUndefined();
    expect(describeErrorBody({})).toBeUndefined();
    expect(describeErrorBody("{}")).toBeUndefined();
  });

  it("text that looks like JSON but is not stays text", () => {
    expect(describeErrorBody("{oops")).toBe("{oops");
  });
});

/**
 * Request validation with ajv, from the spec's own schemas.
 *
 * Request bodies: the component schema with
 *  - readOnly properties ignored (dropped from the body before validation), except `id` on create,
 *    since local-first clients generate their ids;
 *  - `x-sync-exclude` properties ignored (device-only data is never stored on the server);
 *  - any other unknown property rejected (`additionalProperties: false`);
 *  - `required` kept on create (minus readOnly properties and properties with a `default`, which
 *    the database fills in), dropped on update (PATCH).
 * Parameters: path and query parameters against their schemas, query strings coerced.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { addError, type FieldErrors } from "./problem.js";
import { isObject, type Json, type JsonObject, type Parameter } from "./spec.js";

export type BodyMode = "create" | "update";

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export const DECIMAL = /^-?\d+(\.\d+)?$/;

function newAjv(coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes });
  addFormatsModule.default(ajv);
  ajv.addFormat("decimal", DECIMAL);
  return ajv;
}

const bodyAjv = newAjv(false);
const paramAjv = newAjv(true);

/** Drops vendor extensions and annotations ajv's strict mode would reject, keeping property names. */
function clean(v: Json, isPropertyMap = false): Json {
  if (Array.isArray(v)) return v.map((x) => clean(x));
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (!isPropertyMap && (k.startsWith("x-") || k === "readOnly" || k === "writeOnly" || k === "example")) continue;
    out[k] = clean(x, !isPropertyMap && k === "properties");
  }
  return out;
}

export interface RequestSchema {
  schema: JsonObject;
  /** Properties dropped from a body before validation. */
  ignored: ReadonlySet<string>;
}

export function requestSchema(component: JsonObject, mode: BodyMode): RequestSchema {
  const props = isObject(component.properties) ? component.properties : {};
  const kept: JsonObject = {};
  const ignored = new Set<string>();
  for (const [name, p] of Object.entries(props)) {
    const readOnly = isObject(p) && p.readOnly === true;
    const deviceOnly = isObject(p) && p["x-sync-exclude"] === true;
    if (deviceOnly || (readOnly && !(mode === "create" && name === "id"))) ignored.add(name);
    else kept[name] = clean(p);
  }
  // A required property with a `default` may be left out: the database applies the default.
  const hasDefault = (name: string): boolean => {
    const p = props[name];
    return isObject(p) && "default" in p;
  };
  const required = Array.isArray(component.required)
    ? component.required.filter((r): r is string => typeof r === "string" && r in kept && r !== "id" && !hasDefault(r))
    : [];
  const schema: JsonObject = { type: "object", properties: kept, additionalProperties: false };
  if (mode === "create" && required.length > 0) schema.required = required;
  return { schema, ignored };
}

export type BodyValidator = (body: unknown) => Validated<Record<string, Json>>;

export function bodyValidator(component: JsonObject, mode: BodyMode): BodyValidator {
  const { schema, ignored } = requestSchema(component, mode);
  const validate = bodyAjv.compile(schema);
  return (body) => {
    if (!isPlainObject(body)) return { ok: false, errors: { body: ["must be a JSON object"] } };
    const value: Record<string, Json> = {};
    for (const [k, v] of Object.entries(body)) if (!ignored.has(k)) value[k] = v as Json;
    return validate(value) ? { ok: true, value } : { ok: false, errors: fieldErrors(validate) };
  };
}

export type ParamValidator = (raw: Record<string, string>) => Validated<Record<string, Json>>;

export function paramValidator(params: readonly Parameter[]): ParamValidator {
  const properties: JsonObject = {};
  for (const p of params) properties[p.name] = clean(p.schema);
  const required = params.filter((p) => p.required).map((p) => p.name);
  const validate = paramAjv.compile({ type: "object", properties, required });
  return (raw) => {
    const value: Record<string, Json> = {};
    for (const p of params) if (raw[p.name] !== undefined) value[p.name] = raw[p.name] ?? null;
    return validate(value) ? { ok: true, value } : { ok: false, errors: fieldErrors(validate) };
  };
}

function fieldErrors(validate: ValidateFunction): FieldErrors {
  const errors: FieldErrors = {};
  for (const e of validate.errors ?? []) addError(errors, fieldOf(e), messageOf(e));
  return errors;
}

function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const params: Record<string, unknown> = e.params;
  const child = params.missingProperty ?? params.additionalProperty;
  if (typeof child === "string") parts.push(child);
  return parts.length > 0 ? parts.join(".") : "body";
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === "required") return "is required";
  if (e.keyword === "additionalProperties") return "is not a known property";
  return e.message ?? `fails ${e.keyword}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

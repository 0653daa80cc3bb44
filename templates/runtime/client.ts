// The HTTP client every generated API function calls. Plain TypeScript, copied as is into
// the generated output (eject it to change how requests are made).
import { DEFAULT_BASE_URL } from "./defaults.js";
import { describeErrorBody } from "./error-text.js";

export interface ClientConfig {
  /** Base URL of the API, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** Headers sent with every request (auth goes here); may be computed per request. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
  /** The fetch implementation (tests, instrumentation). */
  fetch?: typeof fetch;
  credentials?: RequestCredentials;
  /**
   * Called when a request is answered 401: refresh the credentials here (the token `headers`
   * returns). The request is then sent once more with the headers read anew; the sync engine's
   * writes and shape streams use it too.
   */
  onUnauthorized?: () => void | Promise<void>;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /** Extra headers for this request. */
  headers?: HeadersInit | undefined;
}

let config: ClientConfig = { baseUrl: DEFAULT_BASE_URL };

/** Changes the client configuration for all later requests. */
export function configureClient(next: Partial<ClientConfig>): void {
  config = { ...config, ...next };
}

export function getClientConfig(): Readonly<ClientConfig> {
  return config;
}

/**
 * A non-2xx answer. Decide what to do from `status` or `documented`, never from the message text.
 * Each operation's error type (`GetContactError`) is a union of `ApiError<Body, "404">`, …: narrow
 * on `documented` to get `body` typed.
 */
export class ApiError<TBody = unknown, TDocumented extends string | undefined = string | undefined> extends Error {
  readonly status: number;
  /** The parsed body: JSON when it parses, else the text; `undefined` when empty. */
  readonly body: TBody;
  readonly headers: Headers;
  readonly url: string;
  /** The key of the operation's documented response that matches (`"404"`, `"4XX"`, `"default"`); `undefined` when none does. */
  readonly documented: TDocumented;

  constructor(status: number, body: TBody, headers: Headers, url: string, documented?: TDocumented) {
    super(`${status} ${describeErrorBody(body) ?? "request failed"} (${url})`);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.headers = headers;
    this.url = url;
    this.documented = documented as TDocumented;
  }
}

/** The documented response an error status falls under: the exact code, else its range (`4XX`), else `default`. */
function documentedResponse(status: number, responses: readonly string[] | undefined): string | undefined {
  if (!responses) return undefined;
  const exact = String(status);
  const range = `${Math.floor(status / 100)}XX`;
  return responses.find((r) => r === exact) ?? responses.find((r) => r === range) ?? responses.find((r) => r === "default");
}

export type QueryValue = unknown;

export interface RequestSpec {
  method: string;
  /** Path template, e.g. `/api/contacts/{id}`. */
  path: string;
  pathParams?: Record<string, unknown> | undefined;
  query?: Record<string, QueryValue> | undefined;
  /** Query parameters not serialized as `form` + explode (the OpenAPI default). */
  queryStyles?: Record<string, { style: string; explode: boolean }> | undefined;
  headers?: Record<string, unknown> | undefined;
  body?: unknown;
  bodyEncoding?: "json" | "form" | "multipart" | "binary" | "text" | undefined;
  mediaType?: string | undefined;
  responseEncoding: "json" | "text" | "blob" | "none";
  /** The operation's documented error responses (`["404", "4XX", "default"]`): sets `ApiError.documented`. */
  errors?: readonly string[] | undefined;
}

export async function request<TResponse>(spec: RequestSpec, options: RequestOptions = {}): Promise<TResponse> {
  const response = await send(spec, options);
  if (response.status === 401 && config.onUnauthorized) {
    await config.onUnauthorized();
    return finish<TResponse>(spec, await send(spec, options));
  }
  return finish<TResponse>(spec, response);
}

async function send(spec: RequestSpec, options: RequestOptions): Promise<Response> {
  const url = buildUrl(spec);
  const headers = new Headers(typeof config.headers === "function" ? await config.headers() : config.headers);
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    if (value !== undefined && value !== null) headers.set(name, String(value));
  }
  new Headers(options.headers).forEach((value, name) => headers.set(name, value));
  let body: BodyInit | undefined;
  if (spec.body !== undefined) {
    switch (spec.bodyEncoding) {
      case "form":
        body = formEncode(spec.body);
        headers.set("content-type", "application/x-www-form-urlencoded");
        break;
      case "multipart":
        body = spec.body instanceof FormData ? spec.body : multipart(spec.body);
        break;
      case "binary":
      case "text":
        body = spec.body as BodyInit;
        if (spec.mediaType && !headers.has("content-type")) headers.set("content-type", spec.mediaType);
        break;
      default:
        body = JSON.stringify(spec.body);
        headers.set("content-type", spec.mediaType ?? "application/json");
    }
  }
  if (spec.responseEncoding === "json" && !headers.has("accept")) headers.set("accept", "application/json");
  const doFetch = config.fetch ?? fetch;
  return doFetch(url, {
    method: spec.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
}

async function finish<TResponse>(spec: RequestSpec, response: Response): Promise<TResponse> {
  const url = buildUrl(spec);
  if (!response.ok) {
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text.
    }
    throw new ApiError(response.status, parsed, response.headers, url, documentedResponse(response.status, spec.errors));
  }
  switch (spec.responseEncoding) {
    case "none":
      return undefined as TResponse;
    case "text":
      return (await response.text()) as TResponse;
    case "blob":
      return (await response.blob()) as TResponse;
    default: {
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as TResponse;
    }
  }
}

function buildUrl(spec: RequestSpec): string {
  const path = spec.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = spec.pathParams?.[name];
    if (value === undefined || value === null) throw new TypeError(`Missing path parameter "${name}" for ${spec.path}`);
    return encodeURIComponent(String(value));
  });
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(spec.query ?? {})) {
    const style = spec.queryStyles?.[name] ?? { style: "form", explode: true };
    appendQuery(params, name, value, style.style, style.explode);
  }
  const query = params.toString();
  return config.baseUrl.replace(/\/$/, "") + path + (query ? `?${query}` : "");
}

function appendQuery(params: URLSearchParams, name: string, value: unknown, style: string, explode: boolean): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    const separator = style === "spaceDelimited" ? " " : style === "pipeDelimited" ? "|" : ",";
    if (explode && style === "form") for (const v of value) params.append(name, String(v));
    else params.append(name, value.map(String).join(separator));
    return;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null);
    if (style === "deepObject") for (const [k, v] of entries) appendQuery(params, `${name}[${k}]`, v, "deepObject", true);
    else if (explode) for (const [k, v] of entries) params.append(k, String(v));
    else params.append(name, entries.map(([k, v]) => `${k},${String(v)}`).join(","));
    return;
  }
  params.append(name, String(value));
}

/** `application/x-www-form-urlencoded` with nested objects and arrays in bracket notation. */
function formEncode(body: unknown): URLSearchParams {
  const params = new URLSearchParams();
  const add = (prefix: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) value.forEach((v, i) => add(`${prefix}[${i}]`, v));
    else if (typeof value === "object") for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(prefix ? `${prefix}[${k}]` : k, v);
    else params.append(prefix, String(value));
  };
  add("", body);
  return params;
}

function multipart(body: unknown): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    if (value instanceof Blob) form.append(key, value);
    else if (Array.isArray(value)) for (const v of value) form.append(key, v instanceof Blob ? v : String(v));
    else form.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return form;
}

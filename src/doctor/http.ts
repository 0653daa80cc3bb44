/**
 * HTTP for `doctor`: one request with a deadline, the answer kept whole (status, headers, text),
 * so a finding can quote what came back.
 */

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface HttpFailure {
  /** Why no answer came: connection refused, DNS, deadline, … */
  error: string;
}

export type HttpResult = HttpAnswer | HttpFailure;

export const isFailure = (r: HttpResult): r is HttpFailure => "error" in r;

export async function request(url: string, init: RequestInit & { timeoutMs: number }): Promise<HttpResult> {
  const { timeoutMs, ...rest } = init;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetch(url, { ...rest, signal: abort.signal });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (abort.signal.aborted) return { error: `no answer within ${timeoutMs / 1000} s` };
    const cause = err.cause?.code ?? err.cause?.message;
    return { error: cause ? `${err.message} (${cause})` : err.message };
  } finally {
    clearTimeout(timer);
  }
}

/** `404 application/json {"message":…}` — status, type and the start of the body, for messages. */
export function describe(r: HttpResult): string {
  if (isFailure(r)) return r.error;
  const type = r.headers.get("content-type")?.split(";")[0];
  const body = r.text.replace(/\s+/g, " ").trim();
  return [String(r.status), type, body ? (body.length > 300 ? `${body.slice(0, 300)}…` : body) : "(empty body)"].filter(Boolean).join(" ");
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

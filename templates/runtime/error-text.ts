// Readable text for a server's error body. Plain TypeScript, copied as is into the generated
// output (api/error-text.ts); the API client (ApiError's message) and the change writer
// (`_changes.last_error`, what toasts and the errors panel show) both use it, so a rejection
// reads the same wherever it surfaces.
//
// Understood: RFC 9457 problem+json (`title`, `detail`, `errors` as a list or a field map),
// FastAPI / Pydantic validation lists (`detail: [{ loc, msg }]`), `{ message }` / `{ error }`
// bodies, plain text, HTML error pages (their title or first heading), and empty bodies.

/** Longest text returned; longer bodies are cut with an ellipsis. */
const MAX = 300;

/**
 * A one-line, human-readable summary of an error body, or `undefined` when it says nothing
 * (empty, or JSON without anything readable). Takes the parsed JSON or the raw text (JSON in
 * it is parsed; HTML gives its title or first heading).
 */
export function describeErrorBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return describeText(body);
  if (typeof body !== "object") return clip(String(body));
  if (Array.isArray(body)) return listText(body);
  const b = body as Record<string, unknown>;
  const title = text(b.title);
  const detail = Array.isArray(b.detail) ? listText(b.detail) : text(b.detail);
  const message = text(b.message) ?? (typeof b.error === "string" ? b.error : text((b.error as Record<string, unknown> | undefined)?.message));
  const fields = fieldErrors(b.errors);
  let head = [title, detail ?? message].filter((x): x is string => !!x);
  // "Unprocessable Entity: Unprocessable Entity" says it once.
  if (head.length === 2 && head[0]!.toLowerCase() === head[1]!.toLowerCase()) head = [head[0]!];
  const parts = [head.join(": "), fields].filter((x): x is string => !!x);
  return parts.length ? clip(parts.join(" — ")) : undefined;
}

function describeText(raw: string): string | undefined {
  const s = raw.trim();
  if (!s) return undefined;
  if (s.startsWith("{") || s.startsWith("[")) {
    try {
      return describeErrorBody(JSON.parse(s) as unknown);
    } catch {
      // Not JSON after all: plain text below.
    }
  }
  if (/^<(!doctype|html|head|body|\?xml)\b/i.test(s) || /<\/(html|body|h1|title)>/i.test(s)) {
    const heading = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(s)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(s)?.[1];
    const plain = (heading ?? s.replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")).replace(/<[^>]*>/g, " ");
    return clip(decodeEntities(plain).replace(/\s+/g, " ").trim()) || undefined;
  }
  return clip(s.replace(/\s+/g, " "));
}

/** `detail: [{ loc: ["body", "amount"], msg: "…" }]` (FastAPI), or a list of strings / `{ message }`. */
function listText(items: unknown[]): string | undefined {
  const lines = items.map(itemText).filter((x): x is string => !!x);
  return lines.length ? lines.join("; ") : undefined;
}

function itemText(item: unknown): string | undefined {
  if (typeof item === "string") return item;
  if (!item || typeof item !== "object") return undefined;
  const i = item as Record<string, unknown>;
  const msg = text(i.msg) ?? text(i.message) ?? text(i.detail) ?? text(i.title);
  const where = Array.isArray(i.loc)
    ? i.loc.filter((p, n) => !(n === 0 && ["body", "query", "path", "header", "cookie"].includes(String(p)))).join(".")
    : (text(i.field) ?? text(i.pointer) ?? text(i.path) ?? text(i.name));
  if (!msg) return where || undefined;
  return where ? `${where}: ${msg}` : msg;
}

/** problem+json `errors`: a list (`[{ detail, pointer }]`) or a map of field → message(s). */
function fieldErrors(errors: unknown): string | undefined {
  if (!errors || typeof errors !== "object") return typeof errors === "string" ? errors : undefined;
  if (Array.isArray(errors)) return listText(errors);
  const lines = Object.entries(errors as Record<string, unknown>).map(([field, v]) => {
    const messages = (Array.isArray(v) ? v : [v]).map((m) => (typeof m === "string" ? m : itemText(m))).filter((x): x is string => !!x);
    return messages.length ? `${field}: ${messages.join(", ")}` : field;
  });
  return lines.length ? lines.join("; ") : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}

function clip(s: string): string {
  return s.length > MAX ? `${s.slice(0, MAX - 1)}…` : s;
}

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " })[e] ?? _);
}

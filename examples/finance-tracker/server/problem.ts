/** RFC 9457 problem details, the error body of every non-2xx response. */

/** Field name (dotted path for nested values, `body` for the whole body) → messages. */
export type FieldErrors = Record<string, string[]>;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldErrors;
  [extra: string]: unknown;
}

const TITLES: Record<number, [type: string, title: string]> = {
  400: ["/problems/bad-request", "Bad request"],
  401: ["/problems/unauthorized", "Unauthorized"],
  403: ["/problems/forbidden", "Forbidden"],
  404: ["/problems/not-found", "Not found"],
  409: ["/problems/conflict", "Conflict"],
  422: ["/problems/validation", "Unprocessable content"],
  500: ["/problems/internal", "Internal server error"],
  503: ["/problems/unavailable", "Service unavailable"],
};

/** Thrown by handlers; turned into a problem+json response by the app's error handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly errors?: FieldErrors,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = "HttpError";
  }

  get problem(): Problem {
    const [type, title] = TITLES[this.status] ?? ["about:blank", `HTTP ${this.status}`];
    return { type, title, status: this.status, detail: this.message, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

/** A write the caller's role does not allow: 403 with the refusal's fields (entity, op, field, role, reason). */
export class ForbiddenError extends HttpError {
  readonly body: Record<string, unknown>;
  constructor(body: Record<string, unknown>) {
    super(403, String(body.detail));
    this.body = body;
  }

  override get problem(): Problem {
    return { ...this.body, ...super.problem };
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found`);

export const invalid = (errors: FieldErrors, detail = "The request is invalid."): HttpError =>
  new HttpError(422, detail, errors);

export function addError(errors: FieldErrors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

/**
 * A Fetch API handler (`(Request) => Promise<Response>`) as a Node `http` / Express handler:
 * `app.get("/v1/shape", toNodeHandler(createShapeProxy({ … })))`. The response body is
 * streamed; a client that goes away aborts the request to Electric.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";

export function toNodeHandler(handler: (request: Request) => Promise<Response>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const host = req.headers.host ?? "localhost";
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    let response: Response;
    try {
      response = await handler(new Request(new URL(req.url ?? "/", `http://${host}`), { method: req.method ?? "GET", headers, signal: abort.signal }));
    } catch (error) {
      if (abort.signal.aborted) return;
      res.statusCode = 500;
      res.end();
      throw error;
    }
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.appendHeader(name, value));
    if (!response.body) {
      res.end();
      return;
    }
    Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
      .on("error", () => res.destroy())
      .pipe(res);
  };
}

/**
 * The write path: one transaction per request that applies the change, reads its txid
 * (`pg_current_xact_id()::xid`, the 32-bit xid Electric reports in `headers.txids`) and, under an
 * Idempotency-Key, records the response.
 *
 * Idempotency: the key's row is inserted first, in the same transaction
 * (`INSERT … ON CONFLICT DO NOTHING`). A concurrent request with the same key blocks on the
 * primary key until the first one ends: if it committed, the second finds the stored response and
 * replays it; if it rolled back (any error), the second applies the change itself. Failed
 * requests store nothing, so retrying them runs them again.
 *
 * Keys live KEY_TTL (24 hours, as Stripe's do): a key older than that counts as new (its row is
 * taken over), and expired rows are swept at most once an hour. docs/backend.md#idempotency.
 */
import { createHash } from "node:crypto";
import { currentTxid, mapPgError, withTransaction, type Db, type Tx } from "./db.js";
import type { Reply } from "./handlers.js";
import { HttpError } from "./problem.js";
import type { Json } from "./spec.js";

export interface WriteRequest {
  method: string;
  path: string;
  rawBody: string;
  idempotencyKey: string | null;
}

export interface WriteResult {
  reply: Reply;
  txid: string;
  /** The reply was stored by an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

export function fingerprint(req: WriteRequest): string {
  return `${req.method} ${req.path} ${createHash("sha256").update(req.rawBody).digest("hex")}`;
}

/** How long a stored answer is replayed for its Idempotency-Key (a Postgres interval). */
export const KEY_TTL = "24 hours";
const SWEEP_EVERY_MS = 3_600_000;
let lastSweep = 0;

export async function runWrite(db: Db, req: WriteRequest, apply: (tx: Tx) => Promise<Reply>): Promise<WriteResult> {
  const key = req.idempotencyKey;
  const print = fingerprint(req);
  if (key !== null && Date.now() - lastSweep > SWEEP_EVERY_MS) {
    lastSweep = Date.now();
    await db.query(`DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`, [KEY_TTL]);
  }
  return withTransaction(db, async (tx) => {
    if (key !== null && !(await claimKey(tx, key, print))) return replay(tx, key, print);
    let reply: Reply;
    try {
      reply = await apply(tx);
    } catch (err) {
      mapPgError(err, req.method === "DELETE");
    }
    const txid = await currentTxid(tx);
    if (key !== null) {
      await tx.query("UPDATE idempotency_keys SET status = $2, body = $3, txid = $4 WHERE key = $1", [
        key,
        reply.status,
        reply.body === undefined ? null : JSON.stringify(reply.body),
        txid,
      ]);
    }
    return { reply, txid, replayed: false };
  });
}

/**
 * True when this request owns the key (new, or expired: older than KEY_TTL); false when an
 * earlier request committed under it within KEY_TTL.
 */
async function claimKey(tx: Tx, key: string, print: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, status = NULL, body = NULL, txid = NULL, created_at = now()
     WHERE idempotency_keys.created_at < now() - $3::interval`,
    [key, print, KEY_TTL],
  );
  return rowCount === 1;
}

async function replay(tx: Tx, key: string, print: string): Promise<WriteResult> {
  const { rows } = await tx.query<{ fingerprint: string; status: number; body: Json; txid: string }>(
    "SELECT fingerprint, status, body, txid FROM idempotency_keys WHERE key = $1",
    [key],
  );
  const stored = rows[0];
  if (!stored) throw new Error(`idempotency key ${key} vanished`);
  if (stored.fingerprint !== print) {
    throw new HttpError(422, "This Idempotency-Key was already used for a different request.", {
      "Idempotency-Key": ["was used with another method, path or body"],
    });
  }
  const reply: Reply = stored.body === null ? { status: stored.status } : { status: stored.status, body: stored.body };
  return { reply, txid: stored.txid, replayed: true };
}

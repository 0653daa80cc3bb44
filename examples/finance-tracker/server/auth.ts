/**
 * Who is asking: households, their members, sign-in and bearer tokens.
 *
 *  - `POST /api/login` with `{ "email", "password" }` answers `{ token, user, household, role }`.
 *    The token is `<payload>.<signature>`: base64url JSON `{ sub: user id, hh: household id,
 *    exp: unix seconds }` and its HMAC-SHA256 under the server's secret (kept in the database,
 *    table `server_secret`, so a restart keeps every session). Tokens live TOKEN_TTL_S.
 *  - Every other `/api/*` request and the shape proxy need `Authorization: Bearer <token>`; the
 *    signature, the expiry, the membership (still a member of that household?) and
 *    `users.tokens_valid_after` (tokens issued before it are refused: "sign out everywhere") are
 *    checked on every request, so removing a member or revoking their tokens ends access at once.
 *  - Membership is `household_members(id, user_id, household_id, role)`; the role (owner, editor,
 *    viewer) is enforced on every write from the spec's x-rbac (handlers.ts, README "Roles").
 *
 * The demo households and users (DEMO_USERS, password "demo") are created at start.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Db, Tx } from "./db.js";
import { HttpError } from "./problem.js";

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export type Role = "owner" | "editor" | "viewer";

/** The signed-in user of a request. */
export interface SessionUser {
  userId: string;
  email: string;
  name: string;
  householdId: string;
  householdName: string;
  role: Role;
}

export const TOKEN_TTL_S = 12 * 3600;

export const DEMO_HOUSEHOLDS = [
  { id: "00000000-0000-4000-8000-00000000aa01", name: "Lovelace household" },
  { id: "00000000-0000-4000-8000-00000000bb02", name: "Turing household" },
] as const;

/** Password of every demo user. */
export const DEMO_PASSWORD = "demo";

export const DEMO_USERS = [
  { id: "00000000-0000-4000-8000-0000000000a1", email: "ada@example.com", name: "Ada", household: DEMO_HOUSEHOLDS[0].id, role: "owner" },
  { id: "00000000-0000-4000-8000-0000000000a2", email: "charles@example.com", name: "Charles", household: DEMO_HOUSEHOLDS[0].id, role: "editor" },
  { id: "00000000-0000-4000-8000-0000000000a3", email: "grace@example.com", name: "Grace", household: DEMO_HOUSEHOLDS[0].id, role: "viewer" },
  { id: "00000000-0000-4000-8000-0000000000b1", email: "alan@example.com", name: "Alan", household: DEMO_HOUSEHOLDS[1].id, role: "owner" },
] as const satisfies readonly { id: string; email: string; name: string; household: string; role: Role }[];

async function hashPassword(password: string, salt = randomBytes(16)): Promise<string> {
  return `scrypt$${salt.toString("base64url")}$${(await scrypt(password, salt, 32)).toString("base64url")}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await scrypt(password, Buffer.from(salt, "base64url"), expected.length);
  return timingSafeEqual(actual, expected);
}

/** Creates the demo households and users if they are missing; returns the token secret. */
export async function prepareAuth(db: Db): Promise<Buffer> {
  await db.query(`INSERT INTO server_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [randomBytes(32).toString("base64url")]);
  const secret = (await db.query<{ secret: string }>(`SELECT secret FROM server_secret WHERE id = 1`)).rows[0]!.secret;
  for (const h of DEMO_HOUSEHOLDS) await db.query(`INSERT INTO households (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [h.id, h.name]);
  const known = new Set((await db.query<{ id: string }>(`SELECT id FROM users`)).rows.map((r) => r.id));
  for (const u of DEMO_USERS) {
    if (known.has(u.id)) continue;
    await db.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [u.id, u.email, u.name, await hashPassword(DEMO_PASSWORD)]);
    await db.query(`INSERT INTO household_members (user_id, household_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [u.id, u.household, u.role]);
  }
  return Buffer.from(secret, "base64url");
}

interface TokenPayload {
  sub: string;
  hh: string;
  /** Issued at, ms since the epoch. */
  iat: number;
  /** Expires at, unix seconds. */
  exp: number;
}

export function signToken(secret: Buffer, payload: TokenPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/** The payload of a token signed with `secret` that has not expired; null for anything else. */
export function verifyToken(secret: Buffer, token: string, nowS = Date.now() / 1000): TokenPayload | null {
  const [body, signature, ...rest] = token.split(".");
  if (!body || !signature || rest.length) return null;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const p = payload as Partial<TokenPayload>;
  if (typeof p.sub !== "string" || typeof p.hh !== "string" || typeof p.iat !== "number" || typeof p.exp !== "number" || p.exp <= nowS) return null;
  return { sub: p.sub, hh: p.hh, iat: p.iat, exp: p.exp };
}

const MEMBER_SQL = `SELECT u.id AS "userId", u.email, u.name, h.id AS "householdId", h.name AS "householdName", m.role
  FROM household_members m JOIN users u ON u.id = m.user_id JOIN households h ON h.id = m.household_id`;

/** The user of a membership, or null when it does not exist (any more) or tokens issued at `issuedMs` were revoked. */
export async function member(q: Db | Tx, userId: string, householdId: string, issuedMs = Date.now()): Promise<SessionUser | null> {
  const { rows } = await q.query<SessionUser>(
    `${MEMBER_SQL} WHERE m.user_id::text = $1 AND m.household_id::text = $2 AND u.tokens_valid_after <= to_timestamp($3::float8 / 1000)`,
    [userId, householdId, issuedMs],
  );
  return rows[0] ?? null;
}

export interface Auth {
  /** The user of a request (its bearer token), or null. */
  authenticate(authorization: string | null | undefined): Promise<SessionUser | null>;
  /** Email + password → a session; a 401 HttpError for wrong credentials. */
  login(body: unknown): Promise<{ token: string; expires_at: string; user: { id: string; email: string; name: string }; household: { id: string; name: string }; role: Role }>;
}

export function createAuth(db: Db, secret: Buffer, defaultUser?: string): Auth {
  let fallback: Promise<SessionUser | null> | undefined;
  return {
    async authenticate(authorization) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
      if (!token) {
        if (defaultUser === undefined || authorization) return null;
        fallback ??= db
          .query<SessionUser>(`${MEMBER_SQL} WHERE u.email = $1 ORDER BY m.household_id LIMIT 1`, [defaultUser])
          .then((r) => r.rows[0] ?? null);
        return fallback;
      }
      const payload = verifyToken(secret, token);
      return payload ? member(db, payload.sub, payload.hh, payload.iat) : null;
    },
    async login(body) {
      const { email, password, household } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
      if (typeof email !== "string" || typeof password !== "string") {
        throw new HttpError(422, "Send an email and a password.", { ...(typeof email !== "string" ? { email: ["is required"] } : {}), ...(typeof password !== "string" ? { password: ["is required"] } : {}) });
      }
      const found = (await db.query<{ id: string; password_hash: string }>(`SELECT id, password_hash FROM users WHERE lower(email) = lower($1)`, [email])).rows[0];
      // The same answer (and about the same work) for an unknown email and a wrong password.
      const ok = await passwordMatches(password, found?.password_hash ?? (await hashPassword("not the password")));
      if (!found || !ok) throw new HttpError(401, "Wrong email or password.", undefined, { "WWW-Authenticate": "Bearer" });
      const memberships = (await db.query<{ household_id: string }>(`SELECT household_id::text FROM household_members WHERE user_id = $1 ORDER BY household_id`, [found.id])).rows;
      const chosen = typeof household === "string" ? memberships.find((m) => m.household_id === household) : memberships[0];
      if (!chosen) throw new HttpError(403, typeof household === "string" ? "You are not a member of that household." : "You are not a member of any household.");
      const user = (await member(db, found.id, chosen.household_id))!;
      const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL_S;
      return {
        token: signToken(secret, { sub: user.userId, hh: user.householdId, iat: Date.now(), exp }),
        expires_at: new Date(exp * 1000).toISOString(),
        user: { id: user.userId, email: user.email, name: user.name },
        household: { id: user.householdId, name: user.householdName },
        role: user.role,
      };
    },
  };
}

/**
 * The signed-in user of this browser profile: POST /api/login (server/auth.ts) returns a signed
 * bearer token, kept in localStorage so that the app opens signed in, offline too, and so that
 * every tab of the profile follows a sign-in or sign-out made in another (the `storage` event).
 */
import { useEffect, useState } from "react";

export interface Session {
  token: string;
  expires_at: string;
  user: { id: string; email: string; name: string };
  household: { id: string; name: string };
  /** owner | editor | viewer at sign-in (the live role comes with the synced memberships: usePermissions). */
  role: string;
}

const KEY = "finance-tracker:session";

function isSession(v: unknown): v is Session {
  const s = v as Partial<Session> | null;
  return typeof s?.token === "string" && typeof s.user?.id === "string" && typeof s.household?.id === "string";
}

export function readSession(): Session | null {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? "null");
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Signs in (or out, with null) in this tab; the other tabs follow through the `storage` event. */
export function writeSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
  window.dispatchEvent(new Event("finance-tracker:session"));
}

/** The current session, following sign-ins and sign-outs in this tab and in every other tab. */
export function useSession(): Session | null {
  const [session, setSession] = useState(readSession);
  useEffect(() => {
    const update = () => setSession((before) => {
      const now = readSession();
      return now?.token === before?.token ? before : now;
    });
    const onStorage = (e: StorageEvent) => (e.key === KEY || e.key === null) && update();
    window.addEventListener("storage", onStorage);
    window.addEventListener("finance-tracker:session", update);
    return () => {
      window.removeEventListener("storage", onStorage);
      window.removeEventListener("finance-tracker:session", update);
    };
  }, []);
  return session;
}

/** Email and password → a session, or an Error with the server's message. */
export async function signIn(apiUrl: string, email: string, password: string): Promise<Session> {
  const response = await fetch(`${apiUrl}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok || !isSession(body)) {
    const detail = (body as { detail?: unknown } | null)?.detail;
    throw new Error(typeof detail === "string" ? detail : `Sign-in failed (HTTP ${response.status}).`);
  }
  return body;
}

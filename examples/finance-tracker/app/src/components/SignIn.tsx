import { useState, type FormEvent } from "react";
import { signIn, writeSession } from "../session.js";

/** The sign-in form: email and password, posted to the backend's /api/login. */
export function SignIn({ apiUrl }: { apiUrl: string }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      writeSession(await signIn(apiUrl, email, password));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="page">
      <header>
        <h1>Finance tracker</h1>
      </header>
      <form className="signin" data-testid="signin-form" onSubmit={(e) => void submit(e)}>
        <h2>Sign in</h2>
        <label>
          Email
          <input data-testid="signin-email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Password
          <input data-testid="signin-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button data-testid="signin-submit" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p className="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
        <p className="hint">
          Demo users (password <code>demo</code>): ada@example.com, charles@example.com, grace@example.com (Lovelace household), alan@example.com (Turing household).
        </p>
      </form>
    </div>
  );
}

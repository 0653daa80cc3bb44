import { writeSession, type Session } from "../session.js";

/** Who is signed in, in which household, and the way out. */
export function SignedIn({ session }: { session: Session }) {
  return (
    <div className="signed-in" data-testid="signed-in" data-user={session.user.email} data-household={session.household.name}>
      <span>
        {session.user.name} · {session.household.name}
      </span>
      <button type="button" data-testid="sign-out" onClick={() => writeSession(null)}>
        Sign out
      </button>
    </div>
  );
}

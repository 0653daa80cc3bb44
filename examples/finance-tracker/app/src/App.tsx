import { Accounts } from "./components/Accounts.js";
import { Contacts } from "./components/Contacts.js";
import { ErrorsPanel } from "./components/ErrorsPanel.js";
import { ServiceWorker } from "./components/ServiceWorker.js";
import { SyncBadge } from "./components/SyncBadge.js";
import { Toasts, ToastProvider } from "./components/Toasts.js";
import { Transactions } from "./components/Transactions.js";
import { SignedIn } from "./components/SignedIn.js";
import type { Session } from "./session.js";
import { usePermissions } from "./generated/index.js";

/** The user's role in the household, live (it follows a change made on the server). */
function RoleBadge({ household }: { household: string }) {
  const { ready, role } = usePermissions("contacts");
  const current = ready ? role({ household_id: household }) : null;
  return (
    <span className="role-badge" data-testid="role" data-role={current ?? ""}>
      {current ?? "…"}
    </span>
  );
}

export function App({ session }: { session: Session }) {
  return (
    <ToastProvider>
      {/* The page scrolls above the toasts, never under them: a toast takes its room from the page's bottom and covers no button. */}
      <div className="app" data-testid="app">
        <div className="page-scroll">
          <div className="page">
            <header>
              <h1>Finance tracker</h1>
              <SyncBadge />
              <SignedIn session={session} />
              <RoleBadge household={session.household.id} />
            </header>
            <main>
              <Contacts household={session.household.id} />
              <div className="side">
                <Accounts household={session.household.id} />
                <Transactions household={session.household.id} />
                <ErrorsPanel />
              </div>
            </main>
          </div>
        </div>
        <Toasts />
        <ServiceWorker />
      </div>
    </ToastProvider>
  );
}

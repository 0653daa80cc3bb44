import { useState, type FormEvent } from "react";
import { useAccounts, useCan, useCreateAccount, type Account, type AccountRow } from "../generated/index.js";
import { Spinner, statusTitle, SyncStatusMarker } from "./SyncStatus.js";
import { useToast } from "./Toasts.js";

const KINDS: Account["kind"][] = ["checking", "savings", "credit", "cash"];

/**
 * Accounts are confirmed: a new account shows with a spinner until the server accepted it
 * (pending) and its row came back through the shape stream (syncing); a rejected one disappears and a toast says why.
 */
export function Accounts({ household }: { household: string }) {
  const mayAdd = useCan("accounts", { household_id: household }, "create");
  const { data: accounts, isLoading } = useAccounts((q) => q.orderBy(({ account }) => account.name).orderBy(({ account }) => account.id));
  return (
    <section className="panel" data-testid="accounts">
      <h2>Accounts</h2>
      {mayAdd && <NewAccountForm />}
      {isLoading ? (
        <p className="empty" data-testid="loading-accounts">
          Loading…
        </p>
      ) : accounts.length === 0 ? (
        <p className="empty">No accounts yet.</p>
      ) : (
        <ul className="rows">
          {accounts.map((a) => (
            <AccountItem key={a.id} account={a} />
          ))}
        </ul>
      )}
    </section>
  );
}

function AccountItem({ account }: { account: AccountRow }) {
  // Not on the server yet (pending), or accepted and on its way back (syncing): no balance yet.
  const pending = account._sync_status === "pending" || account._sync_status === "syncing";
  return (
    <li className={`row row-${account._sync_status}`} data-testid="account-row" data-id={account.id} data-name={account.name} data-status={account._sync_status}>
      <div className="main">
        <span className="name">{account.name}</span>
        <span className="detail">{account.kind}</span>
      </div>
      <span className="amount" data-testid="account-balance">
        {pending ? "—" : formatMoney(account.balance, account.currency)}
      </span>
      {pending ? <Spinner label={statusTitle(account._sync_status)} /> : <SyncStatusMarker status={account._sync_status} />}
    </li>
  );
}

function NewAccountForm() {
  const create = useCreateAccount();
  const toast = useToast();
  const [form, setForm] = useState({ name: "", kind: "checking" as Account["kind"], currency: "EUR" });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const input = { name: form.name, kind: form.kind, currency: form.currency };
    create.mutate(input, {
      onSuccess: () => setForm((f) => ({ ...f, name: "" })),
      onError: (error) => toast.error(error, `Creating the account “${input.name}”`),
    });
  };
  return (
    <form className="inline-form" onSubmit={submit} data-testid="account-form">
      <input placeholder="Account name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-testid="account-name" />
      <select value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as Account["kind"] })} data-testid="account-kind">
        {KINDS.map((k) => (
          <option key={k}>{k}</option>
        ))}
      </select>
      <input className="narrow" aria-label="Currency" value={form.currency} onChange={(e) => setForm({ ...form, currency: e.target.value })} data-testid="account-currency" />
      <button type="submit" disabled={create.isPending} data-testid="add-account">
        {create.isPending ? <Spinner label="Creating" /> : "Create"}
      </button>
    </form>
  );
}

export function formatMoney(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "—";
  const n = Number(amount);
  if (!Number.isFinite(n)) return `${amount} ${currency}`;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
}

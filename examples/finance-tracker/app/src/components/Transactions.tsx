import { useState, type FormEvent } from "react";
import { useAccounts, useCan, useCreateTransaction, useDeleteTransaction, usePermissions, useTransactions } from "../generated/index.js";
import { formatMoney } from "./Accounts.js";
import { SyncStatusMarker } from "./SyncStatus.js";
import { useToast } from "./Toasts.js";

/** Transactions are local-first, like contacts; the server checks them (an amount of 0 is rejected). */
export function Transactions({ household }: { household: string }) {
  const { can } = usePermissions("transactions");
  const mayAdd = useCan("transactions", { household_id: household }, "create");
  const { data: accounts } = useAccounts();
  const { data: transactions, isLoading } = useTransactions((q) =>
    q
      // Lexical: dates, ISO timestamps and uuids sort the same as by locale, and an on-demand window continues by cursor.
      .orderBy(({ transaction }) => transaction.occurred_on, { direction: "desc", stringSort: "lexical" })
      .orderBy(({ transaction }) => transaction.created_at, { direction: "desc", nulls: "first", stringSort: "lexical" })
      .orderBy(({ transaction }) => transaction.id, { stringSort: "lexical" })
      .limit(20),
  );
  const remove = useDeleteTransaction();
  const toast = useToast();
  const currencyOf = new Map(accounts.map((a) => [a.id, a.currency]));
  const nameOf = new Map(accounts.map((a) => [a.id, a.name]));
  return (
    <section className="panel" data-testid="transactions">
      <h2>Recent transactions</h2>
      {mayAdd && <NewTransactionForm />}
      {isLoading ? (
        <p className="empty">Loading…</p>
      ) : transactions.length === 0 ? (
        <p className="empty">No transactions yet.</p>
      ) : (
        <ul className="rows">
          {transactions.map((t) => (
            <li key={t.id} className={`row row-${t._sync_status}`} data-testid="transaction-row" data-id={t.id} data-status={t._sync_status}>
              <div className="main">
                <span className="name">{t.description || "—"}</span>
                <span className="detail">
                  {t.occurred_on} · {nameOf.get(t.account_id) ?? "?"}
                </span>
              </div>
              <span className={`amount ${Number(t.amount) < 0 ? "negative" : ""}`}>{formatMoney(t.amount, currencyOf.get(t.account_id) ?? "EUR")}</span>
              <SyncStatusMarker status={t._sync_status} />
              {can(t, "delete") && (
                <button type="button" className="link danger" data-testid="delete-transaction" onClick={() => remove.mutate(t.id, { onError: (error) => toast.error(error, "Deleting the transaction") })}>
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function NewTransactionForm() {
  const { data: accounts } = useAccounts((q) => q.orderBy(({ account }) => account.name).orderBy(({ account }) => account.id));
  const create = useCreateTransaction();
  const toast = useToast();
  const [form, setForm] = useState({ account_id: "", amount: "", description: "" });
  // Accounts the server has (not still pending or syncing): a transaction needs its account there.
  const confirmed = accounts.filter((a) => a._sync_status !== "pending" && a._sync_status !== "syncing");
  const accountId = form.account_id || confirmed[0]?.id || "";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { account_id: accountId, amount: form.amount, description: form.description, occurred_on: new Date().toISOString().slice(0, 10) },
      { onError: (error) => toast.error(error, "Adding the transaction") },
    );
    setForm({ ...form, amount: "", description: "" });
  };
  if (confirmed.length === 0) return <p className="empty">Create an account to add transactions.</p>;
  return (
    <form className="inline-form" onSubmit={submit} data-testid="transaction-form">
      <select value={accountId} onChange={(e) => setForm({ ...form, account_id: e.target.value })} data-testid="transaction-account">
        {confirmed.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name}
          </option>
        ))}
      </select>
      <input className="narrow" placeholder="Amount" required inputMode="decimal" pattern="-?[0-9]+(\.[0-9]{1,2})?" value={form.amount} onChange={(e) => setForm({ ...form, amount: e.target.value })} data-testid="transaction-amount" />
      <input placeholder="Description" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} data-testid="transaction-description" />
      <button type="submit" data-testid="add-transaction">
        Add
      </button>
    </form>
  );
}

import { useState, type FormEvent } from "react";
import { useCan, useContacts, useCreateContact, useDeleteContact, usePermissions, useUpdateContact, type ContactRow } from "../generated/index.js";
import { newestContacts } from "../queries.js";
import { SyncStatusMarker } from "./SyncStatus.js";
import { useToast } from "./Toasts.js";

export const PAGE = 50;

/**
 * Contacts are local-first: every write shows at once and syncs in the background. The controls
 * follow the user's live role in the household (x-rbac in openapi.yaml): a viewer gets no Add,
 * Edit or Delete, an editor cannot change the credit limit, only the owner deletes.
 */
export function Contacts({ household }: { household: string }) {
  const [limit, setLimit] = useState(PAGE);
  const { ready, can } = usePermissions("contacts");
  const mayAdd = can({ household_id: household }, "create");
  const { data: contacts, isLoading } = useContacts(newestContacts(limit), [limit]);
  return (
    <section className="panel contacts" data-testid="contacts">
      <h2>Contacts</h2>
      {mayAdd ? (
        <NewContactForm />
      ) : !ready ? (
        <p className="empty" data-testid="contacts-role-pending">
          Checking your role in this household…
        </p>
      ) : (
        <p className="empty" data-testid="contacts-read-only">
          Your role in this household does not allow changes.
        </p>
      )}
      {isLoading ? (
        <p className="empty">Loading…</p>
      ) : contacts.length === 0 ? (
        <p className="empty">No contacts yet.</p>
      ) : (
        <ul className="rows" data-testid="contact-list">
          {contacts.map((c) => (
            <ContactItem key={c.id} contact={c} />
          ))}
        </ul>
      )}
      {contacts.length >= limit && (
        <button type="button" className="link more" onClick={() => setLimit((n) => n + PAGE)}>
          Show more
        </button>
      )}
    </section>
  );
}

function NewContactForm() {
  const create = useCreateContact();
  const toast = useToast();
  const [form, setForm] = useState({ first_name: "", last_name: "", email: "", company: "" });
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { first_name: form.first_name, last_name: form.last_name, email: form.email || null, company: form.company || null },
      { onError: (error) => toast.error(error, "Adding the contact") },
    );
    setForm({ first_name: "", last_name: "", email: "", company: "" });
  };
  return (
    <form className="inline-form" onSubmit={submit} data-testid="contact-form">
      <input placeholder="First name" required value={form.first_name} onChange={set("first_name")} data-testid="contact-first" />
      <input placeholder="Last name" required value={form.last_name} onChange={set("last_name")} data-testid="contact-last" />
      <input placeholder="Email" type="email" value={form.email} onChange={set("email")} data-testid="contact-email" />
      <input placeholder="Company" value={form.company} onChange={set("company")} data-testid="contact-company" />
      <button type="submit" data-testid="add-contact">
        Add
      </button>
    </form>
  );
}

function ContactItem({ contact }: { contact: ContactRow }) {
  const [editing, setEditing] = useState(false);
  const { can } = usePermissions("contacts");
  const remove = useDeleteContact();
  const toast = useToast();
  const name = `${contact.first_name} ${contact.last_name}`;
  return (
    <li className={`row row-${contact._sync_status}`} data-testid="contact-row" data-id={contact.id} data-name={name} data-status={contact._sync_status}>
      {editing && can(contact, "edit") ? (
        <EditContact contact={contact} done={() => setEditing(false)} />
      ) : (
        <>
          <div className="main">
            <span className="name" data-testid="contact-name">
              {name}
            </span>
            <span className="detail">{[contact.company, contact.email, contact.credit_limit === null ? null : `credit ${contact.credit_limit}`].filter(Boolean).join(" · ")}</span>
          </div>
          <SyncStatusMarker status={contact._sync_status} />
          <div className="actions">
            {can(contact, "edit") && (
              <button type="button" className="link" data-testid="edit-contact" onClick={() => setEditing(true)}>
                Edit
              </button>
            )}
            {can(contact, "delete") && (
              <button
                type="button"
                className="link danger"
                data-testid="delete-contact"
                onClick={() => remove.mutate(contact.id, { onError: (error) => toast.error(error, `Deleting ${name}`) })}
              >
                Delete
              </button>
            )}
          </div>
        </>
      )}
    </li>
  );
}

function EditContact({ contact, done }: { contact: ContactRow; done: () => void }) {
  const update = useUpdateContact();
  const toast = useToast();
  const mayCredit = useCan("contacts", contact, "edit", "credit_limit");
  const [form, setForm] = useState({
    first_name: contact.first_name,
    last_name: contact.last_name,
    email: contact.email ?? "",
    company: contact.company ?? "",
    credit_limit: contact.credit_limit ?? "",
  });
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate(
      {
        id: contact.id,
        changes: {
          first_name: form.first_name,
          last_name: form.last_name,
          email: form.email || null,
          company: form.company || null,
          // Only the owner may set it (x-owner-only): an editor's save leaves it out.
          ...(mayCredit && form.credit_limit !== (contact.credit_limit ?? "") ? { credit_limit: form.credit_limit || null } : {}),
        },
      },
      { onError: (error) => toast.error(error, "Saving the contact") },
    );
    done();
  };
  return (
    <form className="inline-form edit" onSubmit={submit} data-testid="edit-form">
      <input aria-label="First name" required value={form.first_name} onChange={set("first_name")} data-testid="edit-first" />
      <input aria-label="Last name" required value={form.last_name} onChange={set("last_name")} data-testid="edit-last" />
      <input aria-label="Email" type="email" value={form.email} onChange={set("email")} data-testid="edit-email" />
      <input aria-label="Company" value={form.company} onChange={set("company")} data-testid="edit-company" />
      <input
        aria-label="Credit limit"
        className="narrow"
        inputMode="decimal"
        pattern="[0-9]+(\.[0-9]{1,2})?"
        placeholder="Credit limit"
        disabled={!mayCredit}
        title={mayCredit ? undefined : "Only the household's owner can change the credit limit."}
        value={form.credit_limit}
        onChange={set("credit_limit")}
        data-testid="edit-credit"
      />
      <button type="submit" data-testid="save-contact">
        Save
      </button>
      <button type="button" className="link" onClick={done}>
        Cancel
      </button>
    </form>
  );
}

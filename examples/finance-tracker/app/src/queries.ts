import type { ContactsQuery } from "./generated/index.js";

/**
 * The contact list: newest first. A contact created on this device has no created_at until the
 * server's row arrives, so nulls (pending creates) come first. Among them the key decides: keys
 * made by the create hooks are time-ordered (UUIDv7), so the newest create is the first row. With
 * random keys a new contact could sort below the first page once more than a page of creates
 * waited for the server, and stay invisible until enough of them were confirmed.
 */
export const newestContacts = (limit: number) => (q: ContactsQuery) =>
  q
    .orderBy(({ contact }) => contact.created_at, { direction: "desc", nulls: "first" })
    .orderBy(({ contact }) => contact.id, "desc")
    .limit(limit);

import type { ContactsQuery } from "./generated/index.js";

/**
 * The contact list: newest first. A contact created on this device has no created_at until the
 * server's row arrives, so nulls (pending creates) come first. Among them the key decides: keys
 * made by the create hooks are time-ordered (UUIDv7), so the newest create is the first row. With
 * random keys a new contact could sort below the first page once more than a page of creates
 * waited for the server, and stay invisible until enough of them were confirmed.
 * `stringSort: "lexical"`: ISO timestamps and uuids sort the same by code point as by locale, and
 * TanStack DB continues an on-demand window ("Show more") by a cursor only on lexically sorted strings.
 */
export const newestContacts = (limit: number) => (q: ContactsQuery) =>
  q
    .orderBy(({ contact }) => contact.created_at, { direction: "desc", nulls: "first", stringSort: "lexical" })
    .orderBy(({ contact }) => contact.id, { direction: "desc", stringSort: "lexical" })
    .limit(limit);

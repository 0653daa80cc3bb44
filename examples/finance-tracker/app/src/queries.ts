import type { ContactsQuery } from "./generated/index.js";

/**
 * The contact list: newest first. A contact created on this device has no created_at until the
 * server's row arrives, so nulls (pending creates) come first; the id breaks ties.
 */
export const newestContacts = (limit: number) => (q: ContactsQuery) =>
  q
    .orderBy(({ contact }) => contact.created_at, { direction: "desc", nulls: "first" })
    .orderBy(({ contact }) => contact.id)
    .limit(limit);

import { useEffect } from "react";
import { createLiveQueryCollection } from "@tanstack/react-db";
import { useSync, type SyncContextValue } from "../generated/hooks/sync.js";
import { newestContacts } from "../queries.js";
import { PAGE } from "./Contacts.js";

/** What `?bench` exposes as window.__financeTracker. */
export interface BenchHandle extends SyncContextValue {
  /** A live query equal to the contact list's first page, to time the data path without React. */
  contactsList: ReturnType<typeof createContactsList>;
}

declare global {
  interface Window {
    /** Only with `?bench`: the local database, the sync engine and the collections, for bench/ui. */
    __financeTracker?: BenchHandle;
  }
}

function createContactsList(sync: SyncContextValue) {
  return createLiveQueryCollection({
    query: (q) => newestContacts(PAGE)(q.from({ contact: sync.collections.contacts })),
    startSync: true,
  });
}

/** Rendered only when the page has `?bench`: exposes the sync context to benchmarks. */
export function BenchHook() {
  const sync = useSync();
  useEffect(() => {
    const contactsList = createContactsList(sync);
    window.__financeTracker = { ...sync, contactsList };
    return () => {
      delete window.__financeTracker;
      void contactsList.cleanup();
    };
  }, [sync]);
  return null;
}

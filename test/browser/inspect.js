// Exposes the example app's sync context as window.__financeTracker, for the browser tests and
// bench/ui, through the generated client's inspector hook (SyncInspector in hooks/sync.ts): the
// app itself carries no test or bench code. Loaded with page.addInitScript before the app starts.
globalThis.__SYNC_PATTERNS_INSPECTOR__ = {
  opened(value, { createLiveQueryCollection }) {
    // A live query equal to the contact list's first page (src/queries.ts, PAGE = 50), to time
    // the data path without React.
    const contactsList = createLiveQueryCollection({
      query: (q) =>
        q
          .from({ contact: value.collections.contacts })
          .orderBy(({ contact }) => contact.created_at, { direction: "desc", nulls: "first", stringSort: "lexical" })
          .orderBy(({ contact }) => contact.id, { direction: "desc", stringSort: "lexical" })
          .limit(50),
      startSync: true,
    });
    // When the provider had the database open and the sync engine started (ms since navigation).
    globalThis.__financeTracker = { ...value, contactsList, openedAt: performance.now() };
  },
};

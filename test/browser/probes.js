// In-page measuring helpers for the example app, loaded with page.addInitScript. Plain
// browser JavaScript (it runs in Chromium, not Node); the Node side types it as `Probes` in
// harness.ts. All times are performance.now() differences in the page, in milliseconds.
(() => {
  const valueSetter = (el) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set;

  /** Sets a React-controlled input the way typing does (native setter + input event). */
  function type(el, value) {
    valueSetter(el).call(el, value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  /** Resolves (with performance.now()) once `check()` is true after a DOM mutation under `root`. */
  function whenDom(root, check) {
    return new Promise((resolve) => {
      if (check()) return resolve(performance.now());
      const observer = new MutationObserver(() => {
        if (!check()) return;
        const at = performance.now();
        observer.disconnect();
        resolve(at);
      });
      observer.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
    });
  }

  /** The next frame after now, once it has been painted (rAF, then a task after the frame). */
  function nextPaint() {
    return new Promise((resolve) =>
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve(performance.now());
        channel.port2.postMessage(null);
      }),
    );
  }

  // Main-thread tasks over 50 ms (PGlite runs on the main thread): bench/ui reports them.
  const longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch {
    // No Long Tasks API: nothing to report.
  }

  /** Durations of the long tasks that overlap [from, to]. */
  const overlapping = (from, to) => longTasks.filter((t) => t.start < to && t.start + t.duration > from).map((t) => Math.round(t.duration));

  // When the first contact rows reached the DOM and the screen, in ms since navigation start
  // (performance.now()): bench/ui's "reload → first rows painted".
  const firstRows = {};
  const watchFirstRows = () => {
    const observer = new MutationObserver(() => {
      if (firstRows.dom !== undefined || !document.querySelector('[data-testid="contact-row"]')) return;
      firstRows.dom = performance.now();
      observer.disconnect();
      void nextPaint().then((at) => (firstRows.paint = at));
    });
    observer.observe(document, { childList: true, subtree: true });
  };
  watchFirstRows();

  window.__probes = {
    /** { dom, paint }: when the first contact rows were in the DOM / painted, ms since navigation start (undefined until then). */
    firstRows() {
      return { ...firstRows };
    },

    /** Epoch ms when a contact named `name` is in the list's DOM (a tab in the background paints only about once a second). */
    async seenAt(name) {
      const list = byTestId("contacts");
      await whenDom(list, () => list.querySelector(`[data-testid="contact-row"][data-name="${CSS.escape(name)}"]`) !== null);
      return performance.timeOrigin + performance.now();
    },

    /** Long tasks (start, duration in ms) since `since` (performance.now() time). */
    longTasks(since = 0) {
      return longTasks.filter((t) => t.start >= since);
    },

    /**
     * Fills the new-contact form, clicks Add, and times click → the row in the DOM and
     * click → the next painted frame.
     */
    async createContact(first, last) {
      const form = byTestId("contact-form");
      type(byTestId("contact-first", form), first);
      type(byTestId("contact-last", form), last);
      const list = byTestId("contacts");
      const name = `${first} ${last}`;
      const button = byTestId("add-contact", form);
      const seen = whenDom(list, () => list.querySelector(`[data-testid="contact-row"][data-name="${CSS.escape(name)}"]`) !== null);
      // With inspect.js loaded, also note when the collection and the list's live query got the row.
      const ft = window.__financeTracker;
      const stages = {};
      const watch = (label, collection) =>
        collection?.subscribeChanges((changes) => {
          if (stages[label] === undefined && changes.some((c) => c.value && c.value.first_name === first && c.value.last_name === last)) stages[label] = performance.now();
        });
      const subscriptions = ft ? [watch("collection", ft.collections.contacts), watch("liveQuery", ft.contactsList)] : [];
      const t0 = performance.now();
      button.click();
      const dom = await seen;
      for (const s of subscriptions) s?.unsubscribe();
      for (const k of Object.keys(stages)) stages[k] -= t0;
      // The status the row had when it appeared (pending: the server cannot have answered yet).
      const status = list.querySelector(`[data-testid="contact-row"][data-name="${CSS.escape(name)}"]`).getAttribute("data-status");
      const paint = await nextPaint();
      return { dom: dom - t0, paint: paint - t0, status, blockedBy: overlapping(t0 - 200, paint), stages, clickedAt: performance.timeOrigin + t0 };
    },

    /** Opens the row's edit form, changes the last name, saves; times click on Save → DOM and → paint. */
    async editContact(id, last) {
      const row = () => document.querySelector(`[data-testid="contact-row"][data-id="${id}"]`);
      byTestId("edit-contact", row()).click();
      await whenDom(row(), () => byTestId("edit-form", row()) !== null);
      const form = byTestId("edit-form", row());
      type(byTestId("edit-last", form), last);
      const list = byTestId("contacts");
      const seen = whenDom(list, () => {
        const r = row();
        return r !== null && byTestId("edit-form", r) === null && (r.getAttribute("data-name") ?? "").endsWith(` ${last}`);
      });
      const t0 = performance.now();
      byTestId("save-contact", form).click();
      const dom = await seen;
      const status = row().getAttribute("data-status");
      const paint = await nextPaint();
      return { dom: dom - t0, paint: paint - t0, status };
    },

    /**
     * The data path without React, for bench/ui (needs inspect.js): inserts `n` contacts straight
     * into the collection, one at a time, and times for each
     *  - `insert`: the synchronous collection.insert() call, in which TanStack DB updates every
     *    live query on the collection (the app's and the bench's own) — the live-query cost;
     *  - `live`: insert → the bench's live query (same query as the list) reported the row;
     *  - `durable`: insert → the write is in PGlite and the change feed delivered it back.
     */
    async dataPath(n, prefix) {
      const ft = window.__financeTracker;
      if (!ft) throw new Error("add test/browser/inspect.js to the context (addInitScript)");
      const out = [];
      for (let i = 0; i < n; i++) {
        const id = crypto.randomUUID();
        let live;
        const subscription = ft.contactsList.subscribeChanges((changes) => {
          if (live === undefined && changes.some((c) => c.key === id)) live = performance.now();
        });
        const t0 = performance.now();
        const tx = ft.collections.contacts.insert({ id, first_name: prefix, last_name: `D${i}`, _sync_status: "pending" });
        const t1 = performance.now();
        await tx.isPersisted.promise;
        const t2 = performance.now();
        subscription.unsubscribe();
        out.push({ insert: t1 - t0, live: (live ?? t1) - t0, durable: t2 - t0 });
        await new Promise((r) => setTimeout(r, 5));
      }
      return out;
    },
  };
})();

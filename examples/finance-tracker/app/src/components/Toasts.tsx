import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ChangeRejectedError, useSyncErrors, type ChangeRow } from "../generated/index.js";

interface Toast {
  /** Toasts with the same key are shown once (a rejection reaches us from the hook and the error store). */
  key: string;
  message: string;
}

interface ToastApi {
  show(message: string, key?: string): void;
  /** Toast for a failed mutation. */
  error(error: unknown, what: string): void;
}

const ToastContext = createContext<ToastApi | null>(null);
const ToastList = createContext<{ toasts: Toast[]; dismiss(key: string): void }>({ toasts: [], dismiss: () => {} });
const SHOW_MS = 8_000;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const shown = useRef(new Set<string>());
  const dismiss = useCallback((key: string) => setToasts((list) => list.filter((t) => t.key !== key)), []);
  const show = useCallback(
    (message: string, key: string = crypto.randomUUID()) => {
      if (shown.current.has(key)) return;
      shown.current.add(key);
      setToasts((list) => [...list, { key, message }]);
      setTimeout(() => dismiss(key), SHOW_MS);
    },
    [dismiss],
  );
  const [api] = useState<ToastApi>(() => ({
    show,
    error(error, what) {
      const message = error instanceof Error ? error.message : String(error);
      show(`${what} failed: ${message}`, error instanceof ChangeRejectedError ? error.changeId : undefined);
    },
  }));
  return (
    <ToastContext.Provider value={api}>
      <ToastList.Provider value={{ toasts, dismiss }}>{children}</ToastList.Provider>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error("useToast: wrap the component in <ToastProvider>.");
  return api;
}

/** The toasts, plus one for every change the server rejects while the app is open. */
export function Toasts() {
  const { toasts, dismiss } = useContext(ToastList);
  const { show } = useToast();
  const { errors } = useSyncErrors();
  const seen = useRef(new Set<string>());
  useEffect(() => {
    const fresh = errors.filter((e) => !seen.current.has(e.change_id));
    for (const e of fresh) seen.current.add(e.change_id);
    if (fresh.length > 3) show(`${fresh.length} changes were rejected by the server; see the errors panel.`);
    else for (const e of fresh) show(`The server rejected ${describeChange(e)}: ${e.last_error ?? "no reason given"}`, e.change_id);
  }, [errors, show]);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.key} className="toast" role="alert" data-testid="toast">
          <span>{t.message}</span>
          <button type="button" aria-label="Dismiss" onClick={() => dismiss(t.key)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

const VERBS = { insert: "the new", update: "the edit of a", delete: "the deletion of a" } as const;

export function describeChange(change: Pick<ChangeRow, "op" | "entity">): string {
  return `${VERBS[change.op]} ${change.entity.replace(/s$/, "")}`;
}

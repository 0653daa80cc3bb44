import { useSync, useSyncStatus } from "../generated/index.js";

/** Online/offline and the number of local changes the server has not confirmed yet. */
export function SyncBadge() {
  const status = useSyncStatus();
  const { engine } = useSync();
  const state = !status.online ? "offline" : status.queued > 0 ? "syncing" : "synced";
  const label = state === "offline" ? "Offline" : state === "syncing" ? "Syncing" : "All changes synced";
  return (
    <div className={`badge badge-${state}`} data-testid="sync-badge" data-state={state} data-queued={status.queued} data-leading={status.leading} title={status.lastError ?? undefined}>
      <span className="dot" />
      {label}
      {status.queued > 0 && (
        <span className="queue" data-testid="queue-length">
          {status.queued} queued
        </span>
      )}
      {state === "offline" && (
        <button type="button" className="link" onClick={() => engine.writer.kick()}>
          Retry now
        </button>
      )}
    </div>
  );
}

import { useSync, useSyncStatus } from "../generated/index.js";

/**
 * Online/offline, the number of open local changes (every create, edit and delete stored here whose
 * server version is not back yet), the number the server rejected, and in the tooltip why the
 * queue is not moving (cleared as soon as a request gets through).
 */
export function SyncBadge() {
  const status = useSyncStatus();
  const { engine } = useSync();
  const state = !status.online ? "offline" : status.queued > 0 ? "syncing" : "synced";
  const label = state === "offline" ? "Offline" : state === "syncing" ? "Syncing" : "All changes synced";
  return (
    <div
      className={`badge badge-${state}`}
      data-testid="sync-badge"
      data-state={state}
      data-queued={status.queued}
      data-failed={status.failed}
      data-leading={status.leading}
      title={status.lastError ?? undefined}
    >
      <span className="dot" />
      {label}
      {status.queued > 0 && (
        <span className="queue" data-testid="queue-length">
          {status.queued} queued
        </span>
      )}
      {status.failed > 0 && (
        <span className="queue failed" data-testid="failed-count">
          {status.failed} rejected
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

import type { SyncStatus } from "../generated/index.js";

const LABELS: Record<SyncStatus, string> = { synced: "synced", pending: "pending", syncing: "syncing", failed: "failed" };

/** The per-row marker: pending while a change waits for the server, syncing once the server accepted it, synced when its version is back, red when rejected. */
export function SyncStatusMarker({ status }: { status: SyncStatus }) {
  return (
    <span className={`status status-${status}`} data-testid="sync-status" data-status={status} title={statusTitle(status)}>
      {LABELS[status]}
    </span>
  );
}

export function statusTitle(status: SyncStatus): string {
  if (status === "pending") return "Saved on this device; not yet accepted by the server";
  if (status === "syncing") return "The server accepted the change; waiting for its version to come back";
  if (status === "failed") return "The server rejected a change to this row; see Rejected changes";
  return "The server has this version";
}

export function Spinner({ label }: { label: string }) {
  return <span className="spinner" role="status" aria-label={label} data-testid="spinner" />;
}

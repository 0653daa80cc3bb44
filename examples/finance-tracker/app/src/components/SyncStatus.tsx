import type { SyncStatus } from "../generated/index.js";

const LABELS: Record<SyncStatus, string> = { synced: "synced", pending: "pending", failed: "failed" };

/** The per-row marker: a check when the server has the row, a clock while a change is queued, red when rejected. */
export function SyncStatusMarker({ status }: { status: SyncStatus }) {
  return (
    <span className={`status status-${status}`} data-testid="sync-status" data-status={status} title={statusTitle(status)}>
      {LABELS[status]}
    </span>
  );
}

function statusTitle(status: SyncStatus): string {
  if (status === "pending") return "Saved on this device; waiting for the server";
  if (status === "failed") return "The server rejected a change to this row; see Rejected changes";
  return "The server has this version";
}

export function Spinner({ label }: { label: string }) {
  return <span className="spinner" role="status" aria-label={label} data-testid="spinner" />;
}

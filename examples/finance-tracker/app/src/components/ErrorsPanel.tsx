import { useSyncErrors } from "../generated/index.js";
import { describeChange } from "./Toasts.js";

/** Changes the server rejected. Retry sends one again (after you fixed its cause); discard drops it. */
export function ErrorsPanel() {
  const { errors, retry, discard } = useSyncErrors();
  return (
    <section className="panel" data-testid="errors-panel">
      <h2>
        Rejected changes <span className="count">{errors.length}</span>
      </h2>
      {errors.length === 0 ? (
        <p className="empty">Nothing was rejected.</p>
      ) : (
        <ul className="errors">
          {errors.map((e) => (
            <li key={e.change_id} data-testid="error-item" data-entity={e.entity} data-change-id={e.change_id}>
              <div>
                <strong>{describeChange(e)}</strong>
                <div className="error-text">{e.last_error}</div>
              </div>
              <div className="actions">
                <button type="button" data-testid="retry" onClick={() => void retry(e.change_id)}>
                  Retry
                </button>
                <button type="button" data-testid="discard" onClick={() => void discard(e.change_id)}>
                  Discard
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

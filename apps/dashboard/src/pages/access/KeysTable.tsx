/** The API keys with their role, dates and status, and a revoke button that asks first. */
import type { ApiKeyView } from "@codex-fleet/protocol/keys";
import { useState } from "react";
import { Ago } from "../../components/Ago.tsx";
import { apiSend, errorMessage } from "../../lib/api-client.ts";
import { formatDateTime } from "../../lib/format.ts";

const STATUS_TONE: Record<ApiKeyView["status"], string> = { active: "ok", expired: "warn", revoked: "plain" };

/** Renders `keys`; revoking calls DELETE /api/v1/keys/:id, then `onChanged`. */
export function KeysTable({ keys, onChanged }: { keys: ApiKeyView[]; onChanged: () => void }) {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const revoke = async (id: string) => {
    setBusy(id);
    setError(undefined);
    try {
      await apiSend(`/api/v1/keys/${encodeURIComponent(id)}`, { method: "DELETE" });
      setConfirming(null);
      onChanged();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };
  if (keys.length === 0) return <div className="card-body faint">No API keys yet.</div>;
  return (
    <>
      {error !== undefined && (
        <div className="banner err" role="alert">
          {errorMessage(error)}
        </div>
      )}
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Key</th>
            <th>Status</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} data-testid={`key-row-${key.name}`} data-status={key.status}>
              <td>{key.name}</td>
              <td>{key.role}</td>
              <td className="mono faint">{key.prefix}…</td>
              <td>
                <span className={`pill ${STATUS_TONE[key.status]}`}>{key.status}</span>
              </td>
              <td className="muted">
                {formatDateTime(key.createdAt)} by {key.createdBy}
              </td>
              <td className="muted">{key.expiresAt === null ? "never" : formatDateTime(key.expiresAt)}</td>
              <td className="muted">{key.lastUsedAt === null ? "never" : <Ago at={key.lastUsedAt} />}</td>
              <td className="num">
                {key.status === "revoked" ? null : confirming === key.id ? (
                  <span className="silence-actions">
                    <button
                      type="button"
                      className="btn small danger"
                      disabled={busy === key.id}
                      onClick={() => void revoke(key.id)}
                    >
                      Revoke {key.name}
                    </button>
                    <button type="button" className="btn small ghost" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </span>
                ) : (
                  <button type="button" className="btn small" onClick={() => setConfirming(key.id)}>
                    Revoke…
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Active silences with who made them, until when, and a button to end each one. */
import type { SilenceView } from "@codex-fleet/protocol/api";
import { useState } from "react";
import { Ago } from "../../components/Ago.tsx";
import { ErrorState, LoadingState } from "../../components/StateViews.tsx";
import { apiSend, errorMessage } from "../../lib/api-client.ts";
import type { ApiQuery } from "../../lib/useApiQuery.ts";

/** "ruleId=approval-wait, threadId=…" */
export function describeMatchers(matchers: SilenceView["matchers"]): string {
  const parts = Object.entries(matchers)
    .filter(([, value]) => value)
    .map(([key, value]) => `${key}=${value}`);
  return parts.length > 0 ? parts.join(", ") : "everything";
}

/** Renders the silences query; a 404 (no silences endpoint) renders nothing. */
export function SilencesList({ query }: { query: ApiQuery<SilenceView[]> }) {
  const [deleting, setDeleting] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  if (query.data === undefined && query.loading) return <LoadingState rows={2} label="Loading silences…" />;
  if (query.data === undefined) {
    return <ErrorState compact title="Could not load silences" error={query.error} onRetry={query.reload} />;
  }
  const remove = async (id: string) => {
    setDeleting(id);
    setError(undefined);
    try {
      await apiSend(`/api/v1/silences/${encodeURIComponent(id)}`, { method: "DELETE" });
      query.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setDeleting(null);
    }
  };
  if (query.data.length === 0) return <div className="card-body faint">No active silences.</div>;
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
            <th>Matches</th>
            <th>Ends</th>
            <th>By</th>
            <th>Comment</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {query.data.map((silence) => (
            <tr key={silence.id} data-testid={`silence-row-${silence.id}`}>
              <td className="mono">{describeMatchers(silence.matchers)}</td>
              <td>
                <Ago at={silence.endsAt} />
              </td>
              <td className="muted">{silence.createdBy}</td>
              <td className="muted">{silence.comment || "—"}</td>
              <td className="num">
                <button
                  type="button"
                  className="btn small danger"
                  disabled={deleting === silence.id}
                  onClick={() => remove(silence.id)}
                >
                  End silence
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * Admin only: the configured receivers (name, type) with a "Send test" button each, showing how
 * the test went (ok, status, error, duration). A collector without the receivers API (404) says so.
 */
import {
  ReceiverListSchema,
  type ReceiverTestResult,
  ReceiverTestResultSchema,
} from "@codex-fleet/protocol/api";
import { type ReactNode, useState } from "react";
import { EmptyState, ErrorState, LoadingState } from "../../components/StateViews.tsx";
import { ApiRequestError, apiFetch, errorMessage } from "../../lib/api-client.ts";
import { useApiQuery } from "../../lib/useApiQuery.ts";

type TestState =
  | { busy: true }
  | { busy: false; result: ReceiverTestResult }
  | { busy: false; error: unknown };

/** The panel; render it only for admins. */
export function ReceiversPanel() {
  const query = useApiQuery("/api/v1/alerts/receivers", ReceiverListSchema);
  const [tests, setTests] = useState<Record<string, TestState>>({});

  const sendTest = async (name: string) => {
    setTests((t) => ({ ...t, [name]: { busy: true } }));
    try {
      const result = await apiFetch(
        `/api/v1/alerts/receivers/${encodeURIComponent(name)}/test`,
        ReceiverTestResultSchema,
        { method: "POST", body: {} },
      );
      setTests((t) => ({ ...t, [name]: { busy: false, result } }));
    } catch (error) {
      setTests((t) => ({ ...t, [name]: { busy: false, error } }));
    }
  };

  let body: ReactNode;
  if (query.error instanceof ApiRequestError && query.error.isNotFound) {
    body = (
      <p className="faint card-body" data-testid="receivers-unavailable">
        Receivers API not available on this collector.
      </p>
    );
  } else if (query.data === undefined) {
    body = query.loading ? (
      <LoadingState rows={2} label="Loading receivers…" />
    ) : (
      <ErrorState error={query.error} onRetry={query.reload} compact />
    );
  } else if (query.data.receivers.length === 0) {
    body = (
      <EmptyState title="No receivers configured" compact>
        <p className="faint">
          Add them under <code>alerts.notify</code> in the config file.
        </p>
      </EmptyState>
    );
  } else {
    body = (
      <table className="table">
        <thead>
          <tr>
            <th>Receiver</th>
            <th>Type</th>
            <th>Last test</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {query.data.receivers.map((receiver) => {
            const test = tests[receiver.name];
            return (
              <tr key={receiver.name} data-testid={`receiver-row-${receiver.name}`}>
                <td className="mono">{receiver.name}</td>
                <td>
                  <span className="chip neutral">{receiver.type}</span>
                </td>
                <td data-testid={`receiver-result-${receiver.name}`}>
                  <TestOutcome test={test} />
                </td>
                <td className="num">
                  <button
                    type="button"
                    className="btn small"
                    disabled={test?.busy === true}
                    aria-label={`Send test to ${receiver.name}`}
                    onClick={() => sendTest(receiver.name)}
                  >
                    Send test
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    );
  }
  return (
    <section aria-label="Receivers" data-testid="receivers-panel">
      <div className="section-title">Receivers</div>
      <div className="card table-wrap">{body}</div>
    </section>
  );
}

function TestOutcome({ test }: { test: TestState | undefined }) {
  if (test === undefined) return <span className="faint">—</span>;
  if (test.busy) return <span className="faint">sending…</span>;
  if ("error" in test) return <span className="pill err">{errorMessage(test.error)}</span>;
  const { ok, status, error, durationMs } = test.result;
  return (
    <span>
      <span className={`pill ${ok ? "ok" : "err"}`}>{ok ? "ok" : "failed"}</span>
      {status != null && <span className="mono"> {status}</span>}
      {error && <span className="muted"> {error}</span>}
      <span className="faint"> · {Math.round(durationMs)} ms</span>
    </span>
  );
}

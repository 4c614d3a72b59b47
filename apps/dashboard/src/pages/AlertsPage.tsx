/** Alerts: list and filter, acknowledge, silence; says so plainly when alerts are not enabled. */
import {
  type AlertAckRequest,
  AlertListSchema,
  type AlertView,
  SilenceListSchema,
} from "@codex-fleet/protocol/api";
import { Fragment, useState } from "react";
import { Ago, Elapsed } from "../components/Ago.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { SeverityPill } from "../components/StatusPill.tsx";
import { ApiRequestError, apiSend, errorMessage, withQuery } from "../lib/api-client.ts";
import { Link, useSearchParams } from "../lib/router.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { SilenceForm } from "./alerts/SilenceForm.tsx";
import { SilencesList } from "./alerts/SilencesList.tsx";

const STATES = ["firing", "pending", "resolved", "all"] as const;
type StateFilter = (typeof STATES)[number];
const USER_KEY = "codex-fleet.user";
const severityRank = { critical: 0, warning: 1, info: 2 } as const;

function readUser(): string {
  try {
    return window.localStorage.getItem(USER_KEY) ?? "";
  } catch {
    return "";
  }
}

/** REST rows overlaid with newer live upserts, filtered and sorted (most severe, oldest first). */
export function mergeAlerts(
  rest: AlertView[],
  live: Iterable<AlertView>,
  state: StateFilter,
  severity: string | null,
): AlertView[] {
  const byId = new Map(rest.map((alert) => [alert.id, alert]));
  for (const alert of live) byId.set(alert.id, alert);
  return [...byId.values()]
    .filter(
      (alert) => (state === "all" || alert.state === state) && (!severity || alert.severity === severity),
    )
    .sort(
      (a, b) =>
        severityRank[a.severity] - severityRank[b.severity] || a.pendingSince.localeCompare(b.pendingSince),
    );
}

/** The alerts page. */
export function AlertsPage() {
  const [search, setSearch] = useSearchParams();
  const stateParam = search.get("state");
  const state: StateFilter = STATES.includes(stateParam as StateFilter)
    ? (stateParam as StateFilter)
    : "firing";
  const severity = search.get("severity");
  const { data: live } = useLive();
  const alerts = useApiQuery(
    withQuery("/api/v1/alerts", { state: state === "all" ? null : state }),
    AlertListSchema,
  );
  const silences = useApiQuery("/api/v1/silences", SilenceListSchema);
  const [user, setUser] = useState(readUser);
  const [silencing, setSilencing] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(undefined);

  const saveUser = (name: string) => {
    setUser(name);
    try {
      window.localStorage.setItem(USER_KEY, name);
    } catch {
      // storage disabled: keep the name for this page only
    }
  };

  if (alerts.error instanceof ApiRequestError && alerts.error.isNotFound) return <AlertsDisabled />;
  const header = (
    <div className="page-head">
      <h1>Alerts</h1>
      <span className="spacer" />
      <fieldset className="segmented" aria-label="Alert state">
        {STATES.map((value) => (
          <button
            key={value}
            type="button"
            aria-pressed={state === value}
            onClick={() => setSearch({ state: value === "firing" ? null : value })}
          >
            {value[0]?.toUpperCase()}
            {value.slice(1)}
          </button>
        ))}
      </fieldset>
      <select
        className="select"
        aria-label="Severity"
        value={severity ?? ""}
        onChange={(event) => setSearch({ severity: event.target.value })}
      >
        <option value="">All severities</option>
        <option value="critical">Critical</option>
        <option value="warning">Warning</option>
        <option value="info">Info</option>
      </select>
      <input
        className="input"
        aria-label="Your name"
        placeholder="Your name (for ack)"
        value={user}
        onChange={(event) => saveUser(event.target.value)}
        style={{ width: 160 }}
      />
    </div>
  );
  if (alerts.data === undefined) {
    return (
      <>
        {header}
        <div className="card">
          {alerts.loading ? (
            <LoadingState rows={4} label="Loading alerts…" />
          ) : (
            <ErrorState error={alerts.error} onRetry={alerts.reload} />
          )}
        </div>
      </>
    );
  }

  const rows = mergeAlerts(alerts.data, live.alerts.values(), state, severity);
  const ack = async (alert: AlertView) => {
    setActionError(undefined);
    try {
      const body: AlertAckRequest = { by: user.trim() };
      await apiSend(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, { method: "POST", body });
      alerts.reload();
    } catch (error) {
      setActionError(error);
    }
  };

  return (
    <>
      {header}
      {actionError !== undefined && (
        <div className="banner err" role="alert">
          {errorMessage(actionError)}
        </div>
      )}
      <div className="card table-wrap">
        {rows.length === 0 ? (
          <EmptyState
            title={state === "firing" ? "No firing alerts" : `No ${state === "all" ? "" : `${state} `}alerts`}
            compact
          >
            <p className="faint">{state === "firing" ? "All quiet." : "Try another filter."}</p>
          </EmptyState>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Alert</th>
                <th>Subject</th>
                <th>State</th>
                <th>Acknowledged</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((alert) => (
                <Fragment key={alert.id}>
                  <tr data-testid={`alert-row-${alert.id}`}>
                    <td>
                      <SeverityPill severity={alert.severity} />
                    </td>
                    <td>
                      <div className="cell-main">{alert.summary}</div>
                      <div className="cell-sub mono">
                        {alert.ruleId} · {alert.kind}
                        {alert.silenced && " · silenced"}
                      </div>
                    </td>
                    <td>
                      {alert.threadId ? (
                        <Link href={`/threads/${encodeURIComponent(alert.threadId)}`} className="nowrap">
                          {alert.target ? `${alert.target} / ` : ""}thread …{alert.threadId.slice(-8)}
                        </Link>
                      ) : (
                        <span>
                          {alert.subjectType} <b>{alert.subjectId}</b>
                        </span>
                      )}
                    </td>
                    <td className="nowrap">
                      <span
                        className={`pill ${alert.state === "firing" ? "err" : alert.state === "pending" ? "warn" : "plain"}`}
                      >
                        {alert.state}
                      </span>{" "}
                      <span className="faint">
                        {alert.state === "resolved" ? (
                          <Ago at={alert.resolvedAt} />
                        ) : (
                          <Elapsed since={alert.firingSince ?? alert.pendingSince} />
                        )}
                      </span>
                    </td>
                    <td className="muted">
                      {alert.ackBy ? (
                        <span title={alert.ackAt ?? undefined}>
                          {alert.ackBy} <Ago at={alert.ackAt} />
                        </span>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td className="num nowrap">
                      {alert.state !== "resolved" && !alert.ackBy && (
                        <button
                          type="button"
                          className="btn small"
                          disabled={!user.trim()}
                          title={user.trim() ? "Acknowledge" : "Enter your name first"}
                          onClick={() => ack(alert)}
                        >
                          Ack
                        </button>
                      )}{" "}
                      {alert.state !== "resolved" && (
                        <button
                          type="button"
                          className="btn small ghost"
                          onClick={() => setSilencing(silencing === alert.id ? null : alert.id)}
                        >
                          Silence…
                        </button>
                      )}
                    </td>
                  </tr>
                  {silencing === alert.id && (
                    <tr className="form-row">
                      <td colSpan={6} className="form-cell">
                        <SilenceForm
                          alert={alert}
                          by={user.trim()}
                          onCancel={() => setSilencing(null)}
                          onDone={() => {
                            setSilencing(null);
                            silences.reload();
                            alerts.reload();
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {!(silences.error instanceof ApiRequestError && silences.error.isNotFound) && (
        <>
          <div className="section-title">Silences</div>
          <div className="card table-wrap">
            <SilencesList query={silences} />
          </div>
        </>
      )}
    </>
  );
}

function AlertsDisabled() {
  return (
    <div className="card" data-testid="alerts-disabled">
      <EmptyState title="Alerts not enabled">
        <p>
          This collector does not serve alerts. Add rules under <code>alerts:</code> in its config file and
          restart it:
        </p>
        <pre className="snippet">{`alerts:
  rules:
    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000, severity: warning }
    - { id: turn-failed, kind: turnFailed, severity: critical }
    - { id: target-down, kind: targetUnreachable, forMs: 120000 }`}</pre>
      </EmptyState>
    </div>
  );
}

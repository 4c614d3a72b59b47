/**
 * Alerts: grouped as notifications group them (default) or as a flat list; filter, acknowledge
 * (as the signed-in user when auth is on, under a typed name when it is off), silence; admins can
 * send a test to each receiver. Says so plainly when alerts are not enabled.
 */
import {
  type AlertAckRequest,
  AlertGroupListSchema,
  AlertListSchema,
  type AlertView,
  SEVERITY_ORDER,
  SilenceListSchema,
} from "@codex-fleet/protocol/api";
import { useEffect, useRef, useState } from "react";
import { useAuth } from "../auth/AuthGate.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { ApiRequestError, apiSend, errorMessage, withQuery } from "../lib/api-client.ts";
import { useSearchParams } from "../lib/router.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { AlertGroups } from "./alerts/AlertGroups.tsx";
import { AlertTable } from "./alerts/AlertTable.tsx";
import { groupsQueryState, overlayGroups, unknownOpenAlerts } from "./alerts/alert-groups.ts";
import { ReceiversPanel } from "./alerts/ReceiversPanel.tsx";
import { SilencesList } from "./alerts/SilencesList.tsx";

const STATES = ["firing", "pending", "resolved", "all"] as const;
type StateFilter = (typeof STATES)[number];
const USER_KEY = "codex-fleet.user";
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
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
        a.pendingSince.localeCompare(b.pendingSince),
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
  const grouped = search.get("view") !== "flat";
  const auth = useAuth();
  // Tests render <App/> without <AuthGate>: that is auth off, like a loopback collector.
  const signedIn = auth?.me.authEnabled === true;
  const role = auth?.me.role ?? "admin";
  const { data: live } = useLive();
  const alerts = useApiQuery(
    grouped ? null : withQuery("/api/v1/alerts", { state: state === "all" ? null : state }),
    AlertListSchema,
  );
  const groups = useApiQuery(
    grouped
      ? withQuery("/api/v1/alerts/groups", { state: groupsQueryState(state) === "all" ? "all" : null })
      : null,
    AlertGroupListSchema,
  );
  const silences = useApiQuery("/api/v1/silences", SilenceListSchema);
  const [user, setUser] = useState(readUser);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const query = grouped ? groups : alerts;

  // The live feed carries single alerts; one no group holds yet (a new alert) means refetch the
  // groups, once per new set of ids, so a group the collector has not formed yet cannot loop.
  const refetchedFor = useRef("");
  const groupsReload = groups.reload;
  useEffect(() => {
    if (!grouped || groups.data === undefined || groups.loading) return;
    const unknown = unknownOpenAlerts(groups.data.groups, live.alerts.values()).join(",");
    if (unknown === "" || unknown === refetchedFor.current) return;
    refetchedFor.current = unknown;
    groupsReload();
  }, [grouped, groups.data, groups.loading, live.alerts, groupsReload]);

  const saveUser = (name: string) => {
    setUser(name);
    try {
      window.localStorage.setItem(USER_KEY, name);
    } catch {
      // storage disabled: keep the name for this page only
    }
  };

  if (query.error instanceof ApiRequestError && query.error.isNotFound) return <AlertsDisabled />;
  const header = (
    <div className="page-head">
      <h1>Alerts</h1>
      <span className="spacer" />
      <fieldset className="segmented" aria-label="Alert view">
        <button type="button" aria-pressed={grouped} onClick={() => setSearch({ view: null })}>
          Grouped
        </button>
        <button type="button" aria-pressed={!grouped} onClick={() => setSearch({ view: "flat" })}>
          Flat
        </button>
      </fieldset>
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
      {!signedIn && (
        <input
          className="input"
          aria-label="Your name"
          placeholder="Your name (for ack)"
          value={user}
          onChange={(event) => saveUser(event.target.value)}
          style={{ width: 160 }}
        />
      )}
    </div>
  );
  const rest = (
    <>
      {role === "admin" && <ReceiversPanel />}
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
  if (query.data === undefined) {
    return (
      <>
        {header}
        <div className="card">
          {query.loading ? (
            <LoadingState rows={4} label="Loading alerts…" />
          ) : (
            <ErrorState error={query.error} onRetry={query.reload} />
          )}
        </div>
      </>
    );
  }

  const ack = {
    enabled: signedIn || user.trim() !== "",
    hint: signedIn ? `Acknowledge as ${role}` : user.trim() ? "Acknowledge" : "Enter your name first",
    onAck: async (alert: AlertView) => {
      setActionError(undefined);
      const path = `/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`;
      try {
        // Signed in: the collector records the signed-in identity; the name is asked only when auth is off.
        const body: AlertAckRequest = signedIn ? {} : { by: user.trim() };
        await apiSend(path, { method: "POST", body });
        query.reload();
      } catch (error) {
        setActionError(error);
      }
    },
  };
  const silenceBy = signedIn ? role : user.trim();
  const onSilenced = () => {
    silences.reload();
    query.reload();
  };
  const shownGroups = groups.data ? overlayGroups(groups.data.groups, live.alerts, state, severity) : [];
  const rows = alerts.data ? mergeAlerts(alerts.data, live.alerts.values(), state, severity) : [];
  const empty = grouped ? shownGroups.length === 0 : rows.length === 0;

  return (
    <>
      {header}
      {actionError !== undefined && (
        <div className="banner err" role="alert">
          {errorMessage(actionError)}
        </div>
      )}
      <div className="card table-wrap">
        {empty ? (
          <EmptyState
            title={state === "firing" ? "No firing alerts" : `No ${state === "all" ? "" : `${state} `}alerts`}
            compact
          >
            <p className="faint">{state === "firing" ? "All quiet." : "Try another filter."}</p>
          </EmptyState>
        ) : grouped ? (
          <AlertGroups groups={shownGroups} ack={ack} silenceBy={silenceBy} onSilenced={onSilenced} />
        ) : (
          <AlertTable alerts={rows} ack={ack} silenceBy={silenceBy} onSilenced={onSilenced} />
        )}
      </div>
      {rest}
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

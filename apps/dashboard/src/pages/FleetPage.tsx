/** Fleet (home): what every developer's codex is doing right now, and what needs a person. */
import { ActivityResponseSchema } from "@codex-fleet/protocol/activity";
import { useState } from "react";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { formatDateTime } from "../lib/format.ts";
import { limitRowsByTarget } from "../lib/plan-limits.ts";
import { useSearchParams } from "../lib/router.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { activityUrl, todayWindow, waitingMs } from "./activity/activity-params.ts";
import { AttentionPanel } from "./fleet/AttentionPanel.tsx";
import { FleetEmpty } from "./fleet/FleetEmpty.tsx";
import { FleetTable } from "./fleet/FleetTable.tsx";
import {
  attentionList,
  countFleet,
  groupByTarget,
  parseFleetFilter,
  teamsOf,
  threadCountsByTarget,
} from "./fleet/fleet-model.ts";
import { StatusTiles } from "./fleet/StatusTiles.tsx";

/** The home page. Reads the live feed (REST fallback while it is down). */
export function FleetPage() {
  const { data, connection, fallbackError, retry } = useLive();
  const [search, setSearch] = useSearchParams();
  const filter = parseFleetFilter(search);
  // Today's waiting on people per developer (UTC day so far), read once per visit: a figure to
  // glance at beside the live state, not a live counter.
  const [nowMs] = useState(() => Date.now());
  const waitedQuery = useApiQuery(
    activityUrl(todayWindow(nowMs), ["target"], { team: null, target: null, model: null, repo: null }),
    ActivityResponseSchema,
  );
  const waitedToday = new Map(
    (waitedQuery.data?.rows ?? []).map((row) => [row.target ?? "", waitingMs(row)] as const),
  );

  if (data.source === "none") {
    if (fallbackError !== undefined) {
      return <ErrorState title="Could not reach the collector" error={fallbackError} onRetry={retry} />;
    }
    return <LoadingState label="Connecting to the live feed…" />;
  }

  const targets = [...data.targets.values()];
  const threads = [...data.threads.values()];
  const alerts = [...data.alerts.values()];
  if (targets.length === 0 && threads.length === 0) return <FleetEmpty />;

  const counts = countFleet(threads, targets);
  const groups = groupByTarget(targets, threads, filter);
  const attention = attentionList(threads.filter((thread) => !filter.team || thread.team === filter.team));
  const teams = teamsOf(targets, threads);

  return (
    <>
      <div className="page-head">
        <h1>Fleet</h1>
        <span className="faint">
          {targets.length} target{targets.length === 1 ? "" : "s"} · {threads.length} thread
          {threads.length === 1 ? "" : "s"}
        </span>
        <span className="spacer" />
        <label className="field">
          <span className="visually-hidden">Team</span>
          <select
            className="select"
            value={filter.team ?? ""}
            onChange={(event) => setSearch({ team: event.target.value })}
            aria-label="Team"
          >
            <option value="">All teams</option>
            {teams.map((team) => (
              <option key={team} value={team}>
                {team}
              </option>
            ))}
          </select>
        </label>
        <input
          className="input"
          type="search"
          placeholder="Filter threads, repos, branches…"
          aria-label="Filter threads"
          value={search.get("q") ?? ""}
          onChange={(event) => setSearch({ q: event.target.value })}
          style={{ width: 240 }}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={filter.showUnloaded}
            onChange={(event) => setSearch({ unloaded: event.target.checked ? "1" : null })}
          />
          Show not loaded ({counts.notLoaded})
        </label>
      </div>

      {data.source === "rest" && (
        <div className="banner warn" role="status" data-testid="fleet-stale-banner">
          Live feed disconnected — showing the state loaded at {formatDateTime(data.loadedAtMs)}; reconnecting
          automatically.
          <span className="spacer" />
          <button type="button" className="btn small" onClick={retry}>
            Retry now
          </button>
        </div>
      )}
      {data.source === "snapshot" && connection.state !== "open" && (
        <div className="banner warn" role="status" data-testid="fleet-stale-banner">
          Live updates paused ({connection.lastError ?? "reconnecting"}): statuses may be out of date.
          <span className="spacer" />
          <button type="button" className="btn small" onClick={retry}>
            Reconnect now
          </button>
        </div>
      )}

      {data.threadsTotal !== null && data.threadsTotal > threads.length && (
        <div className="banner" role="status" data-testid="fleet-truncated-note">
          Showing {threads.length.toLocaleString("en-US")} of {data.threadsTotal.toLocaleString("en-US")}{" "}
          threads: the most relevant (active, errored, then most recent). Open a thread by its link or use the
          API's paged /api/v1/threads for the rest.
        </div>
      )}

      <StatusTiles counts={counts} selected={filter.status} onSelect={(status) => setSearch({ status })} />
      <AttentionPanel threads={attention} />

      <div className="section-title">
        Targets and threads
        <span className="spacer" />
        {filter.status && (
          <button type="button" className="btn ghost small" onClick={() => setSearch({ status: null })}>
            Clear status filter
          </button>
        )}
      </div>
      {groups.length === 0 ? (
        <div className="card">
          <EmptyState title="Nothing matches these filters" compact>
            <button
              type="button"
              className="btn"
              onClick={() => setSearch({ status: null, q: null, team: null })}
            >
              Clear filters
            </button>
          </EmptyState>
        </div>
      ) : (
        <FleetTable
          groups={groups}
          alerts={alerts}
          counts={threadCountsByTarget(threads)}
          waitedToday={waitedToday}
          limits={limitRowsByTarget(data.limits.rows.values())}
          onShowUnloaded={() => setSearch({ unloaded: "1" })}
        />
      )}
    </>
  );
}

/**
 * Plan limits (issue 14): each developer's ChatGPT-plan usage windows, most urgent first, with
 * reset times and forecasts; a chart of one window over time; the developers whose app-server
 * cannot report them. Rows come from the live store (GET /api/v1/limits after every (re)connect,
 * then live `limits` messages), so the page moves without a reload.
 */
import { ExportLinks } from "../components/ExportLinks.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { sortLimitRows } from "../lib/plan-limits.ts";
import { useSearchParams } from "../lib/router.tsx";
import { useLive } from "../live/LiveProvider.tsx";
import { LimitHistoryCard } from "./limits/LimitHistoryCard.tsx";
import { LimitsTable } from "./limits/LimitsTable.tsx";
import { chartPatch, filterRows, limitsUrl, parseLimitsParams } from "./limits/limits-params.ts";

/** Where the figures come from, for the empty state and the page's note. */
function SourceNote() {
  return (
    <p className="faint" style={{ maxWidth: 720 }}>
      Each developer's codex app-server reports their plan's usage windows (usually a 5-hour and a weekly
      window) and credits: the collector asks at connect and every few minutes, and codex adds a report after
      each model response. Developers signed in with ChatGPT report windows; an API-key sign-in has none.
    </p>
  );
}

/** The /limits page (lazy-loaded: its chart brings recharts). */
export default function LimitsPage() {
  const { data, connection, limitsError, reloadLimits } = useLive();
  const [search, setSearch] = useSearchParams();
  const params = parseLimitsParams(search);
  const { limits } = data;

  if (limits.status === "absent") {
    return (
      <EmptyState title="This collector does not serve plan limits">
        <p className="faint">
          Its version has no /api/v1/limits. Update the collector to see plan windows here.
        </p>
      </EmptyState>
    );
  }
  if (limits.status === "none") {
    return limitsError !== undefined ? (
      <ErrorState title="Could not load plan limits" error={limitsError} onRetry={reloadLimits} />
    ) : (
      <LoadingState label="Loading plan limits…" />
    );
  }

  const all = sortLimitRows(limits.rows.values());
  const rows = filterRows(all, params);
  const unavailable = limits.unavailable.filter(
    (u) =>
      (!params.team || u.team === params.team) &&
      (!params.q.trim() || u.target.toLowerCase().includes(params.q.trim().toLowerCase())),
  );
  const teams = [...new Set([...all.map((r) => r.team), ...limits.unavailable.map((u) => u.team)])]
    .filter(Boolean)
    .sort();
  const developers = new Set(rows.map((r) => r.target)).size;
  const hasFilters = Boolean(params.team || params.q);

  return (
    <>
      <div className="page-head">
        <h1>Plan limits</h1>
        <span className="faint" data-testid="limits-count">
          {developers} developer{developers === 1 ? "" : "s"} · {rows.length} limit
          {rows.length === 1 ? "" : "s"}
        </span>
        <span className="spacer" />
        <label className="field">
          <span className="visually-hidden">Team</span>
          <select
            className="select"
            aria-label="Team"
            value={params.team ?? ""}
            onChange={(event) => setSearch({ team: event.target.value })}
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
          placeholder="Find a developer…"
          aria-label="Find a developer"
          value={params.q}
          onChange={(event) => setSearch({ q: event.target.value })}
          style={{ width: 200 }}
        />
        <ExportLinks
          csv={limitsUrl(params.team, "csv")}
          json={limitsUrl(params.team, "json")}
          testId="export-limits"
        />
      </div>

      {connection.state !== "open" && (
        <div className="banner warn" role="status">
          Live updates paused ({connection.lastError ?? "reconnecting"}): figures may be out of date.
        </div>
      )}
      {limitsError !== undefined && (
        <div className="banner err" role="alert">
          Refresh failed; showing the figures loaded before.
          <span className="spacer" />
          <button type="button" className="btn small" onClick={reloadLimits}>
            Retry
          </button>
        </div>
      )}

      {params.chart && (
        <LimitHistoryCard
          chart={params.chart}
          rows={all}
          onChange={(patch) => setSearch(patch)}
          onClose={() => setSearch({ chart: null, limit: null, window: null, range: null })}
        />
      )}

      {rows.length > 0 ? (
        <LimitsTable
          rows={rows}
          chart={params.chart}
          onChart={(row, window) => setSearch(chartPatch(row, window))}
        />
      ) : (
        <div className="card" data-testid="limits-empty">
          {all.length > 0 ? (
            <EmptyState title="No developer matches these filters" compact>
              <button type="button" className="btn" onClick={() => setSearch({ team: null, q: null })}>
                Clear filters
              </button>
            </EmptyState>
          ) : (
            <EmptyState title="No plan limits reported yet">
              <SourceNote />
            </EmptyState>
          )}
        </div>
      )}

      {unavailable.length > 0 && (
        <div className="card" style={{ marginTop: 14 }} data-testid="limits-unavailable">
          <div className="card-head">
            <h2>Not available</h2>
            <span className="faint">signed in with an API key: plan limits are not available</span>
          </div>
          <div className="card-body">
            <ul className="plain-list">
              {unavailable.map((u) => (
                <li key={u.target} data-testid={`limits-unavailable-${u.target}`} title={u.reason}>
                  <b>{u.target}</b> {u.team && <span className="chip neutral">{u.team}</span>}{" "}
                  <span className="faint">{u.reason}</span>
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}
      {rows.length > 0 && !hasFilters && <SourceNote />}
    </>
  );
}

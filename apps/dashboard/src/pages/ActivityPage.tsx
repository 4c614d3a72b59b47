/**
 * Activity: how much the team used Codex, how turns went, and how much agent time was lost
 * waiting on people (GET /api/v1/activity). URL state is the Usage page's: range, from/to, filters.
 */
import { ActivityResponseSchema } from "@codex-fleet/protocol/activity";
import { FailuresResponseSchema } from "@codex-fleet/protocol/api";
import { type ReactNode, useState } from "react";
import { ExportLinks } from "../components/ExportLinks.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { useSearchParams } from "../lib/router.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { ActiveThreadsChart, TurnDurationChart, TurnsChart } from "./activity/ActivityCharts.tsx";
import { ActivityKpis } from "./activity/ActivityKpis.tsx";
import { activityUrl } from "./activity/activity-params.ts";
import { activitySeries } from "./activity/activity-series.ts";
import { WaitingTable } from "./activity/WaitingTable.tsx";
import { FailureReasons } from "./usage/FailureReasons.tsx";
import { bucketLabel } from "./usage/UsageChart.tsx";
import { UsageFilters } from "./usage/UsageFilters.tsx";
import {
  bucketStarts,
  FILTER_KEYS,
  type FilterKey,
  failuresUrl,
  parseUsageParams,
  usageWindow,
  type Window,
} from "./usage/usage-params.ts";

function windowLabel(view: Window, range: string): string {
  if (range === "24h") return "Last 24 hours · hourly";
  const from = bucketLabel(view.fromMs, "day");
  const to = bucketLabel(view.toMs - 1, "day");
  const span = from === to ? from : `${from} – ${to}`;
  return view.bucket === "day" ? `${span} · daily (UTC)` : `${span} (UTC) · hourly`;
}

/** The activity page (lazy-loaded: it brings recharts). */
export default function ActivityPage() {
  const [search, setSearch] = useSearchParams();
  const params = parseUsageParams(search);
  const { data: live } = useLive();

  // "Now" for relative ranges, re-read whenever the view changes (no polling).
  const viewKey = search.toString();
  const [anchor, setAnchor] = useState(() => ({ key: viewKey, ms: Date.now() }));
  if (anchor.key !== viewKey) setAnchor({ key: viewKey, ms: Date.now() });

  const view = usageWindow(params, anchor.ms);
  const filters = params.filters;
  const series = useApiQuery(activityUrl(view, [view.bucket], filters), ActivityResponseSchema);
  const byTarget = useApiQuery(activityUrl(view, ["target"], filters), ActivityResponseSchema);
  const byTeam = useApiQuery(activityUrl(view, ["team"], filters), ActivityResponseSchema);
  const failureSeries = useApiQuery(failuresUrl(view, [view.bucket], filters), FailuresResponseSchema);
  const failureTable = useApiQuery(failuresUrl(view, ["target", "model"], filters), FailuresResponseSchema);

  const targets = [...live.targets.values()];
  const threads = [...live.threads.values()];
  const known: Record<FilterKey, (string | null | undefined)[]> = {
    team: [...targets.map((t) => t.team), ...(byTeam.data?.rows.map((r) => r.team) ?? [])],
    target: [...targets.map((t) => t.name), ...(byTarget.data?.rows.map((r) => r.target) ?? [])],
    model: threads.map((t) => t.model),
    repo: threads.map((t) => t.repo),
  };
  const options = {} as Record<FilterKey, string[]>;
  for (const key of FILTER_KEYS) {
    const values = [...known[key], filters[key]].filter((value): value is string => Boolean(value));
    options[key] = [...new Set(values)].sort();
  }
  const hasFilters = FILTER_KEYS.some((key) => filters[key]);
  const reloadAll = () => {
    for (const query of [series, byTarget, byTeam, failureSeries, failureTable]) query.reload();
  };
  const fromDay = new Date(view.fromMs).toISOString().slice(0, 10);
  const toDay = new Date(view.toMs - 1).toISOString().slice(0, 10);
  const starts = bucketStarts(view);

  let body: ReactNode;
  if (series.data === undefined) {
    body = (
      <div className="card">
        {series.loading ? (
          <LoadingState rows={6} label="Loading activity…" />
        ) : (
          <ErrorState title="Could not load activity" error={series.error} onRetry={reloadAll} />
        )}
      </div>
    );
  } else if (
    series.data.rows.length === 0 &&
    series.data.totals.turnsStarted === 0 &&
    series.data.totals.workingMs +
      series.data.totals.waitingOnApprovalMs +
      series.data.totals.waitingOnInputMs ===
      0
  ) {
    body = (
      <div className="card" data-testid="activity-empty">
        <EmptyState title="No activity in this window">
          <p className="faint">Turns and waits appear here as soon as a watched thread starts working.</p>
          {hasFilters && (
            <button
              type="button"
              className="btn"
              onClick={() => setSearch({ team: null, target: null, model: null, repo: null })}
            >
              Clear filters
            </button>
          )}
        </EmptyState>
      </div>
    );
  } else {
    const points = activitySeries(series.data.rows, view.bucket, starts);
    const per = view.bucket === "hour" ? "hour" : "day";
    body = (
      <>
        {series.error !== undefined && (
          <div className="banner err" role="alert">
            Refresh failed; showing the previous figures.
            <span className="spacer" />
            <button type="button" className="btn small" onClick={reloadAll}>
              Retry
            </button>
          </div>
        )}
        <ActivityKpis totals={series.data.totals} range={params.range} />
        <div className="grid-2" style={{ marginBottom: 14 }}>
          <div className="card">
            <div className="card-head">
              <h2>Turns per {per}</h2>
              <span className="faint">by outcome</span>
            </div>
            <div className="card-body chart-body" data-testid="activity-turns-chart">
              <TurnsChart points={points} bucket={view.bucket} />
            </div>
          </div>
          <div className="card">
            <div className="card-head">
              <h2>Active threads</h2>
              <span className="faint">working or waiting, at once</span>
            </div>
            <div className="card-body chart-body" data-testid="activity-active-chart">
              <ActiveThreadsChart points={points} bucket={view.bucket} />
            </div>
          </div>
        </div>
        <div className="card" style={{ marginBottom: 14 }} data-testid="activity-waiting-card">
          <div className="card-head">
            <h2>Waiting on people</h2>
            <span className="faint">approvals and questions; observed time only, percentiles estimated</span>
            <span className="spacer" />
            <ExportLinks
              csv={activityUrl(view, ["target"], filters, "csv")}
              json={activityUrl(view, ["target"], filters, "json")}
              testId="export-waiting"
            />
          </div>
          <div className="grid-2">
            {(
              [
                ["target", byTarget],
                ["team", byTeam],
              ] as const
            ).map(([by, query]) => (
              <div key={by}>
                {query.data !== undefined ? (
                  <WaitingTable rows={query.data.rows} by={by} />
                ) : query.loading ? (
                  <LoadingState rows={3} label={`Loading waiting per ${by}…`} />
                ) : (
                  <ErrorState compact error={query.error} onRetry={query.reload} />
                )}
              </div>
            ))}
          </div>
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Turn duration</h2>
            <span className="faint">p50 and p90 per {per}, estimated from histogram buckets</span>
          </div>
          <div className="card-body chart-body" data-testid="activity-duration-chart">
            <TurnDurationChart points={points} bucket={view.bucket} />
          </div>
        </div>
        <FailureReasons
          series={failureSeries}
          table={failureTable}
          bucket={view.bucket}
          bucketStarts={starts}
          exportBase={`codex-activity_${fromDay}_${toDay}`}
        />
      </>
    );
  }

  return (
    <>
      <div className="page-head">
        <h1>Activity</h1>
        <span className="faint" data-testid="activity-window">
          {windowLabel(view, params.range)}
        </span>
        <span className="spacer" />
        {series.loading && series.data && <span className="spinner" role="status" aria-label="Refreshing" />}
        <ExportLinks
          csv={activityUrl(view, [view.bucket], filters, "csv")}
          json={activityUrl(view, [view.bucket], filters, "json")}
          testId="export-activity"
        />
      </div>
      <UsageFilters
        params={params}
        options={options}
        todayDay={new Date(anchor.ms).toISOString().slice(0, 10)}
        onChange={(patch) => setSearch(patch, { replace: false })}
      />
      {body}
    </>
  );
}

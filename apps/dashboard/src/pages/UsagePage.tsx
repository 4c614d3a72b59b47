/** Usage & cost: tokens and spend over time by model/developer/team/repo, spenders, models, export. */
import {
  type FailuresResponse,
  FailuresResponseSchema,
  type UsageResponse,
  UsageResponseSchema,
  type UsageRow,
} from "@codex-fleet/protocol/api";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { ExportButtons } from "../components/ExportButtons.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import type { ExportColumn } from "../lib/export-file.ts";
import { useSearchParams } from "../lib/router.tsx";
import { type ApiQuery, useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import type { LiveData } from "../live/live-store.ts";
import { BudgetsPanel } from "./usage/BudgetsPanel.tsx";
import { FailureReasons } from "./usage/FailureReasons.tsx";
import { ModelsTable } from "./usage/ModelsTable.tsx";
import { PricingNote } from "./usage/PricingNote.tsx";
import { SpendersTable } from "./usage/SpendersTable.tsx";
import { bucketLabel, UsageChart } from "./usage/UsageChart.tsx";
import { ChartControls, UsageFilters } from "./usage/UsageFilters.tsx";
import { UsageKpis } from "./usage/UsageKpis.tsx";
import {
  bucketStarts,
  FILTER_KEYS,
  type FilterKey,
  failuresUrl,
  parseUsageParams,
  type Stack,
  TOP_SPENDERS,
  usageUrl,
  usageWindow,
  type Window,
} from "./usage/usage-params.ts";
import { MAX_SERIES, NONE_KEY, OTHER_KEY, pricing, rankRows, stackSeries } from "./usage/usage-series.ts";

/** Live usage ticks refresh a relative range at most this often (no polling otherwise). */
const REFRESH_MIN_MS = 15_000;
const STACK_TITLE: Record<Stack, string> = {
  model: "model",
  target: "developer",
  team: "team",
  repo: "repo",
  rootThread: "root thread",
};

function seriesColumns(bucket: "hour" | "day", stack: Stack): ExportColumn<UsageRow>[] {
  return [
    { header: bucket, value: (row) => row[bucket] ?? null },
    { header: stack === "target" ? "developer" : stack, value: (row) => row[stack] ?? NONE_KEY },
    { header: "turns", value: (row) => row.turns },
    { header: "failedTurns", value: (row) => row.failedTurns },
    { header: "inputTokens", value: (row) => row.inputTokens },
    { header: "cachedInputTokens", value: (row) => row.cachedInputTokens },
    { header: "outputTokens", value: (row) => row.outputTokens },
    { header: "reasoningOutputTokens", value: (row) => row.reasoningOutputTokens },
    { header: "totalTokens", value: (row) => row.totalTokens },
    { header: "costUsd", value: (row) => (pricing(row) === "unpriced" ? null : row.costUsd) },
    { header: "unpricedTokens", value: (row) => row.unpricedTokens },
  ];
}

/** "Last 24 hours · hourly", "Nov 15 – Nov 21 · daily (UTC)", custom hourly spans with dates. */
function windowLabel(view: Window, range: string): string {
  if (range === "24h") return "Last 24 hours · hourly";
  const from = bucketLabel(view.fromMs, "day");
  const to = bucketLabel(view.toMs - 1, "day");
  const span = from === to ? from : `${from} – ${to}`;
  return view.bucket === "day" ? `${span} · daily (UTC)` : `${span} (UTC) · hourly`;
}

/**
 * Values each filter select offers: known targets, teams, models and repos from the live feed,
 * every value present in the loaded rows, and the current selection (so it never disappears).
 */
function filterOptions(
  live: LiveData,
  rows: UsageRow[],
  selected: Record<FilterKey, string | null>,
): Record<FilterKey, string[]> {
  const targets = [...live.targets.values()];
  const threads = [...live.threads.values()];
  const known: Record<FilterKey, (string | null | undefined)[]> = {
    team: targets.map((target) => target.team),
    target: targets.map((target) => target.name),
    model: threads.map((thread) => thread.model),
    repo: threads.map((thread) => thread.repo),
  };
  const lists = {} as Record<FilterKey, string[]>;
  for (const key of FILTER_KEYS) {
    const values = [...known[key], ...rows.map((row) => row[key]), selected[key]];
    lists[key] = [...new Set(values.filter((value): value is string => Boolean(value)))].sort();
  }
  return lists;
}

/** The usage page (lazy-loaded: it brings recharts). */
export default function UsagePage() {
  const [search, setSearch] = useSearchParams();
  const params = parseUsageParams(search);
  const { data: live } = useLive();

  // "Now" for relative ranges: re-read whenever the view changes, and on live usage ticks.
  const viewKey = search.toString();
  const [anchor, setAnchor] = useState(() => ({ key: viewKey, ms: Date.now() }));
  if (anchor.key !== viewKey) setAnchor({ key: viewKey, ms: Date.now() });
  const lastRefresh = useRef(anchor.ms);
  useEffect(() => {
    if (live.usageVersion === 0 || params.range === "custom") return;
    const wait = Math.max(0, REFRESH_MIN_MS - (Date.now() - lastRefresh.current));
    const timer = setTimeout(() => {
      lastRefresh.current = Date.now();
      setAnchor((current) => ({ ...current, ms: Date.now() }));
    }, wait);
    return () => clearTimeout(timer);
  }, [live.usageVersion, params.range]);

  const view = usageWindow(params, anchor.ms);
  // The API ranks the series over the window and folds the rest into "Other" per bucket: the chart
  // (7 series and Other) is exact however many developers or repos there are, 31 × 8 rows for a
  // month, and its export is those rows.
  const series = useApiQuery(
    usageUrl(view, [view.bucket, params.stack], params.filters, { sort: params.metric, top: MAX_SERIES - 1 }),
    UsageResponseSchema,
  );
  // The API ranks the developers by the chosen metric and sends the top ones, unless "Show all".
  const [allSpenders, setAllSpenders] = useState(false);
  const spenders = useApiQuery(
    usageUrl(view, ["target", "team"], params.filters, {
      sort: params.metric,
      limit: allSpenders ? undefined : TOP_SPENDERS,
    }),
    UsageResponseSchema,
  );
  const models = useApiQuery(usageUrl(view, ["model"], params.filters), UsageResponseSchema);
  const failureSeries = useApiQuery(failuresUrl(view, [view.bucket], params.filters), FailuresResponseSchema);
  const failureTable = useApiQuery(
    failuresUrl(view, ["target", "model"], params.filters),
    FailuresResponseSchema,
  );

  const optionLists = filterOptions(
    live,
    [series, spenders, models].flatMap((query) => query.data?.rows ?? []),
    params.filters,
  );

  const reloadAll = () => {
    series.reload();
    spenders.reload();
    models.reload();
    failureSeries.reload();
    failureTable.reload();
  };
  const hasFilters = FILTER_KEYS.some((key) => params.filters[key]);
  const fromDay = new Date(view.fromMs).toISOString().slice(0, 10);
  const toDay = new Date(view.toMs - 1).toISOString().slice(0, 10);
  const exportBase = `codex-usage_${fromDay}_${toDay}`;
  const linkWith = (patch: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(patch)) next.set(key, value);
    return `/usage?${next.toString()}`;
  };

  return (
    <>
      <div className="page-head">
        <h1>Usage &amp; cost</h1>
        <span className="faint" data-testid="usage-window">
          {windowLabel(view, params.range)}
        </span>
        <span className="spacer" />
        {(series.loading || spenders.loading || models.loading) && series.data && (
          <span className="spinner" role="status" aria-label="Refreshing" />
        )}
      </div>
      <BudgetsPanel />
      <UsageFilters
        params={params}
        options={optionLists}
        todayDay={new Date(anchor.ms).toISOString().slice(0, 10)}
        onChange={(patch) => setSearch(patch, { replace: false })}
      />
      <UsageBody
        series={series}
        view={view}
        params={params}
        spenders={spenders}
        showAllSpenders={() => setAllSpenders(true)}
        models={models}
        failures={{ series: failureSeries, table: failureTable }}
        reloadAll={reloadAll}
        hasFilters={hasFilters}
        clearFilters={() => setSearch({ team: null, target: null, model: null, repo: null })}
        exportBase={exportBase}
        linkWith={linkWith}
        setParams={(patch) => setSearch(patch, { replace: false })}
      />
    </>
  );
}

function UsageBody({
  series,
  view,
  params,
  spenders,
  showAllSpenders,
  models,
  failures,
  reloadAll,
  hasFilters,
  clearFilters,
  exportBase,
  linkWith,
  setParams,
}: {
  series: ApiQuery<UsageResponse>;
  view: Window;
  params: ReturnType<typeof parseUsageParams>;
  spenders: ApiQuery<UsageResponse>;
  showAllSpenders: () => void;
  models: ApiQuery<UsageResponse>;
  failures: { series: ApiQuery<FailuresResponse>; table: ApiQuery<FailuresResponse> };
  reloadAll: () => void;
  hasFilters: boolean;
  clearFilters: () => void;
  exportBase: string;
  linkWith: (patch: Record<string, string>) => string;
  setParams: (patch: Record<string, string | null>) => void;
}) {
  if (series.data === undefined) {
    if (series.loading) {
      return (
        <div className="card">
          <LoadingState rows={6} label="Loading usage…" />
        </div>
      );
    }
    return (
      <div className="card">
        <ErrorState title="Could not load usage" error={series.error} onRetry={reloadAll} />
      </div>
    );
  }
  const { totals, rows } = series.data;
  if (rows.length === 0 && totals.turns === 0 && totals.totalTokens === 0) {
    return (
      <div className="card" data-testid="usage-empty">
        <EmptyState title="No usage in this window">
          <p className="faint">Token usage appears here as soon as a watched thread gets a model response.</p>
          {hasFilters && (
            <button type="button" className="btn" onClick={clearFilters}>
              Clear filters
            </button>
          )}
        </EmptyState>
      </div>
    );
  }
  const stacked = stackSeries(rows, {
    bucket: view.bucket,
    stack: params.stack,
    metric: params.metric,
    bucketStarts: bucketStarts(view),
  });
  // What the chart shows, as rows: "Other" named as such, last in its bucket.
  const displayedRows = rows
    .map((row) => (row.other ? { ...row, [params.stack]: OTHER_KEY } : row))
    .sort(
      (a, b) =>
        (a[view.bucket] ?? "").localeCompare(b[view.bucket] ?? "") ||
        Number(a.other === true) - Number(b.other === true) ||
        (a[params.stack] ?? "").localeCompare(b[params.stack] ?? ""),
    );
  const unpricedModels = (models.data?.rows ?? [])
    .filter((row) => row.unpricedTokens > 0)
    .map((row) => row.model ?? NONE_KEY);

  return (
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
      {(series.data.pendingThreads ?? 0) > 0 && (
        <div className="banner warn" role="status" data-testid="usage-pending">
          Totals are a lower bound: {series.data.pendingThreads}{" "}
          {series.data.pendingThreads === 1 ? "thread is" : "threads are"} pending recovery (their latest
          token total has not been read yet; it is counted when the thread next responds or unloads).
        </div>
      )}
      <UsageKpis totals={totals} unpricedModels={unpricedModels} />
      <PricingNote />
      <div className="card" style={{ marginBottom: 14 }}>
        <div className="card-head">
          <h2>
            {params.metric === "cost" ? "Cost" : "Tokens"} by {STACK_TITLE[params.stack]}
          </h2>
          {params.metric === "cost" && totals.unpricedTokens > 0 && (
            <span className="chip neutral">excludes unpriced tokens</span>
          )}
          <span className="spacer" />
          <ChartControls params={params} onChange={setParams} />
          <ExportButtons
            baseName={`${exportBase}_by-${view.bucket}-${params.stack}`}
            columns={seriesColumns(view.bucket, params.stack)}
            rows={displayedRows}
            testId="export-series"
          />
        </div>
        <div className="card-body chart-body" data-testid="usage-chart">
          <UsageChart
            points={stacked.points}
            keys={stacked.keys}
            metric={params.metric}
            bucket={view.bucket}
            chart={params.chart}
          />
        </div>
      </div>
      <div className="grid-2">
        <SidePanel query={spenders} title="Top spenders">
          {(data) => (
            <SpendersTable
              rows={rankRows(data.rows, params.metric)}
              truncated={data.truncated === true}
              onShowAll={showAllSpenders}
              metric={params.metric}
              exportName={`${exportBase}_by-developer`}
              usageLink={(target) => linkWith({ target })}
            />
          )}
        </SidePanel>
        <SidePanel query={models} title="By model">
          {(data) => (
            <ModelsTable rows={rankRows(data.rows, "tokens")} exportName={`${exportBase}_by-model`} />
          )}
        </SidePanel>
      </div>
      <FailureReasons
        series={failures.series}
        table={failures.table}
        bucket={view.bucket}
        bucketStarts={bucketStarts(view)}
        exportBase={exportBase}
      />
    </>
  );
}

function SidePanel({
  query,
  title,
  children,
}: {
  query: ApiQuery<UsageResponse>;
  title: string;
  children: (data: UsageResponse) => ReactNode;
}) {
  if (query.data !== undefined) return <>{children(query.data)}</>;
  return (
    <div className="card">
      <div className="card-head">
        <h2>{title}</h2>
      </div>
      {query.loading ? (
        <LoadingState rows={4} label={`Loading ${title.toLowerCase()}…`} />
      ) : (
        <ErrorState compact error={query.error} onRetry={query.reload} />
      )}
    </div>
  );
}

/** The chart card: pick a developer's limit, a window and a range; the chart follows live reports. */
import { DEFAULT_LIMIT_ID, LimitHistoryResponseSchema, type LimitRow } from "@codex-fleet/protocol/limits";
import { useState } from "react";
import { EmptyState, ErrorState, LoadingState } from "../../components/StateViews.tsx";
import { PLAN_WINDOWS, type PlanWindowName, windowLongName } from "../../lib/plan-limits.ts";
import { useApiQuery } from "../../lib/useApiQuery.ts";
import { limitKey } from "../../live/live-store.ts";
import { LimitHistoryChart } from "./LimitHistoryChart.tsx";
import { type ChartSelection, HISTORY_RANGE_MS, HISTORY_RANGES, historyUrl } from "./limits-params.ts";

/** `rows`: every row there is (to pick from); `row`: the selected one, when still known. */
export function LimitHistoryCard({
  chart,
  rows,
  onChange,
  onClose,
}: {
  chart: ChartSelection;
  rows: LimitRow[];
  onChange: (patch: Record<string, string | null>) => void;
  onClose: () => void;
}) {
  const row = rows.find((r) => r.target === chart.target && r.limitId === chart.limitId);
  const window = row?.[chart.window] ?? null;
  // "Now" for the range, re-read when the selection changes or a newer report arrives (live).
  const key = [limitKey(chart), chart.window, chart.range, row?.observedAt ?? ""].join("|");
  const [anchor, setAnchor] = useState(() => ({ key, ms: Date.now() }));
  if (anchor.key !== key) setAnchor({ key, ms: Date.now() });
  const query = useApiQuery(historyUrl(chart, anchor.ms), LimitHistoryResponseSchema);
  const fromMs = anchor.ms - HISTORY_RANGE_MS[chart.range];
  const windowName = (name: PlanWindowName) => windowLongName(row?.[name]?.windowDurationMins ?? null, name);

  return (
    <div className="card" style={{ marginBottom: 14 }} data-testid="limit-history">
      <div className="card-head">
        <h2>
          {chart.target}: {windowName(chart.window)} over time
        </h2>
        <span className="spacer" />
        <label className="field">
          <span className="visually-hidden">Developer and limit</span>
          <select
            className="select"
            aria-label="Developer and limit"
            value={limitKey(chart)}
            onChange={(event) => {
              const picked = rows.find((r) => limitKey(r) === event.target.value);
              if (picked) onChange({ chart: picked.target, limit: picked.limitId });
            }}
          >
            {!row && <option value={limitKey(chart)}>{chart.target}</option>}
            {rows.map((r) => (
              <option key={limitKey(r)} value={limitKey(r)}>
                {r.target}
                {r.limitId === DEFAULT_LIMIT_ID ? "" : ` · ${r.limitName ?? r.limitId}`}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="visually-hidden">Window</span>
          <select
            className="select"
            aria-label="Window"
            value={chart.window}
            onChange={(event) => onChange({ window: event.target.value })}
          >
            {PLAN_WINDOWS.map((name) => (
              <option key={name} value={name}>
                {windowName(name)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="visually-hidden">Range</span>
          <select
            className="select"
            aria-label="Range"
            value={chart.range}
            onChange={(event) => onChange({ range: event.target.value })}
          >
            {HISTORY_RANGES.map((range) => (
              <option key={range} value={range}>
                last {range}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn small ghost" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="card-body chart-body">
        {query.data === undefined ? (
          query.loading ? (
            <LoadingState label="Loading history…" />
          ) : (
            <ErrorState
              compact
              title="Could not load the history"
              error={query.error}
              onRetry={query.reload}
            />
          )
        ) : query.data.points.length === 0 ? (
          <EmptyState compact title="No reports in this range">
            <p className="faint">
              Each report of this window (after a model response, or a poll) adds a point.
            </p>
          </EmptyState>
        ) : (
          <LimitHistoryChart
            history={query.data}
            fromMs={fromMs}
            toMs={anchor.ms}
            window={window}
            forecast={row?.forecast[chart.window] ?? null}
          />
        )}
      </div>
    </div>
  );
}

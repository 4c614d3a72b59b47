/** The Plan limits table: one row per developer and limit, each window a bar with its forecast. */
import { DEFAULT_LIMIT_ID, type LimitRow } from "@codex-fleet/protocol/limits";
import { Ago } from "../../components/Ago.tsx";
import {
  forecastDetail,
  forecastStatus,
  forecastText,
  PLAN_WINDOWS,
  type PlanWindowName,
  resetText,
  usedText,
  windowLongName,
  windowShortName,
  windowTone,
} from "../../lib/plan-limits.ts";
import { Link } from "../../lib/router.tsx";
import { limitKey } from "../../live/live-store.ts";
import { useNow } from "../../live/useNow.ts";
import type { ChartSelection } from "./limits-params.ts";

/** `rows` in the order to show; `onChart` opens the chart on a window; `chart` marks the open one. */
export function LimitsTable({
  rows,
  chart,
  onChart,
}: {
  rows: LimitRow[];
  chart: ChartSelection | null;
  onChart: (row: LimitRow, window: PlanWindowName) => void;
}) {
  const now = useNow();
  return (
    <div className="card table-wrap">
      <table className="table limits-table" data-testid="limits-table">
        <thead>
          <tr>
            <th>Developer</th>
            <th>Primary window</th>
            <th>Secondary window</th>
            <th>Credits</th>
            <th>Reported</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={limitKey(row)}
              data-testid={`limit-row-${row.target}-${row.limitId}`}
              className={rowClass(row, now)}
            >
              <td>
                <div className="cell-main">
                  <Link href={`/?q=${encodeURIComponent(row.target)}`}>{row.target}</Link>
                </div>
                <div className="limit-tags">
                  {row.team && <span className="chip neutral">{row.team}</span>}
                  {row.planType && <span className="chip neutral">{row.planType} plan</span>}
                  {row.limitId !== DEFAULT_LIMIT_ID && (
                    <span className="chip neutral" title={`limit id ${row.limitId}`}>
                      {row.limitName ?? row.limitId}
                    </span>
                  )}
                  {row.rateLimitReachedType && (
                    <span
                      className="pill err plain"
                      title={`codex reports: ${row.rateLimitReachedType}`}
                      data-testid={`limit-reached-${row.target}-${row.limitId}`}
                    >
                      limit reached
                    </span>
                  )}
                  {row.spendControlReached && (
                    <span
                      className="pill warn plain"
                      title="The workspace's spend control stopped this developer"
                    >
                      spend control reached
                    </span>
                  )}
                </div>
              </td>
              {PLAN_WINDOWS.map((name) => (
                <td key={name} className="limit-window-cell">
                  <WindowCell
                    row={row}
                    name={name}
                    now={now}
                    selected={
                      chart?.target === row.target && chart.limitId === row.limitId && chart.window === name
                    }
                    onChart={() => onChart(row, name)}
                  />
                </td>
              ))}
              <td className="nowrap">{creditsText(row.credits)}</td>
              <td className="nowrap muted">
                as of <Ago at={row.observedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function rowClass(row: LimitRow, now: number): string | undefined {
  const statuses = PLAN_WINDOWS.flatMap((name) => {
    const window = row[name];
    return window ? [forecastStatus(window, row.forecast[name], now)] : [];
  });
  if (row.rateLimitReachedType || statuses.includes("exhausted")) return "row-err";
  if (statuses.includes("exhausts")) return "row-warn";
  return undefined;
}

/** "12.5 left", "unlimited", "none", or "—" when codex sent no credits. */
function creditsText(credits: LimitRow["credits"]): string {
  if (credits === null) return "—";
  if (credits.unlimited) return "unlimited";
  if (!credits.hasCredits) return "none";
  return credits.balance === null ? "yes" : `${credits.balance} left`;
}

function WindowCell({
  row,
  name,
  now,
  selected,
  onChart,
}: {
  row: LimitRow;
  name: PlanWindowName;
  now: number;
  selected: boolean;
  onChart: () => void;
}) {
  const window = row[name];
  if (!window) return <span className="faint">not reported</span>;
  const forecast = row.forecast[name];
  const status = forecastStatus(window, forecast, now);
  const tone = windowTone(status);
  const testId = `limit-${row.target}-${row.limitId}-${name}`;
  return (
    <div className="plan-window" data-testid={testId} data-forecast={status}>
      <div className="plan-window-head">
        <span className="faint" title={windowLongName(window.windowDurationMins, name)}>
          {windowShortName(window.windowDurationMins, name)}
        </span>
        <b className="num" data-testid={`${testId}-used`}>
          {usedText(window.usedPercent)}
        </b>
        <span
          className={`tone-text ${tone}`}
          title={forecastDetail(forecast)}
          data-testid={`${testId}-forecast`}
        >
          {forecastText(window, forecast, now)}
        </span>
        <span className="spacer" />
        <button
          type="button"
          className="link-btn"
          aria-pressed={selected}
          aria-label={`Chart ${row.target}'s ${windowLongName(window.windowDurationMins, name)}`}
          onClick={onChart}
        >
          chart
        </button>
      </div>
      <div
        className="bar-track"
        title={`${usedText(window.usedPercent)} of the ${windowLongName(window.windowDurationMins, name)} used`}
      >
        <div
          data-testid={`${testId}-bar`}
          className={`bar-fill ${tone}`}
          style={{ width: `${Math.min(100, Math.max(0, window.usedPercent))}%` }}
        />
      </div>
      <div className="cell-sub" data-testid={`${testId}-reset`}>
        {resetText(window, now)}
      </div>
    </div>
  );
}

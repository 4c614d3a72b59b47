/**
 * "Budgets" on the Usage page (issue 14): each configured budget's spent of its amount as a bar,
 * what remains, the forecast at the end of the period with how it was made, a status colour and
 * the unpriced caveat (GET /api/v1/budgets). Budgets run on their own period (today, this week,
 * this month, or the plan window), not on the page's range. Nothing is shown when none is configured.
 */
import {
  BUDGET_CSV_COLUMNS,
  type BudgetRow,
  type BudgetStatus,
  BudgetsResponseSchema,
} from "@codex-fleet/protocol/budgets";
import { useEffect, useRef } from "react";
import { ExportButtons } from "../../components/ExportButtons.tsx";
import { ErrorState } from "../../components/StateViews.tsx";
import { ApiRequestError } from "../../lib/api-client.ts";
import type { ExportColumn } from "../../lib/export-file.ts";
import { formatDateTime, formatInteger, formatUsd } from "../../lib/format.ts";
import { useApiQuery } from "../../lib/useApiQuery.ts";
import { useLive } from "../../live/LiveProvider.tsx";

/** Live usage ticks refresh the budgets at most this often. */
const REFRESH_MIN_MS = 15_000;

const STATUS: Record<BudgetStatus, { label: string; pill: string; bar: string }> = {
  ok: { label: "On budget", pill: "ok", bar: "" },
  warning: { label: "Near budget", pill: "warn", bar: "warn" },
  forecastOver: { label: "Forecast over", pill: "warn", bar: "warn" },
  over: { label: "Over budget", pill: "err", bar: "err" },
  noData: { label: "No data", pill: "plain", bar: "" },
};

const METHOD: Record<NonNullable<BudgetRow["forecastMethod"]>, string> = {
  periodAverage: "average so far × period",
  recentSlope: "last hour's burn rate",
  windowAverage: "window's average burn rate",
};

/** The export has the API's CSV columns. */
const EXPORT_COLUMNS: ExportColumn<BudgetRow>[] = BUDGET_CSV_COLUMNS.map((key) => ({
  header: key,
  value: (row: BudgetRow) => row[key],
}));

/** "$12.00" or "42 %". */
function amount(row: BudgetRow, value: number | null): string {
  if (value === null) return "—";
  return row.unit === "usd" ? formatUsd(value) : `${Math.round(value * 10) / 10} %`;
}

function who(row: BudgetRow): string {
  if (row.scope === "fleet") return "Fleet";
  return row.scope === "team" ? `Team ${row.subject}` : (row.subject ?? "");
}

function periodText(row: BudgetRow): string {
  if (row.unit === "planPct")
    return `${row.period} window${row.periodEnd ? `, resets ${formatDateTime(row.periodEnd)}` : ""}`;
  return row.period === "day" ? "today (UTC)" : `this ${row.period} (UTC)`;
}

function BudgetLine({ row }: { row: BudgetRow }) {
  const status = STATUS[row.status];
  const fill = row.spent === null ? 0 : Math.min(100, (row.spent / row.amount) * 100);
  const forecastMark = row.forecast === null ? null : Math.min(100, (row.forecast / row.amount) * 100);
  return (
    <tr data-testid={`budget-${row.id}`}>
      <td>
        <div>{who(row)}</div>
        <div className="faint">
          {row.id} · {periodText(row)}
          {row.member && row.scope !== "developer" ? ` · fullest: ${row.member}` : ""}
        </div>
      </td>
      <td style={{ minWidth: 160 }}>
        <div className="bar-track" data-testid={`budget-bar-${row.id}`} data-fill={Math.round(fill)}>
          <div className={`bar-fill ${status.bar}`} style={{ width: `${fill}%` }} />
          {forecastMark !== null && (
            <div
              title="Forecast at period end"
              style={{
                position: "absolute",
                top: 0,
                bottom: 0,
                left: `calc(${forecastMark}% - 1px)`,
                width: 2,
                background: "var(--text-2)",
              }}
            />
          )}
        </div>
        <div className="faint">
          {amount(row, row.spent)} of {amount(row, row.amount)}
        </div>
      </td>
      <td className="num">
        {row.remaining === null
          ? "—"
          : row.remaining < 0
            ? `over by ${amount(row, -row.remaining)}`
            : amount(row, row.remaining)}
      </td>
      <td className="num">
        <div>{amount(row, row.forecast)}</div>
        <div className="faint">
          {row.forecastMethod ? METHOD[row.forecastMethod] : row.status === "noData" ? "" : "too early"}
        </div>
      </td>
      <td>
        <span className={`pill ${status.pill}`}>{status.label}</span>
        {row.unpricedTokens > 0 && (
          <div>
            <span className="chip neutral" title={row.detail}>
              lower bound: {formatInteger(row.unpricedTokens)} unpriced tokens
            </span>
          </div>
        )}
        {row.status === "noData" && <div className="faint">{row.detail}</div>}
      </td>
    </tr>
  );
}

/** The budgets card; renders nothing when no budget is configured. */
export function BudgetsPanel() {
  const query = useApiQuery("/api/v1/budgets", BudgetsResponseSchema);
  const { data: live } = useLive();
  const last = useRef(0);
  const { reload } = query;
  useEffect(() => {
    if (live.usageVersion === 0) return;
    const wait = Math.max(0, REFRESH_MIN_MS - (Date.now() - last.current));
    const timer = setTimeout(() => {
      last.current = Date.now();
      reload();
    }, wait);
    return () => clearTimeout(timer);
  }, [live.usageVersion, reload]);

  if (query.data === undefined) {
    // Nothing while the first answer is on its way (most fleets have no budgets: no flash), nor
    // from a collector without budgets (404, e.g. an older instance during a rolling upgrade).
    const missing = query.error instanceof ApiRequestError && query.error.isNotFound;
    if (query.loading || query.error === undefined || missing) return null;
    return (
      <div className="card" style={{ marginBottom: 14 }}>
        <div className="card-head">
          <h2>Budgets</h2>
        </div>
        <ErrorState compact error={query.error} onRetry={query.reload} />
      </div>
    );
  }
  const rows = query.data.rows;
  if (rows.length === 0) return null;
  return (
    <div className="card" style={{ marginBottom: 14 }} data-testid="budgets-panel">
      <div className="card-head">
        <h2>Budgets</h2>
        <span className="faint">each over its own period, not the range below</span>
        <span className="spacer" />
        <ExportButtons
          baseName="codex-budgets"
          columns={EXPORT_COLUMNS}
          rows={rows}
          testId="export-budgets"
        />
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Budget</th>
              <th>Spent</th>
              <th className="num">Remaining</th>
              <th className="num">Forecast at end</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <BudgetLine key={row.id} row={row} />
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

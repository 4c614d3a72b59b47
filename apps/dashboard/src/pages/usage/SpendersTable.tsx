/** Top spenders: one row per developer (target), ranked by the chosen metric. */
import type { UsageRow } from "@codex-fleet/protocol/api";
import { CostCell } from "../../components/CostCell.tsx";
import { ExportButtons } from "../../components/ExportButtons.tsx";
import type { ExportColumn } from "../../lib/export-file.ts";
import { formatInteger, formatPct, formatTokens, ratio } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";
import type { Metric } from "./usage-params.ts";
import { metricValue, NONE_KEY, pricing } from "./usage-series.ts";

/** Export columns: the table's figures, exact (not rounded for display). */
export const SPENDER_COLUMNS: ExportColumn<UsageRow>[] = [
  { header: "developer", value: (row) => row.target ?? NONE_KEY },
  { header: "team", value: (row) => row.team ?? NONE_KEY },
  { header: "turns", value: (row) => row.turns },
  { header: "failedTurns", value: (row) => row.failedTurns },
  { header: "failureRate", value: (row) => ratio(row.failedTurns, row.turns) },
  { header: "inputTokens", value: (row) => row.inputTokens },
  { header: "cachedInputTokens", value: (row) => row.cachedInputTokens },
  { header: "cachedInputShare", value: (row) => ratio(row.cachedInputTokens, row.inputTokens) },
  { header: "outputTokens", value: (row) => row.outputTokens },
  { header: "reasoningOutputTokens", value: (row) => row.reasoningOutputTokens },
  { header: "totalTokens", value: (row) => row.totalTokens },
  // costUsd excludes unpriced tokens: a fully unpriced row exports an empty cost, never 0.
  { header: "costUsd", value: (row) => (pricing(row) === "unpriced" ? null : row.costUsd) },
  { header: "unpricedTokens", value: (row) => row.unpricedTokens },
];

/** Ranked rows (already sorted by the caller) with a share bar of the metric. */
export function SpendersTable({
  rows,
  truncated = false,
  onShowAll,
  metric,
  exportName,
  usageLink,
}: {
  rows: UsageRow[];
  /** More developers matched than `rows` holds (the API sent the top ones). */
  truncated?: boolean;
  onShowAll?: () => void;
  metric: Metric;
  exportName: string;
  usageLink: (target: string) => string;
}) {
  const max = Math.max(0, ...rows.map((row) => metricValue(row, metric)));
  return (
    <div className="card">
      <div className="card-head">
        <h2>Top spenders</h2>
        <span className="faint">
          {truncated ? `top ${rows.length} ` : ""}by {metric === "cost" ? "cost" : "tokens"}
        </span>
        {truncated && onShowAll && (
          <button
            type="button"
            className="btn small ghost"
            data-testid="spenders-show-all"
            onClick={onShowAll}
          >
            Show all
          </button>
        )}
        <span className="spacer" />
        <ExportButtons baseName={exportName} columns={SPENDER_COLUMNS} rows={rows} testId="export-spenders" />
      </div>
      <div className="table-wrap scroll-y">
        <table className="table" data-testid="usage-spenders">
          <thead>
            <tr>
              <th>Developer</th>
              <th>Team</th>
              <th className="num">Turns</th>
              <th className="num">Failed</th>
              <th className="num">Tokens</th>
              <th className="num">Cached in</th>
              <th className="num">Cost</th>
              <th style={{ width: 120 }} />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const name = row.target ?? NONE_KEY;
              const value = metricValue(row, metric);
              return (
                <tr key={`${name}/${row.team ?? ""}`} data-testid={`spender-row-${name}`}>
                  <td className="cell-main">
                    <Link href={usageLink(name)}>{name}</Link>
                  </td>
                  <td className="muted">{row.team ?? "—"}</td>
                  <td className="num">{formatInteger(row.turns)}</td>
                  <td className="num" title={`${row.failedTurns} failed`}>
                    {formatPct(ratio(row.failedTurns, row.turns))}
                  </td>
                  <td className="num" title={`${formatInteger(row.totalTokens)} tokens`}>
                    {formatTokens(row.totalTokens)}
                  </td>
                  <td className="num">{formatPct(ratio(row.cachedInputTokens, row.inputTokens))}</td>
                  <td className="num">
                    <CostCell
                      costUsd={row.costUsd}
                      unpricedTokens={row.unpricedTokens}
                      totalTokens={row.totalTokens}
                    />
                  </td>
                  <td>
                    <div className="bar-track">
                      <div className="bar-fill" style={{ width: `${max > 0 ? (value / max) * 100 : 0}%` }} />
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Usage by model, with unpriced models called out as such. */
import type { UsageRow } from "@codex-fleet/protocol/api";
import { CostCell } from "../../components/CostCell.tsx";
import { ExportButtons } from "../../components/ExportButtons.tsx";
import type { ExportColumn } from "../../lib/export-file.ts";
import { formatInteger, formatPct, formatTokens, ratio } from "../../lib/format.ts";
import { NONE_KEY, pricing } from "./usage-series.ts";

/** Export columns of the models table. */
export const MODEL_COLUMNS: ExportColumn<UsageRow>[] = [
  { header: "model", value: (row) => row.model ?? NONE_KEY },
  { header: "turns", value: (row) => row.turns },
  { header: "failedTurns", value: (row) => row.failedTurns },
  { header: "inputTokens", value: (row) => row.inputTokens },
  { header: "cachedInputTokens", value: (row) => row.cachedInputTokens },
  { header: "outputTokens", value: (row) => row.outputTokens },
  { header: "reasoningOutputTokens", value: (row) => row.reasoningOutputTokens },
  { header: "totalTokens", value: (row) => row.totalTokens },
  { header: "costUsd", value: (row) => (pricing(row) === "unpriced" ? null : row.costUsd) },
  { header: "unpricedTokens", value: (row) => row.unpricedTokens },
  { header: "pricing", value: (row) => pricing(row) },
];

/** Rows sorted by the caller; token share is of all rows shown. */
export function ModelsTable({ rows, exportName }: { rows: UsageRow[]; exportName: string }) {
  const allTokens = rows.reduce((sum, row) => sum + row.totalTokens, 0);
  return (
    <div className="card">
      <div className="card-head">
        <h2>By model</h2>
        <span className="spacer" />
        <ExportButtons baseName={exportName} columns={MODEL_COLUMNS} rows={rows} testId="export-models" />
      </div>
      <div className="table-wrap scroll-y">
        <table className="table" data-testid="usage-models">
          <thead>
            <tr>
              <th>Model</th>
              <th className="num">Turns</th>
              <th className="num">Tokens</th>
              <th className="num">Share</th>
              <th className="num">Cached in</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const name = row.model ?? NONE_KEY;
              return (
                <tr key={name} data-testid={`model-row-${name}`}>
                  <td className="cell-main mono">{name}</td>
                  <td className="num">{formatInteger(row.turns)}</td>
                  <td className="num" title={`${formatInteger(row.totalTokens)} tokens`}>
                    {formatTokens(row.totalTokens)}
                  </td>
                  <td className="num">{formatPct(ratio(row.totalTokens, allTokens))}</td>
                  <td className="num">{formatPct(ratio(row.cachedInputTokens, row.inputTokens))}</td>
                  <td className="num">
                    <CostCell
                      costUsd={row.costUsd}
                      unpricedTokens={row.unpricedTokens}
                      totalTokens={row.totalTokens}
                      testId={`model-cost-${name}`}
                    />
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

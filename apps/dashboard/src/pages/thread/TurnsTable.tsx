/** Tokens and cost per turn, newest first, exportable. */
import { CodexErrorChip } from "../../components/CodexErrorChip.tsx";
import { CostCell } from "../../components/CostCell.tsx";
import { ExportButtons } from "../../components/ExportButtons.tsx";
import { TurnStatusPill } from "../../components/StatusPill.tsx";
import type { ExportColumn } from "../../lib/export-file.ts";
import { formatDateTime, formatDuration, formatInteger, formatPct, formatTokens } from "../../lib/format.ts";
import type { TurnPoint } from "./turn-model.ts";

/** Export columns: exact counters of each turn. */
export const TURN_COLUMNS: ExportColumn<TurnPoint>[] = [
  { header: "turn", value: (turn) => turn.index },
  { header: "turnId", value: (turn) => turn.id },
  { header: "status", value: (turn) => turn.status },
  { header: "startedAt", value: (turn) => turn.startedAt },
  { header: "durationMs", value: (turn) => turn.shownDurationMs },
  { header: "model", value: (turn) => turn.model },
  { header: "inputTokens", value: (turn) => turn.inputTokens },
  { header: "cachedInputTokens", value: (turn) => turn.cachedInputTokens },
  { header: "outputTokens", value: (turn) => turn.outputTokens },
  { header: "reasoningOutputTokens", value: (turn) => turn.reasoningOutputTokens },
  { header: "totalTokens", value: (turn) => turn.totalTokens },
  { header: "costUsd", value: (turn) => turn.costUsd },
  { header: "unpricedTokens", value: (turn) => turn.unpricedTokens },
  { header: "contextTokens", value: (turn) => turn.contextTokens },
  { header: "codexErrorInfo", value: (turn) => turn.codexErrorInfo },
  { header: "backfill", value: (turn) => turn.backfill },
];

/** `turns` in display order (newest first). */
export function TurnsTable({ turns, exportName }: { turns: TurnPoint[]; exportName: string }) {
  return (
    <div className="card">
      <div className="card-head">
        <h2>Turns</h2>
        <span className="faint">{turns.length}</span>
        <span className="spacer" />
        <ExportButtons baseName={exportName} columns={TURN_COLUMNS} rows={turns} testId="export-turns" />
      </div>
      <div className="table-wrap scroll-y tall">
        <table className="table" data-testid="thread-turns">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Outcome</th>
              <th>Started</th>
              <th className="num">Duration</th>
              <th>Model</th>
              <th className="num">Input</th>
              <th className="num">Cached</th>
              <th className="num">Output</th>
              <th className="num">Reasoning</th>
              <th className="num">Total</th>
              <th className="num">Cost</th>
              <th className="num">Context</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {turns.map((turn) => (
              <tr
                key={turn.id}
                data-testid={`turn-row-${turn.id}`}
                className={turn.status === "failed" ? "row-err" : ""}
              >
                <td className="num faint">{turn.index}</td>
                <td>
                  <TurnStatusPill status={turn.status} />
                  {turn.backfill && (
                    <span
                      className="chip neutral"
                      title="Counted from the thread's total when the collector first saw it"
                      style={{ marginLeft: 4 }}
                    >
                      backfill
                    </span>
                  )}
                </td>
                <td className="nowrap muted">{formatDateTime(turn.startedAt)}</td>
                <td className="num">{formatDuration(turn.shownDurationMs)}</td>
                <td className="muted mono">{turn.model ?? "—"}</td>
                <td className="num" title={formatInteger(turn.inputTokens)}>
                  {formatTokens(turn.inputTokens)}
                </td>
                <td className="num" title={formatInteger(turn.cachedInputTokens)}>
                  {formatTokens(turn.cachedInputTokens)}
                </td>
                <td className="num" title={formatInteger(turn.outputTokens)}>
                  {formatTokens(turn.outputTokens)}
                </td>
                <td className="num" title={formatInteger(turn.reasoningOutputTokens)}>
                  {formatTokens(turn.reasoningOutputTokens)}
                </td>
                <td className="num cell-main" title={formatInteger(turn.totalTokens)}>
                  {formatTokens(turn.totalTokens)}
                </td>
                <td className="num">
                  <CostCell
                    costUsd={turn.costUsd}
                    unpricedTokens={turn.unpricedTokens}
                    totalTokens={turn.totalTokens}
                    testId={`turn-cost-${turn.id}`}
                  />
                </td>
                <td className="num muted">{formatPct(turn.contextShare, 0)}</td>
                <td>
                  <CodexErrorChip info={turn.codexErrorInfo} message={turn.errorMessage} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Waiting on people per developer (target) or team, most waiting first, with time to answer. */
import type { ActivityRow } from "@codex-fleet/protocol/activity";
import { formatInteger } from "../../lib/format.ts";
import { waitingMs } from "./activity-params.ts";
import { rankByWaiting } from "./activity-series.ts";
import { humanDuration } from "./activity-text.ts";

const TITLE = { target: "Developer", team: "Team" } as const;

/** One table; a "—" where a figure is zero or unknown. */
export function WaitingTable({ rows, by }: { rows: ActivityRow[]; by: "target" | "team" }) {
  const ranked = rankByWaiting(rows, by);
  const dash = (ms: number | null) => (ms ? humanDuration(ms) : "—");
  return (
    <div className="table-wrap scroll-y">
      <table className="table" data-testid={`waiting-table-${by}`}>
        <thead>
          <tr>
            <th>{TITLE[by]}</th>
            <th className="num">Waiting</th>
            <th className="num">Approvals</th>
            <th className="num">Questions</th>
            <th className="num">Waits</th>
            <th className="num">Answer p50</th>
            <th className="num">Answer p90</th>
          </tr>
        </thead>
        <tbody>
          {ranked.map((row) => {
            const name = row[by] ?? "(none)";
            return (
              <tr key={name} data-testid={`waiting-${by}-${name}`}>
                <td className="cell-main">{name}</td>
                <td className="num" data-value={waitingMs(row)}>
                  {dash(waitingMs(row))}
                </td>
                <td className="num">{dash(row.waitingOnApprovalMs)}</td>
                <td className="num">{dash(row.waitingOnInputMs)}</td>
                <td className="num">{formatInteger(row.approvalWaits + row.inputWaits)}</td>
                <td className="num" data-value={row.timeToAnswerP50Ms ?? ""}>
                  {dash(row.timeToAnswerP50Ms)}
                </td>
                <td className="num">{dash(row.timeToAnswerP90Ms)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

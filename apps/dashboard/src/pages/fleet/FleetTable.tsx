/** The fleet as one dense table: a header row per target, its threads under it. */
import type { AlertView } from "@codex-fleet/protocol/api";
import type { LimitRow } from "@codex-fleet/protocol/limits";
import { Ago } from "../../components/Ago.tsx";
import { CompactWindows } from "../../components/PlanWindows.tsx";
import { TargetStatePill } from "../../components/StatusPill.tsx";
import { Link } from "../../lib/router.tsx";
import { firingAlertsFor, isTargetDown, targetReasonHint } from "../../lib/status.ts";
import { humanDuration } from "../activity/activity-text.ts";
import type { TargetGroup, TargetThreadCounts } from "./fleet-model.ts";
import { ThreadRow } from "./ThreadRow.tsx";

const COLUMNS = [
  "Status",
  "Thread",
  "Model",
  "Turn",
  "Context",
  "Tokens",
  "Last error",
  "Last event",
  "Alerts",
];

/**
 * Renders every group; `alerts` feed the per-thread alert badges, `counts` and `waitedToday`
 * (ms waiting on people today per target, from /api/v1/activity) and `limits` (each developer's
 * plan-limit rows, most urgent first) the group headers.
 */
export function FleetTable({
  groups,
  alerts,
  counts,
  waitedToday,
  limits,
  onShowUnloaded,
}: {
  groups: TargetGroup[];
  alerts: AlertView[];
  counts: Map<string, TargetThreadCounts>;
  waitedToday?: Map<string, number>;
  limits?: Map<string, LimitRow[]>;
  onShowUnloaded: () => void;
}) {
  return (
    <div className="card table-wrap">
      <table className="table fleet-table">
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column} className={column === "Tokens" ? "num" : undefined}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        {groups.map((group) => (
          <tbody key={group.name} data-testid={`fleet-target-${group.name}`}>
            <GroupHeader
              group={group}
              counts={counts.get(group.name) ?? { threads: 0, active: 0 }}
              waitedMs={waitedToday?.get(group.name) ?? 0}
              limits={limits?.get(group.name) ?? []}
              onShowUnloaded={onShowUnloaded}
            />
            {group.threads.map((thread) => (
              <ThreadRow key={thread.id} thread={thread} alerts={firingAlertsFor(alerts, thread.id)} />
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}

function GroupHeader({
  group,
  counts,
  waitedMs,
  limits,
  onShowUnloaded,
}: {
  group: TargetGroup;
  counts: TargetThreadCounts;
  waitedMs: number;
  limits: LimitRow[];
  onShowUnloaded: () => void;
}) {
  const { target } = group;
  const reason = target && isTargetDown(target) ? targetReasonHint(target.reason) : null;
  return (
    <tr className="group-row">
      <td colSpan={COLUMNS.length} className="group-cell">
        <div className="group-head">
          <Link href={`/targets#${encodeURIComponent(group.name)}`} className="group-name">
            {group.name}
          </Link>
          {target ? (
            <>
              <span className="chip neutral">{target.team}</span>
              <TargetStatePill state={target.state} testId={`target-state-${group.name}`} />
              {reason && (
                <span
                  className="group-reason"
                  title={reason.hint}
                  data-testid={`target-reason-${group.name}`}
                >
                  {reason.label}
                  {target.lastError ? ` — ${target.lastError}` : ""}
                </span>
              )}
              <span className="spacer" />
              <CompactWindows rows={limits} target={group.name} />
              <span className="faint">
                {counts.active} active · {counts.threads} thread{counts.threads === 1 ? "" : "s"}
              </span>
              <span
                className="faint"
                data-testid={`target-waited-${group.name}`}
                data-value={waitedMs}
                title="Agent time waiting on approvals and questions today (UTC), observed"
              >
                waited today {waitedMs > 0 ? humanDuration(waitedMs) : "—"}
              </span>
              <span className="faint">
                last event <Ago at={target.lastEventAt} />
              </span>
            </>
          ) : (
            <span className="faint">target no longer configured</span>
          )}
        </div>
        {group.threads.length === 0 && (
          <div className="group-empty faint">
            {group.hiddenUnloaded > 0 ? (
              <>
                No loaded threads.{" "}
                <button type="button" className="link-btn" onClick={onShowUnloaded}>
                  Show {group.hiddenUnloaded} not loaded
                </button>
              </>
            ) : target && isTargetDown(target) ? (
              "Not connected: thread status unknown."
            ) : (
              "No threads."
            )}
          </div>
        )}
      </td>
    </tr>
  );
}

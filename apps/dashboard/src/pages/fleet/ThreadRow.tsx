/** One thread in the Fleet table: live status, time in status, turn age, context, last error. */
import type { AlertView, ThreadView } from "@codex-fleet/protocol/api";
import { Ago, Elapsed } from "../../components/Ago.tsx";
import { CodexErrorChip } from "../../components/CodexErrorChip.tsx";
import { GoalStatusPill } from "../../components/Goal.tsx";
import { SeverityPill, ThreadStatusPill } from "../../components/StatusPill.tsx";
import { formatPct, formatTokens } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";
import {
  contextShare,
  requestKindLabel,
  type ThreadDisplayStatus,
  threadDisplayStatus,
  turnStatusLabel,
} from "../../lib/status.ts";
import { waitStart } from "./fleet-model.ts";

const rowTone: Partial<Record<ThreadDisplayStatus, string>> = {
  waitingOnApproval: "row-warn",
  waitingOnUserInput: "row-input",
  systemError: "row-err",
};

/** Short, readable label for a thread: its name, else the id's last 8 characters. */
export function threadLabel(thread: Pick<ThreadView, "id" | "name">): string {
  return thread.name?.trim() || `…${thread.id.slice(-8)}`;
}

/** A table row; `alerts` are the firing alerts of this thread. */
export function ThreadRow({ thread, alerts }: { thread: ThreadView; alerts: AlertView[] }) {
  const status = threadDisplayStatus(thread);
  const waiting = status === "waitingOnApproval" || status === "waitingOnUserInput";
  const share = contextShare(thread.contextTokens, thread.modelContextWindow);
  const request = thread.pendingRequests[0];
  return (
    <tr className={rowTone[status] ?? ""} data-testid={`thread-row-${thread.id}`}>
      <td>
        <ThreadStatusPill status={status} testId={`thread-status-${thread.id}`} />
        {thread.goal && <GoalStatusPill goal={thread.goal} testId={`thread-goal-${thread.id}`} />}
        <div className="cell-sub" style={{ paddingLeft: 4 }}>
          {waiting ? "waiting " : "for "}
          <Elapsed
            since={waiting ? waitStart(thread) : thread.statusSince}
            testId={`thread-time-in-status-${thread.id}`}
          />
        </div>
      </td>
      <td>
        <Link
          href={`/threads/${encodeURIComponent(thread.id)}`}
          className="cell-main truncate"
          style={{ display: "block" }}
          title={thread.id}
        >
          {threadLabel(thread)}
        </Link>
        <div className="cell-sub truncate" title={thread.cwd ?? undefined}>
          {request ? (
            <span title={request.preview ?? undefined}>
              {requestKindLabel(request.requestKind)}:{" "}
              <span className="mono">{request.preview ?? request.method}</span>
            </span>
          ) : (
            [thread.repo, thread.gitBranch].filter(Boolean).join(" · ") || thread.cwd || "—"
          )}
        </div>
      </td>
      <td className="muted nowrap">{thread.model ?? "—"}</td>
      <td className="nowrap">
        {thread.currentTurnStartedAt ? (
          <span title="Current turn age">
            <span className="faint">turn </span>
            <Elapsed since={thread.currentTurnStartedAt} testId={`thread-turn-age-${thread.id}`} />
          </span>
        ) : (
          <span className="faint">
            {thread.lastTurnStatus ? `last: ${turnStatusLabel(thread.lastTurnStatus)}` : "—"}
          </span>
        )}
      </td>
      <td style={{ width: 110 }}>
        {share == null ? (
          <span className="faint">—</span>
        ) : (
          <div
            title={`${formatTokens(thread.contextTokens)} of ${formatTokens(thread.modelContextWindow)} tokens`}
          >
            <div className="bar-track">
              <div
                className={`bar-fill ${share >= 0.9 ? "err" : share >= 0.75 ? "warn" : ""}`}
                style={{ width: `${Math.min(100, share * 100)}%` }}
              />
            </div>
            <div className="cell-sub num" style={{ textAlign: "left" }}>
              {formatPct(share, 0)}
            </div>
          </div>
        )}
      </td>
      <td className="num" title={`${thread.totalTokens.toLocaleString("en-US")} tokens`}>
        {formatTokens(thread.totalTokens)}
      </td>
      <td>
        <CodexErrorChip info={thread.lastCodexErrorInfo} message={thread.lastErrorMessage} />
      </td>
      <td className="muted">
        <Ago at={thread.lastEventAt} />
      </td>
      <td>
        {alerts.map((alert) => (
          <Link
            key={alert.id}
            href={`/alerts?state=firing`}
            title={alert.summary}
            data-testid={`thread-alert-${thread.id}`}
          >
            <SeverityPill severity={alert.severity} />
          </Link>
        ))}
      </td>
    </tr>
  );
}

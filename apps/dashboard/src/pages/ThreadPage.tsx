/** Thread detail: live status, turn timeline, tokens and cost per turn, errors, context pressure. */
import { type ThreadDetail, ThreadDetailSchema } from "@codex-fleet/protocol/api";
import { useEffect, useRef } from "react";
import { Ago, Elapsed } from "../components/Ago.tsx";
import { CodexErrorChip } from "../components/CodexErrorChip.tsx";
import { CostCell } from "../components/CostCell.tsx";
import { GoalCard } from "../components/Goal.tsx";
import { CompactWindows } from "../components/PlanWindows.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { SeverityPill, ThreadStatusPill } from "../components/StatusPill.tsx";
import { ApiRequestError } from "../lib/api-client.ts";
import {
  formatDateTime,
  formatDuration,
  formatInteger,
  formatPct,
  formatTokens,
  ratio,
} from "../lib/format.ts";
import { rowsOfTarget } from "../lib/plan-limits.ts";
import { Link } from "../lib/router.tsx";
import {
  contextShare,
  firingAlertsFor,
  requestKindLabel,
  threadDisplayStatus,
  turnStatusLabel,
} from "../lib/status.ts";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { serverNow } from "../live/useNow.ts";
import { threadLabel } from "./fleet/ThreadRow.tsx";
import { ContextChart } from "./thread/ContextChart.tsx";
import { SubAgentTree } from "./thread/SubAgentTree.tsx";
import { TurnsTable } from "./thread/TurnsTable.tsx";
import { TurnTimeline } from "./thread/TurnTimeline.tsx";
import { orderTurns, turnsWithErrors } from "./thread/turn-model.ts";

/** A live change of this thread refetches its turns, at most this often. */
const REFETCH_MIN_MS = 3_000;

/** The page for `/threads/:id` (lazy-loaded: it brings recharts). */
export default function ThreadPage({ threadId }: { threadId: string }) {
  const query = useApiQuery(`/api/v1/threads/${encodeURIComponent(threadId)}`, ThreadDetailSchema);
  const { data: live } = useLive();
  const liveThread = live.threads.get(threadId);
  const lastTick = live.usageTicks.findLast((tick) => tick.threadId === threadId);
  const signature = liveThread
    ? [
        liveThread.status,
        liveThread.activeFlags.join(),
        liveThread.currentTurnId,
        liveThread.lastTurnStatus,
        lastTick?.atMs,
      ].join("|")
    : null;

  // Turns and per-turn tokens only come over REST: refetch when the live feed says this thread
  // moved (not when it first appears in a snapshot: the REST answer is at least as fresh).
  const seen = useRef(signature);
  const lastFetch = useRef(0);
  const { reload } = query;
  useEffect(() => {
    const previous = seen.current;
    seen.current = signature;
    if (previous === null || signature === null || previous === signature) return;
    const wait = Math.max(0, REFETCH_MIN_MS - (Date.now() - lastFetch.current));
    const timer = setTimeout(() => {
      lastFetch.current = Date.now();
      reload();
    }, wait);
    return () => clearTimeout(timer);
  }, [signature, reload]);

  if (query.data === undefined) {
    if (query.loading) return <LoadingState label="Loading thread…" />;
    if (query.error instanceof ApiRequestError && query.error.isNotFound) {
      return (
        <EmptyState title="Thread not found">
          <p>
            The collector knows no thread <code>{threadId}</code>. <Link href="/">Back to the fleet</Link>
          </p>
        </EmptyState>
      );
    }
    return <ErrorState title="Could not load this thread" error={query.error} onRetry={query.reload} />;
  }

  // The live feed has the freshest status; the REST detail has the turns and counted totals.
  const thread: ThreadDetail = liveThread ? { ...query.data, ...liveThread } : query.data;
  const status = threadDisplayStatus(thread);
  const turns = orderTurns(thread.turns, thread.modelContextWindow, serverNow());
  const newestFirst = [...turns].reverse();
  const errors = turnsWithErrors(newestFirst);
  const failed = turns.filter((turn) => turn.status === "failed").length;
  const share = contextShare(thread.contextTokens, thread.modelContextWindow);
  const alerts = firingAlertsFor([...live.alerts.values()], thread.id);
  const planRows = rowsOfTarget(live.limits.rows.values(), thread.target);
  const finished = turns.filter((turn) => turn.status !== "inProgress" && turn.shownDurationMs != null);
  const avgMs =
    finished.length > 0
      ? finished.reduce((sum, turn) => sum + (turn.shownDurationMs ?? 0), 0) / finished.length
      : null;

  return (
    <>
      <div className="breadcrumb">
        <Link href="/">Fleet</Link> /{" "}
        <Link href={`/?q=${encodeURIComponent(thread.target)}`}>{thread.target}</Link> /{" "}
        <span className="mono">{thread.id}</span>
      </div>
      <div className="page-head">
        <h1>{threadLabel(thread)}</h1>
        <ThreadStatusPill status={status} testId={`thread-status-${thread.id}`} />
        <span className="faint">
          for <Elapsed since={thread.statusSince} testId={`thread-time-in-status-${thread.id}`} />
        </span>
        {query.loading && <span className="spinner" role="status" aria-label="Refreshing" />}
      </div>

      {alerts.map((alert) => (
        <div
          key={alert.id}
          className={`banner ${alert.severity === "critical" ? "err" : alert.severity === "warning" ? "warn" : ""}`}
          data-testid={`thread-alert-${thread.id}`}
        >
          <SeverityPill severity={alert.severity} /> {alert.summary}
          <span className="spacer" />
          <Link href="/alerts">Alerts</Link>
        </div>
      ))}
      {thread.pendingRequests.map((request) => (
        <div key={String(request.requestId)} className="banner warn" data-testid="thread-pending-request">
          <b>{requestKindLabel(request.requestKind)}</b> waiting <Elapsed since={request.sinceMs} />
          {request.preview && (
            <code className="truncate" style={{ maxWidth: 600 }}>
              {request.preview}
            </code>
          )}
          <span className="spacer" />
          <span className="faint">answer it in the developer's codex client — the collector never does</span>
        </div>
      ))}

      {thread.goal && <GoalCard goal={thread.goal} />}

      <div className="kpis">
        <div className="kpi">
          <div className="kpi-label">Tokens counted</div>
          <div
            className="kpi-value"
            data-testid="thread-total-tokens"
            data-value={thread.counted.totalTokens}
            title={formatInteger(thread.counted.totalTokens)}
          >
            {formatTokens(thread.counted.totalTokens)}
          </div>
          <div className="kpi-sub">
            {formatTokens(thread.counted.inputTokens)} in (
            {formatPct(ratio(thread.counted.cachedInputTokens, thread.counted.inputTokens))} cached) ·{" "}
            {formatTokens(thread.counted.outputTokens)} out
          </div>
        </div>
        <div className="kpi">
          <div className="kpi-label">Cost</div>
          <div className="kpi-value">
            <CostCell
              costUsd={thread.costUsd}
              unpricedTokens={thread.unpricedTokens}
              totalTokens={thread.counted.totalTokens}
              testId="thread-total-cost"
            />
          </div>
          <div className="kpi-sub">
            {thread.unpricedTokens > 0
              ? `${formatTokens(thread.unpricedTokens)} tokens unpriced`
              : "all usage priced"}
          </div>
        </div>
        <div className="kpi">
          <div className="kpi-label">Turns</div>
          <div className="kpi-value" data-testid="thread-turn-count">
            {turns.length}
          </div>
          <div className="kpi-sub">
            {failed} failed · avg {formatDuration(avgMs)}
          </div>
        </div>
        <div
          className={`kpi ${share != null && share >= 0.9 ? "tone-err" : share != null && share >= 0.75 ? "tone-warn" : ""}`}
        >
          <div className="kpi-label">Context window</div>
          <div className="kpi-value" data-testid="thread-context-share">
            {formatPct(share, 0)}
          </div>
          <div className="kpi-sub">
            {formatTokens(thread.contextTokens)} of {formatTokens(thread.modelContextWindow)}
          </div>
        </div>
        <div className="kpi">
          <div className="kpi-label">Current turn</div>
          <div className="kpi-value">
            {thread.currentTurnStartedAt ? (
              <Elapsed since={thread.currentTurnStartedAt} testId={`thread-turn-age-${thread.id}`} />
            ) : (
              "—"
            )}
          </div>
          <div className="kpi-sub">
            last outcome: {thread.lastTurnStatus ? turnStatusLabel(thread.lastTurnStatus) : "—"}
          </div>
        </div>
      </div>

      <div className="grid-2 thread-top">
        <div className="card">
          <div className="card-head">
            <h2>Details</h2>
          </div>
          <div className="card-body">
            <dl className="dl">
              <dt>Developer</dt>
              <dd>
                <Link href={`/?q=${encodeURIComponent(thread.target)}`}>{thread.target}</Link>{" "}
                <span className="faint">· {thread.team}</span>
              </dd>
              <dt>Plan limits</dt>
              <dd data-testid="thread-plan-limits">
                {planRows.length > 0 ? (
                  <CompactWindows rows={planRows} target={thread.target} />
                ) : (
                  <span className="faint">not reported</span>
                )}
              </dd>
              <dt>Model</dt>
              <dd className="mono">{thread.model ?? "—"}</dd>
              <dt>Repo</dt>
              <dd>
                {thread.repo ?? "—"}
                {thread.gitBranch && <span className="faint"> · {thread.gitBranch}</span>}
              </dd>
              <dt>Directory</dt>
              <dd className="mono">{thread.cwd ?? "—"}</dd>
              <dt>Created</dt>
              <dd>{formatDateTime(thread.createdAt)}</dd>
              <dt>Last event</dt>
              <dd>
                <Ago at={thread.lastEventAt} />
              </dd>
              <dt>Last error</dt>
              <dd>
                {thread.lastErrorMessage || thread.lastCodexErrorInfo ? (
                  <>
                    <CodexErrorChip info={thread.lastCodexErrorInfo} message={thread.lastErrorMessage} />{" "}
                    <span className="muted">{thread.lastErrorMessage}</span>
                  </>
                ) : (
                  <span className="faint">none</span>
                )}
              </dd>
            </dl>
          </div>
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Turn timeline</h2>
            <span className="faint">duration per turn, by outcome</span>
          </div>
          <div className="card-body chart-body" data-testid="thread-timeline">
            {turns.length === 0 ? (
              <EmptyState compact title="No turns yet" />
            ) : (
              <TurnTimeline turns={turns} />
            )}
          </div>
        </div>
      </div>

      <div className="grid-2" style={{ marginTop: 14 }}>
        <div className="card">
          <div className="card-head">
            <h2>Context-window pressure</h2>
            <span className="faint">context tokens / model window, per turn</span>
          </div>
          <div className="card-body chart-body">
            {thread.modelContextWindow && turns.some((turn) => turn.contextShare != null) ? (
              <ContextChart turns={turns} window={thread.modelContextWindow} />
            ) : (
              <EmptyState compact title="No context data">
                <p className="faint">The model's context window is reported with the first token usage.</p>
              </EmptyState>
            )}
          </div>
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Errors</h2>
            <span className={`badge ${errors.length > 0 ? "err" : ""}`}>{errors.length}</span>
          </div>
          <div className="table-wrap scroll-y">
            {errors.length === 0 ? (
              <EmptyState compact title="No errors" />
            ) : (
              <table className="table" data-testid="thread-errors">
                <tbody>
                  {errors.map((turn) => (
                    <tr key={turn.id}>
                      <td className="num faint">#{turn.index}</td>
                      <td className="nowrap muted">{formatDateTime(turn.completedAt ?? turn.startedAt)}</td>
                      <td>
                        <CodexErrorChip info={turn.codexErrorInfo} message={turn.errorMessage} />
                      </td>
                      <td className="muted">{turn.errorMessage ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      </div>

      <div style={{ marginTop: 14 }}>
        <SubAgentTree thread={thread} />
      </div>

      <div style={{ marginTop: 14 }}>
        <TurnsTable turns={newestFirst} exportName={`codex-thread_${thread.id}_turns`} />
      </div>
    </>
  );
}

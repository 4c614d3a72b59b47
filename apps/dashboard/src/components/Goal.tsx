/** A thread's goal (`thread/goal/updated`): its status pill and the thread page's goal card. */
import type { ThreadGoalView } from "@codex-fleet/protocol/api";
import {
  type GoalStatus,
  type KnownGoalStatus,
  STALLED_GOAL_STATUSES,
  unknownVariantName,
} from "@codex-fleet/protocol/status";
import { formatInteger, formatPct, formatTokens } from "../lib/format.ts";
import { Elapsed } from "./Ago.tsx";

const GOAL_STATUS_LABEL: Record<KnownGoalStatus, string> = {
  active: "Goal active",
  paused: "Goal paused",
  blocked: "Goal blocked",
  usageLimited: "Goal usage-limited",
  budgetLimited: "Goal over budget",
  complete: "Goal complete",
};

/** "Goal blocked"; a status this version does not know reads "goal unknown: <name>". */
export function goalStatusLabel(status: GoalStatus): string {
  const unknown = unknownVariantName(status);
  if (unknown !== null) return `goal unknown: ${unknown}`;
  return GOAL_STATUS_LABEL[status as KnownGoalStatus] ?? status;
}

/** Blocked or limited: goal continuation has stopped until someone acts (the goalStalled rule). */
export function isGoalStalled(status: GoalStatus): boolean {
  return (STALLED_GOAL_STATUSES as readonly string[]).includes(status);
}

function goalTone(status: GoalStatus): string {
  if (isGoalStalled(status)) return "warn";
  if (status === "active") return "info";
  if (status === "complete") return "ok";
  return "plain";
}

/** The goal's status as a pill; warning colour when blocked or limited. */
export function GoalStatusPill({ goal, testId }: { goal: ThreadGoalView; testId?: string }) {
  return (
    <span
      className={`pill ${goalTone(goal.status)}`}
      data-testid={testId}
      data-status={goal.status}
      title={`goal: ${goalStatusLabel(goal.status)}`}
    >
      {goalStatusLabel(goal.status)}
    </span>
  );
}

/** Tokens the goal used as a share of its budget (null without a budget or a count). */
export function goalBudgetShare(goal: Pick<ThreadGoalView, "tokenBudget" | "tokensUsed">): number | null {
  if (goal.tokenBudget == null || goal.tokenBudget <= 0 || goal.tokensUsed == null) return null;
  return goal.tokensUsed / goal.tokenBudget;
}

/** The thread page's goal card: status (since when), tokens used of the budget (never the objective: a prompt). */
export function GoalCard({ goal }: { goal: ThreadGoalView }) {
  const share = goalBudgetShare(goal);
  const used = goal.tokensUsed == null ? "—" : formatTokens(goal.tokensUsed);
  return (
    <div className={`banner ${isGoalStalled(goal.status) ? "warn" : ""}`} data-testid="thread-goal">
      <GoalStatusPill goal={goal} testId="thread-goal-status" />
      <span className="faint">
        for <Elapsed since={goal.statusSince} />
      </span>
      <span className="faint">goal</span>
      <span className="spacer" />
      <div
        style={{ width: 200 }}
        data-testid="thread-goal-tokens"
        title={`${formatInteger(goal.tokensUsed)} of ${goal.tokenBudget == null ? "no budget" : formatInteger(goal.tokenBudget)} tokens`}
      >
        {share != null && (
          <div className="bar-track">
            <div
              className={`bar-fill ${share >= 1 ? "err" : share >= 0.75 ? "warn" : ""}`}
              style={{ width: `${Math.min(100, share * 100)}%` }}
              data-testid="thread-goal-bar"
            />
          </div>
        )}
        <div className="cell-sub num" style={{ textAlign: "left" }}>
          {goal.tokenBudget == null
            ? `${used} tokens · no budget`
            : `${used} of ${formatTokens(goal.tokenBudget)} tokens${share != null ? ` (${formatPct(share, 0)})` : ""}`}
        </div>
      </div>
    </div>
  );
}

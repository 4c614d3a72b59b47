/** Pure helpers of the thread page: turn order, durations, context pressure. */
import type { TurnView } from "@codex-fleet/protocol/api";
import type { KnownTurnStatus } from "@codex-fleet/protocol/status";
import { contextShare } from "../../lib/status.ts";

/** A turn with its 1-based position in the thread and a duration even while it runs. */
export type TurnPoint = TurnView & {
  index: number;
  shownDurationMs: number | null;
  contextShare: number | null;
};

/** Oldest first (by start time, unknown starts last, stable otherwise), numbered from 1. */
export function orderTurns(turns: TurnView[], modelContextWindow: number | null, nowMs: number): TurnPoint[] {
  return turns
    .map((turn, position) => ({
      turn,
      position,
      start: turn.startedAt ? Date.parse(turn.startedAt) : Number.POSITIVE_INFINITY,
    }))
    .sort((a, b) => a.start - b.start || a.position - b.position)
    .map(({ turn }, index) => ({
      ...turn,
      index: index + 1,
      shownDurationMs: turnDurationMs(turn, nowMs),
      contextShare: contextShare(turn.contextTokens, modelContextWindow),
    }));
}

/** durationMs when the server has it; for a running turn, time since it started. */
export function turnDurationMs(turn: TurnView, nowMs: number): number | null {
  if (turn.durationMs != null) return turn.durationMs;
  if (turn.startedAt && turn.completedAt) return Date.parse(turn.completedAt) - Date.parse(turn.startedAt);
  if (turn.status === "inProgress" && turn.startedAt) return Math.max(0, nowMs - Date.parse(turn.startedAt));
  return null;
}

/** Turns that carry an error (failed turns, or any with an error message or codexErrorInfo). */
export function turnsWithErrors(turns: TurnPoint[]): TurnPoint[] {
  return turns.filter((turn) => turn.status === "failed" || turn.errorMessage || turn.codexErrorInfo);
}

/** CSS colour of a turn outcome, shared by the timeline bars and the legend. */
export const TURN_COLOR: Record<KnownTurnStatus, string> = {
  completed: "var(--ok)",
  failed: "var(--err)",
  interrupted: "var(--warn)",
  inProgress: "var(--info)",
};

/** The colour of any turn status; an unknown one (`unknown:<name>`) is muted. */
export function turnColor(status: TurnView["status"]): string {
  return TURN_COLOR[status as KnownTurnStatus] ?? "var(--idle)";
}

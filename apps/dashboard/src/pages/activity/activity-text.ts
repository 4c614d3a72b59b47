/** Human text for the Activity page: durations people read at a glance, the waiting sentence. */
import type { ActivityCounters } from "@codex-fleet/protocol/activity";
import type { Range } from "../usage/usage-params.ts";

/**
 * Coarse human duration: "45 s", "6 min", "1 h 20 min", "14 h", "3 d 2 h"; "—" for null.
 * Coarser than formatDuration: these figures are sums and estimates, seconds would be noise.
 */
export function humanDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return hours < 10 && rest > 0 ? `${hours} h ${rest} min` : `${Math.round(minutes / 60)} h`;
  }
  const days = Math.floor(hours / 24);
  const restHours = Math.round((minutes - days * 1440) / 60);
  return restHours > 0 && restHours < 24 ? `${days} d ${restHours} h` : `${Math.round(minutes / 1440)} d`;
}

const PERIOD: Record<Range, string> = {
  "24h": "in the last 24 hours",
  "7d": "this week",
  "30d": "in the last 30 days",
  custom: "in this period",
};

/**
 * "Agents waited 14 h on approvals and 2 h 5 min on questions this week; median answer 6 min."
 * Null when nothing waited.
 */
export function waitingSentence(totals: ActivityCounters, range: Range): string | null {
  const approval = totals.waitingOnApprovalMs;
  const input = totals.waitingOnInputMs;
  if (approval + input <= 0) return null;
  const parts: string[] = [];
  if (approval > 0) parts.push(`${humanDuration(approval)} on approvals`);
  if (input > 0) parts.push(`${humanDuration(input)} on questions`);
  const answer =
    totals.timeToAnswerP50Ms === null
      ? "no wait was answered yet"
      : `median answer ${humanDuration(totals.timeToAnswerP50Ms)}`;
  return `Agents waited ${parts.join(" and ")} ${PERIOD[range]}; ${answer}.`;
}

/**
 * Plan limits in words and colours (issue 14), shared by the Plan limits page, the Fleet page's
 * developer rows and the thread page: a window's name ("5h", "wk"), its tone from the forecast,
 * "resets Thu 14:00, in 3h", "on track" / "exhausts ~Thu 14:00", and the rows' order.
 */
import {
  type LimitRow,
  type PlanWindowView,
  sortLimitRows,
  type WindowForecastStatus,
  type WindowForecastView,
} from "@codex-fleet/protocol/limits";
import { formatRelative, toMs } from "./format.ts";

export { sortLimitRows } from "@codex-fleet/protocol/limits";

export const PLAN_WINDOWS = ["primary", "secondary"] as const;
export type PlanWindowName = (typeof PLAN_WINDOWS)[number];

/** How a window is drawn: red when exhausted, amber when it will be, grey when its figure is stale. */
export type WindowTone = "err" | "warn" | "ok" | "stale" | "unknown";

/** 300 → "5h", 10080 → "wk", 1440 → "1d", 90 → "90m"; the window's name when codex sent no length. */
export function windowShortName(mins: number | null, name: PlanWindowName): string {
  if (mins === null || mins <= 0) return name === "primary" ? "primary" : "secondary";
  if (mins === 10_080) return "wk";
  if (mins % 1440 === 0) return `${mins / 1440}d`;
  if (mins % 60 === 0) return `${mins / 60}h`;
  return `${mins}m`;
}

/** "5-hour window", "weekly window", "30-minute window". */
export function windowLongName(mins: number | null, name: PlanWindowName): string {
  if (mins === null || mins <= 0) return `${name} window`;
  if (mins === 10_080) return "weekly window";
  if (mins % 1440 === 0) return `${mins / 1440}-day window`;
  if (mins % 60 === 0) return `${mins / 60}-hour window`;
  return `${mins}-minute window`;
}

/**
 * The forecast as of `nowMs`: the collector's, except that a window whose reset time has passed
 * since it was served is `reset` (its figure is from the window before).
 */
export function forecastStatus(
  window: PlanWindowView,
  forecast: WindowForecastView | null,
  nowMs: number,
): WindowForecastStatus {
  const resetsAt = toMs(window.resetsAt);
  if (resetsAt !== null && resetsAt <= nowMs) return "reset";
  return forecast?.status ?? "unknown";
}

/** The colour of a window: by its forecast (exhausted red, exhausts amber). */
export function windowTone(status: WindowForecastStatus): WindowTone {
  switch (status) {
    case "exhausted":
      return "err";
    case "exhausts":
      return "warn";
    case "onTrack":
      return "ok";
    case "reset":
      return "stale";
    default:
      return "unknown";
  }
}

/** "Thu 14:00" in the browser's time zone. */
export function weekdayTime(at: string | number): string {
  const ms = toMs(at);
  if (ms === null) return "—";
  return new Date(ms).toLocaleString("en-US", {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/** "resets Thu 14:00, in 3h"; "reset Thu 14:00 (figure stale)" once passed; "" without a time. */
export function resetText(window: PlanWindowView, nowMs: number): string {
  if (window.resetsAt === null) return "";
  const at = weekdayTime(window.resetsAt);
  const ms = toMs(window.resetsAt) ?? 0;
  if (ms <= nowMs) return `reset ${at}: figure stale until the next report`;
  return `resets ${at}, ${formatRelative(ms, nowMs)}`;
}

/** "on track", "exhausts ~Thu 14:00", "exhausted until Thu 14:00", … */
export function forecastText(
  window: PlanWindowView,
  forecast: WindowForecastView | null,
  nowMs: number,
): string {
  switch (forecastStatus(window, forecast, nowMs)) {
    case "onTrack":
      return "on track";
    case "exhausts":
      return forecast?.exhaustsAt ? `exhausts ~${weekdayTime(forecast.exhaustsAt)}` : "exhausts before reset";
    case "exhausted":
      return window.resetsAt ? `exhausted until ${weekdayTime(window.resetsAt)}` : "exhausted";
    case "reset":
      return "window has reset";
    default:
      return "no forecast yet";
  }
}

/** The burn rate and how it was measured, for a tooltip. */
export function forecastDetail(forecast: WindowForecastView | null): string {
  if (!forecast || forecast.burnPctPerHour === null || forecast.method === null)
    return "Not enough reports to tell a burn rate yet.";
  const rate = `${Math.round(forecast.burnPctPerHour * 10) / 10} % an hour`;
  return forecast.method === "recentSlope"
    ? `Burn rate ${rate}: the trend of this window's reports over the last hour.`
    : `Burn rate ${rate}: the window's average since it started (too few recent reports for a trend).`;
}

/** A target's rows, most urgent first. */
export function rowsOfTarget(rows: Iterable<LimitRow>, target: string): LimitRow[] {
  return sortLimitRows([...rows].filter((row) => row.target === target));
}

/** Every target's rows, each list most urgent first. */
export function limitRowsByTarget(rows: Iterable<LimitRow>): Map<string, LimitRow[]> {
  const byTarget = new Map<string, LimitRow[]>();
  for (const row of sortLimitRows(rows)) {
    const list = byTarget.get(row.target);
    if (list) list.push(row);
    else byTarget.set(row.target, [row]);
  }
  return byTarget;
}

/** Used % as shown: integers as is, others to one decimal. */
export function usedText(usedPercent: number): string {
  return `${Math.round(usedPercent * 10) / 10} %`;
}

/**
 * One window's use over time (GET /api/v1/limits/history): the reported used %, a dashed line at
 * every reset the window went through (and the next one, when it is in view), the 100 % line,
 * and the forecast's projection to exhaustion when there is one.
 */
import type { LimitHistoryResponse, PlanWindowView, WindowForecastView } from "@codex-fleet/protocol/limits";
import { CartesianGrid, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from "recharts";
import { formatDateTime, toMs } from "../../lib/format.ts";
import { usedText } from "../../lib/plan-limits.ts";

type Point = { atMs: number; usedPercent: number };

const AXIS = {
  stroke: "var(--chart-axis)",
  tick: { fill: "var(--chart-axis)", fontSize: 11 },
  tickLine: false,
} as const;

/** Reset instants to mark: where the reported reset time changed, and the next one if in view. */
export function resetMarks(
  points: LimitHistoryResponse["points"],
  domain: [number, number],
  next: number | null,
): number[] {
  const marks = new Set<number>();
  let previous: number | null = null;
  for (const point of points) {
    const resetsAt = toMs(point.resetsAt);
    // A later reset time means the window before ended at the previous one (a shift under a
    // minute is the same window reported with another rounding, not a reset).
    if (previous !== null && resetsAt !== null && resetsAt - previous >= 60_000) marks.add(previous);
    if (resetsAt !== null && (previous === null || resetsAt - previous >= 60_000)) previous = resetsAt;
  }
  if (next !== null) marks.add(next);
  return [...marks].filter((at) => at >= domain[0] && at <= domain[1]).sort((a, b) => a - b);
}

/**
 * Axis ticks on round local times: every 4 hours over a day, every day over a week, every week
 * beyond (at most 12), so that the axis reads "08:00 12:00 16:00", not the range's odd minutes.
 */
export function timeTicks(domain: [number, number]): number[] {
  const span = domain[1] - domain[0];
  const hour = 3_600_000;
  const step = span <= 2 * 86_400_000 ? 4 * hour : span <= 10 * 86_400_000 ? 24 * hour : 7 * 24 * hour;
  const first = new Date(domain[0]);
  first.setMinutes(0, 0, 0);
  if (step >= 24 * hour) first.setHours(0);
  else first.setHours(Math.ceil(first.getHours() / 4) * 4);
  const ticks: number[] = [];
  for (let at = first.getTime(); at <= domain[1] && ticks.length < 12; at += step) {
    if (at >= domain[0]) ticks.push(at);
  }
  return ticks;
}

/** The chart; `window`/`forecast` are the row's current state (for the next reset and the projection). */
export function LimitHistoryChart({
  history,
  fromMs,
  toMs: endMs,
  window,
  forecast,
}: {
  history: LimitHistoryResponse;
  fromMs: number;
  toMs: number;
  window: PlanWindowView | null;
  forecast: WindowForecastView | null;
}) {
  const points: Point[] = history.points.map((point) => ({
    atMs: Date.parse(point.at),
    usedPercent: point.usedPercent,
  }));
  const nextReset = toMs(window?.resetsAt);
  const exhaustsAt = forecast?.status === "exhausts" ? toMs(forecast.exhaustsAt) : null;
  const span = endMs - fromMs;
  // Look a little ahead when the next reset or the projected exhaustion is near.
  const ahead = Math.max(
    ...[nextReset, exhaustsAt].filter(
      (at): at is number => at !== null && at > endMs && at - endMs <= span / 2,
    ),
    endMs,
  );
  const domain: [number, number] = [fromMs, ahead];
  const projection: Point[] =
    exhaustsAt !== null && window
      ? [
          { atMs: toMs(window.observedAt) ?? endMs, usedPercent: window.usedPercent },
          { atMs: exhaustsAt, usedPercent: 100 },
        ]
      : [];
  const marks = resetMarks(history.points, domain, nextReset);
  const dayLong = span > 86_400_000;
  return (
    <LineChart
      responsive
      style={{ width: "100%", height: 240 }}
      margin={{ top: 16, right: 16, bottom: 0, left: 0 }}
      data-testid="limit-history-chart"
    >
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      <XAxis
        type="number"
        dataKey="atMs"
        domain={domain}
        ticks={timeTicks(domain)}
        allowDataOverflow
        tickFormatter={(value: number) =>
          dayLong
            ? new Date(value).toLocaleDateString("en-US", {
                weekday: "short",
                month: "short",
                day: "numeric",
              })
            : new Date(value).toLocaleTimeString("en-US", {
                hour: "2-digit",
                minute: "2-digit",
                hour12: false,
              })
        }
        axisLine={{ stroke: "var(--chart-grid)" }}
        minTickGap={32}
        {...AXIS}
      />
      <YAxis
        domain={[0, 100]}
        ticks={[0, 25, 50, 75, 100]}
        tickFormatter={(value: number) => `${value}%`}
        axisLine={false}
        width={44}
        {...AXIS}
      />
      <ReferenceLine y={100} stroke="var(--err)" strokeDasharray="4 3" />
      {marks.map((at) => (
        <ReferenceLine
          key={at}
          x={at}
          stroke="var(--text-3)"
          strokeDasharray="3 3"
          label={{ value: "reset", fill: "var(--text-3)", fontSize: 11, position: "insideTopRight" }}
          className="limit-reset-mark"
        />
      ))}
      <Tooltip
        isAnimationActive={false}
        content={(props) => {
          const point = props.active ? (props.payload?.[0]?.payload as Point | undefined) : undefined;
          if (!point) return null;
          return (
            <div className="chart-tooltip">
              <div className="chart-tooltip-title">{formatDateTime(point.atMs)}</div>
              <div className="chart-tooltip-row">
                <span className="chart-tooltip-key">Used</span>
                <span className="num">{usedText(point.usedPercent)}</span>
              </div>
            </div>
          );
        }}
      />
      <Line
        data={points}
        dataKey="usedPercent"
        name="Used"
        type="linear"
        stroke="var(--series-1)"
        strokeWidth={2}
        dot={points.length <= 60}
        isAnimationActive={false}
      />
      {projection.length > 0 && (
        <Line
          data={projection}
          dataKey="usedPercent"
          name="Forecast"
          stroke="var(--warn)"
          strokeDasharray="5 4"
          strokeWidth={1.5}
          dot={false}
          isAnimationActive={false}
        />
      )}
    </LineChart>
  );
}

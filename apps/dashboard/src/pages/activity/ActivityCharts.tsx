/** The Activity page's charts over time: turns by outcome, active threads, turn duration. */
import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";
import { formatInteger } from "../../lib/format.ts";
import { bucketLabel } from "../usage/UsageChart.tsx";
import type { Bucket } from "../usage/usage-params.ts";
import type { ActivityPoint } from "./activity-series.ts";
import { humanDuration } from "./activity-text.ts";

const AXIS = {
  stroke: "var(--chart-axis)",
  tick: { fill: "var(--chart-axis)", fontSize: 11 },
  tickLine: false,
} as const;
const MARGIN = { top: 8, right: 8, bottom: 0, left: 0 };
const STYLE = { width: "100%", height: 220 };
const LEGEND = { fontSize: 12, color: "var(--text-2)" };
const TOOLTIP_STYLE = {
  background: "var(--surface)",
  border: "1px solid var(--border)",
  borderRadius: 6,
  fontSize: 12,
};

function xAxis(bucket: Bucket): ReactNode {
  return (
    <XAxis
      dataKey="bucketMs"
      tickFormatter={(value: number) => bucketLabel(value, bucket)}
      axisLine={{ stroke: "var(--chart-grid)" }}
      minTickGap={24}
      {...AXIS}
    />
  );
}

function tooltip(bucket: Bucket, format: (value: number) => string): ReactNode {
  return (
    <Tooltip
      labelFormatter={(value) => `${bucketLabel(Number(value), bucket)}${bucket === "day" ? " (UTC)" : ""}`}
      formatter={(value) => (value == null ? "—" : format(Number(value)))}
      contentStyle={TOOLTIP_STYLE}
      cursor={{ fill: "var(--accent-soft)" }}
      isAnimationActive={false}
    />
  );
}

/** Stacked bars: turns per bucket by how they ended. */
export function TurnsChart({ points, bucket }: { points: ActivityPoint[]; bucket: Bucket }) {
  return (
    <BarChart data={points} responsive style={STYLE} margin={MARGIN} barCategoryGap="18%">
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      {xAxis(bucket)}
      <YAxis allowDecimals={false} axisLine={false} width={40} {...AXIS} />
      {tooltip(bucket, formatInteger)}
      <Legend iconType="circle" iconSize={8} wrapperStyle={LEGEND} />
      <Bar name="Completed" dataKey="completed" stackId="turns" fill="var(--ok)" isAnimationActive={false} />
      <Bar name="Failed" dataKey="failed" stackId="turns" fill="var(--err)" isAnimationActive={false} />
      <Bar
        name="Interrupted"
        dataKey="interrupted"
        stackId="turns"
        fill="var(--series-other)"
        isAnimationActive={false}
      />
    </BarChart>
  );
}

/** Threads active at once: the average per bucket, and the sampled peak where it is kept. */
export function ActiveThreadsChart({ points, bucket }: { points: ActivityPoint[]; bucket: Bucket }) {
  const hasPeak = points.some((point) => point.activePeak !== null);
  return (
    <LineChart data={points} responsive style={STYLE} margin={MARGIN}>
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      {xAxis(bucket)}
      <YAxis axisLine={false} width={40} {...AXIS} />
      {tooltip(bucket, (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1)))}
      <Legend iconType="circle" iconSize={8} wrapperStyle={LEGEND} />
      <Line
        name="Average"
        dataKey="activeAvg"
        stroke="var(--series-1)"
        strokeWidth={2}
        dot={false}
        isAnimationActive={false}
      />
      {hasPeak && (
        <Line
          name="Peak"
          dataKey="activePeak"
          stroke="var(--series-2)"
          strokeDasharray="4 3"
          dot={false}
          connectNulls={false}
          isAnimationActive={false}
        />
      )}
    </LineChart>
  );
}

/** Turn duration p50 and p90 per bucket (estimated from the histogram; gaps where no turn ended). */
export function TurnDurationChart({ points, bucket }: { points: ActivityPoint[]; bucket: Bucket }) {
  return (
    <LineChart data={points} responsive style={STYLE} margin={MARGIN}>
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      {xAxis(bucket)}
      <YAxis axisLine={false} width={56} tickFormatter={(value: number) => humanDuration(value)} {...AXIS} />
      {tooltip(bucket, humanDuration)}
      <Legend iconType="circle" iconSize={8} wrapperStyle={LEGEND} />
      <Line
        name="p50"
        dataKey="durationP50Ms"
        stroke="var(--series-1)"
        strokeWidth={2}
        dot={false}
        isAnimationActive={false}
      />
      <Line
        name="p90"
        dataKey="durationP90Ms"
        stroke="var(--series-3)"
        strokeWidth={2}
        dot={false}
        isAnimationActive={false}
      />
    </LineChart>
  );
}

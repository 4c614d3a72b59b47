/** Stacked area/bar chart of usage over time, one series per stack key. */
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { formatTokens, formatUsd } from "../../lib/format.ts";
import type { Bucket, Metric } from "./usage-params.ts";
import { OTHER_KEY, type SeriesPoint } from "./usage-series.ts";

/** Colour of the n-th series (CSS variables, so both themes work). */
export function seriesColor(key: string, index: number): string {
  return key === OTHER_KEY ? "var(--series-other)" : `var(--series-${(index % 8) + 1})`;
}

/** Axis/tooltip text for one value. */
export function formatMetric(value: number, metric: Metric): string {
  return metric === "cost" ? formatUsd(value) : formatTokens(value);
}

function axisTick(value: number, metric: Metric): string {
  if (metric === "tokens") return formatTokens(value);
  return value >= 1000 ? `$${formatTokens(value)}` : `$${Number(value.toFixed(2))}`;
}

/** Bucket start → "Nov 21" (UTC day, as the API buckets days) or "14:00" (local hour). */
export function bucketLabel(bucketMs: number, bucket: Bucket): string {
  const date = new Date(bucketMs);
  if (bucket === "day")
    return date.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  return date.toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit", hour12: false });
}

function bucketTitle(bucketMs: number, bucket: Bucket): string {
  const date = new Date(bucketMs);
  if (bucket === "day")
    return `${date.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" })} (UTC)`;
  return date.toLocaleString("en-US", {
    weekday: "short",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/**
 * Series keys are model/repo names such as "gpt-5.5": as a string dataKey recharts would read
 * that as the path point["gpt-5"]["5"], so every series reads its value through a function.
 */
function seriesValue(key: string): (point: SeriesPoint) => number {
  return (point) => point[key] ?? 0;
}

type TooltipEntry = { name?: unknown; value?: unknown; color?: string; payload?: SeriesPoint };

function ChartTooltip({
  active,
  payload,
  metric,
  bucket,
}: {
  active?: boolean;
  payload?: readonly TooltipEntry[];
  metric: Metric;
  bucket: Bucket;
}) {
  if (!active || !payload || payload.length === 0) return null;
  const point = payload[0]?.payload;
  if (!point) return null;
  const entries = payload
    .filter((entry) => Number(entry.value) > 0)
    .sort((a, b) => Number(b.value) - Number(a.value));
  const total = entries.reduce((sum, entry) => sum + Number(entry.value), 0);
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-title">{bucketTitle(point.bucketMs, bucket)}</div>
      {entries.map((entry) => (
        <div key={String(entry.name)} className="chart-tooltip-row">
          <span className="swatch" style={{ background: entry.color }} />
          <span className="chart-tooltip-key">{String(entry.name)}</span>
          <span className="num">{formatMetric(Number(entry.value), metric)}</span>
        </div>
      ))}
      <div className="chart-tooltip-row total">
        <span className="swatch" />
        <span className="chart-tooltip-key">Total</span>
        <span className="num">{formatMetric(total, metric)}</span>
      </div>
      {metric === "cost" && point.unpricedTokens > 0 && (
        <div className="chart-tooltip-note">
          + {formatTokens(point.unpricedTokens)} unpriced tokens (not in cost)
        </div>
      )}
    </div>
  );
}

/** The chart; `keys` are in legend order (largest first), drawn bottom-up in that order. */
export function UsageChart({
  points,
  keys,
  metric,
  bucket,
  chart,
}: {
  points: SeriesPoint[];
  keys: string[];
  metric: Metric;
  bucket: Bucket;
  chart: "area" | "bar";
}) {
  const common = {
    data: points,
    responsive: true,
    style: { width: "100%", height: 240 },
    margin: { top: 8, right: 8, bottom: 0, left: 0 },
  } as const;
  const axes = (
    <>
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      <XAxis
        dataKey="bucketMs"
        tickFormatter={(value: number) => bucketLabel(value, bucket)}
        stroke="var(--chart-axis)"
        tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
        tickLine={false}
        axisLine={{ stroke: "var(--chart-grid)" }}
        minTickGap={24}
      />
      <YAxis
        tickFormatter={(value: number) => axisTick(value, metric)}
        stroke="var(--chart-axis)"
        tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
        tickLine={false}
        axisLine={false}
        width={56}
      />
      <Tooltip
        content={(props) => (
          <ChartTooltip
            active={props.active}
            payload={props.payload as readonly TooltipEntry[] | undefined}
            metric={metric}
            bucket={bucket}
          />
        )}
        cursor={{ fill: "var(--accent-soft)", stroke: "var(--border-strong)" }}
        isAnimationActive={false}
      />
      <Legend iconType="circle" iconSize={8} wrapperStyle={{ fontSize: 12, color: "var(--text-2)" }} />
    </>
  );
  if (chart === "bar") {
    return (
      <BarChart {...common} barCategoryGap="18%">
        {axes}
        {keys.map((key, index) => (
          <Bar
            key={key}
            name={key}
            dataKey={seriesValue(key)}
            stackId="usage"
            fill={seriesColor(key, index)}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    );
  }
  return (
    <AreaChart {...common}>
      {axes}
      {keys.map((key, index) => (
        <Area
          key={key}
          type="monotone"
          name={key}
          dataKey={seriesValue(key)}
          stackId="usage"
          stroke={seriesColor(key, index)}
          fill={seriesColor(key, index)}
          fillOpacity={0.28}
          strokeWidth={1.5}
          isAnimationActive={false}
        />
      ))}
    </AreaChart>
  );
}

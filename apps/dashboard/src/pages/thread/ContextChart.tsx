/** Context-window pressure per turn: contextTokens / modelContextWindow, with the 90 % line. */
import { Area, AreaChart, CartesianGrid, ReferenceLine, Tooltip, XAxis, YAxis } from "recharts";
import { formatPct, formatTokens } from "../../lib/format.ts";
import type { TurnPoint } from "./turn-model.ts";

/** `window` is the thread's modelContextWindow (tokens). */
export function ContextChart({ turns, window }: { turns: TurnPoint[]; window: number }) {
  const points = turns.filter((turn) => turn.contextShare != null);
  return (
    <AreaChart
      data={points}
      responsive
      style={{ width: "100%", height: 200 }}
      margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
    >
      <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
      <XAxis
        dataKey="index"
        tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
        tickLine={false}
        axisLine={{ stroke: "var(--chart-grid)" }}
        minTickGap={8}
      />
      <YAxis
        domain={[0, 1]}
        tickFormatter={(value: number) => formatPct(value, 0)}
        tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
        tickLine={false}
        axisLine={false}
        width={44}
      />
      <ReferenceLine
        y={0.9}
        stroke="var(--err)"
        strokeDasharray="4 3"
        label={{ value: "90%", fill: "var(--err)", fontSize: 11, position: "insideTopLeft" }}
      />
      <Tooltip
        isAnimationActive={false}
        content={(props) => {
          const turn = props.active ? (props.payload?.[0]?.payload as TurnPoint | undefined) : undefined;
          if (!turn) return null;
          return (
            <div className="chart-tooltip">
              <div className="chart-tooltip-title">Turn {turn.index}</div>
              <div className="chart-tooltip-row">
                <span className="chart-tooltip-key">Context</span>
                <span className="num">
                  {formatTokens(turn.contextTokens)} / {formatTokens(window)} ({formatPct(turn.contextShare)})
                </span>
              </div>
            </div>
          );
        }}
      />
      <Area
        type="monotone"
        dataKey="contextShare"
        name="Context used"
        stroke="var(--series-1)"
        fill="var(--series-1)"
        fillOpacity={0.22}
        strokeWidth={1.5}
        isAnimationActive={false}
        dot={points.length <= 40}
      />
    </AreaChart>
  );
}

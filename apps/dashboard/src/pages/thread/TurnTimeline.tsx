/** Turn durations as bars in turn order, coloured by outcome. */
import { Bar, BarChart, CartesianGrid, Cell, Tooltip, XAxis, YAxis } from "recharts";
import { formatDateTime, formatDuration, formatTokens } from "../../lib/format.ts";
import { TURN_STATUS_LABEL, turnStatusLabel } from "../../lib/status.ts";
import { TURN_COLOR, type TurnPoint, turnColor } from "./turn-model.ts";

function TimelineTooltip({
  active,
  payload,
}: {
  active?: boolean;
  payload?: readonly { payload?: TurnPoint }[];
}) {
  const turn = active ? payload?.[0]?.payload : undefined;
  if (!turn) return null;
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-title">
        Turn {turn.index} ·{" "}
        <span style={{ color: turnColor(turn.status) }}>{turnStatusLabel(turn.status)}</span>
      </div>
      <div className="chart-tooltip-row">
        <span className="chart-tooltip-key">Started</span>
        <span className="num">{formatDateTime(turn.startedAt)}</span>
      </div>
      <div className="chart-tooltip-row">
        <span className="chart-tooltip-key">Duration</span>
        <span className="num">{formatDuration(turn.shownDurationMs)}</span>
      </div>
      <div className="chart-tooltip-row">
        <span className="chart-tooltip-key">Tokens</span>
        <span className="num">{formatTokens(turn.totalTokens)}</span>
      </div>
      {turn.codexErrorInfo && <div className="chart-tooltip-note">{turn.codexErrorInfo}</div>}
    </div>
  );
}

/** The legend is HTML (not recharts') so it lists every outcome, present or not. */
export function TurnTimeline({ turns }: { turns: TurnPoint[] }) {
  return (
    <>
      <BarChart
        data={turns}
        responsive
        style={{ width: "100%", height: 200 }}
        margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
        barCategoryGap="12%"
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
          tickFormatter={(value: number) => formatDuration(value)}
          tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
          tickLine={false}
          axisLine={false}
          width={56}
        />
        <Tooltip
          content={(props) => (
            <TimelineTooltip
              active={props.active}
              payload={props.payload as readonly { payload?: TurnPoint }[] | undefined}
            />
          )}
          cursor={{ fill: "var(--accent-soft)" }}
          isAnimationActive={false}
        />
        <Bar
          dataKey={(turn: TurnPoint) => turn.shownDurationMs ?? 0}
          name="Duration"
          minPointSize={3}
          maxBarSize={48}
          isAnimationActive={false}
          radius={[2, 2, 0, 0]}
        >
          {turns.map((turn) => (
            <Cell key={turn.id} fill={turnColor(turn.status)} />
          ))}
        </Bar>
      </BarChart>
      <div className="chart-legend">
        {(Object.keys(TURN_COLOR) as (keyof typeof TURN_COLOR)[]).map((status) => (
          <span key={status}>
            <span className="swatch" style={{ background: TURN_COLOR[status] }} />
            {TURN_STATUS_LABEL[status]} ({turns.filter((turn) => turn.status === status).length})
          </span>
        ))}
      </div>
    </>
  );
}

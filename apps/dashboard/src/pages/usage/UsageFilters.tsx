/** Usage page controls, all kept in the URL: range and filters on top, stack/metric/chart by the chart. */
import { FILTER_KEYS, type FilterKey, RANGES, STACKS, type UsageParams } from "./usage-params.ts";

const FILTER_LABEL: Record<FilterKey, string> = {
  team: "Team",
  target: "Developer",
  model: "Model",
  repo: "Repo",
};
const STACK_LABEL: Record<(typeof STACKS)[number], string> = {
  model: "Model",
  target: "Developer",
  team: "Team",
  repo: "Repo",
  rootThread: "Root thread",
};
const RANGE_LABEL: Record<(typeof RANGES)[number], string> = {
  "24h": "24h",
  "7d": "7d",
  "30d": "30d",
  custom: "Custom",
};

type Patch = Record<string, string | null>;

function Segmented<T extends string>({
  label,
  value,
  options,
  labels,
  onChange,
  hideLabel,
}: {
  label: string;
  value: T;
  options: readonly T[];
  labels: Record<T, string>;
  onChange: (value: T) => void;
  hideLabel?: boolean;
}) {
  const group = (
    <fieldset className="segmented" aria-label={label} title={hideLabel ? label : undefined}>
      {options.map((option) => (
        <button key={option} type="button" aria-pressed={value === option} onClick={() => onChange(option)}>
          {labels[option]}
        </button>
      ))}
    </fieldset>
  );
  if (hideLabel) return group;
  return (
    <div className="field">
      {label}
      {group}
    </div>
  );
}

/** `options` are the values each filter can take (from data already loaded). */
export function UsageFilters({
  params,
  options,
  todayDay,
  onChange,
}: {
  params: UsageParams;
  options: Record<FilterKey, string[]>;
  todayDay: string;
  onChange: (patch: Patch) => void;
}) {
  const setRange = (range: (typeof RANGES)[number]) => {
    if (range !== "custom") return onChange({ range: range === "7d" ? null : range, from: null, to: null });
    const from = new Date(Date.parse(`${todayDay}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
    onChange({ range, from: params.fromDay ?? from, to: params.toDay ?? todayDay });
  };
  return (
    <div className="toolbar">
      <Segmented
        label="Range"
        value={params.range}
        options={RANGES}
        labels={RANGE_LABEL}
        onChange={setRange}
      />
      {params.range === "custom" && (
        <>
          <label className="field">
            From (UTC)
            <input
              className="input"
              type="date"
              value={params.fromDay?.slice(0, 10) ?? ""}
              max={params.toDay?.slice(0, 10) ?? todayDay}
              onChange={(event) => event.target.value && onChange({ from: event.target.value })}
            />
          </label>
          <label className="field">
            To (UTC)
            <input
              className="input"
              type="date"
              value={params.toDay?.slice(0, 10) ?? ""}
              min={params.fromDay?.slice(0, 10) ?? undefined}
              max={todayDay}
              onChange={(event) => event.target.value && onChange({ to: event.target.value })}
            />
          </label>
        </>
      )}
      {FILTER_KEYS.map((key) => (
        <label key={key} className="field">
          {FILTER_LABEL[key]}
          <select
            className="select"
            aria-label={FILTER_LABEL[key]}
            value={params.filters[key] ?? ""}
            onChange={(event) => onChange({ [key]: event.target.value || null })}
            style={{ maxWidth: 170 }}
          >
            <option value="">All</option>
            {options[key].map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
      ))}
    </div>
  );
}

/** Stack dimension, metric and chart type, shown in the chart card's header. */
export function ChartControls({
  params,
  onChange,
}: {
  params: UsageParams;
  onChange: (patch: Patch) => void;
}) {
  return (
    <div className="chart-controls">
      <Segmented
        label="Stack by"
        value={params.stack}
        options={STACKS}
        labels={STACK_LABEL}
        hideLabel
        onChange={(stack) => onChange({ stack: stack === "model" ? null : stack })}
      />
      <Segmented
        label="Metric"
        value={params.metric}
        options={["tokens", "cost"] as const}
        labels={{ tokens: "Tokens", cost: "Cost" }}
        hideLabel
        onChange={(metric) => onChange({ metric: metric === "tokens" ? null : metric })}
      />
      <Segmented
        label="Chart"
        value={params.chart}
        options={["area", "bar"] as const}
        labels={{ area: "Area", bar: "Bars" }}
        hideLabel
        onChange={(chart) => onChange({ chart: chart === "area" ? null : chart })}
      />
    </div>
  );
}

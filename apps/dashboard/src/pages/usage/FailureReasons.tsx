/**
 * "Failure reasons" on the Usage page: turns that ended `failed`, by error kind — a stacked bar
 * per time bucket and a table by developer and model (GET /api/v1/usage/failures). Interrupted
 * turns are not failures and are not counted.
 */
import type { FailuresResponse } from "@codex-fleet/protocol/api";
import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { ExportButtons } from "../../components/ExportButtons.tsx";
import { EmptyState, ErrorState, LoadingState } from "../../components/StateViews.tsx";
import type { ExportColumn } from "../../lib/export-file.ts";
import { formatInteger } from "../../lib/format.ts";
import type { ApiQuery } from "../../lib/useApiQuery.ts";
import {
  CATEGORY_LABEL,
  type FailurePoint,
  type FailureTableRow,
  failureCategory,
  failureKindLabel,
  failureSeries,
  failureTable,
  rankedKinds,
  rankKinds,
} from "./failure-kinds.ts";
import { bucketLabel, seriesColor } from "./UsageChart.tsx";
import type { Bucket } from "./usage-params.ts";
import { OTHER_KEY } from "./usage-series.ts";

/** A new kind could contain a dot, which recharts would read as a path in a string dataKey. */
function kindValue(key: string): (point: FailurePoint) => number {
  return (point) => point[key] ?? 0;
}

type TooltipEntry = { name?: unknown; value?: unknown; color?: string; payload?: FailurePoint };

function FailureTooltip({
  active,
  payload,
  bucket,
}: {
  active?: boolean;
  payload?: readonly TooltipEntry[];
  bucket: Bucket;
}) {
  const point = payload?.[0]?.payload;
  if (!active || !payload || !point) return null;
  const entries = payload
    .filter((e) => Number(e.value) > 0)
    .sort((a, b) => Number(b.value) - Number(a.value));
  const total = entries.reduce((sum, e) => sum + Number(e.value), 0);
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-title">
        {bucketLabel(point.bucketMs, bucket)}
        {bucket === "day" ? " (UTC)" : ""}
      </div>
      {entries.map((e) => (
        <div key={String(e.name)} className="chart-tooltip-row">
          <span className="swatch" style={{ background: e.color }} />
          <span className="chart-tooltip-key">{String(e.name)}</span>
          <span className="num">{formatInteger(Number(e.value))}</span>
        </div>
      ))}
      <div className="chart-tooltip-row total">
        <span className="swatch" />
        <span className="chart-tooltip-key">Failed turns</span>
        <span className="num">{formatInteger(total)}</span>
      </div>
    </div>
  );
}

/** Stacked bars: failed turns per bucket, one colour per kind (top kinds, the rest as "Other kinds"). */
export function FailureChart({
  points,
  keys,
  bucket,
}: {
  points: FailurePoint[];
  keys: string[];
  bucket: Bucket;
}) {
  return (
    <BarChart
      data={points}
      responsive
      style={{ width: "100%", height: 200 }}
      margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
      barCategoryGap="18%"
    >
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
        allowDecimals={false}
        stroke="var(--chart-axis)"
        tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
        tickLine={false}
        axisLine={false}
        width={40}
      />
      <Tooltip
        content={(props) => (
          <FailureTooltip
            active={props.active}
            payload={props.payload as readonly TooltipEntry[] | undefined}
            bucket={bucket}
          />
        )}
        cursor={{ fill: "var(--accent-soft)" }}
        isAnimationActive={false}
      />
      <Legend iconType="circle" iconSize={8} wrapperStyle={{ fontSize: 12, color: "var(--text-2)" }} />
      {keys.map((key, index) => (
        <Bar
          key={key}
          name={failureKindLabel(key)}
          dataKey={kindValue(key)}
          stackId="failures"
          fill={seriesColor(key, index)}
          isAnimationActive={false}
        />
      ))}
    </BarChart>
  );
}

/** Export columns: developer, model, one column per kind (all of them, exact), total. */
function tableColumns(kinds: string[]): ExportColumn<FailureTableRow>[] {
  return [
    { header: "developer", value: (row) => row.target },
    { header: "model", value: (row) => row.model },
    ...kinds.map((kind) => ({ header: kind, value: (row: FailureTableRow) => row.byKind[kind] ?? 0 })),
    { header: "failedTurns", value: (row) => row.total },
  ];
}

/** The table: one row per developer and model, a column per top kind, the rest as "Other kinds". */
export function FailureTable({ data, exportName }: { data: FailuresResponse; exportName: string }) {
  const rows = failureTable(data.rows);
  const { keys, named } = rankKinds(data.rows);
  const allKinds = rankedKinds(data.rows);
  const cell = (row: FailureTableRow, key: string) =>
    key === OTHER_KEY
      ? Object.entries(row.byKind).reduce((sum, [k, n]) => sum + (named.has(k) ? 0 : n), 0)
      : (row.byKind[key] ?? 0);
  return (
    <>
      <div className="card-head">
        <h3>By developer and model</h3>
        <span className="spacer" />
        <ExportButtons
          baseName={exportName}
          columns={tableColumns(allKinds)}
          rows={rows}
          testId="export-failures"
        />
      </div>
      <div className="table-wrap scroll-y">
        <table className="table" data-testid="failure-table">
          <thead>
            <tr>
              <th>Developer</th>
              <th>Model</th>
              {keys.map((key) => (
                <th
                  key={key}
                  className="num"
                  title={`${key} · ${CATEGORY_LABEL[failureCategory(key)]}`}
                  data-testid={`failure-col-${key}`}
                >
                  {failureKindLabel(key)}
                </th>
              ))}
              <th className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.target}/${row.model}`} data-testid={`failure-row-${row.target}-${row.model}`}>
                <td className="cell-main">{row.target}</td>
                <td className="muted">{row.model}</td>
                {keys.map((key) => {
                  const n = cell(row, key);
                  return (
                    <td key={key} className={n === 0 ? "num faint" : "num"} data-kind={key}>
                      {n === 0 ? "—" : formatInteger(n)}
                    </td>
                  );
                })}
                <td className="num" data-kind="total">
                  {formatInteger(row.total)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The panel, from its two queries (`groupBy=<bucket>` and `groupBy=target,model`). */
export function FailureReasons({
  series,
  table,
  bucket,
  bucketStarts,
  exportBase,
}: {
  series: ApiQuery<FailuresResponse>;
  table: ApiQuery<FailuresResponse>;
  bucket: Bucket;
  bucketStarts: number[];
  exportBase: string;
}) {
  const head = (extra?: ReactNode) => (
    <div className="card-head">
      <h2>Failure reasons</h2>
      {extra}
    </div>
  );
  if (series.data === undefined) {
    return (
      <div className="card" style={{ marginTop: 14 }} data-testid="failure-reasons">
        {head()}
        {series.loading ? (
          <LoadingState rows={4} label="Loading failure reasons…" />
        ) : (
          <ErrorState compact error={series.error} onRetry={series.reload} />
        )}
      </div>
    );
  }
  const { failedTurns, rows } = series.data;
  if (failedTurns === 0) {
    return (
      <div className="card" style={{ marginTop: 14 }} data-testid="failure-reasons">
        {head()}
        <EmptyState title="No failed turns in this window">
          <p className="faint">Interrupted turns are not failures and are not counted here.</p>
        </EmptyState>
      </div>
    );
  }
  const stacked = failureSeries(rows, bucket, bucketStarts);
  return (
    <div className="card" style={{ marginTop: 14 }} data-testid="failure-reasons">
      {head(
        <span className="faint" data-testid="failure-total" data-value={failedTurns}>
          {formatInteger(failedTurns)} failed {failedTurns === 1 ? "turn" : "turns"} (interrupted turns not
          counted)
        </span>,
      )}
      <div className="card-body chart-body" data-testid="failure-chart">
        <FailureChart points={stacked.points} keys={stacked.keys} bucket={bucket} />
      </div>
      {table.data !== undefined ? (
        <FailureTable data={table.data} exportName={`${exportBase}_failures-by-developer-model`} />
      ) : table.loading ? (
        <LoadingState rows={3} label="Loading failures by developer…" />
      ) : (
        <ErrorState compact error={table.error} onRetry={table.reload} />
      )}
    </div>
  );
}

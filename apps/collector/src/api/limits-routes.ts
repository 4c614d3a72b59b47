/**
 * GET /api/v1/limits and /api/v1/limits/history (issue 14): each developer's plan windows as the
 * collector stored them (plan-limits-repository), with the forecast drawn from the stored samples
 * by the protocol's one `forecastWindow`, and one window's use over time for the chart.
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  listPlanLimitSources,
  listPlanLimits,
  listPlanSamples,
  type PlanWindowName,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import {
  DEFAULT_LIMIT_ID,
  FORECAST_LOOKBACK_MS,
  type LimitHistoryResponse,
  LimitHistoryResponseSchema,
  type LimitRow,
  type LimitsResponse,
  LimitsResponseSchema,
  limitRowView,
  type PlanSample,
  type PlanWindowView,
  sortLimitRows,
  type WindowForecastView,
} from "@codex-fleet/protocol/limits";
import type { FastifyInstance } from "fastify";
import { toCsv } from "../http/csv.ts";
import { describeRoute, type ParsedQuery } from "../http/openapi.ts";
import { qp, query, text } from "../http/params.ts";
import { resolveRange, TIME_RANGE_QUERY } from "./window-query.ts";

/** The history answer holds at most this many points (evenly thinned beyond it). */
export const MAX_HISTORY_POINTS = 5000;

const WINDOWS = ["primary", "secondary"] as const;

/** CSV columns: one line per row, each window flattened into its figures and its forecast. */
export const LIMIT_CSV_COLUMNS = [
  "target",
  "team",
  "limitId",
  "limitName",
  "planType",
  ...WINDOWS.flatMap((w) => [
    `${w}UsedPercent`,
    `${w}WindowMins`,
    `${w}ResetsAt`,
    `${w}Forecast`,
    `${w}ExhaustsAt`,
    `${w}BurnPctPerHour`,
  ]),
  "creditsHasCredits",
  "creditsUnlimited",
  "creditsBalance",
  "rateLimitReachedType",
  "spendControlReached",
  "observedAt",
] as const;

export interface LimitsRouteDeps {
  pool: DbPool;
  /** The forecasts' "now" (default: the wall clock). */
  now?: () => number;
}

/** One CSV line of a row. */
function csvRow(row: LimitRow): Record<string, unknown> {
  const flat: Record<string, unknown> = {
    target: row.target,
    team: row.team,
    limitId: row.limitId,
    limitName: row.limitName,
    planType: row.planType,
    creditsHasCredits: row.credits?.hasCredits,
    creditsUnlimited: row.credits?.unlimited,
    creditsBalance: row.credits?.balance,
    rateLimitReachedType: row.rateLimitReachedType,
    spendControlReached: row.spendControlReached,
    observedAt: row.observedAt,
  };
  for (const w of WINDOWS) {
    const win: PlanWindowView | null = row[w];
    const f: WindowForecastView | null = row.forecast[w];
    flat[`${w}UsedPercent`] = win?.usedPercent;
    flat[`${w}WindowMins`] = win?.windowDurationMins;
    flat[`${w}ResetsAt`] = win?.resetsAt;
    flat[`${w}Forecast`] = f?.status;
    flat[`${w}ExhaustsAt`] = f?.exhaustsAt;
    flat[`${w}BurnPctPerHour`] = f?.burnPctPerHour;
  }
  return flat;
}

/**
 * At most `max` points, evenly spaced over the series (the first and the last kept), so that a
 * chart of a long range stays light; fewer than `max` are returned as they are.
 */
export function thinEvenly<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  if (max < 2) return points.slice(-max);
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)] as T);
}

const sampleKey = (target: string, limitId: string, window: PlanWindowName) =>
  JSON.stringify([target, limitId, window]);

/** Register GET /api/v1/limits and GET /api/v1/limits/history. */
export function registerLimitsRoutes(fastify: FastifyInstance, deps: LimitsRouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const { pool } = deps;
  const now = deps.now ?? Date.now;

  /**
   * Rows sorted most urgent first (protocol `limitUrgency`), then by target and limit; the
   * forecasts read the last FORECAST_LOOKBACK_MS of samples of every listed target in one query.
   */
  const limitsSchema = describeRoute({
    tags: ["limits"],
    summary: "Plan limits of every target now, most urgent first, with forecasts",
    query: query({
      team: qp.string("Only this team", 200),
      target: qp.string("Only this target", 200),
      format: qp.format,
    }),
    response: { 200: LimitsResponseSchema },
    csv: true,
  });
  app.get("/api/v1/limits", limitsSchema, async (req, reply) => {
    const { team, target, format } = req.query;
    const nowMs = now();
    const [states, sources] = await Promise.all([
      listPlanLimits({ pool, team, target }),
      listPlanLimitSources({ pool, team, target }),
    ]);
    const targets = [...new Set(states.map((s) => s.target))];
    const samples = new Map<string, PlanSample[]>();
    if (targets.length > 0) {
      const found = await listPlanSamples({
        pool,
        fromMs: nowMs - FORECAST_LOOKBACK_MS,
        toMs: nowMs,
        targetIds: targets,
      });
      for (const s of found) {
        const key = sampleKey(s.target, s.limitId, s.window);
        const list = samples.get(key);
        if (list) list.push(s.sample);
        else samples.set(key, [s.sample]);
      }
    }
    const rows = sortLimitRows(
      states.map(({ target: t, team: tm, state }) =>
        limitRowView({
          target: t,
          team: tm,
          state,
          samples: {
            primary: samples.get(sampleKey(t, state.limitId, "primary")) ?? [],
            secondary: samples.get(sampleKey(t, state.limitId, "secondary")) ?? [],
          },
          nowMs,
        }),
      ),
    );
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="codex-fleet-limits.csv"')
        .send(toCsv(LIMIT_CSV_COLUMNS, rows.map(csvRow)));
    }
    const body: LimitsResponse = {
      rows,
      unavailable: sources
        .filter((s) => s.status === "unavailable")
        .map((s) => ({
          target: s.target,
          team: s.team,
          reason: s.reason ?? "this app-server cannot report plan limits",
        })),
    };
    return body;
  });

  /**
   * One window's samples, oldest first, over `from`/`to` (default the last 7 days). At most
   * MAX_HISTORY_POINTS points: a longer series is thinned evenly (first and last kept), which
   * keeps its shape for a chart but may skip a sample right at a reset.
   */
  const historySchema = describeRoute({
    tags: ["limits"],
    summary: "One limit window's samples over time, oldest first",
    query: query({
      target: text(200).min(1, "is required").describe("The target (required)"),
      limitId: qp.string(`The limit (default ${DEFAULT_LIMIT_ID})`, 200),
      window: qp.enum(WINDOWS, "primary (default) or secondary"),
      ...TIME_RANGE_QUERY,
    }).transform((q, ctx) => ({ ...q, ...resolveRange(q, ctx, now()) })),
    response: { 200: LimitHistoryResponseSchema },
  });
  app.get("/api/v1/limits/history", historySchema, async (req) => {
    const { target, from, to } = req.query;
    const limitId = req.query.limitId || DEFAULT_LIMIT_ID;
    const window = req.query.window ?? "primary";
    const found = await listPlanSamples({
      pool,
      fromMs: from,
      toMs: to,
      targetIds: [target],
      limitId,
      window,
    });
    const body: LimitHistoryResponse = {
      target,
      limitId,
      window,
      points: thinEvenly(found, MAX_HISTORY_POINTS).map(({ sample }) => ({
        at: new Date(sample.atMs).toISOString(),
        usedPercent: sample.usedPercent,
        resetsAt: sample.resetsAtMs === null ? null : new Date(sample.resetsAtMs).toISOString(),
      })),
    };
    return body;
  });
}

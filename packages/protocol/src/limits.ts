/**
 * Plan limits (issue 14): the usage windows that stop a developer on a ChatGPT plan — a 5-hour
 * primary and a weekly secondary window, credits — as each developer's app-server reports them.
 *
 * Two sources, both read-only (codex-app-server-facts.md "Rate limits and credits"):
 * - `account/rateLimits/read` (a full snapshot, with `planType` and `rateLimitsByLimitId`), sent at
 *   connect and every `observer.rateLimitPollMs`; with API-key auth it fails (-32600, "codex
 *   account authentication required"), which means "not available for this target";
 * - `account/rateLimits/updated`, pushed to subscribed connections after each model response. It is
 *   **sparse**: `primary`/`secondary`/`credits` null means "no information in this response".
 *
 * One state per (target, limitId), merged by {@link mergePlanLimit}. Declared once here: the
 * collector merges, stores and serves it; the dashboard parses it and draws the same forecast.
 */
import { z } from "zod";

/** One usage window as reported (codex sends `resetsAt` in Unix seconds; we keep ms). */
export interface PlanWindowReport {
  /** 0–100 (codex rounds to an integer; over 100 is kept as sent). */
  usedPercent: number;
  windowDurationMins: number | null;
  resetsAtMs: number | null;
}

/** A window in the merged state: the report plus when it was last reported. */
export interface PlanWindow extends PlanWindowReport {
  observedAtMs: number;
}

export interface PlanCreditsReport {
  hasCredits: boolean;
  unlimited: boolean;
  /** A decimal string as codex sends it (e.g. "12.5"), or null. */
  balance: string | null;
}

export interface PlanCredits extends PlanCreditsReport {
  observedAtMs: number;
}

/** What one notification or one read says about one limit. null = no information. */
export interface PlanLimitReport {
  limitId: string;
  limitName: string | null;
  planType: string | null;
  primary: PlanWindowReport | null;
  secondary: PlanWindowReport | null;
  credits: PlanCreditsReport | null;
  rateLimitReachedType: string | null;
  spendControlReached: boolean | null;
  /** `read` answers are complete snapshots; `updated` notifications are sparse. */
  source: "read" | "updated";
}

/** The merged state of one limit of one target. */
export interface PlanLimitState {
  limitId: string;
  limitName: string | null;
  planType: string | null;
  primary: PlanWindow | null;
  secondary: PlanWindow | null;
  credits: PlanCredits | null;
  /** Set while the last report that spoke of it said a limit was reached. */
  rateLimitReachedType: string | null;
  rateLimitReachedAtMs: number | null;
  spendControlReached: boolean | null;
  /** When any report about this limit last arrived (collector clock). */
  observedAtMs: number;
}

/** The limit id codex uses when it reports none. */
export const DEFAULT_LIMIT_ID = "codex";

const keep = <T>(next: T | null, prev: T | null): T | null => (next === null ? prev : next);

/**
 * Merge one report into the last state. The rule: a null never clears a known value (a response
 * without rate-limit headers carries no information). One exception, so that "limit reached" is
 * not sticky forever: `rateLimitReachedType` is cleared by a later report that says nothing is
 * reached *and* carries window information (a successful response with headers, or a read).
 * Reports about a different limitId are not merged here (the caller keys states by limitId).
 */
export function mergePlanLimit(
  prev: PlanLimitState | undefined,
  report: PlanLimitReport,
  atMs: number,
): PlanLimitState {
  const window = (r: PlanWindowReport | null, p: PlanWindow | null): PlanWindow | null =>
    r === null ? p : { ...r, observedAtMs: atMs };
  const credits: PlanCredits | null =
    report.credits === null ? (prev?.credits ?? null) : { ...report.credits, observedAtMs: atMs };
  const saysWindows = report.primary !== null || report.secondary !== null;
  let reachedType = prev?.rateLimitReachedType ?? null;
  let reachedAtMs = prev?.rateLimitReachedAtMs ?? null;
  if (report.rateLimitReachedType !== null) {
    if (reachedType !== report.rateLimitReachedType || reachedAtMs === null) reachedAtMs = atMs;
    reachedType = report.rateLimitReachedType;
  } else if (saysWindows || report.source === "read") {
    reachedType = null;
    reachedAtMs = null;
  }
  return {
    limitId: report.limitId,
    limitName: keep(report.limitName, prev?.limitName ?? null),
    planType: keep(report.planType, prev?.planType ?? null),
    primary: window(report.primary, prev?.primary ?? null),
    secondary: window(report.secondary, prev?.secondary ?? null),
    credits,
    rateLimitReachedType: reachedType,
    rateLimitReachedAtMs: reachedAtMs,
    spendControlReached: keep(report.spendControlReached, prev?.spendControlReached ?? null),
    observedAtMs: atMs,
  };
}

/** One stored sample of a window's use (the history the forecast and the chart read). */
export interface PlanSample {
  atMs: number;
  usedPercent: number;
  resetsAtMs: number | null;
}

/**
 * The forecast of one window:
 * - `exhausted`: used ≥ 100 % now (until `resetsAtMs`);
 * - `exhausts`: at the current burn rate it reaches 100 % at `exhaustsAtMs`, before it resets;
 * - `onTrack`: at the current burn rate it resets first (or nothing is being used);
 * - `reset`: the reported reset time has passed: the reported figure is stale;
 * - `unknown`: no reset time or no way to tell a rate.
 */
export const WINDOW_FORECAST_STATUSES = ["onTrack", "exhausts", "exhausted", "reset", "unknown"] as const;
export type WindowForecastStatus = (typeof WINDOW_FORECAST_STATUSES)[number];

/**
 * How the burn rate was measured: `recentSlope` — least-squares slope of this window's samples of
 * the last `FORECAST_LOOKBACK_MS` (at least 2 samples spanning `FORECAST_MIN_SPAN_MS`);
 * `windowAverage` — used % divided by the time since the window started (resetsAt − duration).
 */
export type ForecastMethod = "recentSlope" | "windowAverage";

export interface WindowForecast {
  status: WindowForecastStatus;
  exhaustsAtMs: number | null;
  /** Percentage points per hour; null when unknown. */
  burnPctPerHour: number | null;
  method: ForecastMethod | null;
}

export const FORECAST_LOOKBACK_MS = 3_600_000;
/**
 * Two samples belong to the same window when their reset times are this close: codex derives
 * `resetsAt` from a "seconds until reset" on the read route, so it moves by a second or two between
 * polls of one window; a new window resets a whole window length later.
 */
export const SAME_WINDOW_TOLERANCE_MS = 60_000;
export const FORECAST_MIN_SPAN_MS = 600_000;
const HOUR_MS = 3_600_000;

/** Least-squares slope (percent per ms) of samples, or null when it cannot be told. */
function slope(samples: readonly PlanSample[]): number | null {
  const n = samples.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    sx += s.atMs;
    sy += s.usedPercent;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.atMs - mx) * (s.usedPercent - my);
    den += (s.atMs - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * Forecast one window from its state and its samples (any order; samples of other windows, i.e.
 * with a reset time more than {@link SAME_WINDOW_TOLERANCE_MS} away, are ignored). Pure: the same inputs give the same answer.
 */
export function forecastWindow(
  window: PlanWindow,
  samples: readonly PlanSample[],
  nowMs: number,
): WindowForecast {
  const unknown: WindowForecast = {
    status: "unknown",
    exhaustsAtMs: null,
    burnPctPerHour: null,
    method: null,
  };
  const resetsAt = window.resetsAtMs;
  if (resetsAt !== null && nowMs >= resetsAt) return { ...unknown, status: "reset" };
  if (window.usedPercent >= 100) return { ...unknown, status: "exhausted" };
  if (resetsAt === null) return unknown;

  const recent = samples
    .filter(
      (s) =>
        s.resetsAtMs !== null &&
        Math.abs(s.resetsAtMs - resetsAt) <= SAME_WINDOW_TOLERANCE_MS &&
        s.atMs <= nowMs &&
        s.atMs >= nowMs - FORECAST_LOOKBACK_MS,
    )
    .sort((a, b) => a.atMs - b.atMs);
  const span = recent.length >= 2 ? (recent.at(-1)?.atMs ?? 0) - (recent[0]?.atMs ?? 0) : 0;
  let perMs: number | null = null;
  let method: ForecastMethod | null = null;
  if (span >= FORECAST_MIN_SPAN_MS) {
    perMs = slope(recent);
    method = "recentSlope";
  }
  if (perMs === null && window.windowDurationMins !== null && window.windowDurationMins > 0) {
    const startMs = resetsAt - window.windowDurationMins * 60_000;
    const elapsed = Math.max(0, nowMs - startMs);
    if (elapsed > 0) {
      perMs = window.usedPercent / elapsed;
      method = "windowAverage";
    }
  }
  if (perMs === null || method === null) return unknown;
  const burnPctPerHour = perMs * HOUR_MS;
  if (perMs <= 0) return { status: "onTrack", exhaustsAtMs: null, burnPctPerHour, method };
  const exhaustsAtMs = Math.round(window.observedAtMs + (100 - window.usedPercent) / perMs);
  return exhaustsAtMs < resetsAt
    ? { status: "exhausts", exhaustsAtMs, burnPctPerHour, method }
    : { status: "onTrack", exhaustsAtMs: null, burnPctPerHour, method };
}

// ---- API (GET /api/v1/limits) and live feed ----

export const PlanWindowViewSchema = z.object({
  usedPercent: z.number(),
  windowDurationMins: z.number().nullable(),
  /** ISO 8601, or null when codex sent none. */
  resetsAt: z.string().nullable(),
  /** ISO 8601: when this window was last reported. */
  observedAt: z.string(),
});
export type PlanWindowView = z.infer<typeof PlanWindowViewSchema>;

export const WindowForecastViewSchema = z.object({
  status: z.enum(WINDOW_FORECAST_STATUSES),
  exhaustsAt: z.string().nullable(),
  burnPctPerHour: z.number().nullable(),
  method: z.enum(["recentSlope", "windowAverage"]).nullable(),
});
export type WindowForecastView = z.infer<typeof WindowForecastViewSchema>;

/** One row of GET /api/v1/limits: one target and one limitId. */
export const LimitRowSchema = z.object({
  target: z.string(),
  team: z.string(),
  limitId: z.string(),
  limitName: z.string().nullable(),
  planType: z.string().nullable(),
  primary: PlanWindowViewSchema.nullable(),
  secondary: PlanWindowViewSchema.nullable(),
  credits: z
    .object({ hasCredits: z.boolean(), unlimited: z.boolean(), balance: z.string().nullable() })
    .nullable(),
  rateLimitReachedType: z.string().nullable(),
  spendControlReached: z.boolean().nullable(),
  observedAt: z.string(),
  forecast: z.object({
    primary: WindowForecastViewSchema.nullable(),
    secondary: WindowForecastViewSchema.nullable(),
  }),
});
export type LimitRow = z.infer<typeof LimitRowSchema>;

/**
 * GET /api/v1/limits?team=&target= → rows sorted by nearest to exhaustion first (the highest
 * used % of either window, exhausted and `exhausts` forecasts first). `unavailable` lists targets
 * whose app-server cannot report plan limits (API-key login) with the reason.
 */
export const LimitsResponseSchema = z.object({
  rows: z.array(LimitRowSchema),
  unavailable: z.array(z.object({ target: z.string(), team: z.string(), reason: z.string() })),
});
export type LimitsResponse = z.infer<typeof LimitsResponseSchema>;

/** GET /api/v1/limits/history?target=&limitId=&window=primary|secondary&from=&to= → samples. */
export const LimitHistoryResponseSchema = z.object({
  target: z.string(),
  limitId: z.string(),
  window: z.enum(["primary", "secondary"]),
  points: z.array(z.object({ at: z.string(), usedPercent: z.number(), resetsAt: z.string().nullable() })),
});
export type LimitHistoryResponse = z.infer<typeof LimitHistoryResponseSchema>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const windowView = (w: PlanWindow | null): PlanWindowView | null =>
  w === null
    ? null
    : {
        usedPercent: w.usedPercent,
        windowDurationMins: w.windowDurationMins,
        resetsAt: iso(w.resetsAtMs),
        observedAt: new Date(w.observedAtMs).toISOString(),
      };

const forecastView = (f: WindowForecast): WindowForecastView => ({
  status: f.status,
  exhaustsAt: iso(f.exhaustsAtMs),
  burnPctPerHour: f.burnPctPerHour,
  method: f.method,
});

/** The API row of one state, with its forecast from the window's samples. */
export function limitRowView(args: {
  target: string;
  team: string;
  state: PlanLimitState;
  samples: { primary: readonly PlanSample[]; secondary: readonly PlanSample[] };
  nowMs: number;
}): LimitRow {
  const { state, nowMs } = args;
  return {
    target: args.target,
    team: args.team,
    limitId: state.limitId,
    limitName: state.limitName,
    planType: state.planType,
    primary: windowView(state.primary),
    secondary: windowView(state.secondary),
    credits:
      state.credits === null
        ? null
        : {
            hasCredits: state.credits.hasCredits,
            unlimited: state.credits.unlimited,
            balance: state.credits.balance,
          },
    rateLimitReachedType: state.rateLimitReachedType,
    spendControlReached: state.spendControlReached,
    observedAt: new Date(state.observedAtMs).toISOString(),
    forecast: {
      primary:
        state.primary === null
          ? null
          : forecastView(forecastWindow(state.primary, args.samples.primary, nowMs)),
      secondary:
        state.secondary === null
          ? null
          : forecastView(forecastWindow(state.secondary, args.samples.secondary, nowMs)),
    },
  };
}

/** Sort key: most urgent first (exhausted, then exhausting, then by the highest used %). */
export function limitUrgency(row: LimitRow): number {
  const rank = (f: WindowForecastView | null, w: PlanWindowView | null): number => {
    if (w === null) return 0;
    const base =
      f?.status === "exhausted" ? 300 : f?.status === "exhausts" ? 200 : f?.status === "reset" ? 0 : 100;
    return base + Math.min(100, w.usedPercent) / 100;
  };
  return Math.max(rank(row.forecast.primary, row.primary), rank(row.forecast.secondary, row.secondary));
}

/** Rows most urgent first ({@link limitUrgency}), then by target and limit: the API's order. */
export function sortLimitRows(rows: Iterable<LimitRow>): LimitRow[] {
  return [...rows]
    .map((row) => ({ row, urgency: limitUrgency(row) }))
    .sort(
      (a, b) =>
        b.urgency - a.urgency ||
        a.row.target.localeCompare(b.row.target) ||
        a.row.limitId.localeCompare(b.row.limitId),
    )
    .map(({ row }) => row);
}

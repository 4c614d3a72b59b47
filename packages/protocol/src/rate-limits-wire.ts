/**
 * Plan limits off the wire (issue 14): `account/rateLimits/updated` params and the result of
 * `account/rateLimits/read`, as codex 0.169.0 sends them (`codex app-server generate-ts`:
 * RateLimitSnapshot, GetAccountRateLimitsResponse, AccountRateLimitsUpdatedNotification), turned
 * into {@link PlanLimitReport}s.
 *
 * Hostile-safe by construction: nothing here throws. A field of the wrong type is unknown (null),
 * the report it rides on still counts; unknown fields are ignored; strings are cut (bounds.ts); a
 * percentage is finite and clamped to [0, 1000]; a limit id past its bound is refused (it is a key:
 * cutting two long ids to one prefix would merge two limits).
 */
import { cut, WIRE_LIMITS } from "./bounds.ts";
import {
  DEFAULT_LIMIT_ID,
  type PlanCreditsReport,
  type PlanLimitReport,
  type PlanWindowReport,
} from "./limits.ts";

/** The highest used % kept (codex reports 0–100; more is kept as sent, up to this). */
export const MAX_USED_PERCENT = 1000;
/** The latest time kept (JavaScript's Date range), in ms. */
const MAX_TIME_MS = 8.64e15;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown, max: number): string | null => (typeof v === "string" ? cut(v, max) : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);

/** A window: `usedPercent` must be a finite number, or the window says nothing (null). */
function toWindow(v: unknown): PlanWindowReport | null {
  if (!isObj(v) || typeof v.usedPercent !== "number" || !Number.isFinite(v.usedPercent)) return null;
  const mins = v.windowDurationMins;
  const resetsAt = v.resetsAt;
  return {
    usedPercent: Math.min(MAX_USED_PERCENT, Math.max(0, v.usedPercent)),
    windowDurationMins: typeof mins === "number" && Number.isFinite(mins) && mins >= 0 ? mins : null,
    // Unix seconds on the wire (RateLimitWindow.resetsAt); ms here.
    resetsAtMs:
      typeof resetsAt === "number" &&
      Number.isFinite(resetsAt) &&
      resetsAt > 0 &&
      resetsAt * 1000 <= MAX_TIME_MS
        ? Math.round(resetsAt * 1000)
        : null,
  };
}

/** Credits need both flags (codex sends neither or both); a balance is a decimal string. */
function toCredits(v: unknown): PlanCreditsReport | null {
  if (!isObj(v) || typeof v.hasCredits !== "boolean" || typeof v.unlimited !== "boolean") return null;
  return { hasCredits: v.hasCredits, unlimited: v.unlimited, balance: text(v.balance, WIRE_LIMITS.balance) };
}

/**
 * One RateLimitSnapshot as a report. `keyId` is the `rateLimitsByLimitId` key it came under (used
 * when the snapshot names no limit). null when it cannot be keyed: not an object, or a limit id
 * that is not a usable key.
 */
export function toPlanLimitReport(
  snapshot: unknown,
  source: PlanLimitReport["source"],
  keyId: string | null = null,
): PlanLimitReport | null {
  if (!isObj(snapshot)) return null;
  const raw = typeof snapshot.limitId === "string" ? snapshot.limitId : keyId;
  const limitId = raw === null ? DEFAULT_LIMIT_ID : raw;
  if (limitId.length === 0 || limitId.length > WIRE_LIMITS.limitId || limitId.includes("\u0000")) return null;
  return {
    limitId,
    limitName: text(snapshot.limitName, WIRE_LIMITS.limitName),
    planType: text(snapshot.planType, WIRE_LIMITS.kind),
    primary: toWindow(snapshot.primary),
    secondary: toWindow(snapshot.secondary),
    credits: toCredits(snapshot.credits),
    rateLimitReachedType: text(snapshot.rateLimitReachedType, WIRE_LIMITS.kind),
    spendControlReached: bool(snapshot.spendControlReached),
    source,
  };
}

/** `account/rateLimits/updated` params (`{rateLimits: RateLimitSnapshot}`) → at most one report. */
export function rateLimitsUpdatedReports(params: unknown): PlanLimitReport[] {
  const report = isObj(params) ? toPlanLimitReport(params.rateLimits, "updated") : null;
  return report === null ? [] : [report];
}

/**
 * The result of `account/rateLimits/read` → one report per limit: every `rateLimitsByLimitId`
 * entry (at most `WIRE_LIMITS.limitsPerReport`), and `rateLimits` (the single-bucket view that
 * mirrors one of them) unless an entry already spoke for its limit id. The read's `planType` sits
 * on each snapshot.
 */
export function rateLimitsReadReports(result: unknown): PlanLimitReport[] {
  if (!isObj(result)) return [];
  const byId = new Map<string, PlanLimitReport>();
  if (isObj(result.rateLimitsByLimitId)) {
    for (const [key, snapshot] of Object.entries(result.rateLimitsByLimitId)) {
      if (byId.size >= WIRE_LIMITS.limitsPerReport) break;
      const report = toPlanLimitReport(snapshot, "read", key);
      if (report !== null && !byId.has(report.limitId)) byId.set(report.limitId, report);
    }
  }
  const single = toPlanLimitReport(result.rateLimits, "read");
  if (single !== null && !byId.has(single.limitId) && byId.size < WIRE_LIMITS.limitsPerReport)
    byId.set(single.limitId, single);
  return [...byId.values()];
}

/**
 * A report that says nothing at all (every field null): what an API-key login's app-server sends
 * after every model response (facts: all-null `rateLimits`). It carries no information, so it
 * neither creates a limit nor refreshes one.
 */
export function isEmptyReport(r: PlanLimitReport): boolean {
  return (
    r.primary === null &&
    r.secondary === null &&
    r.credits === null &&
    r.planType === null &&
    r.limitName === null &&
    r.rateLimitReachedType === null &&
    r.spendControlReached === null
  );
}

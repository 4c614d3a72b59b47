/**
 * Failure reasons: what each `codexErrorInfo` kind means to a manager, and the pivots the Usage
 * page's "Failure reasons" panel draws (per bucket by kind; per developer and model by kind).
 *
 * The kinds are those of codex app-server 0.169.0 (`codex app-server generate-ts`,
 * v2/CodexErrorInfo.ts). The enum is open: a kind this list does not know is shown under its own
 * name, marked as new, and counted like any other.
 */
import type { FailureRow } from "@codex-fleet/protocol/api";
import type { Bucket } from "./usage-params.ts";
import { MAX_SERIES, NONE_KEY, OTHER_KEY } from "./usage-series.ts";

/** Who can act on a failure: the grouping a manager reads the chart by. */
export type FailureCategory = "limits" | "provider" | "network" | "access" | "policy" | "client" | "other";

export const CATEGORY_LABEL: Record<FailureCategory, string> = {
  limits: "Limits & budgets",
  provider: "Model provider",
  network: "Network",
  access: "Access",
  policy: "Policy",
  client: "Codex client",
  other: "Other",
};

const KNOWN: Record<string, { label: string; category: FailureCategory }> = {
  usageLimitExceeded: { label: "Usage limit reached", category: "limits" },
  rateLimitExceeded: { label: "Rate limited", category: "limits" },
  sessionBudgetExceeded: { label: "Session budget spent", category: "limits" },
  contextWindowExceeded: { label: "Context window full", category: "limits" },
  serverOverloaded: { label: "Server overloaded", category: "provider" },
  internalServerError: { label: "Provider server error", category: "provider" },
  flexUnavailable: { label: "Flex tier unavailable", category: "provider" },
  policyCapacityUnavailable: { label: "Capacity unavailable", category: "provider" },
  modelNotFound: { label: "Model not found", category: "provider" },
  httpConnectionFailed: { label: "Connection failed", category: "network" },
  responseStreamConnectionFailed: { label: "Stream connection failed", category: "network" },
  responseStreamDisconnected: { label: "Stream disconnected", category: "network" },
  responseTooManyFailedAttempts: { label: "Retries exhausted", category: "network" },
  unauthorized: { label: "Unauthorized", category: "access" },
  badRequest: { label: "Bad request", category: "access" },
  cyberPolicy: { label: "Cyber policy block", category: "policy" },
  misalignmentPolicyViolation: { label: "Misalignment policy block", category: "policy" },
  inferenceHookDenied: { label: "Denied by inference hook", category: "policy" },
  tooManyDenials: { label: "Too many denials", category: "policy" },
  sandboxError: { label: "Sandbox error", category: "client" },
  threadRollbackFailed: { label: "Rollback failed", category: "client" },
  activeTurnNotSteerable: { label: "Turn not steerable", category: "client" },
  other: { label: "Other error", category: "other" },
};

/** The kinds this dashboard has a label for. */
export const KNOWN_FAILURE_KINDS: readonly string[] = Object.keys(KNOWN);

/** Series/column key of a kind: the kind itself, "(none)" for a failure without one. */
export function kindKey(kind: string | null): string {
  return kind ?? NONE_KEY;
}

/** Human label: known kinds by meaning, a missing kind as such, a new kind under its own name. */
export function failureKindLabel(key: string): string {
  if (key === NONE_KEY) return "No error kind";
  if (key === OTHER_KEY) return "Other kinds";
  return KNOWN[key]?.label ?? `${key} (new kind)`;
}

/** Who can act on it (unknown and missing kinds: "other"). */
export function failureCategory(key: string): FailureCategory {
  return KNOWN[key]?.category ?? "other";
}

/** Every kind key of the rows, ranked by its total (then by key). */
export function rankedKinds(rows: FailureRow[]): string[] {
  const totals = new Map<string, number>();
  for (const row of rows)
    totals.set(kindKey(row.kind), (totals.get(kindKey(row.kind)) ?? 0) + row.failedTurns);
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([key]) => key);
}

/** The ranked kinds, the top ones named (own series or column), the rest folded into "Other kinds". */
export function rankKinds(rows: FailureRow[]): { keys: string[]; named: Set<string> } {
  const ranked = rankedKinds(rows);
  const named = ranked.length > MAX_SERIES ? ranked.slice(0, MAX_SERIES - 1) : ranked;
  return { keys: ranked.length > MAX_SERIES ? [...named, OTHER_KEY] : named, named: new Set(named) };
}

/** One bar of the chart: bucket start, failed turns per kind key. */
export type FailurePoint = { bucketMs: number } & Record<string, number>;

/** `groupBy=<bucket>` rows → one zero-filled point per bucket start, a value per ranked kind. */
export function failureSeries(
  rows: FailureRow[],
  bucket: Bucket,
  bucketStarts: number[],
): { keys: string[]; points: FailurePoint[] } {
  const { keys, named } = rankKinds(rows);
  const points = new Map<number, FailurePoint>();
  const empty = (bucketMs: number) => {
    const point = { bucketMs } as FailurePoint;
    for (const key of keys) point[key] = 0;
    return point;
  };
  for (const start of bucketStarts) points.set(start, empty(start));
  for (const row of rows) {
    const bucketMs = Date.parse(row[bucket] ?? "");
    if (!Number.isFinite(bucketMs)) continue;
    const point = points.get(bucketMs) ?? empty(bucketMs);
    points.set(bucketMs, point);
    const key = named.has(kindKey(row.kind)) ? kindKey(row.kind) : OTHER_KEY;
    point[key] = (point[key] ?? 0) + row.failedTurns;
  }
  return { keys, points: [...points.values()].sort((a, b) => a.bucketMs - b.bucketMs) };
}

/** One table row: a developer and a model, failed turns per kind key and in total. */
export type FailureTableRow = {
  target: string;
  model: string;
  total: number;
  byKind: Record<string, number>;
};

/** `groupBy=target,model` rows → one row per developer and model, most failures first. */
export function failureTable(rows: FailureRow[]): FailureTableRow[] {
  const out = new Map<string, FailureTableRow>();
  for (const row of rows) {
    const target = row.target ?? NONE_KEY;
    const model = row.model ?? NONE_KEY;
    const id = `${target}\u0000${model}`;
    const entry = out.get(id) ?? { target, model, total: 0, byKind: {} };
    const key = kindKey(row.kind);
    entry.byKind[key] = (entry.byKind[key] ?? 0) + row.failedTurns;
    entry.total += row.failedTurns;
    out.set(id, entry);
  }
  return [...out.values()].sort(
    (a, b) => b.total - a.total || a.target.localeCompare(b.target) || a.model.localeCompare(b.model),
  );
}

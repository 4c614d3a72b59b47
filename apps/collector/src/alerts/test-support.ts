/** Builders for alert unit tests: snapshots, rules and conditions with sensible defaults. */
import { AlertRuleSchema } from "../config/alerts-schema.ts";
import type { Condition, EffectiveRule, FleetSnapshot, TargetSnapshot, ThreadSnapshot } from "./types.ts";

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

/** A rule parsed like the config parses it (defaults applied). */
export function rule(input: Record<string, unknown>, repeatIntervalMs = 3_600_000): EffectiveRule {
  const parsed = AlertRuleSchema.parse({ id: `r-${String(input.kind)}`, ...input });
  return { ...parsed, repeatIntervalMs: parsed.repeatIntervalMs ?? repeatIntervalMs, source: "config" };
}

/** An open, settled target. */
export function target(patch: Partial<TargetSnapshot> = {}): TargetSnapshot {
  return { id: "alice", team: "payments", state: "open", connectedSinceMs: T0 - 60 * MIN, down: null, ...patch };
}

/** An idle thread on alice. */
export function thread(patch: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return {
    id: "01a1fcf8-d0ac-7651-84b2-b24f772ded0b",
    targetId: "alice",
    name: null,
    repo: "acme/pay",
    status: "idle",
    activeFlags: [],
    statusSinceMs: T0 - 30 * MIN,
    lastEventAtMs: T0 - 30 * MIN,
    lastCodexErrorInfo: null,
    lastErrorMessage: null,
    contextTokens: null,
    modelContextWindow: null,
    pendingRequests: [],
    ...patch,
  };
}

/** A snapshot with one open target and no threads. */
export function snapshot(patch: Partial<FleetSnapshot> = {}): FleetSnapshot {
  return { targets: [target()], threads: [], failures: [], spend: { dayStartMs: T0 - 12 * 60 * MIN, byTarget: [] }, settleMs: 15_000, ...patch };
}

/** A condition of `ruleId` on a thread subject. */
export function cond(ruleId: string, sinceMs: number, patch: Partial<Condition> = {}): Condition {
  return {
    ruleId,
    subject: { type: "thread", id: "th-1", group: "", targetId: "alice", threadId: "th-1", team: "payments" },
    sinceMs,
    summary: "thread th-1 on alice is waiting on an approval",
    value: null,
    details: {},
    ...patch,
  };
}

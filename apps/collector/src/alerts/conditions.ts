/** Helpers every rule module builds its conditions with (evaluate.ts, money-rules.ts). */
import type {
  Condition,
  EffectiveRule,
  FailedTurn,
  RuleEvaluation,
  Subject,
  ThreadSnapshot,
} from "./types.ts";

/** An evaluation with no condition and nothing held (yet: the rule may add to its own `held`). */
export function empty(): RuleEvaluation & { held: Set<string> } {
  return { conditions: [], held: new Set(), heldAll: false };
}

/** A condition of `rule` for `subject`, started at `sinceMs` (never after now). */
export function condition(
  rule: EffectiveRule,
  subject: Subject,
  sinceMs: number,
  nowMs: number,
  summary: string,
  value: number | null = null,
  details: Condition["details"] = {},
): Condition {
  return { ruleId: rule.id, subject, sinceMs: Math.min(sinceMs, nowMs), summary, value, details };
}

/**
 * Has the thread moved on since this failed turn? It went idle, started another turn (status
 * `active`, or another turn running or ended since), or unloaded (`notLoaded`: `thread/closed`, or
 * an archive). The server keeps a failed thread in `systemError` until its next turn starts
 * (facts §3), so a thread still in `systemError` with no newer turn has not. A thread the
 * collector does not know, or in a status it cannot read (`unknown:…`), tells nothing: the
 * failure stands, and the window still ends it.
 */
export function movedOnFrom(f: FailedTurn, t: ThreadSnapshot | undefined): boolean {
  if (t === undefined) return false;
  if (t.status === "idle" || t.status === "active" || t.status === "notLoaded") return true;
  if (t.currentTurnId !== null && t.currentTurnId !== f.turnId) return true;
  return t.lastTurnId !== null && t.lastTurnId !== f.turnId;
}

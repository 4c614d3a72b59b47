/** Silence matching: pure. A silence mutes notifications of the alerts it matches until it ends. */
import type { Silence, Subject } from "./types.ts";

/** The alert fields a silence can match on. */
export interface Silenceable {
  ruleId: string;
  kind: string;
  subject: Subject;
}

/** True when every matcher the silence gives equals the alert's field. A silence with no matcher matches nothing. */
export function silenceMatches(silence: Pick<Silence, "matchers">, alert: Silenceable): boolean {
  const m = silence.matchers;
  const checks: [string | undefined, string | null][] = [
    [m.ruleId, alert.ruleId],
    [m.kind, alert.kind],
    [m.target, alert.subject.targetId],
    [m.threadId, alert.subject.threadId],
    [m.team, alert.subject.team],
  ];
  const given = checks.filter(([want]) => want !== undefined);
  return given.length > 0 && given.every(([want, have]) => want === have);
}

/** True when a silence active at `nowMs` matches the alert. */
export function isSilenced(silences: readonly Silence[], alert: Silenceable, nowMs: number): boolean {
  return silences.some((s) => nowMs < s.endsAtMs && silenceMatches(s, alert));
}

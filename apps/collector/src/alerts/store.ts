/** Alert records ↔ repository rows (packages/db knows nothing of the collector's types). */
import type { StoredAlert, StoredSilence } from "@codex-fleet/db/repositories/alerts-repository";
import type { AlertState, AlertSubjectType, Severity } from "@codex-fleet/protocol/api";
import type { AlertRecord, Silence } from "./types.ts";
import { identityKey } from "./types.ts";

/** Record → row; the open key is set while pending or firing. */
export function toRow(a: AlertRecord): StoredAlert {
  return {
    id: a.id,
    ruleId: a.ruleId,
    kind: a.kind,
    subjectType: a.subject.type,
    subjectId: a.subject.id,
    groupKey: a.subject.group,
    targetId: a.subject.targetId,
    threadId: a.subject.threadId,
    team: a.subject.team,
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    value: a.value,
    details: a.details,
    pendingSinceMs: a.pendingSinceMs,
    firingSinceMs: a.firingSinceMs,
    resolvedAtMs: a.resolvedAtMs,
    lastNotifiedAtMs: a.lastNotifiedAtMs,
    ackBy: a.ackBy,
    ackRole: a.ackRole,
    ackAtMs: a.ackAtMs,
    silenced: a.silenced,
    openKey: a.state === "resolved" ? null : identityKey(a.ruleId, a.subject),
    updatedAtMs: a.updatedAtMs,
  };
}

/** Row → record. */
export function fromRow(r: StoredAlert): AlertRecord {
  return {
    id: r.id,
    ruleId: r.ruleId,
    kind: r.kind,
    severity: r.severity as Severity,
    subject: {
      type: r.subjectType as AlertSubjectType,
      id: r.subjectId,
      group: r.groupKey,
      targetId: r.targetId,
      threadId: r.threadId,
      team: r.team,
    },
    state: r.state as AlertState,
    summary: r.summary,
    value: r.value,
    details: r.details as AlertRecord["details"],
    pendingSinceMs: r.pendingSinceMs,
    firingSinceMs: r.firingSinceMs,
    resolvedAtMs: r.resolvedAtMs,
    lastNotifiedAtMs: r.lastNotifiedAtMs,
    ackBy: r.ackBy,
    ackRole: r.ackRole,
    ackAtMs: r.ackAtMs,
    silenced: r.silenced,
    updatedAtMs: r.updatedAtMs,
  };
}

/** Silence row → domain. */
export function silenceFromRow(r: StoredSilence): Silence {
  return { ...r, matchers: r.matchers as Silence["matchers"] };
}

/**
 * The alert domain: what rules see (a snapshot of the fleet), what they conclude (conditions), and
 * the persisted alert record that the state machine moves through pending → firing → resolved.
 */

import type { GoalSnapshot } from "@codex-fleet/db/repositories/ingest-types";
import type { AlertState, AlertSubjectType, Severity } from "@codex-fleet/protocol/api";
import type { BudgetRow } from "@codex-fleet/protocol/budgets";
import type { TargetState, ThreadStatusType } from "@codex-fleet/protocol/status";
import type { PlanMember } from "../budgets/evaluate.ts";
import type { AlertRule } from "../config/alerts-schema.ts";

export type { AlertRule };

/** A rule after defaults: `repeatIntervalMs` resolved, plus where it came from. */
export type EffectiveRule = AlertRule & {
  readonly repeatIntervalMs: number;
  readonly source: "default" | "config";
};

/** What an alert is about. Identity of an alert = rule + subject (type, id, group). */
export interface Subject {
  type: AlertSubjectType;
  id: string;
  /** A sub-key within the subject: the `codexErrorInfo` of grouped turn failures; "" otherwise. */
  group: string;
  targetId: string | null;
  threadId: string | null;
  team: string | null;
}

/** The stable identity of an open alert (also the `alert.open_key` column, unique while open). */
export function identityKey(ruleId: string, subject: Pick<Subject, "type" | "id" | "group">): string {
  return JSON.stringify([ruleId, subject.type, subject.id, subject.group]);
}

/** Subject key used to mark a subject as unknown (held) in an evaluation. */
export function subjectKey(subject: Pick<Subject, "type" | "id">): string {
  return `${subject.type}:${subject.id}`;
}

/** A rule's condition holding for one subject at evaluation time. */
export interface Condition {
  ruleId: string;
  subject: Subject;
  /** When the condition started, as far as the state tells (≤ now); the pending clock starts here. */
  sinceMs: number;
  summary: string;
  /** The measured value (minutes waited, failures counted, USD spent, % of context), if any. */
  value: number | null;
  details: Record<string, string | number | boolean | null>;
}

/** What `evaluate` concludes for one rule. */
export interface RuleEvaluation {
  conditions: Condition[];
  /**
   * Subjects whose state is not known right now (target down or just reconnected, data source
   * unavailable): their open alerts keep their state — they neither fire nor resolve. Read only:
   * the thread rules of one evaluation share one set (snapshot-index.ts).
   */
  held: ReadonlySet<string>;
  /** The whole rule is held (e.g. spend could not be read). */
  heldAll: boolean;
}

/** A persisted alert. Times are epoch ms. */
export interface AlertRecord {
  id: string;
  ruleId: string;
  kind: string;
  severity: Severity;
  subject: Subject;
  state: AlertState;
  summary: string;
  value: number | null;
  details: Record<string, string | number | boolean | null>;
  pendingSinceMs: number;
  firingSinceMs: number | null;
  resolvedAtMs: number | null;
  /** When the last firing/repeat notification was queued; null = never notified. */
  lastNotifiedAtMs: number | null;
  ackBy: string | null;
  /**
   * The signed-in role that acknowledged (`admin`, `viewer`; see {@link AckIdentity}); null when
   * auth was off (then `ackBy` is the free-text name from the request) or not acknowledged.
   */
  ackRole: string | null;
  ackAtMs: number | null;
  silenced: boolean;
  updatedAtMs: number;
}

/**
 * Who acknowledges: with auth on, the signed-in identity (`role`, and `name`: the role itself for
 * a static-token session, the person's name once a sign-in carries one, e.g. OIDC); with auth off,
 * the free-text name from the request body and no role.
 */
export interface AckIdentity {
  name: string;
  role: string | null;
}

/** A notification event. */
export type NotificationEvent = "firing" | "repeat" | "resolved";

/** One target as the rules see it. */
export interface TargetSnapshot {
  id: string;
  team: string;
  state: TargetState;
  /** Set while connected. */
  connectedSinceMs: number | null;
  /** From `target-health.ts`: down since when, and why. Null while up or on a first connect. */
  down: {
    cls: "unreachable" | "unauthorized";
    sinceMs: number;
    reason: string | null;
    error: string | null;
  } | null;
}

/** One thread as the rules see it (a subset of ingest/thread-state's ThreadState). */
export interface ThreadSnapshot {
  id: string;
  targetId: string;
  name: string | null;
  repo: string | null;
  status: ThreadStatusType;
  activeFlags: readonly string[];
  statusSinceMs: number;
  lastEventAtMs: number | null;
  lastCodexErrorInfo: string | null;
  lastErrorMessage: string | null;
  contextTokens: number | null;
  modelContextWindow: number | null;
  pendingRequests: readonly { requestKind: string; sinceMs: number }[];
  /** The running turn, when known (turn/started, or any event naming it); null between turns. */
  currentTurnId: string | null;
  /** The turn that ended last (turn/completed, or the backfilled turn list). */
  lastTurnId: string | null;
  /** The thread's goal; null or absent: none known. */
  goal?: GoalSnapshot | null;
}

/** One failed turn (from turn/completed with status "failed", or the turn table after a restart). */
export interface FailedTurn {
  turnId: string;
  threadId: string;
  targetId: string;
  codexErrorInfo: string | null;
  atMs: number;
}

/** Cost of the current UTC day per target (and its team). */
export interface SpendSnapshot {
  dayStartMs: number;
  byTarget: readonly { targetId: string; team: string; costUsd: number }[];
}

/** Everything the rules read; built by the engine, never mutated by rules. */
export interface FleetSnapshot {
  targets: readonly TargetSnapshot[];
  /**
   * The same targets by id, when the producer keeps such a map (SnapshotInputs does, from one
   * evaluation to the next; valid until its next snapshot): the index then builds none.
   */
  targetById?: ReadonlyMap<string, TargetSnapshot>;
  threads: readonly ThreadSnapshot[];
  /** Failed turns recent enough for the longest turnFailed window; null = not loaded yet. */
  failures: readonly FailedTurn[] | null;
  /** null = could not be read: spend rules hold. */
  spend: SpendSnapshot | null;
  /**
   * Every configured budget evaluated now (budgets/evaluate.ts); null = could not be read: budget
   * rules hold. Absent: no budget rule is enabled.
   */
  budgets?: readonly BudgetRow[] | null;
  /** Each target's stored plan limits with recent samples; null = could not be read: plan rules hold. */
  plans?: readonly PlanMember[] | null;
  /** See `alerts.settleMs`. */
  settleMs: number;
}

/** A silence: every given matcher must equal the alert's field; active while now < endsAtMs. */
export interface Silence {
  id: string;
  matchers: { ruleId?: string; kind?: string; target?: string; threadId?: string; team?: string };
  comment: string;
  createdBy: string;
  createdAtMs: number;
  endsAtMs: number;
}

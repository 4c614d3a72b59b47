/**
 * Rule evaluation: a pure function of (rule, fleet snapshot, now) → the conditions that hold, per
 * subject, and the subjects whose state is unknown right now (held). Summaries are stable while a
 * condition holds (no elapsed time in them), so that an unchanged alert is not rewritten each tick.
 */
import { isWaitingOn, WAITING_REQUEST_KINDS } from "@codex-fleet/protocol/events";
import { condition, empty, movedOnFrom } from "./conditions.ts";
import { budgetForecast, budgetThreshold, limitReached, planForecast, planWindow } from "./money-rules.ts";
import { SnapshotIndex } from "./snapshot-index.ts";
import type {
  Condition,
  EffectiveRule,
  FailedTurn,
  FleetSnapshot,
  RuleEvaluation,
  Subject,
  TargetSnapshot,
  ThreadSnapshot,
} from "./types.ts";
import { subjectKey } from "./types.ts";

export { movedOnFrom };

type RuleOf<K extends EffectiveRule["kind"]> = Extract<EffectiveRule, { kind: K }>;

/** "5 min", "90 s", "2 h". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  const h = ms / 3_600_000;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} h`;
}

const shortId = (id: string): string => (id.length > 8 ? `…${id.slice(-8)}` : id);

function threadLabel(t: ThreadSnapshot): string {
  return `thread ${shortId(t.id)}${t.repo ? ` (${t.repo})` : ""} on ${t.targetId}`;
}

function threadSubject(t: ThreadSnapshot, team: string | null): Subject {
  return { type: "thread", id: t.id, group: "", targetId: t.targetId, threadId: t.id, team };
}

function targetSubject(t: TargetSnapshot): Subject {
  return { type: "target", id: t.id, group: "", targetId: t.id, threadId: null, team: t.team };
}

/**
 * A thread rule: `check` each thread the thread rules see (SnapshotIndex.partition); the rest are
 * held. The partition is the index's, shared by every thread rule of the evaluation, `held` too.
 */
function threadRule(
  index: SnapshotIndex,
  check: (t: ThreadSnapshot, team: string) => Condition | null,
): RuleEvaluation {
  const { known, teams } = index.partition;
  const conditions: Condition[] = [];
  for (let i = 0; i < known.length; i++) {
    const c = check(known[i] as ThreadSnapshot, teams[i] as string);
    if (c !== null) conditions.push(c);
  }
  return {
    conditions,
    // Read on demand (SnapshotIndex.heldThreadKeys): most evaluations never read it.
    get held() {
      return index.heldThreadKeys;
    },
    heldAll: false,
  };
}

function waiting(
  rule: RuleOf<"waitingOnApproval" | "waitingOnUserInput">,
  index: SnapshotIndex,
): RuleEvaluation {
  const { nowMs } = index;
  const flag = rule.kind;
  const kinds = WAITING_REQUEST_KINDS[flag];
  const what = flag === "waitingOnApproval" ? "an approval" : "user input";
  return threadRule(index, (t, team) => {
    // The server's flag or a pending request of a matching kind (approvals; requestUserInput).
    if (!isWaitingOn(t, flag)) return null;
    // statusSinceMs moves whenever the flag set changes; a recorded request may be older.
    const since = Math.min(
      t.statusSinceMs,
      ...t.pendingRequests.filter((r) => kinds.has(r.requestKind)).map((r) => r.sinceMs),
    );
    return condition(rule, threadSubject(t, team), since, nowMs, `${threadLabel(t)} is waiting on ${what}`);
  });
}

function noProgress(rule: RuleOf<"noProgress">, index: SnapshotIndex): RuleEvaluation {
  const { nowMs } = index;
  return threadRule(index, (t, team) => {
    // Waiting on a person is covered by the waiting rules; only an unexplained silence counts here.
    if (t.status !== "active" || t.activeFlags.length > 0) return null;
    if (isWaitingOn(t, "waitingOnApproval") || isWaitingOn(t, "waitingOnUserInput")) return null;
    const last = Math.max(t.lastEventAtMs ?? t.statusSinceMs, t.statusSinceMs);
    // The condition itself is "quiet for forMs", so it starts firing as soon as it holds: a
    // pending alert whose clock restarted on every event would only churn.
    if (nowMs - last < rule.forMs) return null;
    return condition(
      rule,
      threadSubject(t, team),
      last,
      nowMs,
      `${threadLabel(t)} is active with no event for over ${formatDuration(rule.forMs)}`,
      null,
      { lastEventAt: new Date(last).toISOString() },
    );
  });
}

/**
 * Holds while the thread's status is `systemError`. The real server keeps it there from a failed
 * turn until the thread's next turn starts (facts §3), and every connection hears every status
 * change without subscribing (facts §1), so it ends on whichever comes first: `active` (a new
 * turn), `idle`, or `notLoaded` — an unload (`thread/closed`), and an archive too (measured on
 * 0.169.0: `thread/archive` sends status `notLoaded`, then `thread/archived`). A thread that
 * unloaded while the collector was away is marked `notLoaded` at the next connect (observer).
 */
function systemError(rule: RuleOf<"systemError">, index: SnapshotIndex): RuleEvaluation {
  const { nowMs } = index;
  return threadRule(index, (t, team) => {
    if (t.status !== "systemError") return null;
    const info = t.lastCodexErrorInfo ? ` (${t.lastCodexErrorInfo})` : "";
    return condition(
      rule,
      threadSubject(t, team),
      t.statusSinceMs,
      nowMs,
      `${threadLabel(t)} is in systemError${info}`,
      null,
      {
        codexErrorInfo: t.lastCodexErrorInfo,
      },
    );
  });
}

function contextWindow(rule: RuleOf<"contextWindow">, index: SnapshotIndex): RuleEvaluation {
  const { nowMs } = index;
  return threadRule(index, (t, team) => {
    if (t.status === "notLoaded" || t.contextTokens === null || !t.modelContextWindow) return null;
    const pct = (t.contextTokens / t.modelContextWindow) * 100;
    if (pct < rule.thresholdPct) return null;
    const rounded = Math.round(pct * 10) / 10;
    return condition(
      rule,
      threadSubject(t, team),
      t.lastEventAtMs ?? nowMs,
      nowMs,
      `${threadLabel(t)} uses ${rounded}% of its context window (${t.contextTokens} of ${t.modelContextWindow} tokens)`,
      rounded,
      { contextTokens: t.contextTokens, modelContextWindow: t.modelContextWindow },
    );
  });
}

function goalStalled(rule: RuleOf<"goalStalled">, index: SnapshotIndex): RuleEvaluation {
  const { nowMs } = index;
  const statuses: readonly string[] = rule.statuses;
  return threadRule(index, (t, team) => {
    const goal = t.goal;
    // An unloaded (or archived) thread's goal is kept as last reported, but nothing continues it
    // and nobody is looking at it: it would otherwise stall forever.
    if (!goal || t.status === "notLoaded" || !statuses.includes(goal.status)) return null;
    const since = goal.statusSinceMs;
    if (nowMs - since < rule.forMs) return null;
    // The figures go to details, not the summary: it stays stable while the status holds.
    return condition(
      rule,
      threadSubject(t, team),
      since,
      nowMs,
      `${threadLabel(t)} goal is ${goal.status}`,
      null,
      {
        goalStatus: goal.status,
        tokensUsed: goal.tokensUsed,
        tokenBudget: goal.tokenBudget,
      },
    );
  });
}

function targetDown(
  rule: RuleOf<"targetUnreachable" | "targetUnauthorized">,
  { snap, nowMs }: SnapshotIndex,
): RuleEvaluation {
  const out = empty();
  const cls = rule.kind === "targetUnreachable" ? "unreachable" : "unauthorized";
  for (const t of snap.targets) {
    // A first connection attempt (e.g. right after a collector restart) says nothing yet.
    if (t.down === null && t.state === "connecting") out.held.add(subjectKey({ type: "target", id: t.id }));
    if (t.down === null || t.down.cls !== cls) continue;
    const why = t.down.reason ? ` (${t.down.reason})` : "";
    out.conditions.push(
      condition(rule, targetSubject(t), t.down.sinceMs, nowMs, `Target ${t.id} is ${cls}${why}`, null, {
        reason: t.down.reason,
        error: t.down.error,
      }),
    );
  }
  return out;
}

function scopeSubject(
  scope: "thread" | "developer" | "team" | "fleet",
  f: { targetId: string; threadId: string | null; team: string },
  group: string,
): Subject {
  switch (scope) {
    case "thread":
      return {
        type: "thread",
        id: f.threadId ?? "",
        group,
        targetId: f.targetId,
        threadId: f.threadId,
        team: f.team,
      };
    case "developer":
      return { type: "developer", id: f.targetId, group, targetId: f.targetId, threadId: null, team: f.team };
    case "team":
      return { type: "team", id: f.team, group, targetId: null, threadId: null, team: f.team };
    case "fleet":
      return { type: "fleet", id: "fleet", group, targetId: null, threadId: null, team: null };
  }
}

function scopeLabel(subject: Subject): string {
  switch (subject.type) {
    case "thread":
      return `thread ${shortId(subject.id)} on ${subject.targetId}`;
    case "developer":
    case "target":
      return subject.id;
    case "team":
      return `team ${subject.id === "" ? "(none)" : subject.id}`;
    case "fleet":
      return "the fleet";
  }
}

/**
 * Failed turns in the window, grouped per scope and `codexErrorInfo`. With `minCount` 1 the rule
 * reports failures as they stand: a failure stops counting as soon as its thread moves on
 * (`movedOnFrom`), so the alert resolves when the developer's next turn starts, the thread goes
 * idle, unloads or is archived — or when the window passes, whichever comes first. With a higher
 * `minCount` it is a rate ("N failures in the window"), and only the window ends a failure: a
 * developer who retries does not make an outage look smaller.
 */
function turnFailed(rule: RuleOf<"turnFailed">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  const out = empty();
  if (snap.failures === null) return { ...out, heldAll: true };
  const perFailure = rule.minCount === 1;
  const groups = new Map<string, { subject: Subject; failures: FailedTurn[] }>();
  for (const f of snap.failures) {
    if (f.atMs <= nowMs - rule.windowMs) continue;
    const info = f.codexErrorInfo ?? "unknown";
    const subject = scopeSubject(rule.scope, { ...f, team: index.teams.get(f.targetId) ?? "" }, info);
    if (perFailure) {
      // Whether the thread moved on is read off its state, stale while its target is down or
      // reconnected less than settleMs ago (a restarted collector's stored state, say): held then,
      // as the thread rules hold such threads, so an alert is neither resolved nor raised anew on it.
      if (index.settledTeams.get(f.targetId) === null) {
        out.held.add(subjectKey(subject));
        continue;
      }
      if (movedOnFrom(f, index.threads.get(f.threadId))) continue;
    }
    const key = `${subject.type}:${subject.id}:${info}`;
    const group = groups.get(key) ?? { subject, failures: [] };
    group.failures.push(f);
    groups.set(key, group);
  }
  for (const { subject, failures } of groups.values()) {
    if (failures.length < rule.minCount) continue;
    failures.sort((a, b) => a.atMs - b.atMs);
    const count = failures.length;
    const last = failures[count - 1] as FailedTurn;
    // All of them are inside the window now, so it has held since the minCount-th of them.
    const since = (failures[rule.minCount - 1] as FailedTurn).atMs;
    const summary =
      count === 1
        ? `A turn failed with ${subject.group} on ${scopeLabel(subject)}`
        : perFailure
          ? `${count} threads have a failed turn with ${subject.group} on ${scopeLabel(subject)}`
          : `${count} turns failed with ${subject.group} on ${scopeLabel(subject)} in the last ${formatDuration(rule.windowMs)}`;
    out.conditions.push(
      condition(rule, subject, since, nowMs, summary, count, {
        codexErrorInfo: subject.group,
        count,
        windowMs: rule.windowMs,
        lastThreadId: last.threadId,
        lastTurnId: last.turnId,
      }),
    );
  }
  return out;
}

function dailySpend(rule: RuleOf<"dailySpend">, { snap, nowMs }: SnapshotIndex): RuleEvaluation {
  if (snap.spend === null) return { ...empty(), heldAll: true };
  const out = empty();
  const totals = new Map<string, { subject: Subject; costUsd: number }>();
  for (const row of snap.spend.byTarget) {
    const subject = scopeSubject(rule.scope, { targetId: row.targetId, threadId: null, team: row.team }, "");
    const key = `${subject.type}:${subject.id}`;
    const total = totals.get(key) ?? { subject, costUsd: 0 };
    total.costUsd += row.costUsd;
    totals.set(key, total);
  }
  for (const { subject, costUsd } of totals.values()) {
    if (costUsd < rule.thresholdUsd) continue;
    const cents = Math.round(costUsd * 100) / 100;
    out.conditions.push(
      condition(
        rule,
        subject,
        nowMs,
        nowMs,
        `${scopeLabel(subject)} spent $${cents.toFixed(2)} today (UTC), budget $${rule.thresholdUsd.toFixed(2)}`,
        cents,
        {
          costUsd: cents,
          thresholdUsd: rule.thresholdUsd,
          day: new Date(snap.spend.dayStartMs).toISOString().slice(0, 10),
        },
      ),
    );
  }
  return out;
}

/**
 * Evaluate one rule. Disabled rules yield nothing (their open alerts resolve). `index` is what the
 * rules derive from (snap, now), shared by the rules of one evaluation (snapshot-index.ts): pass
 * one built for this same snapshot and time, or none.
 */
export function evaluateRule(
  rule: EffectiveRule,
  snap: FleetSnapshot,
  nowMs: number,
  index: SnapshotIndex = new SnapshotIndex(snap, nowMs),
): RuleEvaluation {
  if (!rule.enabled) return empty();
  switch (rule.kind) {
    case "waitingOnApproval":
    case "waitingOnUserInput":
      return waiting(rule, index);
    case "noProgress":
      return noProgress(rule, index);
    case "systemError":
      return systemError(rule, index);
    case "contextWindow":
      return contextWindow(rule, index);
    case "targetUnreachable":
    case "targetUnauthorized":
      return targetDown(rule, index);
    case "turnFailed":
      return turnFailed(rule, index);
    case "dailySpend":
      return dailySpend(rule, index);
    case "goalStalled":
      return goalStalled(rule, index);
    case "budget":
      return budgetThreshold(rule, index);
    case "budgetForecast":
      return budgetForecast(rule, index);
    case "planWindow":
      return planWindow(rule, index);
    case "planForecast":
      return planForecast(rule, index);
    case "limitReached":
      return limitReached(rule, index);
  }
}

/**
 * One alert's life as a pure state machine: `apply(prev, condition, rule, ctx) → {next, emit}`.
 *
 *   (none) ──condition──▶ pending ──held forMs──▶ firing ──condition gone──▶ resolved
 *                            └──condition gone──▶ dropped (never fired: no notification)
 *
 * Notifications: `firing` once when it fires (or when a silence ends on an alert that fired while
 * silenced), `repeat` every repeat interval while firing, unacknowledged and unsilenced, and
 * `resolved` only if a firing notification went out — so a receiver never sees a resolve for an
 * alert it never heard of, and always hears the end of one it did (even if silenced since).
 * An acknowledged alert is not notified again until it resolves.
 */
import type { AckIdentity, AlertRecord, Condition, EffectiveRule, NotificationEvent } from "./types.ts";

/** What changed, for persistence and the live feed. */
export type Change = "none" | "created" | "updated" | "resolved" | "dropped";

export interface Transition {
  /** The alert after the step; for `dropped` the last state (to tell live clients), not stored. */
  next: AlertRecord | null;
  emit: NotificationEvent | null;
  change: Change;
}

export interface ApplyContext {
  nowMs: number;
  /** Whether an active silence matches this alert now (silences.ts). */
  silenced: boolean;
  /** Id for a new alert (injected to keep this pure). */
  newId: () => string;
}

const NOTHING: Transition = { next: null, emit: null, change: "none" };

/** The pending duration of a rule; kinds without `forMs` fire as soon as they hold. */
export function forMsOf(rule: EffectiveRule): number {
  return "forMs" in rule ? rule.forMs : 0;
}

function sameContent(a: AlertRecord, b: AlertRecord): boolean {
  return (
    a.state === b.state &&
    a.summary === b.summary &&
    a.value === b.value &&
    a.severity === b.severity &&
    a.silenced === b.silenced &&
    a.pendingSinceMs === b.pendingSinceMs &&
    a.lastNotifiedAtMs === b.lastNotifiedAtMs &&
    JSON.stringify(a.details) === JSON.stringify(b.details)
  );
}

/** Notify on entering firing, unless silenced or acknowledged (then it waits, see module doc). */
function fire(alert: AlertRecord, nowMs: number): { alert: AlertRecord; emit: NotificationEvent | null } {
  const firing: AlertRecord = { ...alert, state: "firing", firingSinceMs: nowMs };
  if (firing.silenced || firing.ackBy !== null) return { alert: firing, emit: null };
  return { alert: { ...firing, lastNotifiedAtMs: nowMs }, emit: "firing" };
}

/**
 * Step one alert identity. `prev` is its open alert (pending or firing) or null; `condition` is
 * what the rule concludes now, or null when it does not hold; `rule` is null when the rule is gone
 * from the config (its alerts resolve).
 */
export function apply(
  prev: AlertRecord | null,
  cond: Condition | null,
  rule: EffectiveRule | null,
  ctx: ApplyContext,
): Transition {
  const { nowMs } = ctx;
  const open = prev !== null && prev.state !== "resolved" ? prev : null;
  const holds = cond !== null && rule?.enabled ? cond : null;

  if (open === null) {
    if (holds === null || rule === null) return NOTHING;
    const created: AlertRecord = {
      id: ctx.newId(),
      ruleId: rule.id,
      kind: rule.kind,
      severity: rule.severity,
      subject: holds.subject,
      state: "pending",
      summary: holds.summary,
      value: holds.value,
      details: holds.details,
      pendingSinceMs: holds.sinceMs,
      firingSinceMs: null,
      resolvedAtMs: null,
      lastNotifiedAtMs: null,
      ackBy: null,
      ackRole: null,
      ackAtMs: null,
      silenced: ctx.silenced,
      updatedAtMs: nowMs,
    };
    if (nowMs - created.pendingSinceMs < forMsOf(rule))
      return { next: created, emit: null, change: "created" };
    const fired = fire(created, nowMs);
    return { next: fired.alert, emit: fired.emit, change: "created" };
  }

  if (holds === null || rule === null) {
    if (open.state === "pending") {
      return {
        next: { ...open, state: "resolved", resolvedAtMs: nowMs, updatedAtMs: nowMs },
        emit: null,
        change: "dropped",
      };
    }
    const resolved: AlertRecord = { ...open, state: "resolved", resolvedAtMs: nowMs, updatedAtMs: nowMs };
    return { next: resolved, emit: open.lastNotifiedAtMs !== null ? "resolved" : null, change: "resolved" };
  }

  let next: AlertRecord = {
    ...open,
    severity: rule.severity,
    summary: holds.summary,
    value: holds.value,
    details: holds.details,
    silenced: ctx.silenced,
    // A restart may reveal an earlier start than first observed; never a later one.
    pendingSinceMs:
      open.state === "pending" ? Math.min(open.pendingSinceMs, holds.sinceMs) : open.pendingSinceMs,
  };
  let emit: NotificationEvent | null = null;
  if (next.state === "pending") {
    if (nowMs - next.pendingSinceMs >= forMsOf(rule)) ({ alert: next, emit } = fire(next, nowMs));
  } else if (!next.silenced && next.ackBy === null) {
    if (next.lastNotifiedAtMs === null) {
      next = { ...next, lastNotifiedAtMs: nowMs };
      emit = "firing";
    } else if (rule.repeatIntervalMs > 0 && nowMs - next.lastNotifiedAtMs >= rule.repeatIntervalMs) {
      next = { ...next, lastNotifiedAtMs: nowMs };
      emit = "repeat";
    }
  }
  if (sameContent(open, next)) return { next: open, emit: null, change: "none" };
  return { next: { ...next, updatedAtMs: nowMs }, emit, change: "updated" };
}

/**
 * A held alert (its subject's state is unknown): no transition and no notification; only the
 * silenced flag follows the silences.
 */
export function hold(prev: AlertRecord, ctx: Pick<ApplyContext, "nowMs" | "silenced">): Transition {
  if (prev.silenced === ctx.silenced) return { next: prev, emit: null, change: "none" };
  return { next: { ...prev, silenced: ctx.silenced, updatedAtMs: ctx.nowMs }, emit: null, change: "updated" };
}

/** Why an acknowledgement was refused. */
export class AckError extends Error {
  constructor(readonly reason: "resolved") {
    super("alert is resolved");
  }
}

/** Acknowledge an open alert: who (name and signed-in role) and when. Re-acknowledging records the latest. */
export function acknowledge(prev: AlertRecord, by: AckIdentity, nowMs: number): AlertRecord {
  if (prev.state === "resolved") throw new AckError("resolved");
  return { ...prev, ackBy: by.name, ackRole: by.role, ackAtMs: nowMs, updatedAtMs: nowMs };
}

/** The request's signed-in identity as the auth hook set it (`request.fleetAuth`). */
export interface AckAuth {
  role: string;
  via: "session" | "bearer" | "none";
  /** A person's name, once a sign-in carries one (e.g. OIDC); absent for static-token sessions. */
  name?: string | null;
}

/**
 * Who acknowledges (issue 16): with auth on, the signed-in identity — its name, or the role for
 * a static-token session ("admin", "viewer") — and the body's free-text `by` is ignored, so one
 * person cannot record an acknowledgement in someone else's name. With auth off (`via: "none"`)
 * nobody is signed in and the free-text `by` is the only name there is: it is required. Returns
 * null when it is missing (the caller answers 400 naming `by`).
 */
export function ackIdentity(auth: AckAuth | null | undefined, by: string | undefined): AckIdentity | null {
  // No auth hook installed (an app built without access control) is auth off too.
  if (auth && auth.via !== "none") {
    const name = auth.name?.trim();
    return { name: name ? name : auth.role, role: auth.role };
  }
  return by === undefined ? null : { name: by, role: null };
}

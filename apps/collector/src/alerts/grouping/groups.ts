/**
 * When an alert group is sent and what it says (Alertmanager's timing). Pure: the group's stored
 * state and its current members in, the decision out; the clock is `nowMs`.
 *
 * - A group's first message goes `groupWaitMs` after its first alert (more alerts join meanwhile).
 * - Later changes (new or resolved members) go out at most every `groupIntervalMs` after the last
 *   message (`nextFlushAfterChange`, applied by the database when an alert transition marks the group).
 * - An unchanged group still firing is re-sent every `repeatIntervalMs` (0 = never).
 * - A group whose every member has resolved sends one resolved message, then ends (`notified` empty).
 *
 * Who is notified: silenced and inhibited alerts are not (muted); an acknowledged alert is never
 * announced if it was acknowledged before its first message, is listed (as firing) in messages the
 * group sends for other reasons, but never causes a repeat — today's per-alert ack semantics.
 * A member the receiver heard firing always gets its resolve, even if muted since (state-machine.ts
 * rule: a receiver always hears the end of what it heard).
 */
import { type AlertView, highestSeverity } from "@codex-fleet/protocol/api";
import { ALERT_LABEL_NAMES } from "../labels.ts";
import type { GroupMember, GroupNotification } from "../notifiers/group-payload.ts";
import { alertPageLink } from "../views.ts";
import type { GroupTimings } from "./route.ts";

/** Members listed in one message; the rest are counted in `truncated`. */
export const MAX_GROUP_MEMBERS = 50;

/** A group's persisted state (table `notification_group`). */
export interface GroupState {
  receiver: string;
  groupKey: string;
  labels: Record<string, string>;
  /** Alerts the receiver last heard as firing (by id); empty: the group has ended or never sent. */
  notified: readonly string[];
  /** Flushes so far (sent or not); a flush is conditioned on it (exactly once across collectors). */
  seq: number;
  nextFlushAtMs: number | null;
  lastFlushAtMs: number | null;
  timings: GroupTimings;
}

/** An open, firing alert routed to the group. */
export interface GroupCandidate {
  alert: AlertView;
  silenced: boolean;
  inhibited: boolean;
  acked: boolean;
}

export interface FlushInput {
  group: GroupState;
  /** The group's firing alerts now. */
  firing: readonly GroupCandidate[];
  /** Alerts in `group.notified` that have resolved since (their final view). */
  resolved: readonly AlertView[];
  nowMs: number;
  /** Base of dashboard links. */
  baseUrl: string;
}

export interface FlushDecision {
  /** The message to queue, or null (nothing the receiver must hear). */
  send: GroupNotification | null;
  notified: string[];
  lastFlushAtMs: number | null;
  /** The next flush (a repeat), or null: nothing scheduled until an alert transition marks the group. */
  nextFlushAtMs: number | null;
}

/**
 * The group's next flush after a change at `nowMs` (SQL in alerts-repository `markGroups` does the
 * same atomically): a group that has not sent yet keeps its first time (or starts one groupWait from
 * now); one that has sent flushes at the earliest of its scheduled time and one groupInterval after its last message.
 */
export function nextFlushAfterChange(
  group: Pick<GroupState, "notified" | "nextFlushAtMs" | "lastFlushAtMs" | "timings">,
  nowMs: number,
): number {
  if (group.notified.length === 0 || group.lastFlushAtMs === null)
    return group.nextFlushAtMs ?? nowMs + group.timings.groupWaitMs;
  const afterInterval = Math.max(nowMs, group.lastFlushAtMs + group.timings.groupIntervalMs);
  return group.nextFlushAtMs === null ? afterInterval : Math.min(group.nextFlushAtMs, afterInterval);
}

/** Decide a due group's flush. */
export function decideFlush(input: FlushInput): FlushDecision {
  const { group, nowMs } = input;
  const heard = new Set(group.notified);
  const fresh = input.firing.filter((c) => !heard.has(c.alert.id) && !c.silenced && !c.inhibited && !c.acked);
  const still = input.firing.filter((c) => heard.has(c.alert.id) && !c.silenced && !c.inhibited);
  const mutedHeard = input.firing.filter((c) => heard.has(c.alert.id) && (c.silenced || c.inhibited));
  const ended = input.resolved.filter((a) => heard.has(a.id));
  const repeatMs = group.timings.repeatIntervalMs;
  const repeatDue =
    group.lastFlushAtMs !== null &&
    repeatMs > 0 &&
    nowMs >= group.lastFlushAtMs + repeatMs &&
    still.some((c) => !c.acked);
  const send = fresh.length > 0 || ended.length > 0 || repeatDue;

  if (!send) {
    // Members still open but no longer routed here (a config change) leave without a message.
    const firingIds = new Set(input.firing.map((c) => c.alert.id));
    const notified = group.notified.filter((id) => firingIds.has(id));
    const last = group.lastFlushAtMs;
    const next =
      notified.length === 0 || repeatMs === 0 || last === null
        ? null
        : last + repeatMs > nowMs
          ? last + repeatMs
          : nowMs + repeatMs;
    return { send: null, notified, lastFlushAtMs: last, nextFlushAtMs: next };
  }

  const notified = [...fresh, ...still, ...mutedHeard].map((c) => c.alert.id);
  const seq = group.seq + 1;
  return {
    send: groupNotification({
      group,
      seq,
      fresh: fresh.map((c) => c.alert),
      still: still.map((c) => c.alert),
      resolved: ended,
      nowMs,
      baseUrl: input.baseUrl,
    }),
    notified,
    lastFlushAtMs: nowMs,
    nextFlushAtMs: notified.length > 0 && repeatMs > 0 ? nowMs + repeatMs : null,
  };
}

/** The notification id of a group's flush number `seq`: unique per flush, stable across retries. */
export function groupNotificationId(receiver: string, groupKey: string, seq: number): string {
  return `${receiver}:${groupKey}:${seq}`;
}

function groupNotification(args: {
  group: GroupState;
  seq: number;
  fresh: readonly AlertView[];
  still: readonly AlertView[];
  resolved: readonly AlertView[];
  nowMs: number;
  baseUrl: string;
}): GroupNotification {
  const { group, fresh, still, resolved } = args;
  const base = args.baseUrl.replace(/\/+$/, "");
  const member = (change: GroupMember["change"]) => (alert: AlertView) => ({
    change,
    alert,
    dashboardUrl: alertPageLink(base, alert),
  });
  const all: GroupMember[] = [
    ...fresh.map(member("new")),
    ...still.map(member("firing")),
    ...resolved.map(member("resolved")),
  ];
  const firingCount = fresh.length + still.length;
  const status = firingCount > 0 ? "firing" : "resolved";
  const ranked = firingCount > 0 ? [...fresh, ...still] : resolved;
  const severity = highestSeverity(ranked);
  // Label order as ALERT_LABEL_NAMES gives it (the stored jsonb keeps no order).
  const labels = Object.fromEntries(
    ALERT_LABEL_NAMES.flatMap((n) => (group.labels[n] === undefined ? [] : [[n, group.labels[n]]])),
  ) as Record<string, string>;
  const labelText = Object.entries(labels)
    .map(([k, v]) => (k === "ruleId" ? v : `${k}=${v}`))
    .join(" ");
  const query = new URLSearchParams(labels).toString();
  return {
    version: 2,
    id: groupNotificationId(group.receiver, group.groupKey, args.seq),
    receiver: group.receiver,
    groupKey: group.groupKey,
    groupLabels: labels,
    status,
    severity,
    // `firing` counts every firing member, the `new` ones included.
    counts: { firing: firingCount, new: fresh.length, resolved: resolved.length },
    members: all.slice(0, MAX_GROUP_MEMBERS),
    truncated: Math.max(0, all.length - MAX_GROUP_MEMBERS),
    title: `[${status === "firing" ? `FIRING:${firingCount}` : "RESOLVED"}] ${labelText || group.receiver}`,
    dashboardUrl: `${base}/alerts${query ? `?${query}` : ""}`,
    createdAt: new Date(args.nowMs).toISOString(),
  };
}

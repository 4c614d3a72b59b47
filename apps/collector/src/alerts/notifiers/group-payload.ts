/**
 * What a receiver is sent: one message per alert group (Alertmanager's model). A group is the
 * alerts routed to one receiver that share the route's `groupBy` labels (default ruleId and team).
 * It is built when the group is flushed (after `groupWaitMs` for a new group, then at most every
 * `groupIntervalMs` while it changes, and every `repeatIntervalMs` while it still fires) and stored
 * in the outbox, so a retry after a restart or a failover sends exactly the same message.
 */
import type { AlertView, Severity } from "@codex-fleet/protocol/api";

/** How a member changed since the group's previous notification. */
export type GroupMemberChange = "new" | "firing" | "resolved";

/** One alert of the group as the receiver sees it. */
export interface GroupMember {
  change: GroupMemberChange;
  alert: AlertView;
  /** The dashboard page of this alert (its thread, else the alerts list). */
  dashboardUrl: string;
}

export interface GroupNotification {
  version: 2;
  /** Unique per flush, stable across retries and restarts: receivers deduplicate on it. */
  id: string;
  /** The configured receiver (alerts.notify[].name) this message is for. */
  receiver: string;
  /**
   * Stable for the group's whole life (same labels, same route): PagerDuty's `dedup_key`,
   * Opsgenie's `alias`, Alertmanager's grouping — a resolve closes what the trigger opened.
   */
  groupKey: string;
  /** The groupBy labels and their values, e.g. { ruleId: "approval-stuck", team: "payments" }. */
  groupLabels: Record<string, string>;
  /** "firing" while any member fires; "resolved" when every member has resolved. */
  status: "firing" | "resolved";
  /** The highest severity among firing members (else among all members). */
  severity: Severity;
  /** Counts over the whole group, members listed or not. */
  counts: { firing: number; new: number; resolved: number };
  /** New first, then still firing, then resolved; at most 50 (see `truncated`). */
  members: GroupMember[];
  /** Members left out of `members` for size. */
  truncated: number;
  /** One line for titles and subjects, e.g. "[FIRING:3] approval-stuck team=payments". */
  title: string;
  /** The dashboard's alerts list filtered to this group. */
  dashboardUrl: string;
  createdAt: string;
  /** A test message sent from the dashboard ("Test receiver"); receivers may mark it as such. */
  test?: boolean;
}

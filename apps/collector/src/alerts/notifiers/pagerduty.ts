/**
 * PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): one event per group
 * notification — `trigger` while the group fires, `resolve` once every member has resolved — with
 * `dedup_key` = the group key, so a resolve closes the incident its trigger opened and repeats
 * update it instead of opening another. The routing key goes in the body only; it is redacted from
 * any error a response might echo.
 */
import { createHash } from "node:crypto";
import type { Severity } from "@codex-fleet/protocol/api";
import type { Secret } from "../../config/secret.ts";
import { clip, countsText, listedMembers, memberText } from "./format.ts";
import type { GroupNotification } from "./group-payload.ts";
import { postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** PagerDuty's documented limits: dedup_key 255 characters, summary 1024. */
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1024;
/** Members listed in custom_details (the whole message stays well under PagerDuty's 512 KB). */
const DETAIL_MEMBERS = 50;

const SEVERITY: Record<Severity, "critical" | "error" | "warning" | "info"> = {
  critical: "critical",
  warning: "warning",
  info: "info",
};

/** The group key, or its SHA-256 when longer than a dedup_key may be. */
export function pagerDutyDedupKey(groupKey: string): string {
  return groupKey.length <= MAX_DEDUP_KEY
    ? groupKey
    : `sha256:${createHash("sha256").update(groupKey).digest("hex")}`;
}

/** An Events API v2 event body. */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: "trigger" | "resolve";
  dedup_key: string;
  client?: string;
  client_url?: string;
  payload?: {
    summary: string;
    source: string;
    severity: "critical" | "error" | "warning" | "info";
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
}

/** The event for `n` (`action` overrides the group's status: a test resolves what it triggered). */
export function pagerDutyEvent(
  n: GroupNotification,
  routingKey: string,
  source: string,
  action: PagerDutyEvent["event_action"] = n.status === "firing" ? "trigger" : "resolve",
): PagerDutyEvent {
  const dedup_key = pagerDutyDedupKey(n.groupKey);
  // A resolve needs only the key and the action (the API ignores a payload on resolve).
  if (action === "resolve") return { routing_key: routingKey, event_action: "resolve", dedup_key };
  const { listed, more } = listedMembers(n, 5);
  const first = n.members[0]?.alert;
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key,
    client: "codex-fleet",
    client_url: n.dashboardUrl,
    payload: {
      summary: clip(`${n.title}${first ? ` — ${first.summary}` : ""}`, MAX_SUMMARY),
      source,
      severity: SEVERITY[n.severity],
      timestamp: n.createdAt,
      ...(n.groupLabels.ruleId ? { class: n.groupLabels.ruleId } : {}),
      ...(n.groupLabels.team ? { group: n.groupLabels.team } : {}),
      // The component only when every member is on the same target.
      ...(first?.target && n.members.every((m) => m.alert.target === first.target)
        ? { component: first.target }
        : {}),
      custom_details: {
        counts: n.counts,
        group: n.groupLabels,
        notification: n.id,
        members: n.members.slice(0, DETAIL_MEMBERS).map((m) => ({
          change: m.change,
          summary: m.alert.summary,
          severity: m.alert.severity,
          target: m.alert.target,
          thread: m.alert.threadId,
          team: m.alert.team ?? null,
          firingSince: m.alert.firingSince,
          link: m.dashboardUrl,
        })),
        ...(n.members.length + n.truncated > DETAIL_MEMBERS
          ? { more: n.members.length + n.truncated - DETAIL_MEMBERS }
          : {}),
        text: [countsText(n), ...listed.map(memberText), ...(more > 0 ? [`and ${more} more`] : [])].join(
          "\n",
        ),
      },
    },
    links: [
      { href: n.dashboardUrl, text: "Open the group in codex-fleet" },
      ...listed.map((m) => ({ href: m.dashboardUrl, text: clip(m.alert.summary, 200) })),
    ],
  };
}

export interface PagerDutyOptions {
  name: string;
  /** Events API endpoint. */
  url: string;
  routingKey: Secret;
  source: string;
  timeoutMs: number;
  now?: () => number;
  allowLinkLocal?: boolean;
}

/** A PagerDuty notifier (one attempt per `send`; a test triggers, then resolves its own incident). */
export function createPagerDutyNotifier(opts: PagerDutyOptions): Notifier {
  const post = (event: PagerDutyEvent, signal?: AbortSignal): Promise<SendResult> =>
    postJson({
      url: opts.url,
      body: JSON.stringify(event),
      headers: {},
      timeoutMs: opts.timeoutMs,
      signal,
      now: opts.now,
      allowLinkLocal: opts.allowLinkLocal,
      secrets: [opts.routingKey.reveal()],
    });
  return {
    name: opts.name,
    type: "pagerduty",
    async send(n: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      const key = opts.routingKey.reveal();
      const result = await post(pagerDutyEvent(n, key, opts.source), signal);
      if (!n.test || !result.ok) return result;
      const resolved = await post(pagerDutyEvent(n, key, opts.source, "resolve"), signal);
      return resolved.ok ? { ...result, durationMs: result.durationMs + resolved.durationMs } : resolved;
    },
  };
}

/** Slack incoming webhook: `{text, blocks}` with the summary and a link to the dashboard. */
import type { NotificationPayload } from "../views.ts";
import { postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** Slack mrkdwn needs only &, < and > escaped (api.slack.com "Formatting text"). */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const HEADLINE: Record<NotificationPayload["event"], string> = {
  firing: ":rotating_light: FIRING",
  repeat: ":rotating_light: STILL FIRING",
  resolved: ":white_check_mark: RESOLVED",
};

/** The Slack message for a notification. */
export function slackMessage(n: NotificationPayload): { text: string; blocks: unknown[] } {
  const a = n.alert;
  const headline = `${HEADLINE[n.event]} [${a.severity}] ${escapeSlack(a.summary)}`;
  const facts = [
    `rule \`${escapeSlack(a.ruleId)}\` (${escapeSlack(a.kind)})`,
    `${escapeSlack(n.subject.type)} \`${escapeSlack(n.subject.id)}\``,
    a.team ? `team ${escapeSlack(a.team)}` : null,
    a.ackBy ? `acknowledged by ${escapeSlack(a.ackBy)}` : null,
  ].filter((f): f is string => f !== null);
  return {
    text: headline,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${headline}*\n${facts.join(" · ")}` } },
      { type: "context", elements: [{ type: "mrkdwn", text: `<${n.dashboardUrl}|Open in codex-fleet>` }] },
    ],
  };
}

export interface SlackOptions {
  name: string;
  url: string;
  timeoutMs: number;
  now?: () => number;
  /** `network.allowLinkLocal`. */
  allowLinkLocal?: boolean;
}

/** A Slack incoming-webhook notifier (one attempt per `send`). */
export function createSlackNotifier(opts: SlackOptions): Notifier {
  return {
    name: opts.name,
    type: "slack",
    send(notification: NotificationPayload, signal?: AbortSignal): Promise<SendResult> {
      const body = JSON.stringify(slackMessage(notification));
      return postJson({
        url: opts.url,
        body,
        headers: {},
        timeoutMs: opts.timeoutMs,
        signal,
        now: opts.now,
        allowLinkLocal: opts.allowLinkLocal,
      });
    },
  };
}

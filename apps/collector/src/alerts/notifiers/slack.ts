/**
 * Slack incoming webhook: one message per alert group — the title, the counts, the first members
 * as lines linking to their dashboard pages, "and N more", and a link to the group.
 */
import { changeLabel, clip, countsText, listedMembers } from "./format.ts";
import type { GroupMember, GroupNotification } from "./group-payload.ts";
import { postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** Slack mrkdwn needs only &, < and > escaped (api.slack.com "Formatting text"). */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const ICON: Record<GroupNotification["status"], string> = {
  firing: ":rotating_light:",
  resolved: ":white_check_mark:",
};

/** A Slack link; `|` would end the URL part, so it is percent-encoded. */
function link(url: string, text: string): string {
  return `<${url.replace(/\|/g, "%7C")}|${escapeSlack(text)}>`;
}

/** Room for member lines, below Slack's 3000 and leaving space for "and N more". */
const SECTION_BUDGET = 2900;

function memberLine(m: GroupMember): string {
  const a = m.alert;
  const where = [
    a.target ? `target ${escapeSlack(a.target)}` : null,
    a.team ? `team ${escapeSlack(a.team)}` : null,
  ]
    .filter((s): s is string => s !== null)
    .join(" · ");
  const ack = a.ackBy ? ` · acknowledged by ${escapeSlack(a.ackBy)}` : "";
  return `• *${changeLabel(m.change)}* [${a.severity}] ${link(m.dashboardUrl, clip(a.summary, 300))}${where ? ` · ${where}` : ""}${ack}`;
}

/** The Slack message for a group notification. */
export function slackMessage(n: GroupNotification): { text: string; blocks: unknown[] } {
  const headline = `${ICON[n.status]} ${escapeSlack(n.title)}`;
  const { listed, more } = listedMembers(n);
  // Section text is capped at 3000 characters by Slack: list whole lines while they fit.
  const lines: string[] = [];
  let length = 0;
  for (const m of listed) {
    const line = memberLine(m);
    if (length + line.length + 1 > SECTION_BUDGET) break;
    lines.push(line);
    length += line.length + 1;
  }
  const unlisted = more + listed.length - lines.length;
  if (unlisted > 0) lines.push(`_and ${unlisted} more_`);
  return {
    text: headline,
    blocks: [
      {
        type: "section",
        text: { type: "mrkdwn", text: `*${headline}*\n${countsText(n)} · severity ${n.severity}` },
      },
      { type: "section", text: { type: "mrkdwn", text: lines.join("\n") } },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: link(n.dashboardUrl, "Open the group in codex-fleet") }],
      },
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
    send(notification: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      return postJson({
        url: opts.url,
        body: JSON.stringify(slackMessage(notification)),
        headers: {},
        timeoutMs: opts.timeoutMs,
        signal,
        now: opts.now,
        allowLinkLocal: opts.allowLinkLocal,
      });
    },
  };
}

/**
 * Microsoft Teams through a workflow webhook (Power Automate "Post to a channel when a webhook
 * request is received"): a message with one Adaptive Card (version 1.4) per group notification.
 * The webhook URL carries its own signature (`sig=`), so it is a secret: never logged or returned.
 */
import { changeLabel, clip, countsText, listedMembers } from "./format.ts";
import type { GroupMember, GroupNotification } from "./group-payload.ts";
import { postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** Backslash-escape what Adaptive Card markdown would read as formatting. */
export function escapeTeams(text: string): string {
  return text.replace(/[\\`*_[\]()<>#~|]/g, (c) => `\\${c}`);
}

function memberBlock(m: GroupMember): Record<string, unknown> {
  const a = m.alert;
  const where = [a.target ? `target ${a.target}` : null, a.team ? `team ${a.team}` : null]
    .filter((s): s is string => s !== null)
    .map(escapeTeams)
    .join(" · ");
  return {
    type: "TextBlock",
    wrap: true,
    spacing: "Small",
    text: `**${changeLabel(m.change)}** ${a.severity} · [${escapeTeams(clip(a.summary, 300))}](${m.dashboardUrl})${where ? ` · ${where}` : ""}`,
  };
}

/** The workflow-webhook body for a group notification. */
export function teamsMessage(n: GroupNotification): Record<string, unknown> {
  const { listed, more } = listedMembers(n);
  const body: Record<string, unknown>[] = [
    {
      type: "TextBlock",
      text: escapeTeams(`${n.title}`),
      weight: "Bolder",
      size: "Medium",
      wrap: true,
      color: n.status === "firing" ? (n.severity === "info" ? "Accent" : "Attention") : "Good",
    },
    {
      type: "TextBlock",
      text: escapeTeams(`${countsText(n)} · severity ${n.severity}`),
      isSubtle: true,
      wrap: true,
    },
    {
      type: "FactSet",
      facts: Object.entries(n.groupLabels).map(([title, value]) => ({ title, value: escapeTeams(value) })),
    },
    ...listed.map(memberBlock),
  ];
  if (more > 0) body.push({ type: "TextBlock", text: `and ${more} more`, isSubtle: true, wrap: true });
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          msteams: { width: "Full" },
          body,
          actions: [{ type: "Action.OpenUrl", title: "Open in codex-fleet", url: n.dashboardUrl }],
        },
      },
    ],
  };
}

export interface TeamsOptions {
  name: string;
  url: string;
  timeoutMs: number;
  now?: () => number;
  allowLinkLocal?: boolean;
}

/** A Teams workflow-webhook notifier (one attempt per `send`). */
export function createTeamsNotifier(opts: TeamsOptions): Notifier {
  return {
    name: opts.name,
    type: "teams",
    send(n: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      return postJson({
        url: opts.url,
        body: JSON.stringify(teamsMessage(n)),
        headers: {},
        timeoutMs: opts.timeoutMs,
        signal,
        now: opts.now,
        allowLinkLocal: opts.allowLinkLocal,
        secrets: [opts.url],
      });
    },
  };
}

/** Pieces every receiver's message is built from: member lines, "and N more", counts, a title. */
import type { GroupMember, GroupMemberChange, GroupNotification } from "./group-payload.ts";

/** How many members chat messages list before "and N more". */
export const LISTED_MEMBERS = 10;

const CHANGE_LABEL: Record<GroupMemberChange, string> = {
  new: "NEW",
  firing: "FIRING",
  resolved: "RESOLVED",
};

/** "NEW", "FIRING" or "RESOLVED". */
export function changeLabel(change: GroupMemberChange): string {
  return CHANGE_LABEL[change];
}

/** The first `max` members and how many more the group has (unlisted and truncated ones). */
export function listedMembers(
  n: GroupNotification,
  max = LISTED_MEMBERS,
): { listed: GroupMember[]; more: number } {
  const listed = n.members.slice(0, max);
  return { listed, more: n.members.length - listed.length + n.truncated };
}

/** "3 firing (1 new), 2 resolved". */
export function countsText(n: GroupNotification): string {
  const parts = [`${n.counts.firing} firing`];
  if (n.counts.new > 0) parts[0] += ` (${n.counts.new} new)`;
  if (n.counts.resolved > 0) parts.push(`${n.counts.resolved} resolved`);
  return parts.join(", ");
}

/** One plain-text line per member: "[NEW] critical · summary · target alice · thread th-1". */
export function memberText(m: GroupMember): string {
  const a = m.alert;
  const where = [a.target ? `target ${a.target}` : null, a.threadId ? `thread ${a.threadId}` : null].filter(
    (s): s is string => s !== null,
  );
  return [`[${changeLabel(m.change)}] ${a.severity}`, a.summary, ...where].join(" · ");
}

/** "[FIRING:3] approval-stuck team=payments", Alertmanager's title convention. */
export function groupTitle(
  status: GroupNotification["status"],
  count: number,
  groupLabels: Record<string, string>,
): string {
  const labels = Object.entries(groupLabels).map(([k, v]) => (k === "ruleId" ? v : `${k}=${v}`));
  return `[${status.toUpperCase()}:${count}] ${labels.join(" ")}`.trim();
}

/** Cut `text` to `max` characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

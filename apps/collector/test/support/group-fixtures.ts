/** Builders of grouped notifications (version 2) for receiver tests. */
import type { GroupMember, GroupNotification } from "../../src/alerts/notifiers/group-payload.ts";
import type { AlertRecord } from "../../src/alerts/types.ts";
import { alertView } from "../../src/alerts/views.ts";
import { firingAlert, T0 } from "./alert-fixtures.ts";

export const BASE_URL = "https://fleet.example.com";

/** A member: `firingAlert(patch)` on its own thread page. */
export function member(change: GroupMember["change"], patch: Partial<AlertRecord> = {}): GroupMember {
  const alert = alertView(firingAlert(patch));
  return {
    change,
    alert,
    dashboardUrl: alert.threadId ? `${BASE_URL}/threads/${alert.threadId}` : `${BASE_URL}/alerts`,
  };
}

/** Three members of approval-wait on team payments: th-1 new, th-2 firing, th-3 resolved. */
export function threeMembers(): GroupMember[] {
  const thread = (id: string) => ({
    type: "thread" as const,
    id,
    group: "",
    targetId: "alice",
    threadId: id,
    team: "payments",
  });
  return [
    member("new", {
      id: "al-1",
      subject: thread("th-1"),
      summary: "thread th-1 on alice is waiting on an approval",
    }),
    member("firing", {
      id: "al-2",
      subject: { ...thread("th-2"), targetId: "bob" },
      summary: "thread th-2 on bob is waiting on an approval",
    }),
    member("resolved", {
      id: "al-3",
      subject: thread("th-3"),
      state: "resolved",
      firingSinceMs: T0 - 60_000,
      resolvedAtMs: T0 - 1000,
      summary: "thread th-3 on alice is waiting on an approval",
    }),
  ];
}

/** A firing group of `members` (default `threeMembers()`), as the dispatcher would send it. */
export function groupNotification(patch: Partial<GroupNotification> = {}): GroupNotification {
  const members = patch.members ?? threeMembers();
  const count = (c: GroupMember["change"]) => members.filter((m) => m.change === c).length;
  const firing = count("new") + count("firing");
  const status = patch.status ?? (firing > 0 ? "firing" : "resolved");
  return {
    version: 2,
    id: "n-1",
    receiver: "oncall",
    groupKey: JSON.stringify([
      ["ruleId", "approval-wait"],
      ["team", "payments"],
    ]),
    groupLabels: { ruleId: "approval-wait", team: "payments" },
    status,
    severity: "warning",
    counts: { firing, new: count("new"), resolved: count("resolved") },
    members,
    truncated: 0,
    title: `[${status.toUpperCase()}:${status === "firing" ? firing : members.length}] approval-wait team=payments`,
    dashboardUrl: `${BASE_URL}/alerts?rule=approval-wait&team=payments`,
    createdAt: new Date(T0).toISOString(),
    ...patch,
  };
}

/** The same group after every member resolved (same groupKey, a later id). */
export function resolvedGroup(patch: Partial<GroupNotification> = {}): GroupNotification {
  const members = threeMembers().map((m) => ({
    ...m,
    change: "resolved" as const,
    alert: {
      ...m.alert,
      state: "resolved" as const,
      resolvedAt: m.alert.resolvedAt ?? new Date(T0 + 60_000).toISOString(),
    },
  }));
  return groupNotification({ id: "n-2", members, createdAt: new Date(T0 + 60_000).toISOString(), ...patch });
}

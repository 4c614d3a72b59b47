import type { AlertGroupView, AlertView } from "@codex-fleet/protocol/api";
import { describe, expect, it } from "vitest";
import {
  groupsQueryState,
  groupTitle,
  overlayGroups,
  unknownOpenAlerts,
} from "../../../../src/pages/alerts/alert-groups.ts";
import { ALERTS } from "../../../fixtures.ts";

const [APPROVAL, DOWN] = ALERTS as [AlertView, AlertView];
const info: AlertView = { ...APPROVAL, id: "al-i", severity: "info", state: "pending", firingSince: null };
const GROUP: AlertGroupView = {
  key: "k",
  labels: { ruleId: "approval-wait", team: "payments" },
  receivers: ["chat"],
  severity: "warning",
  counts: { firing: 1, pending: 1, resolved: 0 },
  alerts: [APPROVAL, info],
};

describe("overlayGroups", () => {
  it.each<[string, AlertView[], "firing" | "all", string | null, unknown]>([
    ["does keep the group as the API sent it", [], "all", null, [[1, 1, 0], "warning", ["al-1", "al-i"]]],
    ["does filter members by state", [], "firing", null, [[1, 1, 0], "warning", ["al-1"]]],
    ["does filter members by severity", [], "all", "info", [[1, 1, 0], "warning", ["al-i"]]],
    [
      "does recount and lower the severity when a live upsert resolves a member",
      [{ ...APPROVAL, state: "resolved" }],
      "all",
      null,
      [[0, 1, 1], "info", ["al-i", "al-1"]],
    ],
    [
      "does drop a group no member of which passes",
      [{ ...APPROVAL, state: "resolved" }],
      "firing",
      null,
      null,
    ],
  ])("%s", (_name, live, state, severity, want) => {
    const [shown] = overlayGroups([GROUP], new Map(live.map((a) => [a.id, a])), state, severity);
    expect(
      shown
        ? [
            [shown.counts.firing, shown.counts.pending, shown.counts.resolved],
            shown.severity,
            shown.shown.map((a) => a.id),
          ]
        : null,
    ).toEqual(want);
  });
});

describe("unknownOpenAlerts", () => {
  it("does name open live alerts no group holds, not resolved ones", () => {
    expect(unknownOpenAlerts([GROUP], [APPROVAL, DOWN, { ...DOWN, id: "al-x", state: "resolved" }])).toEqual([
      "al-2",
    ]);
  });
});

describe("small helpers", () => {
  it.each([
    ["firing", "open"],
    ["pending", "open"],
    ["resolved", "all"],
    ["all", "all"],
  ] as const)("does ask for %s alerts' groups with state=%s", (filter, want) => {
    expect(groupsQueryState(filter)).toBe(want);
  });

  it("does title a group by its label values", () => {
    expect(groupTitle(GROUP)).toBe("approval-wait · payments");
    expect(groupTitle({ labels: {} })).toBe("all alerts");
  });
});

import { describe, expect, it } from "vitest";
import {
  type InhibitCandidate,
  inhibited,
  inhibitedIds,
  inhibitRules,
} from "../../../../src/alerts/grouping/inhibit.ts";
import { InhibitRuleSchema } from "../../../../src/config/route-schema.ts";

const threadAlert = (id: string, target: string, kind = "systemError"): InhibitCandidate => ({
  id,
  labels: {
    ruleId: "system-error",
    kind,
    severity: "critical",
    subjectType: "thread",
    subjectId: id,
    target,
    team: "payments",
  },
});
const targetDown = (target: string, kind = "targetUnreachable"): InhibitCandidate => ({
  id: `down-${target}`,
  labels: {
    ruleId: "target-down",
    kind,
    severity: "warning",
    subjectType: "target",
    subjectId: target,
    target,
    team: "payments",
  },
});

describe("inhibited: the built-in rule (threads of a down target)", () => {
  const rules = inhibitRules({ inhibit: [], inhibitThreadsOfDownTargets: true });
  it.each<[string, InhibitCandidate, InhibitCandidate[], boolean]>([
    [
      "does inhibit a thread alert while its target is unreachable",
      threadAlert("t1", "alice"),
      [targetDown("alice")],
      true,
    ],
    [
      "does inhibit a thread alert while its target is unauthorized",
      threadAlert("t1", "alice"),
      [targetDown("alice", "targetUnauthorized")],
      true,
    ],
    ["does not inhibit a thread of another target", threadAlert("t1", "bob"), [targetDown("alice")], false],
    ["does not inhibit without a firing source", threadAlert("t1", "alice"), [], false],
    ["does not inhibit the target alert itself", targetDown("alice"), [targetDown("alice")], false],
    [
      "does not take a thread alert as a source",
      threadAlert("t1", "alice"),
      [threadAlert("t2", "alice", "targetUnreachable")],
      false,
    ],
  ])("%s", (_name, alert, firing, want) => {
    expect(inhibited(alert, firing, rules)).toBe(want);
  });

  it("does not apply when turned off", () => {
    expect(inhibitRules({ inhibit: [], inhibitThreadsOfDownTargets: false })).toEqual([]);
    expect(
      inhibitedIds(
        [
          { ...threadAlert("t1", "alice"), firing: true },
          { ...targetDown("alice"), firing: true },
        ],
        [],
      ),
    ).toEqual(new Set());
  });

  it("does take only firing alerts as sources", () => {
    const all = [
      { ...threadAlert("t1", "alice"), firing: true },
      { ...threadAlert("t2", "bob"), firing: true },
      { ...targetDown("alice"), firing: true },
      { ...targetDown("bob"), firing: false },
    ];
    expect(inhibitedIds(all, rules)).toEqual(new Set(["t1"]));
  });
});

describe("inhibited: configured rules", () => {
  const critical = InhibitRuleSchema.parse({
    sourceMatchers: { severity: "critical" },
    targetMatchers: { severity: { re: "warning|info" } },
    equal: ["team"],
  });
  const rules = inhibitRules({ inhibit: [critical], inhibitThreadsOfDownTargets: false });
  const a = (id: string, severity: string, team?: string): InhibitCandidate => ({
    id,
    labels: { ruleId: id, severity, ...(team ? { team } : {}) },
  });
  it.each<[string, InhibitCandidate, InhibitCandidate[], boolean]>([
    [
      "does inhibit a warning while a critical of the same team fires",
      a("w", "warning", "pay"),
      [a("c", "critical", "pay")],
      true,
    ],
    [
      "does not inhibit across teams (equal)",
      a("w", "warning", "pay"),
      [a("c", "critical", "search")],
      false,
    ],
    ["does treat two absent equal labels as equal", a("w", "info"), [a("c", "critical")], true],
    ["does not treat absent and present as equal", a("w", "info", "pay"), [a("c", "critical")], false],
    [
      "does not inhibit a target the matchers miss",
      a("w", "critical", "pay"),
      [a("c", "critical", "pay")],
      false,
    ],
  ])("%s", (_name, alert, firing, want) => {
    expect(inhibited(alert, firing, rules)).toBe(want);
  });
});

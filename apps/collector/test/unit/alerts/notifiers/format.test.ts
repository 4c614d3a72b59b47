import { describe, expect, it } from "vitest";
import {
  clip,
  countsText,
  groupTitle,
  listedMembers,
  memberText,
} from "../../../../src/alerts/notifiers/format.ts";
import { redactResult } from "../../../../src/alerts/notifiers/http.ts";
import { createTestNotification } from "../../../../src/alerts/notifiers/test-notification.ts";
import { T0 } from "../../../support/alert-fixtures.ts";
import { BASE_URL, groupNotification, member } from "../../../support/group-fixtures.ts";

describe("message pieces", () => {
  it.each<[string, Parameters<typeof groupTitle>, string]>([
    [
      "does title a firing group like Alertmanager",
      ["firing", 3, { ruleId: "approval-wait", team: "payments" }],
      "[FIRING:3] approval-wait team=payments",
    ],
    ["does title a resolved group", ["resolved", 1, { ruleId: "x" }], "[RESOLVED:1] x"],
    ["does title a group without labels", ["firing", 2, {}], "[FIRING:2]"],
  ])("%s", (_name, args, want) => {
    expect(groupTitle(...args)).toBe(want);
  });

  it.each<[string, { firing: number; new: number; resolved: number }, string]>([
    [
      "does count firing, new and resolved",
      { firing: 3, new: 1, resolved: 2 },
      "3 firing (1 new), 2 resolved",
    ],
    ["does leave out zero new and zero resolved", { firing: 4, new: 0, resolved: 0 }, "4 firing"],
    ["does count an all-resolved group", { firing: 0, new: 0, resolved: 5 }, "0 firing, 5 resolved"],
  ])("%s", (_name, counts, want) => {
    expect(countsText(groupNotification({ counts }))).toBe(want);
  });

  it("does list the first members and count the rest, truncated ones included", () => {
    const members = Array.from({ length: 12 }, (_, i) => member("firing", { id: `al-${i}` }));
    const { listed, more } = listedMembers(groupNotification({ members, truncated: 5 }), 10);
    expect([listed.length, more]).toEqual([10, 7]);
  });

  it("does describe a member on one line", () => {
    expect(memberText(groupNotification().members[0] ?? member("new"))).toBe(
      "[NEW] warning · thread th-1 on alice is waiting on an approval · target alice · thread th-1",
    );
  });

  it.each([
    ["does keep short text", "abc", 5, "abc"],
    ["does cut long text with an ellipsis", "abcdefgh", 5, "abcd…"],
  ])("%s", (_name, text, max, want) => {
    expect(clip(text, max)).toBe(want);
  });

  it("does redact every occurrence of a secret in an error", () => {
    const result = {
      ok: false,
      status: 400,
      error: "key K1 bad; K1 again",
      retryable: false,
      retryAfterMs: null,
      durationMs: 1,
    };
    expect(redactResult(result, ["K1", ""]).error).toBe("key [redacted] bad; [redacted] again");
  });

  it("does build a test notification with one synthetic member, unique per call", () => {
    const a = createTestNotification("oncall", T0, `${BASE_URL}/`);
    const b = createTestNotification("oncall", T0 + 1, BASE_URL);
    expect(a).toMatchObject({
      version: 2,
      test: true,
      receiver: "oncall",
      status: "firing",
      severity: "info",
      counts: { firing: 1, new: 1, resolved: 0 },
      truncated: 0,
      dashboardUrl: `${BASE_URL}/alerts`,
    });
    expect(a.members).toHaveLength(1);
    expect(a.title).toBe("[TEST] [FIRING:1] codex-fleet-test receiver=oncall");
    expect(a.groupKey).not.toBe(b.groupKey);
  });
});

import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSlackNotifier, escapeSlack, slackMessage } from "../../../../src/alerts/notifiers/slack.ts";
import { createTestNotification } from "../../../../src/alerts/notifiers/test-notification.ts";
import { T0 } from "../../../support/alert-fixtures.ts";
import { BASE_URL, groupNotification, member, resolvedGroup } from "../../../support/group-fixtures.ts";

let receiver: TestReceiver;
beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());

type Blocks = { type: string; text?: { text: string }; elements?: { text: string }[] }[];

describe("slack notifier", () => {
  it.each([
    ["does escape &, < and >", "a <b> & c", "a &lt;b&gt; &amp; c"],
    ["does leave other text alone", "`x` *y* _z_", "`x` *y* _z_"],
  ])("%s", (_name, input, want) => {
    expect(escapeSlack(input)).toBe(want);
  });

  it.each([
    ["firing", groupNotification(), ":rotating_light: [FIRING:2] approval-wait team=payments"],
    ["resolved", resolvedGroup(), ":white_check_mark: [RESOLVED:3] approval-wait team=payments"],
    [
      "test",
      createTestNotification("slack", T0, BASE_URL),
      ":rotating_light: [TEST] [FIRING:1] codex-fleet-test receiver=slack",
    ],
  ] as const)("does head a %s message with its title", (_name, n, head) => {
    expect(slackMessage(n).text.startsWith(head)).toBe(true);
  });

  it("does post one message per group: title, counts, members as linked lines", async () => {
    const notifier = createSlackNotifier({ name: "slack", url: receiver.url, timeoutMs: 2000 });
    const members = [
      member("new", { summary: "thread <x> & y is waiting", ackBy: "ops" }),
      ...groupNotification().members.slice(1),
    ];
    const result = await notifier.send(groupNotification({ members }));
    expect(result.ok).toBe(true);
    const body = JSON.parse(receiver.received[0]?.body ?? "{}") as { text: string; blocks: Blocks };
    expect(body.text).toBe(":rotating_light: [FIRING:2] approval-wait team=payments");
    expect(body.blocks[0]?.text?.text).toBe(
      "*:rotating_light: [FIRING:2] approval-wait team=payments*\n2 firing (1 new), 1 resolved · severity warning",
    );
    expect(body.blocks[1]?.text?.text.split("\n")).toEqual([
      `• *NEW* [warning] <${BASE_URL}/threads/th-1|thread &lt;x&gt; &amp; y is waiting> · target alice · team payments · acknowledged by ops`,
      `• *FIRING* [warning] <${BASE_URL}/threads/th-2|thread th-2 on bob is waiting on an approval> · target bob · team payments`,
      `• *RESOLVED* [warning] <${BASE_URL}/threads/th-3|thread th-3 on alice is waiting on an approval> · target alice · team payments`,
    ]);
    expect(body.blocks[2]?.elements?.[0]?.text).toBe(
      `<${BASE_URL}/alerts?rule=approval-wait&team=payments|Open the group in codex-fleet>`,
    );
    expect(receiver.received[0]?.headers["x-codex-fleet-signature"]).toBeUndefined();
  });

  it("does list ten members and say how many more the group has", () => {
    const members = Array.from({ length: 14 }, (_, i) =>
      member("firing", { id: `al-${i}`, summary: `alert ${i}` }),
    );
    const lines = (
      slackMessage(groupNotification({ members, truncated: 36 })).blocks as Blocks
    )[1]?.text?.text.split("\n");
    expect(lines).toHaveLength(11);
    expect(lines?.at(-1)).toBe("_and 40 more_");
  });

  it("does keep the member section under Slack's 3000 characters", () => {
    const members = Array.from({ length: 10 }, (_, i) =>
      member("firing", { id: `al-${i}`, summary: "x".repeat(900) }),
    );
    const text = (slackMessage(groupNotification({ members })).blocks as Blocks)[1]?.text?.text ?? "";
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toMatch(/_and \d+ more_$/);
  });
});

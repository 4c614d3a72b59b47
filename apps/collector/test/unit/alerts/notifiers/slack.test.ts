import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSlackNotifier, escapeSlack, slackMessage } from "../../../../src/alerts/notifiers/slack.ts";
import { notificationPayload } from "../../../../src/alerts/views.ts";
import { firingAlert, T0 } from "../../../support/alert-fixtures.ts";

let receiver: TestReceiver;
beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());

describe("slack notifier", () => {
  it.each([
    ["does escape &, < and >", "a <b> & c", "a &lt;b&gt; &amp; c"],
    ["does leave other text alone", "`x` *y* _z_", "`x` *y* _z_"],
  ])("%s", (_name, input, want) => {
    expect(escapeSlack(input)).toBe(want);
  });

  it.each([
    ["firing", ":rotating_light: FIRING [warning]"],
    ["repeat", ":rotating_light: STILL FIRING [warning]"],
    ["resolved", ":white_check_mark: RESOLVED [warning]"],
  ] as const)("does head a %s message with its state and severity", (event, head) => {
    const msg = slackMessage(notificationPayload(firingAlert(), event, T0, "https://fleet.example.com"));
    expect(msg.text.startsWith(head)).toBe(true);
  });

  it("does post the incoming-webhook format with a link to the dashboard", async () => {
    const notifier = createSlackNotifier({ name: "slack", url: receiver.url, timeoutMs: 2000 });
    const alert = firingAlert({ summary: "thread <x> & y is waiting", ackBy: "ops" });
    const result = await notifier.send(notificationPayload(alert, "firing", T0, "https://fleet.example.com"));
    expect(result.ok).toBe(true);
    const body = JSON.parse(receiver.received[0]?.body ?? "{}");
    expect(body).toEqual({
      text: ":rotating_light: FIRING [warning] thread &lt;x&gt; &amp; y is waiting",
      blocks: [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text:
              "*:rotating_light: FIRING [warning] thread &lt;x&gt; &amp; y is waiting*\n" +
              "rule `approval-wait` (waitingOnApproval) · thread `th-1` · team payments · acknowledged by ops",
          },
        },
        {
          type: "context",
          elements: [
            { type: "mrkdwn", text: "<https://fleet.example.com/threads/th-1|Open in codex-fleet>" },
          ],
        },
      ],
    });
    expect(receiver.received[0]?.headers["x-codex-fleet-signature"]).toBeUndefined();
  });
});

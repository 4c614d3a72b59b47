/**
 * The HTTP receivers against real local servers that validate the documented API shapes and keep
 * the state the real service would: PagerDuty Events v2 (trigger, then resolve on the same
 * dedup_key), Opsgenie (create, then close by alias, GenieKey), Teams (Adaptive Card),
 * Alertmanager (postable alerts, one per member). Retry classification per status.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { alertmanagerAlerts, createAlertmanagerNotifier } from "../src/alerts/notifiers/alertmanager.ts";
import { createOpsgenieNotifier, opsgenieAlias } from "../src/alerts/notifiers/opsgenie.ts";
import { createPagerDutyNotifier, pagerDutyDedupKey } from "../src/alerts/notifiers/pagerduty.ts";
import { createTeamsNotifier, teamsMessage } from "../src/alerts/notifiers/teams.ts";
import { createTestNotification } from "../src/alerts/notifiers/test-notification.ts";
import type { Notifier } from "../src/alerts/notifiers/types.ts";
import { Secret } from "../src/config/secret.ts";
import { T0 } from "./support/alert-fixtures.ts";
import { BASE_URL, groupNotification, member, resolvedGroup } from "./support/group-fixtures.ts";
import {
  type ApiAnswer,
  type FakeAlertmanager,
  type FakeOpsgenie,
  type FakePagerDuty,
  type FakeTeams,
  fingerprint,
  startAlertmanager,
  startOpsgenie,
  startPagerDuty,
  startTeamsWorkflow,
} from "./support/receiver-apis.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF";
const GENIE_KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889";
const TEAMS_SIG = "sig-Xk3vT9secret";

let pd: FakePagerDuty;
let og: FakeOpsgenie;
let teams: FakeTeams;
let am: FakeAlertmanager;

beforeAll(async () => {
  [pd, og, teams, am] = await Promise.all([
    startPagerDuty(ROUTING_KEY),
    startOpsgenie(GENIE_KEY),
    startTeamsWorkflow(TEAMS_SIG),
    startAlertmanager(),
  ]);
});
afterAll(() => Promise.all([pd, og, teams, am].map((s) => s?.close())));
beforeEach(() => {
  for (const s of [pd, og, teams, am]) s.received.length = 0;
  pd.events.length = 0;
  pd.incidents.clear();
  og.alerts.clear();
  teams.messages.length = 0;
  am.alerts.clear();
});

const pagerduty = (key = ROUTING_KEY) =>
  createPagerDutyNotifier({
    name: "pd",
    url: `${pd.url}/v2/enqueue`,
    routingKey: new Secret(key),
    source: "codex-fleet",
    timeoutMs: 2000,
  });
const opsgenie = (key = GENIE_KEY) =>
  createOpsgenieNotifier({
    name: "og",
    url: og.url,
    apiKey: new Secret(key),
    tags: ["fleet"],
    timeoutMs: 2000,
  });
const teamsNotifier = () => createTeamsNotifier({ name: "teams", url: teams.webhookUrl, timeoutMs: 2000 });
const alertmanager = (firingEndsAfterMs: number | null = null) =>
  createAlertmanagerNotifier({ name: "am", url: `${am.url}/`, firingEndsAfterMs, timeoutMs: 2000 });

describe("pagerduty receiver", () => {
  it("does trigger while the group fires and resolve the same incident by dedup_key when it resolves", async () => {
    const firing = groupNotification();
    expect(await pagerduty().send(firing)).toMatchObject({ ok: true, status: 202, error: null });
    const key = pagerDutyDedupKey(firing.groupKey);
    expect(pd.incidents.get(key)).toBe("triggered");
    const trigger = pd.events[0];
    if (trigger?.event_action !== "trigger") throw new Error("no trigger");
    expect(trigger.dedup_key).toBe(firing.groupKey);
    expect(trigger.payload).toMatchObject({
      summary: expect.stringContaining("[FIRING:2] approval-wait team=payments"),
      severity: "warning",
      source: "codex-fleet",
      class: "approval-wait",
      group: "payments",
      custom_details: { counts: { firing: 2, new: 1, resolved: 1 } },
    });
    const details = trigger.payload.custom_details as { members: { summary: string; link: string }[] };
    expect(details.members.map((m) => m.link)).toEqual([
      `${BASE_URL}/threads/th-1`,
      `${BASE_URL}/threads/th-2`,
      `${BASE_URL}/threads/th-3`,
    ]);
    expect(trigger.links?.[0]).toEqual({ href: firing.dashboardUrl, text: "Open the group in codex-fleet" });

    expect(await pagerduty().send(resolvedGroup())).toMatchObject({ ok: true, status: 202 });
    expect(pd.events[1]).toEqual({ routing_key: ROUTING_KEY, event_action: "resolve", dedup_key: key });
    expect(pd.incidents.get(key)).toBe("resolved");
    expect(pd.incidents.size).toBe(1);
  });

  it.each([
    ["critical", "critical"],
    ["warning", "warning"],
    ["info", "info"],
  ] as const)("does map severity %s to PagerDuty's %s", async (severity, want) => {
    await pagerduty().send(groupNotification({ severity }));
    const event = pd.events[0];
    expect(event?.event_action === "trigger" && event.payload.severity).toBe(want);
  });

  it("does hash a group key longer than a dedup_key may be", () => {
    const long = "x".repeat(300);
    expect(pagerDutyDedupKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pagerDutyDedupKey(long)).toBe(pagerDutyDedupKey(long));
    expect(pagerDutyDedupKey("short")).toBe("short");
  });

  it("does trigger and then resolve its own incident for a test message", async () => {
    const test = createTestNotification("pd", T0, BASE_URL);
    expect(await pagerduty().send(test)).toMatchObject({ ok: true, status: 202 });
    expect(pd.events.map((e) => e.event_action)).toEqual(["trigger", "resolve"]);
    expect(pd.incidents.get(test.groupKey)).toBe("resolved");
    expect(pd.events[0]?.event_action === "trigger" && pd.events[0].payload.summary).toMatch(/^\[TEST\] /);
  });

  it("does keep the routing key out of the error when the API echoes it", async () => {
    pd.script({
      status: 400,
      body: { status: "invalid event", message: `routing key ${ROUTING_KEY} is not known` },
    });
    const result = await pagerduty().send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 400, retryable: false });
    expect(result.error).toContain("[redacted]");
    expect(result.error).not.toContain(ROUTING_KEY);
  });

  it("does fail, not retry, on a key PagerDuty refuses (400)", async () => {
    const result = await pagerduty("W".repeat(32)).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 400, retryable: false });
  });
});

describe("opsgenie receiver", () => {
  it("does create with the GenieKey header while firing and close by alias when resolved", async () => {
    const firing = groupNotification({ severity: "critical" });
    expect(await opsgenie().send(firing)).toMatchObject({ ok: true, status: 202 });
    const alias = opsgenieAlias(firing.groupKey);
    expect(alias.length).toBeLessThanOrEqual(512);
    expect(og.received[0]?.headers.authorization).toBe(`GenieKey ${GENIE_KEY}`);
    const alert = og.alerts.get(alias);
    expect(alert).toMatchObject({ status: "open", count: 1 });
    expect(alert?.create).toMatchObject({
      message: "[FIRING:2] approval-wait team=payments",
      alias,
      priority: "P1",
      source: "codex-fleet",
      details: { firing: "2", new: "1", resolved: "1", ruleId: "approval-wait", team: "payments" },
    });
    expect(alert?.create.tags).toEqual(
      expect.arrayContaining([
        "codex-fleet",
        "severity:critical",
        "ruleId:approval-wait",
        "team:payments",
        "fleet",
      ]),
    );
    expect(alert?.create.description).toContain(`${BASE_URL}/threads/th-2`);

    // A repeat while still firing is de-duplicated by the alias (the count goes up).
    await opsgenie().send(groupNotification({ id: "n-1b", severity: "critical" }));
    expect(og.alerts.get(alias)).toMatchObject({ status: "open", count: 2 });

    expect(await opsgenie().send(resolvedGroup())).toMatchObject({ ok: true, status: 202 });
    const close = og.received[2];
    expect(close?.path).toBe(`/v2/alerts/${alias}/close`);
    expect(close?.query.get("identifierType")).toBe("alias");
    expect(og.alerts.get(alias)?.status).toBe("closed");
  });

  it.each([
    ["critical", "P1"],
    ["warning", "P3"],
    ["info", "P5"],
  ] as const)("does map severity %s to priority %s", async (severity, priority) => {
    const n = groupNotification({ severity });
    await opsgenie().send(n);
    expect(og.alerts.get(opsgenieAlias(n.groupKey))?.create.priority).toBe(priority);
  });

  it("does cut the message to Opsgenie's 130 characters", async () => {
    const n = groupNotification({ title: `[FIRING:1] ${"very-long-rule-".repeat(20)}` });
    expect(await opsgenie().send(n)).toMatchObject({ ok: true });
    expect(og.alerts.get(opsgenieAlias(n.groupKey))?.create.message.length).toBe(130);
  });

  it("does report 401 for a wrong key, not retryable, without the key", async () => {
    const result = await opsgenie("wrong-key-0000").send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 401, retryable: false });
    expect(result.error).not.toContain("wrong-key-0000");
  });

  it("does create and then close its own alert for a test message", async () => {
    const test = createTestNotification("og", T0, BASE_URL);
    expect(await opsgenie().send(test)).toMatchObject({ ok: true });
    expect(og.alerts.get(opsgenieAlias(test.groupKey))).toMatchObject({ status: "closed" });
    expect(og.alerts.get(opsgenieAlias(test.groupKey))?.create.tags).toContain("test");
  });
});

describe("teams receiver", () => {
  it("does post a message with one Adaptive Card 1.4 listing the members with links", async () => {
    const n = groupNotification();
    expect(await teamsNotifier().send(n)).toMatchObject({ ok: true, status: 202 });
    const card = teams.messages[0]?.attachments[0]?.content;
    expect(card?.version).toBe("1.4");
    const texts = (card?.body ?? []).map((b) => String((b as { text?: unknown }).text ?? ""));
    expect(texts[0]).toBe("\\[FIRING:2\\] approval-wait team=payments");
    expect(texts.some((t) => t.includes(`(${BASE_URL}/threads/th-1)`) && t.startsWith("**NEW**"))).toBe(true);
    expect(texts.some((t) => t.includes(`(${BASE_URL}/threads/th-3)`) && t.startsWith("**RESOLVED**"))).toBe(
      true,
    );
    expect(card?.actions).toEqual([
      { type: "Action.OpenUrl", title: "Open in codex-fleet", url: n.dashboardUrl },
    ]);
  });

  it("does list ten members and say how many more there are", () => {
    const members = Array.from({ length: 12 }, (_, i) =>
      member("firing", { id: `al-${i}`, summary: `alert ${i}` }),
    );
    const card = teamsMessage(groupNotification({ members, truncated: 38 })) as {
      attachments: { content: { body: { text?: string }[] } }[];
    };
    const body = card.attachments[0]?.content.body ?? [];
    expect(body.filter((b) => b.text?.startsWith("**FIRING**"))).toHaveLength(10);
    expect(body.at(-1)?.text).toBe("and 40 more");
  });

  it("does report a failure without the signed URL", async () => {
    const result = await createTeamsNotifier({
      name: "t",
      url: `${teams.url}/invoke?sig=wrong-sig-secret`,
      timeoutMs: 2000,
    }).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 401, retryable: false });
    expect(result.error).not.toContain("wrong-sig-secret");
  });
});

describe("alertmanager receiver", () => {
  it("does post one postable alert per member with codex-fleet's labels and the group", async () => {
    const n = groupNotification();
    expect(await alertmanager().send(n)).toMatchObject({ ok: true, status: 200 });
    expect(am.received[0]?.path).toBe("/api/v2/alerts");
    expect(am.alerts.size).toBe(3);
    const byThread = new Map([...am.alerts.values()].map((a) => [a.labels.threadId, a]));
    expect(byThread.get("th-1")).toEqual({
      labels: {
        alertname: "approval-wait",
        ruleId: "approval-wait",
        kind: "waitingOnApproval",
        severity: "warning",
        subjectType: "thread",
        subjectId: "th-1",
        team: "payments",
        target: "alice",
        threadId: "th-1",
        codex_fleet_group: "ruleId=approval-wait,team=payments",
      },
      annotations: {
        summary: "thread th-1 on alice is waiting on an approval",
        dashboard: `${BASE_URL}/threads/th-1`,
        codex_fleet_alert_id: "al-1",
      },
      startsAt: new Date(T0).toISOString(),
      generatorURL: `${BASE_URL}/threads/th-1`,
    });
    expect(byThread.get("th-2")?.endsAt).toBeUndefined();
    expect(byThread.get("th-3")?.endsAt).toBe(new Date(T0 - 1000).toISOString());
    expect(byThread.get("th-3")?.startsAt).toBe(new Date(T0 - 60_000).toISOString());
  });

  it("does end every member's alert (same label set) when the group resolves", async () => {
    await alertmanager().send(groupNotification());
    await alertmanager().send(resolvedGroup());
    expect(am.alerts.size).toBe(3);
    for (const a of am.alerts.values()) expect(a.endsAt).toBeDefined();
  });

  it("does set endsAt of firing alerts firingEndsAfterMs after the notification when configured", () => {
    const [first] = alertmanagerAlerts(groupNotification(), 600_000);
    expect(first?.endsAt).toBe(new Date(T0 + 600_000).toISOString());
  });

  it("does keep the label set stable across notifications, so Alertmanager updates, not duplicates", () => {
    const a = alertmanagerAlerts(groupNotification()).map((x) => fingerprint(x.labels));
    const b = alertmanagerAlerts(resolvedGroup()).map((x) => fingerprint(x.labels));
    expect(b).toEqual(a);
  });
});

describe("retry classification (every HTTP receiver)", () => {
  const receivers: [string, () => Notifier, () => { script(...a: ApiAnswer[]): void }][] = [
    ["pagerduty", () => pagerduty(), () => pd],
    ["opsgenie", () => opsgenie(), () => og],
    ["teams", () => teamsNotifier(), () => teams],
    ["alertmanager", () => alertmanager(), () => am],
  ];
  const cases: [string, ApiAnswer, { retryable: boolean; retryAfterMs: number | null }][] = [
    ["500", { status: 500, body: "boom" }, { retryable: true, retryAfterMs: null }],
    ["502", { status: 502 }, { retryable: true, retryAfterMs: null }],
    [
      "429 with Retry-After",
      { status: 429, headers: { "retry-after": "3" } },
      { retryable: true, retryAfterMs: 3000 },
    ],
    ["408", { status: 408 }, { retryable: true, retryAfterMs: null }],
    ["400", { status: 400 }, { retryable: false, retryAfterMs: null }],
    ["403", { status: 403 }, { retryable: false, retryAfterMs: null }],
    ["404", { status: 404 }, { retryable: false, retryAfterMs: null }],
  ];
  for (const [type, make, server] of receivers)
    it.each(cases)(`does classify ${type} answering %s`, async (_name, answer, want) => {
      server().script(answer);
      expect(await make().send(groupNotification())).toMatchObject({
        ok: false,
        status: answer.status,
        ...want,
      });
    });
});

describe("alertmanager endsAt", () => {
  it("does never send an alert that ends before it starts (Alertmanager would refuse the batch)", async () => {
    const m = member("resolved", { state: "resolved", firingSinceMs: T0, resolvedAtMs: T0 - 5000 });
    expect(await alertmanager().send(groupNotification({ members: [m] }))).toMatchObject({ ok: true });
    const [sent] = am.alerts.values();
    expect(sent?.endsAt).toBe(sent?.startsAt);
  });
});

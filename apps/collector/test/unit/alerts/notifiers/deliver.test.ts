import {
  type ScriptedResponse,
  startTestReceiver,
  type TestReceiver,
} from "@codex-fleet/codex-fakes/notification-receiver";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AttemptRecord, deliver, type RetryPolicy } from "../../../../src/alerts/notifiers/deliver.ts";
import type { WebhookBody } from "../../../../src/alerts/notifiers/webhook.ts";
import { createWebhookNotifier } from "../../../../src/alerts/notifiers/webhook.ts";
import { firingNotification } from "../../../support/alert-fixtures.ts";
import { groupNotification } from "../../../support/group-fixtures.ts";

let receiver: TestReceiver;
beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
});

const policy: RetryPolicy = { maxAttempts: 4, minBackoffMs: 1000, maxBackoffMs: 5000 };

/** Deliver with a recorded fake sleep and a fixed jitter draw. */
async function run(
  responses: ScriptedResponse[],
  opts: { random?: number; previousAttempts?: number; abortAfterSleeps?: number } = {},
) {
  receiver.script(...responses);
  const sleeps: number[] = [];
  const attempts: (AttemptRecord & { final: boolean })[] = [];
  const controller = new AbortController();
  let clock = 0;
  const outcome = await deliver(
    createWebhookNotifier({ name: "h", url: receiver.url, secret: null, timeoutMs: 2000 }),
    groupNotification(),
    policy,
    {
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
        if (opts.abortAfterSleeps !== undefined && sleeps.length >= opts.abortAfterSleeps) controller.abort();
      },
      random: () => opts.random ?? 0.5,
      signal: controller.signal,
      previousAttempts: opts.previousAttempts,
      onAttempt: (a, final) => {
        attempts.push({ ...a, final });
      },
    },
  );
  return { outcome, sleeps, attempts };
}

describe("deliver", () => {
  it("does retry with growing jittered backoff until delivered, logging every attempt", async () => {
    const { outcome, sleeps, attempts } = await run([{ status: 500 }, { status: 502 }]);
    expect(outcome).toMatchObject({ ok: true, attempts: 3, aborted: false });
    // Equal jitter: half of the ceiling fixed, half random (0.5 here) → 0.75 × ceiling 1000, 2000.
    expect(sleeps).toEqual([750, 1500]);
    expect(attempts.map((a) => [a.attempt, a.atMs, a.ok, a.status, a.final])).toEqual([
      [1, 0, false, 500, false],
      [2, 750, false, 502, false],
      [3, 2250, true, 200, true],
    ]);
    expect(receiver.received).toHaveLength(3);
    // Every attempt carries the same notification id, for receiver-side deduplication.
    expect(new Set(receiver.received.map((r) => r.headers["x-codex-fleet-delivery"])).size).toBe(1);
  });

  it.each<[string, number, number[]]>([
    ["does draw the jitter low", 0, [500, 1000, 2000]],
    ["does draw the jitter high and cap it", 1, [1000, 2000, 4000]],
  ])("%s", async (_name, random, want) => {
    const { sleeps, outcome } = await run(
      [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }],
      { random },
    );
    expect(sleeps).toEqual(want);
    expect(outcome).toMatchObject({ ok: false, attempts: 4, aborted: false });
  });

  it("does stop at once on a permanent failure", async () => {
    const { outcome, sleeps, attempts } = await run([{ status: 410 }]);
    expect([outcome.ok, outcome.attempts, sleeps, attempts.map((a) => a.final)]).toEqual([
      false,
      1,
      [],
      [true],
    ]);
  });

  it("does mark the last allowed attempt final", async () => {
    const { attempts } = await run([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    expect(attempts.map((a) => a.final)).toEqual([false, false, false, true]);
  });

  it("does honour Retry-After up to the backoff cap", async () => {
    const { sleeps } = await run([
      { status: 429, headers: { "retry-after": "3" } },
      { status: 429, headers: { "retry-after": "60" } },
    ]);
    expect(sleeps).toEqual([3000, 5000]);
  });

  it("does continue the attempt count of a resumed delivery", async () => {
    const { outcome, attempts } = await run([{ status: 500 }], { previousAttempts: 3 });
    expect([outcome.ok, outcome.attempts, attempts.map((a) => a.attempt)]).toEqual([false, 4, [4]]);
  });

  it("does stop when aborted (shutdown), leaving the notification owed", async () => {
    const { outcome } = await run([{ status: 500 }, { status: 500 }], { abortAfterSleeps: 1 });
    expect(outcome).toMatchObject({ ok: false, attempts: 1, aborted: true });
  });

  it("does not count an attempt cut short by shutdown as final", async () => {
    receiver.script("hang");
    const controller = new AbortController();
    const finals: boolean[] = [];
    const notifier = createWebhookNotifier({ name: "h", url: receiver.url, secret: null, timeoutMs: 5000 });
    const pending = deliver(notifier, groupNotification(), policy, {
      now: () => 0,
      sleep: async () => {},
      signal: controller.signal,
      onAttempt: (_a, final) => {
        finals.push(final);
      },
    });
    await receiver.waitFor(1);
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, attempts: 1, aborted: true });
    expect(finals).toEqual([false]);
  });

  it("does send a version 1 outbox row (queued before grouping) as a group of one", async () => {
    const own = await startTestReceiver();
    const notifier = createWebhookNotifier({ name: "hook", url: own.url, secret: null, timeoutMs: 2000 });
    const v1 = firingNotification();
    const outcome = await deliver(notifier, v1, policy, { now: () => 0, sleep: async () => {} });
    await own.close();
    expect(outcome).toMatchObject({ ok: true, attempts: 1 });
    const body = JSON.parse(own.received[0]?.body ?? "{}") as WebhookBody;
    expect(body).toMatchObject({
      version: 2,
      id: v1.id,
      receiver: "hook",
      groupKey: "alert:al-1",
      status: "firing",
      counts: { firing: 1, new: 1, resolved: 0 },
      members: [{ change: "new", alert: { id: "al-1" }, dashboardUrl: v1.dashboardUrl }],
      title: "[FIRING:1] approval-wait team=payments",
    });
  });
});

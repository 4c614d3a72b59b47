/**
 * The money alerts (issue 14) through the real alert engine over a real Postgres, with a fake
 * clock and a hand-driven fleet: each kind fires and resolves — `budget` and `budgetForecast` from
 * the usage rollups, `planWindow` (developer and team), `planForecast` and `limitReached` (from a
 * stored plan limit and from a failed turn) from the plan-limit tables written by the repository —
 * and a real local receiver hears firing then resolved with the labels routes and silences match.
 */
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import { type PlanSampleRow, savePlanLimit } from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { mergePlanLimit, type PlanLimitReport, type PlanLimitState } from "@codex-fleet/protocol/limits";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../src/alerts/engine.ts";
import { alertLabels } from "../src/alerts/labels.ts";
import { createNotifiers } from "../src/alerts/notifiers/create.ts";
import type { GroupNotification } from "../src/alerts/notifiers/group-payload.ts";
import type { Config } from "../src/config/schema.ts";
import { createLogger } from "../src/logger.ts";
import { FakeFleet, MIN, T0 } from "./support/alert-fixtures.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";

const H = 60 * MIN;
const DAY = 24 * H;
const TODAY = Math.floor(T0 / DAY) * DAY;

let testDb: TestDatabase;
let db: Db;
let receiver: TestReceiver;
let now = T0;
let fake: FakeFleet;
const engines: AlertEngine[] = [];

async function config(rules: string[], budgets: string[] = []): Promise<Config> {
  const text = [
    "targets:",
    "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1' }",
    "  - { name: bob, team: payments, url: 'ws://127.0.0.1:2' }",
    ...(budgets.length > 0 ? ["budgets:", ...budgets] : []),
    "alerts:",
    "  settleMs: 0",
    "  repeatIntervalMs: 0",
    "  rules:",
    ...rules,
    "  route: { receiver: hook, groupWaitMs: 0, groupIntervalMs: 1, groupBy: [ruleId, subjectId, group] }",
    "  notify:",
    `    - { type: webhook, name: hook, url: '${receiver.url}', minBackoffMs: 10, maxBackoffMs: 40 }`,
  ].join("\n");
  return (await loadFile(text)).config;
}

async function engine(cfg: Config): Promise<AlertEngine> {
  const e = new AlertEngine({
    fleet: fake.fleet,
    pool: db.pool,
    config: cfg,
    log: createLogger({ level: "silent" }),
    publicUrl: "https://fleet.example.com",
    notifiers: createNotifiers(cfg.alerts.notify, {
      now: () => now,
      userAgent: "test",
      allowLinkLocal: false,
    }),
    now: () => now,
    timers: false,
  });
  engines.push(e);
  await e.start(null);
  return e;
}

async function step(e: AlertEngine, atMs: number): Promise<void> {
  now = atMs;
  await e.evaluate();
  e.dispatcher.kick();
  await e.dispatcher.idle();
}

async function open() {
  return (await listOpenAlerts({ pool: db.pool }))
    .map((a) => [a.ruleId, a.subjectType, a.subjectId, a.groupKey, a.state] as const)
    .sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

/** Each received message as [status, ruleId, subjectId] of its first member. */
function heard() {
  return receiver.received.map((x) => {
    const b = JSON.parse(x.body) as GroupNotification;
    return [b.status, b.members[0]?.alert.ruleId, b.members[0]?.alert.subjectId] as const;
  });
}

const WEEK_MIN = 7 * 24 * 60;

/** A report as `account/rateLimits/updated` would carry it (windows only). */
function report(patch: Partial<PlanLimitReport>): PlanLimitReport {
  return {
    limitId: "codex",
    limitName: null,
    planType: null,
    primary: null,
    secondary: null,
    credits: null,
    rateLimitReachedType: null,
    spendControlReached: null,
    source: "updated",
    ...patch,
  };
}

const states = new Map<string, PlanLimitState>();
async function planReport(target: string, r: PlanLimitReport, atMs: number, samples: PlanSampleRow[] = []) {
  const state = mergePlanLimit(states.get(target), r, atMs);
  states.set(target, state);
  await savePlanLimit({ pool: db.pool, targetId: target, state, samples });
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  receiver = await startTestReceiver();
}, 60_000);

afterAll(async () => {
  await removeScratchDirs();
  await receiver?.close();
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE alert, silence, notification_delivery, notification_group, lease, usage_hourly, plan_limit, plan_limit_sample, target CASCADE",
  );
  // Its own statement: usage_hourly's triggers write usage_daily.
  await db.pool.query("DELETE FROM usage_daily");
  await db.pool.query(
    "INSERT INTO target (id, team, url) VALUES ('alice', 'payments', 'ws://127.0.0.1:1'), ('bob', 'payments', 'ws://127.0.0.1:2')",
  );
  states.clear();
  receiver.received.length = 0;
  now = T0;
  fake = new FakeFleet();
  fake.target("alice", "payments", { state: "open", sinceMs: T0 - H }, T0 - H);
  fake.target("bob", "payments", { state: "open", sinceMs: T0 - H }, T0 - H);
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

async function spend(target: string, hourMs: number, costUsd: number, unpriced = 0) {
  await db.pool.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, cost_usd, unpriced_tokens)
     VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, 'payments', 'gpt-5.5', '', $3, $4)`,
    [hourMs, target, costUsd, unpriced],
  );
}

describe("money alerts", () => {
  it("does fire budget at its threshold and budgetForecast on the period average, and resolve both the next day", async () => {
    // 12:00: alice 25 (62.5 %, forecast 50 > 40), bob 5: the team at 30 %.
    await spend("alice", TODAY + 9 * H, 25);
    await spend("bob", TODAY + 10 * H, 5);
    const e = await engine(
      await config(
        [
          "    - { id: budget-80, kind: budget, thresholdPct: 80 }",
          "    - { id: budget-forecast, kind: budgetForecast, budgets: [alice-day] }",
        ],
        [
          "  - { id: alice-day, scope: developer, subject: alice, period: day, unit: usd, amount: 40 }",
          "  - { id: team-day, scope: team, subject: payments, period: day, unit: usd, amount: 100 }",
        ],
      ),
    );
    await step(e, T0);
    expect(await open()).toEqual([["budget-forecast", "developer", "alice", "alice-day", "firing"]]);
    // 15:00: alice 35 (87.5 %): over 80 %.
    await spend("alice", TODAY + 14 * H, 10);
    fake.usageCounted();
    await step(e, T0 + 3 * H);
    expect(await open()).toEqual([
      ["budget-80", "developer", "alice", "alice-day", "firing"],
      ["budget-forecast", "developer", "alice", "alice-day", "firing"],
    ]);
    const view = e.openViews().find((v) => v.ruleId === "budget-80");
    expect(view?.summary).toBe("Budget alice-day (alice, $40.00 a day) has reached 80 %");
    expect(view && alertLabels(view)).toMatchObject({
      budget: "alice-day",
      target: "alice",
      team: "payments",
    });
    // A budget notification links to the Usage page, where the budgets are.
    const member = (JSON.parse(receiver.received[0]?.body ?? "{}") as GroupNotification).members[0];
    expect(member?.dashboardUrl).toBe("https://fleet.example.com/usage");
    // The next UTC day: nothing spent yet.
    await step(e, TODAY + DAY + 2 * H);
    expect(await open()).toEqual([]);
    expect(
      heard()
        .map((m) => m.join(" "))
        .sort(),
    ).toEqual([
      "firing budget-80 alice",
      "firing budget-forecast alice",
      "resolved budget-80 alice",
      "resolved budget-forecast alice",
    ]);
  });

  it("does fire planWindow per developer and per team, and resolve it when the window is reported lower", async () => {
    const resetsAtMs = T0 + 3 * DAY;
    const w = (usedPercent: number) => ({ usedPercent, windowDurationMins: WEEK_MIN, resetsAtMs });
    await planReport("alice", report({ secondary: w(92) }), T0 - MIN);
    await planReport("bob", report({ secondary: w(85) }), T0 - MIN);
    const e = await engine(
      await config([
        "    - { id: window-dev, kind: planWindow, thresholdPct: 90, window: secondary }",
        "    - { id: window-team, kind: planWindow, scope: team, thresholdPct: 80 }",
      ]),
    );
    await step(e, T0);
    expect(await open()).toEqual([
      ["window-dev", "developer", "alice", "codex/secondary", "firing"],
      ["window-team", "team", "payments", "codex/secondary", "firing"],
    ]);
    const team = e.openViews().find((v) => v.ruleId === "window-team");
    expect(team && alertLabels(team)).toMatchObject({
      limitId: "codex",
      window: "secondary",
      team: "payments",
    });
    await planReport("alice", report({ secondary: w(40) }), T0 + MIN);
    await step(e, T0 + 2 * MIN);
    // bob (85 %) still holds the team alert; alice's own resolved.
    expect(await open()).toEqual([["window-team", "team", "payments", "codex/secondary", "firing"]]);
    await planReport("bob", report({ secondary: w(50) }), T0 + 3 * MIN);
    await step(e, T0 + 4 * MIN);
    expect(await open()).toEqual([]);
  });

  it("does fire planForecast when the recent slope runs out an hour before the reset, and resolve when it flattens", async () => {
    const resetsAtMs = T0 + 4 * H;
    const w = (usedPercent: number) => ({ usedPercent, windowDurationMins: 300, resetsAtMs });
    const sample = (atMs: number, usedPercent: number): PlanSampleRow => ({
      limitId: "codex",
      window: "primary",
      atMs,
      usedPercent,
      resetsAtMs,
    });
    // 20 % → 50 % in 30 min: 60 %/h, exhausted at 12:50, 3 h 10 min before the reset.
    await planReport("alice", report({ primary: w(50) }), T0, [sample(T0 - 30 * MIN, 20), sample(T0, 50)]);
    const e = await engine(
      await config(["    - { id: runs-out, kind: planForecast, minMinutesBeforeReset: 60 }"]),
    );
    await step(e, T0);
    expect(await open()).toEqual([["runs-out", "developer", "alice", "codex/primary", "firing"]]);
    const details = (await listOpenAlerts({ pool: db.pool }))[0]?.details;
    expect(details).toMatchObject({
      exhaustsAt: new Date(T0 + 50 * MIN).toISOString(),
      method: "recentSlope",
    });
    // The next hour's samples are flat: on track.
    await planReport("alice", report({ primary: w(55) }), T0 + 90 * MIN, [
      sample(T0 + 60 * MIN, 55),
      sample(T0 + 90 * MIN, 55),
    ]);
    await step(e, T0 + 90 * MIN);
    expect(await open()).toEqual([]);
  });

  it("does fire limitReached from a stored rateLimitReachedType and from a usageLimitExceeded turn, resolving each when it clears", async () => {
    const e = await engine(await config(["    - { id: stopped, kind: limitReached }"]));
    await planReport(
      "alice",
      report({ rateLimitReachedType: "workspace_member_credits_depleted" }),
      T0 - MIN,
    );
    const failed: FleetEvent = {
      kind: "turnCompleted",
      atMs: T0,
      threadId: "th-b",
      turn: {
        id: "turn-b",
        status: "failed",
        error: { message: "limit", codexErrorInfo: "usageLimitExceeded", httpStatusCode: 429 },
        startedAtMs: T0 - 1000,
        completedAtMs: T0,
        durationMs: 1000,
      },
    };
    fake.thread("th-b", { targetId: "bob", status: "systemError", statusSinceMs: T0, lastTurnId: "turn-b" });
    fake.event("bob", failed);
    await step(e, T0 + MIN);
    expect(await open()).toEqual([
      ["stopped", "developer", "alice", "", "firing"],
      ["stopped", "developer", "bob", "", "firing"],
    ]);
    const summaries = e
      .openViews()
      .map((v) => v.summary)
      .sort();
    expect(summaries).toEqual([
      "alice is stopped by a limit (workspace_member_credits_depleted)",
      "bob is stopped by a limit (usageLimitExceeded)",
    ]);
    // alice: a later response with windows says nothing is reached any more.
    await planReport(
      "alice",
      report({ primary: { usedPercent: 10, windowDurationMins: 300, resetsAtMs: T0 + 5 * H } }),
      T0 + 2 * MIN,
    );
    // bob: his next turn starts.
    fake.thread("th-b", { status: "active", currentTurnId: "turn-c", statusSinceMs: T0 + 2 * MIN });
    await step(e, T0 + 3 * MIN);
    expect(await open()).toEqual([]);
    expect(heard().filter(([s]) => s === "resolved")).toHaveLength(2);
  });

  it("does not fire on other failures, nor on a limit failure past its window", async () => {
    const e = await engine(await config(["    - { id: stopped, kind: limitReached, windowMs: 600000 }"]));
    const failed = (id: string, info: string, atMs: number): FleetEvent => ({
      kind: "turnCompleted",
      atMs,
      threadId: `th-${id}`,
      turn: {
        id,
        status: "failed",
        error: { message: "x", codexErrorInfo: info, httpStatusCode: null },
        startedAtMs: atMs - 1000,
        completedAtMs: atMs,
        durationMs: 1000,
      },
    });
    fake.event("alice", failed("t1", "internalServerError", T0));
    fake.event("bob", failed("t2", "rateLimitExceeded", T0 - 11 * MIN));
    await step(e, T0);
    expect(await open()).toEqual([]);
  });
});

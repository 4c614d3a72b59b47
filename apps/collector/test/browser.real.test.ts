/**
 * The dashboard in real Chromium (issue #3): the collector on a real Postgres seeded with seven
 * days of history (support/seed.ts, through the real write path), one real `codex app-server`
 * 0.169.0 driven by a developer client and the model stand-in, scripted peers for developers whose
 * threads are busy or who are down (refused, 401). Every page opens without a console error and
 * shows the API's figures; an approval on the real app-server shows on the open Fleet page without
 * a reload, and clears when the developer answers. Screenshots go to docs/screenshots/ when
 * UPDATE_SCREENSHOTS=1 or when missing. Skipped, with a message, when there is no Chromium.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { type AppServer, freePort, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, type StepUsage, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { createPricer } from "@codex-fleet/pricing";
import type { ActivityResponse } from "@codex-fleet/protocol/activity";
import type {
  AlertView,
  TargetView,
  ThreadDetail,
  ThreadView,
  UsageResponse,
} from "@codex-fleet/protocol/api";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM_CANDIDATE,
  chartsSettled,
  chromiumPath,
  DASHBOARD_DIST,
  ensureDashboardBuilt,
  launchChromium,
  type PageWatch,
  saveScreenshot,
  watchPage,
} from "./support/browser.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";
import { SEED_DEVELOPERS, type SeedSummary, seedFleetHistory } from "./support/seed.ts";

const CHROMIUM = chromiumPath();
const TITLE = CHROMIUM
  ? "dashboard in real Chromium"
  : `dashboard in real Chromium — SKIPPED: no Chromium at ${CHROMIUM_CANDIDATE} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (!CHROMIUM) console.warn(`\n! ${TITLE}\n`);

const MIN_MS = 60_000;
const DAY_MS = 86_400_000;
const VIEWPORT = { width: 1366, height: 768 };
const TURN_USAGE: StepUsage = { input: 38_400, cached: 29_100, output: 1_350, reasoning: 420 };
/**
 * The shipped rules with thresholds a short test reaches: carol's 6-minute wait, frank's failed
 * turn and systemError, dave (refused) and erin (401) down, bob's context past 70 %, spend over $8
 * today. No settling delay: the fleet state is fresh when the collector starts.
 */
const ALERTS_YAML = `alerts:
  settleMs: 0
  evaluateIntervalMs: 250
  rules:
    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000 }
    - { id: input-wait, kind: waitingOnUserInput, forMs: 300000 }
    - { id: stalled, kind: noProgress, forMs: 600000 }
    - { id: turn-failed, kind: turnFailed, windowMs: 10800000, scope: developer }
    - { id: system-error, kind: systemError, forMs: 0 }
    - { id: target-down, kind: targetUnreachable, forMs: 0, severity: critical }
    - { id: target-unauthorized, kind: targetUnauthorized, forMs: 0, severity: critical }
    - { id: budget, kind: dailySpend, scope: developer, thresholdUsd: 8 }
    - { id: context, kind: contextWindow, thresholdPct: 70, severity: info }`;

let db: TestDatabase;
let seed: SeedSummary;
let mock: MockModel;
let alice: AppServer;
let dev: DevClient;
let collector: RunningCollector;
let browser: Browser;
let light: BrowserContext;
let alertsEnabled = false;
const peers: ScriptedPeer[] = [];
/** alice's thread on the real app-server. */
let liveId = "";

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${collector.baseUrl}${path}`);
  if (res.status !== 200) throw new Error(`${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Read the page's figures and the API's until they agree (the live feed may lag by a tick), then compare. */
async function expectPageEqualsApi<T>(read: () => Promise<{ page: T; api: T }>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!isDeepStrictEqual(last.page, last.api) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  expect(last.page).toEqual(last.api);
  return last.api;
}

/** Chromium logs a failed fetch as a console error: a 404 from alerts routes is "alerts not enabled". */
const allowDisabledAlerts = (text: string, url: string) =>
  !alertsEnabled && /status of 404/.test(text) && /\/api\/v1\/(alerts|silences)\b/.test(url);

async function openPage(context: BrowserContext, path: string): Promise<{ page: Page; watch: PageWatch }> {
  const page = await context.newPage();
  const watch = watchPage(page, allowDisabledAlerts);
  await page.goto(`${collector.baseUrl}${path}`);
  return { page, watch };
}

type FleetCounts = Record<
  "active" | "waitingOnApproval" | "waitingOnUserInput" | "systemError" | "idle" | "targetsDown",
  number
>;
const TILES: [keyof FleetCounts, string][] = [
  ["active", "fleet-count-active"],
  ["waitingOnApproval", "fleet-count-waiting-approval"],
  ["waitingOnUserInput", "fleet-count-waiting-input"],
  ["systemError", "fleet-count-system-error"],
  ["idle", "fleet-count-idle"],
  ["targetsDown", "fleet-count-targets-down"],
];

async function pageFleetCounts(page: Page): Promise<FleetCounts> {
  const counts = {} as FleetCounts;
  for (const [key, id] of TILES) counts[key] = Number(await page.getByTestId(id).textContent());
  return counts;
}

/** The same counts from the API: a thread's display status is its status, split by active flags. */
async function apiFleetCounts(): Promise<FleetCounts> {
  const [threads, targets] = await Promise.all([
    api<ThreadView[]>("/api/v1/threads?limit=5000"),
    api<TargetView[]>("/api/v1/targets"),
  ]);
  const counts: FleetCounts = {
    active: 0,
    waitingOnApproval: 0,
    waitingOnUserInput: 0,
    systemError: 0,
    idle: 0,
    targetsDown: targets.filter((t) => t.state !== "open").length,
  };
  for (const t of threads) {
    if (t.status === "active") {
      if (t.activeFlags.includes("waitingOnApproval")) counts.waitingOnApproval++;
      else if (t.activeFlags.includes("waitingOnUserInput")) counts.waitingOnUserInput++;
      else counts.active++;
    } else if (t.status === "idle" || t.status === "systemError") counts[t.status]++;
  }
  return counts;
}

/** A scripted developer whose thread turns active (an in-progress turn, optionally waiting on input). */
function busyPeer(threadId: string, turnId: string, sinceMs: number, flags: string[]) {
  return startScriptedPeer({
    script(conn) {
      const at = Date.now() - sinceMs;
      const status = { type: "active", activeFlags: flags };
      conn.send({ method: "thread/status/changed", params: { threadId, status }, emittedAtMs: at });
      conn.send({
        method: "turn/started",
        params: {
          threadId,
          turn: {
            id: turnId,
            items: [],
            status: "inProgress",
            error: null,
            startedAt: Math.floor(at / 1000),
          },
        },
        emittedAtMs: at,
      });
    },
  });
}

async function runTurn(text: string, ...steps: Parameters<MockModel["push"]>): Promise<string> {
  mock.push(...steps);
  const turnId = await dev.startTurn(liveId, text);
  await dev.waitForTurnCompleted(liveId, turnId);
  return turnId;
}

/**
 * Activity history for the Activity page (issue 15): the seed above goes through the ingest path
 * without status spans, so its hours get activity rows written here directly — office hours of the
 * last seven days and today, per developer, with waits, answers and turn durations in histogram
 * buckets, and the fleet's sampled peak per hour. Deterministic (a fixed Park–Miller generator), so screenshots are stable.
 */
async function seedActivityHistory(dbUrl: string, nowMs: number): Promise<void> {
  const activityDb = createDb({ url: dbUrl, poolMax: 2 });
  const { pool } = activityDb;
  let state = 15;
  const rand = (lo: number, hi: number) => {
    state = (state * 16_807) % 2_147_483_647; // Park–Miller: exact in doubles
    return lo + (state % (hi - lo + 1));
  };
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const currentHour = Math.floor(nowMs / 3_600_000) * 3_600_000;
  for (let day = today - 7 * DAY_MS; day <= today; day += DAY_MS) {
    for (let h = 8; h <= 18; h++) {
      const hour = day + h * 3_600_000;
      if (hour >= currentHour) break;
      let active = 0;
      for (const dev of SEED_DEVELOPERS) {
        if (rand(0, 9) < 3) continue;
        active += rand(1, 2);
        const completed = rand(2, 6);
        const failed = rand(0, 9) < 2 ? 1 : 0;
        const interrupted = rand(0, 9) < 2 ? 1 : 0;
        const ended = completed + failed + interrupted;
        const approvals = rand(0, 3);
        const inputs = rand(0, 1);
        const answered = Math.max(0, approvals + inputs - rand(0, 1));
        const ans = Array.from({ length: 10 }, () => 0);
        const bump = (counts: number[]) => {
          const b = rand(1, 6);
          counts[b] = (counts[b] ?? 0) + 1;
        };
        for (let i = 0; i < answered; i++) bump(ans);
        const dur = Array.from({ length: 10 }, () => 0);
        for (let i = 0; i < ended; i++) bump(dur);
        await pool.query(
          `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms, approval_wait_ms,
             input_wait_ms, approval_waits, input_waits, answered_waits, answer_ms,
             ans_h0, ans_h1, ans_h2, ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9,
             turns_started, turns_completed, turns_failed, turns_interrupted, timed_turns, turn_ms,
             dur_h0, dur_h1, dur_h2, dur_h3, dur_h4, dur_h5, dur_h6, dur_h7, dur_h8, dur_h9)
           VALUES (($1::timestamptz AT TIME ZONE 'UTC'), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28,
             $29, $30, $31, $32, $33, $34, $35, $36, $37, $38)`,
          [
            new Date(hour).toISOString(),
            dev.name,
            dev.team,
            dev.models[0]?.[0] ?? "",
            dev.repos[0] ?? "",
            rand(15, 50) * MIN_MS,
            approvals * rand(2, 9) * MIN_MS,
            inputs * rand(1, 6) * MIN_MS,
            approvals,
            inputs,
            answered,
            answered * rand(1, 8) * MIN_MS,
            ...ans,
            ended,
            completed,
            failed,
            interrupted,
            ended,
            ended * rand(1, 6) * MIN_MS,
            ...dur,
          ],
        );
      }
      await pool.query(
        `INSERT INTO activity_peak (hour, scope, key, peak) VALUES (($1::timestamptz AT TIME ZONE 'UTC'), 'fleet', '', $2)
         ON CONFLICT (scope, hour, key) DO UPDATE SET peak = GREATEST(activity_peak.peak, EXCLUDED.peak)`,
        [new Date(hour).toISOString(), active],
      );
    }
  }
  await activityDb.close();
}

describe.skipIf(CHROMIUM === null)(TITLE, () => {
  beforeAll(async () => {
    await ensureDashboardBuilt();
    db = await createTestDatabase();
    const seedDb = createDb({ url: db.url, poolMax: db.poolMax });
    const pricer = createPricer();
    seed = await seedFleetHistory({
      pool: seedDb.pool,
      nowMs: Date.now(),
      price: (model, atMs, tokens) => pricer.price(model, atMs, tokens),
    });
    await seedDb.close();
    await seedActivityHistory(db.url, Date.now());

    // alice works in a real codex before the collector starts: a git checkout (codex reports its
    // origin and branch), a named thread on gpt-5.4 with approvals for untrusted commands, one turn.
    mock = await startMockModel();
    alice = await startAppServer({ modelUrl: mock.baseUrl, name: "alice" });
    dev = await connectDevClient({ url: alice.url, token: alice.token, name: "codex_vscode" });
    const repo = join(alice.cwd, "payments-api");
    mkdirSync(repo);
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=Alice", "-c", "user.email=alice@acme.test", ...args], {
        cwd: repo,
      });
    git("init", "-q", "-b", "feat/webhook-retries");
    git("remote", "add", "origin", "git@github.com:acme/payments-api.git");
    git("commit", "-q", "--allow-empty", "-m", "Start webhook retries");
    const started = await dev.request<{ thread: { id: string } }>("thread/start", {
      cwd: repo,
      model: "gpt-5.4",
      approvalPolicy: "untrusted",
    });
    liveId = started.thread.id;
    await dev.request("thread/name/set", { threadId: liveId, name: "Retry webhook deliveries with backoff" });
    await runTurn("Where do we send webhooks?", { kind: "reply", usage: TURN_USAGE });

    const h = seed.highlights;
    const bob = await busyPeer(h.bobActive, "01a1fd40-6b0b-7d1e-9a51-3c0de0b0b001", 2 * MIN_MS, []);
    const carol = await busyPeer(h.carolInput, "01a1fd40-ca01-7e2a-8b17-5ea2c4ca0001", 6 * MIN_MS, [
      "waitingOnUserInput",
    ]);
    const erin = await startScriptedPeer({
      upgrade: { kind: "refuse", status: 401, body: "invalid websocket bearer token" },
    });
    // frank's thread failed and stays loaded in systemError (facts §3): the server lists it as loaded.
    const frank = await startScriptedPeer({
      answer: (method) =>
        method === "thread/loaded/list" ? { result: { data: [h.frankError], nextCursor: null } } : undefined,
    });
    peers.push(bob, carol, erin, frank);
    const urls: Record<string, string> = {
      alice: alice.url,
      bob: bob.url,
      carol: carol.url,
      dave: `ws://127.0.0.1:${await freePort()}`, // nothing listens: refused
      erin: erin.url,
      frank: frank.url,
    };
    collector = await startCollector({
      dbUrl: db.url,
      poolMax: db.poolMax,
      dashboardDir: DASHBOARD_DIST,
      targets: SEED_DEVELOPERS.map((d) => ({
        name: d.name,
        team: d.team,
        url: urls[d.name] as string,
        token: d.name === "alice" ? alice.token : d.name === "erin" ? "a-revoked-token" : null,
      })),
      // Down targets stay in backoff for the whole test instead of flickering through "connecting".
      // Production's idle unsubscribe (5 min): alice's thread stays followed between turns, so the
      // collector sees each turn start (a late subscriber misses turn/started, facts §2).
      observer: { minBackoffMs: 120_000, maxBackoffMs: 120_000, idleUnsubscribeMs: 300_000 },
      extraYaml: ALERTS_YAML,
    });
    const fleet = collector.fleet;
    const state = (name: string) => fleet.targets.get(name)?.status.state;
    await waitUntil(
      "targets settled",
      () =>
        ["alice", "bob", "carol", "frank"].every((n) => state(n) === "open") &&
        ["dave", "erin"].every((n) => state(n) === "backoff"),
    );
    await waitUntil("alice's thread backfilled with its repo", () => fleet.threads.get(liveId)?.repo != null);
    await waitUntil("bob and carol busy", () =>
      [h.bobActive, h.carolInput].every((id) => fleet.threads.get(id)?.status === "active"),
    );

    // One more turn while the collector watches: it counts exactly what the model served.
    await runTurn("Add exponential backoff with jitter", { kind: "reply", usage: TURN_USAGE, delayMs: 300 });
    const served = mock.servedByThread.get(liveId)?.totalTokens;
    await waitUntil("alice's tokens counted", async () => {
      await fleet.flush();
      return fleet.threads.get(liveId)?.countedTotalTokens === served;
    });

    alertsEnabled = (await fetch(`${collector.baseUrl}/api/v1/alerts`)).status !== 404;
    browser = await launchChromium(CHROMIUM as string);
    light = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
    await dev?.close();
    await alice?.dispose();
    for (const p of peers) await p.close();
    await mock?.close();
    await db?.drop();
  });

  it.each([
    ["/", 200, "text/html"],
    ["/threads/some-thread", 200, "text/html"],
    ["/usage?range=30d", 200, "text/html"],
    ["/activity?range=7d", 200, "text/html"],
    ["/api/v1/nothing-here", 404, "application/json"],
    ["/assets/missing.js", 404, "application/json"],
  ])("does answer GET %s with %i %s (app shell for client routes)", async (path, status, type) => {
    const res = await fetch(`${collector.baseUrl}${path}`);
    expect([res.status, res.headers.get("content-type")?.split(";")[0]]).toEqual([status, type]);
  });

  it("does show the API's fleet counts, and an approval on the app-server without a reload", async () => {
    const { page, watch } = await openPage(light, "/");
    await page.getByTestId(`thread-row-${liveId}`).waitFor();
    const before = await expectPageEqualsApi(async () => ({
      page: await pageFleetCounts(page),
      api: await apiFleetCounts(),
    }));
    // The scripted and real developers are all there: busy, waiting, failed, idle, and 2 of 6 down.
    expect(before).toMatchObject({ active: 1, waitingOnApproval: 0, waitingOnUserInput: 1, systemError: 1 });
    expect(before.targetsDown).toBe(2);
    expect(before.idle).toBeGreaterThan(0);
    const liveStatus = page.getByTestId(`thread-status-${liveId}`);
    expect(await liveStatus.getAttribute("data-status")).toBe("idle");
    await page.evaluate(() => {
      (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const navigations = watch.navigations;

    // The developer asks for something that needs an untrusted command: codex waits on approval.
    let answer!: (decision: unknown) => void;
    const decided = new Promise((resolve) => {
      answer = resolve;
    });
    dev.onServerRequest((req) =>
      req.method === "item/commandExecution/requestApproval" ? decided : undefined,
    );
    mock.push(
      { kind: "toolCall", command: "npm test -- refunds", usage: TURN_USAGE, delayMs: 200 },
      { kind: "reply", usage: TURN_USAGE },
    );
    const turnId = await dev.startTurn(liveId, "Run the refund tests");
    await page.locator(`[data-testid="thread-status-${liveId}"][data-status="waitingOnApproval"]`).waitFor();
    const waiting = await expectPageEqualsApi(async () => ({
      page: await pageFleetCounts(page),
      api: await apiFleetCounts(),
    }));
    expect(waiting.waitingOnApproval).toBe(before.waitingOnApproval + 1);
    await page.getByTestId(`thread-turn-age-${liveId}`).waitFor(); // the turn in progress, with its age
    // Let the wait read in seconds, not milliseconds, before the picture is taken.
    await expect
      .poll(() => page.getByTestId(`thread-time-in-status-${liveId}`).textContent(), { timeout: 5000 })
      .toMatch(/\ds$/);
    await saveScreenshot(page, "fleet");

    const dark = await browser.newContext({ viewport: VIEWPORT, colorScheme: "dark" });
    const darkPage = await openPage(dark, "/");
    await darkPage.page
      .locator(`[data-testid="thread-status-${liveId}"][data-status="waitingOnApproval"]`)
      .waitFor();
    await saveScreenshot(darkPage.page, "fleet-dark");
    expect(darkPage.watch.errors).toEqual([]);
    await dark.close();

    // The developer approves: the turn runs on, and the open page returns to idle by itself.
    answer({ decision: "accept" });
    await dev.waitForTurnCompleted(liveId, turnId);
    await page.locator(`[data-testid="thread-status-${liveId}"][data-status="idle"]`).waitFor();
    const after = await expectPageEqualsApi(async () => ({
      page: await pageFleetCounts(page),
      api: await apiFleetCounts(),
    }));
    expect(after.waitingOnApproval).toBe(before.waitingOnApproval);
    expect(watch.navigations).toBe(navigations);
    expect(
      await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    expect(watch.errors).toEqual([]);
    await page.close();
  });

  it("does show the API's usage totals for the range the page asked for", async () => {
    const page = await light.newPage();
    const watch = watchPage(page, allowDisabledAlerts);
    const asked: URL[] = [];
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname === "/api/v1/usage") asked.push(url);
    });
    await page.goto(`${collector.baseUrl}/usage?range=7d`);
    await page.getByTestId("usage-total-tokens").waitFor();
    await page.getByTestId("model-row-local-llama").waitFor();
    await chartsSettled(page);

    const series = asked.filter((u) => u.searchParams.get("groupBy")?.startsWith("day")).at(-1);
    if (!series) throw new Error("the page asked for no daily usage");
    const from = series.searchParams.get("from") as string;
    const to = series.searchParams.get("to") as string;
    // 7d = today and the six whole UTC days before it, up to now.
    expect(Date.parse(from)).toBe(Math.floor(Date.parse(to) / DAY_MS) * DAY_MS - 6 * DAY_MS);
    const { totals } = await api<UsageResponse>(
      `/api/v1/usage?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    );
    const figure = async (id: string) => Number(await page.getByTestId(id).getAttribute("data-value"));
    expect({
      tokens: await figure("usage-total-tokens"),
      costUsd: await figure("usage-total-cost"),
      turns: await figure("usage-turns"),
      unpricedTokens: await figure("usage-unpriced-tokens"),
    }).toEqual({
      tokens: totals.totalTokens,
      costUsd: totals.costUsd,
      turns: totals.turns,
      unpricedTokens: totals.unpricedTokens,
    });
    // Seven days of six developers, and local-llama's tokens shown as unpriced, never as $0.
    expect(totals.turns).toBeGreaterThan(100);
    expect(totals.unpricedTokens).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("model-row-local-llama").textContent()).toContain("unpriced");
    await saveScreenshot(page, "usage");
    expect(watch.errors).toEqual([]);
    await page.close();
  });

  it("does show the API's activity figures, and each developer's waiting today on the Fleet page", async () => {
    // Whole past days only: today's figures still move while bob and carol's threads are active.
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const page = await light.newPage();
    const watch = watchPage(page, allowDisabledAlerts);
    const asked: URL[] = [];
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname === "/api/v1/activity") asked.push(url);
    });
    const path = `/activity?range=custom&from=${day(today - 7 * DAY_MS)}&to=${day(today - DAY_MS)}`;
    await page.goto(`${collector.baseUrl}${path}`);
    await page.getByTestId("activity-turns").waitFor();
    await page.getByTestId("waiting-table-target").waitFor();
    await chartsSettled(page);

    const series = asked.find((u) => u.searchParams.get("groupBy") === "day");
    if (!series) throw new Error("the page asked for no daily activity");
    expect(series.searchParams.get("from")).toBe(new Date(today - 7 * DAY_MS).toISOString());
    expect(series.searchParams.get("to")).toBe(new Date(today).toISOString());
    const { totals } = await api<ActivityResponse>(`${series.pathname}${series.search}`);
    const figure = async (id: string) => {
      const value = await page.getByTestId(id).getAttribute("data-value");
      return value === "" || value === null ? null : Number(value);
    };
    expect({
      turns: await figure("activity-turns"),
      waitingMs: await figure("activity-waiting"),
      answerP50Ms: await figure("activity-answer-p50"),
      activeAvg: await figure("activity-active-avg"),
      durationP50Ms: await figure("activity-duration-p50"),
    }).toEqual({
      turns: totals.turnsCompleted + totals.turnsFailed + totals.turnsInterrupted,
      waitingMs: totals.waitingOnApprovalMs + totals.waitingOnInputMs,
      answerP50Ms: totals.timeToAnswerP50Ms,
      activeAvg: totals.activeThreadsAvg,
      durationP50Ms: totals.turnDurationP50Ms,
    });
    // Seven office weeks of six developers: turns, waits and answers are all there.
    expect(totals.turnsCompleted).toBeGreaterThan(100);
    expect(totals.waitingOnApprovalMs).toBeGreaterThan(0);
    expect(totals.timeToAnswerP50Ms).not.toBeNull();
    expect(await page.getByTestId("activity-sentence").textContent()).toMatch(
      /^Agents waited .+ on approvals.* in this period; median answer \d/,
    );
    // The waiting table: one row per developer the API grouped, most waiting first.
    const byTarget = asked.find((u) => u.searchParams.get("groupBy") === "target");
    if (!byTarget) throw new Error("the page asked for no activity by developer");
    const perTarget = await api<ActivityResponse>(`${byTarget.pathname}${byTarget.search}`);
    const shownWaits = await page
      .locator('[data-testid^="waiting-target-"] td:nth-child(2)')
      .evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-value"))));
    expect(shownWaits).toEqual(
      perTarget.rows.map((r) => r.waitingOnApprovalMs + r.waitingOnInputMs).sort((a, b) => b - a),
    );
    await saveScreenshot(page, "activity");
    expect(watch.errors).toEqual([]);

    const dark = await browser.newContext({ viewport: VIEWPORT, colorScheme: "dark" });
    const darkPage = await openPage(dark, path);
    await darkPage.page.getByTestId("waiting-table-target").waitFor();
    await chartsSettled(darkPage.page);
    await saveScreenshot(darkPage.page, "activity-dark");
    expect(darkPage.watch.errors).toEqual([]);
    await dark.close();

    // Fleet: each developer's waiting today, as the API answers the page's own query (reloaded
    // until they agree: carol's open wait keeps growing today).
    await expectPageEqualsApi(async () => {
      const answered = page.waitForResponse((res) => new URL(res.url()).pathname === "/api/v1/activity");
      await page.goto(`${collector.baseUrl}/`);
      const asked = new URL((await answered).url());
      await page.getByTestId("target-waited-alice").waitFor();
      const list = await api<ActivityResponse>(`${asked.pathname}${asked.search}`);
      const shown: Record<string, number> = {};
      const fromApi: Record<string, number> = {};
      for (const dev of SEED_DEVELOPERS) {
        await expect
          .poll(() => page.getByTestId(`target-waited-${dev.name}`).getAttribute("data-value"))
          .not.toBeNull();
        shown[dev.name] = Number(
          await page.getByTestId(`target-waited-${dev.name}`).getAttribute("data-value"),
        );
        const row = list.rows.find((r) => r.target === dev.name);
        fromApi[dev.name] = row ? row.waitingOnApprovalMs + row.waitingOnInputMs : 0;
      }
      return { page: shown, api: fromApi };
    }, 20_000);
    await page.close();
  });

  it.each([
    ["a seeded thread", () => seed.highlights.showcase, "thread"],
    ["the live thread", () => liveId, null],
  ])("does show the API's counted tokens and turns of %s", async (_what, id, shot) => {
    const threadId = id();
    const { page, watch } = await openPage(light, `/threads/${threadId}`);
    await page.getByTestId("thread-total-tokens").waitFor();
    const detail = await expectPageEqualsApi(async () => {
      const d = await api<ThreadDetail>(`/api/v1/threads/${threadId}`);
      return {
        page: {
          totalTokens: Number(await page.getByTestId("thread-total-tokens").getAttribute("data-value")),
          turns: await page.locator('[data-testid^="turn-row-"]').count(),
        },
        api: { totalTokens: d.counted.totalTokens, turns: d.turns.length },
      };
    });
    expect(detail.totalTokens).toBeGreaterThan(0);
    expect(detail.turns).toBeGreaterThanOrEqual(3);
    if (shot) {
      await chartsSettled(page);
      await saveScreenshot(page, shot);
    }
    expect(watch.errors).toEqual([]);
    await page.close();
  });

  it("does show each target's connection state as the API reports it", async () => {
    const { page, watch } = await openPage(light, "/targets");
    await page.getByTestId("target-row-alice").waitFor();
    const targets = await expectPageEqualsApi(async () => {
      const list = await api<TargetView[]>("/api/v1/targets");
      const shown: Record<string, [string | null, number, number]> = {};
      for (const t of list) {
        shown[t.name] = [
          await page.getByTestId(`target-state-${t.name}`).getAttribute("data-state"),
          Number(await page.getByTestId(`target-threads-${t.name}`).textContent()),
          Number(await page.getByTestId(`target-active-${t.name}`).textContent()),
        ];
      }
      const fromApi: Record<string, [string | null, number, number]> = {};
      for (const t of list) fromApi[t.name] = [t.state, t.threads, t.activeThreads];
      return {
        page: { rows: await page.locator('[data-testid^="target-row-"]').count(), shown },
        api: { rows: list.length, shown: fromApi },
      };
    });
    expect(Object.fromEntries(Object.entries(targets.shown).map(([name, [state]]) => [name, state]))).toEqual(
      {
        alice: "open",
        bob: "open",
        carol: "open",
        dave: "backoff",
        erin: "backoff",
        frank: "open",
      },
    );
    expect(await page.getByTestId("target-reason-dave").textContent()).toBe("Refused");
    expect(await page.getByTestId("target-reason-erin").textContent()).toBe("Unauthorized (401)");
    await saveScreenshot(page, "targets");
    expect(watch.errors).toEqual([]);
    await page.close();
  });

  it("does show the API's firing alerts, or say alerts are off", async () => {
    // The flat list: every firing alert is a row (grouped, the default, folds them into groups).
    const { page, watch } = await openPage(light, "/alerts?view=flat");
    if (!alertsEnabled) {
      await page.getByTestId("alerts-disabled").waitFor();
    } else {
      // The rules above hold for targets and threads from the start: at least dave, erin, frank fire.
      await waitUntil(
        "alerts firing",
        async () => (await api<AlertView[]>("/api/v1/alerts?state=firing")).length >= 3,
      );
      const firing = await expectPageEqualsApi(async () => {
        const list = await api<AlertView[]>("/api/v1/alerts?state=firing");
        const rows = await page
          .locator('[data-testid^="alert-row-"]')
          .evaluateAll((els) => els.map((el) => el.getAttribute("data-testid")));
        return {
          page: {
            rows: rows.sort(),
            badge: Number(await page.getByTestId("header-alert-count").textContent()),
          },
          api: {
            rows: list.map((a) => `alert-row-${a.id}`).sort(),
            badge: list.filter((a) => !a.silenced).length,
          },
        };
      });
      expect(firing.rows.length).toBeGreaterThanOrEqual(3);
    }
    expect(await page.locator("main").getByRole("alert").count()).toBe(0);
    await saveScreenshot(page, "alerts");
    expect(watch.errors).toEqual([]);
    await page.close();
  });
});

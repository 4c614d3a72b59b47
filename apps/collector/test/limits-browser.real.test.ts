/**
 * The Plan limits page in real Chromium (issue 14) against a collector with auth on, on a real
 * Postgres seeded through the plan-limits repository: five developers' windows (one exhausted
 * with "limit reached", one exhausting, the rest on track, a day of 5-hour windows to chart) and
 * one developer signed in with an API key. A viewer signs in and sees the rows in the API's order
 * with the forecast in words, opens the chart of a window with its reset boundaries, and watches a
 * live `limits` change move a row without a reload. Screenshots for the README. Skipped, loudly,
 * without Chromium.
 *
 * The live change: this collector follows no app-server, so nothing of its own would publish one.
 * The test stores the change through the repository, reads the row the API now serves, and hands
 * exactly that row to the page as a `limits` frame on its real live socket (Playwright routes the
 * socket to the real collector and adds the one frame). That the collector publishes such frames
 * from a real app-server's reports is tested in plan-limits.real.test.ts.
 */
import {
  type PlanSampleRow,
  savePlanLimit,
  savePlanLimitSource,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import {
  type LimitRow,
  LimitsResponseSchema,
  limitUrgency,
  type PlanLimitState,
} from "@codex-fleet/protocol/limits";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
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
import { removeScratchDirs } from "./support/config-files.ts";

const CHROMIUM = chromiumPath();
const TITLE = CHROMIUM
  ? "plan limits in real Chromium"
  : `plan limits in real Chromium — SKIPPED: no Chromium at ${CHROMIUM_CANDIDATE} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (!CHROMIUM) console.warn(`\n! ${TITLE}\n`);

const VIEWPORT = { width: 1366, height: 900 };
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Whole minutes, as codex reports reset times in seconds. */
const T = Math.floor(Date.now() / MIN) * MIN;

let testDb: TestDatabase;
let fleet: AuthApp;
let browser: Browser;

function state(overrides: Partial<PlanLimitState> & Pick<PlanLimitState, "observedAtMs">): PlanLimitState {
  return {
    limitId: "codex",
    limitName: null,
    planType: "plus",
    primary: null,
    secondary: null,
    credits: null,
    rateLimitReachedType: null,
    rateLimitReachedAtMs: null,
    spendControlReached: null,
    ...overrides,
  };
}

const win = (usedPercent: number, windowDurationMins: number, resetsAtMs: number, observedAtMs: number) => ({
  usedPercent,
  windowDurationMins,
  resetsAtMs,
  observedAtMs,
});

/**
 * alice's last day of 5-hour windows, one report every 10 minutes while she works: each window
 * ramps up from 0 and resets; the current one started 2 h ago and is at 82 % (41 points an hour,
 * so it runs out ~26 minutes from now, long before it resets in 3 h).
 */
function aliceDay(): { samples: PlanSampleRow[]; currentReset: number } {
  const currentStart = T - 2 * HOUR;
  const finals = [0, 35, 64, 90, 48]; // the earlier windows' last figures, oldest first
  const samples: PlanSampleRow[] = [];
  finals.forEach((final, i) => {
    const start = currentStart - (finals.length - i) * 5 * HOUR;
    for (let at = start + 10 * MIN; at < start + 5 * HOUR && final > 0; at += 10 * MIN) {
      const share = (at - start) / (5 * HOUR);
      samples.push({
        limitId: "codex",
        window: "primary",
        atMs: at,
        usedPercent: Math.round(final * share),
        resetsAtMs: start + 5 * HOUR,
      });
    }
  });
  const currentReset = currentStart + 5 * HOUR;
  for (let at = currentStart + 10 * MIN; at <= T; at += 10 * MIN) {
    samples.push({
      limitId: "codex",
      window: "primary",
      atMs: at,
      usedPercent: Math.round((41 * (at - currentStart)) / HOUR),
      resetsAtMs: currentReset,
    });
  }
  return { samples, currentReset };
}

const ALICE = aliceDay();
const WEEK_RESET = T + 3 * 24 * HOUR + 7 * HOUR;

beforeAll(async () => {
  if (!CHROMIUM) return;
  await ensureDashboardBuilt();
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    listen: true,
    dashboardDir: DASHBOARD_DIST,
    yaml: [
      "server: { host: 127.0.0.1, port: 0 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      // Nothing listens there: the figures are only what is seeded below.
      "observer: { minBackoffMs: 120000, maxBackoffMs: 120000 }",
      "targets:",
      "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1' }",
      "  - { name: bob, team: payments, url: 'ws://127.0.0.1:2' }",
      "  - { name: carol, team: search, url: 'ws://127.0.0.1:3' }",
      "  - { name: dave, team: search, url: 'ws://127.0.0.1:4' }",
      "  - { name: erin, team: platform, url: 'ws://127.0.0.1:5' }",
      "  - { name: frank, team: platform, url: 'ws://127.0.0.1:6' }",
    ].join("\n"),
  });
  const { pool } = fleet.db;
  await savePlanLimit({
    pool,
    targetId: "alice",
    state: state({
      observedAtMs: T,
      primary: win(82, 300, ALICE.currentReset, T),
      secondary: win(64, 10080, WEEK_RESET, T),
    }),
    samples: ALICE.samples,
  });
  await savePlanLimit({
    pool,
    targetId: "bob",
    state: state({
      observedAtMs: T - 4 * MIN,
      primary: win(100, 300, T + 70 * MIN, T - 4 * MIN),
      secondary: win(91, 10080, WEEK_RESET, T - 4 * MIN),
      credits: { hasCredits: false, unlimited: false, balance: "0", observedAtMs: T - 4 * MIN },
      rateLimitReachedType: "workspace_member_credits_depleted",
      rateLimitReachedAtMs: T - 4 * MIN,
    }),
  });
  await savePlanLimit({
    pool,
    targetId: "carol",
    state: state({
      observedAtMs: T - 12 * MIN,
      primary: win(15, 300, T + 4 * HOUR, T - 12 * MIN),
      secondary: win(41, 10080, WEEK_RESET, T - 12 * MIN),
    }),
  });
  await savePlanLimit({
    pool,
    targetId: "erin",
    state: state({
      observedAtMs: T - 30 * MIN,
      planType: "pro",
      primary: win(12, 300, T + 2 * HOUR, T - 30 * MIN),
      secondary: win(22, 10080, WEEK_RESET, T - 30 * MIN),
      credits: { hasCredits: true, unlimited: false, balance: "40", observedAtMs: T - 30 * MIN },
    }),
  });
  await savePlanLimit({
    pool,
    targetId: "frank",
    state: state({
      observedAtMs: T - 3 * MIN,
      planType: "pro",
      primary: win(20, 300, T + 2 * HOUR, T - 3 * MIN),
      secondary: win(18, 10080, WEEK_RESET, T - 3 * MIN),
    }),
  });
  await savePlanLimitSource({
    pool,
    targetId: "dave",
    status: "unavailable",
    reason: "codex account authentication required to read rate limits",
    atMs: T,
  });
  browser = await launchChromium(CHROMIUM);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

async function apiRows(): Promise<LimitRow[]> {
  const res = await fetch(`${fleet.baseUrl}/api/v1/limits`, {
    headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return LimitsResponseSchema.parse(await res.json()).rows;
}

/** The sign-in flow's 401 is the only console error expected. */
const expected4xx = (text: string, url: string) =>
  /status of 401/.test(text) && /\/api\/v1\/auth\/me$/.test(url);

/** A signed-in viewer's page whose live socket the test can add frames to. */
async function openLimits(
  context: BrowserContext,
  path: string,
): Promise<{ page: Page; watch: PageWatch; live: () => WebSocketRoute }> {
  // A wait that fails says which, well within the test's own timeout.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const watch = watchPage(page, expected4xx);
  let route: WebSocketRoute | null = null;
  await page.routeWebSocket(/\/api\/v1\/live$/, (ws) => {
    route = ws;
    ws.connectToServer(); // every frame passes through both ways
  });
  await page.goto(`${fleet.baseUrl}${path}`);
  // A fresh context has no session: sign in as a viewer.
  await page.getByLabel("Access token").fill(VIEWER_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("limits-table").waitFor();
  // Off the chart: the sign-in click left the pointer where a tooltip would open.
  await page.mouse.move(1, 1);
  return {
    page,
    watch,
    live: () => {
      if (!route) throw new Error("the page opened no live socket");
      return route;
    },
  };
}

const pageRowIds = (page: Page) =>
  page
    .locator('[data-testid="limits-table"] tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")?.replace("limit-row-", "")));

describe.skipIf(!CHROMIUM)(TITLE, () => {
  it("does show the rows in the API's order with forecasts, chart a window with its resets and move on a live change", async () => {
    const rows = await apiRows();
    const order = rows.map((r) => `${r.target}-${r.limitId}`);
    expect(order).toEqual(["bob-codex", "alice-codex", "carol-codex", "erin-codex", "frank-codex"]);
    expect(rows[1]?.forecast.primary).toMatchObject({ status: "exhausts", method: "recentSlope" });

    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
    const { page, watch, live } = await openLimits(context, "/limits?chart=alice");
    expect(await pageRowIds(page)).toEqual(order);

    // The words a manager reads.
    expect(await page.getByTestId("limit-bob-codex-primary-forecast").textContent()).toMatch(
      /^exhausted until \w{3} \d\d:\d\d$/,
    );
    expect(await page.getByTestId("limit-reached-bob-codex").textContent()).toBe("limit reached");
    expect(await page.getByTestId("limit-alice-codex-primary-forecast").textContent()).toMatch(
      /^exhausts ~\w{3} \d\d:\d\d$/,
    );
    expect(await page.getByTestId("limit-alice-codex-primary-reset").textContent()).toMatch(
      /^resets \w{3} \d\d:\d\d, in (2h|3h)$/,
    );
    expect(await page.getByTestId("limit-carol-codex-primary-forecast").textContent()).toBe("on track");
    expect(await page.getByTestId("limits-unavailable-dave").textContent()).toContain(
      "codex account authentication required",
    );
    expect(await page.getByTestId("limit-bob-codex-primary-bar").getAttribute("class")).toContain("err");
    expect(await page.getByTestId("limit-alice-codex-primary-bar").getAttribute("class")).toContain("warn");

    // The chart of alice's 5-hour window: a line through her reports and the 5 resets of the day.
    const chart = page.getByTestId("limit-history");
    await chart.locator(".recharts-line-curve").first().waitFor();
    await chartsSettled(page);
    expect(await chart.textContent()).toContain("alice: 5-hour window over time");
    const resets = await chart.locator(".limit-reset-mark").count();
    // Four earlier windows ended inside the last 24 h (one of them without reports), plus the next reset.
    expect(resets).toBeGreaterThanOrEqual(4);
    await saveScreenshot(page, "limits");

    // A live change: carol's 5-hour window runs out. Store it, read the row the API now serves
    // and send exactly that as the live frame: the row moves up without a reload.
    const navigationsBefore = watch.navigations;
    await savePlanLimit({
      pool: fleet.db.pool,
      targetId: "carol",
      state: state({
        observedAtMs: Date.now(),
        primary: win(100, 300, T + 4 * HOUR, Date.now()),
        secondary: win(55, 10080, WEEK_RESET, Date.now()),
        rateLimitReachedType: "workspace_member_usage_limit_reached",
        rateLimitReachedAtMs: Date.now(),
      }),
    });
    const carol = (await apiRows()).find((r) => r.target === "carol") as LimitRow;
    expect(carol.forecast.primary?.status).toBe("exhausted");
    expect(limitUrgency(carol)).toBeGreaterThan(300);
    live().send(JSON.stringify({ type: "limits", row: carol }));
    await page
      .getByTestId("limit-carol-codex-primary-used")
      .filter({ hasText: /^100 %$/ })
      .waitFor();
    expect(await pageRowIds(page)).toEqual([
      "bob-codex",
      "carol-codex",
      "alice-codex",
      "erin-codex",
      "frank-codex",
    ]);
    expect(await page.getByTestId("limit-reached-carol-codex").isVisible()).toBe(true);
    expect(watch.navigations).toBe(navigationsBefore);

    // The Fleet page shows the same windows on each developer's row.
    await page.getByRole("link", { name: "Fleet", exact: true }).click();
    await page.getByTestId("plan-windows-alice").waitFor();
    expect(await page.getByTestId("plan-windows-alice").textContent()).toBe("5h 82 % · wk 64 %");
    expect(watch.errors).toEqual([]);
    await context.close();

    const dark = await browser.newContext({ viewport: VIEWPORT, colorScheme: "dark" });
    const darkPage = await openLimits(dark, "/limits?chart=alice");
    await darkPage.page.getByTestId("limit-history").locator(".recharts-line-curve").first().waitFor();
    await chartsSettled(darkPage.page);
    await saveScreenshot(darkPage.page, "limits-dark");
    expect(darkPage.watch.errors).toEqual([]);
    await dark.close();
  });
});
